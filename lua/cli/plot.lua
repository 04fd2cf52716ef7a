-- plot.lua -- the plot of `kiln compare`, drawn by gnuplot (embedded;
-- loaded as "kiln.cli.plot").
--
-- One row of three panels per workload, each with its own axis: median
-- time (or time relative to the baseline plan) and median peak RSS as bars
-- with min-max error bars over the runs, and the median p50, p99 and
-- maximum pause on a log scale. SVG or PNG, by the file's extension.

local util = require "kiln.cli.util"
local fmt, concat = string.format, table.concat
local M = {}

-- "svg" or "png" for a plot file name, or nil.
function M.format_of(path)
  local ext = path:match("%.(%w+)$")
  ext = ext and ext:lower()
  if ext == "svg" or ext == "png" then return ext end
  return nil
end

function M.have_gnuplot()
  local p = io.popen("command -v gnuplot 2>/dev/null")
  local path = p:read("a")
  p:close()
  return path ~= ""
end

-- A gnuplot data value: positive numbers only on the pause panel's log
-- scale; NaN is gnuplot's missing value.
local function num(x, positive)
  if not x or x ~= x or (positive and x <= 0) then return "NaN" end
  return fmt("%.9g", x)
end

local function quoted(s) return '"' .. s:gsub('[\\"]', "") .. '"' end

-- The data block of one workload (blocks separated by two blank lines, so
-- the script selects them with `index`): label, time median/min/max
-- (divided by ref when normalised), RSS median/min/max in MB, p50, p99,
-- max pause. Returns the block and whether any pause is positive.
local function block(aggs, workload, ref)
  local lines, pauses = {}, false
  local scale = ref or 1
  for _, a in ipairs(aggs) do
    if a.workload == workload and a.status == "ok" then
      local t, r, mbs = a.seconds, a.maxrss, 1 << 20
      lines[#lines + 1] = concat({ quoted(a.plan), num(t.median / scale), num(t.min / scale),
        num(t.max / scale), num(r.median / mbs), num(r.min / mbs), num(r.max / mbs),
        num(a.pause_p50_ms.median, true), num(a.pause_p99_ms.median, true),
        num(a.pause_max_ms.median, true) }, " ")
      pauses = pauses or a.pause_max_ms.median > 0
    end
  end
  return concat(lines, "\n"), #lines, pauses
end

local function bars(i, col, n, title, ylabel)
  return fmt([[
set title %q
set ylabel %q
unset logscale y
set yrange [0:*]
set offsets 0, 0, graph 0.18, 0
set xrange [-0.5:%g]
set key inside top right horizontal
plot DATA index %d using 0:%d:xtic(1) with boxes lc rgb "#5b8ac6" notitle, \
     DATA index %d using 0:%d:%d:%d with yerrorbars lc rgb "black" pt 0 title "min-max of the runs"
]], title, ylabel, n - 0.5, i, col, i, col, col + 1, col + 2)
end

-- A panel with nothing to draw: its title and a sentence saying why.
local function empty_panel(i, n, title, why)
  return fmt([[
set title %q
set ylabel ""
unset logscale y
set offsets 0, 0, 0, 0
set yrange [0:1]
set xrange [-0.5:%g]
set label 1 %q at graph 0.5, graph 0.5 center
plot DATA index %d using 0:(NaN):xtic(1) notitle
unset label 1
]], title, n - 0.5, why, i)
end

local function pause_panel(i, n, w, any)
  local title = w .. ": pauses (ms, log scale)"
  if not any then return empty_panel(i, n, title, "no collection paused") end
  return fmt([[
set title %q
set ylabel "pause (ms)"
set logscale y
set yrange [*:*]
set offsets 0, 0, 0, 0
set xrange [-0.5:%g]
set key outside bottom center horizontal
plot DATA index %d using 0:8:xtic(1) with linespoints pt 7 title "p50", \
     DATA index %d using 0:9 with linespoints pt 5 title "p99", \
     DATA index %d using 0:10 with linespoints pt 9 title "max"
]], title, n - 0.5, i, i, i)
end

-- The gnuplot script and its data. o: kind ("svg"/"png"), runs, baseline;
-- refs[workload] the baseline's median time when normalising.
local function script(aggs, workloads, o, data_path)
  local rows = #workloads
  local w_px, h_px = 1260, 380 * rows + 40
  local term = o.kind == "svg"
      and fmt("set terminal svg size %d,%d dynamic noenhanced font 'sans,10'", w_px, h_px)
      or fmt("set terminal pngcairo size %d,%d noenhanced font 'sans,9'", w_px, h_px)
  local s = { term, "set output", fmt("DATA = %q", data_path),
    fmt("set multiplot layout %d,3 title %q", rows,
        fmt("kiln compare: medians of %d run%s per plan, error bars from min to max", o.runs,
            o.runs == 1 and "" or "s")),
    "set style fill solid 0.7 border -1", "set boxwidth 0.6", "set grid ytics",
    "set xtics rotate by -20 nomirror", "set bmargin 7" }
  local data = {}
  for i, w in ipairs(workloads) do
    local ref = o.refs and o.refs[w.label]
    local text, n, any = block(aggs, w.label, ref)
    data[#data + 1] = text ~= "" and text or '"(none)" NaN NaN NaN NaN NaN NaN NaN NaN NaN'
    n = math.max(n, 1)
    local tlabel = ref and fmt("%s: time / %s's", w.label, o.baseline) or w.label .. ": time (s)"
    local rss_title = w.label .. ": peak RSS (MB)"
    if text == "" then
      for _, title in ipairs({ tlabel, rss_title, w.label .. ": pauses (ms, log scale)" }) do
        s[#s + 1] = empty_panel(i - 1, n, title, "no run succeeded")
      end
    else
      s[#s + 1] = bars(i - 1, 2, n, tlabel, ref and "relative time" or "median time (s)")
      s[#s + 1] = bars(i - 1, 5, n, rss_title, "peak RSS (MB)")
      s[#s + 1] = pause_panel(i - 1, n, w.label, any)
    end
  end
  s[#s + 1] = "unset multiplot"
  return concat(s, "\n") .. "\n", concat(data, "\n\n\n") .. "\n"
end

-- Draw the plot into the open file f. Returns true, or nil and why.
function M.draw(f, aggs, workloads, o)
  local data_path, script_path = os.tmpname(), os.tmpname()
  local text, data = script(aggs, workloads, o, data_path)
  local d = assert(io.open(data_path, "w"))
  d:write(data)
  d:close()
  local g = assert(io.open(script_path, "w"))
  g:write(text)
  g:close()
  local p = io.popen("gnuplot " .. util.shell_quote(script_path) .. " 2>&1 >" ..
                     util.shell_quote(data_path .. ".out"), "r")
  local diagnostics = p:read("a")
  local ok = p:close()
  local img = io.open(data_path .. ".out", "rb")
  local bytes = img and img:read("a") or ""
  if img then img:close() end
  os.remove(data_path); os.remove(script_path); os.remove(data_path .. ".out")
  local magic = o.kind == "svg" and "<svg" or "\137PNG"
  if not ok or not bytes:find(magic, 1, true) then
    return nil, "gnuplot failed to draw it: " .. (diagnostics:match("[^\n]*%S[^\n]*") or "no output")
  end
  return f:write(bytes)
end

return M
