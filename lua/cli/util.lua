-- util.lua -- what the `kiln` front end's commands share (embedded; loaded
-- as "kiln.cli.util"): printing to stdout and stderr, aligned tables, shell
-- quoting, comma lists, KEY=VALUE lists and size text.

local fmt, concat = string.format, table.concat
local M = {}

function M.out(...) io.stdout:write(fmt(...)) end
function M.err(...) io.stderr:write(fmt(...)) end

-- Print rows (arrays of strings) as aligned columns; right[i] right-aligns
-- column i.
function M.print_table(rows, right)
  local w = {}
  for _, r in ipairs(rows) do
    for i, c in ipairs(r) do w[i] = math.max(w[i] or 0, utf8.len(c) or #c) end
  end
  for _, r in ipairs(rows) do
    local cells = {}
    for i, c in ipairs(r) do
      local pad = string.rep(" ", w[i] - (utf8.len(c) or #c))
      cells[i] = (right and right[i]) and (pad .. c) or (i < #r and c .. pad or c)
    end
    M.out("%s\n", concat(cells, "  "))
  end
end

function M.sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks)
  return ks
end

function M.shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- "a,b,,c" -> { "a", "b", "c" }
function M.split_list(s, sep)
  local t = {}
  for x in s:gmatch("[^" .. (sep or ",") .. "]+") do t[#t + 1] = x end
  return t
end

-- A value given on the command line: true/false and numbers become
-- themselves, anything else (such as "4MB") stays a string.
function M.cli_value(v)
  if v == "true" or v == "false" then return v == "true" end
  return math.tointeger(tonumber(v)) or tonumber(v) or v
end

-- { "young.nursery_size=8MB", ... } from index first on -> overrides table,
-- or nil and a sentence.
function M.parse_overrides(list, first)
  local ov = {}
  for i = first or 1, #list do
    local k, v = list[i]:match("^([^=]+)=(.*)$")
    if not k then return nil, fmt("expected POOL.KEY=VALUE, got '%s'", list[i]) end
    ov[k] = M.cli_value(v)
  end
  return ov
end

-- { { key = k, value = v }, ... } (an ordered override list) -> { [k] = v }.
function M.overrides_by_key(list)
  local t = {}
  for _, kv in ipairs(list) do t[kv.key] = kv.value end
  return t
end

function M.size_text(n)
  for _, u in ipairs({ { "GB", 1 << 30 }, { "MB", 1 << 20 }, { "KB", 1 << 10 } }) do
    if n >= u[2] and n % u[2] == 0 then return fmt("%d%s", n // u[2], u[1]) end
  end
  return tostring(n)
end

return M
