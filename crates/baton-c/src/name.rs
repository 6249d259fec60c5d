//! Names: `name_attach`, `name_detach`, `name_open`, `name_close`.
#![allow(unsafe_code)]

use crate::abi::{CNameAttach, NAME_FLAG_ATTACH_GLOBAL};
use crate::connect::{detach, open_name};
use crate::ffi::{set_errno, CResult};
use crate::table;
use baton_core::Channel;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr};

/// A name from C: `EINVAL` for NULL or not UTF-8 (baton checks the rest:
/// empty, leading `/`, `..`).
///
/// # Safety
///
/// A non-null `p` points to a NUL-terminated string.
unsafe fn name<'a>(p: *const c_char) -> CResult<&'a str> {
    if p.is_null() {
        return Err(libc::EINVAL);
    }
    // SAFETY: per the function's contract.
    unsafe { CStr::from_ptr(p) }.to_str().map_err(|_| libc::EINVAL)
}

unsafe fn attach(dpp: *mut c_void, path: *const c_char, flags: c_uint) -> CResult<*mut CNameAttach> {
    if !dpp.is_null() || flags & !NAME_FLAG_ATTACH_GLOBAL != 0 {
        return Err(libc::EINVAL);
    }
    // SAFETY: `path` is a C string (caller's contract).
    let n = unsafe { name(path)? };
    let chid = table::add_channel(Channel::attach(n).map_err(crate::ffi::errno)?);
    let a = CNameAttach { dpp: std::ptr::null_mut(), chid, mntid: chid, zero: [0; 2] };
    Ok(Box::into_raw(Box::new(a)))
}

/// Corresponds to `name_attach`: a new channel attached under `path`
/// (`dpp` must be NULL); NULL and errno on failure.
///
/// # Safety
///
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn name_attach(dpp: *mut c_void, path: *const c_char, flags: c_uint) -> *mut CNameAttach {
    // SAFETY: per the function's contract.
    match unsafe { attach(dpp, path, flags) } {
        Ok(a) => a,
        Err(e) => {
            set_errno(e);
            std::ptr::null_mut()
        }
    }
}

/// Corresponds to `name_detach`: removes the name, destroys its channel
/// and frees `attach`.
///
/// # Safety
///
/// `attach` is NULL or was returned by `name_attach` and not detached.
#[no_mangle]
pub unsafe extern "C" fn name_detach(attach: *mut CNameAttach, _flags: c_uint) -> c_int {
    if attach.is_null() {
        return 0;
    }
    // SAFETY: `attach` came from `Box::into_raw` in `name_attach` and is
    // given back once (contract).
    let a = unsafe { Box::from_raw(attach) };
    match table::destroy_channel(a.chid) {
        Ok(()) => 0,
        Err(e) => {
            set_errno(e);
            -1
        }
    }
}

/// Corresponds to `name_open`: a side-channel coid to the channel
/// attached under `name` (no `_IO_CONNECT` is sent); -1 and errno on
/// failure.
///
/// # Safety
///
/// `name` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn name_open(name: *const c_char, _flags: c_int) -> c_int {
    // SAFETY: `name` is a C string (contract).
    match unsafe { self::name(name) }.and_then(open_name) {
        Ok(coid) => coid,
        Err(e) => {
            set_errno(e);
            -1
        }
    }
}

/// Corresponds to `name_close`: `ConnectDetach(coid)`.
#[no_mangle]
pub extern "C" fn name_close(coid: c_int) -> c_int {
    match detach(coid) {
        Ok(v) => v,
        Err(e) => {
            set_errno(e);
            -1
        }
    }
}
