/* QNX's ionotify() from C on the Rust blocking queue example
 * (examples/src/bin/resmgr-queue.rs, serving argv[1]): a poll says output
 * is possible and input not; a pulse (SIGEV_PULSE_INIT to a channel of
 * this process) armed for input arrives once another client (a process of
 * its own) writes; an arm while data is queued reports input at once and
 * arms nothing; ionotify on a descriptor that is not a resource
 * manager's is EBADF. Prints "pulse <code> <value>" for each pulse. */
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sys/iomsg.h>
#include <sys/neutrino.h>

#include "cross.h"

#define CODE 9

static void expect_pulse(int chid, int value) {
    struct _pulse p;
    CHECK(MsgReceivePulse(chid, &p, sizeof p, NULL) == 0);
    printf("pulse %d %d\n", p.code, p.value.sival_int);
    fflush(stdout);
    CHECK(p.code == CODE && p.value.sival_int == value);
}

int main(int argc, char **argv) {
    CHECK(argc == 2);
    const char *path = argv[1];
    alarm(120); /* the watchdog: a pulse that never comes */
    int go[2];
    CHECK(pipe(go) == 0);

    /* The other client, forked before this process uses baton: writes
     * once told to. */
    pid_t writer = fork();
    CHECK(writer >= 0);
    if (writer == 0) {
        char c;
        CHECK(read(go[0], &c, 1) == 1);
        int fd = open(path, O_WRONLY);
        CHECK(fd >= 0 && write(fd, "ping", 4) == 4 && close(fd) == 0);
        _exit(0);
    }

    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    int chid = ChannelCreate(0);
    CHECK(chid != -1);
    int self = ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(self != -1);
    const int both = (int)(_NOTIFY_COND_INPUT | _NOTIFY_COND_OUTPUT);
    CHECK(ionotify(fd, _NOTIFY_ACTION_POLL, both, NULL) == (int)_NOTIFY_COND_OUTPUT);

    struct sigevent ev;
    SIGEV_PULSE_INIT(&ev, self, SIGEV_PULSE_PRIO_INHERIT, CODE, 1234);
    CHECK(ionotify(fd, _NOTIFY_ACTION_POLLARM, (int)_NOTIFY_COND_INPUT, &ev) == 0); /* armed */
    CHECK(write(go[1], "w", 1) == 1);
    expect_pulse(chid, 1234);
    int st;
    CHECK(waitpid(writer, &st, 0) == writer && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(ionotify(fd, _NOTIFY_ACTION_POLL, both, NULL) == both);

    /* Data queued: the arm reports input and arms nothing. */
    SIGEV_PULSE_INIT(&ev, self, SIGEV_PULSE_PRIO_INHERIT, CODE, 5678);
    CHECK(ionotify(fd, _NOTIFY_ACTION_POLLARM, (int)_NOTIFY_COND_INPUT, &ev) == (int)_NOTIFY_COND_INPUT);
    char buf[16];
    CHECK(read(fd, buf, sizeof buf) == 4 && memcmp(buf, "ping", 4) == 0);
    /* Empty again: armed, and a write through another open of this
     * process delivers it (the earlier arm was delivered once: one pulse). */
    CHECK(ionotify(fd, _NOTIFY_ACTION_POLLARM, (int)_NOTIFY_COND_INPUT, &ev) == 0);
    int w = open(path, O_WRONLY);
    CHECK(w >= 0 && write(w, "x", 1) == 1);
    expect_pulse(chid, 5678);
    CHECK(read(fd, buf, sizeof buf) == 1 && buf[0] == 'x');
    CHECK(close(w) == 0 && close(fd) == 0);

    CHECK_ERR(ionotify(go[0], _NOTIFY_ACTION_POLL, both, NULL), EBADF);
    printf("ok\n");
    return 0;
}
