//! The soak's processes seen from the parent: start them (this binary, run
//! again as `baton soak-peer`), read their lines, kill them with SIGKILL
//! and restart them, notice any that died on their own, stop them.

use super::proto;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Server,
    Client,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Client => "client",
        }
    }
}

/// One incarnation of a peer.
#[derive(Debug)]
pub struct Peer {
    pub role: Role,
    pub index: u32,
    pub pid: u32,
    pub key: u64,
    child: Child,
    stdin: Option<ChildStdin>,
}

/// What the parent learned from one incarnation's lines.
#[derive(Debug, Default)]
pub struct Heard {
    pub role: Option<Role>,
    pub ready: bool,
    pub idle: bool,
    pub stats: BTreeMap<String, u64>,
}

/// A line from a peer.
pub enum Line {
    Fail(String),
    /// A call failed with ESRCH: (server pid, monotonic ns).
    Esrch(u32, u64),
}

/// How to start peers.
#[derive(Clone, Debug)]
pub struct Spawn {
    pub runtime_dir: PathBuf,
    pub server_args: Vec<String>,
    pub client_args: Vec<String>,
}

#[derive(Debug)]
pub struct Fleet {
    pub spawn: Spawn,
    pub peers: Vec<Peer>,
    pub heard: HashMap<u64, Heard>,
    next_key: u64,
    next_client_id: u32,
    tx: Sender<(u64, String)>,
    rx: Receiver<(u64, String)>,
}

impl Fleet {
    pub fn new(spawn: Spawn) -> Fleet {
        let (tx, rx) = channel();
        Fleet { spawn, peers: Vec::new(), heard: HashMap::new(), next_key: 1, next_client_id: 1, tx, rx }
    }

    /// Starts (or restarts) peer `index` of `role`; returns its slot in `peers`.
    pub fn start(&mut self, role: Role, index: u32) -> std::io::Result<usize> {
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.arg("soak-peer").arg(role.name());
        match role {
            Role::Server => cmd.arg("--index").arg(index.to_string()).args(&self.spawn.server_args),
            Role::Client => {
                // Every incarnation calls under ids of its own.
                self.next_client_id += 1;
                cmd.arg("--id").arg(self.next_client_id.to_string()).args(&self.spawn.client_args)
            }
        };
        cmd.env("BATON_RUNTIME_DIR", &self.spawn.runtime_dir).stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = cmd.spawn()?;
        let key = self.next_key;
        self.next_key += 1;
        let out = child.stdout.take().expect("piped");
        let tx = self.tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send((key, line)).is_err() {
                    break;
                }
            }
        });
        self.heard.insert(key, Heard { role: Some(role), ..Heard::default() });
        let peer = Peer { role, index, pid: child.id(), key, stdin: child.stdin.take(), child };
        Ok(match self.peers.iter().position(|p| p.role == role && p.index == index) {
            Some(i) => {
                self.peers[i] = peer;
                i
            }
            None => {
                self.peers.push(peer);
                self.peers.len() - 1
            }
        })
    }

    /// Reads lines until `until`, noting readiness and stats; returns the
    /// other lines with the peer (role, index, pid) they came from.
    pub fn read(&mut self, until: Instant) -> Vec<(String, Line)> {
        let mut out = Vec::new();
        loop {
            let (key, line) = match self.rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
                Ok(x) => x,
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return out,
            };
            let who = self.describe(key);
            let heard = self.heard.entry(key).or_default();
            let (word, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
            match word {
                "ready" => heard.ready = true,
                "idle" => heard.idle = true,
                "stats" => heard.stats = proto::parse_stats(rest),
                "fail" => out.push((who, Line::Fail(rest.to_string()))),
                "esrch" => {
                    let mut it = rest.split_whitespace().map(|w| w.parse::<u64>().unwrap_or(0));
                    let (pid, ns) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
                    out.push((who, Line::Esrch(pid as u32, ns)));
                }
                _ => out.push((who, Line::Fail(format!("unexpected line {line:?}")))),
            }
            if Instant::now() >= until {
                return out;
            }
        }
    }

    fn describe(&self, key: u64) -> String {
        match self.peers.iter().find(|p| p.key == key) {
            Some(p) => format!("{} {} (pid {})", p.role.name(), p.index, p.pid),
            None => format!("an earlier peer (#{key})"),
        }
    }

    /// SIGKILLs peer `i` and reaps it; returns the moment of the kill
    /// (monotonic ns) and whether it died of that signal.
    pub fn kill(&mut self, i: usize) -> (u64, bool) {
        let p = &mut self.peers[i];
        let at = proto::now_ns();
        let _ = p.child.kill();
        let died_of_it = p.child.wait().is_ok_and(|s| s.signal() == Some(libc::SIGKILL));
        (at, died_of_it)
    }

    /// Peers that exited without being killed: (slot, status).
    pub fn exited(&mut self) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for (i, p) in self.peers.iter_mut().enumerate() {
            if let Ok(Some(status)) = p.child.try_wait() {
                out.push((i, format!("{status}")));
            }
        }
        out
    }

    /// Writes `line` to the stdin of every peer of `role`.
    pub fn tell(&mut self, role: Role, line: &str) {
        for p in self.peers.iter_mut().filter(|p| p.role == role) {
            if let Some(stdin) = &mut p.stdin {
                let _ = writeln!(stdin, "{line}");
            }
        }
    }

    /// Closes the stdin of every peer of `role` (they exit) and waits up to
    /// `timeout` for them; returns the ones that did not exit cleanly.
    pub fn stop(&mut self, role: Role, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        for p in self.peers.iter_mut().filter(|p| p.role == role) {
            p.stdin = None;
        }
        let mut bad = Vec::new();
        for p in self.peers.iter_mut().filter(|p| p.role == role) {
            let status = loop {
                match p.child.try_wait() {
                    Ok(Some(s)) => break Some(s),
                    Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                    _ => break None,
                }
            };
            match status {
                Some(s) if s.success() => {}
                Some(s) => bad.push(format!("{} {} (pid {}) exited with {s}", role.name(), p.index, p.pid)),
                None => {
                    let _ = p.child.kill();
                    let _ = p.child.wait();
                    bad.push(format!("{} {} (pid {}) did not stop within {timeout:?}", role.name(), p.index, p.pid));
                }
            }
        }
        self.peers.retain(|p| p.role != role);
        bad
    }

    /// Sums the last stats of every incarnation of `role`, and the largest
    /// of fields named `*_max_*`.
    pub fn totals(&self, role: Role) -> BTreeMap<String, u64> {
        let mut t = BTreeMap::new();
        for h in self.heard.values().filter(|h| h.role == Some(role)) {
            for (k, v) in &h.stats {
                let e = t.entry(k.clone()).or_insert(0);
                *e = if k.contains("_max_") { (*e).max(*v) } else { *e + v };
            }
        }
        t
    }
}

impl Drop for Fleet {
    /// No peer outlives the soak, whatever happened.
    fn drop(&mut self) {
        for p in &mut self.peers {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }
}
