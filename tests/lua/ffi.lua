-- ffi.lua -- kiln.ffi: calls into tests/bindings/libffitest.so.
-- The library is built by `make check`; tests run from the build directory,
-- so its path is relative to it unless KILN_FFITEST names it.
local dir = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/"
package.path = dir .. "?.lua;" .. package.path
local T = require "testlib"
local kiln = require "kiln"
local ffi = kiln.ffi

local path = os.getenv("KILN_FFITEST") or "tests/bindings/.libs/libffitest.so"
local lib, why = ffi.load(path)
if not lib then
  error("ffi: cannot load the test library (built by `make check`): " .. tostring(why), 0)
end

-- pcall(f, ...) must fail with a message containing `want` (plain text).
local function fails(want, what, f, ...)
  local ok, msg = pcall(f, ...)
  T.ok(not ok and msg:find(want, 1, true) ~= nil,
       ("%s: want error containing %q, got %s"):format(what, want, ok and "success" or msg))
end

local function fn(name, sig) return lib:fn("ffitest_" .. name, sig) end

-- ---- integers of every width: sign and zero extension of results -------------
local add_i8 = fn("add_i8", "int8(int8, int8)")
T.eq(add_i8(100, 27), 127, "int8")
T.eq(add_i8(100, 28), -128, "int8 wraps in C, comes back sign-extended")
T.eq(add_i8(-128, 0), -128, "int8 lower bound")
T.eq(fn("add_u8", "uint8(uint8,uint8)")(200, 100), 44, "uint8 wraps, zero-extended")
T.eq(fn("neg_i16", "int16(int16)")(-32768), -32768, "int16 negation wraps")
T.eq(fn("add_u16", "uint16(uint16, uint16)")(65535, 2), 1, "uint16")
T.eq(fn("mul_i32", "int32(int32, int32)")(-3, 7), -21, "int32")
T.eq(fn("not_u32", "uint32(uint32)")(0), 4294967295, "uint32 zero-extended")
T.eq(fn("add_i64", "int64(int64, int64)")(math.maxinteger, 1), math.mininteger, "int64")
T.eq(fn("shl_u64", "uint64(uint64, unsigned)")(1, 63), math.mininteger, "uint64 2^63 wraps in Lua")
T.eq(fn("sub_long", "long(long, long)")(5, 7), -2, "long")
T.eq(fn("size", "size_t(size_t)")(1 << 40), 1 << 41, "size_t")
T.eq(fn("upper", "char(char)")(("a"):byte()), ("A"):byte(), "char")
T.eq(fn("not", "bool(bool)")(true), false, "bool")
T.eq(fn("not", "bool(bool)")(false), true, "bool false")
T.eq(add_i8(3.0, 4), 7, "a float with an integer value is an integer")

-- ---- floating point ---------------------------------------------------------------
T.eq(fn("scale", "double(double, float)")(1.5, 4), 6.0, "double and float")
T.eq(fn("half", "float(float)")(3), 1.5, "float result")

