//! A mapped connection segment with bounds-checked accessors.
#![allow(unsafe_code)]

use super::layout::{ConnHeader, Layout, PulseEntry, SlotHeader, MAGIC, PAGE, VERSION};
use crate::sys::mem::{self, Mapping};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::io::Errno;
use std::io::{IoSlice, IoSliceMut};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;

/// One mapped segment and the geometry this side trusts.
#[derive(Debug)]
pub(crate) struct Segment {
    map: Mapping,
    layout: Layout,
    geo: Geo,
    /// The segment's memfd: kept to grow it and to see how far it reaches.
    fd: OwnedFd,
    /// Bytes of the mapping this side has seen the file cover. The file
    /// never shrinks, so this only grows.
    backed: AtomicUsize,
}

/// Offsets the accessors need, computed once from the layout.
#[derive(Debug)]
struct Geo {
    slot_count: u32,
    slots_at: usize,
    stride: usize,
    inline: usize,
    /// Where slot 0's overflow area starts (the file's size as created).
    overflow_at: usize,
    overflow: usize,
}

impl Geo {
    fn new(l: Layout) -> Geo {
        Geo {
            slot_count: l.slot_count,
            slots_at: l.slots_offset(),
            stride: l.slot_stride(),
            inline: l.inline_size as usize,
            overflow_at: l.segment_len(),
            overflow: l.overflow_size as usize,
        }
    }

    /// The file size that covers slot `i`'s overflow area.
    fn overflow_end(&self, i: u32) -> usize {
        self.overflow_at + (i as usize + 1) * self.overflow
    }
}

