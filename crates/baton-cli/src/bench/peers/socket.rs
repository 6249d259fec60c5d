//! The socket transports, what users use today: a Unix `SOCK_SEQPACKET`
//! socket, a Unix `SOCK_STREAM` socket and TCP on 127.0.0.1 (with
//! `TCP_NODELAY`), each a connection to the same epoll server
//! (`epoll.rs`). A client connects once, then for each call writes its
//! request and reads the reply.
//!
//! Framing: a SOCK_SEQPACKET socket keeps message boundaries, so one
//! `send` is one request and one `recv` takes it whole (its length is
//! checked). A stream has no boundaries: both sides write and read in loops
//! until the whole message has moved.
//!
//! A Unix datagram-style socket refuses a message larger than its send
//! buffer, which the kernel caps at `net.core.wmem_max`; the peers grow the
//! buffer to fit (forcing it past the cap where permitted), and the bench
//! parent tries a message of each size on a socket pair first, so a size
//! this machine cannot send is reported skipped with the kernel's answer.
//!
//! The bench parent makes the listening socket (Unix: bound to an abstract
//! name unique to the run, so nothing is left in the file system; TCP: an
//! ephemeral port on 127.0.0.1) and hands it to the server; clients connect
//! to its address, as many as the run wants.

use super::epoll::EpollServer;
use super::{Client, Endpoint, Pair, Peer, Server};
use crate::bench::plan::Placement;
use rustix::fd::{AsFd, OwnedFd};
use rustix::io::Errno;
use rustix::net::sockopt::{
    set_socket_send_buffer_size, set_socket_send_buffer_size_force, set_tcp_nodelay, socket_send_buffer_size,
};
use rustix::net::{
    bind, connect, getsockname, listen, recv, send, socket_with, socketpair, AddressFamily, RecvFlags, SendFlags,
    SocketAddrUnix, SocketFlags, SocketType,
};
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

/// Which socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Unix SOCK_SEQPACKET: message boundaries kept.
    Seqpacket,
    /// Unix SOCK_STREAM.
    Stream,
    /// TCP on 127.0.0.1, TCP_NODELAY.
    Tcp,
}

/// A connection of a [`Kind`] per client, to an epoll server.
#[derive(Debug)]
pub struct Sockets(pub Kind);

/// Connections the kernel queues before the server accepts them: more than
/// the bench ever opens at once.
const BACKLOG: i32 = 64;
/// How long a send retries `ENOBUFS` before it fails.
const NOBUFS_PATIENCE: Duration = Duration::from_secs(1);
/// What a Unix datagram-style socket's send buffer must hold beyond the
/// message (the kernel refuses a message longer than the buffer less 32).
const DGRAM_OVERHEAD: usize = 32;

/// What a receive found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Got {
    /// A whole message.
    Message,
    /// Nothing yet (only when asked not to wait).
    Nothing,
    /// The other side closed the connection before sending a byte of one.
    Closed,
}

impl Kind {
    fn socket(self) -> io::Result<OwnedFd> {
        let (family, kind) = match self {
            Kind::Seqpacket => (AddressFamily::UNIX, SocketType::SEQPACKET),
            Kind::Stream => (AddressFamily::UNIX, SocketType::STREAM),
            Kind::Tcp => (AddressFamily::INET, SocketType::STREAM),
        };
        Ok(socket_with(family, kind, SocketFlags::CLOEXEC, None)?)
    }

    /// Readies a connected socket (a client's or an accepted one) for
    /// `size`-byte messages.
    pub fn tune(self, fd: impl AsFd, size: usize) -> io::Result<()> {
        match self {
            Kind::Seqpacket => make_room(fd, size),
            Kind::Stream => Ok(()),
            Kind::Tcp => Ok(set_tcp_nodelay(fd, true)?),
        }
    }

