//! The socket transports' server, written the way such servers usually
//! are: one listening socket and a level-triggered epoll set over it and
//! every accepted socket; the single thread takes the ready sockets in the
//! order epoll reports them and answers one request from each (read the
//! request, work, write the reply). Any number of clients, which the load
//! section needs. How a request and a reply move on a socket (whole
//! messages or pieces of a stream) is the socket [`Kind`]'s business; a
//! stream's request, once begun, is read to its end before the server turns
//! to another socket.

use super::socket::{Got, Kind};
use super::{Server, Work};
use rustix::buffer::spare_capacity;
use rustix::event::epoll::{self, CreateFlags, Event, EventData, EventFlags};
use rustix::fd::{AsRawFd, OwnedFd};
use rustix::io::Errno;
use rustix::net::{accept_with, SocketFlags};
use std::collections::{HashMap, VecDeque};
use std::io;

/// The epoll key of the listening socket (accepted sockets are keyed by
/// their descriptor number).
const LISTENER: u64 = u64::MAX;
/// Events taken from the kernel per `epoll_wait`.
const EVENTS: usize = 64;

/// The server: the listening socket, the accepted ones, and the sockets
/// epoll last reported ready that it has not served yet.
pub struct EpollServer {
    kind: Kind,
    /// Request and reply size, bytes.
    size: usize,
    listener: OwnedFd,
    epoll: OwnedFd,
    conns: HashMap<u64, OwnedFd>,
    ready: VecDeque<u64>,
    events: Vec<Event>,
}

impl EpollServer {
    /// Serves `size`-byte requests on `kind` connections accepted from `listener`.
    pub fn new(kind: Kind, listener: OwnedFd, size: usize) -> io::Result<EpollServer> {
        let epoll = epoll::create(CreateFlags::CLOEXEC)?;
        epoll::add(&epoll, &listener, EventData::new_u64(LISTENER), EventFlags::IN)?;
        let (conns, ready, events) = (HashMap::new(), VecDeque::new(), Vec::with_capacity(EVENTS));
        Ok(EpollServer { kind, size, listener, epoll, conns, ready, events })
    }

    /// Sleeps until sockets are ready and queues them in epoll's order.
    fn wait(&mut self) -> io::Result<()> {
        self.events.clear();
        match epoll::wait(&self.epoll, spare_capacity(&mut self.events), None) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
        self.ready.extend(self.events.iter().map(|e| e.data.u64()));
        Ok(())
    }

    fn accept(&mut self) -> io::Result<()> {
        let fd = accept_with(&self.listener, SocketFlags::CLOEXEC)?;
        self.kind.tune(&fd, self.size)?;
        let key = fd.as_raw_fd() as u64;
        epoll::add(&self.epoll, &fd, EventData::new_u64(key), EventFlags::IN)?;
        self.conns.insert(key, fd);
        Ok(())
    }

    /// Reads a request from connection `key` into `buf`: false if there was
    /// none after all, or the client hung up (its socket is then closed).
    fn read(&mut self, key: u64, buf: &mut [u8]) -> io::Result<bool> {
        let Some(fd) = self.conns.get(&key) else {
            return Ok(false); // closed since epoll reported it
        };
        match self.kind.receive(fd, buf, false) {
            Ok(Got::Message) => Ok(true),
            Ok(Got::Nothing) => Ok(false),
            Ok(Got::Closed) => self.close(key).map(|()| false),
            Err(e) => Err(io::Error::other(format!("a client's request: {e}"))),
        }
    }

    /// Answers connection `key`; a client that hung up meanwhile is closed.
    fn write(&mut self, key: u64, buf: &[u8]) -> io::Result<()> {
        let Some(fd) = self.conns.get(&key) else { return Ok(()) };
        match self.kind.send_all(fd, buf) {
            Ok(()) => Ok(()),
            Err(Errno::PIPE | Errno::CONNRESET) => self.close(key),
            Err(e) => Err(e.into()),
        }
    }

    fn close(&mut self, key: u64) -> io::Result<()> {
        if let Some(fd) = self.conns.remove(&key) {
            epoll::delete(&self.epoll, &fd)?;
        }
        Ok(())
    }
}

impl Server for EpollServer {
    fn echo(&mut self, buf: &mut [u8], work: Work) -> io::Result<()> {
        loop {
            let Some(key) = self.ready.pop_front() else {
                self.wait()?;
                continue;
            };
            if key == LISTENER {
                self.accept()?;
            } else if self.read(key, buf)? {
                work.run(buf);
                return self.write(key, buf);
            }
        }
    }
}
