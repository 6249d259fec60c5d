//! A pulse sender: `Connection::send_pulse`, and what to do about `EAGAIN`.
//!
//! Sends `--count` pulses with code `--code` and values 0, 1, 2, ...
//! `send_pulse` never blocks: when the receiver already has `capacity`
//! pulses of ours waiting it fails with `EAGAIN` (nothing is lost
//! silently), and this sender waits a little and tries again.
//!
//! With `--stop CODE` it then sends the receiver's stop code and waits
//! until the receiver has exited (pulses a sender leaves behind are still
//! delivered, so this is only to report the end). It learns that the
//! receiver is gone from a `COIDDEATH` pulse on a private channel of its
//! own, the way a QNX client would.
//!
//! ```text
//! cargo run -p baton-examples --bin pulse_receiver -- --capacity 4 --hold
//! cargo run -p baton-examples --bin pulse_sender -- --count 10 --stop 127
//! ```

use baton::{pulse_code, Channel, Connection, Deadline};
use clap::{value_parser, Parser};
use std::error::Error;
use std::io;
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

/// How long to wait before trying again after `EAGAIN`.
const RETRY: Duration = Duration::from_millis(10);
/// How long to wait for the receiver to exit after the stop pulse.
const EXIT_WAIT: Duration = Duration::from_secs(30);

/// Sends pulses, retrying while the receiver's storage for them is full.
#[derive(Parser, Debug)]
struct Args {
    /// Name the receiver attached.
    #[arg(short, long, default_value = "baton/pulses")]
    name: String,
    /// Pulses to send; their values count up from 0.
    #[arg(long, default_value_t = 20)]
    count: u32,
    /// Their code.
    #[arg(long, default_value_t = 1, value_parser = value_parser!(i8).range(0..))]
    code: i8,
    /// Finally send this code and wait until the receiver has exited.
    #[arg(long, value_parser = value_parser!(i8).range(0..))]
    stop: Option<i8>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pulse_sender: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), Box<dyn Error>> {
    // Created first, so that no death of the receiver can go unnoticed.
    let deaths = Channel::builder().private(true).coid_disconnect(true).create()?;
    let conn = Connection::open(&args.name).map_err(|e| format!("no receiver attached as {}: {e}", args.name))?;

    let mut found_full = 0;
    for value in 0..args.count {
        if send(&conn, args.code, value.into())? {
            found_full += 1;
        }
    }
    println!("sent {} pulses; {found_full} of them had to wait for room", args.count);

    if let Some(stop) = args.stop {
        send(&conn, stop, 0)?;
        println!("sent stop code {stop}; waiting for the receiver to exit");
        wait_for_exit(&deaths, &conn).map_err(|e| format!("the receiver did not exit: {e}"))?;
        println!("the receiver has exited");
    }
    Ok(())
}

/// Waits for the `COIDDEATH` pulse that says `conn`'s server is gone.
fn wait_for_exit(deaths: &Channel, conn: &Connection) -> baton::Result<()> {
    let deadline = Deadline::after(EXIT_WAIT);
    loop {
        let p = deaths.receive_pulse(deadline)?;
        if p.code == pulse_code::COIDDEATH && p.value == i64::from(conn.id()) {
            return Ok(());
        }
    }
}

/// Sends one pulse, retrying while the receiver's storage is full; whether
/// it had to wait.
fn send(conn: &Connection, code: i8, value: i64) -> baton::Result<bool> {
    let mut waited = false;
    loop {
        match conn.send_pulse(code, value) {
            Ok(()) => return Ok(waited),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if !waited {
                    println!("pulse {value}: EAGAIN, retrying: {e}");
                    waited = true;
                }
                thread::sleep(RETRY);
            }
            Err(e) => return Err(e),
        }
    }
}
