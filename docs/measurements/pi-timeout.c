/* What a real-time call's priority-inheritance wait costs on one CPU, and
 * what its timeout costs (docs/DESIGN.md, "Server boost": the boost
 * delay's timer).
 *
 * A SCHED_FIFO 50 client calls a SCHED_OTHER server once every 1 ms, both
 * pinned to the first CPU; the server works 20 µs on each call. They share
 * a memfd page: a doorbell word the server sleeps on, a state word
 * (2i-1: call i posted, 2i: answered) and a PI word. The ways:
 *   plain  the client sleeps in FUTEX_WAIT on the state word, the server
 *          wakes it with FUTEX_WAKE after the work;
 *   pi     baton's wait when its post woke the server: the client sleeps
 *          in FUTEX_WAIT_REQUEUE_PI on the state word; the server takes
 *          the PI word, moves the client onto it with FUTEX_CMP_REQUEUE_PI
 *          (which raises the server to the client's priority), works, and
 *          hands the word over with FUTEX_UNLOCK_PI (which wakes the
 *          client); the client gives it back.
 * With TIMEOUT_US, the client's wait has that timeout (baton's boost
 * delay is 200 µs), which never expires here: each call arms and cancels
 * a kernel timer. A timeout shorter than the next timer event on the CPU
 * (here the client's own 1 ms period, or the tick) reprograms the local
 * APIC's deadline as it is armed and again as it is cancelled.
 * Prints the p50 and p99 of 3000 calls, after 300 warm-up calls.
 * Build: cc -O2 -o pi-timeout pi-timeout.c
 * Usage: pi-timeout plain|pi [TIMEOUT_US]   (as root, or with CAP_SYS_NICE) */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CALLS 3000
#define WARMUP 300

struct page {
    atomic_uint doorbell; /* i: call i posted */
    char pad1[60];
    atomic_uint state;
    char pad2[60];
    atomic_uint pi;
};

static struct page *pg;
static int pi_way;
static long timeout_us;

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static long futex(atomic_uint *w, int op, unsigned v, const struct timespec *t, atomic_uint *w2, unsigned v3) {
    return syscall(SYS_futex, w, op, v, t, w2, v3);
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

/* Gives the PI word back: a plain compare-and-swap unless the kernel
 * marked waiters. */
static void unlock_pi(unsigned tid) {
    unsigned me = tid;
    if (!atomic_compare_exchange_strong(&pg->pi, &me, 0)) futex(&pg->pi, FUTEX_UNLOCK_PI, 0, 0, 0, 0);
}

static void serve(void) {
    unsigned tid = (unsigned)gettid();
    for (unsigned i = 1;; i++) {
        while (atomic_load(&pg->doorbell) < i) futex(&pg->doorbell, FUTEX_WAIT, i - 1, 0, 0, 0);
        if (pi_way) {
            unsigned free = 0;
            if (!atomic_compare_exchange_strong(&pg->pi, &free, tid)) die("the PI word is taken");
            /* On one CPU this thread runs only once the real-time client
             * sleeps, so exactly that client is moved onto the PI word
             * (anything else would measure another path). */
            if (futex(&pg->state, FUTEX_CMP_REQUEUE_PI, 1, (void *)0, &pg->pi, 2 * i - 1) != 1)
                die("FUTEX_CMP_REQUEUE_PI did not move the client");
        }
        double start = now_us();
        while (now_us() - start < 20) {
        }
        atomic_store(&pg->state, 2 * i);
        if (pi_way)
            unlock_pi(tid);
        else
            futex(&pg->state, FUTEX_WAKE, 1, 0, 0, 0);
    }
}

/* Call i: post, ring, wait for the answer. */
static void call(unsigned i, unsigned tid) {
    atomic_store(&pg->state, 2 * i - 1);
    atomic_store(&pg->doorbell, i);
    futex(&pg->doorbell, FUTEX_WAKE, 1, 0, 0, 0);
    while (atomic_load(&pg->state) != 2 * i) {
        struct timespec t, *tp = 0;
        if (timeout_us) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            t.tv_nsec += timeout_us * 1000;
            t.tv_sec += t.tv_nsec / 1000000000;
            t.tv_nsec %= 1000000000;
            tp = &t;
        }
        if (!pi_way) {
            /* FUTEX_WAIT's timeout is relative: the same moment. */
            struct timespec rel = {timeout_us / 1000000, timeout_us % 1000000 * 1000};
            futex(&pg->state, FUTEX_WAIT, 2 * i - 1, timeout_us ? &rel : 0, 0, 0);
        } else if (futex(&pg->state, FUTEX_WAIT_REQUEUE_PI, 2 * i - 1, tp, &pg->pi, 0) == 0) {
            unlock_pi(tid); /* handed the PI word with the answer */
        }
    }
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "plain") && strcmp(argv[1], "pi"))) {
        fprintf(stderr, "usage: pi-timeout plain|pi [TIMEOUT_US]\n");
        return 2;
    }
    pi_way = !strcmp(argv[1], "pi");
    timeout_us = argc > 2 ? atol(argv[2]) : 0;
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    CPU_SET(0, &cpus);
    if (sched_setaffinity(0, sizeof cpus, &cpus)) die("sched_setaffinity");
    int fd = memfd_create("pi-timeout", 0);
    if (fd < 0 || ftruncate(fd, 4096)) die("memfd");
    pg = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (pg == MAP_FAILED) die("mmap");
    pid_t server = fork();
    if (server < 0) die("fork");
    if (server == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        serve();
    }
    struct sched_param rt = {50};
    if (sched_setscheduler(0, SCHED_FIFO, &rt)) die("SCHED_FIFO");
    unsigned tid = (unsigned)gettid();
    static double lat[CALLS];
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (unsigned i = 1; i <= CALLS + WARMUP; i++) {
        next.tv_nsec += 1000000;
        next.tv_sec += next.tv_nsec / 1000000000;
        next.tv_nsec %= 1000000000;
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, 0);
        double start = now_us();
        call(i, tid);
        if (i > WARMUP) lat[i - WARMUP - 1] = now_us() - start;
    }
    kill(server, SIGKILL);
    qsort(lat, CALLS, sizeof lat[0], by_value);
    printf("%s, timeout %ld us: p50 %.1f us, p99 %.1f us\n", argv[1], timeout_us, lat[CALLS / 2], lat[CALLS * 99 / 100]);
    return 0;
}
