//! Messages between real processes: sizes around the inline area and far
//! beyond it, truncation both ways, vectored parts, reading and writing at
//! offsets while the client waits, answers from other threads, pulses among
//! messages, growing receive buffers, and a many-process stress run.
//!
//! In most tests this process is the server and a child process runs a
//! *script* of calls and pulses ([`script_client`]). Message and reply bytes
//! follow a pattern keyed by a seed and by their offset in the message
//! ([`fill`]), so either end can check every byte of any window; the child
//! reports what each step saw as one line ([`call`]), which the test
//! compares with what it expects.
mod common;

use baton::{Channel, ChannelBuilder, Connection, Deadline, MsgInfo, Pulse, ReceiveId, Received, Request};
use std::io::{IoSlice, IoSliceMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The default inline area of a slot.
const INLINE: usize = 3968;
/// The largest messages and replies.
const BIG: usize = 64 << 20;
/// Seconds a single receive, line or exit may take before a test fails.
const WAIT: u64 = 120;
/// Seconds after which a test is presumed hung and the watchdog aborts.
const HANG: u64 = 300;
/// What receive and reply buffers (and the guards after them) start as;
/// the pattern never contains it.
const SENTINEL: u8 = 0;
/// Bytes after each reply buffer that must stay untouched.
const GUARD: usize = 64;
/// Bytes compared at a time when checking against the pattern.
const BLOCK: usize = 64 << 10;

#[test]
fn child() {
    common::child_main(&[("client", script_client), ("stress-client", stress_client)]);
}

// The pattern.

/// Pattern bytes `8 * index..8 * index + 8` of `seed`. Every byte is odd,
/// so never the sentinel.
fn word(seed: u64, index: u64) -> u64 {
    let mut z = index ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) | 0x0101_0101_0101_0101
}

/// Fills `buf` with pattern bytes `offset..offset + buf.len()` of `seed`.
fn fill(seed: u64, offset: usize, buf: &mut [u8]) {
    let mut rest = buf;
    let mut pos = offset;
    while !rest.is_empty() {
        let bytes = word(seed, (pos / 8) as u64).to_le_bytes();
        let skip = pos % 8;
        let n = (8 - skip).min(rest.len());
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(n);
        head.copy_from_slice(&bytes[skip..skip + n]);
        rest = tail;
        pos += n;
    }
}

/// Pattern bytes `offset..offset + len` of `seed`.
fn pattern(seed: u64, offset: usize, len: usize) -> Vec<u8> {
    let mut v = vec![SENTINEL; len];
    fill(seed, offset, &mut v);
    v
}

/// The seed of the reply to a message of `seed`.
fn reply_seed(seed: u64) -> u64 {
    !seed
}

/// The first index where `data` differs from the pattern of `seed` at `offset`.
fn mismatch(seed: u64, offset: usize, data: &[u8]) -> Option<usize> {
    let mut expected = vec![SENTINEL; BLOCK.min(data.len())];
    for (k, chunk) in data.chunks(BLOCK).enumerate() {
        let exp = &mut expected[..chunk.len()];
        fill(seed, offset + k * BLOCK, exp);
        if chunk != exp {
            return chunk.iter().zip(exp.iter()).position(|(a, b)| a != b).map(|i| k * BLOCK + i);
        }
    }
    None
}

#[track_caller]
fn assert_pattern(seed: u64, offset: usize, data: &[u8], what: &str) {
    if let Some(i) = mismatch(seed, offset, data) {
        let want = pattern(seed, offset + i, 1)[0];
        panic!("{what}: byte {i} of {} (offset {}) is {:#04x}, expected {want:#04x}", data.len(), offset + i, data[i]);
    }
}

/// Parts of the given sizes, each its own allocation, holding the pattern
/// of `seed` from `offset` on.
fn pattern_parts(seed: u64, offset: usize, sizes: &[usize]) -> Vec<Vec<u8>> {
    let mut at = offset;
    sizes
        .iter()
        .map(|&n| {
            at += n;
            pattern(seed, at - n, n)
        })
        .collect()
}

/// Parts of the given sizes filled with the sentinel.
fn blank_parts(sizes: &[usize]) -> Vec<Vec<u8>> {
    sizes.iter().map(|&n| vec![SENTINEL; n]).collect()
}

fn slices(parts: &[Vec<u8>]) -> Vec<IoSlice<'_>> {
    parts.iter().map(|p| IoSlice::new(p)).collect()
}

fn slices_mut(parts: &mut [Vec<u8>]) -> Vec<IoSliceMut<'_>> {
    parts.iter_mut().map(|p| IoSliceMut::new(p)).collect()
}

// Pictures of reply buffers: runs of pattern (`P`), sentinel (`S`) and
// anything else (`X`), e.g. `[P0-50 S50-4096]`.

/// (kind, start, end) of each run.
type Runs = Vec<(char, usize, usize)>;

fn push_run(runs: &mut Runs, kind: char, start: usize, end: usize) {
    match runs.last_mut() {
        Some(last) if last.0 == kind && last.2 == start => last.2 = end,
        _ => runs.push((kind, start, end)),
    }
}

