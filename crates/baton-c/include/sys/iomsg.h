/*
 * sys/iomsg.h (baton): the QNX I/O messages: their types, the connect
 * message, and the request and reply layouts of the fd-based messages
 * resource managers serve (docs/RESMGR.md, section 3). baton's name_open()
 * sends no _IO_CONNECT message (as on QNX 7 without the global name
 * service); baton_open() (<baton/posix.h>) and the Rust client do.
 * Values and layouts as in QNX Neutrino 7.x, with Linux's struct stat and
 * struct sigevent.
 */
#ifndef _BATON_SYS_IOMSG_H
#define _BATON_SYS_IOMSG_H

#include <sys/neutrino.h>
#include <sys/stat.h>
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

/* _io_connect.ioflag: the open flags with the access mode plus one. */
#define _IO_FLAG_RD   0x00000001
#define _IO_FLAG_WR   0x00000002
#define _IO_FLAG_MASK 0x00000003

/* _io_connect.eflag. */
#define _IO_CONNECT_EFLAG_DIR    0x01 /* the path ended in '/' */
#define _IO_CONNECT_EFLAG_DOT    0x02
#define _IO_CONNECT_EFLAG_DOTDOT 0x04

/* File types a server attaches with (resmgr_attach) and clients ask for. */
enum _file_type {
    _FTYPE_MATCHED = -1,
    _FTYPE_ALL = -1,
    _FTYPE_ANY = 0,
    _FTYPE_FILE,
    _FTYPE_LINK,
    _FTYPE_SYMLINK,
    _FTYPE_PIPE,
    _FTYPE_SHMEM,
    _FTYPE_MQUEUE,
    _FTYPE_SOCKET,
    _FTYPE_SEM,
    _FTYPE_PHOTON,
    _FTYPE_DUMPER,
    _FTYPE_MOUNT,
    _FTYPE_NAME,
    _FTYPE_TYMEM
};

/* Read and write xtypes (low byte) and flags. */
#define _IO_XTYPE_NONE      0x00000000
#define _IO_XTYPE_READCOND  0x00000001
#define _IO_XTYPE_MQUEUE    0x00000002
#define _IO_XTYPE_TCPIP     0x00000003
#define _IO_XTYPE_TCPIP_MSG 0x00000004
#define _IO_XTYPE_OFFSET    0x00000005
#define _IO_XTYPE_REGISTRY  0x00000006
#define _IO_XTYPE_MASK      0x000000ff
#define _IO_XFLAG_DIR_EXTRA_HINT 0x00000100
#define _IO_XFLAG_NONBLOCK  0x00004000
#define _IO_XFLAG_BLOCK     0x00008000

/* Notify actions and conditions (_IO_NOTIFY, select/poll). */
#define _NOTIFY_ACTION_POLL    0x0
#define _NOTIFY_ACTION_POLLARM 0x1
#define _NOTIFY_ACTION_TRANARM 0x2
#define _NOTIFY_ACTION_CONDARM 0x3
#define _NOTIFY_ACTION_MASK    0x3
#define _NOTIFY_COND_MASK   0xf0000000u
#define _NOTIFY_COND_INPUT  0x10000000u
#define _NOTIFY_COND_OUTPUT 0x40000000u
#define _NOTIFY_COND_OBAND  0x80000000u

/* The connect message's unions, by subtype. */
typedef union { struct _io_connect connect; } io_open_t;
typedef union { struct _io_connect connect; } io_unlink_t;
typedef union { struct _io_connect connect; } io_mknod_t;
typedef union { struct _io_connect connect; } io_rename_t;
typedef union { struct _io_connect connect; } io_readlink_t;
typedef union { struct _io_connect connect; } io_link_t;
typedef union { struct _io_connect connect; } io_mount_t;
typedef struct { int reserved; } io_rename_extra_t;
typedef struct { int reserved; } io_link_extra_t;
typedef struct { int reserved; } io_mount_extra_t;

/* What follows the header of a read or write of _IO_XTYPE_OFFSET (pread,
 * pwrite): the position; the OCB's offset does not move. The data of such
 * a write starts after it (sizeof msg->i + sizeof(struct _xtype_offset)). */
struct _xtype_offset {
    int64_t offset;
};

/* _IO_READ: 16 bytes; the reply is the data, the status its length. */
struct _io_read {
    uint16_t type;
    uint16_t combine_len;
    int32_t nbytes;
    uint32_t xtype;
    uint32_t zero;
};
typedef union { struct _io_read i; } io_read_t;

/* _IO_WRITE: 16 bytes, then the data; the status is the bytes written. */
struct _io_write {
    uint16_t type;
    uint16_t combine_len;
    int32_t nbytes;
    uint32_t xtype;
    uint32_t zero;
};
typedef union { struct _io_write i; } io_write_t;

/* _IO_STAT: the reply is a struct stat (Linux's). */
struct _io_stat {
    uint16_t type;
    uint16_t combine_len;
    uint32_t zero;
};
typedef union { struct _io_stat i; struct stat o; } io_stat_t;

/* _IO_NOTIFY: arm or poll for the conditions in flags. */
struct _io_notify {
    uint16_t type;
    uint16_t combine_len;
    int32_t action;
    int32_t flags;
    struct sigevent event;
};
struct _io_notify_reply {
    uint32_t zero;
    uint32_t flags; /* the conditions that hold */
};
typedef union { struct _io_notify i; struct _io_notify_reply o; } io_notify_t;

