#!/usr/bin/env bash
# Set up (a .venv with Python >= 3.12) and run the main job on the shipped data:
# the fitted scenario (dual-track and diversification vs the fair baselines, each at its
# 2010-2017 fit) against the 2010-2021 record.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_env.sh
sim_make_venv "."
"${SIM_VENV:-.venv}/bin/sim" data check
"${SIM_VENV:-.venv}/bin/sim" run scenarios/fitted.yaml
