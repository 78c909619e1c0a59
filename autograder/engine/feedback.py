"""The words of the feedback: what went wrong, and where to look.

Messages name the function and the output, give shapes and relative errors,
never hidden inputs or expected values. Hints point at the usual mistake.
"""

import signal

MAX_MESSAGE = 300

NOT_IMPLEMENTED = "{fn} is not implemented yet (it raises NotImplementedError)."

# One general hint per function: what its TODO block most often gets wrong.
HINTS = {
    "rnn_step_forward": "next_h = tanh(x @ Wx + prev_h @ Wh + b): one matrix product per "
    "input, the bias broadcast over the batch.",
    "rnn_step_backward": "Backpropagate through tanh with its output: "
    "da = dnext_h * (1 - next_h**2); then dx = da @ Wx.T, dprev_h = da @ Wh.T, "
    "dWx = x.T @ da, dWh = prev_h.T @ da, db = da.sum(axis=0).",
    "rnn_forward": "Start from h0, call rnn_step_forward once per timestep and store each "
    "new hidden state in h[:, t]; h0 itself is not part of h.",
    "rnn_backward": "Walk backwards in time: the gradient of h[:, t] is dh[:, t] plus the "
    "dprev_h that came back from step t + 1, and the weight gradients add up over the "
    "timesteps.",
    "word_embedding_forward": "out = W[x]: one fancy-indexing expression, no loop.",
    "word_embedding_backward": "A word that appears several times gets the sum of its "
    "gradients: np.add.at(dW, x, dout) accumulates, dW[x] = dout or dW[x] += dout does not.",
    "lstm_step_forward": "Split a = x @ Wx + prev_h @ Wh + b into four blocks of H columns in "
    "the order i, f, o, g (sigmoid for i, f, o; tanh for g); next_c = f * prev_c + i * g; "
    "next_h = o * tanh(next_c).",
    "lstm_step_backward": "next_c gets gradient from dnext_c and through next_h: "
    "dc = dnext_c + dnext_h * o * (1 - tanh(next_c)**2). Then di = dc * g, df = dc * prev_c, "
    "do = dnext_h * tanh(next_c), dg = dc * i; through the sigmoids s * (1 - s), through "
    "tanh 1 - g**2; keep the i, f, o, g order when you concatenate.",
    "lstm_forward": "The cell state starts at zero (np.zeros_like(h0)); carry both h and c "
    "from step to step and store only h.",
    "lstm_backward": "Carry two gradients backwards in time: dprev_h (added to dh[:, t]) and "
    "dprev_c (passed as dnext_c of the step before); start both at zero.",
    "CaptioningRNN.loss": "Input captions[:, :-1], targets captions[:, 1:], mask = targets != "
    "<NULL>; h0 = features @ W_proj + b_proj; the loss of temporal_softmax_loss is averaged "
    "over N only; grads must have every key of params.",
    "CaptioningRNN.sample": "Start with <START> and h = features @ W_proj + b_proj (and c = 0 "
    "for the LSTM); at each step embed the previous word, take one rnn_step_forward or "
    "lstm_step_forward, score the vocabulary and write the argmax in captions[:, t], then "
    "feed that word back as the next input.",
}

# Specific diagnoses, found by comparing the answer with known wrong variants.
DIAGNOSES = {
    "no_bias": "The result matches the formula without b: add the bias.",
    "tanh_grad_of_input": "The tanh derivative must be 1 - tanh(a)**2 = 1 - next_h**2, "
    "computed from the output, not from the pre-activation.",
    "db_not_summed": "db must be summed over the batch: da.sum(axis=0).",
    "no_carry_h": "The gradient is right at the last timestep but not before it: add the "
    "dprev_h that flows back from step t + 1 to dh[:, t].",
    "weights_not_accumulated": "dx is right but the weight gradients are not: they must be "
    "summed over all timesteps (+=), not overwritten by the last one computed.",
    "repeated_words": "The rows of words that appear once are right, the rows of repeated "
    "words are not: use np.add.at(dW, x, dout) so that repeats accumulate.",
    "gate_order": "The answer matches the gates taken in the order {order}: this assignment "
    "uses i, f, o, g (input, forget, output, then the tanh block g).",
    "no_carry_c": "The gradient is right at the last timestep but not before it: carry "
    "dprev_c backwards as the dnext_c of the step before.",
    "h0_included": "h has one timestep too many: h0 is not part of h.",
    "unmasked": "The loss counts the <NULL> targets: mask them with captions_out != <NULL>.",
    "divided_by_NT": "The loss is divided by N * T: it must be averaged over N only "
    "(temporal_softmax_loss already does this).",
    "start_in_first_column": "Column 0 holds <START>: it must hold the first generated word.",
    "sample_diverges": "The first words agree with greedy decoding, later ones do not: feed "
    "the argmax word of each step back as the next input and carry h (and c) forward.",
    "sample_first_word": "The first generated word is already wrong: start from "
    "h = features @ W_proj + b_proj, the embedding of <START>{c0}.",
}


def truncate(text, limit=MAX_MESSAGE):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def cpu_time(fn, seconds):
    return (
        f"{fn} used more than {seconds:g} s of CPU time: an infinite loop, or a Python loop "
        "over the batch or the vocabulary where numpy should do the work?"
    )


def timeout(fn, seconds):
    return (
        f"{fn} did not finish within {seconds:g} s: is it waiting or sleeping in a loop "
        "that never ends?"
    )


def killed(fn, sig, memory_mb):
    name = _signal_name(sig)
    if sig == signal.SIGXFSZ:
        return f"{fn} wrote too much output and was stopped."
    if sig in (signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT):
        return (
            f"{fn} crashed the Python process ({name}); this can happen when the memory "
            f"limit of {memory_mb} MB is reached."
        )
    return f"{fn} was stopped by {name}."


def exited(fn, code):
    return (
        f"{fn} never returned: the process ended with exit code {code}. Do not call exit(), "
        "sys.exit() or os._exit() in your code."
    )


def exception(fn, record, memory_mb):
    kind = record.get("type") or "Exception"
    if kind == "NotImplementedError":
        return NOT_IMPLEMENTED.format(fn=fn)
    if kind == "MemoryError":
        return f"{fn} ran out of memory (the limit is {memory_mb} MB)."
    message = truncate(record.get("message") or "").rstrip(".")
    where = record.get("where")
    text = f"{fn} raised {kind}" + (f": {message}" if message else "")
    if where:
        text += f" ({where})"
    if kind == "SystemExit":
        text += ". Do not call exit() or sys.exit() in your code"
    elif kind == "PermissionError":
        text += ". Your code runs in a sandbox: it may not touch files, processes or the network"
    elif kind in ("ModuleNotFoundError", "ImportError"):
        text += ". Only numpy and the standard library are available"
    return text.rstrip(".") + "."


def _signal_name(sig):
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"
