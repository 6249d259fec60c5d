//! Offset arithmetic over scatter/gather lists.
//!
//! A message is the concatenation of its parts. Reading or writing "bytes
//! `offset..offset+len` of the message" means finding the parts that cover
//! that window; this does it for ranges (address, length) in another
//! process. (Local parts are walked by the segment's copy helpers.)

use crate::sys::remote::RemoteRange;

/// The sub-ranges of `ranges` that cover `offset..offset + len` of their
/// concatenation, clamped at its end.
pub(crate) fn window(ranges: &[RemoteRange], offset: u64, len: u64) -> impl Iterator<Item = RemoteRange> + '_ {
    let (mut skip, mut left) = (offset, len);
    ranges
        .iter()
        .map_while(move |&RemoteRange { addr, len: n }| {
            if left == 0 {
                return None;
            }
            if skip >= n {
                skip -= n;
                return Some(None);
            }
            let take = (n - skip).min(left);
            let part = RemoteRange { addr: addr.wrapping_add(skip), len: take };
            left -= take;
            skip = 0;
            Some(Some(part))
        })
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        let r = [(100, 10), (200, 5), (300, 20)].map(|(addr, len)| RemoteRange { addr, len });
        let w = |offset, len| window(&r, offset, len).map(|p| (p.addr, p.len)).collect::<Vec<_>>();
        assert_eq!(w(0, 35), vec![(100, 10), (200, 5), (300, 20)]);
        assert_eq!(w(8, 4), vec![(108, 2), (200, 2)]);
        assert_eq!(w(15, 100), vec![(300, 20)]);
        assert_eq!(w(40, 1), vec![]);
        assert_eq!(w(10, 0), vec![]);
    }
}
