/* A typical QNX resource manager, compiled unchanged: a queue device
 * (/dev/bq) with its own OCB (IOFUNC_OCB_T, made by the mount's
 * ocb_calloc), custom read (blocking until a write, held with
 * _RESMGR_NOREPLY), write, devctl, notify (iofunc_notify), unblock and
 * close handlers, a message_attach() range and a pulse_attach()'ed code,
 * served by a thread pool. Clients in other processes drive it with
 * baton/posix.h and devctl(): read/write, a read released by a later
 * write, a read released by the client's timeout (the unblock pulse), a
 * non-blocking read, devctl in every direction, stat, poll and an armed
 * notification, EACCES for another user (as root), a client's death
 * closing its opens, the pool growing past lo_water and shrinking to
 * hi_water, the framework's EBADF/EBADMSG/ENOSYS answers (malformed
 * pread, chmod, chown messages included), and the pool's
 * shutdown. */
struct bq_ocb;
#define IOFUNC_OCB_T struct bq_ocb
#include "t.h"
#include <grp.h>
#include <sys/iofunc.h>
#include <sys/stat.h>
#include <devctl.h>
/* The calls by their baton_ names: the server's handler tables have
 * members named read, write... that the macros would rename. */
#define BATON_POSIX_NO_MACROS
#include <baton/posix.h>

struct bq_ocb {
    iofunc_ocb_t hdr;
    pid_t pid; /* the client that opened it */
};

#define DCMD_BQ_SET_TAG    __DIOT(_DCMD_MISC, 1, int)
#define DCMD_BQ_SWAP       __DIOTF(_DCMD_MISC, 2, int)
#define DCMD_BQ_CLOSES_OF  __DIOTF(_DCMD_MISC, 3, int)
#define DCMD_BQ_PULSE      __DIOF(_DCMD_MISC, 4, int)
#define DCMD_BQ_HOLD       __DION(_DCMD_MISC, 5)
#define DCMD_BQ_COUNTS     __DIOF(_DCMD_MISC, 6, struct counts)
#define HOLDERS 3
#define LO_WATER 2
#define HI_WATER 3

struct counts { int threads, waiting; };

/* Pipes: the server's go-ahead to each other process, what the client
 * needs to know, and the client's turns with its helpers. */
static struct chan_pipe ready, to_client, to_reader, from_reader, to_dier, from_dier, to_server;
static int nwaiting; /* processes that wait for the server's go-ahead */

/* ---- The server. ---- */

static resmgr_connect_funcs_t connect_funcs;
static resmgr_io_funcs_t io_funcs;
static iofunc_attr_t attr;
static iofunc_mount_t mount;
static iofunc_funcs_t ocb_funcs;
static iofunc_notify_t notify[3];
static thread_pool_t *pool;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static char queue[4096];
static size_t qlen;
struct waiter { int rcvid; int nbytes; };
static struct waiter waiters[16];
static int nwaiters;
static int tag, last_pulse = -1, holders;
static struct { pid_t pid; int closes; } closed[16];
static int nclosed;

static struct bq_ocb *ocb_calloc(resmgr_context_t *ctp, iofunc_attr_t *a) {
    (void)a;
    struct bq_ocb *o = (struct bq_ocb *)calloc(1, sizeof *o);
    if (o != NULL) o->pid = ctp->info.pid;
    return o;
}

static void ocb_free(struct bq_ocb *o) {
    free(o);
}

/* Takes up to n queued bytes into out; how many. */
static size_t take(char *out, size_t n) {
    if (n > qlen) n = qlen;
    memcpy(out, queue, n);
    memmove(queue, queue + n, qlen - n);
    qlen -= n;
    return n;
}

