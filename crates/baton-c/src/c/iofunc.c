/*
 * The iofunc layer: attributes, OCBs and the POSIX defaults of QNX's
 * iofunc_*_default handlers (docs/RESMGR.md, section 4): permission checks
 * against the client's credentials on open, open-mode checks on read and
 * write, stat from the attribute, lseek on the OCB's offset, close, the
 * devctl flags commands, select/poll notification lists and unblock.
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int __baton_gettid(void) {
    return (int)syscall(SYS_gettid);
}

/* The defaults by their public names (framework.rs's exports), so that
 * the tables hold what a program compares them with. */
#define PUBLIC(_name) __asm__(#_name)
extern int pub_open_default(resmgr_context_t *, io_open_t *, iofunc_attr_t *, void *) PUBLIC(iofunc_open_default);
extern int pub_read_default(resmgr_context_t *, io_read_t *, iofunc_ocb_t *) PUBLIC(iofunc_read_default);
extern int pub_write_default(resmgr_context_t *, io_write_t *, iofunc_ocb_t *) PUBLIC(iofunc_write_default);
extern int pub_close_ocb_default(resmgr_context_t *, void *, iofunc_ocb_t *) PUBLIC(iofunc_close_ocb_default);
extern int pub_stat_default(resmgr_context_t *, io_stat_t *, iofunc_ocb_t *) PUBLIC(iofunc_stat_default);
extern int pub_notify_default(resmgr_context_t *, io_notify_t *, iofunc_ocb_t *) PUBLIC(iofunc_notify_default);
extern int pub_devctl_default(resmgr_context_t *, io_devctl_t *, iofunc_ocb_t *) PUBLIC(iofunc_devctl_default);
extern int pub_unblock_default(resmgr_context_t *, io_pulse_t *, iofunc_ocb_t *) PUBLIC(iofunc_unblock_default);
extern int pub_lseek_default(resmgr_context_t *, io_lseek_t *, iofunc_ocb_t *) PUBLIC(iofunc_lseek_default);
extern int pub_chmod_default(resmgr_context_t *, io_chmod_t *, iofunc_ocb_t *) PUBLIC(iofunc_chmod_default);
extern int pub_chown_default(resmgr_context_t *, io_chown_t *, iofunc_ocb_t *) PUBLIC(iofunc_chown_default);
extern int pub_close_dup_default(resmgr_context_t *, io_close_t *, iofunc_ocb_t *) PUBLIC(iofunc_close_dup_default);
extern int pub_lock_ocb_default(resmgr_context_t *, void *, iofunc_ocb_t *) PUBLIC(iofunc_lock_ocb_default);
extern int pub_unlock_ocb_default(resmgr_context_t *, void *, iofunc_ocb_t *) PUBLIC(iofunc_unlock_ocb_default);

void iofunc_func_init(unsigned nconnect, resmgr_connect_funcs_t *connect, unsigned nio, resmgr_io_funcs_t *io) {
    if (connect != NULL) {
        unsigned n = nconnect < _RESMGR_CONNECT_NFUNCS ? nconnect : _RESMGR_CONNECT_NFUNCS;
        memset(connect, 0, sizeof *connect);
        connect->nfuncs = n;
        if (n >= 1) connect->open = pub_open_default;
    }
    if (io != NULL) {
        unsigned n = nio < _RESMGR_IO_NFUNCS ? nio : _RESMGR_IO_NFUNCS;
        memset(io, 0, sizeof *io);
        io->nfuncs = n;
        /* Each default only where the table the caller has room for it. */
        if (n > 0) io->read = pub_read_default;
        if (n > 1) io->write = pub_write_default;
        if (n > 2) io->close_ocb = pub_close_ocb_default;
        if (n > 3) io->stat = pub_stat_default;
        if (n > 4) io->notify = pub_notify_default;
        if (n > 5) io->devctl = pub_devctl_default;
        if (n > 6) io->unblock = pub_unblock_default;
        if (n > 8) io->lseek = pub_lseek_default;
        if (n > 9) io->chmod = pub_chmod_default;
        if (n > 10) io->chown = pub_chown_default;
        if (n > 21) io->close_dup = pub_close_dup_default;
        if (n > 22) io->lock_ocb = pub_lock_ocb_default;
        if (n > 23) io->unlock_ocb = pub_unlock_ocb_default;
    }
}

