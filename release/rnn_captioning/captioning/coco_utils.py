"""Loading the COCO captioning data, provided in full.

Two data sets have the same files, keys, dtypes and special tokens:

- the real Microsoft COCO captions with VGG-16 fc7 image features, about
  1 GB, fetched by ``python data_scripts/get_coco_data.py`` into COCO_DIR;
- a small synthetic stand-in shipped with the assignment in SYNTHETIC_DIR:
  rendered pictures of coloured shapes with captions that describe them,
  enough to train, overfit, sample and score a model offline.

``find_coco_data()`` returns the real data when it is there and the
synthetic set otherwise.

Files of a data directory:
- coco2014_captions.h5: train_captions (M, 17) int32, train_image_idxs (M,)
  int32, and the same for val; caption i describes image train_image_idxs[i]
- coco2014_vocab.json: idx_to_word (list) and word_to_idx (dict);
  <NULL>=0, <START>=1, <END>=2, <UNK>=3
- train2014_vgg16_fc7.h5, val2014_vgg16_fc7.h5: dataset features (N, 4096)
- train2014_vgg16_fc7_pca.h5, val2014_vgg16_fc7_pca.h5: features (N, 512)
- train2014_urls.txt, val2014_urls.txt: one image URL (or path) a line
"""

import json
import os

import h5py
import numpy as np

ASSIGNMENT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COCO_DIR = os.path.join(ASSIGNMENT_DIR, "datasets", "coco_captioning")
SYNTHETIC_DIR = os.path.join(ASSIGNMENT_DIR, "datasets", "synthetic_coco")

GET_DATA_COMMAND = "python data_scripts/get_coco_data.py"

CAPTIONS_FILE = "coco2014_captions.h5"
VOCAB_FILE = "coco2014_vocab.json"
DATA_FILES = (
    CAPTIONS_FILE,
    VOCAB_FILE,
    "train2014_vgg16_fc7.h5",
    "val2014_vgg16_fc7.h5",
    "train2014_vgg16_fc7_pca.h5",
    "val2014_vgg16_fc7_pca.h5",
    "train2014_urls.txt",
    "val2014_urls.txt",
)

# Rows read from an HDF5 file per call: bounds the size of one h5py selection.
_ROWS_PER_READ = 4096


def _missing_files(base_dir, names=DATA_FILES):
    """Names of the data files that base_dir lacks (all of them if it is absent)."""
    return [name for name in names if not os.path.isfile(os.path.join(base_dir, name))]


def find_coco_data():
    """Return the directory of the data to use, and say which one it is.

    Returns:
    - COCO_DIR if it holds every file of the real data, else SYNTHETIC_DIR
    """
    if not _missing_files(COCO_DIR):
        print(f"Using the real COCO captioning data in {COCO_DIR}")
        return COCO_DIR
    print(
        "Using the small synthetic COCO stand-in; "
        f"`{GET_DATA_COMMAND}` fetches the real data (about 1 GB)"
    )
    return SYNTHETIC_DIR


def _read_rows(dataset, rows):
    """Read the given rows of an HDF5 dataset.

    Inputs:
    - dataset: an h5py dataset of shape (R, ...)
    - rows: sorted, unique integer array of shape (K,), values in [0, R)

    Returns:
    - array of shape (K, ...), the rows in the order given

    Only the wanted rows are read (h5py point selections of at most
    _ROWS_PER_READ rows each), so memory and time follow K, not R.
    """
    out = np.empty((len(rows),) + dataset.shape[1:], dtype=dataset.dtype)
    for start in range(0, len(rows), _ROWS_PER_READ):
        stop = start + _ROWS_PER_READ
        out[start:stop] = dataset[rows[start:stop]]
    return out


def _read_urls(path, base_dir):
    """Read a url file; paths relative to base_dir become absolute paths.

    Returns:
    - numpy array of str, shape (N,)
    """
    with open(path, encoding="utf-8") as f:
        urls = [line.strip() for line in f]
    for i, url in enumerate(urls):
        if url and "://" not in url and not os.path.isabs(url):
            urls[i] = os.path.abspath(os.path.join(base_dir, url))
    return np.asarray(urls)


