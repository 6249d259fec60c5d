/* The C path allocates nothing per message: after a warm-up, 4000 round
 * trips (a server thread and a client thread of this process, 64 bytes
 * each way, with a MsgRead of part of each message), half of them with
 * MsgSend / MsgReceive / MsgRead / MsgWrite / MsgReply and half with
 * their vectored forms in two parts, and 10 messages of 2 MiB (past the
 * slot's areas: MsgRead copies straight from the client's buffer), make
 * no call of malloc, calloc or realloc in the process.
 * Things done once can still fall after the warm-up when the machine is
 * loaded: a thread baton started allocates as it begins to run, a server
 * thread grows its spin's watch list the first time it spins. So the
 * 4000 are measured up to WINDOWS times, and one window without an
 * allocation passes; an allocation per message shows in every window.
 * This program defines those three names, so libbaton's (and Rust's)
 * allocations come here and are counted. */
#include "t.h"

#include <stdatomic.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

static atomic_long allocations;

void *malloc(size_t n) {
    atomic_fetch_add(&allocations, 1);
    return __libc_malloc(n);
}

void *calloc(size_t k, size_t n) {
    atomic_fetch_add(&allocations, 1);
    return __libc_calloc(k, n);
}

void *realloc(void *p, size_t n) {
    atomic_fetch_add(&allocations, 1);
    return __libc_realloc(p, n);
}

enum { WARM = 200, CALLS = 2000, WINDOWS = 5, BIG = 2 << 20, BIG_EVERY = 200 };

/* A message larger than the slot's inline and overflow areas. */
static char big[BIG];

static int chid;

/* Even calls: the plain forms (the reply's last 16 bytes written first
 * with MsgWrite); odd ones: the vectored forms, with the message and the
 * reply in two parts each. A message of BIG bytes: its last 64 read and
 * sent back. A message of one byte: the end. */
static void *server(void *arg) {
    (void)arg;
    char buf[64], more[16], tail[64];
    struct _msg_info info;
    for (int i = 0;;) {
        int rcvid;
        if (i % 2 == 0) {
            rcvid = MsgReceive(chid, buf, sizeof buf, &info);
        } else {
            iov_t in[2];
            SETIOV(&in[0], buf, 24);
            SETIOV(&in[1], buf + 24, 40);
            rcvid = MsgReceivev(chid, in, 2, &info);
        }
        CHECK(rcvid > 0);
        if (info.srcmsglen == 1) {
            CHECK(MsgReply(rcvid, 0, NULL, 0) == 0);
            return NULL;
        }
        if (info.srcmsglen == BIG) {
            CHECK(MsgRead(rcvid, tail, sizeof tail, BIG - sizeof tail) == (ssize_t)sizeof tail);
            CHECK(MsgReply(rcvid, 0, tail, sizeof tail) == 0);
            continue;
        }
        CHECK(info.msglen == sizeof buf);
        if (i % 2 == 0) {
            CHECK(MsgRead(rcvid, more, sizeof more, 8) == (ssize_t)sizeof more);
        } else {
            iov_t rd[2];
            SETIOV(&rd[0], more, 6);
            SETIOV(&rd[1], more + 6, 10);
            CHECK(MsgReadv(rcvid, rd, 2, 8) == (ssize_t)sizeof more);
        }
        CHECK(memcmp(more, buf + 8, sizeof more) == 0);
        if (i % 2 == 0) {
            CHECK(MsgWrite(rcvid, buf + 48, 16, 48) == 16);
            CHECK(MsgReply(rcvid, i / 2, buf, 48) == 0);
        } else {
            iov_t out[2];
            SETIOV(&out[0], buf, 10);
            SETIOV(&out[1], buf + 10, 54);
            CHECK(MsgReplyv(rcvid, i / 2, out, 2) == 0);
        }
        i++;
    }
}

/* A message of BIG bytes; the server sends its last 64 back. */
static void big_call(int coid, int k) {
    char reply[64];
    memset(big + BIG - sizeof reply, 'a' + k % 26, sizeof reply);
    CHECK(MsgSend(coid, big, BIG, reply, sizeof reply) == 0);
    CHECK(memcmp(reply, big + BIG - sizeof reply, sizeof reply) == 0);
}

static void calls(int coid, int n, int first) {
    char msg[64], reply[64];
    for (int i = 0; i < n; i++) {
        if (i % BIG_EVERY == 0)
            big_call(coid, first + i);
        memset(msg, 'a' + (first + i) % 26, sizeof msg);
        memset(reply, 0, sizeof reply);
        CHECK(MsgSend(coid, msg, sizeof msg, reply, sizeof reply) == first + i);
        CHECK(memcmp(reply, msg, sizeof msg) == 0);
        memset(msg, 'A' + (first + i) % 26, sizeof msg);
        memset(reply, 0, sizeof reply);
        iov_t s[2], r[2];
        SETIOV(&s[0], msg, 32);
        SETIOV(&s[1], msg + 32, 32);
        SETIOV(&r[0], reply, 50);
        SETIOV(&r[1], reply + 50, 14);
        CHECK(MsgSendv(coid, s, 2, r, 2) == first + i);
        CHECK(memcmp(reply, msg, sizeof msg) == 0);
    }
}

/* More parts than are kept on the stack: they work (and may allocate). */
static void many_parts(int coid) {
    char msg[64], reply[64];
    iov_t s[16], r[16];
    for (int k = 0; k < 16; k++) {
        memset(msg + 4 * k, 'k' + k % 10, 4);
        SETIOV(&s[k], msg + 4 * k, 4);
        SETIOV(&r[k], reply + 4 * k, 4);
    }
    CHECK(MsgSendv(coid, s, 16, r, 16) == WARM + WINDOWS * CALLS);
    CHECK(memcmp(reply, msg, sizeof msg) == 0);
}

int main(void) {
    t_watchdog(60);
    chid = ChannelCreate(0);
    CHECK(chid > 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, server, NULL) == 0);
    int coid = ConnectAttach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(coid != -1);
    calls(coid, WARM, 0);
    long made[WINDOWS];
    int clean = 0;
    for (int w = 0; w < WINDOWS; w++) {
        long before = atomic_load(&allocations);
        calls(coid, CALLS, WARM + w * CALLS);
        made[w] = atomic_load(&allocations) - before;
        clean |= made[w] == 0;
    }
    if (!clean) {
        fprintf(stderr, "allocations in each window of %d round trips:", 2 * CALLS);
        for (int w = 0; w < WINDOWS; w++)
            fprintf(stderr, " %ld", made[w]);
        fprintf(stderr, "\n");
        return 1;
    }
    many_parts(coid);
    char end = 0;
    CHECK(MsgSend(coid, &end, 1, NULL, 0) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    return 0;
}
