/*
 * sys/iofunc.h (baton): QNX's POSIX layer for resource managers: the
 * attribute of a device or file (iofunc_attr_t: mode, owner, size,
 * times), the per-open state (iofunc_ocb_t: offset, open flags), and the
 * iofunc_*_default handlers that give a resource manager POSIX behaviour
 * (permission checks on open, open-mode checks on read and write, stat,
 * lseek, close) without code of its own (docs/RESMGR.md, section 4).
 *
 * A program extends the attribute or the OCB by defining IOFUNC_ATTR_T or
 * IOFUNC_OCB_T (a struct whose first member is an iofunc_attr_t or
 * iofunc_ocb_t) before including this header; RESMGR_HANDLE_T and
 * RESMGR_OCB_T (what handlers get) default to them, and the iofunc_*
 * calls take the iofunc_attr_t / iofunc_ocb_t inside (as QNX declares
 * them: pass &dev->attr).
 */
#ifndef _BATON_SYS_IOFUNC_H
#define _BATON_SYS_IOFUNC_H

#include <sys/neutrino.h>
#include <sys/iomsg.h>
#include <sys/stat.h>
#include <fcntl.h>

#ifndef IOFUNC_ATTR_T
#define IOFUNC_ATTR_T struct _iofunc_attr
#endif
#ifndef IOFUNC_OCB_T
#define IOFUNC_OCB_T struct _iofunc_ocb
#endif
#ifndef IOFUNC_MOUNT_T
#define IOFUNC_MOUNT_T struct _iofunc_mount
#endif
#ifndef RESMGR_HANDLE_T
#define RESMGR_HANDLE_T IOFUNC_ATTR_T
#endif
#ifndef RESMGR_OCB_T
#define RESMGR_OCB_T IOFUNC_OCB_T
#endif

/* QNX's names of the permission bits (glibc has them only for
 * _DEFAULT_SOURCE). */
#ifndef S_IREAD
#define S_IREAD S_IRUSR
#endif
#ifndef S_IWRITE
#define S_IWRITE S_IWUSR
#endif
#ifndef S_IEXEC
#define S_IEXEC S_IXUSR
#endif

/* QNX's "named special file" type, which its samples give devices: a
 * character device here, which Linux tools (stat, FUSE) know. */
#ifndef S_IFNAM
#define S_IFNAM S_IFCHR
#define S_ISNAM(_m) S_ISCHR(_m)
#endif

/* Declared here so that the handler tables' prototypes name them. */
struct _iofunc_attr;
struct _iofunc_ocb;
struct _iofunc_mount;

#include <sys/resmgr.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How OCBs of a mount are made and freed (NULL: calloc/free of an
 * iofunc_ocb_t). */
typedef struct _iofunc_funcs {
    unsigned nfuncs;
    IOFUNC_OCB_T *(*ocb_calloc)(resmgr_context_t *__ctp, IOFUNC_ATTR_T *__attr);
    void (*ocb_free)(IOFUNC_OCB_T *__ocb);
} iofunc_funcs_t;
#define _IOFUNC_NFUNCS ((unsigned)((sizeof(iofunc_funcs_t) - sizeof(unsigned)) / sizeof(void *)))

typedef struct _iofunc_mount {
    uint32_t flags;
    uint32_t conf;
    dev_t dev;
    int32_t blocksize;
    iofunc_funcs_t *funcs;
    void *reserved;
} iofunc_mount_t;

/* A device's or file's attribute. count/rcount/wcount: its opens (all,
 * for reading, for writing). flags: which times to update (IOFUNC_ATTR_*). */
typedef struct _iofunc_attr {
    IOFUNC_MOUNT_T *mount;
    uint32_t flags;
    int32_t lock_tid;
    uint16_t lock_count;
    uint16_t count;
    uint16_t rcount;
    uint16_t wcount;
    uint16_t rlocks;
    uint16_t wlocks;
    void *mmap_list;
    void *lock_list;
    void *list;
    uint32_t list_size;
    off_t nbytes;
    ino_t inode;
    uid_t uid;
    gid_t gid;
    time_t mtime;
    time_t atime;
    time_t ctime;
    mode_t mode;
    nlink_t nlink;
    dev_t rdev;
} iofunc_attr_t;

/* iofunc_attr_t.flags. */
#define IOFUNC_ATTR_CTIME       0x00000002
#define IOFUNC_ATTR_MTIME       0x00000004
#define IOFUNC_ATTR_ATIME       0x00000008
#define IOFUNC_ATTR_DIRTY_SIZE  0x00000010
#define IOFUNC_ATTR_DIRTY_OWNER 0x00000020
#define IOFUNC_ATTR_DIRTY_TIME  0x00000040
#define IOFUNC_ATTR_DIRTY_MODE  0x00000080
#define IOFUNC_ATTR_DIRTY_NLINK 0x00000100
#define IOFUNC_ATTR_DIRTY_RDEV  0x00000200

