# shlib.sh -- what the shell tests share: a scratch directory ($tmp, removed
# on exit), a failure count, and checks on a command's exit code and output.
# Sourced by tests/cli/test_cli.sh and tests/lua_alloc/test_lua_alloc.sh;
# `finish NAME` ends a test with its verdict.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}

# expect CODE CMD...: run CMD, keep stdout/stderr in $tmp/out, $tmp/err.
expect() {
  want=$1
  shift
  "$@" >"$tmp/out" 2>"$tmp/err"
  got=$?
  if [ "$got" != "$want" ]; then
    fail "'$*' exited $got, expected $want"
    sed 's/^/  stderr: /' "$tmp/err" | head -5
  fi
}

# has FILE REGEX: FILE ($tmp/out or $tmp/err) has a line matching REGEX.
has() {
  if ! grep -Eq -- "$2" "$tmp/$1"; then
    fail "$1 of the last command lacks /$2/"
    sed 's/^/  | /' "$tmp/$1" | head -8
  fi
}

finish() {
  if [ "$fails" -ne 0 ]; then
    echo "$1: $fails failures"
    exit 1
  fi
  echo "$1: all passed"
}
