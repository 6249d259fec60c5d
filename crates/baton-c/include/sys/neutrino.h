/*
 * sys/neutrino.h (baton): QNX Neutrino native message passing on Linux.
 *
 * The names, types, constants and behaviour of QNX Neutrino 7.x: channels,
 * connections, MsgSend/MsgReceive/MsgReply and their vector forms, pulses,
 * MsgRead/MsgWrite/MsgInfo, TimerTimeout, ConnectClientInfo, events
 * (MsgDeliverEvent and QNX 7.1's registered events), and timer_create()
 * with a SIGEV_PULSE event. Every call X()
 * returns -1 and sets errno on failure; its twin X_r() returns -errno
 * instead and leaves errno alone.
 *
 * Differences from QNX (see the README, "C API"):
 * - ND_LOCAL_NODE only: any other node descriptor fails with ENOREMOTE.
 * - A message received and never answered fails its client's call when the
 *   server process exits (QNX leaves it blocked until then, too).
 * - struct sigevent is Linux's (glibc): the QNX fields sigev_coid,
 *   sigev_code and sigev_priority are macros naming storage inside it, and
 *   SIGEV_PULSE / SIGEV_SIGNAL_CODE have values that differ from QNX's so
 *   that they do not collide with Linux's SIGEV_THREAD_ID / SIGEV_THREAD.
 *   Build events with the SIGEV_*_INIT macros.
 * - TimerTimeout() covers the SEND, RECEIVE and REPLY states of the
 *   calling thread's next message-passing call.
 * - MsgDeliverEvent() is asynchronous: the event happens in the client
 *   shortly after the call returns (its runtime thread performs it). It
 *   delivers SIGEV_PULSE, SIGEV_SIGNAL, SIGEV_SIGNAL_CODE (without the
 *   code), SIGEV_SIGNAL_THREAD, SIGEV_NONE and registered events;
 *   SIGEV_UNBLOCK fails with ENOTSUP, SIGEV_THREAD and SIGEV_INTR with
 *   EINVAL. SIGEV_PULSE_PRIO_INHERIT is the priority of the client thread
 *   that sent the message (QNX: of the receiving process).
 * - timer_create(), timer_settime(), timer_gettime(), timer_getoverrun()
 *   and timer_delete() are libbaton's: a SIGEV_PULSE timer is baton's
 *   (CLOCK_MONOTONIC or CLOCK_REALTIME); every other timer is glibc's, to
 *   which they forward. Expiries the server has no room for are counted
 *   by timer_getoverrun() instead of queued.
 */
#ifndef _BATON_SYS_NEUTRINO_H
#define _BATON_SYS_NEUTRINO_H

/* QNX programs expect POSIX with its XSI part (struct sigevent,
 * clockid_t, S_IFCHR...). A strict ISO C build (-std=c99) that asked for
 * nothing else gets POSIX.1-2008 with XSI if this header comes first;
 * otherwise the glibc headers below still declare what this one needs. */
#if defined(__STRICT_ANSI__) && !defined(_POSIX_C_SOURCE) && !defined(_XOPEN_SOURCE) && \
    !defined(_GNU_SOURCE) && !defined(_DEFAULT_SOURCE)
#define _XOPEN_SOURCE 700
#endif

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include <baton.h>

#if defined(__GLIBC__) && !defined(__USE_POSIX199309)
/* ISO C without POSIX, fixed by an earlier include: glibc hides these, and
 * will not declare them later in this translation unit; declare them as
 * glibc does under POSIX. */
#include <bits/types/clockid_t.h>
union sigval {
    int sival_int;
    void *sival_ptr;
};
#ifndef __sigevent_t_defined
#define __sigevent_t_defined 1
struct sigevent {
    union sigval sigev_value;
    int sigev_signo;
    int sigev_notify;
    union {
        int _pad[(64 - sizeof(union sigval) - 2 * sizeof(int)) / sizeof(int)];
        pid_t _tid;
        struct {
            void (*_function)(union sigval);
            void *_attribute;
        } _sigev_thread;
    } _sigev_un;
};
#else
#error "struct sigevent was declared without POSIX: build with -D_POSIX_C_SOURCE=200809L"
#endif
#endif
#ifndef SIGEV_SIGNAL
/* <signal.h> hid them (no POSIX): Linux's values. */
#define SIGEV_SIGNAL 0
#define SIGEV_NONE 1
#define SIGEV_THREAD 2
#define SIGEV_THREAD_ID 4
#endif

