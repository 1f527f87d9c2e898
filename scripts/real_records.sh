#!/usr/bin/env bash
# The evidence on real records (docs/results.md, "Real records"): the 248 real Challenge records of
# ../shared/data, leave one source out, 3 seeds, every arm of ecgcinc/evidence/real_records.py at
# the defaults' size.  About an hour on 2 cores; re-running resumes.
# Usage: bash scripts/real_records.sh [OUT]   (default runs/real-records)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/real-records}
real=(../shared/data/cinc2021-real ../shared/data/cinc2021-sample)
mkdir -p "$out"
# The synthetic-only arm is the head start's own pretraining run (the model folder trained on it).
[ -f "$out/pretrain/model/model.keras" ] || bash scripts/pretrain.sh "$out/pretrain"
# Generated records for the mixed arm (another seed); those named as real Chapman records are
# (JS00001...) are renamed JS9..., so the two never share a name.
if [ ! -f "$out/mix.done" ]; then
  python -m ecgcinc synth "$out/mix" --challenge-scale 0.005666 --seed 37 --workers 2
  for header in "$out"/mix/*.hea; do
    name=$(basename "$header" .hea)
    if [ -f "${real[0]}/$name.hea" ] || [ -f "${real[1]}/$name.hea" ]; then
      new="JS9${name#JS}"
      sed -i "s/\b$name\b/$new/g" "$header" && mv "$header" "$out/mix/$new.hea" && mv "$out/mix/$name.mat" "$out/mix/$new.mat"
    fi
  done
  touch "$out/mix.done"
fi
python -m ecgcinc real-records --data "${real[@]}" --out "$out" --synthetic-model "$out/pretrain/model" \
    --mix "$out/mix" --seeds 3
