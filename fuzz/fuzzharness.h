/* fuzzharness.h -- the entry points of the fuzz harnesses, shared by
 * libFuzzer (LLVMFuzzerTestOneInput in each harness) and by the replay test
 * tests/test_fuzz_replay.c (which builds them with -DKILN_FUZZ_REPLAY). Each
 * returns 0 and aborts, after printing what broke, on a failed check. */
#ifndef KILN_FUZZHARNESS_H
#define KILN_FUZZHARNESS_H

#include <stddef.h>
#include <stdint.h>

int fuzz_plan_one(const uint8_t *data, size_t size);
int fuzz_api_one(const uint8_t *data, size_t size);
#ifndef KILN_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#endif

#endif
