"""What every check group shares: verdicts, the grading context, comparisons.

A check group builds one job for a child (operations and input arrays, with
what the parent keeps to itself: expected values) and then judges the
child's outcome. Judging reads arrays through ``fetch``, which turns every
way a result can be malformed into a message.
"""

from __future__ import annotations

import functools
import signal
from dataclasses import dataclass, field

import numpy as np

from ... import paths
from ...sandbox import Limits, jobs
from .. import feedback

# Norm-based relative error allowed between a result and the reference. Correct
# float64 code lands near 1e-15, correct code that computes in float32 near
# 1e-7; every bug the mutants plant is above 1e-3.
TOLERANCE = 1e-5


@dataclass
class Verdict:
    passed: bool
    message: str
    retry: bool = False  # a completed run that missed a threshold: worth fresh draws
    coupled: bool = False  # passed where the student's own forward function is right


@dataclass
class Context:
    """What the parent knows while building jobs: randomness, reference, stored values."""

    rng: np.random.Generator
    ref: object
    seed: int | None = None  # of the whole grade, for feedback that names it

    def expected(self, name):
        return _expected(str(paths.EXPECTED_DIR / f"{name}.npz"))


@functools.cache
def _expected(path):
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


@dataclass
class Plan:
    """A built job and what the parent keeps to judge it."""

    job: object
    state: dict = field(default_factory=dict)


class Group:
    """A set of checks judged from the outcome of one child."""

    name: str = ""
    checks: tuple = ()
    limits: Limits = Limits()

    def build(self, ctx: Context) -> Plan:
        raise NotImplementedError

    def judge(self, plan: Plan, outcome) -> dict:
        raise NotImplementedError


def rel_error(a, b):
    """||a - b|| / (||a|| + ||b||), 0 when both are 0."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / scale) if scale > 0 else 0.0


def dims_text(dims):
    if not dims:
        return ""
    return f"({', '.join(dims)}) = ({', '.join(str(v) for v in dims.values())})"


def op_problem(outcome, step, fn):
    """Why the step named `step` (a call of `fn`, for the feedback) produced nothing
    usable, or None if it finished. Limits are quoted as the child had them."""
    record = outcome.status(step)
    limits = outcome.limits
    memory_mb = limits.memory >> 20
    if record is None or record.get("state") != "done":
        if outcome.termination == "timeout":
            return feedback.timeout(fn, limits.wall)
        if outcome.termination == "signal":
            sig = -outcome.returncode
            if sig in (signal.SIGXCPU, signal.SIGKILL) and outcome.cpu_seconds >= limits.cpu - 0.5:
                return feedback.cpu_time(fn, limits.cpu)
            return feedback.killed(fn, sig, memory_mb)
        if outcome.returncode:
            return feedback.exited(fn, outcome.returncode)
        return f"{fn} did not run: the process ended before it."
    if record.get("ok"):
        return None
    if record.get("kind") == "exception":
        return feedback.exception(fn, record, memory_mb)
    return feedback.truncate(f"{fn}: {record.get('message') or 'returned something unusable'}.")


def fetch(outcome, name, label, shape, shape_desc="", integer=False):
    """(float64 array, None) if `name` is a finite numeric array of `shape`, else (None, why)."""
    value, why = outcome.array(name)
    label = label[0].upper() + label[1:]
    if value is None:
        if why == "missing":
            return None, f"{label} was not returned."
        return None, f"{label} is {why}."
    if tuple(value.shape) != tuple(shape):
        desc = f"{shape_desc} = " if shape_desc else ""
        return (
            None,
            f"{label} has the wrong shape: expected {desc}{tuple(shape)}, got {value.shape}.",
        )
    if integer:
        if value.dtype.kind not in "iu":
            return None, f"{label} must be an integer array, got dtype {value.dtype}."
        return value.astype(np.int64), None
    if value.dtype.kind == "b":
        return None, f"{label} must hold numbers, got dtype bool."
    value = value.astype(np.float64)
    if not np.all(np.isfinite(value)):
        return None, f"{label} contains NaN or inf."
    return value, None


def compare(outcome, prefix, expected, shapes, dims, label="{}"):
    """Compare the saved outputs `prefix.<name>` with `expected` (name -> array).

    Returns (errors: name -> relative error of the outputs that came back,
    problems: list of messages, empty when everything matched).
    """
    errors, problems = {}, []
    for name, want in expected.items():
        text = label.format(name)
        got, why = fetch(outcome, f"{prefix}.{name}", text, want.shape, shapes.get(name, ""))
        if got is None:
            problems.append(why)
            continue
        errors[name] = rel_error(got, want)
        if errors[name] > TOLERANCE:
            problems.append(f"{text} is wrong: relative error {errors[name]:.1e}.")
    if problems and dims:
        problems[0] = f"On hidden inputs with {dims_text(dims)}: " + problems[0]
    return errors, problems


def layer_steps(spec, prefix, save_forward=False):
    """The child's steps that call `spec.fn` on the inputs `prefix.<arg>` and save its
    outputs as `prefix.<out>`. A backward function runs after its own forward, whose
    cache it takes (the student's business); `save_forward` also saves the forward's
    outputs as `prefix.forward.<out>`."""
    args = [jobs.In(f"{prefix}.{a}") for a in spec.args]
    steps = []
    if spec.is_backward:
        outs = [jobs.Save(f"{prefix}.forward.{o}") if save_forward else None
                for o in spec.forward_outs]  # fmt: skip
        outs.append(jobs.Keep(f"{prefix}.cache"))
        steps.append(jobs.call(f"{prefix}.forward", "rnn_layers", spec.forward, args, outs))
        args = [jobs.In(f"{prefix}.{u}") for u in spec.upstream]
        args.append(jobs.Obj(f"{prefix}.cache", pop=True))
        outs = [jobs.Save(f"{prefix}.{o}") for o in spec.outs]
    else:
        outs = [jobs.Save(f"{prefix}.{o}") for o in spec.outs] + [None]
    steps.append(jobs.call(prefix, "rnn_layers", spec.fn, args, outs))
    return steps
