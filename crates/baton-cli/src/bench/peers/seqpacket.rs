//! A Unix `SOCK_SEQPACKET` server, written the way such servers usually
//! are: one listening socket and a level-triggered epoll set over it and
//! every accepted socket; the single thread takes the ready sockets in the
//! order epoll reports them and answers one request from each (read the
//! request, work, write the reply). A client connects once, then for each
//! call writes its request and reads the reply; the socket keeps message
//! boundaries.
//!
//! The bench parent makes the listening socket, bound to an abstract name
//! unique to the run (nothing is left in the file system), and hands it to
//! the server; clients connect to the name, as many as the run wants.

use super::{Client, Endpoint, Pair, Peer, Server, Work};
use rustix::buffer::spare_capacity;
use rustix::event::epoll::{self, CreateFlags, Event, EventData, EventFlags};
use rustix::fd::{AsRawFd, OwnedFd};
use rustix::io::Errno;
use rustix::net::{
    accept_with, bind, connect, listen, recv, send, socket_with, AddressFamily, RecvFlags, SendFlags, SocketAddrUnix,
    SocketFlags, SocketType,
};
use std::collections::{HashMap, VecDeque};
use std::io;

/// A SOCK_SEQPACKET socket per client, served through epoll.
#[derive(Debug)]
pub struct Seqpacket;

/// Connections the kernel queues before the server accepts them: more than
/// the bench ever opens at once.
const BACKLOG: i32 = 64;
/// The epoll key of the listening socket (accepted sockets are keyed by
/// their descriptor number).
const LISTENER: u64 = u64::MAX;
/// Events taken from the kernel per `epoll_wait`.
const EVENTS: usize = 64;

fn socket() -> io::Result<OwnedFd> {
    Ok(socket_with(AddressFamily::UNIX, SocketType::SEQPACKET, SocketFlags::CLOEXEC, None)?)
}

fn address(name: &str) -> io::Result<SocketAddrUnix> {
    Ok(SocketAddrUnix::new_abstract_name(name.as_bytes())?)
}

impl Peer for Seqpacket {
    fn prepare(&self, _size: usize, tag: &str) -> io::Result<Pair> {
        let name = format!("baton-bench/{tag}");
        let listener = socket()?;
        bind(&listener, &address(&name)?)?;
        listen(&listener, BACKLOG)?;
        Ok(Pair {
            server: Endpoint { fds: vec![listener], ..Endpoint::default() },
            client: Endpoint { name: Some(name), ..Endpoint::default() },
        })
    }

    fn server(&self, end: Endpoint, _size: usize) -> io::Result<Box<dyn Server>> {
        let [listener] = end.fds()?;
        Ok(Box::new(EpollServer::new(listener)?))
    }

    fn client(&self, end: Endpoint, _size: usize) -> io::Result<Box<dyn Client>> {
        let fd = socket()?;
        connect(&fd, &address(end.name()?)?)?;
        Ok(Box::new(Socket(fd)))
    }
}

/// A client's connected socket.
#[derive(Debug)]
struct Socket(OwnedFd);

impl Client for Socket {
    fn round_trip(&mut self, msg: &[u8], reply: &mut [u8]) -> io::Result<()> {
        let sent = send(&self.0, msg, SendFlags::NOSIGNAL)?;
        if sent != msg.len() {
            return Err(io::Error::other(format!("sent {sent} of {} bytes", msg.len())));
        }
        match recv(&self.0, &mut *reply, RecvFlags::empty())? {
            (_, 0) => Err(io::Error::other("the server closed the connection")),
            (_, len) if len != reply.len() => {
                Err(io::Error::other(format!("the server replied {len} bytes, expected {}", reply.len())))
            }
            _ => Ok(()),
        }
    }
}

/// The server: the listening socket, the accepted ones, and the sockets
/// epoll last reported ready that it has not served yet.
struct EpollServer {
    listener: OwnedFd,
    epoll: OwnedFd,
    conns: HashMap<u64, OwnedFd>,
    ready: VecDeque<u64>,
    events: Vec<Event>,
}

impl EpollServer {
    fn new(listener: OwnedFd) -> io::Result<EpollServer> {
        let epoll = epoll::create(CreateFlags::CLOEXEC)?;
        epoll::add(&epoll, &listener, EventData::new_u64(LISTENER), EventFlags::IN)?;
        let (conns, ready, events) = (HashMap::new(), VecDeque::new(), Vec::with_capacity(EVENTS));
        Ok(EpollServer { listener, epoll, conns, ready, events })
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
        match recv(fd, &mut *buf, RecvFlags::DONTWAIT) {
            Ok((_, len)) if len == buf.len() => Ok(true),
            Ok((_, 0)) | Err(Errno::CONNRESET) => self.close(key).map(|()| false),
            Ok((_, len)) => Err(io::Error::other(format!("a client sent {len} bytes, expected {}", buf.len()))),
            Err(Errno::AGAIN) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Answers connection `key`; a client that hung up meanwhile is closed.
    fn write(&mut self, key: u64, buf: &[u8]) -> io::Result<()> {
        let Some(fd) = self.conns.get(&key) else { return Ok(()) };
        match send(fd, buf, SendFlags::NOSIGNAL) {
            Ok(n) if n == buf.len() => Ok(()),
            Ok(n) => Err(io::Error::other(format!("replied {n} of {} bytes", buf.len()))),
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
