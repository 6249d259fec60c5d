/*
 * sys/resmgr.h (baton): QNX's resource-manager layer: attaching a path
 * (resmgr_attach), the handler tables for connect and I/O messages, the
 * context a handler gets, binding an open's OCB to its connection, and the
 * handler return convention (_RESMGR_*). The contract with clients is
 * docs/RESMGR.md. Include <sys/iofunc.h> first (as on QNX) so that
 * RESMGR_HANDLE_T and RESMGR_OCB_T default to the iofunc types; define
 * them (or IOFUNC_ATTR_T / IOFUNC_OCB_T) before it to use your own.
 *
 * Differences from QNX: paths live in baton's path space (docs/RESMGR.md,
 * section 1), combined messages (_IO_COMBINE_FLAG) are answered ENOSYS,
 * and an I/O message on a connection with no OCB bound gets EBADF.
 */
#ifndef _BATON_SYS_RESMGR_H
#define _BATON_SYS_RESMGR_H

#include <sys/neutrino.h>
#include <sys/iomsg.h>

#ifndef RESMGR_HANDLE_T
#define RESMGR_HANDLE_T void
#endif
#ifndef RESMGR_OCB_T
#define RESMGR_OCB_T void
#endif

#ifdef __cplusplus
extern "C" {
#endif

#ifndef _BATON_DISPATCH_T
#define _BATON_DISPATCH_T
typedef struct _dispatch dispatch_t;
#endif

/* Every message a resource manager receives, as the context's buffer
 * holds it. */
typedef union {
    uint16_t type;
    struct _pulse pulse;
    struct _io_header header;
    struct _io_connect connect;
    io_read_t read;
    io_write_t write;
    io_stat_t stat;
    io_notify_t notify;
    io_devctl_t devctl;
    io_lseek_t lseek;
    io_space_t space;
    io_close_t close;
    io_chmod_t chmod;
    io_chown_t chown;
    io_msg_t msg;
} resmgr_iomsgs_t;

/* What a handler gets: the message (msg, its rcvid and info), the link
 * it came through (id), and the reply it builds (status, iov). */
typedef struct _resmgr_context {
    int rcvid;                /* 0 for a pulse */
    struct _msg_info info;
    resmgr_iomsgs_t *msg;     /* the received bytes (msg_max_size of room) */
    dispatch_t *dpp;
    int id;                   /* the link id (resmgr_attach's result) */
    unsigned tid;             /* the thread's index in a pool */
    unsigned msg_max_size;
    int status;               /* the reply's status (_IO_SET_*_NBYTES) */
    int offset;               /* of this message in the received bytes: 0 */
    int size;                 /* bytes received */
    iov_t iov[1];             /* nparts_max parts for _RESMGR_NPARTS */
} resmgr_context_t;

/* resmgr_attach()'s attributes. */
typedef struct _resmgr_attr {
    unsigned flags;           /* RESMGR_FLAG_* */
    unsigned nparts_max;      /* iov parts in a context (at least 1) */
    size_t msg_max_size;      /* receive buffer (at least sizeof(resmgr_iomsgs_t)) */
    /* Messages that are neither I/O messages nor message_attach()'ed:
     * a handler with the convention below (NULL: ENOSYS). */
    int (*other_func)(resmgr_context_t *__ctp, void *__msg);
    unsigned reserved[4];
} resmgr_attr_t;

#define RESMGR_FLAG_ATTACH_OTHERFUNC 0x0002
#define RESMGR_FLAG_NO_DEFAULT_FUNC  0x0004

/* resmgr_attach() flags (the path-space flags, QNX's values). */
#define _RESMGR_FLAG_BEFORE    0x0001
#define _RESMGR_FLAG_AFTER     0x0002
#define _RESMGR_FLAG_OPAQUE    0x0004
#define _RESMGR_FLAG_FTYPEONLY 0x0008
#define _RESMGR_FLAG_FTYPEALL  0x0010
#define _RESMGR_FLAG_DIR       0x0100
#define _RESMGR_FLAG_SELF      0x0200

/* resmgr_detach() flags. */
#define _RESMGR_DETACH_ALL      0x0000
#define _RESMGR_DETACH_PATHNAME 0x0001
#define _RESMGR_DETACH_CLOSE    0x0002

/* Connect handlers, by _IO_CONNECT subtype. */
typedef struct _resmgr_connect_funcs {
    unsigned nfuncs;
    int (*open)(resmgr_context_t *__ctp, io_open_t *__msg, RESMGR_HANDLE_T *__handle, void *__extra);
    int (*unlink)(resmgr_context_t *__ctp, io_unlink_t *__msg, RESMGR_HANDLE_T *__handle, void *__reserved);
    int (*rename)(resmgr_context_t *__ctp, io_rename_t *__msg, RESMGR_HANDLE_T *__handle, io_rename_extra_t *__extra);
    int (*mknod)(resmgr_context_t *__ctp, io_mknod_t *__msg, RESMGR_HANDLE_T *__handle, void *__reserved);
    int (*readlink)(resmgr_context_t *__ctp, io_readlink_t *__msg, RESMGR_HANDLE_T *__handle, void *__reserved);
    int (*link)(resmgr_context_t *__ctp, io_link_t *__msg, RESMGR_HANDLE_T *__handle, io_link_extra_t *__extra);
    int (*unblock)(resmgr_context_t *__ctp, io_pulse_t *__msg, RESMGR_HANDLE_T *__handle, void *__reserved);
    int (*mount)(resmgr_context_t *__ctp, io_mount_t *__msg, RESMGR_HANDLE_T *__handle, io_mount_extra_t *__extra);
} resmgr_connect_funcs_t;
#define _RESMGR_CONNECT_NFUNCS ((unsigned)((sizeof(resmgr_connect_funcs_t) - sizeof(unsigned)) / sizeof(void *)))

/* I/O handlers, in message-type order (_IO_READ is read, ...). */
typedef struct _resmgr_io_funcs {
    unsigned nfuncs;
    int (*read)(resmgr_context_t *__ctp, io_read_t *__msg, RESMGR_OCB_T *__ocb);
    int (*write)(resmgr_context_t *__ctp, io_write_t *__msg, RESMGR_OCB_T *__ocb);
    int (*close_ocb)(resmgr_context_t *__ctp, void *__reserved, RESMGR_OCB_T *__ocb);
    int (*stat)(resmgr_context_t *__ctp, io_stat_t *__msg, RESMGR_OCB_T *__ocb);
    int (*notify)(resmgr_context_t *__ctp, io_notify_t *__msg, RESMGR_OCB_T *__ocb);
    int (*devctl)(resmgr_context_t *__ctp, io_devctl_t *__msg, RESMGR_OCB_T *__ocb);
    int (*unblock)(resmgr_context_t *__ctp, io_pulse_t *__msg, RESMGR_OCB_T *__ocb);
    int (*pathconf)(resmgr_context_t *__ctp, io_pathconf_t *__msg, RESMGR_OCB_T *__ocb);
    int (*lseek)(resmgr_context_t *__ctp, io_lseek_t *__msg, RESMGR_OCB_T *__ocb);
    int (*chmod)(resmgr_context_t *__ctp, io_chmod_t *__msg, RESMGR_OCB_T *__ocb);
    int (*chown)(resmgr_context_t *__ctp, io_chown_t *__msg, RESMGR_OCB_T *__ocb);
    int (*utime)(resmgr_context_t *__ctp, io_utime_t *__msg, RESMGR_OCB_T *__ocb);
    int (*openfd)(resmgr_context_t *__ctp, io_openfd_t *__msg, RESMGR_OCB_T *__ocb);
    int (*fdinfo)(resmgr_context_t *__ctp, io_fdinfo_t *__msg, RESMGR_OCB_T *__ocb);
    int (*lock)(resmgr_context_t *__ctp, io_lock_t *__msg, RESMGR_OCB_T *__ocb);
    int (*space)(resmgr_context_t *__ctp, io_space_t *__msg, RESMGR_OCB_T *__ocb);
    int (*shutdown)(resmgr_context_t *__ctp, io_shutdown_t *__msg, RESMGR_OCB_T *__ocb);
    int (*mmap)(resmgr_context_t *__ctp, io_mmap_t *__msg, RESMGR_OCB_T *__ocb);
    int (*msg)(resmgr_context_t *__ctp, io_msg_t *__msg, RESMGR_OCB_T *__ocb);
    int (*reserved)(resmgr_context_t *__ctp, void *__msg, RESMGR_OCB_T *__ocb);
    int (*dup)(resmgr_context_t *__ctp, io_dup_t *__msg, RESMGR_OCB_T *__ocb);
    int (*close_dup)(resmgr_context_t *__ctp, io_close_t *__msg, RESMGR_OCB_T *__ocb);
    int (*lock_ocb)(resmgr_context_t *__ctp, void *__reserved, RESMGR_OCB_T *__ocb);
    int (*unlock_ocb)(resmgr_context_t *__ctp, void *__reserved, RESMGR_OCB_T *__ocb);
    int (*sync)(resmgr_context_t *__ctp, io_sync_t *__msg, RESMGR_OCB_T *__ocb);
    int (*power)(resmgr_context_t *__ctp, io_power_t *__msg, RESMGR_OCB_T *__ocb);
} resmgr_io_funcs_t;
#define _RESMGR_IO_NFUNCS ((unsigned)((sizeof(resmgr_io_funcs_t) - sizeof(unsigned)) / sizeof(void *)))

/* What a handler returns. A non-negative value is an errno: the client's
 * call fails with it, or, for EOK, returns ctp->status. A negative one
 * replies with ctp->status and the first n parts of ctp->iov. */
#define _RESMGR_ERRNO(_err) (_err)
#define _RESMGR_NPARTS(_n) (-(int)(_n))
#define _RESMGR_PTR(_ctp, _addr, _len) (SETIOV((_ctp)->iov, (_addr), (_len)), _RESMGR_NPARTS(1))
#define _RESMGR_STATUS(_ctp, _status) ((_ctp)->status = (_status))
/* The handler keeps the rcvid and answers later (a blocking read). */
#define _RESMGR_NOREPLY ((int)(-0x7fffffff - 1))
/* The default action: ENOSYS for most messages. */
#define _RESMGR_DEFAULT ((int)(-0x7fffffff))

/* The status a read or write reply carries: the bytes transferred. */
#define _IO_SET_READ_NBYTES(_ctp, _n)  ((_ctp)->status = (int)(_n))
#define _IO_SET_WRITE_NBYTES(_ctp, _n) ((_ctp)->status = (int)(_n))
#define _IO_READ_GET_NBYTES(_msg)  ((_msg)->i.nbytes)
#define _IO_WRITE_GET_NBYTES(_msg) ((_msg)->i.nbytes)

/* Attaches path (NULL: none, messages only) to dpp's channel with the
 * handler tables and handle; returns the link id, or -1 and errno. */
int resmgr_attach(dispatch_t *__dpp, resmgr_attr_t *__attr, const char *__path, enum _file_type __file_type,
                  unsigned __flags, const resmgr_connect_funcs_t *__connect_funcs,
                  const resmgr_io_funcs_t *__io_funcs, RESMGR_HANDLE_T *__handle);
/* Removes link id's path; its open OCBs stay bound. */
int resmgr_detach(dispatch_t *__dpp, int __id, unsigned __flags);
/* Binds ocb to the client connection of ctp's message, with io_funcs
 * (NULL: the link's). */
int resmgr_open_bind(resmgr_context_t *__ctp, void *__ocb, const resmgr_io_funcs_t *__io_funcs);
/* The OCB bound to ctp's connection, or NULL. */
void *_resmgr_ocb(resmgr_context_t *__ctp, struct _msg_info *__info);
/* Unbinds ctp's connection (its OCB is not closed). */
int resmgr_unbind(resmgr_context_t *__ctp);

/* The client's message from `offset` past ctp->offset, and replies. */
ssize_t resmgr_msgread(resmgr_context_t *__ctp, void *__msg, size_t __nbytes, size_t __offset);
ssize_t resmgr_msgreadv(resmgr_context_t *__ctp, iov_t *__iov, int __nparts, size_t __offset);
ssize_t resmgr_msgwrite(resmgr_context_t *__ctp, const void *__msg, size_t __nbytes, size_t __offset);
ssize_t resmgr_msgwritev(resmgr_context_t *__ctp, const iov_t *__iov, int __nparts, size_t __offset);
int resmgr_msgreply(resmgr_context_t *__ctp, void *__msg, size_t __nbytes);
int resmgr_msgreplyv(resmgr_context_t *__ctp, iov_t *__iov, int __nparts);

/* The resmgr-only loop (dispatch_* covers it). */
resmgr_context_t *resmgr_context_alloc(dispatch_t *__dpp);
void resmgr_context_free(resmgr_context_t *__ctp);
resmgr_context_t *resmgr_block(resmgr_context_t *__ctp);
int resmgr_handler(resmgr_context_t *__ctp);

#ifdef __cplusplus
}
#endif

#include <sys/dispatch.h>

#endif /* _BATON_SYS_RESMGR_H */