static int io_read(resmgr_context_t *ctp, io_read_t *msg, RESMGR_OCB_T *ocb) {
    int nonblock, status = iofunc_read_verify(ctp, msg, &ocb->hdr, &nonblock);
    if (status != EOK) return status;
    if ((msg->i.xtype & _IO_XTYPE_MASK) != _IO_XTYPE_NONE) return ENOSYS;
    pthread_mutex_lock(&mu);
    if (qlen == 0) {
        if (nonblock || nwaiters == 16) {
            pthread_mutex_unlock(&mu);
            return EAGAIN;
        }
        waiters[nwaiters].rcvid = ctp->rcvid;
        waiters[nwaiters].nbytes = _IO_READ_GET_NBYTES(msg);
        nwaiters++;
        pthread_mutex_unlock(&mu);
        return _RESMGR_NOREPLY; /* answered by a write, or unblocked */
    }
    char buf[sizeof queue];
    size_t n = take(buf, (size_t)_IO_READ_GET_NBYTES(msg));
    pthread_mutex_unlock(&mu);
    _IO_SET_READ_NBYTES(ctp, n);
    return resmgr_msgreply(ctp, buf, n) == -1 ? errno : _RESMGR_NOREPLY;
}

static int io_write(resmgr_context_t *ctp, io_write_t *msg, RESMGR_OCB_T *ocb) {
    int status = iofunc_write_verify(ctp, msg, &ocb->hdr, NULL);
    if (status != EOK) return status;
    size_t n = (size_t)_IO_WRITE_GET_NBYTES(msg);
    pthread_mutex_lock(&mu);
    if (n > sizeof queue - qlen) {
        pthread_mutex_unlock(&mu);
        return ENOSPC;
    }
    if (resmgr_msgread(ctp, queue + qlen, n, sizeof msg->i) != (ssize_t)n) {
        pthread_mutex_unlock(&mu);
        return EFAULT;
    }
    qlen += n;
    /* Blocked readers first, oldest first. */
    while (qlen > 0 && nwaiters > 0) {
        struct waiter w = waiters[0];
        memmove(waiters, waiters + 1, (size_t)--nwaiters * sizeof *waiters);
        char buf[sizeof queue];
        size_t got = take(buf, (size_t)w.nbytes);
        if (MsgReply(w.rcvid, (long)got, buf, got) == -1) {
            /* Gone meanwhile: the bytes go back. */
            memmove(queue + got, queue, qlen);
            memcpy(queue, buf, got);
            qlen += got;
        }
    }
    if (qlen > 0) iofunc_notify_trigger(notify, (int)qlen, IOFUNC_NOTIFY_INPUT);
    pthread_mutex_unlock(&mu);
    _IO_SET_WRITE_NBYTES(ctp, n);
    return _RESMGR_NPARTS(0);
}

/* A client blocked in read timed out: forget its rcvid; the framework
 * then answers it EINTR. */
static int io_unblock(resmgr_context_t *ctp, io_pulse_t *msg, RESMGR_OCB_T *ocb) {
    (void)ctp, (void)ocb;
    pthread_mutex_lock(&mu);
    for (int i = 0; i < nwaiters; i++) {
        if (waiters[i].rcvid == msg->value.sival_int) {
            memmove(waiters + i, waiters + i + 1, (size_t)(nwaiters - i - 1) * sizeof *waiters);
            nwaiters--;
            break;
        }
    }
    pthread_mutex_unlock(&mu);
    return _RESMGR_DEFAULT;
}

static int io_notify(resmgr_context_t *ctp, io_notify_t *msg, RESMGR_OCB_T *ocb) {
    (void)ocb;
    pthread_mutex_lock(&mu);
    int trig = (int)_NOTIFY_COND_OUTPUT | (qlen > 0 ? (int)_NOTIFY_COND_INPUT : 0);
    int r = iofunc_notify(ctp, msg, notify, trig, NULL, NULL);
    pthread_mutex_unlock(&mu);
    return r;
}

