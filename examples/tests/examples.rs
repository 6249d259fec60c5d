//! Runs the example binaries as real processes, the way a user would.
//!
//! Every test has a [`Scene`]: a runtime directory of its own (so tests can
//! run in parallel and never meet another test's server) and a watchdog
//! that kills the test's processes and aborts the test binary if the test
//! is still running after [`WATCHDOG`]. Tests wait for the lines the
//! examples print, never for an amount of time, and assert on the order of
//! events, never on how long anything took.

use rustix::process::{kill_process, Pid, Signal};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const ECHO_SERVER: &str = env!("CARGO_BIN_EXE_echo_server");
const ECHO_CLIENT: &str = env!("CARGO_BIN_EXE_echo_client");
const MT_SERVER: &str = env!("CARGO_BIN_EXE_mt_server");
const MT_CLIENT: &str = env!("CARGO_BIN_EXE_mt_client");
const PULSE_SENDER: &str = env!("CARGO_BIN_EXE_pulse_sender");
const PULSE_RECEIVER: &str = env!("CARGO_BIN_EXE_pulse_receiver");

/// How long a test may run before the watchdog ends it.
const WATCHDOG: Duration = Duration::from_secs(60);
/// How long to wait for a line an example should print: generous, for a
/// busy machine.
const LINE_WAIT: Duration = Duration::from_secs(30);

/// One test's world: its runtime directory, the pids of its running
/// processes, and its watchdog (disarmed when the scene drops).
struct Scene {
    dir: PathBuf,
    pids: Arc<Mutex<Vec<u32>>>,
    _watchdog: mpsc::Sender<()>,
}

impl Scene {
    fn new(test: &str) -> Scene {
        let dir = std::env::temp_dir().join(format!("baton-examples-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let pids = Arc::new(Mutex::new(Vec::new()));
        let watchdog = watchdog(test, Arc::clone(&pids), dir.clone());
        Scene { dir, pids, _watchdog: watchdog }
    }

    /// Starts an example with `args`, its standard streams piped.
    fn spawn(&self, exe: &str, args: &[&str]) -> Proc {
        let mut child = Command::new(exe)
            .args(args)
            .env("BATON_RUNTIME_DIR", &self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {exe}: {e}"));
        self.pids.lock().unwrap().push(child.id());
        let label = format!("{} [{}]", exe.rsplit('/').next().unwrap_or(exe), child.id());
        let out = forward(child.stdout.take().expect("piped stdout"), format!("{label} out"));
        let err = forward(child.stderr.take().expect("piped stderr"), format!("{label} err"));
        Proc { child, out, err, reaped: None, pids: Arc::clone(&self.pids) }
    }

    /// Runs an example to its end with `input` on its standard input.
    fn run(&self, exe: &str, args: &[&str], input: &str) -> Finished {
        let mut p = self.spawn(exe, args);
        let mut stdin = p.child.stdin.take().expect("piped stdin");
        stdin.write_all(input.as_bytes()).expect("write the example's input");
        drop(stdin);
        let status = p.wait();
        Finished { pid: p.child.id(), status, stdout: p.out.iter().collect(), stderr: p.err.iter().collect() }
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Arms the watchdog of test `test`; dropping the sender disarms it. When
/// it fires it kills the test's processes (which would otherwise outlive
/// the aborted test) and removes its runtime directory.
fn watchdog(test: &str, pids: Arc<Mutex<Vec<u32>>>, dir: PathBuf) -> mpsc::Sender<()> {
    let (watchdog, disarmed) = mpsc::channel::<()>();
    let test = test.to_string();
    thread::spawn(move || {
        if disarmed.recv_timeout(WATCHDOG) != Err(mpsc::RecvTimeoutError::Timeout) {
            return;
        }
        // Straight to stderr: the test harness's capture dies with us.
        let _ = writeln!(io::stderr(), "watchdog: test {test} still running after {WATCHDOG:?}; aborting");
        for &pid in pids.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = kill_process(Pid::from_raw(pid as i32).expect("a child's pid"), Signal::KILL);
        }
        let _ = std::fs::remove_dir_all(dir);
        std::process::abort();
    });
    watchdog
}

/// Sends the lines read from `pipe` to the returned receiver, and copies
/// them to the test's output (shown when a test fails).
fn forward(pipe: impl Read + Send + 'static, label: String) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            eprintln!("{label}: {line}");
            let _ = tx.send(line);
        }
    });
    rx
}

/// A running example; killed when dropped.
struct Proc {
    child: Child,
    out: mpsc::Receiver<String>,
    err: mpsc::Receiver<String>,
    reaped: Option<ExitStatus>,
    pids: Arc<Mutex<Vec<u32>>>,
}

impl Proc {
    /// The lines it prints up to the first that contains `text`, which is
    /// the last one returned.
    fn lines_until(&self, text: &str) -> Vec<String> {
        let deadline = Instant::now() + LINE_WAIT;
        let mut lines = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.out.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(text);
                    lines.push(line);
                    if found {
                        return lines;
                    }
                }
                Err(e) => panic!("no line with {text:?} ({e}); got {lines:?}"),
            }
        }
    }

    /// Waits for the first line it prints that contains `text`.
    fn expect(&self, text: &str) -> String {
        self.lines_until(text).pop().expect("lines_until returns the line found")
    }

    /// Lines it has printed and nobody has read yet; does not wait.
    fn unread(&self) -> Vec<String> {
        self.out.try_iter().collect()
    }

    fn is_running(&mut self) -> bool {
        self.reaped.is_none() && self.child.try_wait().expect("try_wait").is_none()
    }

    /// Waits for it to exit (the watchdog guards against forever).
    fn wait(&mut self) -> ExitStatus {
        if let Some(status) = self.reaped {
            return status;
        }
        let status = self.child.wait().expect("wait for an example");
        // Reaped: its pid may be reused, so the watchdog must forget it.
        let pid = self.child.id();
        self.pids.lock().unwrap_or_else(|e| e.into_inner()).retain(|&p| p != pid);
        self.reaped = Some(status);
        status
    }

    fn wait_success(&mut self) {
        let status = self.wait();
        assert!(status.success(), "example failed: {status}; stderr: {:?}", self.err.try_iter().collect::<Vec<_>>());
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.reaped.is_none() {
            let _ = self.child.kill();
            self.wait();
        }
    }
}

