"""The data benchmark: load_coco_data time and peak memory on the full-size stand-in.

Each load runs in a fresh subprocess, so its peak memory is its own:
ru_maxrss after the load less ru_maxrss after the imports, and tracemalloc's
peak (numpy and h5py allocations are traced) in a separate run, since tracing
costs time.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from bench_common import ROOT, Row, fmt_time, run, skipped, tail

MAKER = ROOT / "data_scripts" / "make_synthetic_coco.py"

CHILD = r"""
import json, resource, sys, time, tracemalloc
package, base_dir, max_train, trace = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
sys.path.insert(0, package)
from captioning.coco_utils import load_coco_data
max_train = None if max_train == "None" else int(max_train)
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if trace:
    tracemalloc.start()
start = time.perf_counter()
data = load_coco_data(base_dir, max_train=max_train, pca_features=False)
seconds = time.perf_counter() - start
peak = tracemalloc.get_traced_memory()[1] if trace else 0
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({
    "seconds": seconds, "traced_peak": peak, "rss_delta": (rss1 - rss0) * 1024,
    "train_rows": len(data["train_captions"]),
    "result_bytes": sum(getattr(v, "nbytes", 0) for v in data.values()),
}))
"""


def default_data_dir() -> Path:
    return Path(tempfile.gettempdir()) / "rnn_captioning_bench_full_size"


def ensure_full_size(data_dir: Path) -> str | None:
    """Write the full-size stand-in once (about 2.3 GB); None when it is there."""
    if (data_dir / ".complete").exists():
        return None
    if not MAKER.exists():
        return "not available yet: no data_scripts/make_synthetic_coco.py"
    _, proc = run([sys.executable, str(MAKER), "--help"], cwd=ROOT, timeout=120)
    if "--full-size" not in proc.stdout:
        return "not available yet: make_synthetic_coco.py has no --full-size"
    print(f"writing the full-size stand-in to {data_dir} (once) ...", file=sys.stderr)
    seconds, proc = run(
        [sys.executable, str(MAKER), "--full-size", "--out", str(data_dir)], cwd=ROOT
    )
    if proc.returncode != 0:
        return f"make_synthetic_coco.py --full-size failed: {tail(proc.stderr)}"
    (data_dir / ".complete").write_text(f"{seconds:.0f} s\n")
    return None


def load(package: Path, data_dir: Path, max_train, trace: bool) -> dict:
    cmd = [
        sys.executable,
        "-c",
        CHILD,
        str(package),
        str(data_dir),
        str(max_train),
        str(int(trace)),
    ]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    _, proc = run(cmd, cwd=ROOT, timeout=1800, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"load_coco_data failed: {tail(proc.stderr)}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def data_rows(package: Path, data_dir: Path | None, repeats: int):
    """Row (f): load_coco_data(max_train=50 and None, pca_features=False)."""
    data_dir = data_dir or default_data_dir()
    why = ensure_full_size(data_dir)
    if why:
        return [skipped("data", "load_coco_data full size", why)]
    rows = []
    for max_train in (50, None):
        load(package, data_dir, max_train, trace=False)  # warm the page cache
        runs = [load(package, data_dir, max_train, trace=False) for _ in range(repeats)]
        traced = load(package, data_dir, max_train, trace=True)
        seconds = statistics.median(r["seconds"] for r in runs)
        rss = max(r["rss_delta"] for r in runs)
        mb = 1024**2
        rows.append(
            Row(
                "data",
                f"load_coco_data(max_train={max_train}, pca_features=False)",
                fmt_time(seconds),
                f"tracemalloc peak {traced['traced_peak'] / mb:.0f} MB",
                "",
                f"peak RSS +{rss / mb:.0f} MB; result {runs[0]['result_bytes'] / mb:.0f} MB, "
                f"{runs[0]['train_rows']} train rows; warm page cache; median of {repeats}",
            )
        )
    return rows