/// Starts fetching the cache line at `at` into this CPU's cache, without
/// waiting for it (a hint; nothing elsewhere).
#[inline]
fn prefetch(at: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing the program sees and cannot fault,
    // whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(at.cast::<i8>(), std::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}

/// Starts fetching the first line of the inline area of the slot whose
/// header is `h` (where a short reply is: it follows the header, see
/// `Segment::inline_ptr`), without waiting for it.
#[inline]
pub(crate) fn prefetch_inline(h: &SlotHeader) {
    prefetch(std::ptr::from_ref(h).cast::<u8>().wrapping_add(std::mem::size_of::<SlotHeader>()));
}

impl Segment {
    /// Creates, seals and maps a new segment (server side).
    pub(crate) fn create(layout: Layout) -> Result<Segment, Errno> {
        let len = layout.segment_len();
        let fd = mem::create_sealed("baton-conn", len)?;
        let map = Mapping::map_sealed(&fd, len, layout.map_len())?;
        let seg = Segment { map, layout, geo: Geo::new(layout), fd, backed: AtomicUsize::new(len) };
        let f = &seg.header().fixed;
        f.version.store(VERSION, Relaxed);
        f.slot_count.store(layout.slot_count, Relaxed);
        f.slot_stride.store(layout.slot_stride() as u32, Relaxed);
        f.inline_size.store(layout.inline_size, Relaxed);
        f.overflow_size.store(layout.overflow_size, Relaxed);
        f.pulse_capacity.store(layout.pulse_capacity, Relaxed);
        f.slots_offset.store(layout.slots_offset() as u32, Relaxed);
        f.magic.store(MAGIC, std::sync::atomic::Ordering::Release);
        Ok(seg)
    }

    /// Maps a segment received from a server (client side) and checks that
    /// it carries the expected magic, version and geometry.
    pub(crate) fn open(fd: OwnedFd, layout: Layout) -> Result<Segment, Errno> {
        let layout = layout.validate().ok_or(Errno::PROTO)?;
        let len = layout.segment_len();
        let map = Mapping::map_sealed(&fd, len, layout.map_len())?;
        let seg = Segment { map, layout, geo: Geo::new(layout), fd, backed: AtomicUsize::new(len) };
        let f = &seg.header().fixed;
        let same = f.magic.load(std::sync::atomic::Ordering::Acquire) == MAGIC
            && f.version.load(Relaxed) == VERSION
            && f.slot_count.load(Relaxed) == layout.slot_count
            && f.slot_stride.load(Relaxed) as usize == layout.slot_stride()
            && f.inline_size.load(Relaxed) == layout.inline_size
            && f.overflow_size.load(Relaxed) == layout.overflow_size
            && f.pulse_capacity.load(Relaxed) == layout.pulse_capacity
            && f.slots_offset.load(Relaxed) as usize == layout.slots_offset();
        if !same {
            return Err(Errno::PROTO);
        }
        Ok(seg)
    }

    /// Faults slot 0's first page in on this side now: the server, as it
    /// creates the segment, creates the page in the file; the client, as
    /// it opens it, maps that page. The first thread to call on a
    /// connection takes slot 0, and a short call's message and reply fit
    /// in that page, so the connection's first call takes no page fault on
    /// either side: one page more per connection, paid at connect time
    /// (docs/DESIGN.md, "One segment per connection").
    pub(crate) fn prefault_first_slot(&self) {
        self.map.populate(self.layout.slot_offset(0), self.layout.slot_stride().min(PAGE));
    }

    /// The segment's memfd (the server passes it to the client).
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Makes sure slot `i`'s overflow area is backed by the file, growing
    /// the file if `grow` (else only looking again how far it reaches: the
    /// peer grows it). Returns whether the area may be used. A system call
    /// only the first time a slot needs its area.
    pub(crate) fn overflow_ready(&self, i: u32, grow: bool) -> bool {
        if self.geo.overflow == 0 || i >= self.geo.slot_count {
            return false;
        }
        let need = self.geo.overflow_end(i);
        if self.backed.load(Relaxed) >= need {
            return true;
        }
        let now = if grow { mem::grow(&self.fd, need) } else { mem::size(&self.fd) };
        let now = now.unwrap_or(0).min(self.map.len());
        self.backed.fetch_max(now, Relaxed);
        now >= need
    }

    /// Message bytes slot `i` can hold now: its inline area, plus its
    /// overflow area once that is backed.
    pub(crate) fn capacity(&self, i: u32) -> usize {
        let g = &self.geo;
        if g.overflow > 0 && self.backed.load(Relaxed) >= g.overflow_end(i) {
            g.inline + g.overflow
        } else {
            g.inline
        }
    }

    pub(crate) fn layout(&self) -> Layout {
        self.layout
    }

    /// Bytes of the segment before any slot's overflow area is used.
    pub(crate) fn len(&self) -> usize {
        self.layout.segment_len()
    }

    pub(crate) fn header(&self) -> &ConnHeader {
        // SAFETY: the mapping is at least `segment_len() >= size_of::<ConnHeader>()`
        // bytes, page-aligned (so aligned for `ConnHeader`), lives as long as
        // `self`, and `ConnHeader` consists only of atomics, which may be
        // shared and mutated concurrently by the peer.
        unsafe { &*self.map.base().cast::<ConnHeader>() }
    }

    /// Pulse ring entry `i` (taken modulo the capacity).
    pub(crate) fn pulse(&self, i: u32) -> &PulseEntry {
        let i = (i % self.layout.pulse_capacity) as usize;
        let off = self.layout.pulses_offset() + i * std::mem::size_of::<PulseEntry>();
        // SAFETY: `off + size_of::<PulseEntry>() <= slots_offset() <= len`
        // because `i < pulse_capacity`; `pulses_offset` is a multiple of 64
        // and `PulseEntry` is 24 bytes of 8-byte-aligned atomics.
        unsafe { &*self.map.base().add(off).cast::<PulseEntry>() }
    }

    /// Slot `i`'s header. `i` must be below `slot_count` (callers check
    /// indices read from shared memory before they get here).
    pub(crate) fn slot(&self, i: u32) -> &SlotHeader {
        assert!(i < self.geo.slot_count, "slot index out of range");
        let off = self.geo.slots_at + i as usize * self.geo.stride;
        // SAFETY: `i < slot_count` so the slot lies inside the mapping
        // (`segment_len` covers `slot_offset(slot_count)`); the offset is a
        // multiple of 64 and `SlotHeader` is made of atomics only.
        unsafe { &*self.map.base().add(off).cast::<SlotHeader>() }
    }

    fn inline_ptr(&self, i: u32) -> *mut u8 {
        assert!(i < self.geo.slot_count, "slot index out of range");
        let off = self.geo.slots_at + i as usize * self.geo.stride + std::mem::size_of::<SlotHeader>();
        // SAFETY: the inline area of slot `i` is inside the mapping (see `slot`).
        unsafe { self.map.base().add(off) }
    }

    /// Starts fetching the cache lines of the first `len` bytes (at most
    /// four lines) of slot `i`'s inline area, without waiting for them: a
    /// hint, which a later locked instruction (the claim) does not wait
    /// for, so the message's lines travel while the claim takes the state
    /// word's line.
    #[inline]
    pub(crate) fn prefetch_message(&self, i: u32, len: usize) {
        let p = self.inline_ptr(i);
        for off in (0..len.min(self.geo.inline).min(4 * 64)).step_by(64) {
            prefetch(p.wrapping_add(off));
        }
    }

    /// Slot `i`'s message area, byte `at` onwards: the inline area, then
    /// the overflow area, as one run of bytes. Returns the address and the
    /// bytes that follow contiguously. `at` must be below `capacity(i)`.
    fn area(&self, i: u32, at: usize) -> (*mut u8, usize) {
        let g = &self.geo;
        if at < g.inline {
            // SAFETY: `at < inline_size`: inside slot `i`'s inline area.
            return (unsafe { self.inline_ptr(i).add(at) }, g.inline - at);
        }
        assert!(at < self.capacity(i), "overflow area not backed");
        let off = g.overflow_at + i as usize * g.overflow + (at - g.inline);
        // SAFETY: `at - inline < overflow_size`, so `off` is inside slot
        // `i`'s overflow area, which lies inside the mapping (`map_len`).
        (unsafe { self.map.base().add(off) }, g.inline + g.overflow - at)
    }
}

impl Segment {
    /// Copies bytes `offset..offset + len` of the concatenation of `parts`
    /// into slot `i`'s message area (clamped to what it holds now: see
    /// `overflow_ready`); returns bytes copied.
    ///
    /// The common case, one part into the inline area, is inlined where it
    /// is called, without the general loop (whose registers cost a call
    /// into it some 20 instructions of saving and restoring: four copies on
    /// every round trip).
    #[inline]
    pub(crate) fn write_inline(&self, i: u32, parts: &[IoSlice<'_>], offset: usize, len: usize) -> usize {
        if let [p] = parts {
            let n = p.len().saturating_sub(offset).min(len);
            if offset <= p.len() && n <= self.geo.inline {
                // SAFETY: `n <= inline_size`: inside slot `i`'s inline area;
                // the source is `p[offset..offset + n]`, a caller's buffer.
                unsafe { std::ptr::copy_nonoverlapping(p.as_ptr().add(offset), self.inline_ptr(i), n) };
                return n;
            }
        }
        self.write_parts(i, parts, offset, len, 0)
    }

    /// Copies bytes `at..at + len` of the concatenation of `parts` to the
    /// same place in slot `i`'s message area (clamped to what it holds
    /// now): one piece of a message or reply written in pieces
    /// (`proto::stream`). Returns bytes copied.
    pub(crate) fn write_at(&self, i: u32, parts: &[IoSlice<'_>], at: usize, len: usize) -> usize {
        self.write_parts(i, parts, at, len, at)
    }

    /// Copies bytes `from..to` of the concatenation of `parts` to the same
    /// place in slot `i`'s message area a `stream::CHUNK` at a time, and
    /// after each piece tells `count` how far it got: a message or reply
    /// that streams (`proto::stream`). Returns where it stopped (`to`,
    /// unless the area ends first).
    pub(crate) fn write_counted(
        &self,
        i: u32,
        parts: &[IoSlice<'_>],
        from: usize,
        to: usize,
        mut count: impl FnMut(usize),
    ) -> usize {
        let mut done = from;
        while done < to {
            let n = self.write_at(i, parts, done, crate::proto::stream::CHUNK.min(to - done));
            if n == 0 {
                break;
            }
            done += n;
            count(done);
        }
        done
    }

    /// [`Self::write_inline`]'s general case: any parts, into the inline
    /// and the overflow area, from area byte `to` on.
    #[inline(never)]
    fn write_parts(&self, i: u32, parts: &[IoSlice<'_>], offset: usize, len: usize, to: usize) -> usize {
        let len = len.min(self.capacity(i).saturating_sub(to));
        let mut skip = offset;
        let mut done = 0;
        for p in parts {
            if done == len {
                break;
            }
            if skip >= p.len() {
                skip -= p.len();
                continue;
            }
            // One part may span the inline and the overflow area.
            while skip < p.len() && done < len {
                let (dst, room) = self.area(i, to + done);
                let n = (p.len() - skip).min(len - done).min(room);
                // SAFETY: `area` gave `room >= n` bytes at `dst` inside slot
                // `i`'s backed message area; the source is `p[skip..skip + n]`,
                // a caller's buffer that cannot overlap the segment.
                unsafe { std::ptr::copy_nonoverlapping(p.as_ptr().add(skip), dst, n) };
                done += n;
                skip += n;
            }
            skip = 0;
        }
        done
    }

    /// Copies bytes `from..from + len` of slot `i`'s message area (clamped
    /// to what it holds now) into the concatenation of `parts` starting at
    /// `offset`; returns bytes copied. One part from the inline area is
    /// copied inline, as in [`Self::write_inline`].
    #[inline]
    pub(crate) fn read_inline(
        &self,
        i: u32,
        from: usize,
        len: usize,
        parts: &mut [IoSliceMut<'_>],
        offset: usize,
    ) -> usize {
        if let [p] = parts {
            let n = p.len().saturating_sub(offset).min(len);
            if offset <= p.len() && from.saturating_add(n) <= self.geo.inline {
                // SAFETY: `from + n <= inline_size`: inside the inline area;
                // the destination is `p[offset..offset + n]`, private. The
                // bytes may be changing under us (a peer's writes), which
                // can only yield arbitrary byte values.
                unsafe { std::ptr::copy_nonoverlapping(self.inline_ptr(i).add(from), p.as_mut_ptr().add(offset), n) };
                return n;
            }
        }
        self.read_parts(i, from, len, parts, offset)
    }

    /// [`Self::read_inline`]'s general case.
    #[inline(never)]
    fn read_parts(&self, i: u32, from: usize, len: usize, parts: &mut [IoSliceMut<'_>], offset: usize) -> usize {
        let len = len.min(self.capacity(i).saturating_sub(from));
        let mut skip = offset;
        let mut done = 0;
        for p in parts.iter_mut() {
            if done == len {
                break;
            }
            if skip >= p.len() {
                skip -= p.len();
                continue;
            }
            while skip < p.len() && done < len {
                let (src, room) = self.area(i, from + done);
                let n = (p.len() - skip).min(len - done).min(room);
                // SAFETY: `area` gave `room >= n` bytes at `src` inside the
                // backed message area; the destination is `p[skip..skip + n]`,
                // private. The bytes may be changing under us (a peer's
                // writes), which can only yield arbitrary byte values.
                unsafe { std::ptr::copy_nonoverlapping(src, p.as_mut_ptr().add(skip), n) };
                done += n;
                skip += n;
            }
            skip = 0;
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_open_and_copy() {
        let layout = Layout { slot_count: 4, inline_size: 256, overflow_size: 4096, pulse_capacity: 8 };
        let seg = Segment::create(layout).unwrap();
        let fd = || seg.fd().try_clone_to_owned().unwrap();
        let other = Segment::open(fd(), layout).unwrap();
        let n = seg.write_inline(3, &[IoSlice::new(b"abc"), IoSlice::new(&[7u8; 300])], 0, usize::MAX);
        assert_eq!(n, 256);
        let (mut a, mut b) = ([0u8; 2], [0u8; 10]);
        let got = other.read_inline(3, 1, 1000, &mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)], 0);
        assert_eq!(got, 12);
        assert_eq!(&a, b"bc");
        assert_eq!(b, [7u8; 10]);
        // Offsets on both sides.
        assert_eq!(seg.write_inline(0, &[IoSlice::new(b"hello"), IoSlice::new(b"world")], 3, 4), 4);
        let mut c = [0u8; 6];
        assert_eq!(other.read_inline(0, 0, 4, &mut [IoSliceMut::new(&mut c)], 2), 4);
        assert_eq!(&c, b"\0\0lowo");
        let wrong = Layout { slot_count: 5, ..layout };
        assert!(Segment::open(fd(), wrong).is_err());
    }

    #[test]
    fn overflow_areas_extend_the_inline_area_once_backed() {
        let layout = Layout { slot_count: 3, inline_size: 256, overflow_size: 4096, pulse_capacity: 8 };
        let seg = Segment::create(layout).unwrap();
        let other = Segment::open(seg.fd().try_clone_to_owned().unwrap(), layout).unwrap();
        let msg: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        // Not backed yet: clamped to the inline area, and the reader agrees.
        assert_eq!(seg.write_inline(1, &[IoSlice::new(&msg)], 0, msg.len()), 256);
        assert!(!other.overflow_ready(1, false));
        // The writer grows the file; the reader sees it without growing.
        assert!(seg.overflow_ready(1, true));
        assert!(other.overflow_ready(1, false));
        assert!(other.overflow_ready(0, false), "a lower slot's area is covered too");
        assert!(!other.overflow_ready(2, false));
        let (a, b) = msg.split_at(100);
        assert_eq!(seg.write_inline(1, &[IoSlice::new(a), IoSlice::new(b)], 0, usize::MAX), 256 + 4096);
        let mut out = vec![0u8; 5000];
        let (x, y) = out.split_at_mut(300);
        let got = other.read_inline(1, 10, usize::MAX, &mut [IoSliceMut::new(x), IoSliceMut::new(y)], 0);
        assert_eq!(got, 256 + 4096 - 10);
        assert_eq!(&out[..got], &msg[10..256 + 4096]);
        // Reading across the seam at an offset.
        let mut c = [0u8; 8];
        assert_eq!(other.read_inline(1, 252, 8, &mut [IoSliceMut::new(&mut c)], 0), 8);
        assert_eq!(&c, &msg[252..260]);
    }

    #[test]
    fn pieces_written_in_place_make_the_whole() {
        let layout = Layout { slot_count: 2, inline_size: 256, overflow_size: 4096, pulse_capacity: 8 };
        let seg = Segment::create(layout).unwrap();
        assert!(seg.overflow_ready(0, true));
        let msg: Vec<u8> = (0..4352u32).map(|i| (i * 7) as u8).collect();
        let (a, b) = msg.split_at(1000);
        let parts = [IoSlice::new(a), IoSlice::new(b)];
        // Pieces out of order, one across the seam and one across the parts.
        assert_eq!(seg.write_at(0, &parts, 900, 3452), 3452);
        assert_eq!(seg.write_at(0, &parts, 200, 700), 700);
        assert_eq!(seg.write_at(0, &parts, 0, 200), 200);
        // Past the area: clamped, nothing written beyond it.
        assert_eq!(seg.write_at(0, &parts, 4352, 10), 0);
        let mut out = vec![0u8; 4352];
        assert_eq!(seg.read_inline(0, 0, usize::MAX, &mut [IoSliceMut::new(&mut out)], 0), 4352);
        assert_eq!(out, msg);
    }
}
