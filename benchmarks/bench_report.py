"""`autograder report` on a synthetic class of 300 submissions.

The submissions are disguised copies (names, order, comments changed) of the
reference, its mutants, the textbook solution and the independently written
solutions of the tests, so every file differs; the grades are made up in the
Gradescope JSON format. Measured: the whole report (fingerprints, similarity
of every pair, figures, page), against the fingerprinting alone.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

from bench_common import Row

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))


def make_class(folder: Path, results: Path, size: int) -> None:
    import class_report_solutions as solutions

    from autograder.tools.class_report import grades

    base = folder / "_base"
    solutions.make_class(base, ROOT)
    sources = [p for p in sorted(base.iterdir()) if (p / "captioning" / "rnn.py").exists()]
    points = grades.rubric_checks()
    rng = random.Random(0)
    for i in range(size):
        source = sources[i % len(sources)] / "captioning"
        dest = folder / f"student{i:03d}" / "captioning"
        dest.mkdir(parents=True)
        for name in ("rnn_layers.py", "rnn.py"):
            text = (source / name).read_text()
            try:
                text = solutions.near_copy(text, i)
            except SyntaxError:
                pass  # the submission with a syntax error stays as it is
            (dest / name).write_text(text + f"\n# student {i}\n")
        tests = []
        for check, max_score in points.items():
            ok = rng.random() < 0.8
            tests.append(
                {"name": check, "score": max_score if ok else 0, "max_score": max_score,
                 "status": "passed" if ok else "failed",
                 "output": "" if ok else f"{check} is not correct. Relative error "
                 f"{rng.random():.1e}.\nHint: look at {check}.", "visibility": "visible"}
            )  # fmt: skip
        score = sum(t["score"] for t in tests)
        (results / f"student{i:03d}.json").write_text(
            json.dumps({"score": score, "max_score": 100, "tests": tests, "seed": i})
        )


def report_rows(size: int = 300) -> list[Row]:
    from autograder.tools.class_report import build, grades, similarity

    with tempfile.TemporaryDirectory() as tmp:
        folder, results = Path(tmp) / "class", Path(tmp) / "results"
        folder.mkdir()
        results.mkdir()
        make_class(folder, results, size)
        class_grades = grades.load_results([results], [folder])
        start = time.perf_counter()
        result = build.build(class_grades, Path(tmp) / "report", progress=True)
        whole = time.perf_counter() - start
        codes = [build.submission_code(s.name, s.submission) for s in class_grades.students]
        boilerplate = similarity.boilerplate_hashes([ROOT / "release/rnn_captioning/captioning"])
        start = time.perf_counter()
        similarity.fingerprint_all(codes, boilerplate)
        prints = time.perf_counter() - start
    return [
        Row("report", f"{size} submissions", f"{whole:.1f} s", f"fingerprints {prints:.1f} s",
            f"{whole / prints:.2f}",
            f"{len(result.pairs)} pairs, {len(result.listed)} listed"),
    ]  # fmt: skip


if __name__ == "__main__":
    for row in report_rows(int(sys.argv[1]) if len(sys.argv) > 1 else 300):
        print(row)
