"""``autograder validate --feedback``: what one bug costs, and what its feedback says.

Grades every mutant of mutants.py on the whole rubric (training checks too)
with a fixed seed and prints one row per mutant: points lost, checks
failed, the first failing check, whether the feedback of the broken
function's checks names the labelled part of it (``Mutant.words``),
whether any feedback text holds solution code (``contains_code``), and
the CPU time of the grade. ``--engine PATH`` grades with the engine of
another checkout (``git worktree add /tmp/before <commit>``), with the
mutants of this one, so that two engines are compared on the same bugs.

A measurement, not a test: it prints figures and the targets beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .. import paths
from ..engine.feedback_scan import code_in
from ..paths import STUDENT_FILES
from .mutants import MUTANTS, apply

SEED = 20261204


def contains_code(text):
    """The first piece of `text` that reads as solution code, or None (the one
    detector, ``engine.feedback_scan``)."""
    found = code_in(text)
    return found[0] if found else None


# Run in a subprocess with the engine of the checkout given as its first argument.
GRADER = r"""
import json, resource, sys, time
root = sys.argv[1]
sys.path.insert(0, root)
from pathlib import Path
from autograder.engine import grade_files, load_rubric
names = ("rnn_layers.py", "rnn.py")
out = []
def cpu():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime
rubric = load_rubric()
for folder in sys.argv[3:]:
    files = {n: (Path(folder) / n).read_bytes() for n in names}
    before, start = cpu(), time.perf_counter()
    results = grade_files(files, rubric, workers=2, seed=int(sys.argv[2]))
    out.append({
        "folder": folder,
        "cpu": cpu() - before,
        "wall": time.perf_counter() - start,
        "results": [
            {"name": r.name, "score": r.score, "max": r.max_score, "output": r.output}
            for r in results
        ],
    })
    print(json.dumps(out[-1]), flush=True)
"""


def grade_all(engine_root, folders, seed=SEED):
    """One record per folder, graded by the engine at `engine_root` (a checkout)."""
    env = dict(os.environ, AUTOGRADER_COURSE_ROOT=str(engine_root))
    proc = subprocess.run(
        [sys.executable, "-c", GRADER, str(engine_root), str(seed), *map(str, folders)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if len(records) != len(folders):
        raise RuntimeError(f"grading with {engine_root} failed:\n{proc.stderr[-3000:]}")
    return records


HINTS = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from autograder.engine import feedback
print(json.dumps([str(h) for h in getattr(feedback, "HINTS", {}).values()]))
"""


def engine_hints(engine_root):
    """The general hints of an engine (one per function, the same whatever the bug):
    a bug is located by what the feedback says besides them."""
    proc = subprocess.run(
        [sys.executable, "-c", HINTS, str(engine_root)], capture_output=True, text=True
    )
    return json.loads(proc.stdout) if proc.returncode == 0 else []


def row(mutant, record, hints=()):
    """The figures of one mutant's grade."""
    results = record["results"]
    failed = [r for r in results if r["score"] < r["max"]]
    own = [r for r in results if r["name"] in mutant.caught_by]
    own_text = " ".join(r["output"] for r in own if r["score"] < r["max"])
    for hint in hints:
        own_text = own_text.replace(hint, "")
    own_text = own_text.lower()
    located = bool(own_text) and any(word in own_text for word in mutant.words)
    code = [(r["name"], c) for r in results if (c := contains_code(r["output"]))]
    return {
        "mutant": mutant.name,
        "part": mutant.part,
        "lost": sum(r["max"] - r["score"] for r in results),
        "failed": len(failed),
        "first": failed[0]["name"] if failed else "-",
        "first_right": bool(failed) and failed[0]["name"] in mutant.caught_by,
        "located": located,
        "code": code,
        "cpu": record["cpu"],
    }


def measure(engine_root, seed=SEED):
    """(rows for every mutant, CPU seconds of grading the reference) with one engine."""
    reference = {n: (paths.reference_dir() / n).read_bytes() for n in STUDENT_FILES}
    with tempfile.TemporaryDirectory(prefix="autograder-feedback-") as tmp:
        folders = []
        for name, files in [("reference", reference)] + [
            (m.name, apply(m, reference)) for m in MUTANTS
        ]:
            folder = Path(tmp) / name
            folder.mkdir()
            for file_name, data in files.items():
                (folder / file_name).write_bytes(data)
            folders.append(folder)
        records = grade_all(engine_root, folders, seed)
    return rows_of(records, engine_hints(engine_root))


