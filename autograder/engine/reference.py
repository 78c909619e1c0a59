"""The reference solution, imported in the parent under a name of its own.

The parent uses it to compute what correct code returns on the inputs it
draws at grading time. It is trusted code from ``solutions/``; student code
is never imported in the parent.
"""

import importlib
import importlib.util
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

from .. import paths

ALIAS = "_autograder_reference"
_lock = threading.Lock()


def import_package_as(alias, folder):
    """Import the package in `folder` (a `captioning/` folder: source/, release/,
    solutions/ and mutants all hold one) as `alias`, once; the package module."""
    if alias not in sys.modules:
        init = Path(folder) / "__init__.py"
        spec = importlib.util.spec_from_file_location(
            alias, init, submodule_search_locations=[str(init.parent)]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules[alias] = package
        spec.loader.exec_module(package)
    return sys.modules[alias]


def load() -> SimpleNamespace:
    """The reference modules: rnn_layers, rnn, layers, optim."""
    with _lock:
        import_package_as(ALIAS, paths.reference_dir())
        return SimpleNamespace(
            rnn_layers=importlib.import_module(f"{ALIAS}.rnn_layers"),
            rnn=importlib.import_module(f"{ALIAS}.rnn"),
            layers=importlib.import_module(f"{ALIAS}.layers"),
            optim=importlib.import_module(f"{ALIAS}.optim"),
        )


def module(name):
    """Another module of the reference package (coco_utils, bleu: they need h5py, nltk)."""
    load()
    with _lock:
        return importlib.import_module(f"{ALIAS}.{name}")
