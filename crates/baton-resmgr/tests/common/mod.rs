//! Helpers for the resource-manager tests: a private runtime directory,
//! the example servers as real processes (built on first use), roles the
//! test binary runs in a child of its own, and a watchdog.
//!
//! The example servers are binaries of the `baton-examples` package, which
//! cargo does not build for this package's tests: the first test that
//! needs one runs `cargo build` for them into the same target directory
//! (cargo releases its lock before it runs tests).
#![allow(dead_code)]
// `atexit` to remove the test runtime directory.
#![allow(unsafe_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex, Once, OnceLock};
use std::time::Duration;

const ROLE: &str = "RESMGR_TEST_ROLE";
const ARGS: &str = "RESMGR_TEST_ARGS";

/// How long to wait for a line a process should print (a busy machine).
pub const LINE_WAIT: Duration = Duration::from_secs(60);

/// Points this test binary (and its children) at a private runtime
/// directory. Call first in every test.
pub fn setup() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var_os(ROLE).is_none() {
            let exe = std::env::current_exe().unwrap();
            let stem = exe.file_stem().unwrap().to_string_lossy().into_owned();
            let dir = std::env::temp_dir().join(format!("baton-resmgr-{stem}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::env::set_var("BATON_RUNTIME_DIR", &dir);
            // The servers are gone when the test binary exits: remove the
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
}

/// Aborts the test process if the guard lives longer than `secs`, after
/// killing the processes started with [`spawn`] / [`role`].
pub struct Watchdog(#[allow(dead_code)] mpsc::Sender<()>);

static PIDS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

pub fn watchdog(secs: u64) -> Watchdog {
    let (tx, rx) = mpsc::channel::<()>();
    let name = std::thread::current().name().unwrap_or("?").to_string();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(Duration::from_secs(secs)) {
            eprintln!("watchdog: test {name} still running after {secs}s; aborting");
            for &pid in PIDS.lock().unwrap().iter() {
                kill9(pid);
            }
            std::process::abort();
        }
    });
    Watchdog(tx)
}

pub fn kill9(pid: u32) {
    if let Some(p) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
    }
}

/// The path of example binary `name`, built on first use.
pub fn example(name: &str) -> PathBuf {
    static BIN_DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = BIN_DIR.get_or_init(|| {
        // target/<profile>/deps/<test> -> target/<profile>
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
        let target = profile_dir.parent().unwrap();
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--quiet", "-p", "baton-examples"]);
        for b in ["resmgr-null", "resmgr-files", "resmgr-queue"] {
            cmd.args(["--bin", b]);
        }
        cmd.arg("--target-dir").arg(target).current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir.ends_with("release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build for the example servers");
        assert!(status.success(), "cargo build of the example servers failed");
        profile_dir
    });
    dir.join(name)
}

/// A running process whose standard output is read line by line.
pub struct Proc {
    pub child: Child,
    lines: mpsc::Receiver<String>,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a line containing `what`; returns it from `what` on (the
    /// test harness may print before it on the same line).
    pub fn expect(&self, what: &str) -> String {
        loop {
            match self.lines.recv_timeout(LINE_WAIT) {
                Ok(l) if l.contains(what) => return l[l.find(what).unwrap()..].to_string(),
                Ok(_) => {}
                Err(e) => panic!("no line with {what:?} from pid {}: {e}", self.child.id()),
            }
        }
    }

    pub fn kill9(&mut self) {
        kill9(self.child.id());
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
        PIDS.lock().unwrap().retain(|&p| p != self.child.id());
    }
}

fn start(mut cmd: Command) -> Proc {
    let mut child = cmd.stdout(Stdio::piped()).stdin(Stdio::null()).spawn().expect("start a process");
    PIDS.lock().unwrap().push(child.id());
    let out = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    let pid = child.id();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            eprintln!("[{pid}] {line}");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Proc { child, lines }
}

/// Starts example server `name` with `args` and waits for its ready line.
pub fn server(name: &str, args: &[&str]) -> Proc {
    let mut cmd = Command::new(example(name));
    cmd.args(args);
    let p = start(cmd);
    p.expect("ready");
    p
}

/// Starts this test binary as `role` with `args` (see [`child_main`]).
pub fn role(role: &str, args: &[&str]) -> Proc {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child", "--nocapture", "--test-threads=1"]).env(ROLE, role).env(ARGS, args.join("\u{1f}"));
    start(cmd)
}

/// The role's arguments.
pub fn args() -> Vec<String> {
    std::env::var(ARGS).unwrap_or_default().split('\u{1f}').map(String::from).collect()
}

/// In the binary's `child` test: runs the role named in the environment,
/// if any, then exits.
pub fn child_main(roles: &[(&str, fn())]) {
    let Ok(name) = std::env::var(ROLE) else { return };
    let f = roles.iter().find(|r| r.0 == name).unwrap_or_else(|| panic!("no role {name}")).1;
    f();
    std::process::exit(0);
}

/// A line for the parent (standard output, flushed).
pub fn say(line: impl AsRef<str>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", line.as_ref()).unwrap();
    out.flush().unwrap();
}

/// The errno of an I/O error (0 if it has none).
pub fn errno(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}
