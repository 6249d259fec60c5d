//! `baton soak`: fault injection. Several server processes (thread pools on
//! named channels) and many client processes call each other with every
//! size from 0 bytes past the overflow area's edge, pulses, timeouts and
//! unblocks, while a chaos driver SIGKILLs random clients and servers and
//! restarts them. Afterwards it checks that every call got exactly its own
//! reply or a documented error, that no call blocked past its deadline (or
//! its server's death) by more than the bound, that no server died but by
//! the driver, and that nothing leaked (segments, descriptors, threads,
//! runtime-directory entries, memory).
//!
//! - `mod.rs`: the command line and the run from start to end.
//! - `fleet.rs`: the peer processes seen from the parent.
//! - `server.rs`, `client.rs`: the peers (`baton soak-peer`, hidden).
//! - `wire.rs`: what a request and its reply carry, and their checks.
//! - `proto.rs`: the lines a peer prints for the parent.
//! - `procfs.rs`: descriptors, segments, threads and memory from /proc.
//! - `report.rs`: the counts and verdicts, as text and JSON.

mod client;
mod fleet;
mod procfs;
mod proto;
mod report;
mod server;
mod wire;

use fleet::{Fleet, Line, Role, Spawn};
use procfs::Sample;
use report::Report;
use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use wire::Rng;

/// `baton soak`'s options.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A short run for CI: 40 s, 3 servers, 6 clients, a kill every 300 ms
    /// (unless the other options say otherwise).
    #[arg(long)]
    quick: bool,
    /// How long the chaos lasts, seconds [default: 60; 40 with --quick].
    #[arg(long, value_name = "SECONDS")]
    duration: Option<f64>,
    /// Server processes (each with two channels, plain and UNBLOCK, each
    /// served by --server-threads threads); server 0 is never killed.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=64))]
    servers: u32,
    /// Client processes (each with --client-threads calling threads);
    /// client 0 is never killed.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=256))]
    clients: u32,
    /// Receiving threads per channel.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=32))]
    server_threads: u32,
    /// Calling threads per client process.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=15))]
    client_threads: u32,
    /// Seed of every random choice (the parent's and the peers').
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Mean time between kills, milliseconds (each wait is drawn from
    /// 0.5x to 1.5x of it) [default: 500; 300 with --quick].
    #[arg(long, value_name = "MS")]
    kill_every: Option<u64>,
    /// How late a call may return past its deadline, or past its server's
    /// death, milliseconds: the death-detection bound checked.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    bound: u64,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
}

/// `baton soak-peer`'s options (hidden).
#[derive(Debug, clap::Args)]
pub struct PeerArgs {
    #[arg(value_parser = ["server", "client"])]
    role: String,
    #[arg(long, default_value_t = 0)]
    index: u32,
    #[arg(long, default_value_t = 2)]
    threads: u32,
    #[arg(long, default_value_t = 0)]
    id: u32,
    #[arg(long, default_value_t = 1)]
    servers: u32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 1000)]
    bound_ms: u64,
}

pub fn run_peer(a: &PeerArgs) -> std::io::Result<()> {
    if a.role == "server" {
        server::run(a.index, a.threads)
    } else {
        client::run(client::Config {
            id: a.id,
            servers: a.servers,
            threads: a.threads,
            seed: a.seed ^ ((a.id as u64) << 32),
            bound: Duration::from_millis(a.bound_ms),
            stall: STALL,
        })
    }
}

/// A call blocked this long is reported stuck: far past the longest hold
/// (300 ms) and deadline (100 ms) plus the bound, even on a loaded machine.
const STALL: Duration = Duration::from_secs(20);
/// How long peers get to start, stop, or settle after the clients left.
const SETTLE: Duration = Duration::from_secs(30);

