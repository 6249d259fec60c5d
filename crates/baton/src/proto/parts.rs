//! Offset arithmetic over scatter/gather lists.
//!
//! A message is the concatenation of its parts. Reading or writing "bytes
//! `offset..offset+len` of the message" means finding the parts from
//! `offset` on; this does it for ranges (address, length) in another
//! process, and the copy stops after `len` bytes. (Local parts are walked
//! by the segment's copy helpers.)

use crate::sys::remote::RemoteRange;

/// The sub-ranges of `ranges` from byte `offset` of their concatenation
/// on. How far they are followed is the copy's business: `remote::read`
/// and `remote::write` stop where the local buffer ends.
pub(crate) fn from_offset(ranges: &[RemoteRange], offset: u64) -> impl Iterator<Item = RemoteRange> + '_ {
    let mut skip = offset;
    ranges.iter().filter_map(move |&RemoteRange { addr, len }| {
        if skip >= len {
            skip -= len;
            return None;
        }
        let part = RemoteRange { addr: addr.wrapping_add(skip), len: len - skip };
        skip = 0;
        Some(part)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_offsets() {
        let r = [(100, 10), (200, 5), (300, 20)].map(|(addr, len)| RemoteRange { addr, len });
        let w = |offset| from_offset(&r, offset).map(|p| (p.addr, p.len)).collect::<Vec<_>>();
        assert_eq!(w(0), vec![(100, 10), (200, 5), (300, 20)]);
        assert_eq!(w(8), vec![(108, 2), (200, 5), (300, 20)]);
        assert_eq!(w(10), vec![(200, 5), (300, 20)]);
        assert_eq!(w(15), vec![(300, 20)]);
        assert_eq!(w(34), vec![(319, 1)]);
        assert_eq!(w(35), vec![]);
        assert_eq!(w(40), vec![]);
    }
}
