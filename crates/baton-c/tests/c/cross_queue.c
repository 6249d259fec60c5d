/* The Rust blocking queue example (examples/src/bin/resmgr-queue.rs,
 * serving argv[1]) driven from C through baton's QNX client calls: a read
 * of the empty queue waits until another process writes; a read given up
 * by its TimerTimeout fails and the server still serves; an O_NONBLOCK
 * read of the empty queue is EAGAIN, also when fcntl(F_SETFL) set
 * O_NONBLOCK after a blocking open; its devctl says how many bytes are
 * queued, and the open flags as every device does. Prints "unblocked 1"
 * after the timed-out read (the test then expects the server's unblock
 * line). */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <devctl.h>
#include <sys/neutrino.h>

#include "cross.h"

/* The example's QUEUE_LEN: dcmd::diof(b'q', 1, 4). */
#define DCMD_QUEUE_LEN __DIOF('q', 1, int)

static int queued(int fd) {
    int n = -1, info = -1;
    CHECK(devctl(fd, DCMD_QUEUE_LEN, &n, sizeof n, &info) == EOK && info == 0);
    return n;
}

int main(int argc, char **argv) {
    CHECK(argc == 2);
    const char *path = argv[1];
    alarm(120);
    int go[2], done[2];
    CHECK(pipe(go) == 0 && pipe(done) == 0);

    /* The reader, forked before this process uses baton. */
    pid_t reader = fork();
    CHECK(reader >= 0);
    if (reader == 0) {
        char buf[16], c;
        int fd = open(path, O_RDONLY);
        CHECK(fd >= 0);
        CHECK(write(go[1], "r", 1) == 1);
        ssize_t n = read(fd, buf, sizeof buf);
        CHECK(n == 3 && memcmp(buf, "xyz", 3) == 0);
        CHECK(close(fd) == 0);
        CHECK(write(done[1], "d", 1) == 1 && read(go[0], &c, 1) == 1);
        _exit(0);
    }
    char c;
    CHECK(read(go[0], &c, 1) == 1 && c == 'r');
    /* The reader is about to read (or reading): the queue is empty, so
     * its read cannot end before the write below, however long it takes
     * to get there. A grace period makes it likely that it is blocked in
     * the server by then; the checks do not depend on it. */
    struct timespec grace = {0, 200 * 1000000L};
    nanosleep(&grace, NULL);
    int st;
    CHECK(waitpid(reader, &st, WNOHANG) == 0);
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    CHECK(queued(fd) == 0);
    struct stat sb;
    CHECK(fstat(fd, &sb) == 0 && S_ISCHR(sb.st_mode) && (sb.st_mode & 07777) == 0666);
    CHECK(write(fd, "xyz", 3) == 3);
    CHECK(read(done[0], &c, 1) == 1 && c == 'd');
    CHECK(write(go[1], "e", 1) == 1);
    CHECK(waitpid(reader, &st, 0) == reader && WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* devctl: bytes queued; a command it does not have is ENOTTY. */
    CHECK(write(fd, "hello", 5) == 5 && queued(fd) == 5);
    char buf[16];
    CHECK(read(fd, buf, 2) == 2 && memcmp(buf, "he", 2) == 0 && queued(fd) == 3);
    CHECK(read(fd, buf, sizeof buf) == 3 && memcmp(buf, "llo", 3) == 0 && queued(fd) == 0);
    int x = 0;
    CHECK(devctl(fd, __DIOT(_DCMD_MISC, 7, int), &x, sizeof x, NULL) == ENOTTY);
    /* The commands every device has: the device falls back on them. */
    CHECK(devctl(fd, DCMD_ALL_GETFLAGS, &x, sizeof x, NULL) == EOK && x == O_RDWR);

    /* O_NONBLOCK on the empty queue: EAGAIN, at once. */
    int nb = open(path, O_RDONLY | O_NONBLOCK);
    CHECK(nb >= 0);
    CHECK_ERR(read(nb, buf, 1), EAGAIN);
    CHECK(write(fd, "n", 1) == 1 && read(nb, buf, sizeof buf) == 1 && buf[0] == 'n');
    CHECK(close(nb) == 0);

    /* O_NONBLOCK set after the open: fcntl(F_SETFL) is DCMD_ALL_SETFLAGS,
     * F_GETFL DCMD_ALL_GETFLAGS. */
    int later = open(path, O_RDONLY);
    CHECK(later >= 0);
    CHECK(fcntl(later, F_GETFL) == O_RDONLY);
    CHECK(fcntl(later, F_SETFL, O_NONBLOCK) == 0);
    CHECK(fcntl(later, F_GETFL) == (O_RDONLY | O_NONBLOCK));
    CHECK_ERR(read(later, buf, 1), EAGAIN);
    CHECK(write(fd, "s", 1) == 1 && read(later, buf, sizeof buf) == 1 && buf[0] == 's');
    CHECK_ERR(fcntl(later, F_DUPFD, 0), EINVAL);
    CHECK(close(later) == 0);
    /* A plain descriptor's fcntl is libc's. */
    CHECK(fcntl(go[0], F_SETFL, O_NONBLOCK) == 0 && (fcntl(go[0], F_GETFL) & O_NONBLOCK));
    CHECK_ERR(read(go[0], buf, 1), EAGAIN);

    /* A read given up after 50 ms (TimerTimeout on the reply-blocked
     * state): the server is told (the unblock pulse), answers EINTR, and
     * still serves; the bytes of the next write go to the next read. */
    uint64_t ns = 50 * 1000000ull;
    CHECK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_REPLY, NULL, &ns, NULL) == 0);
    CHECK_ERR(read(fd, buf, sizeof buf), EINTR);
    printf("unblocked 1\n");
    fflush(stdout);
    CHECK(queued(fd) == 0);
    CHECK(write(fd, "q", 1) == 1);
    CHECK(read(fd, buf, sizeof buf) == 1 && buf[0] == 'q');
    CHECK(close(fd) == 0);
    return 0;
}
