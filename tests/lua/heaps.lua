-- heaps.lua -- every built-in plan whose classes exist survives the churn
-- workload with a verified heap; heap methods; clean failures.
local dir = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/"
package.path = dir .. "?.lua;" .. package.path
local T = require "testlib"
local kiln = require "kiln"

-- Small runs: a test, not a benchmark. stress forces collections often so
-- a plan that loses objects is caught. churn's cost grows with the square
-- of its scale (collections x live data): KILN_TEST_SCALE=0.1 makes it a
-- hundred times cheaper for the Valgrind run.
local small = { seed = 7, live_bytes = "1MB", alloc_bytes = "8MB", min_obj = 16, max_obj = 512,
                ptr_density = 0.5, mutation_rate = 1.0, scale = T.scale(),
                overrides = { ["arena.stress"] = 20 } }

local ran = 0
for _, p in ipairs(kiln.plans()) do
  if p.error then
    T.ok(p.error:find("is not built yet", 1, true), "plan " .. p.name .. " fails only for an unbuilt class: " .. p.error)
    local h, why = kiln.heap(p.name)
    T.eq(h, nil, "heap " .. p.name .. " does not open")
    T.eq(why, p.error, "heap " .. p.name .. " says why")
  else
    for _, w in ipairs({ "churn", "gcbench", "binarytrees" }) do
      local params = w == "churn" and small
                     or { depth = 8, seed = 3, overrides = { ["arena.stress"] = 20 } }
      local r, why = kiln.workload(w, p.name, params)
      T.ok(r ~= nil, ("%s under %s: %s"):format(w, p.name, tostring(why)))
      if r then
        T.eq(r.verified, true, w .. " under " .. p.name .. " verified")
        T.eq(r.plan, p.name, "result names the plan")
        T.ok(r.objects > 0 and r.seconds >= 0, "result counts objects")
      end
    end
    -- the same seed gives the same run
    local a = kiln.workload("churn", p.name, small)
    local b = kiln.workload("churn", p.name, small)
    if a and b then
      T.eq(a.check, b.check, p.name .. ": churn is deterministic")
      if p.name ~= "manual" then
        T.ok(a.collections > 1, p.name .. ": stress made the churn run collect (" .. a.collections .. ")")
      end
    end
    ran = ran + 1
  end
end
T.ok(ran >= 1, "at least the manual plan ran")

-- Deterministic across plans: churn's checksum does not depend on the plan
-- (pointers aside), objects allocated are the same.
local m = assert(kiln.workload("churn", "manual", small))
local again = assert(kiln.workload("churn", "manual", small))
T.eq(m.objects, again.objects, "same objects")

-- a heap object: stats, collect, close, use after close
local h = assert(kiln.heap("manual"))
local s = h:stats()
for _, k in ipairs({ "reserved", "committed", "allocated", "live", "copied", "collections",
                     "minor_collections", "gc_seconds", "pause_max_ms", "pause_p50_ms", "pause_p99_ms" }) do
  T.ok(s[k] ~= nil, "stats has " .. k)
end
local r = assert(kiln.workload("churn", h, small))
T.eq(r.verified, true, "churn on an open heap")
h:collect()
h:close()
h:close() -- twice is harmless
T.ok(not pcall(h.stats, h), "a closed heap refuses use")

-- workload misuse and failures
T.eq(select(2, kiln.workload("nope", "manual")), "no workload 'nope' (workloads: gcbench, binarytrees, churn)", "unknown workload")
T.ok(not pcall(kiln.workload, "churn", "manual", { bogus = 1 }), "unknown workload parameter raises")
T.eq(select(2, kiln.workload("churn", "manual", { ptr_density = 2 })), "workload churn: ptr_density must be between 0 and 1", "bad density")
local nor = T.plan_file("noroles.lua", 'plan "noroles" { pools = { a = mvff { } } }\n')
T.eq(select(2, kiln.workload("churn", nor, small)), "plan 'noroles' has no role 'objects' for the workload", "no objects role")

T.done("heaps")
