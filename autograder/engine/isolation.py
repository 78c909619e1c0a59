"""A bug costs what it breaks, once: which check runs which other student functions.

A check of a function that calls other TODO functions (rnn_forward calls
rnn_step_forward, CaptioningRNN.loss calls the layers) is graded twice when
it fails: once end to end on the student's own functions, then with the
reference's versions of the functions it calls bound in the student's
modules (``Job.inject``). It passes if either run passes; when only the
second does, the feedback names the student's function that breaks it.

What the second run may tell the student. Its child holds the reference's
versions of the functions it replaces, and no other (``reference_source``:
the student's function can call its dependencies, never the reference's
version of itself), as code the student's functions can call, hence can read
and print. So nothing of that child's output reaches feedback: not its
exception messages, not its printed text, not the shapes or errors of its
arrays. The parent keeps one bit per check (passed or not), judged as usual,
and the words come from this module. The end-to-end run, whose text does
reach the student, never has the reference in its box.

Some checks consume the output of another student function that cannot be
replaced: a backward function runs on the cache of the student's own
forward (caches are the student's business). Those stay coupled
(``COUPLED``): such a check that fails says which function it depends on
fails its own check. The training checks stay end to end.
"""

from __future__ import annotations

import ast
import json
import threading
from functools import cache

from .. import paths

RNN_LAYERS = (
    "rnn_step_forward",
    "rnn_step_backward",
    "rnn_forward",
    "rnn_backward",
    "word_embedding_forward",
    "word_embedding_backward",
    "lstm_step_forward",
    "lstm_step_backward",
    "lstm_forward",
    "lstm_backward",
)

# check -> the TODO functions it calls that the reference's can replace.
CALLS = {
    "rnn_forward": ("rnn_step_forward",),
    "rnn_backward": ("rnn_step_forward", "rnn_step_backward"),
    "lstm_forward": ("lstm_step_forward",),
    "lstm_backward": ("lstm_step_forward", "lstm_step_backward"),
    **{
        f"captioning_rnn_{kind}_{cell}": RNN_LAYERS
        for kind in ("loss", "grads", "sample")
        for cell in ("rnn", "lstm")
    },
}

# check -> the student functions whose output it consumes and that stay the
# student's, or that it runs end to end (the training checks).
COUPLED = {
    "rnn_step_backward": ("rnn_step_forward",),
    "rnn_backward": ("rnn_forward",),
    "word_embedding_backward": ("word_embedding_forward",),
    "lstm_step_backward": ("lstm_step_forward",),
    "lstm_backward": ("lstm_forward",),
}

# check -> the functions whose own checks tell whether they are right, as the
# feedback names them (what each check really runs of the student's).
USES = {
    "rnn_step_backward": ("rnn_step_forward",),
    "rnn_forward": ("rnn_step_forward",),
    "rnn_backward": ("rnn_step_backward", "rnn_forward", "rnn_step_forward"),
    "word_embedding_backward": ("word_embedding_forward",),
    "lstm_step_backward": ("lstm_step_forward",),
    "lstm_forward": ("lstm_step_forward",),
    "lstm_backward": ("lstm_step_backward", "lstm_forward", "lstm_step_forward"),
}
for _cell in ("rnn", "lstm"):
    _seq = (f"{_cell}_forward", f"{_cell}_step_forward")
    _back = (f"{_cell}_backward", f"{_cell}_step_backward")
    USES[f"captioning_rnn_loss_{_cell}"] = ("word_embedding_forward", *_seq)
    USES[f"captioning_rnn_grads_{_cell}"] = (
        *USES[f"captioning_rnn_loss_{_cell}"],
        "word_embedding_backward",
        *_back,
    )
    USES[f"captioning_rnn_sample_{_cell}"] = ("word_embedding_forward", f"{_cell}_step_forward")
    USES[f"{_cell}_overfit"] = (
        *USES[f"captioning_rnn_grads_{_cell}"],
        f"captioning_rnn_loss_{_cell}",
        f"captioning_rnn_grads_{_cell}",
    )
USES["lstm_bleu"] = (*USES["lstm_overfit"], "captioning_rnn_sample_lstm")

