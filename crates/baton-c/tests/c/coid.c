/* Connection ids: index 0 gives a coid that no other descriptor of the
 * process has (nor will have while it lives), an index gives one at or
 * above it, _NTO_SIDE_CHANNEL one outside the descriptor space; and the
 * errors of ConnectAttach, ConnectDetach and sends on a detached coid. */
#include "t.h"
#include <fcntl.h>

static struct chan_pipe info_pipe;

static void server(void) {
    int chid = t_announce_channel(info_pipe, 0);
    int v;
    CHECK_ERR(MsgReceive(chid + 100, &v, sizeof v, NULL), ESRCH);
    CHECK_ERR(ChannelCreate(0x10000), EINVAL);
    for (;;) {
        rcvid_t r = MsgReceive(chid, &v, sizeof v, NULL);
        CHECK(r > 0);
        CHECK(MsgReply(r, v, NULL, 0) == 0);
        if (v == 0) break;
    }
}

static void client(void) {
    int pid = t_get(info_pipe), chid = t_get(info_pipe);
    int before[3];
    for (int i = 0; i < 3; i++) CHECK((before[i] = open("/dev/null", O_RDONLY)) >= 0);
    int coid = ConnectAttach(ND_LOCAL_NODE, pid, chid, 0, 0);
    CHECK(coid >= 0 && coid < _NTO_SIDE_CHANNEL);
    for (int i = 0; i < 3; i++) CHECK(coid != before[i]);
    /* Its number is taken for its life: new descriptors get others. */
    for (int i = 0; i < 3; i++) close(before[i]);
    for (int i = 0; i < 8; i++) {
        int fd = open("/dev/null", O_RDONLY);
        CHECK(fd >= 0 && fd != coid);
        before[i % 3] = fd;
    }
    int v = 7;
    CHECK(MsgSend(coid, &v, sizeof v, NULL, 0) == 7);

    int high = ConnectAttach(0, pid, chid, 100, _NTO_COF_CLOEXEC);
    CHECK(high >= 100 && high < _NTO_SIDE_CHANNEL && high != coid);
    CHECK(MsgSend(high, &v, sizeof v, NULL, 0) == 7);
    int side = ConnectAttach(0, pid, chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE);
    CHECK(side >= _NTO_SIDE_CHANNEL);
    CHECK(fcntl(side, F_GETFD) == -1 && errno == EBADF); /* not a descriptor */
    CHECK(MsgSend(side, &v, sizeof v, NULL, 0) == 7);
    int self_chid = ChannelCreate(_NTO_CHF_PRIVATE);
    CHECK(self_chid > 0);
    int self = ConnectAttach(0, 0, self_chid, 0, 0); /* pid 0: this process */
    CHECK(self >= 0);
    CHECK(MsgSendPulse(self, -1, 3, 33) == 0);
    struct _pulse p;
    CHECK(MsgReceivePulse(self_chid, &p, sizeof p, NULL) == 0 && p.code == 3 && p.value.sival_int == 33);

    CHECK_ERR(ConnectAttach(1, pid, chid, 0, 0), ENOREMOTE);
    CHECK_ERR(ConnectAttach(0, pid, chid + 100, 0, 0), ESRCH);
    CHECK_ERR(ConnectAttach(0, 0x7ffffff0, chid, 0, 0), ESRCH);
    CHECK_ERR(ConnectAttach(0, pid, chid, 0, 0x8000), EINVAL);
    CHECK(ConnectAttach_r(1, pid, chid, 0, 0) == -ENOREMOTE);

    CHECK(ConnectDetach(high) == 0 && ConnectDetach(side) == 0);
    CHECK_ERR(MsgSend(side, &v, sizeof v, NULL, 0), EBADF);
    CHECK_ERR(ConnectDetach(side), EINVAL);
    CHECK(ConnectDetach_r(high) == -EINVAL);
    v = 0;
    CHECK(MsgSend(coid, &v, sizeof v, NULL, 0) == 0);
    CHECK(ConnectDetach(coid) == 0);
    CHECK_ERR(MsgSend(coid, &v, sizeof v, NULL, 0), EBADF);
}

int main(void) {
    return t_server_client(60, &info_pipe, server, client);
}
