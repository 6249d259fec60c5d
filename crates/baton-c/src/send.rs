//! Sending: `MsgSend` and its vector and `nc` forms, `MsgSendPulse`.
#![allow(unsafe_code)]

use crate::ffi::{bytes, bytes_mut, errno, iov_read, iov_write, qnx_call, CResult};
use crate::{table, timeout};
use std::ffi::{c_int, c_long, c_void};
use std::io::{IoSlice, IoSliceMut};

/// Sends `msg` on `coid` and waits for the reply into `reply`, within the
/// thread's armed `TimerTimeout`; the reply's status.
pub(crate) fn send(coid: c_int, msg: &[IoSlice<'_>], reply: &mut [IoSliceMut<'_>]) -> CResult<c_long> {
    let c = table::coid(coid)?;
    let t = timeout::take_for_send();
    let r = c.conn.send_vectored_timeout(msg, reply, t).map_err(errno)?;
    Ok(r.status as c_long)
}

unsafe fn msg_send(
    coid: c_int,
    smsg: *const c_void,
    sbytes: usize,
    rmsg: *mut c_void,
    rbytes: usize,
) -> CResult<c_long> {
    // SAFETY: the buffers are valid for their sizes (caller's contract).
    let (s, r) = unsafe { (bytes(smsg, sbytes)?, bytes_mut(rmsg, rbytes)?) };
    send(coid, &[IoSlice::new(s)], &mut [IoSliceMut::new(r)])
}

unsafe fn msg_sendv(
    coid: c_int,
    siov: *const libc::iovec,
    sparts: usize,
    riov: *const libc::iovec,
    rparts: usize,
) -> CResult<c_long> {
    // SAFETY: the iov arrays and their buffers are valid (caller's contract).
    let (s, mut r) = unsafe { (iov_read(siov, sparts)?, iov_write(riov, rparts)?) };
    send(coid, &s, &mut r)
}

unsafe fn msg_sendsv(
    coid: c_int,
    smsg: *const c_void,
    sbytes: usize,
    riov: *const libc::iovec,
    rparts: usize,
) -> CResult<c_long> {
    // SAFETY: the buffers and the iov array are valid (caller's contract).
    let (s, mut r) = unsafe { (bytes(smsg, sbytes)?, iov_write(riov, rparts)?) };
    send(coid, &[IoSlice::new(s)], &mut r)
}

unsafe fn msg_sendvs(
    coid: c_int,
    siov: *const libc::iovec,
    sparts: usize,
    rmsg: *mut c_void,
    rbytes: usize,
) -> CResult<c_long> {
    // SAFETY: the iov array and the buffers are valid (caller's contract).
    let (s, r) = unsafe { (iov_read(siov, sparts)?, bytes_mut(rmsg, rbytes)?) };
    send(coid, &s, &mut [IoSliceMut::new(r)])
}

qnx_call!(
    /// Corresponds to `MsgSend`.
    MsgSend, MsgSend_r, msg_send, (coid: c_int, smsg: *const c_void, sbytes: usize, rmsg: *mut c_void, rbytes: usize) -> c_long
);
qnx_call!(
    /// Corresponds to `MsgSendnc` (here the same as `MsgSend`: baton's
    /// calls are not cancellation points).
    MsgSendnc, MsgSendnc_r, msg_send, (coid: c_int, smsg: *const c_void, sbytes: usize, rmsg: *mut c_void, rbytes: usize) -> c_long
);
qnx_call!(
    /// Corresponds to `MsgSendv`.
    MsgSendv, MsgSendv_r, msg_sendv,
    (coid: c_int, siov: *const libc::iovec, sparts: usize, riov: *const libc::iovec, rparts: usize) -> c_long
);
qnx_call!(
    /// Corresponds to `MsgSendvnc` (the same as `MsgSendv`).
    MsgSendvnc, MsgSendvnc_r, msg_sendv,
    (coid: c_int, siov: *const libc::iovec, sparts: usize, riov: *const libc::iovec, rparts: usize) -> c_long
);
qnx_call!(
    /// Corresponds to `MsgSendsv`: a plain message, a scattered reply.
    MsgSendsv, MsgSendsv_r, msg_sendsv,
    (coid: c_int, smsg: *const c_void, sbytes: usize, riov: *const libc::iovec, rparts: usize) -> c_long
);
qnx_call!(
    /// Corresponds to `MsgSendvs`: a gathered message, a plain reply.
    MsgSendvs, MsgSendvs_r, msg_sendvs,
    (coid: c_int, siov: *const libc::iovec, sparts: usize, rmsg: *mut c_void, rbytes: usize) -> c_long
);

/// `MsgSendPulse`: never blocks; `priority` -1 is the caller's; codes
/// 0..=127 (`EINVAL` otherwise); `EAGAIN` when the server has too many of
/// this process's pulses waiting.
unsafe fn msg_send_pulse(coid: c_int, priority: c_int, code: c_int, value: c_int) -> CResult<c_int> {
    let code = i8::try_from(code).map_err(|_| libc::EINVAL)?;
    let c = table::coid(coid)?;
    c.conn.send_pulse_priority(priority, code, i64::from(value)).map_err(errno)?;
    Ok(0)
}

qnx_call!(
    /// Corresponds to `MsgSendPulse`.
    MsgSendPulse, MsgSendPulse_r, msg_send_pulse, (coid: c_int, priority: c_int, code: c_int, value: c_int) -> c_int
);
