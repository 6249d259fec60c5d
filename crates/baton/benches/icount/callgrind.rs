//! Runs one configuration of the workload under callgrind and reads back
//! the instructions (callgrind's `Ir`) of the client and the server thread.
//!
//! One valgrind run per configuration: this same binary with `--run MODE
//! SIZE CALLS`, collection off at start and toggled on and off by the two
//! measured functions, one output file per thread (`--separate-threads`).
//! A thread's file is the client's or the server's by the measured
//! function it names; threads that ran neither (main, baton's own) count
//! nothing.

use std::io;
use std::path::Path;
use std::process::Command;

/// The measured functions, as callgrind's `--toggle-collect` patterns
/// (matched against demangled names; `*` stands for the crate and module
/// path, which depend on how the bench target is built).
const CLIENT_FN: &str = "*::client_calls";
const SERVER_FN: &str = "*::server_calls";

/// Instructions counted on each side in one run.
#[derive(Clone, Copy, Debug)]
pub struct Counts {
    pub client: u64,
    pub server: u64,
}

/// Whether valgrind is there to run.
pub fn check_valgrind() -> io::Result<()> {
    match Command::new("valgrind").arg("--version").output() {
        Ok(out) if out.status.success() => Ok(()),
        _ => Err(io::Error::other("valgrind not found: install it (Debian: apt-get install valgrind)")),
    }
}

/// Runs `args` of this binary under callgrind, output files in `dir`.
pub fn measure(dir: &Path, args: &[String]) -> io::Result<Counts> {
    let exe = std::env::current_exe()?;
    std::fs::create_dir_all(dir)?;
    let out = dir.join("callgrind.out");
    let status = Command::new("valgrind")
        .args([
            "--tool=callgrind",
            "--separate-threads=yes",
            "--collect-atstart=no",
            "--compress-strings=no",
            "--fair-sched=yes",
        ])
        .arg(format!("--toggle-collect={CLIENT_FN}"))
        .arg(format!("--toggle-collect={SERVER_FN}"))
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg("--quiet")
        .arg(&exe)
        .args(args)
        .status()?;
    if !status.success() {
        return Err(io::Error::other(format!("the workload under callgrind failed ({status}): {}", args.join(" "))));
    }
    let (mut client, mut server) = (None, None);
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        // One file per thread, `callgrind.out-NN` (and an empty `callgrind.out`).
        if !path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("callgrind.out-")) {
            let _ = std::fs::remove_file(&path);
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let _ = std::fs::remove_file(&path);
        let total =
            totals(&text).ok_or_else(|| io::Error::other(format!("no totals in callgrind's {}", path.display())))?;
        let names = |pattern: &str| text.lines().any(|l| l.starts_with("fn=") && l.ends_with(&pattern[1..]));
        match (names(CLIENT_FN), names(SERVER_FN)) {
            (true, false) => client = add(client, total),
            (false, true) => server = add(server, total),
            (false, false) if total == 0 => {}
            _ => return Err(io::Error::other(format!("{}: not one side's thread", path.display()))),
        }
    }
    match (client, server) {
        (Some(client), Some(server)) => Ok(Counts { client, server }),
        _ => Err(io::Error::other(
            "callgrind counted no client or no server thread: were the measured functions inlined?",
        )),
    }
}

fn add(a: Option<u64>, b: u64) -> Option<u64> {
    Some(a.unwrap_or(0) + b)
}

/// The `Ir` total of one callgrind output file (its `totals:` line, or
/// `summary:` in older formats; the first event is `Ir`).
fn totals(text: &str) -> Option<u64> {
    text.lines()
        .rev()
        .find_map(|l| l.strip_prefix("totals:").or_else(|| l.strip_prefix("summary:")))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}
