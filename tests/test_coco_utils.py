"""captioning/coco_utils.py on the synthetic set and on small fixtures."""

import os
import shutil

import h5py
import numpy as np
import pytest
from _data_helpers import SYNTHETIC, data_script, source_module

coco_utils = source_module("coco_utils")

KEYS = {
    "train_captions",
    "train_image_idxs",
    "val_captions",
    "val_image_idxs",
    "train_features",
    "val_features",
    "idx_to_word",
    "word_to_idx",
    "train_urls",
    "val_urls",
}


@pytest.fixture(scope="module")
def data():
    return coco_utils.load_coco_data(str(SYNTHETIC))


def test_synthetic_dir_constant_points_at_the_committed_set():
    assert os.path.samefile(coco_utils.SYNTHETIC_DIR, SYNTHETIC)
    assert coco_utils.COCO_DIR.endswith(os.path.join("datasets", "coco_captioning"))


def test_load_returns_the_classic_keys_shapes_and_dtypes(data):
    assert set(data) == KEYS
    for split in ("train", "val"):
        captions, idxs = data[f"{split}_captions"], data[f"{split}_image_idxs"]
        features, urls = data[f"{split}_features"], data[f"{split}_urls"]
        assert captions.dtype == np.int32 and captions.ndim == 2 and captions.shape[1] == 17
        assert idxs.dtype == np.int32 and idxs.shape == captions.shape[:1]
        assert features.dtype == np.float32 and features.shape[1] == 512
        assert isinstance(urls, np.ndarray) and urls.dtype.kind == "U"
        assert urls.shape == features.shape[:1]
        assert 0 <= idxs.min() and idxs.max() < features.shape[0]


def test_vocabulary_has_the_special_tokens(data):
    assert data["idx_to_word"][:4] == ["<NULL>", "<START>", "<END>", "<UNK>"]
    assert all(data["word_to_idx"][w] == i for i, w in enumerate(data["idx_to_word"]))


def test_fc7_features_when_pca_is_off():
    data = coco_utils.load_coco_data(str(SYNTHETIC), pca_features=False)
    assert data["train_features"].shape[1] == 4096
    assert data["train_features"].dtype == np.float32


def test_urls_are_absolute_files_whatever_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = coco_utils.load_coco_data(str(SYNTHETIC))
    for url in data["val_urls"][:5]:
        assert os.path.isabs(url) and os.path.isfile(url)


def test_max_train_keeps_captions_features_and_urls_consistent(data):
    np.random.seed(231)
    small = coco_utils.load_coco_data(str(SYNTHETIC), max_train=50)
    np.random.seed(231)
    rows = np.random.randint(data["train_captions"].shape[0], size=50)

    assert small["train_captions"].shape == (50, 17)
    np.testing.assert_array_equal(small["train_captions"], data["train_captions"][rows])
    images = data["train_image_idxs"][rows]
    assert small["train_features"].shape[0] == len(np.unique(images))
    np.testing.assert_array_equal(
        small["train_features"][small["train_image_idxs"]], data["train_features"][images]
    )
    np.testing.assert_array_equal(
        small["train_urls"][small["train_image_idxs"]], data["train_urls"][images]
    )
    # val is loaded whole, as in the classic loader
    np.testing.assert_array_equal(small["val_features"], data["val_features"])


@pytest.mark.parametrize("wanted", [[0, 1, 2, 3, 5, 8, 9], [3, 13, 40, 41, 298], [0, 299]])
def test_read_rows_reads_the_wanted_rows_in_chunks(tmp_path, monkeypatch, wanted):
    monkeypatch.setattr(coco_utils, "_ROWS_PER_READ", 2)
    table = np.arange(300 * 3, dtype=np.float32).reshape(300, 3)
    with h5py.File(tmp_path / "t.h5", "w") as f:
        f["x"] = table
    with h5py.File(tmp_path / "t.h5", "r") as f:
        got = coco_utils._read_rows(f["x"], np.array(wanted))
    np.testing.assert_array_equal(got, table[wanted])


