//! The read section of `baton bench` (issue 7): 4 KiB `read`s of one file
//! four ways in the same run: through the resource-manager client API
//! (`baton_resmgr::File`, one `_IO_READ` message each), through a FUSE
//! mount of the path space (`baton fuse`, a child process: each `read(2)`
//! a FUSE request that the bridge turns into that message), through a
//! FUSE mount that answers from memory (`baton fuse --bench-floor`:
//! FUSE's own cost, the floor of the bridge), and from a plain file in
//! tmpfs (`/dev/shm`, `pread(2)`), the floor of all.
//!
//! The resource manager (`server.rs`, a child process) serves the file's
//! bytes from memory; reads wrap at its end, so the reader never meets end
//! of file. Each run starts one reader process per way (`client.rs`), in
//! turn, interleaved with the other runs. CPU per read adds the reader's
//! CPU time over its timed reads and the server's and the bridge's (each
//! from `/proc/<pid>/stat`, clock ticks) over all of the reader's reads,
//! its warm-up included, divided by those reads. A FUSE row that cannot
//! run (no `/dev/fuse`, the mount refused) is reported skipped with the
//! reason. A bench killed mid-section leaves no bridge and no mount (the
//! mounts die with it); the tmpfs file and the empty mount points it left
//! are removed by the next bench's read section.
//!
//! - `server.rs`: the resource manager; `client.rs`: the reader.
//! - `bridge.rs`: the `baton fuse` children (the bridge, the floor):
//!   start, wait for the mount, stop.
//! - `results.rs`, `table.rs`, `json.rs`: figures, ratios, the report.

mod bridge;
pub mod client;
pub mod json;
pub mod results;
pub mod server;
pub mod table;

use super::peer::{PeerArgs, Role};
use super::peers::{Endpoint, Transport};
use super::process::{expect_line, next_lines, Process, SETUP_TIME};
use super::proto::{Report, READY};
use super::runner::RUN_TIME;
use results::{Results, Sample};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Bytes per read.
pub const READ_SIZE: usize = 4096;
/// The file's size: its bytes repeat after this many.
pub const FILE_BYTES: usize = 1 << 20;

/// The file's byte at `offset`: depends on the offset, so that a read of
/// the wrong place shows.
pub fn byte_at(offset: usize) -> u8 {
    let o = (offset % FILE_BYTES) as u32;
    (o.wrapping_mul(0x9e37_79b1) >> 24) as u8 ^ (o >> 12) as u8
}

/// How a reader reads the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Via {
    /// The client API: one `_IO_READ` per read.
    Direct,
    /// `read(2)` on the FUSE mount.
    Fuse,
    /// `read(2)` on a FUSE mount answered from memory (FUSE's own cost).
    FuseFloor,
    /// `pread(2)` of a file in tmpfs.
    Tmpfs,
}

impl Via {
    /// Every way, in table order.
    pub const ALL: [Via; 4] = [Via::Direct, Via::Fuse, Via::FuseFloor, Via::Tmpfs];

    /// The name in the table and the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Via::Direct => "direct",
            Via::Fuse => "fuse",
            Via::FuseFloor => "fuse-floor",
            Via::Tmpfs => "tmpfs",
        }
    }
}

/// The parts of the `baton bench-peer` command line only the read
/// section's reader uses.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ReadArgs {
    /// Read client: how it reads.
    #[arg(long)]
    pub via: Option<Via>,
}

impl ReadArgs {
    /// The arguments that differ from the defaults.
    pub fn to_args(&self) -> Vec<String> {
        self.via.map(|v| format!("--via={}", v.name())).into_iter().collect()
    }
}

/// How the section runs.
#[derive(Debug)]
pub struct Options<'a> {
    /// Reads measured, and before, per reader.
    pub iterations: u64,
    pub warmup: u64,
    pub runs: usize,
    pub runtime_dir: Option<&'a Path>,
}

