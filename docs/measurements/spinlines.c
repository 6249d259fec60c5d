/* What a spinning round trip across CPUs costs per cache line moved and per
 * instruction of work on the path (docs/DESIGN.md, "Spin mode across CPUs").
 *
 * Two processes pinned to two CPUs ping-pong through a shared memfd by
 * spinning, as baton bench's "spin" floor does. Each hand-off writes L cache
 * lines (the state word in the first; each line is written, so each moves to
 * the other CPU) and the receiving side reads all L before it answers; the
 * server also runs W turns of a dependent loop (4 instructions a turn, about
 * 1 ns: see the "work alone" line) before answering, standing for the
 * instructions a real server executes between taking a message and replying.
 * "chained": the receiver spins on the line written last (a doorbell) and
 * only then reads the others, one after another, each read's address
 * depending on the value before it, so every line is a miss of its own in
 * sequence, as when a server sees a doorbell bit, then reads the slot's
 * state, then its header, then the message.
 * Each round trip is timed alone (CLOCK_MONOTONIC read once between round
 * trips, as baton bench does, so a read is inside every sample); the p50
 * over all samples of nine interleaved runs is printed, which a machine
 * shared with other work (preempted runs) moves far less than a mean.
 *
 *   gcc -O2 -o spinlines docs/measurements/spinlines.c
 *   ./spinlines 1 0     # client CPU, server CPU
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <stdatomic.h>

#define N 50000
#define RUNS 9
#define MAXL 8

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
static void pin(int c) { cpu_set_t s; CPU_ZERO(&s); CPU_SET(c, &s); sched_setaffinity(0, sizeof s, &s); }

struct line { _Atomic uint32_t state; uint32_t data[15]; } __attribute__((aligned(64)));
/* Request lines, then reply lines, each group on its own pages. */
struct shm { struct line req[MAXL]; char pad[4096]; struct line rep[MAXL]; };

static uint64_t work(uint64_t x, int w) {
  for (int i = 0; i < w; i++) { x = x + (x >> 3) + (uint64_t)i; __asm__ volatile("" : "+r"(x)); }
  return x;
}

static void post(struct line *l, int lines, uint32_t seq) {
  for (int i = 1; i < lines; i++) l[i].data[0] = seq;   /* the data lines first */
  l[0].data[0] = seq;
  atomic_store_explicit(&l[0].state, seq, memory_order_release);
}

/* Spins on the last line, then reads the others in a dependent chain. */
static uint32_t take_chained(struct line *l, int lines, uint32_t seq) {
  while (atomic_load_explicit(&l[lines - 1].state, memory_order_acquire) != seq) __builtin_ia32_pause();
  uint64_t dep = 0, sum = 0;
  for (int i = 0; i < lines - 1; i++) {
    uint32_t v = atomic_load_explicit(&l[i + dep].state, memory_order_relaxed);
    sum += v;
    dep = v;
    __asm__ volatile("and $0, %0" : "+r"(dep)); /* 0, but only once v is known */
  }
  return (uint32_t)sum;
}

static void post_chained(struct line *l, int lines, uint32_t seq) {
  for (int i = 0; i < lines - 1; i++) atomic_store_explicit(&l[i].state, seq, memory_order_relaxed);
  atomic_store_explicit(&l[lines - 1].state, seq, memory_order_release);
}

static uint32_t take(struct line *l, int lines, uint32_t seq) {
  while (atomic_load_explicit(&l[0].state, memory_order_acquire) != seq) __builtin_ia32_pause();
  uint32_t sum = l[0].data[0];
  for (int i = 1; i < lines; i++) sum += l[i].data[0];
  return sum;
}

/* Times N round trips into out[0..N]. */
static void pingpong(int cc, int sc, int lines, int w, int chained, double *out) {
  int fd = memfd_create("spinlines", 0);
  if (ftruncate(fd, sizeof(struct shm)) != 0) exit(1);
  struct shm *s = mmap(0, sizeof(struct shm), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  pid_t p = fork();
  if (!p) {
    pin(sc);
    uint64_t x = 1;
    for (uint32_t i = 1; i <= N + 1000; i++) {
      x += chained ? take_chained(s->req, lines, i) : take(s->req, lines, i);
      x = work(x, w);
      if (chained) post_chained(s->rep, lines, i); else post(s->rep, lines, i);
    }
    _exit((int)(x & 1) * 0);
  }
  pin(cc);
  double t = now();
  for (uint32_t i = 1; i <= N + 1000; i++) {
    if (chained) post_chained(s->req, lines, i); else post(s->req, lines, i);
    (void)(chained ? take_chained(s->rep, lines, i) : take(s->rep, lines, i));
    double t2 = now();
    if (i > 1000) out[i - 1001] = t2 - t;
    t = t2;
  }
  waitpid(p, 0, 0);
  munmap(s, sizeof(struct shm));
}

static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return (x > y) - (x < y); }

int main(int argc, char **argv) {
  int cc = argc > 1 ? atoi(argv[1]) : 1, sc = argc > 2 ? atoi(argv[2]) : 0;
  static const int L[] = {1, 2, 3, 4, 8, 2, 3, 4, 1, 1, 1, 1};
  static const int W[] = {0, 0, 0, 0, 0, 0, 0, 0, 100, 200, 400, 800};
  static const int K[] = {0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0};
  enum { C = sizeof L / sizeof L[0] };
  static double r[C][RUNS * N];
  for (int run = 0; run < RUNS; run++)
    for (int c = 0; c < C; c++) pingpong(cc, sc, L[c], W[c], K[c], &r[c][run * N]);
  /* The work loop alone, on the server's CPU. */
  pin(sc);
  double alone[RUNS];
  for (int run = 0; run < RUNS; run++) {
    double t = now();
    volatile uint64_t sink = work(1, 1000000);
    (void)sink;
    alone[run] = (now() - t) / 1000000;
  }
  qsort(alone, RUNS, sizeof alone[0], cmp);
  printf("work alone: %.3f ns per turn (4 instructions)\n", alone[RUNS / 2]);
  printf("lines each way  chained  work turns  round trip p50 ns (%d interleaved runs of %d)\n", RUNS, N);
  for (int c = 0; c < C; c++) {
    qsort(r[c], RUNS * N, sizeof r[c][0], cmp);
    printf("%15d  %7s  %10d  %8.1f\n", L[c], K[c] ? "yes" : "no", W[c], r[c][RUNS * N / 2]);
  }
  return 0;
}
