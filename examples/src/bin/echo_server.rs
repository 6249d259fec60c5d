//! An echo server: the smallest complete baton server.
//!
//! It attaches a name, then receives forever: each message is answered with
//! the same bytes, and each pulse (such as the disconnect pulse a client
//! leaves behind when it exits) is printed. Messages of any size are taken
//! whole with `Channel::receive_vec`.
//!
//! Run it, then talk to it with `echo_client` from another terminal:
//!
//! ```text
//! cargo run -p baton-examples --bin echo_server
//! cargo run -p baton-examples --bin echo_client -- hello world
//! ```
//!
//! `--name` attaches another name (default `baton/echo`); the runtime
//! directory is `$BATON_RUNTIME_DIR` if set.

use baton::{pulse_code, Channel, Pulse, Received};
use clap::Parser;
use std::error::Error;

/// Answers every message with the bytes it carried.
#[derive(Parser, Debug)]
struct Args {
    /// Name to attach the channel under.
    #[arg(short, long, default_value = "baton/echo")]
    name: String,
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let channel = Channel::attach(&args.name)?;
    println!("echo_server: attached as {} (pid {}, channel {})", args.name, channel.pid(), channel.id());

    let mut buf = Vec::new();
    loop {
        match channel.receive_vec(&mut buf)? {
            Received::Message(req) => {
                println!("message from pid {}: {} bytes", req.info().pid, buf.len());
                // The client may already be gone; that is its business, not ours.
                if let Err(e) = req.reply(0, &buf) {
                    eprintln!("echo_server: reply failed: {e}");
                }
            }
            Received::Pulse(pulse) => print_pulse(pulse),
        }
    }
}

fn print_pulse(p: Pulse) {
    let what = match p.code {
        pulse_code::DISCONNECT => "disconnect: a client went away",
        pulse_code::UNBLOCK => "unblock: a client timed out waiting for its reply",
        pulse_code::COIDDEATH => "coid death",
        _ => "user pulse",
    };
    println!("pulse code {} ({what}), value {}, scoid {}", p.code, p.value, p.scoid);
}