fn render(runs: &Runs) -> String {
    let runs: Vec<String> = runs.iter().map(|(kind, start, end)| format!("{kind}{start}-{end}")).collect();
    format!("[{}]", runs.join(" "))
}

/// The picture of `buf` against the pattern of `seed`.
fn image(seed: u64, buf: &[u8]) -> String {
    let mut runs = Runs::new();
    let sentinel = vec![SENTINEL; BLOCK];
    let mut expected = vec![SENTINEL; BLOCK];
    for (k, chunk) in buf.chunks(BLOCK).enumerate() {
        let start = k * BLOCK;
        let exp = &mut expected[..chunk.len()];
        fill(seed, start, exp);
        if chunk == exp {
            push_run(&mut runs, 'P', start, start + chunk.len());
        } else if chunk == &sentinel[..chunk.len()] {
            push_run(&mut runs, 'S', start, start + chunk.len());
        } else {
            for (i, (&b, &e)) in chunk.iter().zip(exp.iter()).enumerate() {
                let kind = if b == e {
                    'P'
                } else if b == SENTINEL {
                    'S'
                } else {
                    'X'
                };
                push_run(&mut runs, kind, start + i, start + i + 1);
            }
        }
    }
    render(&runs)
}

/// The picture of a reply buffer of `cap` bytes into which the server put
/// the pattern over `regions` (offset, length), clamped to the buffer.
fn expected_image(cap: usize, regions: &[(usize, usize)]) -> String {
    let mut spans: Vec<(usize, usize)> =
        regions.iter().map(|&(off, len)| (off.min(cap), (off + len).min(cap))).filter(|(s, e)| s < e).collect();
    spans.sort_unstable();
    let mut runs = Runs::new();
    let mut pos = 0;
    for (start, end) in spans {
        if start > pos {
            push_run(&mut runs, 'S', pos, start);
        }
        if end > pos {
            push_run(&mut runs, 'P', start.max(pos), end);
            pos = end;
        }
    }
    if pos < cap {
        push_run(&mut runs, 'S', pos, cap);
    }
    render(&runs)
}

// The scripted client (a child process).

/// Step: send the pattern of `seed` in parts of the given sizes, with reply
/// buffers of the given sizes.
fn send_step(seed: u64, parts: &[usize], reply: &[usize]) -> String {
    let list = |sizes: &[usize]| sizes.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
    format!("send:{seed}:{}:{}", list(parts), list(reply))
}

/// Step: send a pulse.
fn pulse_step(code: i8, value: i64) -> String {
    format!("pulse:{code}:{value}")
}

/// Step: say `text` (no colons).
fn mark_step(text: &str) -> String {
    format!("mark:{text}")
}

fn parse_sizes(list: &str) -> Vec<usize> {
    list.split(',').filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect()
}

/// Role: connects to the channel whose pid and chid are the first two
/// arguments, says `scoid N`, then runs the other arguments as steps and
/// says one line per step.
fn script_client() {
    let args = common::args();
    let conn = Connection::attach(args[0].parse().unwrap(), args[1].parse().unwrap()).unwrap();
    common::say(format!("scoid {}", conn.scoid()));
    for step in &args[2..] {
        let f: Vec<&str> = step.split(':').collect();
        common::say(match f[0] {
            "send" => call(&conn, f[1].parse().unwrap(), &parse_sizes(f[2]), &parse_sizes(f[3])),
            "pulse" => match conn.send_pulse(f[1].parse().unwrap(), f[2].parse().unwrap()) {
                Ok(()) => "pulse ok".to_string(),
                Err(e) => format!("pulse error {}", e.errno()),
            },
            "mark" => f[1].to_string(),
            _ => panic!("unknown step {step}"),
        });
    }
}

/// One call of a script: `reply STATUS LEN [PICTURE]` (with ` guard-dirty`
/// if a byte after a reply buffer changed), or `error ERRNO`.
fn call(conn: &Connection, seed: u64, parts: &[usize], reply: &[usize]) -> String {
    let msg = pattern_parts(seed, 0, parts);
    let mut bufs = blank_parts(&reply.iter().map(|n| n + GUARD).collect::<Vec<_>>());
    let mut dst: Vec<IoSliceMut<'_>> = bufs.iter_mut().zip(reply).map(|(b, &n)| IoSliceMut::new(&mut b[..n])).collect();
    let r = match conn.send_vectored(&slices(&msg), &mut dst) {
        Ok(r) => r,
        Err(e) => return format!("error {}", e.errno()),
    };
    let clean = bufs.iter().zip(reply).all(|(b, &n)| b[n..].iter().all(|&x| x == SENTINEL));
    let got = bufs.iter().zip(reply).map(|(b, &n)| &b[..n]).collect::<Vec<&[u8]>>().concat();
    let dirty = if clean { "" } else { " guard-dirty" };
    format!("reply {} {} {}{dirty}", r.status, r.len, image(reply_seed(seed), &got))
}

// This process's side: the server.

/// A child running a script against a channel of this process.
struct Client {
    child: common::Child,
    /// The server connection id the child's connection has here.
    scoid: u32,
}

