#!/usr/bin/env bash
# Packs bench/gpu.ts for a lent GPU machine (no Node, no npm, no network) with ../shared/gpu/make-carry.sh,
# the benchmark's model files travelling beside the bundle as bench-models/ (make-carry's EXTRA_DIR).
#
#   bench/pack-gpu.sh [OUT=.gpu.tar.xz]
# then carry OUT (git-ignored via .git/info/exclude: /.gpu.tar.xz) and run on the GPU machine:
#   mkdir -p /tmp/gpu && tar xJf .gpu.tar.xz -C /tmp/gpu && bash /tmp/gpu/run.sh --models emotion,facemesh
# Results: $OUT/gpu-bench.json (and the table on stdout).
set -euo pipefail
cd "$(dirname "$0")/.."
archive=${1:-.gpu.tar.xz}
make_carry=${MAKE_CARRY:-../shared/gpu/make-carry.sh}
[ -x "$make_carry" ] || [ -f "$make_carry" ] || { echo "make-carry.sh not found at $make_carry (set MAKE_CARRY)" >&2; exit 1; }
stage=$(mktemp -d /tmp/tfjs-serving-gpu-models.XXXXXX)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bench-models"
for m in emotion facemesh; do
  cp "node_modules/@vladmandic/human/models/$m.json" "node_modules/@vladmandic/human/models/$m.bin" "$stage/bench-models/"
done
bash "$make_carry" bench/gpu.ts "$archive" "$stage/bench-models"
