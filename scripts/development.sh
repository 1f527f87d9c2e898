#!/usr/bin/env bash
# The development folder: candidate changes of the default are tried here, never on the unseen
# folders that scripts/evidence.sh looks at once.  600 records (seed 40), trained on the evidence
# corpus (2,400 records, seed 31), 3 seeds per arm.  The reference is the network as configured when
# these arms were tried: the domain mask Md on (scripts/development-reference.json), the default
# until this table showed that training without it scores higher.  Every other arm changes one
# setting of that reference.  Measured on 2 cores: about 2 min per network unit, 3 min at 200 Hz
# (plus about 4 min of preprocessing cache per sampling rate or scaling), about 40 minutes for the
# first command; the second (the ensemble against the default) about 23 minutes (5.4 min per
# ensemble unit).
# Usage: bash scripts/development.sh [WORKDIR]   (the same WORKDIR as evidence.sh shares its corpus)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-runs/evidence}"
[ -d "$work/corpus" ] || python -m ecgcinc synth "$work/corpus" --n 2400 --seed 31 --workers 2
[ -d "$work/development" ] || python -m ecgcinc synth "$work/development" --n 600 --seed 40 --workers 2
python -m ecgcinc experiment holdout --data "$work/corpus" --test "$work/development" --max-records 0 --seeds 3 \
    --config scripts/development-reference.json \
    --variants resnet-cwa-without-md,resnet-cwa-one-scale-per-record,resnet-cwa-200-hz-input \
    --out "$work/tables/development"
# Against the default as it is now (no Md): a 3-fold ensemble, each member trained as long as the
# single network (three times the training).
python -m ecgcinc experiment holdout --data "$work/corpus" --test "$work/development" --max-records 0 --seeds 3 \
    --variants resnet-cwa-3-fold-ensemble --out "$work/tables/development/default"
