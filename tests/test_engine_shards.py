"""`autograder grade DIR --shard I/N` and `autograder merge`: shards add up to one run."""

import csv
import json
import shutil
import subprocess
import sys
import zipfile

import pytest
from test_engine_cli import ROOT, autograder

from autograder import paths
from autograder.frontends import cli, shards
from autograder.paths import STUDENT_FILES
from autograder.tools import mutants

MUTANT = "word_embedding_backward_fancy_assign"
HEADER = "student,score,rnn_step_forward,seed\r\n"


def write_submission(folder, files):
    dest = folder / "captioning"
    dest.mkdir(parents=True)
    for name, data in files.items():
        (dest / name).write_bytes(data)


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """Four students, one or two per shard of 3: reference 1, stubs and stubs_zip 2, mutant 3."""
    folder = tmp_path_factory.mktemp("klass")
    reference = {n: (paths.reference_dir() / n).read_bytes() for n in STUDENT_FILES}
    stubs = {n: (paths.release_dir() / n).read_bytes() for n in STUDENT_FILES}
    bug = next(m for m in mutants.MUTANTS if m.name == MUTANT)
    write_submission(folder / "reference", reference)
    write_submission(folder / "stubs", stubs)
    write_submission(folder / "mutant", mutants.apply(bug, reference))
    with zipfile.ZipFile(folder / "stubs_zip.zip", "w") as z:
        for name, data in stubs.items():
            z.writestr(f"captioning/{name}", data)
    return folder


def start_shard(klass, shard, out_dir):
    command = ["grade", klass, "--shard", shard, "--out-dir", out_dir, "--seed", 7, "--workers", 1]
    return subprocess.Popen(
        [sys.executable, "-m", "autograder", *map(str, command)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def checks_of(path):
    return json.loads(path.read_text())["tests"]


def test_three_shards_merged_give_the_grades_of_one_run(klass, tmp_path):
    one_run, sharded = tmp_path / "one_run", tmp_path / "sharded"
    result = autograder("grade", klass, "--out-dir", one_run, "--seed", 7, "--workers", 2)
    assert result.returncode == 0, result.stderr
    # the three shards at once into one folder, as the jobs of a cluster array would
    jobs = {index: start_shard(klass, f"{index}/3", sharded) for index in (1, 2, 3)}
    outputs = {index: job.communicate(timeout=600) for index, job in jobs.items()}
    for index, (stdout, stderr) in outputs.items():
        assert jobs[index].returncode == 0, stderr
        assert f"(shard {index} of 3)" in stdout
        assert (sharded / f"grades.shard-{index}-of-3.csv").is_file()
    assert "2/2" in outputs[2][1]  # shard 2's progress bar: stubs and stubs_zip
    assert not (sharded / "grades.csv").exists()

    result = autograder("merge", sharded, "--out", tmp_path / "merged")
    assert result.returncode == 0, result.stderr
    assert "merged 4 students from 3 shards" in result.stdout
    merged = tmp_path / "merged"
    assert (merged / "grades.csv").read_bytes() == (one_run / "grades.csv").read_bytes()
    with open(merged / "grades.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert list(rows) == ["mutant", "reference", "stubs", "stubs_zip"]
    assert rows["reference"]["score"] == "100" and rows["stubs"]["score"] == "0"
    assert 0 < float(rows["mutant"]["score"]) < 100
    for name in rows:
        assert checks_of(merged / f"{name}.json") == checks_of(one_run / f"{name}.json")


def test_the_share_of_a_student_depends_on_the_name_alone_and_is_even():
    assert [shards.shard_of(n, 3) for n in ("reference", "stubs", "mutant")] == [1, 2, 3]
    counts = [0] * 4
    for i in range(300):
        counts[shards.shard_of(f"student{i:03d}", 4) - 1] += 1
    assert min(counts) >= 60 and max(counts) <= 90


@pytest.mark.parametrize("spec", ["0/3", "4/3", "1/0", "2", "a/b", "-1/2"])
def test_a_shard_out_of_range_is_refused(klass, spec, capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(["grade", str(klass), "--shard", spec])
    assert exit.value.code == 2
    assert "--shard" in capsys.readouterr().err


def test_a_single_submission_cannot_be_sharded(klass, tmp_path):
    result = autograder("grade", klass / "stubs", "--shard", "1/2", "--out-dir", tmp_path)
    assert result.returncode == 2
    assert "needs a folder of submissions" in result.stderr


def fake_shard(folder, index, count, students):
    """A shard's output as `grade --shard` writes it, without grading anyone."""
    folder.mkdir(exist_ok=True)
    lines = [HEADER] + [f"{name},5,5,7\r\n" for name in students]
    (folder / shards.shard_csv_name(index, count)).write_text("".join(lines), newline="")
    for name in students:
        (folder / f"{name}.json").write_text(json.dumps({"score": 5, "max_score": 100}))


def test_merge_of_several_folders_copies_the_json_and_orders_by_name(tmp_path):
    fake_shard(tmp_path / "a", 2, 3, ["bob", "ann"])
    fake_shard(tmp_path / "b", 1, 3, ["cid"])
    fake_shard(tmp_path / "b", 3, 3, [])  # a shard nobody fell into
    result = autograder("merge", tmp_path / "a", tmp_path / "b")
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "a" / "grades.csv").read_bytes().decode()
    assert text == HEADER + "ann,5,5,7\r\nbob,5,5,7\r\ncid,5,5,7\r\n"
    assert (tmp_path / "a" / "cid.json").is_file()


def test_merge_names_a_missing_shard(tmp_path):
    fake_shard(tmp_path, 1, 3, ["ann"])
    fake_shard(tmp_path, 3, 3, ["cid"])
    result = autograder("merge", tmp_path)
    assert result.returncode == 2
    assert "missing shard(s) 2 of 3: no grades.shard-2-of-3.csv" in result.stderr
    assert not (tmp_path / "grades.csv").exists()


def test_merge_names_a_shard_or_a_student_there_twice(tmp_path):
    fake_shard(tmp_path / "a", 1, 2, ["ann"])
    fake_shard(tmp_path / "a", 2, 2, ["bob"])
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    result = autograder("merge", tmp_path / "a", tmp_path / "b")
    assert result.returncode == 2
    assert "shard 1 of 2 is there 2 times" in result.stderr
    assert "student bob is in both" in result.stderr


def test_merge_refuses_shards_of_different_runs(tmp_path):
    fake_shard(tmp_path, 1, 2, ["ann"])
    fake_shard(tmp_path, 2, 3, ["bob"])
    result = autograder("merge", tmp_path)
    assert result.returncode == 2
    assert "N is 2 and 3" in result.stderr
