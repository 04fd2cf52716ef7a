# core/: arena, VM layer, segments, pool protocol, formats, roots, threads,
# scan state, the trace engine (trace.c, fix.c, mark.c, remset.c, inc.c, policy.c),
# allocation points, stats, checks of the public entry points' handles
# (handle.c), address sets (addrset.c), pinned objects (pin.c), finalization (final.c), the client's view of its objects:
# size, pool walks, derived pointers (object.c).
libkiln_core_la_SOURCES += \
	%reldir%/checking.h %reldir%/ring.h %reldir%/stats.h %reldir%/vm.h \
	%reldir%/arena.h %reldir%/seg.h %reldir%/pool.h %reldir%/trace.h \
	%reldir%/param.h %reldir%/root.h %reldir%/bits.h %reldir%/pin.h %reldir%/weak.h %reldir%/final.h \
	%reldir%/desc_layout.h \
	%reldir%/vm.c %reldir%/arena.c %reldir%/param.c %reldir%/pool.c \
	%reldir%/seg.c %reldir%/stats.c %reldir%/misc.c %reldir%/fmt.c \
	%reldir%/root.c %reldir%/ap.c %reldir%/trace.c %reldir%/fix.c \
	%reldir%/remset.c %reldir%/inc.c %reldir%/policy.c %reldir%/verify.c \
	%reldir%/handle.c %reldir%/pin.c %reldir%/object.c %reldir%/weak.c \
	%reldir%/final.c %reldir%/addrset.h %reldir%/addrset.c %reldir%/record.h \
	%reldir%/record.c %reldir%/cache.c %reldir%/mark.c
