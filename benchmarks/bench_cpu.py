"""CPU-seconds per graded correct submission: before (a git revision) and after, side by side.

One `autograder grade SUBMISSION --workers 2` of the reference, timed by the
CPU time (user + system) of the command and everything it waited for: the
grader, the zygote and every child (their usage reaches this process's
RUSAGE_CHILDREN once each is reaped, and the grader reaps them all before it
exits). The sides run in turn at every repeat, so a noisy neighbour falls on
all of them alike:

- before: the project at `before` (exported with git archive), run with this
  environment's Python;
- spawned: this tree with AUTOGRADER_NO_ZYGOTE=1 (every child spawned, as
  before the zygote), which separates the zygote's share from the rest;
- after: this tree as it is.

The load average is read before every run; wall times are noise on a shared
machine, CPU-seconds much less so.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

from bench_class import export
from bench_common import ROOT, Row, run, tail
from bench_grading import make_submission

TARGET = 2.5
BEFORE = "8ee200b"  # main before the zygote (issue 20)
SEED = 7


def graded_cpu(project: Path, submission: Path, env: dict) -> tuple[float, float, str]:
    """(CPU-seconds, load average before, total) of one `autograder grade` of `submission`
    with the code of `project`."""
    load = os.getloadavg()[0]
    cmd = [sys.executable, "-m", "autograder", "grade", str(submission)]
    cmd += ["--workers", "2", "--seed", str(SEED)]
    _, proc = run(cmd, cwd=project, env=env, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"autograder grade failed in {project}: {tail(proc.stderr)}")
    total = next((line for line in proc.stdout.splitlines() if line.startswith("Total:")), "?")
    return proc.cpu_seconds, load, total


def cpu_rows(package: Path, before: str | None, repeats: int):
    """Rows: median CPU-seconds of each side, its range and the load it ran at."""
    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as tmp:
        tmp = Path(tmp)
        submission = tmp / "student"
        make_submission(package, submission)
        sides = {}
        if before:
            sides[f"before ({before})"] = (export(before, tmp / "before"), dict(os.environ))
        sides["spawned (AUTOGRADER_NO_ZYGOTE=1)"] = (
            ROOT,
            {**os.environ, "AUTOGRADER_NO_ZYGOTE": "1"},
        )
        sides["after"] = (ROOT, dict(os.environ))
        runs = {name: [] for name in sides}
        for _ in range(repeats):
            for name, (project, env) in sides.items():
                runs[name].append(graded_cpu(project, submission, env))
    first = statistics.median(cpu for cpu, _, _ in next(iter(runs.values())))
    rows = []
    for name, results in runs.items():
        cpus = [cpu for cpu, _, _ in results]
        loads = [load for _, load, _ in results]
        median = statistics.median(cpus)
        rows.append(
            Row(
                "cpu",
                f"1 correct submission, --workers 2: {name}",
                f"{median:.2f} CPU-s",
                f"target {TARGET:g}",
                f"{median / first:.2f}",
                f"median of {repeats} (range {min(cpus):.2f}-{max(cpus):.2f}); load "
                f"{min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores; "
                f"{results[-1][2]}; ratio to the first side",
            )
        )
    return rows
