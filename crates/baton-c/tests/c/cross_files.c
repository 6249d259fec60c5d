/* The Rust in-memory file store (examples/src/bin/resmgr-files.rs,
 * serving the directory prefix argv[1]) driven from C through baton's
 * QNX client calls: create, write, read back, lseek, O_EXCL, O_APPEND,
 * O_TRUNC, stat, the directory's entries as QNX dirent records (read on
 * the directory's descriptor), unlink, and 8 MiB written in 1 MiB
 * messages and read back with a checksum. */
#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sys/iomsg.h>

#include "cross.h"

#define BIG (8u << 20)
#define CHUNK (1u << 20)

static char dir[256];

static const char *at(const char *name) {
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

/* Whether the directory lists `name`, reading `bufsize` bytes at a time;
 * every record is checked (whole, 8-byte multiple, NUL-terminated name). */
static int listed(const char *name, size_t bufsize) {
    int d = open(dir, O_RDONLY);
    CHECK(d >= 0);
    char buf[4096];
    CHECK(bufsize <= sizeof buf);
    int found = 0;
    int64_t idx = 0;
    ssize_t n;
    while ((n = read(d, buf, bufsize)) > 0) {
        for (ssize_t off = 0; off < n;) {
            struct _io_dirent *e = (struct _io_dirent *)(void *)(buf + off);
            CHECK(e->d_reclen > 0 && off + e->d_reclen <= n && e->d_reclen % 8 == 0);
            CHECK((size_t)e->d_reclen == _IO_DIRENT_RECLEN(e->d_namelen));
            CHECK(e->d_name[e->d_namelen] == '\0' && (size_t)e->d_namelen == strlen(e->d_name));
            /* d_offset: the entry's own offset, its index. */
            CHECK(e->d_ino != 0 && e->d_offset == idx);
            idx++;
            if (strcmp(e->d_name, name) == 0) found++;
            off += e->d_reclen;
        }
    }
    CHECK(n == 0 && close(d) == 0);
    CHECK(found <= 1);
    return found;
}

int main(int argc, char **argv) {
    CHECK(argc == 2 && strlen(argv[1]) < 200);
    strcpy(dir, argv[1]);
    alarm(120);
    char buf[64];
    int fd = open(at("hello.txt"), O_RDWR | O_CREAT, 0640);
    CHECK(fd >= 0);
    CHECK(write(fd, "hello, ", 7) == 7 && write(fd, "world\n", 6) == 6);
    CHECK(lseek(fd, 0, SEEK_CUR) == 13);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(read(fd, buf, sizeof buf) == 13 && memcmp(buf, "hello, world\n", 13) == 0);
    CHECK(read(fd, buf, sizeof buf) == 0);
    CHECK(lseek(fd, 7, SEEK_SET) == 7 && read(fd, buf, 5) == 5 && memcmp(buf, "world", 5) == 0);
    CHECK(lseek(fd, -6, SEEK_END) == 7);
    CHECK_ERR(lseek(fd, -1, SEEK_SET), EINVAL);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0640 && st.st_size == 13);
    CHECK(st.st_uid == getuid() && st.st_ino != 0 && st.st_dev == 0);
    CHECK(close(fd) == 0);

    /* O_EXCL on an existing file, O_APPEND, O_TRUNC, a missing file. */
    CHECK_ERR(open(at("hello.txt"), O_RDWR | O_CREAT | O_EXCL, 0640), EEXIST);
    fd = open(at("hello.txt"), O_WRONLY | O_APPEND);
    CHECK(fd >= 0 && write(fd, "!", 1) == 1 && fstat(fd, &st) == 0 && st.st_size == 14 && close(fd) == 0);
    fd = open(at("hello.txt"), O_RDONLY);
    CHECK(fd >= 0 && read(fd, buf, sizeof buf) == 14 && memcmp(buf, "hello, world\n!", 14) == 0);
    CHECK_ERR(write(fd, "x", 1), EBADF);
    CHECK(close(fd) == 0);
    fd = open(at("hello.txt"), O_RDWR | O_TRUNC);
    CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0 && read(fd, buf, sizeof buf) == 0 && close(fd) == 0);
    CHECK_ERR(open(at("none.txt"), O_RDONLY), ENOENT);

    /* 8 MiB out in 1 MiB messages and back in odd-sized reads. */
    unsigned char *big = (unsigned char *)malloc(BIG), *back = (unsigned char *)malloc(BIG);
    CHECK(big != NULL && back != NULL);
    cross_fill(big, BIG, 88172645463325252ull);
    fd = open(at("big.bin"), O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0);
    for (size_t off = 0; off < BIG; off += CHUNK) CHECK(write(fd, big + off, CHUNK) == (ssize_t)CHUNK);
    CHECK(fstat(fd, &st) == 0 && st.st_size == (off_t)BIG && (st.st_mode & 07777) == 0600);
    /* The rest of struct stat where the Rust side put it. */
    time_t now = time(NULL);
    CHECK(st.st_blksize == 4096 && st.st_blocks == (blkcnt_t)(BIG / 512) && st.st_nlink >= 1);
    CHECK(st.st_mtime > 1600000000 && st.st_mtime <= now + 60 && st.st_ctime > 1600000000 && st.st_atime > 1600000000);
    CHECK(st.st_mtim.tv_nsec >= 0 && st.st_mtim.tv_nsec < 1000000000);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    size_t got = 0;
    ssize_t n;
    while ((n = read(fd, back + got, BIG - got < 300000 ? BIG - got : 300000)) > 0) got += (size_t)n;
    CHECK(n == 0 && got == BIG);
    CHECK(cross_fnv(back, BIG, 14695981039346656037ull) == cross_fnv(big, BIG, 14695981039346656037ull));
    CHECK(close(fd) == 0);
    free(big);
    free(back);

    /* The directory: stat, its entries (few at a time, and at once), a
     * buffer too small for one record, unlink. */
    fd = open(dir, O_RDONLY);
    CHECK(fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK_ERR(read(fd, buf, 8), EINVAL);
    CHECK(close(fd) == 0);
    CHECK_ERR(open(dir, O_WRONLY), EISDIR);
    CHECK(listed("hello.txt", 40) && listed("big.bin", 40));
    CHECK(listed("hello.txt", 4096) && listed("big.bin", 4096));
    CHECK(unlink(at("big.bin")) == 0);
    CHECK(!listed("big.bin", 4096) && listed("hello.txt", 4096));
    CHECK_ERR(unlink(at("big.bin")), ENOENT);
    CHECK_ERR(open(at("big.bin"), O_RDONLY), ENOENT);
    CHECK(unlink(at("hello.txt")) == 0);
    CHECK(!listed("hello.txt", 4096));
    return 0;
}
