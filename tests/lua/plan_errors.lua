-- plan_errors.lua -- every plan mistake gets its own exact sentence.
local dir = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/"
package.path = dir .. "?.lua;" .. package.path
local T = require "testlib"
local kiln = require "kiln"

local function case(name, text, want)
  local path = T.plan_file(name, text)
  T.check_error(kiln, path, (want:gsub("FILE", path)))
end

-- unknown parameter, with the nearest valid name and the key's own line
case("unknown_param.lua", [[
plan "a" {
  pools = {
    cells = mfs { unit_size = 64 },
    young = mfs {
      unit_sise = 64 },
  },
}
]], "FILE:5: pool 'young' (mfs): unknown parameter 'unit_sise' (did you mean 'unit_size'?)")

-- the example plan of docs/design.md, §Plans and heaps, with a misspelt key
local gen_text = [[
plan "my" {
  pools = {
    mature = ms { },
    young = gen { nursery_size = "4MB",
                  nursry_size = "4MB", promote_to = "mature" },
  },
}
]]
if T.built(kiln, "gen") then
  case("design_example.lua", gen_text,
       "FILE:5: pool 'young' (gen): unknown parameter 'nursry_size' (did you mean 'nursery_size'?)")
else
  case("design_example.lua", gen_text, "FILE:4: pool 'young' (gen): pool class 'gen' is not built yet")
end

-- unknown class: did-you-mean; designed but unbuilt class: not built yet
case("unknown_class.lua", 'plan "b" {\n  pools = { m = mvf { } },\n}\n',
     "FILE:2: unknown name 'mvf' (did you mean 'mvff'?)")
for _, cls in ipairs({ "ms", "copy", "gen" }) do
  if not T.built(kiln, cls) then
    case("unbuilt_" .. cls .. ".lua", ('plan "u" {\n  pools = { p = %s { } },\n}\n'):format(cls),
         ("FILE:2: pool 'p' (%s): pool class '%s' is not built yet"):format(cls, cls))
  end
end

-- sizes: unparseable, negative, larger than the reservation, wrong type
case("bad_size.lua", 'plan "d" {\n  pools = { b = mfs { unit_size = "12XB" } },\n}\n',
     [[FILE:2: pool 'b' (mfs): parameter 'unit_size': "12XB" is not a size (a size is a number of bytes or a string such as "512B", "64KB", "4MB", "1GB")]])
case("negative_size.lua", 'plan "e" {\n  pools = { b = mfs { unit_size = -5 } },\n}\n',
     "FILE:2: pool 'b' (mfs): parameter 'unit_size': size -5 is negative")
case("negative_string.lua", 'plan "e" {\n  pools = { b = mfs { unit_size = "-5KB" } },\n}\n',
     [[FILE:2: pool 'b' (mfs): parameter 'unit_size': size "-5KB" is negative]])
case("absurd_size.lua", [[
plan "f" {
  arena = { reserve = "64MB" },
  pools = { b = mfs { extend_by = "1GB" } },
}
]], "FILE:3: pool 'b' (mfs): parameter 'extend_by' is 1GB, larger than the arena's reservation (64MB)")
case("fraction_size.lua", 'plan "f" {\n  pools = { b = mfs { unit_size = 1.5 } },\n}\n',
     "FILE:2: pool 'b' (mfs): parameter 'unit_size': size 1.5 is not a whole number of bytes")
case("wrong_type.lua", 'plan "w" {\n  pools = { b = mfs { unit_size = true } },\n}\n',
     [[FILE:2: pool 'b' (mfs): parameter 'unit_size': expects a size, got a boolean (a size is a number of bytes or a string such as "512B", "64KB", "4MB", "1GB")]])
case("wrong_top_type.lua", 'plan "o" {\n  pools = { a = mvff { } },\n  barrier = 5,\n}\n',
     "FILE:3: plan 'o': 'barrier' expects a string, got a number")
case("not_constructor.lua", 'plan "o" {\n  pools = { a = { } },\n}\n',
     "FILE:2: pool 'a': expected a pool constructor such as mvff { ... }, got a table")
case("bad_barrier.lua", 'plan "j" {\n  pools = { a = mvff { } },\n  barrier = "cards",\n}\n',
     "FILE:3: plan 'j': unknown barrier 'cards' (did you mean 'card'?)")
case("bad_trigger.lua", 'plan "t" {\n  pools = { a = mvff { } },\n  trigger = { growht = 2 },\n}\n',
     "FILE:3: plan 't': trigger: unknown key 'growht' (did you mean 'growth'?)")
