"""Layers of recurrent networks for image captioning, written in numpy.

Every layer is a pair of functions: ``*_forward`` computes the output and a
cache, ``*_backward`` takes the upstream gradient and that cache and returns
the gradients of the inputs. What goes in a cache is up to you.

Shapes use N for the minibatch size, T for the sequence length, D for the
input dimension, H for the hidden dimension and V for the vocabulary size.
"""

import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """Run one timestep of a vanilla RNN with a tanh activation.

    Inputs:
    - x: input data for this timestep, of shape (N, D)
    - prev_h: hidden state from the previous timestep, of shape (N, H)
    - Wx: input-to-hidden weights, of shape (D, H)
    - Wh: hidden-to-hidden weights, of shape (H, H)
    - b: biases, of shape (H,)

    Returns a tuple of:
    - next_h: next hidden state, of shape (N, H)
    - cache: whatever rnn_step_backward needs
    """
    next_h, cache = None, None
    # TODO: compute next_h = tanh(x Wx + prev_h Wh + b) and keep in `cache`
    # what the backward pass will need.
    ### BEGIN SOLUTION
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    cache = (x, prev_h, Wx, Wh, next_h)
    ### END SOLUTION
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    """Backward pass for one timestep of a vanilla RNN.

    Inputs:
    - dnext_h: gradient of the loss with respect to next_h, of shape (N, H)
    - cache: the cache returned by rnn_step_forward

    Returns a tuple of:
    - dx: gradient of the input data, of shape (N, D)
    - dprev_h: gradient of the previous hidden state, of shape (N, H)
    - dWx: gradient of the input-to-hidden weights, of shape (D, H)
    - dWh: gradient of the hidden-to-hidden weights, of shape (H, H)
    - db: gradient of the biases, of shape (H,)
    """
    dx, dprev_h, dWx, dWh, db = None, None, None, None, None
    # TODO: backpropagate through tanh first (its derivative can be written
    # with its output: 1 - tanh(a)^2), then through the two affine terms.
    ### BEGIN SOLUTION
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    dWx = x.T @ da
    dWh = prev_h.T @ da
    db = da.sum(axis=0)
    ### END SOLUTION
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    """Run a vanilla RNN forward over a whole sequence.

    The input is a sequence of T vectors of dimension D for each of N
    sequences; the RNN starts from the initial hidden state h0.

    Inputs:
    - x: input data for the whole sequence, of shape (N, T, D)
    - h0: initial hidden state, of shape (N, H)
    - Wx: input-to-hidden weights, of shape (D, H)
    - Wh: hidden-to-hidden weights, of shape (H, H)
    - b: biases, of shape (H,)

    Returns a tuple of:
    - h: hidden states for the whole sequence, of shape (N, T, H); h0 is not
      included
    - cache: whatever rnn_backward needs
    """
    h, cache = None, None
    # TODO: loop over the T timesteps, calling rnn_step_forward at each one,
    # and store each hidden state in h.
    ### BEGIN SOLUTION
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]), dtype=h0.dtype)
    step_caches = []
    prev_h = h0
    for t in range(T):
        prev_h, step_cache = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)
        h[:, t] = prev_h
        step_caches.append(step_cache)
    # x.shape and the weights give the backward pass the shapes of its gradients.
    cache = (step_caches, x.shape, Wx, Wh, b)
    ### END SOLUTION
    return h, cache


def rnn_backward(dh, cache):
    """Backward pass of a vanilla RNN over a whole sequence.

    Inputs:
    - dh: upstream gradients of all hidden states, of shape (N, T, H). They
      come from the loss at each timestep only: the gradient flowing from one
      timestep to the previous one is not included, you must add it.
    - cache: the cache returned by rnn_forward

    Returns a tuple of:
    - dx: gradient of the inputs, of shape (N, T, D)
    - dh0: gradient of the initial hidden state, of shape (N, H)
    - dWx: gradient of the input-to-hidden weights, of shape (D, H)
    - dWh: gradient of the hidden-to-hidden weights, of shape (H, H)
    - db: gradient of the biases, of shape (H,)
    """
    dx, dh0, dWx, dWh, db = None, None, None, None, None
    # TODO: walk backwards in time with rnn_step_backward. The gradient of
    # h[:, t] is its upstream gradient plus what flows back from step t + 1;
    # the weights are shared, so their gradients add up over time.
    ### BEGIN SOLUTION
    step_caches, x_shape, Wx, Wh, b = cache
    N, T, H = dh.shape
    dx = np.zeros(x_shape, dtype=dh.dtype)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dprev_h = np.zeros((N, H), dtype=dh.dtype)
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(
            dh[:, t] + dprev_h, step_caches[t]
        )
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    dh0 = dprev_h
    ### END SOLUTION
    return dx, dh0, dWx, dWh, db


