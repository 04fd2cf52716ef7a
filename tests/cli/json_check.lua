-- json_check.lua -- run by tests/cli/test_compare.sh with `kiln run`:
-- a strict JSON parser (RFC 8259: no inf, nan, trailing commas or bare
-- words) and the checks of `kiln compare --json` output against itself
-- and against the table compare printed.
--
--   json_check.lua encoder           the encoder writes null for inf/nan
--   json_check.lua FILE.json TABLE   FILE is valid; medians agree with the
--                                    runs and with the table's time column

local function fail(fmt, ...)
  io.stderr:write("json_check: ", string.format(fmt, ...), "\n")
  os.exit(1)
end

-- parse(text) -> value, or fails naming the offset.
local function parse(text)
  local pos = 1
  local function ws() pos = text:find("[^ \t\r\n]", pos) or #text + 1 end
  local function bad(what) fail("invalid JSON at byte %d: %s (near %q)", pos, what, text:sub(pos, pos + 20)) end
  local value
  local function str()
    local out = {}
    pos = pos + 1
    while true do
      local c = text:sub(pos, pos)
      if c == "" then bad("unterminated string") end
      if c == '"' then pos = pos + 1; return table.concat(out) end
      if c:byte() < 32 then bad("control character in a string") end
      if c == "\\" then
        local e = text:sub(pos + 1, pos + 1)
        local simple = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }
        if simple[e] then out[#out + 1] = simple[e]; pos = pos + 2
        elseif e == "u" and text:sub(pos + 2, pos + 5):match("^%x%x%x%x$") then
          out[#out + 1] = utf8.char(tonumber(text:sub(pos + 2, pos + 5), 16)); pos = pos + 6
        else bad("bad escape") end
      else
        out[#out + 1] = c; pos = pos + 1
      end
    end
  end
  local function num()
    local s = text:match("^-?%d[%d.eE+-]*", pos)
    if not s then bad("bad number") end
    local int, rest = s:match("^(-?%d+)(.*)$")
    if int:match("^-?0%d") then bad("number with a leading zero") end
    local frac, after = rest:match("^(%.%d+)(.*)$")
    if frac then rest = after end
    if rest ~= "" and not rest:match("^[eE][-+]?%d+$") then bad("bad number") end
    pos = pos + #s
    return math.tointeger(tonumber(s)) or tonumber(s)
  end
  value = function()
    ws()
    local c = text:sub(pos, pos)
    if c == "{" then
      local t = {}
      pos = pos + 1; ws()
      if text:sub(pos, pos) == "}" then pos = pos + 1; return t end
      while true do
        ws()
        if text:sub(pos, pos) ~= '"' then bad("expected a key") end
        local k = str(); ws()
        if text:sub(pos, pos) ~= ":" then bad("expected ':'") end
        pos = pos + 1
        t[k] = value(); ws()
        local d = text:sub(pos, pos); pos = pos + 1
        if d == "}" then return t end
        if d ~= "," then bad("expected ',' or '}'") end
      end
    elseif c == "[" then
      local t = {}
      pos = pos + 1; ws()
      if text:sub(pos, pos) == "]" then pos = pos + 1; return t end
      while true do
        t[#t + 1] = value(); ws()
        local d = text:sub(pos, pos); pos = pos + 1
        if d == "]" then return t end
        if d ~= "," then bad("expected ',' or ']'") end
      end
    elseif c == '"' then return str()
    elseif c:match("[-%d]") then return num()
    else
      for word, v in pairs({ ["true"] = true, ["false"] = false, ["null"] = "null" }) do
        if text:sub(pos, pos + #word - 1) == word then
          pos = pos + #word
          if v == "null" then return nil end
          return v
        end
      end
      bad("unexpected text")
    end
  end
  local v = value(); ws()
  if pos <= #text then bad("text after the value") end
  return v
end

local function median(xs)
  table.sort(xs)
  local n = #xs
  return n % 2 == 1 and xs[(n + 1) // 2] or (xs[n // 2] + xs[n // 2 + 1]) / 2
end

if arg[1] == "encoder" then
  local json = require "kiln.cli.json"
  local text = json.encode({ a = 1 / 0, b = -1 / 0, c = 0 / 0, d = { 1.5, "x\n\"" } })
  local v = parse(text)
  if v.a ~= nil or v.b ~= nil or v.c ~= nil then fail("non-finite numbers are not null: %s", text) end
  if v.d[1] ~= 1.5 or v.d[2] ~= "x\n\"" then fail("values changed: %s", text) end
  if text:find("inf") or text:find("nan") then fail("inf or nan in %s", text) end
  print("encoder: ok")
  return
end

local f = assert(io.open(arg[1]))
local doc = parse(f:read("a"))
f:close()
local t = assert(io.open(arg[2]))
local tabletext = t:read("a")
t:close()

for _, k in ipairs({ "kiln_version", "date", "host", "params", "plans", "workloads", "runs",
                     "aggregate", "runs_per_plan", "warmup", "command" }) do
  if doc[k] == nil then fail("no '%s' in the document", k) end
end
if type(doc.host.cpu) ~= "string" or math.type(doc.host.cores) ~= "integer" then fail("host lacks cpu or cores") end
if not doc.date:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$") then fail("date '%s'", doc.date) end
for _, p in ipairs(doc.plans) do
  if type(p.plan_text) ~= "string" or not p.plan_text:find("^plan ") then fail("plan %s lacks plan_text", p.label) end
end

-- Per-run rows of each workload and plan, against the aggregate and the table.
local METRICS = { "seconds", "gc_seconds", "mutator_seconds", "pause_p50_ms", "pause_p99_ms", "pause_max_ms",
                  "collections", "minor", "full", "maxrss", "copied", "copy_rate" }
local checked = 0
for _, a in ipairs(doc.aggregate) do
  if a.status == "ok" then
    local rows = {}
    for _, r in ipairs(doc.runs) do
      if r.workload == a.workload and r.plan == a.plan then rows[#rows + 1] = r end
    end
    if #rows ~= a.runs or #rows ~= doc.runs_per_plan then
      fail("%s/%s: %d run rows for %d runs", a.workload, a.plan, #rows, a.runs)
    end
    for _, m in ipairs(METRICS) do
      local xs = {}
      for i, r in ipairs(rows) do xs[i] = r[m] end
      if #xs ~= #rows then fail("%s/%s: a run lacks %s", a.workload, a.plan, m) end
      local lo, hi = math.min(table.unpack(xs)), math.max(table.unpack(xs))
      local med = median(xs)
      if a[m].median ~= med or a[m].min ~= lo or a[m].max ~= hi then
        fail("%s/%s %s: aggregate %s/%s/%s, runs give %s/%s/%s", a.workload, a.plan, m,
             a[m].median, a[m].min, a[m].max, med, lo, hi)
      end
    end
    -- the table's time cell: the median, then (min-max) when they differ
    local section = tabletext:match("\nworkload " .. a.workload:gsub("%p", "%%%0") .. "[^\n]*\n(.-)\n\n")
                    or tabletext:match("\nworkload " .. a.workload:gsub("%p", "%%%0") .. "[^\n]*\n(.*)$")
    if not section then fail("no table for workload %s", a.workload) end
    local cell = section:match("\n" .. a.plan:gsub("%p", "%%%0") .. "  +([%d.]+)")
    if cell ~= string.format("%.3f", a.seconds.median) then
      fail("%s/%s: the table's time %s is not the median %.3f", a.workload, a.plan, tostring(cell), a.seconds.median)
    end
    checked = checked + 1
  end
end
if checked == 0 then fail("no aggregate was checked") end
print(string.format("json: ok (%d aggregates)", checked))
