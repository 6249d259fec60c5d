//! What a soak request and its reply carry, and how each side checks them.
//!
//! A request is a 40-byte header (magic, the client's id, its call number,
//! the reply length it wants, how long the server should hold it, and a
//! checksum of the payload) followed by a payload that is a pure function
//! of (client id, call number). The reply's status is the request's
//! identity packed in an `i64`, and its bytes are a pure function of that
//! identity and the request's checksum: the first 24 echo (client id, call,
//! request checksum), the rest come from a generator seeded by them. A
//! client that checks every byte of its reply therefore knows it got the
//! answer to its own request and not to anyone else's. A 0-byte request
//! carries nothing: its reply is empty and its status is [`EMPTY_STATUS`].

/// First word of every request.
pub const MAGIC: u32 = 0x4b41_4f53; // "SOAK"
/// Bytes of the request header.
pub const HEADER: usize = 40;
/// Bytes of the reply's echo of the request's identity.
pub const ECHO: usize = 24;
/// The status of the reply to an empty request.
pub const EMPTY_STATUS: i64 = 0x0e_4d50_7479;
/// The inline area of a slot with the library's default geometry.
pub const INLINE: usize = 4096 - 128;
/// The overflow area of a slot with the default geometry.
pub const OVERFLOW: usize = 1 << 20;
/// The largest message the soak sends (past inline + overflow, so the
/// assisted copy is exercised too).
pub const MAX_MSG: usize = INLINE + OVERFLOW + 64 * 1024;

/// The request header, as sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub client: u32,
    /// How long the server holds the request before it replies, µs.
    pub hold_us: u32,
    pub call: u64,
    pub reply_len: u64,
    /// Checksum of the payload (the bytes after the header).
    pub sum: u64,
}

impl Header {
    pub fn encode(&self, out: &mut [u8]) {
        out[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        out[4..8].copy_from_slice(&self.client.to_le_bytes());
        out[8..12].copy_from_slice(&self.hold_us.to_le_bytes());
        out[12..16].copy_from_slice(&0u32.to_le_bytes());
        out[16..24].copy_from_slice(&self.call.to_le_bytes());
        out[24..32].copy_from_slice(&self.reply_len.to_le_bytes());
        out[32..40].copy_from_slice(&self.sum.to_le_bytes());
    }

    /// The header of `msg`, if it has a well-formed one.
    pub fn decode(msg: &[u8]) -> Option<Header> {
        if msg.len() < HEADER || u32::from_le_bytes(msg[0..4].try_into().ok()?) != MAGIC {
            return None;
        }
        let word = |r: std::ops::Range<usize>| u64::from_le_bytes(msg[r].try_into().unwrap_or_default());
        Some(Header {
            client: u32::from_le_bytes(msg[4..8].try_into().ok()?),
            hold_us: u32::from_le_bytes(msg[8..12].try_into().ok()?),
            call: word(16..24),
            reply_len: word(24..32),
            sum: word(32..40),
        })
    }
}

/// The reply status that names request (client, call).
pub fn status(client: u32, call: u64) -> i64 {
    (((client as u64) << 40) | (call & ((1 << 40) - 1))) as i64 & i64::MAX
}

/// splitmix64: the generator of payload bytes.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The seed of request (client, call)'s payload.
pub fn request_seed(client: u32, call: u64) -> u64 {
    mix(mix(client as u64 ^ 0x5eed) ^ call)
}

/// The seed of the reply to a request with checksum `sum`.
pub fn reply_seed(client: u32, call: u64, sum: u64) -> u64 {
    mix(request_seed(client, call) ^ mix(sum))
}

/// Fills `out` with the generator's bytes from `seed`.
pub fn fill(out: &mut [u8], seed: u64) {
    let mut chunks = out.chunks_exact_mut(8);
    let mut i = 0u64;
    for c in &mut chunks {
        c.copy_from_slice(&mix(seed ^ i).to_le_bytes());
        i += 1;
    }
    let rest = chunks.into_remainder();
    let last = mix(seed ^ i).to_le_bytes();
    let n = rest.len();
    rest.copy_from_slice(&last[..n]);
}

/// Whether `bytes` are exactly what [`fill`] writes from `seed`.
pub fn matches(bytes: &[u8], seed: u64) -> bool {
    let mut chunks = bytes.chunks_exact(8);
    let mut i = 0u64;
    for c in &mut chunks {
        if c != mix(seed ^ i).to_le_bytes() {
            return false;
        }
        i += 1;
    }
    let rest = chunks.remainder();
    rest == &mix(seed ^ i).to_le_bytes()[..rest.len()]
}

/// A checksum of `bytes` (a word-at-a-time multiply-mix, length included).
pub fn checksum(bytes: &[u8]) -> u64 {
    let mut h = mix(bytes.len() as u64);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        h = mix(h ^ u64::from_le_bytes(c.try_into().unwrap_or_default()));
    }
    let mut last = [0u8; 8];
    last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    mix(h ^ u64::from_le_bytes(last))
}

