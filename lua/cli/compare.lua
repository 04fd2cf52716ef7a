-- compare.lua -- `kiln compare` and the hidden `kiln __run1` (embedded;
-- loaded as "kiln.cli.compare").
--
-- Owns the options of compare, the plans it compares (built-in plans, plan
-- files, plans with overrides, and sweeps of one or more parameters), the
-- workloads (built-in ones and users' workload files), the checks made
-- before any run, and the runs themselves: each in a fresh process (this
-- program running `__run1` on itself), warm-up runs first and not counted.
-- report.lua aggregates and writes the results; plot.lua draws them.
--
-- A workload file returns a function(heap, params): compare calls it once
-- per run with a heap opened from the plan and params = { seed (default
-- 42), scale (default 1), depth and threads (when given) }, and times the call; the heap's stats afterwards give the
-- collection metrics. The function may return a table whose number fields
-- `check` and `objects` are kept with the run.

local kiln = require "kiln"
local util = require "kiln.cli.util"
local report = require "kiln.cli.report"
local plot = require "kiln.cli.plot"
local heapsize = require "kiln.cli.heapsize"
local fmt, concat = string.format, table.concat
local out, err = util.out, util.err
local M = {}

local DEFAULT_PLOT = "kiln-compare.svg"

---------------------------------------------------------------------------
-- options

-- The numeric options: their ranges, checked before anything runs, so no
-- value is silently replaced (the workloads' own limits).
local NUMERIC = {
  ["--runs"] = { whole = true, min = 1, max = 1000, text = "a whole number from 1 to 1000" },
  ["--warmup"] = { whole = true, min = 0, max = 100, text = "a whole number from 0 to 100" },
  ["--depth"] = { whole = true, min = 1, max = 30, text = "a whole number from 1 to 30" },
  ["--seed"] = { whole = true, min = 0, max = math.maxinteger, text = "a whole number from 0 to 2^63-1" },
  ["--scale"] = { above = 0, max = 1000, text = "a number above 0 and at most 1000" },
  ["--threads"] = { whole = true, min = 1, max = 64, text = "a whole number from 1 to 64" },
}

-- Options that take a value; the others (--no-plot, --no-verify) are flags.
local TAKES = { ["--plans"] = true, ["--workload"] = true, ["--runs"] = true, ["--warmup"] = true,
                ["--csv"] = true, ["--json"] = true, ["--plot"] = true, ["--svg"] = true,
                ["--scale"] = true, ["--depth"] = true, ["--seed"] = true, ["--set"] = true,
                ["--baseline"] = true, ["--heap"] = true, ["--threads"] = true }
local FLAGS = { ["--no-plot"] = "no_plot", ["--no-verify"] = "no_verify" }

local function check_number(k, v)
  local r, x = NUMERIC[k], tonumber(v)
  if r.whole then x = x and math.tointeger(x) end
  if not x or x ~= x or (r.min and x < r.min) or (r.above and x <= r.above) or x > r.max then
    return nil, fmt("%s expects %s, got '%s'", k, r.text, v)
  end
  return x
end

-- "--set young.nursery_size=1MB,4MB" -> { key =, values = { ... } }
local function parse_set(v)
  local key, list = v:match("^([^=]+)=(.*)$")
  if not key or not key:find(".", 1, true) then
    return nil, fmt("--set expects POOL.KEY=V1,V2,... (such as young.nursery_size=1MB,4MB), got '%s'", v)
  end
  local values = util.split_list(list)
  if #values == 0 then return nil, fmt("--set %s needs at least one value", key) end
  return { key = key, values = values }
end

-- One option's value into o; returns true, or nil and a sentence.
local function take(o, k, v)
  if NUMERIC[k] then
    local x, why = check_number(k, v)
    if not x then return nil, why end
    if k == "--runs" or k == "--warmup" then o[k:sub(3)] = x else o.params[k:sub(3)] = x end
  elseif k == "--plans" or k == "--workload" then
    local list = util.split_list(v)
    if #list == 0 then return nil, fmt("option %s needs at least one name, got '%s'", k, v) end
    o[k == "--plans" and "plans" or "workloads"] = list
  elseif k == "--set" then
    local s, why = parse_set(v)
    if not s then return nil, why end
    for _, old in ipairs(o.sets) do
      if old.key == s.key then return nil, fmt("--set %s is given twice; list all its values in one --set", s.key) end
    end
    o.sets[#o.sets + 1] = s
  elseif k == "--heap" then
    local list, why = heapsize.parse(v)
    if not list then return nil, why end
    o.heaps = list
  elseif k == "--plot" or k == "--svg" then
    if o.plot then return nil, fmt("%s and %s both name a plot; give one", o.plot_opt, k) end
    o.plot, o.plot_opt = v, k
  else
    o[k:sub(3)] = v
  end
  return true
end

local function parse(args)
  -- seed and scale always reach the runs (and the files) with their value
  local o = { runs = 3, warmup = 0, params = { seed = 42, scale = 1 }, sets = {} }
  local i = 1
  while i <= #args do
    local a = args[i]
    local k, v = a:match("^(%-%-[%w-]+)=(.*)$")
    if not k then k, v = a, args[i + 1]; if TAKES[a] then i = i + 1 end end
    if FLAGS[a] then
      o[FLAGS[a]] = true
    elseif FLAGS[k] then
      return nil, fmt("option %s takes no value", k)
    elseif not TAKES[k] then
      return nil, fmt("unknown option '%s'", a)
    else
      if v == nil or v == "" then return nil, fmt("option %s needs a value", k) end
      if v:find("^%-%-%a") and not a:find("=", 1, true) then
        return nil, fmt("option %s needs a value, got the option '%s'", k, v)
      end
      local ok, why = take(o, k, v)
      if not ok then return nil, why end
    end
    i = i + 1
  end
  if o.no_plot and o.plot then return nil, fmt("--no-plot and %s contradict each other; give one", o.plot_opt) end
  return o
end

---------------------------------------------------------------------------
-- plans and sweeps

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

-- Every built-in automatic plan this build can open, and the skipped ones.
local function default_plans()
  local list, skipped = {}, {}
  for _, p in ipairs(kiln.plans()) do
    if p.error then skipped[#skipped + 1] = fmt("%s (%s)", p.name, p.error)
    elseif is_automatic_plan(p.name) then list[#list + 1] = p.name end
  end
  return list, skipped
end

-- "genms:young.nursery_size=4MB:arena.reserve=1GB" -> plan, { {key=, value=} }
local function parse_plan_spec(spec)
  local parts = util.split_list(spec, ":")
  local ov = {}
  for i = 2, #parts do
    local k, v = parts[i]:match("^([^=]+)=(.+)$")
    if not k then
      return nil, fmt("--plans: '%s': after the plan come POOL.KEY=VALUE overrides separated by ':', got '%s'",
                      spec, parts[i])
    end
    ov[#ov + 1] = { key = k, value = util.cli_value(v) }
  end
  return parts[1] or spec, ov
end

-- The variants to compare: each plan spec crossed with every --set value.
-- A variant is { label, plan, overrides = { {key=, value=} ... } }.
local function variants(specs, sets)
  local list = {}
  for _, spec in ipairs(specs) do
    local plan, ov = parse_plan_spec(spec)
    if not plan then return nil, ov end
    list[#list + 1] = { label = spec, plan = plan, overrides = ov }
  end
  for _, s in ipairs(sets) do
    local crossed = {}
    for _, v in ipairs(list) do
      for _, x in ipairs(v.overrides) do
        if x.key == s.key then
          return nil, fmt("--set %s: plan '%s' already sets %s; give it in one place", s.key, v.label, s.key)
        end
      end
      for _, value in ipairs(s.values) do
        local ov = { table.unpack(v.overrides) }
        ov[#ov + 1] = { key = s.key, value = util.cli_value(value) }
        crossed[#crossed + 1] = { label = fmt("%s@%s=%s", v.label, s.key, value), plan = v.plan,
                                  overrides = ov }
      end
    end
    list = crossed
  end
  return list
end

local function value_text(a)
  if a.type == "size" and math.type(a.value) == "integer" then return util.size_text(a.value) end
  return tostring(a.value)
end

local function args_text(args)
  local t = {}
  for _, a in ipairs(args or {}) do t[#t + 1] = a.key .. "=" .. value_text(a) end
  return concat(t, ", ")
end

-- The resolved plan on one line: its arena parameters, pools and roles.
local function plan_text(r)
  local pools, roles = {}, {}
  for _, p in ipairs(r.pools) do pools[#pools + 1] = fmt("%s=%s{%s}", p.name, p.class, args_text(p.args)) end
  for _, x in ipairs(r.roles) do
    roles[#roles + 1] = x.role .. "->" .. x.pool .. (x.rank and ("(" .. x.rank .. ")") or "")
  end
  table.sort(roles)
  return fmt("plan %s: arena{%s}; pools %s; roles %s", r.name, args_text(r.arena),
             concat(pools, " "), concat(roles, " "))
end

-- The pseudo-plan of replays on the C library's malloc and free (no heap).
local MALLOC = "malloc"

-- Every variant must load and open (kiln.check) before anything runs; the
-- pseudo-plan malloc, only when every workload is a trace, with no overrides.
local function check_variants(list, workloads)
  for _, v in ipairs(list) do
    local ov = util.overrides_by_key(v.overrides)
    if v.plan == MALLOC and #v.overrides == 0 then
      for _, w in ipairs(workloads) do
        if not w.trace then
          return nil, fmt("plan 'malloc' replays traces only, and workload '%s' is not one", w.label)
        end
      end
      v.plan_text = "the C library's malloc and free"
      goto continue
    end
    local ok, why = kiln.check(v.plan, ov)
    if not ok then return nil, fmt("plan '%s': %s", v.label, why) end
    local r = kiln.resolve(v.plan, ov)
    v.plan_text = r and plan_text(r) or v.plan
    ::continue::
  end
  return true
end

---------------------------------------------------------------------------
-- workloads

-- A trace file (recorded with arena record=FILE or KILN_RECORD) starts
-- with this line (KILN_TRACE_MAGIC in kiln.h); compare replays it
-- (kiln.replay) as a workload.
local TRACE_MAGIC = "KILNREC1\n"

local function is_trace_file(w)
  if w:find("%.lua$") then return false end
  local f = io.open(w, "rb")
  if not f then return false end
  local head = f:read(#TRACE_MAGIC)
  f:close()
  return head == TRACE_MAGIC
end

local function is_workload_file(w)
  return w:find("/", 1, true) ~= nil or w:find("%.lua$") ~= nil
end

-- The workload function of a file, or nil and a sentence.
local function load_workload_file(path)
  local chunk, why = loadfile(path)
  if not chunk then return nil, why end
  local ok, fn = pcall(chunk)
  if not ok then return nil, fmt("%s: running it failed: %s", path, tostring(fn)) end
  if type(fn) ~= "function" then
    return nil, fmt("%s returned %s, but a workload file returns a function(heap, params)",
                    path, type(fn))
  end
  return fn
end

-- { label, file } for each workload, or nil, a sentence and the exit code.
local function resolve_workloads(names)
  local builtin = {}
  for _, k in ipairs(kiln.workloads()) do builtin[k] = true end
  local list = {}
  for _, w in ipairs(names) do
    if is_trace_file(w) then
      list[#list + 1] = { label = w:match("([^/]+)$"):gsub("%.krec$", ""), trace = w }
    elseif is_workload_file(w) then
      local fn, why = load_workload_file(w)
      if not fn then return nil, "--workload " .. why, 1 end
      list[#list + 1] = { label = w:match("([^/]+)$"):gsub("%.lua$", ""), file = w }
    elseif builtin[w] then
      list[#list + 1] = { label = w }
    else
      return nil, fmt("unknown workload '%s' (workloads: %s, a FILE.lua returning a function(heap, params), or a trace file)",
                      w, concat(kiln.workloads(), ", ")), 2
    end
  end
  return list
end

---------------------------------------------------------------------------
-- one run, in a fresh process

local RESULT_KEYS = { "seconds", "maxrss", "collections", "minor_collections", "gc_seconds",
                      "pause_p50_ms", "pause_p99_ms", "pause_max_ms", "copied", "objects",
                      "check", "committed", "copy_gc_seconds" }

local function run_once(self_path, v, w, params)
  local argl = { util.shell_quote(self_path), "__run1", util.shell_quote(v.plan),
                 util.shell_quote(w.file or w.trace or w.label) }
  for _, k in ipairs(util.sorted_keys(params)) do argl[#argl + 1] = util.shell_quote(k .. "=" .. params[k]) end
  for _, kv in ipairs(v.overrides) do argl[#argl + 1] = util.shell_quote(kv.key .. "=" .. tostring(kv.value)) end
  local p = io.popen(concat(argl, " "), "r")
  local text = p:read("a")
  local ok, how, code = p:close()
  local line = text:match("kiln%-result\t[^\n]*")
  if not line then
    return { status = "failed", error = fmt("the run ended with %s %s and no result", how, tostring(code)) }
  end
  local r = {}
  for k, val in line:gmatch("([%w_]+)=([^\t]*)") do r[k] = tonumber(val) or val end
  if r.status == "ok" and not ok then r.status, r.error = "failed", "exit " .. tostring(code) end
  return report.run_record(r)
end

-- A workload file's function under plan: the time of the call and the
-- heap's stats after it.
local function run_workload_file(path, plan, ov, params)
  local fn, why = load_workload_file(path)
  if not fn then return nil, why end
  local h, herr = kiln.heap(plan, ov)
  if not h then return nil, herr end
  local t0 = kiln.clock()
  local ok, extra = pcall(fn, h, params)
  local seconds = kiln.clock() - t0
  if not ok then h:close(); return nil, fmt("%s: %s", path, tostring(extra)) end
  local r = h:stats()
  h:close()
  r.seconds = seconds
  if type(extra) == "table" then
    r.check = math.type(extra.check) == "integer" and extra.check or nil
    r.objects = math.type(extra.objects) == "integer" and extra.objects or nil
  end
  return r
end

-- __run1 PLAN WORKLOAD [KEY=VALUE ...]: keys with a dot are plan
-- overrides, the others workload parameters. Prints one result line.
function M.run1(args, usage_error)
  local plan, workload = args[1], args[2]
  if not workload then return usage_error(nil, "__run1 PLAN WORKLOAD [KEY=VALUE ...]") end
  local all, why = util.parse_overrides(args, 3)
  if not all then return usage_error(nil, why) end
  local params, ov = {}, {}
  for k, v in pairs(all) do if k:find(".", 1, true) then ov[k] = v else params[k] = v end end
  local r, e
  if is_trace_file(workload) then
    r, e = kiln.replay(workload, plan, { overrides = ov, verify = tostring(params.verify) ~= "0" })
  elseif is_workload_file(workload) then
    params.seed, params.scale = params.seed or 42, params.scale or 1
    r, e = run_workload_file(workload, plan, ov, params)
  else
    params.overrides = ov
    r, e = kiln.workload(workload, plan, params)
  end
  if not r then
    out("kiln-result\tstatus=failed\terror=%s\n", (tostring(e):gsub("[\t\n]", " ")))
    return 1
  end
  r.maxrss = kiln.rusage().maxrss
  local fields = { "kiln-result", "status=ok" }
  for _, k in ipairs(RESULT_KEYS) do
    if r[k] ~= nil then fields[#fields + 1] = k .. "=" .. tostring(r[k]) end
  end
  out("%s\n", concat(fields, "\t"))
  return 0
end

---------------------------------------------------------------------------
-- output files

-- Open every output file for writing before any run, so a bad path is
-- found at once. Until all can be opened none is truncated, and a file
-- this check created is removed again. Returns { name = {path=, f=, opt=} },
-- or nil and a sentence.
local OUTPUTS = { "csv", "json", "plot" }

local function output_paths(o)
  return { csv = o.csv and { path = o.csv, opt = "--csv" },
           json = o.json and { path = o.json, opt = "--json" },
           plot = o.plot and { path = o.plot, opt = o.plot_opt } }
end

local function open_outputs(o)
  local want, seen, created = output_paths(o), {}, {}
  local function undo()
    for _, path in ipairs(created) do os.remove(path) end
  end
  for _, k in ipairs(OUTPUTS) do
    local x = want[k]
    if x and seen[x.path] then
      return nil, fmt("%s and %s name the same file %s", seen[x.path], x.opt, x.path)
    end
    if x then seen[x.path] = x.opt end
  end
  for _, k in ipairs(OUTPUTS) do
    local x = want[k]
    if x then
      local existed = io.open(x.path, "r")
      if existed then existed:close() end
      local f, why = io.open(x.path, "a")
      if not f then
        undo()
        local hint = x.opt == "default" and "; choose another with --plot FILE, or --no-plot" or ""
        return nil, fmt("%s %s: cannot open it for writing (%s)%s",
                        x.opt == "default" and "the plot" or x.opt, x.path, why, hint)
      end
      f:close()
      if not existed then created[#created + 1] = x.path end
    end
  end
  for _, k in ipairs(OUTPUTS) do
    local x = want[k]
    if x then x.f = assert(io.open(x.path, k == "plot" and "wb" or "w")) end
  end
  return want
end

-- Write each output; a failure is reported and the others still written.
local function write_outputs(files, ctx, plot_opts)
  local ok = true
  local writers = {
    csv = function(f) return f:write(report.csv_text(ctx)) end,
    json = function(f) return f:write(report.json_text(ctx)) end,
    plot = function(f) return plot.draw(f, ctx.aggregates, ctx.workloads, plot_opts) end,
  }
  for _, k in ipairs(OUTPUTS) do
    local x = files[k]
    if x then
      local done, why = writers[k](x.f)
      local closed, cwhy = x.f:close()
      if not done or not closed then
        err("kiln compare: %s %s: %s\n", x.opt == "default" and "the plot" or x.opt, x.path,
            tostring(why or cwhy))
        ok = false
      elseif k == "plot" then
        out("\nplot: %s\n", x.path)
      end
    end
  end
  return ok
end

---------------------------------------------------------------------------
-- the host

local function read_command(cmd)
  local p = io.popen(cmd .. " 2>/dev/null")
  if not p then return nil end
  local text = p:read("a")
  p:close()
  return text
end

local function host()
  local cpu
  local f = io.open("/proc/cpuinfo", "r")
  if f then
    local text = f:read("a")
    f:close()
    cpu = text:match("model name%s*:%s*([^\n]-)%s*\n") or text:match("Hardware%s*:%s*([^\n]-)%s*\n")
  end
  local cores = math.tointeger(tonumber(read_command("nproc") or ""))
  return { cpu = cpu or "unknown", cores = cores }
end

---------------------------------------------------------------------------
-- compare

-- Plot settings: the format, the default file and gnuplot's presence.
-- Returns true, or nil, a sentence and the exit code.
local function settle_plot(o)
  if o.no_plot then return true end
  local explicit = o.plot ~= nil
  if not explicit then o.plot, o.plot_opt = DEFAULT_PLOT, "default" end
  o.plot_kind = plot.format_of(o.plot)
  if not o.plot_kind then
    return nil, fmt("%s %s: the plot's format comes from its extension, .svg or .png", o.plot_opt, o.plot), 2
  end
  if plot.have_gnuplot() then return true end
  if explicit then
    return nil, fmt("%s needs gnuplot, which is not on PATH (Debian/Ubuntu: apt-get install gnuplot-nox)", o.plot_opt), 1
  end
  err("kiln compare: gnuplot is not on PATH, so no plot is drawn (Debian/Ubuntu: apt-get install gnuplot-nox; --no-plot skips it)\n")
  o.plot = nil
  return true
end

-- Everything checked before the first run. Returns the context, or nil,
-- a sentence and the exit code.
local function prepare(o)
  local specs, skipped = o.plans, {}
  if not specs then specs, skipped = default_plans() end
  for _, s in ipairs(skipped) do err("kiln compare: skipping plan %s\n", s) end
  if #specs == 0 then return nil, "no plan can run in this build", 1 end
  local list, why = variants(specs, o.sets)
  if not list then return nil, why, 2 end
  if o.heaps then
    local hok, herr = heapsize.check_overrides(list)
    if not hok then return nil, herr, 2 end
    for _, v in ipairs(list) do v.unsized = not is_automatic_plan(v.plan) end
    list = heapsize.cross(list, o.heaps)
  end
  local workloads, werr, wcode = resolve_workloads(o.workloads or kiln.workloads())
  if not workloads then return nil, werr, wcode end
  local depth = o.params.depth
  for _, w in ipairs(workloads) do
    if o.no_verify and not w.trace then
      return nil, fmt("--no-verify is for replayed traces, and workload '%s' is not one", w.label), 2
    end
    if o.params.threads and w.trace then
      return nil, fmt("--threads is for workloads, and '%s' is a trace, which replays on one thread", w.label), 2
    end
    if w.label == "binarytrees" and not w.file and depth and depth < 6 then
      return nil, fmt("--depth %d is too shallow for binarytrees, which needs a whole number from 6 to 30", depth), 2
    end
  end
  if o.baseline then
    local found = false
    for _, v in ipairs(list) do found = found or v.label == o.baseline end
    if not found then
      local labels = {}
      for _, v in ipairs(list) do labels[#labels + 1] = v.label end
      return nil, fmt("--baseline %s is not one of the plans compared (%s)", o.baseline, concat(labels, ", ")), 2
    end
  end
  if o.no_verify then o.params.verify = 0 end
  local ok, perr = check_variants(list, workloads)
  if not ok then return nil, perr .. "; nothing was run", 1 end
  local pok, plerr, plcode = settle_plot(o)
  if not pok then return nil, plerr, plcode end
  local params = {}
  for _, k in ipairs(util.sorted_keys(o.params)) do params[#params + 1] = { key = k, value = o.params[k] } end
  return { variants = list, workloads = workloads, params = params, runs = o.runs, warmup = o.warmup,
           heaps = o.heaps,
           baseline = o.baseline, version = kiln.version, host = host(),
           date = os.date("!%Y-%m-%dT%H:%M:%SZ"), cells = {}, aggregates = {} }
end

-- With --heap, workload w's minimum heap (when a multiple asks for it)
-- and the variant v as run on it: its heap fixed. Without, v itself.
local function find_min_heap(self_path, ctx, o, w)
  if not ctx.heaps or not heapsize.needs_search(ctx.heaps) then return true end
  local ref = heapsize.reference_plan(ctx.variants)
  local function probe(v) return run_once(self_path, v, w, o.params) end
  local min, why = heapsize.search(ref, w, probe, err)
  if not min then return nil, why end
  w.min_heap, w.min_heap_plan = min, ref.label:gsub("@heap=.*$", "")
  err("kiln compare: the minimum heap of %s under %s is %s\n", w.label, w.min_heap_plan,
      heapsize.mb(min))
  return true
end

local function variant_for(v, w)
  if not v.heap then return v end
  return { label = v.label, plan = v.plan, plan_text = v.plan_text,
           overrides = heapsize.overrides_for(v, w.min_heap) }
end

-- A run refused for want of heap at a fixed size is an outcome of the
-- sweep, not a failure of compare.
local function heap_full(a)
  return a.status ~= "ok" and tostring(a.error):find("the fixed heap is full", 1, true) ~= nil
end

-- Every counted run of every workload under every variant.
local function run_all(self_path, ctx, o)
  local total = #ctx.variants * #ctx.workloads * o.runs
  local n, failed = 0, false
  for _, w in ipairs(ctx.workloads) do
    local found, why = find_min_heap(self_path, ctx, o, w)
    if not found then err("kiln compare: %s\n", why); failed = true end
    for _, hv in ipairs(found and ctx.variants or {}) do
      local v = variant_for(hv, w)
      for i = 1, o.warmup do
        err("[warm-up %d/%d] %s under %s ... ", i, o.warmup, w.label, v.label)
        local r = run_once(self_path, v, w, o.params)
        err("%s\n", r.status == "ok" and fmt("%.3fs", r.seconds) or ("failed: " .. tostring(r.error)))
      end
      local runs = {}
      for i = 1, o.runs do
        n = n + 1
        err("[%d/%d] %s under %s, run %d/%d ... ", n, total, w.label, v.label, i, o.runs)
        local r = run_once(self_path, v, w, o.params)
        err("%s\n", r.status == "ok" and fmt("%.3fs", r.seconds) or ("failed: " .. tostring(r.error)))
        runs[#runs + 1] = r
        if r.status ~= "ok" then n = n + o.runs - i; break end
      end
      local a = report.aggregate(w.label, v.label, runs)
      failed = failed or (a.status ~= "ok" and not (ctx.heaps and heap_full(a)))
      ctx.cells[#ctx.cells + 1] = { workload = w, variant = v, runs = runs, aggregate = a }
      ctx.aggregates[#ctx.aggregates + 1] = a
    end
  end
  return not failed
end

-- kiln replay TRACE... [compare's options]: compare with the traces as
-- workloads; by default every automatic built-in plan, the manual one,
-- which frees each object where the recording found it unreachable (the
-- oracle), and the same oracle on malloc; times relative to manual.
function M.replay(args, self_path, usage_error)
  local traces, rest = {}, {}
  for _, a in ipairs(args) do
    if #rest == 0 and not a:find("^%-%-") then traces[#traces + 1] = a else rest[#rest + 1] = a end
  end
  if #traces == 0 then return usage_error("replay", "expects a TRACE file") end
  for _, t in ipairs(traces) do
    if not is_trace_file(t) then
      err("kiln replay: '%s' is not a Kiln trace file (record one with KILN_RECORD=FILE or the "
          .. "arena parameter record=FILE)\n", t)
      return 1
    end
  end
  local has = {}
  for _, a in ipairs(rest) do has[a:match("^(%-%-[%w-]+)") or a] = true end
  if has["--workload"] then return usage_error("replay", "takes its workloads as TRACE files, not --workload") end
  local cargs = { "--workload", concat(traces, ",") }
  if not has["--plans"] then
    local plans = default_plans()
    plans[#plans + 1] = "manual"
    plans[#plans + 1] = MALLOC
    cargs[#cargs + 1] = "--plans"
    cargs[#cargs + 1] = concat(plans, ",")
    if not has["--baseline"] then
      cargs[#cargs + 1] = "--baseline"
      cargs[#cargs + 1] = "manual"
    end
  end
  for _, a in ipairs(rest) do cargs[#cargs + 1] = a end
  return M.compare(cargs, self_path, usage_error)
end

function M.compare(args, self_path, usage_error)
  local o, why = parse(args)
  if not o then return usage_error("compare", why) end
  local ctx, perr, code = prepare(o)
  if not ctx then
    if code == 2 then return usage_error("compare", perr) end
    err("kiln compare: %s\n", perr)
    return code
  end
  ctx.command = { "kiln", "compare", table.unpack(args) }
  local files, ferr = open_outputs(o)
  if not files then err("kiln compare: %s; nothing was run\n", ferr); return 1 end
  local ok = run_all(self_path, ctx, o)
  report.print_tables(ctx.aggregates, ctx.workloads, o)
  local refs = {}
  if o.baseline then
    for _, w in ipairs(ctx.workloads) do refs[w.label] = report.reference(ctx.aggregates, w.label, o.baseline) end
  end
  local plot_opts = { kind = o.plot_kind, runs = o.runs, baseline = o.baseline,
                      refs = o.baseline and refs or nil }
  if not write_outputs(files, ctx, plot_opts) then ok = false end
  return ok and 0 or 1
end

return M
