#!/bin/sh
# test_compare.sh -- `kiln compare`: statistics over every run (median with
# min-max), warm-up runs, per-run CSV and JSON rows with their context and
# always valid JSON, plan overrides and --set sweeps, workload files, the
# checks made before any run, --scale on the tree workloads, and the plot.
# Run by make check with KILN and KILN_SRCDIR in the environment; every run
# is tiny (scale 0.01 to 0.02, depth 6).
KILN=${KILN:-lua/kiln}
SRCDIR=${KILN_SRCDIR:-.}
. "$SRCDIR/tests/cli/shlib.sh"
cd "$tmp" || exit 1
SMALL="--scale 0.02 --depth 6"

# no_run: the last command refused before the first run
no_run() {
  if grep -q '^\[1/' "$tmp/err"; then fail "compare ran before refusing: $1"; fi
}

# --- statistics: every metric over all counted runs, warm-up runs apart ---
expect 0 "$KILN" compare --plans manual,marksweep --workload churn,gcbench --runs 3 --warmup 1 \
  $SMALL --csv c.csv --json c.json --no-plot
cp out table.txt
has out '^median of 3 runs per plan, after 1 warm-up run not counted; \(min-max\) where the runs differ$'
has out '^workload churn \(ratio to the fastest, (manual|marksweep)\)$'
has out '^workload gcbench '
has out '^plan +time\(s\) +ratio +peakRSS\(MB\) +GCs minor/full +GC\(s\) +mutator\(s\) +p50\(ms\) +p99\(ms\) +max\(ms\) +copied\(MB\) +copy\(MB/s\)$'
has out '^marksweep +[0-9.]+( \([0-9.]+-[0-9.]+\))? +[0-9.]+ '
has err '^\[warm-up 1/1\] churn under manual \.\.\. '
has err '^\[12/12\] gcbench under marksweep, run 3/3'
[ "$(grep -c '^\[warm-up' err)" -eq 4 ] || fail "one warm-up run per workload and plan"
[ -e kiln-compare.svg ] && fail "--no-plot wrote a plot"
# CSV: a header, then per workload and plan 3 run rows and median, min, max
[ "$(wc -l <c.csv)" -eq 25 ] || fail "csv has $(wc -l <c.csv) lines, not 1 + 2 x 2 x (3 + 3)"
grep -q '^kind,workload,plan,run,runs,status,seconds,gc_seconds,mutator_seconds,pause_p50_ms,pause_p99_ms,pause_max_ms,collections,minor,full,maxrss,copied,copy_rate,objects,check,error,base_plan,overrides,params,plan_text,workload_file,warmup,kiln_version,cpu,cores,date,min_heap$' c.csv \
  || fail "csv header"
[ "$(grep -c '^run,churn,marksweep,[123],' c.csv)" -eq 3 ] || fail "csv: three run rows of churn under marksweep"
grep -q '^median,gcbench,manual,,3,ok,' c.csv || fail "csv: the median row of gcbench under manual"
grep -Eq '^run,churn,marksweep,1,.*,marksweep,,depth=6 scale=0\.02 seed=42,"plan marksweep: arena\{[^"]*",,1,[0-9][0-9.]*,[^,]+,[0-9]+,20[0-9-]+T[0-9:]+Z,$' c.csv \
  || fail "csv: the context columns (params, plan text, warm-up, version, cpu, cores, date)"
# JSON: valid, with its context; every aggregate is the median, min and max
# of its run rows, and the table shows that median
expect 0 "$KILN" run "$SRCDIR/tests/cli/json_check.lua" c.json table.txt
has out '^json: ok \(4 aggregates\)$'
expect 0 "$KILN" run "$SRCDIR/tests/cli/json_check.lua" encoder
has out '^encoder: ok$'
if command -v python3 >/dev/null 2>&1 && python3 -c 'import json' 2>/dev/null; then
  python3 -m json.tool c.json >/dev/null || fail "python3 -m json.tool refuses the JSON"
fi

# --- a workload file: the contract, the spread, failures ---
# Each run sleeps longer than the one before (a counter file), so the runs
# differ and the table must show (min-max); it allocates on the heap, so
# collections are counted; it returns a checksum.
cat >slow.lua <<'W'
return function(h, params)
  local f = io.open("counter", "a+"); local n = #f:read("a") + 1; f:write("x"); f:close()
  local p = io.open("params", "w"); p:write(params.seed, " ", params.scale, " ", tostring(params.depth)); p:close()
  local Node = h:type{ name = "Node", refs = 2, bytes = 16 }
  local keep = Node:new()
  h:root(keep)
  for i = 1, 2000 do local x = Node:new(); x[1] = keep end
  h:collect()
  local t = require("kiln").clock() + 0.02 * n
  while require("kiln").clock() < t do end
  return { check = 7 }
