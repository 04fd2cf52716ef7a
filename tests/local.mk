# tests/: Check suites. Each links the internal library so it may test
# internals; testlib.c holds the shared seed handling and main().
TEST_CFLAGS_ = $(AM_CFLAGS) $(CHECK_CFLAGS)
TEST_LDADD_ = libkiln_core.la $(CHECK_LIBS)
noinst_LTLIBRARIES += tests/libtestlib.la
tests_libtestlib_la_SOURCES = %reldir%/testlib.c %reldir%/testlib.h \
	%reldir%/graph.c %reldir%/graph.h
tests_libtestlib_la_CFLAGS = $(TEST_CFLAGS_)

KILN_CHECKS = tests/test_arena tests/test_ms tests/test_copy tests/test_gen tests/test_oom
check_PROGRAMS += $(KILN_CHECKS)
TESTS += $(KILN_CHECKS)

tests_test_arena_SOURCES = %reldir%/test_arena.c
tests_test_arena_CFLAGS = $(TEST_CFLAGS_)
tests_test_arena_LDADD = tests/libtestlib.la $(TEST_LDADD_)

tests_test_ms_SOURCES = %reldir%/test_ms.c
tests_test_ms_CFLAGS = $(TEST_CFLAGS_)
tests_test_ms_LDADD = tests/libtestlib.la $(TEST_LDADD_)

tests_test_gen_SOURCES = %reldir%/test_gen.c
tests_test_gen_CFLAGS = $(TEST_CFLAGS_)
tests_test_gen_LDADD = tests/libtestlib.la $(TEST_LDADD_)

tests_test_copy_SOURCES = %reldir%/test_copy.c
tests_test_copy_CFLAGS = $(TEST_CFLAGS_)
tests_test_copy_LDADD = tests/libtestlib.la $(TEST_LDADD_)

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
tests_test_oom_LDADD = tests/libtestlib.la $(TEST_LDADD_)

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
tests_test_fuzz_replay_CFLAGS = $(AM_CFLAGS) -DKILN_FUZZ_REPLAY
tests_test_fuzz_replay_LDADD = libkiln_core.la