/// The private runtime directory of a soak, removed at the end.
struct RunDir(PathBuf);

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn run(a: &Args) -> std::io::Result<()> {
    let duration = Duration::from_secs_f64(a.duration.unwrap_or(if a.quick { 40.0 } else { 60.0 }).max(1.0));
    let kill_every = Duration::from_millis(a.kill_every.unwrap_or(if a.quick { 300 } else { 500 }).max(1));
    let bound = Duration::from_millis(a.bound);
    let dir = RunDir(std::env::temp_dir().join(format!("baton-soak-{}", std::process::id())));
    DirBuilder::new().mode(0o700).create(&dir.0)?;
    let mut fleet = Fleet::new(Spawn {
        runtime_dir: dir.0.clone(),
        server_args: vec!["--threads".into(), a.server_threads.to_string()],
        client_args: vec![
            "--servers".into(),
            a.servers.to_string(),
            "--threads".into(),
            a.client_threads.to_string(),
            "--seed".into(),
            a.seed.to_string(),
            "--bound-ms".into(),
            a.bound.to_string(),
        ],
    });
    let mut r = Report::new(a, duration, kill_every, bound);
    eprintln!(
        "soak: {} servers x 2 channels x {} threads, {} clients x {} threads, {:?}, a kill every ~{:?}, seed {}",
        a.servers, a.server_threads, a.clients, a.client_threads, duration, kill_every, a.seed
    );

    // Servers first, then the clients; the long-lived pair's baselines.
    for i in 0..a.servers {
        fleet.start(Role::Server, i)?;
    }
    wait_ready(&mut fleet, Role::Server, &mut r)?;
    r.server0.ready = Sample::of(fleet.peers[0].pid);
    for i in 0..a.clients {
        fleet.start(Role::Client, i)?;
    }
    wait_ready(&mut fleet, Role::Client, &mut r)?;
    let client0 = fleet.peers.iter().position(|p| p.role == Role::Client && p.index == 0).expect("client 0");
    r.client0.ready = Sample::of(fleet.peers[client0].pid);
    let (server0_pid, client0_pid) = (fleet.peers[0].pid, fleet.peers[client0].pid);

    // The chaos.
    let mut rng = Rng::new(a.seed ^ 0xc4a0);
    let start = Instant::now();
    let end = start + duration;
    let first_sample = start + (duration / 10).max(Duration::from_millis(500)).min(duration / 2);
    let mut next_kill = start + jitter(&mut rng, kill_every);
    let mut kills: std::collections::HashMap<u32, u64> = Default::default();
    let mut last_progress = Instant::now();
    while Instant::now() < end {
        let lines = fleet.read(next_kill.min(end).min(Instant::now() + Duration::from_millis(100)));
        handle(lines, &kills, bound, &mut r);
        if r.server0.start.is_none() && Instant::now() >= first_sample {
            r.server0.start = Sample::of(server0_pid);
            r.client0.start = Sample::of(client0_pid);
        }
        for (i, status) in fleet.exited() {
            let p = &fleet.peers[i];
            r.fail(format!("{} {} (pid {}) died by itself: {status}", p.role.name(), p.index, p.pid));
            let (role, index) = (p.role, p.index);
            fleet.start(role, index)?;
        }
        if Instant::now() >= next_kill {
            next_kill += jitter(&mut rng, kill_every);
            let victims: Vec<usize> = (0..fleet.peers.len()).filter(|&i| fleet.peers[i].index != 0).collect();
            if victims.is_empty() {
                continue;
            }
            let i = victims[rng.below(victims.len() as u64) as usize];
            let (role, index, pid, key) =
                (fleet.peers[i].role, fleet.peers[i].index, fleet.peers[i].pid, fleet.peers[i].key);
            // Was it in the middle of something, by its last stats?
            let stats = &fleet.heard[&key].stats;
            let get = |k: &str| stats.get(k).copied().unwrap_or(0);
            let busy = match role {
                Role::Server => get("received") > get("replied") + get("gone") + get("unblocked"),
                Role::Client => true,
            };
            let (at, by_signal) = fleet.kill(i);
            kills.insert(pid, at);
            r.kill(role, busy && role == Role::Server);
            if !by_signal {
                r.fail(format!("{} {index} (pid {pid}) did not die of SIGKILL", role.name()));
            }
            fleet.start(role, index)?;
            r.restarts += 1;
        }
        if Instant::now() >= last_progress + Duration::from_secs(10) {
            last_progress = Instant::now();
            eprintln!(
                "soak: {:>4.0} s, {} kills, {} calls, {} failures",
                start.elapsed().as_secs_f64(),
                r.kills_total(),
                fleet.totals(Role::Client).get("calls").copied().unwrap_or(0),
                r.failures.len()
            );
        }
    }
    r.server0.end = Sample::of(server0_pid);
    r.client0.end = Sample::of(client0_pid);

    // Stop the clients: each finishes its calls, drops its connections
    // and says idle; then client 0's leftovers are looked at.
    fleet.tell(Role::Client, "stop");
    let deadline = Instant::now() + SETTLE;
    while fleet.peers.iter().filter(|p| p.role == Role::Client).any(|p| !fleet.heard[&p.key].idle) {
        if Instant::now() >= deadline {
            r.fail(format!("clients did not stop within {SETTLE:?}"));
            break;
        }
        let lines = fleet.read(Instant::now() + Duration::from_millis(50));
        handle(lines, &kills, bound, &mut r);
    }
    r.client0.idle = settle(client0_pid, r.client0.ready);
    let bad = fleet.stop(Role::Client, SETTLE);
    bad.into_iter().for_each(|b| r.fail(b));

    // With every client gone, the surviving servers hold nothing of
    // theirs, and the runtime directory only entries of live servers.
    r.server0.idle = settle(server0_pid, r.server0.ready);
    let live: Vec<u32> = fleet.peers.iter().map(|p| p.pid).collect();
    let deadline = Instant::now() + Duration::from_secs(5);
    r.stale_entries = loop {
        let stale: Vec<String> = procfs::runtime_entries(&dir.0)
            .into_iter()
            .filter(|(_, owner)| owner.is_none_or(|o| !live.contains(&o)))
            .map(|(name, _)| name)
            .collect();
        if stale.is_empty() || Instant::now() >= deadline {
            break stale;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let lines = fleet.read(Instant::now() + Duration::from_millis(300));
    handle(lines, &kills, bound, &mut r);
    let bad = fleet.stop(Role::Server, SETTLE);
    bad.into_iter().for_each(|b| r.fail(b));
    let lines = fleet.read(Instant::now() + Duration::from_millis(200));
    handle(lines, &kills, bound, &mut r);
    r.left_after_exit = procfs::runtime_entries(&dir.0).into_iter().map(|(name, _)| name).collect();
    r.clients = fleet.totals(Role::Client);
    r.servers = fleet.totals(Role::Server);
    r.finish();
    print!("{}", r.text());
    if let Some(path) = &a.json {
        std::fs::write(path, r.json())?;
    }
    if r.failures.is_empty() && r.leaks().is_empty() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "soak failed: {} failures, {} leaks (see the report)",
            r.failures.len(),
            r.leaks().len()
        )))
    }
}