-- ---- pointers and buffers ------------------------------------------------------------
local buf = ffi.buffer(16)
T.eq(#buf, 16, "buffer length")
fn("fill", "void(pointer, size_t, int)")(buf, 8, 0x41)
T.eq(buf:string(), "AAAAAAAA", "fill a buffer; :string() stops at NUL")
T.eq(buf:string(6, 4), "AA\0\0", ":string(offset, len)")
local arr = ffi.buffer(4 * 5)
for i = 0, 4 do arr:set("int32", 4 * i, (i + 1) * 1000 - 3) end
T.eq(fn("sum_i32", "int64(const int32_t *, size_t)")(arr, 5), 14985, "sum an array (T* form)")
T.eq(fn("sum_i32", "int64(void*, size_t)")(arr:ptr(), 2), 2994, "lightuserdata pointer")
T.eq(fn("sum_i32", "int64(pointer, size_t)")(nil, 0), 0, "nil is NULL")
local out = ffi.buffer(16)
T.eq(fn("out", "int(int*, double*)")(out, out:ptr()), 2, "out-parameters")
-- both point at offset 0: the double overwrote the int
T.eq(out:get("double", 0), 2.5, "out-parameter read back")
local two = ffi.buffer(16)
local outfn = fn("out", "int(pointer, pointer)")
local ints, dbl = ffi.buffer(4), ffi.buffer(8)
outfn(ints, dbl)
T.eq(ints:get("int"), 42, "int out-parameter")
T.eq(dbl:get("double"), 2.5, "double out-parameter")
two:set("uint8", 15, 255)
T.eq(two:get("int8", 15), -1, "buffer get/set of narrow types")
two:write("hi", 3)
T.eq(two:string(3), "hi", "buffer write")
local id = fn("ptr_id", "pointer(pointer)")
T.eq(id(buf:ptr()), buf:ptr(), "pointer result is lightuserdata")
T.eq(id(nil), nil, "NULL result is nil")
T.eq(id("abc") ~= nil, true, "a string passes as a pointer to its bytes")
T.eq(lib:fn("ffitest_ptr_id", "void *(void *)")(buf), buf:ptr(), "void * is a pointer type")
T.eq(type(lib:fn("ffitest_greet", "const char*(int)")(1)), "userdata",
     "char * is a pointer, not a string")

-- ---- strings ---------------------------------------------------------------------------
local strlen = fn("strlen", "size_t(string)")
T.eq(strlen("hello"), 5, "string argument")
T.eq(strlen(nil), -1, "nil string is NULL")
local greet = fn("greet", "string(int)")
T.eq(greet(1), "hello", "string result")
T.eq(greet(2), "hello, world", "string result 2")
T.eq(greet(0), nil, "NULL string result is nil")

-- ---- void, no arguments -----------------------------------------------------------------
local set, get = fn("set", "void(int)"), fn("get", "int(void)")
T.eq(select("#", set(77)), 0, "void returns nothing")
T.eq(get(), 77, "(void) takes no arguments")
T.eq(fn("get", "int()")(), 77, "() takes no arguments")

-- ---- many arguments: past the argument registers of both classes ------------------------
local many = fn("many", "double(int, double, int64, float, int8, double, uint16, double,"
                        .. " int, double, long, double, int, double)")
T.eq(many(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14.5), 105.5, "fourteen arguments")

-- ---- variadic ------------------------------------------------------------------------------
local sum_var = fn("sum_var", "long(int, ...)")
T.eq(sum_var(0), 0, "variadic with no extra arguments")
T.eq(sum_var(3, 10, 20, 30), 60, "variadic integers pass as int64")
T.eq(sum_var(9, 1, 2, 3, 4, 5, 6, 7, 8, 9), 45, "variadic past the registers")
T.eq(fn("avg_var", "double(int, ...)")(2, 1.0, 2.0), 1.5, "variadic floats pass as double")

-- ---- the process's own symbols -----------------------------------------------------------
local self = ffi.self()
T.eq(self:fn("strlen", "size_t(const char *)")("kiln"), 4, "self: libc")
T.eq(tostring(ffi.load(nil)):find("the process", 1, true) ~= nil, true, "load(nil) is self()")

-- ---- a C workload on a heap from a plan the script names ---------------------------------
local work = fn("workload", "int64(string, string, uint64, double)")
for _, plan in ipairs({ "marksweep", "genms", "sticky", "sticky-inc" }) do
  local want = assert(kiln.workload("churn", plan, { seed = 7, scale = 0.02 }))
  T.eq(work(plan, "churn", 7, 0.02), want.check & math.maxinteger, "workload in C on " .. plan)
end
T.eq(work("nosuchplan", "churn", 7, 0.02), -1, "workload failure reported by C")

-- ---- errors ----------------------------------------------------------------------------------
local function sig_fails(sig, want, what)
  fails(('kiln.ffi: bad signature "%s": %s'):format(sig, want), what,
        lib.fn, lib, "ffitest_get", sig)
end
sig_fails("int(pointr)", "column 5: unknown type 'pointr' (expected one of void, bool,",
          "unknown type")
sig_fails("int(int", "column 8: unexpected end, expected ',' or ')'", "missing paren")
sig_fails("int int)", "column 5: expected '(' after the return type", "missing open paren")
sig_fails("int(int) x", "column 10: unexpected text after ')'", "trailing junk")
sig_fails("int(int, void)", "column 10: void is not an argument type", "void argument")
sig_fails("int(...)", "column 5: '...' needs at least one fixed argument", "variadic without fixed")
sig_fails("int(int, ..., int)", "column 13: expected ')' after '...'", "arguments after ...")
sig_fails("int(,)", "column 5: expected a type", "empty argument")
fails("kiln.ffi: 'no_such_fn' not found in " .. path .. ": ", "missing symbol",
      lib.fn, lib, "no_such_fn", "int()")
fails("kiln.ffi: lib:fn: argument 2 must be a signature", "signature not a string",
      lib.fn, lib, "ffitest_get", nil)
local nolib, msg = ffi.load("/nonexistent/libnope.so")
T.eq(nolib, nil, "missing library")
T.ok(msg:find("kiln.ffi: cannot load /nonexistent/libnope.so: ", 1, true),
     "missing library: " .. msg)
fails("kiln.ffi: ffitest_add_i8 expects 2 arguments, got 3", "too many arguments", add_i8, 1, 2, 3)
fails("kiln.ffi: ffitest_get expects 0 arguments, got 1", "argument to (void)", get, 1)
fails("kiln.ffi: ffitest_sum_var expects at least 1 argument, got 0", "variadic count", sum_var)
fails("kiln.ffi: argument 2 of ffitest_add_i8: 300 does not fit int8", "int8 range", add_i8, 1, 300)
fails("kiln.ffi: argument 1 of ffitest_add_u8: -1 does not fit uint8", "uint8 range",
      fn("add_u8", "uint8(uint8,uint8)"), -1, 0)
fails("kiln.ffi: argument 1 of ffitest_shl_u64: -1 does not fit uint64", "uint64 range",
      fn("shl_u64", "uint64(uint64, unsigned)"), -1, 0)
fails("kiln.ffi: argument 1 of ffitest_half: 1e+300 does not fit float", "float range",
      fn("half", "float(float)"), 1e300)
fails("kiln.ffi: argument 1 of ffitest_add_i8: 1.5 is not an integer (int8)", "fraction",
      add_i8, 1.5, 0)
fails("kiln.ffi: argument 2 of ffitest_add_i8: expected an integer (int8), got string",
      "wrong Lua type for an integer", add_i8, 1, "2")
fails("kiln.ffi: argument 1 of ffitest_strlen: expected a string or nil, got number",
      "wrong Lua type for a string", strlen, 5)
fails("kiln.ffi: argument 1 of ffitest_not: expected a boolean, got number", "wrong type for bool",
      fn("not", "bool(bool)"), 1)
fails("kiln.ffi: argument 1 of ffitest_ptr_id: expected a pointer (lightuserdata, kiln.ffi.buffer, "
      .. "string or nil), got table", "wrong Lua type for a pointer", id, {})
fails("kiln.ffi: argument 2 of ffitest_sum_var: a table cannot be passed as a variadic argument",
      "wrong Lua type for a variadic argument", sum_var, 1, {})
fails("kiln.ffi: buffer: 4 bytes at offset 14 are outside a buffer of 16 bytes", "buffer bounds",
      buf.get, buf, "int32", 14)
fails("kiln.ffi: buffer: 'string' is not a type a buffer holds", "buffer type",
      buf.get, buf, "string")
fails("kiln.ffi: argument 3 of buffer:set: 256 does not fit uint8", "buffer:set range",
      buf.set, buf, "uint8", 0, 256)

-- wrong argument types: a sentence naming the call, never "bad argument #n to '?'"
fails("kiln.ffi: load(path): path must be a string (or nil for the process), got number",
      "load(5)", ffi.load, 5)
fails("kiln.ffi: buffer(n): n must be a whole number, got string", "buffer('x')", ffi.buffer, "x")
fails("kiln.ffi: buffer(n): n must be a whole number, got number", "buffer(1.5)", ffi.buffer, 1.5)
fails("kiln.ffi: buffer size -5 is negative or too large", "a negative buffer size", ffi.buffer, -5)
fails("kiln.ffi: lib:fn: expected a kiln.ffi.lib, got number (call methods with a colon, as lib:fn(...))",
      "lib.fn without self", lib.fn, 5, "ffitest_get", "int()")
fails("kiln.ffi: lib:close: expected a kiln.ffi.lib, got string", "lib.close without self", lib.close, "x")
fails("kiln.ffi: buf:get: expected a kiln.ffi.buffer, got number", "buf.get without self", buf.get, 5, "int")
fails("kiln.ffi: buffer: the type must be a string such as \"int\" or \"double\", got number",
      "buffer type not a string", buf.get, buf, 5)
fails("kiln.ffi: buffer: the offset must be a whole number, got string", "buffer offset not a number",
      buf.get, buf, "int", "x")
fails("kiln.ffi: buf:set: the offset must be a whole number, got nil", "buf:set without offset",
      buf.set, buf, "int", nil, 1)
fails("kiln.ffi: buffer: the offset must be a whole number, got string", "buf:string offset",
      buf.string, buf, "x")
fails("kiln.ffi: buf:string: the length must be a whole number, got table", "buf:string length",
      buf.string, buf, 0, {})
fails("kiln.ffi: buf:write: the bytes must be a string, got number", "buf:write a number",
      buf.write, buf, 5)
fails("kiln.ffi: buf:ptr: expected a kiln.ffi.buffer, got no value", "buf.ptr without self", buf.ptr)

-- a closed library: no new functions, and its functions refuse to run
local lib2 = assert(ffi.load(path))
local get2 = lib2:fn("ffitest_get", "int(void)")
lib2:close()
lib2:close() -- closing twice is harmless
fails("kiln.ffi: library " .. path .. " is closed", "fn on a closed lib",
      lib2.fn, lib2, "ffitest_get", "int()")
fails("kiln.ffi: cannot call ffitest_get: library " .. path .. " is closed", "call on a closed lib",
      get2)

T.done("ffi")
