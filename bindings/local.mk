# bindings/: clients of kiln.h that make Kiln usable from other languages:
# descriptor formats, libffi calls and callbacks, Lua on a Kiln allocator.
# Library parts go into libkiln_core; Lua-module parts into KILN_LUA_SOURCES.
