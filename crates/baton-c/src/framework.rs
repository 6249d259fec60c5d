//! The QNX resource-manager framework's public names. The framework is C
//! (`src/c`, compiled by `build.rs`), where each function is defined under
//! an internal name (`__baton_<name>`, see `src/c/internal.h`); a cdylib
//! exports only the symbols Rust defines, so each public name is defined
//! here as a call of its internal one. Pointers cross as `void *`: the C
//! headers give them their types. Also here: the path space for the
//! framework's `resmgr_attach` (`__baton_path_attach`).
#![allow(unsafe_code)]

use crate::ffi::set_errno;
use crate::table;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr};

/// Any pointer the C declaration types.
type P = *mut c_void;

/// Declares each internal C function and exports its public name.
macro_rules! reexport {
    ($($name:ident = $imp:ident ($($a:ident : $t:ty),*) $(-> $r:ty)?;)*) => {
        extern "C" {
            $(fn $imp($($a: $t),*) $(-> $r)?;)*
        }
        $(
            #[doc = concat!("`", stringify!($name), "` of the QNX framework (`sys/dispatch.h`, `sys/resmgr.h`, `sys/iofunc.h`).")]
            ///
            /// # Safety
            ///
            /// The C declaration's contract, which the caller keeps.
            #[no_mangle]
            pub unsafe extern "C" fn $name($($a: $t),*) $(-> $r)? {
                // SAFETY: the same function under its internal name; the
                // caller keeps its contract.
                unsafe { $imp($($a),*) }
            }
        )*
    };
}

