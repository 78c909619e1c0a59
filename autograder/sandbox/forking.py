"""The grader's side of the zygote (``zygote.py``): start it, ask it for children, stop it.

A ``Zygote`` is one clean process per runtime (the folders a child imports
from) that has imported numpy and ``child.py`` once. ``fork`` sends it one
request (the job file, the box, the environment, the child's stdin, stdout
and stderr) and returns the pid of a new child, which is this process's own
child (``clone(CLONE_PARENT)``): the caller waits for it with ``os.wait4``
exactly as for a spawned one. Requests from several threads are answered one
at a time; a fork takes a few milliseconds.

The zygote is started from a thread of its own that lives as long as this
process: the kernel's death-with-the-parent signal follows the thread that
started a process, and every child of the zygote inherits that parent.
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

from ..blas import THREAD_VARIABLES as BLAS_THREAD_VARIABLES
from .zygote import CLONE_SYSCALL

CLONE_MACHINES = tuple(CLONE_SYSCALL)  # where a zygote can fork into its parent
ZYGOTE = Path(__file__).resolve().parent / "zygote.py"
START_SECONDS = 60
REPLY_SECONDS = 30


_started = []  # every zygote this process started, for `running`


def running():
    """The pids of this process's zygotes that have not ended (they never run student code)."""
    return {
        z.proc.pid
        for z in list(_started)
        if z.owner == os.getpid() and z.proc is not None and z.proc.poll() is None
    }


class ZygoteError(OSError):
    """The zygote could not start or could not make a child."""


def zygote_env():
    """The zygote's environment: the allow-list of a child, without its box."""
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        **{name: "1" for name in BLAS_THREAD_VARIABLES},
    }


class Zygote:
    """One zygote process (see the module docstring)."""

    def __init__(self, runtime: dict):
        self.lock = threading.Lock()
        self.owner = os.getpid()  # a fork of this process must not use or stop it
        self.dead = None  # why it can no longer fork, once it cannot
        self.proc = None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock = ours
        started, stop = threading.Event(), threading.Event()
        self._stop = stop
        failure = []

        def keep():
            try:
                self.proc = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-B", str(ZYGOTE), str(os.getpid())]
                    + [str(theirs.fileno()), json.dumps(runtime)],
                    cwd="/",
                    env=zygote_env(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    pass_fds=(theirs.fileno(),),
                    start_new_session=True,
                )
            except OSError as exc:
                failure.append(exc)
            finally:
                theirs.close()
                started.set()
            stop.wait()

        threading.Thread(target=keep, name="autograder-zygote", daemon=True).start()
        started.wait()
        if failure:
            self.close()
            raise ZygoteError(f"could not start the zygote: {failure[0]}")
        atexit.register(self.close)
        _started.append(self)
        reply = self._reply(START_SECONDS)
        if "ready" not in reply:
            why = reply.get("error") or "it ended before it was ready"
            self.close()
            raise ZygoteError(why)
        self.pid = reply["ready"]
        self.preloaded = frozenset(reply.get("preloaded", ()))

    def _reply(self, seconds):
        self.sock.settimeout(seconds)
        try:
            data = self.sock.recv(1 << 20)
        except OSError as exc:
            data, why = b"", str(exc)
        else:
            why = "it closed its socket"
        if not data:
            stderr = self._stderr()
            return {"error": f"{why}{': ' + stderr if stderr else ''}"}
        try:
            return json.loads(data)
        except ValueError:
            return {"error": "it answered something unreadable"}

    def _stderr(self):
        """The last line the zygote wrote, if it ends within a few seconds."""
        if self.proc is None or self.proc.stderr is None:
            return ""
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return ""
        lines = self.proc.stderr.read(1 << 16).decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else ""

    def fork(self, job, cwd, env, stdin, stdout, stderr) -> int:
        """The pid of a new child (this process's own) that runs child.main on `job`
        in `cwd` with `env` and these open files as its 0, 1 and 2."""
        request = json.dumps({"job": str(job), "cwd": str(cwd), "env": env}).encode()
        with self.lock:
            if self.dead:
                raise ZygoteError(self.dead)
            try:
                socket.send_fds(self.sock, [request], [f.fileno() for f in (stdin, stdout, stderr)])
            except OSError as exc:
                self.dead = f"it cannot be reached ({exc})"
                raise ZygoteError(self.dead) from exc
            reply = self._reply(REPLY_SECONDS)
            if "pid" not in reply:
                if "error" in reply and self.proc.poll() is None:
                    raise ZygoteError(reply["error"])  # this fork failed; the next may not
                self.dead = reply.get("error", "it stopped answering")
                raise ZygoteError(self.dead)
            return int(reply["pid"])

    def close(self):
        """Stop the zygote (it ends when its socket closes) and reap it."""
        if os.getpid() != self.owner:
            return
        self.dead = self.dead or "it was stopped"
        try:
            self.sock.close()
        except OSError:
            pass
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self.proc.stderr is not None:
                self.proc.stderr.close()
        self._stop.set()
