"""Generate the synthetic mini-COCO captioning data set, deterministically.

    python data_scripts/make_synthetic_coco.py            # the committed set
    python data_scripts/make_synthetic_coco.py --out DIR  # somewhere else
    python data_scripts/make_synthetic_coco.py --full-size --out /tmp/full

Each 48x48 picture shows one or two coloured shapes (circle, square,
triangle, cross; six colours; small or big; left, right, top, bottom or
middle) on a grey background, with five captions that describe it, e.g.
"<START> a big red circle on the left <END>". The files, keys, dtypes and
special tokens are those of the real COCO captioning files:

- coco2014_captions.h5: {train,val}_captions (M, 17) int32 padded with
  <NULL>, {train,val}_image_idxs (M,) int32
- coco2014_vocab.json: idx_to_word, word_to_idx; <NULL>=0, <START>=1,
  <END>=2, <UNK>=3; words seen fewer than MIN_WORD_COUNT times in the
  training captions become <UNK>, as in the real preprocessing
- {train,val}2014_vgg16_fc7.h5: features (N, 4096) float32, fc7-like
  (non-negative, about 90% zeros)
- {train,val}2014_vgg16_fc7_pca.h5: features (N, 512) float32, a PCA of the
  fc7 features fitted on train
- {train,val}2014_urls.txt: image paths relative to the data directory
  (load_coco_data makes them absolute)
- images/{train,val}_NNNNN.png: the pictures

The features are computed from the pixels only: hand-crafted colour,
coverage and edge-orientation histograms pooled over a spatial pyramid of
regions, passed through a fixed random ReLU expansion to 4096 dimensions
(the "fc7"), then PCA to 512 dimensions. Scene content is linearly readable
from them, so a captioning RNN can really learn the task.

Each picture has its own usual wording, shared by about 90% of its
captions. Were all five captions worded independently, the 50 captions of
the overfit recipe would often hold two different captions of one picture
(1000 pictures, not COCO's 82783), whose first differing word no model can
predict: the loss could not go under 0.1.

Same seed, same output: arrays, JSON and url lists are identical on every
run (HDF5 files are written without timestamps).

TRAINING_RECIPE (reference solution; numpy 2.4, OpenBLAS, one thread):

    np.random.seed(231)
    data = load_coco_data(SYNTHETIC_DIR)             # all 5000 train captions
    model = CaptioningRNN(data["word_to_idx"], input_dim=512, wordvec_dim=128,
                          hidden_dim=256, cell_type="lstm", dtype=np.float32)
    solver = CaptioningSolver(model, data, update_rule="adam", num_epochs=3,
                              batch_size=50, optim_config={"learning_rate": 5e-3},
                              lr_decay=0.9, verbose=False)   # 300 iterations
    solver.train()
    evaluate_model(model, data, num_samples=500)

  measured (seeds 231 and 0): 20 to 40 s of training on a busy 2-core
  machine; average unigram BLEU train 0.94 to 0.95, val 0.69 to 0.70; the
  untrained model scores 0.07 to 0.10. With cell_type="rnn": about 11 s,
  val 0.68.

Overfit recipe (the classic notebooks'): np.random.seed(231); load_coco_data(SYNTHETIC_DIR,
max_train=50); wordvec 256, hidden 512, float32, Adam lr 5e-3, lr_decay 0.95,
batch 25, 50 epochs. Measured final losses: RNN 0.022 to 0.053 over 13
seeds (231, 0-11), LSTM 0.068 to 0.113 over 4 seeds (231, 0-2).
"""

import argparse
import json
import os
import sys
from collections import Counter

import h5py
import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(
    os.path.dirname(HERE), "source", "rnn_captioning", "datasets", "synthetic_coco"
)

SEED = 2014
NUM_TRAIN_IMAGES = 1000
NUM_VAL_IMAGES = 200
CAPTIONS_PER_IMAGE = 5
CAPTION_LENGTH = 17  # <START>, up to 15 words, <END>, then <NULL> padding
IMAGE_SIZE = 48
SUPERSAMPLE = 4  # shapes are drawn at 4x resolution and averaged down
FC7_DIM = 4096
PCA_DIM = 512
MIN_WORD_COUNT = 8
RARE_WORD_PROB = 0.005  # a colour named by a rare word, which becomes <UNK>
VARIANT_PROB = 0.1  # a caption worded differently from its picture's usual wording
SPECIAL_TOKENS = ["<NULL>", "<START>", "<END>", "<UNK>"]

