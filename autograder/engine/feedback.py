"""The words of the feedback: what went wrong, and where to look.

Messages name the function and the output, give shapes and relative errors,
never hidden inputs or expected values. Hints say where the bug is and what
kind it is, in words: never code or a formula (feedback_scan.py is the test).
The instructor chooses how much they say in rubric.json ("feedback").
"""

import json
import signal

MAX_MESSAGE = 300

NOT_IMPLEMENTED = "{fn} is not implemented yet (it raises NotImplementedError)."

# One hint per function, used when no probe locates the bug: where to look.
HINTS = {
    "rnn_step_forward": "Look at the three terms that are summed before the activation: "
    "the input with its weights, the previous hidden state with its weights, and the bias, "
    "shared by every row of the batch.",
    "rnn_step_backward": "Go back through the activation first, then through the two "
    "products; compare each output's shape with the input it is the gradient of.",
    "rnn_forward": "Look at how the sequence starts from h0, what each timestep reads from "
    "the one before, and where each new hidden state is stored.",
    "rnn_backward": "Look at what each timestep receives from the timestep after it, and at "
    "how the weight gradients of the timesteps are combined.",
    "word_embedding_forward": "Look at how each position of the batch picks its word's row, "
    "and at the order of the axes of the result.",
    "word_embedding_backward": "Look at words that appear more than once in the batch: "
    "each place they appear contributes to their row.",
    "lstm_step_forward": "Look at how the activations are split into the four gate blocks "
    "and which nonlinearity each block gets, then at the new cell state and the new hidden "
    "state.",
    "lstm_step_backward": "Look at the gradient the new cell state receives (it has two "
    "sources), then at the gradient of each gate block, kept in the forward pass's order.",
    "lstm_forward": "Look at how both states start and what each timestep passes to the "
    "next; only the hidden states are returned.",
    "lstm_backward": "Look at the two gradients each timestep sends back to the one before "
    "it (hidden state and cell state), and at how the weight gradients are combined.",
    "CaptioningRNN.loss": "Look at which words are inputs and which are targets, at the "
    "mask of the padding, at the initial hidden state made from the features, and at the "
    "gradient of every parameter.",
    "CaptioningRNN.sample": "Look at how decoding starts (the features and the start "
    "token) and at what each step passes to the next.",
}

# The maths of each function in words, added to the hint at the "explain" level.
EXPLAIN = {
    "rnn_step_forward": "The new hidden state is the tanh of the sum of the three terms.",
    "rnn_step_backward": "The derivative of tanh is easiest to get from its output; each "
    "weight gradient pairs the input of its product with the gradient that leaves the "
    "activation, and the bias gradient adds up over the batch.",
    "rnn_forward": "One call of the step function per timestep, each starting from the "
    "hidden state the previous call returned; the initial state is not part of the output.",
    "rnn_backward": "Walking back in time, a timestep's hidden state gets its own upstream "
    "gradient plus what its successor sent back; the weights are shared, so their "
    "gradients add up over the timesteps.",
    "word_embedding_forward": "The lookup is a single indexing of the word vectors by the "
    "word indices, with no loop.",
    "word_embedding_backward": "The gradient of a word vector is the sum of the upstream "
    "gradients at every place the word appears; plain indexed assignment keeps only one "
    "of them.",
    "lstm_step_forward": "Input, forget and output gates go through the sigmoid, the block "
    "input through tanh; the new cell state adds the forgotten old state to the gated block "
    "input, and the new hidden state is the output gate times the tanh of the new cell "
    "state.",
    "lstm_step_backward": "The cell state's gradient is its own upstream gradient plus the "
    "part that comes through the hidden state; each gate's gradient then goes back through "
    "its nonlinearity (for the sigmoid, from its output).",
    "lstm_forward": "The cell state starts at zero and is carried next to the hidden state; "
    "only the hidden states are returned.",
    "lstm_backward": "Both the hidden-state and the cell-state gradients travel back from "
    "each timestep to the one before, starting at zero after the last step.",
    "CaptioningRNN.loss": "The network reads every word but the last and predicts every "
    "word but the first; padding targets are masked; the loss is summed over time and "
    "averaged over the batch only.",
    "CaptioningRNN.sample": "Each step reads the embedding of the previous step's most "
    "likely word, starting from the start token, and stores that word.",
}

