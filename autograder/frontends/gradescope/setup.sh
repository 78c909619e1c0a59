#!/usr/bin/env bash
# Gradescope runs this once, as root, from ROOT/source (ROOT=/autograder) when
# it builds the autograder image. The grader's virtual environment goes to
# ROOT/venv, where run_autograder looks for it.
set -euo pipefail
export PATH="${PATH:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}"
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(dirname "$SOURCE")"
cd "$SOURCE"
if ! python3 -c "import ensurepip, venv" 2> /dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq python3 python3-pip python3-venv > /dev/null
fi
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/pip" install --quiet --disable-pip-version-check -r requirements.txt
"$ROOT/venv/bin/python" -c "import nltk, numpy, h5py, tqdm"
# Student code runs under a uid of its own: it must not read the hidden tests,
# the reference or the expected values.
chmod -R go-rwx "$SOURCE"
