-- heaps.lua -- every built-in plan whose classes exist survives the churn
-- workload with a verified heap; heap methods (h:on_collect included);
-- clean failures.
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
    for _, w in ipairs({ "churn", "gcbench", "binarytrees", "quads", "fields" }) do
      local params = w == "churn" and small
                     or { depth = w == "quads" and 4 or 8, seed = 3, scale = w == "fields" and 0.01 or nil,
                          overrides = { ["arena.stress"] = 20 } }
      local r, why = kiln.workload(w, p.name, params)
      T.ok(r ~= nil, ("%s under %s: %s"):format(w, p.name, tostring(why)))
      if r then
        T.eq(r.verified, true, w .. " under " .. p.name .. " verified")
        T.eq(r.plan, p.name, "result names the plan")
        T.ok(r.objects > 0 and r.seconds >= 0, "result counts objects")
        if w == "quads" then -- 160 checked trees of depth 2 (21 nodes), then the depth-4 tree (341)
          T.eq(r.check, 160 * 21 + 341, "quads under " .. p.name .. " checked every node")
        elseif w == "fields" then -- 1000 instances of 8 fields, 5 rounds of 4 walks
          T.eq(r.check, 5 * 4 * 1000 * 8, "fields under " .. p.name .. " read every field intact")
        end
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

