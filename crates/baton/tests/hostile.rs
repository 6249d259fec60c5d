//! A hostile client against a server that keeps serving others.
//!
//! The hostile client is a real process using the library as any client
//! does, except that it then finds its own connection's shared memory by
//! itself (the `memfd:baton-conn` descriptor in `/proc/self/fd`, opened
//! again read-write) and writes garbage and adversarial values into every
//! field of the segment it can reach (see `shm/layout.rs`): slot headers
//! (lengths past the end, inline lengths beyond the areas, wrong states,
//! forged slot indexes, huge priorities), posted bits for slots it does not
//! use, the pulse ring's entries and tail, the polling and boost words, the
//! geometry, and the overflow areas past the file's end (growing the file).
//! It does this at random times while its own threads keep calling, so the
//! garbage races with the server's reads. Meanwhile well-behaved clients
//! (other processes) make checked calls.
//!
//! What is checked: the server never panics (a panic in any thread of the
//! server process fails the test); every reply a good client gets is
//! exactly the answer to its own request; the server never sees a good
//! client's bytes under another pid or damaged; the hostile client's calls
//! end (in errors, mostly) instead of blocking the server. What the hostile
//! client still costs the others (it makes the server work) is measured and
//! printed (`NOTE:` lines); SECURITY.md gives the bound.

mod common;

use baton::{Channel, Connection, Deadline, Received, Timeout};
use common::{args, child_main, note, say, setup, spawn, watchdog};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const NAME: &str = "hostile/echo";
/// Message sizes: empty, small, around the inline area's end (3968 bytes
/// by default), through the overflow area.
const SIZES: [usize; 8] = [0, 1, 100, 3967, 3968, 3969, 10_000, 70_000];
const GOOD: &[u8; 4] = b"GOOD";

/// A small deterministic generator (xorshift64*), seeded per process.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// Byte `i` of the body of good message `(pid, seq)`.
fn body_byte(pid: u32, seq: u64, i: usize) -> u8 {
    (pid as u64).wrapping_mul(31).wrapping_add(seq.wrapping_mul(7)).wrapping_add(i as u64 * 13) as u8
}

/// A good client's message: `GOOD`, its pid, its sequence number, then a
/// body that depends on all three.
fn good_message(pid: u32, seq: u64, len: usize) -> Vec<u8> {
    let mut m = Vec::with_capacity(len.max(16));
    m.extend_from_slice(GOOD);
    m.extend_from_slice(&pid.to_le_bytes());
    m.extend_from_slice(&seq.to_le_bytes());
    m.extend((16..len).map(|i| body_byte(pid, seq, i)));
    m
}

/// The server's answer to a message: its bytes, reversed and inverted.
fn answer_of(msg: &[u8]) -> Vec<u8> {
    msg.iter().rev().map(|b| !b).collect()
}

#[test]
fn child() {
    child_main(&[("good", good_client), ("hostile", hostile_client)]);
}

/// Good client: checked calls for the given seconds; prints
/// `ok <calls> <total µs>` or `bad <what>` (and fails).
fn good_client() {
    let a = args();
    let secs: u64 = a[0].parse().unwrap();
    let pid = std::process::id();
    let mut rng = Rng::new(u64::from(pid));
    let conn = Connection::open(NAME).expect("open");
    let mut reply = vec![0u8; 80_000];
    let (mut calls, mut busy) = (0u64, Duration::ZERO);
    let end = Instant::now() + Duration::from_secs(secs);
    let mut seq = 0u64;
    while Instant::now() < end {
        seq += 1;
        let len = rng.pick(&SIZES).max(16);
        let msg = good_message(pid, seq, len);
        let t0 = Instant::now();
        // Generous: only a server that stopped serving misses it.
        let deadline = Timeout::new(Deadline::after(Duration::from_secs(10)));
        let r = conn.send_timeout(&msg, &mut reply, deadline);
        busy += t0.elapsed();
        match r {
            Ok(r) if r.status == seq as i64 && r.len == len && reply[..len] == answer_of(&msg)[..] => calls += 1,
            Ok(r) => {
                say(format!("bad reply to seq {seq} len {len}: status {} len {}", r.status, r.len));
                std::process::exit(1);
            }
            Err(e) => {
                say(format!("bad call seq {seq} len {len}: {e}"));
                std::process::exit(1);
            }
        }
    }
    say(format!("ok {calls} {}", busy.as_micros()));
}