    /// Sends all of `msg` on a connected socket. `ENOBUFS` (the kernel
    /// found no memory for a big message's buffer just then: seen with
    /// 1 MiB SEQPACKET messages on a machine up for hours) is retried, for
    /// up to [`NOBUFS_PATIENCE`].
    pub fn send_all(self, fd: impl AsFd, msg: &[u8]) -> Result<(), Errno> {
        let mut at = 0;
        let mut short = None;
        while at < msg.len() {
            match send(&fd, &msg[at..], SendFlags::NOSIGNAL) {
                Ok(n) if self == Kind::Seqpacket && n != msg.len() => return Err(Errno::MSGSIZE),
                Ok(n) => at += n,
                Err(Errno::INTR) => {}
                Err(Errno::NOBUFS) if short.get_or_insert_with(Instant::now).elapsed() < NOBUFS_PATIENCE => {
                    std::thread::sleep(Duration::from_micros(100));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Receives one whole message into `buf` (exactly its length), waiting
    /// for its first byte only if `wait` says so; once a stream has given
    /// part of a message, waits for the rest.
    pub fn receive(self, fd: impl AsFd, buf: &mut [u8], wait: bool) -> io::Result<Got> {
        let mut flags = if wait { RecvFlags::empty() } else { RecvFlags::DONTWAIT };
        if self == Kind::Seqpacket {
            flags |= RecvFlags::TRUNC; // reports a longer message's true length
        }
        let first = loop {
            match recv(&fd, &mut *buf, flags) {
                Ok((_, 0)) | Err(Errno::CONNRESET) => return Ok(Got::Closed),
                Ok((_, n)) => break n,
                Err(Errno::AGAIN) if !wait => return Ok(Got::Nothing),
                Err(Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        };
        if self == Kind::Seqpacket {
            if first != buf.len() {
                return Err(io::Error::other(format!("a {first}-byte message, expected {}", buf.len())));
            }
            return Ok(Got::Message);
        }
        let mut at = first;
        while at < buf.len() {
            match recv(&fd, &mut buf[at..], RecvFlags::WAITALL) {
                Ok((n, _)) if n > 0 => at += n,
                Ok(_) | Err(Errno::CONNRESET) => {
                    return Err(io::Error::other(format!("closed after {at} of {} bytes", buf.len())));
                }
                Err(Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Got::Message)
    }

    /// The address clients connect to, written as the endpoint's name.
    fn connect(self, name: &str) -> io::Result<OwnedFd> {
        let fd = self.socket()?;
        match self {
            Kind::Seqpacket | Kind::Stream => connect(&fd, &unix_address(name)?)?,
            Kind::Tcp => {
                let addr: SocketAddrV4 =
                    name.parse().map_err(|e| io::Error::other(format!("address {name:?}: {e}")))?;
                connect(&fd, &addr)?;
            }
        }
        Ok(fd)
    }
}

fn unix_address(name: &str) -> io::Result<SocketAddrUnix> {
    Ok(SocketAddrUnix::new_abstract_name(name.as_bytes())?)
}

/// Grows a Unix datagram-style socket's send buffer to hold a `size`-byte
/// message: as asked if `net.core.wmem_max` allows, else forced where
/// permitted (CAP_NET_ADMIN).
fn make_room(fd: impl AsFd, size: usize) -> io::Result<()> {
    let need = size + DGRAM_OVERHEAD;
    if socket_send_buffer_size(&fd)? >= need {
        return Ok(());
    }
    // The kernel keeps twice what is asked (for its bookkeeping), capped.
    set_socket_send_buffer_size(&fd, need)?;
    if socket_send_buffer_size(&fd)? < need {
        let _ = set_socket_send_buffer_size_force(&fd, need); // refused without the capability
    }
    let got = socket_send_buffer_size(&fd)?;
    if got < need {
        return Err(io::Error::other(format!(
            "the send buffer holds messages of at most {} bytes here (net.core.wmem_max)",
            got - DGRAM_OVERHEAD.min(got)
        )));
    }
    Ok(())
}

/// Whether a `size`-byte message goes through a SOCK_SEQPACKET socket
/// pair here.
fn seqpacket_fits(size: usize) -> io::Result<()> {
    let (a, b) = socketpair(AddressFamily::UNIX, SocketType::SEQPACKET, SocketFlags::CLOEXEC, None)?;
    Kind::Seqpacket.tune(&a, size)?;
    let msg = vec![0x5a; size];
    let mut got = vec![0; size];
    Kind::Seqpacket.send_all(&a, &msg)?;
    match Kind::Seqpacket.receive(&b, &mut got, false)? {
        Got::Message => Ok(()),
        other => Err(io::Error::other(format!("the message did not arrive ({other:?})"))),
    }
}

impl Peer for Sockets {
    fn prepare(&self, _size: usize, tag: &str) -> io::Result<Pair> {
        let kind = self.0;
        let listener = kind.socket()?;
        let name = match kind {
            Kind::Seqpacket | Kind::Stream => {
                let name = format!("baton-bench/{tag}");
                bind(&listener, &unix_address(&name)?)?;
                name
            }
            Kind::Tcp => {
                bind(&listener, &SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))?;
                let addr = SocketAddrV4::try_from(getsockname(&listener)?)
                    .map_err(|_| io::Error::other("the TCP listener has no IPv4 address"))?;
                addr.to_string()
            }
        };
        listen(&listener, BACKLOG)?;
        Ok(Pair {
            server: Endpoint { fds: vec![listener], ..Endpoint::default() },
            client: Endpoint { name: Some(name), ..Endpoint::default() },
        })
    }

    fn refuse(&self, size: usize, _placement: Placement) -> Option<String> {
        // Streams move any size in pieces; only whole messages can be too big.
        if self.0 != Kind::Seqpacket {
            return None;
        }
        seqpacket_fits(size).err().map(|e| format!("a {size}-byte SOCK_SEQPACKET message: {e}"))
    }

    fn server(&self, end: Endpoint, size: usize) -> io::Result<Box<dyn Server>> {
        let [listener] = end.fds()?;
        Ok(Box::new(EpollServer::new(self.0, listener, size)?))
    }

    fn client(&self, end: Endpoint, size: usize) -> io::Result<Box<dyn Client>> {
        let fd = self.0.connect(end.name()?)?;
        self.0.tune(&fd, size)?;
        Ok(Box::new(Socket { kind: self.0, fd }))
    }
}

/// A client's connected socket.
#[derive(Debug)]
struct Socket {
    kind: Kind,
    fd: OwnedFd,
}

impl Client for Socket {
    fn round_trip(&mut self, msg: &[u8], reply: &mut [u8]) -> io::Result<()> {
        self.kind.send_all(&self.fd, msg)?;
        match self.kind.receive(&self.fd, reply, true)? {
            Got::Message => Ok(()),
            Got::Closed | Got::Nothing => Err(io::Error::other("the server closed the connection")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_move_big_messages_whole() {
        let (a, b) = socketpair(AddressFamily::UNIX, SocketType::STREAM, SocketFlags::CLOEXEC, None).unwrap();
        let msg: Vec<u8> = (0..1 << 20).map(|i: u32| i as u8).collect();
        let sender = std::thread::spawn(move || Kind::Stream.send_all(&a, &msg).map(|()| msg));
        let mut got = vec![0; 1 << 20];
        assert_eq!(Kind::Stream.receive(&b, &mut got, true).unwrap(), Got::Message);
        assert_eq!(sender.join().unwrap().unwrap(), got);
    }

    #[test]
    fn seqpacket_checks_the_length() {
        let (a, b) = socketpair(AddressFamily::UNIX, SocketType::SEQPACKET, SocketFlags::CLOEXEC, None).unwrap();
        Kind::Seqpacket.send_all(&a, &[1; 100]).unwrap();
        assert!(Kind::Seqpacket.receive(&b, &mut [0; 64], true).is_err());
        assert_eq!(Kind::Seqpacket.receive(&b, &mut [0; 64], false).unwrap(), Got::Nothing);
        drop(a);
        assert_eq!(Kind::Seqpacket.receive(&b, &mut [0; 64], true).unwrap(), Got::Closed);
    }
}
