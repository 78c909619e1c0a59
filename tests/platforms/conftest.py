"""Tests that lay a platform out as it really runs (`make test-platforms`).

They build real things this machine can make: an OS root with debootstrap, a
Docker image, a one-node Slurm cluster. Each is slow, so `make test` leaves
this folder out and `.ci/run` runs it after `make test`.

A test here skips, with the reason, only when the machine cannot provide the
platform (not root, no package mirror, no daemon); once the platform is up,
anything the grader gets wrong on it is a failure.
"""

import os

import pytest


@pytest.fixture
def as_root():
    """Skip unless this process is root (debootstrap, dockerd and slurmd need it)."""
    if os.geteuid() != 0:
        pytest.skip("needs root: builds an OS root, a Docker daemon or a Slurm cluster")
