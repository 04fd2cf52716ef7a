-- cli.lua -- the `kiln` program's front end (embedded; run by lua/kiln_main.c).
--
-- Owns the subcommands plans, describe, check, run, compare and the hidden
-- __run1 (one workload under one plan, one result line on stdout; compare
-- runs it in a fresh process per run). Called as cli(self_path, argv);
-- returns the exit status: 0 ok, 1 failure, 2 usage.

local self_path, argv = ...
local kiln = require "kiln"
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
usage: kiln compare [--plans a,b,...] [--workload w[,w...]] [--runs n]
                    [--scale x] [--depth d] [--seed s]
                    [--csv FILE] [--json FILE] [--svg FILE]
Run each workload under each plan, every run in a fresh process, and print a
table per workload: median time, ratio to the fastest plan, peak RSS,
collections (minor/full), GC time, p50/p99/max pause and bytes copied.
Defaults: every built-in automatic plan, every workload, 3 runs, scale 1,
each workload's own depth. Ranges: --runs 1 to 1000, --depth 1 to 30
(binarytrees: 6 to 30), --seed 0 to 2^63-1, --scale above 0 up to 1000.
--csv, --json and --svg files are opened before the first run, so a path
that cannot be written stops compare at once (exit 1).
--svg draws time and pauses with gnuplot (Debian: gnuplot-nox).
Progress goes to stderr. Exits 1 if any run failed.
]==],
}

local function out(...) io.stdout:write(fmt(...)) end
local function err(...) io.stderr:write(fmt(...)) end

local function usage_error(cmd, msg)
  err("kiln%s: %s\n", cmd and (" " .. cmd) or "", msg)
  err("%s", cmd and HELP[cmd] or USAGE)
  return 2
end

local function wants_help(args)
  for _, a in ipairs(args) do if a == "--help" or a == "-h" then return true end end
  return false
end

