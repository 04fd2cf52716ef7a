# pools/: one file per pool class, and the helpers they share (poolutil.h).
libkiln_core_la_SOURCES += \
	%reldir%/poolutil.h \
	%reldir%/mfs.c %reldir%/mvff.c %reldir%/ms.c %reldir%/copy.c %reldir%/gen.c