/// Byte offsets of the fields a client can reach (`shm/layout.rs`).
mod off {
    // Fixed (geometry), at 0.
    pub const SLOT_COUNT: u64 = 12;
    pub const INLINE_SIZE: u64 = 20;
    pub const PULSE_CAP: u64 = 24;
    pub const SLOTS_OFFSET: u64 = 28;
    pub const OVERFLOW_SIZE: u64 = 32;
    pub const FIXED: [u64; 8] = [0, 8, 12, 16, 20, 24, 28, 32];
    // Doorbell, at 64.
    pub const POSTED: u64 = 64;
    pub const PULSE_TAIL: u64 = 96;
    pub const POLLING: u64 = 100;
    // ServerSide, at 128.
    pub const SERVER: [u64; 3] = [128, 132, 136];
    pub const BOOST: u64 = 136;
    // The pulse ring, at 192: 32-byte entries.
    pub const PULSES: u64 = 192;
    pub const PULSE_ENTRY: u64 = 32;
    /// SlotHeader fields: (offset, size).
    pub const SLOT_FIELDS: [(u64, u64); 24] = [
        (0, 4),   // state
        (4, 4),   // seq
        (8, 4),   // tid
        (12, 4),  // sched
        (16, 4),  // coid
        (20, 4),  // inline_len
        (24, 4),  // send_parts
        (28, 4),  // reply_parts
        (32, 8),  // send_len
        (40, 8),  // reply_cap
        (48, 8),  // send_iov
        (56, 8),  // reply_iov
        (64, 4),  // pi
        (68, 4),  // xfer
        (72, 4),  // reply_inline
        (76, 4),  // error
        (80, 8),  // status
        (88, 8),  // reply_len
        (96, 4),  // xfer_op
        (100, 4), // xfer_len
        (104, 8), // xfer_offset
        (112, 8), // xfer_done
        (120, 4), // bell
        (124, 4), // answered
    ];
    pub const STATE: u64 = 0;
    pub const INLINE_LEN: u64 = 20;
    pub const SEND_LEN: u64 = 32;
    pub const SCHED: u64 = 12;
}

/// The hostile process's view of its own segment, found without the library.
struct Seg {
    file: File,
    slot_count: u64,
    stride: u64,
    slots: u64,
    inline: u64,
    pulses: u64,
    overflow: u64,
    /// Bytes of the file as created (overflow areas lie past it).
    len: u64,
}

impl Seg {
    /// Opens this process's descriptor `fd` (a `memfd:baton-conn`) again
    /// and reads the geometry the server wrote.
    fn open(fd: u32) -> Option<Seg> {
        let file = OpenOptions::new().read(true).write(true).open(format!("/proc/self/fd/{fd}")).ok()?;
        let word = |at: u64| {
            let mut b = [0u8; 4];
            file.read_exact_at(&mut b, at).map(|_| u64::from(u32::from_le_bytes(b)))
        };
        let (slot_count, stride, inline) = (word(off::SLOT_COUNT).ok()?, word(16).ok()?, word(off::INLINE_SIZE).ok()?);
        let (pulses, slots, overflow) =
            (word(off::PULSE_CAP).ok()?, word(off::SLOTS_OFFSET).ok()?, word(off::OVERFLOW_SIZE).ok()?);
        let len = (slots + slot_count * stride).div_ceil(4096) * 4096;
        Some(Seg { file, slot_count, stride, slots, inline, pulses, overflow, len })
    }

