"""The kernel of ``nbgrader autograde``, confined like the engine's child.

nbgrader's ``Execute`` preprocessor starts one Jupyter kernel per notebook in
the student's ``autograded/<student>/<assignment>/`` folder; a plain kernel
runs the student's notebook and ``.py`` files as the grader, in the course
directory that holds everything. ``ConfinedExecute`` is that preprocessor
with ``ConfinedKernelManager``, which starts ``autograder/sandbox/kernel.py``
instead of ``ipykernel_launcher``:

- a private folder under the temporary directory (the kernel's HOME and
  TMPDIR, a copy of the connection file, a copy of ``check.py`` for the
  hidden cells), and a uid of its own when nbgrader runs as root (the student's
  folder is lent to that uid for the run, then given back);
- an allow-listed environment;
- ``kernel.py`` raises the walls of ``autograder/sandbox/confine.py`` on
  itself before the first cell: CPU, memory, file-size and process limits,
  the uid, death with nbgrader, Landlock (read the Python runtime, write the
  student's folder and the private one, listen on its own ports only),
  seccomp (TCP sockets only; no fork or exec);
- when the notebook is done, or the kernel died, every process of the
  kernel's group and uid is killed and the private folder removed.

``ConfinedExecute`` also leaves out the cells tagged ``autograde-skip``
(the training runs and what only uses their models): the kernel never sees
them, and each gets one line of output saying why. The engine trains and
checks the student's model itself; no grade reads a kernel's output.

Which walls are up is logged for every kernel. Nothing here decides a grade:
the scores come from ``plugin`` (the engine, on files read before any
kernel ran).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, Unicode

from ...blas import THREAD_VARIABLES as BLAS_THREAD_VARIABLES
from ...sandbox import runtime as runtimes
from ...sandbox.runner import fresh_uid, jobs_root, kill_uid
from . import check
from .data import DATA, data_folder_of

LAUNCHER = Path(runtimes.__file__).resolve().with_name("kernel.py")  # autograder/sandbox/kernel.py
# What a kernel inherits of nbgrader's environment; everything else is dropped.
KERNEL_ENV = (
    "NBGRADER_EXECUTION",
    check.TRUSTED_ENV,
    "CAPTIONING_FAST",
    *BLAS_THREAD_VARIABLES,
    "JPY_PARENT_PID",
    "LANG",
)


class ConfinedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run confined (see the module docstring)."""

    confine = Bool(True, help="Confine the kernel. False starts plain ipykernel (tests only).").tag(
        config=True
    )
    cpu_seconds = Integer(600, help="CPU seconds of one kernel (one notebook).").tag(config=True)
    memory = Integer(4 << 30, help="Bytes of address space of one kernel.").tag(config=True)
    file_size = Integer(256 << 20, help="Bytes any file written by a kernel may reach.").tag(
        config=True
    )
    processes = Integer(64, help="Processes and threads of the kernel's own uid.").tag(config=True)

    _box = None

    async def _async_pre_start_kernel(self, **kw):
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        if not self.confine:
            return cmd, kw
        await self._async_release_box()
        folder = os.path.realpath(kw.get("cwd") or os.getcwd())
        arguments = (
            cmd[cmd.index(self.connection_file) + 1 :] if self.connection_file in cmd else []
        )
        self._box = KernelBox(self, folder, arguments, kw.get("env") or os.environ)
        kw["env"] = self._box.env
        kw["cwd"] = folder
        return self._box.command, kw

    async def _async_post_start_kernel(self, **kw):
        await super()._async_post_start_kernel(**kw)
        if self._box is not None:
            self._box.log_walls(self.log)

    async def _async_release_box(self):
        box, self._box = self._box, None
        if box is not None:
            box.close(self.log)

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        await self._async_release_box()

    cleanup_resources = _async_cleanup_resources


SKIP_TAG = "autograde-skip"
SKIPPED_NOTE = (
    "Not run by the autograder (this cell is tagged autograde-skip): it trains a model or "
    "uses a trained one, and the grader trains and checks your model itself, on settings "
    "you have not seen. Its verdicts are in this notebook's autograder cells. Run the "
    "notebook yourself to see this cell's output.\n"
)


