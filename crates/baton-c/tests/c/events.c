/* Events: a client sends its struct sigevent in a message and the server
 * delivers it with MsgDeliverEvent, at once or after replying; pulses on
 * the client's own coids (side-channel and index 0), signals, delivery to
 * this process (rcvid 0), registered events (fixed and updateable value,
 * unregistered ones fail with ESRCH), MsgVerifyEvent, a connection that
 * takes registered events only, and the errors. */
#include "t.h"
#include <time.h>

#define OP_NOW    1 /* deliver the event, then reply */
#define OP_SAVE   2 /* reply, keep rcvid and event */
#define OP_FIRE   3 /* reply, then deliver the saved event (rcvid answered long ago) */
#define OP_TRY    4 /* reply with the errno of delivering the event (0 if it was delivered) */
#define OP_VERIFY 5 /* reply with the errno of MsgVerifyEvent */
#define OP_UPDATE 6 /* give an updateable event the value 600, then deliver it */
#define OP_QUIT   7

typedef struct {
    int op;
    struct sigevent ev;
} msg_t;

static struct chan_pipe info_pipe;

static int result(int r) {
    return r == -1 ? errno : 0;
}

static void server(void) {
    name_attach_t *att = name_attach(NULL, "ctest/events", 0);
    CHECK(att != NULL);
    t_put(info_pipe, getpid());
    t_put(info_pipe, att->chid);
    rcvid_t saved = 0;
    struct sigevent saved_ev;
    memset(&saved_ev, 0, sizeof saved_ev);
    for (;;) {
        msg_t m;
        rcvid_t r = MsgReceive(att->chid, &m, sizeof m, NULL);
        CHECK(r >= 0);
        if (r == 0) continue; /* pulses (a disconnect) */
        switch (m.op) {
        case OP_NOW:
            CHECK(MsgDeliverEvent(r, &m.ev) == 0);
            CHECK(MsgReply(r, 0, NULL, 0) == 0);
            break;
        case OP_SAVE:
            saved = r;
            saved_ev = m.ev;
            CHECK(MsgReply(r, 0, NULL, 0) == 0);
            break;
        case OP_FIRE:
            CHECK(MsgReply(r, 0, NULL, 0) == 0);
            CHECK(MsgDeliverEvent(saved, &saved_ev) == 0);
            break;
        case OP_TRY:
            CHECK(MsgReply(r, result(MsgDeliverEvent(r, &m.ev)), NULL, 0) == 0);
            break;
        case OP_VERIFY:
            CHECK(MsgReply(r, result(MsgVerifyEvent(r, &m.ev)), NULL, 0) == 0);
            break;
        case OP_UPDATE:
            CHECK(SIGEV_GET_TYPE(&m.ev) == SIGEV_PULSE);
            if (m.ev.sigev_notify & SIGEV_FLAG_UPDATEABLE) m.ev.sigev_value.sival_int = 600;
            CHECK(MsgDeliverEvent(r, &m.ev) == 0);
            CHECK(MsgReply(r, 0, NULL, 0) == 0);
            break;
        case OP_QUIT: {
            /* The errors a server sees at once. */
            struct sigevent ev;
            SIGEV_PULSE_INIT(&ev, 1, -1, 1, 0);
            CHECK_ERR(MsgDeliverEvent(r, NULL), EFAULT);
            CHECK(MsgDeliverEvent_r(r, NULL) == -EFAULT);
            CHECK_ERR(MsgDeliverEvent(0x7fffffff, &ev), ESRCH);
            CHECK_ERR(MsgVerifyEvent(0x7fffffff, &ev), ESRCH);
            SIGEV_UNBLOCK_INIT(&ev);
            CHECK_ERR(MsgDeliverEvent(r, &ev), ENOTSUP);
            ev.sigev_notify = SIGEV_THREAD;
            CHECK_ERR(MsgDeliverEvent(r, &ev), EINVAL);
            CHECK(MsgReply(r, 0, NULL, 0) == 0);
            /* The client is gone once it exits: its rcvid with it. */
            t_get(info_pipe);
            SIGEV_NONE_INIT(&ev);
            CHECK_ERR(MsgDeliverEvent(r, &ev), ESRCH);
            CHECK(name_detach(att, 0) == 0);
            return;
        }
        default:
            CHECK(!"unknown op");
        }
    }
}

