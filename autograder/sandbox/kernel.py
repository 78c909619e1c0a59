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

When the student's folder is below a folder that other uids cannot pass
through, the kernel first shows it at a path its uid can reach (a mount
namespace, ``confine.bind_view``), and checks that the view shows it; where
that is impossible it keeps the grader's uid, and the walls it reports say so.
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


def folder_view(walls, spec):
    """(working folder, write paths, uid, note): where the kernel works, under which uid.

    The grader asks for a view (spec "view") when the kernel's folder sits below a
    folder that the kernel's own uid cannot pass through: that uid could open none of
    its files by their absolute paths, and Python imports by absolute paths. Where
    the view cannot be made, or does not show the folder once made (a plain chroot,
    whose / is no mount point; a container without CAP_SYS_ADMIN), the kernel keeps
    the grader's uid (Landlock and seccomp still hold it) and the note says why, so
    that the grader logs it as a missing wall."""
    cwd, write_paths, uid = spec["cwd"], spec["write_paths"], spec["uid"]
    view = spec.get("view")
    if not view or uid is None:
        return cwd, write_paths, uid, None
    try:
        walls.bind_view(cwd, view)
    except OSError as exc:
        return (
            cwd,
            write_paths,
            None,
            f"no uid of its own (uid {uid} cannot pass through a folder above {cwd}, "
            f"and no folder view at a path it can reach: {exc}; a course that every "
            "user can pass through needs no view)",
        )
    write_paths = [view if p == cwd else p for p in write_paths]
    return view, write_paths, uid, "its folder at a path its uid can reach"


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    walls = load_walls()
    walls.remap_loaded_packages(spec["remap"])
    sys.path[:] = spec["stdlib"] + spec["site"]
    from ipykernel.kernelapp import IPKernelApp

    report = open(spec["report"], "w")  # noqa: SIM115 - opened as the grader, written once confined
    cwd, write_paths, uid, view_note = folder_view(walls, spec)
    os.chdir(cwd)
    limits = dict(spec["limits"], nproc=None) if uid is None else spec["limits"]
    applied = walls.apply(
        limits=limits,
        uid=uid,
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
