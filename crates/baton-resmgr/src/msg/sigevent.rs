//! The C `struct sigevent` of `sys/neutrino.h` (glibc's, 64 bytes), as
//! `_IO_NOTIFY` carries it, and its [`baton::Event`]. The same mapping as
//! the C library's (`crates/baton-c/src/abi.rs`), so that a C client's
//! `SIGEV_PULSE_INIT` event arms a Rust server and the reverse:
//!
//! ```text
//! 0  sigev_value   (union sigval, 8 bytes)
//! 8  sigev_signo   (sigev_coid for a pulse, the handle of a registered event)
//! 12 sigev_notify  (type in the low byte, SIGEV_FLAG_* above it)
//! 16 sigev_code    (a pulse's code; the union's first word)
//! 20 sigev_priority
//! ```

use super::{le, need, MsgError};
use baton::{Event, EventHandle};

/// Bytes of a `struct sigevent`.
pub const SIGEVENT_LEN: usize = 64;

/// `sigev_notify` types (`sys/neutrino.h`: Linux's, and QNX's numbered so
/// as not to collide with them).
pub mod kind {
    /// `SIGEV_SIGNAL`.
    pub const SIGNAL: i32 = 0;
    /// `SIGEV_NONE`.
    pub const NONE: i32 = 1;
    /// `SIGEV_THREAD` (not deliverable by baton).
    pub const THREAD: i32 = 2;
    /// `SIGEV_SIGNAL_THREAD`.
    pub const SIGNAL_THREAD: i32 = 3;
    /// `SIGEV_UNBLOCK`.
    pub const UNBLOCK: i32 = 5;
    /// `SIGEV_SIGNAL_CODE` (delivered as `SIGEV_SIGNAL`).
    pub const SIGNAL_CODE: i32 = 0x12;
    /// `SIGEV_PULSE`.
    pub const PULSE: i32 = 0x14;
    /// `SIGEV_TYPE_MASK`: the type bits of `sigev_notify`.
    pub const TYPE_MASK: i32 = 0xff;
    /// `SIGEV_FLAG_HANDLE`: a registered event; `sigev_signo` is its handle.
    pub const FLAG_HANDLE: i32 = 0x2000;
}

/// The `struct sigevent` bytes of `event`.
pub fn encode(event: &Event) -> [u8; SIGEVENT_LEN] {
    let (value, signo, notify, code, priority) = match *event {
        Event::None => (0, 0, kind::NONE, 0, 0),
        Event::Pulse { coid, priority, code, value } => (value, coid, kind::PULSE, i32::from(code), priority),
        Event::Signal { signo, value } => (value, signo, kind::SIGNAL, 0, 0),
        Event::SignalThread { signo, value } => (value, signo, kind::SIGNAL_THREAD, 0, 0),
        Event::Unblock => (0, 0, kind::UNBLOCK, 0, 0),
        Event::Registered { handle, value } => (value, handle.as_raw() as i32, kind::NONE | kind::FLAG_HANDLE, 0, 0),
    };
    let mut out = [0u8; SIGEVENT_LEN];
    le::put(&mut out, 0, &value.to_le_bytes());
    le::put(&mut out, 8, &signo.to_le_bytes());
    le::put(&mut out, 12, &notify.to_le_bytes());
    le::put(&mut out, 16, &code.to_le_bytes());
    le::put(&mut out, 20, &priority.to_le_bytes());
    out
}

/// The event a `struct sigevent` describes. [`MsgError::BadField`] for a
/// type baton does not deliver (`SIGEV_THREAD`, `SIGEV_INTR`, unknown), a
/// pulse code outside -128..=127, a zero handle.
pub fn decode(b: &[u8]) -> Result<Event, MsgError> {
    need(b, SIGEVENT_LEN)?;
    let bad = MsgError::BadField("sigevent");
    let value = le::i64(b, 0);
    let signo = le::i32(b, 8);
    let notify = le::i32(b, 12);
    if notify & kind::FLAG_HANDLE != 0 {
        let handle = EventHandle::from_raw(signo as u32).ok_or(bad)?;
        return Ok(Event::Registered { handle, value });
    }
    Ok(match notify & kind::TYPE_MASK {
        kind::NONE => Event::None,
        kind::SIGNAL | kind::SIGNAL_CODE => Event::Signal { signo, value },
        kind::SIGNAL_THREAD => Event::SignalThread { signo, value },
        kind::PULSE => Event::Pulse {
            coid: signo,
            priority: le::i32(b, 20),
            code: i8::try_from(le::i32(b, 16)).map_err(|_| bad)?,
            value,
        },
        kind::UNBLOCK => Event::Unblock,
        _ => return Err(bad),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let all = [
            Event::None,
            Event::pulse(7, -1, 5, 0x1_0000_0005),
            Event::Signal { signo: libc::SIGUSR1, value: 9 },
            Event::SignalThread { signo: 40, value: i64::MIN },
            Event::Unblock,
            Event::Registered { handle: EventHandle::from_raw(3).unwrap(), value: 11 },
        ];
        for e in all {
            assert_eq!(decode(&encode(&e)), Ok(e));
        }
    }

    #[test]
    fn layout_is_glibc_sigevent() {
        use std::mem::{offset_of, size_of};
        assert_eq!(size_of::<libc::sigevent>(), SIGEVENT_LEN);
        assert_eq!(offset_of!(libc::sigevent, sigev_signo), 8);
        assert_eq!(offset_of!(libc::sigevent, sigev_notify), 12);
        let b = encode(&Event::pulse(4, 10, 3, 77));
        assert_eq!(le::i32(&b, 12), kind::PULSE);
        assert_eq!((le::i32(&b, 8), le::i32(&b, 16), le::i32(&b, 20)), (4, 3, 10));
    }

    #[test]
    fn malformed() {
        assert!(decode(&[0; SIGEVENT_LEN - 1]).is_err());
        let mut b = encode(&Event::pulse(4, 10, 3, 77));
        b[16] = 0xff;
        b[17] = 0x7f;
        assert_eq!(decode(&b), Err(MsgError::BadField("sigevent")));
        let mut t = [0u8; SIGEVENT_LEN];
        t[12] = kind::THREAD as u8;
        assert!(decode(&t).is_err());
        t[12] = 0x77;
        assert!(decode(&t).is_err());
        let h = encode(&Event::Registered { handle: EventHandle::from_raw(1).unwrap(), value: 0 });
        let mut zero = h;
        zero[8..12].fill(0);
        assert!(decode(&zero).is_err());
    }
}
