//! Wire layout of a connection segment (version 1).

use std::mem::size_of;
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU32, AtomicU64};

/// `b"BATONSEG"` as a little-endian integer.
pub(crate) const MAGIC: u64 = u64::from_le_bytes(*b"BATONSEG");
/// Version of this layout; bumped on any incompatible change.
pub(crate) const VERSION: u32 = 3;
/// Most slots (client threads with a call in flight) per connection.
pub(crate) const MAX_SLOTS: u32 = 256;
/// Words of the posted bitmap (one bit per slot).
pub(crate) const POSTED_WORDS: usize = (MAX_SLOTS / 64) as usize;
/// Largest inline area per slot.
pub(crate) const MAX_INLINE: u32 = 1 << 20;
/// Largest overflow area per slot.
pub(crate) const MAX_OVERFLOW: u32 = 16 << 20;
/// Largest pulse ring.
pub(crate) const MAX_PULSES: u32 = 4096;
/// The page size the layout is laid out in.
pub(crate) const PAGE: usize = 4096;

/// Geometry written once by the server when it creates the segment.
#[repr(C, align(64))]
#[derive(Debug)]
pub(crate) struct Fixed {
    pub magic: AtomicU64,
    pub version: AtomicU32,
    pub slot_count: AtomicU32,
    pub slot_stride: AtomicU32,
    pub inline_size: AtomicU32,
    pub pulse_capacity: AtomicU32,
    pub slots_offset: AtomicU32,
    pub overflow_size: AtomicU32,
}

/// The doorbell line: what the client posts and whether a server thread
/// will look without being rung (`proto::doorbell`). Both sides touch it on
/// every call, so it is kept to one cache line.
#[repr(C, align(64))]
#[derive(Debug)]
pub(crate) struct Doorbell {
    /// One bit per slot: "look at this slot" (new message or unblock
    /// request). Set by the client, taken by the server.
    pub posted: [AtomicU64; POSTED_WORDS],
    /// Pulses written so far (free-running; client).
    pub pulse_tail: AtomicU32,
    /// Non-zero while a server thread has promised to look at this
    /// connection before it sleeps (server).
    pub polling: AtomicU32,
    /// The CPU plus one of the client thread that last called in the
    /// default wait mode (0: unknown): a hint by which a server thread
    /// with nothing to do decides whether spinning can pay (client).
    pub client_cpu: AtomicU32,
}

/// Fields the server writes for the client.
#[repr(C, align(64))]
#[derive(Debug)]
pub(crate) struct ServerSide {
    /// Pulses received so far (free-running): the ring has room again.
    pub pulse_head: AtomicU32,
    /// [`SERVER_CLOSED`] once the channel is destroyed.
    pub flags: AtomicU32,
    /// Priority-inheritance word naming the server thread that last took a
    /// request from this connection: a real-time client still SEND-blocked
    /// waits on it, which boosts that thread (the send-time boost).
    pub boost: AtomicU32,
}

/// Set in [`ServerSide::flags`] when the server closed the connection.
pub(crate) const SERVER_CLOSED: u32 = 1;

/// The head of every segment.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct ConnHeader {
    pub fixed: Fixed,
    pub doorbell: Doorbell,
    pub server: ServerSide,
}

/// One pulse in the client → server ring.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct PulseEntry {
    pub code: AtomicI32,
    pub priority: AtomicI32,
    pub value: AtomicI64,
    pub policy: AtomicI32,
    /// The client's sequence number (orders its pulses and messages).
    pub seq: AtomicU32,
    /// The sending thread (its claimed priority is checked against it).
    pub tid: AtomicI32,
    pub _reserved: AtomicU32,
}

/// The header of one slot; the inline area follows it.
///
/// The client owns a slot while its phase is `IDLE` or `REPLIED`, fills
/// the request fields, then publishes with the state word (see
/// `proto::slot`). The server fills the reply fields before it publishes
/// the answer. The first cache line holds the state word and the request
/// (the client writes it whole at each post, the server reads it as it
/// takes the message); the second holds what the server writes for the
/// client: the answer, the answer word and the bell, which a spinning
/// client watches, so that the answer comes to it with the bell, in one
/// line, while the state word's line stays with the server
/// (`proto::slot`, invariant 5), and the fields of large transfers.
#[repr(C, align(64))]
#[derive(Debug, Default)]
pub(crate) struct SlotHeader {
    /// The state word and futex the client sleeps on (`proto::slot`).
    pub state: AtomicU32,
    /// The client's sequence number (orders its pulses and messages, and
    /// names the call in [`SlotHeader::answered`]).
    pub seq: AtomicU32,
    // Request, written by the client.
    pub tid: AtomicI32,
    /// Scheduling policy and priority ([`pack_sched`]).
    pub sched: AtomicU32,
    pub coid: AtomicI32,
    /// Bytes of the message that are in the inline area.
    pub inline_len: AtomicU32,
    pub send_parts: AtomicU32,
    pub reply_parts: AtomicU32,
    /// Total bytes the client sends (sum of its send parts).
    pub send_len: AtomicU64,
    /// Total bytes of the client's reply buffers.
    pub reply_cap: AtomicU64,
    /// Address (in the client) of its send `iovec` array.
    pub send_iov: AtomicU64,
    /// Address (in the client) of its reply `iovec` array.
    pub reply_iov: AtomicU64,
    // Second line: the answer, the bell, large transfers.
    /// Reserved for the priority-inheritance futex.
    pub pi: AtomicU32,
    /// Transfer word: the server sleeps here during a client-assisted copy.
    pub xfer: AtomicU32,
    // Reply, written by the server.
    /// Reply bytes the client must copy out of the inline area.
    pub reply_inline: AtomicU32,
    /// Errno if the call failed, else 0.
    pub error: AtomicI32,
    pub status: AtomicI64,
    /// Full length of the server's reply (before truncation).
    pub reply_len: AtomicU64,
    // Client-assisted transfer request (server → client).
    pub xfer_op: AtomicU32,
    pub xfer_len: AtomicU32,
    pub xfer_offset: AtomicU64,
    pub xfer_done: AtomicU64,
    /// The slot's bell (`proto::slot`): changed by the server after every
    /// transition the client must see; a spinning client watches it
    /// instead of the state word, which the server then has to itself.
    pub bell: AtomicU32,
    /// The answer word (`proto::slot`, invariant 6): the sequence number
    /// of the call whose answer the server has written into the slot,
    /// stored before the state word says `REPLIED`.
    pub answered: AtomicU32,
}

