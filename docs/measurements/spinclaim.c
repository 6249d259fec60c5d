/* What the claim costs a spinning round trip across CPUs, and what the
 * slot's bell wins back (docs/DESIGN.md, "Spin mode across CPUs").
 *
 * Two processes pinned to two CPUs ping-pong through a shared memfd by
 * spinning, in the layout of baton bench's "spin" floor: a state line, a
 * request line and a reply line (32 bytes of each written and read). The
 * client writes the request, stores POSTED in the state word and spins
 * until the answer; the server spins until POSTED, reads the request,
 * writes the reply and publishes. The variants:
 *   floor:  the server publishes with a plain store to the state word, on
 *           which the client spins (baton bench's spin floor);
 *   claim:  the server first claims the state word with a compare-and-swap
 *           (as baton must: the claim decides against a client withdrawing
 *           its message at a send timeout) and publishes with another, the
 *           client still spinning on the state word (baton before the
 *           bell);
 *   bell:   as claim, but the server then also stores a counter (the bell)
 *           on another line, and the client spins on the bell instead of
 *           the state word (baton with the bell); "in the reply's line":
 *           the bell shares the reply's line.
 * Each round trip is timed alone (CLOCK_MONOTONIC read once between round
 * trips, as baton bench does); the p50 over all samples of seven
 * interleaved runs is printed.
 *
 *   gcc -O2 -o spinclaim docs/measurements/spinclaim.c
 *   ./spinclaim            # client on CPU 1, server on CPU 0
 */
#include "pingpong.h"

#define N 50000
#define RUNS 7

/* Lines (index into the page) of the state word, the request, the reply
 * and the bell (-1: no bell, the client spins on the state word). */
struct cfg { const char *name; int s, q, r, bell, claim; };

static void pingpong(struct cfg c, double *out) {
  struct line *L = shared_lines("spinclaim", 4096);
  struct line *S = &L[c.s], *Q = &L[c.q], *R = &L[c.r], *B = c.bell >= 0 ? &L[c.bell] : 0;
  pid_t p = fork();
  if (!p) {
    pin(0);
    for (uint32_t i = 1; i <= N + 1000; i++) {
      uint32_t posted = 4 * i + 1, received = posted + 1, replied = posted + 2;
      while (atomic_load_explicit(&S->w, memory_order_acquire) != posted) __builtin_ia32_pause();
      if (c.claim) { uint32_t e = posted; atomic_compare_exchange_strong(&S->w, &e, received); }
      for (int k = 1; k < 9; k++) R->d[k] = Q->d[k] + 1;
      if (c.claim) { uint32_t e = received; atomic_compare_exchange_strong(&S->w, &e, replied); }
      else atomic_store_explicit(&S->w, replied, memory_order_release);
      if (B) atomic_store_explicit(&B->w, i, memory_order_release);
    }
    _exit(0);
  }
  pin(1);
  double t = now();
  for (uint32_t i = 1; i <= N + 1000; i++) {
    for (int k = 1; k < 9; k++) Q->d[k] = i;
    atomic_store_explicit(&S->w, 4 * i + 1, memory_order_release);
    if (B) while (atomic_load_explicit(&B->w, memory_order_acquire) != i) __builtin_ia32_pause();
    else while (atomic_load_explicit(&S->w, memory_order_acquire) != 4 * i + 3) __builtin_ia32_pause();
    volatile uint32_t sink = R->d[1];
    (void)sink;
    sample(out, i, &t);
  }
  waitpid(p, 0, 0);
  munmap(L, 4096);
}

static struct cfg C[] = {
  {"floor", 0, 1, 2, -1, 0},
  {"claim", 0, 1, 2, -1, 1},
  {"bell (own line)", 0, 1, 2, 3, 1},
  {"bell (in the reply's line)", 0, 1, 2, 2, 1},
};
PINGPONG_MAIN(C, RUNS, N)