impl Client {
    fn spawn(ch: &Channel, steps: &[String]) -> Client {
        let mut args = vec![ch.pid().to_string(), ch.id().to_string()];
        args.extend_from_slice(steps);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let child = common::spawn("client", &args);
        let line = child.line(WAIT);
        let scoid = line.strip_prefix("scoid ").and_then(|s| s.parse().ok());
        Client { scoid: scoid.unwrap_or_else(|| panic!("unexpected first line {line:?}")), child }
    }

    /// The next line must be `line`.
    #[track_caller]
    fn expect(&self, line: &str) {
        assert_eq!(self.child.line(WAIT), line);
    }

    /// The script must end well.
    fn finish(self) {
        self.child.wait_ok(WAIT);
    }
}

/// What a client says after a reply.
fn reply_line(status: i64, len: usize, picture: &str) -> String {
    format!("reply {status} {len} {picture}")
}

/// What a client says after its call failed.
fn error_line(errno: i32) -> String {
    format!("error {errno}")
}

/// The start of a test: a runtime directory, a watchdog, the channel.
fn start(builder: ChannelBuilder) -> (common::Watchdog, Channel) {
    common::setup();
    (common::watchdog(HANG), builder.create().unwrap())
}

/// A channel whose long messages move through the slot, with the client's help.
fn assisted() -> ChannelBuilder {
    Channel::builder().direct_copy(false)
}

fn soon() -> Deadline {
    Deadline::after(Duration::from_secs(WAIT))
}

