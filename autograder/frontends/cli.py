"""The ``autograder`` command (also ``python -m autograder``).

    autograder grade PATH [--json OUT] [--csv OUT] [--out-dir DIR] [--workers N] [--seed S]
                          [--shard I/N]
    autograder merge DIR [MORE_DIRS...] [--out DIR]
    autograder validate [--workers N]
    autograder gradescope-bundle OUT.zip
    autograder gradescope-check BUNDLE.zip [--release bookworm]
    autograder report RESULTS... [--submissions DIR] [--nbgrader COURSE] [--against DIR]
    autograder nbgrader-autograde [ASSIGNMENT] [--workers N] [--student ID] [--force] [--seed S]
    autograder build | demo | make-expected | thresholds | mutants | runtime [--help]

``grade`` takes one submission (a folder or .zip holding rnn_layers.py and
rnn.py) or a folder of submissions (one sub-folder or .zip per student). Every
grade records the seed of its random draws; ``--seed S`` repeats them. The
exit status is 0 whenever grading ran, whatever the scores, and 2 when nothing
was graded (no such path, or student code cannot run confined on this machine).

``--shard I/N`` grades the I-th of N shares of a folder of submissions (one
job of a cluster array, I from 1); ``merge`` joins the shards' output folders
into the ``grades.csv`` and JSON files of one run (docs/cluster.md).
"""

from __future__ import annotations

from ..blas import one_thread_by_default

one_thread_by_default()  # in the parent too, before numpy is first imported

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor, as_completed  # noqa: E402
from pathlib import Path  # noqa: E402

from ..engine import default_workers, formats  # noqa: E402
from ..engine.submission import looks_like_submission, students_in  # noqa: E402
from . import shards  # noqa: E402


def is_batch(path: Path):
    """A folder whose entries are submissions, rather than one submission."""
    if not path.is_dir():
        return False
    entries = students_in(path)
    if any(p.is_file() for _, p in entries):
        return True
    if any(p.name == "captioning" for _, p in entries):
        return False
    if any((path / name).is_file() for name in ("rnn_layers.py", "rnn.py")):
        return False
    return sum(looks_like_submission(p) for _, p in entries) >= 2


def grade_one(args, path: Path):
    from ..engine import grade_submission

    start = time.perf_counter()
    results = grade_submission(path, workers=args.workers, seed=args.seed)
    elapsed = time.perf_counter() - start
    print(formats.text(results, title=f"Grading {path}"))
    print(f"({elapsed:.1f} s)")
    json_path = args.json
    if json_path is None and args.out_dir is not None:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        json_path = args.out_dir / "results.json"
    if json_path is not None:
        formats.write_json(results, json_path, elapsed)
        print(f"wrote {json_path}")
    if args.csv is not None:
        formats.write_csv([(path.stem, results)], args.csv, [r.name for r in results])
    return 0


def grade_batch(args, folder: Path):
    from tqdm import tqdm

    from ..engine import grade_submission, load_rubric

    students = students_in(folder)
    out_dir = args.out_dir or Path("autograder-results")
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = args.csv or out_dir / "grades.csv"
    if args.shard is not None:
        index, count = args.shard
        students = [(n, p) for n, p in students if shards.shard_of(n, count) == index]
        csv_path = out_dir / shards.shard_csv_name(index, count)
    names = [c["name"] for c in load_rubric()]
    rows = {}

    def work(entry):
        name, path = entry
        start = time.perf_counter()
        results = grade_submission(path, workers=1, seed=args.seed)
        formats.write_json(results, out_dir / f"{name}.json", time.perf_counter() - start)
        return name, results

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        futures = [pool.submit(work, entry) for entry in students]
        with tqdm(total=len(futures), unit="submission", file=sys.stderr) as bar:
            for future in as_completed(futures):
                name, results = future.result()
                rows[name] = results
                bar.set_postfix_str(name[:20])
                bar.update()
    ordered = [(name, rows[name]) for name, _ in students]
    formats.write_csv(ordered, csv_path, names)
    width = max([len(n) for n, _ in ordered] + [7])
    for name, results in ordered:
        score, max_score = formats.total(results)
        print(f"{name.ljust(width)}  {score:g} / {max_score:g}")
    elapsed = time.perf_counter() - start
    share = "" if args.shard is None else " (shard {} of {})".format(*args.shard)
    print(
        f"graded {len(ordered)} submissions{share} in {elapsed:.1f} s with {args.workers} workers"
    )
    print(f"wrote {csv_path} and one JSON per student in {out_dir}")
    return 0


def cmd_grade(args):
    path = args.path
    if not path.exists():
        print(f"autograder: {path} does not exist", file=sys.stderr)
        return 2
    batch = args.batch if args.batch is not None else is_batch(path)
    if args.shard is not None and not batch:
        print(f"autograder: --shard needs a folder of submissions; {path} is one", file=sys.stderr)
        return 2
    if args.shard is not None and args.csv is not None:
        print("autograder: a shard names its own CSV; --csv is for one run", file=sys.stderr)
        return 2
    if args.workers is None:
        args.workers = default_workers()
    from ..engine import SandboxUnavailable, preflight

    try:
        if batch:
            preflight()  # before the first of many; one submission proves it while it builds
        return grade_batch(args, path) if batch else grade_one(args, path)
    except SandboxUnavailable as exc:
        print(exc, file=sys.stderr)
        return 2


