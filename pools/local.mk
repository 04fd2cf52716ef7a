# pools/: one file per pool class.
libkiln_core_la_SOURCES += \
	%reldir%/mfs.c %reldir%/mvff.c %reldir%/ms.c %reldir%/copy.c %reldir%/gen.c