def word_embedding_forward(x, W):
    """Look up the vector of each word index.

    Inputs:
    - x: integer array of shape (N, T); each entry is a word index in [0, V)
    - W: word vectors, of shape (V, D)

    Returns a tuple of:
    - out: the vector of every input word, of shape (N, T, D)
    - cache: whatever word_embedding_backward needs
    """
    out, cache = None, None
    # TODO: one line of numpy indexing does it; no loop is needed.
    ### BEGIN SOLUTION
    out = W[x]
    cache = (x, W.shape)
    ### END SOLUTION
    return out, cache


def word_embedding_backward(dout, cache):
    """Backward pass of the word embedding.

    A word may appear many times in a minibatch: its gradient is the sum of
    the upstream gradients at each place where it appears.

    Inputs:
    - dout: upstream gradients, of shape (N, T, D)
    - cache: the cache returned by word_embedding_forward

    Returns:
    - dW: gradient of the word vectors, of shape (V, D)
    """
    dW = None
    # TODO: add every row of dout into the row of dW of its word. Plain
    # fancy-index assignment loses repeated words; np.add.at does not.
    ### BEGIN SOLUTION
    x, W_shape = cache
    dW = np.zeros(W_shape, dtype=dout.dtype)
    np.add.at(dW, x.reshape(-1), dout.reshape(-1, W_shape[1]))
    ### END SOLUTION
    return dW


