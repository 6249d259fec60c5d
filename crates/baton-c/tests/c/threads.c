/* A multi-threaded server: the receiving thread hands each rcvid to one of
 * three worker threads, which reply; four client threads call at once. */
#include "t.h"

#define CLIENT_THREADS 4
#define CALLS 100
#define WORKERS 3

static struct chan_pipe info_pipe, work;
static int server_pid, server_chid;

struct job { rcvid_t rcvid; int value; };

static void *worker(void *arg) {
    (void)arg;
    for (;;) {
        struct job j;
        CHECK(read(work.rd, &j, sizeof j) == (ssize_t)sizeof j);
        if (j.rcvid == 0) return NULL;
        int answer = j.value + 1;
        CHECK(MsgReply(j.rcvid, 0, &answer, sizeof answer) == 0);
    }
}

static void server(void) {
    int chid = t_announce_channel(info_pipe, 0);
    work = t_pipe();
    pthread_t t[WORKERS];
    for (int i = 0; i < WORKERS; i++) CHECK(pthread_create(&t[i], NULL, worker, NULL) == 0);
    for (int n = 0; n < CLIENT_THREADS * CALLS; n++) {
        struct job j;
        j.rcvid = MsgReceive(chid, &j.value, sizeof j.value, NULL);
        CHECK(j.rcvid > 0);
        CHECK(write(work.wr, &j, sizeof j) == (ssize_t)sizeof j);
    }
    for (int i = 0; i < WORKERS; i++) {
        struct job stop = { 0, 0 };
        CHECK(write(work.wr, &stop, sizeof stop) == (ssize_t)sizeof stop);
    }
    for (int i = 0; i < WORKERS; i++) CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(ChannelDestroy(chid) == 0);
    CHECK_ERR(ChannelDestroy(chid), EINVAL);
}

static void *caller(void *arg) {
    int base = (int)(intptr_t)arg * 1000000;
    int coid = ConnectAttach(ND_LOCAL_NODE, server_pid, server_chid, 0, 0);
    CHECK(coid >= 0);
    for (int i = 0; i < CALLS; i++) {
        int v = base + i, answer = 0;
        CHECK(MsgSend(coid, &v, sizeof v, &answer, sizeof answer) == 0);
        CHECK(answer == v + 1);
    }
    CHECK(ConnectDetach(coid) == 0);
    return NULL;
}

static void client(void) {
    server_pid = t_get(info_pipe);
    server_chid = t_get(info_pipe);
    pthread_t t[CLIENT_THREADS];
    for (int i = 0; i < CLIENT_THREADS; i++) CHECK(pthread_create(&t[i], NULL, caller, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < CLIENT_THREADS; i++) CHECK(pthread_join(t[i], NULL) == 0);
}

int main(void) {
    return t_server_client(60, &info_pipe, server, client);
}
