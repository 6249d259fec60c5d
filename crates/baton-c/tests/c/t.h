/* Helpers shared by the C API test programs: checks, fork, pipes.
 * Each program is a server and a client in separate processes (fork
 * before the first baton call: baton does not survive fork). Exit status
 * 0: passed; 77: skipped (the reason on stdout); anything else: failed. */
#ifndef BATON_TEST_T_H
#define BATON_TEST_T_H

#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/neutrino.h>
#include <sys/dispatch.h>
#include <sys/iomsg.h>

#define CHECK(c) do { if (!(c)) { \
    fprintf(stderr, "%s:%d [pid %d]: CHECK(%s) failed (errno %d: %s)\n", \
            __FILE__, __LINE__, (int)getpid(), #c, errno, strerror(errno)); \
    exit(1); } } while (0)

#define CHECK_ERR(call, err) do { errno = 0; long r_ = (long)(call); \
    if (r_ != -1 || errno != (err)) { \
        fprintf(stderr, "%s:%d [pid %d]: %s = %ld errno %d (%s), wanted -1 errno %d (%s)\n", \
                __FILE__, __LINE__, (int)getpid(), #call, r_, errno, strerror(errno), (err), strerror(err)); \
        exit(1); } } while (0)

/* A pipe to pass small values (pids, chids) or go-ahead tokens. */
struct chan_pipe { int rd, wr; };

static inline struct chan_pipe t_pipe(void) {
    int fds[2];
    CHECK(pipe(fds) == 0);
    struct chan_pipe p = { fds[0], fds[1] };
    return p;
}

static inline void t_put(struct chan_pipe p, int v) {
    CHECK(write(p.wr, &v, sizeof v) == (ssize_t)sizeof v);
}

static inline int t_get(struct chan_pipe p) {
    int v;
    CHECK(read(p.rd, &v, sizeof v) == (ssize_t)sizeof v);
    return v;
}

/* Creates a channel with flags and tells the client where it is (this
 * process's pid, then the chid) through p; returns the chid. */
static inline int t_announce_channel(struct chan_pipe p, unsigned flags) {
    int chid = ChannelCreate(flags);
    CHECK(chid > 0);
    t_put(p, getpid());
    t_put(p, chid);
    return chid;
}

/* Forks a child that runs fn and exits 0 if it returns. */
static inline pid_t t_fork(void (*fn)(void)) {
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        fn();
        exit(0);
    }
    return pid;
}

/* Waits for a child; fails unless it exited 0. */
static inline void t_wait_ok(pid_t pid) {
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "child %d failed: status %#x\n", (int)pid, st);
        exit(1);
    }
}

/* The whole program dies if it runs longer than this (the test runner
 * has its own watchdog as well). */
static inline void t_watchdog(unsigned secs) {
    alarm(secs);
}

/* The usual test: a watchdog, a pipe for the server to pass its
 * identity on, a server and a client process; succeeds if both exit 0. */
static inline int t_server_client(unsigned secs, struct chan_pipe *info, void (*server)(void),
                                  void (*client)(void)) {
    t_watchdog(secs);
    *info = t_pipe();
    pid_t s = t_fork(server);
    pid_t c = t_fork(client);
    t_wait_ok(c);
    t_wait_ok(s);
    return 0;
}

#endif
