# ruff: noqa
# target: rnn_layers.py
# fails:
# passes: rnn_step_forward rnn_forward
"""At import, tries every way to leave a process behind: fork + setsid, a double
fork, posix_spawn, exec; a thread. The functions are the reference's."""

import os as _os
import threading as _threading
import time as _time


def _linger():
    while True:
        _time.sleep(1)


for _attempt in (
    lambda: _os.fork(),
    lambda: _os.posix_spawn("/bin/sleep", ["sleep", "1000"], {}),
    lambda: _os.execv("/bin/sleep", ["sleep", "1000"]),
):
    try:
        if _attempt() == 0:  # in a child: detach and linger
            _os.setsid()
            if _os.fork() == 0:
                _linger()
            _os._exit(0)
    except Exception:
        pass
try:
    _threading.Thread(target=_linger, daemon=False).start()
except RuntimeError:
    pass
