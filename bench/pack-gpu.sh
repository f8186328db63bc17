#!/usr/bin/env bash
# Packs bench/gpu.ts for a lent GPU machine (no Node, no npm, no network) with ../shared/gpu/make-carry.sh:
# the benchmark's model files travel beside the bundle as bench-models/, the wasm binaries as wasm/.
#
#   bench/pack-gpu.sh [ARCHIVE=.gpu.tar.xz]
# then carry ARCHIVE (git-ignored via .git/info/exclude: /.gpu.tar.xz) and run the whole comparison on the
# GPU machine in one command (emotion and facemesh; plain TF.js, hand-made batches of 32 and 64, the
# library with batching on at maxBatchSize 32 and 64 and off, at 1, 32 and 64 callers; ~2–3 minutes):
#   mkdir -p /tmp/gpu && tar xJf .gpu.tar.xz -C /tmp/gpu && bash /tmp/gpu/run.sh
# Results: $OUT/gpu-bench.json (and the tables, ratios included, on stdout).
#
#   bench/pack-gpu.sh --check-wasm [ARCHIVE]
# packs, unpacks into a temporary directory and runs the packed bundle here on the wasm backend (--quick,
# emotion; extra arguments after the archive go to the bench): proof that the carry runs, on any machine.
# Its JSON goes to $OUT/gpu-bench.json, or to the temporary directory when OUT is unset.
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
if [ "${1:-}" = "--check-wasm" ]; then check=1; shift; fi
archive=${1:-.gpu.tar.xz}
[ $# -gt 0 ] && shift
make_carry=${MAKE_CARRY:-../shared/gpu/make-carry.sh}
[ -f "$make_carry" ] || make_carry=/work/shared/gpu/make-carry.sh
[ -f "$make_carry" ] || { echo "make-carry.sh not found (set MAKE_CARRY)" >&2; exit 1; }
stage=$(mktemp -d /tmp/tfjs-serving-gpu-models.XXXXXX)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bench-models" "$stage/wasm"
for m in emotion facemesh; do
  cp "node_modules/@vladmandic/human/models/$m.json" "node_modules/@vladmandic/human/models/$m.bin" "$stage/bench-models/"
done
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$stage/wasm/"
bash "$make_carry" bench/gpu.ts "$archive" "$stage/bench-models" "$stage/wasm"
if [ $check = 1 ]; then
  run=$(mktemp -d /tmp/tfjs-serving-gpu-check.XXXXXX)
  tar xJf "$archive" -C "$run"
  # run.sh installs Vulkan loaders into / (the GPU machine); the wasm check needs none: the bundle on the carried Node.
  json=${OUT:-$run}/gpu-bench.json
  (cd "$run" && OUT=${OUT:-$run} ./node bench.mjs --backend wasm --quick --models emotion "$@")
  "$run/node" -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); if (r.status !== "ok") { console.error("packed bench: " + r.status + ": " + r.reason); process.exit(1); }' "$json"
  echo "packed bundle ran on wasm; JSON: $json"
fi
