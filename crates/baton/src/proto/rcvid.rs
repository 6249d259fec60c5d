//! Receive ids: which request a server is answering.
//!
//! A receive id packs the server connection (`scoid`, 16 bits, never 0),
//! the slot (8 bits) and a generation (7 bits) that changes with every
//! message received in that slot, into a positive 31-bit integer, so QNX
//! programs that keep it in an `int` work. 0 is never a receive id (QNX
//! returns 0 from `MsgReceive` for a pulse).

/// The parts of a receive id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rcvid {
    pub scoid: u32,
    pub slot: u32,
    pub gen: u32,
}

pub(crate) const MAX_SCOID: u32 = 0xffff;
pub(crate) const GEN_MASK: u32 = 0x7f;

impl Rcvid {
    pub(crate) fn encode(self) -> i32 {
        debug_assert!((1..=MAX_SCOID).contains(&self.scoid) && self.slot < 256);
        (((self.gen & GEN_MASK) << 24) | (self.slot << 16) | self.scoid) as i32
    }

    pub(crate) fn decode(raw: i32) -> Option<Rcvid> {
        if raw <= 0 {
            return None;
        }
        let raw = raw as u32;
        let scoid = raw & 0xffff;
        (scoid != 0).then_some(Rcvid { scoid, slot: (raw >> 16) & 0xff, gen: raw >> 24 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for (scoid, slot, gen) in [(1, 0, 0), (0xffff, 255, 127), (42, 7, 99)] {
            let r = Rcvid { scoid, slot, gen };
            let raw = r.encode();
            assert!(raw > 0);
            assert_eq!(Rcvid::decode(raw), Some(r));
        }
        assert_eq!(Rcvid::decode(0), None);
        assert_eq!(Rcvid::decode(-5), None);
        assert_eq!(Rcvid::decode(0x0100_0000), None);
    }
}
