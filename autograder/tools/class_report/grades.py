"""The grades of a class, from whichever source they come.

- ``autograder grade DIR --out-dir OUT`` folders (one or several, e.g.
  merged shards): ``OUT/<student>.json`` in the Gradescope schema and
  ``OUT/grades.csv``; unknown keys and columns are ignored, the JSON wins
  over the CSV, and a student only in the CSV still counts.
- an nbgrader course: ``gradebook.db`` read with nbgrader's own
  ``Gradebook`` (scores, late flags, students without a submission, one
  check per grade cell), feedback read from the autograded notebooks.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from ... import paths

NOT_RESULTS = {"results.json"}


@dataclass
class Check:
    name: str
    score: float
    max_score: float
    passed: bool
    output: str = ""


@dataclass
class Student:
    name: str
    score: float | None = None  # None: nothing graded (missing submission)
    max_score: float | None = None
    checks: dict = field(default_factory=dict)  # name -> Check
    late: bool | None = None  # None: the source does not know
    seconds_late: float = 0.0
    missing: bool = False
    submission: Path | None = None


@dataclass
class Grades:
    students: list
    checks: list  # check names, rubric order first
    source: str
    notes: list = field(default_factory=list)  # what was skipped while reading, and why

    @property
    def graded(self):
        return [s for s in self.students if s.score is not None]

    @property
    def knows_lateness(self):
        return any(s.late is not None for s in self.students)


def rubric_checks():
    """{check name: points} in rubric order."""
    rubric = json.loads(paths.RUBRIC.read_text())
    return {c["name"]: c["points"] for c in rubric["checks"]}


def rubric_cells():
    """{grade cell: points} in rubric order (a cell may hold several checks)."""
    cells = {}
    for c in json.loads(paths.RUBRIC.read_text())["checks"]:
        cells[c["cell"]] = cells.get(c["cell"], 0) + c["points"]
    return cells


def _ordered(known, seen):
    return [n for n in known if n in seen] + sorted(n for n in seen if n not in known)


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _from_json(path: Path):
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
        return None
    checks = {}
    for test in data["tests"]:
        if not isinstance(test, dict) or "name" not in test:
            continue
        score = _number(test.get("score")) or 0.0
        max_score = _number(test.get("max_score")) or 0.0
        status = test.get("status")
        passed = status == "passed" if status else score >= max_score > 0
        checks[str(test["name"])] = Check(
            str(test["name"]), score, max_score, passed, str(test.get("output") or "")
        )
    score = _number(data.get("score"))
    if score is None:
        score = sum(c.score for c in checks.values())
    max_score = _number(data.get("max_score")) or sum(c.max_score for c in checks.values())
    return Student(path.stem, score, max_score, checks)


def _from_csv(path: Path, points):
    students = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            name = (row.get("student") or "").strip()
            score = _number(row.get("score"))
            if not name or score is None:
                continue
            checks = {}
            for column, value in row.items():
                if column in points and _number(value) is not None:
                    got = _number(value)
                    checks[column] = Check(column, got, points[column], got >= points[column])
            students[name] = Student(name, score, sum(points.values()), checks)
    return students


def load_results(folders, submissions=None) -> Grades:
    """The grades in one or more `autograder grade` output folders.

    submissions: the folder(s) that were graded (one sub-folder or .zip per
    student), to find each student's code; optional.
    """
    points = rubric_checks()
    students, notes = {}, []
    for folder in map(Path, folders):
        found = {}
        csv_path = folder / "grades.csv"
        if csv_path.exists():
            found.update(_from_csv(csv_path, points))
        for path in sorted(folder.glob("*.json")):
            if path.name in NOT_RESULTS and len(list(folder.glob("*.json"))) > 1:
                continue
            try:
                student = _from_json(path)
            except (OSError, ValueError) as exc:
                notes.append(f"{path.name} could not be read ({exc})")
                continue
            if student is not None:
                found[student.name] = student
        if not found:
            notes.append(f"no grades found in {folder}")
        for name, student in found.items():
            if name in students:
                notes.append(f"{name} is graded in several folders: the last one ({folder}) counts")
            students[name] = student
    for student in students.values():
        student.submission = _submission_of(student.name, submissions)
    seen = {c for s in students.values() for c in s.checks}
    names = ", ".join(map(str, folders))
    return Grades(
        sorted(students.values(), key=lambda s: s.name), _ordered(points, seen), names, notes
    )


def _submission_of(name, submissions):
    for folder in map(Path, submissions or ()):
        for candidate in (folder / name, folder / f"{name}.zip"):
            if candidate.exists():
                return candidate
    return None


def load_nbgrader(course: Path, assignment: str = paths.ASSIGNMENT) -> Grades:
    """The grades of one assignment in an nbgrader course (gradebook.db, submitted/)."""
    import os
    import sys

    from nbgrader.api import Gradebook, MissingEntry

    # nbgrader runs `alembic` from PATH to check the database's schema
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    course = Path(course)
    cells = rubric_cells()
    students = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for record in gb.students:
            try:
                sub = gb.find_submission(assignment, record.id)
            except MissingEntry:
                students.append(Student(record.id, missing=True))
                continue
            late = float(getattr(sub, "total_seconds_late", 0.0) or 0.0)
            checks = {}
            for notebook in sub.notebooks:
                for grade in notebook.grades:
                    if not grade.max_score:
                        continue  # the written answers, worth no points
                    score = float(grade.score or 0.0)
                    checks[grade.name] = Check(
                        grade.name, score, float(grade.max_score), score >= grade.max_score
                    )
            folder = course / "submitted" / record.id / assignment
            students.append(
                Student(
                    record.id,
                    float(sub.score or 0.0),
                    float(sub.max_score or 0.0),
                    checks,
                    late=late > 0,
                    seconds_late=late,
                    submission=folder if folder.exists() else None,
                )
            )
    for student in students:
        _read_feedback(student, course / "autograded" / student.name / assignment)
    seen = {c for s in students for c in s.checks}
    return Grades(sorted(students, key=lambda s: s.name), _ordered(cells, seen), str(course), [])


def _read_feedback(student, folder: Path):
    """The engine's feedback, as the autograded notebooks show it under each grade cell."""
    if not folder.is_dir():
        return
    import nbformat

    for path in sorted(folder.glob("*.ipynb")):
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 - feedback is a bonus; the scores come from the db
            continue
        for cell in nb.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            check = student.checks.get(grade_id)
            if check is None or check.passed:
                continue
            texts = []
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream":
                    texts.append(out.get("text", ""))
                elif out.get("output_type") == "error":
                    texts.append(out.get("evalue", ""))
            check.output = "\n".join(t.strip() for t in texts if t.strip())
