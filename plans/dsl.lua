-- dsl.lua -- the plan language: constructors, validation, extends, overrides.
--
-- Owns: evaluating plan sources in a sandbox environment, checking every key
-- and value against the parameter tables the C side hands over (the classes'
-- own tables: this file never lists parameter keys), merging `extends`,
-- applying dotted overrides and the cross-checks (roles, promotion, sizes).
--
-- Runs inside the sandboxed lua_State built by plan.c. This chunk is loaded
-- while the state still has `debug` and `load`; it keeps private references
-- to them and plan.c removes them from the globals before any plan runs, so
-- plan code can reach neither. It keeps the string library's own functions
-- too: plan.c then replaces string.find and its kin by bounded versions for
-- the plans. Whatever a plan hands over (its plan table, what a constructor
-- returned) is data to check, never trusted: the plan may have changed it.
-- Every error is raised as a finished sentence (error(msg, 0)); plan.c turns
-- it into KILN_PARAM.
--
-- Called as dsl(host) where host holds the C helpers:
--   host.params(name)   parameter list of a built class ("arena": the arena's),
--                       nil when the class is not built
--   host.classes()      names of the built classes
--   host.builtin(name)  source of a built-in plan, or nil
--   host.builtins()     names of the built-in plans
--   host.readfile(path) source of a plan file, or nil, message, missing
--                       (missing: true when there is no such file)
--   host.size(text)     the bytes a size text names (a float), or nil when
--                       the text is not of a size's form
--   host.nearest(word, names)  the name of the array nearest to word, or nil
--   host.automatic(name) whether built class name is automatic (collected),
--                       nil when the class is not built
-- Returns the api table (see the end of the file).

local host = ...
local getinfo, load = debug.getinfo, load
local fmt, sfind, ssub, smatch = string.format, string.find, string.sub, string.match
local slower, srep, gsub, gmatch = string.lower, string.rep, string.gsub, string.gmatch
local concat, sort, insert = table.concat, table.sort, table.insert
local type, pairs, ipairs, error, tostring = type, pairs, ipairs, error, tostring
local setmetatable, getmetatable, rawget, select = setmetatable, getmetatable, rawget, select
local mtype, floor, huge = math.type, math.floor, math.huge

-- Designed pool classes: a plan may name them before they are built, and then
-- gets "not built yet" instead of "unknown". Built classes are added from host.
local DESIGNED = { "mfs", "mvff", "ms", "copy", "gen" }
local TOP_KEYS = { "doc", "arena", "pools", "roles", "barrier", "trigger", "extends" }
local TRIGGER_KEYS = { growth = "growth" }   -- trigger key -> arena parameter
local BARRIERS = { "card", "none" }
local LATER_BARRIERS = { protect = true }
local MAX_SIZE = 2 ^ 53
local ECHO_MAX = 64          -- bytes of a plan's own text a message repeats
local SANDBOXED = { io = true, os = true, require = true, load = true, loadfile = true,
                    dofile = true, debug = true, collectgarbage = true, package = true,
                    loadstring = true }

---------------------------------------------------------------------------
-- small helpers

local function fail(...) error(fmt(...), 0) end

-- s, cut to ECHO_MAX bytes for a message.
local function clip(s)
  s = tostring(s)
  if #s <= ECHO_MAX then return s end
  return ssub(s, 1, ECHO_MAX) .. "..."
end

local function keys_of(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  sort(ks, function(a, b) return tostring(a) < tostring(b) end)
  return ks
end

-- " (did you mean 'x'?)" for the nearest candidate, or "" if none is near:
-- the library's rule (host.nearest, kiln_nearest_name), so plans and the
-- C API suggest alike.
local function suggest(word, candidates)
  if type(word) ~= "string" then return "" end
  local best = host.nearest(word, candidates)
  return best and fmt(" (did you mean '%s'?)", best) or ""
end

-- v as a message shows it: a string quoted (and clipped), NaN as "nan"
-- whatever its sign bit, infinities as "inf" and "-inf", a whole float
-- without ".0".
local function show(v)
  if type(v) == "string" then
    if #v > ECHO_MAX then return fmt("%q", ssub(v, 1, ECHO_MAX)) .. "..." end
    return fmt("%q", v)
  end
  if v ~= v then return "nan" end
  if v == huge then return "inf" end
  if v == -huge then return "-inf" end
  if mtype(v) == "float" and v == floor(v) and v > -MAX_SIZE and v < MAX_SIZE then return fmt("%d", v) end
  return tostring(v)
end

local function typename(v)
  local mt = type(v) == "table" and getmetatable(v)
  if mt and mt.pool_class then return "a pool constructor" end
  if type(v) == "table" then return "a table" end
  if type(v) == "nil" then return "nothing" end
  return type(v) == "number" and "a number" or fmt("a %s", type(v))
end

-- "4MB" -> 4194304: the text is read by the library's one size parser
-- (host.size, kiln_size_value); the checks of the value and their
-- sentences are the plans'.
local SIZE_HELP = 'a size is a number of bytes or a string such as "512B", "64KB", "4MB", "1GB"'

local function parse_size(v)
  local n
  if type(v) == "number" then
    n = v
  elseif type(v) == "string" then
    if smatch(v, "^%s*%-") then return nil, fmt("size %s is negative", show(v)) end
    n = host.size(v)
    if not n then return nil, fmt("%s is not a size (%s)", show(v), SIZE_HELP) end
  else
    return nil, fmt("expects a size, got %s (%s)", typename(v), SIZE_HELP)
  end
  if n ~= n then return nil, fmt("size %s is not a number", show(v)) end
  if n < 0 then return nil, fmt("size %s is negative", show(v)) end
  if n ~= floor(n) then return nil, fmt("size %s is not a whole number of bytes", show(v)) end
  if n >= MAX_SIZE then return nil, fmt("size %s is absurdly large", show(v)) end
  return floor(n) // 1
end

local function size_text(n)
  for _, u in ipairs({ { "GB", 1024 ^ 3 }, { "MB", 1024 ^ 2 }, { "KB", 1024 } }) do
    if n >= u[2] and n % u[2] == 0 then return fmt("%d%s", n // u[2], u[1]) end
  end
  return fmt("%dB", n)
end

---------------------------------------------------------------------------
-- where things are: file and line of a definition, line of a key in it

local sources = {}   -- file -> array of lines

local function split_lines(src)
  local lines = {}
  for l in gmatch(src .. "\n", "([^\n]*)\n") do lines[#lines + 1] = l end
  return lines
end

-- The line of `key = ...` at or after line `from` in `file` (a table field
-- has no line of its own in Lua; the source text has it). Falls back to from.
-- Only a name (at most ECHO_MAX bytes) is looked for, so each search is
-- linear in the lines it reads.
local function key_line(file, from, key)
  local lines = sources[file]
  if not lines or type(key) ~= "string" or #key > ECHO_MAX or not smatch(key, "^[%a_][%w_]*$")
     or mtype(from) ~= "integer" then
    return from
  end
  local pat = "%f[%w_]" .. gsub(key, "%p", "%%%0") .. "%f[^%w_]%s*=[^=]"
  for i = from, math.min(#lines, from + 200) do
    if sfind(lines[i] .. " ", pat) then return i end
  end
  return from
end

local function at(file, line) return fmt("%s:%d: ", file, line) end

-- The line of `key` inside field `section` of definition d.
local function sub_line(d, section, key)
  return key_line(d.file, key_line(d.file, d.line, section), key)
end

---------------------------------------------------------------------------
-- parameter tables (from C; never listed here)

local param_cache = {}
local function params_of(name)
  local ps = param_cache[name]
  if ps == nil then
    ps = host.params(name) or false
    if ps then
      ps.by_key, ps.keys = {}, {}
      for _, p in ipairs(ps) do ps.by_key[p.key] = p; ps.keys[#ps.keys + 1] = p.key end
    end
    param_cache[name] = ps
  end
  return ps or nil
end

local function known_classes()
  local names, seen = {}, {}
  for _, n in ipairs(DESIGNED) do names[#names + 1] = n; seen[n] = true end
  for _, n in ipairs(host.classes()) do
    if not seen[n] then names[#names + 1] = n; seen[n] = true end
  end
  return names
end

-- Check one value against parameter p; returns the normalised value or nil, why.
local function check_value(p, v)
  local t = p.type
  if t == "size" then
    local n, why = parse_size(v)
    if not n then return nil, why end
    if p.min and n < p.min then return nil, fmt("%s is below the minimum %s", show(v), size_text(p.min)) end
    if p.max and p.max > 0 and n > p.max then
      return nil, fmt("%s is above the maximum %s", show(v), size_text(p.max))
    end
    return n
  elseif t == "num" then
    if type(v) ~= "number" then return nil, fmt("expects a number, got %s", typename(v)) end
    if v ~= v then return nil, "the value is not a number (nan)" end
    if p.min and v < p.min then return nil, fmt("%s is below the minimum %s", show(v), show(p.min)) end
    if p.max and p.max > 0 and v > p.max then return nil, fmt("%s is above the maximum %s", show(v), show(p.max)) end
    return v
  elseif t == "bool" then
    if type(v) ~= "boolean" then return nil, fmt("expects true or false, got %s", typename(v)) end
    return v
  elseif t == "str" then
    if type(v) ~= "string" then return nil, fmt("expects a string, got %s", typename(v)) end
    return v
  elseif p.key == "promote_to" then
    if type(v) ~= "string" then return nil, fmt("expects the name of a pool, got %s", typename(v)) end
    return v
  elseif p.key == "format" then
    return nil, "supplied by the heap (the format given to kiln_heap_open), not by the plan"
  end
  return nil, "takes a pointer, which a plan cannot give"
end

-- Validate params table `given` of class `cls` for pool `pname`; where(key)
-- gives the message prefix. Returns a new table of normalised values.
local function check_params(cls, given, where)
  local ps = params_of(cls)
  local out = {}
  for _, k in ipairs(keys_of(given)) do
    local v = given[k]
    local p = type(k) == "string" and ps.by_key[k]
    if not p then
      if type(k) ~= "string" then
        fail("%sparameters are named (key = value), got a positional value %s", where(nil), show(v))
      end
      fail("%sunknown parameter '%s'%s", where(k), clip(k), suggest(k, ps.keys))
    end
    local nv, why = check_value(p, v)
    if nv == nil then fail("%sparameter '%s': %s", where(k), k, why) end
    out[k] = nv
  end
  return out
end

---------------------------------------------------------------------------
-- the sandbox environment: plan and one constructor per class

local POOL_MT = { pool_class = true }
local defs          -- plan definitions of the source being evaluated, in order

local function caller() -- file and line of the plan code calling a constructor
  local info = getinfo(3, "Sl")
  return info and info.short_src or "?", info and info.currentline or 0
end

local function constructor(cls)
  return function(t)
    local file, line = caller()
    if type(t) ~= "table" or getmetatable(t) then
      fail("%s%s expects a table of parameters: %s { key = value, ... }", at(file, line), cls, cls)
    end
    return setmetatable({ class = cls, params = t, file = file, line = line }, POOL_MT)
  end
end

local function plan_fn(name)
  local file, line = caller()
  if type(name) ~= "string" or name == "" then
    fail('%splan expects a name first: plan "name" { ... }, got %s', at(file, line), typename(name))
  end
  return function(t)
    if type(t) ~= "table" or getmetatable(t) then
      fail('%splan \'%s\' expects a table: plan "%s" { ... }, got %s', at(file, line), clip(name), clip(name),
           typename(t))
    end
    for _, d in ipairs(defs) do
      if d.name == name then fail("%splan '%s' is defined twice (first at line %d)", at(file, line), name, d.line) end
    end
    defs[#defs + 1] = { name = name, t = t, file = file, line = line }
  end
end

local function copy_lib(lib)
  local c = {}
  for k, v in pairs(lib) do c[k] = v end
  return c
end

local function new_env()
  local env = { plan = plan_fn }
  for _, n in ipairs(known_classes()) do env[n] = constructor(n) end
  for _, n in ipairs({ "string", "math", "table", "utf8" }) do env[n] = copy_lib(_G[n]) end
  for _, n in ipairs({ "pairs", "ipairs", "type", "tostring", "tonumber", "select", "next",
                       "error", "assert", "rawequal", "rawlen" }) do
    env[n] = _G[n]
  end
  local names = keys_of(env)
  return setmetatable(env, { __index = function(_, k)
    local info = getinfo(2, "Sl")
    local where = info and at(info.short_src, info.currentline) or ""
    local hint = type(k) == "string" and suggest(k, names) or ""
    if SANDBOXED[k] then
      hint = " (plans run in a sandbox without io, os, require, load, dofile or debug)"
    end
    fail("%sunknown name '%s'%s", where, clip(k), hint)
  end })
end

-- Evaluate one plan source; returns its definitions in order.
local function evaluate(src, file)
  if ssub(src, 1, 1) == "\27" then
    fail("%s: is compiled Lua (a binary chunk); a plan file is Lua source text", file)
  end
  sources[file] = split_lines(src)
  local chunk, msg = load(src, "@" .. file, "t", new_env())
  if not chunk then error(msg, 0) end
  defs = {}
  chunk()
  local out = defs
  defs = nil
  if #out == 0 then fail("%s: defines no plan (expected plan \"name\" { ... })", file) end
  return out
end

---------------------------------------------------------------------------
-- one definition -> a validated plan (before extends is merged)

local function check_top(d)
  local t = d.t
  for _, k in ipairs(keys_of(t)) do
    local where = at(d.file, key_line(d.file, d.line, k)) .. fmt("plan '%s': ", d.name)
    if type(k) ~= "string" then fail("%sfields are named (key = value), got a positional value", where) end
    local found = false
    for _, tk in ipairs(TOP_KEYS) do found = found or tk == k end
    if not found then fail("%sunknown key '%s'%s", where, clip(k), suggest(k, TOP_KEYS)) end
    local v = t[k]
    local want = (k == "doc" or k == "barrier" or k == "extends") and "string" or "table"
    if type(v) ~= want or (want == "table" and getmetatable(v)) then
      fail("%s'%s' expects %s, got %s", where, k, want == "string" and "a string" or "a table", typename(v))
    end
  end
end

local function check_arena(d, out)
  local ps = params_of("arena")
  local function where(k) return at(d.file, sub_line(d, "arena", k)) .. fmt("plan '%s': arena: ", d.name) end
  for k, v in pairs(check_params("arena", d.t.arena or {}, where)) do
    out[k] = { value = v, file = d.file, line = sub_line(d, "arena", k) }
  end
  if d.t.barrier then
    local b = d.t.barrier
    local w = at(d.file, key_line(d.file, d.line, "barrier")) .. fmt("plan '%s': ", d.name)
    if LATER_BARRIERS[b] then fail("%sbarrier '%s' is not built yet", w, b) end
    local ok = false
    for _, x in ipairs(BARRIERS) do ok = ok or x == b end
    if not ok then
      local hint = suggest(b, BARRIERS)
      fail("%sunknown barrier '%s'%s", w, clip(b), hint ~= "" and hint or " (valid: card, none)")
    end
    if ps.by_key.barrier then out.barrier = { value = b, file = d.file, line = key_line(d.file, d.line, "barrier") } end
  end
  for _, k in ipairs(keys_of(d.t.trigger or {})) do
    local ap = TRIGGER_KEYS[k]
    local w = at(d.file, sub_line(d, "trigger", k)) .. fmt("plan '%s': trigger: ", d.name)
    if not ap then fail("%sunknown key '%s'%s", w, clip(k), suggest(k, keys_of(TRIGGER_KEYS))) end
    local nv, why = check_value(ps.by_key[ap], d.t.trigger[k])
    if nv == nil then fail("%s'%s': %s", w, k, why) end
    out[ap] = { value = nv, file = d.file, line = sub_line(d, "trigger", k) }
  end
end

-- v for a message about a field: a string or number shown, else its type.
local function value_text(v)
  if type(v) == "string" or type(v) == "number" then return show(v) end
  return typename(v)
end

local CONSTRUCTED = { class = true, params = true, file = true, line = true }

-- What is wrong with constructor result c, or nil: the plan holds c and may
-- have changed any of its fields, so each is checked as data.
local function constructed_problem(c)
  for _, k in ipairs(keys_of(c)) do
    if not CONSTRUCTED[k] then return fmt("it has a field '%s' no constructor makes", clip(k)) end
  end
  local known = false
  for _, n in ipairs(known_classes()) do known = known or n == c.class end
  if not known then
    return fmt("its 'class' is %s, expected the name of a pool class", value_text(c.class))
  end
  if type(c.params) ~= "table" or getmetatable(c.params) then
    return fmt("its 'params' is %s, expected a table of parameters", value_text(c.params))
  end
  if type(c.file) ~= "string" then
    return fmt("its 'file' is %s, expected the name of the plan file", value_text(c.file))
  end
  if mtype(c.line) ~= "integer" or c.line < 0 then
    return fmt("its 'line' is %s, expected a line number", value_text(c.line))
  end
  return nil
end

local function check_pool(d, name, c)
  local line = type(name) == "string" and sub_line(d, "pools", name)
               or type(c) == "table" and mtype(c.line) == "integer" and c.line or d.line
  local pre = at(d.file, line) .. fmt("pool '%s'", clip(name))
  if type(name) ~= "string" then fail("%s: pools are named (name = class { ... })", pre) end
  if c == false then return false end
  if getmetatable(c) ~= POOL_MT then
    fail("%s: expected a pool constructor such as mvff { ... }, got %s", pre, typename(c))
  end
  local problem = constructed_problem(c)
  if problem then
    fail("%s: the pool constructor's result was changed: %s (use what the constructor returns as it is)",
         pre, problem)
  end
  pre = fmt("%s (%s): ", at(d.file, c.line) .. fmt("pool '%s'", name), c.class)
  if not params_of(c.class) then -- fails in resolve unless a derived plan replaces it
    return { name = name, class = c.class, params = {}, file = c.file, line = c.line,
             unbuilt = fmt("%spool class '%s' is not built yet", pre, c.class) }
  end
  local function where(k)
    return at(c.file, key_line(c.file, c.line, k)) .. fmt("pool '%s' (%s): ", name, c.class)
  end
  return { name = name, class = c.class, params = check_params(c.class, c.params, where),
           file = c.file, line = c.line }
end

-- A role given as a table: { pool = "name", rank = "weak" }. The rank is
-- "exact" (the default: the role's objects keep what they refer to alive)
-- or "weak" (kiln_heap_ap gives the role a weak allocation point, whose
-- objects' references do not). Returns the pool and the rank, nil for exact,
-- so that only a weak role carries a rank.
local ROLE_KEYS = { "pool", "rank" }
local RANKS = { "exact", "weak" }
local function check_role_table(v, w, r)
  for _, k in ipairs(keys_of(v)) do
    if type(k) ~= "string" then
      fail('%srole \'%s\': a role table\'s fields are named (pool = "name", rank = "weak"), got a positional value',
           w, r)
    end
    if k ~= "pool" and k ~= "rank" then
      local hint = suggest(k, ROLE_KEYS)
      fail("%srole '%s': unknown key '%s'%s", w, r, clip(k),
           hint ~= "" and hint or " (a role table takes pool and rank)")
    end
  end
  if v.pool == nil or v.pool == "" then
    fail('%srole \'%s\' has no pool (give its table pool = "name", the name of one of the plan\'s pools)', w, r)
  elseif type(v.pool) ~= "string" then
    fail("%srole '%s': pool expects the name of a pool, got %s", w, r, typename(v.pool))
  end
  local rank = v.rank
  if rank ~= nil and type(rank) ~= "string" then
    fail('%srole \'%s\': rank expects "exact" or "weak", got %s', w, r, typename(rank))
  elseif rank ~= nil and rank ~= "exact" and rank ~= "weak" then
    local hint = suggest(rank, RANKS)
    fail("%srole '%s': unknown rank %s%s", w, r, show(rank),
         hint ~= "" and hint or ' (a role\'s rank is "exact" or "weak")')
  end
  return v.pool, rank == "weak" and "weak" or nil
end

local function check_roles(d, out)
  for _, r in ipairs(keys_of(d.t.roles or {})) do
    local v = d.t.roles[r]
    local w = at(d.file, sub_line(d, "roles", r)) .. fmt("plan '%s': ", d.name)
    if type(r) ~= "string" then fail("%sroles are named (role = \"pool\"), got a positional value", w) end
    if v == false then
      out[r] = false
    elseif v == "" or (type(v) == "table" and next(v) == nil) then
      fail("%srole '%s' has no pool (give it the name of one of the plan's pools)", w, r)
    elseif type(v) == "table" and not getmetatable(v) then
      local pool, rank = check_role_table(v, w, r)
      out[r] = { pool = pool, rank = rank, file = d.file, line = sub_line(d, "roles", r) }
    elseif type(v) ~= "string" then
      fail('%srole \'%s\' expects the name of a pool or a table { pool = "name", rank = "weak" }, got %s',
           w, r, typename(v))
    else
      out[r] = { pool = v, file = d.file, line = sub_line(d, "roles", r) }
    end
  end
end

---------------------------------------------------------------------------
-- extends: a plan of the same source, else a built-in plan

local load_plan   -- forward

local function builtin_defs(name)
  local src = host.builtin(name)
  if not src then return nil end
  return evaluate(src, "plans/" .. name .. ".lua")
end

-- self: the definition asking, skipped so that a file's plan "gencopy" may
-- extend the built-in "gencopy".
local function find_def(name, local_defs, self)
  for _, d in ipairs(local_defs) do
    if d.name == name and d ~= self then return d, local_defs end
  end
  local bd = builtin_defs(name)
  if bd then
    for _, d in ipairs(bd) do if d.name == name then return d, bd end end
  end
  return nil
end

local function merge(base, over)
  for k, v in pairs(over) do base[k] = v end
end

-- Validate definition d (merging its base) into a plan table.
-- chain: names of the plans being built, to find a cycle in extends.
function load_plan(d, local_defs, chain)
  local id = d.file .. ":" .. d.name
  for _, c in ipairs(chain) do
    if c.id == id then
      local names = {}
      for i, x in ipairs(chain) do names[i] = x.name end
      names[#names + 1] = d.name
      fail("%splan '%s': cycle in extends: %s", at(d.file, key_line(d.file, d.line, "extends")),
           d.name, concat(names, " -> "))
    end
  end
  chain[#chain + 1] = { id = id, name = d.name }
  check_top(d)
  local p = { name = d.name, doc = d.t.doc, file = d.file, line = d.line,
              arena = {}, pools = {}, roles = {}, arena_where = at(d.file, d.line) }
  if d.t.extends then
    local bd, bdefs = find_def(d.t.extends, local_defs, d)
    if not bd then
      local names = host.builtins()
      for _, x in ipairs(local_defs) do
        if x ~= d then names[#names + 1] = x.name end
      end
      fail("%splan '%s': extends '%s', which is not a plan%s", at(d.file, key_line(d.file, d.line, "extends")),
           clip(d.name), clip(d.t.extends), suggest(d.t.extends, names))
    end
    local base = load_plan(bd, bdefs, chain)
    p.doc = p.doc or base.doc
    p.extends = base.name
    if base.arena_set then p.arena_where, p.arena_set = base.arena_where, true end
    merge(p.arena, base.arena); merge(p.pools, base.pools); merge(p.roles, base.roles)
  end
  chain[#chain] = nil
  if d.t.arena then
    p.arena_where, p.arena_set = at(d.file, key_line(d.file, d.line, "arena")), true
  end
  check_arena(d, p.arena)
  for _, n in ipairs(keys_of(d.t.pools or {})) do
    local np = check_pool(d, n, d.t.pools[n])
    local old = p.pools[n]
    if np and old and old.class == np.class then   -- same class: refine parameters
      local params = {}
      merge(params, old.params); merge(params, np.params)
      np.params = params
    end
    p.pools[n] = np or nil
  end
  local roles = {}
  check_roles(d, roles)
  for r, v in pairs(roles) do p.roles[r] = v or nil end
  return p
end

---------------------------------------------------------------------------
-- overrides: { ["arena.reserve"] = v, ["young.nursery_size"] = v }

local function apply_overrides(p, ov)
  for _, key in ipairs(keys_of(ov or {})) do
    local v = ov[key]
    local w = fmt("override '%s': ", tostring(key))
    local head, k = smatch(tostring(key), "^([^%.]+)%.(.+)$")
    if not head then fail("%sexpected 'arena.<parameter>' or '<pool>.<parameter>'", w) end
    if head == "arena" then
      local got = check_params("arena", { [k] = v }, function() return w .. "arena: " end)
      p.arena[k] = { value = got[k], file = "override", line = 0, where = w }
    else
      local pool = p.pools[head]
      if not pool then
        fail("%splan '%s' has no pool '%s'%s", w, p.name, head, suggest(head, keys_of(p.pools)))
      end
      local got = check_params(pool.class, { [k] = v },
                               function() return fmt("%spool '%s' (%s): ", w, head, pool.class) end)
      local params, overrides = {}, {}
      merge(params, pool.params)
      params[k] = got[k]
      merge(overrides, pool.overrides or {})
      overrides[k] = w
      p.pools[head] = { name = head, class = pool.class, params = params, file = pool.file,
                        line = pool.line, overrides = overrides }
    end
  end
end

---------------------------------------------------------------------------
-- cross-checks on the finished plan

local function pool_where(pool, k)
  return at(pool.file, key_line(pool.file, pool.line, k)) .. fmt("pool '%s' (%s): ", pool.name, pool.class)
end

local function check_promotion(p)
  local names = keys_of(p.pools)
  for _, n in ipairs(names) do
    local pool = p.pools[n]
    local to = pool.params.promote_to
    if to and not p.pools[to] then
      fail("%spromote_to names pool '%s', which does not exist%s", pool_where(pool, "promote_to"), to,
           suggest(to, names))
    end
  end
  for _, n in ipairs(names) do
    local seen, path, cur = {}, {}, n
    while cur do
      if seen[cur] then
        path[#path + 1] = cur
        local pool = p.pools[n]
        fail("%scycle in promotion: %s", pool_where(pool, "promote_to"), concat(path, " -> "))
      end
      seen[cur] = true
      path[#path + 1] = cur
      cur = p.pools[cur].params.promote_to
    end
  end
end

-- A weak role's pool must be automatic: a manual pool has no allocation
-- points, so kiln_heap_ap could never give the role one.
local function check_weak_pool(p, r, role)
  local pool = p.pools[role.pool]
  if role.rank == "weak" and host.automatic(pool.class) == false then
    fail("%splan '%s': role '%s' is weak, but its pool '%s' is of manual class '%s', which has no "
         .. "allocation points (a weak role needs an automatic pool)", at(role.file, role.line),
         p.name, r, role.pool, pool.class)
  end
end

local function check_roles_exist(p)
  local names = keys_of(p.pools)
  for _, r in ipairs(keys_of(p.roles)) do
    local role = p.roles[r]
    if not p.pools[role.pool] then
      fail("%splan '%s': role '%s' names pool '%s', which does not exist%s", at(role.file, role.line),
           p.name, r, role.pool, suggest(role.pool, names))
    end
    check_weak_pool(p, r, role)
  end
end

local function check_sizes(p)
  local reserve = p.arena.reserve and p.arena.reserve.value
  if not reserve then
    local rp = params_of("arena").by_key.reserve
    reserve = rp and parse_size(rp.def)
  end
  if not reserve then return end
  for _, n in ipairs(keys_of(p.pools)) do
    local pool = p.pools[n]
    local ps = params_of(pool.class)
    for _, k in ipairs(keys_of(pool.params)) do
      local v = pool.params[k]
      if ps.by_key[k].type == "size" and v > reserve then
        fail("%sparameter '%s' is %s, larger than the arena's reservation (%s)", pool_where(pool, k), k,
             size_text(v), size_text(reserve))
      end
    end
  end
end

-- Pools in creation order: a pool's promote_to target comes before it.
local function creation_order(p)
  local order, done = {}, {}
  local function visit(n)
    if done[n] then return end
    done[n] = true
    local to = p.pools[n].params.promote_to
    if to then visit(to) end
    order[#order + 1] = n
  end
  for _, n in ipairs(keys_of(p.pools)) do visit(n) end
  return order
end

-- The shape plan.c reads: arrays only, values already normalised. Each
-- argument and pool carries `where`, the prefix of a message about it (the
-- heap's, when the pool class or the arena refuses it).
local function finish(p)
  local out = { name = p.name, doc = p.doc or "", file = p.file, extends = p.extends,
                where = p.arena_where, arena = {}, pools = {}, roles = {} }
  for _, k in ipairs(keys_of(p.arena)) do
    local a = p.arena[k]
    out.arena[#out.arena + 1] = { key = k, type = params_of("arena").by_key[k].type, value = a.value,
                                  where = a.where or at(a.file, a.line) }
  end
  for _, n in ipairs(creation_order(p)) do
    local pool, ps = p.pools[n], params_of(p.pools[n].class)
    local args = {}
    for _, k in ipairs(keys_of(pool.params)) do
      local where = pool.overrides and pool.overrides[k]
                    or at(pool.file, key_line(pool.file, pool.line, k))
      args[#args + 1] = { key = k, type = ps.by_key[k].type, value = pool.params[k], where = where }
    end
    out.pools[#out.pools + 1] = { name = n, class = pool.class, args = args,
                                  promote_to = pool.params.promote_to,
                                  where = at(pool.file, pool.line) }
  end
  for _, r in ipairs(keys_of(p.roles)) do
    out.roles[#out.roles + 1] = { role = r, pool = p.roles[r].pool, rank = p.roles[r].rank }
  end
  return out
end

---------------------------------------------------------------------------
-- api

local api = {}

local function is_path(spec)
  return sfind(spec, "/", 1, true) or sfind(spec, "%.lua$")
end

-- Definitions of spec: a built-in plan name or a plan file path.
local function defs_of(spec)
  if type(spec) ~= "string" or spec == "" then fail("a plan is a built-in name or a file path, got %s", show(spec)) end
  if not is_path(spec) then
    local d = builtin_defs(spec)
    if d then return d end
  end
  local src, why, missing = host.readfile(spec)
  if src then return evaluate(src, spec) end
  if is_path(spec) or not missing then fail("%s", why) end
  fail("no built-in plan '%s'%s, and no plan file of that name (built-in plans: %s)", spec,
       suggest(spec, host.builtins()), concat(host.builtins(), ", "))
end

-- The validated, merged, overridden plan; the last definition of the source wins.
function api.resolve(spec, overrides)
  local ds = defs_of(spec)
  local p = load_plan(ds[#ds], ds, {})
  for _, n in ipairs(keys_of(p.pools)) do
    if p.pools[n].unbuilt then error(p.pools[n].unbuilt, 0) end
  end
  apply_overrides(p, overrides)
  if next(p.pools) == nil then fail("%splan '%s' has no pools", at(p.file, p.line), p.name) end
  check_promotion(p)
  check_roles_exist(p)
  check_sizes(p)
  return finish(p)
end

-- Built-in plans: { {name=, doc=, error=msg or nil}, ... }.
function api.list()
  local out = {}
  for _, n in ipairs(host.builtins()) do
    local ok, ds = pcall(builtin_defs, n)
    local e = { name = n, doc = "" }
    if ok then e.doc = ds[#ds].t.doc or "" else e.error = ds end
    if ok and e.doc == "" and ds[#ds].t.extends then
      local ok2, base = pcall(find_def, ds[#ds].t.extends, ds, ds[#ds])
      if ok2 and base then e.doc = base.t.doc or "" end
    end
    local ok3, why = pcall(api.resolve, n)
    if not ok3 then e.error = why end
    out[#out + 1] = e
  end
  return out
end

-- Class parameters for `kiln describe CLASS`: nil if spec names no class.
function api.class(name)
  local ps = params_of(name)
  if ps then return { name = name, params = ps } end
  for _, n in ipairs(known_classes()) do
    if n == name then fail("pool class '%s' is not built yet", name) end
  end
  return nil
end

function api.suggest(word, candidates) return suggest(word, candidates) end
api.parse_size, api.size_text = parse_size, size_text
api.classes = known_classes
api.builtins = host.builtins

return api