COLOURS = {
    "red": (215, 45, 45),
    "green": (50, 170, 70),
    "blue": (45, 90, 225),
    "yellow": (235, 215, 45),
    "purple": (145, 65, 195),
    "orange": (240, 135, 35),
}
# Rare wordings: they end up as <UNK>, like the rare words of real captions.
RARE_COLOUR_WORDS = {
    "red": "crimson",
    "green": "lime",
    "blue": "azure",
    "yellow": "golden",
    "purple": "violet",
    "orange": "amber",
}
SHAPES = ("circle", "square", "triangle", "cross")
SIZE_WORDS = {
    "small": (("small", 14), ("little", 4), ("tiny", 1)),
    "big": (("big", 14), ("large", 4), ("huge", 1)),
}
SIZE_RADIUS = {"small": (0.10, 0.13), "big": (0.19, 0.23)}  # fraction of the image
POSITIONS = {  # centre, as fractions of the image
    "left": (0.28, 0.5),
    "right": (0.72, 0.5),
    "top": (0.5, 0.28),
    "bottom": (0.5, 0.72),
    "middle": (0.5, 0.5),
}
POSITION_PHRASES = {
    "left": (("on the left", 8), ("on the left side", 2), ("to the left", 1)),
    "right": (("on the right", 8), ("on the right side", 2), ("to the right", 1)),
    "top": (("at the top", 8), ("near the top", 2)),
    "bottom": (("at the bottom", 8), ("near the bottom", 2)),
    "middle": (("in the middle", 8), ("in the center", 3)),
}
# Caption templates and their weights ("a" becomes "an" before a vowel).
ONE_OBJECT_TEMPLATES = (
    ("a {size} {colour} {shape} {where}", 8),
    ("a {colour} {shape} {where}", 2),
    ("there is a {size} {colour} {shape} {where}", 2),
    ("a {size} {colour} {shape} {where} of the image", 1),
    ("an image of a {size} {colour} {shape} {where}", 1),
)
SIDE_BY_SIDE_TEMPLATES = (
    ("a {size} {colour} {shape} and a {size2} {colour2} {shape2}", 6),
    ("a {size} {colour} {shape} next to a {size2} {colour2} {shape2}", 2),
    ("a {colour} {shape} to the left of a {colour2} {shape2}", 2),
    ("a {colour} {shape} on the left and a {colour2} {shape2} on the right", 2),
    ("two shapes a {colour} {shape} and a {colour2} {shape2}", 1),
)
STACKED_TEMPLATES = (
    ("a {size} {colour} {shape} and a {size2} {colour2} {shape2}", 6),
    ("a {size} {colour} {shape} above a {size2} {colour2} {shape2}", 3),
    ("a {colour} {shape} at the top and a {colour2} {shape2} at the bottom", 2),
    ("a {colour2} {shape2} below a {colour} {shape}", 1),
    ("two shapes a {colour} {shape} above a {colour2} {shape2}", 1),
)


def _choose(rng, weighted):
    """Pick one item of ((item, weight), ...) at random."""
    weights = np.array([w for _, w in weighted], dtype=np.float64)
    return weighted[rng.choice(len(weighted), p=weights / weights.sum())][0]


# ---------------------------------------------------------------- scenes


def sample_scene(rng):
    """Draw a random scene.

    Returns:
    - dict with 'layout' ('single', 'side_by_side' or 'stacked') and
      'objects', a list of one or two dicts with keys colour, shape, size,
      position, rgb (3 ints), cx, cy, r (in pixels); for two objects the first
      is the left (or top) one
    """
    u = rng.random()
    layout = "single" if u < 0.6 else ("side_by_side" if u < 0.8 else "stacked")
    if layout == "single":
        positions = [str(rng.choice(list(POSITIONS)))]
    elif layout == "side_by_side":
        positions = ["left", "right"]
    else:
        positions = ["top", "bottom"]

    objects = []
    while len(objects) < len(positions):
        colour = str(rng.choice(list(COLOURS)))
        shape = str(rng.choice(SHAPES))
        if any(o["colour"] == colour and o["shape"] == shape for o in objects):
            continue
        objects.append({"colour": colour, "shape": shape})

    for obj, position in zip(objects, positions):
        size = str(rng.choice(list(SIZE_RADIUS)))
        cx, cy = POSITIONS[position]
        if layout == "side_by_side":
            cy += rng.uniform(-0.1, 0.1)
        elif layout == "stacked":
            cx += rng.uniform(-0.1, 0.1)
        jitter = rng.uniform(-0.04, 0.04, size=2)
        rgb = np.clip(np.array(COLOURS[obj["colour"]]) + rng.integers(-20, 21, size=3), 0, 255)
        obj.update(
            size=size,
            position=position,
            rgb=[int(c) for c in rgb],
            cx=(cx + jitter[0]) * IMAGE_SIZE,
            cy=(cy + jitter[1]) * IMAGE_SIZE,
            r=rng.uniform(*SIZE_RADIUS[size]) * IMAGE_SIZE,
        )
    return {
        "layout": layout,
        "objects": objects,
        "background": int(rng.integers(30, 96)),
    }


