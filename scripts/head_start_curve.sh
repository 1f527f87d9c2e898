#!/usr/bin/env bash
# Where the head start stops paying (docs/results.md, "The head start's gain against the record
# count"): the default against training from scratch on the 248 real records of ../shared/data,
# leave one source out, 3 seeds, with each split's training records halved and whole.  The whole
# records' units are the real-record study's (scripts/real_records.sh): in its folder they are read
# back.  About 80 minutes on 2 cores from nothing; re-running resumes.
# Usage: bash scripts/head_start_curve.sh [OUT]   (default runs/real-records)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/real-records}
python -m ecgcinc head-start-curve --data ../shared/data/cinc2021-real ../shared/data/cinc2021-sample \
    --out "$out" --shares 0.5 --seeds 3
