/* select_attach: a dispatch's function called when a descriptor is ready
 * (written by another process), re-armed by default, one-shot with
 * SELECT_FLAG_NOREARM until attached again, detached (also from inside
 * the function), writability, a hang-up as SELECT_FLAG_SRVEXCEPT,
 * select_query, more ready at once than the channel takes pulses, and
 * the errors. Each receive is bounded with
 * TimerTimeout, so "nothing came" is a receive that timed out. */
#include "t.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/socket.h>

/* What a watched descriptor's function saw. */
struct seen {
    int calls;
    int fd;
    unsigned flags;
    int last;  /* the byte read; 0 at end of file */
    int empty; /* calls with nothing to read (must not happen) */
};

static int on_ready(select_context_t *ctp, int fd, unsigned flags, void *handle) {
    struct seen *s = (struct seen *)handle;
    CHECK(ctp != NULL && ctp->rcvid == 0);
    s->calls++;
    s->fd = fd;
    s->flags = flags;
    if (flags & SELECT_FLAG_READ) {
        unsigned char c;
        ssize_t n = read(fd, &c, 1);
        if (n == 1) s->last = c;
        else if (n == 0) {
            s->last = 0;
            /* At end of file it stays ready: stop watching it. */
            CHECK(select_detach(ctp->dpp, fd) == 0);
        } else s->empty++;
    }
    return 0;
}

/* Receives the next event (within ms) and serves it: 0, or -1 and errno
 * (ETIMEDOUT: nothing came). */
static int serve_one(dispatch_context_t *ctp, unsigned ms) {
    uint64_t t = (uint64_t)ms * 1000000u;
    CHECK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &t, NULL) != -1);
    if (dispatch_block(ctp) == NULL) return -1;
    CHECK(dispatch_handler(ctp) == 0);
    return 0;
}

/* The writer process: writes each byte it is told to into its pipe; 0
 * ends it (and with it the pipe's last write end). */
static struct chan_pipe go, data;

static void writer(void) {
    close(go.wr);
    close(data.rd);
    for (int v; (v = t_get(go)) != 0;) {
        unsigned char c = (unsigned char)v;
        CHECK(write(data.wr, &c, 1) == 1);
    }
}

