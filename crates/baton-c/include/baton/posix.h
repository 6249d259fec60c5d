/*
 * baton/posix.h: POSIX file I/O that reaches resource managers. Built with
 * `-include baton/posix.h` (or included before any other header), a QNX
 * client's open(), read(), write(), pread(), pwrite(), lseek(), fstat(),
 * ftruncate(), fcntl(), chmod(), fchmod(), chown(), fchown(), close() and
 * unlink() become baton_open() ... baton_unlink(): a path that a resource
 * manager has attached (docs/RESMGR.md) is opened with an _IO_CONNECT
 * message and its descriptor is a baton connection whose I/O is
 * _IO_READ, _IO_WRITE, ... messages; every other path and descriptor goes
 * to libc unchanged. devctl() is in <devctl.h>.
 *
 * The system headers that declare these calls are included first, so that
 * the macros below rename only the program's own calls.
 */
#ifndef _BATON_POSIX_H
#define _BATON_POSIX_H

#if !defined(_POSIX_C_SOURCE) && !defined(_XOPEN_SOURCE) && !defined(_GNU_SOURCE) && \
    !defined(_DEFAULT_SOURCE) && defined(__STRICT_ANSI__)
#define _POSIX_C_SOURCE 200809L
#endif

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <devctl.h>

#ifdef __cplusplus
extern "C" {
#endif

/* open(): the resource manager of the longest attached prefix of path
 * (then the next, on ENOENT), else libc's open(). A third argument is the
 * creation mode, as for open(). */
int baton_open(const char *__path, int __oflag, ...);
/* On a descriptor baton_open() returned: the I/O messages; on any other:
 * libc's call. */
ssize_t baton_read(int __fd, void *__buf, size_t __nbytes);
ssize_t baton_write(int __fd, const void *__buf, size_t __nbytes);
/* pread()/pwrite(): _IO_READ/_IO_WRITE with _IO_XTYPE_OFFSET (the offset
 * follows the header); the descriptor's offset does not move. */
ssize_t baton_pread(int __fd, void *__buf, size_t __nbytes, off_t __offset);
ssize_t baton_pwrite(int __fd, const void *__buf, size_t __nbytes, off_t __offset);
off_t baton_lseek(int __fd, off_t __offset, int __whence);
int baton_fstat(int __fd, struct stat *__st);
/* ftruncate(): _IO_SPACE (F_FREESP64 from the length to the end). */
int baton_ftruncate(int __fd, off_t __length);
/* fchmod()/fchown(): _IO_CHMOD/_IO_CHOWN on the open; chmod()/chown() by
 * path: an open for no access, the message, a close (else libc's). */
int baton_chmod(const char *__path, mode_t __mode);
int baton_fchmod(int __fd, mode_t __mode);
int baton_chown(const char *__path, uid_t __owner, gid_t __group);
int baton_fchown(int __fd, uid_t __owner, gid_t __group);
/* fcntl(): F_GETFL / F_SETFL are DCMD_ALL_GETFLAGS / DCMD_ALL_SETFLAGS
 * (O_NONBLOCK, O_APPEND kept by the server), F_GETFD / F_SETFD the
 * descriptor's; another command on a resource manager's descriptor is
 * EINVAL. */
int baton_fcntl(int __fd, int __cmd, ...);
int baton_close(int __fd);
/* unlink(): _IO_CONNECT_UNLINK to the path's resource manager, else libc. */
int baton_unlink(const char *__path);

#ifdef __cplusplus
}
#endif

/* BATON_POSIX_NO_MACROS: the baton_* declarations only (for a program
 * that also serves, whose handler tables have members named read...). */
#ifndef BATON_POSIX_NO_MACROS
#define open baton_open
#define read baton_read
#define write baton_write
#define pread baton_pread
#define pwrite baton_pwrite
#define lseek baton_lseek
#define fstat baton_fstat
#define ftruncate baton_ftruncate
#define fcntl baton_fcntl
#define chmod baton_chmod
#define fchmod baton_fchmod
#define chown baton_chown
#define fchown baton_fchown
#define close baton_close
#define unlink baton_unlink
#endif

#endif /* _BATON_POSIX_H */
