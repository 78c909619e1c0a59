"""Measure the training checks: the reference's scores over many seeds, and the bugs'.

    python -m autograder.thresholds [--seeds 100] [--mutant-seeds 10] [--out FILE]

For each training check, trains the reference solution exactly as the check
trains a submission (same data draw, initial parameters, Adam loop and
evaluation by the reference) for many seeds, then does the same for the
mutants that the check is meant to catch, and writes the distributions with
the threshold of ``TRAINING`` to ``autograder/thresholds.md``. Trusted code
only: the mutants are our own edits of the reference.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from . import paths, reference
from .checks import training
from .child import train_loop
from .mutants import MUTANTS, apply
from .sandbox import STUDENT_FILES

# The bugs each training check is there for: a model that does not really
# learn (the targets, the carried gradient, the image features).
TARGETS = {
    "rnn_overfit": ["loss_targets_not_shifted", "rnn_backward_weights_overwritten"],
    "lstm_overfit": ["loss_targets_not_shifted", "lstm_backward_weights_overwritten"],
    "lstm_bleu": ["loss_ignores_features", "sample_no_feedback"],
}
OUT = paths.PACKAGE / "thresholds.md"


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
    spec = importlib.util.spec_from_file_location(
        alias, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules[alias] = package
    spec.loader.exec_module(package)
    return importlib.import_module(f"{alias}.rnn")


def score(check, variant, seed):
    """The number the check compares with its threshold, for one seed."""
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
    rng = np.random.RandomState(case["seed"])
    with np.errstate(all="ignore"):
        train_loop(
            model,
            case["features"],
            case["captions"],
            rng,
            config.iterations,
            config.batch_size,
            config.lr,
            config.lr_decay,
            ref.optim.adam,
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


def describe(values):
    v = np.asarray(values)
    finite = v[np.isfinite(v)]
    if not len(finite):
        return "all diverged (NaN)"
    q = np.percentile(finite, [0, 5, 50, 95, 100])
    nan = f", {np.sum(~np.isfinite(v))} diverged" if len(finite) < len(v) else ""
    return f"min {q[0]:.3f}, 5% {q[1]:.3f}, median {q[2]:.3f}, 95% {q[3]:.3f}, max {q[4]:.3f}{nan}"


def margin_row(check, config, reference, bugs):
    """One line of the summary table: the reference's worst run against the bugs' best."""
    if config.loss_below is not None:
        worst, limit = max(reference), config.loss_below
        name, best = min(((n, min(v)) for n, v in bugs.items()), key=lambda item: item[1])
        margin = f"{limit / worst:.1f}x above the reference's worst, {best / limit:.1f}x below"
        return (
            f"| {check} | final loss < {limit:g} | max {worst:.3f} | min {best:.3f} (`{name}`) "
            f"| {margin} the bug's best |"
        )
    worst, limit = min(reference), config.bleu_above
    name, best = max(((n, max(v)) for n, v in bugs.items()), key=lambda item: item[1])
    return (
        f"| {check} | BLEU > {limit:g} | min {worst:.3f} | max {best:.3f} (`{name}`) "
        f"| {worst - limit:.3f} below the reference's worst, {limit - best:.3f} above the bug's best |"
    )


def measure(seeds, mutant_seeds, workers):
    intro = [
        "# Thresholds of the training checks",
        "",
        "Made by `python -m autograder.thresholds` on the synthetic data set: each check's",
        "training run repeated with the reference solution over many seeds (a fresh draw of",
        "captions, initial parameters and minibatches each, as at grading time), then with",
        "the bugs the check is meant to catch. Lower is better for the overfit losses,",
        "higher for BLEU. The loss is evaluated by the parent with the reference model on",
        "the trained parameters (full batch of the training captions), never taken from",
        "the child. Times are per run, two runs at a time on the machine that measured.",
        "",
    ]
    table = [
        "## Margins",
        "",
        "| check | threshold | reference | target bugs | margin |",
        "| --- | --- | --- | --- | --- |",
    ]
    details = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for check, config in training.TRAINING.items():
            threshold = (
                f"loss < {config.loss_below:g}"
                if config.loss_below is not None
                else f"BLEU > {config.bleu_above:g}"
            )
            details += [f"## {check} ({threshold})", "", f"Configuration: `{config}`", ""]
            results = list(pool.map(_score, [(check, "reference", s) for s in range(seeds)]))
            reference_values = [r[0] for r in results]
            seconds = np.mean([r[1] for r in results])
            details.append(
                f"- reference, {seeds} seeds: {describe(reference_values)} ({seconds:.2f} s a run)"
            )
            bugs = {}
            for name in TARGETS[check]:
                jobs = [(check, name, 1000 + s) for s in range(mutant_seeds)]
                bugs[name] = [r[0] for r in pool.map(_score, jobs)]
                details.append(f"- mutant `{name}`, {mutant_seeds} seeds: {describe(bugs[name])}")
            details.append("")
            table.append(margin_row(check, config, reference_values, bugs))
            print("\n".join(details[-(len(TARGETS[check]) + 6) :]), flush=True)
    return "\n".join(intro + table + [""] + details)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--mutant-seeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    text = measure(args.seeds, args.mutant_seeds, args.workers)
    args.out.write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
