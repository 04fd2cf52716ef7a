# plans/: the plans and heaps layer, in libkiln-heap (Makefile.am): the
# sandboxed plan loader (plan.c) and its DSL (dsl.lua), heaps built from
# plans (heap.c, <kiln/heap.h>), the error slot of failures with no arena
# (err.c), the built-in workloads (workloads.c) and the tree shapes they
# share with bench/bench_gc (trees.h), and the built-in plans (*.lua), embedded into the library by embed.sh (POSIX sh + od) and
# installed as examples.
KILN_PLAN_FILES = %reldir%/manual.lua %reldir%/marksweep.lua %reldir%/semispace.lua \
	%reldir%/gencopy.lua %reldir%/genms.lua %reldir%/sticky.lua \
	%reldir%/sticky-inc.lua
EXTRA_DIST += %reldir%/dsl.lua %reldir%/embed.sh

libkiln_heap_core_la_SOURCES += %reldir%/plans.h %reldir%/err.c %reldir%/plan.c \
	%reldir%/heap.c %reldir%/workloads.c %reldir%/replay.c %reldir%/trees.h
nodist_libkiln_heap_core_la_SOURCES = %reldir%/plans_embed.c %reldir%/dsl_embed.c
CLEANFILES += %reldir%/plans_embed.c %reldir%/dsl_embed.c

%reldir%/plans_embed.c: $(KILN_PLAN_FILES:%=$(srcdir)/%) $(srcdir)/%reldir%/embed.sh
	$(AM_V_GEN)$(MKDIR_P) %reldir% && \
	  $(SHELL) $(srcdir)/%reldir%/embed.sh $@ $(srcdir) lk_embedded $(KILN_PLAN_FILES)
%reldir%/dsl_embed.c: $(srcdir)/%reldir%/dsl.lua $(srcdir)/%reldir%/embed.sh
	$(AM_V_GEN)$(MKDIR_P) %reldir% && \
	  $(SHELL) $(srcdir)/%reldir%/embed.sh $@ $(srcdir) lk_dsl_embedded %reldir%/dsl.lua