static int io_devctl(resmgr_context_t *ctp, io_devctl_t *msg, RESMGR_OCB_T *ocb) {
    int status = iofunc_devctl_default(ctp, msg, &ocb->hdr);
    if (status != _RESMGR_DEFAULT) return status;
    void *data = _DEVCTL_DATA(msg->i);
    int v, nbytes = 0, ret = 0;
    struct counts c;
    switch (msg->i.dcmd) {
    case DCMD_BQ_SET_TAG:
        memcpy(&tag, data, sizeof tag);
        break;
    case DCMD_BQ_SWAP:
        memcpy(&v, data, sizeof v);
        v += tag;
        memcpy(data, &v, sizeof v);
        nbytes = sizeof v;
        ret = 42;
        break;
    case DCMD_BQ_CLOSES_OF:
        memcpy(&v, data, sizeof v);
        pthread_mutex_lock(&mu);
        {
            int n = 0;
            for (int i = 0; i < nclosed; i++)
                if (closed[i].pid == v) n = closed[i].closes;
            v = n;
        }
        pthread_mutex_unlock(&mu);
        memcpy(data, &v, sizeof v);
        nbytes = sizeof v;
        break;
    case DCMD_BQ_PULSE:
        pthread_mutex_lock(&mu);
        v = last_pulse;
        pthread_mutex_unlock(&mu);
        memcpy(data, &v, sizeof v);
        nbytes = sizeof v;
        break;
    case DCMD_BQ_HOLD:
        /* Returns once HOLDERS clients hold at the same time: only a pool
         * that grows past lo_water gets there. */
        pthread_mutex_lock(&mu);
        holders++;
        pthread_cond_broadcast(&cv);
        while (holders < HOLDERS) pthread_cond_wait(&cv, &mu);
        pthread_mutex_unlock(&mu);
        break;
    case DCMD_BQ_COUNTS:
        thread_pool_counts(pool, &c.threads, &c.waiting);
        memcpy(data, &c, sizeof c);
        nbytes = sizeof c;
        break;
    default:
        return ENOSYS;
    }
    memset(&msg->o, 0, sizeof msg->o);
    msg->o.ret_val = ret;
    msg->o.nbytes = nbytes;
    return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o + (size_t)nbytes);
}

static int io_close_ocb(resmgr_context_t *ctp, void *reserved, RESMGR_OCB_T *ocb) {
    pthread_mutex_lock(&mu);
    int i = 0;
    while (i < nclosed && closed[i].pid != ocb->pid) i++;
    if (i == nclosed && nclosed < 16) closed[nclosed++].pid = ocb->pid;
    if (i < 16) closed[i].closes++;
    pthread_mutex_unlock(&mu);
    return iofunc_close_ocb_default(ctp, reserved, &ocb->hdr);
}

static int on_pulse(message_context_t *ctp, int code, unsigned flags, void *handle) {
    (void)code, (void)flags, (void)handle;
    pthread_mutex_lock(&mu);
    last_pulse = ctp->msg->pulse.value.sival_int;
    pthread_mutex_unlock(&mu);
    return 0;
}

static int on_private(message_context_t *ctp, int type, unsigned flags, void *handle) {
    (void)flags, (void)handle;
    MsgReply(ctp->rcvid, type + 1, NULL, 0);
    return 0;
}

static void server(void) {
    dispatch_t *dpp = dispatch_create();
    CHECK(dpp != NULL);
    resmgr_attr_t rattr;
    memset(&rattr, 0, sizeof rattr);
    rattr.nparts_max = 2;
    rattr.msg_max_size = 1024;
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &connect_funcs, _RESMGR_IO_NFUNCS, &io_funcs);
    io_funcs.read = io_read;
    io_funcs.write = io_write;
    io_funcs.devctl = io_devctl;
    io_funcs.notify = io_notify;
    io_funcs.unblock = io_unblock;
    io_funcs.close_ocb = io_close_ocb;
    /* The device locks what it shares itself (HOLD waits in a handler). */
    io_funcs.lock_ocb = NULL;
    io_funcs.unlock_ocb = NULL;
    ocb_funcs.nfuncs = _IOFUNC_NFUNCS;
    ocb_funcs.ocb_calloc = ocb_calloc;
    ocb_funcs.ocb_free = ocb_free;
    mount.funcs = &ocb_funcs;
    iofunc_attr_init(&attr, S_IFCHR | 0604, NULL, NULL);
    attr.mount = &mount;
    IOFUNC_NOTIFY_INIT(notify);
    int id = resmgr_attach(dpp, &rattr, "/dev/bq", _FTYPE_ANY, 0, &connect_funcs, &io_funcs, &attr);
    CHECK(id != -1);
    CHECK(message_attach(dpp, NULL, 0x2000, 0x20ff, on_private, NULL) == 0);
    int code = pulse_attach(dpp, MSG_FLAG_ALLOC_PULSE, 0, on_pulse, NULL);
    CHECK(code == _PULSE_CODE_MAXAVAIL);
    CHECK_ERR(pulse_attach(dpp, 0, code, on_pulse, NULL), EBUSY);

    thread_pool_attr_t pattr;
    memset(&pattr, 0, sizeof pattr);
    pattr.handle = dpp;
    pattr.context_alloc = dispatch_context_alloc;
    pattr.block_func = dispatch_block;
    pattr.unblock_func = dispatch_unblock;
    pattr.handler_func = dispatch_handler;
    pattr.context_free = dispatch_context_free;
    pattr.lo_water = LO_WATER;
    pattr.hi_water = HI_WATER;
    pattr.increment = 1;
    pattr.maximum = 10;
    pool = thread_pool_create(&pattr, 0);
    CHECK(pool != NULL);
    CHECK(thread_pool_start(pool) == 0);

    /* Other users reach the runtime directory (made 0700 for root). */
    CHECK(chmod(getenv("BATON_RUNTIME_DIR"), 01777) == 0);
    t_put(to_client, getpid());
    t_put(to_client, _dispatch_chid(dpp));
    t_put(to_client, code);
    for (int i = 0; i < nwaiting; i++) t_put(ready, 1);

    CHECK(t_get(to_server) == 1); /* the client is done */
    CHECK(thread_pool_destroy(pool) == 0);
    CHECK(resmgr_detach(dpp, id, _RESMGR_DETACH_ALL) == 0);
    CHECK(dispatch_destroy(dpp) == 0);
}

