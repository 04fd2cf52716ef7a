-- module.lua -- the shape of the kiln module's answers.
local dir = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/"
package.path = dir .. "?.lua;" .. package.path
local T = require "testlib"
local kiln = require "kiln"

T.eq(type(kiln.version), "string", "version")

local names = {}
for _, p in ipairs(kiln.plans()) do
  names[#names + 1] = p.name
  T.ok(type(p.doc) == "string" and #p.doc > 0, "plan " .. p.name .. " has a doc line")
end
T.eq(table.concat(names, ","), "manual,marksweep,semispace,gencopy,genms,sticky,sticky-inc", "built-in plans")

local c = assert(kiln.describe("mfs"))
T.eq(c.kind, "class", "describe class kind")
T.eq(c.automatic, false, "mfs is manual")
T.eq(c.params[1].key, "unit_size", "mfs parameters come from the class")
local a = assert(kiln.describe("arena"))
T.eq(a.kind, "arena", "describe arena")
T.ok(#a.params >= 5, "arena parameters")
local p = assert(kiln.describe("manual"))
T.eq(p.kind, "plan", "describe plan")
T.eq(p.file, "plans/manual.lua", "built-in plans name their file")
for _, cls in ipairs({ "ms", "copy", "gen" }) do
  local d, why = kiln.describe(cls)
  T.ok(d ~= nil or why == ("pool class '%s' is not built yet"):format(cls), "describe " .. cls)
end
T.eq(select(2, kiln.describe("nosuch")),
     "no built-in plan 'nosuch', and no plan file of that name (built-in plans: manual, marksweep, semispace, gencopy, genms, sticky, sticky-inc)",
     "describe unknown")

T.eq(#kiln.classes() >= 2, true, "classes")
T.eq(table.concat(kiln.workloads(), ","), "gcbench,binarytrees,churn,quads,fields", "workloads")
T.eq(kiln.size("4MB"), 4 << 20, "size")
T.eq(kiln.size(100), 100, "size number")
-- the library's size reader (kiln_size_value), with the plans' checks
T.eq(kiln.size("1e3"), 1000, "size with an exponent")
T.eq(kiln.size(" 1.5 kb "), 1536, "size with a fraction, blanks and a lower-case unit")
T.eq(select(2, kiln.size("1.5B")), 'size "1.5B" is not a whole number of bytes', "size not whole")
T.eq(select(2, kiln.size("inf")),
     '"inf" is not a size (a size is a number of bytes or a string such as "512B", "64KB", "4MB", "1GB")',
     "size inf")
local n, why = kiln.size("12XB")
T.eq(n, nil, "bad size")
T.ok(why:find("is not a size", 1, true), "bad size says why")
T.eq(kiln.check("manual"), true, "check built-in")
T.ok(not pcall(kiln.check), "check without argument raises")
T.ok(not pcall(kiln.heap, "manual", { [1] = 2 }), "positional override raises")
T.ok(kiln.rusage().maxrss > 0, "rusage")
T.ok(kiln.clock() > 0, "clock")

T.done("module")
