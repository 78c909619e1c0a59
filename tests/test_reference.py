"""The reference solution: vectorized, and faithful to the classic API (names, argument order, shapes)."""

import ast

import numpy as np
import pytest

from autograder.tools import build
from conftest import SOURCE

TIME_NAMES = {"T", "max_length"}


def solution_loops(path):
    """The loops inside the solution regions of a source file."""
    text = path.read_text()
    regions = build.find_regions(text.splitlines(), path.name)
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.For, ast.While, ast.comprehension)):
            lineno = getattr(node, "lineno", None) or node.target.lineno
            if any(r.begin < lineno - 1 < r.end for r in regions):
                yield node


@pytest.mark.parametrize("name", ["rnn_layers.py", "rnn.py"])
def test_reference_loops_only_over_time(name):
    """No Python loop over the batch or over words: only `for t in range(T)` and the like."""
    found = list(solution_loops(SOURCE / "captioning" / name))
    assert found, "the reference should loop over time somewhere"
    for loop in found:
        assert isinstance(loop, ast.For), f"{name}: only for-loops over time are expected"
        names = {n.id for n in ast.walk(loop.iter) if isinstance(n, ast.Name)}
        assert names & TIME_NAMES, f"{name}:{loop.lineno}: loop over {ast.unparse(loop.iter)}"


def test_sigmoid_is_stable_for_large_inputs(reference):
    from reference_captioning.rnn_layers import sigmoid

    x = np.array([-1e4, -800.0, -30.0, 0.0, 30.0, 800.0, 1e4])
    with np.errstate(all="raise"):
        s = sigmoid(x)
    assert np.all(np.isfinite(s))
    assert s[0] == 0.0 and s[-1] == 1.0 and s[3] == 0.5
    assert np.allclose(s[2:5], 1 / (1 + np.exp(-x[2:5])))


def test_model_params_follow_the_spec(reference):
    from reference_captioning.rnn import CaptioningRNN

    word_to_idx = {"<NULL>": 0, "<START>": 1, "<END>": 2, "<UNK>": 3, "cat": 4}
    for cell, k in (("rnn", 1), ("lstm", 4)):
        model = CaptioningRNN(word_to_idx, input_dim=7, wordvec_dim=5, hidden_dim=6, cell_type=cell)
        shapes = {name: p.shape for name, p in model.params.items()}
        assert shapes == {
            "W_embed": (5, 5),
            "W_proj": (7, 6),
            "b_proj": (6,),
            "Wx": (5, 6 * k),
            "Wh": (6, 6 * k),
            "b": (6 * k,),
            "W_vocab": (6, 5),
            "b_vocab": (5,),
        }
        assert all(p.dtype == np.float32 for p in model.params.values())
        assert (model._null, model._start, model._end) == (0, 1, 2)
    with pytest.raises(ValueError):
        CaptioningRNN(word_to_idx, cell_type="gru")


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_float32_training_stays_float32(reference, cell):
    """A float32 model must not silently compute in float64 (it would be twice as slow)."""
    from reference_captioning.rnn import CaptioningRNN

    word_to_idx = {"<NULL>": 0, "<START>": 1, "<END>": 2, "<UNK>": 3, "cat": 4}
    model = CaptioningRNN(word_to_idx, input_dim=7, wordvec_dim=5, hidden_dim=6, cell_type=cell)
    features = np.random.randn(3, 7).astype(np.float32)
    captions = np.random.randint(5, size=(3, 6))
    _, grads = model.loss(features, captions)
    assert {name: g.dtype for name, g in grads.items()} == {name: np.float32 for name in grads}
