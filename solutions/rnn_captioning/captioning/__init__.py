"""The student package of the RNN image-captioning assignment.

You implement the TODO blocks of ``rnn_layers.py`` and ``rnn.py``; every
other module here is provided in full.
"""
