//! A `/dev/null`-style resource manager: reads are at end of file, writes
//! are swallowed whole. Everything else (open with its permission check,
//! stat, seek, close) is the framework's POSIX default.
//!
//! ```text
//! cargo run -p baton-examples --bin resmgr-null -- /dev/null2
//! ```
//!
//! It prints `ready` once the path is attached, and a `close` line each
//! time an open ends (closed by its client, or its client died).

use baton_resmgr::{Attr, Errno, Ocb, ResourceManager, Server};
use clap::Parser;

/// Serves a path that reads as empty and swallows writes.
#[derive(Parser, Debug)]
struct Args {
    /// The path to attach (absolute).
    path: String,
    /// Permission bits of the device (octal).
    #[arg(long, default_value = "666", value_parser = |s: &str| u32::from_str_radix(s, 8))]
    mode: u32,
}

struct Null;

impl ResourceManager for Null {
    type State = ();

    // Read: the default (0 bytes: end of file).

    fn write(&self, _: &mut baton_resmgr::Context<'_>, _: &mut Ocb<()>, data: &[u8]) -> Result<usize, Errno> {
        Ok(data.len())
    }

    fn close(&self, ocb: &mut Ocb<()>) {
        println!("close scoid {} coid {}", ocb.scoid(), ocb.coid());
    }
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let server = Server::new()?;
    server.attach(&args.path, 0, Attr::new(libc::S_IFCHR | args.mode), Null)?;
    println!("resmgr-null: ready at {} (pid {})", args.path, std::process::id());
    server.run()
}
