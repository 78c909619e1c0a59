"""`autograder report`: a class report (scores, hardest checks, common mistakes,
code similarity) as one self-contained HTML page plus its figures.

Modules, in the order the pipeline runs: ``grades`` (read the grades of each
source), ``stats`` (score statistics, pass rates, common mistakes),
``similarity`` (copydetect fingerprints, ranked pairs), ``figures``
(matplotlib), ``page`` (the HTML, from the jinja2 templates in
``templates/``, autoescaped), ``build`` (the pipeline).
"""

from __future__ import annotations

from pathlib import Path


def add_arguments(parser):
    parser.add_argument(
        "results", type=Path, nargs="*", help="output folders of `autograder grade` (shards too)"
    )
    parser.add_argument(
        "--submissions",
        type=Path,
        action="append",
        help="the folder of submissions that was graded (for the code similarity); repeatable",
    )
    parser.add_argument(
        "--nbgrader",
        type=Path,
        metavar="COURSE",
        help="an nbgrader course: gradebook.db, submitted/",
    )
    parser.add_argument("--assignment", default="rnn_captioning", help="nbgrader assignment name")
    parser.add_argument(
        "--against", type=Path, action="append", help="a folder of known solutions; repeatable"
    )
    parser.add_argument("--out", type=Path, help="where the report goes (default: RESULTS/report)")
    parser.add_argument("--threshold", type=float, help="list pairs from this score (default 0.5)")
    parser.add_argument("--top", type=int, default=30, help="list at most this many pairs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    import sys

    from . import build, grades, similarity

    if args.nbgrader is None and not args.results:
        print(
            "autograder report: give grading output folders or --nbgrader COURSE", file=sys.stderr
        )
        return 2
    for path in [*(args.results or []), *(args.submissions or []), *(args.against or [])]:
        if not path.is_dir():
            print(f"autograder report: {path} is not a folder", file=sys.stderr)
            return 2
    if args.nbgrader is not None:
        if not (args.nbgrader / "gradebook.db").is_file():
            print(f"autograder report: no gradebook.db in {args.nbgrader}", file=sys.stderr)
            return 2
        class_grades = grades.load_nbgrader(args.nbgrader, args.assignment)
        out = args.out or args.nbgrader / "class_report"
    else:
        class_grades = grades.load_results(args.results, args.submissions)
        out = args.out or args.results[0] / "report"
    threshold = similarity.THRESHOLD if args.threshold is None else args.threshold
    result = build.build(
        class_grades, out, against=args.against, threshold=threshold, top=args.top,
        progress=not args.quiet,
    )  # fmt: skip
    print(summary(class_grades, result))
    return 0


def summary(class_grades, result) -> str:
    """What the terminal shows after a report: the sections and where the page is."""
    from . import stats

    lines = []
    s = stats.scores(class_grades)
    if s is not None:
        lines.append(
            f"scores: {s.count} graded, mean {s.mean:.1f}, median {s.median:g}, "
            f"quartiles {s.q1:g}-{s.q3:g}, {s.zeros} at 0, {s.full} at full marks"
        )
    hardest = stats.checks(class_grades)[:3]
    if hardest:
        lines.append(
            "hardest checks: " + ", ".join(f"{c.name} {100 * c.rate:.0f}%" for c in hardest)
        )
    lines.append(
        f"similarity: {len(result.pairs)} pairs compared, {len(result.listed)} listed "
        f"(score >= {result.threshold:.2f})"
    )
    for p in result.listed[:5]:
        lines.append(f"  {p.score:.2f}  {p.a.code.name} ~ {p.b.code.name}")
    lines.append(f"report: {result.html}")
    return "\n".join(lines)
