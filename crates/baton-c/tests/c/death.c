/* A server killed while its client is REPLY-blocked: the client's call
 * fails with ESRCH, later sends with EBADF, and the client's
 * _NTO_CHF_COID_DISCONNECT channel gets the COIDDEATH pulse for the coid. */
#include "t.h"

static struct chan_pipe info_pipe;

static void server(void) {
    int chid = t_announce_channel(info_pipe, 0);
    int v;
    CHECK(MsgReceive(chid, &v, sizeof v, NULL) > 0);
    kill(getpid(), SIGKILL);
}

static void client(void) {
    int pid = t_get(info_pipe), chid = t_get(info_pipe);
    int deaths = ChannelCreate(_NTO_CHF_COID_DISCONNECT);
    CHECK(deaths > 0);
    int coid = ConnectAttach(0, pid, chid, 0, 0);
    CHECK(coid >= 0);
    int v = 1;
    CHECK_ERR(MsgSend(coid, &v, sizeof v, NULL, 0), ESRCH);
    CHECK_ERR(MsgSend(coid, &v, sizeof v, NULL, 0), EBADF);
    CHECK_ERR(MsgSendPulse(coid, -1, 1, 1), EBADF);
    struct _pulse p;
    CHECK(MsgReceivePulse(deaths, &p, sizeof p, NULL) == 0);
    CHECK(p.code == _PULSE_CODE_COIDDEATH && p.value.sival_int == coid && p.scoid == -1);
    CHECK(ConnectDetach(coid) == 0);
    /* Connecting to the dead server's channel: no such process/channel. */
    CHECK_ERR(ConnectAttach(0, pid, chid, 0, 0), ESRCH);
}

int main(void) {
    t_watchdog(60);
    info_pipe = t_pipe();
    pid_t s = t_fork(server);
    pid_t c = t_fork(client);
    t_wait_ok(c);
    int st;
    CHECK(waitpid(s, &st, 0) == s && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    return 0;
}