def sigmoid(x):
    """Logistic sigmoid, exact and free of overflow for any input.

    Uses sigmoid(x) = (1 + tanh(x / 2)) / 2, which never exponentiates a
    large number.
    """
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """Run one timestep of an LSTM.

    The activation vector a = x Wx + prev_h Wh + b of shape (N, 4H) splits
    into four blocks of H columns, in the order i, f, o, g: the input, forget
    and output gates (through sigmoid) and the block input g (through tanh).

    Inputs:
    - x: input data, of shape (N, D)
    - prev_h: previous hidden state, of shape (N, H)
    - prev_c: previous cell state, of shape (N, H)
    - Wx: input-to-hidden weights, of shape (D, 4H)
    - Wh: hidden-to-hidden weights, of shape (H, 4H)
    - b: biases, of shape (4H,)

    Returns a tuple of:
    - next_h: next hidden state, of shape (N, H)
    - next_c: next cell state, of shape (N, H)
    - cache: whatever lstm_step_backward needs
    """
    next_h, next_c, cache = None, None, None
    # TODO: compute the activations, the four gates, then
    # next_c = f * prev_c + i * g and next_h = o * tanh(next_c).
    # Use the sigmoid function above.
    ### BEGIN SOLUTION
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H : 2 * H])
    o = sigmoid(a[:, 2 * H : 3 * H])
    g = np.tanh(a[:, 3 * H :])
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)
    ### END SOLUTION
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward pass for one timestep of an LSTM.

    Inputs:
    - dnext_h: gradient of the next hidden state, of shape (N, H)
    - dnext_c: gradient of the next cell state, of shape (N, H)
    - cache: the cache returned by lstm_step_forward

    Returns a tuple of:
    - dx: gradient of the input data, of shape (N, D)
    - dprev_h: gradient of the previous hidden state, of shape (N, H)
    - dprev_c: gradient of the previous cell state, of shape (N, H)
    - dWx: gradient of the input-to-hidden weights, of shape (D, 4H)
    - dWh: gradient of the hidden-to-hidden weights, of shape (H, 4H)
    - db: gradient of the biases, of shape (4H,)
    """
    dx, dprev_h, dprev_c, dWx, dWh, db = None, None, None, None, None, None
    # TODO: next_c receives gradient both from dnext_c and through next_h.
    # Find the gradients of the four gates, then of the activations (the
    # derivative of sigmoid is s(1 - s), of tanh 1 - tanh^2), then backprop
    # through the affine map as in the vanilla RNN.
    ### BEGIN SOLUTION
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    H = dnext_h.shape[1]
    dc = dnext_c + dnext_h * o * (1 - tanh_c**2)
    da = np.empty((dc.shape[0], 4 * H), dtype=dc.dtype)
    da[:, :H] = dc * g * i * (1 - i)
    da[:, H : 2 * H] = dc * prev_c * f * (1 - f)
    da[:, 2 * H : 3 * H] = dnext_h * tanh_c * o * (1 - o)
    da[:, 3 * H :] = dc * i * (1 - g**2)
    dprev_c = dc * f
    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    dWx = x.T @ da
    dWh = prev_h.T @ da
    db = da.sum(axis=0)
    ### END SOLUTION
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    """Run an LSTM forward over a whole sequence.

    The initial cell state is zero, and the cell state is not returned: it
    is internal to the LSTM.

    Inputs:
    - x: input data, of shape (N, T, D)
    - h0: initial hidden state, of shape (N, H)
    - Wx: input-to-hidden weights, of shape (D, 4H)
    - Wh: hidden-to-hidden weights, of shape (H, 4H)
    - b: biases, of shape (4H,)

    Returns a tuple of:
    - h: hidden states for the whole sequence, of shape (N, T, H)
    - cache: whatever lstm_backward needs
    """
    h, cache = None, None
    # TODO: loop over time with lstm_step_forward, starting from h0 and a
    # zero cell state.
    ### BEGIN SOLUTION
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]), dtype=h0.dtype)
    step_caches = []
    prev_h, prev_c = h0, np.zeros_like(h0)
    for t in range(T):
        prev_h, prev_c, step_cache = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        h[:, t] = prev_h
        step_caches.append(step_cache)
    # x.shape and the weights give the backward pass the shapes of its gradients.
    cache = (step_caches, x.shape, Wx, Wh, b)
    ### END SOLUTION
    return h, cache


def lstm_backward(dh, cache):
    """Backward pass of an LSTM over a whole sequence.

    Inputs:
    - dh: upstream gradients of the hidden states, of shape (N, T, H); as in
      rnn_backward they hold only each timestep's own loss gradient
    - cache: the cache returned by lstm_forward

    Returns a tuple of:
    - dx: gradient of the input data, of shape (N, T, D)
    - dh0: gradient of the initial hidden state, of shape (N, H)
    - dWx: gradient of the input-to-hidden weights, of shape (D, 4H)
    - dWh: gradient of the hidden-to-hidden weights, of shape (H, 4H)
    - db: gradient of the biases, of shape (4H,)
    """
    dx, dh0, dWx, dWh, db = None, None, None, None, None
    # TODO: walk backwards in time with lstm_step_backward, carrying both the
    # hidden-state and the cell-state gradients from step t + 1 to step t.
    ### BEGIN SOLUTION
    step_caches, x_shape, Wx, Wh, b = cache
    N, T, H = dh.shape
    dx = np.zeros(x_shape, dtype=dh.dtype)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dprev_h, dprev_c = np.zeros((N, H), dtype=dh.dtype), np.zeros((N, H), dtype=dh.dtype)
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t] + dprev_h, dprev_c, step_caches[t]
        )
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    dh0 = dprev_h
    ### END SOLUTION
    return dx, dh0, dWx, dWh, db


def temporal_affine_forward(x, w, b):
    """Apply the same affine map at every timestep.

    Inputs:
    - x: input data, of shape (N, T, D)
    - w: weights, of shape (D, M)
    - b: biases, of shape (M,)

    Returns a tuple of:
    - out: output data, of shape (N, T, M)
    - cache: values needed by temporal_affine_backward
    """
    N, T, D = x.shape
    out = (x.reshape(N * T, D) @ w + b).reshape(N, T, -1)
    cache = (x, w)
    return out, cache


def temporal_affine_backward(dout, cache):
    """Backward pass of temporal_affine_forward.

    Inputs:
    - dout: upstream gradients, of shape (N, T, M)
    - cache: the cache returned by temporal_affine_forward

    Returns a tuple of:
    - dx: gradient of the input, of shape (N, T, D)
    - dw: gradient of the weights, of shape (D, M)
    - db: gradient of the biases, of shape (M,)
    """
    x, w = cache
    N, T, M = dout.shape
    dout = dout.reshape(N * T, M)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(N * T, -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def temporal_softmax_loss(x, y, mask, verbose=False):
    """Softmax cross-entropy summed over time, for sequences with padding.

    At each timestep the scores of the V words are compared with the target
    word. Positions where mask is False (the <NULL> padding after a caption
    ends) do not count. The loss is summed over time and averaged over the
    minibatch only.

    Inputs:
    - x: scores, of shape (N, T, V)
    - y: target word indices, of shape (N, T), each in [0, V)
    - mask: boolean array of shape (N, T); True where the target counts
    - verbose: print the shapes of the intermediate arrays

    Returns a tuple of:
    - loss: a scalar
    - dx: gradient of the loss with respect to the scores, of shape (N, T, V)
    """
    N, T, V = x.shape
    x_flat = x.reshape(N * T, V)
    y_flat = y.reshape(N * T)
    mask_flat = mask.reshape(N * T)

    shifted = x_flat - x_flat.max(axis=1, keepdims=True)
    exp_shifted = np.exp(shifted)
    sum_exp = exp_shifted.sum(axis=1, keepdims=True)
    rows = np.arange(N * T)
    log_probs_y = shifted[rows, y_flat] - np.log(sum_exp[:, 0])  # of the targets only
    loss = -np.sum(log_probs_y[mask_flat]) / N

    dx_flat = exp_shifted / sum_exp
    dx_flat[rows, y_flat] -= 1
    dx_flat[~mask_flat] = 0  # masked positions do not count
    dx_flat /= N
    if verbose:
        print("dx_flat: ", dx_flat.shape)
    return loss, dx_flat.reshape(N, T, V)
