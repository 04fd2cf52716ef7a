-- objects.lua -- scripted heap objects: fields, handles across
-- moving collections, and clear errors for every misuse, never a crash.
local dir = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/"
package.path = dir .. "?.lua;" .. package.path
local T = require "testlib"
local kiln = require "kiln"

-- pcall f and check that its error message contains `want`.
local function fails(want, what, f, ...)
  local ok, err = pcall(f, ...)
  T.ok(not ok and tostring(err):find(want, 1, true) ~= nil,
       ("%s: wanted an error with %q, got %s"):format(what, want, ok and "no error" or tostring(err)))
end

local h = assert(kiln.heap("semispace"))
local Node = h:type{ name = "Node", refs = 2, bytes = 16 }
local Vec = h:type{ name = "Vec", array = true, bytes = 4 }
T.eq(Node.name, "Node", "type name")

-- Fields, slots, equality.
local a, b = Node:new(), Node:new()
a.bytes = "hello"
T.eq(a.bytes, "hello" .. string.rep("\0", 11), "bytes are zero-padded to the type's size")
T.eq(#a, 2, "#obj counts reference slots")
T.eq(a[1], nil, "a new object's slots are nil")
a[1] = b
a[2] = a
T.ok(a[1] == b and a[2] == a, "slots hold what was stored; handles compare by object")
T.ok(a ~= b, "different objects differ")
T.eq(a.type, "Node", "obj.type")
local v = Vec:new(5)
T.eq(#v, 5, "an array type has n slots")
T.eq(v.length, 5, "obj.length")
v[5] = a
T.ok(v[5] == a, "array slot store")

-- A moving collection updates every handle; contents survive.
h:root(a)
local before = tostring(a)
for _ = 1, 3 do h:collect() end
T.ok(tostring(a) ~= before, "semispace moved the object (" .. before .. " -> " .. tostring(a) .. ")")
T.eq(a.bytes:sub(1, 5), "hello", "bytes survive the move")
T.ok(a[1] == b and a[2] == a and v[5] == a, "references survive the move")

-- Weak handles see reclamation; strong ones keep objects.
local w = h:weak(Node:new())
h:collect()
T.eq(h:alive(w), false, "an object held only weakly is reclaimed")
fails("was collected", "using a dead weak handle", function() return w.bytes end)
local kept = Node:new()
local wk = h:weak(kept)
h:collect()
T.eq(h:alive(wk), true, "a strong handle keeps its object")
kept = nil
h:collect()
T.eq(h:alive(wk), false, "dropping the last strong handle lets the object go (h:collect runs Lua's GC first)")
T.eq(#h:roots(), 1, "h:roots lists the roots")
h:unroot(a)
T.eq(#h:roots(), 0, "h:unroot removes it")

-- The plan's weak role: its objects' slots keep nothing alive.
local Cache = h:type{ name = "Cache", refs = 2, bytes = 8, role = "weak" }
local cache, held = Cache:new(), Node:new()
held.bytes = "held"
cache.bytes = "cache"
cache[1] = held
cache[2] = Node:new()
h:collect()
T.ok(cache[1] == held, "a weak role's object keeps its reference to a live object")
T.eq(cache[2], nil, "a weak role's object does not keep an object alive: its slot is nil")
T.eq(cache.bytes:sub(1, 5), "cache", "the weak role's object itself lives on")
T.eq(held.bytes:sub(1, 4), "held", "and so does what it refers to while it is held elsewhere")
cache, held = nil, nil

-- Misuse: clear errors.
fails("no reference slot 3", "slot out of range", function() return a[3] end)
fails("no reference slot 0", "slot 0", function() a[0] = b end)
fails("holds 16 bytes, not 17", "bytes too long", function() a.bytes = string.rep("x", 17) end)
fails("has no field 'nope'", "unknown field", function() return a.nope end)
fails("cannot be set", "setting a read-only field", function() a.type = "x" end)
fails("unknown field 'refz'", "type spec typo", function() h:type{ name = "X", refz = 1 } end)
fails("a type needs a name", "nameless type", function() h:type{ refs = 1 } end)
fails("has no role 'leafy'", "unknown role", function() h:type{ name = "X", role = "leafy" } end)
fails("field 'refs' must be a whole number from 0 to 16777216, got -1", "negative refs", function() h:type{ name = "X", refs = -1 } end)
fails("takes no length", "length for a fixed type", function() Node:new(3) end)
fails("not a root", "unroot of a non-root", function() h:unroot(b) end)
fails("collected, not freed", "free on an automatic heap", function() h:free(b) end)
fails("obj[i] = v: v must be an object of this heap or nil, got string", "storing a non-object", function() a[1] = "str" end)
-- h:type{} checks every field's type, naming the field.
local TYPE_FIELDS = {
  { { name = "X", scan = 5 }, "h:type 'X': field 'scan' must be a function (ss, obj), got number" },
  { { name = "X", scan = "f" }, "h:type 'X': field 'scan' must be a function (ss, obj), got string" },
  { { name = "X", array = "yes" }, "h:type 'X': field 'array' must be a boolean (true: Type:new(n) adds n slots), got string" },
  { { name = "X", array = 1 }, "h:type 'X': field 'array' must be a boolean (true: Type:new(n) adds n slots), got number" },
  { { name = "X", refs = "2" }, "h:type 'X': field 'refs' must be a whole number from 0 to 16777216, got string" },
  { { name = "X", refs = 1.5 }, "h:type 'X': field 'refs' must be a whole number from 0 to 16777216, got 1.5" },
  { { name = "X", bytes = {} }, "h:type 'X': field 'bytes' must be a whole number from 0 to 16777216, got table" },
  { { name = "X", bytes = 1 << 25 }, "h:type 'X': field 'bytes' must be a whole number from 0 to 16777216, got 33554432" },
  { { name = "X", role = 5 }, "h:type 'X': field 'role' must be a string (a role of the plan), got number" },
  { { name = 5 }, "h:type: field 'name' must be a non-empty string (a type needs a name), got number" },
  { { name = "" }, "h:type: field 'name' must be a non-empty string (a type needs a name), got string" },
  { { name = "X", [1] = true }, "h:type 'X': unknown field '1' (fields: name, refs, bytes, array, role, scan)" },
}
for _, c in ipairs(TYPE_FIELDS) do
  fails(c[2], "h:type field check: " .. c[2], function() h:type(c[1]) end)
end
fails("h:type: expected a table of fields, as h:type{ name = \"Node\", refs = 2 }, got string",
      "h:type with a string", function() h:type("Node") end)
T.ok(h:type{ name = "WholeFloat", refs = 2.0, array = false } ~= nil, "refs = 2.0 is a whole number; array = false is a boolean")
fails("Vec:new(n): n must be a whole number from 0 to 2^32", "a fractional length", function() Vec:new(1.5) end)
fails("Vec:new(n): n must be a whole number from 0 to 2^32", "a string length", function() Vec:new("3") end)
fails("Vec:new(n): n must be a whole number from 0 to 2^32", "a negative length", function() Vec:new(-1) end)

-- Wrong argument types: a sentence naming the call, never "bad argument #n to '?'".
local ARGS = {
  { "kiln.heap: argument 1 (the plan) must be a string, got number", kiln.heap, 5 },
  { "kiln.heap: argument 2 (the overrides) must be a table or nil, got number", kiln.heap, "manual", 5 },
  { "kiln.heap: argument 3 (the options) must be a table or nil, got string", kiln.heap, "manual", nil, "x" },
  { "kiln.heap: option 'stack' must be a boolean, got string", kiln.heap, "manual", nil, { stack = "yes" } },
  { "kiln.heap: unknown option 'stak' (options: stack)", kiln.heap, "manual", nil, { stak = true } },
  { "kiln.heap: overrides are keyed by strings such as \"young.nursery_size\", got a number key", kiln.heap, "manual", { 1 } },
  { "kiln.check: argument 1 (the plan) must be a string, got no value", kiln.check },
  { "kiln.check: argument 2 (the overrides) must be a table or nil, got boolean", kiln.check, "manual", true },
  { "kiln.resolve: argument 1 (the plan) must be a string, got table", kiln.resolve, {} },
  { "kiln.resolve: argument 2 (the overrides) must be a table or nil, got number", kiln.resolve, "manual", 1 },
  { "kiln.describe: argument 1 (a class, \"arena\" or a plan) must be a string, got number", kiln.describe, 5 },
  { "kiln.workload: argument 1 (the workload) must be a string, got no value", kiln.workload },
  { "kiln.workload: argument 2 must be a plan (a string) or a heap (from kiln.heap), got number", kiln.workload, "churn", 5 },
  { "kiln.workload: argument 3 (the parameters) must be a table or nil, got string", kiln.workload, "churn", "manual", "x" },
  { "kiln.workload: parameter 'depth' must be a whole number, got string", kiln.workload, "gcbench", "manual", { depth = "8" } },
  { "kiln.workload: parameter 'scale' must be a number, got boolean", kiln.workload, "churn", "manual", { scale = true } },
  { "kiln.workload: parameter 'live_bytes' must be a size from 0 to 256TB (a whole number of bytes or a string such as \"16MB\"), got number 1.5",
    kiln.workload, "churn", "manual", { live_bytes = 1.5 } },
  { "kiln.workload: parameter 'alloc_bytes': '1e30GB' is not a size from 0 to 256TB", kiln.workload, "churn", "manual", { alloc_bytes = "1e30GB" } },
  { "kiln.workload: parameter 'overrides' must be a table or nil, got number", kiln.workload, "churn", "manual", { overrides = 5 } },
  { "h:collect(): expected a heap (from kiln.heap), got number; call heap methods with a colon, as h:collect()", h.collect, 5 },
  { "h:close(): expected a heap (from kiln.heap), got string", h.close, "x" },
  { "Type:new(): expected a type (from h:type), got number; call it with a colon, as Node:new()", Node.new, 5 },
  { "h:rootscan(fn): fn must be a function (ss), got number", h.rootscan, h, 5 },
  { "h:alive(obj): expected an object of a kiln heap, got number", h.alive, h, 5 },
  { "h:root(obj): expected an object of a kiln heap, got no value", h.root, h },
  { "h:free(obj): expected an object of a kiln heap, got table", h.free, h, {} },
}
for _, c in ipairs(ARGS) do
  fails(c[1], "argument check: " .. c[1], table.unpack(c, 2))
end
fails("Node.bytes takes a string, got number", "bytes = a number", function() a.bytes = 5 end)
fails("Node has no reference slot 1.5 (slots are whole numbers from 1 to #obj)", "a fractional slot",
      function() return a[1.5] end)
fails("Node has no reference slot 1.5", "storing to a fractional slot", function() a[1.5] = nil end)
T.ok(a[1.0] == a[1], "slot 1.0 is slot 1")
fails("Node field true cannot be set (only bytes and 1..#obj)", "a boolean key", function() a[true] = nil end)
T.ok(not (a == Node), "an object is not equal to a non-object (no error)")

-- Workload parameters out of range: refused before anything runs, naming
-- the parameter and its range.
local RANGES = {
  { "gcbench", { depth = 0 }, "workload gcbench: depth must be a whole number from 1 to 30 (leave it out for the workload's default)" },
  { "gcbench", { depth = 31 }, "workload gcbench: depth must be a whole number from 1 to 30" },
  { "gcbench", { depth = 2.5 }, "workload gcbench: depth must be a whole number from 1 to 30" },
  { "binarytrees", { depth = 4 }, "workload binarytrees: depth must be a whole number from 6 to 30" },
  { "churn", { seed = -1 }, "workload churn: seed must be a whole number from 0 to 2^63-1" },
  { "churn", { seed = 0.5 }, "workload churn: seed must be a whole number from 0 to 2^63-1" },
  { "churn", { scale = 0 }, "workload churn: scale must be a number above 0 and at most 1000" },
  { "churn", { scale = -2 }, "workload churn: scale must be a number above 0 and at most 1000" },
  { "churn", { scale = 0 / 0 }, "workload churn: scale must be a number above 0 and at most 1000" },
}
for _, c in ipairs(RANGES) do
  local r, why = kiln.workload(c[1], "manual", c[2])
  T.ok(r == nil and tostring(why):find(c[3], 1, true) ~= nil, ("%s out of range: %s"):format(c[1], tostring(why)))
end
T.ok(kiln.workload("gcbench", "manual", { depth = 6, seed = 3.0 }) ~= nil, "an in-range depth and a whole float seed run")

local h2 = assert(kiln.heap("marksweep"))
local Other = h2:type{ name = "Other", refs = 1 }
local o = Other:new()
fails("another heap", "cross-heap store", function() a[1] = o end)
fails("another heap", "rooting another heap's object", function() h:root(o) end)
fails("another heap", "a weak handle of another heap's object", function() h:weak(o) end)
h2:close()
fails("heap is closed", "object of a closed heap", function() return o[1] end)
fails("heap is closed", "type of a closed heap", function() return Other:new() end)

-- Scan callbacks: errors come back as Lua errors, the heap stays correct.
local Bad = h:type{ name = "Bad", refs = 1, scan = function(ss, obj) error("boom") end }
local bad = Bad:new()
bad[1] = Node:new()
bad[1].bytes = "kept"
local child = h:weak(bad[1]) -- only bad's slot keeps it alive
h:root(bad)
fails("boom", "a failing scan function is reported", function() h:collect() end)
T.ok(h:alive(child) and bad[1] == child and child.bytes:sub(1, 4) == "kept",
     "the descriptor scanned the object instead: its child survived, moved, intact")
h:unroot(bad)
bad = nil -- the next checks need a collection without Bad's failing scan
local stash
local Sneaky = h:type{ name = "Sneaky", refs = 1, scan = function(ss, obj)
  stash = ss
  ss:fix(obj, 1)
  Node:new() -- not allowed inside a collection
end }
h:root(Sneaky:new())
fails("Type:new() was called inside a scan or root scan function of the same heap's collection", "allocating in a scan callback", function() h:collect() end)
fails("outside its scan callback", "a kept scan state", function() stash:fix(a) end)

-- A manual plan: the script frees, and handles to a freed object say so.
local m = assert(kiln.heap("manual"))
local MNode = m:type{ name = "MNode", refs = 1, bytes = 8 }
local x = MNode:new()
x[1] = MNode:new()
local y = x[1]
m:free(y)
x[1] = nil
fails("was freed", "a freed object's handle", function() return y.bytes end)

-- A slot that referred to a freed object is an error to read, and every
-- operation on any handle of the freed object is one too: never a dangling
-- address (the pool may hand that memory out again).
do
  local a, b = MNode:new(), MNode:new()
  local P2 = m:type{ name = "Pair", refs = 2 }
  local pair = P2:new()
  a[1] = b
  pair[1], pair[2] = b, b
  local b2, wb = a[1], m:weak(b)
  m:free(b)
  local FREED = "slot 1 refers to an object that was freed (h:free); store another object or nil in it"
  fails("MNode " .. FREED, "reading a slot whose object was freed", function() return a[1] end)
  fails("Pair " .. FREED, "another object's slot", function() return pair[1] end)
  fails("Pair slot 2 refers to an object that was freed", "every slot holding it", function() return pair[2] end)
  T.eq(m:alive(wb), false, "a weak handle of a freed object is not alive")
  T.eq(m:alive(b2), false, "nor is another strong handle of it")
  fails("#obj: the object was freed", "#x on a freed object", function() return #b2 end)
  fails("obj[i]: the object was freed", "x[1] on a freed object", function() return b2[1] end)
  fails("obj.field: the object was freed", "x.bytes on a freed object", function() return b2.bytes end)
  fails("obj[k] = v: the object was freed", "storing into a freed object", function() b2.bytes = "x" end)
  fails("h:free(obj): the object was freed", "freeing it twice", function() m:free(b2) end)
  T.eq(m:alive(m:weak(b2)), false, "h:alive(h:weak(x)) is false for a freed x")
  T.eq(m:alive(m:weak(wb)), false, "and for a weak handle of it")
  fails("obj.field: the object was collected or freed (a weak handle)", "a weak handle of a freed object",
        function() return m:weak(b2).bytes end)
  fails("h:root(obj): the object was freed", "rooting a freed object", function() m:root(b2) end)
  fails("obj[i] = v: the object was freed", "storing a freed object", function() a[1] = b2 end)
  -- New objects may reuse the freed memory; the old slots never reach them.
  local fresh = {}
  for i = 1, 8 do fresh[i] = MNode:new() end
  fails("MNode " .. FREED, "the slot stays freed after new allocations", function() return a[1] end)
  a[1] = fresh[1]
  T.ok(a[1] == fresh[1], "a freed slot takes a new object")
  pair[2] = nil
  T.eq(pair[2], nil, "and nil")
  -- Freeing an object that refers to itself and to others.
  a[1] = a
  fresh[2][1] = a
  m:free(a)
  fails("MNode " .. FREED, "a slot referring to a freed self-referencing object", function() return fresh[2][1] end)
  fails("was freed", "the self-referencing object", function() return a[1] end)
  T.eq(fresh[1][1], nil, "other objects are untouched")
  for i = 1, 8 do m:free(fresh[i]) end
  m:free(pair)
end

-- A model check of the references between manual objects: random stores
-- and frees; every slot reads back as the model says (an object, nil, or
-- the freed error).
do
  math.randomseed(20261205)
  local K = math.max(50, math.floor(400 * T.scale()))
  local R = m:type{ name = "R", refs = 3 }
  local objs, model, freed = {}, {}, {} -- model[i][k]: id, false (nil) or "freed"
  for i = 1, K do objs[i] = R:new(); model[i] = { false, false, false } end
  local bad = 0
  for step = 1, 20 * K do
    local i = math.random(K)
    if objs[i] then
      if math.random() < 0.03 then
        m:free(objs[i])
        objs[i], freed[i] = nil, true
        for j = 1, K do
          for k = 1, 3 do if model[j][k] == i then model[j][k] = "freed" end end
        end
      else
        local j, k = math.random(K), math.random(3)
        if objs[j] and math.random() < 0.9 then
          objs[i][k] = objs[j]; model[i][k] = j
        else
          objs[i][k] = nil; model[i][k] = false
        end
      end
    end
  end
  for i = 1, K do
    if objs[i] then
      for k = 1, 3 do
        local want = model[i][k]
        local ok, got = pcall(function() return objs[i][k] end)
        local good = want == false and ok and got == nil
                     or want == "freed" and not ok and tostring(got):find("refers to an object that was freed", 1, true)
                     or type(want) == "number" and ok and got == objs[want]
        if not good then bad = bad + 1 end
      end
    end
  end
  T.eq(bad, 0, "every slot of the reference model reads back as expected")
  for i = 1, K do if objs[i] then m:free(objs[i]) end end
end
m:close()

-- A slot holds objects of its own kind: collected objects in collected
-- objects, manual in manual (a plan with both).
do
  local g = assert(kiln.heap("marksweep"))
  local M = g:type{ name = "M", refs = 1, role = "manual" }
  local C = g:type{ name = "C", refs = 1 }
  local mo, co = M:new(), C:new()
  fails("cannot store a collected C (role 'objects') in a slot of manual M (role 'manual'): the collector does not scan manual objects",
        "a collected object in a manual slot", function() mo[1] = co end)
  fails("cannot store a manual M (role 'manual') in a slot of collected C (role 'objects'): h:free could not clear that reference",
        "a manual object in a collected slot", function() co[1] = mo end)
  T.eq(mo[1], nil, "the refused store left the manual slot empty")
  T.eq(co[1], nil, "and the collected one")
  local mo2 = M:new()
  mo[1] = mo2
  T.ok(mo[1] == mo2, "manual in manual is fine in a mixed plan")
  g:free(mo2)
  fails("M slot 1 refers to an object that was freed", "freed in a mixed plan", function() return mo[1] end)
  g:close()
end

-- Inside a collection callback of its heap, every heap method, Type:new,
-- object access and kiln.workload is refused with a sentence naming the
-- call; the collection completes and the heap stays usable. Every plan
-- that scans, with a type's scan function and a root scan function.
local RULE = " was called inside a scan or root scan function of the same heap's collection; " ..
             "such a callback may not use its heap (it may only fix references with ss:fix"

-- The calls to try from a callback of heap hh: { name in the message, fn }.
local function heap_calls(hh, Type, obj, weak, root)
  return {
    { "h:close()", function() hh:close() end },
    { "h:collect()", function() hh:collect() end },
    { "h:stats()", function() return hh:stats() end },
    { "h:plan()", function() return hh:plan() end },
    { "h:type{...}", function() return hh:type{ name = "Late" } end },
    { "h:root(obj)", function() hh:root(obj) end },
    { "h:unroot(obj)", function() hh:unroot(obj) end },
    { "h:roots()", function() return hh:roots() end },
    { "h:weak(obj)", function() return hh:weak(obj) end },
    { "h:alive(obj)", function() return hh:alive(weak) end },
    { "h:free(obj)", function() hh:free(obj) end },
    { "h:pointer()", function() return hh:pointer() end },
    { "h:rootscan(fn)", function() return hh:rootscan(function() end) end },
    { "kiln.workload", function() return kiln.workload("churn", hh) end },
    { "Type:new()", function() return Type:new() end },
    { "obj[i]", function() return obj[1] end },
    { "obj.field", function() return obj.bytes end },
    { "obj[k] = v", function() obj[1] = nil end },
    { "#obj", function() return #obj end },
    { "a == b", function() return obj == weak end },
    { "root:remove()", function() root():remove() end },
  }
end

local function callback_case(plan, kind)
  local what = plan .. "/" .. kind
  local hh = assert(kiln.heap(plan))
  local got, armed, raw = {}, false, nil
  local calls
  local function in_callback()
    if armed then
      armed = false
      for _, c in ipairs(calls) do
        local ok, e = pcall(c[2])
        got[c[1]] = ok and "no error" or tostring(e)
      end
    end
    if raw then raw() end -- an unprotected call: the error ends the callback
  end
  local scan = kind == "type scan" and function(ss, o)
    in_callback()
    for i = 1, #o do ss:fix(o, i) end
  end or nil
  local Cell = hh:type{ name = "Cell", refs = 1, bytes = 8, scan = scan }
  local holder, child = Cell:new(), Cell:new()
  holder.bytes, child.bytes = "holder", "child"
  holder[1] = child
  hh:root(holder)
  local wchild = hh:weak(child)
  child = nil
  local r = kind == "root scan" and hh:rootscan(function(ss) in_callback() end) or nil
  local spare = hh:rootscan(function() end)
  calls = heap_calls(hh, Cell, holder, wchild, function() return r or spare end)
  armed = true
  hh:collect()
  T.ok(not armed, what .. ": the callback ran")
  for _, c in ipairs(calls) do
    local msg = got[c[1]] or "not tried"
    T.ok(msg:find(c[1] .. RULE, 1, true) ~= nil, ("%s: %s refused, got %s"):format(what, c[1], msg))
  end
  -- An unprotected call inside the callback: the collection completes and
  -- the error comes back from h:collect().
  raw = function() hh:close() end
  fails("a " .. (kind == "type scan" and "type's scan" or "root scan") ..
        " function failed during a collection", what .. ": unprotected h:close() reported",
        function() hh:collect() end)
  raw = nil
  -- The heap is intact and usable.
  T.ok(hh:alive(wchild) and holder[1] == wchild, what .. ": the held object survived")
  T.eq(holder.bytes:sub(1, 6), "holder", what .. ": bytes intact")
  T.eq(wchild.bytes:sub(1, 5), "child", what .. ": the child's bytes intact")
  local fresh = assert(Cell:new())
  holder[1] = fresh
  hh:collect()
  T.ok(not hh:alive(wchild) and holder[1] == fresh, what .. ": collections still reclaim and keep")
  T.ok(hh:stats().collections >= 3, what .. ": stats after the callbacks")
  hh:close()
end

for _, p in ipairs(kiln.plans()) do
  if not p.error and p.name ~= "manual" then
    callback_case(p.name, "type scan")
    callback_case(p.name, "root scan")
  end
end

-- A Lua finalizer may close a heap while a call on it allocates Lua memory
-- (the finalizer runs inside that allocation): the call then fails with
-- "the heap is closed", never touching the freed heap.
for _, c in ipairs({ { "h:collect()", function(hh) hh:collect() end },
                     { "h:roots()", function(hh) hh:roots() end },
                     { "Type:new()", function(hh, T) T:new() end },
                     { "h:type{...}", function(hh, T, spec) hh:type(spec) end },
                     { "h:rootscan(fn)", function(hh, T, spec, fn) hh:rootscan(fn) end },
                     { "kiln.workload", function(hh, T, spec, fn, params) kiln.workload("churn", hh, params) end } }) do
  local hh = assert(kiln.heap("marksweep"))
  local F = hh:type{ name = "F", refs = 1 }
  for _ = 1, 3 do hh:root(F:new()) end
  local spec, fn = { name = "G", scan = function() end }, function() end
  local params = { live_bytes = 1000, alloc_bytes = 10000 }
  for _ = 1, 20 do setmetatable({}, { __gc = function() hh:close() end }) end
  local ok, e = pcall(function() for _ = 1, 1e6 do c[2](hh, F, spec, fn, params) end end)
  T.ok(not ok and tostring(e):find(c[1] .. ": the", 1, true) and tostring(e):find("heap is closed", 1, true),
       c[1] .. " with a finalizer closing the heap: " .. tostring(e))
end

-- Reading the scanned object inside a scan function is allowed; misuse of
-- ss and the scanned object is a sentence.
do
  local hh = assert(kiln.heap("marksweep"))
  local seen = {}
  local P = hh:type{ name = "P", refs = 1, bytes = 4, scan = function(ss, o)
    seen.bytes, seen.len, seen.type = o.bytes, #o, o.type
    seen.slot = select(2, pcall(function() return o[1] end))
    seen.fixnum = select(2, pcall(ss.fix, ss, o, "one"))
    seen.fixself = select(2, pcall(ss.fix, 5, o, 1))
    seen.fixother = select(2, pcall(ss.fix, ss, 5))
    ss:fix(o, 1)
  end }
  local p = P:new()
  p.bytes = "abcd"
  hh:root(p)
  hh:collect()
  T.eq(seen.bytes, "abcd", "a scan function reads the scanned object's bytes")
  T.eq(seen.len, 1, "and its length")
  T.eq(seen.type, "P", "and its type")
  T.ok(tostring(seen.slot):find("its slots are read with ss:fix(obj, i)", 1, true), "obj[1] in a scan function: " .. tostring(seen.slot))
  T.ok(tostring(seen.fixnum):find("ss:fix(obj, i): i must be a slot number of the scanned object, got string", 1, true), "ss:fix with a string slot: " .. tostring(seen.fixnum))
  T.ok(tostring(seen.fixself):find("ss:fix: expected the scan state as self, got number", 1, true), "ss.fix(5): " .. tostring(seen.fixself))
  T.ok(tostring(seen.fixother):find("ss:fix: expected the scanned object and a slot number, or an object handle, got number", 1, true), "ss:fix(5): " .. tostring(seen.fixother))
  hh:close()
end

h:close()
fails("heap is closed", "object after close", function() return a.bytes end)
fails("heap is closed", "heap method after close", function() return h:type{ name = "Z" } end)
T.done("objects.lua")
