//! baton itself, blocking mode: the server attaches a name and loops in
//! `receive` + `reply`; the client opens the name and calls `send`.

use super::{Client, Endpoint, Pair, Peer, Server, Work};
use ::baton::{Channel, Connection, Received};
use std::io;

/// baton `send`/`receive`/`reply` under a name unique to the run.
#[derive(Debug)]
pub struct Baton;

impl Peer for Baton {
    fn prepare(&self, _size: usize, tag: &str) -> io::Result<Pair> {
        let name = Some(format!("baton-bench/{tag}"));
        Ok(Pair {
            server: Endpoint { name: name.clone(), ..Endpoint::default() },
            client: Endpoint { name, ..Endpoint::default() },
        })
    }

    fn server(&self, end: Endpoint, _size: usize) -> io::Result<Box<dyn Server>> {
        Ok(Box::new(Channel::attach(end.name()?)?))
    }

    fn client(&self, end: Endpoint, _size: usize) -> io::Result<Box<dyn Client>> {
        Ok(Box::new(Connection::open(end.name()?)?))
    }
}

impl Client for Connection {
    fn round_trip(&mut self, msg: &[u8], reply: &mut [u8]) -> io::Result<()> {
        let r = self.send(msg, reply)?;
        if r.len != reply.len() {
            return Err(io::Error::other(format!("baton replied {} bytes, expected {}", r.len, reply.len())));
        }
        Ok(())
    }
}

impl Server for Channel {
    fn echo(&mut self, buf: &mut [u8], work: Work) -> io::Result<()> {
        loop {
            match self.receive(buf)? {
                Received::Message(req) => {
                    if req.len() != buf.len() {
                        return Err(io::Error::other(format!(
                            "baton delivered {} bytes, expected {}",
                            req.len(),
                            buf.len()
                        )));
                    }
                    work.run(buf);
                    return Ok(req.reply(0, buf)?);
                }
                Received::Pulse(_) => {} // not part of the round trip
            }
        }
    }
}
