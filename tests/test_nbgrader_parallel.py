"""`autograder nbgrader-autograde` against plain `nbgrader autograde`, on copies of one course.

One course (the course's nbgrader_config.py, source/, generate_assignment,
four submissions: the reference, the stubs, a planted bug, a late reference)
is copied three times before anyone is graded:

- serial/: `nbgrader autograde rnn_captioning --StartTrustedGrading.seed=S`;
- parallel/: `autograder nbgrader-autograde --workers 2 --seed S`, then the
  same command again (everyone is skipped), then again after one student
  resubmitted (only that student is graded);
- interrupted/: the command with one worker, interrupted (SIGINT to its
  process group, as Ctrl-C does) once the first student is recorded, then run
  again to the end.

The gradebooks (every score, comment and flag) and the autograded notebooks
of all three must be identical.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from test_nbgrader_e2e import BUG, append, make_course, submit

from autograder.frontends.nbgrader.parallel import GradebookLock, state_dir
from conftest import ASSIGNMENT

SEED = 20261130
STUDENTS = ["blank", "late", "one_bug", "reference"]


def run(course: Path, *args: str, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=course, capture_output=True, text=True)
    if check:
        assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result


def parallel(course: Path, *extra: str, check=True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "autograder", "nbgrader-autograde", ASSIGNMENT, "--no-progress"]
    return run(course, *cmd, "--seed", str(SEED), *extra, check=check)


def submissions(course: Path) -> None:
    submit(course, "reference", solved=True)
    submit(course, "blank", solved=False)
    append(submit(course, "one_bug", solved=True) / "captioning" / "rnn_layers.py", BUG)
    folder = submit(course, "late", solved=True)  # after the due date set below
    (folder / "timestamp.txt").write_text("2031-01-01 10:00:00.000000 UTC")
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate="2030-01-01 00:00:00 UTC")


def gradebook(course: Path) -> dict:
    """Everything autograde writes to the gradebook, per student, notebook and cell."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for submission in gb.find_assignment(ASSIGNMENT).submissions:
            notebooks = {}
            for nb in submission.notebooks:
                notebooks[nb.name] = {
                    "grades": sorted(
                        (g.name, g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade)
                        for g in nb.grades
                    ),
                    "comments": sorted(
                        (c.name, c.auto_comment, c.manual_comment) for c in nb.comments
                    ),
                    "flagged": nb.flagged,
                    "late_penalty": nb.late_submission_penalty,
                }
            out[submission.student_id] = {
                "timestamp": str(submission.timestamp),
                "score": submission.score,
                "max_score": submission.max_score,
                "seconds_late": submission.total_seconds_late,
                "notebooks": notebooks,
            }
    return out


def coalesced(outputs):
    """Outputs with each run of stream outputs to the same stream joined into one."""
    if outputs is None:
        return None
    out = []
    for output in outputs:
        output = dict(output)
        previous = out[-1] if out else None
        if (
            output["output_type"] == "stream"
            and previous is not None
            and previous["output_type"] == "stream"
            and previous["name"] == output["name"]
        ):
            previous["text"] += output["text"]
        else:
            out.append(output)
    return out


def autograded(course: Path) -> dict:
    """{(student, file): content} of the autograded folders; notebooks as their cells."""
    out = {}
    for student in STUDENTS:
        folder = course / "autograded" / student / ASSIGNMENT
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or "datasets" in path.parts:
                continue
            key = (student, str(path.relative_to(folder)))
            if path.suffix == ".ipynb":
                nb = nbformat.read(path, as_version=4)
                # Cells' metadata.execution holds the wall-clock times nbclient recorded;
                # tracebacks name the student's folder, as the kernel saw it; how printed
                # text is cut into stream messages depends on timing.
                cells = []
                for c in nb.cells:
                    metadata = {k: v for k, v in c.metadata.items() if k != "execution"}
                    outputs = json.dumps(coalesced(c.get("outputs")))
                    outputs = outputs.replace(str(folder), "<folder>")
                    outputs = re.sub(
                        r"/[^\s\"']*/autograder-kernel-\w+/folder", "<folder>", outputs
                    )
                    # The data cell prints each array's dtype; the url arrays hold
                    # paths in the course folder, so their width is its path's length.
                    outputs = re.sub(r"(_urls +\(\d+,\) +)<U\d+", r"\1<U(path)", outputs)
                    cells.append((c.cell_type, c.source, json.loads(outputs), metadata))
                out[key] = (nb.metadata, cells)
            else:
                out[key] = path.read_bytes()
    return out