def _shape_mask(shape, dx, dy, r):
    """Boolean mask of a shape centred at 0, at pixel offsets dx, dy."""
    if shape == "circle":
        return dx**2 + dy**2 <= r**2
    if shape == "square":
        return np.maximum(np.abs(dx), np.abs(dy)) <= 0.85 * r
    if shape == "triangle":  # apex at the top
        t = (dy + r) / (1.8 * r)
        return (t >= 0) & (t <= 1) & (np.abs(dx) <= t * r)
    if shape == "cross":
        arm = r / 3
        return ((np.abs(dx) <= arm) & (np.abs(dy) <= r)) | ((np.abs(dy) <= arm) & (np.abs(dx) <= r))
    raise ValueError(shape)


def _coverage(obj):
    """Fraction of each pixel that a shape covers, by supersampling.

    Returns:
    - float array of shape (IMAGE_SIZE, IMAGE_SIZE), values in [0, 1]
    """
    cover = np.zeros((IMAGE_SIZE, IMAGE_SIZE))
    # Only the pixels of the shape's bounding box are sampled.
    x0, y0 = (max(int(obj[c] - obj["r"]) - 1, 0) for c in ("cx", "cy"))
    x1, y1 = (min(int(obj[c] + obj["r"]) + 2, IMAGE_SIZE) for c in ("cx", "cy"))
    sub = (np.arange(SUPERSAMPLE) + 0.5) / SUPERSAMPLE
    xs = (np.arange(x0, x1)[:, None] + sub).ravel()
    ys = (np.arange(y0, y1)[:, None] + sub).ravel()
    mask = _shape_mask(obj["shape"], xs[None, :] - obj["cx"], ys[:, None] - obj["cy"], obj["r"])
    shape = (y1 - y0, SUPERSAMPLE, x1 - x0, SUPERSAMPLE)
    cover[y0:y1, x0:x1] = mask.reshape(shape).mean(axis=(1, 3))
    return cover


def render(scene):
    """Draw a scene.

    Returns:
    - uint8 array of shape (IMAGE_SIZE, IMAGE_SIZE, 3)
    """
    ys = (np.arange(IMAGE_SIZE) + 0.5) / IMAGE_SIZE
    # A gentle vertical gradient makes the grey background look less flat.
    shade = scene["background"] + 12 * (ys - 0.5)
    canvas = np.repeat(np.repeat(shade[:, None, None], IMAGE_SIZE, axis=1), 3, axis=2)
    for obj in scene["objects"]:
        alpha = _coverage(obj)[:, :, None]
        canvas = (1 - alpha) * canvas + alpha * np.array(obj["rgb"], dtype=np.float64)
    return np.clip(np.round(canvas), 0, 255).astype(np.uint8)


def _caption(scene, rng):
    """One caption of a scene in randomly chosen words: a list of words."""

    def words_of(obj):
        colour = obj["colour"]
        if rng.random() < RARE_WORD_PROB:
            colour = RARE_COLOUR_WORDS[colour]
        return _choose(rng, SIZE_WORDS[obj["size"]]), colour

    templates = {
        "single": ONE_OBJECT_TEMPLATES,
        "side_by_side": SIDE_BY_SIDE_TEMPLATES,
        "stacked": STACKED_TEMPLATES,
    }[scene["layout"]]
    template = _choose(rng, templates)
    first = scene["objects"][0]
    size, colour = words_of(first)
    fields = {"size": size, "colour": colour, "shape": first["shape"]}
    fields["where"] = _choose(rng, POSITION_PHRASES[first["position"]])
    if len(scene["objects"]) == 2:
        size2, colour2 = words_of(scene["objects"][1])
        fields.update(size2=size2, colour2=colour2, shape2=scene["objects"][1]["shape"])
    words = template.format(**fields).split()
    for i in range(len(words) - 1):
        if words[i] == "a" and words[i + 1][0] in "aeiou":
            words[i] = "an"
    assert len(words) <= CAPTION_LENGTH - 2, words
    return words


