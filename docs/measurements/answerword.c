/* What announcing the answer on the bell's line wins a spinning round trip
 * across CPUs (docs/DESIGN.md, "The answer rides the bell").
 *
 * Two processes pinned to two CPUs ping-pong through a shared memfd by
 * spinning. baton's slot is modelled by four lines: the state line (the
 * state word and the request's header fields), the bell's line, the
 * inline line (the request's bytes, then the reply's, 32 bytes each way)
 * and, for the floor, a reply line. The variants:
 *   floor:        baton bench's spin floor: the client writes the request
 *                 and stores to the state word; the server spins on it,
 *                 writes the reply into a line of its own and stores to
 *                 the state word, on which the client spins;
 *   CAS, then bell: baton before: the server claims the state word with a
 *                 compare-and-swap (the message's line prefetched first),
 *                 copies, writes the reply's bytes into the inline line and
 *                 the reply's fields into the state line, publishes with a
 *                 compare-and-swap and then rings the bell; the client
 *                 spins on the bell, then reads the state word, the fields
 *                 and the reply. The compare-and-swap waits for the reply
 *                 bytes' line, and only then may the bell's store start
 *                 taking its line back from the spinning client;
 *   answer on the bell: baton now: the reply's fields and the answer word
 *                 are written on the bell's line and the bell rung before
 *                 the publishing compare-and-swap, which follows; the
 *                 client takes the answer from the bell's line (and the
 *                 reply from the inline line) and, before its next post,
 *                 looks that the state word was published.
 * Each round trip is timed alone (CLOCK_MONOTONIC read once between round
 * trips, as baton bench does); the p50 over all samples of seven
 * interleaved runs is printed.
 *
 *   gcc -O2 -o answerword docs/measurements/answerword.c
 *   ./answerword           # client on CPU 1, server on CPU 0
 */
#include "pingpong.h"

#define N 50000
#define RUNS 7

enum { FLOOR, CAS_THEN_BELL, ANSWER_ON_BELL };
struct cfg { const char *name; int f; };

static void pingpong(struct cfg c, double *out) {
  struct line *L = shared_lines("answerword", 8192);
  struct line *S = &L[0], *B = &L[1], *Q = &L[2], *R = &L[3];
  pid_t p = fork();
  if (!p) {
    pin(0);
    for (uint32_t i = 1; i <= N + 1000; i++) {
      uint32_t posted = 4 * i + 1, received = posted + 1, replied = posted + 2;
      while (atomic_load_explicit(&S->w, memory_order_acquire) != posted) __builtin_ia32_pause();
      if (c.f == FLOOR) {
        for (int k = 1; k < 9; k++) R->d[k] = Q->d[k] + 1;
        atomic_store_explicit(&S->w, replied, memory_order_release);
        continue;
      }
      __builtin_prefetch(&Q->d[0]);
      { uint32_t e = posted; atomic_compare_exchange_strong(&S->w, &e, received); }
      uint32_t v[8];
      for (int k = 0; k < 8; k++) v[k] = Q->d[k + 1] + S->d[k];
      for (int k = 0; k < 8; k++) Q->d[k + 1] = v[k] + 1;
      if (c.f == CAS_THEN_BELL) {
        for (int k = 8; k < 12; k++) S->d[k] = i;
        { uint32_t e = received; atomic_compare_exchange_strong(&S->w, &e, replied); }
        atomic_store_explicit(&B->w, i, memory_order_release);
      } else {
        for (int k = 8; k < 12; k++) B->d[k] = i;
        atomic_store_explicit(&B->w, i, memory_order_release);
        { uint32_t e = received; atomic_compare_exchange_strong(&S->w, &e, replied); }
      }
    }
    _exit(0);
  }
  pin(1);
  double t = now();
  volatile uint32_t sink;
  for (uint32_t i = 1; i <= N + 1000; i++) {
    if (c.f == FLOOR) {
      for (int k = 1; k < 9; k++) Q->d[k] = i;
      atomic_store_explicit(&S->w, 4 * i + 1, memory_order_release);
      while (atomic_load_explicit(&S->w, memory_order_acquire) != 4 * i + 3) __builtin_ia32_pause();
      sink = R->d[1];
      sample(out, i, &t);
      continue;
    }
    if (c.f == ANSWER_ON_BELL) /* the last call published before the slot is used again */
      while (i > 1 && atomic_load_explicit(&S->w, memory_order_acquire) != 4 * (i - 1) + 3) __builtin_ia32_pause();
    for (int k = 1; k < 9; k++) Q->d[k] = i;
    for (int k = 0; k < 7; k++) S->d[k] = i;
    atomic_store_explicit(&S->w, 4 * i + 1, memory_order_release);
    atomic_thread_fence(memory_order_seq_cst);
    while (atomic_load_explicit(&B->w, memory_order_acquire) != i) __builtin_ia32_pause();
    __builtin_prefetch(&Q->d[0]);
    if (c.f == CAS_THEN_BELL) {
      if (atomic_load_explicit(&S->w, memory_order_acquire) != 4 * i + 3) abort();
      sink = S->d[9];
    } else {
      sink = B->d[9];
    }
    sink = Q->d[1];
    sample(out, i, &t);
  }
  (void)sink;
  waitpid(p, 0, 0);
  munmap(L, 8192);
}

static struct cfg C[] = {
  {"floor", FLOOR},
  {"CAS, then bell", CAS_THEN_BELL},
  {"answer on the bell", ANSWER_ON_BELL},
};
PINGPONG_MAIN(C, RUNS, N)
