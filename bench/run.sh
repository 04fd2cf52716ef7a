#!/usr/bin/env bash
# bench/run.sh -- run every (workload, backend) pair of the Kiln benchmarks
# RUNS times and print tables of medians, with ratios against the peers
# measured in the same run (glibc malloc for manual allocation, Boehm GC for
# collection).
#
# Usage: make bench && bench/run.sh
#
# Environment:
#   RUNS=5            runs per pair; the tables show medians
#   SUITES="manual gc"  which tables to produce
#   ONLY=REGEX        only backends whose name matches (e.g. ONLY='kiln|boehm')
#   MANUAL_FLAGS=...  extra bench_manual options (e.g. "-n 2000" for a quick run)
#   GC_FLAGS=...      extra bench_gc options (e.g. "-d 14")
#   EXTRA_GC_BACKENDS="SPEC ..."  more bench_gc backends, e.g. tunings
#                     such as "kiln:genms,arena.growth=1.5 kiln:genms,young.nursery_size=16MB"
#   TIMEOUT=600       seconds before a run is killed and its backend skipped
#   BENCH_BIN=DIR     where bench_manual and bench_gc are (default: ./bench,
#                     then this script's directory)
#   OUT_DIR=DIR       where the raw result lines go (default ./bench/out)
#
# Only bash, awk, sort and the coreutils are used. mimalloc and jemalloc are
# measured by running the malloc backend with the library in LD_PRELOAD; a
# peer that is not installed is skipped with a note.
set -u

RUNS=${RUNS:-5}
SUITES=${SUITES:-manual gc}
ONLY=${ONLY:-.}
read -r -a manual_flags <<<"${MANUAL_FLAGS:-}"
read -r -a gc_flags <<<"${GC_FLAGS:-}"
TIMEOUT=${TIMEOUT:-600}
if ! [[ $RUNS =~ ^[1-9][0-9]*$ ]]; then
  echo "run.sh: RUNS must be a positive integer, not '$RUNS'" >&2
  exit 2
fi

notes=()
# note MESSAGE: remember MESSAGE (once) for the end of the report.
note() {
  local n
  for n in ${notes[@]+"${notes[@]}"}; do
    [ "$n" = "$*" ] && return 0
  done
  notes+=("$*")
  echo "note: $*" >&2
}

# ---- locating things -----------------------------------------------------

