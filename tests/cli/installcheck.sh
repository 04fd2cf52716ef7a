#!/bin/sh
# installcheck.sh -- what `make install` put in place: the program runs, the
# Lua module is its shared object alone (no libtool .la beside it) and loads
# in a stock lua5.4, the manual page has its paths filled in and names every
# command and option the program's help lists, and the docs, the plans and
# kiln.pc are where kiln(1) and README.md say. Run by `make installcheck`
# with the install directories (DESTDIR included) in the environment:
# KILN_VERSION KILN_SRCDIR KILN_BINDIR KILN_LUACMODDIR KILN_MAN1DIR
# KILN_DOCDIR KILN_PKGDATADIR KILN_INCLUDEDIR KILN_PKGCONFIGDIR.
. "${KILN_SRCDIR:-.}/tests/cli/shlib.sh"
KILN=$KILN_BINDIR/kiln
MAN=$KILN_MAN1DIR/kiln.1

# the program
expect 0 "$KILN" --version;             has out "^kiln $KILN_VERSION\$"

# the Lua module: kiln.so, no kiln.la, loadable by a stock interpreter
[ -f "$KILN_LUACMODDIR/kiln.so" ] || fail "$KILN_LUACMODDIR/kiln.so is not installed"
[ ! -e "$KILN_LUACMODDIR/kiln.la" ] || fail "$KILN_LUACMODDIR/kiln.la is installed; Lua needs kiln.so only"
if command -v lua5.4 >/dev/null 2>&1; then
  expect 0 env LUA_CPATH="$KILN_LUACMODDIR/?.so" lua5.4 -e 'print(require("kiln").version)'
  has out "^$KILN_VERSION\$"
else
  echo "installcheck: lua5.4 is not on PATH; kiln.so was not loaded"
fi

# the manual page: paths written in, every command and option covered
if [ -f "$MAN" ]; then
  if grep -n '@[a-z_A-Z]*@' "$MAN" >"$tmp/at"; then
    fail "$MAN has unsubstituted placeholders: $(head -3 "$tmp/at")"
  fi
  "$KILN" --help >"$tmp/help"
  for c in $(sed -n 's/^  \([a-z][a-z]*\) .*/\1/p' "$tmp/help"); do
    grep -Eq "^\.BI? $c( |\$)" "$MAN" || fail "$MAN has no entry for the command '$c'"
    "$KILN" "$c" --help >"$tmp/chelp"
    for o in $(grep -o -- '--[a-z][a-z-]*' "$tmp/chelp" | sort -u); do
      roff=$(printf '%s\n' "$o" | sed 's/-/\\-/g')
      grep -qF -- "$roff" "$MAN" || fail "$MAN does not mention '$o' of 'kiln $c'"
    done
  done
else
  fail "$MAN is not installed"
fi

# the docs, the plans as examples, the header and kiln.pc
for f in README.md LICENSE NEWS plans.md bindings.md; do
  [ -f "$KILN_DOCDIR/$f" ] || fail "$KILN_DOCDIR/$f is not installed"
done
"$KILN" plans >"$tmp/plans"
for p in $(sed 's/ .*//' "$tmp/plans"); do
  [ -f "$KILN_PKGDATADIR/plans/$p.lua" ] || fail "plan $p is not installed in $KILN_PKGDATADIR/plans"
  expect 0 "$KILN" check "$KILN_PKGDATADIR/plans/$p.lua"; has out ": ok \(plan '$p'"
done
[ -f "$KILN_INCLUDEDIR/kiln.h" ] || fail "$KILN_INCLUDEDIR/kiln.h is not installed"
if command -v pkg-config >/dev/null 2>&1; then
  expect 0 env PKG_CONFIG_PATH="$KILN_PKGCONFIGDIR" pkg-config --modversion kiln
  has out "^$KILN_VERSION\$"
fi

finish installcheck