end
W
expect 0 "$KILN" compare --plans marksweep --workload "$tmp/slow.lua" --runs 3 --warmup 1 --seed 5 \
  --scale 0.5 --json w.json --no-plot
cp out wtable.txt
has out '^workload slow '
has out '^marksweep +0\.[0-9]+ \(0\.[0-9]+-0\.[0-9]+\) +1\.00 +[0-9.]+( \([0-9.-]+\))? +0/[1-9]'
[ "$(cat counter)" = xxxx ] || fail "the workload ran $(wc -c <counter) times, not 1 warm-up + 3"
[ "$(cat params)" = "5 0.5 nil" ] || fail "the workload's params were '$(cat params)', not seed 5, scale 0.5, no depth"
expect 0 "$KILN" run "$SRCDIR/tests/cli/json_check.lua" w.json wtable.txt
grep -q '"check": 7' w.json || fail "the workload's checksum is not in the run rows"
grep -q '"file": "'"$tmp"'/slow.lua"' w.json || fail "the workload file is not in the JSON"

printf 'error("boom")\n' >broken.lua
expect 1 "$KILN" compare --plans marksweep --workload ./broken.lua --runs 1 --no-plot
has err "^kiln compare: --workload \./broken\.lua: running it failed: .*boom"; no_run broken
printf 'return 42\n' >number.lua
expect 1 "$KILN" compare --plans marksweep --workload number.lua --runs 1 --no-plot
has err "^kiln compare: --workload number.lua returned number, but a workload file returns a function\(heap, params\)$"
expect 1 "$KILN" compare --plans marksweep --workload nosuch.lua --runs 1 --no-plot
has err "^kiln compare: --workload cannot open nosuch.lua"
printf 'return function(h) error("failed inside") end\n' >fails.lua
expect 1 "$KILN" compare --plans marksweep --workload fails.lua --runs 2 --no-plot
has out '^marksweep  FAILED: fails.lua: .*failed inside'

# --- plans with overrides and sweeps ---
expect 0 "$KILN" compare --plans marksweep,genms:young.nursery_size=1MB --set arena.growth=1.5,2 \
  --workload churn --runs 1 --scale 0.01 --csv s.csv --no-plot
for p in 'marksweep@arena.growth=1.5' 'marksweep@arena.growth=2' \
         'genms:young.nursery_size=1MB@arena.growth=1.5' 'genms:young.nursery_size=1MB@arena.growth=2'; do
  has out "^$p +[0-9]"
done
grep -q '^median,churn,genms:young.nursery_size=1MB@arena.growth=2,.*,genms,young.nursery_size=1MB arena.growth=2,' s.csv \
  || fail "csv: the base plan and overrides of a swept plan"
grep -q 'young=gen{nursery_size=1MB' s.csv || fail "csv: the plan text shows the override"
grep -q 'growth=2,' s.csv || fail "csv: the plan text shows the swept value"
# a plan file, alone and with an override
cat >mine.lua <<'PLAN'
plan "mine" {
  doc = "a mark-sweep plan of one's own",
  pools = { main = ms { } },
  roles = { objects = "main" },
}
PLAN
expect 0 "$KILN" compare --plans ./mine.lua,./mine.lua:arena.growth=3 --workload churn --runs 1 \
  --scale 0.01 --json f.json --no-plot
has out '^\./mine\.lua +[0-9]'; has out '^\./mine\.lua:arena\.growth=3 +[0-9]'
grep -q '"plan_text": "plan mine: arena{.*growth=3' f.json || fail "json: the plan file's override in its plan text"
# the override reaches the heap: a smaller nursery takes more minor collections
expect 0 "$KILN" compare --plans genms --set young.nursery_size=1MB,16MB --workload churn --runs 1 \
  --scale 0.02 --csv n.csv --no-plot
small=$(grep '^median,churn,genms@young.nursery_size=1MB,' n.csv | cut -d, -f13)
large=$(grep '^median,churn,genms@young.nursery_size=16MB,' n.csv | cut -d, -f13)
[ -n "$small" ] && [ -n "$large" ] && [ "$small" -gt "$large" ] \
  || fail "minor collections: 1MB nursery $small, 16MB nursery $large"

