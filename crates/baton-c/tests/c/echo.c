/* The QNX echo server and client: name_attach/name_open, a server that
 * also answers _IO_CONNECT, every send form, MsgReceivev/MsgReplyv,
 * MsgError, MsgInfo, ConnectClientInfo, pulses, a receive buffer smaller
 * than a pulse, the disconnect pulse and ConnectDetach(scoid). */
#include "t.h"
#include <ctype.h>

#define MSG_ECHO  (_IO_MAX + 1)  /* reply: the text in upper case, status its length */
#define MSG_FAIL  (_IO_MAX + 2)  /* MsgError(value) */
#define MSG_INFO  (_IO_MAX + 3)  /* check the info against what the client says */
#define MSG_SMALL (_IO_MAX + 4)  /* the server's next two receives use a 4-byte buffer */

typedef struct {
    uint16_t type;
    uint16_t subtype;
    int32_t value;      /* MSG_FAIL: errno; MSG_INFO: the client's coid */
    int32_t pid;        /* MSG_INFO: the client's pid */
    char text[52];
} msg_t;

static struct chan_pipe ready;

static void upcase(char *s) {
    for (; *s; s++) *s = (char)toupper((unsigned char)*s);
}

static void server(void) {
    CHECK(name_attach(NULL, "/abs", 0) == NULL && errno == EINVAL);
    CHECK(name_attach(NULL, "", 0) == NULL && errno == EINVAL);
    CHECK(name_attach(NULL, "a/../b", 0) == NULL && errno == EINVAL);
    CHECK(name_attach(NULL, NULL, 0) == NULL && errno == EINVAL);
    name_attach_t *att = name_attach(NULL, "ctest/echo", 0);
    CHECK(att != NULL && att->chid > 0 && att->dpp == NULL);
    t_put(ready, 1);

    union {
        uint16_t type;
        struct _pulse pulse;
        struct _io_connect connect;
        msg_t msg;
    } buf;
    int connects = 0, pulses = 0, small = 0, lost = 0, done = 0;
    while (!done) {
        struct _msg_info info;
        rcvid_t rcvid;
        if (small > 0) {
            /* A buffer smaller than a pulse: a message still arrives
             * (truncated); a pulse is lost with EFAULT, as on QNX. */
            char tiny[4];
            small--;
            rcvid = MsgReceive(att->chid, tiny, sizeof tiny, &info);
            if (rcvid == -1) {
                CHECK(errno == EFAULT);
                lost++;
                continue;
            }
            CHECK(rcvid > 0 && info.msglen == 4 && info.srcmsglen == (ssize_t)sizeof(msg_t));
            msg_t m;
            memcpy(&m, tiny, 4);
            CHECK(MsgRead(rcvid, (char *)&m + 4, sizeof m - 4, 4) == (ssize_t)sizeof m - 4);
            CHECK(m.type == MSG_ECHO);
            upcase(m.text);
            CHECK(MsgReply(rcvid, (long)strlen(m.text), m.text, strlen(m.text) + 1) == 0);
            continue;
        }
        /* Half the time through MsgReceivev with the buffer in two parts. */
        iov_t iov[2];
        SETIOV(&iov[0], &buf, 6);
        SETIOV(&iov[1], (char *)&buf + 6, sizeof buf - 6);
        rcvid = (pulses + connects) % 2 ? MsgReceivev(att->chid, iov, 2, &info)
                                        : MsgReceive(att->chid, &buf, sizeof buf, &info);
        CHECK(rcvid != -1);
        if (rcvid == 0) {
            CHECK(buf.pulse.type == _PULSE_TYPE && buf.pulse.subtype == _PULSE_SUBTYPE);
            switch (buf.pulse.code) {
            case _PULSE_CODE_DISCONNECT:
                /* The client's last connection went away. */
                CHECK(buf.pulse.scoid & _NTO_SIDE_CHANNEL);
                CHECK(ConnectDetach(buf.pulse.scoid) == 0);
                done = 1;
                break;
            case _PULSE_CODE_UNBLOCK:
                CHECK(MsgError(buf.pulse.value.sival_int, EINTR) == 0);
                break;
            case 5:
                CHECK(buf.pulse.value.sival_int == 42 + pulses);
                pulses++;
                break;
            default:
                fprintf(stderr, "unexpected pulse code %d\n", buf.pulse.code);
                exit(1);
            }
            continue;
        }
        CHECK(rcvid > 0);
        CHECK(info.chid == att->chid && info.nd == ND_LOCAL_NODE && (info.scoid & _NTO_SIDE_CHANNEL));
        switch (buf.type) {
        case _IO_CONNECT:
            /* What a QNX client library would send on open(); baton's
             * name_open() sends none, this client sends one itself. */
            CHECK(buf.connect.subtype == _IO_CONNECT_OPEN);
            connects++;
            CHECK(MsgReply(rcvid, EOK, NULL, 0) == 0);
            break;
        case MSG_ECHO: {
            upcase(buf.msg.text);
            size_t n = strlen(buf.msg.text);
            iov_t r[2];
            SETIOV(&r[0], buf.msg.text, 2);
            SETIOV(&r[1], buf.msg.text + 2, n - 1); /* with the NUL */
            CHECK(MsgReplyv(rcvid, (long)n, r, 2) == 0);
            CHECK_ERR(MsgReply(rcvid, 0, NULL, 0), ESRCH); /* answered already */
            CHECK(MsgReply_r(rcvid, 0, NULL, 0) == -ESRCH);
            break;
        }
        case MSG_FAIL:
            CHECK(MsgError(rcvid, buf.msg.value) == 0);
            CHECK_ERR(MsgError(rcvid, EOK), ESRCH);
            break;
        case MSG_INFO: {
            CHECK(info.pid == buf.msg.pid && info.coid == buf.msg.value);
            CHECK(info.msglen == (ssize_t)sizeof(msg_t) && info.srcmsglen == (ssize_t)sizeof(msg_t));
            CHECK(info.dstmsglen == 33 && info.tid > 0 && info.flags == 0);
            struct _msg_info again;
            CHECK(MsgInfo(rcvid, &again) == 0);
            CHECK(again.pid == info.pid && again.scoid == info.scoid && again.coid == info.coid);
            struct _client_info ci;
            CHECK(ConnectClientInfo(info.scoid, &ci, 8) == 0);
            CHECK(ci.pid == info.pid && ci.nd == 0 && ci.cred.euid == geteuid() && ci.cred.egid == getegid());
            CHECK(ci.cred.ruid == getuid() && ci.cred.ngroups <= 8);
            CHECK_ERR(ConnectClientInfo(0x4000ffff, &ci, 8), ESRCH);
            /* A scoid with a client still connected is no coid to detach. */
            CHECK_ERR(ConnectDetach(info.scoid), EINVAL);
            CHECK(MsgError(rcvid, EOK) == 0);
            break;
        }
        case MSG_SMALL:
            small = 2;
            CHECK(MsgReply(rcvid, 0, NULL, 0) == 0);
            break;
        default:
            CHECK(MsgError(rcvid, ENOSYS) == 0);
        }
    }
    CHECK(connects == 1 && pulses == 3 && lost == 1);
    CHECK_ERR(MsgReply(12345, 0, NULL, 0), ESRCH);
    CHECK(name_detach(att, 0) == 0);
}