/// Writes request (client, call) of `len` bytes into `out[..len]` (`len`
/// 0 or at least [`HEADER`]).
pub fn write_request(out: &mut [u8], client: u32, call: u64, hold_us: u32, reply_len: u64) {
    if out.is_empty() {
        return;
    }
    let (head, payload) = out.split_at_mut(HEADER);
    fill(payload, request_seed(client, call));
    Header { client, hold_us, call, reply_len, sum: checksum(payload) }.encode(head);
}

/// Writes the reply to `h` into `out` (`h.reply_len` bytes).
pub fn write_reply(out: &mut [u8], h: &Header) {
    let mut echo = [0u8; ECHO];
    echo[0..8].copy_from_slice(&(h.client as u64).to_le_bytes());
    echo[8..16].copy_from_slice(&h.call.to_le_bytes());
    echo[16..24].copy_from_slice(&h.sum.to_le_bytes());
    let n = out.len().min(ECHO);
    out[..n].copy_from_slice(&echo[..n]);
    if out.len() > ECHO {
        fill(&mut out[ECHO..], reply_seed(h.client, h.call, h.sum));
    }
}

/// Whether `reply` is exactly the reply to `h`.
pub fn check_reply(reply: &[u8], h: &Header) -> bool {
    let mut want = [0u8; ECHO];
    write_reply(&mut want[..reply.len().min(ECHO)], h);
    reply[..reply.len().min(ECHO)] == want[..reply.len().min(ECHO)]
        && (reply.len() <= ECHO || matches(&reply[ECHO..], reply_seed(h.client, h.call, h.sum)))
}

/// A small deterministic generator for the soak's random choices.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(mix(seed))
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(1);
        mix(self.0)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The sizes a request or reply may have: every edge of the slot's areas
/// and random sizes between them.
pub fn pick_size(rng: &mut Rng) -> usize {
    const EDGES: [usize; 12] = [
        0,
        HEADER,
        INLINE - 1,
        INLINE,
        INLINE + 1,
        4096,
        65536,
        OVERFLOW,
        INLINE + OVERFLOW - 1,
        INLINE + OVERFLOW,
        INLINE + OVERFLOW + 1,
        MAX_MSG,
    ];
    match rng.below(100) {
        // Big messages are slow to fill and check: one call in ten.
        0..=44 => HEADER + rng.below(INLINE as u64 * 2) as usize,
        45..=69 => EDGES[rng.below(7) as usize],
        70..=89 => HEADER + rng.below(65536) as usize,
        90..=95 => EDGES[7 + rng.below(5) as usize],
        _ => HEADER + rng.below(OVERFLOW as u64) as usize,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_reply_round_trip() {
        for len in [HEADER, HEADER + 1, INLINE, INLINE + OVERFLOW + 1] {
            let mut msg = vec![0u8; len];
            write_request(&mut msg, 7, 99, 5, 100);
            let h = Header::decode(&msg).unwrap();
            assert_eq!((h.client, h.call, h.hold_us, h.reply_len), (7, 99, 5, 100));
            assert_eq!(h.sum, checksum(&msg[HEADER..]));
            for rlen in [0, 1, ECHO, ECHO + 1, 1000] {
                let mut reply = vec![0u8; rlen];
                write_reply(&mut reply, &h);
                assert!(check_reply(&reply, &h));
                // Up to 8 bytes echo only the client id: the status names
                // the call (see `status`).
                let other = Header { call: 100, ..h };
                assert!(rlen <= 8 || !check_reply(&reply, &other));
            }
        }
    }

    #[test]
    fn status_names_the_request() {
        assert_ne!(status(1, 2), status(2, 1));
        assert!(status(u32::MAX, u64::MAX) >= 0);
    }
}
