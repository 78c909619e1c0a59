"""The walls around a process that runs untrusted code, raised by the process itself.

Standard library only, importable as a plain file (``import confine``) by any
launcher before it runs student code: the engine's child (``child.py``) and,
for notebooks, a kernel launcher. ``apply`` raises them in order:

1. resource limits (CPU seconds, address space, file size, open files, core
   dumps, processes of the uid);
2. a uid and gid of its own, when started as root: every capability goes;
3. death with the parent (the grader), and no exit if it is already gone;
4. Landlock (Linux 5.13+): read only the given runtime paths, write only the
   given folders, no TCP (or, ABI 4+, binding only the given TCP ports and
   connecting nowhere), no signals to processes outside the domain;
5. seccomp (x86_64): no fork, exec, ptrace, sockets, mounts or namespaces,
   and signals only to the process itself.

Two profiles: the engine's child (no sockets at all) and a Jupyter kernel
(``tcp_ports`` given: it may make TCP sockets, IPv4 or IPv6, to listen on the
ports of its connection file, a NETLINK_ROUTE socket, with which ZMQ lists
the interfaces, and socket pairs (asyncio's self-pipe); every other socket
family, type and protocol is refused).

It also points the imports of a process at the runtime view that its uid can
read (``remap_loaded_packages``).

A kernel or container without Landlock or seccomp must not stop grading:
what could not be applied is returned as ``no landlock (...)`` /
``no seccomp (...)`` so that the parent can say which walls are up.
"""

import ctypes
import errno
import os
import resource
import signal
import struct
import sys

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.restype = ctypes.c_int


def _prctl(option, arg2=0, arg3=0, arg4=0, arg5=0):
    return _libc.prctl(
        ctypes.c_int(option),
        ctypes.c_ulong(arg2),
        ctypes.c_ulong(arg3),
        ctypes.c_ulong(arg4),
        ctypes.c_ulong(arg5),
    )


# --- 2. resource limits ------------------------------------------------------
def set_limits(limits, applied):
    table = {
        "as": resource.RLIMIT_AS,
        "cpu": resource.RLIMIT_CPU,
        "fsize": resource.RLIMIT_FSIZE,
        "nofile": resource.RLIMIT_NOFILE,
        "core": resource.RLIMIT_CORE,
        "nproc": resource.RLIMIT_NPROC,
    }
    for key, value in limits.items():
        if value is not None:
            soft, hard = value if isinstance(value, list) else (value, value)
            resource.setrlimit(table[key], (soft, hard))
    applied.append("rlimits")


# --- 3. a uid of our own ----------------------------------------------------
def drop_root(uid, gid, applied):
    if os.getuid() != 0 or uid is None:
        return
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)  # from uid 0 to another uid: every capability goes
    applied.append(f"uid {uid}")


# --- 4. die with the parent ---------------------------------------------------
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38


def die_with_parent(parent_pid):
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(70)


# --- 5. Landlock ---------------------------------------------------------------
SYS_landlock_create_ruleset = 444
SYS_landlock_add_rule = 445
SYS_landlock_restrict_self = 446
LL_EXECUTE, LL_WRITE_FILE, LL_READ_FILE, LL_READ_DIR = 1, 2, 4, 8
LL_FILE_RIGHTS = LL_EXECUTE | LL_WRITE_FILE | LL_READ_FILE | (1 << 14) | (1 << 15)
LL_READ = LL_EXECUTE | LL_READ_FILE | LL_READ_DIR


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


LL_NET_BIND_TCP = 1
LL_RULE_PATH_BENEATH, LL_RULE_NET_PORT = 1, 2


class _NetPort(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


def landlock(read_paths, rw_paths, applied, tcp_ports=()):
    if os.uname().machine != "x86_64":
        return
    abi = _libc.syscall(SYS_landlock_create_ruleset, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 1:
        return
    fs = (1 << 13) - 1
    if abi >= 2:
        fs |= 1 << 13  # REFER
    if abi >= 3:
        fs |= 1 << 14  # TRUNCATE
    if abi >= 5:
        fs |= 1 << 15  # IOCTL_DEV
    attr = _RulesetAttr(fs, 3 if abi >= 4 else 0, 3 if abi >= 6 else 0)
    size = 8 if abi < 4 else (16 if abi < 6 else 24)
    ruleset = _libc.syscall(
        SYS_landlock_create_ruleset, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)
    )
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
    rules = [(p, LL_READ) for p in read_paths] + [(p, fs) for p in rw_paths]
    rules.append(("/dev/null", LL_READ_FILE | LL_WRITE_FILE))
    for path, rights in rules:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if not os.path.isdir(path):
                rights &= LL_FILE_RIGHTS
            rule = _PathBeneath(rights & fs, fd)
            if (
                _libc.syscall(
                    SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, ctypes.byref(rule), 0
                )
                < 0
            ):
                raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}")
        finally:
            os.close(fd)
    if abi >= 4:  # TCP: bind only these ports, connect nowhere
        for port in tcp_ports:
            rule = _NetPort(LL_NET_BIND_TCP, int(port))
            if (
                _libc.syscall(
                    SYS_landlock_add_rule, ruleset, LL_RULE_NET_PORT, ctypes.byref(rule), 0
                )
                < 0
            ):
                raise OSError(ctypes.get_errno(), f"landlock_add_rule tcp port {port}")
    if _prctl(PR_SET_NO_NEW_PRIVS, 1) != 0:
        raise OSError(ctypes.get_errno(), "no_new_privs")
    if _libc.syscall(SYS_landlock_restrict_self, ruleset, 0) < 0:
        raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    os.close(ruleset)
    applied.append(f"landlock abi {abi}")
    if tcp_ports and abi < 4:
        applied.append("no TCP port rules (Landlock ABI < 4)")


