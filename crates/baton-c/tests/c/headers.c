/* The headers compile cleanly (-Wall -Wextra -Werror, C99 and C++17), the
 * QNX macros expand without warnings, and the layouts are QNX 7's. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/neutrino.h>
#include <sys/dispatch.h>
#include <sys/iomsg.h>
#include <baton.h>

#define CHECK(c) do { if (!(c)) { printf("%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); return 1; } } while (0)

int main(void) {
    struct sigevent ev;
    iov_t iov[2];
    char buf[8];
    const char *text = "abc";
    struct _msg_info info;
    msg_info_t *ip = &info;
    struct _pulse pulse;
    struct _client_info ci;
    struct _io_connect connect;
    name_attach_t *na = NULL;
    dispatch_t *dpp = NULL;
    rcvid_t rcvid = 0;
    int value = 7;

    memset(&ev, 0, sizeof ev);
    SIGEV_PULSE_INIT(&ev, 5, SIGEV_PULSE_PRIO_INHERIT, _PULSE_CODE_MINAVAIL + 1, value);
    CHECK(ev.sigev_notify == SIGEV_PULSE && ev.sigev_coid == 5 && ev.sigev_code == 1);
    CHECK(ev.sigev_priority == -1 && ev.sigev_value.sival_int == 7);
    SIGEV_PULSE_INIT(&ev, 5, 10, 2, &value);
    CHECK(ev.sigev_value.sival_ptr == (void *)&value);
    SIGEV_UNBLOCK_INIT(&ev);
    CHECK(ev.sigev_notify == SIGEV_UNBLOCK);
    SIGEV_SIGNAL_INIT(&ev, SIGUSR1);
    CHECK(ev.sigev_notify == SIGEV_SIGNAL && ev.sigev_signo == SIGUSR1);
    CHECK(sizeof ev == 64);
    CHECK(SIGEV_PULSE != SIGEV_THREAD_ID && SIGEV_SIGNAL_CODE != SIGEV_THREAD);
    SIGEV_PULSE_INIT(&ev, 5, -1, 1, 0);
    SIGEV_MAKE_UPDATEABLE(&ev);
    CHECK(SIGEV_GET_TYPE(&ev) == SIGEV_PULSE && (ev.sigev_notify & SIGEV_FLAG_UPDATEABLE));
    SIGEV_CLEAR_UPDATEABLE(&ev);
    SIGEV_SET_TYPE(&ev, SIGEV_NONE);
    CHECK(ev.sigev_notify == SIGEV_NONE && ev.sigev_handle == 5);
    CHECK(SIGEV_FLAG_UPDATEABLE == 0x400 && SIGEV_FLAG_HANDLE == 0x2000 && SIGEV_TYPE_MASK == 0xff);
    CHECK(_NTO_REGEVENT_ALLOW_ANY_SERVER == -1 && _NTO_REGEVENT_ALLOW_SELF == -2);
    {
        /* The event calls are declared (timer_create is <time.h>'s). */
        int (*deliver)(rcvid_t, const struct sigevent *) = MsgDeliverEvent;
        int (*reg)(struct sigevent *, int) = MsgRegisterEvent_r;
        int (*unreg)(const struct sigevent *) = MsgUnregisterEvent;
        int (*verify)(rcvid_t, const struct sigevent *) = MsgVerifyEvent_r;
        CHECK(deliver && reg && unreg && verify);
    }

    SETIOV(&iov[0], buf, sizeof buf);
    SETIOV(&iov[1], text, 3);
    CHECK(GETIOVBASE(&iov[0]) == buf && GETIOVLEN(&iov[0]) == 8 && GETIOVLEN(&iov[1]) == 3);

    CHECK(sizeof(struct _msg_info) == 64 && offsetof(struct _msg_info, msglen) == 32);
    CHECK(sizeof ip->priority == 2 && sizeof ip->flags == 2);
    CHECK(sizeof pulse == 24 && offsetof(struct _pulse, value) == 8 && offsetof(struct _pulse, scoid) == 16);
    CHECK(offsetof(struct _client_info, cred) == 16 && sizeof ci.cred.grouplist / sizeof ci.cred.grouplist[0] == 8);
    CHECK(offsetof(struct _io_connect, path) == 40 && sizeof connect.type == 2);
    CHECK(sizeof(name_attach_t) == 24 && na == NULL && dpp == NULL && rcvid == 0);

    CHECK(_NTO_CHF_FIXED_PRIORITY == 0x1 && _NTO_CHF_UNBLOCK == 0x2 && _NTO_CHF_THREAD_DEATH == 0x4);
    CHECK(_NTO_CHF_DISCONNECT == 0x8 && _NTO_CHF_SENDER_LEN == 0x20 && _NTO_CHF_COID_DISCONNECT == 0x40);
    CHECK(_NTO_CHF_REPLY_LEN == 0x80 && _NTO_CHF_PRIVATE == 0x1000);
    CHECK(_NTO_COF_CLOEXEC == 0x1 && _NTO_COF_NOSHARE == 0x40 && _NTO_SIDE_CHANNEL == 0x40000000);
    CHECK(_NTO_COF_REG_EVENTS == 0x2000 && _NTO_COF_UNREG_EVENTS == 0x4000);
    CHECK(_NTO_TIMEOUT_SEND == 0x10 && _NTO_TIMEOUT_RECEIVE == 0x20 && _NTO_TIMEOUT_REPLY == 0x40);
    CHECK(_NTO_MI_UNBLOCK_REQ == 0x100 && _PULSE_TYPE == 0 && _PULSE_SUBTYPE == 0);
    CHECK(_PULSE_CODE_UNBLOCK == -32 && _PULSE_CODE_DISCONNECT == -33 && _PULSE_CODE_THREADDEATH == -34);
    CHECK(_PULSE_CODE_COIDDEATH == -35 && _PULSE_CODE_MAXAVAIL == 127 && ND_LOCAL_NODE == 0);
    CHECK(_IO_CONNECT == 0x100 && _IO_READ == 0x101 && _IO_CLOSE == 0x116 && _IO_MAX == 0x1FF);
    CHECK(NAME_FLAG_ATTACH_GLOBAL == 0x2 && NAME_FLAG_DETACH_SAVEDPP == 0x1);
    CHECK(EOK == 0 && ENOREMOTE == 300 && strcmp(baton_version(), BATON_VERSION) == 0);
    return 0;
}
