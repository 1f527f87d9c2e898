#!/usr/bin/env bash
# The data-scale curve of docs/results.md: the small and medium sizes (and the feature baseline)
# trained on 1,200, 2,400 and 4,800 records drawn from one synthetic corpus (seed 51), 2 seeds each,
# scored on 1,200 unseen records (seed 52); resumable.  Measured on 2 cores: about 55 minutes.
# Writes runs/datascale/curve/curve.{md,json,png} and copies the plot to docs/datascale.png.
# Usage: bash scripts/datascale.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-runs/datascale}"
[ -d "$work/corpus" ] || python -m ecgcinc synth "$work/corpus" --n 4800 --seed 51 --workers 2
[ -d "$work/unseen" ] || python -m ecgcinc synth "$work/unseen" --n 1200 --seed 52 --workers 2
python -m ecgcinc curve --data "$work/corpus" --test "$work/unseen" --out "$work/curve" \
    --records 1200 2400 4800 --sizes small medium --seeds 2
cp "$work/curve/curve.png" docs/datascale.png
