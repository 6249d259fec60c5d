/*
 * Thread pools (thread_pool_*): threads that loop on block_func and
 * handler_func with a context each. The pool keeps at least lo_water of
 * them waiting in block_func: when a thread leaves it with fewer waiting,
 * it starts `increment` more (up to `maximum`); when a thread finishes its
 * handler with hi_water already waiting, it ends.
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The public dispatch_context_alloc (framework.rs's export), which a
 * program puts in its pool attributes; this file's own name for it is the
 * internal one. */
extern dispatch_context_t *public_dispatch_context_alloc(dispatch_t *) __asm__("dispatch_context_alloc");

struct worker {
    struct worker *next;
    THREAD_POOL_PARAM_T *ctp;
    int waiting;
};

struct _thread_pool {
    thread_pool_attr_t attr;
    unsigned flags;
    pthread_mutex_t lock;
    pthread_cond_t gone;
    int threads; /* started and not yet ended */
    int waiting; /* in block_func */
    int starting; /* started, not yet in block_func the first time */
    int stopping;
    unsigned next_tid;
    struct worker *workers;
};

thread_pool_t *thread_pool_create(thread_pool_attr_t *attr, unsigned flags) {
    if (attr == NULL || attr->block_func == NULL || attr->handler_func == NULL || attr->context_alloc == NULL) {
        errno = EINVAL;
        return NULL;
    }
    thread_pool_t *pool = (thread_pool_t *)calloc(1, sizeof *pool);
    if (pool == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    pool->attr = *attr;
    if (pool->attr.lo_water == 0) pool->attr.lo_water = 1;
    if (pool->attr.increment == 0) pool->attr.increment = 1;
    if (pool->attr.hi_water < pool->attr.lo_water) pool->attr.hi_water = pool->attr.lo_water;
    if (pool->attr.maximum < pool->attr.hi_water) pool->attr.maximum = pool->attr.hi_water;
    pool->flags = flags;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->gone, NULL);
    return pool;
}

static void *worker_main(void *arg);

/* Starts n threads (the caller holds the lock); how many started. */
static int spawn_locked(thread_pool_t *pool, int n) {
    int started = 0;
    while (started < n && pool->threads < pool->attr.maximum) {
        pthread_t t;
        pthread_attr_t own, *a = pool->attr.attr;
        if (a == NULL) {
            pthread_attr_init(&own);
            a = &own;
        }
        pthread_attr_setdetachstate(a, PTHREAD_CREATE_DETACHED);
        int err = pthread_create(&t, a, worker_main, pool);
        if (a == &own) pthread_attr_destroy(&own);
        if (err != 0) break;
        pool->threads++;
        pool->starting++;
        started++;
    }
    return started;
}

/* One pool thread's life; the caller has counted it in pool->threads. */
static void work(thread_pool_t *pool) {
    THREAD_POOL_PARAM_T *ctp = pool->attr.context_alloc(pool->attr.handle);
    pthread_mutex_lock(&pool->lock);
    struct worker me;
    memset(&me, 0, sizeof me);
    if (ctp != NULL) {
        me.ctp = ctp;
        me.next = pool->workers;
        pool->workers = &me;
        /* A dispatch context learns its index (another context type is
         * the program's own business). */
        if (pool->attr.context_alloc == dispatch_context_alloc || pool->attr.context_alloc == public_dispatch_context_alloc)
            ctp->resmgr_context.tid = pool->next_tid++;
    }
    /* Counted as waiting from its start: spawning stops at lo_water. */
    pool->starting--;
    while (ctp != NULL && !pool->stopping) {
        me.waiting = 1;
        pool->waiting++;
        pthread_mutex_unlock(&pool->lock);
        THREAD_POOL_PARAM_T *got = pool->attr.block_func(ctp);
        int err = errno;
        pthread_mutex_lock(&pool->lock);
        me.waiting = 0;
        pool->waiting--;
        if (got == NULL) {
            if (err == EINTR || err == ETIMEDOUT) continue;
            break;
        }
        ctp = me.ctp = got;
        int idle = pool->waiting + pool->starting;
        if (idle < pool->attr.lo_water && !pool->stopping) {
            int want = pool->attr.increment;
            if (want < pool->attr.lo_water - idle) want = pool->attr.lo_water - idle;
            spawn_locked(pool, want);
        }
        pthread_mutex_unlock(&pool->lock);
        /* What was received is served even when the pool is stopping:
         * its client waits for an answer. */
        pool->attr.handler_func(ctp);
        pthread_mutex_lock(&pool->lock);
        if (pool->waiting >= pool->attr.hi_water) break;
    }
    struct worker **p = &pool->workers;
    while (*p != NULL && *p != &me) p = &(*p)->next;
    if (*p == &me) *p = me.next;
    pool->threads--;
    pthread_cond_broadcast(&pool->gone);
    pthread_mutex_unlock(&pool->lock);
    if (ctp != NULL && pool->attr.context_free != NULL) pool->attr.context_free(ctp);
}

static void *worker_main(void *arg) {
    work((thread_pool_t *)arg);
    return NULL;
}

int thread_pool_start(void *handle) {
    thread_pool_t *pool = (thread_pool_t *)handle;
    if (pool == NULL) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&pool->lock);
    int self = (pool->flags & POOL_FLAG_USE_SELF) != 0;
    int want = pool->attr.lo_water - self;
    int started = spawn_locked(pool, want);
    if (self) {
        pool->threads++;
        pool->starting++;
    }
    pthread_mutex_unlock(&pool->lock);
    if (started < want && started == 0 && !self) {
        errno = EAGAIN;
        return -1;
    }
    if (self) {
        work(pool);
        return 0;
    }
    if (pool->flags & POOL_FLAG_EXIT_SELF) pthread_exit(NULL);
    return 0;
}

int thread_pool_destroy(thread_pool_t *pool) {
    if (pool == NULL) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&pool->lock);
    pool->stopping = 1;
    while (pool->threads > 0) {
        /* Wake the threads waiting for a message, one unblock each. */
        if (pool->attr.unblock_func == NULL) break;
        for (struct worker *w = pool->workers; w != NULL; w = w->next)
            if (w->waiting) pool->attr.unblock_func(w->ctp);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 50 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&pool->gone, &pool->lock, &until);
    }
    int left = pool->threads;
    pthread_mutex_unlock(&pool->lock);
    if (left > 0) {
        /* Without unblock_func the waiting threads cannot be woken: they
         * keep the pool (leaked, not freed under them). */
        errno = EBUSY;
        return -1;
    }
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->gone);
    free(pool);
    return 0;
}

int thread_pool_counts(thread_pool_t *pool, int *threads, int *waiting) {
    pthread_mutex_lock(&pool->lock);
    if (threads != NULL) *threads = pool->threads;
    if (waiting != NULL) *waiting = pool->waiting;
    pthread_mutex_unlock(&pool->lock);
    return 0;
}
