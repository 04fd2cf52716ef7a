# examples/: kscheme, the example interpreter docs/embedding.md walks
# through. It links the installed libraries (libkiln-heap and libkiln,
# through kiln.h and kiln/heap.h only), like any client. Its tests run every program in examples/tests under every
# automatic plan and under arena.stress=1 (examples/tests/run.sh).
noinst_PROGRAMS += examples/kscheme
examples_kscheme_SOURCES = %reldir%/scheme.h %reldir%/heap.c %reldir%/symtab.c \
	%reldir%/ports.c %reldir%/reader.c %reldir%/printer.c %reldir%/eval.c \
	%reldir%/primitives.c %reldir%/main.c
examples_kscheme_CPPFLAGS = $(KILN_CLIENT_CPPFLAGS)
examples_kscheme_LDADD = libkiln-heap.la libkiln.la

KILN_EXAMPLE_TESTS = examples/tests/run.sh
TESTS += $(KILN_EXAMPLE_TESTS)
EXTRA_DIST += $(KILN_EXAMPLE_TESTS) $(wildcard $(srcdir)/%reldir%/tests/*.scm) \
	$(wildcard $(srcdir)/%reldir%/tests/*.out)
