-- alloc_heavy.lua -- an allocation-heavy, deterministic Lua program for the
-- Lua-on-Kiln allocator: strings, tables, closures, coroutines,
-- finalizers, weak tables, both GC modes and a binary-trees benchmark.
--
-- Usage: kiln run [--lua-alloc=kiln] alloc_heavy.lua [SCALE]
-- Prints one digest line per section, then "total". The output depends only
-- on SCALE (default 1), never on addresses, the string-hash seed (which Lua
-- takes from the clock and ASLR) or the allocator, so two runs on different
-- allocators must print the same bytes (tests/lua_alloc/test_lua_alloc.sh).
-- Hence: no tostring() of tables or functions, and every digest over a
-- pairs() walk is order-independent (a sum), because pairs order follows
-- the hash seed.
-- bench/lua_alloc.sh times it with a larger SCALE.

local SCALE = tonumber(arg and arg[1]) or 1
local M32 = 0xffffffff

-- FNV-1a over a string, 32 bits, order-dependent: for sequences we build.
local function fnv(h, s)
  for i = 1, #s do h = ((h ~ s:byte(i)) * 16777619) & M32 end
  return h
end

-- A linear congruential generator of our own, so math.random's seeding
-- (random per run in 5.4) cannot make the output vary.
local seed = 12345
local function rand(n)
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed % n + 1
end

local function report(name, value) print(("%-10s %s"):format(name, tostring(value))) end
local total = 2166136261

-- Strings: concatenation, rep, format, gsub, table.concat; many short-lived
-- intermediate strings, long strings over the short-string limit (40 bytes).
local function strings(n)
  local h, parts = 2166136261, {}
  for i = 1, n do
    local s = ("item%d:"):format(i) .. string.rep("ab", i % 37) .. tostring(i * 7)
    s = s:gsub("a", "x"):upper()
    parts[#parts + 1] = s
    if #parts >= 64 then
      h = fnv(h, table.concat(parts, ","))
      parts = {}
    end
  end
  h = fnv(h, table.concat(parts, ";"))
  local long = string.rep("0123456789", n // 10 + 1)
  h = fnv(h, long:sub(-20) .. #long)
  return h
end

-- Tables: growing arrays, hash parts keyed by strings and integers,
-- insert/remove in the middle, sort, and tables that die young.
local function tables(n)
  local arr, map, sum = {}, {}, 0
  for i = 1, n do
    arr[#arr + 1] = rand(1000)
    map["k" .. rand(n)] = i
    map[rand(n) * 3] = { i, i + 1, name = "n" .. i }
    if i % 7 == 0 then table.insert(arr, rand(#arr), -i) end
    if i % 11 == 0 then table.remove(arr, rand(#arr)) end
  end
  table.sort(arr)
  for i = 1, #arr, 17 do sum = (sum * 31 + arr[i]) & M32 end
  for k, v in pairs(map) do  -- order-independent: a plain sum
    if type(v) == "table" then sum = (sum + k + v[1] + #v.name) & M32
    else sum = (sum + #k + v) & M32 end
  end
  return sum .. "/" .. #arr
end

-- Closures: counters, closures over loop variables, composed functions.
local function closures(n)
  local function counter(start)
    local c = start
    return function(step) c = c + step; return c end
  end
  local fs, acc = {}, 0
  for i = 1, n do
    fs[#fs + 1] = counter(i)
    if #fs > 100 then
      for j = 1, #fs do acc = (acc + fs[j](j)) & M32 end
      fs = {}
    end
  end
  local compose = function(f, g) return function(x) return f(g(x)) end end
  local f = function(x) return x end
  for i = 1, 50 do
    local g = f
    f = compose(function(x) return x + i end, g)
  end
  return (acc + f(0)) & M32
end

-- Coroutines: generators, many live coroutines at once, yields across calls.
local function coroutines(n)
  local function gen(k)
    return coroutine.wrap(function()
      for i = 1, k do coroutine.yield(("v%d"):format(i * k)) end
    end)
  end
  local h, live = 2166136261, {}
  for i = 1, n // 10 do
    live[#live + 1] = gen(i % 13 + 1)
    if #live >= 50 then
      for _, g in ipairs(live) do
        for v in g do h = fnv(h, v) end
      end
      live = {}
    end
  end
  return h
end

-- Finalizers and weak tables: what a full collection clears and finalizes
-- depends on reachability only, not on where objects live.
local function gc_cycles(n)
  local finalized, weak = 0, setmetatable({}, { __mode = "v" })
  local keep = {}
  for i = 1, n // 4 do
    local o = setmetatable({ i }, { __gc = function() finalized = finalized + 1 end })
    weak[i] = o
    if i % 3 == 0 then keep[#keep + 1] = o end
    if i % 500 == 0 then collectgarbage("step", 0) end
  end
  collectgarbage("collect")
  collectgarbage("collect")  -- the second runs the finalizers' own garbage
  local alive = 0
  for _ in pairs(weak) do alive = alive + 1 end
  collectgarbage("generational")
  local junk = {}
  for i = 1, n do junk[i % 97 + 1] = { i, tostring(i) } end
  collectgarbage("collect")
  collectgarbage("incremental")
  return ("%d finalized, %d alive, %d kept"):format(finalized, alive, #keep)
end

-- Binary trees (the Benchmarks Game program): allocation-bound table churn.
local function bottom_up(depth)
  if depth == 0 then return {} end
  depth = depth - 1
  return { bottom_up(depth), bottom_up(depth) }
end

local function check(tree)
  if tree[1] then return 1 + check(tree[1]) + check(tree[2]) end
  return 1
end

local function binary_trees(max_depth)
  local lines, long_lived = {}, bottom_up(max_depth)
  for depth = 4, max_depth, 2 do
    local iters, sum = 1 << (max_depth - depth + 4), 0
    for _ = 1, iters do sum = sum + check(bottom_up(depth)) end
    lines[#lines + 1] = ("%d:%d"):format(depth, sum)
  end
  lines[#lines + 1] = "long:" .. check(long_lived)
  return table.concat(lines, " ")
end

local n = math.max(1, math.floor(20000 * SCALE))
for _, section in ipairs({
  { "strings", strings, n },
  { "tables", tables, n },
  { "closures", closures, n },
  { "coroutines", coroutines, n },
  { "gc", gc_cycles, n },
  { "trees", binary_trees, math.max(6, math.floor(10 + math.log(SCALE, 2))) },
}) do
  local v = section[2](section[3])
  report(section[1], v)
  total = fnv(total, tostring(v))
end
report("total", total)
