"""Every grade records its seed, and grading again with that seed repeats every verdict;
a training check runs again with fresh draws only after a run that missed its threshold."""

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from autograder import paths
from autograder.engine import grade as engine
from autograder.engine.checks import training
from autograder.paths import STUDENT_FILES
from autograder.tools import mutants

ROOT = Path(__file__).resolve().parent.parent
BUG = "rnn_backward_no_carried_dh"  # fails checks whose feedback quotes random-input errors


def write_submission(folder, files):
    dest = folder / "captioning"
    dest.mkdir(parents=True)
    for name, data in files.items():
        (dest / name).write_bytes(data)
    return folder


@pytest.fixture(scope="module")
def buggy(tmp_path_factory):
    reference = {n: (paths.reference_dir() / n).read_bytes() for n in STUDENT_FILES}
    bug = next(m for m in mutants.MUTANTS if m.name == BUG)
    return write_submission(tmp_path_factory.mktemp("buggy"), mutants.apply(bug, reference))


@pytest.fixture(scope="module")
def correct(tmp_path_factory):
    files = {n: (paths.reference_dir() / n).read_bytes() for n in STUDENT_FILES}
    return write_submission(tmp_path_factory.mktemp("correct"), files)


def grade_json(path, out, *args):
    result = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(path), "--json", str(out), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text())


def verdicts(payload):
    return [(t["name"], t["score"], t["output"]) for t in payload["tests"]]


def test_the_recorded_seed_repeats_every_verdict(buggy, tmp_path):
    first = grade_json(buggy, tmp_path / "first.json", "--workers", "2")
    seed = first["extra_data"]["seed"]
    again = grade_json(buggy, tmp_path / "again.json", "--seed", str(seed), "--workers", "1")
    assert again["extra_data"]["seed"] == seed
    assert verdicts(again) == verdicts(first)
    assert first["score"] < 100  # the feedback compared holds random-input errors
    other = grade_json(buggy, tmp_path / "other.json", "--seed", str(seed + 1))
    assert verdicts(other) != verdicts(first)


def test_a_checks_draws_do_not_depend_on_which_checks_are_graded(buggy):
    alone = engine.grade_submission(buggy, checks=["rnn_backward"], seed=7)
    everything = engine.grade_submission(buggy, seed=7, workers=2)
    assert alone[0].output == next(r.output for r in everything if r.name == "rnn_backward")
    assert alone[0].status == "failed" and alone[0].seed == 7


def test_training_feedback_names_the_seed(correct):
    (result,) = engine.grade_submission(correct, checks=["rnn_overfit"], seed=1234)
    assert result.status == "passed"
    assert "Grade seed 1234." in result.output
    assert "Run 1" not in result.output  # a passing run is not repeated


def test_a_missed_threshold_runs_again_with_fresh_draws(correct, monkeypatch):
    group = next(g for g in engine.GROUPS if g.name == "rnn_overfit")
    monkeypatch.setattr(group, "config", replace(group.config, loss_below=1e-12))
    (result,) = engine.grade_submission(correct, checks=["rnn_overfit"], seed=99)
    assert result.status == "failed"
    runs = re.findall(r"Run (\d) of at most (\d): .*?the training loss is ([0-9.]+)", result.output)
    assert [(r[0], r[1]) for r in runs] == [("1", "3"), ("2", "3"), ("3", "3")]
    assert len({r[2] for r in runs}) == 3  # independent draws, not one run three times
    assert result.output.count("Grade seed 99.") == 3


def test_a_run_that_crashed_is_not_repeated(tmp_path):
    stubs = {n: (paths.release_dir() / n).read_bytes() for n in STUDENT_FILES}
    (result,) = engine.grade_submission(
        write_submission(tmp_path / "stubs", stubs), checks=["lstm_overfit"], seed=3
    )
    assert result.status == "failed"
    assert "not implemented yet" in result.output and "Run 2" not in result.output


def test_every_training_check_allows_retries():
    for name, config in training.TRAINING.items():
        assert config.attempts >= 3, name
