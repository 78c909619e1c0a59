# ruff: noqa
# target: rnn_layers.py
# fails:
# passes: rnn_step_forward rnn_step_backward rnn_forward
"""At import, tries to append to the grader's own files, to its cwd and to ../;
the functions themselves are the reference's (and deserve their points)."""

import os as _os

for _place in [
    "{ROOT}/autograder/checks/common.py",
    "{ROOT}/autograder/rubric.json",
    "{ROOT}/autograder/sandbox.py",
    "{ROOT}/autograder/expected/rnn_step_forward.npz",
    "{ROOT}/solutions/rnn_captioning/captioning/rnn_layers.py",
    "{ROOT}/pwned.txt",
    "../pwned.txt",
    "../../pwned.txt",
    "/autograder/source/autograder/checks/common.py",
]:
    try:
        with open(_place, "a") as _f:
            _f.write("\nTOLERANCE = 1e9\n")
    except OSError:
        pass
