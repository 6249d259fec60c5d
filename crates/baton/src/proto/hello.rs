//! The connection handshake: the one message a server sends on a new
//! connection's socket, together with the segment memfd and the doorbell
//! eventfd (`SCM_RIGHTS`).

use crate::shm::Layout;

const MAGIC: [u8; 8] = *b"BATONHEL";
/// Handshake protocol version (3: the message size limit).
pub(crate) const VERSION: u32 = 3;
/// Encoded size of a hello.
pub(crate) const LEN: usize = 56;

/// What a server tells a new client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hello {
    pub scoid: u32,
    pub chid: u32,
    pub server_pid: i32,
    /// The channel's flags (`_NTO_CHF_*`).
    pub chan_flags: u32,
    pub layout: Layout,
    /// Refused: an errno instead of a connection (the fds are absent).
    pub refused: i32,
    /// Largest message the channel takes (`u64::MAX`: no limit).
    pub max_message: u64,
}

/// Why a hello could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HelloError {
    Short,
    Magic,
    Version(u32),
    Layout,
}

impl Hello {
    pub(crate) fn encode(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        b[..8].copy_from_slice(&MAGIC);
        let words = [
            VERSION,
            self.scoid,
            self.chid,
            self.server_pid as u32,
            self.chan_flags,
            self.layout.slot_count,
            self.layout.inline_size,
            self.layout.pulse_capacity,
            self.refused as u32,
            self.layout.overflow_size,
            self.max_message as u32,
            (self.max_message >> 32) as u32,
        ];
        for (i, w) in words.iter().enumerate() {
            b[8 + 4 * i..12 + 4 * i].copy_from_slice(&w.to_le_bytes());
        }
        b
    }

    pub(crate) fn decode(b: &[u8]) -> Result<Hello, HelloError> {
        if b.len() < LEN {
            return Err(HelloError::Short);
        }
        if b[..8] != MAGIC {
            return Err(HelloError::Magic);
        }
        let w = |i: usize| u32::from_le_bytes(b[8 + 4 * i..12 + 4 * i].try_into().expect("4 bytes"));
        if w(0) != VERSION {
            return Err(HelloError::Version(w(0)));
        }
        let refused = w(8) as i32;
        let layout = Layout { slot_count: w(5), inline_size: w(6), overflow_size: w(9), pulse_capacity: w(7) };
        let layout = if refused != 0 { layout } else { layout.validate().ok_or(HelloError::Layout)? };
        let max_message = u64::from(w(10)) | (u64::from(w(11)) << 32);
        Ok(Hello { scoid: w(1), chid: w(2), server_pid: w(3) as i32, chan_flags: w(4), layout, refused, max_message })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects() {
        let h = Hello {
            scoid: 9,
            chid: 3,
            server_pid: 1234,
            chan_flags: 0x8,
            layout: Layout { slot_count: 64, inline_size: 3968, overflow_size: 1 << 20, pulse_capacity: 64 },
            refused: 0,
            max_message: (5 << 32) | 7,
        };
        let b = h.encode();
        assert_eq!(Hello::decode(&b), Ok(h));
        assert_eq!(Hello::decode(&b[..10]), Err(HelloError::Short));
        let mut bad = b;
        bad[0] = b'X';
        assert_eq!(Hello::decode(&bad), Err(HelloError::Magic));
        let mut bad = b;
        bad[8] = 7;
        assert_eq!(Hello::decode(&bad), Err(HelloError::Version(7)));
        let mut bad = b;
        bad[28..32].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(Hello::decode(&bad), Err(HelloError::Layout));
    }
}