/* ---- The clients. ---- */

static int open_bq(int oflag) {
    int fd = baton_open("/dev/bq", oflag);
    CHECK(fd >= 0);
    return fd;
}

static int dev_int(int fd, int dcmd, int v, int *info) {
    CHECK(devctl(fd, dcmd, &v, sizeof v, info) == EOK);
    return v;
}

/* Opens, reads (blocking until the client writes), checks the data. */
static void reader(void) {
    t_get(ready);
    t_get(to_reader);
    int fd = open_bq(O_RDONLY);
    t_put(from_reader, 1);
    char buf[8];
    CHECK(baton_read(fd, buf, sizeof buf) == 3 && memcmp(buf, "xyz", 3) == 0);
    CHECK(baton_close(fd) == 0);
    t_put(from_reader, 2);
}

/* Opens twice and exits without closing: the server closes both. */
static void dier(void) {
    t_get(ready);
    t_get(to_dier);
    open_bq(O_RDONLY);
    open_bq(O_WRONLY);
    t_put(from_dier, getpid());
    _exit(0);
}

static void holder(void) {
    t_get(ready);
    int fd = open_bq(O_RDONLY);
    CHECK(devctl(fd, DCMD_BQ_HOLD, NULL, 0, NULL) == EOK);
    CHECK(baton_close(fd) == 0);
}

/* Another user: may open for reading (0604), not for writing. */
static void other_user(void) {
    t_get(ready);
    CHECK(setgroups(0, NULL) == 0 && setgid(4242) == 0 && setuid(4242) == 0);
    int fd = baton_open("/dev/bq", O_RDONLY);
    CHECK(fd >= 0);
    CHECK(baton_close(fd) == 0);
    CHECK_ERR(baton_open("/dev/bq", O_WRONLY), EACCES);
    CHECK_ERR(baton_open("/dev/bq", O_RDWR), EACCES);
}

