/* The headers compile cleanly (-Wall -Wextra -Werror, C99 and C++17), the
 * QNX macros expand without warnings, and the layouts are QNX 7's. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/neutrino.h>
#include <sys/dispatch.h>
#include <sys/iomsg.h>
#include <sys/iofunc.h>
#include <sys/resmgr.h>
#include <devctl.h>
#include <baton.h>
/* Its declarations only: this file uses the handler tables' read... (the
 * macros are checked by the programs built with -include baton/posix.h). */
#define BATON_POSIX_NO_MACROS
#include <baton/posix.h>

#define CHECK(c) do { if (!(c)) { printf("%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); return 1; } } while (0)

/* devctl commands are ints that serve as case labels (C and C++). */
static int dcmd_class(int dcmd) {
    switch (dcmd) {
    case __DIOF(_DCMD_MISC, 1, int): return 1;
    case __DIOT(_DCMD_MISC, 2, int): return 2;
    case __DIOTF(_DCMD_MISC, 3, int): return 3;
    case __DION(_DCMD_MISC, 4): return 4;
    case DCMD_ALL_GETFLAGS: return 5;
    default: return 0;
    }
}

/* The QNX handler idioms compile: a read handler with _RESMGR_PTR and
 * _IO_SET_READ_NBYTES, a write one with _IO_WRITE_GET_NBYTES. */
static int my_read(resmgr_context_t *ctp, io_read_t *msg, RESMGR_OCB_T *ocb) {
    static const char data[] = "hello";
    int st = iofunc_read_verify(ctp, msg, ocb, NULL);
    if (st != EOK) return st;
    _IO_SET_READ_NBYTES(ctp, _IO_READ_GET_NBYTES(msg) < 5 ? _IO_READ_GET_NBYTES(msg) : 5);
    return _RESMGR_PTR(ctp, data, (size_t)ctp->status);
}

static int my_write(resmgr_context_t *ctp, io_write_t *msg, RESMGR_OCB_T *ocb) {
    (void)ocb;
    _IO_SET_WRITE_NBYTES(ctp, _IO_WRITE_GET_NBYTES(msg));
    return _RESMGR_NPARTS(0);
}

