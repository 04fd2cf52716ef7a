#!/bin/sh
# installcheck.sh -- what `make install` put in place: the program runs, the
# Lua module is its shared object alone (no libtool .la beside it) and loads
# in a stock lua5.4, the manual page has its paths filled in and names every
# command and option the program's help lists, and the docs, the plans and
# the headers are where kiln(1) and README.md say, and a tiny C program
# compiles, links and runs against each installed .pc: kiln (the core API
# and descriptor formats, without Lua or libffi) and kiln-heap (heaps from
# plans and Lua on Kiln). Run by `make installcheck` with the install
# directories (DESTDIR included) in the environment: KILN_VERSION
# KILN_SRCDIR KILN_BINDIR KILN_LIBDIR KILN_LUACMODDIR KILN_MAN1DIR
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
for h in kiln.h kiln/desc.h kiln/heap.h kiln/lua.h; do
  [ -f "$KILN_INCLUDEDIR/$h" ] || fail "$KILN_INCLUDEDIR/$h is not installed"
done

# pc_program PC FILE.c: compile FILE.c with pkg-config's flags for PC (the
# installed .pc files first on its path), run it, expect "ok". The -I and
# -L of the install directories come first: with DESTDIR, the .pc files
# name the prefix the tree will have, not where it is now.
pc_program() {
  exe=$tmp/$(basename "$2" .c)
  cflags="-I$KILN_INCLUDEDIR $(PKG_CONFIG_PATH="$KILN_PKGCONFIGDIR" pkg-config --cflags "$1")"
  libs="-L$KILN_LIBDIR $(PKG_CONFIG_PATH="$KILN_PKGCONFIGDIR" pkg-config --libs "$1")"
  # shellcheck disable=SC2086
  if ! ${CC:-cc} -std=c11 $cflags "$2" -o "$exe" $libs 2>"$tmp/cc"; then
    fail "a program using pkg-config $1 does not build: $(head -3 "$tmp/cc")"
    return
  fi
  expect 0 env LD_LIBRARY_PATH="$KILN_LIBDIR" "$exe"; has out "^ok\$"
}

if command -v pkg-config >/dev/null 2>&1 && command -v "${CC:-cc}" >/dev/null 2>&1; then
  for pc in kiln kiln-heap; do
    expect 0 env PKG_CONFIG_PATH="$KILN_PKGCONFIGDIR" pkg-config --modversion $pc
    has out "^$KILN_VERSION\$"
  done
  # libkiln needs neither Lua nor libffi, even linked statically.
  expect 0 env PKG_CONFIG_PATH="$KILN_PKGCONFIGDIR" pkg-config --libs --static kiln
  if grep -Eq 'lua|ffi' "$tmp/out"; then fail "kiln.pc links Lua or libffi: $(cat "$tmp/out")"; fi
  cat >"$tmp/use_kiln.c" <<'EOF'
#include <stdio.h>
#include <kiln.h>
#include <kiln/desc.h>
int main(void)
{
  kiln_arena_t arena;
  kiln_pool_t pool;
  kiln_type_t type;
  kiln_type_spec_t spec = {.name = "pair", .size = 16, .nrefs = 2};
  void *p;
  if (kiln_arena_create(&arena, NULL) != KILN_OK
      || kiln_pool_create(&pool, arena, kiln_class_mvff(), NULL) != KILN_OK
      || kiln_type_create(&type, &spec) != KILN_OK
      || kiln_alloc(&p, pool, kiln_desc_size(type, 0)) != KILN_OK)
    return 1;
  kiln_desc_init(p, type, 0);
  int ok = kiln_desc_type(p) == type;
  kiln_free(pool, p, kiln_desc_size(type, 0));
  kiln_pool_destroy(pool);
  kiln_arena_destroy(arena);
  kiln_type_destroy(type);
  puts(ok ? "ok" : "the object has lost its type");
  return !ok;
}
EOF
  pc_program kiln "$tmp/use_kiln.c"
  cat >"$tmp/use_heap.c" <<'EOF'
#include <stdio.h>
#include <kiln/desc.h>
#include <kiln/heap.h>
#include <kiln/lua.h>
int main(void)
{
  kiln_heap_t heap;
  if (kiln_heap_open(&heap, "genms", kiln_desc_format(), NULL) != KILN_OK) {
    puts(kiln_arena_error(NULL));
    return 1;
  }
  /* Lua on Kiln wants a manual pool: the heap's automatic one is refused. */
  int ok = kiln_heap_ap(heap, "objects") != NULL
           && kiln_lua_newstate(kiln_heap_pool(heap, "objects")) == NULL;
  kiln_heap_close(heap);
  puts(ok ? "ok" : "the heap or kiln_lua_newstate misbehaved");
  return !ok;
}
EOF
  pc_program kiln-heap "$tmp/use_heap.c"
else
  echo "installcheck: pkg-config or a C compiler is missing; the .pc files were not tried"
fi

finish installcheck