def test_max_train_on_a_full_shaped_stand_in(tmp_path):
    make = data_script("make_synthetic_coco")
    make.make_full_size(str(tmp_path), scale=0.01)
    np.random.seed(0)
    small = coco_utils.load_coco_data(str(tmp_path), max_train=500)
    # column 0 of every feature row of the stand-in holds its row index
    original = small["train_features"][:, 0].astype(int)
    assert np.all(np.diff(original) > 0)
    assert small["train_urls"][3].endswith(f"{original[3]:012d}.jpg")
    assert small["train_captions"].shape == (500, 17)


def test_missing_directory_names_the_fetch_command(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        coco_utils.load_coco_data(str(tmp_path / "nowhere"))
    message = str(err.value)
    assert "python data_scripts/get_coco_data.py" in message
    assert "coco2014_captions.h5" in message and "find_coco_data()" in message


def test_incomplete_directory_names_the_missing_file(tmp_path):
    partial = tmp_path / "partial"
    shutil.copytree(SYNTHETIC, partial, ignore=shutil.ignore_patterns("images", "val2014_urls*"))
    with pytest.raises(FileNotFoundError, match="no val2014_urls.txt. "):
        coco_utils.load_coco_data(str(partial))


def test_find_coco_data_falls_back_to_the_synthetic_set(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(coco_utils, "COCO_DIR", str(tmp_path / "coco_captioning"))
    assert coco_utils.find_coco_data() == coco_utils.SYNTHETIC_DIR
    out = capsys.readouterr().out
    assert "synthetic" in out and "python data_scripts/get_coco_data.py" in out
    assert out.count("\n") == 1


def test_find_coco_data_prefers_complete_real_data(tmp_path, monkeypatch, capsys):
    real = tmp_path / "coco_captioning"
    shutil.copytree(SYNTHETIC, real, ignore=shutil.ignore_patterns("images"))
    monkeypatch.setattr(coco_utils, "COCO_DIR", str(real))
    assert coco_utils.find_coco_data() == str(real)
    assert "real COCO" in capsys.readouterr().out


def test_sample_coco_minibatch_draws_with_np_random_choice(data):
    np.random.seed(7)
    captions, features, urls = coco_utils.sample_coco_minibatch(data, batch_size=9, split="val")
    np.random.seed(7)
    mask = np.random.choice(data["val_captions"].shape[0], 9)
    np.testing.assert_array_equal(captions, data["val_captions"][mask])
    images = data["val_image_idxs"][mask]
    np.testing.assert_array_equal(features, data["val_features"][images])
    np.testing.assert_array_equal(urls, data["val_urls"][images])
    assert captions.shape == (9, 17) and features.shape == (9, 512) and urls.shape == (9,)


def test_decode_captions_skips_null_and_stops_before_end():
    idx_to_word = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "red", "circle"]
    one = np.array([1, 4, 0, 5, 6, 2, 4, 4, 0])
    assert coco_utils.decode_captions(one, idx_to_word) == "<START> a red circle"
    two = np.array([[1, 4, 6, 2, 0], [4, 3, 5, 5, 5]])
    assert coco_utils.decode_captions(two, idx_to_word) == [
        "<START> a circle",
        "a <UNK> red red red",
    ]


def test_decode_captions_of_the_synthetic_set_reads_as_english(data):
    text = coco_utils.decode_captions(data["train_captions"][:3], data["idx_to_word"])
    assert all(t.startswith("<START> ") and "<NULL>" not in t for t in text)


def test_max_val_loads_only_the_sampled_validation_images():
    np.random.seed(0)
    data = coco_utils.load_coco_data(str(SYNTHETIC), max_train=10, max_val=7)
    assert data["val_captions"].shape == (7, 17)
    assert data["val_features"].shape[0] <= 7
    assert data["val_image_idxs"].max() < data["val_features"].shape[0]
    assert len(data["val_urls"]) == data["val_features"].shape[0]