static pthread_mutex_t inode_lock = PTHREAD_MUTEX_INITIALIZER;
static ino_t next_inode = 1;

void iofunc_attr_init(iofunc_attr_t *attr, mode_t mode, iofunc_attr_t *dattr, iofunc_client_info_t *info) {
    memset(attr, 0, sizeof *attr);
    attr->mode = mode;
    attr->nlink = S_ISDIR(mode) ? 2 : 1;
    if (info != NULL) {
        attr->uid = info->cred.euid;
        attr->gid = info->cred.egid;
    } else if (dattr != NULL) {
        attr->uid = dattr->uid;
        attr->gid = dattr->gid;
    } else {
        attr->uid = geteuid();
        attr->gid = getegid();
    }
    if (dattr != NULL) attr->mount = dattr->mount;
    attr->atime = attr->mtime = attr->ctime = time(NULL);
    pthread_mutex_lock(&inode_lock);
    attr->inode = next_inode++;
    pthread_mutex_unlock(&inode_lock);
}

int iofunc_time_update(iofunc_attr_t *attr) {
    uint32_t want = attr->flags & (IOFUNC_ATTR_ATIME | IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME);
    if (want == 0) return EOK;
    time_t now = time(NULL);
    if (want & IOFUNC_ATTR_ATIME) attr->atime = now;
    if (want & IOFUNC_ATTR_MTIME) attr->mtime = now;
    if (want & IOFUNC_ATTR_CTIME) attr->ctime = now;
    attr->flags = (attr->flags & ~want) | IOFUNC_ATTR_DIRTY_TIME;
    return EOK;
}

/* The attribute locks: one mutex and condition for all of them (a lock is
 * held for one handler's length), recursive per thread as QNX's. */
static pthread_mutex_t attr_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t attr_cond = PTHREAD_COND_INITIALIZER;

static int attr_lock(iofunc_attr_t *attr, int wait) {
    int me = __baton_gettid();
    pthread_mutex_lock(&attr_mutex);
    while (attr->lock_count != 0 && attr->lock_tid != me) {
        if (!wait) {
            pthread_mutex_unlock(&attr_mutex);
            return EBUSY;
        }
        pthread_cond_wait(&attr_cond, &attr_mutex);
    }
    attr->lock_tid = me;
    attr->lock_count++;
    pthread_mutex_unlock(&attr_mutex);
    return EOK;
}

int iofunc_attr_lock(iofunc_attr_t *attr) {
    return attr_lock(attr, 1);
}

int iofunc_attr_trylock(iofunc_attr_t *attr) {
    return attr_lock(attr, 0);
}

int iofunc_attr_unlock(iofunc_attr_t *attr) {
    pthread_mutex_lock(&attr_mutex);
    if (attr->lock_count == 0 || attr->lock_tid != __baton_gettid()) {
        pthread_mutex_unlock(&attr_mutex);
        return EPERM;
    }
    if (--attr->lock_count == 0) {
        attr->lock_tid = 0;
        pthread_cond_broadcast(&attr_cond);
    }
    pthread_mutex_unlock(&attr_mutex);
    return EOK;
}

int iofunc_lock_ocb_default(resmgr_context_t *ctp, void *reserved, iofunc_ocb_t *ocb) {
    (void)ctp, (void)reserved;
    return iofunc_attr_lock(ocb->attr);
}

