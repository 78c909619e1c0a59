"""BLEU scores of generated captions, on top of nltk, provided in full."""

import warnings

import numpy as np
from nltk.translate.bleu_score import sentence_bleu

from .coco_utils import decode_captions, sample_coco_minibatch

SPECIAL_TOKENS = ("<START>", "<END>", "<UNK>", "<NULL>")


def _words(caption):
    return [w for w in caption.split() if w not in SPECIAL_TOKENS]


def BLEU_score(gt_caption, sample_caption):
    """Unigram BLEU of one generated caption against one reference caption.

    Inputs:
    - gt_caption: the true caption, a string of space-separated words
    - sample_caption: the generated caption, a string

    <START>, <END>, <UNK> and <NULL> are removed from both sides first.

    Returns:
    - a float in [0, 1]
    """
    reference = _words(gt_caption)
    hypothesis = _words(sample_caption)
    if not reference or not hypothesis:
        return 0.0
    with warnings.catch_warnings():
        # nltk warns when a caption shares no word with its reference; that
        # is simply a score of 0.
        warnings.simplefilter("ignore")
        return float(sentence_bleu([reference], hypothesis, weights=[1]))


def evaluate_model(model, data, splits=("train", "val"), num_samples=1000, verbose=True):
    """Average unigram BLEU of a model's greedy captions.

    Inputs:
    - model: a CaptioningRNN (anything with a sample(features) method)
    - data: a dict as returned by load_coco_data
    - splits: the splits to evaluate
    - num_samples: captions drawn at random from each split
    - verbose: print the average of each split

    Returns:
    - dict from split name to the average BLEU score
    """
    scores = {}
    for split in splits:
        gt, features, _urls = sample_coco_minibatch(data, batch_size=num_samples, split=split)
        gt = decode_captions(gt, data["idx_to_word"])
        sample = decode_captions(model.sample(features), data["idx_to_word"])
        scores[split] = float(np.mean([BLEU_score(g, s) for g, s in zip(gt, sample)]))
        if verbose:
            print(f"Average BLEU score for {split}: {scores[split]:f}")
    return scores
