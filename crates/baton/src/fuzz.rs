//! Entry points for the fuzz targets (`fuzz/` at the repository root), not
//! part of the API: each feeds bytes a peer could write to one decoder, the
//! way the library reads them, and checks what the callers rely on. A
//! failed check panics, which the fuzzer reports as a crash.
//!
//! Covered: the handshake (`proto::hello`), notice frames (`proto::notice`)
//! and the events they carry (`event`), a slot header as the server reads
//! and copies it (`server::request`, `shm::segment`), the ready queue
//! (`proto::queue`), the pulse ring (`proto::ring` and the pulse checks of
//! `server::drain`), the doorbell and slot state words (`proto::doorbell`,
//! `proto::slot`), and receive ids (`proto::rcvid`).

use crate::event::{Event, EVENT_LEN};
use crate::proto::hello::{self, Hello};
use crate::proto::notice::{Frames, Notice, FRAME};
use crate::proto::queue::{rank_of, Item, ReadyQueue, RANK_FIRST, RANK_LAST, RANK_RT};
use crate::proto::rcvid::Rcvid;
use crate::proto::ring::RingCursor;
use crate::proto::{doorbell, slot};
use crate::server::request::ReqHeader;
use crate::shm::layout::{unpack_sched, MAX_INLINE, MAX_OVERFLOW, MAX_PULSES, MAX_SLOTS};
use crate::shm::{Layout, Segment};
use crate::types::pulse_code;
use std::io::{IoSlice, IoSliceMut};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::OnceLock;

/// Reads little-endian words from the input, zero past its end.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        let n = N.min(self.0.len());
        b[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        b
    }
    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The client's side of the handshake: a hello that decodes has a usable
/// geometry (unless it is a refusal) and encodes back to the same bytes.
pub fn hello(data: &[u8]) {
    let Ok(h) = Hello::decode(data) else { return };
    if h.refused == 0 {
        let l = h.layout;
        assert!(l.validate().is_some(), "accepted geometry out of limits: {l:?}");
        assert!((1..=MAX_SLOTS).contains(&l.slot_count) && l.inline_size <= MAX_INLINE);
        assert!(l.overflow_size <= MAX_OVERFLOW && l.pulse_capacity <= MAX_PULSES);
        // The sizes a client maps follow from a valid geometry without overflow.
        assert!(l.slots_offset() <= l.segment_len() && l.segment_len() <= l.map_len());
    }
    assert_eq!(&h.encode()[..], &data[..hello::LEN], "decode/encode not inverse");
}

/// Notice frames, cut anywhere: each decoded frame is one the encoder makes.
pub fn notice(data: &[u8]) {
    let mut b = Bytes(data);
    let cut = usize::from(b.u8()).max(1);
    let mut frames = Frames::default();
    let mut got = 0;
    for chunk in b.0.chunks(cut) {
        frames.feed(chunk, |n: Notice| {
            got += 1;
            assert!(Notice::decode(&n.encode()) == Some(n), "notice does not round-trip: {n:?}");
        });
    }
    assert!(got <= b.0.len() / FRAME, "more frames than bytes allow");
}

/// Event encoding: what decodes encodes to bytes that decode to the same
/// event (words a kind does not use are ignored), and its check never
/// panics.
pub fn event(data: &[u8]) {
    let Ok(e) = Event::decode(data) else { return };
    let again = Event::decode(&e.encode()).expect("an encoded event decodes");
    assert_eq!(again, e, "event does not round-trip");
    assert_eq!(e.encode().len(), EVENT_LEN);
    let _ = e.check();
}

/// A segment for [`slot_header`]: small, with overflow areas, created once.
fn segment() -> &'static Segment {
    static SEG: OnceLock<Segment> = OnceLock::new();
    SEG.get_or_init(|| {
        let layout = Layout { slot_count: 4, inline_size: 256, overflow_size: 4096, pulse_capacity: 8 };
        Segment::create(layout).expect("a segment for fuzzing")
    })
}

