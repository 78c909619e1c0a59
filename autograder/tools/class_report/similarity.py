"""Which submissions' code is most alike: copydetect's fingerprints, boilerplate removed.

Each student file (``rnn_layers.py``, ``rnn.py``) is tokenised and
fingerprinted by copydetect: names become V/F/O, strings S, comments and
blank lines vanish (renaming and reformatting change nothing), and every
k-gram of the result is hashed. Every k-gram of the released stubs and of the
provided modules is boilerplate: copydetect drops it from each fingerprint.

A pair's score is, for each side, the share of its own fingerprints (over
both files) that the other side also has; pairs are ranked by the smaller
share, so that a small submission inside a big one does not outrank two
submissions copied whole. The shares of all pairs come from one sparse count
(a matrix product over the fingerprints that at least two submissions hold);
copydetect then finds the matching regions of the pairs that are listed.
"""

from __future__ import annotations

import io
import multiprocessing
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from copydetect import CodeFingerprint, compare_files
from copydetect.utils import highlight_overlap
from markupsafe import Markup, escape

from ...paths import STUDENT_FILES

# k-grams of this many filtered characters (copydetect's default, about one
# statement), and the score from which a pair is listed. Measured on five
# independently written correct solutions (README, "Choices we made"): two of
# them share 0.22 of their fingerprints, the other pairs 0.08 or less;
# disguised near-copies share 0.89.
NOISE = 25
THRESHOLD = 0.5
MIN_FINGERPRINTS = 50  # less own code than this (a stub barely touched) is not compared
COLUMNS_PER_BLOCK = 8192


@dataclass
class Code:
    """The student files of one submission, as text (a missing file is absent)."""

    name: str
    files: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    known: bool = False  # a known solution (--against), not a student


@dataclass
class Prints:
    """The fingerprints of one submission, file by file."""

    code: Code
    files: dict  # file name -> CodeFingerprint

    @property
    def size(self):
        return sum(len(f.hashes) for f in self.files.values())


@dataclass
class Pair:
    a: Prints
    b: Prints
    share_a: float
    share_b: float

    @property
    def score(self):
        return min(self.share_a, self.share_b)

    def highlighted(self, name):
        """(html of a's file, html of b's file): the code escaped, the matching regions in <mark>."""
        fa, fb = self.a.files.get(name), self.b.files.get(name)
        texts = (self.a.code.files.get(name, ""), self.b.code.files.get(name, ""))
        if fa is None or fb is None or not fa.hashes & fb.hashes:
            return tuple(escape(t) for t in texts)
        _, _, slices = compare_files(fa, fb)
        return tuple(
            Markup(highlight_overlap(text, s, "<mark>", "</mark>", escape_html=True)[0])
            if len(s[0])
            else escape(text)
            for text, s in zip(texts, slices)
        )


def boilerplate_hashes(folders, k=NOISE):
    """Every k-gram hash of the .py files in folders (the stubs and provided modules)."""
    hashes = [np.zeros(0, dtype=np.int64)]
    for folder in folders:
        for path in sorted(Path(folder).glob("*.py")):
            text = path.read_text(encoding="utf-8", errors="replace")
            hashes.append(np.fromiter(_fingerprint((path.name, text, k, None)).hashes, np.int64))
    return np.unique(np.concatenate(hashes))


def _fingerprint(job):
    name, text, k, boilerplate = job
    # window 1: every k-gram is kept, so that scores do not depend on the hash seed
    return CodeFingerprint(name, k, 1, boilerplate=boilerplate, fp=io.StringIO(text))


def _hash_probe(_):
    return hash("copydetect hashes k-grams with hash()")


def _pool(jobs):
    """A pool of forked workers (they share the parent's string hashing), or None."""
    workers = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1, 8)
    if workers < 2 or jobs < 16 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    pool = multiprocessing.get_context("fork").Pool(workers)
    if pool.map(_hash_probe, range(workers)) != [_hash_probe(0)] * workers:
        pool.terminate()
        return None
    return pool


def fingerprint_all(codes, boilerplate, k=NOISE, progress=None) -> list[Prints]:
    """The fingerprints of every submission; identical files are fingerprinted once."""
    jobs = {}
    for code in codes:
        for name in STUDENT_FILES:
            if name in code.files:
                jobs.setdefault((name, code.files[name]), None)
    keys = list(jobs)
    pool = _pool(len(keys))
    work = [(name, text, k, boilerplate) for name, text in keys]
    try:
        results = pool.imap(_fingerprint, work, chunksize=4) if pool else map(_fingerprint, work)
        for key, prints in zip(keys, results):
            jobs[key] = prints
            if progress is not None:
                progress.update()
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return [
        Prints(code, {n: jobs[(n, code.files[n])] for n in STUDENT_FILES if n in code.files})
        for code in codes
    ]


def shared_counts(prints) -> np.ndarray:
    """shared[i, j]: fingerprints of submission i that submission j also holds."""
    n = len(prints)
    shared = np.zeros((n, n), dtype=np.float64)
    for name in STUDENT_FILES:
        rows, hashes = [], []
        for i, p in enumerate(prints):
            if name in p.files and p.files[name].hashes:
                h = np.fromiter(p.files[name].hashes, np.int64)
                rows.append(np.full(h.size, i))
                hashes.append(h)
        if not hashes:
            continue
        rows, hashes = np.concatenate(rows), np.concatenate(hashes)
        values, column, counts = np.unique(hashes, return_inverse=True, return_counts=True)
        keep = counts[column] >= 2  # a fingerprint only one submission holds is shared by none
        rows, column = rows[keep], column[keep]
        _, column = np.unique(column, return_inverse=True)
        width = int(column.max()) + 1 if column.size else 0
        for start in range(0, width, COLUMNS_PER_BLOCK):
            inside = (column >= start) & (column < start + COLUMNS_PER_BLOCK)
            block = np.zeros((n, min(COLUMNS_PER_BLOCK, width - start)), dtype=np.float32)
            block[rows[inside], column[inside] - start] = 1.0
            shared += block @ block.T
    return shared


def pairs(prints, min_fingerprints=MIN_FINGERPRINTS) -> list[Pair]:
    """Every pair of comparable submissions (students with students, and students
    with known solutions), with their shares, most alike first."""
    shared = shared_counts(prints)
    sizes = np.array([p.size for p in prints], dtype=np.float64)
    out = []
    for i in range(len(prints)):
        if sizes[i] < min_fingerprints:
            continue
        for j in range(i + 1, len(prints)):
            if sizes[j] < min_fingerprints or (prints[i].code.known and prints[j].code.known):
                continue
            out.append(Pair(prints[i], prints[j], shared[i, j] / sizes[i], shared[i, j] / sizes[j]))
    out.sort(key=lambda p: (-p.score, p.a.code.name, p.b.code.name))
    return out