# --- 6. seccomp ------------------------------------------------------------------
AUDIT_ARCH_X86_64 = 0xC000003E
RET_ALLOW = 0x7FFF0000
RET_KILL = 0x80000000
RET_EPERM = 0x00050000 | 1
RET_ENOSYS = 0x00050000 | 38
CLONE_THREAD = 0x00010000
# x86_64 system call numbers
DENY = {
    57: RET_EPERM,  # fork
    58: RET_EPERM,  # vfork
    59: RET_EPERM,  # execve
    322: RET_EPERM,  # execveat
    435: RET_ENOSYS,  # clone3: the C library falls back to clone
    101: RET_EPERM,  # ptrace
    310: RET_EPERM,  # process_vm_readv
    311: RET_EPERM,  # process_vm_writev
    41: RET_EPERM,  # socket
    53: RET_EPERM,  # socketpair
    424: RET_EPERM,  # pidfd_send_signal
    434: RET_EPERM,  # pidfd_open
    438: RET_EPERM,  # pidfd_getfd
    165: RET_EPERM,  # mount
    166: RET_EPERM,  # umount2
    272: RET_EPERM,  # unshare
    308: RET_EPERM,  # setns
    155: RET_EPERM,  # pivot_root
    161: RET_EPERM,  # chroot
    321: RET_EPERM,  # bpf
    298: RET_EPERM,  # perf_event_open
    248: RET_EPERM,  # add_key
    249: RET_EPERM,  # request_key
    250: RET_EPERM,  # keyctl
    323: RET_EPERM,  # userfaultfd
    425: RET_EPERM,  # io_uring_setup
    169: RET_EPERM,  # reboot
}
SELF_TARGETED = (62, 200, 234, 129, 297)  # kill, tkill, tgkill, rt_(tg)sigqueueinfo


def _bpf(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k & 0xFFFFFFFF)


AF_INET, AF_INET6, AF_NETLINK, NETLINK_ROUTE = 2, 10, 16, 0
SOCK_STREAM, SOCK_TYPE_MASK = 1, 0xF


