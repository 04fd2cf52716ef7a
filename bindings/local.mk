# bindings/: clients of kiln.h that make Kiln usable from other languages:
# descriptor formats, libffi calls and callbacks, Lua on a Kiln allocator.
# Library parts go into libkiln_core; Lua-module parts into KILN_LUA_SOURCES.

# kiln.ffi (lffi.c): part of the `kiln` Lua module, so it joins
# KILN_LUA_SOURCES; everything that compiles those needs libffi and dlopen.
KILN_LUA_SOURCES += %reldir%/lffi.c
lua_kiln_la_CFLAGS += $(FFI_CFLAGS)
lua_kiln_la_LIBADD += $(FFI_LIBS) $(DL_LIBS)
lua_kiln_CFLAGS += $(FFI_CFLAGS)
lua_kiln_LDADD += $(FFI_LIBS) $(DL_LIBS)
tests_cli_test_heap_CFLAGS += $(FFI_CFLAGS)
tests_cli_test_heap_LDADD += $(FFI_LIBS) $(DL_LIBS)
