#!/usr/bin/env bash
# The --quick experiment tables on synthetic multi-source data (README "Results").
# Usage: bash scripts/experiments_quick.sh [WORKDIR]   (about 9 minutes on 2 CPU cores)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-runs/experiments}"
python -m ecgcinc synth "$work/data" --n 600 --seed 21
for name in cv thresholds ablation lodo; do
    python -m ecgcinc experiment "$name" --data "$work/data" --out "$work/quick" --quick
done
