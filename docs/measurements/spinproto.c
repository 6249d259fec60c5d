/* What baton's own protocol steps add to a spinning round trip across
 * CPUs (docs/DESIGN.md, "The client's side of the path").
 *
 * The bell model of spinclaim.c (state line, bell line, request line,
 * reply line; the server claims and publishes with compare-and-swaps and
 * rings the bell; the client spins on the bell), with baton's further
 * steps added one at a time or together:
 *   READ_STATE  the client reads the state word after the bell (it decides);
 *   RELEASE     the client stores IDLE after reading the answer;
 *   LOCKED_SEQ  the client takes a sequence number with a locked increment
 *               on a line of its own before posting;
 *   FENCE       the post is followed by a full fence and a flag's read (the
 *               check against the connection's death);
 *   HOLD        the server takes and ends a hold (two locked increments on a
 *               private line) around its work;
 *   SPIN_CAS    the server spins with a compare-and-swap of the state word
 *               to itself instead of reading it (so that its claim would
 *               find the line its own; it did not pay).
 * Each round trip is timed alone (CLOCK_MONOTONIC read once between round
 * trips, as baton bench does); the p50 over seven interleaved runs of
 * 50,000 is printed.
 *
 *   gcc -O2 -o spinproto docs/measurements/spinproto.c
 *   ./spinproto            # client on CPU 1, server on CPU 0
 */
#include "pingpong.h"

#define N 50000
#define RUNS 7

enum { READ_STATE = 1, RELEASE = 2, LOCKED_SEQ = 4, FENCE = 8, HOLD = 16, SPIN_CAS = 32 };
struct cfg { const char *name; int f; };

static void pingpong(struct cfg c, double *out) {
  struct line *L = shared_lines("spinproto", 8192);
  struct line *S = &L[0], *B = &L[1], *Q = &L[2], *R = &L[3];
  pid_t p = fork();
  if (!p) {
    pin(0);
    static _Atomic uint32_t hold __attribute__((aligned(64)));
    for (uint32_t i = 1; i <= N + 1000; i++) {
      uint32_t posted = 4 * i + 1, received = posted + 1, replied = posted + 2;
      if (c.f & SPIN_CAS) {
        for (;;) {
          uint32_t e = atomic_load_explicit(&S->w, memory_order_relaxed);
          if (e == posted) break;
          atomic_compare_exchange_strong(&S->w, &e, e);
          if (e == posted) break;
          __builtin_ia32_pause();
        }
      } else {
        while (atomic_load_explicit(&S->w, memory_order_acquire) != posted) __builtin_ia32_pause();
      }
      if (c.f & HOLD) atomic_fetch_add(&hold, 1);
      { uint32_t e = posted; atomic_compare_exchange_strong(&S->w, &e, received); }
      for (int k = 1; k < 9; k++) R->d[k] = Q->d[k] + 1;
      if (c.f & HOLD) atomic_fetch_add(&hold, 1);
      { uint32_t e = received; atomic_compare_exchange_strong(&S->w, &e, replied); }
      atomic_store_explicit(&B->w, i, memory_order_release);
    }
    _exit(0);
  }
  pin(1);
  static _Atomic uint32_t seq __attribute__((aligned(64)));
  static _Atomic uint32_t dead __attribute__((aligned(64)));
  double t = now();
  for (uint32_t i = 1; i <= N + 1000; i++) {
    if (c.f & LOCKED_SEQ) atomic_fetch_add_explicit(&seq, 1, memory_order_relaxed);
    for (int k = 1; k < 9; k++) Q->d[k] = i;
    atomic_store_explicit(&S->w, 4 * i + 1, memory_order_release);
    if (c.f & FENCE) {
      atomic_thread_fence(memory_order_seq_cst);
      (void)atomic_load_explicit(&dead, memory_order_relaxed);
    }
    while (atomic_load_explicit(&B->w, memory_order_acquire) != i) __builtin_ia32_pause();
    __builtin_prefetch(&R->d[1]);
    if ((c.f & READ_STATE) && atomic_load_explicit(&S->w, memory_order_acquire) != 4 * i + 3) abort();
    volatile uint32_t sink = R->d[1];
    (void)sink;
    if (c.f & RELEASE) atomic_store_explicit(&S->w, 0, memory_order_release);
    sample(out, i, &t);
  }
  waitpid(p, 0, 0);
  munmap(L, 8192);
}

static struct cfg C[] = {
  {"bell (spinclaim.c)", 0},
  {"+read state", READ_STATE},
  {"+release", RELEASE},
  {"+locked seq", LOCKED_SEQ},
  {"+fence", FENCE},
  {"+hold", HOLD},
  {"all", READ_STATE | RELEASE | LOCKED_SEQ | FENCE | HOLD},
  {"all but release", READ_STATE | LOCKED_SEQ | FENCE | HOLD},
  {"all, spin by CAS", READ_STATE | RELEASE | LOCKED_SEQ | FENCE | HOLD | SPIN_CAS},
};
PINGPONG_MAIN(C, RUNS, N)
