# tests/: Check suites. Each links the internal library so it may test
# internals; testlib.c holds the shared seed handling and main(). The
# suites of the core API link libkiln_core alone, without Lua or libffi;
# those of heaps and of Lua on Kiln add the plans and heaps layer
# (TEST_HEAP_LDADD_).
TEST_CFLAGS_ = $(AM_CFLAGS) $(CHECK_CFLAGS)
TEST_LDADD_ = libkiln_core.la $(CHECK_LIBS)
TEST_HEAP_LDADD_ = $(KILN_HEAP_LIBS_) $(CHECK_LIBS)
# Built by `make check` only, so `make` needs no Check.
check_LTLIBRARIES = tests/libtestlib.la
tests_libtestlib_la_SOURCES = %reldir%/testlib.c %reldir%/testlib.h \
	%reldir%/graph.c %reldir%/graph.h %reldir%/shadow.c %reldir%/shadow.h \
	fuzz/fuzzobj.c fuzz/fuzzobj.h
tests_libtestlib_la_CFLAGS = $(TEST_CFLAGS_)

KILN_CHECKS = tests/test_arena tests/test_ms tests/test_copy tests/test_gen tests/test_sticky \
	tests/test_incremental tests/test_oom tests/test_sizing tests/test_order tests/test_mark
check_PROGRAMS += $(KILN_CHECKS)
TESTS += $(KILN_CHECKS)

tests_test_arena_SOURCES = %reldir%/test_arena.c
tests_test_arena_CFLAGS = $(TEST_CFLAGS_)
tests_test_arena_LDADD = tests/libtestlib.la $(TEST_LDADD_)

tests_test_mark_SOURCES = %reldir%/test_mark.c
tests_test_mark_CFLAGS = $(TEST_CFLAGS_)
tests_test_mark_LDADD = tests/libtestlib.la $(TEST_LDADD_)

tests_test_order_SOURCES = %reldir%/test_order.c
tests_test_order_CFLAGS = $(TEST_CFLAGS_)
tests_test_order_LDADD = tests/libtestlib.la $(TEST_LDADD_)

tests_test_sizing_SOURCES = %reldir%/test_sizing.c
tests_test_sizing_CFLAGS = $(TEST_CFLAGS_)
tests_test_sizing_LDADD = tests/libtestlib.la $(TEST_LDADD_)

tests_test_ms_SOURCES = %reldir%/test_ms.c
tests_test_ms_CFLAGS = $(TEST_CFLAGS_)
tests_test_ms_LDADD = tests/libtestlib.la $(TEST_LDADD_)

tests_test_gen_SOURCES = %reldir%/test_gen.c
tests_test_gen_CFLAGS = $(TEST_CFLAGS_)
tests_test_gen_LDADD = tests/libtestlib.la $(TEST_LDADD_)

tests_test_sticky_SOURCES = %reldir%/test_sticky.c
tests_test_sticky_CFLAGS = $(TEST_CFLAGS_)
tests_test_sticky_LDADD = tests/libtestlib.la $(TEST_LDADD_)

tests_test_incremental_SOURCES = %reldir%/test_incremental.c
tests_test_incremental_CFLAGS = $(TEST_CFLAGS_)
tests_test_incremental_LDADD = tests/libtestlib.la $(TEST_LDADD_)

tests_test_copy_SOURCES = %reldir%/test_copy.c
tests_test_copy_CFLAGS = $(TEST_CFLAGS_)
tests_test_copy_LDADD = tests/libtestlib.la $(TEST_LDADD_)

# Weak roots given as scan functions, under every automatic pool class.
KILN_CHECKS += tests/test_weak
tests_test_weak_SOURCES = %reldir%/test_weak.c
tests_test_weak_CFLAGS = $(TEST_CFLAGS_)
tests_test_weak_LDADD = tests/libtestlib.la $(TEST_LDADD_)
KILN_CHECKS += tests/test_weakobj
tests_test_weakobj_SOURCES = %reldir%/test_weakobj.c
tests_test_weakobj_CFLAGS = $(TEST_CFLAGS_)
tests_test_weakobj_LDADD = tests/libtestlib.la $(TEST_LDADD_)
KILN_CHECKS += tests/test_ephemeron
tests_test_ephemeron_SOURCES = %reldir%/test_ephemeron.c
tests_test_ephemeron_CFLAGS = $(TEST_CFLAGS_)
tests_test_ephemeron_LDADD = tests/libtestlib.la $(TEST_LDADD_)

