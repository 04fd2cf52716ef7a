-- objects.lua -- scripted heap objects (issue 6): fields, handles across
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
m:close()

h:close()
fails("heap is closed", "object after close", function() return a.bytes end)
fails("heap is closed", "heap method after close", function() return h:type{ name = "Z" } end)
T.done("objects.lua")
