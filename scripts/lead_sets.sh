#!/usr/bin/env bash
# Every lead set the Challenge scores (issue "Every lead set"), at full size: trained by train_model.py's
# own code on the 2,400-record corpus (auto size, 30 epochs at most), 3 seeds, each network and feature
# baseline scored on the test records and on their 6-, 4-, 3- and 2-lead copies and on leads I and II
# alone, the copies written the organisers' way (records.extract_leads: a header and a .mat with only
# those leads).  First the candidates on the development folder (the default, which derives missing limb
# leads, against the same network without them), then one look at a fresh folder drawn for this issue.
# Run it from a checkout nobody edits while it runs (a git worktree of the commit to measure): every
# unit records the hash of the package's source, and worker processes import the code from disk.
# Usage: bash scripts/lead_sets.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-runs/evidence}"
tables="$work/tables"
[ -d "$work/corpus" ] || python -m ecgcinc synth "$work/corpus" --n 2400 --seed 31 --workers 2
[ -d "$work/development" ] || python -m ecgcinc synth "$work/development" --n 600 --seed 40 --workers 2
python -m ecgcinc experiment holdout --data "$work/corpus" --test "$work/development" --max-records 0 --seeds 3 \
    --variants resnet-cwa-without-derived-limb-leads --lead-sets 6,4,3,2,I,II --out "$tables/lead-sets-development"
# One network per lead-set view against one for every view (issue "Every lead set", item 4), same folders.
python -m ecgcinc experiment holdout --data "$work/corpus" --test "$work/development" --max-records 0 --seeds 3 \
    --variants resnet-cwa-one-network-per-lead-set-view --lead-sets 6,4,3,2,I,II --out "$tables/per-view-development"
[ -d "$work/unseen-f" ] || python -m ecgcinc synth "$work/unseen-f" --n 1200 --seed 37 --workers 2
python -m ecgcinc experiment holdout --data "$work/corpus" --test "$work/unseen-f" --max-records 0 --seeds 3 \
    --lead-sets 6,4,3,2,I,II --out "$tables/lead-sets"
echo "tables in $tables"
