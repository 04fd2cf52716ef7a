-- testlib.lua -- helpers for the Lua test scripts (run by `kiln run`).
local T = {}

local tmpdir
-- Write text to a fresh plan file; returns its path.
function T.plan_file(name, text)
  if not tmpdir then
    tmpdir = os.tmpname()
    os.remove(tmpdir)
    assert(os.execute("mkdir -p '" .. tmpdir .. "'"))
  end
  local path = tmpdir .. "/" .. name
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

function T.cleanup()
  if tmpdir then os.execute("rm -rf '" .. tmpdir .. "'") end
end

local failures, count = 0, 0

-- Compare exactly; report both strings on a mismatch.
function T.eq(got, want, what)
  count = count + 1
  if got ~= want then
    failures = failures + 1
    io.stderr:write(("FAIL %s\n  got:  %s\n  want: %s\n"):format(what or "", tostring(got), tostring(want)))
  end
end

function T.ok(cond, what)
  count = count + 1
  if not cond then
    failures = failures + 1
    io.stderr:write(("FAIL %s\n"):format(what or ""))
  end
end

-- kiln.check(path) must fail with exactly msg.
function T.check_error(kiln, path, msg, overrides)
  local ok, got = kiln.check(path, overrides)
  T.eq(ok and "ok" or got, msg, "check " .. path)
end

-- Ends the script: error() when any comparison failed.
function T.done(name)
  T.cleanup()
  if failures > 0 then error(("%s: %d of %d checks failed"):format(name, failures, count), 0) end
  print(("%s: %d checks passed"):format(name, count))
end

-- KILN_TEST_SCALE (default 1), as the Check suites read it (tests/testlib.c):
-- a factor for how much work a test does, smaller under Valgrind.
function T.scale()
  local k = tonumber(os.getenv("KILN_TEST_SCALE") or "")
  return (k and k > 0) and k or 1
end

-- True when pool class `name` is built in this library.
function T.built(kiln, name)
  return kiln.describe(name) ~= nil
end

return T
