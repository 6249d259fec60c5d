/*
 * devnull: a /dev/null-like resource manager in plain QNX C. Reads find
 * end of file, writes (and pwrites) are accepted and thrown away; open,
 * stat, lseek, devctl, chmod, chown and close are the iofunc defaults. It
 * attaches the path given as its argument (default /dev/baton-null) and
 * prints "ready <path>" once clients can open it.
 *
 *   cc devnull.c -I crates/baton-c/include -L target/release -lbaton -lpthread
 */
#include <sys/iofunc.h>
#include <sys/dispatch.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static resmgr_connect_funcs_t connect_funcs;
static resmgr_io_funcs_t io_funcs;
static iofunc_attr_t attr;

/* Everything written is accepted: the whole write succeeds. */
static int io_write(resmgr_context_t *ctp, io_write_t *msg, RESMGR_OCB_T *ocb) {
    int status = iofunc_write_verify(ctp, msg, ocb, NULL);
    if (status != EOK)
        return status;
    /* write() and pwrite() (_IO_XTYPE_OFFSET) alike: nothing to place. */
    int xtype = msg->i.xtype & _IO_XTYPE_MASK;
    if (xtype != _IO_XTYPE_NONE && xtype != _IO_XTYPE_OFFSET)
        return ENOSYS;
    _IO_SET_WRITE_NBYTES(ctp, msg->i.nbytes);
    if (msg->i.nbytes > 0)
        ocb->attr->flags |= IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME;
    return _RESMGR_NPARTS(0);
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "/dev/baton-null";
    dispatch_t *dpp = dispatch_create();
    if (dpp == NULL) {
        perror("dispatch_create");
        return EXIT_FAILURE;
    }
    resmgr_attr_t rattr = {0};
    rattr.nparts_max = 1;
    rattr.msg_max_size = 2048;
    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &connect_funcs, _RESMGR_IO_NFUNCS, &io_funcs);
    io_funcs.write = io_write;
    iofunc_attr_init(&attr, S_IFCHR | 0666, NULL, NULL);
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
