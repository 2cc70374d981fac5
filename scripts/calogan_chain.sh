#!/usr/bin/env bash
# CaloGAN end to end on positrons (docs/calogan.md): simulate -> train -> select ->
# generate --like -> export -> evaluate (the report with CaloGAN's Table IV shower shapes and
# Table II classifier transfer) -> bench (Table III generation times).
#
#   scripts/calogan_chain.sh [OUT]            # the one-hour-of-one-CPU sequence (default)
#   ITERATIONS=100 CHECKPOINT_EVERY=25 scripts/calogan_chain.sh   # the measured short run
#
# Single-threaded throughout (OMP_NUM_THREADS=1, threads: 1): the CPU minutes that
# docs/calogan.md quotes are process CPU time on one core.
set -euo pipefail

OUT=${1:-calogan-chain}
ITERATIONS=${ITERATIONS:-1500}        # train-calogan.yaml: 1500 steps of 64, ~50 CPU minutes
TRAIN_EVENTS=${TRAIN_EVENTS:-20000}   # the paper: 100k per particle
TEST_EVENTS=${TEST_EVENTS:-5000}
CHECKPOINT_EVERY=${CHECKPOINT_EVERY:-250}
REPEATS=${REPEATS:-5}                 # trainings per cell of Table II
FCG=${FASTCALOGAN:-fastcalogan}
HERE=$(cd "$(dirname "$0")/.." && pwd)
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

mkdir -p "$OUT"
cd "$OUT"
stamp() { date -u +%H:%M:%S; }

echo "$(stamp) simulate: e+ (train, test), gamma and pi+ (the classifiers' other classes)"
[ -f positron-train.h5 ] || $FCG simulate --detector calogan --particle positron \
  --energy-range 1 100 --events "$TRAIN_EVENTS" --seed 1 -o positron-train.h5
for p in positron photon pion; do
  [ -f "$p-test.h5" ] || $FCG simulate --detector calogan --particle "$p" \
    --energy-range 1 100 --events "$TEST_EVENTS" --seed 2 -o "$p-test.h5"
done

echo "$(stamp) train: $ITERATIONS iterations (resumes a run folder with checkpoints)"
$FCG train "$HERE/configs/train-calogan.yaml" --data positron-train.h5 -o run \
  --iterations "$ITERATIONS" --threads 1 --set checkpoint_every="$CHECKPOINT_EVERY"

echo "$(stamp) select: chi2 of E_tot and the layer energies against the test sample"
$FCG select run --reference positron-test.h5 --figure-of-merit etot+layers -n 1000

echo "$(stamp) generate one shower per test event (its energy), export to ONNX"
$FCG generate run --like positron-test.h5 -o positron-gen.h5
$FCG export run -o calogan-positron.onnx

echo "$(stamp) evaluate: the report (index.html) with Table IV and Table II"
cat > evaluate.yaml <<YAML
suite_options:
  calogan-transfer:
    particles:
      pion: {reference: pion-test.h5}
      photon: {reference: photon-test.h5}
    repeats: $REPEATS
YAML
$FCG evaluate --reference positron-test.h5 --generated positron-gen.h5 \
  --training positron-train.h5 --config evaluate.yaml -o report

echo "$(stamp) bench: generation time per shower vs the reference simulator (Table III)"
$FCG bench --presets calogan --quick --batches 1,10,128,1024 --threads 1 -o bench.json
echo "$(stamp) done: $OUT/report/index.html, $OUT/bench.json"
