"""`make demo`: grade three demo submissions and print the grade table.

The submissions are made on the fly from the built assignment: the
reference solution, the blank stubs a student starts from, and a textbook
solution with the most common rnn_backward bug (the gradient carried from the
next timestep is dropped). They are graded by the `autograder grade` command, the
same one TAs run on a folder of submissions.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .. import paths
from ..paths import STUDENT_FILES
from . import mutants

ROOT = paths.course_root()

DEMO_BUG = "rnn_backward_no_carried_dh"


def make_submissions(folder: Path) -> list[str]:
    """Write the demo submissions into folder, one sub-folder each."""
    solutions, stubs = paths.reference_dir(), paths.release_dir()
    reference = {name: (solutions / name).read_bytes() for name in STUDENT_FILES}
    bug = next(m for m in mutants.MUTANTS if m.name == DEMO_BUG)
    submissions = {
        "reference": reference,
        "blank_stubs": {name: (stubs / name).read_bytes() for name in STUDENT_FILES},
        "forgot_carried_dh": mutants.apply(bug, reference),
    }
    for student, files in submissions.items():
        dest = folder / student / "captioning"
        dest.mkdir(parents=True)
        for name, data in files.items():
            (dest / name).write_bytes(data)
    return list(submissions)


def print_table(csv_path: Path) -> None:
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        print("no grades were written")
        return
    checks = [c for c in rows[0] if c not in ("student", "score", "seed")]
    width = max(len(c) for c in checks + ["score"])
    students = [row["student"] for row in rows]
    print("\n" + "check".ljust(width) + "".join(s.rjust(20) for s in students))
    for column in checks + ["score"]:
        print(column.ljust(width) + "".join(row[column].rjust(20) for row in rows))


def main(argv=None) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        submissions = Path(tmp) / "submissions"
        names = make_submissions(submissions)
        print(f"demo submissions: {', '.join(names)}")
        out = ROOT / "grading_output" / "demo"
        shutil.rmtree(out, ignore_errors=True)
        cmd = [sys.executable, "-m", "autograder", "grade", str(submissions), "--out-dir", str(out)]
        cmd += ["--csv", str(out / "grades.csv")]
        result = subprocess.run(cmd)
        if result.returncode != 0 or not (out / "grades.csv").exists():
            print("demo: the grader did not produce grades.csv", file=sys.stderr)
            return 1
        print_table(out / "grades.csv")
        report = [sys.executable, "-m", "autograder", "report", str(out), "--quiet"]
        report += ["--submissions", str(submissions), "--out", str(out / "report")]
        if subprocess.run(report).returncode != 0:
            print("demo: the class report failed", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