int iofunc_unlock_ocb_default(resmgr_context_t *ctp, void *reserved, iofunc_ocb_t *ocb) {
    (void)ctp, (void)reserved;
    return iofunc_attr_unlock(ocb->attr);
}

int iofunc_client_info(resmgr_context_t *ctp, int ioflag, iofunc_client_info_t *info) {
    (void)ioflag;
    if (ConnectClientInfo(ctp->info.scoid, info, 8) == -1) return errno;
    return EOK;
}

int iofunc_check_access(resmgr_context_t *ctp, const iofunc_attr_t *attr, mode_t check,
                        const iofunc_client_info_t *info) {
    iofunc_client_info_t own;
    if (info == NULL) {
        int st = iofunc_client_info(ctp, 0, &own);
        if (st != EOK) return st;
        info = &own;
    }
    uid_t uid = info->cred.euid;
    if (check & (S_ISUID | S_ISGID)) {
        /* Ownership: the owner or root. */
        if (uid != 0 && uid != attr->uid) return EPERM;
        check &= ~(mode_t)(S_ISUID | S_ISGID);
    }
    check &= S_IRUSR | S_IWUSR | S_IXUSR;
    if (check == 0) return EOK;
    if (uid == 0) {
        /* Root reads and writes anything, and executes what anyone may. */
        if ((check & S_IXUSR) && !(attr->mode & (S_IXUSR | S_IXGRP | S_IXOTH)) && !S_ISDIR(attr->mode))
            return EACCES;
        return EOK;
    }
    mode_t have;
    if (uid == attr->uid) {
        have = attr->mode & S_IRWXU;
    } else {
        int member = info->cred.egid == attr->gid;
        for (uint32_t i = 0; i < info->cred.ngroups && i < 8 && !member; i++)
            member = info->cred.grouplist[i] == attr->gid;
        have = member ? (mode_t)((attr->mode & S_IRWXG) << 3) : (mode_t)((attr->mode & S_IRWXO) << 6);
    }
    return (have & check) == check ? EOK : EACCES;
}

int iofunc_open(resmgr_context_t *ctp, io_open_t *msg, iofunc_attr_t *attr, iofunc_attr_t *dattr,
                iofunc_client_info_t *info) {
    uint32_t ioflag = msg->connect.ioflag;
    if (attr != NULL) {
        if ((ioflag & O_CREAT) && (ioflag & O_EXCL)) return EEXIST;
        if (S_ISDIR(attr->mode) && (ioflag & _IO_FLAG_WR)) return EISDIR;
        mode_t check = 0;
        if (ioflag & _IO_FLAG_RD) check |= S_IRUSR;
        if (ioflag & _IO_FLAG_WR) check |= S_IWUSR;
        return iofunc_check_access(ctp, attr, check, info);
    }
    if (dattr != NULL) {
        if (!(ioflag & O_CREAT)) return ENOENT;
        return iofunc_check_access(ctp, dattr, S_IWUSR | S_IXUSR, info);
    }
    return ENOENT;
}

int iofunc_ocb_attach(resmgr_context_t *ctp, io_open_t *msg, iofunc_ocb_t *ocb, iofunc_attr_t *attr,
                      const resmgr_io_funcs_t *io_funcs) {
    int made = 0;
    if (ocb == NULL) {
        iofunc_funcs_t *f = attr->mount != NULL ? attr->mount->funcs : NULL;
        if (f != NULL && f->nfuncs >= 1 && f->ocb_calloc != NULL)
            ocb = f->ocb_calloc(ctp, attr);
        else
            ocb = (iofunc_ocb_t *)calloc(1, sizeof *ocb);
        if (ocb == NULL) return ENOMEM;
        made = 1;
    }
    ocb->attr = attr;
    ocb->ioflag = (int32_t)msg->connect.ioflag;
    ocb->sflag = msg->connect.sflag;
    ocb->offset = 0;
    if (resmgr_open_bind(ctp, ocb, io_funcs) == -1) {
        int e = errno;
        if (made) {
            iofunc_funcs_t *f = attr->mount != NULL ? attr->mount->funcs : NULL;
            if (f != NULL && f->nfuncs >= 2 && f->ocb_free != NULL)
                f->ocb_free(ocb);
            else
                free(ocb);
        }
        return e;
    }
    attr->count++;
    if (ocb->ioflag & _IO_FLAG_RD) attr->rcount++;
    if (ocb->ioflag & _IO_FLAG_WR) attr->wcount++;
    return EOK;
}

