"""The figures of a class: score statistics, pass rates, common mistakes."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

# Numbers (1, 0.5, 3.2e-01, -4), then shapes and dimension lists built of them.
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_SHAPE = re.compile(r"\(\s*#(?:\s*,\s*#)*\s*,?\s*\)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_RUN = re.compile(r"^Run \d+ of at most \d+: ", re.M)


@dataclass
class ScoreSummary:
    count: int
    mean: float
    median: float
    q1: float
    q3: float
    minimum: float
    maximum: float
    zeros: int
    full: int
    max_score: float


def scores(grades) -> ScoreSummary | None:
    graded = grades.graded
    if not graded:
        return None
    values = np.array([s.score for s in graded], dtype=float)
    max_score = max((s.max_score or 0.0) for s in graded) or 100.0
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return ScoreSummary(
        count=len(values),
        mean=float(values.mean()),
        median=float(median),
        q1=float(q1),
        q3=float(q3),
        minimum=float(values.min()),
        maximum=float(values.max()),
        zeros=int(np.sum(values <= 0)),
        full=int(np.sum(values >= max_score)),
        max_score=float(max_score),
    )


@dataclass
class CheckSummary:
    name: str
    graded: int
    passed: int
    mistakes: list  # (count, normalised text, an example as a student saw it)

    @property
    def rate(self):
        return self.passed / self.graded if self.graded else 0.0


def normalise(output: str) -> str:
    """The mistake a feedback text names, with what differs between students masked.

    A failed check says what was wrong in its first sentence and, often, gives a
    ``Hint:`` line. The key is that sentence plus the hint, with numbers (relative
    errors, shapes, sizes) replaced by #. A training check that ran several times
    ("Run k of at most n: ...") is keyed by its last run.
    """
    runs = _RUN.split(output)
    if len(runs) > 1:
        output = runs[-1]
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    if not lines:
        return "(no feedback)"
    hint = next((line for line in lines if line.startswith("Hint:")), "")
    body = " ".join(line for line in lines if not line.startswith("Hint:"))
    sentences = [s for s in _SENTENCE_END.split(body) if s]
    what = sentences[0] if sentences else body
    # "f is not correct." names the function only: the next sentence says what was wrong.
    if what.endswith("is not correct.") and len(sentences) > 1:
        what = f"{what} {sentences[1]}"
    text = f"{what} {hint}".strip()
    text = _SHAPE.sub("(…)", _NUMBER.sub("#", text))
    return " ".join(text.split())


def checks(grades, top=3) -> list[CheckSummary]:
    """Every check with its pass rate and most frequent mistakes, hardest first."""
    out = []
    for name in grades.checks:
        results = [s.checks[name] for s in grades.graded if name in s.checks]
        failed = [c for c in results if not c.passed]
        keyed = Counter()
        example = {}
        for c in failed:
            key = normalise(c.output) if c.output.strip() else "(no feedback recorded)"
            keyed[key] += 1
            example.setdefault(key, c.output.strip())
        mistakes = [(n, key, example[key]) for key, n in keyed.most_common(top)]
        out.append(CheckSummary(name, len(results), len(results) - len(failed), mistakes))
    order = {name: i for i, name in enumerate(grades.checks)}
    return sorted(out, key=lambda c: (c.rate, order[c.name]))
