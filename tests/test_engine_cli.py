"""The `autograder` command: one submission, a folder of them, the Gradescope bundle."""

import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from autograder import paths
from autograder.frontends.gradescope.bundle import make_bundle
from autograder.paths import STUDENT_FILES

ROOT = Path(__file__).resolve().parent.parent
TEST_KEYS = {"name", "score", "max_score", "status", "output", "visibility"}


def autograder(*args, cwd=None, env=None):
    return subprocess.run(
        [sys.executable, "-m", "autograder", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
        timeout=600,
    )


def submission(folder, origin):
    dest = folder / "captioning"
    dest.mkdir(parents=True)
    for name in STUDENT_FILES:
        shutil.copy(origin / name, dest / name)
    return folder


def check_gradescope_schema(payload, score):
    assert payload["score"] == score
    assert payload["max_score"] == 100
    assert isinstance(payload["execution_time"], float | int)
    assert isinstance(payload["output"], str)
    seed = payload["extra_data"]["seed"]
    assert isinstance(seed, int) and f"grade seed {seed}" in payload["output"]
    assert len(payload["tests"]) == 19
    for test in payload["tests"]:
        assert set(test) == TEST_KEYS
        assert test["status"] in ("passed", "failed")


def test_grading_one_submission_prints_a_report_and_writes_gradescope_json(tmp_path):
    sub = submission(tmp_path / "stubs", paths.release_dir())
    result = autograder("grade", sub, "--json", tmp_path / "out.json", "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert "FAIL  rnn_step_forward" in result.stdout
    assert "not implemented yet" in result.stdout
    assert "Total: 0 / 100" in result.stdout
    check_gradescope_schema(json.loads((tmp_path / "out.json").read_text()), 0)


def test_grading_a_folder_writes_a_csv_and_one_json_per_student(tmp_path):
    folder = tmp_path / "submissions"
    submission(folder / "stubs_a", paths.release_dir())
    with zipfile.ZipFile(folder / "stubs_c.zip", "w") as z:
        for name in STUDENT_FILES:
            z.write(paths.release_dir() / name, f"captioning/{name}")
    (folder / "empty").mkdir()
    out = tmp_path / "out"
    result = autograder("grade", folder, "--out-dir", out, "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert "3/3" in result.stderr  # the progress bar
    with open(out / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["student"] for r in rows] == ["empty", "stubs_a", "stubs_c"]
    assert list(rows[0])[:3] == ["student", "score", "rnn_step_forward"]
    assert len(rows[0]) == 2 + 19 + 1
    assert all(row["seed"].isdigit() for row in rows)
    for name in ("empty", "stubs_a", "stubs_c"):
        check_gradescope_schema(json.loads((out / f"{name}.json").read_text()), 0)
    empty = json.loads((out / "empty.json").read_text())
    assert "No rnn_layers.py" in empty["tests"][0]["output"]


def test_a_missing_path_is_an_error_of_the_grader(tmp_path):
    result = autograder("grade", tmp_path / "nothing")
    assert result.returncode != 0


def test_the_gradescope_bundle_grades_a_simulated_autograder_root(tmp_path):
    bundle = make_bundle(tmp_path / "autograder.zip")
    root = tmp_path / "root"
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
        z.extractall(root / "source")
    assert {"setup.sh", "run_autograder", "requirements.txt"} <= set(names)
    assert not any(
        n.startswith("source/") and n.endswith(("/rnn_layers.py", "/rnn.py")) for n in names
    )
    submission(root / "submission", paths.reference_dir())
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOGRADER_")}
    env.update(AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable)
    result = subprocess.run(
        ["bash", str(root / "source" / "run_autograder")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert f"grader: {root / 'source' / 'autograder'}" in result.stdout
    payload = json.loads((root / "results" / "results.json").read_text())
    failed = {t["name"]: t["output"] for t in payload["tests"] if t["status"] != "passed"}
    assert failed == {}
    check_gradescope_schema(payload, 100)
