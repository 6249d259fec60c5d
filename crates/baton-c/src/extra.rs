//! What `baton.h` adds: the version, the runtime directory, refreshing a
//! thread's cached priority.
#![allow(unsafe_code)]

use crate::ffi::set_errno;
use std::ffi::{c_char, c_int, CStr};

/// The library's version, NUL-terminated.
const VERSION: &CStr = match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
    Ok(v) => v,
    Err(_) => panic!("the version has no NUL"),
};

/// `baton_version()`: the version string ("0.1.0").
#[no_mangle]
pub extern "C" fn baton_version() -> *const c_char {
    VERSION.as_ptr()
}

/// `baton_set_runtime_dir(path)`: 0, or -1 with errno (`EINVAL` for NULL,
/// `EBUSY` once another directory is in use).
///
/// # Safety
///
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn baton_set_runtime_dir(path: *const c_char) -> c_int {
    if path.is_null() {
        set_errno(libc::EINVAL);
        return -1;
    }
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: `path` is a C string (contract).
    let p = std::ffi::OsStr::from_bytes(unsafe { CStr::from_ptr(path) }.to_bytes());
    match baton_core::set_runtime_dir(p) {
        Ok(()) => 0,
        Err(e) => {
            set_errno(e.errno());
            -1
        }
    }
}

/// `baton_refresh_thread_priority()`: the calling thread's next messages
/// carry the priority it has now.
#[no_mangle]
pub extern "C" fn baton_refresh_thread_priority() {
    baton_core::refresh_thread_priority();
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_matches_the_header() {
        let h = include_str!("../include/baton.h");
        let v = super::VERSION.to_str().unwrap();
        assert!(h.contains(&format!("#define BATON_VERSION \"{v}\"")), "baton.h names another version than {v}");
    }
}
