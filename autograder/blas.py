"""One BLAS thread for every process of the grader.

The grader's matrices are small: on a shared machine, extra BLAS threads only
spin against the children and each other (10x slower on a busy 2-core box).
Importing this module costs nothing (no numpy), so that front ends can call
``one_thread_by_default`` before numpy is first imported.
"""

import os

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def one_thread_by_default(environ=os.environ):
    """Ask for one BLAS thread, unless the environment already says how many."""
    for name in THREAD_VARIABLES:
        environ.setdefault(name, "1")


def limit_loaded_blas():
    """One BLAS thread for a numpy that is already loaded (threadpoolctl, if installed)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=1, user_api="blas")
