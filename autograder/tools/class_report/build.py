"""The pipeline: grades -> statistics -> code -> similarity -> figures -> page."""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from ... import paths
from ...engine.submission import SubmissionError, locate, looks_like_submission, students_in
from ...paths import STUDENT_FILES
from . import figures, page, similarity, stats


@dataclass
class Result:
    html: Path
    files: list
    pairs: list  # every compared pair, most alike first
    listed: list  # the pairs shown on the page
    threshold: float


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _files_anyway(path: Path) -> dict:
    """Whichever student files a folder holds when locate() refuses it (one missing)."""
    found = {}
    if path.is_dir():
        for name in STUDENT_FILES:
            copies = [p for p in path.rglob(name) if p.is_file() and not p.is_symlink()]
            if len(copies) == 1:
                found[name] = copies[0].read_bytes()
    return found


def submission_code(name, path, known=False) -> similarity.Code:
    """A submission's files as text, and what is wrong with them (never raises)."""
    code = similarity.Code(name, known=known)
    if path is None:
        code.problems.append("no submission")
        return code
    try:
        files = locate(path)
    except SubmissionError as exc:
        code.problems.append(str(exc))
        files = _files_anyway(Path(path))
    for file_name, data in files.items():
        text = _decode(data)
        code.files[file_name] = text
        try:
            compile(text, file_name, "exec")
        except SyntaxError as exc:
            code.problems.append(f"{file_name}: syntax error on line {exc.lineno} ({exc.msg})")
        except ValueError as exc:
            code.problems.append(f"{file_name}: {exc}")
    return code


def known_solutions(folder: Path) -> list:
    """--against: one folder holding the files, or a folder of solutions (sub-folders, zips)."""
    folder = Path(folder)
    if any((folder / n).is_file() for n in STUDENT_FILES) or not any(
        looks_like_submission(p) for _, p in students_in(folder)
    ):
        entries = [(folder.name, folder)]
    else:
        entries = [(n, p) for n, p in students_in(folder) if looks_like_submission(p)]
    return [submission_code(f"known:{n}", p, known=True) for n, p in entries]


def build(
    grades,
    out_dir,
    against=None,
    threshold=similarity.THRESHOLD,
    noise=similarity.NOISE,
    top=30,
    progress=True,
    boilerplate_dirs=None,
) -> Result:
    """Write class_report.html and its figures into out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = stats.scores(grades)
    checks = stats.checks(grades)

    codes = [submission_code(s.name, s.submission) for s in grades.students if not s.missing]
    for folder in against or ():
        codes += known_solutions(folder)
    boilerplate = similarity.boilerplate_hashes(boilerplate_dirs or [paths.release_dir()], noise)
    total_files = len({(n, c.files[n]) for c in codes for n in c.files})
    with tqdm(
        total=total_files, unit="file", desc="fingerprints", file=sys.stderr, disable=not progress
    ) as bar:
        prints = similarity.fingerprint_all(codes, boilerplate, noise, bar)
    pairs = similarity.pairs(prints)
    listed = [p for p in pairs if p.score >= threshold][:top]

    written = []

    def save(name, png):
        (out_dir / name).write_bytes(png)
        written.append(out_dir / name)
        return png

    context = {
        "title": "Class report: rnn_captioning",
        "students": len(grades.students),
        "source": grades.source,
        "notes": grades.notes,
        "scores": None,
        "checks": checks,
        "checks_figure": None,
    }
    if summary is not None:
        values = [s.score for s in grades.graded]
        png = save("scores.png", figures.score_histogram(values, summary.max_score))
        context["scores"] = _scores(grades, summary, png)
    if checks:
        context["checks_figure"] = save("checks.png", figures.pass_rates(checks))
    histogram = None
    if pairs:
        histogram = save(
            "similarity.png", figures.similarity_histogram([p.score for p in pairs], threshold)
        )
    context["similarity"] = _similarity(prints, listed, threshold, noise, histogram)

    html_path = out_dir / "class_report.html"
    html_path.write_text(page.render(context), encoding="utf-8")
    _write_pairs_csv(out_dir / "similarity.csv", pairs, threshold)
    written += [out_dir / "similarity.csv", html_path]
    return Result(html_path, written, pairs, listed, threshold)


def _write_pairs_csv(path, pairs, threshold):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["a", "b", "score", "share_a", "share_b", "listed"])
        for p in pairs:
            writer.writerow(
                [p.a.code.name, p.b.code.name, f"{p.score:.3f}", f"{p.share_a:.3f}",
                 f"{p.share_b:.3f}", int(p.score >= threshold)]
            )  # fmt: skip


def _scores(grades, s, png):
    """The score table, the late and the missing (scores.html.j2)."""
    rows = [
        ("graded", s.count),
        ("mean", round(s.mean, 1)),
        ("median", round(s.median, 1)),
        ("quartiles (25%, 75%)", f"{s.q1:g}, {s.q3:g}"),
        ("lowest, highest", f"{s.minimum:g}, {s.maximum:g}"),
        ("scored 0", s.zeros),
        (f"scored {s.max_score:g} (full marks)", s.full),
    ]
    late = [st for st in grades.students if st.late]
    if grades.knows_lateness:
        rows.append(("late", len(late)))
        rows.append(("no submission", len([st for st in grades.students if st.missing])))
    return {
        "figure": png,
        "rows": rows,
        "late": [(st.name, _duration(st.seconds_late)) for st in late],
        "missing": [st.name for st in grades.students if st.missing],
    }


def _duration(seconds):
    hours = seconds / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} h"


def _similarity(prints, listed, threshold, noise, histogram):
    """The problems, the lists of pairs and each listed pair side by side (similarity.html.j2)."""
    shown = [
        {
            "anchor": f"pair-{i + 1}",
            "pair": p,
            "sides": [
                (name, *p.highlighted(name))
                for name in STUDENT_FILES
                if name in p.a.code.files or name in p.b.code.files
            ],
        }
        for i, p in enumerate(listed)
    ]
    known = lambda entry: entry["pair"].a.code.known or entry["pair"].b.code.known  # noqa: E731
    lists = [("Most alike pairs of submissions", [e for e in shown if not known(e)])]
    if any(known(e) for e in shown):
        lists.append(("Submissions alike a known solution", [e for e in shown if known(e)]))
    return {
        "noise": noise,
        "threshold": threshold,
        "figure": histogram,
        "problems": [(p.code.name, "; ".join(p.code.problems)) for p in prints if p.code.problems],
        "not_compared": [
            p.code.name for p in prints if p.size < similarity.MIN_FINGERPRINTS and not p.code.known
        ],
        "lists": lists,
        "shown": shown,
    }
