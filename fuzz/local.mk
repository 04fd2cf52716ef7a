# fuzz/: libFuzzer harnesses for the plan loader and the public API.
# `make fuzz` builds both with clang through fuzz/run.sh (whatever CC
# configure chose); `fuzz/run.sh plan|api SECONDS` runs one. The saved
# crashing inputs in fuzz/regress/ are replayed by tests/test_fuzz_replay.
EXTRA_DIST += %reldir%/README.md %reldir%/run.sh %reldir%/plan.dict %reldir%/fuzz_plan.c \
	%reldir%/fuzz_api.c %reldir%/fuzzobj.c %reldir%/fuzzobj.h %reldir%/fuzzharness.h \
	%reldir%/regress

# A phony target: in a VPATH build `fuzz` is also a directory of objects.
.PHONY: fuzz
fuzz:
	KILN_FUZZ_OUT=$(abs_builddir)/fuzz-out $(SHELL) $(srcdir)/%reldir%/run.sh build

clean-local: clean-fuzz
.PHONY: clean-fuzz
clean-fuzz:
	-rm -rf fuzz-out
