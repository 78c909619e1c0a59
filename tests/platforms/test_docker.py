"""The Gradescope bundle in Docker, under the settings containers are deployed with (issue 21).

Once per run: Debian's docker.io (installed if missing), a daemon started by
hand with its own data-root, exec-root, pid file and socket in a scratch tmpfs
(so it clashes with no other daemon, and goes in a moment), a fresh
debootstrap bookworm root imported as the base image, and the image built the
way Gradescope builds it: the bundle unzipped into /autograder/source,
setup.sh run there as root, run_autograder copied to /autograder. Then the
reference, the stubs and a forger of results.json are graded by
/autograder/run_autograder, run from /autograder, under each setting below;
the last is the securityContext of the Kubernetes Job in docs/cluster.md, read
from the doc.

Each upload is unzipped (as Gradescope does) into a folder mounted read-only at
/autograder/submission; /autograder/results is a mounted folder, the one place
a read-only container can write its results.json. A container run as uid 1000
cannot read what setup.sh closed to everyone but root, so that setting runs
the same image with /autograder given to uid 1000 (one more layer), as an image
meant for `runAsUser: 1000` is built.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from autograder.frontends.gradescope.bundle import make_bundle
from autograder.tools import gradescope_check, osroot

IMAGE = "autograder-gradescope:test"
IMAGE_1000 = "autograder-gradescope:test-uid1000"
BASE = "autograder-base:bookworm"
LIMITS = "CPU, memory and file limits"

# setting -> (docker run options, what the walls line must say, the image)
SETTINGS = {
    "defaults": ([], "with a uid of its own,", IMAGE),
    "--cap-drop ALL": (
        ["--cap-drop", "ALL"],
        "the grader's uid (no uid of its own: the container has no SETUID/SETGID/CHOWN",
        IMAGE,
    ),
    "--cap-drop ALL --user 1000": (
        ["--cap-drop", "ALL", "--user", "1000"],
        "the grader's uid (no uid of its own: the grader is not root)",
        IMAGE_1000,
    ),
    "--security-opt no-new-privileges": (
        ["--security-opt", "no-new-privileges"],
        "with a uid of its own,",
        IMAGE,
    ),
    "--read-only --tmpfs /tmp": (
        ["--read-only", "--tmpfs", "/tmp"],
        "with a uid of its own,",
        IMAGE,
    ),
    # Kubernetes' "restricted" Pod Security Standard, a read-only root, an emptyDir
    # /tmp: the grading Job of docs/cluster.md, read from the doc.
    "the Job's securityContext": (
        None,
        "the grader's uid (no uid of its own: the grader is not root)",
        IMAGE_1000,
    ),
}

ROOT = Path(__file__).resolve().parents[2]


def pod_options(doc=ROOT / "docs" / "cluster.md"):
    """The `docker run` options of the grading Job's securityContext in docs/cluster.md:
    the doc's YAML is what this test runs, setting by setting."""
    blocks = re.findall(r"```yaml\n(.*?)```", doc.read_text(), re.S)
    job = next(y for y in map(yaml.safe_load, blocks) if y["spec"].get("completionMode"))
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    context = dict(pod.get("securityContext", {}))
    options = []
    if context.pop("runAsNonRoot", False):
        assert context.get("runAsUser", 0) != 0
    if "runAsUser" in context:
        options += ["--user", f"{context.pop('runAsUser')}:{context.pop('runAsGroup', 0)}"]
    context.pop("fsGroup", None)  # the shared volume's group: no volume of that kind here
    assert context.pop("seccompProfile", {"type": "RuntimeDefault"}) == {"type": "RuntimeDefault"}
    inner = dict(container.get("securityContext", {}))
    capabilities = inner.pop("capabilities", {})
    options += [x for cap in capabilities.pop("drop", []) for x in ("--cap-drop", cap)]
    options += [x for cap in capabilities.pop("add", []) for x in ("--cap-add", cap)]
    if inner.pop("allowPrivilegeEscalation", True) is False:
        options += ["--security-opt", "no-new-privileges"]
    if inner.pop("readOnlyRootFilesystem", False):
        options += ["--read-only"]
    empty = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
    for mount in container.get("volumeMounts", []):
        if mount["name"] in empty:  # an emptyDir: a plain folder, not noexec
            options += ["--tmpfs", f"{mount['mountPath']}:exec,mode=1777"]
    assert not context and not inner and not capabilities, "a setting this test cannot run"
    return options


DOCKERFILE = """FROM {base}
COPY host/ /
COPY autograder.zip /tmp/autograder.zip
RUN mkdir -p /autograder/source && cd /autograder/source && unzip -q /tmp/autograder.zip \\
    && bash ./setup.sh && cp /autograder/source/run_autograder /autograder/run_autograder \\
    && rm /tmp/autograder.zip
WORKDIR /autograder
"""
DOCKERFILE_1000 = f"FROM {IMAGE}\nRUN chown -R 1000:1000 /autograder\n"


def _ensure_docker():
    """The docker.io daemon and client, installed if missing; None or why not."""
    if not shutil.which("dockerd"):
        apt = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "-qq"]
        for step in (["update"], ["install", "-y", "docker.io"]):
            done = subprocess.run([*apt, *step], capture_output=True, text=True, timeout=900)
            if done.returncode != 0:
                return f"docker.io could not be installed: {done.stderr.strip()[-300:]}"
    if not shutil.which("dockerd"):
        return "no dockerd after installing docker.io"
    return None


