"""The one call of the notebooks' hidden-test cells: ``check("<cell id>")``.

This module is imported by the student's kernel, so it is kept light and it
decides nothing that counts:

- under ``nbgrader autograde`` with the course's ``nbgrader_config.py``, the
  score of every autograder cell comes from ``autograder.frontends.nbgrader.plugin``,
  which runs the engine outside the kernel and replaces the cell's output;
  ``check`` only says so;
- under ``nbgrader autograde`` without that plugin, ``check`` refuses (the
  cell scores 0), since a score computed in the kernel could be forged;
- anywhere else (an instructor running the source notebook), it grades the
  cell's checks from here as a preview: it prints the feedback and raises
  ``AssertionError`` when points are lost.
"""

import os

# Set by the plugin in the grading process before it starts any kernel.
TRUSTED_ENV = "RNN_CAPTIONING_TRUSTED_GRADING"


def checks_of_cell(rubric, cell):
    """The rubric entries graded in one autograder cell, in rubric order."""
    return [entry for entry in rubric if entry.get("cell", entry["name"]) == cell]


def feedback_text(cell, results):
    """What a student reads in an autograder cell: the score, then one line per check."""
    score = sum(r.score for r in results)
    max_score = sum(r.max_score for r in results)
    lines = [f"{cell}: {score:g} of {max_score:g} points"]
    for r in results:
        mark = "PASS" if r.status == "passed" else "FAIL"
        line = f"{mark}  {r.name} ({r.score:g}/{r.max_score:g})"
        if r.visibility != "hidden" and r.output:
            line += f": {r.output}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def check(cell):
    """Grade one autograder cell (see the module docstring for where and how)."""
    if os.environ.get(TRUSTED_ENV) == "1":
        print(
            f"{cell}: graded by the trusted engine outside this kernel; "
            "its verdict replaces this output."
        )
        return
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        raise RuntimeError(
            "nbgrader autograde is running without the trusted-grading preprocessors of "
            "nbgrader_config.py (autograder.frontends.nbgrader.plugin): this cell is not graded."
        )
    from ...engine import grade_submission, load_rubric

    names = [entry["name"] for entry in checks_of_cell(load_rubric(), cell)]
    if not names:
        raise ValueError(f"the rubric has no checks for the cell {cell!r}")
    results = grade_submission(os.getcwd(), checks=names)
    print(feedback_text(cell, results), end="")
    lost = sum(r.max_score - r.score for r in results)
    if lost:
        raise AssertionError(f"{cell}: {lost:g} points lost")
