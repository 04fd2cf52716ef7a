#!/bin/sh
# test_replay.sh -- `kiln replay`: a program recorded through KILN_RECORD
# (here a Lua script using its own heap) replays under every automatic plan
# and the manual oracle, with times relative to the oracle; at fixed heap
# sizes (the oracle unsized); through `kiln compare --workload`; and the
# mistakes are refused before any run.
KILN=${KILN:-lua/kiln}
SRCDIR=${KILN_SRCDIR:-.}
. "$SRCDIR/tests/cli/shlib.sh"
cd "$tmp" || exit 1

cat >prog.lua <<'LUA'
local kiln = require "kiln"
local h = assert(kiln.heap("marksweep", { ["arena.stress"] = 100 }))
local Node = h:type{ name = "Node", refs = 2, bytes = 24 }
local keep = Node:new()
h:root(keep)
for i = 1, 3000 do
  local n = Node:new()
  n[1] = keep[1]
  if i % 7 ~= 0 then keep[1] = n end
  if i % 500 == 0 then keep[1] = nil end
end
h:close()
LUA
# --- record any program: the environment names the file ---
KILN_RECORD="$tmp/prog.krec" expect 0 "$KILN" run prog.lua
head -c 9 prog.krec | grep -q '^KILNREC1$' || fail "KILN_RECORD wrote no trace file"

# --- replay: every automatic plan and the oracle, relative to the oracle ---
expect 0 "$KILN" replay prog.krec --runs 2 --no-plot --csv r.csv
has out '^workload prog \(ratio to the baseline, manual\)$'
for p in marksweep semispace genms gencopy sticky manual malloc; do
  has out "^$p +[0-9.]+"
done
grep -q '^median,prog,manual,,2,ok,' r.csv || fail "csv: the oracle's median row"
grep -q '^run,prog,semispace,2,' r.csv || fail "csv: semispace's second run"

# --- fixed heaps: multiples of the minimum under marksweep; manual unsized ---
expect 0 "$KILN" replay prog.krec --plans marksweep,semispace,manual,malloc --heap 2x,4x --runs 1 --no-plot
has err 'the minimum heap of prog under marksweep is [0-9.]+MB'
has out '^semispace@heap=2x +[0-9.]+'
has out '^marksweep@heap=4x +[0-9.]+'
has out '^manual +[0-9.]+'
has out '^malloc +[0-9.]+'

# --- --no-verify: the same replay without the counts' check ---
expect 0 "$KILN" replay prog.krec --plans sticky --no-verify --runs 1 --no-plot --csv nv.csv
has out '^sticky +[0-9.]+'
grep -q 'verify=0' nv.csv || fail "csv: the parameters say verify=0"
expect 2 "$KILN" compare --plans sticky --workload gcbench --no-verify --runs 1 --no-plot
has err "--no-verify is for replayed traces, and workload 'gcbench' is not one"

# --- compare replays a trace given as a workload ---
expect 0 "$KILN" compare --plans sticky --workload prog.krec --runs 1 --no-plot
has out '^workload prog '
has out '^sticky +[0-9.]+'

# --- mistakes, refused before any run ---
expect 2 "$KILN" replay
has err 'expects a TRACE file'
expect 1 "$KILN" replay prog.lua
has err "'prog.lua' is not a Kiln trace file"
expect 2 "$KILN" replay prog.krec --workload gcbench
has err 'takes its workloads as TRACE files'
expect 1 "$KILN" compare --plans malloc --workload gcbench --runs 1 --no-plot
has err "plan 'malloc' replays traces only, and workload 'gcbench' is not one"
printf 'KILNREC1\nA' >cut.krec
expect 1 "$KILN" replay cut.krec --plans marksweep --runs 1 --no-plot
has err 'corrupt at byte'
finish test_replay
