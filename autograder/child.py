"""The sandboxed child: runs student code on the parent's inputs, writes arrays.

This file is the whole of the grader that ever runs next to student code. It
knows how to confine its own process, call a function or a model method and
save what comes back; it knows nothing of expected values, tolerances, the
rubric or the checks. It is started by ``autograder.sandbox`` as

    python -I -S -B child.py SANDBOX/job.json

and uses only the standard library and numpy. Everything it writes after the
student's code is imported is untrusted: the parent validates every array
and only uses the status files to word its feedback.

The steps, in order: point the imports at the runtime the parent chose (the
interpreter's own, or a view of it that the child's uid can read) and import
numpy; set the resource limits; drop root to a uid of its own; ask to be killed with the
parent; Landlock (files: read the runtime, write the sandbox only; no TCP; no
signals out of the sandbox); seccomp (no fork, exec, ptrace, sockets, or
signals to other processes); then import the student's package and run the
job's operations one by one.
"""

import ctypes
import json
import os
import resource
import signal
import struct
import sys
import time
import traceback

np = None  # numpy, imported by main() once the search path is set
SPEC = {}
SANDBOX = OUT = INPUTS = ""


def setup(job_path):
    """Read the job, point the imports at the runtime the parent chose, import numpy."""
    global np, SPEC, SANDBOX, OUT, INPUTS
    SANDBOX = os.path.dirname(os.path.abspath(job_path))
    OUT = os.path.join(SANDBOX, "out")
    INPUTS = os.path.join(SANDBOX, "inputs")
    with open(job_path) as f:
        SPEC = json.load(f)
    runtime = SPEC["runtime"]
    remap_loaded_packages(runtime["remap"])
    sys.path[:] = list(runtime["stdlib"]) + [runtime["numpy_parent"]]
    import numpy

    np = numpy
    sys.path[:] = [SANDBOX] + list(runtime["stdlib"])


def remap_loaded_packages(pairs):
    """Packages the interpreter imported at start-up keep searching their submodules
    where they were found; point them at the runtime's view (see autograder.runtime)."""
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


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.restype = ctypes.c_int
CONFINEMENT = []  # what was applied, written to out/confinement.json


def _prctl(option, arg2=0, arg3=0, arg4=0, arg5=0):
    return _libc.prctl(
        ctypes.c_int(option),
        ctypes.c_ulong(arg2),
        ctypes.c_ulong(arg3),
        ctypes.c_ulong(arg4),
        ctypes.c_ulong(arg5),
    )


# --- 2. resource limits ------------------------------------------------------
def set_limits(limits):
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
    CONFINEMENT.append("rlimits")


# --- 3. a uid of our own ----------------------------------------------------
def drop_root(uid, gid):
    if os.getuid() != 0 or uid is None:
        return
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)  # from uid 0 to another uid: every capability goes
    CONFINEMENT.append(f"uid {uid}")


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


def landlock(read_paths, rw_paths):
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
            if _libc.syscall(SYS_landlock_add_rule, ruleset, 1, ctypes.byref(rule), 0) < 0:
                raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}")
        finally:
            os.close(fd)
    if _prctl(PR_SET_NO_NEW_PRIVS, 1) != 0:
        raise OSError(ctypes.get_errno(), "no_new_privs")
    if _libc.syscall(SYS_landlock_restrict_self, ruleset, 0) < 0:
        raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    os.close(ruleset)
    CONFINEMENT.append(f"landlock abi {abi}")


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


def seccomp(self_pid):
    if os.uname().machine != "x86_64":
        return
    LD, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
    prog = [
        _bpf(LD, 0, 0, 4),  # arch
        _bpf(JEQ, 1, 0, AUDIT_ARCH_X86_64),
        _bpf(RET, 0, 0, RET_KILL),
        _bpf(LD, 0, 0, 0),  # syscall number
        _bpf(JGE, 0, 1, 0x40000000),  # the x32 ABI
        _bpf(RET, 0, 0, RET_EPERM),
    ]
    for nr, ret in DENY.items():
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
    CONFINEMENT.append("seccomp")


