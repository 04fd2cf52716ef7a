# lua/: plans and heaps (in the library), the `kiln` Lua module and the
# `kiln` program, and their tests (tests/lua/*.lua, tests/cli/*.sh).

# Embedded into the library by lua/embed.sh (POSIX sh + od).
KILN_PLAN_FILES = plans/manual.lua plans/marksweep.lua plans/semispace.lua \
	plans/gencopy.lua plans/genms.lua plans/sticky.lua \
	plans/sticky-inc.lua
# The front end's modules, preloaded as "kiln.cli.NAME" by lua/kiln_main.c.
KILN_CLI_MODULES = %reldir%/cli/util.lua %reldir%/cli/json.lua %reldir%/cli/report.lua \
	%reldir%/cli/plot.lua %reldir%/cli/compare.lua
KILN_EMBED_FILES = $(KILN_PLAN_FILES) %reldir%/dsl.lua %reldir%/cli.lua $(KILN_CLI_MODULES)
EXTRA_DIST += $(KILN_EMBED_FILES) %reldir%/embed.sh

libkiln_core_la_SOURCES += %reldir%/lkiln.h %reldir%/err.c %reldir%/plan.c %reldir%/heap.c
nodist_libkiln_core_la_SOURCES = %reldir%/plans_embed.c
CLEANFILES += %reldir%/plans_embed.c

%reldir%/plans_embed.c: $(KILN_EMBED_FILES:%=$(srcdir)/%) $(srcdir)/%reldir%/embed.sh
	$(AM_V_GEN)$(MKDIR_P) %reldir% && \
	  $(SHELL) $(srcdir)/%reldir%/embed.sh $@ $(srcdir) $(KILN_EMBED_FILES)

# The Lua C module: `require "kiln"` from a stock lua5.4. It carries its own
# copy of the library (libkiln_core), so it needs nothing else installed.
KILN_LUA_SOURCES = %reldir%/lkiln.h %reldir%/lkiln.c %reldir%/workloads.c
luacmod_LTLIBRARIES = %reldir%/kiln.la
lua_kiln_la_SOURCES = $(KILN_LUA_SOURCES)
lua_kiln_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden $(LUA_CFLAGS)
lua_kiln_la_LDFLAGS = -module -avoid-version -shared
lua_kiln_la_LIBADD = libkiln_core.la

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

# The program: the same module, preloaded, plus the command-line front end.
bin_PROGRAMS += %reldir%/kiln
lua_kiln_SOURCES = %reldir%/kiln_main.c $(KILN_LUA_SOURCES)
lua_kiln_CFLAGS = $(AM_CFLAGS) $(LUA_CFLAGS)
lua_kiln_LDADD = libkiln_core.la $(LUA_LIBS)

# Tests: Lua scripts run by the program, and shell tests of the program.
KILN_LUA_TESTS = tests/lua/plan_errors.lua tests/lua/plan_extends.lua tests/lua/objects.lua tests/lua/graph.lua \
	tests/lua/heaps.lua tests/lua/module.lua
KILN_CLI_TESTS = tests/cli/test_cli.sh tests/cli/test_compare.sh
TESTS += $(KILN_LUA_TESTS) $(KILN_CLI_TESTS) tests/cli/test_heap
check_PROGRAMS += tests/cli/test_heap
tests_cli_test_heap_SOURCES = tests/cli/test_heap.c $(KILN_LUA_SOURCES)
tests_cli_test_heap_CFLAGS = $(AM_CFLAGS) $(LUA_CFLAGS)
tests_cli_test_heap_LDADD = libkiln_core.la $(LUA_LIBS)
EXTRA_DIST += $(KILN_LUA_TESTS) $(KILN_CLI_TESTS) tests/lua/testlib.lua tests/cli/shlib.sh \
	tests/cli/json_check.lua
TEST_EXTENSIONS = .lua .sh
LUA_LOG_COMPILER = $(builddir)/%reldir%/kiln
AM_LUA_LOG_FLAGS = run
SH_LOG_COMPILER = env KILN=$(abs_builddir)/%reldir%/kiln KILN_SRCDIR=$(abs_srcdir) $(SHELL)
