/* Priorities seen from C: messages queued while the server is busy are
 * received highest priority first, each reporting its sender's priority;
 * a server thread working on a real-time client's message runs at that
 * client's priority (inheritance), seen in the kernel's view of it.
 * Needs SCHED_FIFO (root or RLIMIT_RTPRIO): skipped otherwise. */
#include "t.h"

static struct chan_pipe info_pipe, held, go;

/* The priority the kernel runs thread `tid` at (field 18 of stat: -1 -
 * the real-time priority for a real-time thread), and its state. */
static int kernel_view(pid_t tid, char *state) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    CHECK(p != NULL);
    p += 2;
    if (state) *state = *p;
    for (int field = 3; field < 18; field++) {
        p = strchr(p, ' ');
        CHECK(p != NULL);
        p++;
    }
    return atoi(p);
}

static void server(void) {
    int chid = t_announce_channel(info_pipe, 0);
    int v;
    struct _msg_info info;
    /* Busy with the first call while the others queue up. */
    rcvid_t holder = MsgReceive(chid, &v, sizeof v, &info);
    CHECK(holder > 0 && v == 0);
    t_put(held, 1);
    CHECK(t_get(go) == 1);
    CHECK(MsgReply(holder, 0, NULL, 0) == 0);
    int want[3] = { 30, 20, 10 };
    for (int i = 0; i < 3; i++) {
        rcvid_t r = MsgReceive(chid, &v, sizeof v, &info);
        CHECK(r > 0);
        if (v != want[i] || info.priority != want[i]) {
            fprintf(stderr, "received priority %d (info %d), wanted %d\n", v, info.priority, want[i]);
            exit(1);
        }
        /* Working for a FIFO client, this (normal) thread runs at its
         * priority until it replies. */
        int seen = 0;
        for (int tries = 0; tries < 10000 && (seen = kernel_view(gettid(), NULL)) != -1 - want[i]; tries++)
            usleep(1000);
        if (seen != -1 - want[i]) {
            fprintf(stderr, "server thread at kernel priority %d, wanted %d\n", seen, -1 - want[i]);
            exit(1);
        }
        CHECK(MsgReply(r, 0, NULL, 0) == 0);
    }
    CHECK(sched_getscheduler(0) == SCHED_OTHER);
}

static int coid;

static void *call(void *arg) {
    int v = (int)(intptr_t)arg;
    CHECK(MsgSend(coid, &v, sizeof v, NULL, 0) == 0);
    return NULL;
}

struct caller { pthread_t thread; pid_t tid; int prio; };

static void *rt_call(void *arg) {
    struct caller *c = arg;
    __atomic_store_n(&c->tid, gettid(), __ATOMIC_RELEASE);
    return call((void *)(intptr_t)c->prio);
}

static void client(void) {
    int pid = t_get(info_pipe), chid = t_get(info_pipe);
    coid = ConnectAttach(0, pid, chid, 0, 0);
    CHECK(coid >= 0);
    pthread_t holder;
    CHECK(pthread_create(&holder, NULL, call, (void *)(intptr_t)0) == 0);
    CHECK(t_get(held) == 1);
    struct caller c[3] = { { 0, 0, 10 }, { 0, 0, 30 }, { 0, 0, 20 } };
    for (int i = 0; i < 3; i++) {
        pthread_attr_t a;
        struct sched_param sp = { .sched_priority = c[i].prio };
        pthread_attr_init(&a);
        pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED);
        pthread_attr_setschedpolicy(&a, SCHED_FIFO);
        pthread_attr_setschedparam(&a, &sp);
        CHECK(pthread_create(&c[i].thread, &a, rt_call, &c[i]) == 0);
        pthread_attr_destroy(&a);
        /* Queued (asleep in its send) before the next one starts. */
        char state = 0;
        while (__atomic_load_n(&c[i].tid, __ATOMIC_ACQUIRE) == 0 || (kernel_view(c[i].tid, &state), state != 'S'))
            usleep(1000);
    }
    t_put(go, 1);
    CHECK(pthread_join(holder, NULL) == 0);
    for (int i = 0; i < 3; i++) CHECK(pthread_join(c[i].thread, NULL) == 0);
}

int main(void) {
    t_watchdog(60);
    struct sched_param sp = { .sched_priority = 1 };
    if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0) {
        printf("skipped: SCHED_FIFO not permitted (%s): needs root or RLIMIT_RTPRIO\n", strerror(errno));
        return 77;
    }
    sp.sched_priority = 0;
    CHECK(sched_setscheduler(0, SCHED_OTHER, &sp) == 0);
    info_pipe = t_pipe();
    held = t_pipe();
    go = t_pipe();
    pid_t s = t_fork(server);
    pid_t c = t_fork(client);
    t_wait_ok(c);
    t_wait_ok(s);
    return 0;
}
