/*
 * The dispatch layer and the resource-manager core: a dispatch's channel
 * and what is attached to it (paths with their handler tables, message
 * type ranges, pulse codes, watched descriptors), the receive loop's two halves
 * (dispatch_block, dispatch_handler), and the OCB bindings: which open
 * state belongs to which client connection (docs/RESMGR.md, section 2).
 *
 * A binding is found by the (scoid, coid) of each I/O message. Handlers
 * of one binding may run on several pool threads at once, and the client
 * may close or die meanwhile: a binding counts its users, and the close
 * handler runs when the last one lets go of a binding that was closed.
 */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* A resmgr_attach(). */
struct link {
    int id;
    void *path; /* the path-space entry, NULL for none */
    const resmgr_connect_funcs_t *connect_funcs;
    const resmgr_io_funcs_t *io_funcs;
    void *handle;
    int (*other_func)(resmgr_context_t *, void *);
};

/* An open: its OCB, bound to a client connection. */
struct binding {
    struct binding *next;
    int scoid, coid;
    void *ocb;
    const resmgr_io_funcs_t *io_funcs;
    int link;
    int users;   /* handlers running on it */
    int closing; /* unbound: close when the last user is done */
};

typedef int (*msg_func_t)(message_context_t *, int, unsigned, void *);

struct msg_range {
    int low, high;
    msg_func_t func;
    void *handle;
};

struct pulse_code {
    int code;
    msg_func_t func;
    void *handle;
};

typedef int (*select_func_t)(select_context_t *, int, unsigned, void *);

/* A select_attach(). */
struct select_fd {
    int fd;
    unsigned flags;
    select_func_t func;
    void *handle;
    unsigned gen; /* changes at each attach: a late re-arm of an older one is dropped */
};

/* The descriptors select_attach() watches: an epoll set (one-shot
 * entries, re-armed after each call) that a thread of the dispatch's own
 * waits on, telling the channel with a pulse of `code` whose value is
 * the descriptor. Its connection to the channel is its own, not
 * dispatch_unblock's: many descriptors ready at once can fill a
 * connection's pulse ring, and the unblock pulse must still get through. */
struct selects {
    pthread_mutex_t lock;
    struct select_fd *fds;
    int nfds;
    unsigned next_gen;
    int epoll, stop; /* -1 until the first attach */
    int coid, code;
    pthread_t thread;
};

#define BUCKETS 64

struct _dispatch {
    int chid;
    int own_chid; /* dispatch_destroy destroys it */
    pthread_mutex_t lock;
    struct link *links;
    int nlinks;
    int next_anon_id;
    struct msg_range *ranges;
    int nranges;
    struct pulse_code *pulses;
    int npulses;
    struct binding *bindings[BUCKETS];
    size_t msg_max_size;
    unsigned nparts_max;
    /* dispatch_unblock's pulse: a connection to the channel and a code. */
    int self_coid;
    int wake_code;
    struct selects sel;
};

static void select_stop(dispatch_t *dpp);

/* The smallest receive buffer: any fixed-size I/O message fits. */
#define MIN_MSG_SIZE 2048

static unsigned bucket(int scoid, int coid) {
    return ((unsigned)scoid * 31u + (unsigned)coid) % BUCKETS;
}

static int grow(void **array, int count, size_t size) {
    void *p = realloc(*array, (size_t)(count + 1) * size);
    if (p == NULL) return -1;
    *array = p;
    return 0;
}

