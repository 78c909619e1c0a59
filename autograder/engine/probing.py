"""The grader's side of the probes: extra steps in the children, judged in the parent.

The probes themselves (which inputs to change, and what a pattern of right and
wrong outputs means) live in the student package's ``captioning/diagnose.py``,
so that the self-checks and the notebooks find bugs with the same words. Here
the probes of a function become steps of its child job, the reference gives
the correct outputs on each probe (and on each known variant), and, when a
check has failed, ``diagnose.locate`` reads the two.

``write_published()`` makes ``captioning/probe_values.npz``, the correct
outputs on the probes of the notebooks' own (visible) inputs, which the
student side compares with.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import reference
from .checks.common import layer_steps


def shared():
    """The diagnose module of the reference package (trusted, in the parent)."""
    return reference.module("diagnose")


def _reference_outputs(ref, fn, inputs):
    """name -> the reference's outputs of `fn` (forward or backward) on `inputs`."""
    diagnose = shared()
    layers = ref.rnn_layers
    if fn in diagnose.BACKWARD:
        forward, upstream, outs = diagnose.BACKWARD[fn]
        args = [np.array(inputs[a], copy=True) for a in diagnose.FORWARD_ARGS[forward]]
        cache = getattr(layers, forward)(*args)[-1]
        grads = getattr(layers, fn)(*(np.array(inputs[u], copy=True) for u in upstream), cache)
        return dict(zip(outs, (grads,) if len(outs) == 1 else grads))
    args = [np.array(inputs[a], copy=True) for a in diagnose.FORWARD_ARGS[fn]]
    return dict(zip(diagnose.FORWARD_OUTS[fn], getattr(layers, fn)(*args)[:-1]))


def add_layer_probes(spec, ref, base, steps, inputs):
    """Append to `steps` (and `inputs`) one call of the student's `spec.fn` per probe of
    the base inputs `base`; what the parent keeps to judge them."""
    diagnose = shared()
    found = diagnose.probes(spec.fn, base)
    want = {}
    for name, probe in {**found, **diagnose.variants(spec.fn, base)}.items():
        try:
            want[name] = _reference_outputs(ref, spec.fn, probe)
        except Exception:  # noqa: BLE001 - a probe the reference cannot run is left out
            continue
    names = [n for n in found if n != "base"]
    for name in names:
        prefix = f"{spec.fn}.probe.{name}"
        for arg, value in found[name].items():
            inputs[f"{prefix}.{arg}"] = value
        steps += layer_steps(spec, prefix)
    return {"names": names, "want": want, "base": base}


def _arrays(outcome, prefix, outs):
    got = {}
    for name in outs:
        value, _ = outcome.array(f"{prefix}.{name}")
        if value is not None:
            got[name] = value.astype(np.float64)
    return got


def locate_layer(spec, probed, outcome, dims=""):
    """The probes' Finding for a failed layer check (None when they find nothing); its
    evidence names the dimensions `dims` (words) of the inputs the probes changed."""
    if not probed:
        return None
    got = {"base": _arrays(outcome, f"{spec.fn}.random", spec.outs)}
    for name in probed["names"]:
        got[name] = _arrays(outcome, f"{spec.fn}.probe.{name}", spec.outs)
    try:
        finding = shared().locate(spec.fn, got, probed["want"], probed["base"])
    except Exception:  # noqa: BLE001 - a diagnosis is a bonus, never a failure
        return None
    if finding is not None and finding.evidence and dims:
        finding = replace(finding, evidence=f"on hidden inputs with {dims}, {finding.evidence}")
    return finding


# --- the model ---------------------------------------------------------------------------
def loss_probe_inputs(features, captions):
    """name -> (features, captions) of the probes of CaptioningRNN.loss."""
    return shared().loss_probes(features, captions)


def locate_loss(got, want, T):
    try:
        return shared().locate_loss(got, want, T)
    except Exception:  # noqa: BLE001
        return None


# --- the published values of the student side ----------------------------------------------
def published(ref=None):
    """fn/probe/output -> the reference's outputs on the probes and variants of the
    notebooks' inputs of every forward function."""
    ref = ref or reference.load()
    diagnose = shared()
    values = {}
    for fn in diagnose.FORWARD_ARGS:
        base = diagnose._notebook_inputs(fn)
        cases = {**diagnose.probes(fn, base), **diagnose.variants(fn, base)}
        for name, probe in cases.items():
            for out, value in _reference_outputs(ref, fn, probe).items():
                values[f"{fn}/{name}/{out}"] = np.asarray(value, dtype=np.float64)
    for cell in ("rnn", "lstm"):
        for name, probe in diagnose.loss_cases(cell).items():
            loss = diagnose.loss_of(ref.rnn.CaptioningRNN, cell, probe)
            values[f"loss_{cell}/{name}/loss"] = np.asarray(loss, dtype=np.float64)
    return values


def write_published(path):
    """Write the published probe values to `path` (source/.../captioning/probe_values.npz)."""
    np.savez_compressed(path, **published())


if __name__ == "__main__":
    from .. import paths

    target = paths.course_root() / "source" / "rnn_captioning" / "captioning" / "probe_values.npz"
    write_published(target)
    print(f"wrote {target}")
