/* TimerTimeout: send, reply and receive timeouts, the immediate forms,
 * absolute times, one-shot arming, and the unblock pulse of a
 * _NTO_CHF_UNBLOCK channel. */
#include "t.h"

static struct chan_pipe to_client, to_server;

static uint64_t mono_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void server(void) {
    int plain = ChannelCreate(0);
    int unblock = ChannelCreate(_NTO_CHF_UNBLOCK);
    CHECK(plain > 0 && unblock > 0);
    t_put(to_client, getpid());
    t_put(to_client, plain);
    t_put(to_client, unblock);
    int v;
    struct _msg_info info;

    /* Receive timeouts while nothing is queued: immediate, relative,
     * absolute; and the arming is one-shot. */
    CHECK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL) == 0);
    CHECK_ERR(MsgReceive(plain, &v, sizeof v, NULL), ETIMEDOUT);
    uint64_t t = 20 * 1000000ull;
    CHECK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &t, NULL) == 0);
    /* Arming again returns the flags armed before. */
    CHECK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &t, NULL) == _NTO_TIMEOUT_RECEIVE);
    CHECK_ERR(MsgReceive(plain, &v, sizeof v, NULL), ETIMEDOUT);
    uint64_t at = mono_now() + t;
    struct sigevent ev;
    SIGEV_UNBLOCK_INIT(&ev);
    CHECK(TimerTimeout(CLOCK_MONOTONIC, TIMER_ABSTIME | _NTO_TIMEOUT_RECEIVE, &ev, &at, NULL) == 0);
    CHECK_ERR(MsgReceivePulse(plain, &v, sizeof v, NULL), EFAULT); /* too small for a pulse */
    /* (the EFAULT check took no timeout: the arming is still there) */
    struct _pulse p;
    CHECK_ERR(MsgReceivePulse(plain, &p, sizeof p, NULL), ETIMEDOUT);
    CHECK(TimerTimeout_r(CLOCK_MONOTONIC, 1 << 10 /* _NTO_TIMEOUT_SIGSUSPEND: not baton's */, NULL, NULL, NULL) == -EINVAL);
    CHECK_ERR(TimerTimeout(CLOCK_PROCESS_CPUTIME_ID, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL), EINVAL);
    t_put(to_client, 1);

    /* The client's send timeouts (1, 2) withdrew their messages: the
     * first message seen is 3. Hold it until the client timed out while
     * REPLY-blocked; then the reply finds nobody. */
    CHECK(t_get(to_server) == 2);
    rcvid_t rcvid = MsgReceive(plain, &v, sizeof v, NULL); /* blocks: no arming left */
    CHECK(rcvid > 0 && v == 3);
    CHECK(t_get(to_server) == 3);
    CHECK_ERR(MsgReply(rcvid, 0, NULL, 0), ESRCH);

    /* The unblock protocol: the client times out while REPLY-blocked on
     * an _NTO_CHF_UNBLOCK channel; it stays blocked, the server gets the
     * unblock pulse (value: the rcvid), MsgInfo shows the request, and the
     * client is released by the server's MsgError. */
    rcvid = MsgReceive(unblock, &v, sizeof v, &info);
    CHECK(rcvid > 0 && v == 4 && !(info.flags & _NTO_MI_UNBLOCK_REQ));
    CHECK(MsgReceive(unblock, &p, sizeof p, NULL) == 0);
    CHECK(p.code == _PULSE_CODE_UNBLOCK && p.value.sival_int == rcvid);
    CHECK(MsgInfo(rcvid, &info) == 0 && (info.flags & _NTO_MI_UNBLOCK_REQ));
    CHECK(MsgError(rcvid, EINTR) == 0);

    /* An immediate receive with a message queued gets it. */
    for (;;) {
        CHECK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL) == 0);
        rcvid = MsgReceive(plain, &v, sizeof v, NULL);
        if (rcvid > 0) break;
        CHECK(errno == ETIMEDOUT);
        usleep(1000);
    }
    CHECK(v == 5 && MsgReply(rcvid, 55, NULL, 0) == 0);
}

static void client(void) {
    int pid = t_get(to_client), plain = t_get(to_client), unblock = t_get(to_client);
    int coid = ConnectAttach(0, pid, plain, 0, 0), ucoid = ConnectAttach(0, pid, unblock, 0, 0);
    CHECK(coid >= 0 && ucoid >= 0);
    CHECK(t_get(to_client) == 1); /* the server is busy elsewhere now */
    int v = 1;
    /* 1: an immediate send timeout while no server thread receives. */
    CHECK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, NULL, NULL) == 0);
    CHECK_ERR(MsgSend(coid, &v, sizeof v, NULL, 0), ETIMEDOUT);
    /* 2: a 30 ms send timeout (CLOCK_REALTIME, relative). */
    v = 2;
    uint64_t t = 30 * 1000000ull;
    CHECK(TimerTimeout(CLOCK_REALTIME, _NTO_TIMEOUT_SEND, NULL, &t, NULL) == 0);
    CHECK_ERR(MsgSend(coid, &v, sizeof v, NULL, 0), ETIMEDOUT);
    t_put(to_server, 2);
    /* 3: a reply timeout on a plain channel: ETIMEDOUT at once. */
    v = 3;
    t = 100 * 1000000ull;
    CHECK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_REPLY, NULL, &t, NULL) == 0);
    CHECK_ERR(MsgSend(coid, &v, sizeof v, NULL, 0), ETIMEDOUT);
    t_put(to_server, 3);
    /* 4: a reply timeout on an UNBLOCK channel: the server decides. */
    v = 4;
    CHECK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_REPLY, NULL, &t, NULL) == 0);
    CHECK_ERR(MsgSend(ucoid, &v, sizeof v, NULL, 0), EINTR);
    /* 5: no arming left: this send waits as long as it takes. */
    v = 5;
    CHECK(MsgSend(coid, &v, sizeof v, NULL, 0) == 55);
}

int main(void) {
    t_watchdog(60);
    to_client = t_pipe();
    to_server = t_pipe();
    pid_t s = t_fork(server);
    pid_t c = t_fork(client);
    t_wait_ok(c);
    t_wait_ok(s);
    return 0;
}