int iofunc_ocb_detach(resmgr_context_t *ctp, iofunc_ocb_t *ocb) {
    (void)ctp;
    iofunc_attr_t *attr = ocb->attr;
    if (attr->count) attr->count--;
    if ((ocb->ioflag & _IO_FLAG_RD) && attr->rcount) attr->rcount--;
    if ((ocb->ioflag & _IO_FLAG_WR) && attr->wcount) attr->wcount--;
    return EOK;
}

int iofunc_open_default(resmgr_context_t *ctp, io_open_t *msg, iofunc_attr_t *attr, void *extra) {
    (void)extra;
    int st = iofunc_open(ctp, msg, attr, NULL, NULL);
    if (st != EOK) return st;
    return iofunc_ocb_attach(ctp, msg, NULL, attr, NULL);
}

static int nonblocking(uint32_t xtype, int32_t ioflag) {
    if (xtype & _IO_XFLAG_NONBLOCK) return 1;
    if (xtype & _IO_XFLAG_BLOCK) return 0;
    return (ioflag & O_NONBLOCK) != 0;
}

int iofunc_read_verify(resmgr_context_t *ctp, io_read_t *msg, iofunc_ocb_t *ocb, int *nonblock) {
    (void)ctp;
    if (!(ocb->ioflag & _IO_FLAG_RD)) return EBADF;
    if (nonblock != NULL) *nonblock = nonblocking(msg->i.xtype, ocb->ioflag);
    return EOK;
}

int iofunc_write_verify(resmgr_context_t *ctp, io_write_t *msg, iofunc_ocb_t *ocb, int *nonblock) {
    (void)ctp;
    if (!(ocb->ioflag & _IO_FLAG_WR)) return EBADF;
    if (nonblock != NULL) *nonblock = nonblocking(msg->i.xtype, ocb->ioflag);
    return EOK;
}

int iofunc_space_verify(resmgr_context_t *ctp, io_space_t *msg, iofunc_ocb_t *ocb, int *nonblock) {
    (void)ctp;
    if (!(ocb->ioflag & _IO_FLAG_WR)) return EBADF;
    switch (msg->i.subtype) {
    case F_ALLOCSP: case F_FREESP: case F_ALLOCSP64: case F_FREESP64: break;
    default: return EINVAL;
    }
    if (nonblock != NULL) *nonblock = nonblocking(0, ocb->ioflag);
    return EOK;
}

int iofunc_read_default(resmgr_context_t *ctp, io_read_t *msg, iofunc_ocb_t *ocb) {
    int st = iofunc_read_verify(ctp, msg, ocb, NULL);
    if (st != EOK) return st;
    _IO_SET_READ_NBYTES(ctp, 0);
    return _RESMGR_NPARTS(0);
}

int iofunc_write_default(resmgr_context_t *ctp, io_write_t *msg, iofunc_ocb_t *ocb) {
    int st = iofunc_write_verify(ctp, msg, ocb, NULL);
    if (st != EOK) return st;
    return ENOSYS;
}

