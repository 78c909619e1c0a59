"""Grading engine for the RNN captioning assignment."""