reexport! {
    dispatch_create = __baton_dispatch_create() -> P;
    dispatch_create_channel = __baton_dispatch_create_channel(chid: c_int, flags: c_uint) -> P;
    dispatch_destroy = __baton_dispatch_destroy(dpp: P) -> c_int;
    dispatch_context_alloc = __baton_dispatch_context_alloc(dpp: P) -> P;
    dispatch_context_free = __baton_dispatch_context_free(ctp: P);
    dispatch_block = __baton_dispatch_block(ctp: P) -> P;
    dispatch_handler = __baton_dispatch_handler(ctp: P) -> c_int;
    dispatch_unblock = __baton_dispatch_unblock(ctp: P);
    _dispatch_chid = __baton__dispatch_chid(dpp: P) -> c_int;
    message_attach = __baton_message_attach(dpp: P, attr: P, low: c_int, high: c_int, func: P, handle: P) -> c_int;
    message_detach = __baton_message_detach(dpp: P, low: c_int, high: c_int, flags: c_int) -> c_int;
    pulse_attach = __baton_pulse_attach(dpp: P, flags: c_int, code: c_int, func: P, handle: P) -> c_int;
    pulse_detach = __baton_pulse_detach(dpp: P, code: c_int, flags: c_int) -> c_int;
    select_attach = __baton_select_attach(dpp: P, attr: P, fd: c_int, flags: c_uint, func: P, handle: P) -> c_int;
    select_detach = __baton_select_detach(dpp: P, fd: c_int) -> c_int;
    select_query = __baton_select_query(ctp: P, fd: P, flags: P, func: P, handle: P) -> c_int;
    thread_pool_create = __baton_thread_pool_create(attr: P, flags: c_uint) -> P;
    thread_pool_start = __baton_thread_pool_start(pool: P) -> c_int;
    thread_pool_destroy = __baton_thread_pool_destroy(pool: P) -> c_int;
    thread_pool_counts = __baton_thread_pool_counts(pool: P, threads: P, waiting: P) -> c_int;
    resmgr_attach = __baton_resmgr_attach(dpp: P, attr: P, path: P, file_type: c_int, flags: c_uint, connect_funcs: P, io_funcs: P, handle: P) -> c_int;
    resmgr_detach = __baton_resmgr_detach(dpp: P, id: c_int, flags: c_uint) -> c_int;
    resmgr_open_bind = __baton_resmgr_open_bind(ctp: P, ocb: P, io_funcs: P) -> c_int;
    _resmgr_ocb = __baton__resmgr_ocb(ctp: P, info: P) -> P;
    resmgr_unbind = __baton_resmgr_unbind(ctp: P) -> c_int;
    resmgr_msgread = __baton_resmgr_msgread(ctp: P, msg: P, nbytes: usize, offset: usize) -> isize;
    resmgr_msgreadv = __baton_resmgr_msgreadv(ctp: P, iov: P, nparts: c_int, offset: usize) -> isize;
    resmgr_msgwrite = __baton_resmgr_msgwrite(ctp: P, msg: P, nbytes: usize, offset: usize) -> isize;
    resmgr_msgwritev = __baton_resmgr_msgwritev(ctp: P, iov: P, nparts: c_int, offset: usize) -> isize;
    resmgr_msgreply = __baton_resmgr_msgreply(ctp: P, msg: P, nbytes: usize) -> c_int;
    resmgr_msgreplyv = __baton_resmgr_msgreplyv(ctp: P, iov: P, nparts: c_int) -> c_int;
    resmgr_context_alloc = __baton_resmgr_context_alloc(dpp: P) -> P;
    resmgr_context_free = __baton_resmgr_context_free(ctp: P);
    resmgr_block = __baton_resmgr_block(ctp: P) -> P;
    resmgr_handler = __baton_resmgr_handler(ctp: P) -> c_int;
    iofunc_func_init = __baton_iofunc_func_init(nconnect: c_uint, connect: P, nio: c_uint, io: P);
    iofunc_attr_init = __baton_iofunc_attr_init(attr: P, mode: libc::mode_t, dattr: P, info: P);
    iofunc_time_update = __baton_iofunc_time_update(attr: P) -> c_int;
    iofunc_attr_lock = __baton_iofunc_attr_lock(attr: P) -> c_int;
    iofunc_attr_trylock = __baton_iofunc_attr_trylock(attr: P) -> c_int;
    iofunc_attr_unlock = __baton_iofunc_attr_unlock(attr: P) -> c_int;
    iofunc_client_info = __baton_iofunc_client_info(ctp: P, ioflag: c_int, info: P) -> c_int;
    iofunc_check_access = __baton_iofunc_check_access(ctp: P, attr: P, check: libc::mode_t, info: P) -> c_int;
    iofunc_open = __baton_iofunc_open(ctp: P, msg: P, attr: P, dattr: P, info: P) -> c_int;
    iofunc_ocb_attach = __baton_iofunc_ocb_attach(ctp: P, msg: P, ocb: P, attr: P, io_funcs: P) -> c_int;
    iofunc_ocb_detach = __baton_iofunc_ocb_detach(ctp: P, ocb: P) -> c_int;
    iofunc_open_default = __baton_iofunc_open_default(ctp: P, msg: P, attr: P, extra: P) -> c_int;
    iofunc_read_verify = __baton_iofunc_read_verify(ctp: P, msg: P, ocb: P, nonblock: P) -> c_int;
    iofunc_write_verify = __baton_iofunc_write_verify(ctp: P, msg: P, ocb: P, nonblock: P) -> c_int;
    iofunc_space_verify = __baton_iofunc_space_verify(ctp: P, msg: P, ocb: P, nonblock: P) -> c_int;
    iofunc_read_default = __baton_iofunc_read_default(ctp: P, msg: P, ocb: P) -> c_int;
    iofunc_write_default = __baton_iofunc_write_default(ctp: P, msg: P, ocb: P) -> c_int;
    iofunc_stat = __baton_iofunc_stat(ctp: P, attr: P, st: P) -> c_int;
    iofunc_stat_default = __baton_iofunc_stat_default(ctp: P, msg: P, ocb: P) -> c_int;
    iofunc_lseek = __baton_iofunc_lseek(ctp: P, msg: P, ocb: P, attr: P) -> c_int;
    iofunc_lseek_default = __baton_iofunc_lseek_default(ctp: P, msg: P, ocb: P) -> c_int;
    iofunc_chmod_default = __baton_iofunc_chmod_default(ctp: P, msg: P, ocb: P) -> c_int;
    iofunc_chown_default = __baton_iofunc_chown_default(ctp: P, msg: P, ocb: P) -> c_int;
    iofunc_devctl_default = __baton_iofunc_devctl_default(ctp: P, msg: P, ocb: P) -> c_int;
    iofunc_devctl = __baton_iofunc_devctl(ctp: P, msg: P, ocb: P, attr: P) -> c_int;
    iofunc_close_ocb = __baton_iofunc_close_ocb(ctp: P, ocb: P, attr: P) -> c_int;
    iofunc_close_ocb_default = __baton_iofunc_close_ocb_default(ctp: P, reserved: P, ocb: P) -> c_int;
    iofunc_close_dup_default = __baton_iofunc_close_dup_default(ctp: P, msg: P, ocb: P) -> c_int;
    iofunc_lock_ocb_default = __baton_iofunc_lock_ocb_default(ctp: P, reserved: P, ocb: P) -> c_int;
    iofunc_unlock_ocb_default = __baton_iofunc_unlock_ocb_default(ctp: P, reserved: P, ocb: P) -> c_int;
    iofunc_unblock_default = __baton_iofunc_unblock_default(ctp: P, msg: P, ocb: P) -> c_int;
    iofunc_unblock = __baton_iofunc_unblock(ctp: P, attr: P) -> c_int;
    iofunc_notify = __baton_iofunc_notify(ctp: P, msg: P, nop: P, trig: c_int, notifycounts: P, armed: P) -> c_int;
    iofunc_notify_trigger = __baton_iofunc_notify_trigger(nop: P, count: c_int, index: c_int);
    iofunc_notify_remove = __baton_iofunc_notify_remove(ctp: P, nop: P);
    iofunc_notify_default = __baton_iofunc_notify_default(ctp: P, msg: P, ocb: P) -> c_int;
}