/* The client's _IO_NOTIFY (QNX's ionotify()): asks the resource manager
 * behind fd (a descriptor of baton_open()) which of the _NOTIFY_COND_*
 * flags hold, and, as action says (_NOTIFY_ACTION_POLLARM, _TRANARM,
 * _CONDARM), arms event (SIGEV_PULSE_INIT ...) for it to deliver once
 * when one becomes true. Returns the conditions that hold, or -1 and
 * errno. event NULL: none (a poll). */
int ionotify(int __fd, int __action, int __flags, const struct sigevent *__event);

/* _IO_DEVCTL: the header, then nbytes of data for a DEVDIR_TO command;
 * the reply is the reply header, then the data of a DEVDIR_FROM one. */
struct _io_devctl {
    uint16_t type;
    uint16_t combine_len;
    int32_t dcmd;
    int32_t nbytes;
    int32_t zero;
};
struct _io_devctl_reply {
    uint32_t zero;
    int32_t ret_val; /* devctl()'s *dev_info_ptr */
    int32_t nbytes;
    int32_t zero2;
};
typedef union { struct _io_devctl i; struct _io_devctl_reply o; } io_devctl_t;
/* The data after a devctl header: _DEVCTL_DATA(msg->i) or (msg->o). */
#define _DEVCTL_DATA(_msg) ((void *)(sizeof(_msg) + (char *)(&(_msg))))

/* _IO_LSEEK: the reply is the new offset. */
struct _io_lseek {
    uint16_t type;
    uint16_t combine_len;
    int16_t whence;
    uint16_t zero;
    uint64_t offset;
};
typedef union { struct _io_lseek i; uint64_t o; } io_lseek_t;

/* _IO_SPACE: free (F_FREESP) or allocate (F_ALLOCSP) the file's space
 * over len bytes (0: to the end of the file) from start, counted as
 * whence says (SEEK_SET, SEEK_CUR: from the OCB's offset, SEEK_END). The
 * reply is the file's new size. ftruncate(fd, n) is F_FREESP64 from n,
 * SEEK_SET, len 0. */
struct _io_space {
    uint16_t type;
    uint16_t combine_len;
    uint16_t subtype; /* F_ALLOCSP, F_FREESP, F_ALLOCSP64, F_FREESP64 */
    int16_t whence;
    uint64_t start;   /* signed for SEEK_CUR and SEEK_END */
    uint64_t len;
};
typedef union { struct _io_space i; uint64_t o; } io_space_t;

/* _io_space.subtype: QNX's fcntl() commands (Linux has none of them). */
#ifndef F_ALLOCSP
#define F_ALLOCSP 10
#endif
#ifndef F_FREESP
#define F_FREESP 11
#endif
#ifndef F_ALLOCSP64
#define F_ALLOCSP64 110
#endif
#ifndef F_FREESP64
#define F_FREESP64 111
#endif

/* _IO_CLOSE. */
struct _io_close {
    uint16_t type;
    uint16_t combine_len;
};
typedef union { struct _io_close i; } io_close_t;

/* _IO_CHMOD, _IO_CHOWN (chmod/fchmod, chown/fchown; -1 leaves an id). */
struct _io_chmod {
    uint16_t type;
    uint16_t combine_len;
    mode_t mode;
};
typedef union { struct _io_chmod i; } io_chmod_t;
struct _io_chown {
    uint16_t type;
    uint16_t combine_len;
    int32_t gid;
    int32_t uid;
};
typedef union { struct _io_chown i; } io_chown_t;

/* _IO_MSG: a manager-specific message (mgrid, subtype, then data). */
struct _io_msg {
    uint16_t type;
    uint16_t combine_len;
    uint16_t mgrid;
    uint16_t subtype;
};
typedef union { struct _io_msg i; } io_msg_t;

/* The rest of the I/O messages have only their header here: a server
 * that does not handle them answers ENOSYS. */
typedef union { struct _io_header i; } io_pathconf_t;
typedef union { struct _io_header i; } io_utime_t;
typedef union { struct _io_header i; } io_openfd_t;
typedef union { struct _io_header i; } io_fdinfo_t;
typedef union { struct _io_header i; } io_lock_t;
typedef union { struct _io_header i; } io_shutdown_t;
typedef union { struct _io_header i; } io_mmap_t;
typedef union { struct _io_header i; } io_dup_t;
typedef union { struct _io_header i; } io_sync_t;
typedef union { struct _io_header i; } io_power_t;
/* What the unblock handlers get: the unblock pulse. */
typedef struct _pulse io_pulse_t;

/* A directory entry as a directory's _IO_READ returns it (QNX's struct
 * dirent, which Linux's <dirent.h> lays out differently): d_name holds
 * d_namelen bytes and a NUL; d_reclen is the record's size, padded to 8.
 * Records are whole: a reply never splits one. */
struct _io_dirent {
    uint64_t d_ino;
    int64_t d_offset;
    int16_t d_reclen;
    int16_t d_namelen;
    char d_name[4];
};
/* The size of the record of a name of `namelen` bytes. */
#define _IO_DIRENT_RECLEN(_namelen) ((offsetof(struct _io_dirent, d_name) + (size_t)(_namelen) + 1 + 7) & ~(size_t)7)

#ifdef __cplusplus
}
#endif

#endif /* _BATON_SYS_IOMSG_H */
