"""Submissions that attack the grader get the score they deserve and change nothing.

Each file of tests/redteam/ (but alt_correct/) is an attack: code appended to
the reference's rnn_layers.py or rnn.py, with a header naming the checks it
must fail (those of the functions it attacks) and checks it must still pass
(the reference's own code, untouched by the attack). After every attack: no
process is left, no file appeared outside the sandboxes, the grader's files
are unchanged.
"""

import hashlib
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from autograder import paths
from autograder.engine import grade_files, load_rubric
from autograder.paths import STUDENT_FILES
from conftest import child_processes

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ATTACKS = sorted(p for p in (HERE / "redteam").glob("*.py"))
RUBRIC = {c["name"]: c for c in load_rubric()}
# Where the attacks try to write; none of these may exist afterwards.
PLANTED = [
    ROOT / "results.json",
    ROOT / "autograder" / "results.json",
    ROOT / "pwned.txt",
    ROOT.parent / "pwned.txt",
    Path("/tmp/results.json"),
    Path("/autograder/results/results.json"),
]


def header(path):
    fields = {}
    for line in path.read_text().splitlines():
        if line.startswith("# ") and ":" in line:
            key, _, value = line[2:].partition(":")
            fields[key.strip()] = value.split()
    return fields["target"][0], fields["fails"], fields["passes"]


def attacked(path):
    target, _, _ = header(path)
    ref = paths.reference_dir()
    files = {name: (ref / name).read_bytes() for name in STUDENT_FILES}
    code = path.read_text().replace("{ROOT}", str(ROOT))
    files[target] += b"\n\n" + code.encode()
    return files


def grader_fingerprint():
    digest = hashlib.sha256()
    for folder in (paths.PACKAGE, paths.reference_dir(), paths.provided_dir()):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path).encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def fingerprint():
    return grader_fingerprint()


@pytest.fixture(autouse=True)
def private_tmp(monkeypatch):
    """The job directories of this test's gradings, apart from any other grader's (in
    /tmp: a child under a uid of its own must be able to pass through to its box)."""
    folder = Path(tempfile.mkdtemp(prefix="redteam-", dir="/tmp"))
    folder.chmod(0o711)
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("attack", ATTACKS, ids=[p.stem for p in ATTACKS])
def test_attack_gets_the_score_it_deserves_and_leaves_nothing(attack, fingerprint, private_tmp):
    _, fails, passes = header(attack)
    names = list(dict.fromkeys(fails + passes))
    # Shorter time limits: the endless loops need not take the full ones here.
    graded = grade_files(attacked(attack), [RUBRIC[n] for n in names], workers=2, time_scale=0.2)
    results = {r.name: r for r in graded}
    for name in fails:
        assert results[name].status == "failed", (name, results[name].output)
        assert results[name].score == 0
    for name in passes:
        assert results[name].status == "passed", (name, results[name].output)
    for result in results.values():
        assert "Total: 100" not in result.output
        assert "spam" not in result.output and "yyyy" not in result.output
        assert len(result.output) < 2000
    assert child_processes() == []
    assert list(private_tmp.iterdir()) == []  # every job directory was removed
    for path in PLANTED:
        assert not path.exists(), path
    assert grader_fingerprint() == fingerprint


def test_an_attack_graded_alongside_the_reference_does_not_disturb_it():
    names = ["rnn_step_forward", "rnn_forward", "word_embedding_backward"]
    selected = [RUBRIC[n] for n in names]
    ref = paths.reference_dir()
    reference = {name: (ref / name).read_bytes() for name in STUDENT_FILES}
    attacks = [attacked(HERE / "redteam" / f"{a}.py") for a in ("fake_results", "kill_parent")]
    attacks.append(attacked(HERE / "redteam" / "detached_process.py"))
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(grade_files, files, selected, 1) for files in attacks]
        mine = pool.submit(grade_files, reference, selected, 1)
        for future in futures:
            future.result()
        results = mine.result()
    assert all(r.status == "passed" for r in results), [r.output for r in results]
    assert child_processes() == []


def test_the_attack_headers_name_real_checks():
    for attack in ATTACKS:
        target, fails, passes = header(attack)
        assert target in STUDENT_FILES
        assert set(fails + passes) <= set(RUBRIC), attack.name
        assert not set(fails) & set(passes)