/* An open: its attribute, open flags (_IO_FLAG_RD/_IO_FLAG_WR and the
 * other O_* flags) and offset. */
typedef struct _iofunc_ocb {
    IOFUNC_ATTR_T *attr;
    int32_t ioflag;
    off_t offset;
    uint16_t sflag;
    uint16_t flags;
    void *reserved;
} iofunc_ocb_t;

/* The open's client, as iofunc_client_info() reports it. */
typedef struct _client_info iofunc_client_info_t;

/* Armed notifications (select/poll): one list per condition. */
typedef struct _iofunc_notify_event {
    struct _iofunc_notify_event *next;
    int rcvid;
    int scoid;
    int coid;
    int cnt;
    struct sigevent event;
    int flags;
} iofunc_notify_event_t;

typedef struct _iofunc_notify {
    int cnt;
    iofunc_notify_event_t *list;
} iofunc_notify_t;

#define IOFUNC_NOTIFY_INPUT  0
#define IOFUNC_NOTIFY_OUTPUT 1
#define IOFUNC_NOTIFY_OBAND  2
#define IOFUNC_NOTIFY_INIT(_nop) \
    ((_nop)[0].cnt = (_nop)[1].cnt = (_nop)[2].cnt = 0, \
     (_nop)[0].list = (_nop)[1].list = (_nop)[2].list = NULL)

/* Fills the handler tables with the defaults (open, read, write, stat,
 * lseek, chmod, chown, devctl, notify, close, unblock, ...; NULL for the
 * rest, space included: ENOSYS). */
void iofunc_func_init(unsigned __nconnect, resmgr_connect_funcs_t *__connect, unsigned __nio,
                      resmgr_io_funcs_t *__io);
/* An attribute with mode (S_IFCHR | 0666 ...), owned by the process's
 * effective ids (or dattr's or info's), its times now, a fresh inode. */
void iofunc_attr_init(iofunc_attr_t *__attr, mode_t __mode, iofunc_attr_t *__dattr,
                      iofunc_client_info_t *__info);
/* Sets the times the flags ask for to now. */
int iofunc_time_update(iofunc_attr_t *__attr);
/* The attribute lock, which the framework holds around each I/O handler
 * (recursive per thread). */
int iofunc_attr_lock(iofunc_attr_t *__attr);
int iofunc_attr_trylock(iofunc_attr_t *__attr);
int iofunc_attr_unlock(iofunc_attr_t *__attr);

/* The credentials of ctp's client (ioflag unused). */
int iofunc_client_info(resmgr_context_t *__ctp, int __ioflag, iofunc_client_info_t *__info);
/* EOK if the client may access attr as check (S_IREAD | S_IWRITE |
 * S_IEXEC, or S_ISUID / S_ISGID for ownership), else EACCES / EPERM. */
int iofunc_check_access(resmgr_context_t *__ctp, const iofunc_attr_t *__attr, mode_t __check,
                        const iofunc_client_info_t *__info);

/* Open: the permission checks of an open of attr (or, attr NULL, of a
 * creation in dattr), then the OCB made and bound. */
int iofunc_open(resmgr_context_t *__ctp, io_open_t *__msg, iofunc_attr_t *__attr, iofunc_attr_t *__dattr,
                iofunc_client_info_t *__info);
int iofunc_ocb_attach(resmgr_context_t *__ctp, io_open_t *__msg, iofunc_ocb_t *__ocb, iofunc_attr_t *__attr,
                      const resmgr_io_funcs_t *__io_funcs);
int iofunc_ocb_detach(resmgr_context_t *__ctp, iofunc_ocb_t *__ocb);
int iofunc_open_default(resmgr_context_t *__ctp, io_open_t *__msg, iofunc_attr_t *__attr, void *__extra);

/* Read/write: EBADF unless the OCB was opened for it; *nonblock (if not
 * NULL) says whether the client does not want to wait (the message's
 * _IO_XFLAG_NONBLOCK / _IO_XFLAG_BLOCK, else the OCB's O_NONBLOCK, which
 * fcntl(F_SETFL) may have set). A pread/pwrite (xtype _IO_XTYPE_OFFSET)
 * reaches the handler with its struct _xtype_offset present (else the
 * framework answers EBADMSG) and at least 0 (else EINVAL); as on QNX the
 * handler takes the position from after msg->i, leaves ocb->offset
 * alone, and finds a pwrite's data after the offset (examples/c/
 * filestore.c); a handler without positions answers ENOSYS. */
