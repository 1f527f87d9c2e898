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
# Beat timing (issue "premature beats, sinus arrhythmia and the QT interval"): the candidates against
# the default of the time (linear wide path, no beat branch), with the beat-timing features; then
# the input rate and window.  About 2.5 min per network unit at 100 Hz and 10 s on 2 cores, 35 minutes
# for the first command.
python -m ecgcinc experiment holdout --data "$work/corpus" --test "$work/development" --max-records 0 --seeds 3 \
    --variants resnet-cwa-beat-branch,resnet-cwa-non-linear-wide-path,resnet-cwa-beat-branch-and-non-linear-wide-path \
    --config scripts/beat-timing-reference.json --out "$work/tables/beat-timing"
# Macro AUROC of the first table's arms (the first table was written before its macro AUROC row existed)
for arm in resnet-cwa-beat-branch resnet-cwa-non-linear-wide-path resnet-cwa-beat-branch-and-non-linear-wide-path; do
    python -m ecgcinc compare-arms "$work/tables/beat-timing/holdout/network-configured" \
        "$work/tables/beat-timing/holdout/$arm" --names "network (linear wide path)" "$arm" \
        --out "$work/tables/beat-timing/$arm"
done
# The fusion with the feature model (written after the first table), the input rate and the window:
# about 45 minutes (a unit takes 2.5 min, 5 min at 250 Hz, 4 min with 20-s windows).
python -m ecgcinc experiment holdout --data "$work/corpus" --test "$work/development" --max-records 0 --seeds 3 \
    --variants resnet-cwa-fused-with-the-feature-model,resnet-cwa-250-hz-input,resnet-cwa-20-s-window \
    --config scripts/beat-timing-reference.json --out "$work/tables/beat-timing-b"
# The features before and after: the same arms' units from the code before the beat-timing features
# (the full-size ablation of scripts/evidence.sh, run at commit 0acff6f) against these.
for arm in feature-baseline-gradient-boosting network-configured; do
    python -m ecgcinc compare-arms "$work/tables/full-ablation/holdout/$arm" "$work/tables/beat-timing/holdout/$arm" \
        --names "before (commit 0acff6f)" "beat-timing features" --out "$work/tables/beat-timing/features-$arm"
done
python -m ecgcinc compare-arms "$work/tables/beat-timing-b/holdout/network-configured" \
    "$work/tables/beat-timing-b/holdout/resnet-cwa-fused-with-the-feature-model" \
    --names "network (linear wide path)" "fused with the feature model" --out "$work/tables/beat-timing-b/fusion"
for arm in resnet-cwa-250-hz-input resnet-cwa-20-s-window; do
    python -m ecgcinc compare-arms "$work/tables/beat-timing-b/holdout/network-configured" \
        "$work/tables/beat-timing-b/holdout/$arm" --names "network (linear wide path)" "$arm" \
        --out "$work/tables/beat-timing-b/$arm"
done
# Delineation (QRS boundaries that bridge the dips inside a wide QRS; no QT where the T wave is too
# flat or narrow for a tangent): the default and the feature baseline after the change, against the
# same arms before it (the fused arm and the baseline of beat-timing-b, code of commit ee6b22b).
# About 8 minutes on 2 cores, the preprocessing cache rebuilt (its format changed) included; the
# 250 Hz arm against this default (fused) adds 14 minutes.
python -m ecgcinc experiment holdout --data "$work/corpus" --test "$work/development" --max-records 0 --seeds 3 \
    --variants resnet-cwa-250-hz-input --out "$work/tables/beat-timing-c"
python -m ecgcinc compare-arms "$work/tables/beat-timing-c/holdout/network-configured" \
    "$work/tables/beat-timing-c/holdout/resnet-cwa-250-hz-input" --names "default (100 Hz)" "250 Hz input" \
    --out "$work/tables/beat-timing-c/250-hz"
python -m ecgcinc compare-arms "$work/tables/beat-timing-b/holdout/resnet-cwa-fused-with-the-feature-model" \
    "$work/tables/beat-timing-c/holdout/network-configured" --names "default before (ee6b22b)" "default, delineation" \
    --out "$work/tables/beat-timing-c/default"
python -m ecgcinc compare-arms "$work/tables/beat-timing-b/holdout/feature-baseline-gradient-boosting" \
    "$work/tables/beat-timing-c/holdout/feature-baseline-gradient-boosting" \
    --names "baseline before (ee6b22b)" "baseline, delineation" --out "$work/tables/beat-timing-c/baseline"