def describe(scene, rng, num_captions=CAPTIONS_PER_IMAGE):
    """Write the captions of a scene.

    Each picture has its own wording (like the style of one annotator) that
    most of its captions share; the others are worded afresh. Few captions
    of one picture differ, so a model can fit a small sample of captions
    exactly (see the overfit recipe), while the wording varies across pictures.

    Returns:
    - list of num_captions captions, each a list of at most 15 words
    """
    style = _caption(scene, rng)
    return [
        _caption(scene, rng) if rng.random() < VARIANT_PROB else list(style)
        for _ in range(num_captions)
    ]


# -------------------------------------------------------------- features


def _soft_bins(values, num_bins, period):
    """Soft assignment of periodic values to num_bins bins (linear interpolation).

    Inputs:
    - values: float array of any shape S, in [0, period)

    Returns:
    - float array of shape S + (num_bins,), each row summing to 1
    """
    pos = values / period * num_bins - 0.5
    lo = np.floor(pos)
    frac = (pos - lo)[..., None]
    bins = np.arange(num_bins)
    lo = (lo.astype(int) % num_bins)[..., None]
    return (1 - frac) * (lo == bins) + frac * ((lo + 1) % num_bins == bins)


def _regions():
    """The pooling regions: whole image, halves, centre, 3x3 grid.

    Returns:
    - list of (row slice, column slice)
    """
    s = IMAGE_SIZE
    h, t = s // 2, s // 3
    full = slice(0, s)
    regions = [(full, full), (full, slice(0, h)), (full, slice(h, s))]
    regions += [(slice(0, h), full), (slice(h, s), full), (slice(t, 2 * t), slice(t, 2 * t))]
    cells = [slice(0, t), slice(t, 2 * t), slice(2 * t, s)]
    regions += [(r, c) for r in cells for c in cells]
    return regions


def pixel_descriptors(images):
    """Hand-crafted descriptors of pictures, computed from their pixels.

    - the mean brightness of a 6x6 grid of cells;
    - for the coloured pixels as a whole: the centre and spread of their
      positions, their amount, their hue histogram (12 bins) and edge
      orientation histogram (8 bins over 180 degrees), both normalised so
      that a small shape weighs as much as a big one;
    - per pooling region: hue histogram, amount of colour, edge histogram and
      mean colour.
    Histograms and amounts go through a square root, which evens out their
    dynamic range.

    Inputs:
    - images: uint8 array (N, H, W, 3)

    Returns:
    - float64 array of shape (N, 393)
    """
    n = len(images)
    rgb = images.astype(np.float64) / 255
    top, bottom = rgb.max(axis=3), rgb.min(axis=3)
    saturation = (top - bottom) / np.maximum(top, 1e-6)
    coloured = np.clip((saturation - 0.2) / 0.3, 0, 1)  # soft foreground mask, (N, H, W)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    hue = np.arctan2(np.sqrt(3) * (g - b), 2 * r - g - b) % (2 * np.pi)
    hue_hist = _soft_bins(hue, 12, 2 * np.pi) * coloured[..., None]  # (N, H, W, 12)

    gy, gx = np.gradient(coloured, axis=(1, 2))
    magnitude = np.hypot(gx, gy)
    angle = np.arctan2(gy, gx) % np.pi
    edge_hist = _soft_bins(angle, 8, np.pi) * magnitude[..., None]  # (N, H, W, 8)

    cell = IMAGE_SIZE // 6
    luminance = rgb.mean(axis=3).reshape(n, 6, cell, 6, cell).mean(axis=(2, 4))

    mass = coloured.sum(axis=(1, 2)) + 1e-6
    ys, xs = (np.mgrid[:IMAGE_SIZE, :IMAGE_SIZE] + 0.5) / IMAGE_SIZE
    cx = (coloured * xs).sum(axis=(1, 2)) / mass
    cy = (coloured * ys).sum(axis=(1, 2)) / mass
    sx = np.sqrt((coloured * (xs - cx[:, None, None]) ** 2).sum(axis=(1, 2)) / mass)
    sy = np.sqrt((coloured * (ys - cy[:, None, None]) ** 2).sum(axis=(1, 2)) / mass)
    edges = magnitude.sum(axis=(1, 2)) + 1e-6
    parts = [
        luminance.reshape(n, -1),
        np.stack([cx, cy, sx, sy, np.sqrt(mass / IMAGE_SIZE**2)], axis=1),
        np.sqrt(hue_hist.sum(axis=(1, 2)) / mass[:, None]),
        np.sqrt(edge_hist.sum(axis=(1, 2)) / edges[:, None]),
    ]
    for rows, cols in _regions():
        area = coloured[0, rows, cols].size
        parts.append(np.sqrt(hue_hist[:, rows, cols].sum(axis=(1, 2)) / area))
        parts.append(np.sqrt(coloured[:, rows, cols].mean(axis=(1, 2)))[:, None])
        parts.append(np.sqrt(edge_hist[:, rows, cols].sum(axis=(1, 2)) / area))
        parts.append(rgb[:, rows, cols].mean(axis=(1, 2)))
    return np.concatenate(parts, axis=1)


