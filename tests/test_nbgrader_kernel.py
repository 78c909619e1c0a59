"""The kernels of ``nbgrader autograde`` are confined: through nbgrader's real command line.

One course, one ``autograde`` call for six students (about three minutes):

- aaa_attacker: the reference, plus a notebook cell that appends a broken
  ``rnn_step_forward`` to every ``submitted/*/.../rnn_layers.py``, to the
  instructor's solution and provided module and to ``nbgrader_config.py``, and
  tries to read the solutions, the engine's stored values and the gradebook;
- bbb_import_attacker: the same lines at the top of its ``rnn_layers.py``;
- hog: the reference, plus a fork loop and a memory bomb in a notebook;
- looper: the reference, plus an endless loop in a notebook;
- mmm_reference: the reference;
- zzz_victim: the reference, whose cells tagged autograde-skip (and one
  autograder cell it tagged itself) would write a file and raise.

The attacker also writes into the instructor's data set through the link that
autograde puts in its folder, then points that link at the solutions for its
second notebook (nbgrader runs the LSTM notebook first).

``KERNEL_WALLS=off pytest tests/test_nbgrader_kernel.py`` runs the same course
with plain kernels, to see these tests fail without the walls.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from test_nbgrader_e2e import submit

from autograder import paths
from autograder.frontends.nbgrader.kernel import SKIP_TAG, SKIPPED_NOTE
from autograder.frontends.nbgrader.plugin import rubric_cell_points
from conftest import ASSIGNMENT, ROOT, SOLUTIONS, SOURCE

STUDENTS = ["aaa_attacker", "bbb_import_attacker", "hog", "looper", "mmm_reference", "zzz_victim"]
TOTAL = sum(rubric_cell_points().values())
SECRETS = {
    "solution": f"../../../solutions/{ASSIGNMENT}/captioning/rnn_layers.py",
    "expected": str(paths.EXPECTED_DIR / "rnn_forward.npz"),
    "gradebook": "../../../gradebook.db",
}

SABOTAGE = r"""
# Sabotage: break every other student's rnn_step_forward and the instructor's files.
import glob as _glob
import os as _os

_BROKEN = "\n\ndef rnn_step_forward(x, prev_h, Wx, Wh, b):\n    return prev_h, None\n"
_course = _os.path.abspath(_os.path.join(_os.getcwd(), "..", "..", ".."))
_targets = _glob.glob(_os.path.join(_course, "submitted", "*", "ASSIGNMENT", "captioning", "rnn_layers.py"))
_targets += [
    _os.path.join(_course, "solutions", "ASSIGNMENT", "captioning", "rnn_layers.py"),
    _os.path.join(_course, "source", "ASSIGNMENT", "captioning", "layers.py"),
    _os.path.join(_course, "nbgrader_config.py"),
]
for _target in _targets:
    try:
        with open(_target, "a") as _f:
            _f.write("\nc = None\n" if _target.endswith("config.py") else _BROKEN)
    except OSError:
        pass
""".replace("ASSIGNMENT", ASSIGNMENT)

SPY = f"""
# Read what only the instructor may read; write down what could be read.
import json

stolen = {{}}
for name, path in {SECRETS!r}.items():
    try:
        with open(path, "rb") as f:
            stolen[name] = len(f.read())
    except OSError as exc:
        stolen[name] = type(exc).__name__
with open("stolen.json", "w") as f:
    json.dump(stolen, f)
"""

DATA = Path("datasets", "synthetic_coco")

DATA_WRITE = f"""
# Write into the instructor's data set through the link, then point the link at the
# solutions for the next notebook's kernel.
import json
import os

tried = {{}}
for name, mode in [("coco2014_vocab.json", "a"), ("planted.txt", "w")]:
    try:
        with open(os.path.join("{DATA}", name), mode) as f:
            f.write("planted")
        tried[name] = "written"
    except OSError as exc:
        tried[name] = type(exc).__name__
with open("data_writes.json", "w") as f:
    json.dump(tried, f)
