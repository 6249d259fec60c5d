//! Streamed copies: a large message is read out of the slot's areas while
//! its client still copies it in, and a large reply copied out while the
//! server still writes it, when the two run on different CPUs
//! (`proto::stream`).
//!
//! What is checked: every byte at both ends, in the default and the spin
//! mode, with the server's buffer shorter than the message (the rest read
//! with `read_at`), with vectored parts, with messages and replies that
//! fill the areas exactly and that go on past them; and a client that
//! stops writing its stream (hostile: it keeps the count from growing)
//! fails only its own call, with `ETIMEDOUT` from the server, while the
//! server goes on serving others.
// A message in a file mapping (`Cold`).
#![allow(unsafe_code)]

mod common;

use baton::{Channel, Connection, Deadline, Received, Timeout, WaitMode};
use common::{args, child_main, note, say, spawn, watchdog};
use rustix::thread::CpuSet;
use std::fs::OpenOptions;
use std::io::{IoSlice, IoSliceMut};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;
/// The default inline area.
const INLINE: usize = 3968;
/// (message, reply) sizes: just past where streaming starts (128 KiB), in
/// between, a full overflow area, the areas exactly, past the areas.
const SIZES: [(usize, usize); 7] = [
    (128 * 1024 + 1, 300_000),
    (300_000, 128 * 1024 + 1),
    (MIB, MIB),
    (MIB + INLINE, MIB + INLINE),
    (MIB + INLINE + 5000, 200_000),
    (200_000, MIB + INLINE + 5000),
    (64, MIB),
];
/// Calls each client makes (every size five times).
const CALLS: usize = 35;
/// Seconds a line or exit may take before a test fails.
const WAIT: u64 = 120;

/// One test at a time: each wants both CPUs to itself (streams need the
/// server thread spinning on one while the client writes on the other).
static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn alone() -> std::sync::MutexGuard<'static, ()> {
    ALONE.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn child() {
    child_main(&[("caller", caller), ("staller", staller)]);
}

