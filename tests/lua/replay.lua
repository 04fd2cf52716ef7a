-- replay.lua -- record and replay round trips: each built-in workload and a
-- script's own objects, recorded under one plan, replay under every
-- automatic plan and the manual oracle with the recording's counts; bad
-- files and options get clear errors.
local dir = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/"
package.path = dir .. "?.lua;" .. package.path
local T = require "testlib"
local kiln = require "kiln"

local plans = { "malloc" }
for _, p in ipairs(kiln.plans()) do
  if not p.error then plans[#plans + 1] = p.name end
end

-- Replay trace under every plan, once as recorded and once with a
-- collection at every 50th allocation slow path, and check the counts.
local function replay_all(trace, want_objects, want_syncs, what)
  for _, plan in ipairs(plans) do
    for _, ov in ipairs(plan == "malloc" and { {} } or { {}, { ["arena.stress"] = 50 } }) do
      local q, why = kiln.replay(trace, plan, { overrides = ov })
      local how = ("%s replayed under %s%s"):format(what, plan, ov["arena.stress"] and " at stress" or "")
      T.ok(q ~= nil, how .. ": " .. tostring(why))
      if q then
        T.eq(q.verified, true, how .. " verified")
        T.eq(q.objects, want_objects, how .. ": every commit")
        T.eq(q.check, want_syncs, how .. ": every recorded collection")
        T.eq(q.plan, plan, how .. " names its plan")
      end
    end
  end
end

-- The built-in workloads, recorded under two plans with frequent
-- collections (fewer under KILN_TEST_SCALE below 1, as for Valgrind).
local workloads = T.scale() < 1 and { "gcbench", "churn" }
                  or { "gcbench", "binarytrees", "churn", "quads", "fields" }
for _, rec_plan in ipairs({ "sticky", "gencopy" }) do
  for _, w in ipairs(workloads) do
    local trace = os.tmpname()
    local params = { depth = w == "quads" and 4 or 8, seed = 5, scale = 0.01,
                     live_bytes = "256KB", alloc_bytes = "2MB",
                     overrides = { ["arena.record"] = trace, ["arena.stress"] = 200 } }
    local r, why = kiln.workload(w, rec_plan, params)
    T.ok(r ~= nil and r.verified, ("%s recorded under %s: %s"):format(w, rec_plan, tostring(why)))
    if r then
      T.ok(r.collections > 0, w .. " collected while recorded")
      replay_all(trace, r.objects, r.collections, ("%s (recorded under %s)"):format(w, rec_plan))
    end
    os.remove(trace)
  end
end

-- Two mutator threads recorded into one trace replay on one thread.
do
  local trace = os.tmpname()
  local r, why = kiln.workload("churn", "sticky", { threads = 2, scale = 0.02, live_bytes = "256KB",
    alloc_bytes = "2MB", overrides = { ["arena.record"] = trace, ["arena.stress"] = 300 } })
  T.ok(r ~= nil and r.verified, "churn with two threads recorded: " .. tostring(why))
  if r then replay_all(trace, r.objects, r.collections, "churn by two threads") end
  os.remove(trace)
end

-- A script's own objects: a list whose head moves on, stores into old nodes.
do
  local trace = os.tmpname()
  local h = assert(kiln.heap("genms", { ["arena.record"] = trace, ["arena.stress"] = 50 }))
  local Node = h:type{ name = "Node", refs = 2, bytes = 8 }
  local head = Node:new()
  h:root(head)
  local made = 1
  for i = 1, 2000 do
    local n = Node:new()
    made = made + 1
    n[1] = head[1]
    head[1] = n
    if i % 3 == 0 then n[2] = head end
    if i % 100 == 0 then head[1] = nil end
  end
  h:collect()
  local st = h:stats()
  h:close()
  replay_all(trace, made, st.collections, "a script's list")
  os.remove(trace)
end

-- Errors.
do
  local q, why = kiln.replay("/nonexistent-dir/trace", "marksweep")
  T.eq(q, nil, "a missing trace file fails")
  T.ok(tostring(why):find("cannot read the trace file '/nonexistent-dir/trace'", 1, true), "and says which: " .. tostring(why))
  local path = os.tmpname()
  local f = assert(io.open(path, "w")); f:write("-- a plan, not a trace\n"); f:close()
  q, why = kiln.replay(path, "marksweep")
  T.ok(q == nil and tostring(why):find("is not a Kiln trace file", 1, true), "a file that is not a trace: " .. tostring(why))
  os.remove(path)
  local ok, err = pcall(kiln.replay, path, "marksweep", { verfy = true })
  T.ok(not ok and tostring(err):find("unknown option 'verfy'", 1, true), "a misspelt option: " .. tostring(err))
  local h, herr = kiln.heap("marksweep", { ["arena.record"] = "/nonexistent-dir/x" })
  T.ok(h == nil and tostring(herr):find("'record'", 1, true), "an unwritable record path names the parameter: " .. tostring(herr))
end

T.done("replay")
