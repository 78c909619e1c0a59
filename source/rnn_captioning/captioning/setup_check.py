"""Is everything the notebooks import installed? The first cell of each notebook asks.

``check_packages()`` looks each package up without importing it and, when one
is missing, stops the cell with the one command that installs them all into
the Python that runs the notebook. Standard library only, so that it works
before anything is installed.
"""

import importlib.util
import re
import sys
from pathlib import Path

# What the notebooks import, as module name -> name of the package on PyPI.
NOTEBOOK_PACKAGES = {
    "numpy": "numpy",
    "h5py": "h5py",
    "matplotlib": "matplotlib",
    "PIL": "pillow",
    "nltk": "nltk",
}

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements.txt"


class MissingPackages(ImportError):
    """Some packages the assignment needs are not installed in this Python."""


def missing_packages(modules=NOTEBOOK_PACKAGES):
    """The PyPI names of the packages whose module cannot be found, in order."""
    return [package for module, package in modules.items() if not _found(module)]


def _found(module):
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def requirement(package):
    """The line of requirements.txt for a package ("h5py>=3.10,<4"), or its bare name."""
    if REQUIREMENTS.is_file():
        for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
            name = re.split(r"[<>=!~ \[;]", line.strip(), maxsplit=1)[0]
            if name.lower() == package.lower():
                return line.strip()
    return package


def install_command(packages):
    """The one command that installs these packages into the Python running this notebook.

    Only what is missing, at the versions requirements.txt allows: on Colab or
    a JupyterHub, where Jupyter itself comes with the machine, nothing else moves.
    """
    return "%pip install " + " ".join(f'"{requirement(p)}"' for p in packages)


def check_packages():
    """Raise MissingPackages naming what is missing and how to install it; else do nothing."""
    missing = missing_packages()
    if missing:
        raise MissingPackages(
            f"This notebook's Python ({sys.executable}) lacks {', '.join(missing)}. "
            f"Install them by running this in a cell of the notebook: {install_command(missing)} "
            "then restart the kernel and run this cell again."
        )