dispatch_t *dispatch_create_channel(int chid, unsigned flags) {
    (void)flags; /* DISPATCH_FLAG_NOLOCK: the dispatch's lock is always cheap */
    dispatch_t *dpp = (dispatch_t *)calloc(1, sizeof *dpp);
    if (dpp == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    if (chid == -1) {
        chid = ChannelCreate(_NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT);
        if (chid == -1) {
            int e = errno;
            free(dpp);
            errno = e;
            return NULL;
        }
        dpp->own_chid = 1;
    }
    dpp->chid = chid;
    pthread_mutex_init(&dpp->lock, NULL);
    dpp->next_anon_id = 0x40000000;
    dpp->msg_max_size = MIN_MSG_SIZE;
    dpp->nparts_max = 1;
    dpp->self_coid = -1;
    dpp->wake_code = -1;
    pthread_mutex_init(&dpp->sel.lock, NULL);
    dpp->sel.epoll = dpp->sel.stop = dpp->sel.coid = dpp->sel.code = -1;
    return dpp;
}

dispatch_t *dispatch_create(void) {
    return dispatch_create_channel(-1, 0);
}

int _dispatch_chid(dispatch_t *dpp) {
    return dpp->chid;
}

int dispatch_destroy(dispatch_t *dpp) {
    if (dpp == NULL) {
        errno = EINVAL;
        return -1;
    }
    select_stop(dpp);
    for (int i = 0; i < dpp->nlinks; i++) __baton_path_detach(dpp->links[i].path);
    for (int b = 0; b < BUCKETS; b++) {
        while (dpp->bindings[b] != NULL) {
            struct binding *n = dpp->bindings[b];
            dpp->bindings[b] = n->next;
            free(n);
        }
    }
    if (dpp->self_coid != -1) ConnectDetach(dpp->self_coid);
    if (dpp->own_chid) ChannelDestroy(dpp->chid);
    pthread_mutex_destroy(&dpp->lock);
    pthread_mutex_destroy(&dpp->sel.lock);
    free(dpp->sel.fds);
    free(dpp->links);
    free(dpp->ranges);
    free(dpp->pulses);
    free(dpp);
    return 0;
}

/* ---- Contexts and the loop. ---- */

dispatch_context_t *dispatch_context_alloc(dispatch_t *dpp) {
    pthread_mutex_lock(&dpp->lock);
    size_t msg_size = dpp->msg_max_size, nparts = dpp->nparts_max;
    pthread_mutex_unlock(&dpp->lock);
    if (msg_size < sizeof(resmgr_iomsgs_t)) msg_size = sizeof(resmgr_iomsgs_t);
    /* One block: the context with nparts iovs, then the receive buffer. */
    size_t head = offsetof(resmgr_context_t, iov) + nparts * sizeof(iov_t);
    if (head < sizeof(dispatch_context_t)) head = sizeof(dispatch_context_t);
    head = (head + 15) & ~(size_t)15;
    char *block = (char *)calloc(1, head + msg_size);
    if (block == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    dispatch_context_t *ctp = (dispatch_context_t *)(void *)block;
    ctp->resmgr_context.dpp = dpp;
    ctp->resmgr_context.msg = (resmgr_iomsgs_t *)(void *)(block + head);
    ctp->resmgr_context.msg_max_size = (unsigned)msg_size;
    return ctp;
}

void dispatch_context_free(dispatch_context_t *ctp) {
    free(ctp);
}

resmgr_context_t *resmgr_context_alloc(dispatch_t *dpp) {
    dispatch_context_t *c = dispatch_context_alloc(dpp);
    return c == NULL ? NULL : &c->resmgr_context;
}

void resmgr_context_free(resmgr_context_t *ctp) {
    free(ctp);
}

dispatch_context_t *dispatch_block(dispatch_context_t *dctp) {
    resmgr_context_t *ctp = &dctp->resmgr_context;
    memset(&ctp->info, 0, sizeof ctp->info);
    int rcvid = MsgReceive(ctp->dpp->chid, ctp->msg, ctp->msg_max_size, &ctp->info);
    if (rcvid == -1) return NULL;
    ctp->rcvid = rcvid;
    ctp->size = rcvid == 0 ? (int)sizeof(struct _pulse) : (int)ctp->info.msglen;
    ctp->offset = 0;
    ctp->status = 0;
    return dctp;
}

resmgr_context_t *resmgr_block(resmgr_context_t *ctp) {
    return dispatch_block((dispatch_context_t *)(void *)ctp) == NULL ? NULL : ctp;
}

/* ---- Attaching. ---- */

static void note_sizes(dispatch_t *dpp, size_t msg_max_size, unsigned nparts_max) {
    if (msg_max_size > dpp->msg_max_size) dpp->msg_max_size = msg_max_size;
    if (nparts_max > dpp->nparts_max) dpp->nparts_max = nparts_max;
}

int resmgr_attach(dispatch_t *dpp, resmgr_attr_t *attr, const char *path, enum _file_type file_type,
                  unsigned flags, const resmgr_connect_funcs_t *connect_funcs, const resmgr_io_funcs_t *io_funcs,
                  RESMGR_HANDLE_T *handle) {
    if (dpp == NULL) {
        errno = EINVAL;
        return -1;
    }
    struct link l;
    memset(&l, 0, sizeof l);
    l.connect_funcs = connect_funcs;
    l.io_funcs = io_funcs;
    l.handle = handle;
    if (attr != NULL && (attr->flags & RESMGR_FLAG_ATTACH_OTHERFUNC || attr->other_func != NULL))
        l.other_func = attr->other_func;
    if (path != NULL) {
        unsigned pflags = flags & (_RESMGR_FLAG_BEFORE | _RESMGR_FLAG_AFTER | _RESMGR_FLAG_OPAQUE | _RESMGR_FLAG_DIR);
        l.path = __baton_path_attach(path, dpp->chid, pflags, (int)file_type, &l.id);
        if (l.path == NULL) return -1;
    }
    pthread_mutex_lock(&dpp->lock);
    if (path == NULL) l.id = dpp->next_anon_id++;
    if (grow((void **)&dpp->links, dpp->nlinks, sizeof l) == -1) {
        pthread_mutex_unlock(&dpp->lock);
        __baton_path_detach(l.path);
        errno = ENOMEM;
        return -1;
    }
    dpp->links[dpp->nlinks++] = l;
    if (attr != NULL) note_sizes(dpp, attr->msg_max_size, attr->nparts_max);
    pthread_mutex_unlock(&dpp->lock);
    return l.id;
}

int resmgr_detach(dispatch_t *dpp, int id, unsigned flags) {
    (void)flags; /* open OCBs stay bound either way; their close handlers run as usual */
    pthread_mutex_lock(&dpp->lock);
    for (int i = 0; i < dpp->nlinks; i++) {
        if (dpp->links[i].id == id) {
            void *path = dpp->links[i].path;
            dpp->links[i] = dpp->links[--dpp->nlinks];
            pthread_mutex_unlock(&dpp->lock);
            __baton_path_detach(path);
            return 0;
        }
    }
    pthread_mutex_unlock(&dpp->lock);
    errno = ENOENT;
    return -1;
}

/* Link `id`, copied (NULL: none; id -1: the only one, if there is one). */
static int find_link(dispatch_t *dpp, int id, struct link *out) {
    int found = 0;
    pthread_mutex_lock(&dpp->lock);
    for (int i = 0; i < dpp->nlinks && !found; i++) {
        if (dpp->links[i].id == id) {
            *out = dpp->links[i];
            found = 1;
        }
    }
    if (!found && id == -1 && dpp->nlinks == 1) {
        *out = dpp->links[0];
        found = 1;
    }
    pthread_mutex_unlock(&dpp->lock);
    return found;
}

int message_attach(dispatch_t *dpp, message_attr_t *attr, int low, int high, msg_func_t func, void *handle) {
    if (dpp == NULL || func == NULL || low > high || low < 0) {
        errno = EINVAL;
        return -1;
    }
    struct msg_range r = {low, high, func, handle};
    pthread_mutex_lock(&dpp->lock);
    int ok = grow((void **)&dpp->ranges, dpp->nranges, sizeof r) == 0;
    if (ok) dpp->ranges[dpp->nranges++] = r;
    if (attr != NULL) note_sizes(dpp, attr->msg_max_size, attr->nparts_max);
    pthread_mutex_unlock(&dpp->lock);
    if (!ok) errno = ENOMEM;
    return ok ? 0 : -1;
}

int message_detach(dispatch_t *dpp, int low, int high, int flags) {
    (void)flags;
    pthread_mutex_lock(&dpp->lock);
    for (int i = 0; i < dpp->nranges; i++) {
        if (dpp->ranges[i].low == low && dpp->ranges[i].high == high) {
            dpp->ranges[i] = dpp->ranges[--dpp->nranges];
            pthread_mutex_unlock(&dpp->lock);
            return 0;
        }
    }
    pthread_mutex_unlock(&dpp->lock);
    errno = EINVAL;
    return -1;
}

static int code_taken(dispatch_t *dpp, int code) {
    for (int i = 0; i < dpp->npulses; i++)
        if (dpp->pulses[i].code == code) return 1;
    return 0;
}

int pulse_attach(dispatch_t *dpp, int flags, int code, msg_func_t func, void *handle) {
    if (dpp == NULL || func == NULL) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&dpp->lock);
    if (flags & MSG_FLAG_ALLOC_PULSE) {
        /* From the top of the user range down, as QNX hands them out. */
        code = -1;
        for (int c = _PULSE_CODE_MAXAVAIL; c >= _PULSE_CODE_MINAVAIL && code == -1; c--)
            if (!code_taken(dpp, c)) code = c;
        if (code == -1) {
            pthread_mutex_unlock(&dpp->lock);
            errno = EAGAIN;
            return -1;
        }
    } else if (code < -128 || code > 127 || code_taken(dpp, code)) {
        pthread_mutex_unlock(&dpp->lock);
        errno = code_taken(dpp, code) ? EBUSY : EINVAL;
        return -1;
    }
    struct pulse_code p = {code, func, handle};
    int ok = grow((void **)&dpp->pulses, dpp->npulses, sizeof p) == 0;
    if (ok) dpp->pulses[dpp->npulses++] = p;
    pthread_mutex_unlock(&dpp->lock);
    if (!ok) {
        errno = ENOMEM;
        return -1;
    }
    return code;
}

int pulse_detach(dispatch_t *dpp, int code, int flags) {
    (void)flags;
    pthread_mutex_lock(&dpp->lock);
    for (int i = 0; i < dpp->npulses; i++) {
        if (dpp->pulses[i].code == code) {
            dpp->pulses[i] = dpp->pulses[--dpp->npulses];
            pthread_mutex_unlock(&dpp->lock);
            return 0;
        }
    }
    pthread_mutex_unlock(&dpp->lock);
    errno = EINVAL;
    return -1;
}

static int wake_nop(message_context_t *ctp, int code, unsigned flags, void *handle) {
    (void)ctp, (void)code, (void)flags, (void)handle;
    return 0;
}

void dispatch_unblock(dispatch_context_t *dctp) {
    dispatch_t *dpp = dctp->resmgr_context.dpp;
    pthread_mutex_lock(&dpp->lock);
    int coid = dpp->self_coid, code = dpp->wake_code;
    pthread_mutex_unlock(&dpp->lock);
    if (code == -1) {
        code = pulse_attach(dpp, MSG_FLAG_ALLOC_PULSE, 0, wake_nop, NULL);
        if (code == -1) return;
    }
    if (coid == -1) coid = ConnectAttach(ND_LOCAL_NODE, 0, dpp->chid, _NTO_SIDE_CHANNEL, 0);
    pthread_mutex_lock(&dpp->lock);
    /* Another thread may have set them up meanwhile: keep the first. */
    if (dpp->wake_code == -1) dpp->wake_code = code;
    else if (code != dpp->wake_code) {
        for (int i = 0; i < dpp->npulses; i++)
            if (dpp->pulses[i].code == code) dpp->pulses[i] = dpp->pulses[--dpp->npulses];
        code = dpp->wake_code;
    }
    if (dpp->self_coid == -1) dpp->self_coid = coid;
    else if (coid != dpp->self_coid) {
        ConnectDetach(coid);
        coid = dpp->self_coid;
    }
    pthread_mutex_unlock(&dpp->lock);
    if (coid != -1) MsgSendPulse(coid, -1, code, 0);
}

/* ---- Watched descriptors (select_attach). ---- */

#define SELECT_CONDS (SELECT_FLAG_READ | SELECT_FLAG_WRITE | SELECT_FLAG_EXCEPT | SELECT_FLAG_SRVEXCEPT)
/* The stop eventfd's key in the epoll set (descriptors are keyed by
 * their number). */
#define SELECT_STOP UINT64_MAX

/* What epoll and poll are asked for (hang-up and error always come). */
static uint32_t poll_events(unsigned flags) {
    uint32_t e = 0;
    if (flags & SELECT_FLAG_READ) e |= POLLIN | POLLRDHUP;
    if (flags & SELECT_FLAG_WRITE) e |= POLLOUT;
    if (flags & SELECT_FLAG_EXCEPT) e |= POLLPRI;
    return e;
}

/* What of `flags` poll's revents say is ready: a hang-up or an error
 * makes a read or write not block (it returns at once), and is
 * SELECT_FLAG_SRVEXCEPT if that was asked for. */
static unsigned ready_flags(unsigned flags, short revents) {
    unsigned r = 0;
    int broken = (revents & (POLLERR | POLLHUP)) != 0;
    if ((flags & SELECT_FLAG_READ) && (revents & (POLLIN | POLLRDHUP) || broken)) r |= SELECT_FLAG_READ;
    if ((flags & SELECT_FLAG_WRITE) && (revents & POLLOUT || broken)) r |= SELECT_FLAG_WRITE;
    if ((flags & SELECT_FLAG_EXCEPT) && (revents & POLLPRI)) r |= SELECT_FLAG_EXCEPT;
    if ((flags & SELECT_FLAG_SRVEXCEPT) && broken) r |= SELECT_FLAG_SRVEXCEPT;
    return r;
}

/* What of `flags` fd is ready for now (poll, no wait); *revents gets
 * poll's answer (POLLNVAL: fd is not open). */
static unsigned ready_now(int fd, unsigned flags, short *revents) {
    struct pollfd p = {fd, (short)poll_events(flags), 0};
    int n = poll(&p, 1, 0);
    *revents = n == 1 ? p.revents : 0;
    return n == 1 ? ready_flags(flags, p.revents) : 0;
}

/* The entry of fd (the caller holds sel.lock); NULL if none. */
static struct select_fd *select_find(struct selects *s, int fd) {
    for (int i = 0; i < s->nfds; i++)
        if (s->fds[i].fd == fd) return &s->fds[i];
    return NULL;
}

/* Arms fd's one-shot epoll entry (the caller holds sel.lock). */
static int select_arm(struct selects *s, int fd, unsigned flags, int op) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = poll_events(flags) | EPOLLONESHOT;
    ev.data.u64 = (uint64_t)(unsigned)fd;
    return epoll_ctl(s->epoll, op, fd, &ev);
}

