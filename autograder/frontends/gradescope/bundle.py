"""``autograder gradescope-bundle OUT.zip``: everything Gradescope needs, in one zip.

At the root of the zip: setup.sh, run_autograder, requirements.txt, and the
course tree the engine expects (paths.course_root() is the unzipped folder):
the autograder package with its rubric and expected values, the provided
modules of the assignment (copied into every sandbox), the reference
solution (for the parent only) and the synthetic data set without its
pictures. No student file of source/ (they hold the solution markers).
"""

import zipfile
from pathlib import Path

from ... import paths
from ...paths import STUDENT_FILES

HERE = Path(__file__).resolve().parent
REQUIREMENTS = ["numpy>=1.26,<3", "h5py>=3.10,<4", "nltk>=3.8.1,<4", "tqdm>=4.66,<5"]
SKIP_PARTS = {"__pycache__", ".pytest_cache"}


def _members():
    """(archive name, source path or bytes) of every file in the bundle."""
    root = paths.course_root()
    yield "setup.sh", HERE / "setup.sh"
    yield "run_autograder", HERE / "run_autograder"
    yield "requirements.txt", ("\n".join(REQUIREMENTS) + "\n").encode()
    for path in sorted(paths.PACKAGE.rglob("*")):
        if path.is_file() and not SKIP_PARTS & set(path.parts) and path.suffix != ".pyc":
            yield f"autograder/{path.relative_to(paths.PACKAGE)}", path
    for path in sorted(paths.provided_dir().glob("*.py")):
        if path.name not in STUDENT_FILES:
            yield str(path.relative_to(root)), path
    for path in sorted(paths.reference_dir().glob("*.py")):
        yield str(path.relative_to(root)), path
    data = paths.synthetic_data_dir()
    for path in sorted(data.glob("*")):
        if path.is_file():
            yield f"source/{paths.ASSIGNMENT}/datasets/synthetic_coco/{path.name}", path


def make_bundle(out):
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, source in _members():
            data = source if isinstance(source, bytes) else source.read_bytes()
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            executable = name in ("setup.sh", "run_autograder")
            info.external_attr = (0o755 if executable else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return out
