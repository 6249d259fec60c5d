/* What scripts/footprint.c and scripts/handoff.c share: the futex
 * ping-pong of `baton bench`'s floor (a word both processes map; each
 * side stores its step, wakes the other whether it sleeps or not, and
 * sleeps while the word still holds its own step), the pinning of both
 * processes to the first CPU, and the clock. */
#ifndef PINGPONG_H
#define PINGPONG_H
#define _GNU_SOURCE
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long futex(atomic_uint *w, int op, unsigned v) { return syscall(SYS_futex, w, op, v, NULL, NULL, 0); }

/* Sleeps while *w holds v. */
static void wait_while(atomic_uint *w, unsigned v) {
    while (atomic_load(w) == v)
        futex(w, FUTEX_WAIT, v);
}

/* Stores v and wakes the other side. */
static void post(atomic_uint *w, unsigned v) {
    atomic_store(w, v);
    futex(w, FUTEX_WAKE, 1);
}

/* Pins this process (and the children it forks after) to the first CPU. */
static int pin_to_first_cpu(void) {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    CPU_SET(0, &cpus);
    return sched_setaffinity(0, sizeof cpus, &cpus);
}

/* CLOCK_MONOTONIC, µs. */
static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}
#endif