# How a check's function is called in the feedback (the rubric's names).
FUNCTION_OF = {
    **{name: name for name in RNN_LAYERS},
    **{f"captioning_rnn_{k}_{c}": "CaptioningRNN.loss" for k in ("loss", "grads") for c in ("rnn", "lstm")},
    "captioning_rnn_sample_rnn": "CaptioningRNN.sample",
    "captioning_rnn_sample_lstm": "CaptioningRNN.sample",
}  # fmt: skip


@cache
def _settings(path):
    with open(path) as f:
        return json.load(f).get("grading", {})


def enabled(rubric_path=None) -> bool:
    """Whether checks run with the reference's dependencies (rubric.json, "grading":
    {"isolation": true}); false grades every check end to end."""
    return bool(_settings(str(rubric_path or paths.RUBRIC)).get("isolation", True))


def injected(checks) -> tuple:
    """The functions to replace for a group of checks, or () if it has none."""
    names = {fn for check in checks for fn in CALLS.get(check, ())}
    return tuple(fn for fn in RNN_LAYERS if fn in names)


# CPython before 3.11.8 and 3.12 keeps the AST constructor's recursion depth in
# global state (gh-106905): two threads in ast.parse at once can raise
# "SystemError: AST constructor recursion depth mismatch". The graders' threads
# build these sources, so the reference is parsed once, under a lock.
_parse_lock = threading.Lock()
_parsed = {}  # "body": the parsed statements, once set


def reference_functions() -> tuple:
    """The top-level statements of the reference's rnn_layers.py, parsed once per
    process (functools.cache would let two threads parse at once)."""
    with _parse_lock:
        if "body" not in _parsed:
            text = (paths.reference_dir() / "rnn_layers.py").read_text()
            _parsed["body"] = tuple(ast.parse(text).body)
        return _parsed["body"]


@cache
def reference_source(inject) -> bytes:
    """The reference's rnn_layers.py with only the TODO functions of `inject` (and
    everything provided: imports, sigmoid, the temporal layers). The student's code
    in that child can call what it is allowed to rely on, never the reference's
    version of the function under test."""
    body = [
        node
        for node in reference_functions()
        if not (isinstance(node, ast.FunctionDef) and node.name in RNN_LAYERS)
        or node.name in inject
    ]
    return ast.unparse(ast.Module(body=body, type_ignores=[])).encode()


def shown(check):
    """A check or function as the feedback names it: the student's function."""
    fn = FUNCTION_OF.get(check, check)
    if check.startswith("captioning_rnn_"):
        fn += f" ({check.rsplit('_', 1)[1]})"
    return fn


def names(functions):
    names = []
    for fn in functions:
        if shown(fn) not in names:
            names.append(shown(fn))
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def roots(failing, failed_checks):
    """The failing functions not explained by another failing one they use."""
    return [
        fn for fn in failing if not any(dep in failed_checks for dep in USES.get(fn, ()))
    ] or list(failing)


def isolated_pass_text(check, failing, failed_checks):
    """Feedback of a check that passes only with the reference's dependencies."""
    fn = shown(check)
    if not failing:
        return (
            f"{fn} is right with correct versions of the functions it calls and not "
            f"with yours: look at what yours do with the inputs {fn} gives them (shapes, "
            "dtypes, an argument overwritten)."
        )
    found = roots(failing, failed_checks)
    verb = "is" if len(failing) == 1 else "are"
    yours = "yours is not" if len(failing) == 1 else "yours are not"
    return f"{fn} is right when {names(failing)} {verb}; {yours}: fix {names(found)} first."


def root_cause_text(check, failing, failed_checks):
    """The line of a failing check downstream of other failing functions."""
    found = roots(failing, failed_checks)
    fn = FUNCTION_OF.get(check, check)
    if check in ("rnn_overfit", "lstm_overfit", "lstm_bleu"):
        what = "This check trains your whole model"
    elif check in COUPLED and set(failing) & set(COUPLED[check]):
        what = f"{fn} is checked on the cache of your {names(COUPLED[check])}"
    else:
        what = f"{fn} calls your {names(failing)}"
    fails = "fails its own check" if len(found) == 1 else "fail their own checks"
    return f"Root cause: {what}; {names(found)} {fails}: fix {names(found)} first."


def failing_uses(check, failed_checks):
    """The functions (or checks) this check uses that fail their own checks, most
    upstream first."""
    found = []
    for dep in USES.get(check, ()):
        if dep in failed_checks and dep not in found:
            found.append(dep)
    return found