/// A slot header as a client could write it (128 bytes), a slot index, the
/// receiver's and replier's buffer sizes: the server reads it as
/// `Request::deliver` does, and copies in and out of the slot as deliver,
/// `read_at` and the reply do. Copies stay within the slot's areas.
pub fn slot_header(data: &[u8]) {
    let seg = segment();
    let layout = seg.layout();
    let mut b = Bytes(data);
    let i = u32::from(b.u8()) % layout.slot_count;
    let h = seg.slot(i);
    let w32 = |b: &mut Bytes<'_>, f: &AtomicU32| f.store(b.u32(), Relaxed);
    let w64 = |b: &mut Bytes<'_>, f: &AtomicU64| f.store(b.u64(), Relaxed);
    for f in [&h.state, &h.seq] {
        w32(&mut b, f);
    }
    h.tid.store(b.u32() as i32, Relaxed);
    w32(&mut b, &h.sched);
    h.coid.store(b.u32() as i32, Relaxed);
    w32(&mut b, &h.inline_len);
    for f in [&h.send_len, &h.reply_cap] {
        w64(&mut b, f);
    }
    let grow = b.u8() & 1 == 1;
    let rooms = [usize::from(b.u16()) * 8, usize::from(b.u16())];
    let from = usize::from(b.u16());

    // What the queue makes of the claimed priority.
    let (policy, level) = unpack_sched(h.sched.load(Relaxed));
    let rank = rank_of(policy, level);
    assert!(rank == RANK_LAST || (RANK_LAST..=RANK_RT + 99).contains(&rank));
    let _ = slot::phase(h.state.load(Relaxed));
    // The fast path prefetches the message by the length the client
    // claims, before anything is checked (`server/fast.rs`).
    seg.prefetch_message(i, h.inline_len.load(Relaxed) as usize);

    let hdr = ReqHeader::read(h);
    let overflow = hdr.inline_len > layout.inline_size && seg.overflow_ready(i, grow);
    if !hdr.valid(layout, overflow) {
        return;
    }
    let cap = if overflow { layout.shared_capacity() } else { layout.inline_size as usize };
    assert!(hdr.inline_len as usize <= cap && u64::from(hdr.inline_len) <= hdr.send_len);
    let (mut a, mut c) = (vec![0u8; rooms[0]], vec![0u8; rooms[1]]);
    let room = rooms[0] + rooms[1];
    let want = room.min(hdr.send_len as usize);
    let mut parts = [IoSliceMut::new(&mut a), IoSliceMut::new(&mut c)];
    let n = seg.read_inline(i, 0, want.min(hdr.inline_len as usize), &mut parts, 0);
    assert!(n <= want && n <= hdr.inline_len as usize, "deliver copied {n} of {want}");
    // `read_at` from an offset inside the inline part.
    if from < hdr.inline_len as usize {
        let n = seg.read_inline(i, from, hdr.inline_len as usize - from, &mut parts[..1], 0);
        assert!(n <= hdr.inline_len as usize - from && n <= rooms[0]);
    }
    // The reply: as much as the client's buffers take and the areas hold.
    let reply = vec![0x5au8; rooms[1]];
    let n = reply.len().min(usize::try_from(hdr.reply_cap).unwrap_or(usize::MAX));
    if n <= layout.inline_size as usize || n <= layout.shared_capacity() && seg.overflow_ready(i, true) {
        let w =
            seg.write_inline(i, &[IoSlice::new(&reply[..rooms[1] / 2]), IoSlice::new(&reply[rooms[1] / 2..])], 0, n);
        assert!(w <= n && w <= layout.shared_capacity(), "reply wrote {w} of {n}");
    }
    // Publishing the answer in one step, from whatever state the client
    // left: only `RECEIVED` is answered, `ABANDONED` handed back.
    let before = h.state.load(Relaxed);
    let got = slot::server_reply(&crate::wait::SlotFutex(h));
    let after = h.state.load(Relaxed);
    match slot::phase(before) {
        slot::RECEIVED => assert!(got == slot::Begin::Busy && after == slot::REPLIED),
        slot::ABANDONED => assert!(got == slot::Begin::Abandoned && after == slot::IDLE),
        _ => assert!(got == slot::Begin::Corrupt && after == before),
    }
}

/// The ready queue under pushes of any rank and pops: entries come out
/// best rank first, FIFO within a rank, none lost or invented.
pub fn queue(data: &[u8]) {
    let mut b = Bytes(data);
    let mut q: ReadyQueue<u32, u32> = ReadyQueue::default();
    let (mut popped, mut n) = (0u32, 0u32);
    while !b.is_empty() {
        let op = b.u8();
        let rank = match op >> 4 {
            0 => RANK_FIRST,
            1 => b.u32(),
            _ => rank_of(b.u16() as i16 as i32, b.u16() as i16 as i32),
        };
        match op & 3 {
            0 => {
                q.push_message(rank, n);
                n += 1;
            }
            1 => {
                q.push_pulse(rank, n);
                n += 1;
            }
            _ => popped += u32::from(q.pop(op & 4 != 0).is_some()),
        }
    }
    let mut prev: Option<(u32, bool, u32)> = None;
    while let Some((k, item)) = q.pop(false) {
        popped += 1;
        let (pulse, v) = match item {
            Item::Message(v) => (false, v),
            Item::Pulse(v) => (true, v),
        };
        if let Some((rank, was_pulse, was)) = prev {
            assert!(k.rank() <= rank, "rank order broken");
            if k.rank() == rank && pulse == was_pulse {
                assert!(v > was, "FIFO broken within a rank");
            }
        }
        prev = Some((k.rank(), pulse, v));
    }
    assert!(q.is_empty() && popped == n, "{popped} of {n} entries came out");
}

