# ruff: noqa
# target: rnn_layers.py
# fails: word_embedding_forward
# passes: rnn_step_forward
"""word_embedding_forward allocates memory without bound."""


def word_embedding_forward(x, W):
    hoard = []
    while True:
        hoard.append(np.ones(10**7))