# --- mistakes are reported before any run ---
expect 1 "$KILN" compare --plans nosuchplan --workload churn --runs 1 --no-plot
has err "^kiln compare: plan 'nosuchplan': no built-in plan 'nosuchplan'.*; nothing was run$"; no_run nosuchplan
expect 1 "$KILN" compare --plans marksweep,genms:young.nursery_sise=2MB --workload churn --runs 1 --no-plot
has err "^kiln compare: plan 'genms:young.nursery_sise=2MB': .*did you mean 'nursery_size'"; no_run override
expect 1 "$KILN" compare --plans genms --set young.nursery_size=1MB,1XB --workload churn --runs 1 --no-plot
has err "plan 'genms@young.nursery_size=1XB': .*is not a size"; no_run bad-value
expect 1 "$KILN" compare --plans marksweep --set young.nursery_size=1MB --workload churn --runs 1 --no-plot
has err "^kiln compare: plan 'marksweep@young.nursery_size=1MB': "; no_run no-pool
expect 2 "$KILN" compare --plans genms:young.nursery_size=1MB --set young.nursery_size=2MB --workload churn
has err "already sets young.nursery_size"
expect 2 "$KILN" compare --plans genms:nursery --workload churn
has err "after the plan come POOL.KEY=VALUE overrides separated by ':', got 'nursery'"
expect 2 "$KILN" compare --set nursery_size=1MB;   has err '^kiln compare: --set expects POOL.KEY=V1,V2,...'
expect 2 "$KILN" compare --set a.b=1 --set a.b=2;  has err 'given twice'
# --- fixed heaps: multiples of the minimum heap found by search, sizes ---
expect 0 "$KILN" compare --plans marksweep,semispace --workload churn --scale 0.02 --runs 1 \
  --heap 2x,4x --csv h.csv --no-plot
has err '^\[min heap\] churn under marksweep@heap=2x at 16\.0MB: runs$'
has err '^kiln compare: the minimum heap of churn under marksweep is [0-9.]+MB$'
has out '^marksweep@heap=2x +[0-9.]+'
has out '^marksweep@heap=4x +[0-9.]+'
has out '^semispace@heap=4x +[0-9.]+'
# the 2x run's heap_size is twice the minimum heap the CSV reports, to a page
awk -F, '$1 == "run" && $3 == "marksweep@heap=2x" {
  if (match($0, /heap_size=[0-9]+/)) size = substr($0, RSTART + 10, RLENGTH - 10)
  min = $NF; want = int(2 * min / 4096 + 0.5) * 4096
  if (min <= 0 || size != want) { print "heap_size " size ", want " want " (min " min ")"; exit 1 }
  found = 1 }
  END { exit found ? 0 : 1 }' h.csv >awk.out || fail "csv: 2x is not twice the minimum heap: $(cat awk.out)"
# copying throughput: bytes copied per second of the collections that copied
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "copy_rate") c = i; next }
  $1 == "median" && $3 == "semispace@heap=4x" { s = $c } $1 == "median" && $3 == "marksweep@heap=4x" { m = $c }
  END { exit (c && s > 0 && m == 0) ? 0 : 1 }' h.csv || fail "csv: copy_rate is not positive for semispace and 0 for marksweep"
# a size is used as given, without a search; a heap too small fails that
# run with the reason, and compare still exits 0
expect 0 "$KILN" compare --plans marksweep --workload churn --scale 0.02 --runs 1 --heap 8MB,300KB --no-plot
grep -q '^\[min heap\]' err && fail "--heap with sizes only searched for a minimum heap"
has out '^marksweep@heap=8MB +[0-9.]+'
grep -q 'the fixed heap is full' out err || fail "the 300KB heap did not fail for want of heap"
expect 2 "$KILN" compare --heap 0.5x;              has err "from 1x to 100x"
expect 2 "$KILN" compare --heap 2x,junk;           has err "^kiln compare: --heap expects multiples of the minimum heap"
expect 2 "$KILN" compare --plans marksweep:arena.heap_policy=adaptive --heap 2x --workload churn
has err "^kiln compare: --heap fixes the heap, and plan 'marksweep:arena.heap_policy=adaptive' sets arena.heap_policy; give one$"

