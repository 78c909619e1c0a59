"""Self-checks of CaptioningRNN: loss, gradients, sampling and a small overfit."""

import numpy as np
import pytest

from captioning import diagnose
from captioning.gradient_check import eval_numerical_gradient
from captioning.rnn import CaptioningRNN
from checks import assert_gradient

# The notebook's expected-loss check: (cell type, features range, loss).
EXPECTED_LOSS = [("rnn", (-1.5, 0.3), 9.83235591003), ("lstm", (-0.5, 1.7), 9.82445935443)]


@pytest.mark.diagnose("CaptioningRNN.loss")
@pytest.mark.parametrize("cell_type, feature_range, expected_loss", EXPECTED_LOSS)
def test_loss_matches_expected_value(cell_type, feature_range, expected_loss):
    N, D, W, H = 10, 20, 30, 40
    word_to_idx = {"<NULL>": 0, "cat": 2, "dog": 3}
    V = len(word_to_idx)
    T = 13

    model = CaptioningRNN(
        word_to_idx, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type=cell_type, dtype=np.float64
    )
    for k, v in model.params.items():
        model.params[k] = np.linspace(-1.4, 1.3, num=v.size).reshape(*v.shape)

    features = np.linspace(*feature_range, num=N * D).reshape(N, D)
    captions = (np.arange(N * T) % V).reshape(N, T)

    loss, grads = model.loss(features, captions)
    assert abs(loss - expected_loss) < 1e-10, f"loss {loss!r}, expected {expected_loss}"
    assert sorted(grads) == sorted(model.params), "grads must have exactly the keys of params"


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
def test_loss_numeric_gradient(cell_type):
    batch_size = 2
    timesteps = 3
    input_dim = 4
    wordvec_dim = 5
    hidden_dim = 6
    word_to_idx = {"<NULL>": 0, "cat": 2, "dog": 3}
    vocab_size = len(word_to_idx)

    captions = np.random.randint(vocab_size, size=(batch_size, timesteps))
    features = np.random.randn(batch_size, input_dim)
    model = CaptioningRNN(
        word_to_idx,
        input_dim=input_dim,
        wordvec_dim=wordvec_dim,
        hidden_dim=hidden_dim,
        cell_type=cell_type,
        dtype=np.float64,
    )

    loss, grads = model.loss(features, captions)

    def f(_):
        return model.loss(features, captions)[0]

    numeric = {
        name: eval_numerical_gradient(f, model.params[name], verbose=False, h=1e-6)
        for name in sorted(model.params)
    }
    finding = diagnose.find_grads(grads, numeric, loss)
    for name in sorted(model.params):
        assert_gradient(name, grads.get(name), numeric[name], finding)


def tiny_vocab():
    words = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "cat", "dog", "sits"]
    return {w: i for i, w in enumerate(words)}


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
def test_sample_returns_generated_words(cell_type):
    word_to_idx = tiny_vocab()
    model = CaptioningRNN(
        word_to_idx, input_dim=7, wordvec_dim=5, hidden_dim=6, cell_type=cell_type
    )
    features = np.random.randn(4, 7)

    captions = model.sample(features, max_length=9)
    assert isinstance(captions, np.ndarray)
    assert captions.shape == (4, 9)
    assert np.issubdtype(captions.dtype, np.integer), f"dtype {captions.dtype}, expected integers"
    assert ((captions >= 0) & (captions < len(word_to_idx))).all()
    assert (captions[:, 0] != word_to_idx["<START>"]).all(), (
        "column 0 must be the first generated word"
    )


def test_unknown_cell_type_is_refused():
    with pytest.raises(ValueError):
        CaptioningRNN(tiny_vocab(), cell_type="gru")


@pytest.mark.parametrize("cell_type, target", [("rnn", 0.1), ("lstm", 0.5)])
def test_model_overfits_50_synthetic_captions(cell_type, target):
    """The notebook's overfit recipe: 50 captions, Adam, 50 epochs; the loss must nearly vanish."""
    from captioning.captioning_solver import CaptioningSolver
    from captioning.coco_utils import SYNTHETIC_DIR, load_coco_data

    data = load_coco_data(SYNTHETIC_DIR, max_train=50)
    model = CaptioningRNN(
        data["word_to_idx"],
        input_dim=data["train_features"].shape[1],
        wordvec_dim=256,
        hidden_dim=512,
        cell_type=cell_type,
    )
    solver = CaptioningSolver(
        model,
        data,
        update_rule="adam",
        num_epochs=50,
        batch_size=25,
        optim_config={"learning_rate": 5e-3},
        lr_decay=0.95,
        verbose=False,
    )
    solver.train()
    first, last = solver.loss_history[0], solver.loss_history[-1]
    assert last < target, f"final loss {last:.3f} (first {first:.3f}) is not below {target}"
