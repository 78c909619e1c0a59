"""The zygote: a clean process that imports numpy and child.py once, then forks one child per job.

Started by ``autograder.sandbox.forking`` like a child (``python -I -S -B``, an
allow-listed environment) as

    python -I -S -B zygote.py GRADER_PID SOCKET_FD RUNTIME_JSON

It never sees a job's inputs, the reference, expected values or the rubric,
and never runs student code: it reads requests (a job file's path, the box to
work in, the environment, and the child's stdin, stdout and stderr as file
descriptors) from its socket and answers each with the pid of a new child.

A child is made with ``clone(CLONE_PARENT)``: it is the grader's child, not
the zygote's, so the grader waits for it, reads its CPU time and memory from
the kernel (``wait4``) and is the parent it dies with, exactly as with a
spawned child. Before any student code the child starts a session of its own,
takes the descriptors it was given as 0, 1 and 2 and closes every other, moves
to its box with the job's environment, and then runs ``child.main``, which
raises every wall (limits, uid, death with the grader, Landlock, seccomp) as
a spawned child does. Standard library and numpy only.
"""

import ctypes
import importlib.util
import json
import os
import socket
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
CLONE_PARENT = 0x00008000
SIGCHLD = 17
CLONE_SYSCALL = {"x86_64": 56, "aarch64": 220}  # flags first on both; the rest are 0
MAX_REQUEST = 1 << 16
# Imported here once so that every child has them in memory: what child.py and confine.py
# import, and numpy.random (every job seeds it). Nothing else, so that the canary's
# imports (subprocess, dataclasses, numpy.testing...) still prove the child's runtime.
PRELOAD = ("numpy", "numpy.random", "json", "traceback", "time", "resource", "signal", "struct")


def load(name):
    """A module beside this file, by path (python -I puts no folder of ours on the path)."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def use_runtime(runtime, walls):
    """Import numpy from the runtime the grader chose, as child.setup does."""
    walls.remap_loaded_packages(runtime["remap"])
    sys.path[:] = list(runtime["stdlib"]) + [runtime["numpy_parent"]]
    for name in PRELOAD:
        __import__(name)
    sys.path[:] = list(runtime["stdlib"])


def fork_into_parent():
    """clone(CLONE_PARENT): a copy of this process whose parent is the grader. 0 in the
    child, its pid here. Python's own fork hooks run around it, as in os.fork."""
    number = CLONE_SYSCALL.get(os.uname().machine)
    if number is None:
        raise OSError(f"no clone system call known on {os.uname().machine}")
    libc = ctypes.PyDLL(None, use_errno=True)  # the GIL stays held, as os.fork holds it
    libc.syscall.restype = ctypes.c_long
    api = ctypes.pythonapi
    api.PyOS_BeforeFork()
    pid = libc.syscall(ctypes.c_long(number), ctypes.c_ulong(CLONE_PARENT | SIGCHLD), 0, 0, 0, 0)
    if pid == 0:
        api.PyOS_AfterFork_Child()
        return 0
    errno = ctypes.get_errno()
    api.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(errno, "clone(CLONE_PARENT)")
    return pid


def become_child(sock, request, fds, child, walls):
    """In the new process: the state a spawned child starts in, then child.main. Never returns."""
    try:
        os.setsid()
        sock.detach()  # its descriptor goes with the rest just below
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(3, 1 << 20)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        if "tempfile" in sys.modules:
            sys.modules["tempfile"].tempdir = None
        sys.argv = [child.__file__, request["job"]]
        child.main(request["job"], walls)
    except BaseException:  # noqa: BLE001 - reported to the job's stderr, and the child ends
        traceback.print_exc()
    finally:
        os._exit(71)


def serve(sock, child, walls):
    """Answer requests until the grader closes its end."""
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(sock, MAX_REQUEST, 3)
        except OSError:
            return
        if not data:
            return
        try:
            request = json.loads(data)
            if len(fds) != 3:
                raise ValueError(f"{len(fds)} file descriptors, expected 3")
            sys.stdout.flush()
            sys.stderr.flush()
            pid = fork_into_parent()
            if pid == 0:
                become_child(sock, request, fds, child, walls)
            reply = {"pid": pid}
        except Exception as exc:  # noqa: BLE001 - the grader falls back to spawning
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            for fd in fds:
                os.close(fd)
        sock.send(json.dumps(reply).encode())


def main():
    grader_pid, fd, runtime = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
    sock = socket.socket(fileno=fd)
    walls = load("confine")
    walls.die_with_parent(grader_pid)
    use_runtime(runtime, walls)
    child = load("child")
    threads = len(os.listdir("/proc/self/task"))
    if threads != 1:  # a fork would copy only this thread, and locks others hold
        sock.send(json.dumps({"error": f"the zygote has {threads} threads"}).encode())
        return
    sock.send(json.dumps({"ready": os.getpid(), "preloaded": sorted(sys.modules)}).encode())
    serve(sock, child, walls)


if __name__ == "__main__":
    main()
