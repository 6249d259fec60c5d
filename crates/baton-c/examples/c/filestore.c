/*
 * filestore: an in-memory file store in plain QNX C, serving a directory
 * prefix (default /baton-fs): open (O_CREAT, O_EXCL, O_TRUNC, O_APPEND),
 * read, write, pread and pwrite (_IO_XTYPE_OFFSET), lseek, stat, space
 * (ftruncate, F_FREESP, F_ALLOCSP), chmod and chown (the iofunc defaults),
 * unlink, and reading the directory itself,
 * which returns QNX directory entries (struct _io_dirent). Files are
 * flat: names below the prefix, without '/'. A thread pool serves it.
 * Prints "ready <prefix>" once clients can open paths below it.
 *
 *   cc filestore.c -I crates/baton-c/include -L target/release -lbaton -lpthread
 */
/* A file extends the attribute: the iofunc layer sees its first member. */
struct file;
#define IOFUNC_ATTR_T struct file
#include <sys/iofunc.h>
#include <sys/dispatch.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest file: a request beyond it is EFBIG. */
#define FILE_MAX ((uint64_t)1 << 30)

struct file {
    iofunc_attr_t attr;
    struct file *next;
    char name[NAME_MAX + 1];
    char *data;
    size_t cap;
    int unlinked; /* freed at its last close */
};

static struct file root;          /* the directory */
static struct file *files;        /* its entries */
static pthread_mutex_t store = PTHREAD_MUTEX_INITIALIZER;
static resmgr_connect_funcs_t connect_funcs;
static resmgr_io_funcs_t io_funcs;

static struct file *lookup(const char *name) {
    for (struct file *f = files; f != NULL; f = f->next)
        if (strcmp(f->name, name) == 0) return f;
    return NULL;
}

static int io_open(resmgr_context_t *ctp, io_open_t *msg, RESMGR_HANDLE_T *handle, void *extra) {
    const char *name = msg->connect.path;
    (void)extra;
    if (name[0] == '\0') return iofunc_open_default(ctp, msg, &handle->attr, NULL);
    if (strchr(name, '/') != NULL) return ENOENT;
    if (strlen(name) > NAME_MAX) return ENAMETOOLONG;
    pthread_mutex_lock(&store);
    struct file *f = lookup(name);
    int status = iofunc_open(ctp, msg, f != NULL ? &f->attr : NULL, f == NULL ? &root.attr : NULL, NULL);
    if (status == EOK && f == NULL) {
        iofunc_client_info_t info;
        f = (struct file *)calloc(1, sizeof *f);
        if (f == NULL || (status = iofunc_client_info(ctp, 0, &info)) != EOK) {
            free(f);
            pthread_mutex_unlock(&store);
            return f == NULL ? ENOMEM : status;
        }
        iofunc_attr_init(&f->attr, S_IFREG | (msg->connect.mode & 07777 & ~S_IFMT), &root.attr, &info);
        strcpy(f->name, name);
        f->next = files;
        files = f;
    } else if (status == EOK && (msg->connect.ioflag & O_TRUNC) && (msg->connect.ioflag & _IO_FLAG_WR)) {
        f->attr.nbytes = 0;
        f->attr.flags |= IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME;
    }
    if (status == EOK) status = iofunc_ocb_attach(ctp, msg, NULL, &f->attr, NULL);
    pthread_mutex_unlock(&store);
    return status;
}

static int io_unlink(resmgr_context_t *ctp, io_unlink_t *msg, RESMGR_HANDLE_T *handle, void *reserved) {
    (void)handle, (void)reserved;
    pthread_mutex_lock(&store);
    struct file **p = &files;
    while (*p != NULL && strcmp((*p)->name, msg->connect.path) != 0) p = &(*p)->next;
    int status = *p == NULL ? ENOENT : iofunc_check_access(ctp, &root.attr, S_IWRITE, NULL);
    if (status == EOK) {
        struct file *f = *p;
        *p = f->next;
        if (f->attr.count == 0) {
            free(f->data);
            free(f);
        } else {
            f->unlinked = 1;
        }
    }
    pthread_mutex_unlock(&store);
    return status;
}

/* The directory's entries from entry ocb->offset on, whole records that
 * fit in the client's buffer. */
