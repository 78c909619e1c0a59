"""What every benchmark section shares: rows of the table, timing, the machine."""

from __future__ import annotations

import gc
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions" / "rnn_captioning"


@dataclass
class Row:
    """One line of the table: what we measured, what it is compared with, the ratio."""

    section: str
    case: str
    ours: str = ""
    baseline: str = ""
    ratio: str = ""
    note: str = ""


def skipped(section, case, why):
    """A row for a benchmark that could not run (missing tool, data or feature)."""
    return Row(section, case, "-", "-", "-", why)


def use_package(assignment_dir: Path):
    """Make `import captioning` load the package of one assignment folder."""
    sys.path.insert(0, str(assignment_dir))
    import captioning

    found = Path(captioning.__file__).resolve().parent.parent
    if found != assignment_dir.resolve():
        raise RuntimeError(f"captioning already imported from {found}")
    return captioning


class Timings:
    """Wall and CPU seconds of every repeat of every function, run in turn."""

    def __init__(self, names):
        self.wall = {name: [] for name in names}
        self.cpu = {name: [] for name in names}

    def __getitem__(self, name):
        """Median wall time."""
        return statistics.median(self.wall[name])

    def cpu_time(self, name):
        """Median CPU time of the process (all its threads)."""
        return statistics.median(self.cpu[name])

    def ratio(self, a, b, kind="wall"):
        """Median over repeats of a / b, each pair measured back to back."""
        times = self.wall if kind == "wall" else self.cpu
        return statistics.median(x / y for x, y in zip(times[a], times[b]))


def interleaved(fns: dict, repeats: int, warmup: int = 1) -> Timings:
    """Time each function `repeats` times, the functions in turn at every repeat.

    Interleaving keeps a noisy neighbour from favouring one side of a ratio.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    timings = Timings(fns)
    gc.collect()
    for _ in range(repeats):
        for name, fn in fns.items():
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            timings.cpu[name].append(time.process_time() - cpu)
            timings.wall[name].append(time.perf_counter() - wall)
    return timings


def fmt_time(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def nbgrader_env() -> dict:
    """This environment with its bin/ first on PATH: nbgrader runs `alembic` from PATH."""
    bin_dir = Path(sys.executable).parent
    return dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")


def children_cpu() -> float:
    """CPU-seconds (user + system) of every process this one has reaped so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(cmd, timeout=None, **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    """Run a command, return (wall seconds, completed process); output is captured.

    ``proc.cpu_seconds`` is the CPU time of the command and of everything it
    reaped (its children reach this process's RUSAGE_CHILDREN once reaped).
    """
    start, cpu = time.perf_counter(), children_cpu()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    proc.cpu_seconds = children_cpu() - cpu
    return time.perf_counter() - start, proc


def tail(text: str, lines: int = 1, width: int = 240) -> str:
    """The last lines of a command's output, on one line, for a note in the table."""
    joined = " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])
    return joined if len(joined) <= width else "..." + joined[-width:]


def blas_info() -> list[dict]:
    """numpy's BLAS as threadpoolctl sees it (empty if threadpoolctl is missing)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    import numpy  # noqa: F401  (loads the BLAS library)

    return [i for i in threadpool_info() if i.get("user_api") == "blas"]


def blas_threads() -> int:
    """How many threads numpy's BLAS uses by default."""
    info = blas_info()
    if info:
        return info[0]["num_threads"]
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return os.cpu_count() or 1


def machine() -> dict:
    """The machine the figures come from."""
    import numpy as np

    cpu = platform.processor() or platform.machine()
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    cpu = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    simd = " ".join(f for f in ("avx", "avx2", "fma", "avx512f") if f in flags)
    blas = "; ".join(
        f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')} kernel, "
        f"{i.get('num_threads')} threads)"
        for i in blas_info()
    )
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
    info = {
        "cpu": f"{cpu} ({simd})" if simd else cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy BLAS": blas or "unknown (install threadpoolctl)",
        "OpenBLAS env": ", ".join(f"{k}={v}" for k, v in env.items()) or "unset",
    }
    try:
        import torch

        info["torch"] = f"{torch.__version__} ({torch.get_num_threads()} threads by default)"
    except ImportError:
        info["torch"] = "not installed"
    return info
