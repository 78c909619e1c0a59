"""The Slurm array job of docs/cluster.md, on a one-node Slurm cluster started here.

The cluster is Debian's slurm-wlm and munge (installed when missing), laid out
as /work/shared/PLATFORMS.md says: munged, slurmctld and slurmd on localhost,
off the default ports, with every socket, pid file, log and state folder in
one scratch folder. The test runs the doc's own files (docs/cluster/submit.sh,
grade-array.sbatch, merge.sbatch, not copies) on six students, waits for the
array and the merge job, and compares the merged grades.csv with one
`autograder grade` run under the same seed: byte for byte.

Everything is taken down whatever happens: the jobs cancelled (a job's
slurmstepd outlives slurmd), the daemons killed by their pid files, the
scratch folder removed (a state folder left behind brings old jobs back).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from autograder import paths
from autograder.tools import mutants

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "docs" / "cluster"
PORTS = (16817, 16818)  # slurmctld, slurmd: off the defaults (6817, 6818)
PACKAGES = ("slurm-wlm", "munge")
BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol", "scancel")
UP_SECONDS = 90  # for the node to be idle
JOB_SECONDS = 900  # for the array and the merge


def have_slurm():
    return all(shutil.which(b, path="/usr/sbin:/usr/bin:/sbin:/bin") for b in BINARIES)


def install_slurm():
    """Debian's packages, when they are not there yet; the reason why not, or None."""
    if have_slurm():
        return None
    if not shutil.which("apt-get"):
        return "no apt-get to install slurm-wlm and munge"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "-q"]
    for args in (["update"], ["install", "-y", *PACKAGES]):
        result = subprocess.run(apt + args, env=env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            return f"apt-get {args[0]} failed: {result.stderr.strip()[-300:]}"
    return None if have_slurm() else "slurm-wlm and munge installed, but not their commands"


def port_free(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def memory_mb():
    with open("/proc/meminfo") as f:
        total_kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    return total_kb // 1024 - 512  # a little under: slurmd drains a node that has less


def slurm_conf(scratch, host, socket_path):
    s = scratch
    return f"""\
ClusterName=autogradertest
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={socket_path}
SlurmctldPort={PORTS[0]}
SlurmdPort={PORTS[1]}
StateSaveLocation={s}/state
SlurmdSpoolDir={s}/spool
SlurmctldPidFile={s}/slurmctld.pid
SlurmdPidFile={s}/slurmd.pid
SlurmctldLogFile={s}/slurmctld.log
SlurmdLogFile={s}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
DefMemPerCPU=1000
NodeName={host} CPUs={os.cpu_count()} RealMemory={memory_mb()} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES State=UP MaxTime=INFINITE
"""


class Cluster:
    """munged, slurmctld and slurmd, all their files in `scratch`; take down by stop()."""

    def __init__(self, scratch):
        self.scratch = scratch
        self.host = socket.gethostname().split(".")[0]
        self.munge = scratch / "munge"
        self.env = dict(os.environ, SLURM_CONF=str(scratch / "slurm.conf"))
        self.pid_files = [scratch / "slurmd.pid", scratch / "slurmctld.pid", self.munge / "pid"]
        self.logs = []
        self.daemons = []

    def start(self):
        """The reason the cluster could not be started, or None once the node is idle."""
        for folder in ("state", "spool"):
            (self.scratch / folder).mkdir()
        self.munge.mkdir(mode=0o755)
        shutil.chown(self.munge, "munge", "munge")
        socket_path = self.munge / "socket"
        (self.scratch / "slurm.conf").write_text(slurm_conf(self.scratch, self.host, socket_path))
        munged = ["/usr/sbin/munged", f"--socket={socket_path}", f"--pid-file={self.munge}/pid"]
        munged += [f"--log-file={self.munge}/log", f"--seed-file={self.munge}/seed"]
        result = subprocess.run(munged, user="munge", group="munge", capture_output=True, text=True)
        if result.returncode != 0:
            return f"munged did not start: {result.stderr.strip()}"
        for daemon in ("slurmctld", "slurmd"):
            log = open(self.scratch / f"{daemon}.out", "w")  # noqa: SIM115 - closed in stop()
            self.logs.append(log)
            self.daemons.append(subprocess.Popen(
                [f"/usr/sbin/{daemon}", "-D"], env=self.env, stdout=log, stderr=log,
                start_new_session=True,
            ))  # fmt: skip
        deadline = time.monotonic() + UP_SECONDS
        while time.monotonic() < deadline:
            state = self.run("sinfo", "-h", "-o", "%T", check=False).stdout.strip()
            if state == "idle":
                return None
            time.sleep(1)
        return f"the node did not become idle (sinfo: {state!r}); {self.tail()}"

    def run(self, *args, check=True, **kw):
        result = subprocess.run(args, env=self.env, capture_output=True, text=True, **kw)
        if check:
            assert result.returncode == 0, f"{args}: {result.stderr}"
        return result

    def tail(self):
        text = []
        for name in ("slurmctld.log", "slurmd.log", "munge/log"):
            path = self.scratch / name
            if path.exists():
                text.append(f"{name}: " + " | ".join(path.read_text().splitlines()[-5:]))
        return "; ".join(text)

    def stop(self):
        """Cancel every job and wait for the queue to empty, then kill the daemons."""
        if (self.scratch / "slurmctld.pid").exists():
            self.run("scancel", "--user", "root", check=False, timeout=30)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                queue = self.run("squeue", "-h", check=False, timeout=30)
                if queue.returncode != 0 or not queue.stdout.strip():
                    break
                time.sleep(1)
        for pid_file in self.pid_files:
            kill_by_pid_file(pid_file)
        for daemon in self.daemons:  # killed above (or never up): reap them
            if daemon.poll() is None:
                daemon.kill()
            daemon.wait(timeout=30)
        for log in self.logs:
            log.close()


def kill_by_pid_file(path):
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster():
    if os.geteuid() != 0:
        pytest.skip("needs root: starts munged, slurmctld and slurmd")
    reason = install_slurm()
    if reason:
        pytest.skip(f"no Slurm here: {reason}")
    busy = [port for port in PORTS if not port_free(port)]
    if busy:
        pytest.skip(f"ports {busy} are taken: another Slurm runs here")
    # munged runs as its own user: the scratch folder must be passable by every uid.
    scratch = Path(tempfile.mkdtemp(prefix="autograder-slurm-", dir="/tmp"))
    os.chmod(scratch, 0o755)
    cluster = Cluster(scratch)
    try:
        reason = cluster.start()
        if reason:
            pytest.skip(f"Slurm could not be started here: {reason}")
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def klass(folder):
    """Six students: the reference, the stubs (also zipped), two bugs, and links only."""
    reference = {n: (paths.reference_dir() / n).read_bytes() for n in paths.STUDENT_FILES}
    stubs = {n: (paths.release_dir() / n).read_bytes() for n in paths.STUDENT_FILES}
    bugs = [m for m in mutants.MUTANTS][:2]
    students = {"reference": reference, "stubs": stubs}
    students.update({f"bug_{i}": mutants.apply(m, reference) for i, m in enumerate(bugs, 1)})
    for name, files in students.items():
        (folder / name / "captioning").mkdir(parents=True)
        for file, data in files.items():
            (folder / name / "captioning" / file).write_bytes(data)
    with zipfile.ZipFile(folder / "stubs_zip.zip", "w") as z:
        for file, data in stubs.items():
            z.writestr(f"captioning/{file}", data)
    (folder / "links" / "captioning").mkdir(parents=True)
    for file in paths.STUDENT_FILES:
        (folder / "links" / "captioning" / file).symlink_to(paths.reference_dir() / file)
    return folder


def job_states(cluster, job):
    """{job id: state} of every task of `job` that Slurm still remembers."""
    out = cluster.run("scontrol", "-o", "show", "job", job, check=False).stdout
    return dict(re.findall(r"JobId=(\d+) .*?JobState=(\w+)", out))


def submit(cluster, work, submissions, grades):
    """Run the doc's submit.sh from `work`: (array job id, seed, merge job id)."""
    work.mkdir()
    os.chmod(work, 0o755)
    env = dict(cluster.env, REPO=str(ROOT), SUBMISSIONS=str(submissions), GRADES=str(grades))
    submitted = subprocess.run(
        ["bash", str(CLUSTER / "submit.sh")], cwd=work, env=env, capture_output=True, text=True
    )
    assert submitted.returncode == 0, submitted.stderr
    found = re.search(r"job (\d+) \(seed (\d+)\); merge: job (\d+)", submitted.stdout)
    assert found, submitted.stdout
    return found.groups()


def wait_for(cluster, jobs, seconds=JOB_SECONDS):
    """Wait until none of `jobs` is in the queue (pending or running)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not cluster.run("squeue", "-h", "-j", ",".join(jobs), check=False).stdout.strip():
            return
        time.sleep(2)
    pytest.fail(f"jobs {jobs} did not end within {seconds} s: {cluster.tail()}")


def test_the_docs_array_job_merged_equals_one_run(cluster):
    work = cluster.scratch / "course"
    submissions = klass(cluster.scratch / "submissions")
    grades = work / "grades"
    started = time.monotonic()
    job, seed, merge = submit(cluster, work, submissions, grades)
    assert seed == job  # the default seed: the array's job id, the same in every shard
    wait_for(cluster, [job, merge])
    elapsed = time.monotonic() - started

    logs = {p.name: p.read_text() for p in sorted((work / "logs").glob("*.out"))}
    states = {**job_states(cluster, job), **job_states(cluster, merge)}
    assert len(states) == 8 + 1 and set(states.values()) == {"COMPLETED"}, (states, logs)
    assert sorted(logs) == [f"grade-{job}_{i}.out" for i in range(1, 9)] + [f"merge-{merge}.out"]
    for i in range(1, 9):  # each shard says which walls were up around student code
        assert "autograder: student code runs with" in logs[f"grade-{job}_{i}.out"]
    assert (grades / "grades.csv").exists(), logs[f"merge-{merge}.out"]

    one = work / "one"
    command = [sys.executable, "-m", "autograder", "grade", str(submissions), "--out-dir"]
    command += [str(one), "--seed", seed, "--workers", "2"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    merged, single = (grades / "grades.csv").read_bytes(), (one / "grades.csv").read_bytes()
    assert merged == single
    rows = single.decode().splitlines()[1:]
    scores = {row.split(",")[0]: float(row.split(",")[1]) for row in rows}
    assert scores["reference"] == 100 and scores["stubs"] == scores["stubs_zip"] == 0
    assert scores["links"] == 0 and all(0 < scores[f"bug_{i}"] < 100 for i in (1, 2))
    print(f"\nSlurm array job {job} (8 shards) and merge job {merge}: {elapsed:.0f} s; "
          f"merged grades.csv == one run's with seed {seed}")  # fmt: skip


def test_a_failed_shard_leaves_the_merge_pending_until_it_is_cancelled(cluster):
    """What docs/cluster.md says to do when a shard fails: the merge never starts, and
    scancel removes it."""
    work = cluster.scratch / "failing"
    job, _, merge = submit(cluster, work, cluster.scratch / "no-such-folder", work / "grades")
    wait_for(cluster, [job])
    assert set(job_states(cluster, job).values()) == {"FAILED"}
    deadline = time.monotonic() + 120  # the scheduler re-reads the dependency now and then
    while time.monotonic() < deadline:
        pending = cluster.run("squeue", "-h", "-j", merge, "-o", "%T %r").stdout.split()
        if pending != ["PENDING", "Dependency"]:
            break
        time.sleep(2)
    assert pending == ["PENDING", "DependencyNeverSatisfied"]
    cluster.run("scancel", merge)
    wait_for(cluster, [merge], seconds=60)
    assert not (work / "grades" / "grades.csv").exists()
