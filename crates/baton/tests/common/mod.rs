//! Shared helpers for the multi-process integration tests.
//!
//! Each test binary re-executes itself to run a *role* in a child process:
//! the binary's `child` test (see [`child_main`]) does nothing in a normal
//! run, and runs the role named by `BATON_TEST_ROLE` when spawned by
//! [`spawn`]. Children are killed when their handle drops, and every test
//! that could hang arms a [`watchdog`].
#![allow(dead_code)]
// `atexit` to remove the test runtime directory.
#![allow(unsafe_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::Once;
use std::time::Duration;

const ROLE: &str = "BATON_TEST_ROLE";
const ARGS: &str = "BATON_TEST_ARGS";

/// Points this test binary (and its children) at a private runtime
/// directory; returns it. Call first in every test.
pub fn setup() -> PathBuf {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var_os(ROLE).is_none() {
            let exe = std::env::current_exe().unwrap();
            let stem = exe.file_stem().unwrap().to_string_lossy().into_owned();
            let dir = std::env::temp_dir().join(format!("baton-test-{stem}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::env::set_var("BATON_RUNTIME_DIR", &dir);
            // The test binary's children are gone when it exits: remove the
            // directory then, so test runs do not pile up in /tmp.
            extern "C" fn remove_runtime_dir() {
                if let Some(dir) = std::env::var_os("BATON_RUNTIME_DIR") {
                    let _ = std::fs::remove_dir_all(dir);
                }
            }
            // SAFETY: `remove_runtime_dir` takes no arguments, returns
            // nothing and cannot unwind (it ignores every error).
            unsafe { libc::atexit(remove_runtime_dir) };
        }
    });
    PathBuf::from(std::env::var_os("BATON_RUNTIME_DIR").unwrap())
}

/// Aborts the whole test process if it is still alive after `secs`
/// (dropping the guard disarms it).
pub struct Watchdog(Option<mpsc::Sender<()>>);

pub fn watchdog(secs: u64) -> Watchdog {
    let (tx, rx) = mpsc::channel::<()>();
    let name = std::thread::current().name().unwrap_or("?").to_string();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(Duration::from_secs(secs)) {
            eprintln!("watchdog: test {name} still running after {secs}s; aborting");
            std::process::abort();
        }
    });
    Watchdog(Some(tx))
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// A child process running a role; killed (SIGKILL) and reaped on drop.
pub struct Child {
    pub child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

/// Spawns this test binary as a child running `role` with `args`. The
/// child's stdout lines can be read with [`Child::line`].
pub fn spawn(role: &str, args: &[&str]) -> Child {
    setup();
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["child", "--exact", "--nocapture", "--test-threads=1", "-q"])
        .env(ROLE, role)
        .env(ARGS, args.join("\u{1f}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(l) = line.strip_prefix("@@ ") {
                if tx.send(l.to_string()).is_err() {
                    break;
                }
            }
        }
    });
    Child { child, lines: rx }
}

impl Child {
    /// The next line the child printed with [`say`], waiting up to `secs`.
    pub fn line(&self, secs: u64) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(secs))
            .unwrap_or_else(|e| panic!("no line from child within {secs}s: {e}"))
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends SIGKILL and reaps.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the child to exit; panics unless it exits with status 0.
    pub fn wait_ok(mut self, secs: u64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                assert!(st.success(), "child failed: {st}");
                return;
            }
            assert!(std::time::Instant::now() < deadline, "child did not exit within {secs}s");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// In a child: prints a line the parent reads with [`Child::line`].
pub fn say(line: impl std::fmt::Display) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "@@ {line}").unwrap();
    out.flush().unwrap();
}

/// In a child: the role's arguments.
pub fn args() -> Vec<String> {
    std::env::var(ARGS).unwrap_or_default().split('\u{1f}').filter(|s| !s.is_empty()).map(String::from).collect()
}

/// The body of each binary's `child` test: runs the role named by the
/// environment (a no-op in a normal test run), then exits the process.
pub fn child_main(roles: &[(&str, fn())]) {
    let Ok(role) = std::env::var(ROLE) else { return };
    let _dog = watchdog(120);
    match roles.iter().find(|(name, _)| *name == role) {
        Some((_, f)) => f(),
        None => panic!("unknown role {role}"),
    }
    std::process::exit(0);
}

/// Entries of this test's runtime directory other than the process
/// directories of live processes (what a leak check expects to be empty).
pub fn runtime_files() -> Vec<PathBuf> {
    fn walk(p: &std::path::Path, out: &mut Vec<PathBuf>) {
        if let Ok(rd) = std::fs::read_dir(p) {
            for e in rd.flatten() {
                let path = e.path();
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&setup(), &mut out);
    out
}

/// How a call ended, in the one line a child prints for its parent
/// (`errno ms status text`, errno 0 for a reply).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ended {
    /// 0 if the server replied, else the call's errno.
    pub errno: i32,
    /// Milliseconds from `t0` to the call's return.
    pub ms: u64,
    /// The reply's status (0 after an error).
    pub status: i64,
    /// The reply's bytes, as text.
    pub text: String,
}

impl Ended {
    /// What call `r`, started at `t0`, ended with; `reply` is its reply buffer.
    pub fn new(r: baton::Result<baton::Reply>, reply: &[u8], t0: std::time::Instant) -> Ended {
        let ms = t0.elapsed().as_millis() as u64;
        match r {
            Ok(rep) => Ended {
                errno: 0,
                ms,
                status: rep.status,
                text: String::from_utf8_lossy(&reply[..rep.len.min(reply.len())]).into_owned(),
            },
            Err(e) => Ended { errno: e.errno(), ms, status: 0, text: String::new() },
        }
    }

    /// Parses a line printed with `Display`.
    pub fn parse(line: &str) -> Ended {
        let mut f = line.splitn(4, ' ');
        let mut next = || f.next().unwrap_or_else(|| panic!("not a call outcome: {line:?}"));
        let (errno, ms, status) = (next().parse(), next().parse(), next().parse());
        let text = next().to_string();
        match (errno, ms, status) {
            (Ok(errno), Ok(ms), Ok(status)) => Ended { errno, ms, status, text },
            _ => panic!("not a call outcome: {line:?}"),
        }
    }
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {} {}", self.errno, self.ms, self.status, self.text)
    }
}

/// Polls `done` every 10 ms until it holds or `secs` pass; whether it held.
/// For effects that happen in the background (a peer's death noticed, a
/// connection torn down): the bound only turns "never" into a failure.
pub fn wait_for(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if done() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Serves `ch` until the channel is destroyed: each message goes to
/// `answer` with its bytes (up to 4 KiB); pulses are ignored.
pub fn serve(ch: &baton::Channel, mut answer: impl FnMut(baton::Request, &[u8])) {
    let mut buf = vec![0u8; 4096];
    loop {
        match ch.receive(&mut buf) {
            Ok(baton::Received::Message(req)) => {
                let n = req.len().min(buf.len());
                answer(req, &buf[..n]);
            }
            Ok(baton::Received::Pulse(_)) => {}
            Err(e) if e.errno() == libc::ESRCH => return,
            Err(e) => panic!("receive failed: {e}"),
        }
    }
}

/// Prints `line` on stderr past the test harness's capture, so that it
/// shows in every run (a check that was skipped, a number worth seeing).
pub fn note(line: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "NOTE: {line}");
}
