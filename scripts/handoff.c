/* What the kernel's hand-over costs a round trip on one CPU, by the way it
 * is asked for (docs/DESIGN.md, "Where the time goes"): two processes
 * pinned to the first CPU pass a 64-byte request and reply through one
 * shared memfd page, as `baton bench`'s futex floor does, and differ only
 * in the system calls that wake and put to sleep:
 *   floor    the bench's futex floor: each side stores the state word,
 *            always wakes the other (FUTEX_WAKE), then waits (FUTEX_WAIT)
 *            until the state says it is its turn;
 *   one      baton's pattern on one CPU, one system call a side when it
 *            works: the server wakes the client and, preempted by it,
 *            looks for the next request before it sleeps; the client
 *            wakes the server only if it announced that it sleeps (a flag
 *            and a fence), so it often just posts and waits;
 *   eventfd  `one`, with the client sleeping in read(2) on an eventfd the
 *            server writes (no futex key to look up for the client);
 *   uring    `floor`, with each side's wake and wait one io_uring_enter(2)
 *            (IORING_OP_FUTEX_WAKE linked before IORING_OP_FUTEX_WAIT,
 *            Linux 6.7 or later; single issuer, deferred task work).
 * WORK_NS, if given, is work each side does in user space every round
 * trip (the client before it posts, the server before it answers: a busy
 * loop on the clock), standing in for a message-passing library's own
 * code: what a nanosecond of it costs the round trip.
 * Prints the mean round trip in µs, or "unavailable" with the reason.
 * Built and run by scripts/handoff.
 * Usage: handoff floor|one|eventfd|uring [ROUND_TRIPS [WORK_NS]] */
#include "pingpong.h"

#include <errno.h>
#include <linux/io_uring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>

/* Not in every distribution's headers yet (Linux 6.7). */
#define OP_FUTEX_WAIT 51
#define OP_FUTEX_WAKE 52
#define FUTEX2_U32 2

struct page {
    atomic_uint state;  /* floor, uring: 2n-1 request n posted, 2n replied */
    atomic_uint asleep; /* one, eventfd: the server announced its sleep */
    char pad[56];
    atomic_uint reply; /* one, eventfd: n: request n answered */
    char pad2[60];
    char request[64];
    char answer[64];
};

static struct page *pg;
static int mode_one, mode_eventfd, mode_uring, efd;
static double work_us;

/* Busy for work_us of the clock (none if 0). */
static void work(void) {
    if (work_us <= 0) return;
    double until = now_us() + work_us;
    while (now_us() < until) {
    }
}

static void die(const char *what) {
    perror(what);
    _exit(1);
}

/* One process's ring: two submission entries and their completions. */
struct ring {
    int fd;
    unsigned *sq_tail, *sq_mask, *cq_head, *cq_tail, *cq_mask;
    struct io_uring_sqe *sqes;
    struct io_uring_cqe *cqes;
} ring;

static const char *ring_init(void) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    ring.fd = syscall(__NR_io_uring_setup, 4, &p);
    if (ring.fd < 0) return strerror(errno);
    size_t sq = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    if (!(p.features & IORING_FEAT_SINGLE_MMAP)) return "the kernel maps its rings apart";
    char *r = mmap(0, sq > cq ? sq : cq, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring.fd,
                   IORING_OFF_SQ_RING);
    ring.sqes = mmap(0, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_POPULATE, ring.fd, IORING_OFF_SQES);
    if (r == MAP_FAILED || ring.sqes == MAP_FAILED) return strerror(errno);
    ring.sq_tail = (unsigned *)(r + p.sq_off.tail);
    ring.sq_mask = (unsigned *)(r + p.sq_off.ring_mask);
    ring.cq_head = (unsigned *)(r + p.cq_off.head);
    ring.cq_tail = (unsigned *)(r + p.cq_off.tail);
    ring.cq_mask = (unsigned *)(r + p.cq_off.ring_mask);
    ring.cqes = (struct io_uring_cqe *)(r + p.cq_off.cqes);
    unsigned *array = (unsigned *)(r + p.sq_off.array);
    for (unsigned i = 0; i < p.sq_entries; i++) array[i] = i;
    return 0;
}

static void ring_prep(int op, atomic_uint *word, uint64_t val, int flags) {
    unsigned tail = *ring.sq_tail;
    struct io_uring_sqe *e = &ring.sqes[tail & *ring.sq_mask];
    memset(e, 0, sizeof *e);
    e->opcode = op;
    e->fd = FUTEX2_U32;
    e->addr = (uintptr_t)word;
    e->off = val; /* FUTEX_WAKE: how many; FUTEX_WAIT: the value to sleep on */
    e->addr3 = FUTEX_BITSET_MATCH_ANY;
    e->flags = flags;
    atomic_store_explicit((_Atomic unsigned *)ring.sq_tail, tail + 1, memory_order_release);
}

/* Submits what is prepared and waits for `wait` completions; the first
 * error other than EAGAIN (the word had changed) is returned. */
static int ring_enter(unsigned submit, unsigned wait) {
    if (syscall(__NR_io_uring_enter, ring.fd, submit, wait, wait ? IORING_ENTER_GETEVENTS : 0, 0, 0) < 0)
        return -errno;
    int err = 0;
    unsigned head = *ring.cq_head;
    while (head != atomic_load_explicit((_Atomic unsigned *)ring.cq_tail, memory_order_acquire)) {
        int res = ring.cqes[head++ & *ring.cq_mask].res;
        if (res < 0 && res != -EAGAIN && !err) err = res;
    }
    atomic_store_explicit((_Atomic unsigned *)ring.cq_head, head, memory_order_release);
    return err;
}