case("format_param.lua", 'plan "n" {\n  pools = { a = ms { format = 1 } },\n}\n',
     T.built(kiln, "ms")
       and "FILE:2: pool 'a' (ms): parameter 'format': supplied by the heap (the format given to kiln_heap_open), not by the plan"
       or "FILE:2: pool 'a' (ms): pool class 'ms' is not built yet")

-- unknown top-level and arena keys
case("unknown_top.lua", 'plan "i" {\n  doc = "x",\n  pols = { a = mvff { } },\n}\n',
     "FILE:3: plan 'i': unknown key 'pols' (did you mean 'pools'?)")
case("unknown_arena.lua", 'plan "i" {\n  arena = { reserv = "1GB" },\n  pools = { a = mvff { } },\n}\n',
     "FILE:2: plan 'i': arena: unknown parameter 'reserv' (did you mean 'reserve'?)")

-- roles: a missing pool, no pool at all
case("role_missing_pool.lua", 'plan "g" {\n  pools = { young = mvff { } },\n  roles = { objects = "yung" },\n}\n',
     "FILE:3: plan 'g': role 'objects' names pool 'yung', which does not exist (did you mean 'young'?)")
case("role_no_pool.lua", 'plan "h" {\n  pools = { a = mvff { } },\n  roles = { manual = "" },\n}\n',
     "FILE:3: plan 'h': role 'manual' has no pool (give it the name of one of the plan's pools)")
case("role_wrong_type.lua", 'plan "h" {\n  pools = { a = mvff { } },\n  roles = { manual = 3 },\n}\n',
     [[FILE:3: plan 'h': role 'manual' expects the name of a pool or a table { pool = "name", rank = "weak" }, got a number]])

-- role tables: { pool = "name", rank = "weak" }
case("role_table_key.lua", 'plan "k" {\n  pools = { a = mvff { } },\n  roles = {\n    weak = { pool = "a", rak = "weak" } },\n}\n',
     "FILE:4: plan 'k': role 'weak': unknown key 'rak' (did you mean 'rank'?)")
case("role_table_odd_key.lua", 'plan "k" {\n  pools = { a = mvff { } },\n  roles = { weak = { pool = "a", colour = 1 } },\n}\n',
     "FILE:3: plan 'k': role 'weak': unknown key 'colour' (a role table takes pool and rank)")
