"""Benchmarks of the assignment, printed as one table (`make bench`).

    python benchmarks/run.py                      # everything
    python benchmarks/run.py --quick              # fewer sizes and repeats
    python benchmarks/run.py --only train,sample  # a subset
    python benchmarks/run.py --threads 1,2        # numpy and torch at 1, then 2 threads

Every figure is a median over repeats, and every comparison is measured side
by side in the same run (the two sides interleaved), because the machines
are shared and noisy: read the ratios, not the absolute times.

Sections:
- train:   one training iteration (CaptioningRNN.loss, forward and backward)
           of the reference against the same model in PyTorch on the CPU,
           and its matmul FLOP rate against a big np.matmul of the same dtype
- sample:  CaptioningRNN.sample for 1000 images against PyTorch
- cpu:     CPU-seconds of grading one correct submission, before (--cpu-before REV)
           and after, the zygote on and off, interleaved
- grade:   the autograder CLI on one submission and on a batch, 1 and 2 workers
- nbgrader: `nbgrader autograde` of one submission
- class:   a class through plain `nbgrader autograde` and through
           `autograder nbgrader-autograde` with 2 and 1 workers
- shards:  `autograder grade` of a class in K shards + merge against one run
- data:    load_coco_data time and peak memory on the full-size stand-in
- report:  `autograder report` of a synthetic class of 300 submissions
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import bench_class
import bench_cpu
import bench_data
import bench_grading
import bench_model
import bench_report
from bench_common import SOLUTIONS, Row, blas_info, blas_threads, machine, skipped, use_package

SECTIONS = ("train", "sample", "cpu", "grade", "nbgrader", "class", "shards", "data", "report")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    p.add_argument("--quick", action="store_true", help="fewer cases and repeats")
    p.add_argument("--repeats", type=int, help="repeats per figure (default 7, quick 3)")
    p.add_argument(
        "--threads",
        help="comma-separated thread counts for numpy's BLAS and torch "
        "(default: 1 and the count numpy's BLAS uses, when threadpoolctl can set it)",
    )
    p.add_argument("--cells", default="lstm,rnn")
    p.add_argument("--sizes", help="batch sizes of the training iteration (default 25,100)")
    p.add_argument("--dtypes", help="default float32,float64")
    p.add_argument(
        "--package",
        type=Path,
        default=SOLUTIONS,
        help="assignment folder whose captioning package is measured (default: solutions/)",
    )
    p.add_argument("--data-dir", type=Path, help="where the full-size stand-in is (or goes)")
    p.add_argument("--students", type=int, help="class size of class/shards (default 20)")
    p.add_argument(
        "--before",
        help="git revision whose plain `nbgrader autograde` the class section also measures",
    )
    p.add_argument(
        "--cpu-before",
        default=bench_cpu.BEFORE,
        help="git revision the cpu section compares with (empty: none)",
    )
    p.add_argument("--markdown", action="store_true", help="print the table as markdown")
    args = p.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.only) - set(SECTIONS)
    if unknown:
        p.error(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")
    return args


def table(rows: list[Row], markdown: bool) -> str:
    header = ("section", "case", "ours", "compared with", "ratio", "note")
    cells = [header] + [(r.section, r.case, r.ours, r.baseline, r.ratio, r.note) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(c) + " |" for c in cells]
        lines.insert(1, "|" + "|".join(" --- " for _ in header) + "|")
        return "\n".join(lines)
    widths = [max(len(c[i]) for c in cells) for i in range(len(header) - 1)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row[:-1], widths)) + "  " + row[-1] for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 4)
    return "\n".join(lines)


def parse_ints(text):
    return [int(n) for n in text.split(",")]


def default_threads():
    """1 and numpy's default thread count: on a shared machine both tell something."""
    if not blas_info():
        return [blas_threads()]
    return sorted({1, blas_threads()})


def guarded(section, fn):
    """The rows of one section, or one row saying why it failed: the table still prints."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001
        return [skipped(section, "all", f"FAILED: {type(exc).__name__}: {exc}")]


def main(argv=None):
    args = parse_args(argv)
    quick = args.quick
    captioning = use_package(args.package)
    threads = default_threads() if args.threads is None else parse_ints(args.threads)
    repeats = args.repeats or (3 if quick else 7)
    cells = args.cells.split(",")
    sizes = parse_ints(args.sizes or ("100" if quick else "25,100"))
    dtypes = (args.dtypes or ("float32" if quick else "float32,float64")).split(",")

    sections = {
        "train": lambda: bench_model.iteration_rows(cells, sizes, dtypes, threads, repeats),
        "sample": lambda: bench_model.sample_rows(cells, 1000, threads, repeats),
        "cpu": lambda: bench_cpu.cpu_rows(args.package, args.cpu_before, 3 if quick else 5),
        "grade": lambda: bench_grading.cli_rows(
            args.package, 6 if quick else 20, 1 if quick else 3
        ),
        "nbgrader": lambda: bench_grading.nbgrader_rows(args.package, 1),
        "class": lambda: bench_class.class_rows(
            args.package, args.students or (4 if quick else 20), args.before
        ),
        "shards": lambda: bench_class.shard_rows(
            args.package,
            args.students or (8 if quick else 20),
            4,
            args.repeats or (1 if quick else 3),
        ),
        "data": lambda: bench_data.data_rows(args.package, args.data_dir, 1 if quick else 3),
        "report": lambda: bench_report.report_rows(100 if quick else 300),
    }
    start, load_before = time.perf_counter(), os.getloadavg()
    rows: list[Row] = []
    for name in SECTIONS:
        if name in args.only:
            print(f"[{time.perf_counter() - start:4.0f} s] {name} ...", file=sys.stderr, flush=True)
            rows += guarded(name, sections[name])

    lines = [f"captioning package: {Path(captioning.__file__).parent}"]
    lines += [f"{key}: {value}" for key, value in machine().items()]
    load = f"{load_before[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end"
    lines.append(f"load average (1 min): {load}, on {os.cpu_count()} cores")
    lines.append(f"repeats: {repeats} (medians); total time {time.perf_counter() - start:.0f} s")
    print("\n".join(lines) + "\n\n" + table(rows, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