-- Print rows (arrays of strings) as aligned columns; numbers right-aligned.
local function print_table(rows, right)
  local w = {}
  for _, r in ipairs(rows) do
    for i, c in ipairs(r) do w[i] = math.max(w[i] or 0, utf8.len(c) or #c) end
  end
  for _, r in ipairs(rows) do
    local cells = {}
    for i, c in ipairs(r) do
      local pad = string.rep(" ", w[i] - (utf8.len(c) or #c))
      cells[i] = (right and right[i]) and (pad .. c) or (i < #r and c .. pad or c)
    end
    out("%s\n", concat(cells, "  "))
  end
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

local function size_text(n)
  for _, u in ipairs({ { "GB", 1 << 30 }, { "MB", 1 << 20 }, { "KB", 1 << 10 } }) do
    if n >= u[2] and n % u[2] == 0 then return fmt("%d%s", n // u[2], u[1]) end
  end
  return tostring(n)
end

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

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks)
  return ks
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
  for _, r in ipairs(d.roles) do out("    %-10s -> %s\n", r.role, r.pool) end
end

function cmd.describe(args)
  if #args ~= 1 then return usage_error("describe", "expects one NAME") end
  local d, why = kiln.describe(args[1])
  if not d then err("kiln describe: %s\n", why); return 1 end
  if d.kind == "plan" then describe_plan(d) else describe_params(d) end
  return 0
end

-- "young.nursery_size=8MB" -> overrides table; numbers stay numbers.
local function parse_overrides(list, first)
  local ov = {}
  for i = first, #list do
    local k, v = list[i]:match("^([^=]+)=(.*)$")
    if not k then return nil, fmt("expected POOL.KEY=VALUE, got '%s'", list[i]) end
    if v == "true" or v == "false" then ov[k] = v == "true"
    else ov[k] = math.tointeger(tonumber(v)) or tonumber(v) or v end
  end
  return ov
end

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
-- __run1: one workload under one plan, in this process

local RESULT_KEYS = { "seconds", "maxrss", "collections", "minor_collections", "gc_seconds",
                      "pause_p50_ms", "pause_p99_ms", "pause_max_ms", "copied", "objects",
                      "check", "committed" }

cmd.__run1 = function(args)
  local plan, workload = args[1], args[2]
  if not workload then return usage_error(nil, "__run1 PLAN WORKLOAD [KEY=VALUE ...]") end
  local params, why = parse_overrides(args, 3)
  if not params then return usage_error(nil, why) end
  local r, e = kiln.workload(workload, plan, params)
  if not r then
    out("kiln-result\tstatus=failed\terror=%s\n", (e:gsub("[\t\n]", " ")))
    return 1
  end
  r.maxrss = kiln.rusage().maxrss
  local fields = { "kiln-result", "status=ok" }
  for _, k in ipairs(RESULT_KEYS) do fields[#fields + 1] = k .. "=" .. tostring(r[k]) end
  out("%s\n", concat(fields, "\t"))
  return 0
end

---------------------------------------------------------------------------
-- compare

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function split_list(s)
  local t = {}
  for x in s:gmatch("[^,]+") do t[#t + 1] = x end
  return t
end

-- The numeric options of compare: their ranges, checked before anything
-- runs, so no value is silently replaced (the workloads' own limits).
local NUMERIC = {
  ["--runs"] = { whole = true, min = 1, max = 1000, text = "a whole number from 1 to 1000" },
  ["--depth"] = { whole = true, min = 1, max = 30, text = "a whole number from 1 to 30" },
  ["--seed"] = { whole = true, min = 0, max = math.maxinteger, text = "a whole number from 0 to 2^63-1" },
  ["--scale"] = { above = 0, max = 1000, text = "a number above 0 and at most 1000" },
}

local function check_number(k, v)
  local r, x = NUMERIC[k], tonumber(v)
  if r.whole then x = x and math.tointeger(x) end
  if not x or x ~= x or (r.min and x < r.min) or (r.above and x <= r.above) or x > r.max then
    return nil, fmt("%s expects %s, got '%s'", k, r.text, v)
  end
  return x
end

local function parse_compare(args)
  local o = { runs = 3, params = {} }
  local takes = { ["--plans"] = true, ["--workload"] = true, ["--runs"] = true, ["--csv"] = true,
                  ["--json"] = true, ["--svg"] = true, ["--scale"] = true, ["--depth"] = true,
                  ["--seed"] = true }
  local i = 1
  while i <= #args do
    local a = args[i]
    local k, v = a:match("^(%-%-[%w]+)=(.*)$")
    if not k then k, v = a, args[i + 1]; if takes[a] then i = i + 1 end end
    if not takes[k] then return nil, fmt("unknown option '%s'", a) end
    if v == nil or v == "" then return nil, fmt("option %s needs a value", k) end
    if v:find("^%-%-%a") and not a:find("=", 1, true) then
      return nil, fmt("option %s needs a value, got the option '%s'", k, v)
    end
    if NUMERIC[k] then
      local x, why = check_number(k, v)
      if not x then return nil, why end
      if k == "--runs" then o.runs = x else o.params[k:sub(3)] = tostring(x) end
    elseif k == "--plans" or k == "--workload" then
      local list = split_list(v)
      if #list == 0 then return nil, fmt("option %s needs at least one name, got '%s'", k, v) end
      o[k == "--plans" and "plans" or "workloads"] = list
    else o[k:sub(3)] = v end
    i = i + 1
  end
  return o
end

local function is_automatic_plan(name)
  local d = kiln.describe(name)
  if not d then return nil end
  for _, r in ipairs(d.roles) do
    if r.role == "objects" then
      for _, p in ipairs(d.pools) do
        if p.name == r.pool then
          local c = kiln.describe(p.class)
          return c and c.automatic
        end
      end
    end
  end
  return false
end

-- The plans to compare, and whether the user chose them.
local function default_plans()
  local list, skipped = {}, {}
  for _, p in ipairs(kiln.plans()) do
    if p.error then skipped[#skipped + 1] = fmt("%s (%s)", p.name, p.error)
    elseif is_automatic_plan(p.name) then list[#list + 1] = p.name end
  end
  return list, skipped
end

local function run_once(plan, workload, params)
  local argl = { shell_quote(self_path), "__run1", shell_quote(plan), shell_quote(workload) }
  for _, k in ipairs(sorted_keys(params)) do argl[#argl + 1] = shell_quote(k .. "=" .. params[k]) end
  local p = io.popen(concat(argl, " "), "r")
  local text = p:read("a")
  local ok, how, code = p:close()
  local r = {}
  local line = text:match("kiln%-result\t[^\n]*")
  if not line then
    return { status = "failed", error = fmt("the run ended with %s %s and no result", how, tostring(code)) }
  end
  for k, v in line:gmatch("([%w_]+)=([^\t]*)") do r[k] = tonumber(v) or v end
  if r.status == "ok" and not ok then r.status, r.error = "failed", "exit " .. tostring(code) end
  return r
end

local function median(xs)
  table.sort(xs)
  local n = #xs
  if n == 0 then return nil end
  return n % 2 == 1 and xs[(n + 1) // 2] or (xs[n // 2] + xs[n // 2 + 1]) / 2
end

-- One row per plan and workload: medians and maxima over the runs.
local function summarise(plan, workload, runs)
  local row = { plan = plan, workload = workload, runs = #runs, status = "ok" }
  local times = {}
  for _, r in ipairs(runs) do
    if r.status ~= "ok" then row.status, row.error = "failed", r.error or "failed" end
    times[#times + 1] = tonumber(r.seconds)
  end
  if row.status ~= "ok" then return row end
  local last = runs[#runs]
  row.seconds = median(times)
  row.maxrss = 0
  for _, r in ipairs(runs) do row.maxrss = math.max(row.maxrss, r.maxrss) end
  row.minor = last.minor_collections
  row.full = last.collections - last.minor_collections
  for _, k in ipairs({ "gc_seconds", "pause_p50_ms", "pause_p99_ms", "pause_max_ms", "copied" }) do
    row[k] = last[k]
  end
  return row
end

local function mb(n) return fmt("%.1f", n / (1 << 20)) end

local function print_compare(rows, workloads)
  for _, w in ipairs(workloads) do
    local fastest
    for _, r in ipairs(rows) do
      if r.workload == w and r.seconds then fastest = math.min(fastest or r.seconds, r.seconds) end
    end
    out("\nworkload %s\n", w)
    local failed = {}
    local t = { { "plan", "time(s)", "ratio", "peakRSS(MB)", "GCs minor/full", "GC(s)",
                  "p50(ms)", "p99(ms)", "max(ms)", "copied(MB)" } }
    for _, r in ipairs(rows) do
      if r.workload == w then
        if r.status == "ok" then
          t[#t + 1] = { r.plan, fmt("%.3f", r.seconds), fmt("%.2f", r.seconds / fastest), mb(r.maxrss),
                        fmt("%d/%d", r.minor, r.full), fmt("%.3f", r.gc_seconds),
                        fmt("%.2f", r.pause_p50_ms), fmt("%.2f", r.pause_p99_ms),
                        fmt("%.2f", r.pause_max_ms), mb(r.copied) }
        else
          failed[#failed + 1] = r
        end
      end
    end
    print_table(t, { false, true, true, true, true, true, true, true, true, true })
    for _, r in ipairs(failed) do out("%s  FAILED: %s\n", r.plan, r.error) end
  end
end

local CSV_COLS = { "workload", "plan", "status", "runs", "seconds", "maxrss", "minor", "full",
                   "gc_seconds", "pause_p50_ms", "pause_p99_ms", "pause_max_ms", "copied", "error" }

local function csv_cell(v)
  v = v == nil and "" or tostring(v)
  if v:find('[,"\n]') then v = '"' .. v:gsub('"', '""') .. '"' end
  return v
end

local function csv_text(rows)
  local lines = { concat(CSV_COLS, ",") }
  for _, r in ipairs(rows) do
    local cells = {}
    for i, c in ipairs(CSV_COLS) do cells[i] = csv_cell(r[c]) end
    lines[#lines + 1] = concat(cells, ",")
  end
  return concat(lines, "\n") .. "\n"
end

local function json_value(v)
  if type(v) == "number" then return v == v and tostring(v) or "null" end
  if type(v) == "boolean" then return tostring(v) end
  return '"' .. tostring(v):gsub('[%c"\\]', function(c) return fmt("\\u%04x", c:byte()) end) .. '"'
end

local function json_text(rows)
  local out = { "[\n" }
  for i, r in ipairs(rows) do
    local cells = {}
    for _, c in ipairs(CSV_COLS) do
      if r[c] ~= nil then cells[#cells + 1] = fmt('"%s": %s', c, json_value(r[c])) end
    end
    out[#out + 1] = "  {" .. concat(cells, ", ") .. "}" .. (i < #rows and ",\n" or "\n")
  end
  out[#out + 1] = "]\n"
  return concat(out)
end

local function have_gnuplot()
  local p = io.popen("command -v gnuplot 2>/dev/null")
  local path = p:read("a")
  p:close()
  return path ~= ""
end

-- Two panels: median time per plan and workload; p50/p99/max pause. The
-- SVG is gnuplot's standard output, copied into f (opened before the runs).
-- Returns true, or nil and why.
local function svg_to(f, rows, workloads)
  local data, script = os.tmpname(), os.tmpname()
  local d = assert(io.open(data, "w"))
  for _, r in ipairs(rows) do
    if r.status == "ok" then
      d:write(fmt("%s/%s\t%g\t%g\t%g\t%g\n", r.workload, r.plan, r.seconds, r.pause_p50_ms,
                  r.pause_p99_ms, r.pause_max_ms))
    end
  end
  d:close()
  local g = assert(io.open(script, "w"))
  g:write(fmt([[
set terminal svg size 1000,800 dynamic
set output
set multiplot layout 2,1 title "kiln compare: %s"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -30
set ylabel "median time (s)"
plot %q using 2:xtic(1) title "time"
set ylabel "pause (ms)"
plot %q using 3:xtic(1) title "p50", '' using 4 title "p99", '' using 5 title "max"
unset multiplot
]], concat(workloads, ", "), data, data))
  g:close()
  local p = io.popen("gnuplot " .. shell_quote(script), "r")
  local svg = p:read("a")
  local ok = p:close()
  os.remove(data)
  os.remove(script)
  if not ok or not svg:find("<svg", 1, true) then return nil, "gnuplot failed to draw it" end
  return f:write(svg)
end

-- Open every output file for writing before any run, so a bad path is
-- found at once. Until all can be opened none is truncated, and a file
-- this check created is removed again. Returns { option = {path=, f=} },
-- or nil and a sentence.
local OUTPUTS = { "csv", "json", "svg" }

local function open_outputs(o)
  local seen, created = {}, {}
  local function undo()
    for _, path in ipairs(created) do os.remove(path) end
  end
  for _, k in ipairs(OUTPUTS) do
    local path = o[k]
    if path and seen[path] then
      return nil, fmt("--%s and --%s name the same file %s", seen[path], k, path)
    end
    if path then seen[path] = k end
  end
  for _, k in ipairs(OUTPUTS) do
    local path = o[k]
    if path then
      local existed = io.open(path, "r")
      if existed then existed:close() end
      local f, why = io.open(path, "a")
      if not f then
        undo()
        return nil, fmt("--%s %s: cannot open it for writing (%s)", k, path, why)
      end
      f:close()
      if not existed then created[#created + 1] = path end
    end
  end
  local files = {}
  for _, k in ipairs(OUTPUTS) do
    if o[k] then files[k] = { path = o[k], f = assert(io.open(o[k], "w")) } end
  end
  return files
end

-- Write each output; a failure is reported and the others still written.
local function write_outputs(files, rows, workloads)
  local ok = true
  local writers = {
    csv = function(f) return f:write(csv_text(rows)) end,
    json = function(f) return f:write(json_text(rows)) end,
    svg = function(f) return svg_to(f, rows, workloads) end,
  }
  for _, k in ipairs(OUTPUTS) do
    local x = files[k]
    if x then
      local done, why = writers[k](x.f)
      local closed, cwhy = x.f:close()
      if not done or not closed then
        err("kiln compare: --%s %s: %s\n", k, x.path, tostring(why or cwhy))
        ok = false
      end
    end
  end
  return ok
end

function cmd.compare(args)
  local o, why = parse_compare(args)
  if not o then return usage_error("compare", why) end
  if o.svg and not have_gnuplot() then
    err("kiln compare: --svg needs gnuplot, which is not on PATH (Debian/Ubuntu: apt-get install gnuplot-nox)\n")
    return 1
  end
  local plans, skipped = o.plans, {}
  if not plans then plans, skipped = default_plans() end
  for _, s in ipairs(skipped) do err("kiln compare: skipping plan %s\n", s) end
  local workloads = o.workloads or kiln.workloads()
  for _, w in ipairs(workloads) do
    local known = false
    for _, k in ipairs(kiln.workloads()) do known = known or k == w end
    if not known then return usage_error("compare", fmt("unknown workload '%s' (workloads: %s)", w, concat(kiln.workloads(), ", "))) end
  end
  local depth = tonumber(o.params.depth)
  for _, w in ipairs(workloads) do
    if w == "binarytrees" and depth and depth < 6 then
      return usage_error("compare", fmt("--depth %d is too shallow for binarytrees, which needs a whole number from 6 to 30", depth))
    end
  end
  if #plans == 0 then err("kiln compare: no plan can run in this build\n"); return 1 end
  local files, ferr = open_outputs(o)
  if not files then err("kiln compare: %s; nothing was run\n", ferr); return 1 end
  local rows, total, n, failed = {}, #plans * #workloads * o.runs, 0, false
  for _, w in ipairs(workloads) do
    for _, p in ipairs(plans) do
      local runs = {}
      for i = 1, o.runs do
        n = n + 1
        err("[%d/%d] %s under %s, run %d/%d ... ", n, total, w, p, i, o.runs)
        local r = run_once(p, w, o.params)
        err("%s\n", r.status == "ok" and fmt("%.3fs", r.seconds) or ("failed: " .. tostring(r.error)))
        runs[#runs + 1] = r
        if r.status ~= "ok" then break end
      end
      local row = summarise(p, w, runs)
      failed = failed or row.status ~= "ok"
      rows[#rows + 1] = row
    end
  end
  print_compare(rows, workloads)
  if not write_outputs(files, rows, workloads) then failed = true end
  return failed and 1 or 0
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
