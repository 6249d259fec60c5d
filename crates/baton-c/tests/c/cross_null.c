/* The Rust /dev/null-style example (examples/src/bin/resmgr-null.rs,
 * serving argv[1]) driven from C through baton's QNX client calls: reads
 * find end of file, writes are swallowed whole, stat says a character
 * device, lseek and devctl answer as the framework's defaults, the open
 * mode is checked, and a client that exits without closing has its open
 * closed by the server. Prints "opens N": how many opens the server
 * should have closed (the test counts its close lines). */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <devctl.h>

#include "cross.h"

int main(int argc, char **argv) {
    CHECK(argc == 2);
    const char *path = argv[1];
    alarm(120);
    int opens = 0;

    /* A child opens and exits without closing: fork before any baton
     * call of this process (baton does not survive fork). */
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        int fd = open(path, O_RDWR);
        _exit(fd >= 0 && write(fd, "bye", 3) == 3 ? 0 : 1);
    }
    int st;
    CHECK(waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    opens++;

    char buf[8192];
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    opens++;
    memset(buf, 'x', sizeof buf);
    CHECK(write(fd, "hello\n", 6) == 6);
    CHECK(write(fd, buf, sizeof buf) == (ssize_t)sizeof buf);
    CHECK(write(fd, buf, 0) == 0);
    CHECK(read(fd, buf, sizeof buf) == 0);
    CHECK(read(fd, buf, sizeof buf) == 0);
    struct stat sb;
    memset(&sb, 0xa5, sizeof sb);
    CHECK(fstat(fd, &sb) == 0);
    CHECK(S_ISCHR(sb.st_mode) && (sb.st_mode & 07777) == 0666 && sb.st_size == 0 && sb.st_dev == 0);
    CHECK(sb.st_uid == geteuid() && sb.st_gid == getegid() && sb.st_nlink >= 1); /* the server's, ours too */
    CHECK(lseek(fd, 100, SEEK_SET) == 100 && lseek(fd, 5, SEEK_CUR) == 105);
    CHECK_ERR(lseek(fd, -200, SEEK_CUR), EINVAL);
    CHECK(read(fd, buf, 1) == 0);
    /* The flags every QNX device answers (iofunc_devctl_default). */
    int flags = -1, info = -1;
    CHECK(devctl(fd, DCMD_ALL_GETFLAGS, &flags, sizeof flags, &info) == EOK && flags == O_RDWR && info == 0);
    int set = O_NONBLOCK | O_APPEND | O_CREAT; /* only the first two change */
    CHECK(devctl(fd, DCMD_ALL_SETFLAGS, &set, sizeof set, NULL) == EOK);
    CHECK(devctl(fd, DCMD_ALL_GETFLAGS, &flags, sizeof flags, NULL) == EOK && flags == (O_RDWR | O_NONBLOCK | O_APPEND));
    set = 0;
    CHECK(devctl(fd, DCMD_ALL_SETFLAGS, &set, sizeof set, NULL) == EOK);
    CHECK(devctl(fd, DCMD_ALL_GETFLAGS, &flags, sizeof flags, NULL) == EOK && flags == O_RDWR);
    /* A command the server does not have: QNX libc's ENOTTY. */
    CHECK(devctl(fd, __DIOT(_DCMD_MISC, 1, int), &flags, sizeof flags, NULL) == ENOTTY);
    CHECK(devctl(fd, __DIOF(_DCMD_MISC, 2, int), &flags, sizeof flags, NULL) == ENOTTY);
    CHECK(close(fd) == 0);
    CHECK_ERR(read(fd, buf, 1), EBADF);

    /* The open mode: the framework's read/write checks. */
    fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    opens++;
    CHECK_ERR(write(fd, "x", 1), EBADF);
    CHECK(read(fd, buf, 1) == 0);
    CHECK(close(fd) == 0);
    fd = open(path, O_WRONLY);
    CHECK(fd >= 0);
    opens++;
    CHECK_ERR(read(fd, buf, 1), EBADF);
    CHECK(write(fd, "x", 1) == 1);
    CHECK(close(fd) == 0);

    /* The prefix has no DIR flag: a path below it is nobody's. */
    char below[256];
    snprintf(below, sizeof below, "%s/below", path);
    CHECK_ERR(open(below, O_RDONLY), ENOENT);
    printf("opens %d\n", opens);
    return 0;
}
