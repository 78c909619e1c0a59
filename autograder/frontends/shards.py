"""Grading a class in shards on a cluster, and merging the shards' output.

``autograder grade DIR --shard I/N`` grades the students whose shard is I
(1-based, 1 <= I <= N): the first 8 bytes of the sha256 of the student's
name, modulo N. The share depends on the name alone, so it is the same on
every machine and in every listing order, and a student added late moves
nobody else; on a class of any size the shards are even to within a few
students. A shard writes ``<student>.json`` for its own students and
``grades.shard-I-of-N.csv``, so every shard can write into one folder.

``autograder merge DIR [DIR...] [--out OUT]`` checks that each shard of N is
there exactly once and no student twice, then writes ``OUT/grades.csv`` as one
``grade`` run would have (same columns, students in name order) and copies
the students' JSON files into OUT unless they are already there.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import shutil
from pathlib import Path

SHARD_CSV = re.compile(r"^grades\.shard-(\d+)-of-(\d+)\.csv$")


class MergeError(Exception):
    """Shard output that does not add up to one class."""


def parse_shard(text: str):
    """`I/N` -> (I, N), for argparse."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected I/N (e.g. 1/4), not {text!r}")
    index, count = map(int, match.groups())
    if count < 1:
        raise argparse.ArgumentTypeError(f"{text}: N must be at least 1")
    if not 1 <= index <= count:
        raise argparse.ArgumentTypeError(f"{text}: I counts from 1 to N={count}")
    return index, count


def shard_of(student: str, count: int) -> int:
    """The 1-based shard of a student among `count` shards."""
    digest = hashlib.sha256(student.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def shard_csv_name(index: int, count: int) -> str:
    return f"grades.shard-{index}-of-{count}.csv"


def _read_csv(path: Path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0][:2] != ["student", "score"]:
        raise MergeError(f"{path} is not a grades CSV")
    return rows[0], rows[1:]


def collect(folders):
    """Check the shards in `folders`: (header, {student: (row, folder)}, count)."""
    shards = {}  # (index, count) -> [csv paths]
    for folder in folders:
        if not folder.is_dir():
            raise MergeError(f"{folder} is not a folder")
        for path in sorted(folder.iterdir()):
            match = SHARD_CSV.match(path.name)
            if match:
                shards.setdefault(tuple(map(int, match.groups())), []).append(path)
    if not shards:
        where = ", ".join(map(str, folders))
        raise MergeError(f"no shard CSVs (grades.shard-I-of-N.csv) in {where}")
    counts = sorted({count for _, count in shards})
    if len(counts) > 1:
        raise MergeError(f"shards of different runs: N is {' and '.join(map(str, counts))}")
    count = counts[0]
    problems = []
    missing = [i for i in range(1, count + 1) if (i, count) not in shards]
    if missing:
        names = ", ".join(shard_csv_name(i, count) for i in missing)
        problems.append(f"missing shard(s) {', '.join(map(str, missing))} of {count}: no {names}")
    for (index, _), paths in sorted(shards.items()):
        if len(paths) > 1:
            problems.append(
                f"shard {index} of {count} is there {len(paths)} times: "
                + ", ".join(map(str, paths))
            )
    header, students, seen = None, {}, {}
    for _, paths in sorted(shards.items()):
        for path in paths:
            this_header, rows = _read_csv(path)
            if header is None:
                header = this_header
            elif this_header != header:
                problems.append(f"{path} has other columns than the other shards")
            for row in rows:
                name = row[0]
                if name in seen:
                    problems.append(f"student {name} is in both {seen[name]} and {path}")
                    continue
                if not (path.parent / f"{name}.json").is_file():
                    problems.append(f"student {name} of {path} has no {name}.json next to it")
                seen[name] = path
                students[name] = (row, path.parent)
    if problems:
        raise MergeError("\n".join(problems))
    return header, students, count


def merge(folders, out: Path | None = None):
    """Join the shards in `folders` into OUT (default: the first folder)."""
    folders = [Path(f) for f in folders]
    out = out or folders[0]
    header, students, count = collect(folders)
    out.mkdir(parents=True, exist_ok=True)
    names = sorted(students)
    with open(out / "grades.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(students[name][0] for name in names)
    width = max([len(n) for n in names] + [7])
    for name in names:
        source = students[name][1] / f"{name}.json"
        target = out / source.name
        if source.resolve() != target.resolve():
            shutil.copyfile(source, target)
        payload = json.loads(target.read_text())
        print(f"{name.ljust(width)}  {payload['score']:g} / {payload['max_score']:g}")
    print(f"merged {len(names)} students from {count} shards")
    print(f"wrote {out / 'grades.csv'} and one JSON per student in {out}")
