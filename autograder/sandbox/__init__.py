"""The sandbox: what runs student code, and nothing else.

``runner`` (parent side) prepares a job folder, starts ``child.py`` under the
walls of ``confine`` with the imports of ``runtime`` (forked by the zygote,
``zygote.py`` and ``forking``, that has imported numpy once; spawned where
forking is impossible), and collects plain arrays once the child is dead; ``jobs`` is the protocol between the two. The
child knows nothing of expected values, tolerances or the rubric.
"""

from . import jobs
from .jobs import Job, Limits, Outcome
from .runner import (
    Walls,
    candidate_walls,
    default_walls,
    leftover_processes,
    run_job,
    use_walls,
)

__all__ = [
    "jobs",
    "Job",
    "Limits",
    "Outcome",
    "Walls",
    "candidate_walls",
    "default_walls",
    "leftover_processes",
    "run_job",
    "use_walls",
]
