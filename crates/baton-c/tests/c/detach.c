/* ConnectDetach from another thread (SEMANTICS.md, "ConnectDetach"):
 * threads blocked on the coid, REPLY-blocked on a message the server holds
 * or SEND-blocked on a channel nobody receives on, wake with EBADF; later
 * calls on it fail with EBADF; another coid to the same channel (sharing
 * the connection) keeps working; the server's answer to the abandoned
 * message fails with ESRCH. */
#include "t.h"

static struct chan_pipe info_pipe;

static void server(void) {
    int held_chid = ChannelCreate(0), idle_chid = ChannelCreate(0);
    CHECK(held_chid > 0 && idle_chid > 0);
    t_put(info_pipe, getpid());
    t_put(info_pipe, held_chid);
    t_put(info_pipe, idle_chid);
    /* "hold" (kept) and "go?" (answered once "hold" is held), in either
     * order; then "after". */
    rcvid_t hold = 0, go = 0;
    while (!hold || !go) {
        char m[8] = { 0 };
        rcvid_t r = MsgReceive(held_chid, m, sizeof m, NULL);
        CHECK(r > 0);
        if (strcmp(m, "hold") == 0) hold = r;
        else if (strcmp(m, "go?") == 0) go = r;
        else CHECK(!"unexpected message");
    }
    CHECK(MsgReply(go, 0, NULL, 0) == 0);
    char m[8] = { 0 };
    rcvid_t r = MsgReceive(held_chid, m, sizeof m, NULL);
    CHECK(r > 0 && strcmp(m, "after") == 0);
    CHECK(MsgReply(r, 7, NULL, 0) == 0);
    /* The client left the held call. */
    CHECK_ERR(MsgReply(hold, 1, NULL, 0), ESRCH);
    t_get(info_pipe); /* the client is done */
}

struct call {
    int coid;
    const char *msg;
    long ret;
    int err;
};

static void *caller(void *arg) {
    struct call *c = arg;
    char reply[8];
    c->ret = MsgSend(c->coid, c->msg, strlen(c->msg) + 1, reply, sizeof reply);
    c->err = errno;
    return NULL;
}

static void client(void) {
    int pid = t_get(info_pipe), held_chid = t_get(info_pipe), idle_chid = t_get(info_pipe);
    int held = ConnectAttach(ND_LOCAL_NODE, pid, held_chid, 0, 0);
    int other = ConnectAttach(ND_LOCAL_NODE, pid, held_chid, _NTO_SIDE_CHANNEL, 0);
    int idle = ConnectAttach(ND_LOCAL_NODE, pid, idle_chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(held != -1 && other != -1 && idle != -1);
    struct call a = { held, "hold", 0, 0 }, b = { idle, "idle", 0, 0 };
    pthread_t ta, tb;
    CHECK(pthread_create(&ta, NULL, caller, &a) == 0);
    CHECK(pthread_create(&tb, NULL, caller, &b) == 0);
    /* Answered once the server holds "hold": that thread is REPLY-blocked. */
    CHECK(MsgSend(other, "go?", 4, NULL, 0) == 0);
    usleep(100 * 1000); /* the SEND-blocked thread goes to sleep */
    CHECK(ConnectDetach(held) == 0);
    CHECK(ConnectDetach(idle) == 0);
    CHECK(pthread_join(ta, NULL) == 0 && pthread_join(tb, NULL) == 0);
    CHECK(a.ret == -1 && a.err == EBADF);
    CHECK(b.ret == -1 && b.err == EBADF);
    CHECK_ERR(MsgSend(held, "x", 2, NULL, 0), EBADF);
    CHECK_ERR(MsgSendPulse(idle, -1, 1, 1), EBADF);
    CHECK(MsgSend(other, "after", 6, NULL, 0) == 7);
    t_put(info_pipe, 0);
}

int main(void) {
    return t_server_client(60, &info_pipe, server, client);
}
