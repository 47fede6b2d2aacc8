#!/usr/bin/env bash
# Re-run the studies whose files the documentation keeps under docs/results/, copy the files the
# pages use over the kept ones, and regenerate the tables (scripts/results_pages.py).
#
#   bash scripts/refresh_results.sh                    # the quick ones: fitted projection
#   bash scripts/refresh_results.sh fitted calibrate jd projection inference
#
# Costs on 2 cores (measured alone or lightly shared): fitted ~20 s, projection (sim project and
# sim backtest) ~1.5 min, calibrate (sim calibrate calibrate_all + the ablation example) ~3 min
# alone and ~13 min shared, jd ~4-11 min, inference (five sim infer runs) ~85 min.
# Not covered: sim recover (~20 min shared; docs/development.md says how to refresh it by hand).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${SIM_PY:-python}"
RESULTS=docs/results
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT

keep() {  # keep SRC_DIR DEST_DIR FILE...: copy the listed files (globs allowed) into DEST_DIR
    local src="$1" dest="$2"
    shift 2
    mkdir -p "$dest"
    for pattern in "$@"; do
        for file in "$src"/$pattern; do
            mkdir -p "$dest/$(dirname "${file#"$src"/}")"
            cp "$file" "$dest/${file#"$src"/}"
        done
    done
}

fitted() {
    "$PY" -m sim run scenarios/fitted.yaml --out "$SCRATCH/fitted" --quiet
    keep "$SCRATCH/fitted" "$RESULTS/fitted" fit.csv summary.csv yearly.csv report.md 'figures/*.png'
}

projection() {
    "$PY" -m sim project scenarios/project_2030.yaml --out "$SCRATCH/project"
    keep "$SCRATCH/project" "$RESULTS/project_2030" robustness.csv prim_boxes.csv yearly.csv \
        carried_forward.csv report.md 'figures/*.png'
    "$PY" -m sim backtest scenarios/project_2030.yaml --out "$SCRATCH/backtest"
    keep "$SCRATCH/backtest" "$RESULTS/project_2030-backtest" backtest.csv report.md
}

calibration() {  # calibration SCENARIO_NAME
    "$PY" -m sim calibrate "scenarios/$1.yaml" --out "$SCRATCH/$1"
    keep "$SCRATCH/$1/report" "$RESULTS/$1" ranking.csv ranking_by_seed.csv support.csv \
        held_out_patterns.csv parameters.csv sensitivity.csv calibrated.yaml report.md \
        'figures/*.png' 'validation_run/figures/*.png' validation_run/yearly.csv \
        validation_run/summary.csv validation_run/fit.csv
}

calibrate() {
    calibration calibrate_all
    "$PY" examples/dynamics_ablations.py "$RESULTS/calibrate_all/calibrated.yaml" \
        > "$RESULTS/calibrate_all/dynamics_ablations.txt"
}

jd() {
    calibration jd_calibrate
}

inference() {  # the five runs the inference page reports
    local files=(model_probabilities.csv calibration.csv typicality.csv coverage.csv
        contraction.csv forecast_scores.csv report.md 'figures/*.png')
    "$PY" -m sim infer scenarios/calibrate_all.yaml --out "$SCRATCH/ia"
    keep "$SCRATCH/ia" "$RESULTS/inference-alibaba" "${files[@]}"
    "$PY" -m sim infer scenarios/jd_calibrate.yaml --out "$SCRATCH/ij"
    keep "$SCRATCH/ij" "$RESULTS/inference-jd" "${files[@]}"
    "$PY" -m sim infer scenarios/calibrate_all.yaml --pool scenarios/jd_calibrate.yaml \
        --out "$SCRATCH/ip"
    keep "$SCRATCH/ip" "$RESULTS/inference-pooled" "${files[@]}"
    "$PY" -m sim infer scenarios/calibrate_all.yaml --prior declared --draws 20000 \
        --host-response --out "$SCRATCH/ih"
    keep "$SCRATCH/ih" "$RESULTS/inference-alibaba-host" model_probabilities.csv coverage.csv \
        contraction.csv report.md 'figures/*.png'
    "$PY" -m sim infer scenarios/calibrate_all.yaml --prior declared --draws 20000 \
        --out "$SCRATCH/in"
    keep "$SCRATCH/in" "$RESULTS/inference-alibaba-nohost" model_probabilities.csv coverage.csv \
        contraction.csv report.md 'figures/*.png'
}

studies=("$@")
[ ${#studies[@]} -gt 0 ] || studies=(fitted projection)
for study in "${studies[@]}"; do
    case "$study" in
        fitted | projection | calibrate | jd | inference) "$study" ;;
        *) echo "refresh_results.sh: unknown study '$study' (fitted, projection, calibrate, jd, inference)" >&2; exit 2 ;;
    esac
done
"$PY" scripts/results_pages.py
