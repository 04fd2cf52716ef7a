-- json.lua -- the JSON text of a Lua value, for `kiln compare --json`
-- (embedded; loaded as "kiln.cli.json").
--
-- Always valid JSON (RFC 8259): a number that is not finite (inf, -inf,
-- nan), which JSON cannot spell, is written as null; strings are escaped;
-- object keys are sorted so the same data gives the same text. A table is
-- an array when M.array marked it or it has elements 1..n and no other keys.

local fmt, concat = string.format, table.concat
local M = {}

local ARRAY = setmetatable({}, { __mode = "k" })

function M.array(t)
  ARRAY[t] = true
  return t
end

local function is_array(t)
  if ARRAY[t] then return true end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n > 0 and n == #t
end

local ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

local function string_text(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return ESCAPES[c] or fmt("\\u%04x", c:byte()) end) .. '"'
end

local function number_text(x)
  if x ~= x or x == math.huge or x == -math.huge then return "null" end
  if math.type(x) == "integer" then return tostring(x) end
  local short = fmt("%.15g", x)
  return tonumber(short) == x and short or fmt("%.17g", x)
end

local encode

local function table_text(t, indent)
  local inner = indent .. "  "
  local items = {}
  if is_array(t) then
    if #t == 0 then return "[]" end
    for i = 1, #t do items[i] = inner .. encode(t[i], inner) end
    return "[\n" .. concat(items, ",\n") .. "\n" .. indent .. "]"
  end
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  if #keys == 0 then return "{}" end
  for i, k in ipairs(keys) do
    local v = t[k]
    if v == nil then v = t[tonumber(k)] end
    items[i] = inner .. string_text(k) .. ": " .. encode(v, inner)
  end
  return "{\n" .. concat(items, ",\n") .. "\n" .. indent .. "}"
end

encode = function(v, indent)
  local ty = type(v)
  if v == nil then return "null" end
  if ty == "number" then return number_text(v) end
  if ty == "boolean" then return tostring(v) end
  if ty == "table" then return table_text(v, indent) end
  return string_text(tostring(v))
end

function M.encode(v) return encode(v, "") .. "\n" end

return M