# Known wrong variants, recognised by comparing the answer with them: one more source
# of evidence next to the probes of the student package's diagnose module.
DIAGNOSES = {
    "no_bias": "Your result is what correct code gives without the bias: the bias term is missing.",
    "tanh_grad_of_input": "The slope of tanh is taken in the wrong place: it is easiest to "
    "get from the output of the forward step.",
    "db_not_summed": "Only db is wrong: the bias gradient collects every example of the batch.",
    "no_carry_h": "The gradient is right at the last timestep and wrong before it: the "
    "hidden-state gradient that flows back from the next timestep is missing.",
    "weights_not_accumulated": "dx is right but the weight gradients are not: they should "
    "add up the contributions of every timestep, not keep one.",
    "repeated_words": "The rows of words that appear once are right, those of repeated "
    "words are not: the gradients of a repeated word do not add up.",
    "gate_order": "Your result matches the gate blocks read in the order {order}; this "
    "assignment uses i, f, o, g (input, forget, output gate, then the block input).",
    "no_carry_c": "The gradient is right at the last timestep and wrong before it: the "
    "cell-state gradient that flows back from the next timestep is missing.",
    "h0_included": "h has one timestep too many: the initial state is not part of h.",
    "unmasked": "The loss counts the <NULL> targets: they are padding and must not count.",
    "divided_by_NT": "The loss is 1/T of the right value: it is averaged over the batch "
    "only, not over time.",
    "start_in_first_column": "Column 0 holds <START>: it should hold the first generated word.",
    "sample_diverges": "The first words are right, later ones are not: look at what each "
    "step passes to the next (the chosen word and the states).",
    "sample_word_fed_back": "With the word embeddings at zero, so that the word each step "
    "feeds to the next cannot matter, your captions are right: the bug is in the word fed "
    "back to each step (it should be the word the previous step chose).",
    "sample_first_word": "The first generated word is already wrong: look at how decoding "
    "starts (the hidden state from the features, the start token{c0}).",
}

LEVELS = ("locate", "explain", "none")
DEFAULT_LEVEL = "locate"


def level(rubric_path=None):
    """The feedback level the instructor chose: the "feedback" field of rubric.json
    ("locate", the default: where the bug is; "explain": also the maths in words;
    "none": no hint at all)."""
    from .. import paths

    with open(rubric_path or paths.RUBRIC) as f:
        chosen = json.load(f).get("feedback", DEFAULT_LEVEL)
    if chosen not in LEVELS:
        raise ValueError(f"rubric.json: feedback must be one of {', '.join(LEVELS)}")
    return chosen


def hint(fn, finding=None, diagnosis=None, chosen=None):
    """The hint line of a failed check of `fn` ('' at level none): the probes' finding
    (a diagnose.Finding), else a known-variant diagnosis, else the function's hint."""
    chosen = chosen or level()
    if chosen == "none":
        return ""
    if finding is not None:
        text = finding.text(chosen)
    else:
        text = diagnosis or HINTS[fn]
        if chosen == "explain" and fn in EXPLAIN:
            text += " " + EXPLAIN[fn]
    return "\nHint: " + text


def all_texts():
    """Every fixed text of this module (templates filled with sample values), for the
    test that scans them for code."""
    texts = list(HINTS.values()) + list(EXPLAIN.values())
    texts += [t.format(order="i, f, g, o", c0=", a zero cell state") for t in DIAGNOSES.values()]
    texts += [NOT_IMPLEMENTED.format(fn="rnn_step_forward")]
    texts += [cpu_time("rnn_forward", 10), timeout("rnn_forward", 30), exited("loss", 3)]
    texts += [killed("loss", s, 512) for s in (signal.SIGXFSZ, signal.SIGSEGV, signal.SIGTERM)]
    for kind in ("NotImplementedError", "MemoryError", "SystemExit", "PermissionError",
                 "ImportError", "ValueError"):  # fmt: skip
        texts.append(exception("rnn_forward", {"type": kind, "message": "", "where": ""}, 512))
    return texts


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
        f"{fn} never returned: the process ended with exit code {code}. Do not call exit, "
        "sys.exit or os._exit in your code."
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
        text += ". Do not call exit or sys.exit in your code"
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
