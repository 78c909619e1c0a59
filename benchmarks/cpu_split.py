"""Where the CPU-seconds of grading one submission go: the grader, each child, the zygote.

    .venv/bin/python benchmarks/cpu_split.py [SUBMISSION] [--repeats 3]

Grades SUBMISSION (default: the reference in solutions/) in this process with
2 workers, as `autograder grade` does, and splits the CPU time (user + system)
into the grader itself, the training children, the other children (one per
check group), the canaries and the zygote (read when it is reaped, after
grading). With AUTOGRADER_NO_ZYGOTE=1 every child is spawned and the zygote
line is 0.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import paths  # noqa: E402
from autograder.engine import grade  # noqa: E402
from autograder.sandbox import forking  # noqa: E402


def cpu(who):
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def split_once(submission: Path, seed: int) -> dict:
    jobs = []
    run_job = grade.run_job

    def counted(job, *args, **kwargs):
        outcome = run_job(job, *args, **kwargs)
        jobs.append((job.steps[0].op["op"], job.steps[0].name, outcome.cpu_seconds))
        return outcome

    grade.run_job = counted
    try:
        results = grade.grade_submission(submission, workers=2, seed=seed)
    finally:
        grade.run_job = run_job
    children = cpu(resource.RUSAGE_CHILDREN)
    for zygote in list(forking._started):
        zygote.close()
    zygote = cpu(resource.RUSAGE_CHILDREN) - children
    training = sum(c for op, _, c in jobs if op == "model" and _ == "init")
    canary = sum(c for op, _, c in jobs if op == "import")
    others = sum(c for _, _, c in jobs) - training - canary
    return {
        "score": sum(r.score for r in results),
        "grader": cpu(resource.RUSAGE_SELF),
        "training children": training,
        "other children": others,
        "canaries": canary + children - sum(c for _, _, c in jobs),
        "zygote": zygote,
        "jobs": len(jobs),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("submission", nargs="?", type=Path)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        submission = args.submission
        if submission is None:
            submission = Path(tmp) / "student"
            submission.mkdir()
            for name in paths.STUDENT_FILES:
                (submission / name).write_bytes((paths.reference_dir() / name).read_bytes())
        if args.repeats > 1:  # every repeat in a fresh process: start-up costs included
            import subprocess

            rows = []
            for _ in range(args.repeats):
                proc = subprocess.run(
                    [sys.executable, __file__, str(submission), "--repeats", "1"]
                    + ["--seed", str(args.seed)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                rows.append(eval(proc.stdout.strip().splitlines()[-1]))  # noqa: S307 - our own
            keys = [k for k in rows[0] if k not in ("score", "jobs")]
            print(
                f"median of {args.repeats}, load {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
                f"cores, score {rows[0]['score']:g}, {rows[0]['jobs']} jobs"
            )
            for key in keys:
                print(f"  {key:18s} {statistics.median(r[key] for r in rows):5.2f} CPU-s")
            total = statistics.median(sum(r[k] for k in keys) for r in rows)
            print(f"  {'total':18s} {total:5.2f} CPU-s")
        else:
            print(repr(split_once(submission, args.seed)))


if __name__ == "__main__":
    main()
