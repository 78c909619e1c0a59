"""Gradescope's layout, exactly: what its harness does with a bundle and an upload.

Gradescope unzips the bundle into ROOT/source and runs setup.sh there, as
root, once. For each submission it unzips the upload into ROOT/submission
(symbolic links kept), copies run_autograder to ROOT/run_autograder, runs
that copy from ROOT, and reads ROOT/results/results.json. On Gradescope ROOT
is /autograder; here it is any folder. Both scripts run with a bare
environment (`env -i`), so nothing of this test process's environment (its
virtual environment, PYTHONPATH, the project on sys.path) can help them.
"""

import json
import shutil
import subprocess
from pathlib import Path

BARE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def unzip(archive: Path, dest: Path):
    """Unzip as Gradescope does (Info-ZIP's unzip: modes and symbolic links kept)."""
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(["unzip", "-q", "-o", str(archive), "-d", str(dest)], check=True)


def bare(*command, cwd: Path, timeout: float):
    """Run with an empty environment but for PATH, as Gradescope's harness does."""
    return subprocess.run(
        ["env", "-i", f"PATH={BARE_PATH}", *map(str, command)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def install(bundle: Path, root: Path):
    """Build the autograder image: the bundle in ROOT/source, setup.sh run there."""
    unzip(bundle, root / "source")
    setup = bare("bash", root / "source" / "setup.sh", cwd=root / "source", timeout=900)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    return setup


def grade(root: Path, upload: Path, script: Path | None = None):
    """One submission: (the finished process, the parsed results.json or None).

    `script` is ROOT/run_autograder (Gradescope's copy, run from ROOT) unless given:
    ROOT/source/run_autograder is the bundle's own, run from its folder.
    """
    for folder in ("submission", "results"):
        shutil.rmtree(root / folder, ignore_errors=True)
    (root / "submission").mkdir()
    if upload.is_dir():
        shutil.copytree(upload, root / "submission", symlinks=True, dirs_exist_ok=True)
    else:
        unzip(upload, root / "submission")
    script = script or root / "run_autograder"
    done = bare(script, cwd=script.parent, timeout=900)
    results = root / "results" / "results.json"
    payload = json.loads(results.read_text()) if results.exists() else None
    return done, payload
