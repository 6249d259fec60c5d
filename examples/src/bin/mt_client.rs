//! The client of `mt_server`: several calls in flight on one connection.
//!
//! Each command-line argument is one command, sent from a thread of its
//! own; all the threads share one `Connection` (it is `Sync`, and each
//! `send` blocks only its own thread). Each answer is printed as it
//! arrives, with the time since the start, so the order of the lines is
//! the order in which the server finished the commands.
//!
//! ```text
//! cargo run -p baton-examples --bin mt_server -- 4
//! cargo run -p baton-examples --bin mt_client -- "sleep 2000" "add 2 3" whoami
//! ```
//!
//! prints something like
//!
//! ```text
//! [     1 ms] add 2 3 -> 5
//! [     1 ms] whoami -> pid 4242 uid 1000 gid 1000 tid 4245 scoid 3
//! [  2001 ms] sleep 2000 -> slept 2000 ms
//! ```

use baton::Connection;
use clap::Parser;
use std::process::ExitCode;
use std::thread;
use std::time::Instant;

/// Sends each command from its own thread and prints the answers as they come.
#[derive(Parser, Debug)]
struct Args {
    /// Name the server attached.
    #[arg(short, long, default_value = "baton/mt")]
    name: String,
    /// Commands: "sleep MS", "add A B" or "whoami".
    #[arg(required = true)]
    commands: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let conn = match Connection::open(&args.name) {
        Ok(conn) => conn,
        Err(e) => {
            eprintln!("mt_client: no server attached as {}: {e}", args.name);
            return ExitCode::FAILURE;
        }
    };
    let start = Instant::now();
    let failures = thread::scope(|s| {
        let calls: Vec<_> = args.commands.iter().map(|command| s.spawn(|| call(&conn, command, start))).collect();
        calls.into_iter().map(|call| call.join().unwrap_or(false)).filter(|ok| !ok).count()
    });
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Sends one command and prints the answer; whether it succeeded.
fn call(conn: &Connection, command: &str, start: Instant) -> bool {
    let mut reply = [0u8; 256];
    let result = conn.send(command.as_bytes(), &mut reply);
    let ms = start.elapsed().as_millis();
    match result {
        Ok(r) => {
            let answer = String::from_utf8_lossy(&reply[..r.len.min(reply.len())]);
            if r.status == 0 {
                println!("[{ms:>6} ms] {command} -> {answer}");
            } else {
                eprintln!("mt_client: {command}: the server refused it: {answer}");
            }
            r.status == 0
        }
        Err(e) => {
            eprintln!("mt_client: {command}: {e}");
            false
        }
    }
}
