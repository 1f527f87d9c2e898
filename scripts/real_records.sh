#!/usr/bin/env bash
# The evidence on real records (docs/results.md, "Real records"): the 248 real Challenge records of
# ../shared/data, leave one source out, 3 seeds, every arm of ecgcinc/evidence/real_records.py at
# the defaults' size.  About an hour on 2 cores; re-running resumes.
# Usage: bash scripts/real_records.sh [OUT] [ARMS]   (default runs/real-records, every arm; ARMS as
#        `python -m ecgcinc real-records --arms` takes them)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/real-records}
arms=${2:+--arms $2}
real=(../shared/data/cinc2021-real ../shared/data/cinc2021-sample)
mkdir -p "$out"
# The synthetic-only arm is the head start's own pretraining run (the model folder trained on it).
[ -f "$out/pretrain/model/model.keras" ] || bash scripts/pretrain.sh "$out/pretrain"
# shellcheck disable=SC2086  # $arms is two words or none
python -m ecgcinc real-records --data "${real[@]}" --out "$out" --synthetic-model "$out/pretrain/model" \
    --seeds 3 $arms
