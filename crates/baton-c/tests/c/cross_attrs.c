/* chmod/fchmod, chown/fchown and pread/pwrite through baton's C client
 * (baton_chmod ... baton_pwrite: _IO_CHMOD, _IO_CHOWN, _IO_READ/_IO_WRITE
 * with _IO_XTYPE_OFFSET) on a file store serving the directory prefix
 * argv[1] (the C filestore example or the Rust resmgr-files): positioned
 * I/O leaves the descriptor's offset alone; the new mode is enforced on a
 * child that drops root (when run as root); only root gives a file away,
 * the owner may change its group to one it is in; plain files are
 * libc's. */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cross.h"

/* <grp.h> declares it only for _DEFAULT_SOURCE, which -include
 * baton/posix.h under -std=c99 comes too late to ask for. */
extern int setgroups(size_t __n, const gid_t *__groups);

#define UID 4242
#define GID 4343
#define GID2 4344

static struct stat stat_of(int fd) {
    struct stat sb;
    CHECK(fstat(fd, &sb) == 0);
    return sb;
}

static const char *self;

/* In the child: drops root to user UID (groups GID, GID2), then `op`
 * ("open" for reading, "chmod MODE" in octal, "chown UID GID" with -1 for
 * no change) on path; exits with 0 or the errno. */
static int as_user_main(char **a) {
    gid_t groups[] = {GID2};
    if (setgroups(1, groups) != 0 || setgid(GID) != 0 || setuid(UID) != 0) return 120;
    const char *op = a[0], *path = a[1];
    int rc;
    if (strcmp(op, "open") == 0) rc = open(path, O_RDONLY) >= 0 ? 0 : -1;
    else if (strcmp(op, "chmod") == 0) rc = chmod(path, (mode_t)strtol(a[2], NULL, 8));
    else rc = chown(path, (uid_t)strtol(a[2], NULL, 10), (gid_t)strtol(a[3], NULL, 10));
    return rc == 0 ? 0 : errno;
}

/* Runs `op` as another user in a process of its own (this program again:
 * a child forked after baton was used must exec before it uses baton);
 * 0 or its errno. */
static int as_user(const char *op, const char *path, const char *x, const char *y) {
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        execl(self, self, "--as-user", op, path, x, y, (char *)NULL);
        _exit(121);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
    return WEXITSTATUS(st);
}

int main(int argc, char **argv) {
    if (argc == 6 && strcmp(argv[1], "--as-user") == 0) return as_user_main(argv + 2);
    CHECK(argc == 2);
    self = argv[0];
    alarm(120);
    char path[512];
    snprintf(path, sizeof path, "%s/attrs.bin", argv[1]);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, "0123456789", 10) == 10);

    /* pread/pwrite: at their position; the descriptor's offset stays. */
    char buf[32];
    CHECK(lseek(fd, 3, SEEK_SET) == 3);
    CHECK(pread(fd, buf, 4, 5) == 4 && memcmp(buf, "5678", 4) == 0);
    CHECK(pwrite(fd, "XY", 2, 8) == 2);
    CHECK(pwrite(fd, "Z", 1, 12) == 1); /* past the end: a hole of zeros */
    CHECK(lseek(fd, 0, SEEK_CUR) == 3);
    CHECK(read(fd, buf, sizeof buf) == 10 && memcmp(buf, "34567XY\0\0Z", 10) == 0);
    CHECK(pread(fd, buf, sizeof buf, 100) == 0);
    CHECK_ERR(pread(fd, buf, 1, -1), EINVAL);
    CHECK_ERR(pwrite(fd, buf, 1, -1), EINVAL);
    int ro = open(path, O_RDONLY);
    CHECK(ro >= 0);
    CHECK_ERR(pwrite(ro, "x", 1, 0), EBADF);
    CHECK(pread(ro, buf, 2, 0) == 2 && memcmp(buf, "01", 2) == 0);
    CHECK(close(ro) == 0);

    /* chmod by path and fchmod on an open; the type bits stay. */
    CHECK(chmod(path, 0600) == 0);
    CHECK(stat_of(fd).st_mode == (S_IFREG | 0600));
    CHECK(fchmod(fd, 0640) == 0);
    CHECK((stat_of(fd).st_mode & 07777) == 0640);
    if (geteuid() == 0) {
        /* The runtime directory is the test's (0700): open it to others. */
        CHECK(chmod(getenv("BATON_RUNTIME_DIR"), 01777) == 0);
        /* Root's file, 0640: another user may neither read nor change it. */
        CHECK(as_user("open", path, "", "") == EACCES);
        CHECK(as_user("chmod", path, "666", "") == EPERM);
        CHECK(as_user("chown", path, "-1", "4343") == EPERM);
        /* Given to the user (with set-id bits): the owner reads, chmods,
         * changes the group to one of its own (the set-id bits go), not
         * to another, and cannot give it away. */
        CHECK(fchmod(fd, 06640) == 0 && fchown(fd, UID, GID) == 0);
        struct stat sb = stat_of(fd);
        CHECK(sb.st_uid == UID && sb.st_gid == GID && (sb.st_mode & 07777) == 06640);
        CHECK(as_user("open", path, "", "") == 0);
        CHECK(as_user("chown", path, "-1", "4344") == 0);
        sb = stat_of(fd);
        CHECK(sb.st_gid == GID2 && (sb.st_mode & 07777) == 0640);
        CHECK(as_user("chown", path, "-1", "1") == EPERM);
        CHECK(as_user("chown", path, "0", "-1") == EPERM);
        CHECK(as_user("chmod", path, "600", "") == 0);
        CHECK((stat_of(fd).st_mode & 07777) == 0600);
        /* -1 leaves both ids. */
        CHECK(chown(path, (uid_t)-1, (gid_t)-1) == 0);
        sb = stat_of(fd);
        CHECK(sb.st_uid == UID && sb.st_gid == GID2);
        CHECK(chown(path, 0, 0) == 0 && stat_of(fd).st_uid == 0);
        printf("as user: checked\n");
    } else {
        printf("as user: skipped (not root)\n");
    }
    CHECK(close(fd) == 0);
    CHECK(unlink(path) == 0);

    /* Not a resource manager's: libc's calls. */
    char tmp[] = "/tmp/baton-cross-attrs-XXXXXX";
    int t = mkstemp(tmp);
    CHECK(t >= 0);
    CHECK(pwrite(t, "abc", 3, 2) == 3 && pread(t, buf, 2, 3) == 2 && memcmp(buf, "bc", 2) == 0);
    CHECK(fchmod(t, 0604) == 0 && chmod(tmp, 0600) == 0 && (stat_of(t).st_mode & 0777) == 0600);
    CHECK(fchown(t, (uid_t)-1, (gid_t)-1) == 0 && chown(tmp, (uid_t)-1, (gid_t)-1) == 0);
    CHECK(close(t) == 0 && unlink(tmp) == 0);
    printf("ok\n");
    return 0;
}
