#!/usr/bin/env bash
# The ready model that ships in ecgcinc/ready_model/: `train_model.py` with its defaults (so the
# head start, fine-tuned) on all 248 real records of ../shared/data, then its card gains what the
# real-record study (scripts/real_records.sh) measured for the same recipe on sources it never saw.
# About a minute on 2 cores once the study has run.
# Usage: bash scripts/ready_model.sh [STUDY [OUT]]   (default runs/real-records, ecgcinc/ready_model)
set -euo pipefail
cd "$(dirname "$0")/.."
study=${1:-runs/real-records} out=${2:-ecgcinc/ready_model}
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
for folder in ../shared/data/cinc2021-real ../shared/data/cinc2021-sample; do
  for file in "$folder"/*.hea "$folder"/*.mat; do ln -s "$(realpath "$file")" "$data/"; done
done
rm -rf "$out"
ECGCINC_CACHE="$data/.cache" python train_model.py "$data" "$out"
rm -f "$out/train_labels.npy.tmp"
# The fusion's trees compressed (7.7 MB -> 2.0 MB for 679 records): it ships in the repository; joblib reads either.
python -c "import joblib, sys; joblib.dump(joblib.load(sys.argv[1]), sys.argv[1], compress=3)" "$out/fusion.joblib"
python -c "import sys; from ecgcinc.serving.ready import describe; describe(sys.argv[1], sys.argv[2])" "$out" "$study"
du -sh "$out"
# The driver's files from the new model on the real test records: tests/test_same_outputs.py holds
# later code to them.
python -m tests.test_same_outputs
