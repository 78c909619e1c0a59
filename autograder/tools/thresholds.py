"""Measure the training checks: the reference's scores over many seeds, and the bugs'.

    autograder thresholds [--seeds 2000] [--mutant-seeds 50] [--workers 2]
    autograder thresholds --render     # thresholds.md again from thresholds.json

For each training check, trains the reference solution exactly as the check
trains a submission (same data draw, initial parameters, Adam loop and
evaluation by the reference) for many seeds, then does the same for the
mutants that the check is meant to catch. The raw scores go to
``thresholds.json``; ``thresholds.md`` (both in ``autograder/engine/checks/``) is rendered from
them: the distributions, the observed failure rate of one run of the
reference, and the rate implied for the check as graded, where a failed run
is repeated with fresh independent draws up to ``attempts`` times. Trusted
code only: the mutants are our own edits of the reference.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .. import paths
from ..blas import limit_loaded_blas
from ..engine import reference
from ..engine.checks import training
from ..paths import STUDENT_FILES
from ..sandbox.child import train_loop
from .mutants import MUTANTS, apply

# The bugs each training check is there for: a model that does not really
# learn (the targets, the carried gradient, the image features).
TARGETS = {
    "rnn_overfit": ["loss_targets_not_shifted", "rnn_backward_weights_overwritten"],
    "lstm_overfit": ["loss_targets_not_shifted", "lstm_backward_weights_overwritten"],
    "lstm_bleu": ["loss_ignores_features", "sample_no_feedback"],
}
OUT = paths.THRESHOLDS.with_suffix(".md")
RAW = paths.THRESHOLDS.with_suffix(".json")
MUTANT_SEED_BASE = 1_000_000  # bugs are measured on seeds the reference never saw
CONFIDENCE = 0.95


def load_variant(name):
    """The reference package, or a mutant of it, imported under a name of its own."""
    if name == "reference":
        return reference.load().rnn
    mutant = next(m for m in MUTANTS if m.name == name)
    ref_dir = paths.reference_dir()
    files = apply(mutant, {n: (ref_dir / n).read_bytes() for n in STUDENT_FILES})
    folder = Path(tempfile.mkdtemp(prefix="autograder-mutant-")) / "captioning"
    folder.mkdir()
    for src in paths.provided_dir().glob("*.py"):
        if src.name not in STUDENT_FILES:
            (folder / src.name).write_bytes(src.read_bytes())
    for n, data in files.items():
        (folder / n).write_bytes(data)
    alias = f"_autograder_mutant_{name}"
    reference.import_package_as(alias, folder)
    return importlib.import_module(f"{alias}.rnn")


def score(check, variant, seed):
    """(the number the check compares with its threshold, seconds) for one seed."""
    config = training.TRAINING[check]
    ref = reference.load()
    rnn = load_variant(variant)
    case = training.draw_case(config, np.random.default_rng(seed))
    dims = case["dims"]
    model = rnn.CaptioningRNN(
        training.synthetic_data()["word_to_idx"],
        input_dim=dims["D"],
        wordvec_dim=dims["W"],
        hidden_dim=dims["H"],
        cell_type=config.cell,
        dtype=np.float32,
    )
    model.params = {k: v.copy() for k, v in case["params"].items()}
    start = time.perf_counter()
    with np.errstate(all="ignore"):
        train_loop(
            model,
            case["features"],
            case["captions"],
            ref.optim.adam,
            **training.schedule(config, case),
        )
        seconds = time.perf_counter() - start
        params = {k: np.asarray(v, dtype=np.float64) for k, v in model.params.items()}
        if not all(np.all(np.isfinite(v)) for v in params.values()):
            return float("nan"), seconds
        if config.loss_below is not None:
            return training.reference_loss(ref, params, case, config.cell), seconds
        samples = model.sample(case["val_features"], max_length=case["captions"].shape[1] - 1)
    return training.average_bleu(np.asarray(samples), case["val_images"]), seconds


def _score(args):
    return score(*args)


def passes(config, value):
    """Whether one run with this score passes the check (NaN never does)."""
    if config.loss_below is not None:
        return bool(value < config.loss_below)
    return bool(value > config.bleu_above)


def upper_bound(failures, runs, confidence=CONFIDENCE):
    """The one-sided Clopper-Pearson upper bound of a failure probability."""
    if runs == 0:
        return 1.0
    if failures >= runs:
        return 1.0
    alpha = 1 - confidence
    if failures == 0:
        return 1 - alpha ** (1 / runs)

    def cdf(p):  # P(X <= failures) for X ~ Binomial(runs, p)
        total = 0.0
        for k in range(failures + 1):
            log = (
                math.lgamma(runs + 1)
                - math.lgamma(k + 1)
                - math.lgamma(runs - k + 1)
                + k * math.log(p)
                + (runs - k) * math.log1p(-p)
            )
            total += math.exp(log)
        return total

    low, high = failures / runs, 1.0
    for _ in range(100):
        mid = (low + high) / 2
        low, high = (mid, high) if cdf(mid) > alpha else (low, mid)
    return high


def describe(values):
    v = np.asarray(values, dtype=float)
    finite = v[np.isfinite(v)]
    if not len(finite):
        return "all diverged (NaN)"
    q = np.percentile(finite, [0, 5, 50, 95, 100])
    nan = f", {np.sum(~np.isfinite(v))} diverged" if len(finite) < len(v) else ""
    return f"min {q[0]:.3f}, 5% {q[1]:.3f}, median {q[2]:.3f}, 95% {q[3]:.3f}, max {q[4]:.3f}{nan}"


def _worst(config, values):
    v = np.asarray(values, dtype=float)
    if np.any(~np.isfinite(v)):
        return float("nan")
    return float(v.max() if config.loss_below is not None else v.min())


def _best(config, values):
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return float("nan")
    return float(v.min() if config.loss_below is not None else v.max())


def measure(seeds, mutant_seeds, workers, checks=None):
    """Raw scores: {check: {"config", "reference": [...], "seconds", "bugs": {name: [...]}}}."""
    record = {"seeds": seeds, "mutant_seeds": mutant_seeds, "checks": {}}
    with ProcessPoolExecutor(max_workers=workers, initializer=limit_loaded_blas) as pool:
        for check, config in training.TRAINING.items():
            if checks and check not in checks:
                continue
            jobs = [(check, "reference", s) for s in range(seeds)]
            for name in TARGETS[check]:
                jobs += [(check, name, MUTANT_SEED_BASE + s) for s in range(mutant_seeds)]
            results = list(
                tqdm(
                    pool.map(_score, jobs, chunksize=4),
                    total=len(jobs),
                    desc=check,
                    file=sys.stderr,
                )
            )
            reference_part = results[:seeds]
            entry = {
                "config": str(config),
                "reference": [r[0] for r in reference_part],
                "seconds": float(np.mean([r[1] for r in reference_part])),
                "bugs": {},
            }
            for i, name in enumerate(TARGETS[check]):
                part = results[seeds + i * mutant_seeds : seeds + (i + 1) * mutant_seeds]
                entry["bugs"][name] = [r[0] for r in part]
            record["checks"][check] = entry
    return record


def render(record):
    """thresholds.md from the raw record."""
    lines = [
        "# Thresholds of the training checks",
        "",
        "Made by `autograder thresholds` on the synthetic data set: each check's",
        "training run repeated with the reference solution over many seeds (a fresh draw of",
        "captions, initial parameters and minibatches each, as at grading time), then with",
        "the bugs the check is meant to catch, on other seeds. Lower is better for the",
        "overfit losses, higher for BLEU. The loss is evaluated by the parent with the",
        "reference model on the trained parameters (full batch of the training captions),",
        "never taken from the child. The raw scores are in `thresholds.json`.",
        "",
        "A check as graded runs up to `attempts` independent runs (fresh captions, initial",
        "parameters and minibatches, all derived from the grade's seed) and passes when one",
        "of them passes; only a failed run pays for the next. A correct model therefore",
        f"fails a check only if every attempt fails. The rates below are {CONFIDENCE:.0%}",
        "upper bounds (Clopper-Pearson) of the probability that one run of the reference",
        "fails, and that bound raised to the power `attempts` for the check as graded.",
        "",
        *([record["note"], ""] if record.get("note") else []),
        "## Failure rates",
        "",
        "| check | threshold | reference runs | failed | one run fails (upper bound) | attempts "
        "| check fails a correct model (upper bound) | worst reference run | best run of a bug "
        "| bug runs that pass |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    details = []
    for check, entry in record["checks"].items():
        config = training.TRAINING[check]
        threshold = (
            f"loss < {config.loss_below:g}"
            if config.loss_below is not None
            else f"BLEU > {config.bleu_above:g}"
        )
        values = entry["reference"]
        failed = sum(not passes(config, v) for v in values)
        one = upper_bound(failed, len(values))
        graded = one**config.attempts
        bug_runs = sum(len(v) for v in entry["bugs"].values())
        bug_passes = sum(passes(config, x) for v in entry["bugs"].values() for x in v)
        best_name, best = None, None
        for name, v in entry["bugs"].items():
            b = _best(config, v)
            if best is None or ((b < best) if config.loss_below is not None else (b > best)):
                best_name, best = name, b
        lines.append(
            f"| {check} | {threshold} | {len(values)} | {failed} | {one:.1e} | "
            f"{config.attempts} | {graded:.1e} | {_worst(config, values):.3f} | "
            f"{best:.3f} (`{best_name}`) | {bug_passes} of {bug_runs} |"
        )
        details += [f"## {check} ({threshold})", "", f"Configuration: `{entry['config']}`", ""]
        details.append(
            f"- reference, {len(values)} seeds: {describe(values)} "
            f"({entry['seconds']:.2f} s a run); {failed} failed"
        )
        for name, v in entry["bugs"].items():
            n_pass = sum(passes(config, x) for x in v)
            details.append(f"- mutant `{name}`, {len(v)} seeds: {describe(v)}; {n_pass} passed")
        details.append("")
    return "\n".join(lines + [""] + details)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2000)
    parser.add_argument("--mutant-seeds", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--checks", nargs="*", help="measure only these checks")
    parser.add_argument("--raw", type=Path, default=RAW, help="where the raw scores go")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--render", action="store_true", help="only render --out from the scores in --raw"
    )
    args = parser.parse_args(argv)
    if args.render:
        record = json.loads(args.raw.read_text())
    else:
        record = measure(args.seeds, args.mutant_seeds, args.workers, args.checks)
        if args.checks and args.raw.exists():
            old = json.loads(args.raw.read_text())
            old["checks"].update(record["checks"])
            record = old
        args.raw.write_text(json.dumps(record) + "\n")
        print(f"wrote {args.raw}")
    args.out.write_text(render(record))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
