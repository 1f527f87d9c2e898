#!/usr/bin/env bash
# The time budget end to end, as the organisers would run it: train_model.py with a 3-minute
# train.time_budget_h on 2,000 synthetic records (the cache built from nothing, inside the budget),
# then driver.py and the evaluator on 200 unseen records.  Fails when training overran the budget
# by more than 10 s or the model folder does not serve the driver.
# Usage: bash scripts/budget_check.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-runs/budget}"
budget_s=180
[ -d "$work/train" ] || python -m ecgcinc synth "$work/train" --n 2000 --seed 61 --workers 2 > /dev/null
[ -d "$work/test" ] || python -m ecgcinc synth "$work/test" --n 200 --seed 62 --workers 2 > /dev/null
rm -rf "$work/cache" "$work/model" "$work/outputs"
python - "$budget_s" > "$work/budget.json" <<'PY'
import json, sys
print(json.dumps({"train": {"time_budget_h": float(sys.argv[1]) / 3600}}))
PY
started=$(date +%s.%N)
ECGCINC_CACHE="$work/cache" ECGCINC_CONFIG="$work/budget.json" python train_model.py "$work/train" "$work/model" \
    > "$work/train.log" 2>&1
elapsed=$(python -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$started" "$(date +%s.%N)")
grep -E "^size |time budget|^training on" "$work/train.log" || true
python driver.py "$work/model" "$work/test" "$work/outputs" > "$work/driver.log" 2>&1
python evaluate_model.py "$work/test" "$work/outputs" "$work/scores.csv" "$work/class_scores.csv" > /dev/null
outputs=$(find "$work/outputs" -name '*.csv' | wc -l)
echo "train_model.py: ${elapsed} s with a ${budget_s}-s budget; driver.py: ${outputs} outputs; $(paste -d= <(head -1 "$work/scores.csv" | tr "," "\n") <(sed -n 2p "$work/scores.csv" | tr "," "\n") | tr "\n" " ")"
python -c "import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) + 10 else 1)" "$elapsed" "$budget_s"