/* The watcher thread: a ready descriptor becomes a pulse to the channel.
 * A pulse the connection has no room for now (more descriptors ready at
 * once than the channel takes pulses) is sent again a millisecond later;
 * its entry stays disarmed meanwhile, so nothing is lost or repeated. */
static void *select_watch(void *arg) {
    dispatch_t *dpp = (dispatch_t *)arg;
    struct selects *s = &dpp->sel;
    int *pending = NULL, npending = 0, room = 0;
    for (;;) {
        struct epoll_event ev[16];
        int n = epoll_wait(s->epoll, ev, 16, npending > 0 ? 1 : -1);
        if (n == -1 && errno != EINTR) break;
        for (int i = 0; i < n; i++) {
            if (ev[i].data.u64 == SELECT_STOP) goto out;
            /* At most one entry per attached descriptor (one-shot). */
            if (npending == room) {
                int *p = (int *)realloc(pending, (size_t)(room * 2 + 16) * sizeof *pending);
                if (p == NULL) goto out;
                pending = p, room = room * 2 + 16;
            }
            pending[npending++] = (int)ev[i].data.u64;
        }
        int kept = 0;
        for (int i = 0; i < npending; i++) {
            if (MsgSendPulse(s->coid, -1, s->code, pending[i]) == 0) continue;
            if (errno != EAGAIN) goto out; /* the channel is gone */
            pending[kept++] = pending[i];
        }
        npending = kept;
    }
out:
    free(pending);
    return NULL;
}

