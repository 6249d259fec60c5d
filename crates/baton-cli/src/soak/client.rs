//! A soak client process (`baton soak-peer client`): a few threads, each
//! calling random channels of the soak servers with random sizes, holds
//! and timeouts, and sending pulses, until told to stop. Every reply is
//! checked byte for byte against the one its own request should get; every
//! error must be one the semantics document for what happened (`ESRCH` when
//! the server died during the call, `EBADF` on a connection to a dead
//! server, `ETIMEDOUT` only with a deadline, `EINTR` only from the
//! `UNBLOCK` channel after a reply timeout); a call whose deadline applied
//! must not return later than the deadline plus the bound. On `stop` (a
//! line on stdin) the threads finish their calls and drop their
//! connections, the client prints `idle` and waits for stdin to close.

use super::proto::{self, now_ns, Counters};
use super::server::channel_name;
use super::wire::{self, Rng, HEADER, MAX_MSG};
use baton::{Connection, Deadline, Timeout};
use std::io::BufRead;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

/// The counters a client reports. `late_max_ns`: the latest a call whose
/// deadline applied returned past it.
pub const FIELDS: [&str; 14] = [
    "calls",
    "ok",
    "esrch",
    "ebadf",
    "etimedout",
    "eintr",
    "other_err",
    "mismatch",
    "pulses",
    "pulse_err",
    "open_err",
    "late_max_ns",
    "bytes",
    "deadline_calls",
];

/// What the parent told a client.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// The client's id; thread `t` calls as `id * 16 + t`.
    pub id: u32,
    pub servers: u32,
    pub threads: u32,
    pub seed: u64,
    /// How far past its deadline a call may return.
    pub bound: Duration,
    /// A thread blocked this long in one call is reported.
    pub stall: Duration,
}

/// One thread's state, for the watchdog: when its current call started
/// (0: not in a call).
struct Busy {
    since: AtomicU64,
}

