//! Working on a received message: `MsgReply`, `MsgReplyv`, `MsgError`,
//! `MsgRead`, `MsgReadv`, `MsgWrite`, `MsgWritev`, `MsgInfo`.
//!
//! Any thread may answer, once; a second answer, or one to a rcvid that
//! never was or whose client is gone, fails with `ESRCH`.
#![allow(unsafe_code)]

use crate::abi::{info_to_c, CMsgInfo};
use crate::ffi::{bytes, bytes_mut, errno, iov_read, iov_write, put, qnx_call, CResult};
use crate::table;
use std::ffi::{c_int, c_long, c_void};
use std::io::{IoSlice, IoSliceMut};

fn reply(rcvid: c_int, status: c_long, parts: &[IoSlice<'_>]) -> CResult<c_int> {
    table::take(rcvid)?.reply_vectored(status, parts).map_err(errno)?;
    Ok(0)
}

unsafe fn msg_reply(rcvid: c_int, status: c_long, msg: *const c_void, size: usize) -> CResult<c_int> {
    // SAFETY: `msg` is valid for `size` bytes (caller's contract).
    let data = unsafe { bytes(msg, size)? };
    reply(rcvid, status, &[IoSlice::new(data)])
}

unsafe fn msg_replyv(rcvid: c_int, status: c_long, iov: *const libc::iovec, parts: usize) -> CResult<c_int> {
    // SAFETY: the iov array and its buffers are valid (caller's contract).
    let parts = unsafe { iov_read(iov, parts)? };
    reply(rcvid, status, &parts)
}

/// `MsgError`: the client's call fails with `err`; `EOK` makes it return 0.
unsafe fn msg_error(rcvid: c_int, err: c_int) -> CResult<c_int> {
    if err < 0 {
        return Err(libc::EINVAL);
    }
    table::take(rcvid)?.error(err).map_err(errno)?;
    Ok(0)
}

qnx_call!(
    /// Corresponds to `MsgReply`.
    MsgReply, MsgReply_r, msg_reply, (rcvid: c_int, status: c_long, msg: *const c_void, size: usize) -> c_int
);
qnx_call!(
    /// Corresponds to `MsgReplyv`.
    MsgReplyv, MsgReplyv_r, msg_replyv, (rcvid: c_int, status: c_long, iov: *const libc::iovec, parts: usize) -> c_int
);
qnx_call!(
    /// Corresponds to `MsgError`.
    MsgError, MsgError_r, msg_error, (rcvid: c_int, err: c_int) -> c_int
);

fn read(rcvid: c_int, parts: &mut [IoSliceMut<'_>], offset: usize) -> CResult<isize> {
    table::with_held(rcvid, |r| r.read_vectored_at(offset, parts).map_err(errno)).map(|n| n as isize)
}

fn write(rcvid: c_int, parts: &[IoSlice<'_>], offset: usize) -> CResult<isize> {
    table::with_held(rcvid, |r| r.write_vectored_at(offset, parts).map_err(errno)).map(|n| n as isize)
}

unsafe fn msg_read(rcvid: c_int, msg: *mut c_void, size: usize, offset: usize) -> CResult<isize> {
    // SAFETY: `msg` is valid for `size` bytes (caller's contract).
    let buf = unsafe { bytes_mut(msg, size)? };
    read(rcvid, &mut [IoSliceMut::new(buf)], offset)
}

unsafe fn msg_readv(rcvid: c_int, iov: *const libc::iovec, parts: usize, offset: usize) -> CResult<isize> {
    // SAFETY: the iov array and its buffers are valid (caller's contract).
    let mut parts = unsafe { iov_write(iov, parts)? };
    read(rcvid, &mut parts, offset)
}

unsafe fn msg_write(rcvid: c_int, msg: *const c_void, size: usize, offset: usize) -> CResult<isize> {
    // SAFETY: `msg` is valid for `size` bytes (caller's contract).
    let data = unsafe { bytes(msg, size)? };
    write(rcvid, &[IoSlice::new(data)], offset)
}

unsafe fn msg_writev(rcvid: c_int, iov: *const libc::iovec, parts: usize, offset: usize) -> CResult<isize> {
    // SAFETY: the iov array and its buffers are valid (caller's contract).
    let parts = unsafe { iov_read(iov, parts)? };
    write(rcvid, &parts, offset)
}

qnx_call!(
    /// Corresponds to `MsgRead`.
    MsgRead, MsgRead_r, msg_read, (rcvid: c_int, msg: *mut c_void, size: usize, offset: usize) -> isize
);
qnx_call!(
    /// Corresponds to `MsgReadv`.
    MsgReadv, MsgReadv_r, msg_readv, (rcvid: c_int, iov: *const libc::iovec, parts: usize, offset: usize) -> isize
);
qnx_call!(
    /// Corresponds to `MsgWrite`.
    MsgWrite, MsgWrite_r, msg_write, (rcvid: c_int, msg: *const c_void, size: usize, offset: usize) -> isize
);
qnx_call!(
    /// Corresponds to `MsgWritev`.
    MsgWritev, MsgWritev_r, msg_writev, (rcvid: c_int, iov: *const libc::iovec, parts: usize, offset: usize) -> isize
);

/// `MsgInfo`: the message's info again (`_NTO_MI_UNBLOCK_REQ` live).
unsafe fn msg_info(rcvid: c_int, info: *mut CMsgInfo) -> CResult<c_int> {
    if info.is_null() {
        return Err(libc::EFAULT);
    }
    let i = table::with_held(rcvid, |r| Ok(r.info()))?;
    // SAFETY: `info` is valid for a write (caller's contract).
    unsafe { put(info, info_to_c(&i)) };
    Ok(0)
}

qnx_call!(
    /// Corresponds to `MsgInfo`.
    MsgInfo, MsgInfo_r, msg_info, (rcvid: c_int, info: *mut CMsgInfo) -> c_int
);
