-- graph.lua -- the scripted graph property test: the Lua mirror of
-- tests/graph.c. Under every built-in plan, build a random object graph from
-- a script, mutate it, drop roots, collect, and check it against a shadow
-- model: every object reachable from the roots is alive with intact bytes
-- and references; every other object is gone (its weak handle cleared, or
-- freed by the script under a manual plan). Variants: plain, stress=1
-- (a collection at every buffer fill), and types scanned by a Lua function
-- (libffi closures). Then: a Lua scan and the descriptor's C scan give the
-- same survivors on the same graph, and a Lua root scan function keeps
-- objects alive until it is removed.
local dir = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/"
package.path = dir .. "?.lua;" .. package.path
local T = require "testlib"
local kiln = require "kiln"

local SEED = tonumber(os.getenv("KILN_SEED") or "") or 20261124
local SCALE = tonumber(os.getenv("KILN_TEST_SCALE") or "") or 1
local ROUNDS, PER_ROUND = math.max(2, math.floor(12 * SCALE)), 40

local function lua_scan(ss, o)
  for i = 1, #o do ss:fix(o, i) end
end

-- A random graph experiment on heap h; returns the ids alive at the end.
local function experiment(h, seed, scripted, what, garbage)
  math.randomseed(seed)
  local manual = h:plan() == "manual"
  local scan = scripted and lua_scan or nil
  local Node = h:type{ name = "Node", refs = 3, bytes = 8, scan = scan }
  local Vec = h:type{ name = "Vec", array = true, bytes = 8, scan = scan }
  local weak, refs, roots, nextid = {}, {}, {}, 0

  local function new()
    nextid = nextid + 1
    local id = nextid
    local n = Node
    if math.random() < 0.2 then
      n = assert(Vec:new(math.random(0, 6)))
    else
      n = assert(Node:new())
    end
    n.bytes = string.pack("<i8", id)
    weak[id], refs[id] = h:weak(n), {}
    return id, n
  end

  local function reachable()
    local seen, stack = {}, {}
    for id in pairs(roots) do stack[#stack + 1] = id end
    while #stack > 0 do
      local id = table.remove(stack)
      if not seen[id] then
        seen[id] = true
        for _, t in pairs(refs[id]) do stack[#stack + 1] = t end
      end
    end
    return seen
  end

  -- Objects a script can still reach through its weak handles: those the
  -- model dropped this round may already be gone (a collection at an
  -- allocation), and one still there may be linked again (like a weak
  -- reference read back in Java).
  local function live_ids()
    local ids = {}
    for id, w in pairs(weak) do if h:alive(w) then ids[#ids + 1] = id end end
    table.sort(ids)
    return ids
  end

  local function store(a, k, b)
    weak[a][k] = b and weak[b] or nil
    refs[a][k] = b
  end

  local function verify(round)
    local seen = reachable()
    for id, w in pairs(weak) do
      if seen[id] then
        T.ok(h:alive(w), ("%s round %d: reachable object %d is alive"):format(what, round, id))
        if h:alive(w) then
          T.eq(string.unpack("<i8", w.bytes), id, what .. ": bytes intact")
          for k = 1, #w do
            local want, got = refs[id][k], w[k]
            T.ok((want == nil and got == nil) or (want ~= nil and got ~= nil and got == weak[want]),
                 ("%s round %d: object %d slot %d"):format(what, round, id, k))
          end
        end
      elseif manual then
        h:free(w) -- the script is the collector
        T.eq(h:alive(w), false, what .. ": a freed object's handle is cleared")
        weak[id], refs[id] = nil, nil
      else
        T.eq(h:alive(w), false, ("%s round %d: unreachable object %d was reclaimed"):format(what, round, id))
        weak[id], refs[id] = nil, nil
      end
    end
  end

  for round = 1, ROUNDS do
    for _ = 1, PER_ROUND do
      for _ = 1, garbage or 0 do Node:new() end -- fills the nursery: minor collections
      local id, n = new() -- may collect: pick the parent afterwards
      local ids = live_ids()
      if #ids == 1 or math.random() < 0.15 then
        h:root(n)
        roots[id] = true
      else
        local a = ids[math.random(#ids)]
        if #weak[a] > 0 then store(a, math.random(#weak[a]), id) else h:root(n); roots[id] = true end
      end
      n = nil
    end
    local ids = live_ids()
    for _ = 1, PER_ROUND // 2 do -- mutate: stores between live objects, some nil
      local a = ids[math.random(#ids)]
      if #weak[a] > 0 then
        local b = math.random() < 0.2 and nil or ids[math.random(#ids)]
        store(a, math.random(#weak[a]), b)
      end
    end
    for id in pairs(roots) do -- drop some roots
      if math.random() < 0.3 then
        h:unroot(weak[id])
        roots[id] = nil
      end
    end
    h:collect()
    verify(round)
  end
  local alive = {}
  for id, w in pairs(weak) do if h:alive(w) then alive[#alive + 1] = id end end
  table.sort(alive)
  return alive
end

for _, p in ipairs(kiln.plans()) do
  if not p.error then
    for _, v in ipairs({ "plain", "stress", "scripted", "minor" }) do
      -- minor: a 64 KB nursery and garbage between the graph's objects, so
      -- minor collections run mid-round and stores hit promoted objects
      -- (the write barrier); only plans with a `young` pool.
      -- Sticky plans get a 64 KB young generation in their main space
      -- instead, and sticky-inc 4 KB increments.
      local sticky = p.name:find("^sticky") ~= nil
      local ov = v == "stress" and { ["arena.stress"] = 1 }
                 or v == "minor" and sticky and { ["main.young_size"] = "64KB" }
                 or v == "minor" and { ["young.nursery_size"] = "64KB" } or nil
      if v == "minor" and p.name == "sticky-inc" then ov["main.young_step"] = "4KB" end
      local h = kiln.heap(p.name, ov)
      if h then
        experiment(h, SEED, v == "scripted", p.name .. "/" .. v, v == "minor" and 200 or 0)
        local st = h:stats()
        if p.name ~= "manual" then T.ok(st.collections >= ROUNDS, p.name .. "/" .. v .. " collected") end
        if v == "minor" then T.ok(st.minor_collections >= ROUNDS, p.name .. ": minor collections ran") end
        if v == "minor" and p.name == "sticky-inc" then
          T.ok(st.pauses > st.collections + ROUNDS, p.name .. ": minor collections took several pauses")
        end
        print(("%s/%s: %d collections (%d minor)"):format(p.name, v, st.collections, st.minor_collections))
        h:close()
      else
        T.ok(v == "minor", p.name .. " opens: " .. tostring(ov))
      end
    end
  end
end

-- A Lua scan function and the descriptor's C scan: same survivors.
for _, plan in ipairs({ "marksweep", "semispace", "gencopy", "genms", "sticky", "sticky-inc" }) do
  local hc, hl = assert(kiln.heap(plan)), assert(kiln.heap(plan))
  local a = experiment(hc, SEED + 1, false, plan .. "/C scan")
  local b = experiment(hl, SEED + 1, true, plan .. "/Lua scan")
  T.eq(table.concat(b, ","), table.concat(a, ","), plan .. ": Lua scan and C scan keep the same objects")
  T.ok(#a > 0, plan .. ": something survived")
  hc:close(); hl:close()
end

-- A Lua root scan function keeps objects alive until it is removed.
for _, plan in ipairs({ "marksweep", "semispace", "gencopy", "genms", "sticky", "sticky-inc" }) do
  local h = assert(kiln.heap(plan))
  local Leaf = h:type{ name = "Leaf", bytes = 8 }
  local kept, calls = {}, 0
  for i = 1, 100 do
    local n = Leaf:new(); n.bytes = string.pack("<i8", i)
    kept[i] = h:weak(n)
  end
  local r = h:rootscan(function(ss) calls = calls + 1; for _, w in ipairs(kept) do ss:fix(w) end end)
  for _ = 1, 3 do h:collect() end
  local ok = 0
  for i, w in ipairs(kept) do
    if h:alive(w) and string.unpack("<i8", w.bytes) == i then ok = ok + 1 end
  end
  T.eq(ok, 100, plan .. ": the root scan function kept every object, intact")
  T.ok(calls >= 3, plan .. ": the root scan function ran at each collection")
  r:remove()
  h:collect()
  local alive = 0
  for _, w in ipairs(kept) do if h:alive(w) then alive = alive + 1 end end
  T.eq(alive, 0, plan .. ": after remove, nothing keeps them")
  h:close()
end

T.done("graph.lua")
