#!/usr/bin/env bash
# The shipped head start (ecgcinc/pretrained/small.npz and small.json), reproduced: 2,000
# generated records of the 2021 training set's shape (seed 36), the small network trained on them
# from random weights with the defaults, then scored on the 248 real records of ../shared/data
# (the card's real_records).  About 5 minutes on 2 cores.  The weights match the shipped ones
# when the code and the machine's arithmetic are those the card names.
# Usage: bash scripts/pretrain.sh [OUT [RECORDS]]   (default runs/pretrain, 2000; then copy
#        OUT/small.npz and OUT/small.json into ecgcinc/pretrained/ to ship them)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/pretrain} records=${2:-2000}
real=()
for folder in ../shared/data/cinc2021-real ../shared/data/cinc2021-sample; do [ -d "$folder" ] && real+=("$folder"); done
python -m ecgcinc pretrain "$out" --records "$records" --seed 36 --workers 2 ${real:+--real "${real[@]}"}
