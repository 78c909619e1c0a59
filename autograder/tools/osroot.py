"""Fresh Debian roots for trying the project as another machine runs it (root only).

``build(release, root)`` makes ROOT a minimal Debian RELEASE (debootstrap, the
mirror read at run time from the machine's apt sources, never stored here)
with Python 3, venv, pip, unzip and CA certificates, from a cached tarball
under /var/cache/autograder when one was made before (optional: a cold build
works the same, and a cache that cannot be written is skipped).
``mounted(root)`` binds ROOT onto itself, then proc, sys, dev, dev/pts and a
tmpfs on dev/shm, and copies in what networking and pip need (resolv.conf, the
machine's CA certificates, its pip configuration); on the way out it stops
every process left inside and unmounts deepest first. ``run(root, script)``
runs a shell script inside with a bare environment.

    python -m autograder.tools.osroot build bookworm /srv/roots/bookworm
    python -m autograder.tools.osroot run /srv/roots/bookworm 'python3 --version'
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
LEGACY_SOURCES = Path("/etc/apt/sources.list")
CACHE = Path("/var/cache/autograder")
PACKAGES = ("python3", "python3-venv", "python3-pip", "unzip", "ca-certificates")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LOCAL_CAS = Path("/usr/local/share/ca-certificates")
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
PIP_FILES = (Path("/etc/pip.conf"), Path("/etc/xdg/pip"))


class OSRootUnavailable(RuntimeError):
    """This machine cannot build a root: not root, no debootstrap, no mirror."""


def mirror():
    """The Debian mirror of this machine's apt sources (the first non-security URI)."""
    uris = []
    if SOURCES.exists():
        for line in SOURCES.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "URIs":
                uris += value.split()
    if not uris and LEGACY_SOURCES.exists():
        for line in LEGACY_SOURCES.read_text().splitlines():
            words = line.split()
            if words[:1] == ["deb"]:
                uris += [w for w in words[1:] if "://" in w][:1]
    for uri in uris:
        if "security" not in uri:
            return uri
    raise OSRootUnavailable(f"no Debian mirror in {SOURCES} or {LEGACY_SOURCES}")


def available():
    """Why no root can be built here (None if one can): root and debootstrap."""
    if os.geteuid() != 0:
        return "building an OS root needs root"
    try:
        mirror()
    except OSRootUnavailable as exc:
        return str(exc)
    return None


def install_debootstrap():
    if shutil.which("debootstrap"):
        return
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "-qq"]
    subprocess.run([*apt, "update"], check=True, capture_output=True)
    subprocess.run([*apt, "install", "-y", "debootstrap"], check=True, capture_output=True)


def _cache_file(release, packages):
    key = hashlib.sha256(" ".join([release, *sorted(packages)]).encode()).hexdigest()[:12]
    return CACHE / f"osroot-{release}-{key}.tar"


def build(release, root, packages=PACKAGES, cache=True, log=print):
    """Make `root` (an empty or missing folder) a fresh Debian `release` with `packages`;
    from the cached tarball when there is one. Returns the seconds it took."""
    start = time.monotonic()
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise ValueError(f"{root} is not empty")
    tarball = _cache_file(release, packages)
    if cache and tarball.is_file():
        log(f"osroot: {release} from the cache {tarball}")
        subprocess.run(["tar", "-C", root, "-xpf", tarball, "--numeric-owner"], check=True)
        return time.monotonic() - start
    install_debootstrap()
    log(f"osroot: debootstrap {release} (minbase, {' '.join(packages)})")
    subprocess.run(
        ["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", release, root]
        + [mirror()],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if cache:
        _store(root, tarball, log)
    return time.monotonic() - start


def tarball(release, workdir, packages=PACKAGES, log=print):
    """A tarball of a fresh root of `release`: the cached one, else one built now (and
    cached where the cache can be written, else left in `workdir`)."""
    cached = _cache_file(release, packages)
    if cached.is_file():
        return cached
    with scratch(workdir) as where:
        build(release, where / "root", packages, log=log)
        if cached.is_file():
            return cached
        made = Path(workdir) / cached.name
        subprocess.run(
            ["tar", "-C", where / "root", "-cpf", made, "--numeric-owner", "."], check=True
        )
        return made


@contextlib.contextmanager
def scratch(parent="/var/tmp", size="6g"):
    """A fresh tmpfs folder below `parent` for a root: removing a root of 30,000 files
    from a busy disk takes a minute; unmounting a tmpfs takes none."""
    where = Path(tempfile.mkdtemp(prefix="osroot-", dir=parent))
    _mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", where)
    try:
        yield where
    finally:
        _stop_processes_below(where)
        result = subprocess.run(["umount", "-R", str(where)], capture_output=True)
        if result.returncode != 0:
            subprocess.run(["umount", "-R", "-l", str(where)], capture_output=True)
        with contextlib.suppress(OSError):
            where.rmdir()


def _stop_processes_below(folder):
    folder = os.path.realpath(folder)
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{entry.name}/root").startswith(folder + os.sep):
                    os.kill(int(entry.name), signal.SIGKILL)


def _store(root, tarball, log):
    """Keep a tarball of the fresh root for the next build; a cache that cannot be
    written is no error."""
    try:
        tarball.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=tarball.parent, suffix=".partial")
        os.close(fd)
        subprocess.run(
            ["tar", "-C", root, "-cpf", partial, "--numeric-owner", "."],
            check=True,
            capture_output=True,
        )
        os.replace(partial, tarball)
        log(f"osroot: cached as {tarball}")
    except (OSError, subprocess.CalledProcessError) as exc:
        log(f"osroot: no cache ({exc})")
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(partial)


