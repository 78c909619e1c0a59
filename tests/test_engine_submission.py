"""Finding the two student files in whatever shape a submission arrives."""

import os
import stat
import zipfile

import pytest

from autograder.engine import grade_submission, submission
from autograder.engine.submission import (
    MAX_FILE_BYTES,
    SubmissionError,
    locate,
    looks_like_submission,
    students_in,
)
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


def refusal(path):
    with pytest.raises(SubmissionError) as info:
        locate(path)
    return str(info.value)


def test_symlinks_are_not_followed_and_the_message_says_so(tmp_path):
    """Gradescope unzips uploads with their links: two links to the reference are refused
    as links, not reported missing."""
    (tmp_path / "s" / "captioning").mkdir(parents=True)
    for name in FILES:
        (tmp_path / "s" / "captioning" / name).symlink_to(f"/srv/reference/{name}")
    message = refusal(tmp_path / "s")
    assert "rnn_layers.py was refused" in message and "No rnn_layers.py" not in message
    assert "captioning/rnn_layers.py is a symbolic link" in message
    assert "/srv/reference" not in message  # where it points is not read, nor told


def test_a_link_next_to_the_real_file_is_ignored(tmp_path):
    write(tmp_path / "s" / "captioning")
    (tmp_path / "s" / "old").mkdir()
    (tmp_path / "s" / "old" / "rnn.py").symlink_to("/etc/hostname")
    assert locate(tmp_path / "s") == FILES


def test_a_linked_folder_is_named_when_the_files_are_missing(tmp_path):
    write(tmp_path / "elsewhere" / "captioning")
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "captioning").symlink_to(tmp_path / "elsewhere" / "captioning")
    message = refusal(tmp_path / "s")
    assert "No rnn_layers.py" in message and "captioning is a symbolic link" in message


def test_a_file_too_large_is_refused_with_its_size_and_the_limit(tmp_path):
    write(tmp_path / "s", {"rnn_layers.py": b"#" * (MAX_FILE_BYTES + 1), "rnn.py": b"x"})
    message = refusal(tmp_path / "s")
    assert "rnn_layers.py was refused" in message and "too large" in message
    assert (
        f"{MAX_FILE_BYTES // 1024 + 1} KB" in message and f"{MAX_FILE_BYTES // 1024} KB" in message
    )


def test_a_folder_or_a_pipe_in_place_of_a_file_is_not_a_regular_file(tmp_path):
    write(tmp_path / "s", {"rnn_layers.py": b"x"})
    (tmp_path / "s" / "rnn.py").mkdir()
    assert "rnn.py is not a regular file (a folder)" in refusal(tmp_path / "s")
    (tmp_path / "s" / "rnn.py").rmdir()
    os.mkfifo(tmp_path / "s" / "rnn.py")  # opening it would block the grader
    assert "rnn.py is not a regular file (a named pipe)" in refusal(tmp_path / "s")


def test_an_unreadable_file_is_refused_as_unreadable(tmp_path, monkeypatch):
    folder = write(tmp_path / "s")
    (folder / "rnn.py").chmod(0)
    if os.geteuid() == 0:  # root reads any file: the refusal of open() is simulated
        real_open = open

        def refusing_open(path, *args, **kwargs):
            if str(path).endswith("rnn.py"):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(submission, "open", refusing_open, raising=False)
    message = refusal(folder)
    assert "rnn.py was refused" in message and "unreadable (permission denied)" in message


def unix_entry(name, mode):
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix: the mode is kept in the high bits
    info.external_attr = mode << 16
    return info


def test_links_and_odd_entries_in_a_zip_are_refused_with_the_reason(tmp_path):
    path = tmp_path / "s.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(unix_entry("captioning/rnn_layers.py", stat.S_IFLNK | 0o777), "/srv/ref.py")
        z.writestr(unix_entry("captioning/rnn.py", stat.S_IFIFO | 0o644), b"")
    message = refusal(path)
    assert "captioning/rnn_layers.py is a symbolic link" in message
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(unix_entry("captioning/rnn_layers.py", stat.S_IFREG | 0o644), b"x")
        z.writestr(unix_entry("captioning/rnn.py", stat.S_IFIFO | 0o644), b"")
    assert "captioning/rnn.py is not a regular file (a named pipe)" in refusal(path)


def test_an_encrypted_zip_entry_is_refused_as_unreadable(tmp_path):
    path = zip_of(tmp_path / "s.zip", {f"captioning/{n}": d for n, d in FILES.items()})
    data = bytearray(path.read_bytes())
    for info in zipfile.ZipFile(path).infolist():  # set the "encrypted" flag of rnn.py
        if info.filename.endswith("/rnn.py"):
            data[info.header_offset + 6] |= 0x1  # in its local header
            central = data.index(b"PK\x01\x02")
            while not data[central + 46 :].startswith(info.filename.encode()):
                central = data.index(b"PK\x01\x02", central + 1)
            data[central + 8] |= 0x1  # and in the central directory
    path.write_bytes(bytes(data))
    assert "captioning/rnn.py is unreadable (encrypted)" in refusal(path)


def test_a_zip_entry_too_large_is_refused(tmp_path):
    entries = {"rnn_layers.py": b"x", "rnn.py": b"#" * (MAX_FILE_BYTES + 1)}
    message = refusal(zip_of(tmp_path / "s.zip", entries))
    assert "rnn.py was refused" in message and "too large" in message


def test_a_submission_of_links_only_is_still_a_submission(tmp_path):
    """A class folder lists it, so that the student gets 0 with the reason, not silence."""
    (tmp_path / "s").mkdir()
    for name in FILES:
        (tmp_path / "s" / name).symlink_to("/etc/hostname")
    assert looks_like_submission(tmp_path / "s")


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