int iofunc_stat(resmgr_context_t *ctp, iofunc_attr_t *attr, struct stat *st) {
    (void)ctp;
    memset(st, 0, sizeof *st);
    st->st_ino = attr->inode;
    st->st_mode = attr->mode;
    st->st_nlink = attr->nlink;
    st->st_uid = attr->uid;
    st->st_gid = attr->gid;
    st->st_rdev = attr->rdev;
    st->st_size = attr->nbytes;
    st->st_blksize = 4096;
    st->st_blocks = (blkcnt_t)((attr->nbytes + 511) / 512);
    st->st_atime = attr->atime;
    st->st_mtime = attr->mtime;
    st->st_ctime = attr->ctime;
    return EOK;
}

int iofunc_stat_default(resmgr_context_t *ctp, io_stat_t *msg, iofunc_ocb_t *ocb) {
    iofunc_time_update(ocb->attr);
    iofunc_stat(ctp, ocb->attr, &msg->o);
    return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o);
}

int iofunc_lseek(resmgr_context_t *ctp, io_lseek_t *msg, iofunc_ocb_t *ocb, iofunc_attr_t *attr) {
    (void)ctp;
    int64_t off = (int64_t)msg->i.offset, base;
    switch (msg->i.whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = ocb->offset; break;
    case SEEK_END: base = attr->nbytes; break;
    default: return EINVAL;
    }
    if ((off > 0 && base > INT64_MAX - off) || base + off < 0) return EINVAL;
    ocb->offset = (off_t)(base + off);
    msg->o = (uint64_t)ocb->offset;
    return EOK;
}

int iofunc_lseek_default(resmgr_context_t *ctp, io_lseek_t *msg, iofunc_ocb_t *ocb) {
    int st = iofunc_lseek(ctp, msg, ocb, ocb->attr);
    if (st != EOK) return st;
    return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o);
}

/* Whether info's client is in group gid (its effective group or one of
 * its supplementary ones). */
static int in_group(const iofunc_client_info_t *info, gid_t gid) {
    if (info->cred.egid == gid) return 1;
    for (uint32_t i = 0; i < info->cred.ngroups && i < 8; i++)
        if (info->cred.grouplist[i] == gid) return 1;
    return 0;
}

/* chmod as POSIX has it (docs/RESMGR.md, section 4): the owner or root
 * (else EPERM); the permission, set-id and sticky bits become the
 * message's, the type stays; S_ISGID is dropped for a client other than
 * root outside the file's group; ctime is marked. */
int iofunc_chmod_default(resmgr_context_t *ctp, io_chmod_t *msg, iofunc_ocb_t *ocb) {
    iofunc_client_info_t info;
    int st = iofunc_client_info(ctp, 0, &info);
    if (st != EOK) return st;
    iofunc_attr_t *attr = ocb->attr;
    if (info.cred.euid != 0 && info.cred.euid != attr->uid) return EPERM;
    mode_t bits = msg->i.mode & 07777;
    if (info.cred.euid != 0 && !in_group(&info, attr->gid)) bits &= ~(mode_t)S_ISGID;
    attr->mode = (attr->mode & S_IFMT) | bits;
    attr->flags |= IOFUNC_ATTR_CTIME | IOFUNC_ATTR_DIRTY_MODE;
    return EOK;
}

/* chown as POSIX has it with _POSIX_CHOWN_RESTRICTED: root sets any ids;
 * the owner may keep the owner and set the group to one it is in; else
 * EPERM. -1 leaves an id as it is. A change by other than root clears
 * S_ISUID and S_ISGID; ctime is marked. */
int iofunc_chown_default(resmgr_context_t *ctp, io_chown_t *msg, iofunc_ocb_t *ocb) {
    iofunc_client_info_t info;
    int st = iofunc_client_info(ctp, 0, &info);
    if (st != EOK) return st;
    iofunc_attr_t *attr = ocb->attr;
    int keep_uid = msg->i.uid == -1, keep_gid = msg->i.gid == -1;
    if (info.cred.euid != 0) {
        if (info.cred.euid != attr->uid || (!keep_uid && (uid_t)msg->i.uid != attr->uid)) return EPERM;
        if (!keep_gid && (gid_t)msg->i.gid != attr->gid && !in_group(&info, (gid_t)msg->i.gid)) return EPERM;
        attr->mode &= ~(mode_t)(S_ISUID | S_ISGID);
    }
    if (!keep_uid) attr->uid = (uid_t)msg->i.uid;
    if (!keep_gid) attr->gid = (gid_t)msg->i.gid;
    attr->flags |= IOFUNC_ATTR_CTIME | IOFUNC_ATTR_DIRTY_OWNER;
    return EOK;
}