def ctrl_c_as_in_a_terminal():
    """SIGINT back to its default action, as in a terminal's foreground command: a test
    run started with SIGINT ignored (nohup, a background job of a script) passes that on,
    and Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="module")
def courses(tmp_path_factory):
    base = tmp_path_factory.mktemp("parallel")
    template = make_course(base / "template", STUDENTS)
    submissions(template)
    copies = {}
    for name in ("serial", "parallel", "interrupted"):
        copies[name] = base / name
        shutil.copytree(template, copies[name], symlinks=True)
    cmd = [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT]
    run(copies["serial"], *cmd, f"--StartTrustedGrading.seed={SEED}")
    first = parallel(copies["parallel"], "--workers", "2")

    # Ctrl-C once the first student is recorded, then the same command again.
    cmd = [sys.executable, "-m", "autograder", "nbgrader-autograde", ASSIGNMENT]
    cmd += ["--no-progress", "--seed", str(SEED), "--workers", "1"]
    proc = subprocess.Popen(
        cmd,
        cwd=copies["interrupted"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=ctrl_c_as_in_a_terminal,
    )
    journal = state_dir(copies["interrupted"], ASSIGNMENT) / "done.json"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and json.loads(journal.read_text())["students"]:
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)
    interrupted_output = proc.communicate(timeout=120)
    done_before = set(json.loads(journal.read_text())["students"])
    resumed = parallel(copies["interrupted"], "--workers", "1")
    return {
        **copies,
        "first": first,
        "interrupted": copies["interrupted"],
        "interrupted_output": interrupted_output,
        "done_before": done_before,
        "resumed": resumed,
    }


def test_parallel_grades_and_comments_equal_the_serial_run(courses):
    serial = gradebook(courses["serial"])
    assert sorted(serial) == STUDENTS
    assert serial["reference"]["score"] == 100
    assert 0 < serial["one_bug"]["score"] < 100
    assert serial["blank"]["score"] == 0
    assert serial["late"]["score"] == 100 and serial["late"]["seconds_late"] > 0
    assert gradebook(courses["parallel"]) == serial


def test_parallel_autograded_notebooks_equal_the_serial_run(courses):
    serial = autograded(courses["serial"])
    assert any(name.endswith(".ipynb") for _, name in serial)
    assert autograded(courses["parallel"]) == serial


def test_the_summary_counts_everyone(courses):
    out = courses["first"].stdout
    assert "graded 4, already graded 0" in out and "failed 0" in out
    entries = gradebook(courses["serial"]).values()
    scores = [entry["score"] for entry in entries]
    # of the gradebook's maximum: the autograded 100 and the hand-graded questions
    top = max(entry["max_score"] for entry in entries)
    assert top > 100
    assert f"scores: mean {sum(scores) / len(scores):.1f} of {top:g}" in out


def test_a_second_run_grades_nobody_again(courses):
    course = courses["parallel"]
    before = {p: p.stat().st_mtime_ns for p in (course / "autograded").rglob("*.ipynb")}
    again = parallel(course, "--workers", "2")
    assert "graded 0, already graded 4" in again.stdout
    assert {p: p.stat().st_mtime_ns for p in (course / "autograded").rglob("*.ipynb")} == before


def test_a_resubmission_is_graded_again(courses):
    course = courses["parallel"]
    stamp = course / "submitted" / "blank" / ASSIGNMENT / "timestamp.txt"
    stamp.write_text("2030-06-01 09:00:00.000000 UTC")
    again = parallel(course, "--workers", "2")
    assert "graded 1, already graded 3" in again.stdout
    assert gradebook(course)["blank"]["timestamp"].startswith("2030-06-01 09:00:00")


def test_an_interrupted_run_goes_on_where_it_stopped(courses):
    done_before = courses["done_before"]
    assert 1 <= len(done_before) < len(STUDENTS), courses["interrupted_output"]
    out = courses["resumed"].stdout
    left = len(STUDENTS) - len(done_before)
    assert f"graded {left}, already graded {len(done_before)}" in out
    assert gradebook(courses["interrupted"]) == gradebook(courses["serial"])
    assert autograded(courses["interrupted"]) == autograded(courses["serial"])


def test_gradebook_sessions_of_two_processes_never_overlap(tmp_path):
    """The lock a worker takes for each gradebook session excludes another process's."""
    lock = GradebookLock(tmp_path / "gradebook.lock")
    lock.acquire()
    lock.acquire()  # re-entrant within a process
    code = (
        "import sys, time\n"
        "from autograder.frontends.nbgrader.parallel import GradebookLock\n"
        "lock = GradebookLock(__import__('pathlib').Path(sys.argv[1]))\n"
        "lock.acquire(); print(time.time(), flush=True)\n"
    )
    other = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "gradebook.lock")],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)
    assert other.poll() is None  # still waiting
    lock.release()
    assert other.poll() is None  # one level of the re-entrant lock is still held
    released = time.time()
    threading.Timer(0.5, lock.release).start()
    acquired = float(other.communicate(timeout=30)[0])
    assert acquired >= released + 0.4


def test_notebooks_run_cleanly_in_a_course_below_a_private_folder(courses):
    """pytest's folders sit below /tmp/pytest-of-<user> (mode 0700), like a course in a
    home folder: as root, a kernel of a uid of its own still imports the student's package
    and reads the data (the folder shown at a path it can reach), so no cell fails."""
    root = courses["serial"]
    if os.geteuid() == 0:
        assert any(not p.stat().st_mode & 0o001 for p in root.parents)
    for name in ("RNN_Captioning.ipynb", "LSTM_Captioning.ipynb"):
        nb = nbformat.read(root / "autograded" / "reference" / ASSIGNMENT / name, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        errors = [o for c in code for o in c.get("outputs", []) if o["output_type"] == "error"]
        assert errors == [], (name, [(o["ename"], o["evalue"]) for o in errors])
        text = "".join(o.get("text", "") for c in code for o in c.get("outputs", []))
        assert "train_captions" in text  # the data cell loaded the data set
