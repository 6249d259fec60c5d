/* What the spinning ping-pong models here share (spinclaim.c,
 * spinproto.c): the clock, pinning, a cache line of words, and sorting
 * samples for their median. Each model is still built alone:
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
/* For qsort of doubles. */
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return (x > y) - (x < y); }
#endif
