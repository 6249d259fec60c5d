/* What the spinning ping-pong models here share (spinclaim.c, answerword.c,
 * spinproto.c): the clock, pinning, a cache line of words, and printing
 * each variant's median round trip. Each model is still built alone:
 *   gcc -O2 -o MODEL docs/measurements/MODEL.c
 */
#ifndef PINGPONG_H
#define PINGPONG_H
#define _GNU_SOURCE
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* CLOCK_MONOTONIC in ns. */
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
/* Pins the calling process to CPU c. */
static void pin(int c) { cpu_set_t s; CPU_ZERO(&s); CPU_SET(c, &s); sched_setaffinity(0, sizeof s, &s); }
/* One cache line: a word to spin on and data. */
struct line { _Atomic uint32_t w; uint32_t d[15]; } __attribute__((aligned(64)));
/* A shared memfd of len bytes, mapped as cache lines: the parent and the
 * child it forks next share them. */
static struct line *shared_lines(const char *name, size_t len) {
  int fd = memfd_create(name, 0);
  if (fd < 0 || ftruncate(fd, len)) exit(1);
  struct line *l = mmap(0, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (l == MAP_FAILED) exit(1);
  close(fd);
  return l;
}
/* For qsort of doubles. */
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return (x > y) - (x < y); }
/* Records round trip i's time (since *t) in out, after 1000 warm-up ones. */
static void sample(double *out, uint32_t i, double *t) {
  double t2 = now();
  if (i > 1000) out[i - 1001] = t2 - *t;
  *t = t2;
}

/* Runs each of k variants `runs` times, interleaved (run(c, out) fills n
 * samples of variant c), then prints each variant's p50 over all its
 * samples. */
static void report(int k, const char *const *names, int runs, int n, void (*run)(int c, double *out)) {
  double *r = malloc(sizeof(double) * k * runs * n);
  if (!r) exit(1);
  for (int i = 0; i < runs; i++)
    for (int c = 0; c < k; c++) run(c, r + ((size_t)c * runs + i) * n);
  printf("%-28s round trip p50 ns (%d interleaved runs of %d)\n", "variant", runs, n);
  for (int c = 0; c < k; c++) {
    double *v = r + (size_t)c * runs * n;
    qsort(v, (size_t)runs * n, sizeof(double), cmp);
    printf("%-28s %8.1f\n", names[c], v[(size_t)runs * n / 2]);
  }
  free(r);
}

/* The main() of a model whose variants are C[] (each with a name) and
 * whose pingpong(C[c], out) runs variant c once. */
#define PINGPONG_MAIN(C, RUNS, N)                                   \
  static void run_variant(int c, double *out) { pingpong(C[c], out); } \
  int main(void) {                                                  \
    enum { K = sizeof C / sizeof C[0] };                            \
    const char *names[K];                                           \
    for (int c = 0; c < K; c++) names[c] = C[c].name;               \
    report(K, names, RUNS, N, run_variant);                         \
    return 0;                                                       \
  }
#endif
