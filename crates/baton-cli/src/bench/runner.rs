//! The bench parent's side of one run: prepare the transport, start the
//! server peer, wait until it is ready, start the client peer, collect both
//! reports. A peer that fails, hangs or exits early fails the run; peers
//! still alive then are killed.

use super::fds;
use super::peer::{PeerArgs, Role};
use super::peers::Endpoint;
use super::plan::Job;
use super::proto::{Report, READY};
use rustix::event::{poll, PollFd, PollFlags};
use rustix::fd::{AsFd, AsRawFd};
use rustix::time::Timespec;
use std::io::{self, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a peer may take to start and set up.
const SETUP_TIME: Duration = Duration::from_secs(30);
/// Fixed allowance for a run, on top of [`PER_ROUND_TRIP`] for each.
const RUN_TIME: Duration = Duration::from_secs(60);
/// Allowance per round trip: far beyond any sane one, so only a stuck peer
/// runs out of time.
const PER_ROUND_TRIP: Duration = Duration::from_micros(500);

/// What a run is asked to do beyond its [`Job`].
#[derive(Clone, Copy, Debug)]
pub struct Load<'a> {
    pub warmup: u64,
    pub iterations: u64,
    /// Unique among all runs on the machine (baton names the channel after it).
    pub tag: &'a str,
    /// `BATON_RUNTIME_DIR` for the peers, if the bench chose one.
    pub runtime_dir: Option<&'a Path>,
}

/// Both peers' reports of one run.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    pub client: Report,
    pub server: Report,
}

/// Runs one pair of peers to the end.
pub fn run(job: &Job, load: &Load<'_>) -> io::Result<Outcome> {
    let pair = job.transport.peer().prepare(job.size, load.tag)?;
    let mut server = Process::spawn(job, load, Role::Server, pair.server)?;
    let [ready] = next_lines([&mut server], Instant::now() + SETUP_TIME)?;
    if ready != READY {
        return Err(server.fail(&format!("said {ready:?} instead of {READY:?}")));
    }
    let mut client = Process::spawn(job, load, Role::Client, pair.client)?;
    let count = u32::try_from(load.warmup + load.iterations).unwrap_or(u32::MAX);
    let deadline = Instant::now() + SETUP_TIME + RUN_TIME + PER_ROUND_TRIP.saturating_mul(count);
    let [client_line, server_line] = next_lines([&mut client, &mut server], deadline)?;
    let client_report = Report::parse(&client_line).map_err(|e| client.fail(&e))?;
    let server_report = Report::parse(&server_line).map_err(|e| server.fail(&e))?;
    client.finish(deadline)?;
    server.finish(deadline)?;
    Ok(Outcome { client: client_report, server: server_report })
}

/// The next line of each peer, read as they come, by `deadline`. A peer
/// that exits first (or the deadline) fails the run, so a client never
/// waits out the deadline for a server that died.
fn next_lines<const N: usize>(mut peers: [&mut Process; N], deadline: Instant) -> io::Result<[String; N]> {
    let mut lines: [Option<String>; N] = std::array::from_fn(|_| None);
    loop {
        for (line, peer) in lines.iter_mut().zip(peers.iter_mut()) {
            if line.is_none() {
                *line = peer.take_line();
            }
        }
        if lines.iter().all(Option::is_some) {
            return Ok(lines.map(Option::unwrap_or_default));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let timeout = Timespec { tv_sec: left.as_secs() as i64, tv_nsec: i64::from(left.subsec_nanos()) };
        let waiting: Vec<usize> = (0..N).filter(|&i| lines[i].is_none()).collect();
        let mut pfds: Vec<PollFd<'_>> = waiting.iter().map(|&i| PollFd::new(&peers[i].stdout, PollFlags::IN)).collect();
        if poll(&mut pfds, Some(&timeout))? == 0 {
            return Err(peers[waiting[0]].fail("did not answer in time"));
        }
        let readable: Vec<usize> =
            waiting.iter().zip(&pfds).filter(|(_, p)| !p.revents().is_empty()).map(|(&i, _)| i).collect();
        for i in readable {
            peers[i].read_more()?;
        }
    }
}

/// A running peer process and what it has printed so far.
#[derive(Debug)]
struct Process {
    what: String,
    child: Child,
    stdout: ChildStdout,
    buf: Vec<u8>,
}

impl Process {
    fn spawn(job: &Job, load: &Load<'_>, role: Role, end: Endpoint) -> io::Result<Process> {
        let cpu = if role == Role::Server { job.cpus.server } else { job.cpus.client };
        let args = PeerArgs {
            transport: job.transport,
            role,
            cpu,
            size: job.size,
            warmup: load.warmup,
            iterations: load.iterations,
            fds: end.fds.iter().map(|fd| fd.as_raw_fd()).collect(),
            name: end.name,
        };
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.arg("bench-peer").args(args.to_args()).stdin(Stdio::null()).stdout(Stdio::piped());
        if let Some(dir) = load.runtime_dir {
            cmd.env("BATON_RUNTIME_DIR", dir);
        }
        let fds: Vec<_> = end.fds.iter().map(|fd| fd.as_fd()).collect();
        let mut child = fds::spawn_with(&mut cmd, &fds)?;
        let stdout = child.stdout.take().expect("stdout is piped");
        Ok(Process {
            what: format!("the {} {} ({})", job.transport.name(), role.name(), job.placement.name()),
            child,
            stdout,
            buf: Vec::new(),
        })
    }

    /// A complete line the peer has printed, if there is one.
    fn take_line(&mut self) -> Option<String> {
        let end = self.buf.iter().position(|&b| b == b'\n')?;
        let line: Vec<u8> = self.buf.drain(..=end).collect();
        Some(String::from_utf8_lossy(&line).trim_end().to_owned())
    }

    /// Reads what the peer printed; its exit before a full line is an error.
    fn read_more(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 256];
        let n = self.stdout.read(&mut chunk)?;
        if n == 0 {
            return Err(self.fail("exited before reporting"));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// Waits for the peer to exit, successfully.
    fn finish(&mut self, deadline: Instant) -> io::Result<()> {
        while Instant::now() < deadline {
            match self.child.try_wait()? {
                Some(status) if status.success() => return Ok(()),
                Some(status) => return Err(self.fail(&format!("failed ({status})"))),
                None => std::thread::sleep(Duration::from_millis(2)),
            }
        }
        Err(self.fail("did not exit"))
    }

    fn fail(&self, what: &str) -> io::Error {
        io::Error::other(format!("{} {what}", self.what))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