/// Attaches `path` to channel `chid` in the path space (`resmgr_attach`):
/// a handle for [`__baton_path_detach`], the attachment's id in `*id`; NULL
/// and errno (`EINVAL` for a path that is not UTF-8 or malformed, `ESRCH`
/// for no such channel).
///
/// # Safety
///
/// `path` is NULL or a NUL-terminated string; `id` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn __baton_path_attach(
    path: *const c_char,
    chid: c_int,
    flags: c_uint,
    file_type: c_int,
    id: *mut c_int,
) -> *mut c_void {
    let attach = || -> Result<baton_core::paths::PathAttach, i32> {
        if path.is_null() {
            return Err(libc::EINVAL);
        }
        // SAFETY: a NUL-terminated string (contract).
        let p = unsafe { CStr::from_ptr(path) }.to_str().map_err(|_| libc::EINVAL)?;
        let ch = table::channel(chid)?;
        baton_core::paths::attach(p, &ch, flags, file_type as u32).map_err(|e| e.errno())
    };
    match attach() {
        Ok(a) => {
            // SAFETY: `id` is valid for a write (contract).
            unsafe { crate::ffi::put(id, a.id() as c_int) };
            Box::into_raw(Box::new(a)).cast()
        }
        Err(e) => {
            set_errno(e);
            std::ptr::null_mut()
        }
    }
}

/// Removes an attachment [`__baton_path_attach`] made (NULL: nothing).
///
/// # Safety
///
/// `handle` is NULL or came from `__baton_path_attach` and is given back
/// once.
#[no_mangle]
pub unsafe extern "C" fn __baton_path_detach(handle: *mut c_void) {
    if !handle.is_null() {
        // SAFETY: from `Box::into_raw` in `__baton_path_attach`, once
        // (contract).
        drop(unsafe { Box::from_raw(handle.cast::<baton_core::paths::PathAttach>()) });
    }
}