/// Byte `i` of the message (or, with `!seed`, the reply) of call `seed`.
fn byte(seed: u64, i: usize) -> u8 {
    let x = (i as u64 ^ seed.rotate_left(17)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (x >> 56) as u8
}

/// A message: its seed and the reply's length, then its pattern.
fn message(seed: u64, len: usize, reply: usize) -> Vec<u8> {
    let mut m: Vec<u8> = (0..len).map(|i| byte(seed, i)).collect();
    m[..8].copy_from_slice(&seed.to_le_bytes());
    m[8..16].copy_from_slice(&(reply as u64).to_le_bytes());
    m
}

/// Pins the calling thread to `cpu`.
fn pin(cpu: usize) {
    let mut only = CpuSet::new();
    only.set(cpu);
    rustix::thread::sched_setaffinity(None, &only).unwrap();
}

/// Two CPUs this process may run on, if it has them.
fn two_cpus() -> Option<(usize, usize)> {
    let cpus = rustix::thread::sched_getaffinity(None).unwrap();
    let mut it = (0..CpuSet::MAX_CPU).filter(|&c| cpus.is_set(c));
    Some((it.next()?, it.next()?))
}

fn mode(name: &str) -> WaitMode {
    match name {
        "adaptive" => WaitMode::Adaptive,
        "spin" => WaitMode::Spin,
        _ => panic!("no wait mode {name:?}"),
    }
}

/// The (message, reply) sizes of call `call`.
fn sizes(call: usize) -> (usize, usize) {
    SIZES[call % SIZES.len()]
}

/// The reply to call `seed` of `len` bytes.
fn reply_of(seed: u64, len: usize) -> Vec<u8> {
    (0..len).map(|i| byte(!seed, i)).collect()
}

/// A message in a file mapping whose pages are dropped before each call,
/// with fault-around off: the client's copy faults on every page of it, so
/// it writes its stream slower than the server reads, which must wait for
/// the count (a server that did not would read the last call's bytes).
struct Cold {
    at: *mut u8,
    len: usize,
}

impl Cold {
    fn new(bytes: &[u8]) -> Cold {
        use std::os::fd::FromRawFd;
        // SAFETY: a static C string; the call creates a new descriptor.
        let fd = unsafe { libc::memfd_create(c"stream-cold".as_ptr(), libc::MFD_CLOEXEC) };
        assert!(fd >= 0, "memfd_create");
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        let file = unsafe { std::fs::File::from_raw_fd(fd) };
        file.write_all_at(bytes, 0).unwrap();
        // SAFETY: a new shared read-only mapping of the file's `len` bytes;
        // the file stays mapped after `file` closes.
        let at = unsafe { libc::mmap(std::ptr::null_mut(), bytes.len(), libc::PROT_READ, libc::MAP_SHARED, fd, 0) };
        assert_ne!(at, libc::MAP_FAILED, "mmap");
        // SAFETY: advice on our own mapping.
        assert_eq!(unsafe { libc::madvise(at, bytes.len(), libc::MADV_RANDOM) }, 0);
        Cold { at: at.cast(), len: bytes.len() }
    }

    /// The message, its pages unmapped (they fault back in as read).
    fn cold(&self) -> &[u8] {
        // SAFETY: drops our mapping's page table entries; the file keeps
        // the bytes, which come back on the next read.
        assert_eq!(unsafe { libc::madvise(self.at.cast(), self.len, libc::MADV_DONTNEED) }, 0);
        // SAFETY: `len` readable bytes at `at` while `self` lives.
        unsafe { std::slice::from_raw_parts(self.at, self.len) }
    }
}

impl Drop for Cold {
    fn drop(&mut self) {
        // SAFETY: our mapping, no longer borrowed.
        unsafe { libc::munmap(self.at.cast(), self.len) };
    }
}

/// Client: pinned to CPU `args[2]`, in mode `args[1]`, makes [`CALLS`]
/// calls on channel `args[0]`, each message in three parts every third
/// call and from a file mapping's cold pages every other call ([`Cold`]),
/// each reply checked whole; says `ok N`. Messages and replies are
/// made beforehand: between calls it only compares, so that the server
/// thread still spins for the next call when it comes (else nothing
/// streams).
fn caller() {
    let a = args();
    pin(a[2].parse().unwrap());
    let conn = Connection::builder().wait_mode(mode(&a[1])).open(&a[0]).unwrap();
    let calls: Vec<(Vec<u8>, Vec<u8>, Option<Cold>)> = (0..CALLS)
        .map(|call| {
            let (len, rlen) = sizes(call);
            let msg = message(call as u64 + 1, len, rlen);
            let cold = (call % 2 == 1).then(|| Cold::new(&msg));
            (msg, reply_of(call as u64 + 1, rlen), cold)
        })
        .collect();
    for (call, (msg, expected, cold)) in calls.iter().enumerate() {
        let (len, rlen) = sizes(call);
        let msg = cold.as_ref().map_or(&msg[..], Cold::cold);
        let mut reply = vec![0u8; rlen];
        let r = if call % 3 == 2 {
            let (x, rest) = msg.split_at(len / 3);
            let (y, z) = rest.split_at(len / 3);
            let (p, q) = reply.split_at_mut(rlen / 3);
            conn.send_vectored(
                &[IoSlice::new(x), IoSlice::new(y), IoSlice::new(z)],
                &mut [IoSliceMut::new(p), IoSliceMut::new(q)],
            )
        } else {
            conn.send(msg, &mut reply)
        }
        .unwrap_or_else(|e| panic!("call {call} ({len} bytes): {e}"));
        assert_eq!(r.len, rlen, "call {call}");
        if reply != *expected {
            let i = (0..rlen).find(|&i| reply[i] != expected[i]).unwrap();
            panic!("call {call}: reply byte {i} of {rlen} is wrong");
        }
    }
    say(format!("ok {CALLS}"));
}

/// Serves one message: takes `room` bytes in the receive, the rest with
/// `read_at`, replies with the pattern the message asks for (made
/// beforehand, in `replies`), then checks the message; `Some` with its
/// wrong byte's index if one is wrong, `None` once the channel is gone.
fn serve_one(ch: &Channel, room: usize, replies: &[Vec<u8>]) -> Option<Result<(), String>> {
    let mut buf = vec![0u8; room];
    let req = match ch.receive(&mut buf) {
        Ok(Received::Message(req)) => req,
        Ok(Received::Pulse(_)) => return Some(Ok(())),
        Err(e) if e.errno() == libc::ESRCH => return None,
        Err(e) => panic!("receive failed: {e}"),
    };
    let mut req = req;
    let len = req.info().srcmsglen;
    let mut msg = vec![0u8; len];
    let got = req.len().min(room);
    msg[..got].copy_from_slice(&buf[..got]);
    assert_eq!(req.read_at(got, &mut msg[got..]).unwrap(), len - got);
    let seed = u64::from_le_bytes(msg[..8].try_into().unwrap());
    let rlen = u64::from_le_bytes(msg[8..16].try_into().unwrap()) as usize;
    let reply = &replies[(seed as usize).saturating_sub(1).min(CALLS - 1)];
    assert_eq!(reply.len(), rlen, "call {seed}'s reply");
    // Every third call, its reply's last bytes first straight into the
    // client's buffer (the reply then writes them again).
    if seed % 3 == 0 && rlen >= 64 {
        assert_eq!(req.write_at(rlen - 64, &reply[rlen - 64..]).unwrap(), 64);
    }
    if seed % 2 == 0 {
        let (p, q) = reply.split_at(rlen / 2);
        req.reply_vectored(0, &[IoSlice::new(p), IoSlice::new(q)]).unwrap();
    } else {
        req.reply(0, reply).unwrap();
    }
    Some(match (16..len).find(|&i| msg[i] != byte(seed, i)) {
        Some(i) => Err(format!("call {seed}: message byte {i} of {len} is wrong")),
        None => Ok(()),
    })
}

fn streams_in(server_mode: &str, direct_copy: bool) {
    let _alone = alone();
    let _dog = watchdog(300);
    common::setup();
    let Some((a, b)) = two_cpus() else {
        note("stream: one CPU only, nothing streams; skipped");
        return;
    };
    let name = format!("stream/{server_mode}/{direct_copy}");
    let builder = Channel::builder().name(&name).wait_mode(mode(server_mode)).direct_copy(direct_copy);
    let ch = Arc::new(builder.create().unwrap());
    let server = {
        let ch = ch.clone();
        std::thread::spawn(move || {
            pin(a);
            let replies: Vec<Vec<u8>> = (0..CALLS).map(|call| reply_of(call as u64 + 1, sizes(call).1)).collect();
            // A short buffer every other message: the receive takes part,
            // `read_at` the rest, after the stream is whole.
            let mut wrong = Vec::new();
            let mut n = 0usize;
            while let Some(checked) = serve_one(&ch, if n % 2 == 0 { 2 * MIB } else { 100_000 }, &replies) {
                wrong.extend(checked.err());
                n += 1;
            }
            wrong
        })
    };
    let client = spawn("caller", &[&name, server_mode, &b.to_string()]);
    assert_eq!(client.line(WAIT), format!("ok {CALLS}"));
    client.wait_ok(WAIT);
    ch.destroy();
    assert_eq!(server.join().unwrap(), Vec::<String>::new());
}

#[test]
fn large_calls_across_cpus_arrive_whole_in_the_default_mode() {
    streams_in("adaptive", true);
}

#[test]
fn large_calls_across_cpus_arrive_whole_in_spin_mode() {
    streams_in("spin", true);
}

/// The bytes past the areas, and every `write_at`, through the slot with
/// the client's help (`direct_copy(false)`): a client copying a reply out
/// as it comes still serves the server's requests for transfers.
#[test]
fn large_calls_across_cpus_arrive_whole_with_assisted_transfers() {
    streams_in("spin", false);
}

/// Hostile client: on its own connection to `args[0]`, a thread keeps
/// writing 1 and 2 into slot 0's count of message bytes written
/// (`xfer_done`, at byte 112 of the slot header; where the slots start, the
/// segment header says at byte 28, as `tests/hostile.rs` reads it) while
/// the main thread sends 1 MiB messages with a 60 s deadline, until one
/// fails (at most 100); says how it ended (`common::Ended`).
fn staller() {
    let a = args();
    let conn = Connection::builder().no_share(true).wait_mode(WaitMode::Spin).open(&a[0]).unwrap();
    let fd = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .find(|e| std::fs::read_link(e.path()).is_ok_and(|t| t.to_string_lossy().contains("memfd:baton-conn")))
        .expect("the connection's memfd");
    let seg = OpenOptions::new().read(true).write(true).open(fd.path()).unwrap();
    let mut slots = [0u8; 4];
    seg.read_exact_at(&mut slots, 28).unwrap();
    let xfer_done = u64::from(u32::from_le_bytes(slots)) + 112;
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel();
    let flipper = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut v = 1u64;
            while !stop.load(Relaxed) {
                seg.write_all_at(&v.to_le_bytes(), xfer_done).unwrap();
                v = 3 - v;
                let _ = tx.send(());
            }
        })
    };
    rx.recv().unwrap();
    let msg = vec![0x5au8; MIB];
    let mut reply = [0u8; 16];
    // A call gets through only if the server reads the count between the
    // client's store and the thread's next: rare, but possible.
    for _ in 0..100 {
        let t0 = Instant::now();
        let r = conn.send_timeout(&msg, &mut reply, Timeout::new(Deadline::after(Duration::from_secs(60))));
        if r.is_err() {
            stop.store(true, Relaxed);
            flipper.join().unwrap();
            say(common::Ended::new(r, &reply, t0));
            return;
        }
    }
    say("never stalled");
}

