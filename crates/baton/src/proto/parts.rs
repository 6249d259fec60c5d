//! Offset arithmetic over scatter/gather lists.
//!
//! A message is the concatenation of its parts. Reading or writing "bytes
//! `offset..offset+len` of the message" means finding the parts that cover
//! that window; this does it for ranges (address, length) in another
//! process. (Local parts are walked by the segment's copy helpers.)

/// The sub-ranges of `ranges` (address, length) that cover
/// `offset..offset + len` of their concatenation, clamped at its end.
pub(crate) fn window(ranges: &[(u64, u64)], offset: u64, len: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut skip = offset;
    let mut left = len;
    for &(addr, n) in ranges {
        if left == 0 {
            break;
        }
        if skip >= n {
            skip -= n;
            continue;
        }
        let take = (n - skip).min(left);
        out.push((addr.wrapping_add(skip), take));
        left -= take;
        skip = 0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        let r = [(100, 10), (200, 5), (300, 20)];
        assert_eq!(window(&r, 0, 35), vec![(100, 10), (200, 5), (300, 20)]);
        assert_eq!(window(&r, 8, 4), vec![(108, 2), (200, 2)]);
        assert_eq!(window(&r, 15, 100), vec![(300, 20)]);
        assert_eq!(window(&r, 40, 1), vec![]);
    }
}
