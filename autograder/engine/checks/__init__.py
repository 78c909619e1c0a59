"""The hidden checks, parent side: each group builds one child job and judges it."""

from . import layers, model, training

GROUPS = [*layers.GROUPS, *model.GROUPS, *training.GROUPS]