/// A wait between kills: 0.5x to 1.5x the mean.
fn jitter(rng: &mut Rng, mean: Duration) -> Duration {
    mean / 2 + Duration::from_nanos(rng.below(mean.as_nanos() as u64 + 1))
}

fn wait_ready(fleet: &mut Fleet, role: Role, r: &mut Report) -> std::io::Result<()> {
    let deadline = Instant::now() + SETTLE;
    while fleet.peers.iter().filter(|p| p.role == role).any(|p| !fleet.heard[&p.key].ready) {
        if Instant::now() >= deadline {
            return Err(std::io::Error::other(format!("{}s did not start within {SETTLE:?}", role.name())));
        }
        for (who, line) in fleet.read(Instant::now() + Duration::from_millis(50)) {
            if let Line::Fail(f) = line {
                r.fail(format!("{who}: {f}"));
            }
        }
    }
    Ok(())
}

/// Counts failures and death-detection delays from the peers' lines.
fn handle(lines: Vec<(String, Line)>, kills: &std::collections::HashMap<u32, u64>, bound: Duration, r: &mut Report) {
    for (who, line) in lines {
        match line {
            Line::Fail(f) => r.fail(format!("{who}: {f}")),
            Line::Esrch(server, at) => match kills.get(&server) {
                Some(&killed) => {
                    let delay = at.saturating_sub(killed);
                    r.detection_max_ns = r.detection_max_ns.max(delay);
                    r.detections += 1;
                    if delay > bound.as_nanos() as u64 {
                        r.fail(format!(
                            "{who}: learned of server {server}'s death {:.1} ms after the kill",
                            delay as f64 / 1e6
                        ));
                    }
                }
                None => r.fail(format!("{who}: ESRCH from server pid {server}, which was not killed")),
            },
        }
    }
}

/// Looks at a long-lived process until it holds no more than at `ready`
/// (descriptors, threads) and no segment, or 5 s have passed.
fn settle(pid: u32, ready: Option<Sample>) -> Option<Sample> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let s = Sample::of(pid)?;
        let clean =
            ready.is_some_and(|r| s.fds <= r.fds && s.tasks <= r.tasks) && s.memfd_fds == 0 && s.memfd_maps == 0;
        if clean || Instant::now() >= deadline {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