def _round_mantissa(x, keep_bits):
    """Round float32 values to keep_bits bits of mantissa, so that they compress.

    Returns:
    - float32 array of the shape of x
    """
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    drop = 23 - keep_bits
    rounded = (bits + np.uint32(1 << (drop - 1))) & np.uint32(~((1 << drop) - 1) & 0xFFFFFFFF)
    return rounded.view(np.float32)


def compute_features(train_images, val_images, rng):
    """fc7-like and PCA features of the pictures.

    Inputs:
    - train_images: uint8 (N_train, H, W, 3); val_images: (N_val, H, W, 3)
    - rng: numpy Generator for the fixed random expansion

    Returns:
    - dict with train_fc7 (N_train, 4096), val_fc7 (N_val, 4096),
      train_pca (N_train, 512), val_pca (N_val, 512), all float32; the
      standardisation and the PCA are fitted on train only
    """

    def describe_pixels(images, batch=100):
        return np.concatenate(
            [pixel_descriptors(images[i : i + batch]) for i in range(0, len(images), batch)]
        )

    train_desc, val_desc = describe_pixels(train_images), describe_pixels(val_images)
    mean, std = train_desc.mean(axis=0), train_desc.std(axis=0) + 1e-3

    def standardise(desc):
        # Per dimension, then per picture: every picture gets the same norm.
        desc = (desc - mean) / std
        return desc / np.linalg.norm(desc, axis=1, keepdims=True) * np.sqrt(desc.shape[1])

    train_desc, val_desc = standardise(train_desc), standardise(val_desc)

    # A fixed random ReLU layer; the negative bias makes ~90% of units zero.
    d = train_desc.shape[1]
    weights = rng.standard_normal((d, FC7_DIM)) / np.sqrt(d)
    bias = -1.4 + 0.1 * rng.standard_normal(FC7_DIM)

    def fc7(desc):
        out = np.maximum(desc @ weights + bias, 0) * 2.0
        # Multiples of 1/16: the shuffle + gzip filters then compress well.
        return (np.round(out * 16) / 16).astype(np.float32)

    train_fc7, val_fc7 = fc7(train_desc), fc7(val_desc)

    # PCA through the eigenvectors of the (N_train, N_train) Gram matrix,
    # much cheaper than an SVD of the (N_train, 4096) data.
    centre = train_fc7.astype(np.float64).mean(axis=0)
    centred = train_fc7 - centre
    eigvals, eigvecs = np.linalg.eigh(centred @ centred.T)
    top = np.argsort(eigvals)[::-1][:PCA_DIM]
    components = (centred.T @ eigvecs[:, top] / np.sqrt(eigvals[top])).T
    # Fix the sign of each component so that the output is reproducible.
    signs = np.sign(components[np.arange(PCA_DIM), np.abs(components).argmax(axis=1)])
    components *= signs[:, None]
    # Half-whitening: each component is divided by the square root of its
    # standard deviation, which flattens the spectrum (distinct images get
    # more distinct features), then all by one scale for unit mean variance.
    std = ((train_fc7 - centre) @ components.T).std(axis=0)
    components /= np.sqrt(std)[:, None]
    scale = 1.0 / np.sqrt(np.mean(std))

    def pca(x):
        return _round_mantissa(((x - centre) @ components.T) * scale, 8)

    return {
        "train_fc7": train_fc7,
        "val_fc7": val_fc7,
        "train_pca": pca(train_fc7),
        "val_pca": pca(val_fc7),
    }


