"""``autograder validate``: the checks can tell right from wrong.

Grades the reference solution (must score full marks), the blank stubs (must
score 0) and every mutant of mutants.py (must fail at least one of the checks
of the function it breaks), prints the table and returns the exit status.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor

from tqdm import tqdm

from .. import paths
from ..engine import grade_files, load_rubric
from ..engine.checks.training import TRAINING
from ..paths import STUDENT_FILES
from .mutants import MUTANTS, apply, textbook
from .thresholds import TARGETS


def _files(folder):
    return {name: (folder / name).read_bytes() for name in STUDENT_FILES}


def cases():
    """(name, files, verdict function, what is expected, training checks too?)."""
    reference = _files(paths.reference_dir())
    full = lambda failed, score, total: score == total  # noqa: E731
    yield "reference", reference, full, "full marks", True
    yield "textbook", textbook(reference), full, "full marks", True
    stubs = _files(paths.release_dir())
    yield "blank stubs", stubs, lambda failed, score, total: score == 0, "0", True
    targets = {name: check for check, names in TARGETS.items() for name in names}
    for mutant in MUTANTS:
        target = targets.get(mutant.name)

        def caught(failed, score, total, mutant=mutant, target=target):
            return bool(set(mutant.caught_by) & failed) and (target is None or target in failed)

        text = "fails one of " + ", ".join(mutant.caught_by)
        if target:
            text += f" and fails {target}"
        yield mutant.name, apply(mutant, reference), caught, text, target is not None


def validate(workers=1, out=sys.stdout):
    """Grade every case; the mutants skip the (slow) training checks unless one of them
    is the check the mutant is for."""
    rubric = load_rubric()
    total = sum(c["points"] for c in rubric)
    todo = list(cases())
    quick = [c for c in rubric if c["name"] not in TRAINING]

    def grade(case):
        name, files, ok, _, with_training = case
        results = grade_files(files, rubric if with_training else quick, workers=1)
        failed = {r.name for r in results if r.status != "passed"}
        score = sum(r.score for r in results)
        if not with_training:
            score += sum(c["points"] for c in rubric if c["name"] in TRAINING)  # not graded
        return name, score, failed, ok(failed, score, total)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        rows = list(tqdm(pool.map(grade, todo), total=len(todo), unit="case", file=sys.stderr))
    width = max(len(name) for name, *_ in rows)
    bad = 0
    print(f"{'case'.ljust(width)}  score  ok  failed checks", file=out)
    for (name, score, failed, ok), (_, _, _, wanted, _) in zip(rows, todo):
        bad += not ok
        failed_text = ", ".join(c["name"] for c in rubric if c["name"] in failed) or "-"
        mark = "yes" if ok else "NO "
        print(f"{name.ljust(width)}  {score:5g}  {mark} {failed_text}", file=out)
        if not ok:
            print(f"{''.ljust(width)}         expected: {wanted}", file=out)
    elapsed = time.perf_counter() - start
    print(f"{len(rows)} cases in {elapsed:.0f} s; {bad} not as expected", file=out)
    return 1 if bad else 0
