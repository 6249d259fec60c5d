//! A pulse receiver: prints pulses as they arrive, exits on a stop code.
//!
//! A pulse is a small notification (a code and a value) that needs no
//! reply; `Connection::send_pulse` never blocks. The channel keeps a
//! bounded number of each client's pulses waiting (`--capacity`); when a
//! client has that many waiting, its next `send_pulse` fails with `EAGAIN`
//! until the receiver takes some. `--hold` makes that easy to see: the
//! receiver attaches but takes nothing until you press Enter.
//!
//! ```text
//! cargo run -p baton-examples --bin pulse_receiver -- --capacity 4 --hold
//! cargo run -p baton-examples --bin pulse_sender -- --count 10 --stop 127
//! ```
//!
//! The sender reports `EAGAIN` after four pulses and retries; press Enter
//! in the receiver's terminal and all ten arrive, then the stop pulse.

use baton::{Channel, Received};
use clap::{value_parser, Parser};
use std::error::Error;
use std::io;

/// Prints each pulse it receives; exits when one carries the stop code.
#[derive(Parser, Debug)]
struct Args {
    /// Name to attach the channel under.
    #[arg(short, long, default_value = "baton/pulses")]
    name: String,
    /// Exit when a pulse with this code arrives.
    #[arg(long, default_value_t = 127, value_parser = value_parser!(i8).range(0..))]
    stop_code: i8,
    /// Pulses a client may have waiting before its send_pulse fails with EAGAIN.
    #[arg(long, default_value_t = 8)]
    capacity: u32,
    /// Attach, then wait for a line on standard input before receiving.
    #[arg(long)]
    hold: bool,
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    // The builder rather than `Channel::attach`, to set the pulse capacity.
    let channel = Channel::builder().name(&args.name).disconnect(true).pulse_capacity(args.capacity).create()?;
    println!(
        "pulse_receiver: attached as {}; {} pulses per client; stops on code {}",
        args.name, args.capacity, args.stop_code
    );
    if args.hold {
        println!("holding: press Enter to start receiving");
        io::stdin().read_line(&mut String::new())?;
    }

    loop {
        match channel.receive(&mut [])? {
            Received::Pulse(p) => {
                // Codes from clients are 0..=127; negative ones come from
                // baton (-33: a client disconnected).
                println!("pulse code {} value {} scoid {} priority {}", p.code, p.value, p.scoid, p.priority);
                if p.code == args.stop_code {
                    println!("stop code {}: exiting", p.code);
                    return Ok(());
                }
            }
            // Not a message server: dropping the request fails the
            // client's send with EIO.
            Received::Message(req) => drop(req),
        }
    }
}
