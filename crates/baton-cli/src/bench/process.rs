//! A peer process as the bench parent sees it: started with its command
//! line and inherited descriptors, read line by line, waited for, and
//! killed if it is still alive when the parent lets go of it (on every
//! error path too), so no peer outlives its run.

use super::fds;
use super::peer::PeerArgs;
use rustix::event::{poll, PollFd, PollFlags};
use rustix::fd::BorrowedFd;
use rustix::time::Timespec;
use std::io::{self, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a peer may take to start and set up.
pub const SETUP_TIME: Duration = Duration::from_secs(30);

/// A running peer process and what it has printed so far.
#[derive(Debug)]
pub struct Process {
    what: String,
    child: Child,
    stdout: ChildStdout,
    buf: Vec<u8>,
}

impl Process {
    /// Starts `baton bench-peer` with `args`, `fds` inherited under the
    /// numbers `args` names, and `BATON_RUNTIME_DIR` set to `runtime_dir`
    /// if given. `what` names the peer in errors ("the baton server
    /// (unpinned)").
    pub fn spawn(
        what: String,
        args: &PeerArgs,
        runtime_dir: Option<&Path>,
        fds: &[BorrowedFd<'_>],
    ) -> io::Result<Process> {
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.arg("bench-peer").args(args.to_args()).stdin(Stdio::null()).stdout(Stdio::piped());
        if let Some(dir) = runtime_dir {
            cmd.env("BATON_RUNTIME_DIR", dir);
        }
        let mut child = fds::spawn_with(&mut cmd, fds)?;
        let stdout = child.stdout.take().expect("stdout is piped");
        Ok(Process { what, child, stdout, buf: Vec::new() })
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
    pub fn finish(&mut self, deadline: Instant) -> io::Result<()> {
        while Instant::now() < deadline {
            match self.child.try_wait()? {
                Some(status) if status.success() => return Ok(()),
                Some(status) => return Err(self.fail(&format!("failed ({status})"))),
                None => std::thread::sleep(Duration::from_millis(2)),
            }
        }
        Err(self.fail("did not exit"))
    }

    /// The peer's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// An error if the peer has already exited (it should be running).
    pub fn check_running(&mut self) -> io::Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => Err(self.fail(&format!("exited early ({status})"))),
        }
    }

    /// An error about this peer.
    pub fn fail(&self, what: &str) -> io::Error {
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

/// The next line of each peer, read as they come, by `deadline`. A peer
/// that exits first (or the deadline) fails the run, so the parent never
/// waits out the deadline for a peer that died.
pub fn next_lines(peers: &mut [&mut Process], deadline: Instant) -> io::Result<Vec<String>> {
    let mut lines: Vec<Option<String>> = vec![None; peers.len()];
    loop {
        for (line, peer) in lines.iter_mut().zip(peers.iter_mut()) {
            if line.is_none() {
                *line = peer.take_line();
            }
        }
        if lines.iter().all(Option::is_some) {
            return Ok(lines.into_iter().map(Option::unwrap_or_default).collect());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let timeout = Timespec { tv_sec: left.as_secs() as i64, tv_nsec: i64::from(left.subsec_nanos()) };
        let waiting: Vec<usize> = (0..peers.len()).filter(|&i| lines[i].is_none()).collect();
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

/// Waits for `peer`'s next line, which must be `want`.
pub fn expect_line(peer: &mut Process, want: &str, deadline: Instant) -> io::Result<()> {
    let line = next_lines(&mut [&mut *peer], deadline)?.remove(0);
    if line != want {
        return Err(peer.fail(&format!("said {line:?} instead of {want:?}")));
    }
    Ok(())
}
