//! A mapped connection segment with bounds-checked accessors.
#![allow(unsafe_code)]

use super::layout::{ConnHeader, Layout, PulseEntry, SlotHeader, MAGIC, VERSION};
use crate::sys::mem::{self, Mapping};
use rustix::fd::{AsFd, OwnedFd};
use rustix::io::Errno;
use std::io::{IoSlice, IoSliceMut};
use std::sync::atomic::Ordering::Relaxed;

/// One mapped segment and the geometry this side trusts.
#[derive(Debug)]
pub(crate) struct Segment {
    map: Mapping,
    layout: Layout,
}

impl Segment {
    /// Creates, seals and maps a new segment (server side).
    pub(crate) fn create(layout: Layout) -> Result<(Segment, OwnedFd), Errno> {
        let len = layout.segment_len();
        let fd = mem::create_sealed("baton-conn", len)?;
        let map = Mapping::map_sealed(&fd, len)?;
        let seg = Segment { map, layout };
        let f = &seg.header().fixed;
        f.version.store(VERSION, Relaxed);
        f.slot_count.store(layout.slot_count, Relaxed);
        f.slot_stride.store(layout.slot_stride() as u32, Relaxed);
        f.inline_size.store(layout.inline_size, Relaxed);
        f.pulse_capacity.store(layout.pulse_capacity, Relaxed);
        f.slots_offset.store(layout.slots_offset() as u32, Relaxed);
        f.magic.store(MAGIC, std::sync::atomic::Ordering::Release);
        Ok((seg, fd))
    }

    /// Maps a segment received from a server (client side) and checks that
    /// it carries the expected magic, version and geometry.
    pub(crate) fn open(fd: impl AsFd, layout: Layout) -> Result<Segment, Errno> {
        let layout = layout.validate().ok_or(Errno::PROTO)?;
        let map = Mapping::map_sealed(fd, layout.segment_len())?;
        let seg = Segment { map, layout };
        let f = &seg.header().fixed;
        let same = f.magic.load(std::sync::atomic::Ordering::Acquire) == MAGIC
            && f.version.load(Relaxed) == VERSION
            && f.slot_count.load(Relaxed) == layout.slot_count
            && f.slot_stride.load(Relaxed) as usize == layout.slot_stride()
            && f.inline_size.load(Relaxed) == layout.inline_size
            && f.pulse_capacity.load(Relaxed) == layout.pulse_capacity
            && f.slots_offset.load(Relaxed) as usize == layout.slots_offset();
        if !same {
            return Err(Errno::PROTO);
        }
        Ok(seg)
    }

    pub(crate) fn layout(&self) -> Layout {
        self.layout
    }

    /// Bytes of shared memory this segment spans.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
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
        assert!(i < self.layout.slot_count, "slot index out of range");
        let off = self.layout.slot_offset(i);
        // SAFETY: `i < slot_count` so the slot lies inside the mapping
        // (`segment_len` covers `slot_offset(slot_count)`); the offset is a
        // multiple of 64 and `SlotHeader` is made of atomics only.
        unsafe { &*self.map.base().add(off).cast::<SlotHeader>() }
    }

    fn inline_ptr(&self, i: u32) -> *mut u8 {
        assert!(i < self.layout.slot_count, "slot index out of range");
        let off = self.layout.slot_offset(i) + std::mem::size_of::<SlotHeader>();
        // SAFETY: the inline area of slot `i` is inside the mapping (see `slot`).
        unsafe { self.map.base().add(off) }
    }
}

impl Segment {
    /// Copies bytes `offset..offset + len` of the concatenation of `parts`
    /// into slot `i`'s inline area (clamped to it); returns bytes copied.
    pub(crate) fn write_inline(&self, i: u32, parts: &[IoSlice<'_>], offset: usize, len: usize) -> usize {
        let len = len.min(self.layout.inline_size as usize);
        let base = self.inline_ptr(i);
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
            let n = (p.len() - skip).min(len - done);
            // SAFETY: `done + n <= len <= inline_size`, so the destination is
            // inside slot `i`'s inline area; the source is `p[skip..skip + n]`,
            // a caller's buffer that cannot overlap the segment.
            unsafe { std::ptr::copy_nonoverlapping(p.as_ptr().add(skip), base.add(done), n) };
            done += n;
            skip = 0;
        }
        done
    }

    /// Copies inline bytes `from..from + len` of slot `i` (clamped to the
    /// inline area) into the concatenation of `parts` starting at `offset`;
    /// returns bytes copied.
    pub(crate) fn read_inline(
        &self,
        i: u32,
        from: usize,
        len: usize,
        parts: &mut [IoSliceMut<'_>],
        offset: usize,
    ) -> usize {
        let cap = self.layout.inline_size as usize;
        let len = len.min(cap.saturating_sub(from));
        let base = self.inline_ptr(i);
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
            let n = (p.len() - skip).min(len - done);
            // SAFETY: `from + done + n <= inline_size`, so the source is inside
            // the inline area; the destination is `p[skip..skip + n]`, private.
            // The bytes may be changing under us (a peer's writes), which can
            // only yield arbitrary byte values.
            unsafe { std::ptr::copy_nonoverlapping(base.add(from + done), p.as_mut_ptr().add(skip), n) };
            done += n;
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
        let layout = Layout { slot_count: 4, inline_size: 256, pulse_capacity: 8 };
        let (seg, fd) = Segment::create(layout).unwrap();
        let other = Segment::open(&fd, layout).unwrap();
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
        assert!(Segment::open(&fd, wrong).is_err());
    }
}
