/*
 * sys/iomsg.h (baton): the QNX I/O message types and the connect message,
 * so that servers written to recognise them compile. baton's name_open()
 * sends no _IO_CONNECT message (as on QNX 7 without the global name
 * service), so a server that answers one keeps working but never sees one
 * from baton's clients; it may from a client that sends one itself.
 * Values and layout as in QNX Neutrino 7.x.
 */
#ifndef _BATON_SYS_IOMSG_H
#define _BATON_SYS_IOMSG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* I/O message types (the first 16 bits of a message): 0x100..0x1FF.
 * Pulses have type 0 (_PULSE_TYPE). */
#define _IO_BASE     0x100
#define _IO_CONNECT  0x100
#define _IO_READ     0x101
#define _IO_WRITE    0x102
#define _IO_RSVD_CLOSE_OCB 0x103
#define _IO_STAT     0x104
#define _IO_NOTIFY   0x105
#define _IO_DEVCTL   0x106
#define _IO_RSVD_UNBLOCK 0x107
#define _IO_PATHCONF 0x108
#define _IO_LSEEK    0x109
#define _IO_CHMOD    0x10A
#define _IO_CHOWN    0x10B
#define _IO_UTIME    0x10C
#define _IO_OPENFD   0x10D
#define _IO_FDINFO   0x10E
#define _IO_LOCK     0x10F
#define _IO_SPACE    0x110
#define _IO_SHUTDOWN 0x111
#define _IO_MMAP     0x112
#define _IO_MSG      0x113
#define _IO_RSVD     0x114
#define _IO_DUP      0x115
#define _IO_CLOSE    0x116
#define _IO_RSVD_LOCK_OCB   0x117
#define _IO_RSVD_UNLOCK_OCB 0x118
#define _IO_SYNC     0x119
#define _IO_POWER    0x11A
/* The last I/O message type: private protocols use types above it. */
#define _IO_MAX      0x1FF

/* Subtypes of _IO_CONNECT. */
#define _IO_CONNECT_COMBINE       0
#define _IO_CONNECT_COMBINE_CLOSE 1
#define _IO_CONNECT_OPEN          2
#define _IO_CONNECT_UNLINK        3
#define _IO_CONNECT_RENAME        4
#define _IO_CONNECT_MKNOD         5
#define _IO_CONNECT_READLINK      6
#define _IO_CONNECT_LINK          7
#define _IO_CONNECT_RSVD_UNBLOCK  8
#define _IO_CONNECT_MOUNT         9

/* Flag of combine_len: another message follows. */
#define _IO_COMBINE_FLAG 0x8000

/* The connect message: 40 bytes, then the path (path_len bytes with its
 * NUL), then extra_len bytes of extra data. */
struct _io_connect {
    uint16_t type;       /* _IO_CONNECT */
    uint16_t subtype;    /* _IO_CONNECT_* */
    uint32_t file_type;
    uint16_t reply_max;
    uint16_t entry_max;
    uint32_t key;
    uint32_t handle;
    uint32_t ioflag;
    uint32_t mode;
    uint16_t sflag;
    uint16_t access;
    uint16_t zero;
    uint16_t path_len;
    uint8_t eflag;
    uint8_t extra_type;
    uint16_t extra_len;
    char path[1];
};

/* The header every fd-based I/O message starts with. */
struct _io_header {
    uint16_t type;
    uint16_t combine_len;
};

#ifdef __cplusplus
}
#endif

#endif /* _BATON_SYS_IOMSG_H */
