//! baton itself, in one of its wait modes (both sides the same): the
//! server attaches a name and loops in `receive` + `reply`; the client
//! opens the name and calls `send`.

use super::{Client, Endpoint, Pair, Peer, Server, Work};
use ::baton::{Channel, ChannelBuilder, Connection, Received, WaitMode};
use std::io;

/// baton `send`/`receive`/`reply` under a name unique to the run, with
/// the server's channel and the client's connection in this wait mode.
#[derive(Debug)]
pub struct Baton(pub WaitMode);

impl Peer for Baton {
    fn prepare(&self, _size: usize, tag: &str) -> io::Result<Pair> {
        let name = Some(format!("baton-bench/{tag}"));
        Ok(Pair {
            server: Endpoint { name: name.clone(), ..Endpoint::default() },
            client: Endpoint { name, ..Endpoint::default() },
        })
    }

    fn server(&self, end: Endpoint, _size: usize) -> io::Result<Box<dyn Server>> {
        // What `Channel::attach` sets, plus the mode.
        let b = ChannelBuilder::new().name(end.name()?).disconnect(true).coid_disconnect(true).unblock(true);
        Ok(Box::new(b.wait_mode(self.0).create()?))
    }

    fn client(&self, end: Endpoint, _size: usize) -> io::Result<Box<dyn Client>> {
        Ok(Box::new(Connection::builder().wait_mode(self.0).open(end.name()?)?))
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
