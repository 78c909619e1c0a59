"""The Python runtime a confined child reads: the standard library and numpy.

A child that gives up root for a uid of its own must still import the whole
standard library and numpy of the Python that grades. Where that Python
lives somewhere the new uid cannot pass through (pyenv, conda or uv under
``/root`` or a home folder with mode 0700), the parent makes a *view* of the
runtime once per machine and version: a folder under the temporary directory
that every uid may read and nobody but its owner may change, holding hard
links to (or, across file systems, copies of) the standard library,
``lib-dynload`` and numpy. The child then imports everything from there.

``plan(own_uid)`` says where the child's imports come from; the engine proves
with a canary child (``autograder.engine.preflight``) that they work before it
grades anyone. ``kernel_plan(own_uid)`` is the same for the Jupyter kernel of
``nbgrader autograde``, which needs the environment's site-packages too
(ipykernel, IPython, zmq, matplotlib): in place when every uid can read them,
else a view of them beside the view of the standard library.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Folders of the standard library a student never imports: the regression
# tests, the build configuration and third-party packages.
SKIPPED = {"site-packages", "dist-packages", "test"}
SKIPPED_PREFIX = "config-"
VIEW_FORMAT = 2  # part of the view's name: a change of layout makes a new view
SYSTEM_LIBRARIES = ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/share/zoneinfo")


class RuntimeViewError(OSError):
    """No folder could be made that a child of another uid can read."""


@dataclass(frozen=True)
class Runtime:
    """Where a child finds its imports.

    stdlib: the standard library's search path (in order); numpy_parent: the
    folder that holds the numpy package; remap: (original, view) prefix pairs
    for the packages the interpreter imported before it read this; view: the
    folder of the view, or None when the child reads the runtime in place.
    """

    stdlib: tuple
    numpy_parent: str
    remap: tuple = ()
    view: str | None = None
    site: tuple = ()  # site-packages folders (a kernel's runtime only)

    def read_paths(self):
        """Every folder the child must be allowed to read (for Landlock)."""
        paths = set(self.stdlib) | {self.numpy_parent} | set(self.site)
        paths |= {p for p in SYSTEM_LIBRARIES if os.path.exists(p)}
        return sorted(p for p in paths if os.path.exists(p))


def stdlib_paths():
    """The standard library folders of this interpreter's search path, in order."""
    base = os.path.realpath(sys.base_prefix)
    found = [
        os.path.realpath(p)
        for p in sys.path
        if p and os.path.realpath(p).startswith(base) and "-packages" not in p
    ]
    stdlib = os.path.realpath(sysconfig.get_paths()["stdlib"])
    if stdlib not in found:
        found.append(stdlib)
    return [p for p in dict.fromkeys(found) if os.path.isdir(p)]


def numpy_dirs():
    """(numpy's parent folder, [numpy, numpy.libs if present])."""
    package = os.path.dirname(os.path.realpath(np.__file__))
    parent = os.path.dirname(package)
    dirs = [package] + [
        os.path.join(parent, n) for n in ("numpy.libs",) if os.path.isdir(os.path.join(parent, n))
    ]
    return parent, dirs


def in_place():
    """The runtime as this interpreter has it."""
    parent, _ = numpy_dirs()
    return Runtime(stdlib=tuple(stdlib_paths()), numpy_parent=parent)


def passable_by_anyone(path):
    """Whether a process of any uid can pass through every folder above `path`."""
    try:
        return all(os.stat(p).st_mode & stat.S_IXOTH for p in Path(os.path.realpath(path)).parents)
    except OSError:
        return False


def readable_by_anyone(path):
    """Whether a process of any uid can pass through every folder to `path` and list it."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return bool(mode & stat.S_IROTH and mode & stat.S_IXOTH) and passable_by_anyone(path)


def plan(own_uid):
    """The runtime for a child: in place when its uid can read it, else a view."""
    runtime = in_place()
    if not own_uid:
        return runtime
    _, numpy_folders = numpy_dirs()
    if all(readable_by_anyone(p) for p in [*runtime.stdlib, *numpy_folders]):
        return runtime
    return view()


def site_paths():
    """The site-packages folders of this interpreter's search path, in order."""
    found = [os.path.realpath(p) for p in sys.path if p and "-packages" in os.path.basename(p)]
    return [p for p in dict.fromkeys(found) if os.path.isdir(p)]


def kernel_plan(own_uid):
    """The runtime of a Jupyter kernel: the child's, plus the site-packages it imports
    from (in place when a kernel of another uid can read them, else a view)."""
    runtime = plan(own_uid)
    sites = site_paths()
    if own_uid and not all(readable_by_anyone(p) for p in sites):
        sites = _site_view(sites)
    return Runtime(
        runtime.stdlib,
        sites[0] if sites else runtime.numpy_parent,
        runtime.remap,
        runtime.view,
        tuple(sites),
    )


