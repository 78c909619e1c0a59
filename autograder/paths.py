"""Where the engine finds its trusted material.

Everything is found relative to the course root: the repository in a
checkout, the bundle directory on Gradescope. ``AUTOGRADER_COURSE_ROOT``
overrides it.
"""

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ASSIGNMENT = "rnn_captioning"
STUDENT_FILES = ("rnn_layers.py", "rnn.py")  # the two files with TODO blocks


def course_root() -> Path:
    return Path(os.environ.get("AUTOGRADER_COURSE_ROOT") or PACKAGE.parent)


def provided_dir() -> Path:
    """The assignment's provided modules, copied into every sandbox."""
    return course_root() / "source" / ASSIGNMENT / "captioning"


def reference_dir() -> Path:
    """The reference solution (markers removed), imported by the parent only."""
    return course_root() / "solutions" / ASSIGNMENT / "captioning"


def release_dir() -> Path:
    """The blank stubs the students start from."""
    return course_root() / "release" / ASSIGNMENT / "captioning"


def synthetic_data_dir() -> Path:
    """The synthetic COCO stand-in the training checks learn from (AUTOGRADER_DATA_DIR
    overrides it)."""
    override = os.environ.get("AUTOGRADER_DATA_DIR")
    return (
        Path(override)
        if override
        else course_root() / "source" / ASSIGNMENT / "datasets" / "synthetic_coco"
    )


EXPECTED_DIR = PACKAGE / "engine" / "expected"
RUBRIC = PACKAGE / "engine" / "rubric.json"
THRESHOLDS = PACKAGE / "engine" / "checks" / "thresholds.md"  # and thresholds.json beside it