#ifdef __cplusplus
extern "C" {
#endif

#ifndef EOK
#define EOK 0
#endif

/* Node descriptors: this machine only. */
#define ND_LOCAL_NODE 0

/* ChannelCreate() flags. */
#define _NTO_CHF_FIXED_PRIORITY  0x0001
#define _NTO_CHF_UNBLOCK         0x0002
#define _NTO_CHF_THREAD_DEATH    0x0004
#define _NTO_CHF_DISCONNECT      0x0008
#define _NTO_CHF_NET_MSG         0x0010
#define _NTO_CHF_SENDER_LEN      0x0020
#define _NTO_CHF_COID_DISCONNECT 0x0040
#define _NTO_CHF_REPLY_LEN       0x0080
#define _NTO_CHF_PULSE_POOL      0x0100
#define _NTO_CHF_ASYNC_NONBLOCK  0x0200
#define _NTO_CHF_ASYNC           0x0400
#define _NTO_CHF_GLOBAL          0x0800
#define _NTO_CHF_PRIVATE         0x1000
#define _NTO_CHF_MSG_PAUSING     0x2000
#define _NTO_CHF_INHERIT_RUNMASK 0x4000
#define _NTO_CHF_UNBLOCK_TIMER   0x8000

/* ConnectAttach() flags. */
#define _NTO_COF_CLOEXEC      0x0001
#define _NTO_COF_DEAD         0x0002
#define _NTO_COF_NOSHARE      0x0040
#define _NTO_COF_NETCON       0x0080
#define _NTO_COF_NONBLOCK     0x0100
#define _NTO_COF_ASYNC        0x0200
#define _NTO_COF_GLOBAL       0x0400
#define _NTO_COF_NOEVENT      0x0800
#define _NTO_COF_INSECURE     0x1000
#define _NTO_COF_REG_EVENTS   0x2000
#define _NTO_COF_UNREG_EVENTS 0x4000
#define _NTO_COF_MASK         0xFFFF

/* ConnectAttach() index: a connection id outside the descriptor space. */
#define _NTO_SIDE_CHANNEL 0x40000000

/* Thread states and the TimerTimeout() flags built from them. */
#define STATE_SEND    0x04
#define STATE_RECEIVE 0x05
#define STATE_REPLY   0x06
#define _NTO_TIMEOUT_SEND    (1 << STATE_SEND)
#define _NTO_TIMEOUT_RECEIVE (1 << STATE_RECEIVE)
#define _NTO_TIMEOUT_REPLY   (1 << STATE_REPLY)

/* struct _msg_info flags. */
#define _NTO_MI_ENDIAN_BIG     0x0001
#define _NTO_MI_ENDIAN_DIFF    0x0002
#define _NTO_MI_UNBLOCK_REQ    0x0100
#define _NTO_MI_NET_CRED_DIRTY 0x0200
#define _NTO_MI_CONSTRAINED    0x0400
#define _NTO_MI_CHROOT         0x0800
#define _NTO_MI_BITS_64        0x1000
#define _NTO_MI_BITS_DIFF      0x2000
#define _NTO_MI_SANDBOX        0x4000

/* Pulses: type and subtype 0; user codes 0..127, system codes negative. */
#define _PULSE_TYPE    0
#define _PULSE_SUBTYPE 0
#define _PULSE_CODE_UNBLOCK        (-32)
#define _PULSE_CODE_DISCONNECT     (-33)
#define _PULSE_CODE_THREADDEATH    (-34)
#define _PULSE_CODE_COIDDEATH      (-35)
#define _PULSE_CODE_NET_ACK        (-36)
#define _PULSE_CODE_NET_UNBLOCK    (-37)
#define _PULSE_CODE_NET_DETACH     (-38)
#define _PULSE_CODE_RESTART        (-39)
#define _PULSE_CODE_NORESTART      (-40)
#define _PULSE_CODE_UNBLOCK_RESTART (-41)
#define _PULSE_CODE_UNBLOCK_TIMER  (-42)
#define _PULSE_CODE_MINAVAIL 0
#define _PULSE_CODE_MAXAVAIL 127

/* A receive id. */
typedef int rcvid_t;

/* Scatter/gather: QNX's iov_t has the fields of struct iovec. */
typedef struct iovec iov_t;
#define SETIOV(_iov, _addr, _len) \
    ((_iov)->iov_base = (void *)(_addr), (_iov)->iov_len = (size_t)(_len))
#define GETIOVBASE(_iov) ((_iov)->iov_base)
#define GETIOVLEN(_iov)  ((_iov)->iov_len)

/* What MsgReceive() and MsgInfo() report about a message (QNX 7's
 * _msg_info64 layout). scoid carries _NTO_SIDE_CHANNEL, as on QNX. */
struct _msg_info {
    uint32_t nd;        /* client's node: ND_LOCAL_NODE */
    uint32_t srcnd;     /* server's node as the client sees it: ND_LOCAL_NODE */
    pid_t pid;          /* client process */
    int32_t tid;        /* client thread (its Linux thread id) */
    int32_t chid;       /* channel the message arrived on */
    int32_t scoid;      /* server connection id */
    int32_t coid;       /* the client's connection id */
    int16_t priority;   /* client thread priority */
    int16_t flags;      /* _NTO_MI_* */
    ssize_t msglen;     /* bytes delivered */
    ssize_t srcmsglen;  /* bytes the client sent */
    ssize_t dstmsglen;  /* size of the client's reply buffer */
    uint32_t type_id;
    uint32_t reserved;
};
typedef struct _msg_info msg_info_t;

/* A pulse as MsgReceive() delivers it (return value 0). */
struct _pulse {
    uint16_t type;      /* _PULSE_TYPE */
    uint16_t subtype;   /* _PULSE_SUBTYPE */
    int8_t code;        /* _PULSE_CODE_* or a user code */
    uint8_t zero[3];
    union sigval value; /* user value; for _PULSE_CODE_UNBLOCK the rcvid */
    int32_t scoid;      /* server connection it concerns (or -1) */
};

/* The credentials part of struct _client_info. */
struct _cred_info {
    uid_t ruid;
    uid_t euid;
    uid_t suid;
    gid_t rgid;
    gid_t egid;
    gid_t sgid;
    uint32_t ngroups;
    gid_t grouplist[8];
};

/* What ConnectClientInfo() reports about a client process. */
struct _client_info {
    uint32_t nd;
    pid_t pid;
    pid_t sid;
    uint32_t flags;
    struct _cred_info cred;
};

/* struct sigevent is Linux's; the QNX fields live inside it. A registered
 * event's handle takes the place of its coid/signal number, as on QNX. */
#define sigev_coid     sigev_signo
#define sigev_handle   sigev_signo
#define sigev_code     _sigev_un._pad[0]
#define sigev_priority _sigev_un._pad[1]

/* sigev_notify values QNX adds (SIGEV_NONE, SIGEV_SIGNAL and SIGEV_THREAD
 * are Linux's). */
#define SIGEV_SIGNAL_CODE   0x12
#define SIGEV_SIGNAL_THREAD 3
#define SIGEV_PULSE         0x14
#define SIGEV_UNBLOCK       5
#define SIGEV_INTR          6
/* A pulse event's priority: that of the thread the pulse goes to. */
#define SIGEV_PULSE_PRIO_INHERIT (-1)

#define SIGEV_NONE_INIT(__e) ((__e)->sigev_notify = SIGEV_NONE)
#define SIGEV_SIGNAL_INIT(__e, __s) \
    ((__e)->sigev_notify = SIGEV_SIGNAL, (__e)->sigev_signo = (__s))
#define SIGEV_SIGNAL_VALUE_INIT(__e, __s, __v) \
    ((__e)->sigev_notify = SIGEV_SIGNAL, (__e)->sigev_signo = (__s), \
     (__e)->sigev_value.sival_ptr = (void *)(intptr_t)(__v))
#define SIGEV_SIGNAL_CODE_INIT(__e, __s, __v, __c) \
    ((__e)->sigev_notify = SIGEV_SIGNAL_CODE, (__e)->sigev_signo = (__s), \
     (__e)->sigev_value.sival_ptr = (void *)(intptr_t)(__v), (__e)->sigev_code = (__c))
#define SIGEV_SIGNAL_THREAD_INIT(__e, __s, __v, __c) \
    ((__e)->sigev_notify = SIGEV_SIGNAL_THREAD, (__e)->sigev_signo = (__s), \
     (__e)->sigev_value.sival_ptr = (void *)(intptr_t)(__v), (__e)->sigev_code = (__c))
#define SIGEV_PULSE_INIT(__e, __coid, __prio, __code, __val) \
    ((__e)->sigev_notify = SIGEV_PULSE, (__e)->sigev_coid = (__coid), \
     (__e)->sigev_value.sival_ptr = (void *)(intptr_t)(__val), \
     (__e)->sigev_code = (__code), (__e)->sigev_priority = (__prio))
#define SIGEV_UNBLOCK_INIT(__e) ((__e)->sigev_notify = SIGEV_UNBLOCK)

/* sigev_notify is a type and flags (QNX 7.1's values): test the type with
 * SIGEV_GET_TYPE(), not by comparing sigev_notify. */
#define SIGEV_TYPE_MASK            0x000000ff
#define SIGEV_FLAG_UPDATEABLE      0x00000400
#define SIGEV_FLAG_HANDLE          0x00002000
#define SIGEV_GET_TYPE(__e) ((int)((unsigned)((__e)->sigev_notify) & SIGEV_TYPE_MASK))
#define SIGEV_SET_TYPE(__e, __t) \
    ((__e)->sigev_notify = (int)(((unsigned)((__e)->sigev_notify) & ~(unsigned)SIGEV_TYPE_MASK) | (unsigned)(__t)))
/* The server may replace the value of this (registered) event. */
#define SIGEV_MAKE_UPDATEABLE(__e)  ((__e)->sigev_notify |= SIGEV_FLAG_UPDATEABLE)
#define SIGEV_CLEAR_UPDATEABLE(__e) ((__e)->sigev_notify &= ~SIGEV_FLAG_UPDATEABLE)

/* MsgRegisterEvent() coids: any server may deliver the event, or only this
 * process (MsgDeliverEvent(0, ...)). */
#define _NTO_REGEVENT_ALLOW_ANY_SERVER (-1)
#define _NTO_REGEVENT_ALLOW_SELF       (-2)

/* Channels and connections. */
int ChannelCreate(unsigned __flags);
int ChannelCreate_r(unsigned __flags);
int ChannelDestroy(int __chid);
int ChannelDestroy_r(int __chid);
int ConnectAttach(uint32_t __nd, pid_t __pid, int __chid, unsigned __index, int __flags);
int ConnectAttach_r(uint32_t __nd, pid_t __pid, int __chid, unsigned __index, int __flags);
int ConnectDetach(int __coid);
int ConnectDetach_r(int __coid);
int ConnectClientInfo(int __scoid, struct _client_info *__info, int __ngroups);
int ConnectClientInfo_r(int __scoid, struct _client_info *__info, int __ngroups);

/* Sending. */
long MsgSend(int __coid, const void *__smsg, size_t __sbytes, void *__rmsg, size_t __rbytes);
long MsgSend_r(int __coid, const void *__smsg, size_t __sbytes, void *__rmsg, size_t __rbytes);
long MsgSendnc(int __coid, const void *__smsg, size_t __sbytes, void *__rmsg, size_t __rbytes);
long MsgSendnc_r(int __coid, const void *__smsg, size_t __sbytes, void *__rmsg, size_t __rbytes);
long MsgSendv(int __coid, const iov_t *__siov, size_t __sparts, const iov_t *__riov, size_t __rparts);
long MsgSendv_r(int __coid, const iov_t *__siov, size_t __sparts, const iov_t *__riov, size_t __rparts);
long MsgSendvnc(int __coid, const iov_t *__siov, size_t __sparts, const iov_t *__riov, size_t __rparts);
long MsgSendvnc_r(int __coid, const iov_t *__siov, size_t __sparts, const iov_t *__riov, size_t __rparts);
long MsgSendsv(int __coid, const void *__smsg, size_t __sbytes, const iov_t *__riov, size_t __rparts);
long MsgSendsv_r(int __coid, const void *__smsg, size_t __sbytes, const iov_t *__riov, size_t __rparts);
long MsgSendvs(int __coid, const iov_t *__siov, size_t __sparts, void *__rmsg, size_t __rbytes);
long MsgSendvs_r(int __coid, const iov_t *__siov, size_t __sparts, void *__rmsg, size_t __rbytes);
int MsgSendPulse(int __coid, int __priority, int __code, int __value);
int MsgSendPulse_r(int __coid, int __priority, int __code, int __value);

/* Receiving. */
rcvid_t MsgReceive(int __chid, void *__msg, size_t __bytes, struct _msg_info *__info);
rcvid_t MsgReceive_r(int __chid, void *__msg, size_t __bytes, struct _msg_info *__info);
rcvid_t MsgReceivev(int __chid, const iov_t *__iov, size_t __parts, struct _msg_info *__info);
rcvid_t MsgReceivev_r(int __chid, const iov_t *__iov, size_t __parts, struct _msg_info *__info);
int MsgReceivePulse(int __chid, void *__pulse, size_t __bytes, struct _msg_info *__info);
int MsgReceivePulse_r(int __chid, void *__pulse, size_t __bytes, struct _msg_info *__info);

/* Answering and working on a received message. */
int MsgReply(rcvid_t __rcvid, long __status, const void *__msg, size_t __bytes);
int MsgReply_r(rcvid_t __rcvid, long __status, const void *__msg, size_t __bytes);
int MsgReplyv(rcvid_t __rcvid, long __status, const iov_t *__iov, size_t __parts);
int MsgReplyv_r(rcvid_t __rcvid, long __status, const iov_t *__iov, size_t __parts);
int MsgError(rcvid_t __rcvid, int __err);
int MsgError_r(rcvid_t __rcvid, int __err);
ssize_t MsgRead(rcvid_t __rcvid, void *__msg, size_t __bytes, size_t __offset);
ssize_t MsgRead_r(rcvid_t __rcvid, void *__msg, size_t __bytes, size_t __offset);
ssize_t MsgReadv(rcvid_t __rcvid, const iov_t *__iov, size_t __parts, size_t __offset);
ssize_t MsgReadv_r(rcvid_t __rcvid, const iov_t *__iov, size_t __parts, size_t __offset);
ssize_t MsgWrite(rcvid_t __rcvid, const void *__msg, size_t __bytes, size_t __offset);
ssize_t MsgWrite_r(rcvid_t __rcvid, const void *__msg, size_t __bytes, size_t __offset);
ssize_t MsgWritev(rcvid_t __rcvid, const iov_t *__iov, size_t __parts, size_t __offset);
ssize_t MsgWritev_r(rcvid_t __rcvid, const iov_t *__iov, size_t __parts, size_t __offset);
int MsgInfo(rcvid_t __rcvid, struct _msg_info *__info);
int MsgInfo_r(rcvid_t __rcvid, struct _msg_info *__info);

/* Events. MsgDeliverEvent() performs, in the client rcvid names (0: this
 * process), the event it sent in a message, before or after the reply,
 * while the client lives. MsgVerifyEvent() checks what a delivery would.
 * MsgRegisterEvent() registers the event so that only the server of coid
 * (or any server, or this process) may deliver it, and turns *event into
 * its handle (SIGEV_FLAG_HANDLE set, sigev_handle) to send instead;
 * MsgUnregisterEvent() takes the handle back. A connection made with
 * _NTO_COF_REG_EVENTS takes registered events only (EACCES otherwise). */
int MsgDeliverEvent(rcvid_t __rcvid, const struct sigevent *__event);
int MsgDeliverEvent_r(rcvid_t __rcvid, const struct sigevent *__event);
int MsgVerifyEvent(rcvid_t __rcvid, const struct sigevent *__event);
int MsgVerifyEvent_r(rcvid_t __rcvid, const struct sigevent *__event);
int MsgRegisterEvent(struct sigevent *__event, int __coid);
int MsgRegisterEvent_r(struct sigevent *__event, int __coid);
int MsgUnregisterEvent(const struct sigevent *__event);
int MsgUnregisterEvent_r(const struct sigevent *__event);

/* Kernel timeouts for the calling thread's next message-passing call:
 * flags are _NTO_TIMEOUT_SEND/RECEIVE/REPLY (and TIMER_ABSTIME for an
 * absolute ntime); notify is NULL or a SIGEV_UNBLOCK event; ntime NULL or
 * 0 means an immediate timeout. Returns the flags previously armed. */
int TimerTimeout(clockid_t __id, int __flags, const struct sigevent *__notify,
                 const uint64_t *__ntime, uint64_t *__otime);
int TimerTimeout_r(clockid_t __id, int __flags, const struct sigevent *__notify,
                   const uint64_t *__ntime, uint64_t *__otime);

#ifdef __cplusplus
}
#endif

#endif /* _BATON_SYS_NEUTRINO_H */