-- h:on_collect(fn): one call per collection, under every automatic plan, with
-- the kind, a pause and the live bytes h:stats() reports; nil stops it.
for _, name in ipairs({ "marksweep", "semispace", "gencopy", "genms", "sticky", "sticky-inc" }) do
  local heap = assert(kiln.heap(name, { ["arena.stress"] = 20 }))
  local seen = { full = 0, minor = 0, calls = 0, bad = {} }
  heap:on_collect(function(c)
    local st = heap:stats()
    seen.calls = seen.calls + 1
    seen[c.kind] = seen[c.kind] + 1
    if c.number ~= seen.calls then seen.bad[#seen.bad + 1] = "number " .. c.number end
    if c.number == st.collections and c.live ~= st.live then
      seen.bad[#seen.bad + 1] = ("live %d, stats %d"):format(c.live, st.live)
    end
    if not (c.pause >= 0) then seen.bad[#seen.bad + 1] = "pause " .. tostring(c.pause) end
  end)
  assert(kiln.workload("churn", heap, small))
  heap:collect()
  local st = heap:stats()
  T.ok(seen.calls > 1, name .. ": the handler ran (" .. seen.calls .. " times)")
  T.eq(seen.calls, st.collections, name .. ": one call per collection")
  T.eq(seen.minor, st.minor_collections, name .. ": minor collections")
  T.eq(seen.full, st.collections - st.minor_collections, name .. ": full collections")
  T.eq(table.concat(seen.bad, "; "), "", name .. ": events agree with h:stats()")
  heap:on_collect(nil)
  heap:collect()
  T.eq(seen.calls, st.collections, name .. ": on_collect(nil) stops the calls")
  heap:close()
end

-- Inside the handler an allocation fails and h:collect() is refused; the
-- handler's error is raised by the call that collected, once it is done.
do
  local heap = assert(kiln.heap("genms"))
  local Pair = heap:type{ name = "Pair", refs = 2 }
  local why
  heap:on_collect(function() local _; _, why = Pair:new(); heap:collect() end)
  local ok, err = pcall(heap.collect, heap)
  T.ok(not ok, "the handler's error is raised by h:collect()")
  T.ok(tostring(err):find("the heap's h:on_collect handler failed: .*h:collect%(%) was called "
                          .. "inside the heap's h:on_collect handler"), "it says why: " .. tostring(err))
  T.ok(tostring(why):find("used inside the arena's collection callback", 1, true),
       "an allocation in the handler fails: " .. tostring(why))
  heap:on_collect(nil)
  T.ok(Pair:new() ~= nil, "allocation works after the handler")
  T.ok(not pcall(heap.on_collect, heap, 5), "on_collect wants a function")
  heap:close()
end

-- A fixed heap from the plan's overrides: churn runs inside it, and
-- h:stats() reports the policy's heap_limit, never past heap_size.
do
  local heap = assert(kiln.heap("marksweep", { ["arena.heap_policy"] = "fixed",
                                               ["arena.heap_size"] = "8MB" }))
  local r = assert(kiln.workload("churn", heap, small))
  T.eq(r.verified, true, "churn in a fixed 8MB heap")
  local st = heap:stats()
  T.ok(st.collections > 0, "the fixed heap collected")
  T.ok(st.heap_limit > 0 and st.heap_limit <= 8 * 1024 * 1024,
       "heap_limit within heap_size: " .. tostring(st.heap_limit))
  T.ok(st.committed <= 8 * 1024 * 1024, "committed within heap_size: " .. st.committed)
  heap:close()
  local bad, why = kiln.heap("marksweep", { ["arena.heap_policy"] = "fixed" })
  T.ok(bad == nil and tostring(why):find("'fixed' needs parameter 'heap_size'", 1, true),
       "a fixed heap without a size is refused: " .. tostring(why))
end

-- workload misuse and failures
T.eq(select(2, kiln.workload("nope", "manual")), "no workload 'nope' (workloads: gcbench, binarytrees, churn, quads, fields)", "unknown workload")
T.ok(not pcall(kiln.workload, "churn", "manual", { bogus = 1 }), "unknown workload parameter raises")
T.eq(select(2, kiln.workload("churn", "manual", { ptr_density = 2 })), "workload churn: ptr_density must be between 0 and 1", "bad density")
local nor = T.plan_file("noroles.lua", 'plan "noroles" { pools = { a = mvff { } } }\n')
T.eq(select(2, kiln.workload("churn", nor, small)), "plan 'noroles' has no role 'objects' for the workload", "no objects role")

-- Several mutator threads on one heap: each runs the whole workload and
-- checks its own heap; the checksums add up. A manual plan refuses.
for _, p in ipairs({ "marksweep", "semispace", "genms", "gencopy", "sticky", "sticky-inc" }) do
  for _, w in ipairs({ "gcbench", "quads" }) do
    local params = { depth = w == "quads" and 4 or 8, seed = 3, overrides = { ["arena.stress"] = 50 } }
    local one = assert(kiln.workload(w, p, params))
    params.threads = 3
    local r, why = kiln.workload(w, p, params)
    T.ok(r ~= nil and r.verified, ("%s under %s with 3 threads: %s"):format(w, p, tostring(why)))
    if r then
      T.eq(r.check, 3 * one.check, w .. " under " .. p .. ": each thread checked its own heap")
      T.eq(r.objects, 3 * one.objects, w .. " under " .. p .. ": three threads allocated three times")
    end
  end
end
do
  local r, why = kiln.workload("gcbench", "manual", { threads = 2, depth = 6 })
  T.ok(r == nil and tostring(why):find("manual pool, which serves one thread", 1, true), "manual refuses threads: " .. tostring(why))
  r, why = kiln.workload("gcbench", "marksweep", { threads = 65 })
  T.ok(r == nil and tostring(why):find("threads must be a whole number from 1 to 64", 1, true), "threads out of range: " .. tostring(why))
end

-- Parallel marking: the same workload with one marker and with three
-- (woken at once) checks the same heap, marks the same bytes, and the
-- other markers scan some of them; a scan function written in Lua runs
-- under markers too (its callbacks take the heap's lock).
for _, p in ipairs({ "marksweep", "sticky" }) do
  local function run(markers)
    return assert(kiln.workload("binarytrees", p, { depth = 12, seed = 5, overrides = {
      ["arena.markers"] = markers, ["arena.markers_after"] = 0 } }))
  end
  local one, three = run(1), run(3)
  T.eq(one.markers, 1, p .. ": one marker")
  T.eq(three.markers, 3, p .. ": three markers")
  T.eq(three.check, one.check, p .. ": the same heap checked")
  T.eq(three.marked, one.marked, p .. ": the same bytes marked")
  T.eq(one.helped, 0, p .. ": one marker has no help")
end
do
  local h = assert(kiln.heap("marksweep", { ["arena.markers"] = 4, ["arena.markers_after"] = 0 }))
  local scans = 0
  local node = h:type{ name = "node", refs = 2, scan = function(ss, obj)
    scans = scans + 1
    ss:fix(obj, 1)
    ss:fix(obj, 2)
  end }
  local root = node:new()
  h:root(root)
  local function grow(o, d)
    if d == 0 then return end
    for i = 1, 2 do
      local c = node:new()
      o[i] = c
      grow(c, d - 1)
    end
  end
  grow(root, 10)
  h:collect()
  T.ok(scans >= 2047, "the Lua scan ran for every node under 4 markers: " .. scans)
  local function count(o) return o == nil and 0 or 1 + count(o[1]) + count(o[2]) end
  T.eq(count(root), 2047, "the tree survived four markers whole")
  h:close()
end

T.done("heaps")
