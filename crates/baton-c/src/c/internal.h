/*
 * The framework's own header, included first by each of its C files: the
 * public names of <sys/dispatch.h>, <sys/resmgr.h> and <sys/iofunc.h> are
 * defined here under internal names (__baton_<name>), and src/framework.rs
 * exports each public name as a call of its internal one. (A Rust cdylib
 * exports only the symbols Rust defines: the C functions alone would be
 * hidden in libbaton.so.) Keep this list and framework.rs's in step; the
 * c_api tests check that every public name links.
 */
#ifndef BATON_FRAMEWORK_INTERNAL_H
#define BATON_FRAMEWORK_INTERNAL_H

#define _GNU_SOURCE

#define dispatch_create __baton_dispatch_create
#define dispatch_create_channel __baton_dispatch_create_channel
#define dispatch_destroy __baton_dispatch_destroy
#define dispatch_context_alloc __baton_dispatch_context_alloc
#define dispatch_context_free __baton_dispatch_context_free
#define dispatch_block __baton_dispatch_block
#define dispatch_handler __baton_dispatch_handler
#define dispatch_unblock __baton_dispatch_unblock
#define _dispatch_chid __baton__dispatch_chid
#define message_attach __baton_message_attach
#define message_detach __baton_message_detach
#define pulse_attach __baton_pulse_attach
#define pulse_detach __baton_pulse_detach
#define select_attach __baton_select_attach
#define select_detach __baton_select_detach
#define select_query __baton_select_query
#define thread_pool_create __baton_thread_pool_create
#define thread_pool_start __baton_thread_pool_start
#define thread_pool_destroy __baton_thread_pool_destroy
#define thread_pool_counts __baton_thread_pool_counts
#define resmgr_attach __baton_resmgr_attach
#define resmgr_detach __baton_resmgr_detach
#define resmgr_open_bind __baton_resmgr_open_bind
#define _resmgr_ocb __baton__resmgr_ocb
#define resmgr_unbind __baton_resmgr_unbind
#define resmgr_msgread __baton_resmgr_msgread
#define resmgr_msgreadv __baton_resmgr_msgreadv
#define resmgr_msgwrite __baton_resmgr_msgwrite
#define resmgr_msgwritev __baton_resmgr_msgwritev
#define resmgr_msgreply __baton_resmgr_msgreply
#define resmgr_msgreplyv __baton_resmgr_msgreplyv
#define resmgr_context_alloc __baton_resmgr_context_alloc
#define resmgr_context_free __baton_resmgr_context_free
#define resmgr_block __baton_resmgr_block
#define resmgr_handler __baton_resmgr_handler
#define iofunc_func_init __baton_iofunc_func_init
#define iofunc_attr_init __baton_iofunc_attr_init
#define iofunc_time_update __baton_iofunc_time_update
#define iofunc_attr_lock __baton_iofunc_attr_lock
#define iofunc_attr_trylock __baton_iofunc_attr_trylock
#define iofunc_attr_unlock __baton_iofunc_attr_unlock
#define iofunc_client_info __baton_iofunc_client_info
#define iofunc_check_access __baton_iofunc_check_access
#define iofunc_open __baton_iofunc_open
#define iofunc_ocb_attach __baton_iofunc_ocb_attach
#define iofunc_ocb_detach __baton_iofunc_ocb_detach
#define iofunc_open_default __baton_iofunc_open_default
#define iofunc_read_verify __baton_iofunc_read_verify
#define iofunc_write_verify __baton_iofunc_write_verify
#define iofunc_space_verify __baton_iofunc_space_verify
#define iofunc_read_default __baton_iofunc_read_default
#define iofunc_write_default __baton_iofunc_write_default
#define iofunc_stat __baton_iofunc_stat
#define iofunc_stat_default __baton_iofunc_stat_default
#define iofunc_lseek __baton_iofunc_lseek
#define iofunc_lseek_default __baton_iofunc_lseek_default
#define iofunc_chmod_default __baton_iofunc_chmod_default
#define iofunc_chown_default __baton_iofunc_chown_default
#define iofunc_devctl_default __baton_iofunc_devctl_default
#define iofunc_devctl __baton_iofunc_devctl
#define iofunc_close_ocb __baton_iofunc_close_ocb
#define iofunc_close_ocb_default __baton_iofunc_close_ocb_default
#define iofunc_close_dup_default __baton_iofunc_close_dup_default
#define iofunc_lock_ocb_default __baton_iofunc_lock_ocb_default
#define iofunc_unlock_ocb_default __baton_iofunc_unlock_ocb_default
#define iofunc_unblock_default __baton_iofunc_unblock_default
#define iofunc_unblock __baton_iofunc_unblock
#define iofunc_notify __baton_iofunc_notify
#define iofunc_notify_trigger __baton_iofunc_notify_trigger
#define iofunc_notify_remove __baton_iofunc_notify_remove
#define iofunc_notify_default __baton_iofunc_notify_default

#include <sys/iofunc.h>
#include <sys/dispatch.h>
#include <devctl.h>

/* The path space (src/paths.rs): attaches path to channel chid; returns a
 * handle for __baton_path_detach and the attachment's id in *id, or NULL
 * and errno. */
void *__baton_path_attach(const char *path, int chid, unsigned flags, int file_type, int *id);
void __baton_path_detach(void *handle);

/* The calling thread's Linux thread id. */
int __baton_gettid(void);

#endif
