"""The data set of ``nbgrader autograde`` is a link to the instructor's folder: the walks over
a student's folder never go through it, and a folder other uids cannot read is copied instead."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from autograder.frontends.nbgrader.data import can_link
from autograder.frontends.nbgrader.kernel import tree


def test_the_walk_over_a_students_folder_does_not_follow_the_data_link(tmp_path):
    data = tmp_path / "source" / "datasets" / "synthetic_coco"
    (data / "images").mkdir(parents=True)
    (data / "images" / "a.png").write_bytes(b"png")
    (data / "vocab.json").write_text("{}")
    folder = tmp_path / "autograded" / "alice"
    (folder / "datasets").mkdir(parents=True)
    (folder / "rnn.py").write_text("")
    (folder / "datasets" / "synthetic_coco").symlink_to(data, target_is_directory=True)

    found = set(tree(folder))
    assert found == {
        folder,
        folder / "rnn.py",
        folder / "datasets",
        folder / "datasets" / "synthetic_coco",
    }


@pytest.mark.skipif(os.geteuid() != 0, reason="kernels have a uid of their own only under root")
def test_data_that_other_uids_cannot_read_is_copied_not_linked(tmp_path):
    closed = tmp_path / "datasets" / "synthetic_coco"  # pytest's folders are closed to others
    closed.mkdir(parents=True)
    (closed / "vocab.json").write_text("{}")
    assert not can_link(closed)

    course = Path(tempfile.mkdtemp(prefix="data-link-"))
    try:
        os.chmod(course, 0o755)
        data = course / "datasets" / "synthetic_coco"
        data.mkdir(parents=True)
        (data / "vocab.json").write_text("{}")
        os.chmod(data / "vocab.json", 0o644)
        assert can_link(data)
        os.chmod(data / "vocab.json", 0o600)
        assert not can_link(data)
    finally:
        shutil.rmtree(course)
