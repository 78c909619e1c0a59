"""Build the student and reference versions of the assignment from source/.

``source/<assignment>/`` is the only place a human edits. This module makes:

- ``release/<assignment>/``: every solution region of a ``.py`` file becomes
  a stub that raises ``NotImplementedError`` naming the function and the
  file; notebooks go through nbgrader's own ``generate_assignment``;
- ``solutions/<assignment>/``: the markers are removed, the code is kept.

Each output is a pipeline of small steps: collect the source files, transform
each one, then write the tree (or, with ``--check``, compare it with what is
committed). Run it as ``autograder build [--check]`` (``make assignment``).
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..paths import ASSIGNMENT, course_root

ROOT = course_root()

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"

# Never copied from source/: caches, checkpoints, the real COCO data, what
# `python -m captioning.submit` writes (the zip, the notebooks' PDFs).
IGNORED = [
    "__pycache__",
    "*.pyc",
    ".ipynb_checkpoints",
    ".pytest_cache",
    "coco_captioning",
    ".*",
    "submission.zip*",
    "*_Captioning.pdf",
]

# Files that live outside source/ but ship with the assignment (the data
# script students run), as destination -> origin.
VENDORED = {
    "data_scripts/get_coco_data.py": "data_scripts/get_coco_data.py",
    "data_scripts/get_coco_data.sh": "data_scripts/get_coco_data.sh",
}


class BuildError(Exception):
    """The source cannot be built (unbalanced markers, a region outside a function)."""


@dataclass
class Region:
    """A solution region of a .py file: lines [begin, end] hold the markers."""

    begin: int
    end: int
    indent: str


def find_regions(lines: list[str], path: str) -> list[Region]:
    """Locate the solution regions in a file's lines (0-based indices)."""
    regions, begin = [], None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped == BEGIN_SOLUTION:
            if begin is not None:
                raise BuildError(f"{path}:{i + 1}: nested {BEGIN_SOLUTION}")
            begin = i
        elif stripped == END_SOLUTION:
            if begin is None:
                raise BuildError(f"{path}:{i + 1}: {END_SOLUTION} without a begin")
            indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
            regions.append(Region(begin, i, indent))
            begin = None
    if begin is not None:
        raise BuildError(f"{path}:{begin + 1}: {BEGIN_SOLUTION} is never closed")
    return regions


def enclosing_function(tree: ast.Module, lineno: int) -> str | None:
    """Qualified name (``Class.method`` or ``function``) of the def around a 1-based line."""
    best, best_start = None, -1

    def visit(node: ast.AST, prefix: str) -> None:
        nonlocal best, best_start
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if child.lineno <= lineno <= child.end_lineno:
                    is_def = not isinstance(child, ast.ClassDef)
                    if is_def and child.lineno > best_start:
                        best, best_start = name, child.lineno
                    visit(child, name + ".")

    visit(tree, "")
    return best


def stub_line(indent: str, function: str, relpath: str) -> str:
    message = f"{function} is not implemented yet: fill in its TODO block in {relpath}"
    return f'{indent}raise NotImplementedError(\n{indent}    "{message}"\n{indent})\n'


def release_python(text: str, relpath: str) -> str:
    """Replace each solution region by a NotImplementedError stub."""
    lines = text.splitlines(keepends=True)
    regions = find_regions(lines, relpath)
    if not regions:
        return text
    tree = ast.parse(text, filename=relpath)
    out, pos = [], 0
    for region in regions:
        function = enclosing_function(tree, region.begin + 1)
        if function is None:
            raise BuildError(
                f"{relpath}:{region.begin + 1}: a solution region must be in a function"
            )
        out.extend(lines[pos : region.begin])
        out.append(stub_line(region.indent, function, relpath))
        pos = region.end + 1
    out.extend(lines[pos:])
    result = "".join(out)
    ast.parse(result, filename=relpath)
    return result


def solution_python(text: str, relpath: str) -> str:
    """Drop the marker lines and keep the code between them."""
    lines = text.splitlines(keepends=True)
    find_regions(lines, relpath)
    return "".join(line for line in lines if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION))


