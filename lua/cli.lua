-- cli.lua -- the `kiln` program's front end (embedded; run by lua/kiln_main.c).
--
-- Owns the dispatch, the usage texts and the subcommands plans, describe,
-- check and run. compare and the hidden __run1 (one workload under one
-- plan, one result line on stdout; compare runs it in a fresh process per
-- run) are in lua/cli/compare.lua, loaded as "kiln.cli.compare". Called as
-- cli(self_path, argv); returns the exit status: 0 ok, 1 failure, 2 usage.

local self_path, argv = ...
local kiln = require "kiln"
local util = require "kiln.cli.util"
local fmt, concat = string.format, table.concat

local USAGE = [[
usage: kiln COMMAND [ARGS]

  plans                     list the built-in plans with their doc line
  describe NAME             a pool class's, the arena's or a plan's parameters
  check FILE.lua            validate a plan file
  run [--lua-alloc=kiln] SCRIPT.lua [ARGS]
                            run an experiment script (it may require "kiln"),
                            optionally with Lua's own memory on Kiln
  compare [OPTIONS]         run workloads under several plans and compare them
  replay TRACE... [OPTIONS] replay recorded programs under several plans

`kiln COMMAND --help` describes each command. Exit status: 0 ok, 1 failure,
2 usage error.
]]

