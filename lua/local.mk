# lua/: the `kiln` Lua module and the `kiln` program, the top two layers.
# The module (lkiln.c, scripted objects in lobj.c, lscan.c, lrefs.c, and
# kiln.ffi in lffi.c) is compiled once, into the convenience library
# lua/libkiln_lua.la that the module kiln.so, the program and the tests
# link. Only this layer links libffi (and dlopen, for kiln.ffi).
noinst_LTLIBRARIES += %reldir%/libkiln_lua.la
%canon_reldir%_libkiln_lua_la_SOURCES = %reldir%/lkiln.h %reldir%/lkiln.c %reldir%/lobj.h \
	%reldir%/lobj.c %reldir%/lscan.c %reldir%/lrefs.c %reldir%/lffi.c
%canon_reldir%_libkiln_lua_la_CPPFLAGS = $(KILN_CLIENT_CPPFLAGS)
%canon_reldir%_libkiln_lua_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden $(LUA_CFLAGS) $(FFI_CFLAGS)
%canon_reldir%_libkiln_lua_la_LIBADD = $(FFI_LIBS) $(DL_LIBS)
# What links the Lua module: it, then the layers below it, then Lua.
KILN_LUA_MODULE_LIBS_ = %reldir%/libkiln_lua.la $(KILN_HEAP_LIBS_)

# The Lua C module: `require "kiln"` from a stock lua5.4. It carries its own
# copy of the libraries, so it needs nothing else installed.
luacmod_LTLIBRARIES = %reldir%/kiln.la
%canon_reldir%_kiln_la_SOURCES =
%canon_reldir%_kiln_la_LDFLAGS = -module -avoid-version -shared
%canon_reldir%_kiln_la_LIBADD = $(KILN_LUA_MODULE_LIBS_)

# Lua finds the module by its shared object alone: its libtool .la is not
# installed into Lua's module directory. Uninstalling then removes the
# shared object by the name (dlname) the built .la gives it.
install-data-hook: kiln-install-lua-module-no-la
.PHONY: kiln-install-lua-module-no-la kiln-uninstall-lua-module
kiln-install-lua-module-no-la:
	rm -f "$(DESTDIR)$(luacmoddir)/kiln.la"
uninstall-local: kiln-uninstall-lua-module
kiln-uninstall-lua-module:
	@dlname=kiln.so; \
	if test -f %reldir%/kiln.la; then . ./%reldir%/kiln.la; fi; \
	echo " rm -f '$(DESTDIR)$(luacmoddir)/'$$dlname"; \
	rm -f "$(DESTDIR)$(luacmoddir)/$$dlname"

# The program: the same module, preloaded, plus the command-line front end
# (cli.lua, embedded by plans/embed.sh).
bin_PROGRAMS += %reldir%/kiln
%canon_reldir%_kiln_SOURCES = %reldir%/kiln_main.c
nodist_%canon_reldir%_kiln_SOURCES = %reldir%/cli_embed.c
%canon_reldir%_kiln_CPPFLAGS = $(KILN_CLIENT_CPPFLAGS)
%canon_reldir%_kiln_CFLAGS = $(AM_CFLAGS) $(LUA_CFLAGS)
%canon_reldir%_kiln_LDADD = $(KILN_LUA_MODULE_LIBS_)
EXTRA_DIST += %reldir%/cli.lua
CLEANFILES += %reldir%/cli_embed.c

# The front end's modules, preloaded as "kiln.cli.NAME" by lua/kiln_main.c.
KILN_CLI_MODULES = %reldir%/cli/util.lua %reldir%/cli/json.lua %reldir%/cli/report.lua \
	%reldir%/cli/plot.lua %reldir%/cli/compare.lua %reldir%/cli/heapsize.lua
EXTRA_DIST += $(KILN_CLI_MODULES)
%reldir%/cli_embed.c: $(srcdir)/%reldir%/cli.lua $(KILN_CLI_MODULES:%=$(srcdir)/%) $(srcdir)/plans/embed.sh
	$(AM_V_GEN)$(MKDIR_P) %reldir% && \
	  $(SHELL) $(srcdir)/plans/embed.sh $@ $(srcdir) lk_cli_embedded %reldir%/cli.lua $(KILN_CLI_MODULES)
