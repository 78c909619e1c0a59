"""The pieces of `autograder gradescope-check` that need no OS root."""

import json
import subprocess
import sys

from autograder.tools import gradescope_check as check


def test_the_forger_aims_at_gradescope_s_results_file():
    assert repr(check.RESULTS) in check.forger_source("")


def test_the_forger_writes_a_results_json_of_full_marks_where_it_can(tmp_path):
    (tmp_path / "results").mkdir()
    forger = tmp_path / "captioning" / "rnn_layers.py"
    forger.parent.mkdir()
    targets = [tmp_path / "results" / "results.json"]
    forger.write_text(check.forger_source("x = 1\n", targets))
    subprocess.run([sys.executable, str(forger)], cwd=forger.parent, check=True)
    assert json.loads((tmp_path / "results" / "results.json").read_text())["score"] == 100


def test_a_score_other_than_the_real_grade_is_marked_wrong(tmp_path):
    uploads = check.uploads(tmp_path)
    assert [u.name for u in uploads] == ["reference", "stubs", "forger"]
    forger = uploads[2]
    rows = [check.Row(forger, 100.0, 1.0, "", ""), check.Row(forger, 0.0, 1.0, "", "")]
    assert [row.ok for row in rows] == [False, True]
    lines = check.table(rows).splitlines()
    assert "WRONG" in lines[2] and "| ok |" in lines[3]
    assert not check.Row(forger, None, 1.0, "", "").ok  # no results.json


def test_the_walls_line_is_found_in_a_run_s_output():
    text = "grader: /autograder/source\nautograder: student code runs with X, Y\nTotal: 0"
    assert check.walls_line(text) == "autograder: student code runs with X, Y"
