//! The server's half of events: `MsgDeliverEvent` and `MsgVerifyEvent`,
//! and the copy of the handles each client registered for us.
//!
//! Delivering checks everything the server can know at once (the client
//! lives, the event is well formed, a handle is registered for us, the
//! connection takes raw events) and then writes one `DELIVER` notice on
//! the connection's socket; the client's runtime thread performs the event
//! in the client's process (`client/events.rs`). The call never blocks: a
//! client that has stopped reading its socket fills it, and deliveries then
//! fail with `EAGAIN` until it reads again.

use super::accept::ServerConn;
use super::{lock, ChannelShared, SCOIDS};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::proto::notice::{self, Frames, Notice, FRAME};
use crate::proto::rcvid::Rcvid;
use crate::sys::unix;
use rustix::io::Errno;
use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

/// The event state of one connection, server side.
#[derive(Debug, Default)]
pub(crate) struct EventMirror {
    /// Frames read so far (runtime thread only).
    frames: Mutex<Frames>,
    /// Handles the client registered for us.
    handles: Mutex<HashSet<u32>>,
    /// The client takes registered events only (`_NTO_COF_REG_EVENTS`).
    registered_only: AtomicBool,
    /// Serialises writers of the socket, so that frames never interleave.
    send: Mutex<()>,
}

fn no_client() -> Error {
    Error::new(libc::ESRCH, "no such client: the receive id is not valid, or its client process is gone")
}

/// The connection a receive id names, as long as its client lives (also
/// after the request was answered).
fn conn_of(rcvid: i32) -> Result<(Arc<ServerConn>, u32)> {
    let r = Rcvid::decode(rcvid).ok_or_else(no_client)?;
    let chan: Arc<ChannelShared> = lock(&SCOIDS).get(&r.scoid).and_then(|w| w.upgrade()).ok_or_else(no_client)?;
    let conn = chan.lock().conns.get(&r.scoid).map(|e| e.conn.clone()).ok_or_else(no_client)?;
    if conn.is_dead() {
        return Err(no_client());
    }
    Ok((conn, r.slot))
}

/// Checks `event` against the client `conn` as a delivery would.
fn check(conn: &ServerConn, event: &Event) -> Result<()> {
    event.check()?;
    match event {
        Event::Registered { handle, .. } if !lock(&conn.events.handles).contains(&handle.0) => {
            return Err(Error::new(
                libc::ESRCH,
                "no such registered event: the client never registered it for this server, or unregistered it",
            )
            .with_detail(handle.0));
        }
        Event::Registered { .. } => {}
        _ if conn.events.registered_only.load(Relaxed) => {
            return Err(Error::new(libc::EACCES, "this client takes registered events only"));
        }
        _ => {}
    }
    Ok(())
}

/// `MsgVerifyEvent(rcvid, event)`.
pub(crate) fn verify(rcvid: i32, event: &Event) -> Result<()> {
    Error::check_not_forked()?;
    let (conn, _) = conn_of(rcvid)?;
    check(&conn, event)
}

/// `MsgDeliverEvent(rcvid, event)`.
pub(crate) fn deliver(rcvid: i32, event: &Event) -> Result<()> {
    Error::check_not_forked()?;
    let (conn, slot) = conn_of(rcvid)?;
    check(&conn, event)?;
    // The thread the receive id names: the one that owns the slot (a slot
    // stays with its thread while the thread lives). What the client wrote
    // there only ever steers a signal within its own process.
    let tid = if slot < conn.seg.layout().slot_count { conn.seg.slot(slot).tid.load(Relaxed) } else { 0 };
    let frame = Notice { op: notice::DELIVER, arg: tid as u32, event: *event }.encode();
    let _one = lock(&conn.events.send);
    unix::send_nowait(conn.sock(), &frame).map_err(|e| match e {
        Errno::AGAIN => Error::new(libc::EAGAIN, "the client is not taking its events: its socket is full"),
        _ => no_client(),
    })
}

/// The client's socket is readable (runtime thread): registration
/// requests, or the end of the stream, which means the client is gone.
pub(crate) fn socket_readable(conn: &Arc<ServerConn>) {
    let mut buf = [0u8; FRAME * 16];
    loop {
        match unix::recv_nowait(conn.sock(), &mut buf) {
            Ok(0) => return super::client_gone(conn),
            Ok(n) => {
                let mut acks = Vec::new();
                lock(&conn.events.frames).feed(&buf[..n], |f| {
                    if apply(conn, f) {
                        acks.push(f.arg);
                    }
                });
                for seq in acks {
                    let frame = Notice { op: notice::ACK, arg: seq, event: Event::None }.encode();
                    let _one = lock(&conn.events.send);
                    // A client that does not read its acknowledgements
                    // times out waiting for them; nothing else to do.
                    let _ = unix::send_nowait(conn.sock(), &frame);
                }
            }
            Err(Errno::AGAIN) => return,
            Err(_) => return super::client_gone(conn),
        }
    }
}

/// Applies one request from the client; whether it is to be acknowledged.
fn apply(conn: &ServerConn, n: Notice) -> bool {
    match (n.op, n.event) {
        (notice::REGISTER, Event::Registered { handle, .. }) => {
            let mut hs = lock(&conn.events.handles);
            // More than a client may register (`client/events.rs`): only a
            // client that bypasses baton's limit gets here; no acknowledgement.
            if hs.len() >= crate::event::MAX_REGISTERED {
                return false;
            }
            hs.insert(handle.0);
        }
        (notice::UNREGISTER, Event::Registered { handle, .. }) => {
            lock(&conn.events.handles).remove(&handle.0);
        }
        (notice::REQUIRE, _) => conn.events.registered_only.store(true, Relaxed),
        _ => return false,
    }
    true
}

impl super::ReceiveId {
    /// Delivers `event` to the client this receive id names. Corresponds
    /// to `MsgDeliverEvent(rcvid, event)`. Works before and after the reply,
    /// as long as the client process lives; the event happens in the
    /// client's process shortly after (its runtime thread performs it).
    ///
    /// Errors: `ESRCH` if the client is gone (or the id was never valid),
    /// or for an [`Event::Registered`] handle the client has not registered
    /// for this server or has unregistered; `EINVAL` for a malformed event;
    /// `EACCES` for a raw event to a client that takes registered events
    /// only; `ENOTSUP` for [`Event::Unblock`]; `EAGAIN` if the client has
    /// not read the thousands of events already sent to it.
    pub fn deliver(self, event: &Event) -> Result<()> {
        deliver(self.as_raw(), event)
    }

    /// Checks what [`deliver`](Self::deliver) would check, delivering
    /// nothing. Corresponds to `MsgVerifyEvent(rcvid, event)`.
    pub fn verify_event(self, event: &Event) -> Result<()> {
        verify(self.as_raw(), event)
    }
}