static int read_dir(resmgr_context_t *ctp, io_read_t *msg, iofunc_ocb_t *ocb) {
    size_t room = (size_t)msg->i.nbytes, used = 0;
    char *buf = (char *)malloc(room > 0 ? room : 1);
    if (buf == NULL) return ENOMEM;
    pthread_mutex_lock(&store);
    struct file *f = files;
    for (off_t i = 0; f != NULL && i < ocb->offset; i++) f = f->next;
    for (; f != NULL; f = f->next) {
        size_t len = strlen(f->name), reclen = _IO_DIRENT_RECLEN(len);
        if (used + reclen > room) break;
        struct _io_dirent *d = (struct _io_dirent *)(void *)(buf + used);
        memset(d, 0, reclen);
        d->d_ino = f->attr.inode;
        d->d_offset = ocb->offset;
        d->d_reclen = (int16_t)reclen;
        d->d_namelen = (int16_t)len;
        memcpy(d->d_name, f->name, len + 1);
        used += reclen;
        ocb->offset++;
    }
    pthread_mutex_unlock(&store);
    if (used == 0 && f != NULL) {
        free(buf);
        return EINVAL; /* not even one entry fits */
    }
    MsgReply(ctp->rcvid, (long)used, buf, used);
    free(buf);
    return _RESMGR_NOREPLY;
}

/* Where a read or write is (QNX's pattern): the OCB's offset, or the
 * position a pread/pwrite gave (_IO_XTYPE_OFFSET, which does not move
 * the OCB's offset); *data: where a write's data starts in the message.
 * ENOSYS for other xtypes. */
static int position(io_read_t *msg, iofunc_ocb_t *ocb, off_t **pos, off_t *at, size_t *data) {
    switch (msg->i.xtype & _IO_XTYPE_MASK) {
    case _IO_XTYPE_NONE:
        *pos = &ocb->offset;
        *data = sizeof msg->i;
        return EOK;
    case _IO_XTYPE_OFFSET:
        *at = (off_t)((struct _xtype_offset *)(void *)(&msg->i + 1))->offset;
        *pos = at;
        *data = sizeof msg->i + sizeof(struct _xtype_offset);
        return EOK;
    default:
        return ENOSYS;
    }
}

static int io_read(resmgr_context_t *ctp, io_read_t *msg, RESMGR_OCB_T *ocb) {
    int status = iofunc_read_verify(ctp, msg, ocb, NULL);
    if (status != EOK) return status;
    off_t *pos, at;
    size_t data;
    if ((status = position(msg, ocb, &pos, &at, &data)) != EOK) return status;
    if (S_ISDIR(ocb->attr->attr.mode)) {
        if (pos != &ocb->offset) return ENOSYS; /* entries are read in turn */
        return read_dir(ctp, msg, ocb);
    }
    struct file *f = ocb->attr;
    off_t left = f->attr.nbytes > *pos ? f->attr.nbytes - *pos : 0;
    size_t n = (size_t)left < (size_t)msg->i.nbytes ? (size_t)left : (size_t)msg->i.nbytes;
    SETIOV(ctp->iov, f->data + *pos, n);
    _IO_SET_READ_NBYTES(ctp, n);
    *pos += (off_t)n;
    f->attr.flags |= IOFUNC_ATTR_ATIME;
    return _RESMGR_NPARTS(n > 0 ? 1 : 0);
}

/* Makes room for size bytes in f's buffer. */
static int reserve(struct file *f, size_t size) {
    if (size <= f->cap) return EOK;
    size_t cap = f->cap ? f->cap : 4096;
    while (cap < size) cap *= 2;
    char *data = (char *)realloc(f->data, cap);
    if (data == NULL) return ENOMEM;
    f->data = data;
    f->cap = cap;
    return EOK;
}

static int io_write(resmgr_context_t *ctp, io_write_t *msg, RESMGR_OCB_T *ocb) {
    int status = iofunc_write_verify(ctp, msg, ocb, NULL);
    if (status != EOK) return status;
    off_t *pos, at;
    size_t data;
    /* io_read_t and io_write_t share their layout up to the xtype. */
    if ((status = position((io_read_t *)(void *)msg, ocb, &pos, &at, &data)) != EOK) return status;
    struct file *f = ocb->attr;
    size_t n = (size_t)_IO_WRITE_GET_NBYTES(msg);
    if (ocb->ioflag & O_APPEND) *pos = f->attr.nbytes; /* a pwrite too, as Linux */
    if ((uint64_t)*pos + n > FILE_MAX) return EFBIG;
    size_t end = (size_t)*pos + n;
    if ((status = reserve(f, end)) != EOK) return status;
    if (*pos > f->attr.nbytes) memset(f->data + f->attr.nbytes, 0, (size_t)(*pos - f->attr.nbytes));
    if (resmgr_msgread(ctp, f->data + *pos, n, data) != (ssize_t)n) return errno ? errno : EBADMSG;
    *pos += (off_t)n;
    if (*pos > f->attr.nbytes) f->attr.nbytes = *pos;
    f->attr.flags |= IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME;
    _IO_SET_WRITE_NBYTES(ctp, n);
    return _RESMGR_NPARTS(0);
}

