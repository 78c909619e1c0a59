"""`autograder report` on a test class: the reference, mutants, the blank stubs,
independently written correct solutions, near-copies of two of them, a syntax
error and a missing file. The grades are a real `autograder grade` run of that
class (tests/fixtures/class_report_grades)."""

import csv
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from autograder.frontends import cli
from autograder.tools.class_report import build, grades, stats

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
GRADES = FIXTURES / "class_report_grades"
sys.path.insert(0, str(FIXTURES))
import class_report_solutions as solutions  # noqa: E402


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    solutions.make_class(folder, ROOT)
    return folder


@pytest.fixture(scope="module")
def report(klass, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    class_grades = grades.load_results([GRADES], [klass])
    return build.build(class_grades, out, progress=False), class_grades


def scores_of(result):
    return {frozenset((p.a.code.name, p.b.code.name)): p.score for p in result.pairs}


def test_near_copies_rank_above_every_pair_of_independent_solutions(report):
    result, _ = report
    score = scores_of(result)
    independent = [
        score[frozenset((a, b))]
        for i, a in enumerate(solutions.INDEPENDENT)
        for b in solutions.INDEPENDENT[i + 1 :]
    ]
    copies = [score[frozenset((c, base))] for c, (base, _) in solutions.NEAR_COPIES.items()]
    print(f"independent pairs: max {max(independent):.3f}; near-copies: min {min(copies):.3f}")
    assert min(copies) > max(independent)
    assert min(copies) >= result.threshold > max(independent)


def test_near_copies_are_really_disguised(klass):
    base = (klass / "loopy" / "captioning" / "rnn_layers.py").read_text()
    copy = (klass / "loopy_copy_1" / "captioning" / "rnn_layers.py").read_text()
    order = lambda text: re.findall(r"^def (\w+)", text, re.M)  # noqa: E731
    assert order(base) != order(copy) and sorted(order(base)) == sorted(order(copy))
    assert "memos_" in copy or "_val" in copy
    assert copy != base


def test_histogram_and_pass_rates_match_the_grades(report):
    _, class_grades = report
    with open(GRADES / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(s.name for s in class_grades.graded) == sorted(r["student"] for r in rows)
    values = sorted(float(r["score"]) for r in rows)
    summary = stats.scores(class_grades)
    assert summary.count == len(values)
    assert summary.zeros == sum(v == 0 for v in values)
    assert summary.full == sum(v == 100 for v in values)
    assert summary.median == pytest.approx(sorted(values)[len(values) // 2 - 1 : len(values) // 2 + 1][0] / 2 + sorted(values)[len(values) // 2] / 2)  # fmt: skip
    points = grades.rubric_checks()
    for check in stats.checks(class_grades):
        passed = sum(float(r[check.name]) >= points[check.name] for r in rows)
        assert (check.passed, check.graded) == (passed, len(rows)), check.name
    rates = [c.rate for c in stats.checks(class_grades)]
    assert rates == sorted(rates)  # hardest first


def test_common_mistakes_count_the_same_mistake_together():
    a = "rnn_backward is not correct. On hidden inputs with (N, T, D, H) = (3, 4, 6, 5): dx is wrong: relative error 2.6e-01.\nHint: carry dprev_h."
    b = "rnn_backward is not correct. On hidden inputs with (N, T, D, H) = (2, 7, 3, 9): dx is wrong: relative error 1.1e-02.\nHint: carry dprev_h."
    c = "rnn_backward is not correct. On hidden inputs with (N, T, D, H) = (2, 7, 3, 9): dx is wrong: relative error 1.1e-02.\nHint: something else."
    assert stats.normalise(a) == stats.normalise(b) != stats.normalise(c)
    assert "2.6e-01" not in stats.normalise(a)


def test_the_page_has_every_section_and_no_external_url(report):
    result, _ = report
    html = result.html.read_text()
    for section in (
        "id='scores'",
        "id='checks'",
        "id='similarity'",
        "a lead to look at, not a verdict",
    ):
        assert section in html
    assert not re.search(r"(?:src|href)\s*=\s*['\"]?(?:https?:)?//", html)
    assert "http://" not in html and "https://" not in html
    assert "data:image/png;base64," in html
    for name in ("scores.png", "checks.png", "similarity.png"):
        assert (result.html.parent / name).stat().st_size > 1000
    assert "<mark>" in html  # matching regions highlighted


def test_student_code_and_feedback_are_escaped_on_the_page(klass, tmp_path):
    """A <script> in a student's file or in a check's feedback is shown, never run."""
    code_script = "<script>window.code_payload()</script>"
    feedback_script = "<script>window.feedback_payload()</script>"
    results = tmp_path / "results"
    shutil.copytree(GRADES, results)
    mutant = results / "mutant_rnn_step_forward_no_bias.json"
    data = json.loads(mutant.read_text())
    data["tests"][0]["output"] += f"\n{feedback_script}"
    mutant.write_text(json.dumps(data))
    submissions = tmp_path / "class"
    for name in ("loopy", "loopy_copy_1"):  # a listed pair: its code is shown side by side
        shutil.copytree(klass / name, submissions / name)
    layers = submissions / "loopy_copy_1" / "captioning" / "rnn_layers.py"
    layers.write_text(layers.read_text() + f"\n# </pre>{code_script}\n")
    result = build.build(
        grades.load_results([results], [submissions]), tmp_path / "out", progress=False
    )
    html = result.html.read_text()
    assert any(
        name == "loopy_copy_1" for p in result.listed for name in (p.a.code.name, p.b.code.name)
    )
    assert "<script" not in html
    for script in (code_script, feedback_script):
        assert script.replace("<", "&lt;").replace(">", "&gt;") in html


def test_broken_submissions_appear_in_the_report(report):
    result, _ = report
    html = result.html.read_text()
    section = html[html.index("Submissions with problems") :]
    assert "syntax_error" in section and "syntax error on line" in section
    assert "missing_rnn_py" in section and "No rnn.py" in section
    assert "blank_stubs" in html[html.index("Not compared") :]


def test_against_lists_known_solutions(report, klass, tmp_path):
    _, class_grades = report
    result = build.build(
        class_grades, tmp_path, against=[klass / "loopy" / "captioning"], progress=False
    )
    known = [p for p in result.listed if p.a.code.known or p.b.code.known]
    names = {n for p in known for n in (p.a.code.name, p.b.code.name)}
    assert {"loopy", "loopy_copy_1", "known:captioning"} <= names
    assert "Submissions alike a known solution" in result.html.read_text()


def test_shards_and_unknown_keys_are_read(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    for i, path in enumerate(sorted(GRADES.glob("*.json"))):
        data = json.loads(path.read_text())
        data["seed"] = 1234  # a key another engineer is adding
        ((one, two)[i % 2] / path.name).write_text(json.dumps(data))
    with open(one / "grades.csv", "w") as f:
        f.write("student,score,seed,rnn_step_forward\nonly_in_csv,5,7,5\n")
    class_grades = grades.load_results([one, two])
    names = {s.name for s in class_grades.students}
    assert len(names) == len(list(GRADES.glob("*.json"))) + 1 and "only_in_csv" in names


def test_nbgrader_course(tmp_path, klass, monkeypatch):
    from nbgrader.api import Gradebook

    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{__import__('os').environ['PATH']}")

    cells = grades.rubric_cells()
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        gb.add_assignment("rnn_captioning", duedate="2030-01-01 12:00:00")
        gb.add_notebook("RNN_Captioning", "rnn_captioning")
        for cell, points in cells.items():
            gb.add_grade_cell(
                cell, "RNN_Captioning", "rnn_captioning", max_score=points, cell_type="code"
            )
        for student in ("ann", "bob", "cid"):
            gb.add_student(student)
        gb.add_submission("rnn_captioning", "ann", timestamp="2030-01-01 11:00:00")
        gb.add_submission("rnn_captioning", "bob", timestamp="2030-01-02 13:00:00")
        for cell, points in cells.items():
            gb.find_grade(cell, "RNN_Captioning", "rnn_captioning", "ann").auto_score = points
            gb.find_grade(cell, "RNN_Captioning", "rnn_captioning", "bob").auto_score = 0
        gb.db.commit()
    for student, source in (("ann", "reference"), ("bob", "syntax_error")):
        dest = tmp_path / "submitted" / student / "rnn_captioning"
        dest.parent.mkdir(parents=True)
        (dest).symlink_to(klass / source)
    class_grades = grades.load_nbgrader(tmp_path)
    by_name = {s.name: s for s in class_grades.students}
    assert by_name["ann"].score == 100 and not by_name["ann"].late
    assert by_name["bob"].score == 0 and by_name["bob"].late
    assert by_name["bob"].seconds_late == pytest.approx(25 * 3600)
    assert by_name["cid"].missing
    result = build.build(class_grades, tmp_path / "out", progress=False)
    html = result.html.read_text()
    assert "Late submissions" in html and "No submission" in html and "cid" in html


def test_cli_writes_the_report(klass, tmp_path, capsys):
    code = cli.main(
        ["report", str(GRADES), "--submissions", str(klass), "--out", str(tmp_path), "--quiet"]
    )
    out = capsys.readouterr().out
    assert code == 0 and f"report: {tmp_path / 'class_report.html'}" in out
    assert (tmp_path / "class_report.html").exists()


def test_a_retried_training_check_counts_as_its_last_run():
    one = "After 60 iterations of Adam on 50 captions, the training loss is 0.9; it must be below 0.5."
    retried = "\n".join(f"Run {k} of at most 3: " + one.replace("0.9", f"0.{k}") for k in (1, 2, 3))
    assert stats.normalise(retried) == stats.normalise(one)
    assert "Run" not in stats.normalise(retried)
