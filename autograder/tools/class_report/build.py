"""The pipeline: grades -> statistics -> code -> similarity -> figures -> page."""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup
from tqdm import tqdm

from ... import paths
from ...engine.submission import SubmissionError, locate, looks_like_submission, students_in
from ...paths import STUDENT_FILES
from . import figures, page, similarity, stats

SIMILARITY_NOTE = (
    "Similarity is a lead to look at, not a verdict. The correct solutions of this "
    "exercise are short and alike by nature, students learn from the same lectures, and "
    "solutions to it are public: read the highlighted code side by side, and talk with "
    "the students, before drawing any conclusion."
)


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

    sections = [_intro(grades)]
    if summary is not None:
        values = [s.score for s in grades.graded]
        png = save("scores.png", figures.score_histogram(values, summary.max_score))
        sections.append(_scores(grades, summary, png))
    if checks:
        png = save("checks.png", figures.pass_rates(checks))
        sections.append(_checks(checks, png))
    histogram = None
    if pairs:
        histogram = save(
            "similarity.png", figures.similarity_histogram([p.score for p in pairs], threshold)
        )
    sections.append(_similarity(prints, pairs, listed, threshold, noise, histogram))

    html_path = out_dir / "class_report.html"
    html_path.write_text(page.document("Class report: rnn_captioning", sections), encoding="utf-8")
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


def _intro(grades):
    n = len(grades.students)
    text = f"<p>{n} students, from {page.esc(grades.source)}.</p>"
    if grades.notes:
        items = "".join(f"<li>{page.esc(note)}</li>" for note in grades.notes)
        text += f"<p class='muted'>While reading the grades:</p><ul class='muted'>{items}</ul>"
    return text


def _scores(grades, s, png):
    rows = [
        ("graded", s.count),
        ("mean", round(s.mean, 1)),
        ("median", round(s.median, 1)),
        ("quartiles (25%, 75%)", f"{s.q1:g}, {s.q3:g}"),
        ("lowest, highest", f"{s.minimum:g}, {s.maximum:g}"),
        ("scored 0", s.zeros),
        (f"scored {s.max_score:g} (full marks)", s.full),
    ]
    missing = [st.name for st in grades.students if st.missing]
    late = [st for st in grades.students if st.late]
    if grades.knows_lateness:
        rows.append(("late", len(late)))
        rows.append(("no submission", len(missing)))
    parts = ["<h2 id='scores'>Scores</h2>", page.img(png, "histogram of the scores")]
    parts.append(page.table(["", ""], rows))
    if late:
        lines = [(st.name, _duration(st.seconds_late)) for st in late]
        parts.append("<h3>Late submissions</h3>" + page.table(["student", "late by"], lines))
    if missing:
        parts.append("<h3>No submission</h3><p>" + page.esc(", ".join(missing)) + "</p>")
    return "\n".join(parts)


def _duration(seconds):
    hours = seconds / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} h"


def _checks(checks, png):
    parts = [
        "<h2 id='checks'>Checks, hardest first</h2>",
        "<p>The share of students who passed each check, and under each check the "
        "mistakes its feedback names most often (numbers masked, so that the same "
        "mistake counts together): the class's common mistakes.</p>",
        page.img(png, "pass rate of every check"),
    ]
    for c in checks:
        head = f"<h3>{page.esc(c.name)}: {100 * c.rate:.0f}% passed ({c.passed}/{c.graded})</h3>"
        items = []
        for count, key, example in c.mistakes:
            items.append(
                f"<div class='mistake'><span class='count'>{count}×</span>{page.esc(key)}"
                f"<details><summary class='muted'>as one student saw it</summary>"
                f"<pre>{page.esc(example)}</pre></details></div>"
            )
        parts.append(f"<div class='check'>{head}{''.join(items)}</div>")
    return "\n".join(parts)


def _similarity(prints, pairs, listed, threshold, noise, histogram):
    parts = ["<h2 id='similarity'>Code similarity</h2>", f"<p class='note'>{SIMILARITY_NOTE}</p>"]
    parts.append(
        "<p>Compared: <code>rnn_layers.py</code> and <code>rnn.py</code>, after removing what "
        "the released stubs and the provided modules already contain. A pair's score is the "
        "share of each side's own code fingerprints (copydetect, k-grams of "
        f"{noise} normalised tokens: names, comments and layout do not count) found in the "
        "other side; the smaller share ranks the pair. "
        f"Pairs are listed from {threshold:.2f}; independently written correct solutions of "
        "this exercise measured at 0.22 at most.</p>"
    )
    if histogram is not None:
        parts.append(page.img(histogram, "similarity of every compared pair"))
    not_compared = [
        p.code.name for p in prints if p.size < similarity.MIN_FINGERPRINTS and not p.code.known
    ]
    problems = [(p.code.name, "; ".join(p.code.problems)) for p in prints if p.code.problems]
    if problems:
        parts.append(
            "<h3>Submissions with problems</h3>" + page.table(["student", "problem"], problems)
        )
    if not_compared:
        parts.append(
            "<p class='muted'>Not compared (no code of their own beyond the stubs): "
            + page.esc(", ".join(not_compared))
            + "</p>"
        )
    students = [p for p in listed if not (p.a.code.known or p.b.code.known)]
    known = [p for p in listed if p.a.code.known or p.b.code.known]
    for title, chosen in (("Most alike pairs of submissions", students),
                          ("Submissions alike a known solution", known)):  # fmt: skip
        if title.endswith("solution") and not known:
            continue
        parts.append(f"<h3>{title}</h3>")
        if not chosen:
            parts.append(f"<p>No pair reaches {threshold:.2f}.</p>")
            continue
        rows = [
            (i + 1, p.a.code.name, p.b.code.name, f"{p.score:.2f}",
             f"{p.share_a:.2f} / {p.share_b:.2f}",
             Markup(f"<a href='#pair-{id(p)}'>side by side</a>"))
            for i, p in enumerate(chosen)
        ]  # fmt: skip
        parts.append(page.table(["#", "a", "b", "score", "shares (a / b)", ""], rows))
    for p in listed:
        blocks = []
        for name in STUDENT_FILES:
            if name not in p.a.code.files and name not in p.b.code.files:
                continue
            left, right = p.highlighted(name)
            blocks.append(
                f"<h4>{name}</h4><div class='side'><pre>{left}</pre><pre>{right}</pre></div>"
            )
        parts.append(
            f"<details id='pair-{id(p)}'><summary>{page.esc(p.a.code.name)} and "
            f"{page.esc(p.b.code.name)}: {p.score:.2f} (matching code highlighted)</summary>"
            + "".join(blocks)
            + "</details>"
        )
    return "\n".join(parts)