pub fn run(cfg: Config) -> std::io::Result<()> {
    let counters = Arc::new(Counters::new(&FIELDS));
    let stop = Arc::new(AtomicBool::new(false));
    // Open every channel once before saying ready, so that the parent's
    // baseline of descriptors and threads includes the connections.
    let channels = cfg.servers * 2;
    let first: Vec<Option<Connection>> = (0..channels).map(|ch| Connection::open(&name_of(ch)).ok()).collect();
    proto::say(&format!("ready {}", std::process::id()));
    let busy: Arc<Vec<Busy>> = Arc::new((0..cfg.threads).map(|_| Busy { since: AtomicU64::new(0) }).collect());
    let mut workers = Vec::new();
    for t in 0..cfg.threads {
        let (counters, stop, busy) = (Arc::clone(&counters), Arc::clone(&stop), Arc::clone(&busy));
        workers.push(std::thread::Builder::new().name("soak-client".into()).spawn(move || {
            Caller::new(cfg, t, &counters).run(&stop, &busy[t as usize]);
        })?);
    }
    drop(first);
    // The watchdog: report a call blocked far longer than any hold or
    // deadline allows.
    let watch = {
        let (stop, busy) = (Arc::clone(&stop), Arc::clone(&busy));
        std::thread::spawn(move || {
            let mut said = vec![false; busy.len()];
            while !stop.load(Relaxed) {
                for (t, b) in busy.iter().enumerate() {
                    let since = b.since.load(Relaxed);
                    let stuck = since != 0 && now_ns().saturating_sub(since) > cfg.stall.as_nanos() as u64;
                    if stuck && !said[t] {
                        proto::fail(&format!(
                            "client {} thread {t} blocked in one call for over {:?}",
                            cfg.id, cfg.stall
                        ));
                    }
                    said[t] = stuck;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let mut lines = std::io::stdin().lock().lines();
    proto::report_until_eof(
        &counters,
        lines.by_ref().take_while(|l| l.as_ref().is_ok_and(|l| l != "stop")).map(|_| ()),
    );
    stop.store(true, Relaxed);
    for w in workers {
        let _ = w.join();
    }
    let _ = watch.join();
    proto::say(&counters.line());
    proto::say("idle");
    lines.for_each(drop);
    Ok(())
}

fn name_of(ch: u32) -> String {
    channel_name(ch / 2, ch % 2 == 1)
}

/// One calling thread.
struct Caller<'a> {
    cfg: Config,
    id: u32,
    rng: Rng,
    c: &'a Counters,
    conns: Vec<Option<Arc<Connection>>>,
    msg: Vec<u8>,
    reply: Vec<u8>,
    call: u64,
}

impl<'a> Caller<'a> {
    fn new(cfg: Config, t: u32, c: &'a Counters) -> Caller<'a> {
        let id = cfg.id * 16 + t;
        Caller {
            cfg,
            id,
            rng: Rng::new(cfg.seed ^ ((id as u64) << 20)),
            c,
            conns: (0..cfg.servers * 2).map(|_| None).collect(),
            msg: vec![0u8; MAX_MSG],
            reply: vec![0u8; MAX_MSG],
            call: 0,
        }
    }

    fn run(&mut self, stop: &AtomicBool, busy: &Busy) {
        while !stop.load(Relaxed) {
            let ch = self.rng.below(self.conns.len() as u64) as usize;
            let Some(conn) = self.connection(ch) else {
                std::thread::sleep(Duration::from_millis(2));
                continue;
            };
            if self.rng.percent(5) {
                self.pulse(ch, &conn);
            } else {
                busy.since.store(now_ns(), Relaxed);
                self.call(ch, &conn);
                busy.since.store(0, Relaxed);
            }
        }
        self.conns.clear();
    }

    /// The thread's connection to channel `ch`, opened if need be.
    fn connection(&mut self, ch: usize) -> Option<Arc<Connection>> {
        if self.conns[ch].as_ref().is_some_and(|c| c.is_closed()) {
            self.conns[ch] = None;
        }
        if self.conns[ch].is_none() {
            match Connection::open(&name_of(ch as u32)) {
                Ok(c) => self.conns[ch] = Some(Arc::new(c)),
                // The server is dead or restarting: documented, counted.
                Err(_) => self.c.add("open_err", 1),
            }
        }
        self.conns[ch].clone()
    }

    fn pulse(&mut self, ch: usize, conn: &Connection) {
        let value = ((self.id as i64) << 32) | (self.rng.below(1 << 31) as i64);
        match conn.send_pulse(proto::pulse_code_of(value), value) {
            Ok(()) => self.c.add("pulses", 1),
            Err(e) if [libc::EBADF, libc::ESRCH, libc::EAGAIN].contains(&e.errno()) => {
                self.c.add("pulse_err", 1);
                if e.errno() != libc::EAGAIN {
                    self.conns[ch] = None;
                }
            }
            Err(e) => proto::fail(&format!("pulse to {}: {e}", name_of(ch as u32))),
        }
    }

    fn call(&mut self, ch: usize, conn: &Connection) {
        self.call += 1;
        let call = self.call;
        let unblock_channel = ch % 2 == 1;
        let size = wire::pick_size(&mut self.rng);
        let size = if size == 0 { 0 } else { size.max(HEADER) };
        let reply_len = if size == 0 { 0 } else { wire::pick_size(&mut self.rng) };
        let hold_us = match self.rng.below(100) {
            0..=84 => 0,
            85..=96 => self.rng.below(20_000) as u32,
            _ => 50_000 + self.rng.below(250_000) as u32,
        };
        let wait = Duration::from_micros(self.rng.below(100_000));
        let deadline = Deadline::after(if self.rng.percent(3) { Duration::ZERO } else { wait });
        let timeout = match self.rng.below(100) {
            0..=54 => Timeout::NONE,
            55..=69 => Timeout::new(deadline),
            70..=84 => Timeout::send_only(deadline),
            _ => Timeout::reply_only(deadline),
        };
        let msg = &mut self.msg[..size];
        wire::write_request(msg, self.id, call, hold_us, reply_len as u64);
        let h = wire::Header::decode(msg);
        let server_pid = conn.server_pid();
        let result = conn.send_timeout(msg, &mut self.reply[..reply_len], timeout);
        let end = now_ns();
        self.c.add("calls", 1);
        let what = || {
            format!(
                "client {} call {call} to {} ({size} B, reply {reply_len} B, hold {hold_us} µs, {timeout:?})",
                self.id,
                name_of(ch as u32)
            )
        };
        let errno = result.as_ref().err().map(|e| e.errno());
        match &result {
            Ok(r) => {
                let good = match h {
                    None => r.status == wire::EMPTY_STATUS && r.len == 0,
                    Some(h) => {
                        r.status == wire::status(self.id, call)
                            && r.len == reply_len
                            && wire::check_reply(&self.reply[..reply_len], &h)
                    }
                };
                if good {
                    self.c.add("ok", 1);
                    self.c.add("bytes", (size + reply_len) as u64);
                } else {
                    self.c.add("mismatch", 1);
                    proto::fail(&format!("{}: wrong reply (status {:#x}, {} bytes)", what(), r.status, r.len));
                }
            }
            Err(e) => match e.errno() {
                libc::ESRCH => {
                    self.c.add("esrch", 1);
                    proto::say(&format!("esrch {server_pid} {end}"));
                    self.conns[ch] = None;
                }
                libc::EBADF => {
                    self.c.add("ebadf", 1);
                    self.conns[ch] = None;
                }
                libc::ETIMEDOUT if timeout.send || timeout.reply => self.c.add("etimedout", 1),
                libc::EINTR if unblock_channel && timeout.reply => self.c.add("eintr", 1),
                _ => {
                    self.c.add("other_err", 1);
                    proto::fail(&format!("{}: undocumented error {e}", what()));
                }
            },
        }
        // Past the deadline only by the bound: when the deadline applied
        // (a reply timeout, or a send timeout that fired).
        if timeout.reply || errno == Some(libc::ETIMEDOUT) {
            self.c.add("deadline_calls", 1);
            let late = deadline.as_monotonic_nanos().map_or(0, |d| end.saturating_sub(d));
            self.c.max("late_max_ns", late);
            if late > self.cfg.bound.as_nanos() as u64 {
                proto::fail(&format!(
                    "{}: returned {:.1} ms past its deadline ({result:?})",
                    what(),
                    late as f64 / 1e6
                ));
            }
        }
    }
}
