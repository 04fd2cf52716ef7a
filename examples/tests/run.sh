#!/bin/sh
# run.sh -- kscheme's test programs (examples/tests/*.scm): each must print
# exactly its .out file and exit 0 under every automatic plan, and again at
# arena.stress=1 (a collection at every allocation) with its heavy parts
# skipped. Each program sees `scale`, defined before its first line:
# KILN_TEST_SCALE rounded up (at least 1), or 0 for the stress runs. Run by
# make check with KILN (the kiln program) and KILN_SRCDIR in the
# environment; kscheme is found beside the build's lua/ directory.
SRC=${KILN_SRCDIR:-.}
. "$SRC/tests/cli/shlib.sh"
KSCHEME=${KSCHEME:-$(dirname "${KILN:-lua/kiln}")/../examples/kscheme}
scale=$(awk -v s="${KILN_TEST_SCALE:-1}" 'BEGIN { n = int(s); if (n < s) n++; if (n < 1) n = 1; print n }')
plans="marksweep semispace gencopy genms sticky sticky-inc"

# check PROGRAM SCALE ARGS...: run it, compare stdout with PROGRAM's .out.
check() {
  prog=$1 s=$2
  shift 2
  { echo "(define scale $s)"; cat "$prog"; } >"$tmp/prog.scm"
  expect 0 "$KSCHEME" "$@" "$tmp/prog.scm"
  if ! cmp -s "$tmp/out" "${prog%.scm}.out"; then
    fail "$(basename "$prog") with $*: output differs from $(basename "${prog%.scm}.out")"
    diff "${prog%.scm}.out" "$tmp/out" | head -8 | sed 's/^/  /'
  fi
}

for prog in "$SRC"/examples/tests/*.scm; do
  for plan in $plans; do
    check "$prog" "$scale" --plan "$plan"
    check "$prog" 0 --plan "$plan" --set arena.stress=1
  done
done

# The default plan is sticky; errors are sentences, and a program that
# raised one exits 1 after running the forms that follow.
printf '(display "a")\n(car 1)\n(undefined-name)\n(display "b")\n' >"$tmp/err.scm"
expect 1 "$KSCHEME" "$tmp/err.scm"
has out '^ab$'
has err '^kscheme: error: car: an argument is not a pair$'
has err "^kscheme: error: unbound variable 'undefined-name'; define it before its use$"
expect 1 "$KSCHEME" --plan manual "$tmp/err.scm"
has err "plan 'manual' has no automatic pool for role 'objects'"
expect 1 "$KSCHEME" --set arena.stres=1 "$tmp/err.scm"
has err "unknown parameter 'stres' \(did you mean 'stress'\?\)"
expect 2 "$KSCHEME" --frobnicate
has err '^usage: kscheme'
finish examples/tests/run.sh
