//! Notices: the small fixed-size frames a connection's Unix socket carries
//! after the handshake, in both directions, for events only (never for
//! messages or pulses, which travel through the segment).
//!
//! Server → client: `DELIVER` (perform this event in your process) and
//! `ACK` (a request below was applied). Client → server: `REGISTER` and
//! `UNREGISTER` (the server's copy of which event handles it may deliver),
//! `REQUIRE` (deliver only registered events); each carries a sequence
//! number that the server's `ACK` echoes, so that the client can wait until
//! the server knows.
//!
//! The socket is a byte stream: [`Frames`] puts frames back together
//! whatever the reads cut them into. A frame that cannot be decoded is
//! skipped (a peer that writes garbage only loses its own notices).

use crate::event::{Event, EVENT_LEN};

/// Bytes of one frame: op, argument, event.
pub(crate) const FRAME: usize = 8 + EVENT_LEN;

/// Perform `event` (server → client); `arg` is the client thread the
/// receive id named (its tid as the client wrote it), or 0.
pub(crate) const DELIVER: u32 = 1;
/// The request with sequence number `arg` was applied (server → client).
pub(crate) const ACK: u32 = 2;
/// The client registered `event` (an [`Event::Registered`]); `arg` = seq.
pub(crate) const REGISTER: u32 = 3;
/// The client unregistered `event`'s handle; `arg` = seq.
pub(crate) const UNREGISTER: u32 = 4;
/// From now on deliver only registered events on this connection; `arg` = seq.
pub(crate) const REQUIRE: u32 = 5;

/// One decoded frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Notice {
    pub op: u32,
    pub arg: u32,
    pub event: Event,
}

impl Notice {
    pub(crate) fn encode(&self) -> [u8; FRAME] {
        let mut b = [0u8; FRAME];
        b[0..4].copy_from_slice(&self.op.to_le_bytes());
        b[4..8].copy_from_slice(&self.arg.to_le_bytes());
        b[8..].copy_from_slice(&self.event.encode());
        b
    }

    pub(crate) fn decode(b: &[u8; FRAME]) -> Option<Notice> {
        let op = u32::from_le_bytes(b[0..4].try_into().expect("4 bytes"));
        let arg = u32::from_le_bytes(b[4..8].try_into().expect("4 bytes"));
        let event = Event::decode(&b[8..]).ok()?;
        Some(Notice { op, arg, event })
    }
}

/// Reassembles frames from the bytes a stream hands out.
#[derive(Debug)]
pub(crate) struct Frames {
    buf: [u8; FRAME],
    len: usize,
}

impl Default for Frames {
    fn default() -> Self {
        Frames { buf: [0; FRAME], len: 0 }
    }
}

impl Frames {
    /// Feeds `bytes`; calls `f` for each complete frame that decodes.
    pub(crate) fn feed(&mut self, mut bytes: &[u8], mut f: impl FnMut(Notice)) {
        while !bytes.is_empty() {
            let n = (FRAME - self.len).min(bytes.len());
            self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
            self.len += n;
            bytes = &bytes[n..];
            if self.len == FRAME {
                self.len = 0;
                if let Some(notice) = Notice::decode(&self.buf) {
                    f(notice);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventHandle;

    #[test]
    fn frames_survive_any_cut() {
        let a = Notice { op: DELIVER, arg: 42, event: Event::pulse(5, -1, 3, 99) };
        let b = Notice { op: REGISTER, arg: 7, event: Event::Registered { handle: EventHandle(9), value: 0 } };
        let mut bytes = a.encode().to_vec();
        bytes.extend_from_slice(&[0xee; FRAME]); // garbage: skipped
        bytes.extend_from_slice(&b.encode());
        for cut in [1, 3, FRAME - 1, FRAME, FRAME + 5, bytes.len()] {
            let mut frames = Frames::default();
            let mut got = Vec::new();
            for chunk in bytes.chunks(cut) {
                frames.feed(chunk, |n| got.push(n));
            }
            assert_eq!(got, vec![a, b], "cut {cut}");
        }
    }
}
