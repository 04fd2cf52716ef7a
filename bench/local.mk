# bench/: benchmark programs (built by `make bench`, never run by make check).
# They are EXTRA_PROGRAMS, so plain `make` stays fast; bench/run.sh runs them.
# They are clients of include/kiln.h only (bench_gc also takes the tree
# shapes of plans/trees.h, which depends on nothing): their CPPFLAGS leave
# core/ out of the include path so that a stray core header fails to compile.
# (automake neither builds nor cleans EXTRA_PROGRAMS by itself.)
EXTRA_PROGRAMS = bench/bench_manual bench/bench_gc bench/bench_stop
KILN_BENCHES = bench/bench_manual$(EXEEXT) bench/bench_gc$(EXEEXT) bench/bench_stop$(EXEEXT)
CLEANFILES += $(KILN_BENCHES)
EXTRA_DIST += %reldir%/run.sh %reldir%/heap_curve.sh %reldir%/markers.sh %reldir%/README.md %reldir%/lua_alloc.sh %reldir%/scripted_scan.lua

BENCH_CPPFLAGS_ = -I$(top_srcdir)/include -D_GNU_SOURCE
BENCH_LIB_ = %reldir%/benchlib.c %reldir%/benchlib.h

bench_bench_manual_SOURCES = %reldir%/bench_manual.c $(BENCH_LIB_)
bench_bench_manual_CPPFLAGS = $(BENCH_CPPFLAGS_)
bench_bench_manual_LDADD = libkiln_core.la

bench_bench_stop_SOURCES = %reldir%/bench_stop.c
bench_bench_stop_CPPFLAGS = $(BENCH_CPPFLAGS_)
bench_bench_stop_LDADD = libkiln_core.la

bench_bench_gc_SOURCES = %reldir%/bench_gc.c %reldir%/gc_backend.h plans/trees.h %reldir%/gc_malloc.c \
	%reldir%/gc_kiln.c $(BENCH_LIB_)
bench_bench_gc_CPPFLAGS = $(BENCH_CPPFLAGS_)
bench_bench_gc_LDADD = $(KILN_HEAP_LIBS_)
if HAVE_BDWGC
bench_bench_gc_SOURCES += %reldir%/gc_boehm.c
bench_bench_gc_CPPFLAGS += -DBENCH_HAVE_BDWGC $(BDWGC_CFLAGS)
bench_bench_gc_LDADD += $(BDWGC_LIBS)
endif

# A phony target: in a VPATH build `bench` is also a directory of objects.
.PHONY: bench
bench: $(KILN_BENCHES)