case("role_table_positional.lua", 'plan "k" {\n  pools = { a = mvff { } },\n  roles = { weak = { "a" } },\n}\n',
     [[FILE:3: plan 'k': role 'weak': a role table's fields are named (pool = "name", rank = "weak"), got a positional value]])
case("role_table_no_pool.lua", 'plan "k" {\n  pools = { a = mvff { } },\n  roles = { weak = { rank = "weak" } },\n}\n',
     [[FILE:3: plan 'k': role 'weak' has no pool (give its table pool = "name", the name of one of the plan's pools)]])
case("role_table_pool_type.lua", 'plan "k" {\n  pools = { a = mvff { } },\n  roles = { weak = { pool = 7 } },\n}\n',
     "FILE:3: plan 'k': role 'weak': pool expects the name of a pool, got a number")
case("role_table_bad_pool.lua", 'plan "k" {\n  pools = { main = mvff { } },\n  roles = { weak = { pool = "man", rank = "weak" } },\n}\n',
     "FILE:3: plan 'k': role 'weak' names pool 'man', which does not exist (did you mean 'main'?)")
case("role_rank_typo.lua", 'plan "k" {\n  pools = { a = mvff { } },\n  roles = { weak = { pool = "a", rank = "wek" } },\n}\n',
     [[FILE:3: plan 'k': role 'weak': unknown rank "wek" (did you mean 'weak'?)]])
case("role_rank_other.lua", 'plan "k" {\n  pools = { a = mvff { } },\n  roles = { weak = { pool = "a", rank = "ambiguous" } },\n}\n',
     [[FILE:3: plan 'k': role 'weak': unknown rank "ambiguous" (a role's rank is "exact" or "weak")]])
case("role_rank_type.lua", 'plan "k" {\n  pools = { a = mvff { } },\n  roles = { weak = { pool = "a", rank = true } },\n}\n',
     [[FILE:3: plan 'k': role 'weak': rank expects "exact" or "weak", got a boolean]])
case("role_constructor.lua", 'plan "k" {\n  pools = { a = mvff { } },\n  roles = { weak = mvff { } },\n}\n',
     [[FILE:3: plan 'k': role 'weak' expects the name of a pool or a table { pool = "name", rank = "weak" }, got a pool constructor]])
-- a weak role on a manual pool, also when a derived plan makes the pool manual
case("role_weak_manual.lua", 'plan "k" {\n  pools = { m = mvff { } },\n  roles = {\n    cache = { pool = "m", rank = "weak" } },\n}\n',
     "FILE:4: plan 'k': role 'cache' is weak, but its pool 'm' is of manual class 'mvff', which has no allocation points (a weak role needs an automatic pool)")
case("role_weak_manual_derived.lua", 'plan "k" {\n  extends = "marksweep",\n  pools = { main = mvff { } },\n}\n',
     "plans/marksweep.lua:10: plan 'k': role 'weak' is weak, but its pool 'main' is of manual class 'mvff', which has no allocation points (a weak role needs an automatic pool)")

-- extends: a cycle, an unknown base
case("extends_cycle.lua", 'plan "x" { extends = "y", pools = { a = mvff { } } }\nplan "y" { extends = "x" }\n',
     "FILE:2: plan 'y': cycle in extends: y -> x -> y")
case("extends_self.lua", 'plan "z" {\n  pools = { a = mvff { } },\n}\nplan "q" {\n  extends = "q",\n}\n',
     "FILE:5: plan 'q': extends 'q', which is not a plan")
case("extends_unknown.lua", 'plan "q" {\n  extends = "gencopi",\n}\n',
     "FILE:2: plan 'q': extends 'gencopi', which is not a plan (did you mean 'gencopy'?)")

-- promotion: a missing target, a cycle (need the generational class)
if T.built(kiln, "gen") then
  case("promote_missing.lua", 'plan "p" {\n  pools = {\n    young = gen { promote_to = "matur" },\n    mature = ms { } },\n}\n',
       "FILE:3: pool 'young' (gen): promote_to names pool 'matur', which does not exist (did you mean 'mature'?)")
  case("promote_cycle.lua", 'plan "p" {\n  pools = {\n    a = gen { promote_to = "b" },\n    b = gen { promote_to = "a" } },\n}\n',
       "FILE:3: pool 'a' (gen): cycle in promotion: a -> b -> a")
else
  case("promote_missing.lua", 'plan "p" {\n  pools = {\n    young = gen { promote_to = "matur" } },\n}\n',
       "FILE:3: pool 'young' (gen): pool class 'gen' is not built yet")
end

-- shape mistakes
case("no_plan.lua", 'local x = 1\n', "FILE: defines no plan (expected plan \"name\" { ... })")
case("no_pools.lua", 'plan "e" {\n  doc = "empty",\n}\n', "FILE:1: plan 'e' has no pools")
case("plan_no_name.lua", 'plan { pools = {} }\n',
     'FILE:1: plan expects a name first: plan "name" { ... }, got a table')
case("twice.lua", 'plan "a" { pools = { a = mvff {} } }\nplan "a" { pools = { a = mvff {} } }\n',
     "FILE:2: plan 'a' is defined twice (first at line 1)")
case("syntax.lua", 'plan "s" {\n  pools = { a = mvff { } \n}\n',
     "FILE:4: '}' expected (to close '{' at line 1) near <eof>")

-- the sandbox: no io/os/require/load, and budgets end runaway plans
for _, name in ipairs({ "io", "os", "require", "load", "dofile", "debug", "collectgarbage" }) do
  case("sandbox_" .. name .. ".lua", ("local x = %s\n"):format(name),
       ("FILE:1: unknown name '%s' (plans run in a sandbox without io, os, require, load, dofile or debug)"):format(name))
end
case("string_dump.lua", 'local d = string.dump\nplan "s" { doc = tostring(d), pools = { a = mvff {} } }\n', "ok")
case("forever.lua", "local n = 0\nwhile true do n = n + 1 end\n",
     "FILE:2: plan exceeded its instruction budget (20 million instructions)")
case("memory.lua", 'local t = {}\nfor i = 1, 1e8 do t[i] = string.rep("x", 100) .. i end\n',
     "FILE: plan exceeded its memory budget (32 MB)")
case("no_file.lua", "", "FILE: defines no plan (expected plan \"name\" { ... })")
T.eq(select(2, kiln.check(T.plan_file("x", "") .. ".missing.lua")):match("^cannot read plan file"),
     "cannot read plan file", "missing file")
T.eq(select(2, kiln.check("gencopi")),
     "no built-in plan 'gencopi' (did you mean 'gencopy'?), and no plan file of that name (built-in plans: manual, marksweep, semispace, gencopy, genms, sticky, sticky-inc)",
     "unknown built-in")

-- plan paths that are no plan source: a directory, compiled Lua
local dir_path = T.plan_file("probe.lua", ""):gsub("probe%.lua$", "a_directory.lua")
assert(os.execute("mkdir -p '" .. dir_path .. "'"))
T.eq(select(2, kiln.check(dir_path)), ("cannot read plan file '%s': it is a directory"):format(dir_path),
     "directory")
case("bytecode.lua", string.dump(load('plan "b" { pools = { a = mvff { } } }')),
     "FILE: is compiled Lua (a binary chunk); a plan file is Lua source text")

-- the library's own functions stay bounded: string.rep past the memory
-- budget says so where it is called; patterns within the budget work and
-- keep their location on errors
case("rep_huge.lua", 'local x = 1\nlocal s = string.rep("ab", 1e10)\n',
     "FILE:2: string.rep: plan exceeded its memory budget (32 MB): the result would be 2e+10 bytes")
case("rep_method.lua", 'local s = ("x"):rep(1e6)\nlocal t = s:rep(40)\n',
     "FILE:2: string.rep: plan exceeded its memory budget (32 MB): the result would be 4e+07 bytes")
case("patterns_ok.lua", [[
local n, unit = ("64KB"):match("^(%d+)(%a+)$")
local parts = {}
for w in ("a, b,c"):gmatch("%s*([^,]+)") do parts[#parts + 1] = w end
local s = (" x "):gsub("^%s*(.-)%s*$", "%1")
local at = ("y"):rep(1000):find(".-z")
plan "ok" {
  doc = s .. #parts .. tostring(at),
  pools = { a = mvff { extend_by = n .. unit } },
}
]], "ok")
case("pattern_malformed.lua", 'local x = 1\nlocal i = string.find("x", "[")\n',
     "FILE:2: malformed pattern (missing ']')")
case("pattern_bad_argument.lua", 'local x = 1\nlocal i = string.find(nil, "x")\n',
     "FILE:2: bad argument #1 to 'find' (string expected, got nil)")
case("gsub_bad_argument.lua", 'local x = 1\nlocal s = ("x"):gsub("x", true)\n',
     "FILE:2: bad argument #2 to 'gsub' (string/function/table expected, got boolean)")
case("gsub_callback_error.lua", 'local x = 1\nlocal s = ("x"):gsub("x", function() error("boom") end)\n',
     "FILE:2: boom")

-- constructor results are data: a changed field is named, never the DSL's insides
local function tampered(name, change, want)
  case(name, "local p = mvff { }\n" .. change .. "\nplan \"t\" {\n  pools = { a = p },\n}\n",
       "FILE:4: pool 'a': the pool constructor's result was changed: " .. want
         .. " (use what the constructor returns as it is)")
end
tampered("tamper_class.lua", 'p.class = "zzz"', [[its 'class' is "zzz", expected the name of a pool class]])
tampered("tamper_class_type.lua", "p.class = 5", "its 'class' is 5, expected the name of a pool class")
tampered("tamper_params.lua", "p.params = 5", "its 'params' is 5, expected a table of parameters")
tampered("tamper_params_pool.lua", "p.params = mvff { }",
         "its 'params' is a pool constructor, expected a table of parameters")
tampered("tamper_file.lua", "p.file = {}", "its 'file' is a table, expected the name of the plan file")
tampered("tamper_line.lua", 'p.line = "x"', [[its 'line' is "x", expected a line number]])
tampered("tamper_extra.lua", "p.colour = 1", "it has a field 'colour' no constructor makes")
case("plan_of_constructor.lua", 'plan "c" (mvff { })\n',
     'FILE:1: plan \'c\' expects a table: plan "c" { ... }, got a pool constructor')

-- huge unknown keys and names: no suggestion search, a clipped echo
local x64, y64, z64 = ("x"):rep(64), ("y"):rep(64), ("z"):rep(64)
case("huge_key.lua", 'local k = string.rep("x", 300000)\nplan "k" {\n  pools = { a = mvff { [k] = 1 } },\n}\n',
     "FILE:3: pool 'a' (mvff): unknown parameter '" .. x64 .. "...'")
case("huge_top_key.lua", 'plan "k" {\n  [string.rep("y", 300000)] = 1,\n  pools = { a = mvff { } },\n}\n',
     "FILE:1: plan 'k': unknown key '" .. y64 .. "...'")
case("huge_name.lua", "local x = " .. ("z"):rep(300000) .. "\n", "FILE:1: unknown name '" .. z64 .. "...'")
case("huge_extends.lua", 'plan (string.rep("p", 300000)) { pools = { a = mvff { } } }\n'
     .. 'plan "q" { extends = string.rep("p", 299999) .. "q" }\n',
     "FILE:2: plan 'q': extends '" .. ("p"):rep(64) .. "...', which is not a plan")

-- NaN and infinities read as nan and inf
case("nan_growth.lua", 'plan "n" {\n  arena = { growth = 0/0 },\n  pools = { a = mvff { } },\n}\n',
     "FILE:2: plan 'n': arena: parameter 'growth': the value is not a number (nan)")
case("inf_growth.lua", 'plan "n" {\n  arena = { growth = math.huge },\n  pools = { a = mvff { } },\n}\n',
     "FILE:2: plan 'n': arena: parameter 'growth': inf is above the maximum 1000")
case("nan_size.lua", 'plan "n" {\n  pools = { a = mfs { unit_size = 0/0 } },\n}\n',
     "FILE:2: pool 'a' (mfs): parameter 'unit_size': size nan is not a number")
case("neg_inf_size.lua", 'plan "n" {\n  pools = { a = mfs { unit_size = -math.huge } },\n}\n',
     "FILE:2: pool 'a' (mfs): parameter 'unit_size': size -inf is negative")

-- what the arena or a pool class refuses when the heap opens: said once,
-- at the line that set it (or the override that did)
local function check_paged(spec, want, overrides)
  local ok, got = kiln.check(spec, overrides)
  T.eq(ok and "ok" or got:gsub("one page %(%d+%)$", "one page (PAGE)"), want, "check " .. spec)
end
local limit_path = T.plan_file("commit_limit.lua", 'plan "c" {\n  doc = "x",\n  arena = {\n    commit_limit = 1,\n  },\n'
                                 .. '  pools = { a = mvff { } },\n}\n')
check_paged(limit_path, limit_path .. ":4: plan 'c': arena: parameter 'commit_limit' is 1, less than one page (PAGE)")
check_paged("manual", "override 'arena.commit_limit': plan 'manual': arena: parameter 'commit_limit' is 1, "
              .. "less than one page (PAGE)", { ["arena.commit_limit"] = 1 })
case("pool_refused.lua", 'plan "r" {\n  pools = {\n    a = mvff { large_size = "64MB" },\n  },\n}\n',
     "FILE:3: plan 'r': pool 'a' (mvff): large_size (67108864) is larger than extend_by (65536); "
       .. "every small block must fit in one segment")
T.ok(select(2, kiln.check("sticky", { ["arena.barrier"] = "none" }))
       :match("^plans/sticky%.lua:%d+: plan 'sticky': pool 'main' %(ms%): young_size makes a generational pool"),
     "built-in plan's pool refused: its file and line, one prefix")

-- overrides are validated the same way
T.eq(select(2, kiln.check("manual", { ["cells.unit_sise"] = 32 })),
     "override 'cells.unit_sise': pool 'cells' (mfs): unknown parameter 'unit_sise' (did you mean 'unit_size'?)",
     "override unknown key")
T.eq(select(2, kiln.check("manual", { ["cels.unit_size"] = 32 })),
     "override 'cels.unit_size': plan 'manual' has no pool 'cels' (did you mean 'cells'?)",
     "override unknown pool")
T.eq(select(2, kiln.check("manual", { ["arena.reserve"] = "12XB" })),
     [[override 'arena.reserve': arena: parameter 'reserve': "12XB" is not a size (a size is a number of bytes or a string such as "512B", "64KB", "4MB", "1GB")]],
     "override bad size")
T.eq(select(2, kiln.check("manual", { ["arena.reserve"] = "64MB", ["manual.extend_by"] = 1 })) ~= nil, true,
     "override unknown mvff key fails")
T.eq(select(2, kiln.check("manual", { reserve = 1 })),
     "override 'reserve': expected 'arena.<parameter>' or '<pool>.<parameter>'", "override without a dot")

T.done("plan_errors")
