/*
 * sys/dispatch.h (baton): QNX's name_attach() family. A name lives in the
 * baton runtime directory (QNX: /dev/name/local/<name>). dispatch_t is
 * opaque: baton has no dispatch layer, so name_attach() takes NULL and
 * creates its own channel, with _NTO_CHF_DISCONNECT |
 * _NTO_CHF_COID_DISCONNECT | _NTO_CHF_UNBLOCK as QNX gives it.
 * name_open() sends no _IO_CONNECT message (QNX 7 without the global name
 * service does not either).
 */
#ifndef _BATON_SYS_DISPATCH_H
#define _BATON_SYS_DISPATCH_H

#include <sys/neutrino.h>
#include <sys/iomsg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _dispatch dispatch_t;

/* name_attach() flags: a global name is attached locally (no network). */
#define NAME_FLAG_ATTACH_GLOBAL  0x00000002
/* name_detach() flags: keep the dispatch (baton has none to destroy). */
#define NAME_FLAG_DETACH_SAVEDPP 0x00000001

typedef struct _name_attach {
    dispatch_t *dpp;  /* always NULL */
    int chid;         /* the channel to MsgReceive() on */
    int mntid;
    int zero[2];
} name_attach_t;

/* Attaches `path` (no leading '/', no "..": EINVAL) with a new channel;
 * NULL and errno on failure. dpp must be NULL (EINVAL otherwise). */
name_attach_t *name_attach(dispatch_t *__dpp, const char *__path, unsigned __flags);
/* Removes the name and destroys its channel. */
int name_detach(name_attach_t *__attach, unsigned __flags);
/* Connects to the channel attached as `name`: a side-channel coid
 * (ENOENT: no such name). */
int name_open(const char *__name, int __flags);
/* ConnectDetach(coid). */
int name_close(int __coid);

#ifdef __cplusplus
}
#endif

#endif /* _BATON_SYS_DISPATCH_H */