/// The next message, received into `parts`.
fn next_message(ch: &Channel, parts: &mut [IoSliceMut<'_>]) -> Request {
    match ch.receive_vectored_deadline(parts, soon()).expect("receive") {
        Received::Message(req) => req,
        Received::Pulse(p) => panic!("expected a message, got {p:?}"),
    }
}

fn message_into(ch: &Channel, buf: &mut [u8]) -> Request {
    next_message(ch, &mut [IoSliceMut::new(buf)])
}

/// The pulse `received` must be.
fn expect_pulse(received: Received) -> Pulse {
    match received {
        Received::Pulse(p) => p,
        Received::Message(req) => panic!("expected a pulse, got a message of {} bytes", req.info().srcmsglen),
    }
}

fn next_pulse(ch: &Channel) -> Pulse {
    expect_pulse(ch.receive_deadline(&mut [], soon()).expect("receive"))
}

/// What identifies a pulse: code, value, scoid.
fn identity(p: Pulse) -> (i8, i64, u32) {
    (p.code, p.value, p.scoid)
}

#[track_caller]
fn assert_lens(info: MsgInfo, msglen: usize, srcmsglen: usize, dstmsglen: usize) {
    let got = (info.msglen, info.srcmsglen, info.dstmsglen);
    assert_eq!(got, (msglen, srcmsglen, dstmsglen), "(msglen, srcmsglen, dstmsglen)");
}

/// Reads message `seed` at `offset` into parts of `sizes` (`read_at` for
/// one part, `read_vectored_at` for more); `expect` bytes must come, all
/// of the pattern.
#[track_caller]
fn check_read(req: &mut Request, seed: u64, offset: usize, sizes: &[usize], expect: usize) {
    let mut parts = blank_parts(sizes);
    let n = match &mut parts[..] {
        [one] => req.read_at(offset, one),
        more => req.read_vectored_at(offset, &mut slices_mut(more)),
    }
    .unwrap();
    assert_eq!(n, expect, "bytes read at {offset}");
    assert_pattern(seed, offset, &parts.concat()[..n], &format!("read at {offset}"));
}

/// Writes the reply pattern for message `seed` at `offset` in parts of
/// `sizes` (`write_at` for one part, `write_vectored_at` for more);
/// `expect` bytes must go.
#[track_caller]
fn check_write(req: &mut Request, seed: u64, offset: usize, sizes: &[usize], expect: usize) {
    let parts = pattern_parts(reply_seed(seed), offset, sizes);
    let n = match &parts[..] {
        [one] => req.write_at(offset, one),
        more => req.write_vectored_at(offset, &slices(more)),
    };
    assert_eq!(n.unwrap(), expect, "bytes written at {offset}");
}

/// Replies to message `seed` with `len` bytes of its reply pattern.
fn reply_pattern(req: Request, seed: u64, status: i64, len: usize) {
    req.reply(status, &pattern(reply_seed(seed), 0, len)).unwrap();
}

// Round trips.

/// Each size both ways: a message of `n` bytes, then a reply of `n` bytes
/// into a buffer of `n`, every byte checked at both ends.
fn round_trips(builder: ChannelBuilder, sizes: &[usize]) {
    let (_dog, ch) = start(builder);
    let steps: Vec<String> = sizes.iter().zip(0..).map(|(&n, seed)| send_step(seed, &[n], &[n])).collect();
    let client = Client::spawn(&ch, &steps);
    let mut buf = vec![SENTINEL; sizes.iter().copied().max().unwrap_or(0)];
    for (&n, seed) in sizes.iter().zip(0..) {
        let req = message_into(&ch, &mut buf);
        assert_lens(req.info(), n, n, n);
        assert_pattern(seed, 0, &buf[..n], "message");
        reply_pattern(req, seed, n as i64, n);
        client.expect(&reply_line(n as i64, n, &expected_image(n, &[(0, n)])));
    }
    client.finish();
}

#[test]
fn round_trips_around_the_default_inline_size() {
    round_trips(Channel::builder(), &[0, 1, INLINE - 1, INLINE, INLINE + 1]);
}

#[test]
fn round_trips_around_a_256_byte_inline_area() {
    round_trips(Channel::builder().inline_size(256), &[256, 257, 255, 0, 1]);
}

/// A 256-byte inline area and a one-page overflow area: 4352 bytes go
/// through shared memory, the rest straight between the address spaces.
fn small_areas() -> ChannelBuilder {
    Channel::builder().inline_size(256).overflow_size(4096)
}

#[test]
fn round_trips_around_a_one_page_overflow_area_direct() {
    round_trips(small_areas(), &[4351, 4352, 4353, 257, 10_000, 0]);
}

#[test]
fn round_trips_around_a_one_page_overflow_area_assisted() {
    round_trips(small_areas().direct_copy(false), &[4351, 4352, 4353, 257, 10_000, 0]);
}

#[test]
fn round_trips_without_an_overflow_area() {
    round_trips(Channel::builder().overflow_size(0), &[INLINE + 1, 70_000, INLINE]);
}

#[test]
fn round_trips_around_the_default_overflow_area() {
    const MIB: usize = 1 << 20;
    round_trips(Channel::builder(), &[MIB + INLINE - 1, MIB + INLINE, MIB + INLINE + 1, 65_536]);
}

#[test]
fn round_trip_of_64_mib_each_way_direct() {
    round_trips(Channel::builder(), &[BIG]);
}

#[test]
fn round_trip_of_64_mib_each_way_assisted() {
    round_trips(assisted(), &[BIG]);
}

// Truncation.

/// Sizes of (message, receive buffer, reply buffer, reply): longer than
/// the other side's buffer, shorter, nothing at all, far beyond the inline
/// area, an exact fit.
const TRUNCATIONS: [(usize, usize, usize, usize); 6] = [
    (5000, 64, 77, 300),
    (100, 64, 6000, 5000),
    (INLINE, 0, 10, 70_000),
    (10, 64, 0, 100),
    (200_000, 64, 150_000, 300_000),
    (64, 64, 64, 64),
];

/// Each side gets `min(sent, room)` bytes and nothing past them; the
/// server learns both lengths, the client the reply's full length.
fn truncation(builder: ChannelBuilder) {
    let (_dog, ch) = start(builder);
    let steps: Vec<String> =
        TRUNCATIONS.iter().zip(0..).map(|(&(msg, _, cap, _), seed)| send_step(seed, &[msg], &[cap])).collect();
    let client = Client::spawn(&ch, &steps);
    for (&(msg, room, cap, reply), seed) in TRUNCATIONS.iter().zip(0..) {
        let mut buf = vec![SENTINEL; room + GUARD];
        let req = message_into(&ch, &mut buf[..room]);
        let got = msg.min(room);
        assert_lens(req.info(), got, msg, cap);
        assert_eq!(req.len(), got);
        assert_pattern(seed, 0, &buf[..got], "message");
        assert!(buf[got..].iter().all(|&b| b == SENTINEL), "bytes past the delivered {got} were written");
        let status = seed as i64 - 3;
        reply_pattern(req, seed, status, reply);
        client.expect(&reply_line(status, reply, &expected_image(cap, &[(0, reply)])));
    }
    client.finish();
}

#[test]
fn truncation_both_ways_direct() {
    truncation(Channel::builder());
}

#[test]
fn truncation_both_ways_assisted() {
    truncation(assisted());
}

// Vectored messages.

/// Messages and replies as lists of parts on both sides, with parts that
/// straddle the inline boundary, empty parts, and truncation.
fn vectored(builder: ChannelBuilder) {
    const MIB: usize = 1 << 20;
    let (_dog, ch) = start(builder);
    let client = Client::spawn(
        &ch,
        &[
            send_step(0, &[1, INLINE - 2, 2, 5000, 0, 100], &[10, 4000, 3000]),
            send_step(1, &[3000, 3000], &[1000, 1000, 5000]),
            send_step(2, &[MIB / 3, 7, MIB - MIB / 3 - 107, 0, 100], &[MIB / 2, 1, MIB / 2 - 1]),
        ],
    );

    // 9069 bytes whose inline boundary falls inside the second part, into
    // four parts; more read across the boundary and past the end; a reply
    // in four parts truncated by the client's three.
    let mut parts = blank_parts(&[100, 3900, 50, 20_000]);
    let mut req = next_message(&ch, &mut slices_mut(&mut parts));
    assert_lens(req.info(), 9069, 9069, 7010);
    assert_pattern(0, 0, &parts.concat()[..9069], "message 0");
    check_read(&mut req, 0, 3900, &[30, 100, 7], 137);
    check_read(&mut req, 0, 9000, &[50, 50], 69);
    req.reply_vectored(5, &slices(&pattern_parts(reply_seed(0), 0, &[2000, 2000, 3000, 100]))).unwrap();
    client.expect(&reply_line(5, 7100, &expected_image(7010, &[(0, 7100)])));

    // Received into two small parts; writes across the client's reply parts
    // and the inline boundary, and clamped at the end; a short reply.
    let mut parts = blank_parts(&[10, 20]);
    let mut req = next_message(&ch, &mut slices_mut(&mut parts));
    assert_lens(req.info(), 30, 6000, 7000);
    assert_pattern(1, 0, &parts.concat(), "message 1");
    check_read(&mut req, 1, 0, &[16, 16], 32);
    check_read(&mut req, 1, 3960, &[20], 20);
    check_write(&mut req, 1, 3950, &[10, 20, 30], 60);
    check_write(&mut req, 1, 6990, &[20, 20], 10);
    check_write(&mut req, 1, 7000, &[5], 0);
    req.reply_vectored(6, &slices(&pattern_parts(reply_seed(1), 0, &[5, 15]))).unwrap();
    client.expect(&reply_line(6, 20, &expected_image(7000, &[(0, 20), (3950, 60), (6990, 10)])));

    // A mebibyte: sent in five parts, received in three, replied in three
    // into the client's three.
    let mut parts = blank_parts(&[INLINE + 1, MIB / 2, MIB]);
    let req = next_message(&ch, &mut slices_mut(&mut parts));
    assert_lens(req.info(), MIB, MIB, MIB);
    assert_pattern(2, 0, &parts.concat()[..MIB], "message 2");
    req.reply_vectored(7, &slices(&pattern_parts(reply_seed(2), 0, &[MIB / 4, MIB / 4 + 3, MIB / 2 - 3]))).unwrap();
    client.expect(&reply_line(7, MIB, &expected_image(MIB, &[(0, MIB)])));
    client.finish();
}

#[test]
fn vectored_parts_direct() {
    vectored(Channel::builder());
}

#[test]
fn vectored_parts_assisted() {
    vectored(assisted());
}

// Reading and writing at offsets.

/// Message and reply buffer sizes.
const OFFSET_CASES: [usize; 3] = [1000, INLINE + 500, BIG];

/// Reads at offsets inside the inline area, across its end and past the
/// message; writes at offsets into the reply buffer (clamped at its end),
/// then a shorter reply: the client sees both.
fn offsets(builder: ChannelBuilder) {
    let (_dog, ch) = start(builder);
    let steps: Vec<String> = OFFSET_CASES.iter().zip(0..).map(|(&n, seed)| send_step(seed, &[n], &[n])).collect();
    let client = Client::spawn(&ch, &steps);
    for (&size, seed) in OFFSET_CASES.iter().zip(0..) {
        let mut head = [SENTINEL; 16];
        let mut req = message_into(&ch, &mut head);
        assert_lens(req.info(), 16, size, size);
        assert_pattern(seed, 0, &head, "first bytes");
        for off in [0, 100, INLINE - 50, size / 2, size - 10, size, size + 100] {
            check_read(&mut req, seed, off, &[200], 200.min(size.saturating_sub(off)));
        }
        check_read(&mut req, seed, 0, &[size], size);
        let mut regions = vec![(size / 8, size / 8), (INLINE - 50, 100), (size / 2, 100), (size - 10, 100), (size, 10)];
        for &(off, len) in &regions {
            check_write(&mut req, seed, off, &[len], len.min(size.saturating_sub(off)));
        }
        reply_pattern(req, seed, 9, 50);
        regions.push((0, 50));
        client.expect(&reply_line(9, 50, &expected_image(size, &regions)));
    }
    client.finish();
}

#[test]
fn read_at_and_write_at_while_the_client_waits_direct() {
    offsets(Channel::builder());
}

#[test]
fn read_at_and_write_at_while_the_client_waits_assisted() {
    offsets(assisted());
}

/// Writes into the reply buffer, then reads of the message: the reads
/// must still see the message, also where the writes went through the slot.
fn reads_after_writes(builder: ChannelBuilder) {
    const SIZE: usize = INLINE + 500;
    let (_dog, ch) = start(builder);
    let client = Client::spawn(&ch, &[send_step(0, &[SIZE], &[SIZE])]);
    let mut req = message_into(&ch, &mut []);
    check_write(&mut req, 0, 0, &[100], 100);
    check_write(&mut req, 0, SIZE - 10, &[5, 5], 10);
    check_read(&mut req, 0, 0, &[64], 64);
    check_read(&mut req, 0, INLINE - 50, &[50, 50], 100);
    check_read(&mut req, 0, 0, &[SIZE], SIZE);
    reply_pattern(req, 0, 3, 20);
    client.expect(&reply_line(3, 20, &expected_image(SIZE, &[(0, 100), (SIZE - 10, 10)])));
    client.finish();
}

#[test]
fn reads_after_writes_see_the_message_direct() {
    reads_after_writes(Channel::builder());
}

#[test]
fn reads_after_writes_see_the_message_assisted() {
    reads_after_writes(assisted());
}

// Answers from other threads.

#[test]
fn answers_from_other_threads_and_by_parked_id() {
    let (_dog, ch) = start(Channel::builder());
    let small = Client::spawn(&ch, &[send_step(1, &[100], &[300])]);
    let large = Client::spawn(&ch, &[send_step(2, &[INLINE + 1000], &[8000])]);
    let first = message_into(&ch, &mut []);
    let second = message_into(&ch, &mut []);
    let (small_req, large_req) = if first.info().scoid == small.scoid { (first, second) } else { (second, first) };
    assert_lens(small_req.info(), 0, 100, 300);
    assert_lens(large_req.info(), 0, INLINE + 1000, 8000);

    // The later request: read, written and answered on another thread.
    std::thread::spawn(move || {
        let mut req = large_req;
        check_read(&mut req, 2, INLINE - 10, &[20], 20);
        check_write(&mut req, 2, 5000, &[100], 100);
        reply_pattern(req, 2, 2, 10);
    })
    .join()
    .unwrap();
    large.expect(&reply_line(2, 10, &expected_image(8000, &[(0, 10), (5000, 100)])));

    // The earlier one: parked here, answered by id on another thread; a
    // second answer finds nothing.
    let id = small_req.park();
    assert_eq!(ReceiveId::from_raw(id.as_raw()), Some(id));
    let again = std::thread::spawn(move || {
        id.reply(1, &pattern(reply_seed(1), 0, 300)).unwrap();
        id.reply(1, b"again").unwrap_err().errno()
    })
    .join()
    .unwrap();
    assert_eq!(again, libc::ESRCH);
    small.expect(&reply_line(1, 300, &expected_image(300, &[(0, 300)])));
    small.finish();
    large.finish();
}

// Pulses.

/// The code and value of pulse `k` of round `round`.
fn pulse_of(round: usize, k: usize) -> (i8, i64) {
    (((round * 37 + k * 90) % 128) as i8, (round as i64 - 3) * 1_000_000_000_007 + k as i64)
}

#[test]
fn pulses_arrive_once_in_order_among_messages() {
    const ROUNDS: usize = 6;
    let (_dog, ch) = start(Channel::builder());
    let mut steps = Vec::new();
    for r in 0..ROUNDS {
        steps.extend((0..2).map(|k| pulse_of(r, k)).map(|(code, value)| pulse_step(code, value)));
        steps.push(mark_step(&format!("round {r}")));
        steps.push(send_step(r as u64, &[r * 1500], &[16]));
    }
    let client = Client::spawn(&ch, &steps);
    for r in 0..ROUNDS {
        client.expect("pulse ok");
        client.expect("pulse ok");
        client.expect(&format!("round {r}"));
        // Let the message be posted behind the pulses, so that all three
        // wait together. Any timing must give the same order; this only
        // makes a wrong order likely to show.
        std::thread::sleep(Duration::from_millis(50));
        for k in 0..2 {
            let (code, value) = pulse_of(r, k);
            assert_eq!(identity(next_pulse(&ch)), (code, value, client.scoid), "pulse {k} of round {r}");
        }
        let mut buf = vec![SENTINEL; r * 1500];
        let req = message_into(&ch, &mut buf);
        assert_eq!(req.info().scoid, client.scoid);
        assert_pattern(r as u64, 0, &buf, "message");
        req.reply(r as i64, &[]).unwrap();
        client.expect(&reply_line(r as i64, 0, &expected_image(16, &[])));
    }
    client.finish();
    assert!(ch.try_receive(&mut []).unwrap().is_none(), "something arrived twice");
}

/// Receives until `n` pulses and one message have come, in any order,
/// answering the message with an empty reply; returns the pulses.
fn pulses_and_a_message(ch: &Channel, n: usize) -> Vec<Pulse> {
    let mut pulses = Vec::new();
    let mut answered = false;
    while pulses.len() < n || !answered {
        match ch.receive_deadline(&mut [], soon()).expect("receive") {
            Received::Pulse(p) => pulses.push(p),
            Received::Message(req) => {
                assert!(!answered, "a second message");
                req.reply(0, &[]).unwrap();
                answered = true;
            }
        }
    }
    pulses
}

/// The values of `pulses`, each checked to have `code` and come from `scoid`.
#[track_caller]
fn values(pulses: &[Pulse], code: i8, scoid: u32) -> Vec<i64> {
    for p in pulses {
        assert_eq!((p.code, p.scoid), (code, scoid), "{p:?}");
    }
    pulses.iter().map(|p| p.value).collect()
}

#[test]
fn full_pulse_storage_refuses_with_eagain_and_loses_nothing() {
    const CAPACITY: usize = 4;
    const TRIES: usize = 10;
    let (_dog, ch) = start(Channel::builder().pulse_capacity(CAPACITY as u32));
    let mut steps: Vec<String> = (0..TRIES).map(|i| pulse_step(7, i as i64)).collect();
    steps.push(send_step(0, &[8], &[8]));
    steps.extend((0..CAPACITY).map(|i| pulse_step(8, 100 + i as i64)));
    let client = Client::spawn(&ch, &steps);

    // Nobody receives yet: the first pulses fill the storage, the rest are refused.
    for i in 0..TRIES {
        client.expect(&if i < CAPACITY { "pulse ok".to_string() } else { format!("pulse error {}", libc::EAGAIN) });
    }
    let stored = pulses_and_a_message(&ch, CAPACITY);
    assert_eq!(values(&stored, 7, client.scoid), (0..CAPACITY as i64).collect::<Vec<_>>());
    client.expect(&reply_line(0, 0, &expected_image(8, &[])));

    // Received pulses free their storage.
    for _ in 0..CAPACITY {
        client.expect("pulse ok");
    }
    let later: Vec<Pulse> = (0..CAPACITY).map(|_| next_pulse(&ch)).collect();
    assert_eq!(values(&later, 8, client.scoid), (100..100 + CAPACITY as i64).collect::<Vec<_>>());
    client.finish();
    assert!(ch.try_receive(&mut []).unwrap().is_none(), "a pulse arrived twice");
}

// Receiving into a growing buffer, receiving without waiting, dropping.

#[test]
fn receive_vec_grows_and_try_receive_takes_only_what_waits() {
    let (_dog, ch) = start(Channel::builder());
    assert!(ch.try_receive(&mut []).unwrap().is_none(), "nothing can wait yet");
    let sizes = [10, INLINE + 1, 1 << 20, 100, 0, 70_000];
    let mut steps: Vec<String> = sizes.iter().zip(0..).map(|(&n, seed)| send_step(seed, &[n], &[8])).collect();
    steps.extend([pulse_step(3, 33), mark_step("pulsed"), pulse_step(4, 44), mark_step("pulsed again")]);
    let client = Client::spawn(&ch, &steps);

    let mut buf = Vec::new();
    for (&n, seed) in sizes.iter().zip(0..) {
        let Received::Message(req) = ch.receive_vec(&mut buf).unwrap() else { panic!("expected a message") };
        assert_eq!((req.info().srcmsglen, req.info().dstmsglen, buf.len()), (n, 8, n));
        assert_pattern(seed, 0, &buf, "message");
        req.reply(n as i64, &[]).unwrap();
        client.expect(&reply_line(n as i64, 0, &expected_image(8, &[])));
    }

    client.expect("pulse ok");
    client.expect("pulsed");
    let first = ch.try_receive(&mut []).unwrap().map(expect_pulse);
    assert_eq!(first.map(identity), Some((3, 33, client.scoid)));
    client.expect("pulse ok");
    client.expect("pulsed again");
    let second = expect_pulse(ch.receive_vec(&mut buf).unwrap());
    assert_eq!(identity(second), (4, 44, client.scoid));
    assert!(buf.is_empty(), "a pulse leaves the buffer empty");
    client.finish();
    assert!(ch.try_receive(&mut []).unwrap().is_none(), "something arrived twice");
}

#[test]
fn dropped_request_fails_the_call_with_eio() {
    let (_dog, ch) = start(Channel::builder());
    let client = Client::spawn(
        &ch,
        &[send_step(0, &[100], &[100]), send_step(1, &[INLINE + 100], &[INLINE + 100]), send_step(2, &[10], &[10])],
    );
    drop(message_into(&ch, &mut []));
    client.expect(&error_line(libc::EIO));
    // Also after a part of the reply was written.
    let mut req = message_into(&ch, &mut []);
    check_write(&mut req, 1, 0, &[INLINE + 100], INLINE + 100);
    drop(req);
    client.expect(&error_line(libc::EIO));
    // The connection still works.
    reply_pattern(message_into(&ch, &mut []), 2, 2, 10);
    client.expect(&reply_line(2, 10, &expected_image(10, &[(0, 10)])));
    client.finish();
}

// Stress: many client processes, many server threads.

const STRESS_CLIENTS: usize = 8;
const STRESS_THREADS: usize = 4;
const STRESS_CALLS: usize = 10_000;
/// Longest stress payload.
const STRESS_MAX: usize = 6000;
/// Client id, call number and payload length, as little-endian u32s,
/// before each stress payload.
const HEADER: usize = 12;

fn stress_len(cid: usize, seq: usize) -> usize {
    match seq % 8 {
        0 => 0,
        1 => INLINE - HEADER,
        _ => (word(cid as u64, seq as u64) % STRESS_MAX as u64) as usize,
    }
}

fn stress_seed(cid: usize, seq: usize) -> u64 {
    ((cid as u64) << 32) | seq as u64
}

/// The request of call `seq` of client `cid`, into `out`.
fn stress_request(cid: usize, seq: usize, out: &mut Vec<u8>) {
    let len = stress_len(cid, seq);
    out.clear();
    for field in [cid, seq, len] {
        out.extend_from_slice(&(field as u32).to_le_bytes());
    }
    out.resize(HEADER + len, SENTINEL);
    fill(stress_seed(cid, seq), 0, &mut out[HEADER..]);
}

/// The reply to a stress request, into `out`: its header, then its payload
/// inverted.
fn stress_reply(request: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&request[..HEADER]);
    out.extend(request[HEADER..].iter().map(|b| !b));
}