def split_lines(text: str) -> tuple[set[str], set[str]]:
    """The stripped lines inside and outside the marked regions of a file."""
    inside, outside = set(), set()
    for region_flag, line in _tag_lines(text.splitlines()):
        (inside if region_flag else outside).add(line.strip())
    return inside, outside


def is_telling(line: str) -> bool:
    """Whether a line says something (two names or more, not a comment)."""
    return not line.startswith("#") and len(re.findall(r"[A-Za-z_]\w*", line)) >= 2


def _tag_lines(lines: list[str]):
    flag = False
    for line in lines:
        stripped = line.strip()
        if stripped in (BEGIN_SOLUTION, BEGIN_HIDDEN):
            flag = True
        elif stripped in (END_SOLUTION, END_HIDDEN):
            flag = False
        else:
            yield flag, line


def solution_notebook(text: str) -> str:
    """A source notebook with outputs cleared and every marker line removed."""
    import nbformat

    nb = nbformat.reads(text, as_version=4)
    markers = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN)
    for cell in nb.cells:
        lines = cell.source.splitlines(keepends=True)
        cell.source = "".join(line for line in lines if line.strip() not in markers)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nbformat.writes(nb) + "\n"


def is_ignored(relpath: Path) -> bool:
    return any(fnmatch.fnmatch(part, pattern) for part in relpath.parts for pattern in IGNORED)


def source_files(source_dir: Path) -> dict[str, bytes]:
    """Every file of the assignment's source folder, by relative posix path."""
    files = {}
    for path in sorted(source_dir.rglob("*")):
        rel = path.relative_to(source_dir)
        if path.is_file() and not is_ignored(rel):
            files[rel.as_posix()] = path.read_bytes()
    return files


def release_notebooks(root: Path, names: list[str], register: bool) -> dict[str, bytes]:
    """Run nbgrader's generate_assignment and return the release notebooks.

    With ``register``, nbgrader runs at the course root, so that the
    gradebook learns the assignment's cells (autograde needs them); otherwise
    in a scratch course holding only the config and the notebooks. Either way
    it writes into a temporary release folder: nbgrader copies non-notebook
    files unchanged, so only the notebooks are taken from it.
    """
    import nbformat

    if not names:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        if not register:
            scratch = Path(tmp) / "course"
            for name in names:
                dest = scratch / "source" / ASSIGNMENT / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(root / "source" / ASSIGNMENT / name, dest)
            if (root / "nbgrader_config.py").exists():
                shutil.copy(root / "nbgrader_config.py", scratch / "nbgrader_config.py")
            root = scratch
        cmd = [
            sys.executable,
            "-m",
            "nbgrader",
            "generate_assignment",
            ASSIGNMENT,
            "--force",
            f"--CourseDirectory.root={root}",
            f"--CourseDirectory.release_directory={Path(tmp) / 'release'}",
            "--log-level=WARN",
        ]
        result = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
        if result.returncode != 0:
            raise BuildError(
                "nbgrader generate_assignment failed:\n" + result.stdout + result.stderr
            )
        out = {}
        for name in names:
            text = (Path(tmp) / "release" / ASSIGNMENT / name).read_text(encoding="utf-8")
            out[name] = (nbformat.writes(nbformat.reads(text, as_version=4)) + "\n").encode()
        return out


def build_trees(
    root: Path = ROOT, run_nbgrader: bool = True, register: bool = False
) -> tuple[dict, dict]:
    """The release and solutions trees as {relative path: bytes}."""
    source = source_files(root / "source" / ASSIGNMENT)
    for dest, origin in VENDORED.items():
        if (root / origin).exists():
            source[dest] = (root / origin).read_bytes()

    release, solutions = {}, {}
    notebooks = [name for name in source if name.endswith(".ipynb")]
    for name, data in source.items():
        if name.endswith(".py"):
            text = data.decode("utf-8")
            release[name] = release_python(text, name).encode()
            solutions[name] = solution_python(text, name).encode()
        elif name.endswith(".ipynb"):
            solutions[name] = solution_notebook(data.decode("utf-8")).encode()
        else:
            release[name] = solutions[name] = data
    if run_nbgrader:
        release.update(release_notebooks(root, notebooks, register))
    return release, solutions


