//! Events: `MsgDeliverEvent`, `MsgVerifyEvent`, `MsgRegisterEvent`,
//! `MsgUnregisterEvent`, over the program's own `struct sigevent`.
//!
//! The client puts its `struct sigevent` in a message; the server passes it
//! back to `MsgDeliverEvent` with the rcvid, also after replying. A pulse
//! event's `sigev_coid` is a coid of the *client* (what `ConnectAttach` or
//! `name_open` gave it, from either coid space): baton's connection ids are
//! these numbers, so the client's runtime resolves it in the client process.
//!
//! `MsgRegisterEvent` turns the event into a handle in place, as QNX 7.1
//! does: `SIGEV_FLAG_HANDLE` is added to `sigev_notify` (its type and
//! `SIGEV_FLAG_UPDATEABLE` stay, so a server can test them) and the handle
//! replaces `sigev_coid`/`sigev_signo` (`sigev_handle`).
#![allow(unsafe_code)]

use crate::abi::{
    event_from_c, CSigevent, REGEVENT_ALLOW_ANY_SERVER, REGEVENT_ALLOW_SELF, SIGEV_FLAG_HANDLE, SIGEV_FLAG_UPDATEABLE,
};
use crate::ffi::{errno, qnx_call, CResult};
use crate::table;
use baton_core::{Event, EventHandle, ReceiveId};
use std::ffi::c_int;

/// The event at `ev`; `EFAULT` for NULL.
///
/// # Safety
///
/// A non-null `ev` points to a `struct sigevent`.
unsafe fn read_event(ev: *const CSigevent) -> CResult<(CSigevent, Event)> {
    if ev.is_null() {
        return Err(libc::EFAULT);
    }
    // SAFETY: per the function's contract.
    let c = unsafe { ev.read_unaligned() };
    Ok((c, event_from_c(&c)?))
}

/// The receive id a server holds: `ESRCH` if it cannot be one.
fn rcvid(rcvid: c_int) -> CResult<ReceiveId> {
    ReceiveId::from_raw(rcvid).ok_or(libc::ESRCH)
}

/// `MsgDeliverEvent(rcvid, event)`: to the client `rcvid` names (before or
/// after the reply, while it lives), or with rcvid 0 to this process.
unsafe fn msg_deliver_event(id: c_int, ev: *const CSigevent) -> CResult<c_int> {
    // SAFETY: `ev` per the caller's contract.
    let (_, e) = unsafe { read_event(ev)? };
    if id == 0 {
        baton_core::deliver_event_to_self(&e).map_err(errno)?;
    } else {
        rcvid(id)?.deliver(&e).map_err(errno)?;
    }
    Ok(0)
}

/// `MsgVerifyEvent(rcvid, event)`: what a delivery would check; with
/// rcvid 0, on the client's side (well formed, and a pulse's coid is one of
/// this process's).
unsafe fn msg_verify_event(id: c_int, ev: *const CSigevent) -> CResult<c_int> {
    // SAFETY: `ev` per the caller's contract.
    let (_, e) = unsafe { read_event(ev)? };
    if id != 0 {
        rcvid(id)?.verify_event(&e).map_err(errno)?;
        return Ok(0);
    }
    e.check().map_err(errno)?;
    if let Event::Pulse { coid, .. } = e {
        table::coid(coid)?;
    }
    Ok(0)
}

/// `MsgRegisterEvent(event, coid)`: `coid` is the connection to the only
/// server allowed to deliver it, `_NTO_REGEVENT_ALLOW_ANY_SERVER` (-1) or
/// `_NTO_REGEVENT_ALLOW_SELF` (-2). The event becomes its handle.
unsafe fn msg_register_event(ev: *mut CSigevent, coid: c_int) -> CResult<c_int> {
    // SAFETY: `ev` per the caller's contract.
    let (mut c, e) = unsafe { read_event(ev)? };
    if c.notify & SIGEV_FLAG_HANDLE != 0 {
        return Err(libc::EINVAL); // registered already
    }
    let updateable = c.notify & SIGEV_FLAG_UPDATEABLE != 0;
    let handle = match coid {
        REGEVENT_ALLOW_ANY_SERVER => baton_core::register_event(e, updateable, None),
        REGEVENT_ALLOW_SELF => baton_core::register_event_for_self(e, updateable),
        _ => table::coid(coid)?.conn.register_event(e, updateable),
    }
    .map_err(errno)?;
    c.notify |= SIGEV_FLAG_HANDLE;
    c.signo = handle.as_raw() as c_int;
    // SAFETY: `ev` is valid for a write (caller's contract).
    unsafe { ev.write_unaligned(c) };
    Ok(0)
}

/// `MsgUnregisterEvent(event)`: `EINVAL` for an event that is not a
/// handle, `ESRCH` for a handle not registered (any more).
unsafe fn msg_unregister_event(ev: *const CSigevent) -> CResult<c_int> {
    if ev.is_null() {
        return Err(libc::EFAULT);
    }
    // SAFETY: `ev` per the caller's contract.
    let c = unsafe { ev.read_unaligned() };
    if c.notify & SIGEV_FLAG_HANDLE == 0 {
        return Err(libc::EINVAL);
    }
    let handle = EventHandle::from_raw(c.signo as u32).ok_or(libc::ESRCH)?;
    baton_core::unregister_event(handle).map_err(errno)?;
    Ok(0)
}

qnx_call!(
    /// Corresponds to `MsgDeliverEvent`.
    MsgDeliverEvent, MsgDeliverEvent_r, msg_deliver_event, (rcvid: c_int, event: *const CSigevent) -> c_int
);
qnx_call!(
    /// Corresponds to `MsgVerifyEvent`.
    MsgVerifyEvent, MsgVerifyEvent_r, msg_verify_event, (rcvid: c_int, event: *const CSigevent) -> c_int
);
qnx_call!(
    /// Corresponds to `MsgRegisterEvent` (QNX 7.1).
    MsgRegisterEvent, MsgRegisterEvent_r, msg_register_event, (event: *mut CSigevent, coid: c_int) -> c_int
);
qnx_call!(
    /// Corresponds to `MsgUnregisterEvent` (QNX 7.1).
    MsgUnregisterEvent, MsgUnregisterEvent_r, msg_unregister_event, (event: *const CSigevent) -> c_int
);
