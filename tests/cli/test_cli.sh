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

# compare: a tiny run, its table, CSV and JSON; bad options
expect 0 "$KILN" compare --plans manual --workload churn,gcbench --runs 2 --scale 0.02 --depth 6 \
  --csv "$tmp/c.csv" --json "$tmp/c.json"
has out '^workload churn$'; has out '^workload gcbench$'
has out '^plan +time\(s\) +ratio +peakRSS\(MB\) +GCs minor/full +GC\(s\) +p50\(ms\) +p99\(ms\) +max\(ms\) +copied\(MB\)$'
has out '^manual +[0-9.]+ +1\.00 '
has err '^\[4/4\] gcbench under manual, run 2/2'
[ "$(wc -l <"$tmp/c.csv")" -eq 3 ] || fail "csv rows"
grep -q '^workload,plan,status,runs,seconds,maxrss' "$tmp/c.csv" || fail "csv header"
grep -q '"plan": "manual"' "$tmp/c.json" || fail "json"
expect 1 "$KILN" compare --plans nosuchplan --workload churn --runs 1 --scale 0.01
has out 'FAILED: no built-in plan'
expect 2 "$KILN" compare --bogus;          has err "unknown option '--bogus'"
expect 2 "$KILN" compare --runs 0;         has err 'whole number'
expect 2 "$KILN" compare --runs;           has err 'needs a value'
expect 2 "$KILN" compare --workload nope;  has err "unknown workload 'nope'"

# compare: numeric options out of range are refused, naming the option and
# its range, before anything runs (no progress line on stderr)
for bad in "--runs -3:--runs expects a whole number from 1 to 1000, got '-3'" \
           "--runs 1.5:--runs expects a whole number from 1 to 1000, got '1.5'" \
           "--depth 0:--depth expects a whole number from 1 to 30, got '0'" \
           "--depth 31:--depth expects a whole number from 1 to 30, got '31'" \
           "--seed -1:--seed expects a whole number from 0 to 2\^63-1, got '-1'" \
           "--seed x:--seed expects a whole number from 0 to 2\^63-1, got 'x'" \
           "--scale 0:--scale expects a number above 0 and at most 1000, got '0'" \
           "--scale -1:--scale expects a number above 0 and at most 1000, got '-1'" \
           "--scale 1e9:--scale expects a number above 0 and at most 1000, got '1e9'"; do
  opt=${bad%%:*}
  expect 2 "$KILN" compare --plans manual --workload churn $opt
  has err "^kiln compare: ${bad#*:}$"
  if grep -q '^\[1/' "$tmp/err"; then fail "compare $opt ran before refusing"; fi
done
expect 2 "$KILN" compare --plans manual --workload binarytrees --depth 4
has err 'depth 4 is too shallow for binarytrees, which needs a whole number from 6 to 30'
expect 2 "$KILN" compare --plans , --workload churn;  has err "option --plans needs at least one name, got ','"
expect 2 "$KILN" compare --workload , ;               has err "option --workload needs at least one name"
expect 2 "$KILN" compare --csv --json "$tmp/j.json";  has err "option --csv needs a value, got the option '--json'"

# compare: output files are opened before the first run; a bad path stops it
# at once with a sentence naming the option and the path, and nothing runs
for o in csv json svg; do
  expect 1 "$KILN" compare --plans manual --workload churn --runs 1 --scale 0.01 --$o /nonexistent/x.$o
  has err "^kiln compare: --$o /nonexistent/x.$o: cannot open it for writing \(/nonexistent/x.$o: No such file or directory\); nothing was run$"
  if grep -q '^\[1/' "$tmp/err"; then fail "compare --$o ran before refusing a bad path"; fi
  [ -s "$tmp/out" ] && fail "compare --$o with a bad path printed to stdout"
done
expect 1 "$KILN" compare --plans manual --workload churn --runs 1 --svg "$tmp"
has err "^kiln compare: --svg $tmp: cannot open it for writing \($tmp: Is a directory\); nothing was run$"
expect 1 "$KILN" compare --plans manual --workload churn --runs 1 --csv "$tmp/same" --json "$tmp/same"
has err "^kiln compare: --csv and --json name the same file $tmp/same; nothing was run$"
[ -e "$tmp/same" ] && fail "compare created an output file while refusing"
expect 1 "$KILN" compare --plans manual --workload churn --runs 1 --csv "$tmp/new.csv" --json /nonexistent/x.json
has err "^kiln compare: --json /nonexistent/x.json: cannot open it for writing"
[ -e "$tmp/new.csv" ] && fail "compare left the --csv file it created while refusing --json"
echo keep >"$tmp/old.csv"
expect 1 "$KILN" compare --plans manual --workload churn --runs 1 --csv "$tmp/old.csv" --svg /nonexistent/x.svg
[ "$(cat "$tmp/old.csv")" = keep ] || fail "compare truncated an existing --csv file while refusing --svg"

# a write that fails after the runs is reported, and the other outputs are
# still written
if [ -w /dev/full ]; then
  expect 1 "$KILN" compare --plans manual --workload churn --runs 1 --scale 0.01 --csv /dev/full \
    --json "$tmp/after.json"
  has err '^kiln compare: --csv /dev/full: No space left on device$'
  grep -q '"plan": "manual"' "$tmp/after.json" || fail "--json written after --csv failed"
fi

if command -v gnuplot >/dev/null 2>&1; then
  expect 0 "$KILN" compare --plans manual --workload churn --runs 1 --scale 0.01 --svg "$tmp/c.svg" \
    --csv "$tmp/d.csv"
  grep -q '<svg' "$tmp/c.svg" || fail "svg"
  grep -q '<svg' "$tmp/out" && fail "the SVG went to stdout"
  [ "$(wc -l <"$tmp/d.csv")" -eq 2 ] || fail "csv written along with the svg"
else
  expect 1 "$KILN" compare --plans manual --workload churn --runs 1 --scale 0.01 --svg "$tmp/c.svg"
  has err 'needs gnuplot, which is not on PATH'
fi

finish test_cli