    fn put(&self, at: u64, bytes: &[u8]) -> bool {
        self.file.write_all_at(bytes, at).is_ok()
    }

    /// One adversarial write, chosen at random. Returns whether it landed.
    fn scribble(&self, rng: &mut Rng) -> bool {
        let slot = |rng: &mut Rng| {
            // Mostly real slots (the server reads them); sometimes the last.
            let i = if rng.below(4) == 0 { self.slot_count - 1 } else { rng.below(self.slot_count.min(8)) };
            self.slots + i * self.stride
        };
        let evil32 = |rng: &mut Rng, s: &Seg| -> u32 {
            let r = rng.next() as u32;
            rng.pick(&[
                0,
                1,
                2,
                3,
                4,
                5,
                6,
                7,
                0xf,
                0x10,
                0x7fff_ffff,
                0x8000_0000,
                u32::MAX,
                u32::MAX - 1,
                s.inline as u32,
                s.inline as u32 + 1,
                (s.inline + s.overflow) as u32,
                (s.inline + s.overflow) as u32 + 1,
                s.slot_count as u32,
                256,
                std::process::id(),
                r,
            ])
        };
        let evil64 = |rng: &mut Rng, s: &Seg| -> u64 {
            let r = rng.next();
            rng.pick(&[
                0,
                1,
                u64::MAX,
                i64::MAX as u64,
                1 << 32,
                s.inline,
                s.inline + 1,
                s.inline + s.overflow,
                s.inline + s.overflow + 1,
                16 << 20,
                r,
            ])
        };
        match rng.below(16) {
            // Any field of a slot header, any adversarial value.
            0..=3 => {
                let (f, size) = rng.pick(&off::SLOT_FIELDS);
                let at = slot(rng) + f;
                if size == 4 {
                    self.put(at, &evil32(rng, self).to_le_bytes())
                } else {
                    self.put(at, &evil64(rng, self).to_le_bytes())
                }
            }
            // A request that looks posted, with lengths past the areas, and
            // the posted bits of every slot (most of which it does not use).
            4 => {
                let at = slot(rng);
                let ok = self.put(at + off::INLINE_LEN, &evil32(rng, self).to_le_bytes())
                    && self.put(at + off::SEND_LEN, &evil64(rng, self).to_le_bytes())
                    && self.put(at + off::STATE, &1u32.to_le_bytes());
                ok && self.put(off::POSTED, &[0xff; 32])
            }
            // Huge and nonsensical priorities (policy << 16 | level).
            5 => {
                let v: u32 = rng.pick(&[0x0001_7fff, 0x0001_0063, 0x0002_0063, 0xffff_ffff, 0x0005_8000, 0x0001_0000]);
                self.put(slot(rng) + off::SCHED, &v.to_le_bytes())
            }
            // Posted bits, random.
            6 => self.put(off::POSTED + 8 * rng.below(4), &rng.next().to_le_bytes()),
            // The pulse ring: a tail far ahead or behind, entries of garbage.
            7 => {
                let r = rng.next() as u32;
                let tail = rng.pick(&[u32::MAX, self.pulses as u32 + 1, 1 << 31, r]);
                self.put(off::PULSE_TAIL, &tail.to_le_bytes())
            }
            8 => {
                let e = off::PULSES + rng.below(self.pulses + 2) * off::PULSE_ENTRY;
                let mut b = [0u8; 32];
                b.iter_mut().for_each(|x| *x = rng.next() as u8);
                // Sometimes a system pulse code (negative) and a top priority.
                if rng.below(2) == 0 {
                    b[..4].copy_from_slice(&(-(rng.below(128) as i32)).to_le_bytes());
                    b[4..8].copy_from_slice(&i32::MAX.to_le_bytes());
                }
                self.put(e.min(self.slots - 32), &b)
            }
            // The polling and boost words, the server's own fields.
            9 => self.put(off::POLLING, &evil32(rng, self).to_le_bytes()),
            10 => {
                // A PI word naming someone (itself, a waiter bit, garbage).
                let v = rng.pick(&[std::process::id(), std::process::id() | 0x8000_0000, 0x4000_0000, u32::MAX, 0]);
                self.put(off::BOOST, &v.to_le_bytes())
            }
            11 => self.put(rng.pick(&off::SERVER), &evil32(rng, self).to_le_bytes()),
            // The geometry (the server must keep using its own).
            12 => self.put(rng.pick(&off::FIXED), &evil32(rng, self).to_le_bytes()),
            // The overflow areas, past the file's end: the write grows it.
            13 if self.overflow > 0 => {
                let at = self.len + rng.below(self.slot_count) * self.overflow + rng.below(self.overflow);
                self.put(at, &rng.next().to_le_bytes())
            }
            // Growing the file past the mapping's end.
            14 => self.file.set_len(self.len + (self.slot_count + 3) * self.overflow.max(4096)).is_ok(),
            // Random bytes anywhere in the segment.
            _ => {
                let at = rng.below(self.len - 64);
                let mut b = [0u8; 64];
                b.iter_mut().for_each(|x| *x = rng.next() as u8);
                self.put(at, &b[..1 + rng.below(64) as usize])
            }
        }
    }
}

