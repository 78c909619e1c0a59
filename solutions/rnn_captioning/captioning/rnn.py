"""An image-captioning model built from the layers of rnn_layers.py."""

import numpy as np

from .layers import affine_backward, affine_forward
from .rnn_layers import (
    lstm_backward,
    lstm_forward,
    lstm_step_forward,
    rnn_backward,
    rnn_forward,
    rnn_step_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)


class CaptioningRNN:
    """Generates captions from image features with a recurrent network.

    The image feature vector, projected by an affine map, is the initial
    hidden state of the RNN. The RNN reads a caption one word vector at a
    time, and at every step an affine map of its hidden state scores the V
    words of the vocabulary for the next word.

    Shapes: N images with features of dimension D, word vectors of dimension
    W, hidden states of dimension H, a vocabulary of V words, captions of
    length T.

    No regularization is used.
    """

    def __init__(
        self,
        word_to_idx,
        input_dim=512,
        wordvec_dim=128,
        hidden_dim=128,
        cell_type="rnn",
        dtype=np.float32,
    ):
        """Create the model and initialize its parameters.

        Inputs:
        - word_to_idx: dict from each word of the vocabulary to its integer
          index in [0, V)
        - input_dim: dimension D of the image feature vectors
        - wordvec_dim: dimension W of the word vectors
        - hidden_dim: dimension H of the hidden state
        - cell_type: 'rnn' or 'lstm'
        - dtype: numpy dtype of all parameters; float32 to train, float64
          for numeric gradient checks
        """
        if cell_type not in {"rnn", "lstm"}:
            raise ValueError(f'Invalid cell_type "{cell_type}": use "rnn" or "lstm"')

        self.cell_type = cell_type
        self.dtype = dtype
        self.word_to_idx = word_to_idx
        self.idx_to_word = {i: w for w, i in word_to_idx.items()}
        self.params = {}

        vocab_size = len(word_to_idx)

        self._null = word_to_idx["<NULL>"]
        self._start = word_to_idx.get("<START>", None)
        self._end = word_to_idx.get("<END>", None)

        self.params["W_embed"] = np.random.randn(vocab_size, wordvec_dim) / 100

        self.params["W_proj"] = np.random.randn(input_dim, hidden_dim) / np.sqrt(input_dim)
        self.params["b_proj"] = np.zeros(hidden_dim)

        gates = {"lstm": 4, "rnn": 1}[cell_type]
        self.params["Wx"] = np.random.randn(wordvec_dim, gates * hidden_dim) / np.sqrt(wordvec_dim)
        self.params["Wh"] = np.random.randn(hidden_dim, gates * hidden_dim) / np.sqrt(hidden_dim)
        self.params["b"] = np.zeros(gates * hidden_dim)

        self.params["W_vocab"] = np.random.randn(hidden_dim, vocab_size) / np.sqrt(hidden_dim)
        self.params["b_vocab"] = np.zeros(vocab_size)

        for k, v in self.params.items():
            self.params[k] = v.astype(self.dtype)

    def loss(self, features, captions):
        """Compute the training loss and its gradients.

        The RNN reads captions[:, :-1] and is trained to predict
        captions[:, 1:], the same caption shifted by one word. Targets equal to
        <NULL> are padding and do not count in the loss.

        Inputs:
        - features: image features, of shape (N, D)
        - captions: ground-truth captions of shape (N, T + 1), integers in
          [0, V)

        Returns a tuple of:
        - loss: a scalar
        - grads: dict with the same keys as self.params, each gradient of the
          same shape as its parameter
        """
        captions_in = captions[:, :-1]
        captions_out = captions[:, 1:]
        mask = captions_out != self._null

        W_proj, b_proj = self.params["W_proj"], self.params["b_proj"]
        W_embed = self.params["W_embed"]
        Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
        W_vocab, b_vocab = self.params["W_vocab"], self.params["b_vocab"]

        loss, grads = 0.0, {}
        # TODO: the forward pass, in five steps:
        # (1) an affine map of the features gives the initial hidden state h0;
        # (2) word_embedding_forward turns captions_in into word vectors;
        # (3) rnn_forward or lstm_forward (see self.cell_type) gives the hidden
        #     states at every timestep;
        # (4) temporal_affine_forward gives the scores of the vocabulary at every
        #     timestep;
        # (5) temporal_softmax_loss with the mask above gives the loss.
        # Then the backward pass, in the opposite order, fills grads.
        h0, proj_cache = affine_forward(features, W_proj, b_proj)
        x, embed_cache = word_embedding_forward(captions_in, W_embed)
        if self.cell_type == "rnn":
            h, rnn_cache = rnn_forward(x, h0, Wx, Wh, b)
        else:
            h, rnn_cache = lstm_forward(x, h0, Wx, Wh, b)
        scores, vocab_cache = temporal_affine_forward(h, W_vocab, b_vocab)
        loss, dscores = temporal_softmax_loss(scores, captions_out, mask)

        dh, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward(dscores, vocab_cache)
        if self.cell_type == "rnn":
            dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = rnn_backward(dh, rnn_cache)
        else:
            dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = lstm_backward(dh, rnn_cache)
        grads["W_embed"] = word_embedding_backward(dx, embed_cache)
        _, grads["W_proj"], grads["b_proj"] = affine_backward(dh0, proj_cache)
        return loss, grads

    def sample(self, features, max_length=30):
        """Generate captions by greedy decoding.

        Starting from the <START> token and the projected image features, at
        each step the RNN reads the embedding of the previous word, and the
        word with the highest score becomes the next word. The LSTM starts from
        a zero cell state.

        Inputs:
        - features: image features, of shape (N, D)
        - max_length: length T of the generated captions

        Returns:
        - captions: integer array of shape (N, max_length); column 0 holds the
          first generated word (not <START>)
        """
        N = features.shape[0]
        captions = self._null * np.ones((N, max_length), dtype=np.int32)

        W_proj, b_proj = self.params["W_proj"], self.params["b_proj"]
        W_embed = self.params["W_embed"]
        Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
        W_vocab, b_vocab = self.params["W_vocab"], self.params["b_vocab"]

        # TODO: greedy decoding, one timestep at a time: embed the previous
        # word (<START> at the first step), run one rnn_step_forward or
        # lstm_step_forward, score the vocabulary with an affine map of the
        # new hidden state, and write the argmax into captions[:, t].
        # No loop over the minibatch: each step handles all N images at once.
        h, _ = affine_forward(features, W_proj, b_proj)
        c = np.zeros_like(h)
        words = np.full(N, self._start)
        for t in range(max_length):
            x = W_embed[words]
            if self.cell_type == "rnn":
                h, _ = rnn_step_forward(x, h, Wx, Wh, b)
            else:
                h, c, _ = lstm_step_forward(x, h, c, Wx, Wh, b)
            scores = h @ W_vocab + b_vocab
            words = scores.argmax(axis=1)
            captions[:, t] = words
        return captions