/// The (client, call) a received stress request claims, if it is exactly
/// the request that client makes for that call.
fn check_stress_request(msg: &[u8], srcmsglen: usize) -> Result<(usize, usize), String> {
    if msg.len() < HEADER {
        return Err(format!("a request of {} bytes", msg.len()));
    }
    let field = |i: usize| u32::from_le_bytes(msg[4 * i..4 * i + 4].try_into().unwrap()) as usize;
    let (cid, seq) = (field(0), field(1));
    if cid >= STRESS_CLIENTS || seq >= STRESS_CALLS {
        return Err(format!("a request from client {cid} call {seq}"));
    }
    let mut expected = Vec::new();
    stress_request(cid, seq, &mut expected);
    if msg != expected || srcmsglen != expected.len() {
        return Err(format!("client {cid} call {seq}: wrong request ({} of {srcmsglen} bytes)", msg.len()));
    }
    Ok((cid, seq))
}

/// Role: stress client number `args[2]` of the channel at (`args[0]`,
/// `args[1]`): its calls in order, each reply checked against its request.
fn stress_client() {
    let args = common::args();
    let conn = Connection::attach(args[0].parse().unwrap(), args[1].parse().unwrap()).unwrap();
    let cid: usize = args[2].parse().unwrap();
    let (mut msg, mut expected) = (Vec::new(), Vec::new());
    let mut reply = vec![SENTINEL; HEADER + STRESS_MAX];
    for seq in 0..STRESS_CALLS {
        stress_request(cid, seq, &mut msg);
        let r = conn.send(&msg, &mut reply).unwrap_or_else(|e| panic!("client {cid} call {seq}: {e}"));
        stress_reply(&msg, &mut expected);
        assert_eq!((r.status, r.len), (seq as i64, expected.len()), "client {cid} call {seq}: status and length");
        assert!(reply[..r.len] == expected[..], "client {cid} call {seq}: wrong reply bytes");
    }
}

