#!/usr/bin/env bash
# bench/lua_alloc.sh -- Lua on Kiln against Lua on malloc: the whole `kiln
# run` process timed on tests/lua_alloc/alloc_heavy.lua, with Lua's memory
# from glibc malloc (--lua-alloc=stock), from a Kiln mvff pool
# (--lua-alloc=kiln), and, when installed, from mimalloc and jemalloc
# (stock, with the library in LD_PRELOAD). Runs are interleaved so a change
# in the machine's load hits every allocator alike; the table shows medians
# and the ratio to stock. Every run's output must equal the first stock
# run's, so an allocator that corrupts Lua's data fails instead of timing.
#
# Usage: bench/lua_alloc.sh            (from the build directory)
# Environment: RUNS=7 (runs per allocator), SCALE=2 (alloc_heavy.lua's
# SCALE), KILN=./lua/kiln (the program).
set -u

RUNS=${RUNS:-7}
SCALE=${SCALE:-2}
KILN=${KILN:-./lua/kiln}
here=$(cd "$(dirname "$0")" && pwd)
script=$here/../tests/lua_alloc/alloc_heavy.lua
if [ ! -x "$KILN" ]; then
  echo "lua_alloc.sh: no kiln program at $KILN (run from the build directory, or set KILN)" >&2
  exit 2
fi
if [ ! -x /usr/bin/time ]; then
  echo "lua_alloc.sh: needs GNU time (/usr/bin/time; Debian: apt-get install time)" >&2
  exit 2
fi

# name|option|preload: the allocators measured.
allocators=("stock|--lua-alloc=stock|" "kiln|--lua-alloc=kiln|")
for lib in mimalloc jemalloc; do
  path=$(ldconfig -p 2>/dev/null | awk -v l="lib$lib.so.2" '$1 == l { print $NF; exit }')
  [ -n "$path" ] && allocators+=("$lib|--lua-alloc=stock|$path")
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for ((run = 1; run <= RUNS; run++)); do
  for a in "${allocators[@]}"; do
    IFS='|' read -r name opt preload <<<"$a"
    if ! env ${preload:+LD_PRELOAD=$preload} /usr/bin/time -f "%e %U %M" -o "$tmp/time" \
        "$KILN" run "$opt" "$script" "$SCALE" >"$tmp/out" 2>"$tmp/err"; then
      echo "lua_alloc.sh: $name failed:" >&2
      cat "$tmp/err" >&2
      exit 1
    fi
    [ -f "$tmp/expected" ] || cp "$tmp/out" "$tmp/expected"
    if ! cmp -s "$tmp/out" "$tmp/expected"; then
      echo "lua_alloc.sh: $name printed a different result" >&2
      status=1
    fi
    echo "$name $(tail -1 "$tmp/time")" >>"$tmp/times"
    echo "run $run/$RUNS: $name $(tail -1 "$tmp/time")" >&2
  done
done

# Medians per allocator: wall s, user s, peak RSS KiB; ratios to stock.
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "alloc_heavy.lua SCALE=$SCALE, medians of $RUNS runs"
printf '%-9s %8s %8s %8s %12s\n' allocator "wall s" "user s" "x stock" "peak RSS MiB"
stock_wall=$(awk '$1 == "stock" { print $2 }' "$tmp/times" | median)
for a in "${allocators[@]}"; do
  name=${a%%|*}
  wall=$(awk -v n="$name" '$1 == n { print $2 }' "$tmp/times" | median)
  user=$(awk -v n="$name" '$1 == n { print $3 }' "$tmp/times" | median)
  rss=$(awk -v n="$name" '$1 == n { print $4 }' "$tmp/times" | median)
  awk -v n="$name" -v w="$wall" -v u="$user" -v s="$stock_wall" -v r="$rss" \
    'BEGIN { printf "%-9s %8.2f %8.2f %8.2f %12.1f\n", n, w, u, w / s, r / 1024 }'
done
exit $status