/// What an example that ran to its end left behind.
#[derive(Debug)]
struct Finished {
    pid: u32,
    status: ExitStatus,
    stdout: Vec<String>,
    stderr: Vec<String>,
}

#[test]
fn echo_round_trip() {
    let scene = Scene::new("echo");
    let server = scene.spawn(ECHO_SERVER, &["--name", "test/echo"]);
    server.expect("attached as test/echo");

    let words = scene.run(ECHO_CLIENT, &["--name", "test/echo", "hello", "baton world"], "");
    assert!(words.status.success(), "{words:?}");
    assert_eq!(words.stdout, ["hello", "baton world"]);
    server.expect(&format!("message from pid {}: 5 bytes", words.pid));
    // The client's exit reaches the server as a disconnect pulse.
    server.expect("pulse code -33 (disconnect");

    let lines = scene.run(ECHO_CLIENT, &["--name", "test/echo"], "one\ntwo three\n");
    assert!(lines.status.success(), "{lines:?}");
    assert_eq!(lines.stdout, ["one", "two three"]);
}

#[test]
fn echo_client_without_server_says_so() {
    let scene = Scene::new("no-server");
    let client = scene.run(ECHO_CLIENT, &["--name", "test/nobody", "hello"], "");
    assert!(!client.status.success(), "{client:?}");
    assert!(client.stdout.is_empty(), "{client:?}");
    assert!(client.stderr.iter().any(|l| l.contains("no server attached as test/nobody")), "{client:?}");
}

#[test]
fn mt_server_answers_fast_requests_during_a_slow_one() {
    let scene = Scene::new("mt");
    let server = scene.spawn(MT_SERVER, &["2", "--name", "test/mt"]);
    server.expect("2 threads serving test/mt");

    // It only has to be in progress while the others run: long enough
    // never to finish during the test, however slow the machine.
    let mut slow = scene.spawn(MT_CLIENT, &["--name", "test/mt", "sleep 600000"]);
    server.expect("<- sleep 600000");

    let fast = scene.run(MT_CLIENT, &["--name", "test/mt", "add 2 3", "whoami"], "");
    assert!(fast.status.success(), "{fast:?}");
    assert!(fast.stdout.iter().any(|l| l.ends_with("] add 2 3 -> 5")), "{fast:?}");
    let me = format!("] whoami -> pid {} uid {} ", fast.pid, rustix::process::getuid().as_raw());
    assert!(fast.stdout.iter().any(|l| l.contains(&me)), "want {me:?} in {fast:?}");

    // Both were answered while the sleep is still in progress.
    assert!(slow.is_running(), "the slow request finished first");
    assert_eq!(slow.unread(), Vec::<String>::new());
}

#[test]
fn pulse_sender_to_receiver_delivers_every_pulse() {
    let scene = Scene::new("pulses");
    let receiver_args = ["--name", "test/pulses", "--capacity", "4", "--stop-code", "99", "--hold"];
    let mut receiver = scene.spawn(PULSE_RECEIVER, &receiver_args);
    receiver.expect("press Enter");

    let sender_args = ["--name", "test/pulses", "--count", "20", "--code", "7", "--stop", "99"];
    let mut sender = scene.spawn(PULSE_SENDER, &sender_args);
    // The receiver takes nothing yet: its room for our pulses fills up.
    sender.expect("EAGAIN");
    writeln!(receiver.child.stdin.as_mut().expect("piped stdin")).expect("release the receiver");

    let lines = receiver.lines_until("stop code 99: exiting");
    let values: Vec<i64> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("pulse code 7 value "))
        .map(|rest| rest.split(' ').next().and_then(|v| v.parse().ok()).expect("a pulse value"))
        .collect();
    assert_eq!(values, (0..20).collect::<Vec<_>>(), "{lines:?}");
    receiver.wait_success();

    sender.expect("the receiver has exited");
    sender.wait_success();
}
