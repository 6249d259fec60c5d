//! The C boundary: errno, exporting a call with its `_r` twin, and turning
//! the pointers and `iov_t` arrays C passes into slices.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::io::{IoSlice, IoSliceMut};

/// What a call's implementation returns: a value or an errno.
pub(crate) type CResult<T> = Result<T, i32>;

/// The errno of a baton error.
pub(crate) fn errno(e: baton_core::Error) -> i32 {
    e.errno()
}

/// Sets the calling thread's `errno`.
pub(crate) fn set_errno(e: i32) {
    // SAFETY: `__errno_location` returns the calling thread's errno slot,
    // valid for the thread's life.
    unsafe { *libc::__errno_location() = e };
}

/// Exports `$name` (failure: -1 and errno) and `$name_r` (failure:
/// -errno, errno untouched), both calling `$imp` with the same arguments.
macro_rules! qnx_call {
    ($(#[$doc:meta])* $name:ident, $name_r:ident, $imp:path, ($($arg:ident : $ty:ty),* $(,)?) -> $ret:ty) => {
        $(#[$doc])*
        ///
        /// # Safety
        ///
        /// Pointer arguments are valid for the sizes given with them, as
        /// the C declaration requires.
        #[no_mangle]
        pub unsafe extern "C" fn $name($($arg: $ty),*) -> $ret {
            // SAFETY: the caller keeps the C contract (see `# Safety`).
            match unsafe { $imp($($arg),*) } {
                Ok(v) => v,
                Err(e) => {
                    $crate::ffi::set_errno(e);
                    -1
                }
            }
        }

        #[doc = concat!("`", stringify!($name), "`, returning `-errno` on failure.")]
        ///
        /// # Safety
        ///
        /// As for the call without `_r`.
        #[no_mangle]
        pub unsafe extern "C" fn $name_r($($arg: $ty),*) -> $ret {
            // SAFETY: the caller keeps the C contract (see `# Safety`).
            match unsafe { $imp($($arg),*) } {
                Ok(v) => v,
                Err(e) => -(e as $ret),
            }
        }
    };
}
pub(crate) use qnx_call;

/// `bytes` bytes at `p`, read-only; `EFAULT` for a null pointer with a
/// length.
///
/// # Safety
///
/// A non-null `p` is valid for reads of `bytes` bytes for `'a`.
pub(crate) unsafe fn bytes<'a>(p: *const c_void, bytes: usize) -> CResult<&'a [u8]> {
    if bytes == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(libc::EFAULT);
    }
    // SAFETY: per the function's contract.
    Ok(unsafe { std::slice::from_raw_parts(p.cast(), bytes) })
}

/// `bytes` writable bytes at `p`; `EFAULT` for a null pointer with a length.
///
/// # Safety
///
/// A non-null `p` is valid for writes of `bytes` bytes for `'a`, and
/// nothing else accesses them meanwhile.
pub(crate) unsafe fn bytes_mut<'a>(p: *mut c_void, bytes: usize) -> CResult<&'a mut [u8]> {
    if bytes == 0 {
        return Ok(&mut []);
    }
    if p.is_null() {
        return Err(libc::EFAULT);
    }
    // SAFETY: per the function's contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(p.cast(), bytes) })
}

/// The `iov_t` array `iov[..parts]`; `EFAULT` if it or one of its
/// buffers is null with a length.
///
/// # Safety
///
/// A non-null `iov` is valid for reads of `parts` entries; each non-null
/// entry's buffer is valid for `iov_len` bytes for `'a`.
unsafe fn iov_array<'a>(iov: *const libc::iovec, parts: usize) -> CResult<&'a [libc::iovec]> {
    if parts == 0 {
        return Ok(&[]);
    }
    if iov.is_null() {
        return Err(libc::EFAULT);
    }
    // SAFETY: per the function's contract.
    let v = unsafe { std::slice::from_raw_parts(iov, parts) };
    if v.iter().any(|e| e.iov_base.is_null() && e.iov_len != 0) {
        return Err(libc::EFAULT);
    }
    Ok(v)
}

/// The buffers of `iov[..parts]`, to read from.
///
/// # Safety
///
/// As for [`iov_array`], the buffers valid for reads.
pub(crate) unsafe fn iov_read<'a>(iov: *const libc::iovec, parts: usize) -> CResult<Parts<IoSlice<'a>>> {
    // SAFETY: per the function's contract.
    let v = unsafe { iov_array(iov, parts)? };
    Ok(Parts::collect(
        v.len(),
        || IoSlice::new(&[]),
        // SAFETY: each buffer is valid for reads of its length (contract;
        // null ones have length 0 and become empty slices).
        |i| IoSlice::new(unsafe { bytes(v[i].iov_base, v[i].iov_len) }.unwrap_or(&[])),
    ))
}

/// The buffers of `iov[..parts]`, to write into.
///
/// # Safety
///
/// As for [`iov_array`], the buffers valid for writes and not overlapping.
pub(crate) unsafe fn iov_write<'a>(iov: *const libc::iovec, parts: usize) -> CResult<Parts<IoSliceMut<'a>>> {
    // SAFETY: per the function's contract.
    let v = unsafe { iov_array(iov, parts)? };
    Ok(Parts::collect(
        v.len(),
        || IoSliceMut::new(&mut []),
        // SAFETY: each buffer is valid for writes of its length and not
        // aliased (contract; null ones have length 0).
        |i| IoSliceMut::new(unsafe { bytes_mut(v[i].iov_base, v[i].iov_len) }.unwrap_or(&mut [])),
    ))
}

/// How many parts of an `iov_t` array are kept on the stack; more go to
/// the heap.
const STACK_PARTS: usize = 8;

/// An `iov_t` array's buffers as `IoSlice`s or `IoSliceMut`s: on the stack
/// for up to [`STACK_PARTS`] parts, so that the vectored calls of a
/// message (`MsgSendv`, `MsgReceivev`, `MsgReplyv`, `MsgReadv`,
/// `MsgWritev`) allocate nothing in the usual case.
pub(crate) enum Parts<T> {
    Stack([T; STACK_PARTS], usize),
    Heap(Vec<T>),
}

impl<T> Parts<T> {
    /// `item(0..n)`; `empty` fills the unused stack entries.
    fn collect(n: usize, empty: impl Fn() -> T, item: impl Fn(usize) -> T) -> Parts<T> {
        if n > STACK_PARTS {
            return Parts::Heap((0..n).map(item).collect());
        }
        Parts::Stack(std::array::from_fn(|i| if i < n { item(i) } else { empty() }), n)
    }
}

impl<T> std::ops::Deref for Parts<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            Parts::Stack(a, n) => &a[..*n],
            Parts::Heap(v) => v,
        }
    }
}

impl<T> std::ops::DerefMut for Parts<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            Parts::Stack(a, n) => &mut a[..*n],
            Parts::Heap(v) => v,
        }
    }
}

/// Writes `value` to `p` if it is not null.
///
/// # Safety
///
/// A non-null `p` is valid for a write of a `T`.
pub(crate) unsafe fn put<T>(p: *mut T, value: T) {
    if !p.is_null() {
        // SAFETY: per the function's contract; unaligned writes are allowed.
        unsafe { p.write_unaligned(value) };
    }
}

/// Scatters `data` over `parts`; returns bytes written.
pub(crate) fn scatter(parts: &mut [IoSliceMut<'_>], data: &[u8]) -> usize {
    let mut done = 0;
    for p in parts.iter_mut() {
        if done == data.len() {
            break;
        }
        let n = p.len().min(data.len() - done);
        p[..n].copy_from_slice(&data[done..done + n]);
        done += n;
    }
    done
}
