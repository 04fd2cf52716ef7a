#!/bin/sh
# test_cli.sh -- the kiln program's subcommands: output shape and exit codes
# (0 ok, 1 failure, 2 usage), bad arguments included. Run by make check with
# KILN (the program) and KILN_SRCDIR (the source tree) in the environment.
KILN=${KILN:-lua/kiln}
. "${KILN_SRCDIR:-.}/tests/cli/shlib.sh"

# usage and help
expect 2 "$KILN";                       has err '^usage: kiln COMMAND'
expect 0 "$KILN" --help;                has out '^usage: kiln COMMAND'
expect 0 "$KILN" --version;             has out '^kiln [0-9]+\.[0-9]+'
expect 2 "$KILN" frobnicate;            has err "unknown command 'frobnicate'"
for c in plans describe check run compare; do
  expect 0 "$KILN" "$c" --help;         has out "^usage: kiln $c"
done

# plans: one line per built-in plan, name then doc
expect 0 "$KILN" plans
for p in manual marksweep semispace gencopy genms sticky sticky-inc; do has out "^$p +[A-Z]"; done
expect 2 "$KILN" plans extra;           has err 'takes no arguments'

# describe: classes, the arena, plans; unknown names fail
expect 0 "$KILN" describe mfs;          has out '^pool class mfs \(manual\): '; has out '^unit_size +size'
expect 0 "$KILN" describe arena;        has out '^reserve +size +16GB'
expect 0 "$KILN" describe manual;       has out '^plan manual: '; has out '^    objects +-> manual'
# every automatic plan has a weak role, shown with its rank; manual has none
for p in marksweep semispace gencopy genms sticky sticky-inc; do
  expect 0 "$KILN" describe $p;         has out '^    weak +-> (main|young) \(rank weak\)$'
done
expect 0 "$KILN" describe manual
grep -q '^    weak ' "$tmp/out" && fail "plan manual has a weak role"
expect 1 "$KILN" describe nosuch;       has err "no built-in plan 'nosuch'"
expect 2 "$KILN" describe;              has err 'expects one NAME'
expect 2 "$KILN" describe a b

# check: ok, a mistake (exit 1, the sentence on stderr), overrides, usage
cat >"$tmp/good.lua" <<'PLAN'
plan "good" {
  doc = "a good plan",
  pools = { m = mvff { } },
  roles = { manual = "m" },
}
PLAN
cat >"$tmp/bad.lua" <<'PLAN'
plan "bad" {
  pools = { m = mfs { unit_sise = 8 } },
}
PLAN
expect 0 "$KILN" check "$tmp/good.lua"; has out "good.lua: ok \(plan 'good', 1 pool\)"
expect 1 "$KILN" check "$tmp/bad.lua";  has err "bad.lua:2: pool 'm' \(mfs\): unknown parameter 'unit_sise' \(did you mean 'unit_size'\?\)"
expect 1 "$KILN" check "$tmp/missing.lua"; has err 'cannot read plan file'
expect 0 "$KILN" check manual arena.reserve=1GB
expect 1 "$KILN" check manual arena.reserv=1GB; has err "did you mean 'reserve'"
expect 1 "$KILN" check sticky arena.barrier=none; has err "young_size makes a generational pool"
expect 2 "$KILN" check manual notakeyvalue
expect 2 "$KILN" check