/* uring: sleeps while the state word holds `seen`, in the ring. */
static void ring_wait_while(uint32_t seen) {
    while (atomic_load(&pg->state) == seen) {
        ring_prep(OP_FUTEX_WAIT, &pg->state, seen, 0);
        int err = ring_enter(1, 1);
        if (err) {
            errno = -err;
            die("io_uring futex wait");
        }
    }
}

/* floor, uring: publishes `state`, wakes the other side, and (unless
 * `last`) sleeps while the word still holds `state`: with io_uring, the
 * wake and the first wait are one system call. */
static void hand_over(uint32_t state, int last) {
    if (!mode_uring) {
        post(&pg->state, state);
        if (!last) wait_while(&pg->state, state);
        return;
    }
    atomic_store(&pg->state, state);
    ring_prep(OP_FUTEX_WAKE, &pg->state, 1, last ? 0 : IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS);
    if (!last) ring_prep(OP_FUTEX_WAIT, &pg->state, state, 0);
    int err = ring_enter(last ? 1 : 2, 1);
    if (err) {
        errno = -err;
        die("io_uring futex");
    }
    if (!last) ring_wait_while(state);
}

static void serve(long n) {
    for (uint32_t i = 1; i <= n; i++) {
        if (mode_one) {
            /* The request, looked for before sleeping: on one CPU the
             * client posted it while this side was preempted. */
            while (atomic_load_explicit(&pg->state, memory_order_acquire) != i) {
                atomic_store(&pg->asleep, 1);
                if (atomic_load(&pg->state) != i) futex(&pg->state, FUTEX_WAIT, i - 1);
                atomic_store_explicit(&pg->asleep, 0, memory_order_relaxed);
            }
        } else if (i == 1) {
            if (mode_uring)
                ring_wait_while(0);
            else
                wait_while(&pg->state, 0);
        }
        work();
        memcpy(pg->answer, pg->request, sizeof pg->answer);
        if (!mode_one) {
            hand_over(2 * i, i == n);
            continue;
        }
        atomic_store_explicit(&pg->reply, i, memory_order_release);
        if (mode_eventfd) {
            uint64_t one = 1;
            if (write(efd, &one, sizeof one) != sizeof one) die("write");
        } else {
            futex(&pg->reply, FUTEX_WAKE, 1);
        }
    }
}

static void call(uint32_t i) {
    work();
    memset(pg->request, (int)i, sizeof pg->request);
    if (!mode_one) {
        hand_over(2 * i - 1, 0);
    } else {
        atomic_store_explicit(&pg->state, i, memory_order_seq_cst);
        if (atomic_load(&pg->asleep)) futex(&pg->state, FUTEX_WAKE, 1);
        while (atomic_load_explicit(&pg->reply, memory_order_acquire) != i) {
            uint64_t count;
            if (!mode_eventfd) futex(&pg->reply, FUTEX_WAIT, i - 1);
            else if (read(efd, &count, sizeof count) != sizeof count) die("read");
        }
    }
    if (pg->answer[0] != (char)i) {
        fprintf(stderr, "handoff: the reply to call %u is wrong\n", i);
        _exit(1);
    }
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    long n = argc > 2 ? atol(argv[2]) : 100000;
    work_us = argc > 3 ? atof(argv[3]) / 1000 : 0;
    mode_eventfd = !strcmp(mode, "eventfd");
    mode_one = mode_eventfd || !strcmp(mode, "one");
    mode_uring = !strcmp(mode, "uring");
    if ((!mode_one && !mode_uring && strcmp(mode, "floor")) || n < 100 || work_us < 0) {
        fprintf(stderr, "usage: handoff floor|one|eventfd|uring [ROUND_TRIPS >= 100 [WORK_NS >= 0]]\n");
        return 2;
    }
    if (pin_to_first_cpu()) die("sched_setaffinity");
    int fd = memfd_create("handoff", 0);
    if (fd < 0 || ftruncate(fd, 4096)) die("memfd");
    pg = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (pg == MAP_FAILED) die("mmap");
    efd = eventfd(0, 0);
    if (efd < 0) die("eventfd");
    if (mode_uring) {
        /* Probe in the parent: a kernel without the futex operations
         * answers the first one with EINVAL. */
        const char *why = ring_init();
        if (!why) {
            ring_prep(OP_FUTEX_WAKE, &pg->state, 1, 0);
            int err = ring_enter(1, 1);
            why = err ? strerror(-err) : 0;
            close(ring.fd);
        }
        if (why) {
            printf("unavailable (io_uring futex operations: %s)\n", why);
            return 0;
        }
    }
    pid_t server = fork();
    if (server < 0) die("fork");
    if (server == 0) {
        if (mode_uring && ring_init()) die("io_uring_setup");
        serve(n);
        _exit(0);
    }
    if (mode_uring && ring_init()) die("io_uring_setup");
    long warm = n / 10;
    double start = 0;
    for (uint32_t i = 1; i <= n; i++) {
        if (i == warm + 1) start = now_us();
        call(i);
    }
    double end = now_us();
    int status;
    if (waitpid(server, &status, 0) != server || !WIFEXITED(status) || WEXITSTATUS(status)) {
        fprintf(stderr, "handoff: the server failed\n");
        return 1;
    }
    printf("%.3f\n", (end - start) / (n - warm));
    return 0;
}
