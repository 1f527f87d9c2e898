#!/usr/bin/env bash
# Rewrite requirements.lock: install requirements-scale.txt and requirements-onnx.txt (both include requirements.txt) into a
# fresh virtual environment and record every resolved version.  Run on Linux x86-64 with Python 3.11,
# the platform of CI and of the Docker image; tests/test_lock.py checks the lock against the ranges.
set -euo pipefail
cd "$(dirname "$0")/.."
env_dir=$(mktemp -d)
python3 -m venv "$env_dir"
"$env_dir/bin/python" -m pip install --quiet --upgrade pip
"$env_dir/bin/python" -m pip install --quiet -r requirements-scale.txt -r requirements-onnx.txt
{
  echo "# The exact versions CI and the Docker image were tested with (Linux x86-64, Python 3.11), used as"
  echo "# a constraints file: pip install -r requirements.txt -c requirements.lock.  Made by"
  echo "# scripts/lock.sh from a fresh install of requirements-scale.txt and requirements-onnx.txt (the ranges"
  echo "# stay in the requirements files; requirements-inference.txt installs through the same pins)."
  "$env_dir/bin/python" -m pip freeze | grep -v '^-e\|@ file'
} > requirements.lock
rm -rf "$env_dir"
echo "wrote requirements.lock ($(grep -vc '^#' requirements.lock) packages)"