/// The pulse ring with any tail a client claims and any release order:
/// never more than the capacity read past the head, the head only moves
/// forward over freed positions; and the server's filter of pulse codes
/// and priorities.
pub fn ring(data: &[u8]) {
    let mut b = Bytes(data);
    let cap = u32::from(b.u16()) % MAX_PULSES + 1;
    let mut r = RingCursor::new(cap);
    let mut head = 0u32;
    let mut unread: Vec<u32> = Vec::new();
    while !b.is_empty() {
        match b.u8() % 3 {
            0 => {
                let tail = b.u32();
                let (first, count) = r.take_new(tail);
                assert!(count <= cap, "read {count} past a ring of {cap}");
                assert!(r.read_pos().wrapping_sub(head) <= cap, "read past the head's ring");
                unread.extend((0..count).map(|i| first.wrapping_add(i)));
            }
            1 if !unread.is_empty() => {
                let pos = unread.swap_remove(usize::from(b.u16()) % unread.len());
                let h = r.release(pos);
                assert!(h.wrapping_sub(head) <= cap, "head jumped");
                head = h;
            }
            _ => {
                let h = r.release(b.u32());
                assert!(h.wrapping_sub(head) <= cap, "head jumped on a forged position");
                head = h;
            }
        }
        // A client's pulse entry: only user codes pass.
        let code = b.u32() as i32;
        if let Ok(c) = i8::try_from(code) {
            if c >= pulse_code::MIN_AVAIL {
                assert!(c >= 0);
            }
        }
    }
}

/// The doorbell line and slot state words as a client could leave them.
pub fn doorbell(data: &[u8]) {
    let mut b = Bytes(data);
    while !b.is_empty() {
        let polling = b.u32();
        if polling & doorbell::ASLEEP != 0 {
            assert_eq!(doorbell::polling_cpu(polling), None);
            assert_eq!(doorbell::watched_slot(polling), None);
        } else {
            assert_eq!(doorbell::polling_cpu(polling), (polling & 0xffff).checked_sub(1));
            assert_eq!(doorbell::watched_slot(polling), (polling >> 16).checked_sub(1));
        }
        let posted = AtomicU64::new(b.u64());
        let before = posted.load(Relaxed);
        assert_eq!(doorbell::server_take_bits(&posted), before);
        assert_eq!(posted.load(Relaxed), 0);
        let s = b.u32();
        assert!(slot::phase(s) <= slot::PHASE_MASK);
        let _ = slot::unblock_requested(s);
    }
}

/// Receive ids: any raw value decodes to parts that encode back to it.
pub fn rcvid(data: &[u8]) {
    let mut b = Bytes(data);
    while !b.is_empty() {
        let raw = b.u32() as i32;
        if let Some(r) = Rcvid::decode(raw) {
            assert!(raw > 0 && r.scoid != 0 && r.slot < 256);
            assert_eq!(r.encode(), raw, "rcvid does not round-trip");
        }
    }
}

#[cfg(test)]
mod tests {
    /// Inputs the fuzzers found (fuzz/artifacts) and a few seeds, run by
    /// the normal test suite.
    #[test]
    fn found_inputs_and_seeds() {
        // An event of kind `None` with words it does not use set: decodes,
        // encodes without them (found by the `event` target).
        let mut none_with_junk = [0u8; 33];
        none_with_junk[5..7].copy_from_slice(&[114, 114]);
        none_with_junk[32] = 10;
        let inputs: [&[u8]; 5] = [&[], &[0xff; 200], &none_with_junk, &[0; 300], &[1; 77]];
        for d in inputs {
            super::hello(d);
            super::notice(d);
            super::event(d);
            super::slot_header(d);
            super::queue(d);
            super::ring(d);
            super::doorbell(d);
            super::rcvid(d);
        }
        // A slot header in each phase the one-step answer distinguishes
        // (received, abandoned, posted), with plausible lengths.
        for phase in [2u8, 5, 1, 0x82] {
            let mut d = vec![1, phase, 0, 0, 0x80];
            d.extend([0u8; 16]);
            d.extend(64u32.to_le_bytes()); // inline_len
            d.extend(64u64.to_le_bytes()); // send_len
            d.extend(64u64.to_le_bytes()); // reply_cap
            d.extend([0, 8, 0, 64, 0, 0, 0]);
            super::slot_header(&d);
        }
    }
}