int main(void) {
    t_watchdog(60);
    go = t_pipe();
    data = t_pipe();
    pid_t child = t_fork(writer);
    close(go.rd);
    close(data.wr);

    dispatch_t *dpp = dispatch_create();
    CHECK(dpp != NULL);
    struct seen s = {0}, once = {0}, out = {0};

    /* Errors. */
    CHECK_ERR(select_attach(dpp, NULL, data.rd, SELECT_FLAG_READ, NULL, &s), EINVAL);
    CHECK_ERR(select_attach(dpp, NULL, -1, SELECT_FLAG_READ, on_ready, &s), EINVAL);
    CHECK_ERR(select_attach(NULL, NULL, data.rd, SELECT_FLAG_READ, on_ready, &s), EINVAL);
    CHECK_ERR(select_attach(dpp, NULL, data.rd, SELECT_FLAG_REARM, on_ready, &s), EINVAL); /* no condition */
    int gone = 1000; /* not open (a freed number could be the watcher's) */
    CHECK(fcntl(gone, F_GETFD) == -1 && errno == EBADF);
    CHECK_ERR(select_attach(dpp, NULL, gone, SELECT_FLAG_READ, on_ready, &s), EBADF);
    char path[] = "/tmp/baton-select-XXXXXX";
    int file = mkstemp(path);
    CHECK(file >= 0 && unlink(path) == 0);
    CHECK_ERR(select_attach(dpp, NULL, file, SELECT_FLAG_READ, on_ready, &s), EPERM); /* epoll cannot */
    close(file);
    CHECK_ERR(select_detach(dpp, data.rd), EINVAL); /* not attached */

    /* Ready when the other process writes; re-armed after each call. */
    select_attr_t attr = {0, {0, 0, 0}};
    CHECK(select_attach(dpp, &attr, data.rd, SELECT_FLAG_READ, on_ready, &s) == 0);
    dispatch_context_t *ctp = dispatch_context_alloc(dpp);
    CHECK(ctp != NULL);
    CHECK_ERR(serve_one(ctp, 50), ETIMEDOUT);
    t_put(go, 'a');
    CHECK(serve_one(ctp, 10000) == 0);
    CHECK(s.calls == 1 && s.fd == data.rd && s.flags == SELECT_FLAG_READ && s.last == 'a');
    t_put(go, 'b');
    CHECK(serve_one(ctp, 10000) == 0);
    CHECK(s.calls == 2 && s.last == 'b');
    CHECK_ERR(serve_one(ctp, 50), ETIMEDOUT);

    /* select_query on what dispatch_block() received. */
    t_put(go, 'c');
    uint64_t t = 10000 * 1000000ull;
    CHECK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &t, NULL) != -1);
    CHECK(dispatch_block(ctp) == ctp);
    int qfd = -1;
    unsigned qflags = 0;
    int (*qfunc)(select_context_t *, int, unsigned, void *) = NULL;
    void *qhandle = NULL;
    CHECK(select_query(&ctp->select_context, &qfd, &qflags, &qfunc, &qhandle) == 0);
    CHECK(qfd == data.rd && qflags == SELECT_FLAG_READ && qfunc == on_ready && qhandle == &s);
    CHECK(dispatch_handler(ctp) == 0);
    CHECK(s.calls == 3 && s.last == 'c');
    dispatch_unblock(ctp); /* a pulse that is no select event */
    CHECK(dispatch_block(ctp) == ctp);
    CHECK_ERR(select_query(&ctp->select_context, &qfd, NULL, NULL, NULL), EINVAL);
    CHECK(dispatch_handler(ctp) == 0);

    /* SELECT_FLAG_NOREARM: one call, then nothing though still ready,
     * until attached again; detached, nothing more. */
    struct chan_pipe q = t_pipe();
    CHECK(write(q.wr, "xyz", 3) == 3);
    CHECK(select_attach(dpp, NULL, q.rd, SELECT_FLAG_READ | SELECT_FLAG_NOREARM, on_ready, &once) == 0);
    CHECK(serve_one(ctp, 10000) == 0);
    CHECK(once.calls == 1 && once.last == 'x');
    CHECK_ERR(serve_one(ctp, 50), ETIMEDOUT);
    CHECK(select_attach(dpp, NULL, q.rd, SELECT_FLAG_READ, on_ready, &once) == 0);
    CHECK(serve_one(ctp, 10000) == 0);
    CHECK(once.calls == 2 && once.last == 'y');
    CHECK(select_detach(dpp, q.rd) == 0);
    /* A pulse sent before the detach may still come: it calls nothing. */
    while (serve_one(ctp, 50) == 0) {}
    CHECK(errno == ETIMEDOUT && once.calls == 2);
    CHECK_ERR(select_detach(dpp, q.rd), EINVAL);

    /* Writability. */
    int sp[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
    CHECK(select_attach(dpp, NULL, sp[0], SELECT_FLAG_WRITE | SELECT_FLAG_NOREARM, on_ready, &out) == 0);
    CHECK(serve_one(ctp, 10000) == 0);
    CHECK(out.calls == 1 && out.fd == sp[0] && out.flags == SELECT_FLAG_WRITE);

    /* The writer exits: end of file, a hang-up; attached again with
     * SRVEXCEPT (replacing the flags), the function is told both, reads
     * the end and detaches the descriptor from inside. */
    CHECK(select_attach(dpp, NULL, data.rd, SELECT_FLAG_READ | SELECT_FLAG_SRVEXCEPT, on_ready, &s) == 0);
    t_put(go, 0);
    t_wait_ok(child);
    CHECK(serve_one(ctp, 10000) == 0);
    CHECK(s.calls == 4 && s.flags == (SELECT_FLAG_READ | SELECT_FLAG_SRVEXCEPT) && s.last == 0);
    CHECK_ERR(select_detach(dpp, data.rd), EINVAL); /* done by the function */
    CHECK_ERR(serve_one(ctp, 50), ETIMEDOUT);
    CHECK(s.empty == 0 && once.empty == 0);

    /* Closed before it is detached: nothing comes; the detach still works. */
    char z;
    CHECK(read(q.rd, &z, 1) == 1 && z == 'z');
    CHECK(select_attach(dpp, NULL, q.rd, SELECT_FLAG_READ, on_ready, &once) == 0);
    CHECK(close(q.rd) == 0 && close(q.wr) == 0);
    CHECK_ERR(serve_one(ctp, 50), ETIMEDOUT);
    CHECK(select_detach(dpp, q.rd) == 0);

    /* More descriptors ready at once than the channel takes pulses from
     * one connection (64): the rest are sent as the first are taken, and
     * every function is called once. */
    enum { MANY = 100 };
    struct chan_pipe many[MANY];
    struct seen each[MANY];
    memset(each, 0, sizeof each);
    for (int i = 0; i < MANY; i++) {
        many[i] = t_pipe();
        CHECK(write(many[i].wr, "m", 1) == 1);
        CHECK(select_attach(dpp, NULL, many[i].rd, SELECT_FLAG_READ | SELECT_FLAG_NOREARM, on_ready, &each[i]) == 0);
    }
    for (int i = 0; i < MANY; i++) CHECK(serve_one(ctp, 10000) == 0);
    CHECK_ERR(serve_one(ctp, 50), ETIMEDOUT);
    for (int i = 0; i < MANY; i++) {
        CHECK(each[i].calls == 1 && each[i].fd == many[i].rd && each[i].last == 'm');
        CHECK(select_detach(dpp, many[i].rd) == 0);
        close(many[i].rd);
        close(many[i].wr);
    }

    dispatch_context_free(ctp);
    CHECK(dispatch_destroy(dpp) == 0);
    close(sp[0]);
    close(sp[1]);
    return 0;
}