static int resmgr_checks(void) {
    resmgr_connect_funcs_t cf;
    resmgr_io_funcs_t io;
    iofunc_attr_t attr;
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &cf, _RESMGR_IO_NFUNCS, &io);
    io.read = my_read;
    io.write = my_write;
    CHECK(io.nfuncs == 26 && cf.nfuncs == 8 && cf.open == iofunc_open_default && io.lseek != NULL);
    /* (S_IFCHR is XSI: this strict C99 build included <stdio.h> first.) */
    iofunc_attr_init(&attr, 0666, NULL, NULL);
    CHECK(attr.nlink == 1 && attr.mode == 0666 && attr.inode != 0);
    CHECK(offsetof(resmgr_io_funcs_t, close_dup) ==
          offsetof(resmgr_io_funcs_t, read) + (_IO_CLOSE - _IO_READ) * sizeof(void *));
    CHECK(offsetof(resmgr_io_funcs_t, power) ==
          offsetof(resmgr_io_funcs_t, read) + (_IO_POWER - _IO_READ) * sizeof(void *));
    CHECK(sizeof(struct _io_read) == 16 && sizeof(struct _io_write) == 16 && sizeof(struct _io_stat) == 8);
    CHECK(sizeof(struct _io_devctl) == 16 && sizeof(struct _io_devctl_reply) == 16);
    CHECK(sizeof(struct _io_lseek) == 16 && offsetof(struct _io_lseek, offset) == 8 && sizeof(struct _io_close) == 4);
    CHECK(sizeof(struct _io_chmod) == 8 && sizeof(struct _io_chown) == 12 && offsetof(struct _io_chown, uid) == 8);
    CHECK(sizeof(struct _xtype_offset) == 8 && _IO_XTYPE_OFFSET == 5 && _IO_CHMOD == 0x10A && _IO_CHOWN == 0x10B);
    CHECK(sizeof(struct _io_space) == 24 && offsetof(struct _io_space, whence) == 6 &&
          offsetof(struct _io_space, start) == 8 && offsetof(struct _io_space, len) == 16);
    CHECK(offsetof(resmgr_io_funcs_t, space) ==
          offsetof(resmgr_io_funcs_t, read) + (_IO_SPACE - _IO_READ) * sizeof(void *));
    CHECK(offsetof(struct _io_notify, event) == 16 && sizeof(struct _io_notify_reply) == 8);
    CHECK(sizeof(io_stat_t) == sizeof(struct stat) && sizeof(io_lseek_t) == 16);
    CHECK(_IO_DIRENT_RECLEN(3) == 24 && _IO_DIRENT_RECLEN(4) == 32 && offsetof(struct _io_dirent, d_name) == 20);
    CHECK(_IO_FLAG_RD == 1 && _IO_FLAG_WR == 2 && _IO_XFLAG_NONBLOCK == 0x4000 && _IO_CONNECT_EFLAG_DIR == 1);
    CHECK(_RESMGR_FLAG_DIR == 0x100 && _RESMGR_FLAG_BEFORE == 1 && _RESMGR_FLAG_AFTER == 2 && _RESMGR_FLAG_OPAQUE == 4);
    CHECK(_NOTIFY_COND_INPUT == 0x10000000u && _NOTIFY_COND_OUTPUT == 0x40000000u && _NOTIFY_ACTION_POLLARM == 1);
    CHECK(_RESMGR_NPARTS(2) == -2 && _RESMGR_NOREPLY < -2 && _RESMGR_DEFAULT < -2 && _RESMGR_NOREPLY != _RESMGR_DEFAULT);
    CHECK(__DIOF(_DCMD_MISC, 4, int) == (int)0x40040504u && __DIOT(_DCMD_MISC, 1, int) == (int)0x80040501u);
    CHECK(get_device_direction(__DIOTF(_DCMD_ALL, 1, long)) == DEVDIR_TOFROM && get_device_size(__DIOF(1, 1, long)) == 8);
    CHECK(dcmd_class(__DIOT(_DCMD_MISC, 2, int)) == 2 && dcmd_class(DCMD_ALL_GETFLAGS) == 5 && dcmd_class(7) == 0);
    {
        dispatch_context_t dc;
        message_context_t *mc = &dc.message_context;
        thread_pool_attr_t pa;
        memset(&pa, 0, sizeof pa);
        pa.context_alloc = dispatch_context_alloc;
        pa.block_func = dispatch_block;
        pa.unblock_func = dispatch_unblock;
        pa.handler_func = dispatch_handler;
        pa.context_free = dispatch_context_free;
        CHECK(mc == &dc.resmgr_context && pa.block_func != NULL);
        int (*attach)(dispatch_t *, resmgr_attr_t *, const char *, enum _file_type, unsigned,
                      const resmgr_connect_funcs_t *, const resmgr_io_funcs_t *, RESMGR_HANDLE_T *) = resmgr_attach;
        int (*pa_fn)(dispatch_t *, int, int, int (*)(message_context_t *, int, unsigned, void *), void *) = pulse_attach;
        int (*dev)(int, int, void *, size_t, int *) = devctl;
        int (*op)(const char *, int, ...) = baton_open;
        CHECK(attach != NULL && pa_fn != NULL && dev != NULL && op != NULL);
        select_context_t *sc = &dc.select_context;
        int (*sa)(void *, select_attr_t *, int, unsigned, int (*)(select_context_t *, int, unsigned, void *), void *) =
            select_attach;
        int (*sd)(void *, int) = select_detach;
        CHECK(sc == &dc.resmgr_context && sa != NULL && sd != NULL && select_query != NULL);
        /* QNX's values: the conditions are ionotify's, the flags below them. */
        CHECK(SELECT_FLAG_REARM == 1 && SELECT_FLAG_SRVEXCEPT == 2 && SELECT_FLAG_NOREARM == 4);
        CHECK(SELECT_FLAG_READ == 0x10000000u && SELECT_FLAG_WRITE == 0x40000000u && SELECT_FLAG_EXCEPT == 0x80000000u);
    }
    return 0;
}

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
    return resmgr_checks();
}
