#!/usr/bin/env bash
# The image the organisers run, built and exercised as they would: build from the Dockerfile, then
# inside the image with no network and the data mounted read-only
#   1. train_model.py as root on real Challenge records (the shared 50-record sample when present,
#      else the 13 in tests/data/real), with no configuration: from the head start the image holds,
#      with the generated records it draws itself;
#   2. driver.py as another user (uid 65534) on the 13 records of tests/data/real;
#   3. evaluate_model.py on its outputs;
#   4. driver.py as uid 65534 with model.keras readable by its owner only: one error line, exit 2.
# Exit status 0 only when every step worked and every record got an output with labels.  Prints the
# image size and the build time.  Where no Docker engine or base image is available,
# ../shared/tools/docker-engine.sh provides both (Debian packages and a local python:3.11-slim).
# Usage: bash scripts/docker_check.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(realpath -m "${1:-runs/docker}")"
image=ecgcinc-check
engine=../shared/tools/docker-engine.sh
if ! docker info > /dev/null 2>&1 || ! docker image inspect python:3.11-slim > /dev/null 2>&1; then
    [ -f "$engine" ] || { echo "error: no Docker engine and no $engine to install one" >&2; exit 1; }
    bash "$engine"
fi
started=$(date +%s)
docker build --network host -q -t "$image" . > /dev/null
build_s=$(( $(date +%s) - started ))
size=$(docker image inspect -f '{{.Size}}' "$image")
echo "image $image: $(( size / 1000000 )) MB, built in ${build_s} s"

train_data="$(realpath ../shared/data/cinc2021-sample 2>/dev/null || realpath tests/data/real)"
test_data="$(realpath tests/data/real)"
rm -rf "$work"
mkdir -p "$work/model" "$work/outputs"
chmod 777 "$work/outputs"   # written by uid 65534
run() { docker run --rm --network none "$@"; }
run -v "$train_data:/data:ro" -v "$work/model:/model" "$image" python train_model.py /data /model > "$work/train.log" 2>&1 \
    || { tail -20 "$work/train.log"; echo "FAIL: train_model.py in the image"; exit 1; }
echo "trained as root on $(ls "$train_data"/*.hea | wc -l) records: $(grep -E '^size ' "$work/train.log" | cut -c1-60)..."
# The image holds the head start and draws the generated records itself, with no network.
grep -E '^head start: small.npz' "$work/train.log" && grep -E '^[0-9,]+ generated records .* train beside' "$work/train.log" \
    || { echo "FAIL: the training in the image did not start from the shipped head start with generated records"; exit 1; }
run --user 65534:65534 -v "$test_data:/data:ro" -v "$work/model:/model:ro" -v "$work/outputs:/outputs" "$image" \
    python driver.py /model /data /outputs > "$work/driver.log" 2>&1 \
    || { tail -20 "$work/driver.log"; echo "FAIL: driver.py as uid 65534"; exit 1; }
records=$(ls "$test_data"/*.hea | wc -l)
labelled=0
for f in "$work"/outputs/*.csv; do
    [ "$(sed -n 3p "$f" | tr -d ',01\n' | wc -c)" -eq 0 ] && [ -n "$(sed -n 3p "$f")" ] && labelled=$((labelled + 1))
done
echo "driver.py as uid 65534: $labelled/$records outputs with labels"
[ "$labelled" -eq "$records" ] || { echo "FAIL: records without an output"; exit 1; }
run --user 65534:65534 -v "$test_data:/data:ro" -v "$work/outputs:/outputs" "$image" \
    python evaluate_model.py /data /outputs /outputs/scores.csv /outputs/class_scores.csv \
    || { echo "FAIL: evaluate_model.py"; exit 1; }
echo "evaluate_model.py: $(paste -d= <(head -1 "$work/outputs/scores.csv" | tr ',' '\n') <(sed -n 2p "$work/outputs/scores.csv" | tr ',' '\n') | tr '\n' ' ')"
# A model folder this user cannot read: one error line and exit status 2 before any record is read.
chmod 600 "$work/model/model.keras"
mkdir -p "$work/outputs-unreadable" && chmod 777 "$work/outputs-unreadable"
status=0
run --user 65534:65534 -v "$test_data:/data:ro" -v "$work/model:/model:ro" -v "$work/outputs-unreadable:/outputs" \
    "$image" python driver.py /model /data /outputs > "$work/unreadable.log" 2>&1 || status=$?
echo "driver.py with model.keras unreadable to uid 65534: exit $status, $(grep -c . "$work/unreadable.log") line(s): $(head -c 160 "$work/unreadable.log")"
[ "$status" -eq 2 ] && [ "$(grep -c . "$work/unreadable.log")" -eq 1 ] && [ -z "$(ls -A "$work/outputs-unreadable")" ] \
    || { echo "FAIL: an unreadable model folder is not one error and exit status 2"; exit 1; }
echo "PASS"
