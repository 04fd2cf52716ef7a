-- scripted_scan.lua -- what a Lua scan function costs (issue 6).
--
--   build/lua/kiln run bench/scripted_scan.lua [PLAN] [NODES] [RUNS]
--
-- Builds the same graph (a rooted binary tree of NODES objects, two
-- references and 16 bytes each) twice under PLAN: once with a type scanned by
-- the descriptor format's C code, once with a type whose scan is a Lua
-- function called through a libffi closure. Times full collections of each
-- (median of RUNS) and prints the ratio. A benchmark, not a test.
local kiln = require "kiln"
local plan = arg[1] or "marksweep"
local nodes = tonumber(arg[2] or "") or 100000
local runs = tonumber(arg[3] or "") or 7

local function median(t)
  table.sort(t)
  return t[(#t + 1) // 2]
end

local function measure(scan)
  local h = assert(kiln.heap(plan))
  local Node = h:type{ name = "Node", refs = 2, bytes = 16, scan = scan }
  local all = { Node:new() }
  h:root(all[1])
  for i = 2, nodes do -- node i hangs under node i // 2
    local n = Node:new()
    all[i] = n
    all[i // 2][1 + i % 2] = n
  end
  all = nil
  h:collect()
  local times = {}
  for r = 1, runs do
    local t0 = kiln.clock()
    h:collect()
    times[r] = kiln.clock() - t0
  end
  local st = h:stats()
  h:close()
  return median(times), st.live
end

local c, live_c = measure(nil)
local l, live_l = measure(function(ss, o) ss:fix(o, 1); ss:fix(o, 2) end)
assert(live_c == live_l, "the two scans kept different amounts")
print(("plan=%s nodes=%d runs=%d live=%d"):format(plan, nodes, runs, live_c))
print(("C scan     %8.2f ms per full collection"):format(c * 1000))
print(("Lua scan   %8.2f ms per full collection"):format(l * 1000))
print(("ratio      %8.1fx  (%.0f ns more per object)"):format(l / c, (l - c) / nodes * 1e9))