int iofunc_devctl(resmgr_context_t *ctp, io_devctl_t *msg, iofunc_ocb_t *ocb, iofunc_attr_t *attr) {
    (void)attr;
    int dcmd = msg->i.dcmd;
    if (dcmd == DCMD_ALL_GETFLAGS) {
        /* The open flags with the access mode as O_RDONLY... has it. */
        int flags = (ocb->ioflag & ~_IO_FLAG_MASK) | ((ocb->ioflag & _IO_FLAG_MASK) - 1);
        memset(&msg->o, 0, sizeof msg->o);
        memcpy(_DEVCTL_DATA(msg->o), &flags, sizeof flags);
        msg->o.nbytes = sizeof flags;
        return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o + sizeof flags);
    }
    if (dcmd == DCMD_ALL_SETFLAGS) {
        int flags;
        if ((size_t)ctp->size < sizeof msg->i + sizeof flags) return EBADMSG;
        memcpy(&flags, _DEVCTL_DATA(msg->i), sizeof flags);
        int changeable = O_NONBLOCK | O_APPEND;
        ocb->ioflag = (ocb->ioflag & ~changeable) | (flags & changeable);
        memset(&msg->o, 0, sizeof msg->o);
        return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o);
    }
    return _RESMGR_DEFAULT;
}

int iofunc_devctl_default(resmgr_context_t *ctp, io_devctl_t *msg, iofunc_ocb_t *ocb) {
    return iofunc_devctl(ctp, msg, ocb, ocb->attr);
}

int iofunc_close_ocb(resmgr_context_t *ctp, iofunc_ocb_t *ocb, iofunc_attr_t *attr) {
    (void)attr;
    iofunc_ocb_detach(ctp, ocb);
    iofunc_funcs_t *f = ocb->attr->mount != NULL ? ocb->attr->mount->funcs : NULL;
    if (f != NULL && f->nfuncs >= 2 && f->ocb_free != NULL)
        f->ocb_free(ocb);
    else
        free(ocb);
    return EOK;
}

int iofunc_close_ocb_default(resmgr_context_t *ctp, void *reserved, iofunc_ocb_t *ocb) {
    (void)reserved;
    return iofunc_close_ocb(ctp, ocb, ocb->attr);
}

int iofunc_close_dup_default(resmgr_context_t *ctp, io_close_t *msg, iofunc_ocb_t *ocb) {
    (void)ctp, (void)msg, (void)ocb;
    return EOK;
}

int iofunc_unblock(resmgr_context_t *ctp, iofunc_attr_t *attr) {
    (void)ctp, (void)attr;
    return _RESMGR_DEFAULT;
}

int iofunc_unblock_default(resmgr_context_t *ctp, io_pulse_t *msg, iofunc_ocb_t *ocb) {
    (void)msg;
    return iofunc_unblock(ctp, ocb->attr);
}

/* ---- Notification (select/poll). ---- */

static pthread_mutex_t notify_lock = PTHREAD_MUTEX_INITIALIZER;

static const unsigned cond_of[3] = {_NOTIFY_COND_INPUT, _NOTIFY_COND_OUTPUT, _NOTIFY_COND_OBAND};

/* Arms ctp's client's event on list nop (replacing an earlier one of the
 * same connection). */
