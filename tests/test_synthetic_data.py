"""The committed synthetic mini-COCO set: reproducible, well-formed, learnable."""

import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
from _data_helpers import DATA_SCRIPTS, SYNTHETIC, data_script, source_module
from PIL import Image

from conftest import SOURCE

make = data_script("make_synthetic_coco")
coco_utils = source_module("coco_utils")

BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
H5_FILES = (
    "coco2014_captions.h5",
    "train2014_vgg16_fc7.h5",
    "val2014_vgg16_fc7.h5",
    "train2014_vgg16_fc7_pca.h5",
    "val2014_vgg16_fc7_pca.h5",
)


def read_h5(path):
    with h5py.File(path, "r") as f:
        return {k: f[k][()] for k in f}


def run_single_threaded(args):
    """Run python with args in a child with one BLAS thread (threads only
    slow these small problems down, badly so on a busy machine)."""
    env = {**os.environ, **{v: "1" for v in BLAS_THREADS}}
    done = subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic_coco")
    run_single_threaded([str(DATA_SCRIPTS / "make_synthetic_coco.py"), "--out", str(out)])
    return out


@pytest.fixture(scope="module")
def data():
    return coco_utils.load_coco_data(str(SYNTHETIC))


def test_regenerating_gives_the_committed_set(regenerated):
    for name in ("coco2014_vocab.json", "train2014_urls.txt", "val2014_urls.txt"):
        assert (regenerated / name).read_bytes() == (SYNTHETIC / name).read_bytes(), name
    for name in H5_FILES:
        new, old = read_h5(regenerated / name), read_h5(SYNTHETIC / name)
        assert new.keys() == old.keys()
        for key in new:
            assert new[key].dtype == old[key].dtype and new[key].shape == old[key].shape
            if new[key].dtype.kind == "f":
                # bit-identical with the same BLAS; another BLAS may move the
                # last rounding step of a few values
                np.testing.assert_allclose(new[key], old[key], rtol=1e-2, atol=1 / 16)
            else:
                np.testing.assert_array_equal(new[key], old[key], err_msg=f"{name}:{key}")
    old_images = sorted(p.name for p in (SYNTHETIC / "images").iterdir())
    assert sorted(p.name for p in (regenerated / "images").iterdir()) == old_images
    for name in old_images[::50]:
        np.testing.assert_array_equal(
            np.asarray(Image.open(regenerated / "images" / name)),
            np.asarray(Image.open(SYNTHETIC / "images" / name)),
        )


def test_files_keys_and_dtypes_match_the_real_data():
    captions = read_h5(SYNTHETIC / "coco2014_captions.h5")
    assert set(captions) == {"train_captions", "train_image_idxs", "val_captions", "val_image_idxs"}
    assert all(v.dtype == np.int32 for v in captions.values())
    for split in ("train", "val"):
        fc7 = read_h5(SYNTHETIC / f"{split}2014_vgg16_fc7.h5")["features"]
        pca = read_h5(SYNTHETIC / f"{split}2014_vgg16_fc7_pca.h5")["features"]
        assert fc7.dtype == pca.dtype == np.float32
        assert fc7.shape[1] == 4096 and pca.shape[1] == 512 and fc7.shape[0] == pca.shape[0]
        assert fc7.min() >= 0 and (fc7 == 0).mean() > 0.8  # fc7-like: ReLU, mostly zero
    vocab = json.loads((SYNTHETIC / "coco2014_vocab.json").read_text())
    assert vocab["idx_to_word"][:4] == ["<NULL>", "<START>", "<END>", "<UNK>"]


def test_captions_are_start_words_end_then_null(data):
    for split in ("train", "val"):
        captions = data[f"{split}_captions"]
        assert np.all(captions[:, 0] == 1)
        ends = np.argmax(captions == 2, axis=1)
        assert np.all(ends >= 2) and np.all(captions[np.arange(len(captions)), ends] == 2)
        after_end = np.arange(17)[None, :] > ends[:, None]
        assert np.all((captions == 0) == after_end)
        assert not np.any(captions[:, 1:] == 1)  # <START> only at the start


def test_about_five_captions_per_picture_and_pictures_on_disk(data):
    for split in ("train", "val"):
        counts = np.bincount(data[f"{split}_image_idxs"])
        assert len(counts) == data[f"{split}_features"].shape[0] and np.all(counts == 5)
    img = np.asarray(Image.open(data["val_urls"][0]))
    assert img.shape == (48, 48, 3) and img.dtype == np.uint8


def test_the_folder_stays_small():
    size = sum(p.stat().st_size for p in SYNTHETIC.rglob("*") if p.is_file())
    assert size < 4_000_000


def _single_object_labels(data, split):
    """(picture, colour, shape, position) read from the captions of the
    pictures with one shape, using the first caption of each picture."""
    idx_to_word = data["idx_to_word"]
    position_words = {"left", "right", "top", "bottom", "middle", "center"}
    labels = {}
    for caption, image in zip(data[f"{split}_captions"], data[f"{split}_image_idxs"]):
        words = [idx_to_word[i] for i in caption]
        shapes = [w for w in words if w in make.SHAPES]
        colours = [w for w in words if w in make.COLOURS]
        where = [w for w in words if w in position_words]
        if image in labels or len(shapes) != 1 or len(colours) != 1 or len(where) != 1:
            continue
        labels[image] = (colours[0], shapes[0], where[0].replace("center", "middle"))
    images = np.array(sorted(labels))
    return images, [labels[i] for i in images]


def test_scene_content_is_linearly_readable_from_the_features(data):
    """A ridge regression from the PCA features recovers the colour, shape and
    position of single-shape pictures of the validation split."""
    train_images, train_labels = _single_object_labels(data, "train")
    val_images, val_labels = _single_object_labels(data, "val")
    X, Xv = data["train_features"][train_images], data["val_features"][val_images]
    for attribute in range(3):
        classes = sorted({label[attribute] for label in train_labels})
        Y = np.array([[label[attribute] == c for c in classes] for label in train_labels])
        W = np.linalg.solve(X.T @ X + 10 * np.eye(X.shape[1]), X.T @ Y)
        predicted = np.array(classes)[(Xv @ W).argmax(axis=1)]
        accuracy = np.mean(predicted == np.array([label[attribute] for label in val_labels]))
        assert accuracy > 0.9, (attribute, accuracy)


OVERFIT = """
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from captioning.captioning_solver import CaptioningSolver
from captioning.coco_utils import SYNTHETIC_DIR, load_coco_data
from captioning.rnn import CaptioningRNN

np.random.seed(231)
small = load_coco_data(SYNTHETIC_DIR, max_train=50)
model = CaptioningRNN(small["word_to_idx"], input_dim=512, wordvec_dim=256,
                      hidden_dim=512, cell_type="rnn", dtype=np.float32)
solver = CaptioningSolver(model, small, update_rule="adam", num_epochs=50,
                          batch_size=25, optim_config={"learning_rate": 5e-3},
                          lr_decay=0.95, verbose=False)
solver.train()
print(solver.loss_history[0], solver.loss_history[-1])
"""


@pytest.mark.timeout(250)
def test_overfitting_recipe_of_the_notebook_reaches_its_target():
    """The classic notebooks' overfit recipe with the reference vanilla RNN (a few seconds):
    the loss falls from about 35 to under 0.1."""
    first, last = map(float, run_single_threaded(["-c", OVERFIT, str(SOURCE)]).split())
    assert first > 20
    assert last < 0.1
