/* The filestore example (examples/c/filestore.c, serving /baton-fs) driven
 * by the C client calls (built with -include baton/posix.h): create,
 * write, read back, lseek, O_APPEND, O_EXCL, O_TRUNC, stat, a 4 MiB write
 * and read with a checksum, the directory's entries (QNX dirents),
 * unlink. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/iomsg.h>

#define CHECK(c) do { if (!(c)) { \
    fprintf(stderr, "%s:%d: CHECK(%s) failed (errno %d: %s)\n", __FILE__, __LINE__, #c, errno, strerror(errno)); \
    exit(1); } } while (0)

#define BIG (4u << 20)

static uint64_t fnv(const unsigned char *p, size_t n, uint64_t h) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* Whether the directory lists `name`. */
static int listed(const char *name) {
    int d = open("/baton-fs", O_RDONLY);
    CHECK(d >= 0);
    char buf[256];
    int found = 0;
    ssize_t n;
    /* A small buffer: the entries come a few at a time, never split. */
    while ((n = read(d, buf, sizeof buf)) > 0) {
        for (ssize_t off = 0; off < n;) {
            struct _io_dirent *e = (struct _io_dirent *)(void *)(buf + off);
            CHECK(e->d_reclen > 0 && off + e->d_reclen <= n && e->d_reclen % 8 == 0);
            CHECK(e->d_name[e->d_namelen] == '\0' && (size_t)e->d_namelen == strlen(e->d_name));
            if (strcmp(e->d_name, name) == 0) found = 1;
            off += e->d_reclen;
        }
    }
    CHECK(n == 0 && close(d) == 0);
    return found;
}

int main(void) {
    char buf[64];
    int fd = open("/baton-fs/hello.txt", O_RDWR | O_CREAT, 0640);
    CHECK(fd >= 0);
    CHECK(write(fd, "hello, ", 7) == 7 && write(fd, "world\n", 6) == 6);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(read(fd, buf, sizeof buf) == 13 && memcmp(buf, "hello, world\n", 13) == 0);
    CHECK(read(fd, buf, sizeof buf) == 0);
    CHECK(lseek(fd, 7, SEEK_SET) == 7 && read(fd, buf, 5) == 5 && memcmp(buf, "world", 5) == 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0640 && st.st_size == 13);
    CHECK(close(fd) == 0);

    /* O_EXCL on an existing file, O_APPEND, O_TRUNC, no O_CREAT. */
    errno = 0;
    CHECK(open("/baton-fs/hello.txt", O_RDWR | O_CREAT | O_EXCL, 0640) == -1 && errno == EEXIST);
    fd = open("/baton-fs/hello.txt", O_WRONLY | O_APPEND);
    CHECK(fd >= 0 && write(fd, "!", 1) == 1 && fstat(fd, &st) == 0 && st.st_size == 14 && close(fd) == 0);
    fd = open("/baton-fs/hello.txt", O_RDWR | O_TRUNC);
    CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0 && close(fd) == 0);
    errno = 0;
    CHECK(open("/baton-fs/none.txt", O_RDONLY) == -1 && errno == ENOENT);

    /* 4 MiB out and back, checksummed. */
    unsigned char *big = (unsigned char *)malloc(BIG), *back = (unsigned char *)malloc(BIG);
    CHECK(big != NULL && back != NULL);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < BIG; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        big[i] = (unsigned char)x;
    }
    fd = open("/baton-fs/big.bin", O_RDWR | O_CREAT, 0600);
    CHECK(fd >= 0);
    for (size_t off = 0; off < BIG; off += 65536) CHECK(write(fd, big + off, 65536) == 65536);
    CHECK(fstat(fd, &st) == 0 && st.st_size == (off_t)BIG);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    size_t got = 0;
    ssize_t n;
    while ((n = read(fd, back + got, 100000)) > 0) got += (size_t)n;
    CHECK(n == 0 && got == BIG);
    CHECK(fnv(back, BIG, 14695981039346656037ull) == fnv(big, BIG, 14695981039346656037ull));
    CHECK(close(fd) == 0);
    free(big);
    free(back);

    /* The directory: stat, entries; unlink removes one. */
    fd = open("/baton-fs", O_RDONLY);
    CHECK(fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && close(fd) == 0);
    errno = 0;
    CHECK(open("/baton-fs", O_WRONLY) == -1 && errno == EISDIR);
    CHECK(listed("hello.txt") && listed("big.bin"));
    CHECK(unlink("/baton-fs/big.bin") == 0);
    CHECK(!listed("big.bin") && listed("hello.txt"));
    errno = 0;
    CHECK(unlink("/baton-fs/big.bin") == -1 && errno == ENOENT);
    errno = 0;
    CHECK(open("/baton-fs/big.bin", O_RDONLY) == -1 && errno == ENOENT);
    return 0;
}
