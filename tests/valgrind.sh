#!/bin/sh
# valgrind.sh -- run one test program under Valgrind's Memcheck. The
# LOG_COMPILER of `make check-valgrind` (tests/local.mk), usable by hand:
#
#   tests/valgrind.sh PROGRAM [ARGS...]
#
# Exits with the program's own status, or 99 if Memcheck reported anything
# (an invalid access, a use of uninitialised memory, a definite leak) in the
# program or in any process it forked; the reports go to stderr. Forked
# children matter: tests/testlib.c runs some cases in a child whose exit
# status the test reads itself, so an exit code alone would miss them.
#
# Environment: VALGRIND (the program, default valgrind), VALGRIND_FLAGS
# (extra flags, e.g. --track-origins=yes to find where an uninitialised
# value came from), KILN_LIBTOOL (a libtool, to run wrapper scripts through).
# Check suites run with CK_FORK=no: one process per suite instead of one
# emulated fork per test, and no per-test timeouts to trip over.
set -u
here=$(cd "$(dirname "$0")" && pwd)
logs=$(mktemp -d "${TMPDIR:-/tmp}/kiln-vg.XXXXXX") || exit 99
trap 'rm -rf "$logs"' EXIT
CK_FORK=no
export CK_FORK

supp=""
[ -f "$here/valgrind.supp" ] && supp="--suppressions=$here/valgrind.supp"
# shellcheck disable=SC2086
${KILN_LIBTOOL:+$KILN_LIBTOOL --mode=execute} "${VALGRIND:-valgrind}" --tool=memcheck -q \
  --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \
  --errors-for-leak-kinds=definite --log-file="$logs/vg.%p" $supp ${VALGRIND_FLAGS:-} "$@"
status=$?

for f in "$logs"/vg.*; do
  if [ -s "$f" ]; then
    echo "valgrind.sh: Memcheck reported errors running: $*" >&2
    cat "$f" >&2
    status=99
  fi
done
exit $status
