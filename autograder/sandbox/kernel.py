"""The confined Jupyter kernel of ``nbgrader autograde``: raises its walls, then runs ipykernel.

Started by ``autograder.frontends.nbgrader.kernel`` instead of
``python -m ipykernel_launcher``, as

    python -I -S -B kernel.py BASE/kernel.json

where BASE is a folder of the grader's that the kernel cannot write. The steps,
in order: point the imports at the runtime the grader chose (the standard
library and site-packages, or views of them that the kernel's uid can read);
import ipykernel (nothing of the student's has run yet); raise the walls of
``confine.py`` beside this file: resource limits, a uid of its own when
started as root, death with the grader, Landlock (read the runtime, write the
student's autograded folder and a private folder only, bind only the ports of
the connection file, connect nowhere), seccomp (TCP sockets only, no fork,
exec or ptrace); write which walls are up to a file the grader opened for it;
then run the kernel in this very process. Nothing here decides a grade.
"""

import importlib.util
import json
import os
import sys


def load_walls():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "confine.py")
    spec = importlib.util.spec_from_file_location("confine", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    walls = load_walls()
    walls.remap_loaded_packages(spec["remap"])
    sys.path[:] = spec["stdlib"] + spec["site"]
    from ipykernel.kernelapp import IPKernelApp

    report = open(spec["report"], "w")  # noqa: SIM115 - opened as the grader, written once confined
    write_paths = spec["write_paths"]
    view_note = None
    if spec.get("view"):
        try:
            walls.bind_view(spec["cwd"], spec["view"])
            os.chdir(spec["view"])
            write_paths = [spec["view"] if p == spec["cwd"] else p for p in write_paths]
            view_note = "its folder at a path its uid can reach"
        except OSError as exc:
            view_note = f"no folder view ({exc})"
    applied = walls.apply(
        limits=spec["limits"],
        uid=spec["uid"],
        gid=spec["gid"],
        parent_pid=spec["parent_pid"],
        read_paths=spec["read_paths"],
        write_paths=write_paths,
        tcp_ports=spec["ports"],
    )
    if view_note:
        applied.append(view_note)
    json.dump(applied, report)
    report.close()
    # The kernel imports the student's package from its working folder (the view,
    # when there is one), and check.py (the one call of the hidden cells) from a copy
    # in its private folder.
    sys.path[:] = ["", *spec["stdlib"], *spec["site"], spec["lib"]]
    sys.argv = ["ipykernel", "-f", spec["connection_file"], *spec["arguments"]]
    IPKernelApp.launch_instance()


if __name__ == "__main__":
    main()