os.unlink("{DATA}")
os.symlink(os.path.abspath("../../../solutions/{ASSIGNMENT}/captioning"), "{DATA}")
# A link to the solution itself: nbgrader's set_permissions would chmod it, and
# generate_feedback would copy it into the attacker's feedback.
os.symlink(os.path.abspath("../../../solutions/{ASSIGNMENT}/captioning/rnn_layers.py"), "got.py")
"""

READ_RELINKED = f"""
# Read the solution through the link the first notebook's kernel made.
try:
    with open("{DATA}/rnn_layers.py") as f:
        outcome = len(f.read())
except OSError as exc:
    outcome = type(exc).__name__
with open("relinked.txt", "w") as f:
    f.write(str(outcome))
"""

SKIPPED_CELL = """
# Under autograde this cell is never run.
open("skipped_cell_ran_CELL.txt", "w").write("ran")
raise RuntimeError("a skipped cell ran")
"""

FORK_LOOP = """
import os
children = 0
try:
    for _ in range(10000):
        if os.fork() == 0:
            while True:
                pass
        children += 1
finally:
    print("forked", children)
"""

MEMORY_BOMB = """
hoard = []
try:
    while True:
        hoard.append(bytearray(64 << 20))
except MemoryError:
    print("stopped at", len(hoard) * 64, "MB")
del hoard
"""

ENDLESS_LOOP = """
while True:
    pass
