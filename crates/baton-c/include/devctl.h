/*
 * devctl.h (baton): QNX's devctl(): a device-specific command sent to the
 * resource manager behind a descriptor as an _IO_DEVCTL message, and the
 * macros that build command numbers. A command carries its direction
 * (DEVDIR_TO: data to the server, DEVDIR_FROM: data back), the size of its
 * data (bits 16-29), a class (8-15) and a number (0-7).
 */
#ifndef _BATON_DEVCTL_H
#define _BATON_DEVCTL_H

#include <sys/iomsg.h>

#ifdef __cplusplus
extern "C" {
#endif

#define _POSIX_DEVDIR_NONE     0u
#define _POSIX_DEVDIR_TO       0x80000000u
#define _POSIX_DEVDIR_FROM     0x40000000u
#define _POSIX_DEVDIR_TOFROM   (_POSIX_DEVDIR_TO | _POSIX_DEVDIR_FROM)
#define _POSIX_DEVDIR_CMD_MASK 0x0000ffffu
#define DEVDIR_NONE     _POSIX_DEVDIR_NONE
#define DEVDIR_TO       _POSIX_DEVDIR_TO
#define DEVDIR_FROM     _POSIX_DEVDIR_FROM
#define DEVDIR_TOFROM   _POSIX_DEVDIR_TOFROM
#define DEVDIR_CMD_MASK _POSIX_DEVDIR_CMD_MASK

/* Command classes. */
#define _DCMD_ALL    0x01
#define _DCMD_FSYS   0x02
#define _DCMD_BLK    _DCMD_FSYS
#define _DCMD_CHR    0x03
#define _DCMD_NET    0x04
#define _DCMD_MISC   0x05
#define _DCMD_IP     0x06
#define _DCMD_MIXER  0x07
#define _DCMD_PROC   0x08
#define _DCMD_MEM    0x09
#define _DCMD_INPUT  0x0A

/* Command numbers: no data, data from the server (the size of `data`'s
 * type), to it, or both ways. They are ints, so they serve as case labels
 * of a switch on io_devctl_t's dcmd in C and C++. */
#define __DIOF(_class, _cmd, _data) \
    ((int)(((unsigned)sizeof(_data) << 16) + ((unsigned)(_class) << 8) + (unsigned)(_cmd) + _POSIX_DEVDIR_FROM))
#define __DIOT(_class, _cmd, _data) \
    ((int)(((unsigned)sizeof(_data) << 16) + ((unsigned)(_class) << 8) + (unsigned)(_cmd) + _POSIX_DEVDIR_TO))
#define __DIOTF(_class, _cmd, _data) \
    ((int)(((unsigned)sizeof(_data) << 16) + ((unsigned)(_class) << 8) + (unsigned)(_cmd) + _POSIX_DEVDIR_TOFROM))
#define __DION(_class, _cmd) ((int)(((unsigned)(_class) << 8) + (unsigned)(_cmd) + _POSIX_DEVDIR_NONE))

#define get_device_command(_cmd)   ((unsigned)(_cmd) & 0x0000ffffu)
#define get_device_direction(_cmd) ((unsigned)(_cmd) & 0xc0000000u)
#define get_device_size(_cmd)      (((unsigned)(_cmd) >> 16) & 0x3fffu)

/* Flags every device answers (iofunc_devctl_default): the open flags. */
#define DCMD_ALL_GETFLAGS __DIOF(_DCMD_ALL, 0x101, int)
#define DCMD_ALL_SETFLAGS __DIOT(_DCMD_ALL, 0x102, int)

/* Sends command dcmd on fd with n_bytes of dev_data_ptr (to the server,
 * from it, or both, as dcmd says); *dev_info_ptr (if not NULL) gets the
 * server's extra status. Returns EOK or an error number (errno is not
 * set); ENOTTY when the server has no such command. */
int devctl(int __fd, int __dcmd, void *__dev_data_ptr, size_t __n_bytes, int *__dev_info_ptr);

#ifdef __cplusplus
}
#endif

#endif /* _BATON_DEVCTL_H */