static void client(void) {
    t_get(ready);
    int spid = t_get(to_client), schid = t_get(to_client), code = t_get(to_client);
    int fd = open_bq(O_RDWR);
    char buf[64];

    /* Write, then read back; nothing left: a non-blocking read fails. */
    CHECK(baton_write(fd, "abc", 3) == 3);
    CHECK(baton_read(fd, buf, sizeof buf) == 3 && memcmp(buf, "abc", 3) == 0);
    int nb = open_bq(O_RDONLY | O_NONBLOCK);
    CHECK_ERR(baton_read(nb, buf, 1), EAGAIN);
    CHECK_ERR(baton_write(nb, "x", 1), EBADF); /* opened for reading */
    CHECK(baton_close(nb) == 0);

    /* A read waits for a later write (another process). */
    t_put(to_reader, 1);
    CHECK(t_get(from_reader) == 1);
    CHECK(baton_write(fd, "xyz", 3) == 3);
    CHECK(t_get(from_reader) == 2);

    /* A read the client gives up on (its timeout): the server gets the
     * unblock pulse, forgets the read, and the client gets EINTR; the
     * next write's bytes are still there for the next read. */
    uint64_t ns = 50 * 1000000ull;
    CHECK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_REPLY, NULL, &ns, NULL) == 0);
    CHECK_ERR(baton_read(fd, buf, sizeof buf), EINTR);
    CHECK(baton_write(fd, "q", 1) == 1);
    CHECK(baton_read(fd, buf, sizeof buf) == 1 && buf[0] == 'q');

    /* devctl: to, to-and-from with ret_val, the defaults, unknown ones. */
    int info = -1;
    CHECK(dev_int(fd, DCMD_BQ_SET_TAG, 7, NULL) == 7);
    CHECK(dev_int(fd, DCMD_BQ_SWAP, 5, &info) == 12 && info == 42);
    CHECK(dev_int(fd, DCMD_ALL_GETFLAGS, 0, NULL) == O_RDWR);
    CHECK(devctl(fd, __DIOF(_DCMD_MISC, 99, int), buf, sizeof(int), NULL) == ENOTTY);

    /* stat and lseek: the defaults. */
    struct stat st;
    CHECK(baton_fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && (st.st_mode & 0777) == 0604 && st.st_uid == 0);
    CHECK(baton_lseek(fd, 5, SEEK_SET) == 5 && baton_lseek(fd, 2, SEEK_CUR) == 7);
    CHECK_ERR(baton_lseek(fd, -8, SEEK_CUR), EINVAL);

    /* Poll, then arm a pulse for input: the next write delivers it. */
    struct _io_notify n;
    struct _io_notify_reply nr;
    memset(&n, 0, sizeof n);
    n.type = _IO_NOTIFY;
    n.combine_len = sizeof n;
    n.action = _NOTIFY_ACTION_POLL;
    n.flags = (int)(_NOTIFY_COND_INPUT | _NOTIFY_COND_OUTPUT);
    CHECK(MsgSend(fd, &n, sizeof n, &nr, sizeof nr) == 0 && nr.flags == _NOTIFY_COND_OUTPUT);
    int mine = ChannelCreate(0);
    int self = ConnectAttach(0, 0, mine, _NTO_SIDE_CHANNEL, 0);
    CHECK(mine > 0 && self != -1);
    n.action = _NOTIFY_ACTION_POLLARM;
    n.flags = (int)_NOTIFY_COND_INPUT;
    SIGEV_PULSE_INIT(&n.event, self, SIGEV_PULSE_PRIO_INHERIT, 5, 77);
    CHECK(MsgSend(fd, &n, sizeof n, &nr, sizeof nr) == 0 && nr.flags == 0);
    CHECK(baton_write(fd, "n", 1) == 1);
    struct _pulse p;
    CHECK(MsgReceivePulse(mine, &p, sizeof p, NULL) == 0 && p.code == 5 && p.value.sival_int == 77);
    n.action = _NOTIFY_ACTION_POLL;
    n.flags = (int)(_NOTIFY_COND_INPUT | _NOTIFY_COND_OUTPUT);
    CHECK(MsgSend(fd, &n, sizeof n, &nr, sizeof nr) == 0 && nr.flags == (_NOTIFY_COND_INPUT | _NOTIFY_COND_OUTPUT));
    CHECK(baton_read(fd, buf, sizeof buf) == 1 && buf[0] == 'n');

    /* message_attach() and pulse_attach(). */
    uint16_t type = 0x2001;
    CHECK(MsgSend(fd, &type, sizeof type, NULL, 0) == 0x2002);
    CHECK(MsgSendPulse(fd, -1, code, 99) == 0);
    while (dev_int(fd, DCMD_BQ_PULSE, 0, NULL) != 99) usleep(1000);

    /* The framework's own answers. */
    type = 0x3000;
    CHECK_ERR(MsgSend(fd, &type, sizeof type, NULL, 0), ENOSYS); /* nothing handles it */
    struct _io_header h = {0x1f0, 4};
    CHECK_ERR(MsgSend(fd, &h, sizeof h, NULL, 0), ENOSYS); /* no handler for the type */
    struct _io_read r;
    memset(&r, 0, sizeof r);
    r.type = _IO_READ;
    r.combine_len = sizeof r | _IO_COMBINE_FLAG;
    CHECK_ERR(MsgSend(fd, &r, sizeof r, buf, sizeof buf), ENOSYS); /* combined */
    r.combine_len = sizeof r;
    CHECK_ERR(MsgSend(fd, &r, 4, buf, sizeof buf), EBADMSG); /* too short */
    /* A pread without its struct _xtype_offset, or at a negative
     * position; chmod and chown cut short. */
    struct {
        struct _io_read i;
        struct _xtype_offset o;
    } pr = {r, {-1}};
    pr.i.xtype = _IO_XTYPE_OFFSET;
    pr.i.combine_len = sizeof pr;
    CHECK_ERR(MsgSend(fd, &pr, sizeof pr.i, buf, sizeof buf), EBADMSG);
    CHECK_ERR(MsgSend(fd, &pr, sizeof pr, buf, sizeof buf), EINVAL);
    /* A whole one goes to the handler, which (as QNX devices do) refuses
     * an xtype it does not know. */
    pr.o.offset = 5;
    CHECK_ERR(MsgSend(fd, &pr, sizeof pr, buf, sizeof buf), ENOSYS);
    struct _io_chmod cm = {_IO_CHMOD, sizeof cm, 0600};
    CHECK_ERR(MsgSend(fd, &cm, 6, NULL, 0), EBADMSG);
    struct _io_chown co = {_IO_CHOWN, sizeof co, -1, -1};
    CHECK_ERR(MsgSend(fd, &co, 8, NULL, 0), EBADMSG);
    CHECK(MsgSend(fd, &co, sizeof co, NULL, 0) == 0); /* root, nothing changed */
    int raw = ConnectAttach(0, spid, schid, _NTO_SIDE_CHANNEL, 0);
    CHECK(raw != -1);
    CHECK_ERR(MsgSend(raw, &r, sizeof r, buf, sizeof buf), EBADF); /* no open */
    CHECK(ConnectDetach(raw) == 0);

    /* A client that dies closes its opens. */
    t_put(to_dier, 1);
    int dpid = t_get(from_dier);
    while (dev_int(fd, DCMD_BQ_CLOSES_OF, dpid, NULL) != 2) usleep(1000);

    /* The holders got through together: the pool grew. Once they are
     * done it shrinks back to hi_water waiting threads at most. */
    struct counts c;
    for (;;) {
        CHECK(devctl(fd, DCMD_BQ_COUNTS, &c, sizeof c, NULL) == EOK);
        if (c.waiting <= HI_WATER && c.threads <= HI_WATER + 1) break;
        usleep(1000);
    }
    CHECK(c.threads >= 1);

    CHECK(baton_close(fd) == 0);
    CHECK(ConnectDetach(self) == 0 && ChannelDestroy(mine) == 0);
    t_put(to_server, 1);
}

int main(void) {
    t_watchdog(120);
    ready = t_pipe();
    to_client = t_pipe();
    to_reader = t_pipe();
    from_reader = t_pipe();
    to_dier = t_pipe();
    from_dier = t_pipe();
    to_server = t_pipe();
    int as_root = geteuid() == 0;
    nwaiting = 3 + HOLDERS + as_root;
    pid_t s = t_fork(server);
    pid_t helpers[3 + HOLDERS + 1];
    int n = 0;
    helpers[n++] = t_fork(reader);
    helpers[n++] = t_fork(dier);
    for (int i = 0; i < HOLDERS; i++) helpers[n++] = t_fork(holder);
    if (as_root)
        helpers[n++] = t_fork(other_user);
    else
        printf("not root: the EACCES check as another user is skipped\n");
    pid_t c = t_fork(client);
    t_wait_ok(c);
    for (int i = 0; i < n; i++) t_wait_ok(helpers[i]);
    t_wait_ok(s);
    return 0;
}
