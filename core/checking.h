/* checking.h -- contract checking (MPS check.h in miniature).
 *
 * KILN_ASSERT(c): an internal invariant cheap enough to check in every
 * build (off the fast paths); a failure is reported as a sentence.
 * KILN_ASSERT_HOT(c): the same on fast paths (alloc, fix, free): checked
 * builds only (--enable-checked defines KILN_CHECKED).
 * CHECK_RULE(c, kind, obj, rule): inside a *_check function (arena, pool,
 * seg, ap, ss, trace): report the structure obj of the given kind and the
 * rule it breaks. Checked builds call the *_check functions at the entry of
 * the functions that take those structures.
 * KILN_FAILF(...): report a contract break, or a failure the collector
 * cannot recover from, as a sentence, then abort. Checked builds call it
 * for the breaks they check; every build calls it for what cannot go on (a
 * scan function failing inside a collection, say). The report starts
 * "kiln: checked build: " in a checked build and "kiln: " otherwise.
 * Every core struct has a `sig` field set at init and cleared at finish, so a
 * stale or foreign handle is caught by the *_check functions.
 */
#ifndef KILN_CHECKING_H
#define KILN_CHECKING_H

#include <stdio.h>
#include <stdlib.h>

void check_fail(const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((noreturn, format(printf, 3, 4)))
#endif
    ;

/* A function kept out of line: the slow half of a hot function, so that
   the hot half saves few registers. */
#if defined(__GNUC__)
#define KILN_COLD __attribute__((noinline, cold))
#else
#define KILN_COLD
#endif

#define KILN_ASSERT(c) \
  do { if (!(c)) check_fail(__FILE__, __LINE__, "an internal invariant does not hold: %s; " \
                            "Kiln's state is corrupt (a stray store by the client, or a bug " \
                            "in Kiln)", #c); } while (0)
#ifdef KILN_CHECKED
#define KILN_ASSERT_HOT(c) KILN_ASSERT(c)
#define KILN_CHECKING 1
#else
#define KILN_ASSERT_HOT(c) ((void)0)
#define KILN_CHECKING 0
#endif

#define CHECK_RULE(c, kind, obj, rule) \
  do { if (!(c)) check_fail(__FILE__, __LINE__, "%s %p breaks its invariant %s; its memory " \
                            "was overwritten (a stray store by the client, or a bug in Kiln)", \
                            kind, (const void *)(obj), rule); } while (0)

#define KILN_FAILF(...) check_fail(__FILE__, __LINE__, __VA_ARGS__)

/* Signatures: arbitrary constants that mark a live struct of one type. */
#define SIG_ARENA  0x4B41524EU /* KARN */
#define SIG_POOL   0x4B504F4FU /* KPOO */
#define SIG_SEG    0x4B534547U /* KSEG */
#define SIG_FMT    0x4B464D54U /* KFMT */
#define SIG_ROOT   0x4B524F4FU /* KROO */
#define SIG_THREAD 0x4B544852U /* KTHR */
#define SIG_AP     0x4B415020U /* KAP  */
#define SIG_CACHE  0x4B434143U /* KCAC */
#define SIG_DEAD   0xDEADDEADU

/* Poison written over freed memory in checked builds. */
#define KILN_POISON_BYTE 0xEF

#endif