class ConfinedExecute(Execute):
    """nbgrader's Execute preprocessor, with confined kernels, that skips tagged cells."""

    skip_tag = Unicode(
        SKIP_TAG, help="Cells with this tag are not run; they get a note saying why."
    ).tag(config=True)

    def __init__(self, *args, **kwargs):
        # nbgrader's Execute passes its kernel manager class as an argument, which
        # would win over the configuration.
        kwargs.setdefault("kernel_manager_class", ConfinedKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and self.skip_tag in cell.metadata.get("tags", ()):
            cell.execution_count = None
            cell.outputs = [new_output("stream", name="stdout", text=SKIPPED_NOTE)]
            return cell, resources
        return super().preprocess_cell(cell, resources, index)


class KernelBox:
    """The private folder, uid, limits and command of one confined kernel."""

    def __init__(self, manager, folder, arguments, env):
        own_uid = os.geteuid() == 0
        self.folder = folder
        self.uid = fresh_uid() if own_uid else None
        self.lent = []  # (path, uid, gid) of what was lent to the kernel's uid
        self.base = Path(tempfile.mkdtemp(prefix="autograder-kernel-", dir=jobs_root(own_uid)))
        os.chmod(self.base, 0o711)
        home = self.base / "home"
        home.mkdir(mode=0o700)
        (home / "tmp").mkdir()
        # The hidden cells import autograder.frontends.nbgrader.check: that one module,
        # below empty __init__.py files, is all of the grader the kernel gets.
        lib = package = home / "lib"
        lib.mkdir()
        *packages, module = check.__name__.split(".")
        for name in packages:
            package = package / name
            package.mkdir()
            (package / "__init__.py").write_text("")
        shutil.copyfile(check.__file__, package / f"{module}.py")
        connection = home / "kernel-connection.json"
        shutil.copyfile(manager.connection_file, connection)
        info = manager.get_connection_info()
        ports = [info[f"{name}_port"] for name in ("shell", "iopub", "stdin", "control", "hb")]
        runtime = runtimes.kernel_plan(own_uid)
        # The instructor's data set that autograde linked into the folder (data.py),
        # as the grader recorded it: a kernel may have changed the link since.
        data = data_folder_of(folder)
        self.report = self.base / "walls.json"
        # Where a kernel of its own uid sees its folder (see confine.bind_view): the
        # course may sit below a folder that uid cannot pass through.
        view = None
        if self.uid is not None and not runtimes.passable_by_anyone(folder):
            view = str(self.base / "folder")
            os.mkdir(view, 0o755)
        spec = {
            "parent_pid": os.getpid(),
            "uid": self.uid,
            "gid": self.uid,
            "limits": {
                "as": manager.memory,
                "cpu": [manager.cpu_seconds, manager.cpu_seconds + 1],
                "fsize": manager.file_size,
                "core": 0,
                "nproc": manager.processes if own_uid else None,
            },
            "stdlib": list(runtime.stdlib),
            "site": list(runtime.site),
            "remap": [list(pair) for pair in runtime.remap],
            "read_paths": runtime.read_paths() + ([data] if data else []),
            "write_paths": [folder, str(home)],
            "ports": ports,
            "cwd": folder,
            "view": view,
            "lib": str(lib),
            "connection_file": str(connection),
            "arguments": list(arguments),
            "report": str(self.report),
        }
        spec_path = self.base / "kernel.json"
        spec_path.write_text(json.dumps(spec))
        os.chmod(spec_path, 0o600)
        if self.uid is not None:
            for path in [home, *home.rglob("*")]:
                os.chown(path, self.uid, self.uid, follow_symlinks=False)
            self._lend(folder)
        self.env = {name: env[name] for name in KERNEL_ENV if name in env}
        self.env.update(
            PATH="/usr/bin:/bin",
            HOME=str(home),
            TMPDIR=str(home / "tmp"),
            MPLCONFIGDIR=str(home / "tmp"),
            PYTHONDONTWRITEBYTECODE="1",
        )
        self.env.setdefault("LANG", "C.UTF-8")
        self.command = [sys.executable, "-I", "-S", "-B", str(LAUNCHER), str(spec_path)]

    def _lend(self, folder):
        """Give the student's folder to the kernel's uid for the run (given back by close)."""
        for path in tree(folder):
            st = os.lstat(path)
            if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode):
                self.lent.append((path, st.st_uid, st.st_gid))
                os.chown(path, self.uid, self.uid, follow_symlinks=False)

    def _remove_links(self, log):
        """Remove every symbolic link in the folder but the data link autograde made.

        A kernel may link to any file from its own folder (making a link is not opening
        its target); nbgrader then follows such links: set_permissions chmods their
        targets, generate_feedback copies them into the student's feedback."""
        data = data_folder_of(self.folder)
        for path in tree(self.folder):
            if not path.is_symlink():
                continue
            target = os.readlink(path)
            if data and path == Path(self.folder) / DATA and target == data:
                continue
            try:
                path.unlink()
            except OSError as exc:
                log.error("Could not remove the link %s -> %s: %s", path, target, exc)
                continue
            log.error("Removed the link %s -> %s that a kernel made", path, target)

    def log_walls(self, log):
        for _ in range(100):  # the kernel writes the file before it runs a cell
            try:
                walls = json.loads(self.report.read_text())
                break
            except (OSError, ValueError):
                time.sleep(0.05)
        else:
            log.warning("Kernel in %s: its walls are unknown (it did not report)", self.folder)
            return
        # A wall the kernel could not raise is reported as "no ..." (confine.apply).
        missing = any(wall.startswith("no ") for wall in walls)
        level = logging.WARNING if missing else logging.INFO
        log.log(level, "Kernel in %s runs with: %s", self.folder, ", ".join(walls))

    def close(self, log):
        """Kill whatever is left of the kernel, remove the links it made, give the folder
        back, remove the private one."""
        if self.uid is not None:
            survivors = kill_uid(self.uid)
            if survivors:
                log.error("Processes of the kernel's uid %s survived: %s", self.uid, survivors)
        self._remove_links(log)
        if self.uid is not None:
            owner = os.lstat(Path(self.folder).parent)
            for path in tree(self.folder):
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                if st.st_uid == self.uid:  # what it made; a link to a foreign file is not ours
                    os.chown(path, owner.st_uid, owner.st_gid, follow_symlinks=False)
            for path, uid, gid in self.lent:
                try:
                    os.chown(path, uid, gid, follow_symlinks=False)
                except OSError:
                    pass
        shutil.rmtree(self.base, ignore_errors=True)


def tree(folder):
    """`folder` and everything under it, without following a symbolic link (the data
    set is a link to the instructor's folder: never lent, never chowned)."""
    yield Path(folder)
    for top, dirs, files in os.walk(folder):
        for name in dirs + files:
            yield Path(top, name)
