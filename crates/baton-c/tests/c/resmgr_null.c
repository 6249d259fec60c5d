/* The devnull example (examples/c/devnull.c, run by the test at
 * /dev/baton-null) driven by plain POSIX calls: this file is built with
 * -include baton/posix.h, so open(), read(), write(), lseek(), fstat() and
 * close() reach the resource manager, and paths and descriptors that are
 * not its go to libc as before. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <devctl.h>

#define CHECK(c) do { if (!(c)) { \
    fprintf(stderr, "%s:%d: CHECK(%s) failed (errno %d: %s)\n", __FILE__, __LINE__, #c, errno, strerror(errno)); \
    exit(1); } } while (0)

int main(void) {
    char buf[4096];
    int fd = open("/dev/baton-null", O_RDWR);
    CHECK(fd >= 0);
    /* Writes vanish whole; reads find end of file. */
    memset(buf, 'x', sizeof buf);
    CHECK(write(fd, "hello\n", 6) == 6);
    CHECK(write(fd, buf, sizeof buf) == (ssize_t)sizeof buf);
    CHECK(read(fd, buf, sizeof buf) == 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && (st.st_mode & 0777) == 0666 && st.st_size == 0);
    CHECK(lseek(fd, 100, SEEK_SET) == 100);
    int flags = 0, info = -1;
    CHECK(devctl(fd, DCMD_ALL_GETFLAGS, &flags, sizeof flags, &info) == EOK && flags == O_RDWR && info == 0);
    CHECK(devctl(fd, __DIOT(_DCMD_MISC, 1, int), &flags, sizeof flags, NULL) == ENOTTY);
    CHECK(close(fd) == 0);
    errno = 0;
    CHECK(read(fd, buf, 1) == -1 && errno == EBADF);

    /* Read-only: writing is EBADF (the iofunc open-mode check). */
    fd = open("/dev/baton-null", O_RDONLY);
    CHECK(fd >= 0);
    errno = 0;
    CHECK(write(fd, "x", 1) == -1 && errno == EBADF);
    CHECK(close(fd) == 0);

    /* Not a resource manager's: libc's file, libc's errors. */
    fd = open("/proc/self/status", O_RDONLY);
    CHECK(fd >= 0 && read(fd, buf, 5) == 5 && memcmp(buf, "Name:", 5) == 0);
    CHECK(fstat(fd, &st) == 0 && close(fd) == 0);
    errno = 0;
    CHECK(open("/dev/baton-no-such-device", O_RDONLY) == -1 && errno == ENOENT);
    /* A path below a prefix attached without _RESMGR_FLAG_DIR is not its
     * (libc's then, which has no such file either). */
    errno = 0;
    CHECK(open("/dev/baton-null/below", O_RDONLY) == -1 && errno == ENOENT);
    return 0;
}
