//! Streamed copies: a large message or reply is read out of the slot's
//! message areas while its writer is still copying it in, when the two run
//! on different CPUs.
//!
//! A message whose bytes in the areas exceed [`STREAM_MIN`] carries in the
//! slot's `xfer_done` word how many of them the client has written so far
//! (all of them, unless it streams); the server reads no further than that.
//! A reply longer than [`STREAM_MIN`] is written in [`CHUNK`]s, each
//! followed by the count so far in `xfer_offset`, tagged with the call's
//! sequence number ([`reply_progress`]); a client that spins for its answer
//! copies what is there as it comes. Both words serve client-assisted
//! transfers too, which never overlap a stream: the message's stream ends
//! before the server looks past the areas, and a client copies ahead only
//! when every byte of its call fits the areas, where an assisted transfer's
//! offsets are untagged (below 2^32).

/// Message or reply bytes in the areas beyond which they stream.
pub(crate) const STREAM_MIN: usize = 128 << 10;

/// Bytes a streaming writer copies between two counts.
pub(crate) const CHUNK: usize = 32 << 10;

/// The `xfer_offset` value saying that `filled` bytes of the reply to call
/// `seq` are in the areas.
pub(crate) fn reply_progress(seq: u32, filled: usize) -> u64 {
    (u64::from(seq) << 32) | (filled.min(u32::MAX as usize) as u64)
}

/// The reply bytes in the areas for call `seq`, if `word` speaks of that
/// call. Call 0 never copies ahead: an assisted transfer's offset could
/// pass for its count.
pub(crate) fn reply_filled(word: u64, seq: u32) -> Option<usize> {
    (seq != 0 && (word >> 32) as u32 == seq).then_some(word as u32 as usize)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_progress_word_speaks_only_of_its_own_call() {
        assert_eq!(reply_filled(reply_progress(7, CHUNK), 7), Some(CHUNK));
        assert_eq!(reply_filled(reply_progress(7, CHUNK), 8), None);
        assert_eq!(reply_filled(reply_progress(u32::MAX, 1 << 20), u32::MAX), Some(1 << 20));
        // An assisted transfer's offset (high bits clear) is no call's count.
        assert_eq!(reply_filled(4096, 0), None);
        assert_eq!(reply_filled(4096, 1), None);
        assert_eq!(reply_filled(reply_progress(0, 10), 0), None);
    }
}