def cmd_merge(args):
    try:
        shards.merge(args.dirs, args.out)
    except shards.MergeError as exc:
        print(f"autograder merge: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_validate(args):
    if args.feedback:
        from ..tools.feedback_table import main

        extra = [f"--engine={e}" for e in args.engine] + (
            ["--json", str(args.json)] if args.json else []
        )
        return main(extra)
    from ..tools.validate import validate

    return validate(workers=args.workers or default_workers())


def cmd_bundle(args):
    from .gradescope.bundle import make_bundle

    make_bundle(args.out)
    print(f"wrote {args.out}")
    return 0


def cmd_report(args):
    from ..tools import class_report

    return class_report.run(args)


# Instructors' and maintainers' tools: `autograder NAME [its own options]`.
TOOLS = {
    "build": (
        "autograder.tools.build",
        "regenerate release/ and solutions/ from source/ (--check: fail when they are stale)",
    ),
    "demo": ("autograder.tools.demo", "build, grade the demo class, print the grade table"),
    "nbgrader-autograde": (
        "autograder.frontends.nbgrader.parallel",
        "nbgrader autograde of a whole class, several students at once (in the course folder)",
    ),
    "make-expected": (
        "autograder.tools.make_expected",
        "regenerate the stored hidden expected values from the reference",
    ),
    "thresholds": (
        "autograder.tools.thresholds",
        "measure the training checks over many seeds and write thresholds.md",
    ),
    "mutants": ("autograder.tools.mutants", "list the known-bad variants of the reference"),
    "runtime": (
        "autograder.sandbox.runtime",
        "make the readable view of the Python runtime for children now",
    ),
    "gradescope-check": (
        "autograder.tools.gradescope_check",
        "run a Gradescope bundle in a fresh Debian root, laid out as Gradescope does (root)",
    ),
}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in TOOLS:  # the tool parses its own options
        import importlib

        return importlib.import_module(TOOLS[argv[0]][0]).main(argv[1:]) or 0
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    grade = commands.add_parser("grade", help="grade one submission or a folder of them")
    grade.add_argument("path", type=Path)
    grade.add_argument("--json", type=Path, help="Gradescope-schema JSON (one submission)")
    grade.add_argument("--csv", type=Path, help="CSV of the scores")
    grade.add_argument("--out-dir", type=Path, help="where the JSON and CSV files go")
    grade.add_argument(
        "--workers",
        type=int,
        help="child processes running student code at once (default: one per core): the "
        "check groups of one submission, or that many submissions of a folder at a time",
    )
    grade.add_argument(
        "--seed",
        type=int,
        help="the seed of every random draw, as recorded in a grade (default: fresh)",
    )
    grade.add_argument(
        "--shard",
        type=shards.parse_shard,
        metavar="I/N",
        help="grade only shard I of N (I from 1) of a folder of submissions; see `merge`",
    )
    mode = grade.add_mutually_exclusive_group()
    mode.add_argument("--batch", action="store_true", default=None, help="PATH holds submissions")
    mode.add_argument("--single", dest="batch", action="store_false", help="PATH is one submission")
    grade.set_defaults(run=cmd_grade)

    merge = commands.add_parser(
        "merge", help="join the output folders of `grade --shard I/N` into one run's"
    )
    merge.add_argument("dirs", type=Path, nargs="+", metavar="DIR", help="--out-dir of the shards")
    merge.add_argument(
        "--out", type=Path, help="where grades.csv and the JSON files go (default: the first DIR)"
    )
    merge.set_defaults(run=cmd_merge)

    validate = commands.add_parser(
        "validate", help="grade the reference, the stubs and the mutants of the reference"
    )
    validate.add_argument(
        "--workers", type=int, help="submissions graded at once (default: one per core)"
    )
    validate.add_argument(
        "--feedback",
        action="store_true",
        help="instead: grade every mutant on the whole rubric and print what each bug "
        "costs and what its feedback says (a measurement)",
    )
    validate.add_argument(
        "--engine",
        action="append",
        default=[],
        metavar="LABEL=PATH",
        help="with --feedback: also grade with the engine of this checkout",
    )
    validate.add_argument("--json", type=Path, help="with --feedback: every row and text")
    validate.set_defaults(run=cmd_validate)

    bundle = commands.add_parser("gradescope-bundle", help="write the Gradescope autograder zip")
    bundle.add_argument("out", type=Path)
    bundle.set_defaults(run=cmd_bundle)

    class_report = commands.add_parser(
        "report", help="a class report: scores, hardest checks, common mistakes, code similarity"
    )
    from ..tools.class_report import add_arguments

    add_arguments(class_report)
    class_report.set_defaults(run=cmd_report)

    for name, (_, text) in TOOLS.items():
        commands.add_parser(name, help=text, add_help=False)  # listed here, run above

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
