//! The bench parent's side of one memory run: start the baton server and
//! read its geometry, look at its memory and descriptors, open the idle
//! connections (holders, `scale/peer.rs`) and look again, have every
//! connection make one call and look a third time. Every peer is killed
//! at the end, or on an error.

use super::peer::parse_geometry;
use crate::bench::peer::Role;
use crate::bench::peers::Transport;
use crate::bench::process::{expect_line, next_lines, Process, SETUP_TIME};
use crate::bench::proto::READY;
use crate::bench::runner::RUN_TIME;
use crate::bench::scale::board::{Board, Word};
use crate::bench::scale::peer::CALL;
use crate::bench::scale::runner::{self as scale_runner, Job, Kind, Peers, Plan};
use baton::SegmentGeometry;
use std::io;
use std::path::Path;
use std::time::Instant;

/// The server's memory and descriptors at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// From `/proc/<pid>/smaps_rollup`, bytes: resident, proportional
    /// (shared pages divided among the processes that map them), private
    /// anonymous (heap, stacks), and the proportional share of shared
    /// memory (the connection segments).
    pub rss: u64,
    pub pss: u64,
    pub anonymous: u64,
    pub pss_shmem: u64,
    /// Open descriptors (`/proc/<pid>/fd`).
    pub fds: u64,
}

/// What one run saw.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub geometry: SegmentGeometry,
    /// Before any client connected, with the idle connections open, and
    /// after each made one call.
    pub base: Usage,
    pub idle: Usage,
    pub used: Usage,
    /// The server's RLIMIT_NOFILE, soft and hard (`None`: unlimited).
    pub nofile: (Option<u64>, Option<u64>),
}

/// Runs one memory run with `conns` connections.
pub fn run(run: usize, conns: usize, size: usize, tag: &str, runtime_dir: Option<&Path>) -> io::Result<Sample> {
    let job = Job { run, transport: Transport::Baton, kind: Kind::Connected(conns) };
    let plan = Plan { size, warmup: 0, iterations: 0, tag, runtime_dir };
    let pair = Transport::Baton.peer().prepare(size, tag)?;
    let (board_fd, board) = Board::create()?;
    let peers = Peers { job: &job, plan: &plan, board: &board_fd };
    let mut server = peers.spawn(Role::MemoryServer, &pair.server, "memory server", |_| {})?;
    let deadline = Instant::now() + SETUP_TIME;
    let line = next_lines(&mut [&mut server], deadline)?.remove(0);
    let geometry = parse_geometry(&line).map_err(|e| server.fail(&e))?;
    expect_line(&mut server, READY, deadline)?;
    let pid = server.id();
    let base = usage(pid)?;
    let mut holders = scale_runner::start_holders(&peers, &pair.client, conns, false)?;
    let idle = usage(pid)?;
    board.set(Word::Phase, CALL);
    let deadline = Instant::now() + RUN_TIME;
    board.await_count(Word::Done, conns as u32, deadline, || {
        server.check_running()?;
        holders.iter_mut().try_for_each(Process::check_running)
    })?;
    let used = usage(pid)?;
    let nofile = nofile(pid)?;
    Ok(Sample { geometry, base, idle, used, nofile })
}

/// The memory and descriptors of process `pid` now.
fn usage(pid: u32) -> io::Result<Usage> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))?;
    let kib = |key: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map_or(0, |k| k * 1024)
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))?.count() as u64;
    Ok(Usage { rss: kib("Rss"), pss: kib("Pss"), anonymous: kib("Anonymous"), pss_shmem: kib("Pss_Shmem"), fds })
}

/// The soft and hard RLIMIT_NOFILE of process `pid`.
fn nofile(pid: u32) -> io::Result<(Option<u64>, Option<u64>)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/limits"))?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .ok_or_else(|| io::Error::other("no open-file limit in /proc/<pid>/limits"))?;
    let mut words = line.split_whitespace().map(|w| w.parse::<u64>().ok());
    Ok((words.next().flatten(), words.next().flatten()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let me = usage(std::process::id()).unwrap();
        assert!(me.rss > 0 && me.pss > 0 && me.fds >= 3, "{me:?}");
        let (soft, hard) = nofile(std::process::id()).unwrap();
        assert!(soft.is_some() && soft <= hard.or(Some(u64::MAX)));
    }
}