/// What the stress server threads saw.
struct Ledger {
    /// Times each (client, call) was received, at `client * STRESS_CALLS + call`.
    seen: Mutex<Vec<u32>>,
    problems: Mutex<Vec<String>>,
}

impl Ledger {
    fn new() -> Ledger {
        Ledger { seen: Mutex::new(vec![0; STRESS_CLIENTS * STRESS_CALLS]), problems: Mutex::default() }
    }

    fn problem(&self, what: String) {
        self.problems.lock().unwrap().push(what);
    }

    fn record(&self, cid: usize, seq: usize) {
        let times = {
            let mut seen = self.seen.lock().unwrap();
            seen[cid * STRESS_CALLS + seq] += 1;
            seen[cid * STRESS_CALLS + seq]
        };
        if times > 1 {
            self.problem(format!("client {cid} call {seq} received {times} times"));
        }
    }

    /// Every call seen exactly once, nothing else went wrong.
    fn check(self) {
        let problems = self.problems.into_inner().unwrap();
        assert!(
            problems.is_empty(),
            "{} problems, the first: {:?}",
            problems.len(),
            &problems[..problems.len().min(5)]
        );
        let seen = self.seen.into_inner().unwrap();
        let wrong: Vec<(usize, usize, u32)> = seen
            .iter()
            .enumerate()
            .filter(|&(_, &times)| times != 1)
            .map(|(i, &times)| (i / STRESS_CALLS, i % STRESS_CALLS, times))
            .take(5)
            .collect();
        assert!(wrong.is_empty(), "(client, call, times received), first few: {wrong:?}");
    }
}