def rows_of(records, hints):
    """(a row per mutant, CPU seconds of the reference's grade, the records)."""
    rows = [row(m, r, hints) for m, r in zip(MUTANTS, records[1:])]
    return rows, records[0]["cpu"], records


def summary(rows, reference_cpu):
    lost = [r["lost"] for r in rows]
    return {
        "mutants": len(rows),
        "mean lost": sum(lost) / len(lost),
        "max lost": max(lost),
        "over 25": [r["mutant"] for r in rows if r["lost"] > 25],
        "first failing check right": sum(r["first_right"] for r in rows),
        "located %": 100 * sum(r["located"] for r in rows) / len(rows),
        "with solution code": sum(bool(r["code"]) for r in rows),
        "cpu reference s": reference_cpu,
        "cpu mean mutant s": sum(r["cpu"] for r in rows) / len(rows),
    }


def print_table(columns, out=sys.stdout):
    """columns: engine label -> rows; one line per mutant, the engines side by side."""
    labels = list(columns)
    first = columns[labels[0]]
    width = max(len(r["mutant"]) for r in first)
    head = f"{'mutant'.ljust(width)}  " + "  ".join(
        f"{label:>6}: lost fail first-check{' ' * 22} loc code" for label in labels
    )
    print(head, file=out)
    for i, r in enumerate(first):
        cells = []
        for label in labels:
            c = columns[label][i]
            first_check = ("" if c["first_right"] else "!") + c["first"]
            cells.append(
                f"{'':>6}  {c['lost']:4g} {c['failed']:4d} {first_check[:33]:33} "
                f"{'yes' if c['located'] else 'no ':3} {'YES' if c['code'] else 'no'}"
            )
        print(f"{r['mutant'].ljust(width)}  " + "  ".join(cells), file=out)
        print(f"{''.ljust(width)}    part: {r['part']}", file=out)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="autograder validate --feedback", description=__doc__)
    parser.add_argument(
        "--engine",
        action="append",
        default=[],
        metavar="LABEL=PATH",
        help="also grade with the engine of this checkout (repeatable)",
    )
    parser.add_argument("--json", type=Path, help="write every row and feedback text here")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--saved",
        type=Path,
        action="append",
        default=[],
        metavar="JSON",
        help="take these engines' rows from an earlier --json instead",
    )
    parser.add_argument("--skip-current", action="store_true", help="only the --engine ones")
    args = parser.parse_args(argv)
    engines = [tuple(e.split("=", 1)) for e in args.engine]
    if not args.skip_current:
        engines.append(("now", str(paths.PACKAGE.parent)))
    saved = {}
    roots = dict([*engines, ("now", str(paths.PACKAGE.parent))])
    for path in args.saved:
        data = json.loads(path.read_text())
        for label, records in data["raw"].items():
            root = roots.get(label)
            rows, ref_cpu, _ = rows_of(records, engine_hints(root) if root else [])
            saved[label] = (rows, summary(rows, ref_cpu), records)
    engines = [(label, root) for label, root in engines if label not in saved]
    columns, summaries, raw = {}, {}, {}
    for label, (rows, summ, records) in saved.items():
        columns[label], summaries[label], raw[label] = rows, summ, records
    for label, root in engines:
        print(f"grading {len(MUTANTS)} mutants with the engine of {root} ...", file=sys.stderr)
        rows, ref_cpu, records = measure(Path(root), args.seed)
        columns[label], summaries[label], raw[label] = rows, summary(rows, ref_cpu), records
    print_table(columns)
    print()
    targets = {
        "mean lost": "<= 12",
        "max lost": "<= 25 but for bugs that stop the model learning",
        "first failing check right": f"{len(MUTANTS)} of {len(MUTANTS)}",
        "located %": ">= 95",
        "with solution code": "0",
        "cpu reference s": "grows <= 15%",
    }
    for key in summaries[list(columns)[-1]]:
        values = "  ".join(f"{label}: {_fmt(summaries[label][key])}" for label in columns)
        print(f"{key:28} {values}   (target {targets.get(key, '-')})")
    if args.json:
        args.json.write_text(json.dumps({"rows": columns, "summary": summaries, "raw": raw}))
    return 0


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, list):
        return ", ".join(value) or "none"
    return str(value)