/// The server waits out a stalled stream for no more than its patience
/// (5 s), fails that call alone, and serves another client meanwhile: for
/// 3 s from the staller's start (its stall begins within its first calls
/// and lasts longer), many of the other client's calls end after the stall
/// began.
#[test]
fn a_stalled_stream_fails_only_its_own_call() {
    let _alone = alone();
    let _dog = watchdog(300);
    common::setup();
    let name = "stream/stall";
    let ch = Arc::new(Channel::builder().name(name).create().unwrap());
    let servers: Vec<_> = (0..2)
        .map(|_| {
            let ch = ch.clone();
            std::thread::spawn(move || common::serve(&ch, |req, msg| req.reply(msg.len() as i64, b"ok").unwrap()))
        })
        .collect();
    let staller = spawn("staller", &[name]);
    // Meanwhile another client is served (by the other thread).
    let good = Connection::builder().no_share(true).open(name).unwrap();
    let mut reply = [0u8; 2];
    let start = Instant::now();
    let mut served = Vec::new();
    while start.elapsed() < Duration::from_secs(3) {
        let r = good.send(b"hello", &mut reply).unwrap();
        assert_eq!((r.status, &reply), (5, b"ok"));
        served.push(Instant::now());
        std::thread::sleep(Duration::from_millis(5));
    }
    let ended = common::Ended::parse(&staller.line(WAIT));
    // Read after the call ended: its stall began no later than this.
    let stall_began = Instant::now() - Duration::from_millis(ended.ms);
    assert_eq!(ended.errno, libc::ETIMEDOUT, "the stalled call: {ended}");
    assert!(ended.ms >= 4500, "the server gave up after {} ms, before its 5 s patience", ended.ms);
    let during = served.iter().filter(|&&t| t > stall_began).count();
    assert!(during >= 100, "{during} of {} calls of the other client were served during the stall", served.len());
    staller.wait_ok(WAIT);
    let r = good.send(b"again", &mut reply).unwrap();
    assert_eq!(r.status, 5);
    ch.destroy();
    for s in servers {
        s.join().unwrap();
    }
}