class Daemon:
    """A dockerd of our own in `folder`; `docker(...)` talks to it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.socket = folder / "docker.sock"
        self.client = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"
        self.log = open(folder / "dockerd.log", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            ["dockerd", "--data-root", folder / "data", "--exec-root", folder / "exec"]
            + ["--pidfile", folder / "docker.pid", "-H", f"unix://{self.socket}"]
            + ["--storage-driver=overlay2", "--iptables=false", "--ip-masq=false"]
            + ["--bridge=none"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def docker(self, *args, timeout=1200, check=True, **kwargs):
        done = subprocess.run(
            [self.client, "-H", f"unix://{self.socket}", *map(str, args)],
            capture_output=True,
            text=True,
            timeout=timeout,
            **kwargs,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"docker {' '.join(map(str, args[:3]))}: {done.stderr[-2000:]}")
        return done

    def wait_ready(self, seconds=90):
        """None once the daemon answers, else why it does not."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self.docker("info", check=False, timeout=30).returncode == 0:
                return None
            time.sleep(1)
        tail = (self.folder / "dockerd.log").read_text().strip().splitlines()[-3:]
        return "a Docker daemon cannot run here: " + " | ".join(tail)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def test_the_doc_s_job_drops_everything_the_docker_settings_drop():
    options = pod_options()
    assert options[:2] == ["--user", "1000:1000"]
    for flag in ("--cap-drop ALL", "--security-opt no-new-privileges", "--read-only"):
        assert flag in " ".join(options)
    assert "--tmpfs" in options


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("needs root: starts a Docker daemon")
    why_not = osroot.available() or _ensure_docker()
    if why_not:
        pytest.skip(why_not)
    start = time.monotonic()
    with osroot.scratch(size="8g") as folder:
        started = Daemon(folder)
        try:
            why_not = started.wait_ready()
            if why_not:
                pytest.skip(why_not)
            print(f"\ndockerd ready in {time.monotonic() - start:.0f} s")
            yield started
        finally:
            start = time.monotonic()
            started.stop()
    print(f"\ndockerd stopped and its folder gone in {time.monotonic() - start:.0f} s")


@pytest.fixture(scope="module")
def images(daemon, tmp_path_factory):
    """The base image from a fresh bookworm root, then the Gradescope-built image."""
    work = tmp_path_factory.mktemp("docker-build")
    start = time.monotonic()
    daemon.docker("import", osroot.tarball("bookworm", work), BASE)
    context = work / "context"
    osroot.copy_host_files(context / "host")
    (context / "host" / "etc" / "resolv.conf").unlink()  # Docker gives the container its own
    make_bundle(context / "autograder.zip")
    (context / "Dockerfile").write_text(DOCKERFILE.format(base=BASE))
    daemon.docker("build", "--network", "host", "-t", IMAGE, context)
    (work / "uid1000").mkdir()
    (work / "uid1000" / "Dockerfile").write_text(DOCKERFILE_1000)
    daemon.docker("build", "-t", IMAGE_1000, work / "uid1000")
    print(f"\nimages built in {time.monotonic() - start:.0f} s")
    return work


@pytest.fixture(scope="module")
def uploads(tmp_path_factory):
    """name -> (the unzipped upload, its real grade): reference, stubs, forger."""
    where = tmp_path_factory.mktemp("uploads")
    made = {}
    for upload in gradescope_check.uploads(where / "zips"):
        folder = where / upload.name
        folder.mkdir()
        subprocess.run(["unzip", "-q", upload.archive, "-d", folder], check=True)
        subprocess.run(["chmod", "-R", "a+rX", folder], check=True)  # any uid may grade it
        made[upload.name] = (folder, upload.expected)
    return made


@pytest.mark.parametrize("upload", ["reference", "stubs", "forger"])
@pytest.mark.parametrize("setting", list(SETTINGS))
def test_the_bundle_grades_right_under_each_container_setting(
    daemon, images, uploads, tmp_path, setting, upload
):
    options, walls, image = SETTINGS[setting]
    options = pod_options() if options is None else options
    folder, expected = uploads[upload]
    results = tmp_path / "results"
    results.mkdir(mode=0o777)
    results.chmod(0o777)  # uid 1000 writes it too
    start = time.monotonic()
    done = daemon.docker(
        "run", "--rm", "--network", "none", *options,
        "-v", f"{folder}:/autograder/submission:ro", "-v", f"{results}:/autograder/results",
        image, "/autograder/run_autograder",
        check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    line = gradescope_check.walls_line(output)
    print(f"\n{setting} | {upload} | {time.monotonic() - start:.0f} s | {line}")
    assert done.returncode == 0, output[-3000:]
    assert (results / "results.json").is_file(), output[-3000:]
    payload = json.loads((results / "results.json").read_text())
    assert payload["score"] == expected, output[-3000:]
    assert payload.get("output") != "forged"
    assert walls in line, line
    assert f"Landlock, seccomp, {LIMITS}" in line and "warning" not in line, line
