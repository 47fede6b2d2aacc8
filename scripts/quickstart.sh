#!/usr/bin/env bash
# Set up (a .venv with Python >= 3.12) and run the main job on the shipped data.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_env.sh
sim_make_venv "."
.venv/bin/sim data check
.venv/bin/sim data summary --out results/record