# ----------------------------------------------------------------- output


def build_vocab(train_captions):
    """Vocabulary of the training captions, most frequent words first.

    Returns:
    - idx_to_word: list; the four special tokens, then every word seen at
      least MIN_WORD_COUNT times, by decreasing count then alphabetically
    """
    counts = Counter(w for caption in train_captions for w in caption)
    kept = [w for w, c in counts.items() if c >= MIN_WORD_COUNT]
    kept.sort(key=lambda w: (-counts[w], w))
    return SPECIAL_TOKENS + kept


def encode_captions(captions, word_to_idx):
    """Captions as an int32 array (M, 17): <START> words <END> <NULL>..."""
    out = np.zeros((len(captions), CAPTION_LENGTH), dtype=np.int32)
    unk = word_to_idx["<UNK>"]
    for i, words in enumerate(captions):
        ids = [word_to_idx["<START>"]] + [word_to_idx.get(w, unk) for w in words]
        ids.append(word_to_idx["<END>"])
        out[i, : len(ids)] = ids
    return out


def _write_h5(path, arrays, compress=True):
    """Write arrays to an HDF5 file reproducibly (no timestamps)."""
    with h5py.File(path, "w", libver="earliest", track_order=False) as f:
        for name, array in arrays.items():
            options = {"compression": "gzip", "compression_opts": 6, "shuffle": True}
            f.create_dataset(name, data=array, track_times=False, **(options if compress else {}))


def _write_lines(path, lines):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(line + "\n" for line in lines)


def make_split(rng, num_images, prefix):
    """Scenes, pictures and captions of one split.

    Returns:
    - images: uint8 (num_images, H, W, 3)
    - captions: list of word lists, CAPTIONS_PER_IMAGE per image, shuffled
    - image_idxs: int32 (num_images * CAPTIONS_PER_IMAGE,), image of each caption
    - names: list of the image file names
    """
    scenes = [sample_scene(rng) for _ in range(num_images)]
    images = np.stack([render(s) for s in scenes])
    captions, image_idxs = [], []
    for i, scene in enumerate(scenes):
        for words in describe(scene, rng):
            captions.append(words)
            image_idxs.append(i)
    order = rng.permutation(len(captions))
    captions = [captions[i] for i in order]
    image_idxs = np.asarray(image_idxs, dtype=np.int32)[order]
    names = [f"{prefix}_{i:05d}.png" for i in range(num_images)]
    return images, captions, image_idxs, names


def make_synthetic_coco(out_dir=DEFAULT_OUT, seed=SEED):
    """Write the synthetic data set into out_dir (created if needed)."""
    rng = np.random.default_rng(seed)
    train_images, train_words, train_idxs, train_names = make_split(rng, NUM_TRAIN_IMAGES, "train")
    val_images, val_words, val_idxs, val_names = make_split(rng, NUM_VAL_IMAGES, "val")
    features = compute_features(train_images, val_images, rng)

    idx_to_word = build_vocab(train_words)
    word_to_idx = {w: i for i, w in enumerate(idx_to_word)}

    image_dir = os.path.join(out_dir, "images")
    os.makedirs(image_dir, exist_ok=True)
    for f in os.listdir(image_dir):
        if f.endswith(".png"):
            os.remove(os.path.join(image_dir, f))
    for images, names in ((train_images, train_names), (val_images, val_names)):
        for image, name in zip(images, names):
            Image.fromarray(image).save(os.path.join(image_dir, name), optimize=True)

    _write_h5(
        os.path.join(out_dir, "coco2014_captions.h5"),
        {
            "train_captions": encode_captions(train_words, word_to_idx),
            "train_image_idxs": train_idxs,
            "val_captions": encode_captions(val_words, word_to_idx),
            "val_image_idxs": val_idxs,
        },
    )
    with open(os.path.join(out_dir, "coco2014_vocab.json"), "w", encoding="utf-8") as f:
        json.dump({"idx_to_word": idx_to_word, "word_to_idx": word_to_idx}, f, indent=0)
        f.write("\n")
    for split in ("train", "val"):
        _write_h5(
            os.path.join(out_dir, f"{split}2014_vgg16_fc7.h5"),
            {"features": features[f"{split}_fc7"]},
        )
        _write_h5(
            os.path.join(out_dir, f"{split}2014_vgg16_fc7_pca.h5"),
            {"features": features[f"{split}_pca"]},
        )
    _write_lines(os.path.join(out_dir, "train2014_urls.txt"), [f"images/{n}" for n in train_names])
    _write_lines(os.path.join(out_dir, "val2014_urls.txt"), [f"images/{n}" for n in val_names])