/// Runs the section: `runs` rounds of one reader per way. A FUSE way is
/// left out, with the reason, if its mount fails (the floor is not tried
/// if the bridge failed: the reason is the same).
pub fn run(opts: &Options<'_>) -> io::Result<Results> {
    let tag = std::process::id();
    sweep(Path::new("/dev/shm"), SHM_PREFIX, |p| std::fs::remove_file(p));
    // Only an empty directory goes: one a mount is still on stays.
    for prefix in [bridge::MOUNT_PREFIX, bridge::FLOOR_PREFIX] {
        sweep(&std::env::temp_dir(), prefix, |p| std::fs::remove_dir(p));
    }
    let rm_path = format!("/baton-bench/read-{tag}");
    let mut server = spawn(Role::ReadServer, &rm_path, None, opts, "the read server")?;
    expect_line(&mut server, READY, Instant::now() + SETUP_TIME)?;
    let shm = Shm::create(&format!("/dev/shm/{SHM_PREFIX}{tag}"))?;
    let mut skipped = Vec::new();
    let mut mount = |via: Via, start: &dyn Fn() -> Result<bridge::Bridge, String>| match start() {
        Ok(b) => Some(b),
        Err(reason) => {
            eprintln!("baton bench: read through {} skipped: {reason}", via.name());
            skipped.push((via, reason));
            None
        }
    };
    let bridge = mount(Via::Fuse, &|| bridge::Bridge::start(opts.runtime_dir, &rm_path));
    let floor = match &bridge {
        Some(_) => mount(Via::FuseFloor, &bridge::Bridge::start_floor),
        None => mount(Via::FuseFloor, &|| Err("the bridge's mount failed".into())),
    };
    eprintln!(
        "baton bench: read: {} run(s) of {} 4 KiB reads (+{} warm-up) per way",
        opts.runs, opts.iterations, opts.warmup
    );
    let mut samples = Vec::new();
    for run in 0..opts.runs {
        for via in Via::ALL {
            let mounted = match via {
                Via::Fuse => bridge.as_ref(),
                Via::FuseFloor => floor.as_ref(),
                _ => None,
            };
            let (path, pids) = match (via, mounted) {
                (Via::Direct, _) => (rm_path.clone(), vec![server.id()]),
                (Via::Tmpfs, _) => (shm.path.display().to_string(), vec![]),
                (Via::Fuse, Some(b)) => (b.file().display().to_string(), vec![server.id(), b.id()]),
                (Via::FuseFloor, Some(b)) => (b.file().display().to_string(), vec![b.id()]),
                (Via::Fuse | Via::FuseFloor, None) => continue,
            };
            let before = cpu_ticks(&pids)?;
            let mut client = spawn(Role::ReadClient, &path, Some(via), opts, "a read client")?;
            let line = next_lines(&mut [&mut client], Instant::now() + RUN_TIME)?.remove(0);
            let report = Report::parse(&line).map_err(|e| client.fail(&e))?;
            client.finish(Instant::now() + SETUP_TIME)?;
            server.check_running()?;
            let others_ns = (cpu_ticks(&pids)? - before) as f64 * tick_ns();
            let reads = opts.warmup + report.n;
            eprintln!(
                "[{:>3}/{}] run {} read 4 KiB  {:<10} p50 {:.2} µs, max {:.0} µs",
                run * Via::ALL.len() + via as usize + 1,
                opts.runs * Via::ALL.len(),
                run + 1,
                via.name(),
                report.latency.p50 as f64 / 1000.0,
                report.latency.max as f64 / 1000.0
            );
            samples.push(Sample { via, report, others_cpu_ns_per_read: others_ns / reads.max(1) as f64 });
        }
    }
    for b in [bridge, floor].into_iter().flatten() {
        b.stop()?;
    }
    Ok(Results::new(opts, &samples, skipped))
}

/// Starts a read peer for `path` (`name`).
fn spawn(role: Role, path: &str, via: Option<Via>, opts: &Options<'_>, what: &str) -> io::Result<Process> {
    let end = Endpoint { name: Some(path.to_owned()), ..Endpoint::default() };
    let mut args = PeerArgs::new(Transport::Baton, role, &end);
    args.size = READ_SIZE;
    args.warmup = opts.warmup;
    args.iterations = opts.iterations;
    args.read.via = via;
    Process::spawn(what.to_owned(), &args, opts.runtime_dir, &[])
}

/// User + system CPU time of processes `pids` so far, clock ticks.
fn cpu_ticks(pids: &[u32]) -> io::Result<u64> {
    let mut sum = 0;
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        // Fields after the command's closing parenthesis: state is the 3rd
        // field of the line, utime the 14th, stime the 15th.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| f.get(i - 3).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        sum += field(14) + field(15);
    }
    Ok(sum)
}

/// Nanoseconds per clock tick (`_SC_CLK_TCK`; Linux reports 100 per second
/// to user space whatever the kernel's HZ).
fn tick_ns() -> f64 {
    1e9 / rustix::param::clock_ticks_per_second().max(1) as f64
}

/// The tmpfs file's name before the bench's pid.
const SHM_PREFIX: &str = "baton-bench-read-";

/// Removes what benches that were killed (no drop ran) left in `dir`: the
/// entries named `prefix` and the pid of a process that no longer exists.
fn sweep(dir: &Path, prefix: &str, remove: impl Fn(&Path) -> io::Result<()>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name.to_str().and_then(|n| n.strip_prefix(prefix)).and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| !alive(pid)) {
            let _ = remove(&entry.path());
        }
    }
}

/// Whether process `pid` exists and has not ended (a zombie has).
fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state follows the command, which is in parentheses.
    stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with(['Z', 'X']))
}

/// The tmpfs file, with the resource manager's bytes; removed on drop.
struct Shm {
    path: PathBuf,
}

impl Shm {
    fn create(path: &str) -> io::Result<Shm> {
        let data: Vec<u8> = (0..FILE_BYTES).map(byte_at).collect();
        std::fs::write(path, data).map_err(|e| io::Error::new(e.kind(), format!("cannot write {path}: {e}")))?;
        Ok(Shm { path: PathBuf::from(path) })
    }
}

impl Drop for Shm {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_depend_on_their_offset_and_repeat() {
        assert_eq!(byte_at(5), byte_at(5 + FILE_BYTES));
        let page: Vec<u8> = (0..READ_SIZE).map(byte_at).collect();
        let next: Vec<u8> = (READ_SIZE..2 * READ_SIZE).map(byte_at).collect();
        assert_ne!(page, next);
    }

    #[test]
    fn this_process_is_alive_and_a_dead_one_is_not() {
        assert!(alive(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!alive(pid));
    }

    #[test]
    fn reads_this_process_cpu() {
        let t = cpu_ticks(&[std::process::id()]).unwrap();
        assert!(t < u64::MAX / 2);
        assert!(tick_ns() > 0.0);
    }
}