# Finalization under every automatic pool configuration.
KILN_CHECKS += tests/test_final
tests_test_final_SOURCES = %reldir%/test_final.c
tests_test_final_CFLAGS = $(TEST_CFLAGS_)
tests_test_final_LDADD = tests/libtestlib.la $(TEST_LDADD_)

# Mark-stack overflow (a grey stack capped by the arena's grey_max) under
# every automatic pool class.
KILN_CHECKS += tests/test_overflow
tests_test_overflow_SOURCES = %reldir%/test_overflow.c
tests_test_overflow_CFLAGS = $(TEST_CFLAGS_)
tests_test_overflow_LDADD = tests/libtestlib.la $(TEST_LDADD_)

# What an embedding VM relies on, under every generational configuration:
# the barrier for off-heap slots, stress minors, statistics, events.
KILN_CHECKS += tests/test_embed
tests_test_embed_SOURCES = %reldir%/test_embed.c
tests_test_embed_CFLAGS = $(TEST_CFLAGS_)
tests_test_embed_LDADD = tests/libtestlib.la $(TEST_LDADD_)

# Pinning, object sizes, pool walks, derived pointers and the word-typed
# fix and barrier, under every automatic pool configuration; built with
# strict aliasing on, as a VM's interpreter is.
KILN_CHECKS += tests/test_object
tests_test_object_SOURCES = %reldir%/test_object.c
tests_test_object_CFLAGS = $(TEST_CFLAGS_) -fstrict-aliasing -Wstrict-aliasing
tests_test_object_LDADD = tests/libtestlib.la $(TEST_LDADD_)

# Manual pools and pool parameters.
KILN_CHECKS += tests/test_mfs tests/test_mvff tests/test_params

tests_test_mfs_SOURCES = %reldir%/test_mfs.c
tests_test_mfs_CFLAGS = $(TEST_CFLAGS_)
tests_test_mfs_LDADD = tests/libtestlib.la $(TEST_LDADD_)

tests_test_mvff_SOURCES = %reldir%/test_mvff.c
tests_test_mvff_CFLAGS = $(TEST_CFLAGS_)
tests_test_mvff_LDADD = tests/libtestlib.la $(TEST_LDADD_)

tests_test_params_SOURCES = %reldir%/test_params.c
tests_test_params_CFLAGS = $(TEST_CFLAGS_)
tests_test_params_LDADD = tests/libtestlib.la $(TEST_LDADD_)

tests_test_oom_SOURCES = %reldir%/test_oom.c
tests_test_oom_CFLAGS = $(TEST_CFLAGS_)
tests_test_oom_LDADD = tests/libtestlib.la $(TEST_HEAP_LDADD_)

# Misuse of the C API: bad handles, the thread rule, protocol breaks.
KILN_CHECKS += tests/test_misuse
tests_test_misuse_SOURCES = %reldir%/test_misuse.c
tests_test_misuse_CFLAGS = $(TEST_CFLAGS_)
tests_test_misuse_LDADD = tests/libtestlib.la $(TEST_LDADD_)

# The descriptor format (bindings/desc.c) under every automatic pool class.
KILN_CHECKS += tests/test_desc
tests_test_desc_SOURCES = %reldir%/test_desc.c
tests_test_desc_CFLAGS = $(TEST_CFLAGS_)
tests_test_desc_LDADD = tests/libtestlib.la $(TEST_LDADD_)

# The fuzzers' saved crashing inputs (fuzz/regress/), replayed through the
# harnesses' own entry points in the normal build (see fuzz/README.md).
check_PROGRAMS += tests/test_fuzz_replay
TESTS += tests/test_fuzz_replay
tests_test_fuzz_replay_SOURCES = %reldir%/test_fuzz_replay.c fuzz/fuzz_plan.c fuzz/fuzz_api.c \
	fuzz/fuzzobj.c fuzz/fuzzobj.h fuzz/fuzzharness.h
