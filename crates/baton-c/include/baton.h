/*
 * baton.h: what baton adds to the QNX message-passing API. Nothing a QNX
 * program needs: <sys/neutrino.h> and <sys/dispatch.h> include this header
 * for ENOREMOTE, which Linux lacks.
 *
 * Link with -lbaton -lpthread (see the README, "C API").
 */
#ifndef BATON_H
#define BATON_H

#ifdef __cplusplus
extern "C" {
#endif

#define BATON_VERSION_MAJOR 0
#define BATON_VERSION_MINOR 1
#define BATON_VERSION_PATCH 0
/* The version as a string, "0.1.0". */
#define BATON_VERSION "0.1.0"

/* QNX's "must be done on the local machine" (its value on QNX Neutrino):
 * the error of ConnectAttach() with a node descriptor other than
 * ND_LOCAL_NODE, as baton has no network transport. */
#ifndef ENOREMOTE
#define ENOREMOTE 300
#endif

/* The version of the library the program runs with ("0.1.0"). */
const char *baton_version(void);

/* Chooses the runtime directory (where channels and names live) for this
 * process, before its first baton call; the default is $BATON_RUNTIME_DIR,
 * else $XDG_RUNTIME_DIR/baton, else /tmp/baton-<uid>. Servers and clients
 * must use the same one. Returns 0, or -1 with errno EBUSY once another
 * directory is in use. */
int baton_set_runtime_dir(const char *path);

/* Baton reads a thread's scheduling policy and priority from the kernel
 * at its first message-passing call and keeps them: a thread that changes
 * its own priority later (pthread_setschedparam(), sched_setscheduler(),
 * ...) calls this afterwards so that its next messages carry the new
 * priority. */
void baton_refresh_thread_priority(void);

#ifdef __cplusplus
}
#endif

#endif /* BATON_H */
