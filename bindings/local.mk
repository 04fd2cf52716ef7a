# bindings/: clients of kiln.h that make Kiln usable from other languages:
# descriptor formats, libffi calls and callbacks, Lua on a Kiln allocator.
# Library parts go into libkiln_core; Lua-module parts into KILN_LUA_SOURCES.

libkiln_core_la_SOURCES += %reldir%/desc.c

# Scripted objects and scan callbacks: part of the Lua module (lua/local.mk).
KILN_LUA_SOURCES += %reldir%/lobj.h %reldir%/lobj.c %reldir%/lscan.c %reldir%/lrefs.c

# kiln.ffi (lffi.c): part of the `kiln` Lua module, so it joins
# KILN_LUA_SOURCES; everything that compiles those (lobj/lscan included)
# needs libffi and dlopen.
KILN_LUA_SOURCES += %reldir%/lffi.c
lua_kiln_la_CFLAGS += $(FFI_CFLAGS)
lua_kiln_la_LIBADD += $(FFI_LIBS) $(DL_LIBS)
lua_kiln_CFLAGS += $(FFI_CFLAGS)
lua_kiln_LDADD += $(FFI_LIBS) $(DL_LIBS)
tests_cli_test_heap_CFLAGS += $(FFI_CFLAGS)
tests_cli_test_heap_LDADD += $(FFI_LIBS) $(DL_LIBS)

# A shared library for tests/lua/ffi.lua to call, built by `make check` only
# (-rpath makes libtool build a .so: tests/bindings/.libs/libffitest.so).
# It carries its own copy of Kiln and of the workloads for ffitest_workload.
check_LTLIBRARIES = tests/bindings/libffitest.la
tests_bindings_libffitest_la_SOURCES = tests/bindings/ffitest.c lua/workloads.c
tests_bindings_libffitest_la_CFLAGS = $(AM_CFLAGS) $(LUA_CFLAGS)
tests_bindings_libffitest_la_LDFLAGS = -module -avoid-version -rpath /nowhere
tests_bindings_libffitest_la_LIBADD = libkiln_core.la
KILN_LUA_TESTS += tests/lua/ffi.lua

# Lua on Kiln: kiln_lua_newstate and its lua_Alloc (kiln run --lua-alloc=kiln).
libkiln_core_la_SOURCES += %reldir%/lua_alloc.c

# Its tests: a Check suite of the C API, and the program run both ways on an
# allocation-heavy script (tests/lua_alloc/). TEST_CFLAGS_ and TEST_LDADD_
# come from tests/local.mk.
check_PROGRAMS += tests/test_lua_alloc
TESTS += tests/test_lua_alloc
tests_test_lua_alloc_SOURCES = tests/test_lua_alloc.c
tests_test_lua_alloc_CFLAGS = $(TEST_CFLAGS_) $(LUA_CFLAGS)
tests_test_lua_alloc_LDADD = tests/libtestlib.la $(TEST_LDADD_) $(LUA_LIBS)
KILN_LUA_ALLOC_TESTS = tests/lua_alloc/test_lua_alloc.sh
TESTS += $(KILN_LUA_ALLOC_TESTS)
EXTRA_DIST += $(KILN_LUA_ALLOC_TESTS) tests/lua_alloc/alloc_heavy.lua