def seccomp(self_pid, applied, tcp=False):
    """The filter; `tcp`: socket() is allowed for TCP over IPv4 and IPv6 (a kernel's ZMQ)."""
    if os.uname().machine != "x86_64":
        return
    LD, JEQ, JGE, JSET, RET, AND = 0x20, 0x15, 0x35, 0x45, 0x06, 0x54
    prog = [
        _bpf(LD, 0, 0, 4),  # arch
        _bpf(JEQ, 1, 0, AUDIT_ARCH_X86_64),
        _bpf(RET, 0, 0, RET_KILL),
        _bpf(LD, 0, 0, 0),  # syscall number
        _bpf(JGE, 0, 1, 0x40000000),  # the x32 ABI
        _bpf(RET, 0, 0, RET_EPERM),
    ]
    if tcp:
        prog += [
            _bpf(JEQ, 0, 11, 41),  # socket(domain, type, protocol)
            _bpf(LD, 0, 0, 16),
            _bpf(JEQ, 2, 0, AF_INET),
            _bpf(JEQ, 1, 0, AF_INET6),
            _bpf(JEQ, 3, 5, AF_NETLINK),
            _bpf(LD, 0, 0, 24),
            _bpf(AND, 0, 0, SOCK_TYPE_MASK),  # without SOCK_NONBLOCK / SOCK_CLOEXEC
            _bpf(JEQ, 3, 2, SOCK_STREAM),
            _bpf(LD, 0, 0, 32),
            _bpf(JEQ, 1, 0, NETLINK_ROUTE),  # read the interfaces (ZMQ resolves its address)
            _bpf(RET, 0, 0, RET_EPERM),
            _bpf(RET, 0, 0, RET_ALLOW),
        ]
    for nr, ret in DENY.items():
        if tcp and nr == 53:
            continue  # socketpair: the self-pipe of asyncio's event loops, connected to nothing
        prog += [_bpf(JEQ, 0, 1, nr), _bpf(RET, 0, 0, ret)]
    # clone: threads only
    prog += [
        _bpf(JEQ, 0, 4, 56),
        _bpf(LD, 0, 0, 16),
        _bpf(JSET, 0, 1, CLONE_THREAD),
        _bpf(RET, 0, 0, RET_ALLOW),
        _bpf(RET, 0, 0, RET_EPERM),
    ]
    # signals: only to this very process (pid 0 is its own process group)
    for nr in SELF_TARGETED:
        prog += [
            _bpf(LD, 0, 0, 0),
            _bpf(JEQ, 0, 5, nr),
            _bpf(LD, 0, 0, 16),
            _bpf(JEQ, 2, 0, self_pid),
            _bpf(JEQ, 1, 0, 0) if nr == 62 else _bpf(JEQ, 1, 0, self_pid),
            _bpf(RET, 0, 0, RET_EPERM),
            _bpf(RET, 0, 0, RET_ALLOW),
        ]
    prog.append(_bpf(RET, 0, 0, RET_ALLOW))
    code = b"".join(prog)
    buf = ctypes.create_string_buffer(code, len(code))

    class _Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = _Fprog(len(prog), ctypes.addressof(buf))
    if _prctl(PR_SET_NO_NEW_PRIVS, 1) != 0:
        raise OSError(ctypes.get_errno(), "no_new_privs")
    if _libc.syscall(317, 1, 0, ctypes.byref(fprog)) != 0:  # seccomp(SET_MODE_FILTER)
        raise OSError(ctypes.get_errno(), "seccomp")
    applied.append("seccomp (TCP sockets only)" if tcp else "seccomp")


# --- a view of the working folder ----------------------------------------------
CLONE_NEWNS = 0x00020000
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18


def bind_view(folder, view):
    """As root: in a mount namespace of this process's own, show `folder` at `view` too.

    A course may sit below a folder that only its owner can pass through (a home
    folder); a process of another uid can then open nothing by its absolute path
    there, and Python imports and data files by absolute paths. `view` is a folder
    that every uid can reach; the files are the same (a bind mount), so Landlock's
    rules on `folder` hold for them. Raises OSError where namespaces are not allowed
    (a container without CAP_SYS_ADMIN, for example), where the mounts cannot be made
    private (a plain chroot: its / is no mount point), and when `view` does not show
    `folder` afterwards (the calls returned, but the view did not take effect)."""
    _libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_void_p]
    if _libc.unshare(CLONE_NEWNS) != 0:
        raise _failed("unshare(CLONE_NEWNS)")
    if _libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        raise _failed("mount --make-rprivate /")
    if _libc.mount(os.fsencode(folder), os.fsencode(view), None, MS_BIND, None) != 0:
        raise _failed(f"mount --bind {folder} {view}")
    check_view(folder, view)


def _failed(call):
    number = ctypes.get_errno()
    return OSError(number, f"{call}: {os.strerror(number)}")


def check_view(folder, view):
    """Raise OSError unless `view` shows `folder` (the same directory)."""
    if not os.path.samestat(os.stat(folder), os.stat(view)):
        raise OSError(errno.ENOENT, f"{view} does not show {folder}")


def remap_loaded_packages(pairs):
    """Packages the interpreter imported at start-up keep searching their submodules
    where they were found; point them at the runtime's view (see runtime.py): a list
    of (original prefix, view prefix) pairs."""
    pairs = sorted(pairs, key=lambda pair: -len(pair[0]))
    for module in list(sys.modules.values()):
        search = getattr(module, "__path__", None)
        if not isinstance(search, list):
            continue
        for i, entry in enumerate(search):
            for old, new in pairs:
                if entry == old or entry.startswith(old + os.sep):
                    search[i] = new + entry[len(old) :]
                    break
    sys.path_importer_cache.clear()


def apply(limits, uid, gid, parent_pid, read_paths, write_paths, tcp_ports=None):
    """Raise every wall the machine allows; the list of what was applied.

    tcp_ports: None for the engine's child (no sockets); for a Jupyter kernel,
    the TCP ports it listens on (the only ones Landlock ABI 4+ lets it bind)."""
    applied = []
    set_limits(limits, applied)
    drop_root(uid, gid, applied)
    die_with_parent(parent_pid)
    try:
        landlock(read_paths, write_paths, applied, tcp_ports or ())
    except OSError as exc:
        applied.append(f"no landlock ({exc})")
    try:
        seccomp(os.getpid(), applied, tcp=tcp_ports is not None)
    except OSError as exc:
        applied.append(f"no seccomp ({exc})")
    return applied
