#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
cd /autograder/source
apt-get update -qq
apt-get install -y -qq python3 python3-pip python3-venv > /dev/null
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
/autograder/venv/bin/python -c "import nltk, numpy, h5py"
# Student code runs under a uid of its own: it must not read the hidden tests,
# the reference or the expected values.
chmod -R go-rwx /autograder/source