"""


def nbgrader(course: Path, *args: str, check=True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "nbgrader", *args]
    result = subprocess.run(cmd, cwd=course, capture_output=True, text=True)
    if check:
        assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def insert_cells(notebook: Path, *sources: str) -> None:
    """Put cells right after the setup cell, so that they run before every check."""
    nb = nbformat.read(notebook, as_version=4)
    for i, source in enumerate(sources):
        nb.cells.insert(2 + i, nbformat.v4.new_code_cell(source))
    nbformat.write(nb, notebook)


def tagged_cells_that_raise(notebook: Path, also_tag: str) -> None:
    """Make every cell tagged autograde-skip write a file and raise; tag one grade cell too."""
    nb = nbformat.read(notebook, as_version=4)
    for i, cell in enumerate(nb.cells):
        if SKIP_TAG in cell.metadata.get("tags", []):
            cell.source = SKIPPED_CELL.replace("CELL", str(i))
        if cell.metadata.get("nbgrader", {}).get("grade_id") == also_tag:
            cell.metadata["tags"] = [SKIP_TAG]
    nbformat.write(nb, notebook)


def modes(folder: Path) -> dict:
    return {str(p): (s.st_uid, s.st_gid, s.st_mode) for p in folder.rglob("*") for s in [p.lstat()]}


def digests(*roots: Path, skip=("autograded", "feedback")) -> dict:
    out = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            parts = path.relative_to(root).parts
            if parts[0] in skip or "__pycache__" in parts or path.name.startswith("gradebook.db"):
                continue
            if path.is_file():
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def course():
    # Under the shared temporary folder: pytest's own is closed to other uids.
    course = Path(tempfile.mkdtemp(prefix="kernel-course-"))
    os.chmod(course, 0o755)
    config = (ROOT / "nbgrader_config.py").read_text()
    # A notebook that loops stops after 60 s of CPU here (the course's limit is larger).
    config += "\nc.ConfinedKernelManager.cpu_seconds = 60\n"
    if os.environ.get("KERNEL_WALLS") == "off":
        config += "c.ConfinedKernelManager.confine = False\n"
    (course / "nbgrader_config.py").write_text(config)
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".ipynb_checkpoints")
    shutil.copytree(SOURCE, course / "source" / ASSIGNMENT, ignore=ignore)
    shutil.copytree(SOLUTIONS, course / "solutions" / ASSIGNMENT, ignore=ignore)
    nbgrader(course, "generate_assignment", ASSIGNMENT)

    attacker = submit(course, "aaa_attacker", solved=True)
    # nbgrader runs the LSTM notebook first.
    insert_cells(attacker / "LSTM_Captioning.ipynb", DATA_WRITE)
    insert_cells(attacker / "RNN_Captioning.ipynb", SABOTAGE, SPY, READ_RELINKED)
    layers = submit(course, "bbb_import_attacker", solved=True) / "captioning" / "rnn_layers.py"
    layers.write_text(SABOTAGE + layers.read_text())
    hog = submit(course, "hog", solved=True)
    insert_cells(hog / "RNN_Captioning.ipynb", FORK_LOOP, MEMORY_BOMB)
    insert_cells(submit(course, "looper", solved=True) / "RNN_Captioning.ipynb", ENDLESS_LOOP)
    submit(course, "mmm_reference", solved=True)
    victim = submit(course, "zzz_victim", solved=True)
    tagged_cells_that_raise(victim / "RNN_Captioning.ipynb", also_tag="rnn_step_forward")
    tagged_cells_that_raise(victim / "LSTM_Captioning.ipynb", also_tag="lstm_bleu")

    before = digests(course, paths.PACKAGE)
    data_modes = modes(course / "source" / ASSIGNMENT / DATA)
    solution_modes = modes(course / "solutions" / ASSIGNMENT)
    start = time.perf_counter()
    result = nbgrader(course, "autograde", ASSIGNMENT, check=False)
    seconds = time.perf_counter() - start
    print(f"\nautograde of {len(STUDENTS)} students: {seconds:.1f} s")
    feedback = nbgrader(course, "generate_feedback", ASSIGNMENT, "--student", "aaa_attacker")
    yield {
        "solution_modes": (solution_modes, modes(course / "solutions" / ASSIGNMENT)),
        "feedback_log": feedback.stdout + feedback.stderr,
        "root": course,
        "before": before,
        "after": digests(course, paths.PACKAGE),
        "data_modes": (data_modes, modes(course / "source" / ASSIGNMENT / DATA)),
        "log": result.stdout + result.stderr,
        "returncode": result.returncode,
    }
    shutil.rmtree(course, ignore_errors=True)


@pytest.fixture(scope="module")
def totals(course):
    from nbgrader.api import Gradebook, MissingEntry

    out = {}
    with Gradebook(f"sqlite:///{course['root'] / 'gradebook.db'}") as gb:
        for student in STUDENTS:
            try:
                out[student] = gb.find_submission(ASSIGNMENT, student).score
            except MissingEntry:
                out[student] = None  # nbgrader gives up on a student whose kernel died
    return out


def test_sabotage_leaves_the_other_students_at_full_marks(totals):
    assert totals["mmm_reference"] == TOTAL
    assert totals["zzz_victim"] == TOTAL


def test_the_attackers_are_graded_on_their_own_code(totals):
    assert totals["aaa_attacker"] == TOTAL
    assert totals["bbb_import_attacker"] == TOTAL


def test_no_file_outside_the_kernels_folders_changes(course):
    changed = sorted(
        p
        for p in set(course["before"]) | set(course["after"])
        if course["before"].get(p) != course["after"].get(p)
    )
    assert changed == []
    assert "changed the instructor's file" not in course["log"]


def test_the_kernel_reads_no_solution_expected_value_or_gradebook(course):
    stolen = json.loads(
        (course["root"] / "autograded" / "aaa_attacker" / ASSIGNMENT / "stolen.json").read_text()
    )
    assert stolen == {name: "PermissionError" for name in SECRETS}


def test_the_kernels_run_behind_walls(course):
    walls = re.findall(r"Kernel in \S+ runs with: (.*)", course["log"])
    assert len(walls) >= 2 * (len(STUDENTS) - 1)
    for line in walls:
        assert "landlock" in line and "seccomp" in line and "no landlock" not in line
        if os.geteuid() == 0:
            assert "uid " in line


def test_a_loop_a_fork_loop_or_a_memory_bomb_costs_only_its_own_student(course, totals):
    assert totals["hog"] == TOTAL  # the kernel survived both
    for student in STUDENTS:
        if student != "looper":
            for name in ("RNN_Captioning.ipynb", "LSTM_Captioning.ipynb"):
                assert (course["root"] / "autograded" / student / ASSIGNMENT / name).exists()
    rnn = nbformat.read(
        course["root"] / "autograded" / "hog" / ASSIGNMENT / "RNN_Captioning.ipynb", 4
    )
    printed = "".join(o.get("text", "") for cell in rnn.cells[2:4] for o in cell.get("outputs", []))
    assert "forked 0" in printed and "stopped at" in printed
    # The loop cost its own notebook run (the kernel stopped at its CPU limit), no more.
    others = [student for student in STUDENTS if student != "looper"]
    assert all(totals[student] == TOTAL for student in others)


def test_an_untouched_submission_has_no_checksum_warning(course):
    warnings = re.findall(r"Attribute 'checksum' for cell (\w+) has changed", course["log"])
    assert warnings == []


def autograded(course, student, name):
    return nbformat.read(course["root"] / "autograded" / student / ASSIGNMENT / name, 4)


def outputs_text(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", []))


def test_cells_tagged_autograde_skip_never_run_and_say_why(course):
    folder = course["root"] / "autograded" / "zzz_victim" / ASSIGNMENT
    assert list(folder.glob("skipped_cell_ran_*")) == []
    for name in ("RNN_Captioning.ipynb", "LSTM_Captioning.ipynb"):
        nb = autograded(course, "zzz_victim", name)
        tagged = [c for c in nb.cells if SKIP_TAG in c.metadata.get("tags", [])]
        assert len(tagged) >= 4
        for cell in tagged:
            if cell.metadata.get("nbgrader", {}).get("grade"):
                # A tagged autograder cell: not run either, and still the engine's verdict.
                assert "points" in outputs_text(cell)
                continue
            assert [dict(o) for o in cell.outputs] == [
                {"output_type": "stream", "name": "stdout", "text": SKIPPED_NOTE}
            ]
            assert cell.execution_count is None


def test_untagged_cells_run_and_load_the_data_through_the_link(course):
    for name in ("RNN_Captioning.ipynb", "LSTM_Captioning.ipynb"):
        nb = autograded(course, "mmm_reference", name)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert [o for c in code for o in c.outputs if o.output_type == "error"] == []
        text = "".join(outputs_text(c) for c in code if SKIP_TAG not in c.metadata.get("tags", []))
        assert "Using the small synthetic COCO stand-in" in text
        assert "train_captions" in text  # the data cell printed the arrays it loaded
        assert text.count("PASS  ") >= 5 and "FAIL  " not in text


def test_the_autograded_folder_links_the_data_instead_of_copying_it(course):
    for student in ("mmm_reference", "zzz_victim", "hog"):
        folder = course["root"] / "autograded" / student / ASSIGNMENT
        link = folder / DATA
        assert link.is_symlink()
        assert os.readlink(link) == str((course["root"] / "source" / ASSIGNMENT / DATA).resolve())
        files = [f for _, _, names in os.walk(folder) for f in names]
        assert len(files) < 100, len(files)
    # The link the attacker's first kernel pointed at the solutions was removed when that
    # kernel ended: its second notebook found nothing there.
    relinked = course["root"] / "autograded" / "aaa_attacker" / ASSIGNMENT / "relinked.txt"
    assert relinked.read_text() == "FileNotFoundError"


def test_links_a_kernel_makes_are_removed_before_nbgrader_follows_them(course):
    folder = course["root"] / "autograded" / "aaa_attacker" / ASSIGNMENT
    links = [Path(top, n) for top, dirs, files in os.walk(folder) for n in dirs + files]
    assert [p for p in links if p.is_symlink()] == []
    assert "Removed the link" in course["log"] and "got.py" in course["log"]
    # nbgrader's set_permissions (chmod 444 of every file) never reached a solution file,
    # and generate_feedback copied no link into the feedback.
    before, after = course["solution_modes"]
    assert before and after == before
    feedback = course["root"] / "feedback" / "aaa_attacker" / ASSIGNMENT
    assert feedback.is_dir() and not (feedback / "got.py").exists()


def test_the_instructors_data_keeps_its_owner_and_mode_and_no_kernel_writes_it(course):
    before, after = course["data_modes"]
    assert len(before) > 1000 and after == before
    writes = json.loads(
        (
            course["root"] / "autograded" / "aaa_attacker" / ASSIGNMENT / "data_writes.json"
        ).read_text()
    )
    assert writes == {"coco2014_vocab.json": "PermissionError", "planted.txt": "PermissionError"}
