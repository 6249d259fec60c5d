/* ftruncate() through baton's C client (baton_ftruncate: _IO_SPACE with
 * F_FREESP64) on a file store serving the directory prefix argv[1] (the C
 * filestore example or the Rust resmgr-files): shrink, grow with zeros,
 * the offset left where it was, EBADF for a read-only open, EINVAL for a
 * negative length; a plain file's ftruncate is still libc's. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cross.h"

static off_t size_of(int fd) {
    struct stat sb;
    CHECK(fstat(fd, &sb) == 0);
    return sb.st_size;
}

int main(int argc, char **argv) {
    CHECK(argc == 2);
    alarm(120);
    char path[512];
    snprintf(path, sizeof path, "%s/space.bin", argv[1]);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, "hello, world", 12) == 12);
    CHECK(ftruncate(fd, 5) == 0 && size_of(fd) == 5);
    CHECK(lseek(fd, 0, SEEK_CUR) == 12); /* the offset stays */
    char buf[32];
    CHECK(lseek(fd, 0, SEEK_SET) == 0 && read(fd, buf, sizeof buf) == 5 && memcmp(buf, "hello", 5) == 0);
    CHECK(ftruncate(fd, 9) == 0 && size_of(fd) == 9);
    CHECK(lseek(fd, 0, SEEK_SET) == 0 && read(fd, buf, sizeof buf) == 9);
    CHECK(memcmp(buf, "hello\0\0\0\0", 9) == 0);
    CHECK_ERR(ftruncate(fd, -1), EINVAL);
    int ro = open(path, O_RDONLY);
    CHECK(ro >= 0);
    CHECK_ERR(ftruncate(ro, 1), EBADF);
    CHECK(close(ro) == 0);
    CHECK(ftruncate(fd, 0) == 0 && size_of(fd) == 0);
    CHECK(lseek(fd, 0, SEEK_SET) == 0 && read(fd, buf, sizeof buf) == 0);
    CHECK(close(fd) == 0);
    CHECK(unlink(path) == 0);

    /* Not a resource manager's: libc's ftruncate. */
    char tmp[] = "/tmp/baton-cross-space-XXXXXX";
    int t = mkstemp(tmp);
    CHECK(t >= 0);
    CHECK(write(t, "abc", 3) == 3 && ftruncate(t, 1) == 0 && size_of(t) == 1);
    CHECK(close(t) == 0 && unlink(tmp) == 0);
    printf("ok\n");
    return 0;
}
