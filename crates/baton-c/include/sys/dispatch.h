/*
 * sys/dispatch.h (baton): QNX's dispatch layer and names.
 *
 * - name_attach() family: a name lives in the baton runtime directory
 *   (QNX: /dev/name/local/<name>). name_attach() takes NULL for the
 *   dispatch and creates its own channel, with _NTO_CHF_DISCONNECT |
 *   _NTO_CHF_COID_DISCONNECT | _NTO_CHF_UNBLOCK as QNX gives it.
 *   name_open() sends no _IO_CONNECT message (QNX 7 without the global
 *   name service does not either).
 * - dispatch_create() makes a channel (_NTO_CHF_UNBLOCK |
 *   _NTO_CHF_DISCONNECT) that resource managers (resmgr_attach, in
 *   <sys/resmgr.h>), message-type ranges (message_attach) and pulse codes
 *   (pulse_attach) share; a loop of dispatch_block() and
 *   dispatch_handler(), or a thread pool (thread_pool_*), serves it.
 * - select_attach() watches any Linux descriptor (a pipe, a socket, a tty,
 *   an eventfd; not a regular file: EPERM) for the dispatch: a thread of
 *   the dispatch's own waits in epoll and sends the channel a pulse when
 *   the descriptor is ready, and dispatch_handler() calls the function
 *   with what is ready now (SELECT_FLAG_READ/WRITE/EXCEPT, SRVEXCEPT for a
 *   hang-up or an error if asked for). Re-armed after each call unless
 *   SELECT_FLAG_NOREARM (then select_attach() again re-arms it);
 *   select_attach() of an attached descriptor replaces its flags and
 *   function.
 */
#ifndef _BATON_SYS_DISPATCH_H
#define _BATON_SYS_DISPATCH_H

#include <sys/neutrino.h>
#include <sys/iomsg.h>
#include <pthread.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef _BATON_DISPATCH_T
#define _BATON_DISPATCH_T
typedef struct _dispatch dispatch_t;
#endif

/* name_attach() flags: a global name is attached locally (no network). */
#define NAME_FLAG_ATTACH_GLOBAL  0x00000002
/* name_detach() flags: keep the dispatch (baton has none to destroy). */
#define NAME_FLAG_DETACH_SAVEDPP 0x00000001

typedef struct _name_attach {
    dispatch_t *dpp;  /* always NULL */
    int chid;         /* the channel to MsgReceive() on */
    int mntid;
    int zero[2];
} name_attach_t;

/* Attaches `path` (no leading '/', no "..": EINVAL) with a new channel;
 * NULL and errno on failure. dpp must be NULL (EINVAL otherwise). */
name_attach_t *name_attach(dispatch_t *__dpp, const char *__path, unsigned __flags);
/* Removes the name and destroys its channel. */
int name_detach(name_attach_t *__attach, unsigned __flags);
/* Connects to the channel attached as `name`: a side-channel coid
 * (ENOENT: no such name). */
int name_open(const char *__name, int __flags);
/* ConnectDetach(coid). */
int name_close(int __coid);

#ifdef __cplusplus
}
#endif

/* The iofunc layer first, so that RESMGR_HANDLE_T and RESMGR_OCB_T get
 * its types unless the program chose its own (as on QNX). */
#include <sys/iofunc.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A message_attach() / pulse_attach() / select_attach() handler's
 * context: the same as a resource manager's. */
typedef struct _resmgr_context message_context_t;
typedef struct _resmgr_context select_context_t;

/* What dispatch_block() fills and dispatch_handler() serves. */
typedef union _dispatch_context {
    resmgr_context_t resmgr_context;
    message_context_t message_context;
    select_context_t select_context;
} dispatch_context_t;

/* dispatch_create_channel() flags. */
#define DISPATCH_FLAG_NOLOCK 0x00000001

/* message_attach() / pulse_attach() flags. */
#define MSG_FLAG_ALLOC_PULSE   0x00000001 /* pulse_attach: pick a free code */
#define MSG_FLAG_DEFAULT_FUNC  0x00000100
#define MSG_FLAG_SIDE_CHANNEL  0x00000200
#define MSG_FLAG_TYPE_PULSE    0x00000400
#define MSG_FLAG_TYPE_RESMGR   0x00000800
#define MSG_FLAG_TYPE_MESSAGE  0x00001000

/* message_attach()'s attributes. */
typedef struct _message_attr {
    unsigned flags;
    unsigned nparts_max;
    size_t msg_max_size;
    unsigned reserved[4];
} message_attr_t;

/* A dispatch with a new channel (_NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT),
 * or on channel chid (-1: a new one). NULL and errno on failure. */
dispatch_t *dispatch_create(void);
dispatch_t *dispatch_create_channel(int __chid, unsigned __flags);
/* Detaches everything and destroys the channel dispatch_create() made. */
int dispatch_destroy(dispatch_t *__dpp);
/* A context sized for every attach so far (attach first). */
dispatch_context_t *dispatch_context_alloc(dispatch_t *__dpp);
void dispatch_context_free(dispatch_context_t *__ctp);
/* Receives the next message or pulse into ctp; NULL and errno on error. */
dispatch_context_t *dispatch_block(dispatch_context_t *__ctp);
/* Serves what dispatch_block() received: 0, or -1 if nothing handles it
 * (a message then gets ENOSYS). */