def leaked_lines(root: Path, release: dict[str, bytes]) -> list[str]:
    """Release lines that exist in source/ only inside solution or hidden-test regions."""
    inside, outside = set(), set()
    for name, data in source_files(root / "source" / ASSIGNMENT).items():
        if name.endswith((".py", ".ipynb")):
            region_lines, other_lines = split_lines(data.decode("utf-8"))
            inside |= region_lines
            outside |= other_lines
    secret = {line for line in inside - outside if is_telling(line)}
    leaks = []
    for name, data in release.items():
        if name.endswith((".py", ".ipynb")):
            text = data.decode("utf-8")
            if any(marker in text for marker in (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN)):
                leaks.append(f"{name}: contains a solution or hidden-test marker")
            if name.endswith(".py"):
                leaks += [
                    f"{name}: {line.strip()}"
                    for line in text.splitlines()
                    if line.strip() in secret
                ]
    return leaks


def read_tree(folder: Path) -> dict[str, bytes]:
    if not folder.exists():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not is_ignored(p.relative_to(folder))
    }


def write_tree(folder: Path, files: dict[str, bytes]) -> None:
    """Make folder hold exactly these files (ignored files are left alone)."""
    for rel in set(read_tree(folder)) - set(files):
        (folder / rel).unlink()
    for rel, data in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
        if rel.endswith(".sh"):
            path.chmod(0o755)
    for dirpath, dirnames, filenames in os.walk(folder, topdown=False):
        if not dirnames and not filenames and Path(dirpath) != folder:
            os.rmdir(dirpath)


def differences(folder: Path, files: dict[str, bytes]) -> list[str]:
    current = read_tree(folder)
    diffs = [f"missing: {rel}" for rel in sorted(set(files) - set(current))]
    diffs += [f"extra: {rel}" for rel in sorted(set(current) - set(files))]
    diffs += [
        f"stale: {rel}" for rel in sorted(set(files) & set(current)) if files[rel] != current[rel]
    ]
    return diffs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="autograder build",
        description="Regenerate release/ and solutions/ from source/.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; fail if release/ or solutions/ are stale or release/ leaks a solution",
    )
    parser.add_argument(
        "--no-notebooks", action="store_true", help="skip nbgrader (notebooks are left as they are)"
    )
    args = parser.parse_args(argv)

    try:
        release, solutions = build_trees(
            ROOT, run_nbgrader=not args.no_notebooks, register=not args.check
        )
    except BuildError as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 2
    release_dir = ROOT / "release" / ASSIGNMENT
    solutions_dir = ROOT / "solutions" / ASSIGNMENT
    if args.no_notebooks:
        for name, data in read_tree(release_dir).items():
            if name.endswith(".ipynb"):
                release[name] = data

    leaks = leaked_lines(ROOT, release)
    if leaks:
        print("release/ would leak solution code:\n  " + "\n  ".join(leaks), file=sys.stderr)
        return 1

    if args.check:
        problems = [f"release/{ASSIGNMENT}: {d}" for d in differences(release_dir, release)]
        problems += [f"solutions/{ASSIGNMENT}: {d}" for d in differences(solutions_dir, solutions)]
        if problems:
            print("release/ or solutions/ are stale; run `make assignment`:", file=sys.stderr)
            print("  " + "\n  ".join(problems), file=sys.stderr)
            return 1
        print(f"release/ and solutions/ are up to date ({len(release)} + {len(solutions)} files)")
        return 0

    write_tree(release_dir, release)
    write_tree(solutions_dir, solutions)
    print(
        f"wrote release/{ASSIGNMENT} ({len(release)} files), solutions/{ASSIGNMENT} ({len(solutions)} files)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