class CappedStream:
    """A text stream that keeps at most `cap` characters and drops the rest."""

    def __init__(self, stream, cap):
        self.stream, self.left = stream, cap

    def write(self, text):
        if self.left > 0:
            self.stream.write(text[: self.left])
            self.left -= len(text)
            if self.left <= 0:
                self.stream.write("\n[output truncated]\n")
        return len(text)

    def flush(self):
        self.stream.flush()

    def isatty(self):
        return False


def confine():
    set_limits(SPEC["limits"])
    drop_root(SPEC.get("uid"), SPEC.get("gid"))
    die_with_parent(SPEC["parent_pid"])
    # A kernel or container without Landlock or seccomp must not stop grading:
    # what could not be applied is recorded, and the parent warns about it.
    try:
        landlock(SPEC["read_paths"], [SANDBOX])
    except OSError as exc:
        CONFINEMENT.append(f"no landlock ({exc})")
    try:
        seccomp(os.getpid())
    except OSError as exc:
        CONFINEMENT.append(f"no seccomp ({exc})")
    with open(os.path.join(OUT, "confinement.json"), "w") as f:
        json.dump(CONFINEMENT, f)


# --- running the job ---------------------------------------------------------------
class OpError(Exception):
    """An operation could not run for a reason that is not the student's exception."""


def where(tb):
    """The last frame of a traceback that lies in the student's files."""
    student = ("rnn_layers.py", "rnn.py")
    last = None
    for frame in traceback.extract_tb(tb):
        if os.path.basename(frame.filename) in student and frame.filename.startswith(SANDBOX):
            last = f"{os.path.basename(frame.filename)}, line {frame.lineno}, in {frame.name}"
    return last


def load_input(name):
    with open(os.path.join(INPUTS, name + ".npy"), "rb") as f:
        return np.load(f, allow_pickle=False)


class Runner:
    def __init__(self):
        self.objs = {}
        self.modules = {}

    def module(self, name):
        if name not in self.modules:
            self.modules[name] = __import__(f"captioning.{name}", fromlist=["_"])
        return self.modules[name]

    def arg(self, spec):
        if "in" in spec:
            return load_input(spec["in"])  # a fresh array for every call
        if "obj" in spec:
            if spec["obj"] not in self.objs:
                raise OpError(f"needs the result of an earlier call that failed ({spec['obj']})")
            return self.objs.pop(spec["obj"]) if spec.get("pop") else self.objs[spec["obj"]]
        if "int" in spec:
            return int(spec["int"])
        raise OpError(f"bad argument {spec}")

    def save(self, name, value, what):
        if type(value) is not np.ndarray:
            if isinstance(value, (float, int, np.floating, np.integer)) and what == "scalar":
                value = np.asarray(value)
            else:
                raise OpError(
                    f"{what} must be a numpy array (numpy.ndarray), not {type(value).__name__}"
                )
        np.save(os.path.join(OUT, name + ".npy"), value, allow_pickle=False)

    def store(self, value, outs, label):
        if len(outs) == 1 and not isinstance(outs[0], list):
            value = (value,)
        elif not isinstance(value, tuple):
            raise OpError(f"{label} must return a tuple of {len(outs)} values")
        if len(value) != len(outs):
            raise OpError(f"{label} returned {len(value)} values, expected {len(outs)}")
        for v, out in zip(value, outs):
            if out is None:
                continue
            if "keep" in out:
                self.objs[out["keep"]] = v
            elif "save" in out:
                self.save(out["save"], v, out.get("what", out["save"]))
            elif "save_dict" in out:
                if not isinstance(v, dict):
                    raise OpError(f"{out['save_dict']} must be a dict")
                missing = [k for k in out["keys"] if k not in v]
                if missing:
                    raise OpError(f"{out['save_dict']} has no key {missing[0]!r}")
                for k in out["keys"]:
                    self.save(f"{out['save_dict']}.{k}", v[k], f"{out['save_dict']}[{k!r}]")

    def run(self, op):
        kind = op["op"]
        if kind == "call":
            module, name = op["fn"].split(".")
            fn = getattr(self.module(module), name, None)
            if not callable(fn):
                raise OpError(f"{module}.py has no function {name}")
            args = [self.arg(a) for a in op["args"]]
            self.store(fn(*args), op["out"], name)
        elif kind == "model":
            cls = getattr(self.module("rnn"), "CaptioningRNN", None)
            if cls is None:
                raise OpError("rnn.py has no class CaptioningRNN")
            np.random.seed(op["seed"])
            kwargs = dict(op["kwargs"])
            kwargs["dtype"] = np.dtype(kwargs["dtype"]).type
            model = cls(op["word_to_idx"], **kwargs)
            for key, name in op.get("params", {}).items():
                model.params[key] = load_input(name)
            self.objs[op["name"]] = model
        elif kind == "params":
            model = self.arg({"obj": op["obj"]})
            for key, name in op["params"].items():
                model.params[key] = load_input(name)
        elif kind == "method":
            model = self.arg({"obj": op["obj"]})
            args = [self.arg(a) for a in op["args"]]
            kwargs = {k: self.arg(a) for k, a in op.get("kwargs", {}).items()}
            self.store(getattr(model, op["method"])(*args, **kwargs), op["out"], op["method"])
        elif kind == "train":
            self.train(op)
        elif kind == "import":
            failed = []
            for name in op["modules"]:
                try:
                    __import__(name)
                except BaseException as exc:  # noqa: BLE001 - the canary reports every failure
                    failed.append(f"{name} ({type(exc).__name__}: {exc})")
            if failed:
                raise OpError("cannot import " + ", ".join(failed))
        else:
            raise OpError(f"unknown operation {kind}")

    def train(self, op):
        """Adam on random minibatches, with the trusted optim module of the sandbox."""
        adam = self.module("optim").adam
        model = self.arg({"obj": op["obj"]})
        features, captions = load_input(op["features"]), load_input(op["captions"])
        rng = np.random.RandomState(op["seed"])
        losses = train_loop(
            model,
            features,
            captions,
            rng,
            op["iterations"],
            op["batch_size"],
            op["lr"],
            op["lr_decay"],
            adam,
        )
        self.save(op["save_losses"], np.asarray(losses, dtype=np.float64), "loss history")
        for key in op["keys"]:
            self.save(f"{op['save_params']}.{key}", model.params[key], f"params[{key!r}]")