local HELP = {
  plans = [[
usage: kiln plans
List the built-in plans, one a line, with their doc line. A plan that cannot
be opened in this build (a pool class not built yet) says why.
]],
  describe = [[
usage: kiln describe NAME
NAME is a pool class (mfs, mvff, ms, copy, gen), "arena", a built-in plan or
a plan file. Prints the parameters with their type, default and meaning, or
the plan's pools, parameters and roles.
]],
  check = [[
usage: kiln check FILE.lua [POOL.KEY=VALUE ...]
Validate a plan file (with optional overrides such as young.nursery_size=8MB):
it must load, and a heap built from it must open.
Prints "FILE: ok" and exits 0, or prints the mistake and exits 1.
]],
  run = [[
usage: kiln run [--lua-alloc=kiln|stock] SCRIPT.lua [ARGS ...]
Run a Lua script with the global `arg` (arg[0] the script, arg[1..] ARGS);
require "kiln" gives the module. Exits 0 unless the script fails or calls
os.exit.
--lua-alloc=kiln puts the whole Lua state (the interpreter's memory and the
script's) on a Kiln mvff pool instead of the C library's malloc, which is
--lua-alloc=stock, the default. kiln.lua_alloc_stats() then returns that
pool's stats (nil on stock). The option must come first.
]],
  compare = [==[
usage: kiln compare [--plans P,...] [--set POOL.KEY=V1,V2,...] [--workload W,...]
                    [--heap H,...] [--runs n] [--warmup n] [--scale x] [--depth d] [--threads n]
                    [--seed s] [--baseline PLAN] [--csv FILE] [--json FILE]
                    [--plot FILE.svg|FILE.png | --no-plot]
Run each workload under each plan, every run in a fresh process, and print a
table per workload. Every metric is the median over the runs, with
(min-max) where the runs differ: time, ratio to the fastest plan (or to
--baseline), peak RSS, collections (minor/full), GC time, mutator time (the
run's less its collections'), p50/p99/max pause, bytes copied and the
copying rate (bytes per second of the collections that copied).
  --plans     built-in plans, plan files, or a plan with overrides such as
              genms:young.nursery_size=4MB (more overrides: ':KEY=VALUE').
              Default: every built-in automatic plan this build can open.
  --set       run each value as its own plan, named PLAN@KEY=VALUE; several
              --set options give every combination.
  --workload  gcbench, binarytrees, churn, quads, fields (default: all), or FILE.lua
              returning a function(heap, params), called once per run with
              a heap of the plan and params {seed, scale, depth}.
  --heap      run each plan in fixed heaps (arena heap_policy=fixed), named
              PLAN@heap=H: multiples of each workload's minimum heap (1.5x,
              2x, 3x), found first by search under marksweep (or the first
              plan), or sizes (64MB). A run that needs more than its heap
              fails with "the fixed heap is full" and does not make compare
              exit 1.
  --runs      counted runs per plan and workload (default 3, 1 to 1000);
  --warmup    runs before them that are not counted (default 0, up to 100).
  --scale     multiplies every workload's work (above 0, up to 1000);
  --depth     tree depth of gcbench and binarytrees (1 to 30; binarytrees
              6 to 30); --seed 0 to 2^63-1.
  --threads   mutator threads (1 to 64, default 1): each runs the whole
              workload on its own, all on one heap (threads x the work);
              a workload file gets it in params.threads.
  --csv, --json  one row per run and per aggregate, with the Kiln version,
              plans, overrides, workload parameters, host, date and the
              minimum heap found. The JSON
              is always valid: a number that is not finite is null.
  --plot      the plot file (default kiln-compare.svg here); --svg is the
              same option. Drawn with gnuplot (Debian: gnuplot-nox): per
              workload, time and peak RSS with min-max error bars and the
              pauses on a log scale; --baseline draws times relative to
              that plan. Without gnuplot the default plot is skipped with a
              note; an explicit --plot is an error.
Plans, overrides and workload files are checked, and the output files
opened, before the first run: a mistake stops compare with nothing run.
Progress goes to stderr. Exits 1 if any run failed.
]==],
  replay = [==[
usage: kiln replay TRACE... [compare's options but --workload]
Replay each trace file -- recorded from any program with KILN_RECORD=FILE in
its environment, or the arena parameter record=FILE -- under each plan: the
same commits (sizes, roles) and reference stores, collected by the plan. It
is kiln compare with the traces as its workloads (a trace file given to
compare --workload is replayed too). Every replay checks, at each collection
of the recording, that as many objects and references are reachable as the
recording found; a mismatch fails the run.
By default the plans are every automatic built-in plan; manual, which
frees each object at the first collection of the recording that found it
unreachable (the oracle baseline of explicit memory management) into an
mvff pool; and malloc, the same oracle on the C library's malloc and free
(preload another allocator, such as mimalloc, to measure that one). Times
are relative to manual. Record with frequent collections (e.g.
KILN_OVERRIDES=arena.stress=1000) for an oracle that frees promptly. With
--heap, manual and malloc run once, unsized. --no-verify skips the check of
the reachable counts (it takes time, though not the replay's).
]==],
}

local out, err, print_table = util.out, util.err, util.print_table

local function usage_error(cmd, msg)
  err("kiln%s: %s\n", cmd and (" " .. cmd) or "", msg)
  err("%s", cmd and HELP[cmd] or USAGE)
  return 2
end

local function wants_help(args)
  for _, a in ipairs(args) do if a == "--help" or a == "-h" then return true end end
  return false
end

---------------------------------------------------------------------------
-- plans, describe, check

local cmd = {}

function cmd.plans(args)
  if #args > 0 then return usage_error("plans", "takes no arguments") end
  local list, why = kiln.plans()
  if not list then err("kiln plans: %s\n", why); return 1 end
  local rows = {}
  for _, p in ipairs(list) do
    local note = p.error and ("  [cannot open here: " .. p.error:gsub("^.-: ", "", 1) .. "]") or ""
    if p.error and p.error:find("not built yet", 1, true) then
      note = "  [" .. (p.error:match("pool class '[^']+' is not built yet") or "not built yet") .. "]"
    end
    rows[#rows + 1] = { p.name, p.doc .. note }
  end
  print_table(rows)
  return 0
end

local size_text = util.size_text

local function show_value(v)
  if type(v) == "number" and math.type(v) == "integer" then return size_text(v) end
  return tostring(v)
end

local function describe_params(d)
  out("%s%s%s: %s\n", d.kind == "class" and "pool class " or "", d.name,
      d.kind == "class" and (d.automatic and " (automatic)" or " (manual)") or "", d.doc)
  local rows = { { "parameter", "type", "default", "meaning" } }
  for _, p in ipairs(d.params) do
    rows[#rows + 1] = { p.key, p.type, p.default ~= "" and p.default or "-", p.doc }
  end
  if #d.params == 0 then out("  (no parameters)\n") else print_table(rows) end
end

local function describe_plan(d)
  out("plan %s: %s\n", d.name, d.doc)
  out("  defined in %s%s\n", d.file, d.extends and (", extends " .. d.extends) or "")
  local arena = {}
  for _, a in ipairs(d.arena) do arena[#arena + 1] = a.key .. " = " .. show_value(a.value) end
  out("  arena: %s\n", #arena > 0 and concat(arena, ", ") or "(defaults)")
  out("  pools (in creation order):\n")
  for _, p in ipairs(d.pools) do
    local args = {}
    for _, a in ipairs(p.args) do args[#args + 1] = a.key .. " = " .. show_value(a.value) end
    out("    %-10s %-5s { %s }\n", p.name, p.class, concat(args, ", "))
  end
  out("  roles:\n")
  for _, r in ipairs(d.roles) do
    out("    %-10s -> %s%s\n", r.role, r.pool, r.rank and (" (rank " .. r.rank .. ")") or "")
  end
end

function cmd.describe(args)
  if #args ~= 1 then return usage_error("describe", "expects one NAME") end
  local d, why = kiln.describe(args[1])
  if not d then err("kiln describe: %s\n", why); return 1 end
  if d.kind == "plan" then describe_plan(d) else describe_params(d) end
  return 0
end

local parse_overrides = util.parse_overrides

function cmd.check(args)
  if #args < 1 then return usage_error("check", "expects a plan FILE") end
  local ov, why = parse_overrides(args, 2)
  if not ov then return usage_error("check", why) end
  local ok, msg = kiln.check(args[1], ov)
  if not ok then err("%s\n", msg); return 1 end
  local d = kiln.describe(args[1])
  local n = d and #d.pools or 0
  out("%s: ok (plan '%s', %d pool%s)\n", args[1], d and d.name or "?", n, n == 1 and "" or "s")
  return 0
end

---------------------------------------------------------------------------
-- run

-- kiln_main.c has already acted on --lua-alloc=kiln (the state had to be
-- created on Kiln); here it is checked and taken out of the arguments.
function cmd.run(args)
  local alloc = "stock"
  if args[1] and args[1]:find("^%-%-lua%-alloc") then
    alloc = args[1]:match("^%-%-lua%-alloc=(.*)$")
    if alloc ~= "kiln" and alloc ~= "stock" then
      return usage_error("run", fmt("--lua-alloc expects kiln or stock (as in --lua-alloc=kiln), got '%s'",
                                    alloc or args[1]))
    end
    table.remove(args, 1)
  end
  if (alloc == "kiln") ~= (kiln.lua_alloc_stats() ~= nil) then
    err("kiln run: --lua-alloc=%s, but this Lua state was not created that way\n", alloc)
    return 1
  end
  if #args < 1 then return usage_error("run", "expects a SCRIPT") end
  local script = args[1]
  local chunk, why = loadfile(script)
  if not chunk then err("kiln run: %s\n", why); return 1 end
  local a = { [0] = script }
  for i = 2, #args do a[i - 1] = args[i] end
  _G.arg = a
  local ok, e = xpcall(chunk, debug.traceback, table.unpack(a, 1, #a))
  if not ok then err("kiln run: %s\n", tostring(e)); return 1 end
  return 0
end

---------------------------------------------------------------------------
-- compare and __run1 (lua/cli/compare.lua)

function cmd.compare(args)
  return require("kiln.cli.compare").compare(args, self_path, usage_error)
end

function cmd.replay(args)
  return require("kiln.cli.compare").replay(args, self_path, usage_error)
end

cmd.__run1 = function(args)
  return require("kiln.cli.compare").run1(args, usage_error)
end

---------------------------------------------------------------------------
-- dispatch

local name = argv[1]
if name == nil then err("%s", USAGE); return 2 end
if name == "--help" or name == "-h" or name == "help" then out("%s", USAGE); return 0 end
if name == "--version" then out("kiln %s\n", kiln.version); return 0 end
local fn = cmd[name]
if not fn then return usage_error(nil, fmt("unknown command '%s'", name)) end
local rest = { table.unpack(argv, 2) }
if name ~= "run" and name ~= "__run1" and wants_help(rest) then out("%s", HELP[name]); return 0 end
if name == "run" and (rest[1] == "--help" or rest[1] == "-h") then out("%s", HELP.run); return 0 end
return fn(rest)
