//! Events: what a server delivers to a client later (`MsgDeliverEvent`),
//! and registered events (QNX 7.1's `MsgRegisterEvent`).
//!
//! An [`Event`] is the Rust form of a QNX `struct sigevent`: the client
//! builds one, sends it to the server inside a message (as bytes:
//! [`Event::encode`]), and the server keeps it with the request's
//! [`ReceiveId`](crate::ReceiveId) and delivers it when something happens
//! ([`ReceiveId::deliver`](crate::ReceiveId::deliver)), also long after it
//! replied. The event then happens *in the client's process*: a pulse on one
//! of the client's own connections, a signal to the client or to the thread
//! that sent the message. How it gets there is in `client/events.rs` and
//! `server/events.rs`.

use crate::error::{Error, Result};

/// A registered event's handle ([`register_event`](crate::register_event)),
/// unique within the client process. Corresponds to the handle QNX writes
/// into a `struct sigevent` that `MsgRegisterEvent` registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventHandle(pub(crate) u32);

impl EventHandle {
    /// The raw value (what a C `struct sigevent` carries).
    pub fn as_raw(self) -> u32 {
        self.0
    }

    /// A handle from its raw value (0 is never a handle).
    pub fn from_raw(raw: u32) -> Option<EventHandle> {
        (raw != 0).then_some(EventHandle(raw))
    }
}

/// Priority value of a pulse event that takes the priority of the thread
/// it concerns (`SIGEV_PULSE_PRIO_INHERIT`).
pub const PULSE_PRIO_INHERIT: i32 = -1;

/// What happens when an event is delivered. Corresponds to a QNX
/// `struct sigevent` (its `sigev_notify` type and the fields that type uses);
/// every field maps onto one of the C structure's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// `SIGEV_NONE`: nothing happens (delivery still checks the client).
    None,
    /// `SIGEV_PULSE`: a pulse with `code` and `value` on the client's
    /// connection `coid` (a [`Connection::id`](crate::Connection::id) of the
    /// *client's* process, typically a connection to one of its own
    /// channels). `priority` is a real-time priority (1..=255; above 99 is
    /// taken as 99), 0 for normal, or [`PULSE_PRIO_INHERIT`]: the priority of
    /// the thread that sent the message (for a timer, of the thread that
    /// created it).
    Pulse {
        /// `sigev_coid`.
        coid: i32,
        /// `sigev_priority`.
        priority: i32,
        /// `sigev_code`: 0..=127 (`_PULSE_CODE_MINAVAIL..=MAXAVAIL`).
        code: i8,
        /// `sigev_value`.
        value: i64,
    },
    /// `SIGEV_SIGNAL`: signal `signo` with `value` (`sigqueue`) to the
    /// client process.
    Signal {
        /// `sigev_signo`.
        signo: i32,
        /// `sigev_value`.
        value: i64,
    },
    /// `SIGEV_SIGNAL_THREAD`: signal `signo` with `value` to the client
    /// thread that sent the message; fails quietly if that thread has exited.
    SignalThread {
        /// `sigev_signo`.
        signo: i32,
        /// `sigev_value`.
        value: i64,
    },
    /// `SIGEV_UNBLOCK`: on QNX, forces the thread out of the kernel call it
    /// is blocked in. baton's calls end only by their answer, the peer's
    /// death or their deadline, so delivering it fails with `ENOTSUP`; it is
    /// what [`Timeout`](crate::Timeout) and [`Deadline`](crate::Deadline) do.
    Unblock,
    /// A registered event (`MsgRegisterEvent`): the client's registration
    /// says what happens. `value` replaces the registered value if the event
    /// was registered as updateable (`SIGEV_MAKE_UPDATEABLE`), and is
    /// ignored otherwise.
    Registered {
        /// The handle the client got from [`register_event`](crate::register_event).
        handle: EventHandle,
        /// The value the server gives.
        value: i64,
    },
}

/// Most events one process may have registered at once (`EAGAIN` beyond).
pub const MAX_REGISTERED: usize = 65536;

/// Bytes of an encoded [`Event`].
pub const EVENT_LEN: usize = 32;

const K_NONE: u32 = 0;
const K_PULSE: u32 = 1;
const K_SIGNAL: u32 = 2;
const K_SIGNAL_THREAD: u32 = 3;
const K_UNBLOCK: u32 = 4;
const K_REGISTERED: u32 = 5;

/// The highest signal number (`SIGRTMAX` on Linux).
const SIG_MAX: i32 = 64;

impl Event {
    /// `SIGEV_PULSE_INIT(ev, coid, priority, code, value)`.
    pub fn pulse(coid: i32, priority: i32, code: i8, value: i64) -> Event {
        Event::Pulse { coid, priority, code, value }
    }

