"""The job protocol between the parent and the child: named steps, named results.

A job is a list of steps for ``child.py`` plus the input arrays they read.
Each step has a name unique in its job; the child writes one status record
per step under that name, and every array it saves under the name the step
declares. The parent addresses both by name (``Outcome.status``,
``Outcome.array``), never by position.

Arguments of a call are ``In(name)`` (a fresh copy of an input array),
``Obj(name)`` (an object an earlier step kept) or ``Int(value)``; what a call
returns is matched, position by position, with ``Save(name)`` (one array),
``SaveDict(name, keys)`` (a dict of arrays, saved as ``name.key``),
``Keep(name)`` (kept for a later step) or ``None`` (ignored).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

STEP_NAME = re.compile(r"[A-Za-z0-9_.+-]{1,100}")


# --- what a step reads and what it returns --------------------------------------------
def In(name):
    return {"in": name}


def Obj(name, pop=False):
    return {"obj": name, "pop": pop}


def Int(value):
    return {"int": int(value)}


def Save(name, what=None):
    return {"save": name, "what": what or name}


def SaveDict(name, keys):
    return {"save_dict": name, "keys": list(keys)}


def Keep(name):
    return {"keep": name}


def saved_names(outs):
    """Names of the arrays that a list of returns saves."""
    names = []
    for out in outs:
        if out and "save" in out:
            names.append(out["save"])
        elif out and "save_dict" in out:
            names += [f"{out['save_dict']}.{k}" for k in out["keys"]]
    return names


# --- steps ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One operation of the child: `op` is its wire form, `outputs` the arrays it saves."""

    name: str
    op: dict
    outputs: tuple = ()


def call(name, module, function, args, outs):
    """`module.function(*args)` of the student's package, results matched with `outs`."""
    op = {"op": "call", "fn": f"{module}.{function}", "args": list(args), "out": list(outs)}
    return Step(name, op, tuple(saved_names(outs)))


def model(name, obj, word_to_idx, kwargs, params, seed):
    """Build the student's CaptioningRNN (numpy seeded with `seed` first), keep it as
    `obj`, then set its parameters from the inputs `params` (key -> input name)."""
    op = {
        "op": "model",
        "obj": obj,
        "seed": int(seed),
        "word_to_idx": word_to_idx,
        "kwargs": kwargs,
        "params": dict(params),
    }
    return Step(name, op)


def set_params(name, obj, params):
    """Replace parameters of the kept model `obj` (key -> input name)."""
    return Step(name, {"op": "params", "obj": obj, "params": dict(params)})


def method(name, obj, method_name, args, outs, kwargs=None):
    """`obj.method_name(*args, **kwargs)` of a kept model."""
    op = {
        "op": "method",
        "obj": obj,
        "method": method_name,
        "args": list(args),
        "kwargs": dict(kwargs or {}),
        "out": list(outs),
    }
    return Step(name, op, tuple(saved_names(outs)))


@dataclass(frozen=True)
class Training:
    """How the child trains a model: Adam on random minibatches (see child.train_loop)."""

    iterations: int
    batch_size: int
    lr: float
    lr_decay: float
    seed: int


def train(name, obj, features, captions, training: Training, losses, params, keys):
    """Train the kept model `obj` on the inputs `features` and `captions`; save the loss
    of every iteration as `losses` and the trained parameters as `params.<key>`."""
    op = {
        "op": "train",
        "obj": obj,
        "features": features,
        "captions": captions,
        "training": training.__dict__,
        "save_losses": losses,
        "save_params": params,
        "keys": list(keys),
    }
    return Step(name, op, (losses, *(f"{params}.{k}" for k in keys)))


def imports(name, modules):
    """Import each module (the canary)."""
    return Step(name, {"op": "import", "modules": list(modules)})


# --- the job and its outcome ---------------------------------------------------------------
@dataclass(frozen=True)
class Limits:
    """What one child may use.

    CPU time is the limit that counts, as it does not depend on how busy the
    machine is: a loop that computes is stopped by the kernel after `cpu`
    seconds (SIGXCPU, then SIGKILL a second later). The wall clock, enforced
    by the parent, is the backstop for code that sleeps or waits.
    """

    cpu: int = 10  # seconds of CPU time (RLIMIT_CPU)
    wall: float = 30.0  # seconds of real time
    memory: int = 512 << 20  # bytes of address space (RLIMIT_AS)
    fsize: int = 16 << 20  # bytes any one written file may reach (RLIMIT_FSIZE)
    nofile: int = 64
    output: int = 64 << 10  # characters of print() output kept

    def scaled(self, factor):
        """The same limits with the times multiplied by `factor`."""
        return replace(self, cpu=max(1, round(self.cpu * factor)), wall=self.wall * factor)

    def rlimits(self, own_uid):
        return {
            "as": self.memory,
            "cpu": [self.cpu, self.cpu + 1],
            "fsize": self.fsize,
            "nofile": self.nofile,
            "core": 0,
            "nproc": 16 if own_uid else None,  # per-uid count: only with a uid of its own
        }


# The file the reference's layers are copied to in the box of a job that injects them
# (child.py imports it as captioning.<REFERENCE_MODULE>).
REFERENCE_MODULE = "_reference_rnn_layers"


@dataclass
class Job:
    """Steps for the child and the arrays they read (name -> array).

    `inject` names functions of rnn_layers.py that the child replaces, in the
    student's modules, with the reference's versions from `reference` (the
    source of the reference's rnn_layers.py, copied into the box): the
    student's function under test then runs on correct dependencies. The
    parent must use nothing but arrays and pass/fail from such a job: see
    ``autograder.engine.isolation``.
    """

    steps: list
    inputs: dict = field(default_factory=dict)
    seed: int = 0
    limits: Limits = field(default_factory=Limits)
    inject: tuple = ()
    reference: bytes = b""

    def __post_init__(self):
        names = [step.name for step in self.steps]
        if len(set(names)) != len(names):
            raise ValueError(f"step names repeat in a job: {names}")
        bad = [n for n in names if not STEP_NAME.fullmatch(n)]
        if bad:
            raise ValueError(f"step names must be plain file names: {bad}")
        if self.inject and not self.reference:
            raise ValueError("a job that injects reference functions needs the reference")

    def outputs(self):
        return [name for step in self.steps for name in step.outputs]


@dataclass
class Outcome:
    """What came back from one child, read after the child's group was dead."""

    termination: str  # "exited", "timeout", "signal"
    returncode: int | None
    seconds: float
    statuses: dict  # step name -> sanitized status record (absent: the step never ran)
    stdout: str
    stderr: str
    confinement: list
    limits: Limits  # what the child ran under (scaled, if it was)
    arrays: dict = field(default_factory=dict)  # name -> (array or None, why not)
    max_rss_mb: float = 0.0  # peak resident memory of the child
    cpu_seconds: float = 0.0

    def status(self, name):
        return self.statuses.get(name)

    def array(self, name):
        """(array, None) for a valid result, (None, reason) otherwise."""
        return self.arrays.get(name) or (None, "missing")