static int arm(resmgr_context_t *ctp, iofunc_notify_t *nop, const struct sigevent *ev, int cnt) {
    iofunc_notify_event_t *e = nop->list;
    while (e != NULL && !(e->scoid == ctp->info.scoid && e->coid == ctp->info.coid)) e = e->next;
    if (e == NULL) {
        e = (iofunc_notify_event_t *)calloc(1, sizeof *e);
        if (e == NULL) return ENOMEM;
        e->next = nop->list;
        nop->list = e;
    }
    e->rcvid = ctp->rcvid;
    e->scoid = ctp->info.scoid;
    e->coid = ctp->info.coid;
    e->cnt = cnt;
    e->event = *ev;
    nop->cnt++;
    return EOK;
}

int iofunc_notify(resmgr_context_t *ctp, io_notify_t *msg, iofunc_notify_t *nop, int trig,
                  const int *notifycounts, int *armed) {
    int action = msg->i.action & _NOTIFY_ACTION_MASK;
    unsigned want = (unsigned)msg->i.flags & _NOTIFY_COND_MASK;
    unsigned have = (unsigned)trig & want;
    struct sigevent ev = msg->i.event;
    if (armed != NULL) *armed = 0;
    unsigned reply = have;
    if (action == _NOTIFY_ACTION_TRANARM || (action != _NOTIFY_ACTION_POLL && have == 0)) {
        if (action == _NOTIFY_ACTION_TRANARM) reply = 0;
        if (nop == NULL) return EINVAL;
        pthread_mutex_lock(&notify_lock);
        for (int i = 0; i < 3; i++) {
            if (want & cond_of[i]) {
                int st = arm(ctp, &nop[i], &ev, notifycounts != NULL ? notifycounts[i] : 1);
                if (st != EOK) {
                    pthread_mutex_unlock(&notify_lock);
                    return st;
                }
            }
        }
        pthread_mutex_unlock(&notify_lock);
        if (armed != NULL) *armed = 1;
    }
    memset(&msg->o, 0, sizeof msg->o);
    msg->o.flags = reply;
    return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o);
}

void iofunc_notify_trigger(iofunc_notify_t *nop, int count, int index) {
    if (index < 0 || index > 2) return;
    pthread_mutex_lock(&notify_lock);
    iofunc_notify_event_t **p = &nop[index].list;
    while (*p != NULL) {
        iofunc_notify_event_t *e = *p;
        if (e->cnt <= count) {
            *p = e->next;
            nop[index].cnt--;
            MsgDeliverEvent(e->rcvid, &e->event);
            free(e);
        } else {
            p = &e->next;
        }
    }
    pthread_mutex_unlock(&notify_lock);
}

void iofunc_notify_remove(resmgr_context_t *ctp, iofunc_notify_t *nop) {
    pthread_mutex_lock(&notify_lock);
    for (int i = 0; i < 3; i++) {
        iofunc_notify_event_t **p = &nop[i].list;
        while (*p != NULL) {
            iofunc_notify_event_t *e = *p;
            if (e->scoid == ctp->info.scoid && e->coid == ctp->info.coid) {
                *p = e->next;
                nop[i].cnt--;
                free(e);
            } else {
                p = &e->next;
            }
        }
    }
    pthread_mutex_unlock(&notify_lock);
}

int iofunc_notify_default(resmgr_context_t *ctp, io_notify_t *msg, iofunc_ocb_t *ocb) {
    (void)ocb;
    /* Always ready for input and output: nothing is ever armed. */
    unsigned want = (unsigned)msg->i.flags & _NOTIFY_COND_MASK;
    int action = msg->i.action & _NOTIFY_ACTION_MASK;
    unsigned have = want & (_NOTIFY_COND_INPUT | _NOTIFY_COND_OUTPUT);
    memset(&msg->o, 0, sizeof msg->o);
    msg->o.flags = action == _NOTIFY_ACTION_TRANARM ? 0 : have;
    return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o);
}