static long ask(int coid, int op, const struct sigevent *ev) {
    msg_t m;
    memset(&m, 0, sizeof m);
    m.op = op;
    if (ev) m.ev = *ev;
    return MsgSend(coid, &m, sizeof m, NULL, 0);
}

/* The next pulse on chid (within the test's watchdog). */
static struct _pulse next_pulse(int chid) {
    struct _pulse p;
    CHECK(MsgReceivePulse(chid, &p, sizeof p, NULL) == 0);
    return p;
}

/* No pulse waits on chid now. */
static void no_pulse(int chid) {
    struct _pulse p;
    CHECK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL) == 0);
    CHECK_ERR(MsgReceivePulse(chid, &p, sizeof p, NULL), ETIMEDOUT);
}

static void client(void) {
    /* Signals are taken with sigtimedwait: block them in every thread
     * (baton's runtime thread inherits the mask). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK(pthread_sigmask(SIG_BLOCK, &set, NULL) == 0);
    int spid = t_get(info_pipe), schid = t_get(info_pipe);

    int chid = ChannelCreate(_NTO_CHF_PRIVATE);
    CHECK(chid > 0);
    int side = ConnectAttach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0);
    int fdspace = ConnectAttach(ND_LOCAL_NODE, 0, chid, 0, 0);
    CHECK(side >= _NTO_SIDE_CHANNEL && fdspace >= 0 && fdspace < _NTO_SIDE_CHANNEL);
    int srv = name_open("ctest/events", 0);
    CHECK(srv != -1);
    struct sigevent ev;

    /* Delivered after the reply, on the side-channel coid: nothing until
     * the server fires it. */
    SIGEV_PULSE_INIT(&ev, side, SIGEV_PULSE_PRIO_INHERIT, 5, 77);
    CHECK(ask(srv, OP_SAVE, &ev) == 0);
    no_pulse(chid);
    CHECK(ask(srv, OP_FIRE, NULL) == 0);
    struct _pulse p = next_pulse(chid);
    CHECK(p.code == 5 && p.value.sival_int == 77);

    /* At once, on the index-0 coid, with a pointer-sized value. */
    SIGEV_PULSE_INIT(&ev, fdspace, 10, 6, 0x123456789);
    CHECK(ask(srv, OP_NOW, &ev) == 0);
    p = next_pulse(chid);
    CHECK(p.code == 6 && (intptr_t)p.value.sival_ptr == (intptr_t)0x123456789);

    /* A signal with its value. */
    SIGEV_SIGNAL_VALUE_INIT(&ev, SIGUSR1, 11);
    CHECK(ask(srv, OP_NOW, &ev) == 0);
    struct timespec secs = { 20, 0 };
    siginfo_t si;
    CHECK(sigtimedwait(&set, &si, &secs) == SIGUSR1);
    CHECK(si.si_value.sival_int == 11);

    /* To this process (rcvid 0). */
    SIGEV_PULSE_INIT(&ev, side, -1, 9, 99);
    CHECK(MsgVerifyEvent(0, &ev) == 0);
    CHECK(MsgDeliverEvent(0, &ev) == 0);
    p = next_pulse(chid);
    CHECK(p.code == 9 && p.value.sival_int == 99);

    /* Verified by the server, and on this side. */
    CHECK(ask(srv, OP_VERIFY, &ev) == 0);
    SIGEV_PULSE_INIT(&ev, side, -1, 200, 0); /* codes are 0..127 */
    CHECK(ask(srv, OP_VERIFY, &ev) == EINVAL);
    CHECK_ERR(MsgVerifyEvent(0, &ev), EINVAL);
    SIGEV_PULSE_INIT(&ev, side + 1000, -1, 1, 0);
    CHECK_ERR(MsgVerifyEvent(0, &ev), EBADF);
    CHECK(MsgVerifyEvent_r(0, &ev) == -EBADF);

    /* Registered for this server: it gets a handle, and the registered
     * value stays. */
    struct sigevent fixed, upd;
    SIGEV_PULSE_INIT(&fixed, side, -1, 7, 100);
    CHECK(MsgRegisterEvent(&fixed, srv) == 0);
    CHECK(fixed.sigev_notify & SIGEV_FLAG_HANDLE);
    CHECK(SIGEV_GET_TYPE(&fixed) == SIGEV_PULSE);
    CHECK_ERR(MsgRegisterEvent(&fixed, srv), EINVAL); /* a handle already */
    CHECK(ask(srv, OP_UPDATE, &fixed) == 0);
    p = next_pulse(chid);
    CHECK(p.code == 7 && p.value.sival_int == 100);
    /* Updateable: the server's value. */
    SIGEV_PULSE_INIT(&upd, side, -1, 8, 1);
    SIGEV_MAKE_UPDATEABLE(&upd);
    CHECK(MsgRegisterEvent(&upd, srv) == 0);
    CHECK(upd.sigev_notify & SIGEV_FLAG_UPDATEABLE);
    CHECK(ask(srv, OP_UPDATE, &upd) == 0);
    p = next_pulse(chid);
    CHECK(p.code == 8 && p.value.sival_int == 600);
    /* Unregistered: the server's delivery fails, and nothing arrives. */
    CHECK(MsgUnregisterEvent(&upd) == 0);
    CHECK(ask(srv, OP_TRY, &upd) == ESRCH);
    CHECK_ERR(MsgUnregisterEvent(&upd), ESRCH);
    CHECK(MsgUnregisterEvent_r(&upd) == -ESRCH);
    CHECK_ERR(MsgUnregisterEvent(&ev), EINVAL); /* not a handle */
    no_pulse(chid);
    /* Registered for this process only: the server may not deliver it. */
    struct sigevent mine;
    SIGEV_PULSE_INIT(&mine, side, -1, 10, 5);
    CHECK(MsgRegisterEvent(&mine, _NTO_REGEVENT_ALLOW_SELF) == 0);
    CHECK(ask(srv, OP_TRY, &mine) == ESRCH);
    CHECK(MsgDeliverEvent(0, &mine) == 0);
    p = next_pulse(chid);
    CHECK(p.code == 10 && p.value.sival_int == 5);
    /* For any server. */
    struct sigevent any;
    SIGEV_PULSE_INIT(&any, side, -1, 11, 6);
    CHECK(MsgRegisterEvent(&any, _NTO_REGEVENT_ALLOW_ANY_SERVER) == 0);
    CHECK(ask(srv, OP_TRY, &any) == 0);
    p = next_pulse(chid);
    CHECK(p.code == 11 && p.value.sival_int == 6);
    SIGEV_PULSE_INIT(&ev, side, -1, 1, 0);
    CHECK_ERR(MsgRegisterEvent(&ev, srv + 1000), EBADF);
    CHECK_ERR(MsgRegisterEvent(NULL, srv), EFAULT);
    CHECK(MsgRegisterEvent_r(&ev, srv + 1000) == -EBADF);
    SIGEV_PULSE_INIT(&ev, side + 1000, -1, 1, 0); /* no such coid here */
    CHECK_ERR(MsgRegisterEvent(&ev, srv), EBADF);

    /* A connection that takes registered events only. */
    int reg = ConnectAttach(ND_LOCAL_NODE, spid, schid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE | _NTO_COF_REG_EVENTS);
    CHECK(reg != -1);
    SIGEV_PULSE_INIT(&ev, side, -1, 12, 7);
    CHECK(ask(reg, OP_TRY, &ev) == EACCES);
    CHECK(ask(reg, OP_TRY, &fixed) == ESRCH); /* registered for the other connection */
    struct sigevent for_reg = ev;
    CHECK(MsgRegisterEvent(&for_reg, reg) == 0);
    CHECK(ask(reg, OP_TRY, &for_reg) == 0);
    p = next_pulse(chid);
    CHECK(p.code == 12 && p.value.sival_int == 7);
    CHECK(ConnectDetach(reg) == 0);

    CHECK(ask(srv, OP_QUIT, NULL) == 0);
    CHECK(MsgUnregisterEvent(&fixed) == 0);
}

int main(void) {
    t_watchdog(60);
    info_pipe = t_pipe();
    pid_t s = t_fork(server);
    pid_t c = t_fork(client);
    t_wait_ok(c);
    t_put(info_pipe, 0); /* the client is gone */
    t_wait_ok(s);
    return 0;
}