/// Eventfds of this process (the doorbell among them), opened again for
/// writing; ringing them makes the server look at the garbage at once.
fn eventfds() -> Vec<File> {
    let Ok(rd) = std::fs::read_dir("/proc/self/fd") else { return Vec::new() };
    rd.flatten()
        .filter(|e| std::fs::read_link(e.path()).is_ok_and(|t| t.to_string_lossy().contains("eventfd")))
        .filter_map(|e| OpenOptions::new().write(true).open(e.path()).ok())
        .collect()
}

/// The `memfd:baton-conn` descriptors of this process: (fd, inode).
fn memfds() -> Vec<(u32, u64)> {
    use std::os::unix::fs::MetadataExt;
    let Ok(rd) = std::fs::read_dir("/proc/self/fd") else { return Vec::new() };
    rd.flatten()
        .filter(|e| std::fs::read_link(e.path()).is_ok_and(|t| t.to_string_lossy().contains("memfd:baton-conn")))
        .filter_map(|e| Some((e.file_name().to_string_lossy().parse().ok()?, std::fs::metadata(e.path()).ok()?.ino())))
        .collect()
}

/// Hostile client: for the given seconds, connects, then scribbles over
/// its segment while two of its threads keep calling (with short
/// deadlines), reconnecting now and then. Prints
/// `hostile <calls> <writes> <connections> <stuck> <errno>:<count>...`;
/// `stuck` counts its own calls that its own scribbling left blocked (a
/// slot it marked `BUSY` makes its own thread wait for a server that is
/// not writing): they are left behind, and the process exits anyway.
fn hostile_client() {
    let a = args();
    let secs: u64 = a[0].parse().unwrap();
    let end = Instant::now() + Duration::from_secs(secs);
    let mut rng = Rng::new(u64::from(std::process::id()) ^ 0xbad);
    let outcomes: Arc<Mutex<BTreeMap<i32, u64>>> = Default::default();
    let (mut writes, mut connections, mut stuck) = (0u64, 0u64, 0usize);
    while Instant::now() < end {
        let before = memfds();
        // A connection of its own each time (a stuck call keeps the last one).
        let Ok(conn) = Connection::builder().no_share(true).open(NAME) else {
            *outcomes.lock().unwrap().entry(-1).or_default() += 1;
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        connections += 1;
        let conn = Arc::new(conn);
        // The new connection's segment: an inode not seen before.
        let fd = memfds().into_iter().find(|(_, ino)| !before.iter().any(|b| b.1 == *ino)).map(|(fd, _)| fd);
        let Some(seg) = fd.and_then(Seg::open) else { panic!("the connection's memfd is not in /proc/self/fd") };
        let bells = eventfds();
        let stop = Arc::new(AtomicBool::new(false));
        let running = Arc::new(AtomicUsize::new(0));
        for t in 0..2u64 {
            let (conn, stop, running, outcomes) = (conn.clone(), stop.clone(), running.clone(), outcomes.clone());
            running.fetch_add(1, Relaxed);
            std::thread::spawn(move || {
                let mut rng = Rng::new(u64::from(std::process::id()) ^ t);
                let mut reply = vec![0u8; 80_000];
                while !stop.load(Relaxed) {
                    let len = rng.pick(&SIZES);
                    let msg = vec![0x48u8; len];
                    let r = if rng.below(8) == 0 {
                        conn.send_pulse(rng.below(100) as i8, -1).map(|_| ())
                    } else {
                        let deadline = Timeout::new(Deadline::after(Duration::from_millis(50)));
                        conn.send_timeout(&msg, &mut reply, deadline).map(|_| ())
                    };
                    let k = r.err().map_or(0, |e| e.errno());
                    *outcomes.lock().unwrap().entry(k).or_default() += 1;
                }
                running.fetch_sub(1, Relaxed);
            });
        }
        let round = Instant::now() + Duration::from_millis(100 + rng.below(400));
        while Instant::now() < round {
            for _ in 0..1 + rng.below(20) {
                writes += u64::from(seg.scribble(&mut rng));
            }
            if let Some(b) = bells.get(rng.below(bells.len() as u64 + 1) as usize) {
                let _ = b.write_all_at(&1u64.to_le_bytes(), 0);
            }
            std::thread::sleep(Duration::from_micros(rng.below(300)));
        }
        stop.store(true, Relaxed);
        let quiet = common::wait_for(1, || running.load(Relaxed) == 0);
        if !quiet {
            stuck += running.load(Relaxed);
        }
    }
    let outcomes = outcomes.lock().unwrap();
    let calls: u64 = outcomes.values().sum();
    let kinds: Vec<String> = outcomes.iter().map(|(k, n)| format!("{k}:{n}")).collect();
    say(format!("hostile {calls} {writes} {connections} {stuck} {}", kinds.join(" ")));
}

/// What the server noticed that it must not see.
#[derive(Default)]
struct Server {
    messages: AtomicU64,
    good: AtomicU64,
    bad: Mutex<Vec<String>>,
}

impl Server {
    fn fail(&self, what: String) {
        eprintln!("server: {what}");
        self.bad.lock().unwrap().push(what);
    }

    /// Answers one message; a good client's message must be intact and
    /// come from the pid it names.
    fn answer(&self, req: baton::Request, msg: &[u8]) {
        self.messages.fetch_add(1, Relaxed);
        let info = req.info();
        if msg.len() >= 16 && msg[..4] == *GOOD {
            let pid = u32::from_le_bytes(msg[4..8].try_into().unwrap());
            let seq = u64::from_le_bytes(msg[8..16].try_into().unwrap());
            if pid as i32 != info.pid {
                self.fail(format!("pid {}'s message came from pid {}", pid, info.pid));
            } else if info.srcmsglen != msg.len()
                || msg[16..].iter().enumerate().any(|(i, &b)| b != body_byte(pid, seq, i + 16))
            {
                self.fail(format!("pid {pid} seq {seq}: damaged message ({} of {} bytes)", msg.len(), info.srcmsglen));
            } else {
                self.good.fetch_add(1, Relaxed);
            }
            let _ = req.reply(seq as i64, &answer_of(msg));
        } else {
            let _ = req.reply(0, &msg[..msg.len().min(64)]);
        }
    }
}

/// Runs `good` good clients (and `hostile` hostile ones) for `secs`;
/// returns the good clients' (calls, total µs in calls).
fn run(good: usize, hostile: usize, secs: u64, hostile_lines: &mut Vec<String>) -> (u64, u64) {
    let s = secs.to_string();
    let hostiles: Vec<_> = (0..hostile).map(|_| spawn("hostile", &[&s])).collect();
    let goods: Vec<_> = (0..good).map(|_| spawn("good", &[&s])).collect();
    let (mut calls, mut us) = (0, 0);
    for g in goods {
        let line = g.line(secs + 30);
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!(f[0], "ok", "a good client failed: {line}");
        calls += f[1].parse::<u64>().unwrap();
        us += f[2].parse::<u64>().unwrap();
        g.wait_ok(10);
    }
    for h in hostiles {
        hostile_lines.push(h.line(30));
        h.wait_ok(10);
    }
    (calls, us)
}

#[test]
fn hostile_client_cannot_hurt_others() {
    setup();
    let _dog = watchdog(180);
    // Any panic in this process (a server thread) fails the test.
    static PANICS: AtomicUsize = AtomicUsize::new(0);
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |p| {
        PANICS.fetch_add(1, Relaxed);
        hook(p);
    }));

    let ch = Channel::attach(NAME).expect("attach");
    let server = Server::default();
    let stop = AtomicBool::new(false);
    let mut hostile_lines = Vec::new();
    let (base, with) = std::thread::scope(|s| {
        for _ in 0..2 {
            let (ch, server, stop) = (&ch, &server, &stop);
            s.spawn(move || {
                let mut buf = vec![0u8; 80_000];
                while !stop.load(Relaxed) {
                    match ch.receive_deadline(&mut buf, Deadline::after(Duration::from_millis(100))) {
                        Ok(Received::Message(req)) => {
                            let n = req.len().min(buf.len());
                            server.answer(req, &buf[..n]);
                        }
                        Ok(Received::Pulse(_)) => {}
                        Err(e) if e.errno() == libc::ETIMEDOUT => {}
                        Err(e) => server.fail(format!("receive failed: {e}")),
                    }
                }
            });
        }
        // Stops the server threads however this closure ends (a failed
        // assertion must not leave the scope waiting for them).
        struct Stop<'a>(&'a AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Relaxed);
            }
        }
        let _stop = Stop(&stop);
        let base = run(2, 0, 2, &mut hostile_lines);
        let with = run(2, 2, 6, &mut hostile_lines);
        // Still serving correctly once the hostile clients are gone.
        let after = run(1, 0, 1, &mut hostile_lines);
        assert!(after.0 > 0, "no call after the hostile clients left");
        (base, with)
    });
    let bad = server.bad.lock().unwrap();
    assert!(bad.is_empty(), "the server saw {} wrong messages: {:?}", bad.len(), &bad[..bad.len().min(5)]);
    assert_eq!(PANICS.load(Relaxed), 0, "a thread of the server process panicked");
    assert!(base.0 > 0 && with.0 > 0, "good clients made no calls: {base:?} {with:?}");
    let mut hostile_errors = 0;
    for l in &hostile_lines {
        note(format!(
            "hostile client: {l} (calls, writes, connections, own calls left stuck, errno:count; 0 = replied)"
        ));
        hostile_errors += l.split(' ').skip(5).filter(|k| !k.starts_with("0:")).count();
    }
    assert!(hostile_errors > 0, "the hostile clients' calls were never failed: {hostile_lines:?}");
    let mean = |(calls, us): (u64, u64)| us as f64 / calls as f64;
    note(format!(
        "good clients: {} calls at {:.1} µs mean alone, {} calls at {:.1} µs mean next to 2 hostile clients ({:.1}x); \
         server answered {} messages, {} good",
        base.0,
        mean(base),
        with.0,
        mean(with),
        mean(with) / mean(base),
        server.messages.load(Relaxed),
        server.good.load(Relaxed),
    ));
}