int dispatch_handler(dispatch_context_t *__ctp);
/* Wakes the threads blocked in dispatch_block() on ctp's dispatch. */
void dispatch_unblock(dispatch_context_t *__ctp);
/* The channel of a dispatch. */
int _dispatch_chid(dispatch_t *__dpp);

/* Messages whose type is in low..high (not I/O messages) go to func,
 * which answers them itself; its return value is ignored. */
int message_attach(dispatch_t *__dpp, message_attr_t *__attr, int __low, int __high,
                   int (*__func)(message_context_t *__ctp, int __code, unsigned __flags, void *__handle),
                   void *__handle);
int message_detach(dispatch_t *__dpp, int __low, int __high, int __flags);
/* Pulses of `code` (or, with MSG_FLAG_ALLOC_PULSE, of a free code 0..127
 * picked for the caller) go to func; returns the code, or -1 and errno. */
int pulse_attach(dispatch_t *__dpp, int __flags, int __code,
                 int (*__func)(message_context_t *__ctp, int __code, unsigned __flags, void *__handle),
                 void *__handle);
int pulse_detach(dispatch_t *__dpp, int __code, int __flags);

/* select_attach() conditions (what is asked for, and what func is told
 * is ready) and flags. */
#define SELECT_FLAG_READ      _NOTIFY_COND_INPUT
#define SELECT_FLAG_WRITE     _NOTIFY_COND_OUTPUT
#define SELECT_FLAG_EXCEPT    _NOTIFY_COND_OBAND
#define SELECT_FLAG_REARM     0x00000001 /* the default */
#define SELECT_FLAG_SRVEXCEPT 0x00000002 /* hang-up or error */
#define SELECT_FLAG_NOREARM   0x00000004 /* one call, then disarmed */

typedef struct _select_attr {
    unsigned flags; /* none defined; attr may be NULL */
    unsigned reserved[3];
} select_attr_t;

/* Calls func(ctp, fd, ready, handle) from dispatch_handler() when fd is
 * ready for what flags ask (0, or -1 and errno: EINVAL, EBADF, EPERM for
 * a descriptor epoll cannot watch). */
int select_attach(void *__dpp, select_attr_t *__attr, int __fd, unsigned __flags,
                  int (*__func)(select_context_t *__ctp, int __fd, unsigned __flags, void *__handle),
                  void *__handle);
/* Stops watching fd (EINVAL if it is not attached). */
int select_detach(void *__dpp, int __fd);
/* Whether ctp holds a select event (from dispatch_block()): 0 and the
 * descriptor, what is ready, its function and handle; -1 and EINVAL if
 * ctp holds anything else. Any pointer may be NULL. */
int select_query(select_context_t *__ctp, int *__fd, unsigned *__flags,
                 int (**__func)(select_context_t *__ctp, int __fd, unsigned __flags, void *__handle),
                 void **__handle);

/* Thread pools: between lo_water and hi_water threads wait in block_func;
 * when fewer wait, increment more start (up to maximum); when more, the
 * extra ones end after their handler returns. */
#ifndef THREAD_POOL_HANDLE_T
#define THREAD_POOL_HANDLE_T dispatch_t
#endif
#ifndef THREAD_POOL_PARAM_T
#define THREAD_POOL_PARAM_T dispatch_context_t
#endif

typedef struct _thread_pool_attr {
    THREAD_POOL_HANDLE_T *handle;
    THREAD_POOL_PARAM_T *(*block_func)(THREAD_POOL_PARAM_T *__ctp);
    void (*unblock_func)(THREAD_POOL_PARAM_T *__ctp);
    int (*handler_func)(THREAD_POOL_PARAM_T *__ctp);
    THREAD_POOL_PARAM_T *(*context_alloc)(THREAD_POOL_HANDLE_T *__handle);
    void (*context_free)(THREAD_POOL_PARAM_T *__ctp);
    pthread_attr_t *attr;
    unsigned short lo_water;
    unsigned short increment;
    unsigned short hi_water;
    unsigned short maximum;
    unsigned reserved[8];
} thread_pool_attr_t;

typedef struct _thread_pool thread_pool_t;

/* thread_pool_create() flags: thread_pool_start() makes the calling
 * thread one of the pool's (USE_SELF) or ends it (EXIT_SELF) instead of
 * returning. */
#define POOL_FLAG_EXIT_SELF 0x00000001
#define POOL_FLAG_USE_SELF  0x00000002

thread_pool_t *thread_pool_create(thread_pool_attr_t *__attr, unsigned __flags);
int thread_pool_start(void *__pool);
/* Stops the pool's threads (each wakes through unblock_func, or when its
 * handler returns) and waits for them; frees the pool. */
int thread_pool_destroy(thread_pool_t *__pool);
/* How many of the pool's threads exist and how many wait (baton). */
int thread_pool_counts(thread_pool_t *__pool, int *__threads, int *__waiting);

#ifdef __cplusplus
}
#endif

#endif /* _BATON_SYS_DISPATCH_H */