expect 2 "$KILN" compare --plans manual --baseline marksweep --workload churn
has err "^kiln compare: --baseline marksweep is not one of the plans compared \(manual\)$"
expect 2 "$KILN" compare --warmup 101;             has err "^kiln compare: --warmup expects a whole number from 0 to 100, got '101'$"
expect 2 "$KILN" compare --no-plot=yes;            has err "option --no-plot takes no value"
expect 2 "$KILN" compare --no-plot --plot p.svg;   has err "contradict"
expect 2 "$KILN" compare --plot p.pdf --workload churn --plans manual
has err "^kiln compare: --plot p.pdf: the plot's format comes from its extension, .svg or .png$"

# --- --scale applies to the tree workloads ---
objects() { "$KILN" __run1 manual "$1" depth=8 scale="$2" | tr '\t' '\n' | sed -n 's/^objects=//p'; }
for w in gcbench binarytrees; do
  full=$(objects $w 1); tenth=$(objects $w 0.1)
  [ -n "$full" ] && [ -n "$tenth" ] && [ "$tenth" -lt "$full" ] \
    || fail "$w at scale 0.1 made $tenth objects, at scale 1 $full"
done

# --- the options the table-only compare always had ---
expect 2 "$KILN" compare --bogus;          has err "unknown option '--bogus'"
expect 2 "$KILN" compare --runs 0;         has err 'whole number'
expect 2 "$KILN" compare --runs;           has err 'needs a value'
expect 2 "$KILN" compare --workload nope;  has err "unknown workload 'nope'"
for bad in "--runs -3:--runs expects a whole number from 1 to 1000, got '-3'" \
           "--runs 1.5:--runs expects a whole number from 1 to 1000, got '1.5'" \
           "--depth 0:--depth expects a whole number from 1 to 30, got '0'" \
           "--depth 31:--depth expects a whole number from 1 to 30, got '31'" \
           "--seed -1:--seed expects a whole number from 0 to 2\^63-1, got '-1'" \
           "--seed x:--seed expects a whole number from 0 to 2\^63-1, got 'x'" \
           "--scale 0:--scale expects a number above 0 and at most 1000, got '0'" \
           "--scale -1:--scale expects a number above 0 and at most 1000, got '-1'" \
           "--scale 1e9:--scale expects a number above 0 and at most 1000, got '1e9'"; do
  opt=${bad%%:*}
  expect 2 "$KILN" compare --plans manual --workload churn $opt
  has err "^kiln compare: ${bad#*:}$"; no_run "$opt"
done
expect 2 "$KILN" compare --plans manual --workload binarytrees --depth 4
has err 'depth 4 is too shallow for binarytrees, which needs a whole number from 6 to 30'
expect 2 "$KILN" compare --plans , --workload churn;  has err "option --plans needs at least one name, got ','"
expect 2 "$KILN" compare --workload , ;               has err "option --workload needs at least one name"
expect 2 "$KILN" compare --csv --json j.json;         has err "option --csv needs a value, got the option '--json'"

# --- output files are opened before the first run ---
for o in csv json plot svg; do
  ext=$o; [ $o = plot ] && ext=svg
  expect 1 "$KILN" compare --plans manual --workload churn --runs 1 --scale 0.01 --$o /nonexistent/x.$ext
  has err "^kiln compare: --$o /nonexistent/x.$ext: cannot open it for writing \(/nonexistent/x.$ext: No such file or directory\); nothing was run$"
  no_run "--$o"
  [ -s "$tmp/out" ] && fail "compare --$o with a bad path printed to stdout"
done
mkdir dir.svg
expect 1 "$KILN" compare --plans manual --workload churn --runs 1 --svg dir.svg
has err "^kiln compare: --svg dir.svg: cannot open it for writing \(dir.svg: Is a directory\); nothing was run$"
expect 1 "$KILN" compare --plans manual --workload churn --runs 1 --csv same --json same --no-plot
has err "^kiln compare: --csv and --json name the same file same; nothing was run$"
[ -e same ] && fail "compare created an output file while refusing"
expect 1 "$KILN" compare --plans manual --workload churn --runs 1 --csv new.csv --json /nonexistent/x.json --no-plot
has err "^kiln compare: --json /nonexistent/x.json: cannot open it for writing"
[ -e new.csv ] && fail "compare left the --csv file it created while refusing --json"
echo keep >old.csv
expect 1 "$KILN" compare --plans manual --workload churn --runs 1 --csv old.csv --plot /nonexistent/x.svg
[ "$(cat old.csv)" = keep ] || fail "compare truncated an existing --csv file while refusing --plot"
if [ -w /dev/full ]; then
  expect 1 "$KILN" compare --plans manual --workload churn --runs 1 --scale 0.01 --csv /dev/full \
    --json after.json --no-plot
  has err '^kiln compare: --csv /dev/full: No space left on device$'
  grep -q '"plan": "manual"' after.json || fail "--json written after --csv failed"
