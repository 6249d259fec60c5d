/*
 * textfile: a read-only file holding one text, in plain QNX C, with the
 * read handler QNX's documentation teaches: it reads at the OCB's offset
 * and, as many resource managers written for QNX do, answers any extended
 * type (pread's _IO_XTYPE_OFFSET included) with ENOSYS;
 * clients that want a position seek first (lseek is the iofunc default),
 * and so does the FUSE bridge (`baton fuse`) when a pread is refused.
 * Open, stat, lseek, chmod, chown and close are the iofunc defaults. It
 * attaches the path given as its first argument (default
 * /dev/baton-text), serves the second argument as the text (default a
 * line of greeting) and prints "ready <path>" once clients can open it.
 *
 *   cc textfile.c -I crates/baton-c/include -L target/release -lbaton -lpthread
 */
#include <sys/iofunc.h>
#include <sys/dispatch.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static resmgr_connect_funcs_t connect_funcs;
static resmgr_io_funcs_t io_funcs;
static iofunc_attr_t attr;
static const char *text = "Hello from a QNX resource manager.\n";

static int io_read(resmgr_context_t *ctp, io_read_t *msg, RESMGR_OCB_T *ocb) {
    int status = iofunc_read_verify(ctp, msg, ocb, NULL);
    if (status != EOK)
        return status;
    /* No special read types: not even a read at a given offset. */
    if ((msg->i.xtype & _IO_XTYPE_MASK) != _IO_XTYPE_NONE)
        return ENOSYS;
    off_t left = ocb->attr->nbytes > ocb->offset ? ocb->attr->nbytes - ocb->offset : 0;
    size_t n = (size_t)left < (size_t)msg->i.nbytes ? (size_t)left : (size_t)msg->i.nbytes;
    _IO_SET_READ_NBYTES(ctp, n);
    if (n == 0) /* at or past the end (lseek may go there) */
        return _RESMGR_NPARTS(0);
    SETIOV(ctp->iov, text + ocb->offset, n);
    ocb->offset += (off_t)n;
    ocb->attr->flags |= IOFUNC_ATTR_ATIME;
    return _RESMGR_NPARTS(1);
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "/dev/baton-text";
    if (argc > 2)
        text = argv[2];
    dispatch_t *dpp = dispatch_create();
    if (dpp == NULL) {
        perror("dispatch_create");
        return EXIT_FAILURE;
    }
    resmgr_attr_t rattr = {0};
    rattr.nparts_max = 1;
    rattr.msg_max_size = 2048;
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &connect_funcs, _RESMGR_IO_NFUNCS, &io_funcs);
    io_funcs.read = io_read;
    iofunc_attr_init(&attr, S_IFREG | 0444, NULL, NULL);
    attr.nbytes = (off_t)strlen(text);
    if (resmgr_attach(dpp, &rattr, path, _FTYPE_ANY, 0, &connect_funcs, &io_funcs, &attr) == -1) {
        perror("resmgr_attach");
        return EXIT_FAILURE;
    }
    dispatch_context_t *ctp = dispatch_context_alloc(dpp);
    printf("ready %s\n", path);
    fflush(stdout);
    for (;;) {
        if ((ctp = dispatch_block(ctp)) == NULL) {
            perror("dispatch_block");
            return EXIT_FAILURE;
        }
        dispatch_handler(ctp);
    }
}
