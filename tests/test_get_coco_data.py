"""data_scripts/get_coco_data.py against a loopback HTTP server serving a
small archive in the layout of the real coco_captioning.zip."""

import hashlib
import subprocess
import sys

import pytest
from _data_helpers import (
    DATA_SCRIPTS,
    LocalServer,
    Served,
    data_script,
    fixture_zip,
    write_fixture_data,
)

pytestmark = pytest.mark.timeout(60)

gcd = data_script("get_coco_data")

ARCHIVE = "/coco_captioning.zip"


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """The fixture archive, in the real layout (members under coco_captioning/)."""
    return fixture_zip(tmp_path_factory.mktemp("archive"))


@pytest.fixture
def server():
    with LocalServer() as srv:
        yield srv


@pytest.fixture
def dest(tmp_path):
    return tmp_path / "datasets" / "coco_captioning"


def run(dest, *args, url=None):
    argv = ["--dest", str(dest), "--backoff", "0", "--timeout", "5", *args]
    if url is not None:
        argv += ["--url", url]
    return gcd.main(argv)


def assert_no_leftovers(dest, part_expected=False):
    """Nothing half-written next to the destination."""
    parent = dest.parent
    names = sorted(p.name for p in parent.iterdir()) if parent.exists() else []
    assert not [n for n in names if n.startswith(gcd.TEMP_PREFIX) or ".old-" in n], names
    assert (dest.parent / (dest.name + ".zip.part")).exists() == part_expected, names


def assert_complete(dest):
    gcd.verify_data_dir(str(dest))
    assert sorted(p.name for p in dest.iterdir()) == sorted(gcd.REQUIRED_FILES)


def test_full_download_installs_verified_data(server, archive, dest, capsys):
    server.files[ARCHIVE] = Served(archive)
    assert run(dest, url=server.url(ARCHIVE)) == 0
    assert_complete(dest)
    assert_no_leftovers(dest)
    assert "ready" in capsys.readouterr().out


def test_rerun_on_complete_data_does_nothing(server, archive, dest, capsys):
    server.files[ARCHIVE] = Served(archive)
    assert run(dest, url=server.url(ARCHIVE)) == 0
    server.requests.clear()
    capsys.readouterr()
    assert run(dest, url=server.url(ARCHIVE)) == 0
    assert server.requests == []
    assert "already complete" in capsys.readouterr().out


def test_cut_connection_is_resumed_with_range_in_the_same_run(server, archive, dest):
    half = len(archive) // 2
    server.files[ARCHIVE] = Served(archive, cut_after=half, cuts=1)
    assert run(dest, "--retries", "2", url=server.url(ARCHIVE)) == 0
    assert_complete(dest)
    assert "Range" not in server.requests[0][1]
    assert server.requests[1][1]["Range"] == f"bytes={half}-"
    assert_no_leftovers(dest)


def test_interrupted_download_resumes_on_the_next_run(server, archive, dest, capsys):
    half = len(archive) // 2
    server.files[ARCHIVE] = Served(archive, cut_after=half, cuts=1)
    assert run(dest, "--retries", "0", url=server.url(ARCHIVE)) == 1
    assert "run the command again to resume" in capsys.readouterr().err
    assert not dest.exists()
    assert_no_leftovers(dest, part_expected=True)

    assert run(dest, url=server.url(ARCHIVE)) == 0
    assert server.requests[-1][1]["Range"] == f"bytes={half}-"
    assert_complete(dest)
    assert_no_leftovers(dest)


def test_server_without_range_support_restarts_cleanly(server, archive, dest, capsys):
    part = dest.parent / (dest.name + ".zip.part")
    part.parent.mkdir(parents=True)
    part.write_bytes(archive[:1000])
    server.files[ARCHIVE] = Served(archive, ranges=False)
    assert run(dest, url=server.url(ARCHIVE)) == 0
    assert server.requests[0][1]["Range"] == "bytes=1000-"
    assert "starting over" in capsys.readouterr().out
    assert_complete(dest)
    assert_no_leftovers(dest)


def test_part_file_already_complete_is_used(server, archive, dest):
    part = dest.parent / (dest.name + ".zip.part")
    part.parent.mkdir(parents=True)
    part.write_bytes(archive)
    server.files[ARCHIVE] = Served(archive)  # answers 416 to bytes=len-
    assert run(dest, url=server.url(ARCHIVE)) == 0
    assert_complete(dest)
    assert_no_leftovers(dest)


def test_missing_file_on_server_fails_at_once(server, dest, capsys):
    assert run(dest, "--retries", "3", url=server.url("/nothing.zip")) == 1
    err = capsys.readouterr().err
    assert "HTTP 404" in err and "--url" in err
    assert len(server.requests) == 1  # a 404 is not retried
    assert not dest.exists()
    assert_no_leftovers(dest)


def test_server_errors_are_retried_then_reported(server, dest, capsys):
    server.files[ARCHIVE] = Served(status=503)
    assert run(dest, "--retries", "2", url=server.url(ARCHIVE)) == 1
    assert len(server.requests) == 3
    assert "3 attempts" in capsys.readouterr().err
    assert not dest.exists()


def test_unreachable_server_fails_cleanly(dest, capsys):
    from _data_helpers import closed_port_url

    assert run(dest, "--retries", "1", url=closed_port_url("/coco.zip")) == 1
    assert "error:" in capsys.readouterr().err
    assert not dest.exists()


