"""The front ends: the ``autograder`` command, nbgrader's hidden cells and preprocessors,
and the Gradescope bundle. Each calls the engine; none judges anything itself."""