find_bin_dir() {
  local d
  for d in "${BENCH_BIN:-}" ./bench "$(dirname "$0")"; do
    if [ -n "$d" ] && [ -x "$d/bench_manual" ] && [ -x "$d/bench_gc" ]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

# Path of a shared library by soname: ldconfig's cache first (64-bit
# entries), then the multiarch directories of x86_64 and aarch64.
find_lib() {
  local so=$1 ldc path d
  ldc=$(command -v ldconfig || echo /sbin/ldconfig)
  path=$("$ldc" -p 2>/dev/null | awk -v so="$so" '$1 == so && /64/ { print $NF; exit }')
  if [ -n "$path" ] && [ -e "$path" ]; then
    echo "$path"
    return 0
  fi
  for d in /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu \
           /lib/aarch64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib; do
    if [ -e "$d/$so" ]; then
      echo "$d/$so"
      return 0
    fi
  done
  return 1
}

# ---- running ---------------------------------------------------------------

tmp_err=$(mktemp) || exit 1
trap 'rm -f "$tmp_err"' EXIT
if command -v timeout >/dev/null 2>&1; then
  with_timeout=(timeout "$TIMEOUT")
else
  with_timeout=()
fi

# The plan: one entry per (workload, backend) pair, "SUITE WORKLOAD BACKEND
# LABEL PRELOAD" (PRELOAD "-" for none). LABEL is the name in the tables:
# the backend's, or the preloaded peer's for the malloc backend.
plan=()
failed=()
add_pair() {
  [[ $4 =~ $ONLY ]] || return 0
  plan+=("$1 $2 $3 $4 ${5:--}")
}

# run_once INDEX: one run of plan entry INDEX, its line appended to the raw
# file. The first failure drops the pair, with a note.
run_once() {
  local suite workload backend label preload line rc cmd
  read -r suite workload backend label preload <<<"${plan[$1]}"
  if [ "$suite" = manual ]; then
    cmd=("$bin/bench_manual" ${manual_flags[@]+"${manual_flags[@]}"})
  else
    cmd=("$bin/bench_gc" ${gc_flags[@]+"${gc_flags[@]}"})
  fi
  [ "$label" != "$backend" ] && cmd+=(--label "$label")
  cmd+=("$workload" "$backend")
  [ "$preload" = - ] && preload=
  line=$(LD_PRELOAD=$preload ${with_timeout[@]+"${with_timeout[@]}"} "${cmd[@]}" 2>"$tmp_err")
  rc=$?
  # a library that cannot be preloaded only earns a warning from ld.so, and
  # the run would silently measure glibc instead
  if [ $rc -ne 0 ] || grep -q "cannot be preloaded" "$tmp_err"; then
    note "$workload/$label skipped: exit $rc: $(head -n 1 "$tmp_err")"
    failed[$1]=1
    return 0
  fi
  echo "$line" >>"$raw"
}

# Runs are interleaved (run 1 of every pair, then run 2, ...) so that a
# change in the machine's load during the session spreads over all backends
# instead of favouring whichever ran first.
run_plan() {
  local i j
  for ((i = 1; i <= RUNS; i++)); do
    for j in "${!plan[@]}"; do
      [ -n "${failed[$j]:-}" ] && continue
      echo "run $i/$RUNS: ${plan[$j]% *}" >&2
      run_once "$j"
    done
  done
}

# ---- medians and tables ----------------------------------------------------

# field WORKLOAD LABEL KEY: the values of KEY on the raw lines of one pair.
field() {
  local workload=$1 label=$2 key=$3
  awk -v w="$workload" -v b="$label" -v k="$key" '
    { split("", kv)
      for (i = 1; i <= NF; i++) { eq = index($i, "="); kv[substr($i, 1, eq - 1)] = substr($i, eq + 1) }
      if (kv["workload"] == w && kv["backend"] == b && (k in kv)) print kv[k] }' "$raw"
}

median() {
  sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) print "-"
    else if (NR % 2) print v[(NR + 1) / 2]
    else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

med() { field "$1" "$2" "$3" | median; }

# meds WORKLOAD LABEL KEY...: the median of each KEY, on one line.
meds() {
  local workload=$1 label=$2 key out=()
  shift 2
  for key; do out+=("$(med "$workload" "$label" "$key")"); done
  echo "${out[*]}"
}

# ratio A B: A / B to two decimals, or "-" if either is missing.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'
}

mib() { awk -v k="$1" 'BEGIN { if (k == "-") print "-"; else printf "%.1f\n", k / 1024 }'; }