/// Packs a scheduling policy and priority into [`SlotHeader::sched`].
pub(crate) fn pack_sched(policy: i32, priority: i32) -> u32 {
    ((policy as u32 & 0xffff) << 16) | (priority as u32 & 0xffff)
}

/// Unpacks [`SlotHeader::sched`] into (policy, priority).
pub(crate) fn unpack_sched(v: u32) -> (i32, i32) {
    (i32::from((v >> 16) as u16 as i16), i32::from(v as u16 as i16))
}

/// Transfer operations a server may ask of a client (`SlotHeader::xfer_op`).
pub(crate) const XFER_READ: u32 = 1;
pub(crate) const XFER_WRITE: u32 = 2;

/// Geometry of one connection's segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub slot_count: u32,
    pub inline_size: u32,
    /// Bytes of each slot's overflow area (a multiple of the page size; 0:
    /// none). The areas lie past the end of the file as created: a side
    /// that needs slot `i`'s area grows the file to cover it first.
    pub overflow_size: u32,
    pub pulse_capacity: u32,
}

impl Layout {
    /// Checks that the geometry is within the supported limits.
    pub(crate) fn validate(self) -> Option<Layout> {
        let ok = (1..=MAX_SLOTS).contains(&self.slot_count)
            && (64..=MAX_INLINE).contains(&self.inline_size)
            && self.inline_size % 8 == 0
            && self.overflow_size <= MAX_OVERFLOW
            && self.overflow_size as usize % PAGE == 0
            && (1..=MAX_PULSES).contains(&self.pulse_capacity);
        ok.then_some(self)
    }

    pub(crate) fn slot_stride(self) -> usize {
        round_up(size_of::<SlotHeader>() + self.inline_size as usize, 64)
    }

    pub(crate) fn pulses_offset(self) -> usize {
        size_of::<ConnHeader>()
    }

    pub(crate) fn slots_offset(self) -> usize {
        round_up(self.pulses_offset() + self.pulse_capacity as usize * size_of::<PulseEntry>(), PAGE)
    }

    pub(crate) fn slot_offset(self, slot: u32) -> usize {
        self.slots_offset() + slot as usize * self.slot_stride()
    }

    /// Bytes of the segment's file as created: headers, pulse ring, slots.
    pub(crate) fn segment_len(self) -> usize {
        round_up(self.slot_offset(self.slot_count), PAGE)
    }

    /// Where slot `slot`'s overflow area starts (past `segment_len`).
    pub(crate) fn overflow_offset(self, slot: u32) -> usize {
        self.segment_len() + slot as usize * self.overflow_size as usize
    }

    /// Bytes each side maps: the segment and every slot's overflow area.
    pub(crate) fn map_len(self) -> usize {
        self.overflow_offset(self.slot_count)
    }

    /// Most message bytes slot areas carry: inline plus overflow.
    pub(crate) fn shared_capacity(self) -> usize {
        self.inline_size as usize + self.overflow_size as usize
    }
}

fn round_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry() {
        let l = Layout { slot_count: 64, inline_size: 4096 - 128, overflow_size: 1 << 20, pulse_capacity: 64 }
            .validate()
            .unwrap();
        assert_eq!(size_of::<SlotHeader>(), 128);
        assert_eq!(std::mem::offset_of!(SlotHeader, reply_iov), 56, "the request fits the first line");
        assert_eq!(std::mem::offset_of!(SlotHeader, reply_inline), 72, "the answer is on the second line");
        assert_eq!(std::mem::offset_of!(SlotHeader, answered), 124, "the answer word is on the bell's line");
        assert_eq!(size_of::<Doorbell>(), 64);
        assert_eq!(unpack_sched(pack_sched(libc::SCHED_FIFO, 42)), (libc::SCHED_FIFO, 42));
        assert_eq!(unpack_sched(pack_sched(libc::SCHED_OTHER, -1)), (libc::SCHED_OTHER, -1));
        assert_eq!(l.slot_stride(), 4096);
        assert_eq!(l.slots_offset(), 4096);
        assert_eq!(l.segment_len(), 4096 * 65);
        assert_eq!(l.overflow_offset(1), 4096 * 65 + (1 << 20));
        assert_eq!(l.map_len(), 4096 * 65 + (64 << 20));
        assert!(Layout { overflow_size: 100, ..l }.validate().is_none());
        assert!(Layout { overflow_size: MAX_OVERFLOW + 4096, ..l }.validate().is_none());
        assert!(Layout { overflow_size: 0, ..l }.validate().is_some());
        assert!(Layout { slot_count: 0, ..l }.validate().is_none());
        assert!(Layout { slot_count: MAX_SLOTS + 1, ..l }.validate().is_none());
        assert!(Layout { inline_size: 12, ..l }.validate().is_none());
    }
}
