"""`autograder gradescope-check`: the bundle in a fresh Debian root, laid out as Gradescope
lays it (/autograder/source, setup.sh as root, /autograder/run_autograder run from
/autograder with a bare environment): the reference 100, the stubs 0, the forger 0."""

import subprocess
import sys
from pathlib import Path

import pytest

from autograder.frontends.gradescope.bundle import make_bundle
from autograder.tools import osroot

ROOT = Path(__file__).resolve().parents[2]


def test_the_bundle_grades_right_in_a_fresh_bookworm_root(as_root, tmp_path):
    why_not = osroot.available()
    if why_not:
        pytest.skip(why_not)
    bundle = make_bundle(tmp_path / "autograder.zip")
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "gradescope-check", str(bundle)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=1800,
    )
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {
        line.split("|")[1].strip(): line for line in done.stdout.splitlines() if "| ok |" in line
    }
    assert set(rows) == {"reference", "stubs", "forger"}
    assert "| reference | 100 | 100 |" in rows["reference"]
    assert "| forger | 0 | 0 |" in rows["forger"]
    assert "student code runs with a uid of its own" in done.stdout
    assert "Landlock, seccomp" in done.stdout
