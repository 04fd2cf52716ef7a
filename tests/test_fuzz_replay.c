/* test_fuzz_replay.c -- replays the fuzzers' saved inputs (fuzz/regress/)
 * through the harnesses' own entry points, in the normal build.
 *
 * Every file in $srcdir/fuzz/regress/plan and $srcdir/fuzz/regress/api is one
 * input that once crashed a fuzzer (see fuzz/README.md). An input that still
 * crashes the current code is listed in fuzz/regress/SKIP and left out until
 * the bug is fixed. The harnesses abort on a failed check, which fails this
 * test; a missing directory fails too, so a wrong srcdir is caught.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../fuzz/fuzzharness.h"

typedef int (*entry_fn)(const uint8_t *data, size_t size);

static char skip[4096];   /* the SKIP file, one "kind/name" per line */

static void load_skip(const char *dir)
{
  char path[1024];
  if ((size_t)snprintf(path, sizeof path, "%s/SKIP", dir) >= sizeof path)
    return;
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return;
  size_t n = fread(skip, 1, sizeof skip - 1, f);
  skip[n] = '\0';
  fclose(f);
}

static int skipped(const char *kind, const char *name)
{
  char want[512];
  if ((size_t)snprintf(want, sizeof want, "%s/%s", kind, name) >= sizeof want)
    return 0;
  for (char *line = skip; *line != '\0';) {
    size_t len = strcspn(line, "\n");
    if (len == strlen(want) && strncmp(line, want, len) == 0)
      return 1;
    line += len + (line[len] == '\n');
  }
  return 0;
}

static int replay_file(const char *path, entry_fn entry)
{
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "cannot read %s\n", path);
    return 0;
  }
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0, n;
  do {
    if (len == cap) {
      cap = cap != 0 ? cap * 2 : 4096;
      uint8_t *grown = realloc(buf, cap);
      if (grown == NULL) {
        free(buf);
        fclose(f);
        return 0;
      }
      buf = grown;
    }
    n = fread(buf + len, 1, cap - len, f);
    len += n;
  } while (n > 0);
  fclose(f);
  printf("replay %s (%zu bytes)\n", path, len);
  fflush(stdout);
  entry(buf, len);
  free(buf);
  return 1;
}

/* Replays every regular file of dir/kind; returns how many, -1 on error. */
static int replay_dir(const char *dir, const char *kind, entry_fn entry)
{
  char path[1024];
  DIR *d = (size_t)snprintf(path, sizeof path, "%s/%s", dir, kind) < sizeof path ? opendir(path)
                                                                                : NULL;
  if (d == NULL) {
    fprintf(stderr, "cannot open %s\n", path);
    return -1;
  }
  int count = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    if (e->d_name[0] == '.')
      continue;
    if (skipped(kind, e->d_name)) {
      printf("skip %s/%s (listed in SKIP: still crashes)\n", kind, e->d_name);
      continue;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/%s/%s", dir, kind, e->d_name) >= sizeof path
        || !replay_file(path, entry)) {
      count = -1;
      break;
    }
    count++;
  }
  closedir(d);
  return count;
}

int main(int argc, char **argv)
{
  const char *srcdir = getenv("srcdir");
  char dir[900];
  size_t n = argc > 1 ? (size_t)snprintf(dir, sizeof dir, "%s", argv[1])
                      : (size_t)snprintf(dir, sizeof dir, "%s/fuzz/regress",
                                         srcdir != NULL ? srcdir : ".");
  if (n >= sizeof dir) {
    fprintf(stderr, "directory name too long\n");
    return 1;
  }
  load_skip(dir);
  int plans = replay_dir(dir, "plan", fuzz_plan_one);
  int apis = replay_dir(dir, "api", fuzz_api_one);
  if (plans < 0 || apis < 0)
    return 1;
  printf("replayed %d plan and %d api inputs\n", plans, apis);
  return 0;
}