/* ftruncate(), fcntl(F_FREESP / F_ALLOCSP): the range made absolute
 * (whence); freeing a range that reaches the end (len 0 included) ends the
 * file at its start, growing it with zeros if need be; freeing one inside
 * zeroes it; allocating makes the file hold at least the range. The reply
 * is the new size. */
static int io_space(resmgr_context_t *ctp, io_space_t *msg, RESMGR_OCB_T *ocb) {
    int status = iofunc_space_verify(ctp, msg, ocb, NULL);
    if (status != EOK) return status;
    struct file *f = ocb->attr;
    int64_t base, off = (int64_t)msg->i.start;
    switch (msg->i.whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = ocb->offset; break;
    case SEEK_END: base = f->attr.nbytes; break;
    default: return EINVAL;
    }
    if ((off > 0 && base > INT64_MAX - off) || base + off < 0) return EINVAL;
    uint64_t start = (uint64_t)(base + off), len = msg->i.len, size = (uint64_t)f->attr.nbytes;
    if (len > (uint64_t)INT64_MAX - start) return EFBIG;
    uint64_t end = start + len, new_size;
    int freeing = msg->i.subtype == F_FREESP || msg->i.subtype == F_FREESP64;
    int hole = freeing && len != 0 && end < size; /* inside the file */
    if (hole) new_size = size;
    else if (freeing) new_size = start;
    else new_size = end > size ? end : size;
    if (new_size > FILE_MAX) return EFBIG;
    if ((status = reserve(f, (size_t)new_size)) != EOK) return status;
    if (new_size > size) memset(f->data + size, 0, (size_t)(new_size - size));
    if (hole) memset(f->data + start, 0, (size_t)(end - start));
    f->attr.nbytes = (off_t)new_size;
    f->attr.flags |= IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME;
    msg->o = new_size;
    return _RESMGR_PTR(ctp, &msg->o, sizeof msg->o);
}

static int io_close_ocb(resmgr_context_t *ctp, void *reserved, RESMGR_OCB_T *ocb) {
    struct file *f = ocb->attr;
    pthread_mutex_lock(&store);
    int status = iofunc_close_ocb_default(ctp, reserved, ocb);
    if (f->unlinked && f->attr.count == 0) {
        free(f->data);
        free(f);
    }
    pthread_mutex_unlock(&store);
    return status;
}

int main(int argc, char **argv) {
    const char *prefix = argc > 1 ? argv[1] : "/baton-fs";
    dispatch_t *dpp = dispatch_create();
    if (dpp == NULL) {
        perror("dispatch_create");
        return EXIT_FAILURE;
    }
    resmgr_attr_t rattr;
    memset(&rattr, 0, sizeof rattr);
    rattr.nparts_max = 1;
    rattr.msg_max_size = 4096;
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &connect_funcs, _RESMGR_IO_NFUNCS, &io_funcs);
    connect_funcs.open = io_open;
    connect_funcs.unlink = io_unlink;
    io_funcs.read = io_read;
    io_funcs.write = io_write;
    io_funcs.space = io_space;
    io_funcs.close_ocb = io_close_ocb;
    iofunc_attr_init(&root.attr, S_IFDIR | 0777, NULL, NULL);
    if (resmgr_attach(dpp, &rattr, prefix, _FTYPE_ANY, _RESMGR_FLAG_DIR, &connect_funcs, &io_funcs, &root) == -1) {
        perror("resmgr_attach");
        return EXIT_FAILURE;
    }
    thread_pool_attr_t pattr;
    memset(&pattr, 0, sizeof pattr);
    pattr.handle = dpp;
    pattr.context_alloc = dispatch_context_alloc;
    pattr.block_func = dispatch_block;
    pattr.unblock_func = dispatch_unblock;
    pattr.handler_func = dispatch_handler;
    pattr.context_free = dispatch_context_free;
    pattr.lo_water = 2;
    pattr.hi_water = 4;
    pattr.increment = 1;
    pattr.maximum = 8;
    thread_pool_t *pool = thread_pool_create(&pattr, POOL_FLAG_EXIT_SELF);
    if (pool == NULL) {
        perror("thread_pool_create");
        return EXIT_FAILURE;
    }
    printf("ready %s\n", prefix);
    fflush(stdout);
    thread_pool_start(pool);
    return EXIT_FAILURE; /* not reached: EXIT_SELF */
}
