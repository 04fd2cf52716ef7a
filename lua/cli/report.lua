-- report.lua -- what `kiln compare` makes of its runs (embedded; loaded as
-- "kiln.cli.report"): every metric aggregated over all counted runs
-- (median, min and max), the tables on stdout, and the CSV and JSON files
-- with one row per run and per aggregate plus the context an experiment
-- needs to be read later (Kiln version, plans, overrides, workload
-- parameters, host, date).

local util = require "kiln.cli.util"
local json = require "kiln.cli.json"
local fmt, concat = string.format, table.concat
local out = util.out
local M = {}

-- The metrics of one run, in table and file order. `full` is derived.
M.METRICS = { "seconds", "gc_seconds", "mutator_seconds", "pause_p50_ms", "pause_p99_ms", "pause_max_ms",
              "collections", "minor", "full", "maxrss", "copied", "copy_rate" }

-- The per-run fields kept besides the metrics (a user workload may have
-- no object count or checksum).
M.EXTRAS = { "objects", "check" }

function M.median(xs)
  local s = {}
  for i, x in ipairs(xs) do s[i] = x end
  table.sort(s)
  local n = #s
  if n == 0 then return nil end
  return n % 2 == 1 and s[(n + 1) // 2] or (s[n // 2] + s[n // 2 + 1]) / 2
end

-- A run's result line (from __run1) as a run record: numbers, with `minor`
-- and `full` collections split out, and the mutator's time (the run's less
-- its collections').
function M.run_record(r)
  if r.status == "ok" then
    r.minor = r.minor_collections
    r.full = r.collections and r.minor_collections and r.collections - r.minor_collections
    r.mutator_seconds = r.seconds and r.gc_seconds and r.seconds - r.gc_seconds
    -- bytes copied per second of the collections that copied (0: none did)
    local cs = r.copy_gc_seconds
    r.copy_rate = r.copied and ((cs and cs > 0) and r.copied / cs or 0)
    r.copy_gc_seconds = nil
  end
  r.minor_collections = nil
  return r
end

-- One aggregate per workload and plan: for each metric { median, min, max }
-- over the runs; failed when any run failed (with the first error).
function M.aggregate(workload, label, runs)
  local a = { workload = workload, plan = label, runs = #runs, status = "ok" }
  for _, r in ipairs(runs) do
    if r.status ~= "ok" and a.status == "ok" then
      a.status, a.error = "failed", r.error or "failed"
    end
  end
  if a.status ~= "ok" then return a end
  for _, m in ipairs(M.METRICS) do
    local xs = {}
    for _, r in ipairs(runs) do xs[#xs + 1] = r[m] end
    if #xs == #runs then
      a[m] = { median = M.median(xs), min = math.min(table.unpack(xs)),
               max = math.max(table.unpack(xs)) }
    end
  end
  return a
end

---------------------------------------------------------------------------
-- the table

local function mb(n) return fmt("%.1f", n / (1 << 20)) end
local function mbs(n) return fmt("%.0f", n / (1 << 20)) end
local function int(n) return fmt("%d", n) end
local function f3(n) return fmt("%.3f", n) end
local function f2(n) return fmt("%.2f", n) end

-- "median", or "median (min-max)" when the runs differ at this precision.
local function spread(stat, show)
  if not stat then return "-" end
  local med, lo, hi = show(stat.median), show(stat.min), show(stat.max)
  if lo == hi then return med end
  return fmt("%s (%s-%s)", med, lo, hi)
end

-- The median time every ratio of a workload is taken to: the baseline
-- plan's, or the fastest plan's. Returns it and the plan's label.
function M.reference(aggs, workload, baseline)
  local ref, label
  for _, a in ipairs(aggs) do
    if a.workload == workload and a.status == "ok" then
      if baseline then
        if a.plan == baseline then ref, label = a.seconds.median, a.plan end
      elseif not ref or a.seconds.median < ref then
        ref, label = a.seconds.median, a.plan
      end
    end
  end
  return ref, label
end

local HEADER = { "plan", "time(s)", "ratio", "peakRSS(MB)", "GCs minor/full", "GC(s)",
                 "mutator(s)", "p50(ms)", "p99(ms)", "max(ms)", "copied(MB)", "copy(MB/s)" }

local function table_row(a, ref)
  return { a.plan, spread(a.seconds, f3), ref and f2(a.seconds.median / ref) or "-",
           spread(a.maxrss, mb), spread(a.minor, int) .. "/" .. spread(a.full, int),
           spread(a.gc_seconds, f3), spread(a.mutator_seconds, f3), spread(a.pause_p50_ms, f2), spread(a.pause_p99_ms, f2),
           spread(a.pause_max_ms, f2), spread(a.copied, mb), spread(a.copy_rate, mbs) }
end

-- One table per workload. o: runs, warmup, baseline.
function M.print_tables(aggs, workloads, o)
  out("\nmedian of %d run%s per plan%s; (min-max) where the runs differ\n", o.runs,
      o.runs == 1 and "" or "s",
      o.warmup > 0 and fmt(", after %d warm-up run%s not counted", o.warmup,
                           o.warmup == 1 and "" or "s") or "")
  for _, w in ipairs(workloads) do
    local ref, ref_label = M.reference(aggs, w.label, o.baseline)
    local whose = o.baseline and "the baseline" or "the fastest"
    out("\nworkload %s%s\n", w.label, ref_label and fmt(" (ratio to %s, %s)", whose, ref_label) or "")
    local t, failed = { HEADER }, {}
    for _, a in ipairs(aggs) do
      if a.workload == w.label then
        if a.status == "ok" then t[#t + 1] = table_row(a, ref) else failed[#failed + 1] = a end
      end
    end
    util.print_table(t, { false, true, true, true, true, true, true, true, true, true, true, true })
    for _, a in ipairs(failed) do out("%s  FAILED: %s\n", a.plan, a.error) end
  end
end

---------------------------------------------------------------------------
-- CSV: one row per run (kind "run") and three per aggregate ("median",
-- "min", "max"); the context columns repeat on every row so each row
-- stands alone.

local CSV_HEAD = { "kind", "workload", "plan", "run", "runs", "status" }
local CSV_TAIL = { "objects", "check", "error", "base_plan", "overrides", "params",
                   "plan_text", "workload_file", "warmup", "kiln_version", "cpu", "cores",
                   "date", "min_heap" }

local function csv_cell(v)
  v = v == nil and "" or tostring(v)
  if v:find('[,"\r\n]') then v = '"' .. v:gsub('"', '""') .. '"' end
  return v
end

local function kv_text(list)
  local t = {}
  for _, kv in ipairs(list) do t[#t + 1] = kv.key .. "=" .. tostring(kv.value) end
  return concat(t, " ")
end

-- The context cells of a row about workload w and variant v.
local function context(ctx, w, v)
  return { base_plan = v.plan, overrides = kv_text(v.overrides), params = kv_text(ctx.params),
           plan_text = v.plan_text, workload_file = w.file, warmup = ctx.warmup,
           kiln_version = ctx.version, cpu = ctx.host.cpu, cores = ctx.host.cores,
           date = ctx.date, min_heap = w.min_heap }
end

local function csv_line(cols, row)
  local cells = {}
  for i, c in ipairs(cols) do cells[i] = csv_cell(row[c]) end
  return concat(cells, ",")
end

function M.csv_text(ctx)
  local cols = {}
  for _, list in ipairs({ CSV_HEAD, M.METRICS, CSV_TAIL }) do
    for _, c in ipairs(list) do cols[#cols + 1] = c end
  end
  local lines = { concat(cols, ",") }
  for _, cell in ipairs(ctx.cells) do
    local base = context(ctx, cell.workload, cell.variant)
    for i, r in ipairs(cell.runs) do
      local row = setmetatable({ kind = "run", run = i }, { __index = function(_, k)
        return r[k] ~= nil and r[k] or base[k] end })
      row.workload, row.plan = cell.workload.label, cell.variant.label
      lines[#lines + 1] = csv_line(cols, row)
    end
    local a = cell.aggregate
    for _, kind in ipairs({ "median", "min", "max" }) do
      local row = setmetatable({ kind = kind, workload = a.workload, plan = a.plan,
                                 runs = a.runs, status = a.status, error = a.error },
                               { __index = base })
      for _, m in ipairs(M.METRICS) do row[m] = a[m] and a[m][kind] end
      lines[#lines + 1] = csv_line(cols, row)
    end
  end
  return concat(lines, "\n") .. "\n"
end

---------------------------------------------------------------------------
-- JSON

function M.json_text(ctx)
  local doc = {
    kiln_version = ctx.version, date = ctx.date, command = json.array(ctx.command),
    host = { cpu = ctx.host.cpu, cores = ctx.host.cores },
    runs_per_plan = ctx.runs, warmup = ctx.warmup, params = util.overrides_by_key(ctx.params),
    baseline = ctx.baseline,
    note = "Times in seconds, pauses in milliseconds, maxrss and copied in bytes. "
        .. "A value that was not measured is left out; null stands for a number that is "
        .. "not finite (JSON cannot write inf or nan).",
    plans = json.array({}), workloads = json.array({}), runs = json.array({}),
    aggregate = json.array({}),
  }
  for _, v in ipairs(ctx.variants) do
    doc.plans[#doc.plans + 1] = { label = v.label, plan = v.plan, plan_text = v.plan_text,
                                  overrides = util.overrides_by_key(v.overrides) }
  end
  for _, w in ipairs(ctx.workloads) do
    doc.workloads[#doc.workloads + 1] = { name = w.label, file = w.file, min_heap = w.min_heap,
                                          min_heap_plan = w.min_heap_plan }
  end
  for _, cell in ipairs(ctx.cells) do
    for i, r in ipairs(cell.runs) do
      local row = { workload = cell.workload.label, plan = cell.variant.label, run = i,
                    status = r.status, error = r.error }
      for _, list in ipairs({ M.METRICS, M.EXTRAS }) do
        for _, m in ipairs(list) do row[m] = r[m] end
      end
      doc.runs[#doc.runs + 1] = row
    end
    local a = cell.aggregate
    local row = { workload = a.workload, plan = a.plan, runs = a.runs, status = a.status,
                  error = a.error }
    for _, m in ipairs(M.METRICS) do row[m] = a[m] end
    doc.aggregate[#doc.aggregate + 1] = row
  end
  return json.encode(doc)
end

return M
