//! A multi-threaded server: a pool of threads receiving on one channel.
//!
//! Every thread blocks in `Channel::receive` on the same `Arc<Channel>`;
//! each message goes to one of them, so a slow request occupies one thread
//! while the others go on serving. Requests are small text commands:
//!
//! - `sleep <ms>`: simulated work, answered after `<ms>` milliseconds;
//! - `add <a> <b>`: the sum;
//! - `whoami`: what `Request::info` says about the sender (pid, uid, ...).
//!
//! A reply with status 0 carries the answer; status 1 carries what was
//! wrong with the request. Each thread logs the requests it takes (`<-`)
//! and answers (`->`). Drive it with `mt_client`:
//!
//! ```text
//! cargo run -p baton-examples --bin mt_server -- 4
//! cargo run -p baton-examples --bin mt_client -- "sleep 2000" "add 2 3" whoami
//! ```
//!
//! The additions and the `whoami` are answered at once, the sleep two
//! seconds later. With one thread (`mt_server -- 1`) everything sent
//! after the sleep waits for it.

use baton::{Channel, MsgInfo, Received};
use clap::Parser;
use std::error::Error;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// Serves `sleep <ms>`, `add <a> <b>` and `whoami` with a pool of threads.
#[derive(Parser, Debug)]
struct Args {
    /// Receiving threads.
    #[arg(default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    threads: u32,
    /// Name to attach the channel under.
    #[arg(short, long, default_value = "baton/mt")]
    name: String,
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let channel = Arc::new(Channel::attach(&args.name)?);
    println!("mt_server: {} threads serving {}", args.threads, args.name);

    let workers: Vec<_> = (0..args.threads)
        .map(|n| {
            let channel = Arc::clone(&channel);
            thread::spawn(move || serve(n, &channel))
        })
        .collect();
    // The workers only return if receiving fails.
    for worker in workers {
        worker.join().map_err(|_| "a worker thread panicked")??;
    }
    Ok(())
}

/// One worker: receive, execute, reply, forever.
fn serve(n: u32, channel: &Channel) -> baton::Result<()> {
    let mut buf = [0u8; 256];
    loop {
        let req = match channel.receive(&mut buf)? {
            Received::Message(req) => req,
            Received::Pulse(p) => {
                println!("[thread {n}] pulse code {} from scoid {}", p.code, p.scoid);
                continue;
            }
        };
        let info = req.info();
        let command = String::from_utf8_lossy(&buf[..req.len()]).into_owned();
        println!("[thread {n}] <- {command} (pid {})", info.pid);
        let (status, answer) = match execute(&command, &info) {
            Ok(answer) => (0, answer),
            Err(problem) => (1, problem),
        };
        println!("[thread {n}] -> {command}: {answer}");
        if let Err(e) = req.reply(status, answer.as_bytes()) {
            eprintln!("[thread {n}] reply to {command:?} failed: {e}");
        }
    }
}

/// Runs one command; the answer, or what is wrong with the command.
fn execute(command: &str, info: &MsgInfo) -> Result<String, String> {
    let number = |s: &str| s.parse::<i64>().map_err(|e| format!("{s:?} is not a number: {e}"));
    let words: Vec<&str> = command.split_whitespace().collect();
    match words[..] {
        ["sleep", ms] => {
            let ms = ms.parse().map_err(|e| format!("{ms:?} is not a number of milliseconds: {e}"))?;
            thread::sleep(Duration::from_millis(ms));
            Ok(format!("slept {ms} ms"))
        }
        ["add", a, b] => {
            let sum = number(a)?.checked_add(number(b)?).ok_or("the sum overflows")?;
            Ok(sum.to_string())
        }
        ["whoami"] => {
            Ok(format!("pid {} uid {} gid {} tid {} scoid {}", info.pid, info.uid, info.gid, info.tid, info.scoid))
        }
        _ => Err(format!("unknown command {command:?}; try \"sleep <ms>\", \"add <a> <b>\" or \"whoami\"")),
    }
}
