//! A pipe pair: the request goes down one pipe, the reply comes back up the
//! other; each side blocks in `read`.

use super::{Client, Endpoint, Pair, Peer, Server, Work};
use std::fs::File;
use std::io::{self, Read, Write};

/// Two pipes, written and read with plain blocking `write`/`read`.
#[derive(Debug)]
pub struct Pipe;

/// One side's ends: it writes to `tx` and reads from `rx`.
#[derive(Debug)]
struct Ends {
    tx: File,
    rx: File,
}

impl Ends {
    /// The ends an endpoint carries, in the order `[tx, rx]`.
    fn new(end: Endpoint) -> io::Result<Ends> {
        let [tx, rx] = end.fds()?;
        Ok(Ends { tx: tx.into(), rx: rx.into() })
    }
}

impl Peer for Pipe {
    fn prepare(&self, _size: usize, _tag: &str) -> io::Result<Pair> {
        let (request_rx, request_tx) = rustix::pipe::pipe()?;
        let (reply_rx, reply_tx) = rustix::pipe::pipe()?;
        Ok(Pair {
            server: Endpoint { fds: vec![reply_tx, request_rx], ..Endpoint::default() },
            client: Endpoint { fds: vec![request_tx, reply_rx], ..Endpoint::default() },
        })
    }

    fn server(&self, end: Endpoint, _size: usize) -> io::Result<Box<dyn Server>> {
        Ok(Box::new(Ends::new(end)?))
    }

    fn client(&self, end: Endpoint, _size: usize) -> io::Result<Box<dyn Client>> {
        Ok(Box::new(Ends::new(end)?))
    }
}

impl Client for Ends {
    fn round_trip(&mut self, msg: &[u8], reply: &mut [u8]) -> io::Result<()> {
        self.tx.write_all(msg)?;
        self.rx.read_exact(reply)
    }
}

impl Server for Ends {
    fn echo(&mut self, buf: &mut [u8], work: Work) -> io::Result<()> {
        self.rx.read_exact(buf)?;
        work.run(buf);
        self.tx.write_all(buf)
    }
}
