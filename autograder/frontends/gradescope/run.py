"""What run_autograder runs: grade ROOT/submission, write ROOT/results/results.json.

Whatever happens, a results.json is written: if the grader itself fails, the
score is 0 and the output asks the student to tell the staff.
"""

from autograder.blas import one_thread_by_default

one_thread_by_default()  # before numpy is first imported

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root", type=Path, default=Path(os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    )
    parser.add_argument(
        "--workers", type=int, help="child processes at once (default: one per core)"
    )
    args = parser.parse_args(argv)
    results_dir = args.root / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        import autograder
        from autograder.engine import formats as report

        print(f"grader: {Path(autograder.__file__).parent}")
        from autograder.engine import default_workers, grade_submission

        workers = args.workers or default_workers()
        results = grade_submission(args.root / "submission", workers=workers)
        payload = report.gradescope(results, time.perf_counter() - start)
        print(report.text(results))
    except Exception:  # noqa: BLE001 - the student must get a results.json anyway
        traceback.print_exc()
        payload = {
            "score": 0,
            "execution_time": round(time.perf_counter() - start, 2),
            "output": "The autograder failed on its own. Please tell the course staff.",
            "tests": [],
        }
    with open(results_dir / "results.json", "w") as f:
        json.dump(payload, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
