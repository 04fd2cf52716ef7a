-- plan_extends.lua -- extends merges plans; overrides refine them.
local dir = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/"
package.path = dir .. "?.lua;" .. package.path
local T = require "testlib"
local kiln = require "kiln"

local function pool(p, name)
  for _, x in ipairs(p.pools) do if x.name == name then return x end end
end
local function arg_of(x, key)
  for _, a in ipairs(x and x.args or {}) do if a.key == key then return a.value end end
end
local function role(p, name)
  for _, r in ipairs(p.roles) do if r.role == name then return r.pool end end
end
local function arena(p, key)
  for _, a in ipairs(p.arena) do if a.key == key then return a.value end end
end

-- A file plan extending a built-in: same-class pools merge parameters,
-- another class replaces the pool, false removes a pool or a role.
local path = T.plan_file("mine.lua", [[
plan "mine" {
  extends = "manual",
  arena = { reserve = "1GB" },
  pools = {
    cells = mfs { extend_by = "128KB" },   -- keeps unit_size = 64 from manual
    extra = mfs { unit_size = 32 },
  },
  roles = { cells = false, small = "extra" },
}
]])
local p = assert(kiln.resolve(path))
T.eq(p.name, "mine", "name")
T.eq(p.extends, "manual", "extends recorded")
T.eq(p.doc, kiln.resolve("manual").doc, "doc inherited")
T.eq(arg_of(pool(p, "cells"), "unit_size"), 64, "base parameter kept")
T.eq(arg_of(pool(p, "cells"), "extend_by"), 128 * 1024, "parameter refined")
T.eq(arg_of(pool(p, "extra"), "unit_size"), 32, "new pool")
T.eq(pool(p, "manual").class, "mvff", "base pool kept")
T.eq(role(p, "cells"), nil, "role removed with false")
T.eq(role(p, "small"), "extra", "role added")
T.eq(role(p, "objects"), "manual", "base role kept")
T.eq(arena(p, "reserve"), 1 << 30, "arena refined")
T.eq(arena(p, "barrier"), "none", "base arena key kept")

-- Another class replaces a pool wholesale; false removes one.
path = T.plan_file("replace.lua", [[
plan "base" {
  doc = "the base",
  pools = { a = mfs { unit_size = 64 }, b = mvff { }, c = mvff { } },
  roles = { objects = "b" },
}
plan "derived" {
  extends = "base",
  pools = { a = mvff { }, c = false },
}
]])
p = assert(kiln.resolve(path))
T.eq(p.name, "derived", "the last plan of a file is the plan")
T.eq(pool(p, "a").class, "mvff", "class replaced")
T.eq(#pool(p, "a").args, 0, "replaced pool has no old parameters")
T.eq(pool(p, "c"), nil, "pool removed")
T.eq(p.doc, "the base", "doc from a base in the same file")

-- A file may redefine a built-in under the same name.
path = T.plan_file("manual.lua", 'plan "manual" {\n  extends = "manual",\n  pools = { cells = mfs { unit_size = 16 } },\n}\n')
p = assert(kiln.resolve(path))
T.eq(arg_of(pool(p, "cells"), "unit_size"), 16, "same-name extends of a built-in")

-- A role left pointing at a removed pool is caught after merging.
path = T.plan_file("dangling.lua", 'plan "d" {\n  extends = "manual",\n  pools = { cells = false },\n}\n')
T.check_error(kiln, path, "plans/manual.lua:10: plan 'd': role 'cells' names pool 'cells', which does not exist")

-- Extends through two levels, across the built-ins.
if kiln.check("genms") then
  p = assert(kiln.resolve("genms"))
  T.eq(pool(p, "mature").class, "ms", "genms replaces gencopy's mature space")
  T.eq(role(p, "objects"), "young", "genms keeps gencopy's roles")
else
  T.ok(select(2, kiln.check("genms")):find("is not built yet", 1, true), "genms fails clearly")
end

-- sticky: marksweep's pools and roles, its main space given a young generation.
p = assert(kiln.resolve("sticky"))
T.eq(pool(p, "main").class, "ms", "sticky keeps marksweep's ms space")
T.eq(arg_of(pool(p, "main"), "young_size"), 12 << 20, "sticky sets young_size")
T.eq(role(p, "objects"), "main", "sticky keeps marksweep's roles")
p = assert(kiln.resolve("sticky", { ["main.young_size"] = "4MB" }))
T.eq(arg_of(pool(p, "main"), "young_size"), 4 << 20, "young_size overrides like any parameter")
-- sticky-inc: sticky's space with a smaller young generation, marked incrementally.
p = assert(kiln.resolve("sticky-inc"))
T.eq(arg_of(pool(p, "main"), "young_size"), 4 << 20, "sticky-inc sets its own young_size")
T.eq(arg_of(pool(p, "main"), "young_step"), 32 << 10, "sticky-inc sets young_step")
T.eq(role(p, "objects"), "main", "sticky-inc keeps marksweep's roles")
local hi, msgi = kiln.heap("sticky-inc", { ["main.young_size"] = 0 })
T.ok(hi == nil and tostring(msgi):find("young_step", 1, true) ~= nil,
     "young_step without young_size is refused, naming young_step: " .. tostring(msgi))
-- The barrier rule is the pool's, at open; kiln.check opens a trial heap too.
local hb, msgb = kiln.heap("sticky", { ["arena.barrier"] = "none" })
T.ok(hb == nil and tostring(msgb):find("young_size", 1, true) ~= nil,
     "sticky without a barrier is refused at open, naming young_size: " .. tostring(msgb))
local okc, msgc = kiln.check("sticky", { ["arena.barrier"] = "none" })
T.ok(okc == nil and tostring(msgc):find("young_size", 1, true) ~= nil,
     "kiln.check refuses sticky without a barrier, naming young_size: " .. tostring(msgc))
okc, msgc = kiln.check("genms", { ["arena.barrier"] = "none" })
T.ok(okc == nil and tostring(msgc):find("barrier", 1, true) ~= nil,
     "kiln.check refuses genms without a barrier: " .. tostring(msgc))
okc, msgc = kiln.check("marksweep", { ["main.large_size"] = "200KB" })
T.ok(okc == nil and tostring(msgc):find("large_size", 1, true) ~= nil,
     "kiln.check applies the pool's rules between parameters: " .. tostring(msgc))

-- Overrides: dotted keys, sizes as strings or numbers, applied after extends.
p = assert(kiln.resolve("manual", { ["arena.reserve"] = "64MB", ["cells.unit_size"] = 128 }))
T.eq(arena(p, "reserve"), 64 << 20, "arena override")
T.eq(arg_of(pool(p, "cells"), "unit_size"), 128, "pool override")
local ok, msg = kiln.check("manual", { ["arena.reserve"] = "64MB", ["cells.extend_by"] = "1GB" })
T.eq(msg, "plans/manual.lua:7: pool 'cells' (mfs): parameter 'extend_by' is 1GB, larger than the arena's reservation (64MB)",
     "overrides are cross-checked too")
T.eq(ok, nil, "check fails")

-- Overrides reach the heap: the arena reserves what the override says.
local h = assert(kiln.heap("manual", { ["arena.reserve"] = "64MB" }))
T.eq(h:stats().reserved, 64 << 20, "heap reserved follows the override")
T.eq(h:plan(), "manual", "heap plan name")
h:close()

T.done("plan_extends")