def _site_view(sites):
    """Hard links to (or copies of) the site-packages folders, readable by every uid."""
    name = f"autograder-site-{os.geteuid()}-{_key(sites)}"
    for place in _places():
        target = os.path.join(place, name)
        if not _trusted(target):
            staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=place))
            for i, folder in enumerate(sites):
                _link_tree(folder, staging / str(i), ())
            os.chmod(staging, 0o755)
            (staging / "COMPLETE").write_text("\n".join(sites) + "\n")
            try:
                os.rename(staging, target)
            except OSError:
                shutil.rmtree(staging, ignore_errors=True)
        if _trusted(target):
            return [os.path.join(target, str(i)) for i in range(len(sites))]
    raise RuntimeViewError(
        "cannot make a copy of site-packages that a kernel of another uid can read"
    )


def _key(extra=()):
    """What the view depends on: the interpreter, its library and numpy, as installed."""
    parent, folders = numpy_dirs()
    parts = [str(VIEW_FORMAT), sys.version, np.__version__, parent, *stdlib_paths(), *folders]
    for p in [*stdlib_paths(), *folders, *extra]:
        st = os.stat(p)
        parts.append(f"{st.st_ino}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _places():
    """Folders a view may go in, best first: shared by every uid, executable mappings allowed."""
    seen = []
    for place in (tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"):
        place = os.path.realpath(place)
        if place in seen or not os.path.isdir(place) or not readable_by_anyone(place):
            continue
        if os.statvfs(place).f_flag & getattr(os, "ST_NOEXEC", 8):
            continue  # numpy's shared libraries could not be mapped from there
        seen.append(place)
    return seen


def _trusted(path):
    """A view folder that only this process's uid could have written."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return (
        stat.S_ISDIR(st.st_mode)
        and st.st_uid == os.geteuid()
        and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        and os.path.isfile(os.path.join(path, "COMPLETE"))
    )


def _link_tree(src, dst, skipped=()):
    """Hard-link (or copy) the files of `src` into `dst`, readable by anyone, leaving out
    the top-level entries named in `skipped`."""

    def place(source, target):
        mode = os.stat(source).st_mode
        if mode & stat.S_IROTH:
            try:
                os.link(source, target)
                return target
            except OSError:
                pass
        shutil.copy2(source, target)
        os.chmod(target, (mode | 0o444) & 0o755)
        return target

    def skip(folder, names):
        if os.path.realpath(folder) != os.path.realpath(src):
            return []
        return [n for n in names if n in skipped or (skipped and n.startswith(SKIPPED_PREFIX))]

    shutil.copytree(src, dst, copy_function=place, ignore=skip, symlinks=False)
    for folder, _, _ in os.walk(dst):
        os.chmod(folder, 0o755)


def _build(place, name):
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=place))
    os.chmod(staging, 0o755)
    stdlib = stdlib_paths()
    parent, numpy_folders = numpy_dirs()
    for i, folder in enumerate(stdlib):
        _link_tree(folder, staging / "stdlib" / str(i), SKIPPED)
    for folder in numpy_folders:
        _link_tree(folder, staging / "site" / os.path.basename(folder), ())
    for folder in (staging, staging / "stdlib", staging / "site"):
        os.chmod(folder, 0o755)
    (staging / "COMPLETE").write_text("\n".join([*stdlib, parent]) + "\n")
    target = Path(place) / name
    try:
        os.rename(staging, target)
    except OSError:  # another grader was quicker, or a stranger holds the name
        shutil.rmtree(staging, ignore_errors=True)
    return target


def view():
    """The runtime view for this interpreter, made on first use (see the module docstring)."""
    name = f"autograder-runtime-{os.geteuid()}-{_key()}"
    errors = []
    for place in _places():
        target = os.path.join(place, name)
        if not _trusted(target):
            try:
                target = str(_build(place, name))
            except OSError as exc:
                errors.append(f"{place}: {exc}")
                continue
        if not _trusted(target):
            # The name is taken by a folder we did not make: one of our own, unnamed.
            try:
                fresh = tempfile.mkdtemp(prefix="autograder-runtime-", dir=place)
                shutil.rmtree(fresh)
                target = str(_build(place, os.path.basename(fresh)))
            except OSError as exc:
                errors.append(f"{place}: {exc}")
                continue
            if not _trusted(target):
                errors.append(f"{place}: could not make a folder of our own")
                continue
        return _runtime_in(target)
    raise RuntimeViewError(
        "cannot make a copy of the Python runtime that a child of another uid can read ("
        + ("; ".join(errors) or "no shared temporary folder that allows executable mappings")
        + ")"
    )


def _runtime_in(target):
    stdlib = stdlib_paths()
    parent, _ = numpy_dirs()
    copies = [os.path.join(target, "stdlib", str(i)) for i in range(len(stdlib))]
    remap = tuple(zip(stdlib, copies))
    return Runtime(
        stdlib=tuple(copies),
        numpy_parent=os.path.join(target, "site"),
        remap=remap,
        view=target,
    )


def describe(runtime):
    """A few words on where a child's imports come from."""
    if runtime.view:
        return f"a readable view of the Python runtime in {runtime.view}"
    return "the Python runtime in place"


def main(argv=None):
    """`autograder runtime`: make the view now (as root) and say where children import from."""
    print(describe(plan(own_uid=os.geteuid() == 0)))
    return 0


if __name__ == "__main__":
    main()
