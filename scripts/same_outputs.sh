#!/usr/bin/env bash
# A behaviour-preserving change, checked as the organisers would see it: train the same small model
# with two code versions and compare driver.py's output files on the 13 real test records byte for
# byte.  Each version trains in its own worktree, so the comparison never mixes code.
# Usage: bash scripts/same_outputs.sh BEFORE_REV AFTER_REV [WORKDIR]   (about 3 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
before=$1 after=$2 work=${3:-runs/same-outputs}
repo=$(pwd)
mkdir -p "$work"; work=$(cd "$work" && pwd)
[ -d "$work/train" ] || python -m ecgcinc synth "$work/train" --n 400 --seed 11 > /dev/null
echo '{"model": {"size": "small"}, "train": {"epochs": 6, "patience": 6, "min_epochs": 2}}' > "$work/cfg.json"
for rev in "$before" "$after"; do
  rm -rf "$work/src-$rev" "$work/model-$rev" "$work/out-$rev"
  git worktree add -f -q "$work/src-$rev" "$rev"
  (cd "$work/src-$rev" && ECGCINC_CACHE="$work/cache-$rev" python -m ecgcinc train "$work/train" "$work/model-$rev" \
       --config "$work/cfg.json" > "$work/train-$rev.log" 2>&1 \
   && python driver.py "$work/model-$rev" "$repo/tests/data/real" "$work/out-$rev" > /dev/null 2>&1)
  git worktree remove --force "$work/src-$rev"
done
diff -r "$work/out-$before" "$work/out-$after" && echo "identical: $(ls "$work/out-$after" | wc -l) output files"