fi

# --- the plot ---
# Without gnuplot the default plot is skipped with one note; an explicit
# plot is an error before any run. nobin mirrors PATH without gnuplot, so
# wrappers such as tests/valgrind.sh still find their own tools.
mkdir nobin
IFS=:
for d in $PATH; do
  for f in "$d"/*; do
    b=${f##*/}
    case $b in gnuplot*) continue ;; esac
    [ -x "$f" ] && [ ! -e "nobin/$b" ] && ln -s "$f" "nobin/$b"
  done
done
unset IFS
expect 0 env PATH="$tmp/nobin" "$KILN" compare --plans manual --workload churn --runs 1 --scale 0.01
[ "$(grep -c 'gnuplot is not on PATH, so no plot is drawn' err)" -eq 1 ] || fail "one note that no plot is drawn"
[ -e kiln-compare.svg ] && fail "a plot without gnuplot"
grep -q '^plot:' out && fail "compare said it wrote a plot without gnuplot"
expect 1 env PATH="$tmp/nobin" "$KILN" compare --plans manual --workload churn --runs 1 --plot p.svg
has err "^kiln compare: --plot needs gnuplot, which is not on PATH"; no_run no-gnuplot
if command -v gnuplot >/dev/null 2>&1; then
  # by default kiln-compare.svg here: per workload a time, a peak-RSS and a
  # pause panel, time and RSS with error bars
  expect 0 "$KILN" compare --plans manual,marksweep --workload churn,gcbench --runs 2 $SMALL
  has out '^plot: kiln-compare.svg$'
  grep -q '<svg' kiln-compare.svg || fail "kiln-compare.svg is not an SVG"
  for w in churn gcbench; do
    for panel in "$w: time (s)" "$w: peak RSS (MB)" "$w: pauses (ms, log scale)"; do
      [ "$(grep -cF ">$panel<" kiln-compare.svg)" -eq 1 ] || fail "the plot has no single panel '$panel'"
    done
  done
  [ "$(grep -c '>min-max of the runs<' kiln-compare.svg)" -eq 4 ] || fail "error bars on the time and RSS panels"
  [ "$(grep -c '>[a-z]*: time (s)<' kiln-compare.svg)" -eq 2 ] || fail "one time panel per workload"
  # times relative to a baseline; PNG by the extension; --svg still works
  expect 0 "$KILN" compare --plans manual,marksweep --workload churn --runs 1 --scale 0.01 \
    --baseline marksweep --plot rel.png
  has out '^workload churn \(ratio to the baseline, marksweep\)$'
  has out '^marksweep +[0-9.]+ +1\.00 '
  [ "$(head -c 4 rel.png | od -An -c | tr -d ' ')" = '211PNG' ] || fail "rel.png is not a PNG"
  # a workload whose every run failed gets panels that say so, and the
  # others are still drawn
  expect 1 "$KILN" compare --plans marksweep --workload fails.lua,churn --runs 1 --scale 0.01 --plot f.svg
  [ "$(grep -c '>no run succeeded<' f.svg)" -eq 3 ] || fail "the failed workload's panels"
  grep -q '>churn: time (s)<' f.svg || fail "the plot of the workload that ran, beside a failed one"
  expect 0 "$KILN" compare --plans manual --workload churn --runs 1 --scale 0.01 --svg alias.svg --baseline manual
  grep -q '>churn: time / manual.s<' alias.svg || fail "--svg with --baseline: the relative time panel"
fi

# --- --threads: every thread runs the workload; the parameter reaches the files ---
expect 0 "$KILN" compare --plans sticky --workload gcbench --threads 2 --runs 1 $SMALL --csv t.csv --no-plot
has out '^sticky +[0-9.]+'
grep -q 'threads=2' t.csv || fail "csv: the parameters say threads=2"
expect 2 "$KILN" compare --plans sticky --workload gcbench --threads 0 --runs 1 --no-plot
has err 'threads'

finish test_compare
