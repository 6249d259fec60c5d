//! The client of `echo_server`: open a name, send, print the replies.
//!
//! Each command-line word is sent as one message (or, with no words, each
//! line of standard input), and the reply is printed as it comes back.
//! `Connection::send` blocks until the server has replied, like `MsgSend`.
//!
//! ```text
//! cargo run -p baton-examples --bin echo_server
//! cargo run -p baton-examples --bin echo_client -- hello world
//! printf 'one\ntwo\n' | cargo run -p baton-examples --bin echo_client
//! ```
//!
//! With no server attached it says so and exits with status 1.

use baton::Connection;
use clap::Parser;
use std::error::Error;
use std::io::{self, BufRead};
use std::process::ExitCode;

/// Sends each word (or each line of standard input) and prints the reply.
#[derive(Parser, Debug)]
struct Args {
    /// Name the server attached.
    #[arg(short, long, default_value = "baton/echo")]
    name: String,
    /// Messages to send; standard input's lines if there are none.
    words: Vec<String>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo_client: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), Box<dyn Error>> {
    let conn = Connection::open(&args.name).map_err(|e| format!("no server attached as {}: {e}", args.name))?;
    if args.words.is_empty() {
        for line in io::stdin().lock().lines() {
            println!("{}", echo(&conn, &line?)?);
        }
    } else {
        for word in &args.words {
            println!("{}", echo(&conn, word)?);
        }
    }
    Ok(())
}

/// One round trip: the server's answer to `message`.
fn echo(conn: &Connection, message: &str) -> baton::Result<String> {
    // An echo is as long as the message (`r.len` would say if it were longer).
    let mut reply = vec![0; message.len()];
    let r = conn.send(message.as_bytes(), &mut reply)?;
    reply.truncate(r.len);
    Ok(String::from_utf8_lossy(&reply).into_owned())
}