def _load_split(f_captions, base_dir, split, caption_rows, pca_features):
    """Captions, image indices, features and urls of one split.

    Inputs:
    - f_captions: the open coco2014_captions.h5
    - base_dir: the data directory
    - split: 'train' or 'val'
    - caption_rows: None to keep every caption, or an integer array (K,) of
      the caption rows to keep, in the order wanted (repeats allowed)
    - pca_features: read the 512-column PCA features instead of fc7

    Returns:
    - dict with the keys {split}_captions (K, 17), {split}_image_idxs (K,),
      {split}_features (I, D), {split}_urls (I,); the image indices index
      into the features and urls returned
    """
    suffix = "_pca" if pca_features else ""
    feature_file = os.path.join(base_dir, f"{split}2014_vgg16_fc7{suffix}.h5")
    urls = _read_urls(os.path.join(base_dir, f"{split}2014_urls.txt"), base_dir)

    captions_ds = f_captions[f"{split}_captions"]
    idxs_ds = f_captions[f"{split}_image_idxs"]
    with h5py.File(feature_file, "r") as f:
        features_ds = f["features"]
        if caption_rows is None:
            captions = captions_ds[()]
            image_idxs = idxs_ds[()]
            features = features_ds[()]
        else:
            rows, inverse = np.unique(caption_rows, return_inverse=True)
            captions = _read_rows(captions_ds, rows)[inverse]
            image_idxs = _read_rows(idxs_ds, rows)[inverse]
            # Keep only the images these captions describe, and renumber.
            images, image_idxs = np.unique(image_idxs, return_inverse=True)
            features = _read_rows(features_ds, images)
            urls = urls[images]
    return {
        f"{split}_captions": captions,
        f"{split}_image_idxs": image_idxs.astype(np.int32),
        f"{split}_features": features,
        f"{split}_urls": urls,
    }


def load_coco_data(base_dir=COCO_DIR, max_train=None, pca_features=True, max_val=None):
    """Load a COCO captioning data directory.

    Inputs:
    - base_dir: the data directory; find_coco_data() picks one
    - max_train: if given, keep this many training captions drawn at random
      (with repeats) by np.random.randint; only the images they describe are
      loaded, and train_image_idxs is renumbered to index into them
    - pca_features: load the 512-dimensional PCA of the fc7 features
      (default) instead of the 4096-dimensional fc7 features
    - max_val: the same as max_train for the validation captions; by default
      all of them are loaded, as in the classic loader (633 MB of fc7
      features on the real data)

    Returns a dict with:
    - train_captions: (M, T) int32, T = 17, word indices padded with <NULL>
    - train_image_idxs: (M,) int32, row of train_features for each caption
    - train_features: (N, D) float32, D = 512 or 4096
    - train_urls: (N,) str, the image of each row of train_features
    - val_captions, val_image_idxs, val_features, val_urls: the same for val
    - idx_to_word: list of the V words; word_to_idx: dict from word to index
    """
    missing = _missing_files(base_dir)
    if missing:
        raise FileNotFoundError(
            f"The COCO captioning data in {base_dir} is missing or incomplete: "
            f"no {', '.join(missing)}. Fetch the real data with `{GET_DATA_COMMAND}`, "
            "or load the synthetic stand-in with load_coco_data(find_coco_data())."
        )

    data = {}
    with open(os.path.join(base_dir, VOCAB_FILE), encoding="utf-8") as f:
        vocab = json.load(f)
    data["idx_to_word"] = vocab["idx_to_word"]
    data["word_to_idx"] = vocab["word_to_idx"]

    with h5py.File(os.path.join(base_dir, CAPTIONS_FILE), "r") as f:
        train_rows = None
        if max_train is not None:
            num_train = f["train_captions"].shape[0]
            train_rows = np.random.randint(num_train, size=max_train)
        data.update(_load_split(f, base_dir, "train", train_rows, pca_features))
        val_rows = None
        if max_val is not None:
            val_rows = np.random.randint(f["val_captions"].shape[0], size=max_val)
        data.update(_load_split(f, base_dir, "val", val_rows, pca_features))
    return data


def decode_captions(captions, idx_to_word):
    """Turn captions of word indices into strings.

    Inputs:
    - captions: int array of shape (T,) for one caption or (N, T) for N
    - idx_to_word: list (or dict) from index to word

    Returns:
    - a str for one caption, a list of N str for N; <NULL> is skipped and
      each caption stops before its first <END>
    """
    singleton = captions.ndim == 1
    if singleton:
        captions = captions[None]
    decoded = []
    for caption in captions:
        words = []
        for idx in caption:
            word = idx_to_word[int(idx)]
            if word == "<END>":
                break
            if word != "<NULL>":
                words.append(word)
        decoded.append(" ".join(words))
    return decoded[0] if singleton else decoded


def sample_coco_minibatch(data, batch_size=100, split="train"):
    """Draw a random minibatch of captions with their image features.

    Inputs:
    - data: a dict as returned by load_coco_data
    - batch_size: number of captions B, drawn with np.random.choice
    - split: 'train' or 'val'

    Returns a tuple of:
    - captions: (B, T) int32
    - image_features: (B, D), the features of the image of each caption
    - urls: (B,) str, the image of each caption
    """
    split_size = data[f"{split}_captions"].shape[0]
    mask = np.random.choice(split_size, batch_size)
    captions = data[f"{split}_captions"][mask]
    image_idxs = data[f"{split}_image_idxs"][mask]
    image_features = data[f"{split}_features"][image_idxs]
    urls = data[f"{split}_urls"][image_idxs]
    return captions, image_features, urls