# ------------------------------------------------------------ full size

FULL_SIZE = {
    "train_captions": 400135,
    "val_captions": 195954,
    "train_images": 82783,
    "val_images": 40504,
    "vocab": 1004,
}


def make_full_size(out_dir, scale=1.0, seed=SEED):
    """Write a stand-in with the shapes of the real data, cheaply, for benchmarks.

    Random captions and features; column 0 of every feature row holds the row
    index, so a loader's renumbering can be checked. Uncompressed, like the
    real files. scale < 1 shrinks every row count (for tests).
    """
    rng = np.random.default_rng(seed)
    os.makedirs(out_dir, exist_ok=True)
    n = {k: max(1, int(round(v * scale))) for k, v in FULL_SIZE.items()}
    vocab_size = FULL_SIZE["vocab"]
    idx_to_word = SPECIAL_TOKENS + [f"word{i}" for i in range(len(SPECIAL_TOKENS), vocab_size)]
    with open(os.path.join(out_dir, "coco2014_vocab.json"), "w", encoding="utf-8") as f:
        json.dump(
            {"idx_to_word": idx_to_word, "word_to_idx": {w: i for i, w in enumerate(idx_to_word)}},
            f,
        )

    arrays = {}
    for split in ("train", "val"):
        m, images = n[f"{split}_captions"], n[f"{split}_images"]
        captions = rng.integers(4, vocab_size, size=(m, CAPTION_LENGTH), dtype=np.int32)
        lengths = rng.integers(8, CAPTION_LENGTH, size=m)
        captions[:, 0] = 1
        captions[np.arange(m), lengths - 1] = 2
        captions[np.arange(CAPTION_LENGTH)[None, :] >= lengths[:, None]] = 0
        arrays[f"{split}_captions"] = captions
        arrays[f"{split}_image_idxs"] = rng.integers(0, images, size=m, dtype=np.int32)
        _write_lines(
            os.path.join(out_dir, f"{split}2014_urls.txt"),
            (f"http://example.invalid/{split}2014/{i:012d}.jpg" for i in range(images)),
        )
        for suffix, dim in (("", FC7_DIM), ("_pca", PCA_DIM)):
            path = os.path.join(out_dir, f"{split}2014_vgg16_fc7{suffix}.h5")
            block = np.maximum(rng.standard_normal((4096, dim), dtype=np.float32) - 1, 0)
            with h5py.File(path, "w") as f:
                ds = f.create_dataset("features", shape=(images, dim), dtype=np.float32)
                for start in range(0, images, len(block)):
                    rows = block[: min(len(block), images - start)].copy()
                    rows[:, 0] = np.arange(start, start + len(rows))
                    ds[start : start + len(rows)] = rows
    _write_h5(os.path.join(out_dir, "coco2014_captions.h5"), arrays, compress=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", default=DEFAULT_OUT, help="output directory (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=SEED, help="random seed (default: %(default)s)")
    parser.add_argument(
        "--full-size",
        action="store_true",
        help="write a random stand-in with the shapes of the real data (about 2.3 GB) "
        "for loader benchmarks, instead of the synthetic set; never commit it",
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="with --full-size, shrink every row count by this"
    )
    args = parser.parse_args(argv)
    if args.full_size:
        if os.path.abspath(args.out) == os.path.abspath(DEFAULT_OUT):
            parser.error("--full-size needs --out DIR outside the committed data set")
        make_full_size(args.out, scale=args.scale, seed=args.seed)
    else:
        make_synthetic_coco(args.out, seed=args.seed)
    print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