tests_test_fuzz_replay_CPPFLAGS = $(KILN_CLIENT_CPPFLAGS)
tests_test_fuzz_replay_CFLAGS = $(AM_CFLAGS) -DKILN_FUZZ_REPLAY
tests_test_fuzz_replay_LDADD = $(KILN_HEAP_LIBS_)

# Lua on Kiln: a Check suite of the C API, and the program run both ways on
# an allocation-heavy script (tests/lua_alloc/).
check_PROGRAMS += tests/test_lua_alloc
TESTS += tests/test_lua_alloc
tests_test_lua_alloc_SOURCES = %reldir%/test_lua_alloc.c
tests_test_lua_alloc_CFLAGS = $(TEST_CFLAGS_) $(LUA_CFLAGS)
tests_test_lua_alloc_LDADD = tests/libtestlib.la $(TEST_HEAP_LDADD_)
KILN_LUA_ALLOC_TESTS = %reldir%/lua_alloc/test_lua_alloc.sh
TESTS += $(KILN_LUA_ALLOC_TESTS)
EXTRA_DIST += $(KILN_LUA_ALLOC_TESTS) %reldir%/lua_alloc/alloc_heavy.lua

# Heaps from C, with the plans and heaps layer alone (no Lua module).
check_PROGRAMS += tests/cli/test_heap
TESTS += tests/cli/test_heap
tests_cli_test_heap_SOURCES = %reldir%/cli/test_heap.c
tests_cli_test_heap_CPPFLAGS = $(KILN_CLIENT_CPPFLAGS)
tests_cli_test_heap_CFLAGS = $(AM_CFLAGS) $(LUA_CFLAGS)
tests_cli_test_heap_LDADD = $(KILN_HEAP_LIBS_)

# A shared library for tests/lua/ffi.lua to call, built by `make check` only
# (-rpath makes libtool build a .so: tests/bindings/.libs/libffitest.so).
# It carries its own copy of Kiln and of the workloads for ffitest_workload.
check_LTLIBRARIES += tests/bindings/libffitest.la
tests_bindings_libffitest_la_SOURCES = %reldir%/bindings/ffitest.c
tests_bindings_libffitest_la_CPPFLAGS = $(KILN_CLIENT_CPPFLAGS)
tests_bindings_libffitest_la_CFLAGS = $(AM_CFLAGS) $(LUA_CFLAGS)
tests_bindings_libffitest_la_LDFLAGS = -module -avoid-version -rpath /nowhere
tests_bindings_libffitest_la_LIBADD = $(KILN_HEAP_LIBS_)

# Lua scripts run by the program, and shell tests of the program and of the
# tree (test_layers.sh: the layers' includes run one way).
KILN_LUA_TESTS = %reldir%/lua/plan_errors.lua %reldir%/lua/plan_extends.lua 	%reldir%/lua/objects.lua %reldir%/lua/graph.lua %reldir%/lua/heaps.lua 	%reldir%/lua/module.lua %reldir%/lua/ffi.lua %reldir%/lua/replay.lua
KILN_CLI_TESTS = %reldir%/cli/test_cli.sh %reldir%/cli/test_layers.sh %reldir%/cli/test_compare.sh \
	%reldir%/cli/test_replay.sh
TESTS += $(KILN_LUA_TESTS) $(KILN_CLI_TESTS)
EXTRA_DIST += $(KILN_LUA_TESTS) $(KILN_CLI_TESTS) %reldir%/lua/testlib.lua %reldir%/cli/shlib.sh \
	%reldir%/cli/json_check.lua
TEST_EXTENSIONS = .lua .sh
LUA_LOG_COMPILER = $(builddir)/lua/kiln
AM_LUA_LOG_FLAGS = run
SH_LOG_COMPILER = env KILN=$(abs_builddir)/lua/kiln KILN_SRCDIR=$(abs_srcdir) $(SHELL)