/* The pulse of a ready descriptor: calls its function with what is ready
 * now, then re-arms it unless it is one-shot. */
static int select_fired(message_context_t *ctp, int code, unsigned flags, void *handle) {
    (void)code, (void)flags;
    struct selects *s = &((dispatch_t *)handle)->sel;
    int fd = ctp->msg->pulse.value.sival_int;
    pthread_mutex_lock(&s->lock);
    struct select_fd *e = select_find(s, fd);
    struct select_fd copy;
    if (e != NULL) copy = *e;
    pthread_mutex_unlock(&s->lock);
    if (e == NULL) return 0; /* detached meanwhile */
    short revents;
    unsigned ready = ready_now(fd, copy.flags, &revents);
    if (revents & POLLNVAL) { /* closed without select_detach: forget it */
        select_detach(handle, fd);
        return 0;
    }
    if (ready != 0) copy.func((select_context_t *)ctp, fd, ready, copy.handle);
    if (ready != 0 && (copy.flags & SELECT_FLAG_NOREARM)) return 0;
    pthread_mutex_lock(&s->lock);
    e = select_find(s, fd);
    /* Unless func detached it, or attached it again (which armed it). */
    if (e != NULL && e->gen == copy.gen) select_arm(s, fd, e->flags, EPOLL_CTL_MOD);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/* Sets the watcher up at the first attach (the caller holds sel.lock). */
static int select_start(dispatch_t *dpp) {
    struct selects *s = &dpp->sel;
    if (s->epoll != -1) return 0;
    int code = pulse_attach(dpp, MSG_FLAG_ALLOC_PULSE, 0, select_fired, dpp);
    if (code == -1) return -1;
    int coid = ConnectAttach(ND_LOCAL_NODE, 0, dpp->chid, _NTO_SIDE_CHANNEL, 0);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int stop = eventfd(0, EFD_CLOEXEC);
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.u64 = SELECT_STOP;
    int e = 0;
    if (coid == -1 || ep == -1 || stop == -1 || epoll_ctl(ep, EPOLL_CTL_ADD, stop, &ev) == -1) e = errno;
    if (e == 0) {
        s->epoll = ep, s->stop = stop, s->coid = coid, s->code = code;
        /* The watcher takes no signals: they are the program's threads'. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        e = pthread_create(&s->thread, NULL, select_watch, dpp);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (e == 0) return 0;
        s->epoll = s->stop = s->coid = s->code = -1;
    }
    if (stop != -1) close(stop);
    if (ep != -1) close(ep);
    if (coid != -1) ConnectDetach(coid);
    pulse_detach(dpp, code, 0);
    errno = e;
    return -1;
}

/* Ends the watcher (dispatch_destroy). */
static void select_stop(dispatch_t *dpp) {
    struct selects *s = &dpp->sel;
    if (s->epoll == -1) return;
    uint64_t one = 1;
    if (write(s->stop, &one, sizeof one) == (ssize_t)sizeof one) pthread_join(s->thread, NULL);
    close(s->stop);
    close(s->epoll);
    ConnectDetach(s->coid);
    s->epoll = s->stop = s->coid = -1;
}

int select_attach(void *dp, select_attr_t *attr, int fd, unsigned flags, select_func_t func, void *handle) {
    (void)attr; /* no attribute flags are defined */
    dispatch_t *dpp = (dispatch_t *)dp;
    if (dpp == NULL || func == NULL || fd < 0 || (flags & SELECT_CONDS) == 0) {
        errno = EINVAL;
        return -1;
    }
    struct selects *s = &dpp->sel;
    pthread_mutex_lock(&s->lock);
    if (select_start(dpp) == -1) {
        pthread_mutex_unlock(&s->lock);
        return -1;
    }
    struct select_fd *e = select_find(s, fd);
    int op = e != NULL ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (select_arm(s, fd, flags, op) == -1) {
        int err = errno;
        pthread_mutex_unlock(&s->lock);
        errno = err;
        return -1;
    }
    if (e == NULL) {
        if (grow((void **)&s->fds, s->nfds, sizeof *s->fds) == -1) {
            epoll_ctl(s->epoll, EPOLL_CTL_DEL, fd, NULL);
            pthread_mutex_unlock(&s->lock);
            errno = ENOMEM;
            return -1;
        }
        e = &s->fds[s->nfds++];
    }
    e->fd = fd;
    e->flags = flags;
    e->func = func;
    e->handle = handle;
    e->gen = ++s->next_gen;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

int select_detach(void *dp, int fd) {
    dispatch_t *dpp = (dispatch_t *)dp;
    if (dpp == NULL) {
        errno = EINVAL;
        return -1;
    }
    struct selects *s = &dpp->sel;
    pthread_mutex_lock(&s->lock);
    struct select_fd *e = select_find(s, fd);
    if (e == NULL) {
        pthread_mutex_unlock(&s->lock);
        errno = EINVAL;
        return -1;
    }
    epoll_ctl(s->epoll, EPOLL_CTL_DEL, fd, NULL); /* fails harmlessly if fd was closed */
    *e = s->fds[--s->nfds];
    pthread_mutex_unlock(&s->lock);
    return 0;
}

int select_query(select_context_t *ctp, int *fd, unsigned *flags, select_func_t *func, void **handle) {
    struct selects *s = &ctp->dpp->sel;
    int found = 0;
    struct select_fd copy;
    pthread_mutex_lock(&s->lock);
    if (ctp->rcvid == 0 && s->code != -1 && ctp->msg->pulse.code == s->code) {
        struct select_fd *e = select_find(s, ctp->msg->pulse.value.sival_int);
        if (e != NULL) copy = *e, found = 1;
    }
    pthread_mutex_unlock(&s->lock);
    if (!found) {
        errno = EINVAL;
        return -1;
    }
    short revents;
    if (fd != NULL) *fd = copy.fd;
    if (flags != NULL) *flags = ready_now(copy.fd, copy.flags, &revents);
    if (func != NULL) *func = copy.func;
    if (handle != NULL) *handle = copy.handle;
    return 0;
}

/* ---- Bindings. ---- */

static void *io_func(const resmgr_io_funcs_t *funcs, int type) {
    unsigned index = (unsigned)(type - _IO_READ);
    if (funcs == NULL || index >= funcs->nfuncs || index >= _RESMGR_IO_NFUNCS) return NULL;
    void *f;
    memcpy(&f, (const char *)funcs + offsetof(resmgr_io_funcs_t, read) + index * sizeof(void *), sizeof f);
    return f;
}

typedef int (*io_handler_t)(resmgr_context_t *, void *, void *);

static io_handler_t as_handler(void *f) {
    io_handler_t h;
    memcpy(&h, &f, sizeof h);
    return h;
}

/* The binding of (scoid, coid), with a user counted; NULL if none. */
static struct binding *use_binding(dispatch_t *dpp, int scoid, int coid) {
    pthread_mutex_lock(&dpp->lock);
    struct binding *b = dpp->bindings[bucket(scoid, coid)];
    while (b != NULL && !(b->scoid == scoid && b->coid == coid)) b = b->next;
    if (b != NULL) b->users++;
    pthread_mutex_unlock(&dpp->lock);
    return b;
}

/* Runs the close handler of a closed binding no one uses, and frees it. */
static void close_binding(resmgr_context_t *ctp, struct binding *b) {
    int id = ctp->id;
    ctp->id = b->link;
    io_handler_t close_ocb = as_handler(io_func(b->io_funcs, _IO_RSVD_CLOSE_OCB));
    if (close_ocb != NULL) close_ocb(ctp, NULL, b->ocb);
    ctp->id = id;
    free(b);
}

static void release_binding(resmgr_context_t *ctp, struct binding *b) {
    dispatch_t *dpp = ctp->dpp;
    pthread_mutex_lock(&dpp->lock);
    int last = --b->users == 0 && b->closing;
    pthread_mutex_unlock(&dpp->lock);
    if (last) close_binding(ctp, b);
}

/* Takes b out of the table (the caller holds the lock); returns whether it
 * can be closed now. */
static int unbind_locked(dispatch_t *dpp, struct binding *b) {
    struct binding **p = &dpp->bindings[bucket(b->scoid, b->coid)];
    while (*p != NULL && *p != b) p = &(*p)->next;
    if (*p == b) *p = b->next;
    b->next = NULL;
    b->closing = 1;
    return b->users == 0;
}

int resmgr_open_bind(resmgr_context_t *ctp, void *ocb, const resmgr_io_funcs_t *io_funcs) {
    dispatch_t *dpp = ctp->dpp;
    if (io_funcs == NULL) {
        struct link l;
        if (!find_link(dpp, ctp->id, &l)) {
            errno = EINVAL;
            return -1;
        }
        io_funcs = l.io_funcs;
    }
    struct binding *b = (struct binding *)calloc(1, sizeof *b);
    if (b == NULL) {
        errno = ENOMEM;
        return -1;
    }
    b->scoid = ctp->info.scoid;
    b->coid = ctp->info.coid;
    b->ocb = ocb;
    b->io_funcs = io_funcs;
    b->link = ctp->id;
    pthread_mutex_lock(&dpp->lock);
    /* A binding left on the same connection (opened again without a
     * close) is closed: the connection now means the new open. */
    struct binding *old = dpp->bindings[bucket(b->scoid, b->coid)];
    while (old != NULL && !(old->scoid == b->scoid && old->coid == b->coid)) old = old->next;
    int close_old = old != NULL && unbind_locked(dpp, old);
    unsigned k = bucket(b->scoid, b->coid);
    b->next = dpp->bindings[k];
    dpp->bindings[k] = b;
    pthread_mutex_unlock(&dpp->lock);
    if (close_old) close_binding(ctp, old);
    return 0;
}

void *_resmgr_ocb(resmgr_context_t *ctp, struct _msg_info *info) {
    if (info == NULL) info = &ctp->info;
    struct binding *b = use_binding(ctp->dpp, info->scoid, info->coid);
    if (b == NULL) return NULL;
    void *ocb = b->ocb;
    release_binding(ctp, b);
    return ocb;
}

int resmgr_unbind(resmgr_context_t *ctp) {
    dispatch_t *dpp = ctp->dpp;
    pthread_mutex_lock(&dpp->lock);
    struct binding *b = dpp->bindings[bucket(ctp->info.scoid, ctp->info.coid)];
    while (b != NULL && !(b->scoid == ctp->info.scoid && b->coid == ctp->info.coid)) b = b->next;
    if (b == NULL) {
        pthread_mutex_unlock(&dpp->lock);
        errno = EINVAL;
        return -1;
    }
    int now = unbind_locked(dpp, b);
    /* Unbound without a close: the caller owns the OCB now. */
    b->io_funcs = NULL;
    pthread_mutex_unlock(&dpp->lock);
    if (now) free(b);
    return 0;
}

/* The client process of scoid is gone: every OCB it had open is closed. */
static void disconnect(resmgr_context_t *ctp, int scoid) {
    dispatch_t *dpp = ctp->dpp;
    struct binding *now = NULL;
    pthread_mutex_lock(&dpp->lock);
    for (int k = 0; k < BUCKETS; k++) {
        struct binding *b = dpp->bindings[k];
        while (b != NULL) {
            struct binding *next = b->next;
            if (b->scoid == scoid && unbind_locked(dpp, b)) {
                b->next = now;
                now = b;
            }
            b = next;
        }
    }
    pthread_mutex_unlock(&dpp->lock);
    while (now != NULL) {
        struct binding *next = now->next;
        close_binding(ctp, now);
        now = next;
    }
    ConnectDetach(scoid);
}

/* ---- Serving a message. ---- */

/* Answers ctp's message as a handler's return value says. */
static void reply(resmgr_context_t *ctp, int ret) {
    if (ret == _RESMGR_NOREPLY || ctp->rcvid <= 0) return;
    if (ret == _RESMGR_DEFAULT) ret = ENOSYS;
    if (ret == EOK) {
        MsgReply(ctp->rcvid, ctp->status, NULL, 0);
    } else if (ret > 0) {
        MsgError(ctp->rcvid, ret);
    } else {
        int parts = -ret;
        if ((unsigned)parts > ctp->dpp->nparts_max) parts = (int)ctp->dpp->nparts_max;
        MsgReplyv(ctp->rcvid, ctp->status, ctp->iov, (size_t)parts);
    }
}

/* _IO_CONNECT: the link its handle names, then the subtype's handler. */
static int connect_msg(resmgr_context_t *ctp) {
    struct _io_connect *c = &ctp->msg->connect;
    size_t head = offsetof(struct _io_connect, path);
    if ((size_t)ctp->info.srcmsglen < head || (size_t)ctp->size < head) return EBADMSG;
    if ((size_t)ctp->info.srcmsglen < head + c->path_len || c->path_len == 0) return EBADMSG;
    if (c->subtype == _IO_CONNECT_COMBINE || c->subtype == _IO_CONNECT_COMBINE_CLOSE) return ENOSYS;
    struct link l;
    if (!find_link(ctp->dpp, (int)c->handle, &l) && !find_link(ctp->dpp, -1, &l)) return ENOENT;
    ctp->id = l.id;
    const resmgr_connect_funcs_t *f = l.connect_funcs;
    if (f == NULL) return ENOSYS;
    switch (c->subtype) {
    case _IO_CONNECT_OPEN:
        return f->nfuncs >= 1 && f->open ? f->open(ctp, (io_open_t *)c, l.handle, NULL) : ENOSYS;
    case _IO_CONNECT_UNLINK:
        return f->nfuncs >= 2 && f->unlink ? f->unlink(ctp, (io_unlink_t *)c, l.handle, NULL) : ENOSYS;
    case _IO_CONNECT_RENAME:
        return f->nfuncs >= 3 && f->rename ? f->rename(ctp, (io_rename_t *)c, l.handle, NULL) : ENOSYS;
    case _IO_CONNECT_MKNOD:
        return f->nfuncs >= 4 && f->mknod ? f->mknod(ctp, (io_mknod_t *)c, l.handle, NULL) : ENOSYS;
    case _IO_CONNECT_READLINK:
        return f->nfuncs >= 5 && f->readlink ? f->readlink(ctp, (io_readlink_t *)c, l.handle, NULL) : ENOSYS;
    case _IO_CONNECT_LINK:
        return f->nfuncs >= 6 && f->link ? f->link(ctp, (io_link_t *)c, l.handle, NULL) : ENOSYS;
    case _IO_CONNECT_MOUNT:
        return f->nfuncs >= 8 && f->mount ? f->mount(ctp, (io_mount_t *)c, l.handle, NULL) : ENOSYS;
    default:
        return ENOSYS;
    }
}

/* Serves a connect message, reading all of it first if the buffer held
 * only its start (a long path). */
static void serve_connect(resmgr_context_t *ctp) {
    size_t total = (size_t)ctp->info.srcmsglen;
    if (total <= (size_t)ctp->size || total > 65536 + 1024) {
        reply(ctp, total > 65536 + 1024 ? ENAMETOOLONG : connect_msg(ctp));
        return;
    }
    resmgr_iomsgs_t *own = ctp->msg;
    char *whole = (char *)malloc(total + 1);
    if (whole == NULL) {
        reply(ctp, ENOMEM);
        return;
    }
    ssize_t n = MsgRead(ctp->rcvid, whole, total, 0);
    if (n < 0) {
        free(whole);
        reply(ctp, errno);
        return;
    }
    whole[n] = 0;
    ctp->msg = (resmgr_iomsgs_t *)(void *)whole;
    int size = ctp->size;
    ctp->size = (int)n;
    int ret = connect_msg(ctp);
    reply(ctp, ret);
    ctp->msg = own;
    ctp->size = size;
    free(whole);
}

/* The shortest message of each I/O type. */
static size_t min_size(int type) {
    switch (type) {
    case _IO_READ: return sizeof(struct _io_read);
    case _IO_WRITE: return sizeof(struct _io_write);
    case _IO_STAT: return sizeof(struct _io_stat);
    case _IO_NOTIFY: return offsetof(struct _io_notify, event);
    case _IO_DEVCTL: return sizeof(struct _io_devctl);
    case _IO_LSEEK: return sizeof(struct _io_lseek);
    case _IO_SPACE: return sizeof(struct _io_space);
    case _IO_CHMOD: return sizeof(struct _io_chmod);
    case _IO_CHOWN: return sizeof(struct _io_chown);
    case _IO_MSG: return sizeof(struct _io_msg);
    default: return sizeof(struct _io_header);
    }
}

/* A read or write of _IO_XTYPE_OFFSET (pread, pwrite) carries its
 * struct _xtype_offset (else EBADMSG), with a position of at least 0
 * (else EINVAL, as pread's); EOK for every other message. */
static int check_xtype_offset(resmgr_context_t *ctp, int type) {
    if (type != _IO_READ && type != _IO_WRITE) return EOK;
    if ((ctp->msg->read.i.xtype & _IO_XTYPE_MASK) != _IO_XTYPE_OFFSET) return EOK;
    if ((size_t)ctp->size < sizeof(struct _io_read) + sizeof(struct _xtype_offset)) return EBADMSG;
    struct _xtype_offset off;
    memcpy(&off, (const char *)ctp->msg + sizeof(struct _io_read), sizeof off);
    return off.offset < 0 ? EINVAL : EOK;
}

/* An I/O message: its binding's handler, with the OCB locked. */
static int io_msg(resmgr_context_t *ctp, int type) {
    if ((size_t)ctp->size < min_size(type)) return EBADMSG;
    if (ctp->msg->header.combine_len & _IO_COMBINE_FLAG) return ENOSYS;
    int bad = check_xtype_offset(ctp, type);
    if (bad != EOK) return bad;
    if (type == _IO_NOTIFY && (size_t)ctp->size < sizeof(struct _io_notify)) {
        /* A poll without an event: none. */
        memset((char *)ctp->msg + ctp->size, 0, sizeof(struct _io_notify) - (size_t)ctp->size);
    }
    struct binding *b = use_binding(ctp->dpp, ctp->info.scoid, ctp->info.coid);
    if (b == NULL) return EBADF;
    ctp->id = b->link;
    int ret;
    if (type == _IO_CLOSE) {
        io_handler_t close_dup = as_handler(io_func(b->io_funcs, _IO_CLOSE));
        ret = close_dup != NULL ? close_dup(ctp, ctp->msg, b->ocb) : EOK;
        pthread_mutex_lock(&ctp->dpp->lock);
        if (!b->closing) unbind_locked(ctp->dpp, b);
        pthread_mutex_unlock(&ctp->dpp->lock);
    } else {
        io_handler_t f = as_handler(io_func(b->io_funcs, type));
        io_handler_t lock = as_handler(io_func(b->io_funcs, _IO_RSVD_LOCK_OCB));
        io_handler_t unlock = as_handler(io_func(b->io_funcs, _IO_RSVD_UNLOCK_OCB));
        if (f == NULL) {
            ret = ENOSYS;
        } else {
            if (lock != NULL) lock(ctp, NULL, b->ocb);
            ret = f(ctp, ctp->msg, b->ocb);
            if (unlock != NULL) unlock(ctp, NULL, b->ocb);
        }
    }
    /* The reply goes before the binding is let go: its data may be the
     * OCB's, and a close's close handler runs after the client is told. */
    reply(ctp, ret);
    release_binding(ctp, b);
    return _RESMGR_NOREPLY;
}

/* The unblock pulse: the unblock handler of the message's OCB, then the
 * default (EINTR to the client, if its message is still held). */
static void unblock(resmgr_context_t *ctp, int rcvid) {
    struct _msg_info info;
    if (MsgInfo(rcvid, &info) == -1) return; /* answered meanwhile */
    int ret = _RESMGR_DEFAULT;
    struct binding *b = use_binding(ctp->dpp, info.scoid, info.coid);
    if (b != NULL) {
        io_handler_t f = as_handler(io_func(b->io_funcs, _IO_RSVD_UNBLOCK));
        if (f != NULL) ret = f(ctp, &ctp->msg->pulse, b->ocb);
        release_binding(ctp, b);
    }
    if (ret == _RESMGR_DEFAULT) MsgError(rcvid, EINTR);
}

static int find_pulse(dispatch_t *dpp, int code, struct pulse_code *out) {
    int found = 0;
    pthread_mutex_lock(&dpp->lock);
    for (int i = 0; i < dpp->npulses && !found; i++) {
        if (dpp->pulses[i].code == code) {
            *out = dpp->pulses[i];
            found = 1;
        }
    }
    pthread_mutex_unlock(&dpp->lock);
    return found;
}

static int pulse(resmgr_context_t *ctp) {
    struct _pulse *p = &ctp->msg->pulse;
    struct pulse_code h = {0, NULL, NULL};
    int handled = find_pulse(ctp->dpp, p->code, &h);
    if (p->code == _PULSE_CODE_DISCONNECT) {
        disconnect(ctp, p->scoid);
        if (handled) h.func(ctp, p->code, 0, h.handle);
        return 0;
    }
    if (handled) {
        h.func(ctp, p->code, 0, h.handle);
        return 0;
    }
    if (p->code == _PULSE_CODE_UNBLOCK) {
        unblock(ctp, p->value.sival_int);
        return 0;
    }
    return -1;
}

static int find_range(dispatch_t *dpp, int type, struct msg_range *out) {
    int found = 0;
    pthread_mutex_lock(&dpp->lock);
    for (int i = 0; i < dpp->nranges && !found; i++) {
        if (dpp->ranges[i].low <= type && type <= dpp->ranges[i].high) {
            *out = dpp->ranges[i];
            found = 1;
        }
    }
    pthread_mutex_unlock(&dpp->lock);
    return found;
}

/* The other_func of the first link that has one. */
static int find_other(dispatch_t *dpp, struct link *out) {
    int found = 0;
    pthread_mutex_lock(&dpp->lock);
    for (int i = 0; i < dpp->nlinks && !found; i++) {
        if (dpp->links[i].other_func != NULL) {
            *out = dpp->links[i];
            found = 1;
        }
    }
    pthread_mutex_unlock(&dpp->lock);
    return found;
}

int dispatch_handler(dispatch_context_t *dctp) {
    resmgr_context_t *ctp = &dctp->resmgr_context;
    ctp->status = 0;
    ctp->offset = 0;
    ctp->id = -1;
    if (ctp->rcvid == 0) return pulse(ctp);
    if (ctp->size < (int)sizeof(uint16_t)) {
        MsgError(ctp->rcvid, EBADMSG);
        return 0;
    }
    int type = ctp->msg->type;
    struct msg_range r;
    if (find_range(ctp->dpp, type, &r)) {
        r.func(ctp, type, 0, r.handle);
        return 0;
    }
    if (type == _IO_CONNECT) {
        serve_connect(ctp);
        return 0;
    }
    if (type > _IO_BASE && type <= _IO_MAX) {
        reply(ctp, io_msg(ctp, type));
        return 0;
    }
    struct link l;
    if (find_other(ctp->dpp, &l)) {
        ctp->id = l.id;
        reply(ctp, l.other_func(ctp, ctp->msg));
        return 0;
    }
    MsgError(ctp->rcvid, ENOSYS);
    return -1;
}

int resmgr_handler(resmgr_context_t *ctp) {
    return dispatch_handler((dispatch_context_t *)(void *)ctp);
}

/* ---- Working on the message. ---- */

ssize_t resmgr_msgread(resmgr_context_t *ctp, void *msg, size_t nbytes, size_t offset) {
    return MsgRead(ctp->rcvid, msg, nbytes, (size_t)ctp->offset + offset);
}

ssize_t resmgr_msgreadv(resmgr_context_t *ctp, iov_t *iov, int nparts, size_t offset) {
    return MsgReadv(ctp->rcvid, iov, (size_t)nparts, (size_t)ctp->offset + offset);
}

ssize_t resmgr_msgwrite(resmgr_context_t *ctp, const void *msg, size_t nbytes, size_t offset) {
    return MsgWrite(ctp->rcvid, msg, nbytes, offset);
}

ssize_t resmgr_msgwritev(resmgr_context_t *ctp, const iov_t *iov, int nparts, size_t offset) {
    return MsgWritev(ctp->rcvid, iov, (size_t)nparts, offset);
}

int resmgr_msgreply(resmgr_context_t *ctp, void *msg, size_t nbytes) {
    return MsgReply(ctp->rcvid, ctp->status, msg, nbytes);
}

int resmgr_msgreplyv(resmgr_context_t *ctp, iov_t *iov, int nparts) {
    return MsgReplyv(ctp->rcvid, ctp->status, iov, (size_t)nparts);
}
