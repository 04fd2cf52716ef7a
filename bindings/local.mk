# bindings/: C-level bindings, clients of the core API that need no Lua
# module: descriptor formats (desc.c, <kiln/desc.h>) in libkiln, and Lua on
# Kiln (lua_alloc.c, <kiln/lua.h>: a lua_Alloc over a manual pool) in
# libkiln-heap, the library that links Lua (Makefile.am).
libkiln_core_la_SOURCES += %reldir%/desc.c
libkiln_heap_core_la_SOURCES += %reldir%/lua_alloc.c
