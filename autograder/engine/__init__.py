"""The engine: what judges a submission (parent side; it never imports student code).

locate the student files -> build each check group's job -> run it in a
confined child (``autograder.sandbox``) -> judge the outcome -> scores
from the rubric -> results (terminal text, Gradescope JSON, CSV)
"""

from .grade import (
    CheckResult,
    SandboxUnavailable,
    default_workers,
    grade_files,
    grade_submission,
    load_rubric,
    not_graded,
    preflight,
)

__all__ = [
    "CheckResult",
    "SandboxUnavailable",
    "default_workers",
    "grade_files",
    "grade_submission",
    "load_rubric",
    "not_graded",
    "preflight",
]
