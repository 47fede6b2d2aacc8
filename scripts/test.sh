#!/usr/bin/env bash
# Set up (a .venv with Python >= 3.12, project + test extras) and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_env.sh
sim_make_venv ".[test]"
"${SIM_VENV:-.venv}/bin/python" -m pytest -q "$@"
