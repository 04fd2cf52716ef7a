# bindings/: clients of kiln.h that make Kiln usable from other languages:
# descriptor formats, libffi calls and callbacks, Lua on a Kiln allocator.
# Library parts go into libkiln_core; Lua-module parts into KILN_LUA_SOURCES.

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
