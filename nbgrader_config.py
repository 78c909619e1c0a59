"""nbgrader configuration of the course: the repository root is the course directory.

Run every nbgrader command from the repository root with the project's
environment (``.venv/bin/nbgrader ...``, ``.venv/bin/python -m nbgrader ...``
or after ``source .venv/bin/activate``): autograding needs the ``autograder``
package installed there. See docs/nbgrader.md for the workflow and the
reasons behind each setting.
"""

import os
import sys

c = get_config()  # noqa: F821 (nbgrader provides get_config)

# nbgrader stamps a new gradebook.db by running the `alembic` executable it
# finds on PATH, and fails when the environment is not activated: use the
# one installed next to this Python.
os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])

# Importing the plugin also makes nbgrader's ignore-pattern check linear
# (nbgrader lists a whole directory for every file it copies: with the 750
# images of the synthetic data that costs about 20 s per student and per
# command). Guarded: when a config file raises, nbgrader logs it and runs
# without any of the settings below.
try:
    import autograder.frontends.nbgrader.plugin  # noqa: F401
except Exception as exc:  # noqa: BLE001
    print(f"nbgrader_config.py: autograder.frontends.nbgrader.plugin: {exc!r}", file=sys.stderr)

# The files students edit and submit. autograde copies every non-notebook file
# of source/<assignment>/ over the submission unless it is listed here, which
# would grade every student on the instructor's solution. autograder.paths has
# no dependencies: found beside this file, it imports wherever nbgrader runs.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from autograder.paths import ASSIGNMENT, STUDENT_FILES  # noqa: E402

STUDENT_FILES = [f"captioning/{name}" for name in STUDENT_FILES]

c.CourseDirectory.course_id = "rnn-captioning"

# Never copy caches, checkpoints or the real COCO data (about 1 GB, fetched
# into datasets/coco_captioning/) into release/, submitted/ or autograded/.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    ".pytest_cache",
    "coco_captioning",
]

c.Autograde.exclude_overwriting = {ASSIGNMENT: STUDENT_FILES}

# A grade cell whose output has anything on stderr scores 0 in nbgrader, and a
# numpy RuntimeWarning or a warnings.warn() is on stderr: drop those outputs.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"Warning"

# A deleted autograder cell is put back (and graded) instead of missing.
c.OverwriteCells.add_missing_cells = True

# nbgrader records a locked cell's checksum before it removes the hidden tests,
# so every released autograder cell "has changed" at autograde: RestoreHiddenTests
# is OverwriteCells without that false alarm (a real edit is still reported).
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "autograder.frontends.nbgrader.plugin.RestoreHiddenTests",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Seconds per cell. The config wins over a command-line
# --ExecutePreprocessor.timeout; the training cells are not run under the
# autograder (tag autograde-skip) and, untagged, are cut short (the notebooks
# check NBGRADER_EXECUTION), so this is a guard.
c.Execute.timeout = 300

# The score of every autograder cell comes from the trusted grading engine run
# on the submitted .py files, never from what the student's kernel printed:
# StartTrustedGrading grades every student with the engine before the first
# kernel runs; ConfinedExecute runs each notebook in a confined kernel
# (autograder/frontends/nbgrader/kernel.py); and
# ApplyTrustedGrades replaces the outputs of the grade cells by the engine's
# verdicts just before nbgrader's SaveAutoGrades reads them. Named as strings:
# they are imported when autograde starts, and a missing plugin is an error
# there (a failed import at the top of this file would only be logged).
c.Autograde.autograde_preprocessors = [
    "autograder.frontends.nbgrader.plugin.StartTrustedGrading",
    "autograder.frontends.nbgrader.kernel.ConfinedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "autograder.frontends.nbgrader.plugin.ApplyTrustedGrades",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