    /// The value the event carries (`sigev_value`), 0 for none.
    pub fn value(&self) -> i64 {
        match *self {
            Event::Pulse { value, .. }
            | Event::Signal { value, .. }
            | Event::SignalThread { value, .. }
            | Event::Registered { value, .. } => value,
            Event::None | Event::Unblock => 0,
        }
    }

    /// Whether the event is well formed: `EINVAL` for a pulse code outside
    /// 0..=127, a priority outside -1..=255, a signal number outside
    /// 1..=64; `ENOTSUP` for [`Event::Unblock`]. Corresponds to the checks
    /// of `MsgVerifyEvent`.
    pub fn check(&self) -> Result<()> {
        match *self {
            Event::None | Event::Registered { .. } => Ok(()),
            Event::Pulse { code, priority, .. } => {
                if code < 0 {
                    return Err(Error::new(libc::EINVAL, "event pulse codes are 0..=127").with_detail(code));
                }
                if !(-1..=255).contains(&priority) {
                    return Err(Error::new(libc::EINVAL, "event pulse priorities are -1..=255").with_detail(priority));
                }
                Ok(())
            }
            Event::Signal { signo, .. } | Event::SignalThread { signo, .. } => {
                if !(1..=SIG_MAX).contains(&signo) {
                    return Err(Error::new(libc::EINVAL, "no such signal").with_detail(signo));
                }
                Ok(())
            }
            Event::Unblock => Err(Error::new(
                libc::ENOTSUP,
                "baton cannot force a thread out of a call (SIGEV_UNBLOCK); give the call a deadline",
            )),
        }
    }

    /// The event as 32 bytes (little-endian), to put in a message.
    pub fn encode(&self) -> [u8; EVENT_LEN] {
        let (kind, a, b, c, value) = match *self {
            Event::None => (K_NONE, 0, 0, 0, 0),
            Event::Pulse { coid, priority, code, value } => (K_PULSE, coid, priority, i32::from(code), value),
            Event::Signal { signo, value } => (K_SIGNAL, signo, 0, 0, value),
            Event::SignalThread { signo, value } => (K_SIGNAL_THREAD, signo, 0, 0, value),
            Event::Unblock => (K_UNBLOCK, 0, 0, 0, 0),
            Event::Registered { handle, value } => (K_REGISTERED, handle.0 as i32, 0, 0, value),
        };
        let mut out = [0u8; EVENT_LEN];
        out[0..4].copy_from_slice(&kind.to_le_bytes());
        out[4..8].copy_from_slice(&a.to_le_bytes());
        out[8..12].copy_from_slice(&b.to_le_bytes());
        out[12..16].copy_from_slice(&c.to_le_bytes());
        out[16..24].copy_from_slice(&value.to_le_bytes());
        out
    }

    /// Decodes [`Event::encode`]'s bytes; `EINVAL` if they are not an event.
    pub fn decode(bytes: &[u8]) -> Result<Event> {
        let bad = || Error::new(libc::EINVAL, "not an encoded event");
        if bytes.len() < EVENT_LEN {
            return Err(bad());
        }
        let word = |i: usize| i32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
        let value = i64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes"));
        let (kind, a, b, c) = (word(0) as u32, word(4), word(8), word(12));
        Ok(match kind {
            K_NONE => Event::None,
            K_PULSE => Event::Pulse { coid: a, priority: b, code: i8::try_from(c).map_err(|_| bad())?, value },
            K_SIGNAL => Event::Signal { signo: a, value },
            K_SIGNAL_THREAD => Event::SignalThread { signo: a, value },
            K_UNBLOCK => Event::Unblock,
            K_REGISTERED => Event::Registered { handle: EventHandle::from_raw(a as u32).ok_or_else(bad)?, value },
            _ => return Err(bad()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_checks() {
        let all = [
            Event::None,
            Event::pulse(7, -1, 5, -3),
            Event::Signal { signo: libc::SIGUSR1, value: 9 },
            Event::SignalThread { signo: 40, value: i64::MIN },
            Event::Unblock,
            Event::Registered { handle: EventHandle(3), value: 11 },
        ];
        for e in all {
            assert_eq!(Event::decode(&e.encode()).unwrap(), e);
        }
        assert_eq!(Event::pulse(1, 10, -1, 0).check().unwrap_err().errno(), libc::EINVAL);
        assert_eq!(Event::pulse(1, 256, 1, 0).check().unwrap_err().errno(), libc::EINVAL);
        assert_eq!(Event::Signal { signo: 0, value: 0 }.check().unwrap_err().errno(), libc::EINVAL);
        assert_eq!(Event::Unblock.check().unwrap_err().errno(), libc::ENOTSUP);
        assert!(Event::pulse(1, -1, 127, 0).check().is_ok());
        assert!(Event::decode(&[0xff; EVENT_LEN]).is_err());
        assert!(Event::decode(&[0; 8]).is_err());
    }
}
