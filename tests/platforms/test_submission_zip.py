"""The zip that `python -m captioning.submit` writes, graded where Gradescope grades.

The reference's assignment folder makes its submission.zip with the submit
command; the zip, as it is, is the upload that Gradescope unzips into
ROOT/submission for the bundle's run_autograder (gradescope_layout: setup.sh
and run_autograder under a bare environment, run from ROOT): 100.
"""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from gradescope_layout import grade, install

from autograder.frontends.gradescope.bundle import make_bundle

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions" / "rnn_captioning"


def test_the_reference_submission_zip_scores_100_on_gradescope(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("Gradescope runs the autograder as root")
    if shutil.which("unzip") is None:
        pytest.skip("no unzip here: Gradescope unzips with it (modes and symlinks kept)")
    folder = tmp_path / "rnn_captioning"
    shutil.copytree(SOLUTIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    made = subprocess.run(
        [sys.executable, "-m", "captioning.submit", "--no-tests", "--no-pdf"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stderr
    upload = folder / "submission.zip"
    with zipfile.ZipFile(upload) as z:
        assert sorted(z.namelist()) == [
            "LSTM_Captioning.ipynb",
            "RNN_Captioning.ipynb",
            "captioning/rnn.py",
            "captioning/rnn_layers.py",
        ]

    os.chmod(tmp_path, 0o755)
    root = tmp_path / "autograder"
    install(make_bundle(tmp_path / "autograder.zip"), root)
    done, payload = grade(root, upload)
    assert payload is not None, done.stdout + done.stderr
    failed = {t["name"]: t["output"] for t in payload["tests"] if t["status"] != "passed"}
    assert failed == {}
    assert payload["score"] == 100