def test_timeout_is_retried(server, archive, dest):
    server.files[ARCHIVE] = Served(archive, delay=2)
    code = gcd.main(
        ["--dest", str(dest), "--backoff", "0", "--timeout", "0.5", "--retries", "1"]
        + ["--url", server.url(ARCHIVE)]
    )
    assert code == 1
    assert len(server.requests) == 2
    assert not dest.exists()


@pytest.fixture
def old_dest(dest):
    """A destination holding an incomplete earlier copy, to be left alone on failure."""
    dest.mkdir(parents=True)
    (dest / "coco2014_vocab.json").write_text("{}")
    return dest


def assert_untouched(dest):
    assert [p.name for p in dest.iterdir()] == ["coco2014_vocab.json"]
    assert (dest / "coco2014_vocab.json").read_text() == "{}"


def test_corrupt_archive_is_rejected_and_target_untouched(server, archive, old_dest, capsys):
    corrupt = bytearray(archive)
    middle = len(corrupt) // 2
    corrupt[middle : middle + 64] = bytes(64)
    server.files[ARCHIVE] = Served(bytes(corrupt))
    assert run(old_dest, url=server.url(ARCHIVE)) == 1
    assert "corrupt" in capsys.readouterr().err
    assert_untouched(old_dest)
    assert_no_leftovers(old_dest)  # a bad download is not kept for resuming


def test_truncated_archive_is_rejected(server, archive, old_dest, capsys):
    server.files[ARCHIVE] = Served(archive[: len(archive) * 2 // 3])
    assert run(old_dest, url=server.url(ARCHIVE)) == 1
    assert "not a valid zip archive" in capsys.readouterr().err
    assert_untouched(old_dest)
    assert_no_leftovers(old_dest)


def test_archive_missing_a_member_is_rejected(server, tmp_path, old_dest, capsys):
    server.files[ARCHIVE] = Served(fixture_zip(tmp_path, drop=("val2014_vgg16_fc7_pca.h5",)))
    assert run(old_dest, url=server.url(ARCHIVE)) == 1
    assert "val2014_vgg16_fc7_pca.h5" in capsys.readouterr().err
    assert_untouched(old_dest)
    assert_no_leftovers(old_dest)


def test_wrong_column_count_is_caught_after_unpacking(server, tmp_path, old_dest, capsys):
    server.files[ARCHIVE] = Served(fixture_zip(tmp_path, fc7_columns=100))
    assert run(old_dest, url=server.url(ARCHIVE)) == 1
    assert "4096 columns" in capsys.readouterr().err
    assert_untouched(old_dest)
    assert_no_leftovers(old_dest)


def test_partial_earlier_attempt_is_completed(server, archive, dest):
    parent = dest.parent
    parent.mkdir(parents=True)
    half = len(archive) // 2
    (parent / (dest.name + ".zip.part")).write_bytes(archive[:half])
    stale = parent / (gcd.TEMP_PREFIX + "crashed")
    stale.mkdir()
    (stale / "coco2014_captions.h5").write_bytes(b"half")
    dest.mkdir()
    (dest / "train2014_urls.txt").write_text("half\n")

    server.files[ARCHIVE] = Served(archive)
    assert run(dest, url=server.url(ARCHIVE)) == 0
    assert server.requests[0][1]["Range"] == f"bytes={half}-"
    assert_complete(dest)
    assert_no_leftovers(dest)


def test_from_zip_accepts_a_flat_archive(tmp_path, dest):
    path = tmp_path / "flat.zip"
    path.write_bytes(fixture_zip(tmp_path, layout="flat"))
    assert run(dest, "--from-zip", str(path)) == 0
    assert_complete(dest)
    assert path.exists()  # the user's own archive is never deleted


def test_sha256_mismatch_fails(tmp_path, archive, dest, capsys):
    path = tmp_path / "coco.zip"
    path.write_bytes(archive)
    assert run(dest, "--from-zip", str(path), "--sha256", "0" * 64) == 1
    assert "SHA-256" in capsys.readouterr().err
    assert not dest.exists()
    good = hashlib.sha256(archive).hexdigest()
    assert run(dest, "--from-zip", str(path), "--sha256", good) == 0


def test_keep_zip_keeps_the_download(server, archive, dest):
    server.files[ARCHIVE] = Served(archive)
    assert run(dest, "--keep-zip", url=server.url(ARCHIVE)) == 0
    assert (dest.parent / (dest.name + ".zip")).read_bytes() == archive


def test_strict_requires_full_row_counts(tmp_path):
    write_fixture_data(tmp_path / "small")
    gcd.verify_data_dir(str(tmp_path / "small"))
    with pytest.raises(gcd.DataError, match="not the full data set"):
        gcd.verify_data_dir(str(tmp_path / "small"), strict=True)


def test_help_explains_every_option():
    out = subprocess.run(
        [sys.executable, str(DATA_SCRIPTS / "get_coco_data.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    for option in (
        "--url",
        "--from-zip",
        "--dest",
        "--sha256",
        "--retries",
        "--timeout",
        "--backoff",
        "--strict",
        "--keep-zip",
    ):
        assert option in out


def test_shell_wrapper_passes_its_arguments():
    text = (DATA_SCRIPTS / "get_coco_data.sh").read_text()
    assert "get_coco_data.py" in text and '"$@"' in text
