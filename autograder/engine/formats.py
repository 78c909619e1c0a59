"""Grades out of the engine: a readable report, Gradescope JSON, a CSV of a class."""

from __future__ import annotations

import csv
import json


def total(results):
    return sum(r.score for r in results), sum(r.max_score for r in results)


def seed_of(results):
    """The seed of the grade's random draws (the same for every check of one grade)."""
    return next((r.seed for r in results if r.seed is not None), None)


def gradescope(results, execution_time, output=""):
    """The Gradescope results.json schema, one test per rubric check."""
    score, max_score = total(results)
    seed = seed_of(results)
    summary = f"Score: {score:g} / {max_score:g}"
    if seed is not None:
        summary += f" (grade seed {seed})"
    return {
        "score": score,
        "max_score": max_score,
        "execution_time": round(execution_time, 2),
        "output": output or summary,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {"seed": seed},
        "tests": [
            {
                "name": r.name,
                "score": r.score,
                "max_score": r.max_score,
                "status": r.status,
                "output": r.output,
                "visibility": r.visibility,
            }
            for r in results
        ],
    }


def write_json(results, path, execution_time):
    with open(path, "w") as f:
        json.dump(gradescope(results, execution_time), f, indent=2)
        f.write("\n")


def text(results, title=""):
    """A report for a terminal: one line per check, the feedback of failed checks."""
    width = max(len(r.name) for r in results)
    lines = [title] if title else []
    for r in results:
        mark = "PASS" if r.status == "passed" else "FAIL"
        lines.append(f"{mark}  {r.name.ljust(width)}  {r.score:g}/{r.max_score:g}")
        if r.status != "passed":
            lines += ["      " + line for line in r.output.splitlines()]
    score, max_score = total(results)
    lines.append(f"Total: {score:g} / {max_score:g}")
    if seed_of(results) is not None:
        lines.append(
            f"Seed: {seed_of(results)} (autograder grade --seed {seed_of(results)} repeats it)"
        )
    return "\n".join(lines)


def write_csv(rows, path, check_names):
    """rows: (student, results) pairs; one line per student, one column per check."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "score", *check_names, "seed"])
        for student, results in rows:
            by_name = {r.name: r.score for r in results}
            score, _ = total(results)
            seed = seed_of(results)
            writer.writerow(
                [
                    student,
                    f"{score:g}",
                    *(f"{by_name.get(n, 0):g}" for n in check_names),
                    "" if seed is None else seed,
                ]
            )
