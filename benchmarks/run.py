"""Benchmarks of the assignment, printed as one table (SPEC §7, `make bench`).

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
- grade:   the autograder CLI on one submission and on a batch, 1 and 2 workers
- nbgrader: `nbgrader autograde` of one submission
- data:    load_coco_data time and peak memory on the full-size stand-in
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench_common import SOLUTIONS, Row, machine, use_package

SECTIONS = ("train", "sample", "grade", "nbgrader", "data")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    p.add_argument("--quick", action="store_true", help="fewer cases and repeats")
    p.add_argument("--repeats", type=int, help="repeats per figure (default 7, quick 3)")
    p.add_argument(
        "--threads",
        help="comma-separated thread counts for numpy's BLAS and torch "
        "(default: the count numpy's BLAS uses)",
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


def main(argv=None):
    args = parse_args(argv)
    from bench_common import blas_threads

    captioning = use_package(args.package)
    thread_counts = [int(n) for n in args.threads.split(",")] if args.threads else [blas_threads()]
    repeats = args.repeats or (3 if args.quick else 7)
    cells = args.cells.split(",")
    sizes = (
        [int(n) for n in args.sizes.split(",")]
        if args.sizes
        else ([100] if args.quick else [25, 100])
    )
    dtypes = (
        args.dtypes.split(",")
        if args.dtypes
        else (["float32"] if args.quick else ["float32", "float64"])
    )

    start = time.perf_counter()
    rows: list[Row] = []
    if "train" in args.only:
        from bench_model import iteration_rows

        rows += iteration_rows(captioning, cells, sizes, dtypes, thread_counts, repeats)
    if "sample" in args.only:
        from bench_model import sample_rows

        rows += sample_rows(captioning, cells, 1000, thread_counts, repeats)

    print(f"captioning package: {Path(captioning.__file__).parent}")
    for key, value in machine().items():
        print(f"{key}: {value}")
    print(f"repeats: {repeats} (medians); total time {time.perf_counter() - start:.0f} s\n")
    print(table(rows, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
