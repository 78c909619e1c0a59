"""The Gradescope bundle where Gradescope puts it: ROOT/run_autograder, run from ROOT.

The grader's venv holds only the bundle's requirements (setup.sh makes it),
the bundle is closed to other users (setup.sh's chmod), and every script runs
with a bare environment.
"""

import os
import shutil
import stat
import zipfile
from pathlib import Path

import pytest
from gradescope_layout import grade, install

from autograder import paths
from autograder.frontends.gradescope.bundle import make_bundle
from autograder.paths import STUDENT_FILES

FORGED = {"score": 100, "output": "forged", "tests": []}


@pytest.fixture(scope="module")
def gradescope(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("Gradescope runs the autograder as root")
    if shutil.which("unzip") is None:
        pytest.skip("no unzip here: Gradescope unzips with it (modes and symlinks kept)")
    where = tmp_path_factory.mktemp("gradescope")
    os.chmod(where, 0o755)
    root = where / "autograder"
    install(make_bundle(where / "autograder.zip"), root)
    return root


def upload(where: Path, name: str, files: dict) -> Path:
    """A student's upload: a zip of captioning/<file> entries, as captioning.submit makes."""
    archive = where / f"{name}.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for file, text in files.items():
            z.writestr(f"captioning/{file}", text)
    return archive


def student_files(folder: Path) -> dict:
    return {name: (folder / name).read_text() for name in STUDENT_FILES}


def test_setup_closes_the_bundle_and_the_venv_holds_only_its_requirements(gradescope):
    mode = stat.S_IMODE((gradescope / "source" / "autograder").stat().st_mode)
    assert mode & 0o077 == 0
    python = gradescope / "venv" / "bin" / "python"
    assert python.exists()
    site = list((gradescope / "venv" / "lib").glob("python3*/site-packages"))[0]
    installed = {p.name.split("-")[0].lower() for p in site.glob("*.dist-info")}
    assert {"numpy", "h5py", "nltk", "tqdm"} <= installed
    assert not installed & {"nbgrader", "rnn_captioning_assignment", "pytest", "copydetect"}


def test_the_reference_scores_full_marks(gradescope, tmp_path):
    done, payload = grade(
        gradescope, upload(tmp_path, "reference", student_files(paths.reference_dir()))
    )
    assert done.returncode == 0, done.stderr
    assert payload is not None, done.stdout + done.stderr
    failed = {t["name"]: t["output"] for t in payload["tests"] if t["status"] != "passed"}
    assert failed == {}
    assert payload["score"] == 100
    assert f"grader: {(gradescope / 'source' / 'autograder').resolve()}" in done.stdout


def test_the_bundle_s_own_run_autograder_works_from_its_folder_too(gradescope, tmp_path):
    sub = upload(tmp_path, "reference", student_files(paths.reference_dir()))
    done, payload = grade(gradescope, sub, script=gradescope / "source" / "run_autograder")
    assert payload is not None, done.stdout + done.stderr
    assert payload["score"] == 100


def test_the_stubs_score_nothing(gradescope, tmp_path):
    done, payload = grade(gradescope, upload(tmp_path, "stubs", student_files(paths.release_dir())))
    assert payload is not None, done.stdout + done.stderr
    assert payload["score"] == 0
    assert payload["tests"], "every check is reported, each at 0"
    assert all(t["score"] == 0 for t in payload["tests"])


def test_a_submission_that_forges_results_json_gets_its_real_grade(gradescope, tmp_path):
    results = gradescope / "results" / "results.json"
    forge = (
        "import json as _j, os as _o\n"
        f"for _p in ({str(results)!r}, 'results.json', '/autograder/results/results.json'):\n"
        "    try:\n"
        "        _o.makedirs(_o.path.dirname(_p) or '.', exist_ok=True)\n"
        f"        open(_p, 'w').write(_j.dumps({FORGED!r}))\n"
        "    except OSError:\n"
        "        pass\n"
    )
    files = student_files(paths.release_dir())
    files["rnn_layers.py"] = forge + files["rnn_layers.py"]
    done, payload = grade(gradescope, upload(tmp_path, "forger", files))
    assert payload is not None, done.stdout + done.stderr
    assert payload["score"] == 0
    assert payload.get("output") != "forged"


def test_symbolic_links_to_the_reference_earn_nothing(gradescope, tmp_path):
    folder = tmp_path / "links" / "captioning"
    folder.mkdir(parents=True)
    for name in STUDENT_FILES:
        (folder / name).symlink_to(
            gradescope / "source" / "solutions" / paths.ASSIGNMENT / "captioning" / name
        )
    done, payload = grade(gradescope, tmp_path / "links")
    assert payload is not None, done.stdout + done.stderr
    assert payload["score"] == 0