# check and describe end on any plan: a FIFO is refused, not read (which
# would wait for a writer), and a plan that would run a C library function
# for ages, or loop past its time, ends with a sentence naming the limit
mkfifo "$tmp/fifo.lua"
expect 1 timeout 20 "$KILN" check "$tmp/fifo.lua"
has err "^cannot read plan file '.*/fifo.lua': it is not a regular file \(a FIFO, socket or device\); plans are read from regular files$"
budget='plan exceeded its pattern-matching budget \(100 million steps\): this pattern may take more on a string of'
bomb() {  # bomb NAME PLAN-TEXT: `check` ends with the pattern budget at line 2
  printf 'local x = 1\n%s\nplan "p" { pools = { a = mvff { } } }\n' "$2" >"$tmp/$1.lua"
  expect 1 timeout 20 "$KILN" check "$tmp/$1.lua"
}
bomb stars 'local s = string.rep("a", 40); string.find(s, string.rep("a*", 40) .. "b")'
has err "stars.lua:2: string.find: $budget 40 bytes"
bomb lazy3 'local s = string.rep("a", 25000):find(".-.-.-b")'
has err "lazy3.lua:2: string.find: $budget 25000 bytes"
bomb lazy1 'local s = string.rep("a", 1000000); local i = s:find(".-b")'
has err "lazy1.lua:2: string.find: $budget 1000000 bytes"
bomb match 'local s = string.rep("a", 40); local m = s:match(string.rep("a-", 40) .. "b")'
has err "match.lua:2: string.match: $budget 40 bytes"
bomb gmatch 'for w in string.rep("a", 40):gmatch(string.rep("a*", 40) .. "b") do end'
has err "gmatch.lua:2: string.gmatch: $budget 40 bytes"
bomb gsub 'local s = string.rep("a", 40):gsub(string.rep("a?", 40) .. string.rep("a*", 40) .. "b", "")'
has err "gsub.lua:2: string.gsub: $budget 40 bytes"
expect 1 timeout 20 "$KILN" describe "$tmp/stars.lua"
has err "stars.lua:2: string.find: $budget 40 bytes"
bomb rep0 'local s = string.rep("", 1e15) .. string.rep("", 1e15, "") .. nil'
has err "rep0.lua:2: attempt to concatenate a nil value"
bomb move 'table.move({}, 1, 1e15, 1)'
has err "move.lua:2: table.move: plan exceeded its memory budget \(32 MB\): 1e\+15 elements are more than any table of a plan can hold"
printf 'local s = string.rep("a", 5e6)\nlocal t = string.rep("a", 5e6)\nwhile s == t do end\n' >"$tmp/slow.lua"
expect 1 timeout 120 "$KILN" check "$tmp/slow.lua"
has err "slow.lua:3: plan exceeded its time budget \(10 seconds of CPU time\)$"

# run: arg, require "kiln", failures and os.exit
cat >"$tmp/script.lua" <<'LUA'
local kiln = require "kiln"
print(arg[0]:match("script.lua$"), arg[1], arg[2], #kiln.plans())
LUA
expect 0 "$KILN" run "$tmp/script.lua" a b; has out '^script.lua	a	b	7$'
echo 'error("boom")' >"$tmp/fail.lua"
expect 1 "$KILN" run "$tmp/fail.lua";   has err 'boom'
echo 'os.exit(3)' >"$tmp/exit.lua"
expect 3 "$KILN" run "$tmp/exit.lua"
expect 1 "$KILN" run "$tmp/nosuch.lua"; has err 'nosuch.lua'
expect 2 "$KILN" run

# the environment: KILN_PLAN and KILN_OVERRIDES replace what a program asks
# kiln_heap_open for, under every automatic plan; KILN_STATS=1 prints one
# line when a heap closes; bad values name the variable
cat >"$tmp/heap.lua" <<'LUA'
local kiln = require "kiln"
local h = assert(kiln.heap("marksweep"))
local T = h:type{ name = "pair", refs = 2 }
local head
for i = 1, 2000 do local p = T:new(); p[1] = head; head = p end
h:collect()
print(h:plan(), h:stats().reserved)
h:close()
LUA
for p in marksweep semispace gencopy genms sticky sticky-inc; do
  expect 0 env KILN_PLAN=$p KILN_OVERRIDES=arena.reserve=32MB "$KILN" run "$tmp/heap.lua"
  has out "^$p	33554432$"
done
expect 0 env KILN_STATS=1 "$KILN" run "$tmp/heap.lua"
has err "^kiln: heap 'marksweep' closed: [0-9]+ collections \\([0-9]+ minor\\), .*allocated [0-9]+ bytes"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "KILN_STATS=1 printed more than one line"
expect 0 env KILN_STATS=0 "$KILN" run "$tmp/heap.lua"
[ -s "$tmp/err" ] && fail "KILN_STATS=0 printed something"
expect 1 env KILN_PLAN=nosuch "$KILN" run "$tmp/heap.lua"
has err "KILN_PLAN='nosuch' from the environment: no built-in plan 'nosuch'"
expect 1 env KILN_OVERRIDES=young "$KILN" run "$tmp/heap.lua"
has err "KILN_OVERRIDES='young': 'young' is not POOL.KEY=VALUE"
expect 1 env KILN_STATS=2 "$KILN" run "$tmp/heap.lua"
has err "KILN_STATS='2': expected 1"

# compare: tests/cli/test_compare.sh

finish test_cli