/// One stress server thread: answers requests until `stop` is set.
fn stress_serve(ch: &Channel, ledger: &Ledger, stop: &AtomicBool) {
    let (mut buf, mut reply) = (vec![SENTINEL; HEADER + STRESS_MAX + 1], Vec::new());
    loop {
        let req = match ch.receive_deadline(&mut buf, Deadline::after(Duration::from_millis(200))) {
            Ok(Received::Message(req)) => req,
            Ok(Received::Pulse(p)) => return ledger.problem(format!("unexpected pulse {p:?}")),
            Err(e) if e.is_timeout() && stop.load(Ordering::Acquire) => return,
            Err(e) if e.is_timeout() => continue,
            Err(e) => return ledger.problem(format!("receive failed: {e}")),
        };
        let msg = &buf[..req.len()];
        match check_stress_request(msg, req.info().srcmsglen) {
            Ok((cid, seq)) => {
                ledger.record(cid, seq);
                stress_reply(msg, &mut reply);
                if let Err(e) = req.reply(seq as i64, &reply) {
                    ledger.problem(format!("reply to client {cid} call {seq} failed: {e}"));
                }
            }
            Err(why) => {
                ledger.problem(why);
                let _ = req.error(libc::EBADMSG);
            }
        }
    }
}

/// Sets a flag when dropped, on a panic too.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

#[test]
fn stress_many_client_processes_many_server_threads() {
    let (_dog, ch) = start(Channel::builder());
    let (ledger, stop) = (Ledger::new(), AtomicBool::new(false));
    let address = [ch.pid().to_string(), ch.id().to_string()];
    std::thread::scope(|s| {
        let _stop = SetOnDrop(&stop);
        for _ in 0..STRESS_THREADS {
            s.spawn(|| stress_serve(&ch, &ledger, &stop));
        }
        let clients: Vec<common::Child> = (0..STRESS_CLIENTS)
            .map(|cid| common::spawn("stress-client", &[&address[0], &address[1], &cid.to_string()]))
            .collect();
        for c in clients {
            c.wait_ok(WAIT);
        }
    });
    ledger.check();
}
