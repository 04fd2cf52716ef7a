# bindings/: clients of kiln.h that make Kiln usable from other languages:
# descriptor formats, libffi calls and callbacks, Lua on a Kiln allocator.
# Library parts go into libkiln_core; Lua-module parts into KILN_LUA_SOURCES.

libkiln_core_la_SOURCES += %reldir%/desc.c

# Scripted objects and scan callbacks: part of the Lua module (lua/local.mk).
KILN_LUA_SOURCES += %reldir%/lobj.h %reldir%/lobj.c %reldir%/lscan.c
