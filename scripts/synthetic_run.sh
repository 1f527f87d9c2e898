#!/usr/bin/env bash
# The README's "Results" numbers: train on 2400 synthetic records from all four sources,
# score 600 held-out records with evaluate_model.py, compare threshold methods.
# Usage: bash scripts/synthetic_run.sh [WORKDIR] [CONFIG]   (about 5 minutes on 2 CPU cores)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-runs/synthetic}
config=${2:-ecgcinc/configs/small.json}
mkdir -p "$work"
python -m ecgcinc synth "$work/train" --n 2400 --seed 100
python -m ecgcinc synth "$work/test" --n 600 --seed 200
start=$(date +%s)
python -m ecgcinc train "$work/train" "$work/model" --config "$config"
echo "training wall time: $(( $(date +%s) - start )) s"
python driver.py "$work/model" "$work/test" "$work/outputs" > /dev/null
python evaluate_model.py "$work/test" "$work/outputs" "$work/scores.csv" "$work/class_scores.csv"
echo "held-out scores ($work/scores.csv):"
cat "$work/scores.csv"; echo
python -m ecgcinc compare-thresholds "$work/model" --data "$work/test" --csv "$work/thresholds.csv" --de