int iofunc_read_verify(resmgr_context_t *__ctp, io_read_t *__msg, iofunc_ocb_t *__ocb, int *__nonblock);
int iofunc_write_verify(resmgr_context_t *__ctp, io_write_t *__msg, iofunc_ocb_t *__ocb, int *__nonblock);
int iofunc_read_default(resmgr_context_t *__ctp, io_read_t *__msg, iofunc_ocb_t *__ocb);
int iofunc_write_default(resmgr_context_t *__ctp, io_write_t *__msg, iofunc_ocb_t *__ocb);

/* Stat: fills st from attr. */
int iofunc_stat(resmgr_context_t *__ctp, iofunc_attr_t *__attr, struct stat *__st);
int iofunc_stat_default(resmgr_context_t *__ctp, io_stat_t *__msg, iofunc_ocb_t *__ocb);
int iofunc_lseek(resmgr_context_t *__ctp, io_lseek_t *__msg, iofunc_ocb_t *__ocb, iofunc_attr_t *__attr);
int iofunc_lseek_default(resmgr_context_t *__ctp, io_lseek_t *__msg, iofunc_ocb_t *__ocb);
/* Space (ftruncate, F_FREESP, F_ALLOCSP): EBADF unless the OCB was opened
 * for writing, EINVAL for a subtype other than F_ALLOCSP/F_FREESP (or
 * their 64 forms); *nonblock as for write. There is no default handler:
 * a server that does not set io_funcs.space answers ENOSYS. */
int iofunc_space_verify(resmgr_context_t *__ctp, io_space_t *__msg, iofunc_ocb_t *__ocb, int *__nonblock);
/* chmod/chown (any open): the owner or root may chmod (S_ISGID dropped
 * for an owner outside the file's group); root may chown, the owner may
 * only change the group to one it is in (the set-id bits then go); -1
 * leaves an id; else EPERM. Both mark ctime. */
int iofunc_chmod_default(resmgr_context_t *__ctp, io_chmod_t *__msg, iofunc_ocb_t *__ocb);
int iofunc_chown_default(resmgr_context_t *__ctp, io_chown_t *__msg, iofunc_ocb_t *__ocb);
/* Devctl: DCMD_ALL_GETFLAGS / SETFLAGS, else _RESMGR_DEFAULT (ENOSYS). */
int iofunc_devctl_default(resmgr_context_t *__ctp, io_devctl_t *__msg, iofunc_ocb_t *__ocb);
int iofunc_devctl(resmgr_context_t *__ctp, io_devctl_t *__msg, iofunc_ocb_t *__ocb, iofunc_attr_t *__attr);
/* Close: the open counts down, the OCB freed. */
int iofunc_close_ocb(resmgr_context_t *__ctp, iofunc_ocb_t *__ocb, iofunc_attr_t *__attr);
int iofunc_close_ocb_default(resmgr_context_t *__ctp, void *__reserved, iofunc_ocb_t *__ocb);
int iofunc_close_dup_default(resmgr_context_t *__ctp, io_close_t *__msg, iofunc_ocb_t *__ocb);
int iofunc_lock_ocb_default(resmgr_context_t *__ctp, void *__reserved, iofunc_ocb_t *__ocb);
int iofunc_unlock_ocb_default(resmgr_context_t *__ctp, void *__reserved, iofunc_ocb_t *__ocb);
/* Unblock: _RESMGR_DEFAULT, after which the framework answers the
 * unblocked client EINTR if its message is still held. */
int iofunc_unblock_default(resmgr_context_t *__ctp, io_pulse_t *__msg, iofunc_ocb_t *__ocb);
int iofunc_unblock(resmgr_context_t *__ctp, iofunc_attr_t *__attr);

/* Notify (select/poll): trig holds the _NOTIFY_COND_* that hold now;
 * nop is 3 lists (input, output, out-of-band). Polls answer at once;
 * arming actions keep the client's event until iofunc_notify_trigger()
 * delivers it. Returns what the handler returns. */
int iofunc_notify(resmgr_context_t *__ctp, io_notify_t *__msg, iofunc_notify_t *__nop, int __trig,
                  const int *__notifycounts, int *__armed);
void iofunc_notify_trigger(iofunc_notify_t *__nop, int __count, int __index);
void iofunc_notify_remove(resmgr_context_t *__ctp, iofunc_notify_t *__nop);
/* The default notify handler (baton): input and output always ready. */
int iofunc_notify_default(resmgr_context_t *__ctp, io_notify_t *__msg, iofunc_ocb_t *__ocb);

#ifdef __cplusplus
}
#endif

#endif /* _BATON_SYS_IOFUNC_H */
