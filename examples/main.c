/* main.c -- kscheme, a small Scheme interpreter on a Kiln heap: the
 * command line, the prelude (list procedures written in Scheme), and the
 * read-eval loop over a program file or standard input.
 *
 *   kscheme [--plan NAME] [--set KEY=VALUE]... [FILE]
 *
 * --plan chooses the collector (a built-in plan name or a plan file;
 * default sticky); each --set overrides one plan or arena parameter, as
 * `kiln check` takes them (arena.stress=1, young.nursery_size=64KB). The
 * exit status is 1 if any top-level form raised an error.
 */
#include <stdlib.h>
#include <string.h>
#include "scheme.h"

static const char prelude[] =
  "(define (length l) (define (go l n) (if (null? l) n (go (cdr l) (+ n 1)))) (go l 0))\n"
  "(define (reverse l) (define (go l acc) (if (null? l) acc (go (cdr l) (cons (car l) acc)))) (go l '()))\n"
  "(define (append a b) (if (null? a) b (cons (car a) (append (cdr a) b))))\n"
  "(define (map f l) (define (go l acc) (if (null? l) (reverse acc) (go (cdr l) (cons (f (car l)) acc)))) (go l '()))\n"
  "(define (for-each f l) (if (null? l) #t (begin (f (car l)) (for-each f (cdr l)))))\n"
  "(define (list-ref l k) (if (= k 0) (car l) (list-ref (cdr l) (- k 1))))\n"
  "(define (assq k al) (cond ((null? al) #f) ((eq? k (car (car al))) (car al)) (else (assq k (cdr al)))))\n"
  "(define (vector->list v) (define (go i acc) (if (< i 0) acc (go (- i 1) (cons (vector-ref v i) acc)))) (go (- (vector-length v) 1) '()))\n"
  "(define (list->vector l) (apply vector l))\n";

static int usage(const char *why)
{
  if (why != NULL)
    fprintf(stderr, "kscheme: %s\n", why);
  fprintf(stderr, "usage: kscheme [--plan NAME] [--set KEY=VALUE]... [FILE]\n");
  return 2;
}

/* Read and evaluate every form of f; the number of forms that failed. */
static int run(FILE *f)
{
  int failures = 0;
  for (;;) {
    int syntax_error;
    value x = read_datum(f, &syntax_error);
    if (syntax_error)
      return failures + 1;
    if (x == EOF_V)
      return failures;
    failures += !eval_toplevel(x);
  }
}

static int run_prelude(void)
{
  FILE *f = fmemopen((void *)prelude, sizeof prelude - 1, "r");
  if (f == NULL) {
    perror("kscheme: fmemopen (the prelude)");
    return 0;
  }
  int failures = run(f);
  fclose(f);
  return failures == 0;
}

int main(int argc, char **argv)
{
  const char *plan = "sticky", *file = NULL;
  const char **sets = calloc((size_t)argc + 1, sizeof *sets);
  size_t nsets = 0;
  if (sets == NULL)
    return 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--plan") == 0 && i + 1 < argc)
      plan = argv[++i];
    else if (strcmp(argv[i], "--set") == 0 && i + 1 < argc)
      sets[nsets++] = argv[++i];
    else if (strcmp(argv[i], "--help") == 0)
      return free(sets), usage(NULL), 0;
    else if (argv[i][0] == '-' && argv[i][1] != '\0')
      return free(sets), usage("unknown option or missing value");
    else if (file == NULL)
      file = argv[i];
    else
      return free(sets), usage("give at most one program file");
  }
  FILE *in = stdin;
  if (file != NULL && strcmp(file, "-") != 0 && (in = fopen(file, "r")) == NULL) {
    fprintf(stderr, "kscheme: cannot open program file '%s'\n", file);
    free(sets);
    return 1;
  }
  int status = 1;
  if (heap_open(plan, sets) && eval_init() && run_prelude())
    status = run(in) == 0 ? 0 : 1;
  fflush(stdout);
  heap_close();
  if (in != stdin)
    fclose(in);
  free(sets);
  return status;
}