# make check-valgrind: every test above under Valgrind's Memcheck, through
# tests/valgrind.sh (README.md, "Developer loop"). The same harness and TESTS
# as make check, with each kind of test's runner wrapped; the CLI tests get
# a `kiln` that runs itself under Memcheck (tests/kiln-vg).
EXTRA_DIST += %reldir%/valgrind.sh %reldir%/valgrind.supp
CLEANFILES += %reldir%/kiln-vg test-suite-valgrind.log
KILN_VALGRIND = $(SHELL) $(abs_srcdir)/%reldir%/valgrind.sh
KILN_VALGRIND_ENV = KILN_LIBTOOL='$(abs_top_builddir)/libtool'

%reldir%/kiln-vg: Makefile
	$(AM_V_GEN)$(MKDIR_P) %reldir% && { \
	  echo '#!/bin/sh'; \
	  echo 'exec $(KILN_VALGRIND) $(abs_builddir)/lua/kiln "$$@"'; \
	} >$@ && chmod +x $@

check-valgrind: %reldir%/kiln-vg
	@if ! grep -q '^#define HAVE_VALGRIND_MEMCHECK_H 1' config.h; then \
	  echo "check-valgrind: configure did not find valgrind/memcheck.h;" \
	    "install valgrind, then run configure again" >&2; exit 1; fi
	$(KILN_VALGRIND_ENV) $(MAKE) $(AM_MAKEFLAGS) check \
	  TEST_SUITE_LOG=test-suite-valgrind.log \
	  LOG_COMPILER='$(KILN_VALGRIND)' \
	  LUA_LOG_COMPILER='$(KILN_VALGRIND) $(abs_builddir)/lua/kiln' \
	  SH_LOG_COMPILER='env KILN=$(abs_builddir)/%reldir%/kiln-vg KILN_SRCDIR=$(abs_srcdir) $(SHELL)'
.PHONY: check-valgrind

KILN_CHECKS += tests/test_threads
# Per-thread caches of manual pools, and shared manual pools.
KILN_CHECKS += tests/test_cache
tests_test_cache_SOURCES = %reldir%/test_cache.c
tests_test_cache_CFLAGS = $(TEST_CFLAGS_)
tests_test_cache_LDADD = tests/libtestlib.la $(TEST_LDADD_)
tests_test_threads_SOURCES = %reldir%/test_threads.c
tests_test_threads_CFLAGS = $(TEST_CFLAGS_)
tests_test_threads_LDADD = tests/libtestlib.la $(TEST_HEAP_LDADD_)

# Recording a heap and replaying the trace under every plan (core/record.c,
# plans/replay.c).
KILN_CHECKS += tests/test_record
tests_test_record_SOURCES = %reldir%/test_record.c
tests_test_record_CFLAGS = $(TEST_CFLAGS_) $(LUA_CFLAGS)
tests_test_record_LDADD = tests/libtestlib.la $(TEST_HEAP_LDADD_)

# make check-tsan (a build configured with --enable-tsan): the suites that
# run several threads, under ThreadSanitizer. Only those are built and run:
# the others are single-threaded, so TSan has nothing to find in them and
# the ASan build covers their memory errors. halt_on_error makes a report a
# failure; tests/tsan.supp lists what is suppressed and why.
KILN_TSAN_TESTS = tests/test_threads tests/test_cache tests/test_mark
EXTRA_DIST += %reldir%/tsan.supp
check-tsan:
	@if ! grep -q '^#define KILN_TSAN 1' config.h; then \
	  echo "check-tsan: configure this build with --enable-tsan" >&2; exit 1; fi
	CK_TIMEOUT_MULTIPLIER=$${CK_TIMEOUT_MULTIPLIER:-10} TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(abs_srcdir)/%reldir%/tsan.supp $${TSAN_OPTIONS:-}" \
	  $(MAKE) $(AM_MAKEFLAGS) check TESTS='$(KILN_TSAN_TESTS)' \
	  check_PROGRAMS='$(KILN_TSAN_TESTS)' TEST_SUITE_LOG=test-suite-tsan.log
.PHONY: check-tsan
