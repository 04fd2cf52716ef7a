-- heapsize.lua -- `kiln compare --heap`: runs at fixed heap sizes
-- (embedded; loaded as "kiln.cli.heapsize").
--
-- Owns the --heap values (multiples of a workload's minimum heap such as
-- "2x", or sizes such as "64MB"), the search for each workload's minimum
-- heap, and the overrides that fix a variant's heap for one workload.
--
-- The minimum heap of a workload is the smallest arena heap_size (the
-- fixed heap policy) under which it completes under the reference plan,
-- found as the GC literature finds it: double the size from 16MB until a
-- run succeeds, then bisect until the bracket is within 1/32 of its top
-- (or 256KB). Every probe is one run in a fresh process with the same
-- workload parameters as the compared runs. The reference plan is
-- marksweep when it is compared (it moves nothing and needs no copy
-- reserve), else the first plan; every variant's multiples are of that one
-- minimum, so the runs of one workload share one heap axis.

local kiln = require "kiln"
local util = require "kiln.cli.util"
local fmt = string.format
local M = {}

local MB = 1 << 20
local function mb(bytes) return fmt("%.1fMB", bytes / MB) end
M.mb = mb
local FIRST, CEILING, PRECISION = 16 * MB, 1 << 36, 256 * 1024

-- "2x" -> { mult = 2 }; "64MB" -> { bytes = ... }; or nil and a sentence.
local function parse_one(text)
  local m = text:match("^(%d*%.?%d+)[xX]$")
  if m then
    local x = tonumber(m)
    if not x or x < 1 or x > 100 then
      return nil, fmt("--heap %s: a multiple of the minimum heap is from 1x to 100x", text)
    end
    return { label = text, mult = x }
  end
  local bytes = kiln.size(text)
  if not bytes or bytes < 256 * 1024 then
    return nil, fmt("--heap expects multiples of the minimum heap (1.5x, 2x) or sizes of at "
                    .. "least 256KB (64MB), separated by commas; got '%s'", text)
  end
  return { label = text, bytes = bytes }
end

-- The list given to --heap; nil and a sentence for a bad one.
function M.parse(value)
  local list, seen = {}, {}
  for _, text in ipairs(util.split_list(value)) do
    local h, why = parse_one(text)
    if not h then return nil, why end
    if seen[text] then return nil, fmt("--heap lists %s twice", text) end
    seen[text] = true
    list[#list + 1] = h
  end
  if #list == 0 then return nil, "--heap needs at least one size or multiple, such as 2x,3x" end
  return list
end

-- A plan already choosing its heap cannot be swept over heap sizes.
function M.check_overrides(variants)
  for _, v in ipairs(variants) do
    for _, kv in ipairs(v.overrides) do
      if kv.key == "arena.heap_policy" or kv.key == "arena.heap_size" then
        return nil, fmt("--heap fixes the heap, and plan '%s' sets %s; give one", v.label, kv.key)
      end
    end
  end
  return true
end

function M.needs_search(heaps)
  for _, h in ipairs(heaps) do if h.mult then return true end end
  return false
end

-- Each variant crossed with each heap value, labelled PLAN@heap=VALUE;
-- an unsized one (a manual plan: its heap is what it frees) stays as it is.
function M.cross(variants, heaps)
  local list = {}
  for _, v in ipairs(variants) do
    if v.unsized then
      list[#list + 1] = v
    else
      for _, h in ipairs(heaps) do
        list[#list + 1] = { label = fmt("%s@heap=%s", v.label, h.label), plan = v.plan,
                            overrides = v.overrides, heap = h, plan_text = v.plan_text }
      end
    end
  end
  return list
end

function M.reference_plan(variants)
  for _, v in ipairs(variants) do
    if v.plan == "marksweep" and #v.overrides == 0 then return v end
  end
  return variants[1]
end

local function fixed(v, bytes)
  local ov = { table.unpack(v.overrides) }
  ov[#ov + 1] = { key = "arena.heap_policy", value = "fixed" }
  ov[#ov + 1] = { key = "arena.heap_size", value = bytes }
  return ov
end

-- The overrides of variant v for a workload whose minimum heap is min
-- (nil when no multiple was asked for).
function M.overrides_for(v, min)
  local h = v.heap
  local bytes = h.bytes or math.floor(h.mult * min / 4096 + 0.5) * 4096
  return fixed(v, bytes), bytes
end

-- The minimum heap of workload w under variant ref, by probe(variant with
-- overrides) -> run record; nil and a sentence if even 64GB fails.
function M.search(ref, w, probe, note)
  local function fits(bytes)
    local r = probe({ plan = ref.plan, overrides = fixed(ref, bytes), label = ref.label }, w)
    note("[min heap] %s under %s at %s: %s\n", w.label, ref.label, mb(bytes),
         r.status == "ok" and "runs" or "does not run")
    return r.status == "ok"
  end
  local lo, hi = 0, FIRST
  while not fits(hi) do
    lo, hi = hi, hi * 2
    if hi > CEILING then
      return nil, fmt("%s does not run under %s even in a %s heap", w.label, ref.label,
                      mb(CEILING))
    end
  end
  if lo == 0 then lo = 256 * 1024 end
  while hi - lo > math.max(hi // 32, PRECISION) do
    local mid = (lo + hi) // 2 // 4096 * 4096
    if fits(mid) then hi = mid else lo = mid end
  end
  return hi
end

return M