# label_width: the widest backend label in the plan, at least 11.
label_width() {
  local j w=11 label
  for j in "${!plan[@]}"; do
    read -r _ _ _ label _ <<<"${plan[$j]}"
    [ "${#label}" -gt "$w" ] && w=${#label}
  done
  echo "$w"
}

# rows_of SUITE: "workload label" of each run of the plan in SUITE that did
# not fail, one a line.
rows_of() {
  local j suite workload backend label
  for j in "${!plan[@]}"; do
    read -r suite workload backend label _ <<<"${plan[$j]}"
    if [ "$suite" = "$1" ] && [ -z "${failed[$j]:-}" ]; then echo "$workload $label"; fi
  done
}

manual_table() {
  local workload label ops base rss lw
  lw=$(label_width)
  printf '\nManual allocation (median of %s runs; x malloc = ops/s relative to glibc malloc, higher is better)\n' "$RUNS"
  printf "%-8s %-${lw}s %14s %10s %14s\n" workload backend ops/s "x malloc" "peak RSS MiB"
  while read -r workload label; do
    read -r ops rss <<<"$(meds "$workload" "$label" ops_per_s peak_rss_kb)"
    base=$(med "$workload" malloc ops_per_s)
    printf "%-8s %-${lw}s %14.0f %10s %14s\n" "$workload" "$label" "$ops" "$(ratio "$ops" "$base")" \
      "$(mib "$rss")"
  done < <(rows_of manual)
}

gc_table() {
  local workload label secs base rss coll minor p50 p99 max mp50 mp99 mmax fp50 fp99 copied lw
  lw=$(label_width)
  printf '\nGarbage collection (median of %s runs; x boehm = wall time relative to Boehm GC, lower is better)\n' "$RUNS"
  printf "%-12s %-${lw}s %9s %8s %13s %13s %22s %22s %16s %11s\n" workload backend "wall s" "x boehm" \
    "peak RSS MiB" "GCs min/full" "pause ms p50/p99/max" "minor ms p50/p99/max" "full ms p50/p99" \
    "copied MiB"
  while read -r workload label; do
    read -r secs rss coll minor p50 p99 max mp50 mp99 mmax fp50 fp99 copied <<<"$(meds "$workload" \
      "$label" seconds peak_rss_kb collections minor pause_p50_ms pause_p99_ms pause_max_ms \
      minor_p50_ms minor_p99_ms minor_max_ms full_p50_ms full_p99_ms copied_bytes)"
    base=$(med "$workload" boehm seconds)
    printf "%-12s %-${lw}s %9.3f %8s %13s %13s %22s %22s %16s %11s\n" "$workload" "$label" "$secs" \
      "$(ratio "$secs" "$base")" "$(mib "$rss")" \
      "$(awk -v c="$coll" -v m="$minor" 'BEGIN { printf "%g/%g", m, c - m }')" \
      "$(awk -v c="$coll" -v a="$p50" -v b="$p99" -v x="$max" \
        'BEGIN { if (c + 0 == 0) print "-"; else printf "%.2f/%.2f/%.2f", a, b, x }')" \
      "$(awk -v m="$minor" -v a="$mp50" -v b="$mp99" -v x="$mmax" \
        'BEGIN { if (m + 0 == 0) print "-"; else printf "%.2f/%.2f/%.2f", a, b, x }')" \
      "$(awk -v c="$coll" -v m="$minor" -v a="$fp50" -v b="$fp99" \
        'BEGIN { if (c - m <= 0) print "-"; else printf "%.2f/%.2f", a, b }')" \
      "$(awk -v b="$copied" 'BEGIN { if (b == "-") print "-"; else printf "%.1f", b / 1048576 }')"
  done < <(rows_of gc)
}

# ---- the suites ------------------------------------------------------------

# Preloadable peers: label and soname.
peers=("mimalloc libmimalloc.so.2" "jemalloc libjemalloc.so.2")

# add_with_peers SUITE WORKLOAD: the malloc backend under glibc and under
# each installed peer.
add_with_peers() {
  local suite=$1 workload=$2 peer label so path
  add_pair "$suite" "$workload" malloc malloc
  for peer in "${peers[@]}"; do
    read -r label so <<<"$peer"
    if path=$(find_lib "$so"); then
      add_pair "$suite" "$workload" malloc "$label" "$path"
    else
      note "$label not installed ($so not found): skipped"
    fi
  done
}

plan_manual() {
  local w b
  for w in fixed random; do
    for b in kiln-mfs kiln-mvff; do
      [ "$b" = kiln-mfs ] && [ "$w" != fixed ] && continue # one block size only
      add_pair manual "$w" "$b" "$b"
    done
    add_with_peers manual "$w"
  done
}

plan_gc() {
  local w b backends
  backends=$("$bin/bench_gc" --list | grep -v '^malloc$')
  grep -q '^boehm$' <<<"$backends" ||
    note "boehm not built (install libgc-dev and re-run configure): skipped"
  backends+=" ${EXTRA_GC_BACKENDS:-}"
  for w in gcbench binary-trees; do
    for b in $backends; do
      add_pair gc "$w" "$b" "$b"
    done
    add_with_peers gc "$w"
  done
}

main() {
  if ! bin=$(find_bin_dir); then
    echo "run.sh: bench_manual and bench_gc not found; build them with 'make bench'" \
      "(or set BENCH_BIN)" >&2
    exit 1
  fi
  OUT_DIR=${OUT_DIR:-./bench/out}
  mkdir -p "$OUT_DIR" || exit 1
  raw=$OUT_DIR/raw-$(date +%Y%m%d-%H%M%S).txt
  : >"$raw"

  for s in $SUITES; do
    case $s in
      manual) plan_manual ;;
      gc) plan_gc ;;
      *) echo "run.sh: unknown suite '$s' (manual, gc)" >&2; exit 2 ;;
    esac
  done
  run_plan

  echo
  echo "host: $(uname -srm), $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?') CPUs; raw results: $raw"
  for s in $SUITES; do
    "${s}_table"
  done
  if [ ${#notes[@]} -gt 0 ]; then
    echo
    printf 'note: %s\n' "${notes[@]}"
  fi
}

main "$@"
