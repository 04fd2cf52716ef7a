#!/usr/bin/env bash
# bench/markers.sh -- parallel marking and mutator threads against the peers.
#
# Two tables, every row the median of RUNS runs, the rounds interleaved
# (each round runs every row once) so the machine's drift hits all rows:
#   1. full-gc: forced full collections of a 2 M-node tree (bench_gc
#      full-gc), Kiln's marksweep with 1 and 2 markers against the Boehm GC
#      with GC_MARKERS=1 and 2: the median collection in ms.
#   2. mt-GCBench: bench_gc -t T gcbench, T mutator threads each running
#      GCBench on its own, at T = 1 and 2, for Kiln plans (default markers),
#      Boehm (GC_THREADS, parallel marking), glibc malloc and mimalloc with
#      explicit frees: seconds, and T x the work per second against T = 1.
#
# Usage: make bench && bench/markers.sh     (from the build directory)
#
# Environment:
#   RUNS=5            runs per row
#   PLANS="sticky marksweep genms"   Kiln plans of table 2
#   DEPTH=            bench_gc -d for table 2 (default: GCBench's 16)
#   BENCH_BIN=bench   where bench_gc is
set -eu

RUNS=${RUNS:-5}
PLANS=${PLANS:-sticky marksweep genms}
BIN=${BENCH_BIN:-bench}
GC=$BIN/bench_gc
DEPTH_FLAG=${DEPTH:+-d $DEPTH}
[ -x "$GC" ] || { echo "markers.sh: no $GC; run make bench first" >&2; exit 1; }
mimalloc=$(ldconfig -p | awk '/libmimalloc\.so\.[0-9]/ {print $NF; exit}')
have_boehm=$("$GC" --list | grep -qx boehm && echo 1 || echo 0)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
median() { sort -g | awk '{v[NR]=$1} END {if (NR) print (NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

# row NAME FIELD COMMAND...: run once, append FIELD's value to $out/NAME.
row() {
  local name=$1 key=$2
  shift 2
  "$@" | field "$key" >>"$out/$name"
}

for r in $(seq "$RUNS"); do
  echo "markers.sh: round $r of $RUNS" >&2
  for m in 1 2; do
    row "full-kiln-$m" forced_p50_ms "$GC" full-gc "kiln:marksweep,arena.markers=$m"
    [ "$have_boehm" = 1 ] && row "full-boehm-$m" forced_p50_ms env GC_MARKERS=$m "$GC" full-gc boehm
  done
  for t in 1 2; do
    for p in $PLANS; do
      row "mt-kiln:$p-$t" seconds "$GC" -t $t $DEPTH_FLAG gcbench "kiln:$p"
    done
    [ "$have_boehm" = 1 ] && row "mt-boehm-$t" seconds "$GC" -t $t $DEPTH_FLAG gcbench boehm
    row "mt-malloc-$t" seconds "$GC" -t $t $DEPTH_FLAG gcbench malloc
    [ -n "$mimalloc" ] &&
      row "mt-mimalloc-$t" seconds env LD_PRELOAD="$mimalloc" "$GC" -t $t $DEPTH_FLAG gcbench malloc
  done
done

med() { [ -s "$out/$1" ] && median <"$out/$1" || echo nan; }

echo
echo "| full-gc (2 M nodes) | 1 marker ms | 2 markers ms | 2 / 1 |"
echo "|---|---|---|---|"
for b in kiln boehm; do
  [ -s "$out/full-$b-1" ] || continue
  one=$(med "full-$b-1") two=$(med "full-$b-2")
  echo "| $b | $one | $two | $(awk -v a="$two" -v b="$one" 'BEGIN {printf "%.2f", a / b}') |"
done

echo
echo "| mt-GCBench | 1 thread s | 2 threads s | work/s, 2 vs 1 |"
echo "|---|---|---|---|"
for name in $(for p in $PLANS; do echo "kiln:$p"; done) boehm malloc mimalloc; do
  [ -s "$out/mt-$name-1" ] || continue
  one=$(med "mt-$name-1") two=$(med "mt-$name-2")
  echo "| $name | $one | $two | $(awk -v a="$one" -v b="$two" 'BEGIN {printf "%.2fx", 2 * a / b}') |"
done
