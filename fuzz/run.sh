#!/bin/sh
# run.sh -- build and run Kiln's libFuzzer harnesses (see fuzz/README.md).
#
#   fuzz/run.sh build            build both fuzzers, run nothing
#   fuzz/run.sh plan [SECONDS]   fuzz the plan loader (default 600 s)
#   fuzz/run.sh api [SECONDS]    fuzz the public API (default 600 s)
#   fuzz/run.sh repro KIND FILE  run one input once (a crash, a regress file)
#
# Builds with clang itself (whatever configure chose): the library sources
# are compiled straight into each fuzzer with -fsanitize=fuzzer,address,
# undefined and -DKILN_CHECKED, so contract asserts and the heap verifier run.
# Everything goes under $KILN_FUZZ_OUT (default ./fuzz-out): build/, the
# binaries, corpus/KIND/ (grows across runs) and crash-KIND-* artifacts.
# Extra libFuzzer flags may be given in $KILN_FUZZ_FLAGS.
set -e

src=$(cd "$(dirname "$0")/.." && pwd)
out=${KILN_FUZZ_OUT:-$PWD/fuzz-out}
cc=${KILN_FUZZ_CC:-clang}
mkdir -p "$out/build/plans"
out=$(cd "$out" && pwd)

build_one() {  # build_one NAME SOURCES...
  bin="$out/fuzz_$1"
  shift
  # Rebuild when any source is newer than the binary.
  if [ -x "$bin" ] && [ -z "$(find "$src/core" "$src/pools" "$src/lua" "$src/fuzz" \
        "$src/include" "$src/plans" -newer "$bin" -name '*.[ch]' -o -newer "$bin" -name '*.lua' \
        | head -n 1)" ]; then
    return 0
  fi
  echo "building $bin"
  # shellcheck disable=SC2086
  $cc -std=c11 -g -O1 -Wall -Wextra -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -DKILN_CHECKED -D_GNU_SOURCE -I"$src/include" -I"$src/core" -I"$src" -I"$out/build" \
    -I"$src/fuzz" $lua_cflags "$@" $lua_libs -lpthread -lm -o "$bin"
}

# embed OUT.c TABLE NAME...: plans/embed.sh, replacing OUT.c only when it changes.
embed() {
  file=$1
  shift
  (cd "$src" && sh plans/embed.sh "$file.new" "$src" "$@")
  if cmp -s "$file.new" "$file" 2>/dev/null; then rm -f "$file.new"; else mv "$file.new" "$file"; fi
}

build() {
  # The library's config.h: a checked build is all the sources ask of it.
  cat > "$out/build/config.h.tmp" <<EOC
/* config.h for the fuzz build, written by fuzz/run.sh */
#define KILN_CHECKED 1
#define KILN_SANITIZERS 1
EOC
  if ! cmp -s "$out/build/config.h.tmp" "$out/build/config.h" 2>/dev/null; then
    mv "$out/build/config.h.tmp" "$out/build/config.h"
  else
    rm -f "$out/build/config.h.tmp"
  fi
  lib="$src/core/*.c $src/pools/*.c $src/fuzz/fuzzobj.c"
  lua_cflags=$(pkg-config --cflags lua5.4)
  lua_libs=
  # shellcheck disable=SC2086
  build_one api $lib "$src/fuzz/fuzz_api.c"
  plans_embed="$out/build/plans/plans_embed.c"
  dsl_embed="$out/build/plans/dsl_embed.c"
  embed "$plans_embed" lk_embedded plans/manual.lua plans/marksweep.lua plans/semispace.lua \
    plans/gencopy.lua plans/genms.lua plans/sticky.lua plans/sticky-inc.lua
  embed "$dsl_embed" lk_dsl_embedded plans/dsl.lua
  lua_libs=$(pkg-config --libs lua5.4)
  # shellcheck disable=SC2086
  build_one plan $lib "$src/plans/err.c" "$src/plans/plan.c" "$src/plans/heap.c" \
    "$plans_embed" "$dsl_embed" \
    "$src/fuzz/fuzz_plan.c"
}

# Seeds: the built-in plans, every plan text quoted in tests/lua/*.lua
# ([[ ... ]] strings that contain 'plan "'), and the saved regress inputs.
seed_plan() {
  dir="$out/corpus/plan"
  mkdir -p "$dir"
  cp "$src"/plans/*.lua "$dir/"
  rm -f "$dir/dsl.lua"
  for t in "$src"/tests/lua/*.lua; do
    awk -v dir="$dir" -v base="$(basename "$t" .lua)" '
      { line = $0 }
      !inside && index(line, "[[") { inside = 1; text = ""; line = substr(line, index(line, "[[") + 2) }
      inside {
        end = index(line, "]]")
        if (end) { text = text substr(line, 1, end - 1); inside = 0
                   if (index(text, "plan \"")) { n++; print text > (dir "/" base "-" n ".lua"); close(dir "/" base "-" n ".lua") } }
        else text = text line "\n"
      }' "$t"
  done
  cp "$src"/fuzz/regress/plan/* "$dir/" 2>/dev/null || true
}

seed_api() {
  dir="$out/corpus/api"
  mkdir -p "$dir"
  cp "$src"/fuzz/regress/api/* "$dir/" 2>/dev/null || true
  # A few random programs so the first run does not start from nothing.
  LC_ALL=C awk 'BEGIN { srand(7); for (f = 1; f <= 16; f++) { file = sprintf("'"$dir"'/seed-rand-%d", f);
       n = 64 + f * 40; for (i = 0; i < n; i++) printf "%c", int(rand() * 256) > file; close(file) } }'
}

kind=${1:-}
case $kind in
build)
  build ;;
plan|api)
  secs=${2:-600}
  build
  seed_$kind
  cd "$out"
  dict=
  [ "$kind" = plan ] && dict="-dict=$src/fuzz/plan.dict"
  # shellcheck disable=SC2086
  exec "$out/fuzz_$kind" "$out/corpus/$kind" $dict -max_total_time="$secs" -timeout=30 \
    -rss_limit_mb=4096 -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$out/crash-$kind-" $KILN_FUZZ_FLAGS ;;
repro)
  [ $# -eq 3 ] || { echo "usage: $0 repro plan|api FILE" >&2; exit 2; }
  build
  exec "$out/fuzz_$2" "$3" ;;
*)
  echo "usage: $0 build | plan [SECONDS] | api [SECONDS] | repro plan|api FILE" >&2
  exit 2 ;;
esac
