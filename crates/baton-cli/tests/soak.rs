//! `baton soak` end to end: a ~10 s run with kills of clients and servers,
//! which must pass (no wrong reply, no undocumented error, no leak), and
//! whose JSON report must show that calls, kills and restarts happened and
//! that the errors the kills cause were counted. Never checks speed.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BATON: &str = env!("CARGO_BIN_EXE_baton");

/// The value of `"key":N` in the report (the report is flat enough for this).
fn field(doc: &str, key: &str) -> u64 {
    let at = doc.find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("no {key} in {doc}"));
    let rest = &doc[at + key.len() + 3..];
    rest[..rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len())].parse().expect(key)
}

#[test]
fn short_soak_passes() {
    let json = std::env::temp_dir().join(format!("baton-soak-test-{}.json", std::process::id()));
    let mut child = Command::new(BATON)
        .args(["soak", "--duration", "10", "--servers", "3", "--clients", "4", "--kill-every", "250", "--seed", "7"])
        .arg("--json")
        .arg(&json)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start baton soak");
    // The watchdog: the soak takes ~10 s plus set-up and stop (a debug
    // build on a busy machine: allow minutes, never hang).
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("baton soak did not finish within 300 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = std::io::read_to_string(child.stdout.take().expect("stdout")).expect("report");
    print!("{out}");
    assert!(status.success(), "baton soak failed: {status}\n{out}");
    let doc = std::fs::read_to_string(&json).expect("JSON report");
    let _ = std::fs::remove_file(&json);
    assert!(doc.contains("\"pass\":true"), "{doc}");
    assert!(field(&doc, "calls") > 0 && field(&doc, "ok") > 0, "{doc}");
    assert!(field(&doc, "server") > 0 && field(&doc, "client") > 0, "no kills of both kinds: {doc}");
    assert_eq!(field(&doc, "restarts"), field(&doc, "server") + field(&doc, "client"));
    assert_eq!(field(&doc, "mismatch"), 0);
    assert_eq!(field(&doc, "other_err"), 0);
    assert!(doc.contains("\"leaks\":[]"), "{doc}");
}