def train_loop(model, features, captions, rng, iterations, batch_size, lr, lr_decay, adam):
    """The training of the overfit and BLEU checks; the parent runs it on the reference
    to choose their thresholds. Returns the loss of every iteration."""
    configs = {p: {"learning_rate": lr} for p in model.params}
    per_epoch = max(len(captions) // batch_size, 1)
    losses = []
    for it in range(iterations):
        idx = rng.choice(len(captions), batch_size)
        loss, grads = model.loss(features[idx].copy(), captions[idx].copy())
        losses.append(float(loss))
        for p in list(model.params):
            model.params[p], configs[p] = adam(model.params[p], grads[p], configs[p])
        if (it + 1) % per_epoch == 0:
            for config in configs.values():
                config["learning_rate"] *= lr_decay
    return losses


def status(index, record):
    with open(os.path.join(OUT, f"status_{index}.json"), "w") as f:
        json.dump(record, f)


def main():
    setup(sys.argv[1])
    confine()
    sys.stdout = CappedStream(sys.stdout, SPEC["output_cap"])
    sys.stderr = CappedStream(sys.stderr, SPEC["output_cap"])
    os.chdir(SANDBOX)
    np.random.seed(SPEC["seed"])
    runner = Runner()
    for index, op in enumerate(SPEC["ops"]):
        status(index, {"state": "running"})
        start = time.perf_counter()
        record = {"state": "done", "ok": True}
        try:
            runner.run(op)
        except OpError as exc:
            record = {"state": "done", "ok": False, "kind": "bad_return", "message": str(exc)}
        except BaseException as exc:  # noqa: BLE001 - SystemExit included: report, go on
            record = {
                "state": "done",
                "ok": False,
                "kind": "exception",
                "type": type(exc).__name__,
                "message": str(exc)[:2000],
                "where": where(exc.__traceback__),
            }
        record["seconds"] = time.perf_counter() - start
        status(index, record)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # no atexit handlers or finalizers of student objects


if __name__ == "__main__":
    main()
