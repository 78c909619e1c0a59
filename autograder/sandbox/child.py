"""The sandboxed child: runs student code on the parent's inputs, writes arrays.

This file is the whole of the grader that ever runs next to student code. It
knows how to confine its own process, call a function or a model method and
save what comes back; it knows nothing of expected values, tolerances, the
rubric or the checks. It is started by ``autograder.sandbox`` as

    python -I -S -B child.py SANDBOX/job.json

and uses only the standard library and numpy; or, where the machine allows,
the zygote (``zygote.py``) forks a process that already has numpy and this
module loaded and calls ``main`` there, with the same walls. Everything it writes after the
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

import json
import os
import sys
import time
import traceback

np = None  # numpy, imported by main() once the search path is set
# The trusted reference layers, in the box only for a job that replaces the student's
# dependencies (see autograder.sandbox.jobs.Job.inject).
REFERENCE_MODULE = "_reference_rnn_layers"
SPEC = {}
SANDBOX = OUT = INPUTS = ""


def setup(job_path, walls):
    """Read the job, point the imports at the runtime the parent chose, import numpy."""
    global np, SPEC, SANDBOX, OUT, INPUTS
    SANDBOX = os.path.dirname(os.path.abspath(job_path))
    OUT = os.path.join(SANDBOX, "out")
    INPUTS = os.path.join(SANDBOX, "inputs")
    with open(job_path) as f:
        SPEC = json.load(f)
    runtime = SPEC["runtime"]
    walls.remap_loaded_packages(runtime["remap"])
    sys.path[:] = list(runtime["stdlib"]) + [runtime["numpy_parent"]]
    import numpy

    np = numpy
    sys.path[:] = [SANDBOX] + list(runtime["stdlib"])


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


def confine(walls):
    """Raise every wall (the module confine.py beside this file) and record which ones
    are up for the parent."""
    applied = walls.apply(
        limits=SPEC["limits"],
        uid=SPEC.get("uid"),
        gid=SPEC.get("gid"),
        parent_pid=SPEC["parent_pid"],
        read_paths=SPEC["read_paths"],
        write_paths=[SANDBOX],
    )
    with open(os.path.join(OUT, "confinement.json"), "w") as f:
        json.dump(applied, f)


# --- running the job ---------------------------------------------------------------
class OpError(Exception):
    """An operation could not run for a reason that is not the student's exception."""


def where(tb):
    """The last frame of a traceback that lies in the student's files."""
    student = SPEC["student_files"]
    last = None
    for frame in traceback.extract_tb(tb):
        if os.path.basename(frame.filename) in student and frame.filename.startswith(SANDBOX):
            last = f"{os.path.basename(frame.filename)}, line {frame.lineno}, in {frame.name}"
    return last


def interned(value):
    """Strings as the notebooks pass them: interned literals (student code that tests
    `cell_type is 'rnn'` works there), in dicts and lists too."""
    if isinstance(value, str):
        return sys.intern(value)
    if isinstance(value, dict):
        return {interned(k): interned(v) for k, v in value.items()}
    if isinstance(value, list):
        return [interned(v) for v in value]
    return value


def load_input(name):
    with open(os.path.join(INPUTS, name + ".npy"), "rb") as f:
        return np.load(f, allow_pickle=False)


class Runner:
    def __init__(self, inject=()):
        self.objs = {}
        self.modules = {}
        self.inject = tuple(inject)
        self.reference = None

    def module(self, name):
        if name not in self.modules:
            self.modules[name] = __import__(f"captioning.{name}", fromlist=["_"])
            if self.inject:
                self.replace_dependencies()
        return self.modules[name]

    def replace_dependencies(self):
        """Bind the reference's versions of the functions `inject` names in the
        student's modules, where the student's code looks them up: rnn_layers, and
        rnn.py wherever it imported one of them by name."""
        if self.reference is None:
            self.reference = __import__(f"captioning.{REFERENCE_MODULE}", fromlist=["_"])
        for name in ("rnn_layers", "rnn"):
            student = sys.modules.get(f"captioning.{name}")
            if student is None:
                continue
            for fn in self.inject:
                if name == "rnn_layers" or hasattr(student, fn):
                    setattr(student, fn, getattr(self.reference, fn))

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
            kwargs = {k: interned(v) for k, v in op["kwargs"].items()}
            kwargs["dtype"] = np.dtype(kwargs["dtype"]).type
            model = cls(interned(op["word_to_idx"]), **kwargs)
            for key, name in op.get("params", {}).items():
                model.params[key] = load_input(name)
            self.objs[op["obj"]] = model
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
        losses = train_loop(model, features, captions, adam, **op["training"])
        self.save(op["save_losses"], np.asarray(losses, dtype=np.float64), "loss history")
        for key in op["keys"]:
            self.save(f"{op['save_params']}.{key}", model.params[key], f"params[{key!r}]")


def train_loop(model, features, captions, adam, *, iterations, batch_size, lr, lr_decay, seed):
    """The training of the overfit and BLEU checks (the fields of
    autograder.sandbox.jobs.Training): Adam on minibatches drawn with `seed`. The
    parent runs it on the reference to choose their thresholds. Returns the loss of
    every iteration."""
    import numpy  # the child's own, or the parent's when the thresholds are measured

    rng = numpy.random.RandomState(seed)
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


def status(step, record):
    with open(os.path.join(OUT, f"status_{step}.json"), "w") as f:
        json.dump(record, f)


def load_walls():
    """confine.py, the module beside this file (python -I puts no folder of ours on the
    search path)."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "confine.py")
    spec = importlib.util.spec_from_file_location("confine", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(job_path=None, walls=None):
    """Run the job at `job_path` (default: the first argument). The zygote (zygote.py)
    calls it in a fresh fork, with confine.py already loaded as `walls`."""
    walls = walls or load_walls()
    setup(job_path or sys.argv[1], walls)
    confine(walls)
    sys.stdout = CappedStream(sys.stdout, SPEC["output_cap"])
    sys.stderr = CappedStream(sys.stderr, SPEC["output_cap"])
    os.chdir(SANDBOX)
    np.random.seed(SPEC["seed"])
    runner = Runner(SPEC.get("inject", ()))
    for op in SPEC["steps"]:
        status(op["name"], {"state": "running"})
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
        status(op["name"], record)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # no atexit handlers or finalizers of student objects


if __name__ == "__main__":
    main()
