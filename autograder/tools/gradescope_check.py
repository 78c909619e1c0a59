"""``autograder gradescope-check BUNDLE``: a Gradescope bundle in a fresh OS root (as root).

Builds (or takes from the cache) a fresh Debian root, the closest this
machine can make to Gradescope's image (system Python under /usr), and lays
the bundle out there exactly as Gradescope does:

1. unzip BUNDLE into /autograder/source and run setup.sh there, as root, once;
2. copy run_autograder to /autograder/run_autograder;
3. for every upload: unzip it into a fresh /autograder/submission, run
   /autograder/run_autograder from /autograder with a bare environment, and
   read /autograder/results/results.json.

The uploads are the reference (expected 100), the stubs (0) and a forger: the
stubs with code that writes a results.json of 100 wherever it can (its real
grade, 0). It prints one row per upload and the walls line of each run, and
exits 1 when a score is not the expected one, 2 when no root can be built here.

    autograder gradescope-check autograder.zip [--release bookworm] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .. import paths
from . import osroot

RESULTS = "/autograder/results/results.json"
FORGED = {"score": 100, "output": "forged", "tests": []}
WALLS_PREFIX = "autograder: student code runs with"


FORGED_PATHS = (RESULTS, "results.json", "../results/results.json")


def forger_source(stub: str, targets=FORGED_PATHS) -> str:
    """The stub file with, in front, code that writes a forged results.json of 100
    wherever it can (Gradescope's results folder first)."""
    return (
        "import json as _j, os as _o\n"
        f"for _p in {tuple(map(str, targets))!r}:\n"
        "    try:\n"
        "        _o.makedirs(_o.path.dirname(_p) or '.', exist_ok=True)\n"
        f"        open(_p, 'w').write(_j.dumps({FORGED!r}))\n"
        "    except OSError:\n"
        "        pass\n" + stub
    )


@dataclass(frozen=True)
class Upload:
    name: str
    archive: Path
    expected: float  # the real grade


def uploads(where: Path) -> list[Upload]:
    """The reference, the stubs and the forger as zips in `where`, as students upload
    them (captioning/<file> entries)."""
    where.mkdir(parents=True, exist_ok=True)

    def files(folder):
        return {name: (folder / name).read_text() for name in paths.STUDENT_FILES}

    stubs = files(paths.release_dir())
    forged = dict(stubs, **{"rnn_layers.py": forger_source(stubs["rnn_layers.py"])})
    made = []
    for name, content, expected in (
        ("reference", files(paths.reference_dir()), 100.0),
        ("stubs", stubs, 0.0),
        ("forger", forged, 0.0),
    ):
        archive = where / f"{name}.zip"
        with zipfile.ZipFile(archive, "w") as z:
            for file, text in content.items():
                z.writestr(f"captioning/{file}", text)
        made.append(Upload(name, archive, expected))
    return made


def walls_line(text: str) -> str:
    """The engine's line on the walls around student code, from a run's output."""
    return next((line for line in text.splitlines() if line.startswith(WALLS_PREFIX)), "")


@dataclass
class Row:
    upload: Upload
    score: float | None
    seconds: float
    walls: str
    output: str

    @property
    def ok(self):
        return self.score is not None and self.score == self.upload.expected


SETUP = """set -e
rm -rf /autograder && mkdir -p /autograder/source
cd /autograder/source && unzip -q /tmp/gradescope-check/bundle.zip
bash ./setup.sh
cp /autograder/source/run_autograder /autograder/run_autograder
"""

RUN = """rm -rf /autograder/submission /autograder/results
mkdir -p /autograder/submission && cd /autograder/submission
unzip -q /tmp/gradescope-check/{name}.zip
cd /autograder && /autograder/run_autograder 2>&1
"""


def check(bundle: Path, root: Path, release="bookworm", log=print) -> tuple[list[Row], dict]:
    """Lay the bundle out in a fresh root at `root` and grade every upload there."""
    figures = {"root_seconds": osroot.build(release, root, log=log)}
    with osroot.mounted(root):
        inbox = root / "tmp" / "gradescope-check"
        inbox.mkdir(parents=True, exist_ok=True)
        shutil.copy(bundle, inbox / "bundle.zip")
        made = uploads(inbox)
        start = time.monotonic()
        setup = osroot.run(root, SETUP, timeout=1800)
        figures["setup_seconds"] = time.monotonic() - start
        if setup.returncode != 0:
            raise RuntimeError(f"setup.sh failed:\n{setup.stdout}{setup.stderr}")
        rows = []
        for upload in made:
            start = time.monotonic()
            done = osroot.run(root, RUN.format(name=upload.name), timeout=1800)
            seconds = time.monotonic() - start
            results = root / RESULTS.lstrip("/")
            score = None
            if results.is_file():
                score = json.loads(results.read_text()).get("score")
            output = done.stdout + done.stderr
            rows.append(Row(upload, score, seconds, walls_line(output), output))
    return rows, figures


def table(rows: list[Row]) -> str:
    lines = [
        "| upload | expected | score | seconds | verdict |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        score = "no results.json" if row.score is None else f"{row.score:g}"
        verdict = "ok" if row.ok else "WRONG"
        lines.append(
            f"| {row.upload.name} | {row.upload.expected:g} | {score} | {row.seconds:.0f} | {verdict} |"
        )
    walls = sorted({row.walls or "(no walls line)" for row in rows})
    return "\n".join(lines + [""] + walls)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="autograder gradescope-check", description=__doc__.splitlines()[0]
    )
    parser.add_argument("bundle", type=Path, help="the zip of `autograder gradescope-bundle`")
    parser.add_argument("--release", default="bookworm", help="Debian release (default bookworm)")
    parser.add_argument("--keep", type=Path, help="build the root here and leave it in place")
    args = parser.parse_args(argv)
    why_not = osroot.available()
    if why_not:
        print(f"autograder gradescope-check: {why_not}", file=sys.stderr)
        return 2
    if not args.bundle.is_file():
        print(f"autograder gradescope-check: no such bundle: {args.bundle}", file=sys.stderr)
        return 2
    with contextlib.ExitStack() as stack:
        root = args.keep or stack.enter_context(osroot.scratch()) / "root"
        rows, figures = check(args.bundle.resolve(), root, args.release)
    print(table(rows))
    print(
        f"\nroot {figures['root_seconds']:.0f} s, setup.sh {figures['setup_seconds']:.0f} s"
        f" ({args.release})"
    )
    for row in rows:
        if not row.ok:
            print(f"\n--- {row.upload.name}: the last lines of its run ---", file=sys.stderr)
            print("\n".join(row.output.splitlines()[-30:]), file=sys.stderr)
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
