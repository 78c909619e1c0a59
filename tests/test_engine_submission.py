"""Finding the two student files in whatever shape a submission arrives."""

import zipfile

import pytest

from autograder.engine import grade_submission
from autograder.engine.submission import SubmissionError, locate, students_in
from autograder.frontends.cli import is_batch

FILES = {"rnn_layers.py": b"# layers\n", "rnn.py": b"# model\n"}


def write(folder, files=FILES):
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def zip_of(path, entries):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return path


@pytest.mark.parametrize("inner", ["", "captioning", "rnn_captioning/captioning", "a/b/c"])
def test_files_are_found_at_any_depth(tmp_path, inner):
    write(tmp_path / "sub" / inner)
    assert locate(tmp_path / "sub") == FILES


def test_files_are_found_in_a_zip(tmp_path):
    path = zip_of(tmp_path / "s.zip", {f"alice/captioning/{n}": d for n, d in FILES.items()})
    assert locate(path) == FILES


def test_mac_metadata_and_checkpoints_are_ignored(tmp_path):
    entries = {f"captioning/{n}": d for n, d in FILES.items()}
    entries["__MACOSX/captioning/._rnn.py"] = b"\x00junk"
    entries["__MACOSX/captioning/rnn.py"] = b"junk"
    entries["captioning/.ipynb_checkpoints/rnn.py"] = b"old"
    assert locate(zip_of(tmp_path / "s.zip", entries)) == FILES


def test_identical_copies_are_fine_and_captioning_wins(tmp_path):
    write(tmp_path / "s" / "captioning")
    write(tmp_path / "s" / "backup", {"rnn_layers.py": b"other", "rnn.py": b"other"})
    assert locate(tmp_path / "s") == FILES


def test_two_different_copies_are_an_error_that_says_what_to_fix(tmp_path):
    write(tmp_path / "s" / "v1")
    write(tmp_path / "s" / "v2", {"rnn_layers.py": b"other", "rnn.py": b"other"})
    with pytest.raises(SubmissionError, match="keep only one"):
        locate(tmp_path / "s")


def test_a_missing_file_is_named(tmp_path):
    write(tmp_path / "s", {"rnn_layers.py": b"x"})
    with pytest.raises(SubmissionError, match="No rnn.py"):
        locate(tmp_path / "s")


def test_symlinks_are_not_followed(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "rnn_layers.py").symlink_to("/etc/hostname")
    (tmp_path / "s" / "rnn.py").write_bytes(b"x")
    with pytest.raises(SubmissionError, match="No rnn_layers.py"):
        locate(tmp_path / "s")


def test_a_broken_zip_is_an_error_not_a_crash(tmp_path):
    path = tmp_path / "s.zip"
    path.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(SubmissionError):
        locate(path)


def test_an_unusable_submission_scores_zero_on_every_check_with_the_reason(tmp_path):
    results = grade_submission(tmp_path)  # an empty folder
    assert len(results) == 19
    assert all(r.score == 0 and r.status == "failed" for r in results)
    assert all("No rnn_layers.py" in r.output for r in results)


def test_a_folder_of_submissions_is_told_apart_from_one_submission(tmp_path):
    one = write(tmp_path / "one" / "captioning").parent
    assert not is_batch(one)
    many = tmp_path / "many"
    write(many / "alice" / "captioning")
    write(many / "bob")
    zip_of(many / "carol.zip", {f"captioning/{n}": d for n, d in FILES.items()})
    assert is_batch(many)
    assert [name for name, _ in students_in(many)] == ["alice", "bob", "carol"]
