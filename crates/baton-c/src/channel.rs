//! Channels: `ChannelCreate`, `ChannelDestroy`, and receiving on them
//! (`MsgReceive`, `MsgReceivev`, `MsgReceivePulse`).
#![allow(unsafe_code)]

use crate::abi::{info_to_c, pulse_to_c, CMsgInfo, CPulse};
use crate::ffi::{bytes_mut, errno, iov_write, put, qnx_call, scatter, CResult};
use crate::{table, timeout};
use baton_core::{pulse_code, Channel, Received};
use std::ffi::{c_int, c_uint, c_void};
use std::io::IoSliceMut;

/// `ChannelCreate(flags)`: any `_NTO_CHF_*` flag baton knows; `EINVAL`
/// for others.
unsafe fn channel_create(flags: c_uint) -> CResult<c_int> {
    let ch = Channel::builder().flags(flags).create().map_err(errno)?;
    Ok(table::add_channel(ch))
}

unsafe fn channel_destroy(chid: c_int) -> CResult<c_int> {
    table::destroy_channel(chid)?;
    Ok(0)
}

qnx_call!(
    /// Corresponds to `ChannelCreate`.
    ChannelCreate, ChannelCreate_r, channel_create, (flags: c_uint) -> c_int
);
qnx_call!(
    /// Corresponds to `ChannelDestroy`.
    ChannelDestroy, ChannelDestroy_r, channel_destroy, (chid: c_int) -> c_int
);

/// Receives a message or pulse on `chid` into `parts`: a message's rcvid
/// (its info written to `info`), or 0 for a pulse, written to `parts` as a
/// `struct _pulse`. A pulse that does not fit is lost with `EFAULT`, as on
/// QNX; a message is delivered into any buffer, truncated.
///
/// # Safety
///
/// A non-null `info` is valid for a write of a `struct _msg_info`.
unsafe fn receive(chid: c_int, parts: &mut [IoSliceMut<'_>], info: *mut CMsgInfo) -> CResult<c_int> {
    let ch = table::channel(chid)?;
    let deadline = timeout::take_for_receive();
    match ch.receive_vectored_deadline(parts, deadline).map_err(errno)? {
        Received::Message(req) => {
            // SAFETY: per the function's contract.
            unsafe { put(info, info_to_c(&req.info())) };
            Ok(table::hold(req))
        }
        Received::Pulse(p) => {
            if p.code == pulse_code::DISCONNECT {
                // The client is gone: its unanswered messages with it.
                table::drop_held(|h| h.scoid == p.scoid && h.chid == ch.id());
            }
            let room: usize = parts.iter().map(|p| p.len()).sum();
            if room < std::mem::size_of::<CPulse>() {
                return Err(libc::EFAULT);
            }
            scatter(parts, &pulse_to_c(&p).to_bytes());
            Ok(0)
        }
    }
}

unsafe fn msg_receive(chid: c_int, msg: *mut c_void, bytes: usize, info: *mut CMsgInfo) -> CResult<c_int> {
    // SAFETY: `msg` is valid for `bytes` bytes (caller's contract).
    let buf = unsafe { bytes_mut(msg, bytes)? };
    // SAFETY: `info` per the caller's contract.
    unsafe { receive(chid, &mut [IoSliceMut::new(buf)], info) }
}

unsafe fn msg_receivev(chid: c_int, iov: *const libc::iovec, parts: usize, info: *mut CMsgInfo) -> CResult<c_int> {
    // SAFETY: the iov array and its buffers are valid (caller's contract).
    let mut parts = unsafe { iov_write(iov, parts)? };
    // SAFETY: `info` per the caller's contract.
    unsafe { receive(chid, &mut parts, info) }
}

/// `MsgReceivePulse`: pulses only; messages stay queued. `info` is not
/// written (QNX does not fill it for a pulse).
unsafe fn msg_receive_pulse(chid: c_int, pulse: *mut c_void, bytes: usize, _info: *mut CMsgInfo) -> CResult<c_int> {
    if bytes < std::mem::size_of::<CPulse>() {
        // Nothing taken: the pulse could not be delivered anyway.
        return Err(libc::EFAULT);
    }
    // SAFETY: `pulse` is valid for `bytes` bytes (caller's contract).
    let buf = unsafe { bytes_mut(pulse, bytes)? };
    let ch = table::channel(chid)?;
    let p = ch.receive_pulse(timeout::take_for_receive()).map_err(errno)?;
    if p.code == pulse_code::DISCONNECT {
        table::drop_held(|h| h.scoid == p.scoid && h.chid == ch.id());
    }
    buf[..std::mem::size_of::<CPulse>()].copy_from_slice(&pulse_to_c(&p).to_bytes());
    Ok(0)
}

qnx_call!(
    /// Corresponds to `MsgReceive`.
    MsgReceive, MsgReceive_r, msg_receive, (chid: c_int, msg: *mut c_void, bytes: usize, info: *mut CMsgInfo) -> c_int
);
qnx_call!(
    /// Corresponds to `MsgReceivev`.
    MsgReceivev, MsgReceivev_r, msg_receivev,
    (chid: c_int, iov: *const libc::iovec, parts: usize, info: *mut CMsgInfo) -> c_int
);
qnx_call!(
    /// Corresponds to `MsgReceivePulse`.
    MsgReceivePulse, MsgReceivePulse_r, msg_receive_pulse,
    (chid: c_int, pulse: *mut c_void, bytes: usize, info: *mut CMsgInfo) -> c_int
);
