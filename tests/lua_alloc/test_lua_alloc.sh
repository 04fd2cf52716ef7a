#!/bin/sh
# test_lua_alloc.sh -- `kiln run --lua-alloc=kiln`: the same
# allocation-heavy script prints the same bytes on Kiln's allocator as on the
# stock one; with the option the state's memory really comes from a Kiln
# pool and without it does not; the Lua test scripts pass on Kiln too;
# warn(), errors and os.exit behave as on the stock state; bad
# spellings of the option are usage errors. Run by make check with KILN (the
# program) and KILN_SRCDIR (the source tree) in the environment.
KILN=${KILN:-lua/kiln}
SRC=${KILN_SRCDIR:-.}
. "$SRC/tests/cli/shlib.sh"

# The same output, byte for byte, at two scales (the second collects more).
heavy=$SRC/tests/lua_alloc/alloc_heavy.lua
for scale in 0.25 1; do
  expect 0 "$KILN" run "$heavy" "$scale";                   mv "$tmp/out" "$tmp/stock"
  expect 0 "$KILN" run --lua-alloc=kiln "$heavy" "$scale";  mv "$tmp/out" "$tmp/kiln"
  expect 0 "$KILN" run --lua-alloc=stock "$heavy" "$scale"; mv "$tmp/out" "$tmp/stock2"
  grep -q '^total ' "$tmp/stock" || fail "alloc_heavy.lua $scale printed no total"
  cmp "$tmp/stock" "$tmp/kiln" || { fail "scale $scale: output differs on Kiln"; diff "$tmp/stock" "$tmp/kiln" | head -10; }
  cmp -s "$tmp/stock" "$tmp/stock2" || fail "scale $scale: --lua-alloc=stock differs from the default"
done

# Where the memory came from: the state's pool holds the script's data, and
# a table of 100k strings shows up in it.
cat >"$tmp/where.lua" <<'LUA'
local kiln = require "kiln"
local st = kiln.lua_alloc_stats()
if not st then print("stock") return end
local t = {}
for i = 1, 100000 do t[i] = ("s%d"):format(i) end
local full = kiln.lua_alloc_stats()
print("kiln", st.in_use > 0, st.committed >= st.in_use, full.in_use - st.in_use > 100000 * 24,
      arg[1], arg[2])
LUA
expect 0 "$KILN" run "$tmp/where.lua"
[ "$(cat "$tmp/out")" = "stock" ] || fail "stock state claims Kiln stats: $(cat "$tmp/out")"
expect 0 "$KILN" run --lua-alloc=kiln "$tmp/where.lua" a b
[ "$(cat "$tmp/out")" = "kiln	true	true	true	a	b" ] || fail "kiln state: $(cat "$tmp/out")"

# Real programs: the Lua test scripts pass with their memory on Kiln. Not
# heaps.lua: its time (45 s of CPU, minutes under ASan) goes to workloads in
# Kiln heaps of their own, not to Lua's memory, so it would test little here.
for t in module plan_errors plan_extends; do
  expect 0 "$KILN" run --lua-alloc=kiln "$SRC/tests/lua/$t.lua"
done

# warn() as on stock: off until "@on", multi-part messages, "@off".
printf '%s\n' 'warn("hidden")' 'warn("@on")' 'warn("one ", "two")' 'warn("@unknown")' \
  'warn("three")' 'warn("@off")' 'warn("gone")' >"$tmp/warn.lua"
expect 0 "$KILN" run "$tmp/warn.lua";                  mv "$tmp/err" "$tmp/warn.stock"
expect 0 "$KILN" run --lua-alloc=kiln "$tmp/warn.lua"; mv "$tmp/err" "$tmp/warn.kiln"
printf 'Lua warning: one two\nLua warning: three\n' >"$tmp/warn.want"
cmp -s "$tmp/warn.stock" "$tmp/warn.want" || fail "stock warn() output: $(cat "$tmp/warn.stock")"
cmp -s "$tmp/warn.kiln" "$tmp/warn.want" || fail "warn() on Kiln: $(cat "$tmp/warn.kiln")"

# Script failures and exits behave as on stock.
echo 'error("boom")' >"$tmp/fail.lua"
expect 1 "$KILN" run --lua-alloc=kiln "$tmp/fail.lua"
grep -q boom "$tmp/err" || fail "the script's error is not reported"
echo 'os.exit(3)' >"$tmp/exit.lua"
expect 3 "$KILN" run --lua-alloc=kiln "$tmp/exit.lua"
echo 'os.exit(4, true)' >"$tmp/close.lua"
expect 4 "$KILN" run --lua-alloc=kiln "$tmp/close.lua"

# Bad spellings: usage errors (exit 2) naming the valid values.
for bad in --lua-alloc=jemalloc --lua-alloc= --lua-alloc --lua-allocator=kiln; do
  expect 2 "$KILN" run "$bad" "$heavy"
  grep -q -- '--lua-alloc expects kiln or stock' "$tmp/err" || fail "'$bad': $(head -1 "$tmp/err")"
done
expect 2 "$KILN" run --lua-alloc=kiln
grep -q 'expects a SCRIPT' "$tmp/err" || fail "no script: $(head -1 "$tmp/err")"
expect 0 "$KILN" run --help
grep -q -- '--lua-alloc=kiln|stock' "$tmp/out" || fail "run --help does not describe --lua-alloc"

finish test_lua_alloc