static void client(void) {
    CHECK_ERR(name_open("ctest/nobody", 0), ENOENT);
    CHECK_ERR(name_open("/ctest/echo", 0), EINVAL);
    int coid = name_open("ctest/echo", 0);
    CHECK(coid >= _NTO_SIDE_CHANNEL);

    struct _io_connect c;
    memset(&c, 0, sizeof c);
    c.type = _IO_CONNECT;
    c.subtype = _IO_CONNECT_OPEN;
    CHECK(MsgSend(coid, &c, sizeof c, NULL, 0) == EOK);

    msg_t m;
    memset(&m, 0, sizeof m);
    m.type = MSG_ECHO;
    strcpy(m.text, "hello");
    char reply[64];
    CHECK(MsgSend(coid, &m, sizeof m, reply, sizeof reply) == 5 && strcmp(reply, "HELLO") == 0);
    memset(reply, 0, sizeof reply);
    CHECK(MsgSendnc(coid, &m, sizeof m, reply, 3) == 5 && memcmp(reply, "HEL\0", 4) == 0); /* truncated */

    /* The vector forms: the message gathered from two parts, the reply
     * scattered over two. */
    strcpy(m.text, "vector");
    iov_t s[2], r[2];
    char r1[3], r2[16];
    SETIOV(&s[0], &m, 8);
    SETIOV(&s[1], (char *)&m + 8, sizeof m - 8);
    SETIOV(&r[0], r1, sizeof r1);
    SETIOV(&r[1], r2, sizeof r2);
    CHECK(MsgSendv(coid, s, 2, r, 2) == 6 && memcmp(r1, "VEC", 3) == 0 && strcmp(r2, "TOR") == 0);
    CHECK(MsgSendvnc(coid, s, 2, r, 2) == 6 && memcmp(r1, "VEC", 3) == 0);
    CHECK(MsgSendsv(coid, &m, sizeof m, r, 2) == 6 && strcmp(r2, "TOR") == 0);
    memset(reply, 0, sizeof reply);
    CHECK(MsgSendvs(coid, s, 2, reply, sizeof reply) == 6 && strcmp(reply, "VECTOR") == 0);

    /* MsgError: -1 and the server's errno; EOK: 0. */
    m.type = MSG_FAIL;
    m.value = ENOTSUP;
    CHECK_ERR(MsgSend(coid, &m, sizeof m, NULL, 0), ENOTSUP);
    errno = 0;
    CHECK(MsgSend_r(coid, &m, sizeof m, NULL, 0) == -ENOTSUP && errno == 0);
    m.value = EOK;
    CHECK(MsgSend(coid, &m, sizeof m, NULL, 0) == 0);
    m.type = 0x7777;
    CHECK_ERR(MsgSend(coid, &m, sizeof m, NULL, 0), ENOSYS);

    /* What the server learns. */
    m.type = MSG_INFO;
    m.value = coid;
    m.pid = getpid();
    CHECK(MsgSend(coid, &m, sizeof m, reply, 33) == 0);

    /* Pulses: queued in order with messages. */
    CHECK(MsgSendPulse(coid, -1, 5, 42) == 0);
    CHECK(MsgSendPulse(coid, -1, 5, 43) == 0);
    CHECK_ERR(MsgSendPulse(coid, -1, 200, 0), EINVAL);
    CHECK(MsgSendPulse_r(coid, -1, 128, 0) == -EINVAL);

    /* A small receive buffer: a message arrives, a pulse is lost. */
    m.type = MSG_SMALL;
    CHECK(MsgSend(coid, &m, sizeof m, NULL, 0) == 0);
    m.type = MSG_ECHO;
    strcpy(m.text, "small");
    CHECK(MsgSend(coid, &m, sizeof m, reply, sizeof reply) == 5 && strcmp(reply, "SMALL") == 0);
    CHECK(MsgSendPulse(coid, -1, 5, 999) == 0); /* the lost one */
    CHECK(MsgSendPulse(coid, -1, 5, 44) == 0);
    strcpy(m.text, "after");
    CHECK(MsgSend(coid, &m, sizeof m, reply, sizeof reply) == 5 && strcmp(reply, "AFTER") == 0);

    CHECK_ERR(MsgSend(coid + 1, &m, sizeof m, NULL, 0), EBADF);
    /* Closing the only connection gives the server its disconnect pulse. */
    CHECK(name_close(coid) == 0);
    CHECK_ERR(name_close(coid), EINVAL);
}

int main(void) {
    t_watchdog(60);
    ready = t_pipe();
    pid_t s = t_fork(server);
    CHECK(t_get(ready) == 1);
    pid_t c = t_fork(client);
    t_wait_ok(c);
    t_wait_ok(s);
    return 0;
}