def host_files():
    """(path here, path in a root) of what networking and pip need in a fresh root:
    resolv.conf, the machine's CA bundle and its local CA certificates (where the
    root's ca-certificates keeps them when it rebuilds its bundle), pip's
    configuration. Folders are copied whole."""
    pairs = [(Path("/etc/resolv.conf").resolve(), "etc/resolv.conf")]
    if LOCAL_CAS.is_dir():
        pairs += [(cert, str(cert.relative_to("/"))) for cert in sorted(LOCAL_CAS.glob("*.crt"))]
    pairs += [(path, str(path.relative_to("/"))) for path in (CA_BUNDLE, *PIP_FILES)]
    return [(source, inside) for source, inside in pairs if source.exists()]


def copy_host_files(root):
    """Put `host_files()` into `root` (replacing what the root had there)."""
    for source, inside in host_files():
        dest = Path(root) / inside
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, dest, dirs_exist_ok=True)
            continue
        with contextlib.suppress(FileNotFoundError):
            dest.unlink()  # a link (resolv.conf) is replaced, not followed
        shutil.copy(source, dest)


def _mount(*args):
    subprocess.run(["mount", *map(str, args)], check=True, capture_output=True)


def processes_inside(root):
    """Pids whose root directory is `root`."""
    root = os.path.realpath(root)
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{entry.name}/root") == root:
                    found.append(int(entry.name))
    return found


def _stop_processes(root):
    for _ in range(50):
        pids = processes_inside(root)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


@contextlib.contextmanager
def mounted(root):
    """`root` ready to chroot into; everything unmounted, deepest first, afterwards."""
    root = Path(root).resolve()
    done = []
    try:
        _mount("--bind", root, root)  # / inside is a mount point: namespaces can go private
        done.append(root)
        for name in ("proc", "sys", "dev", "dev/pts"):
            target = root / name
            target.mkdir(parents=True, exist_ok=True)
            if name == "proc":
                _mount("-t", "proc", "proc", target)
            else:
                _mount("--rbind" if name == "sys" else "--bind", f"/{name}", target)
            done.append(target)
        shm = root / "dev/shm"
        _mount("-t", "tmpfs", "-o", "mode=1777", "tmpfs", shm)
        done.append(shm)
        copy_host_files(root)
        yield root
    finally:
        _stop_processes(root)
        for target in reversed(done):
            result = subprocess.run(["umount", "-R", str(target)], capture_output=True)
            if result.returncode != 0:
                subprocess.run(["umount", "-R", "-l", str(target)], capture_output=True)


def run(root, script, user=None, check=False, timeout=None, capture=True):
    """Run the bash script `script` inside `root` with a bare environment: as root, or
    as `user` (uid) with HOME /home/<name>. Returns the CompletedProcess."""
    if user is None:
        command = ["env", "-i", "HOME=/root", f"PATH={PATH}", "chroot", str(root)]
    else:
        command = ["chroot", f"--userspec={user}:{user}", str(root)]
        command += ["env", "-i", f"HOME=/home/{user}", "PATH=/usr/local/bin:/usr/bin:/bin"]
    return subprocess.run(
        [*command, "bash", "-lc", script],
        check=check,
        timeout=timeout,
        capture_output=capture,
        text=True,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder.tools.osroot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("build", help="debootstrap RELEASE into ROOT (or from the cache)")
    make.add_argument("release")
    make.add_argument("root", type=Path)
    make.add_argument("--no-cache", action="store_true")
    inside = commands.add_parser("run", help="run a bash script inside ROOT, mounted")
    inside.add_argument("root", type=Path)
    inside.add_argument("script")
    args = parser.parse_args(argv)
    why_not = available()
    if why_not:
        print(f"osroot: {why_not}", file=sys.stderr)
        return 2
    if args.command == "build":
        seconds = build(args.release, args.root, cache=not args.no_cache)
        print(f"osroot: {args.root} ready in {seconds:.0f} s")
        return 0
    with mounted(args.root) as root:
        result = run(root, args.script, capture=False)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
