#!/usr/bin/env bash
# bench/heap_curve.sh -- time against heap size for GCBench and binary-trees:
# each is recorded once (with frequent collections, so deaths are known
# promptly) and replayed by `kiln replay` under every automatic plan at
# multiples of its minimum heap, against the oracles of explicit frees
# (manual: an mvff pool; malloc: the C library).
#
# Usage: ./build.sh && bench/heap_curve.sh
#
# Environment:
#   KILN=build/lua/kiln   the kiln program
#   RUNS=3                runs per plan and heap; the table shows medians
#   HEAPS=1.5x,2x,3x,5x   heap sizes, multiples of the minimum heap
#   SCALE=0.1             the workloads' scale when recorded
#   STRESS=20000          the recording collects at every STRESS-th allocation
#   OUT_DIR=bench/out     where the traces, CSV, JSON and plot go
set -eu

KILN=${KILN:-build/lua/kiln}
RUNS=${RUNS:-3}
HEAPS=${HEAPS:-1.5x,2x,3x,5x}
SCALE=${SCALE:-0.1}
STRESS=${STRESS:-20000}
OUT_DIR=${OUT_DIR:-bench/out}
mkdir -p "$OUT_DIR"

record=$OUT_DIR/record.lua
cat >"$record" <<'LUA'
local kiln = require "kiln"
local w, scale, stress, file = arg[1], tonumber(arg[2]), arg[3], arg[4]
local r = assert(kiln.workload(w, "marksweep", { scale = scale,
  overrides = { ["arena.record"] = file, ["arena.stress"] = stress } }))
print(("%s: %d objects, %d collections recorded into %s"):format(w, r.objects, r.collections, file))
LUA
traces=()
for w in gcbench binarytrees; do
  "$KILN" run "$record" "$w" "$SCALE" "$STRESS" "$OUT_DIR/$w.krec"
  traces+=("$OUT_DIR/$w.krec")
done
# One checked replay first: the traces reproduce their graphs.
"$KILN" replay "${traces[@]}" --plans sticky --runs 1 --no-plot >/dev/null
"$KILN" replay "${traces[@]}" --heap "$HEAPS" --runs "$RUNS" --no-verify \
  --csv "$OUT_DIR/heap_curve.csv" --json "$OUT_DIR/heap_curve.json" --plot "$OUT_DIR/heap_curve.svg"
