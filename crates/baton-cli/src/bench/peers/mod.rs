//! The transports measured, each as two halves: a [`Client`] that sends a
//! request and waits for the reply, and a [`Server`] that answers it with
//! the same bytes. A transport is a [`Peer`]: the bench parent
//! [prepares](Peer::prepare) what the halves share, then each half runs in
//! its own process.
//!
//! - `baton.rs`: baton itself (`Channel::attach` + `send`), in its default
//!   (adaptive), blocking and spin wait modes.
//! - The floors, written plainly: `futex.rs`, a futex ping-pong on shared
//!   memory; `eventfd.rs`, an eventfd each way and the bytes in shared
//!   memory; `spin.rs`, pure spinning on a shared cache line; `pipe.rs`, a
//!   pipe pair.
//! - What users use today: `socket.rs`, Unix `SOCK_SEQPACKET` and
//!   `SOCK_STREAM` sockets and TCP on 127.0.0.1, served by `epoll.rs`: one
//!   listening socket, an epoll set over the accepted ones (any number of
//!   clients); `iceoryx2.rs`, iceoryx2 request-response, each side
//!   sleeping on an iceoryx2 event service; `dbus.rs`, a D-Bus method call
//!   with zbus through a private `dbus-daemon` that the bench parent starts
//!   for the run.
//! - `page.rs`: the request and reply areas of the shared-memory floors, in
//!   `shm.rs`: the shared mapping (also the load section's board).
//!
//! baton and the sockets serve any number of clients on one server (the
//! client endpoint is a name only), which the load section needs.

mod baton;
mod dbus;
mod epoll;
mod eventfd;
mod futex;
mod iceoryx2;
mod page;
mod pipe;
pub mod shm;
mod socket;
mod spin;

use super::plan::Placement;
use super::work::Work;
use ::baton::WaitMode;
use rustix::fd::OwnedFd;
use socket::{Kind, Sockets};
use std::io;

/// A transport the bench can measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Transport {
    /// baton `send`/`receive`/`reply`, default mode (spins briefly when the
    /// peer runs on another CPU).
    Baton,
    /// baton, blocking mode (never spins).
    BatonBlocking,
    /// baton, spin mode (spins up to 1 ms before sleeping).
    BatonSpin,
    /// FUTEX_WAIT/FUTEX_WAKE ping-pong on a shared memfd page.
    Futex,
    /// An eventfd each way, the bytes on a shared memfd page.
    Eventfd,
    /// Both sides spinning on a shared cache line, no system calls.
    Spin,
    /// A pair of pipes, one each way.
    Pipe,
    /// A Unix SOCK_SEQPACKET connection to an epoll server.
    Seqpacket,
    /// A Unix SOCK_STREAM connection to the same epoll server.
    Stream,
    /// A TCP connection on 127.0.0.1 (TCP_NODELAY) to the same epoll server.
    Tcp,
    /// iceoryx2 request-response, both sides sleeping on iceoryx2 events.
    Iceoryx2,
    /// A D-Bus method call (zbus) through a private dbus-daemon.
    Dbus,
}

impl Transport {
    /// Every transport, in table order (baton first: the others are compared
    /// with it).
    pub const ALL: [Transport; 12] = [
        Transport::Baton,
        Transport::BatonBlocking,
        Transport::BatonSpin,
        Transport::Futex,
        Transport::Eventfd,
        Transport::Spin,
        Transport::Pipe,
        Transport::Seqpacket,
        Transport::Stream,
        Transport::Tcp,
        Transport::Iceoryx2,
        Transport::Dbus,
    ];

    /// The transports whose server takes many clients: those the load
    /// section measures, in table order.
    pub const MANY_CLIENTS: [Transport; 2] = [Transport::Baton, Transport::Seqpacket];

    /// The name in the table, the JSON and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Baton => "baton",
            Transport::BatonBlocking => "baton-blocking",
            Transport::BatonSpin => "baton-spin",
            Transport::Futex => "futex",
            Transport::Eventfd => "eventfd",
            Transport::Spin => "spin",
            Transport::Pipe => "pipe",
            Transport::Seqpacket => "seqpacket",
            Transport::Stream => "stream",
            Transport::Tcp => "tcp",
            Transport::Iceoryx2 => "iceoryx2",
            Transport::Dbus => "dbus",
        }
    }

    /// How its waiting sides wait: "default" (baton's adaptive mode),
    /// "blocking" (in the kernel) or "spin" (on memory).
    pub fn mode(self) -> &'static str {
        match self {
            Transport::Baton => "default",
            Transport::BatonSpin | Transport::Spin => "spin",
            _ => "blocking",
        }
    }

    /// The most round trips a run of it measures, if it is too slow for
    /// the usual count: a D-Bus call takes some 300 µs, so 100,000 of them
    /// would make a run of half a minute; 5000 keep it near 2 s.
    pub fn max_round_trips(self) -> Option<u64> {
        match self {
            Transport::Dbus => Some(5_000),
            _ => None,
        }
    }

    /// Its implementation.
    pub fn peer(self) -> &'static dyn Peer {
        match self {
            Transport::Baton => &baton::Baton(WaitMode::Adaptive),
            Transport::BatonBlocking => &baton::Baton(WaitMode::Blocking),
            Transport::BatonSpin => &baton::Baton(WaitMode::Spin),
            Transport::Futex => &futex::Futex,
            Transport::Eventfd => &eventfd::Eventfd,
            Transport::Spin => &spin::Spin,
            Transport::Pipe => &pipe::Pipe,
            Transport::Seqpacket => &Sockets(Kind::Seqpacket),
            Transport::Stream => &Sockets(Kind::Stream),
            Transport::Tcp => &Sockets(Kind::Tcp),
            Transport::Iceoryx2 => &iceoryx2::Iceoryx2,
            Transport::Dbus => &dbus::Dbus,
        }
    }
}

/// What one half is given: descriptors (inherited from the parent) and a
/// name, as its transport needs.
#[derive(Debug, Default)]
pub struct Endpoint {
    pub fds: Vec<OwnedFd>,
    pub name: Option<String>,
    /// Kept by the parent until the run ends, then dropped (never passed to
    /// the peer): what the transport runs or leaves behind for the run, such
    /// as a private daemon to kill or files to remove.
    #[allow(dead_code)] // never read: its drop is what it is for
    pub held: Option<Box<dyn std::fmt::Debug>>,
}

impl Endpoint {
    /// The name, which this transport needs.
    fn name(&self) -> io::Result<&str> {
        self.name.as_deref().ok_or_else(|| io::Error::other("this transport needs --name"))
    }

    /// Exactly `N` descriptors, which this transport needs.
    fn fds<const N: usize>(self) -> io::Result<[OwnedFd; N]> {
        let got = self.fds.len();
        self.fds.try_into().map_err(|_| io::Error::other(format!("this transport needs {N} descriptors, got {got}")))
    }
}

/// The two halves' endpoints, as the parent prepared them.
#[derive(Debug)]
pub struct Pair {
    pub server: Endpoint,
    pub client: Endpoint,
}

/// A transport's code on both sides.
pub trait Peer: Sync {
    /// In the parent: makes what the halves share. `tag` is unique to this
    /// run among all runs on the machine.
    fn prepare(&self, size: usize, tag: &str) -> io::Result<Pair>;
    /// In the parent, before the runs: why this transport cannot carry
    /// `size`-byte messages in `placement` here, if it cannot (the bench
    /// then reports the row skipped, with the reason).
    fn refuse(&self, _size: usize, _placement: Placement) -> Option<String> {
        None
    }
    /// In the server process: sets up the server half for `size`-byte
    /// messages.
    fn server(&self, end: Endpoint, size: usize) -> io::Result<Box<dyn Server>>;
    /// In the client process (after the server is ready): the client half.
    fn client(&self, end: Endpoint, size: usize) -> io::Result<Box<dyn Client>>;
}

/// The client half of a round trip.
pub trait Client {
    /// Sends `msg` and waits for the reply, copied into `reply`.
    fn round_trip(&mut self, msg: &[u8], reply: &mut [u8]) -> io::Result<()>;
}

/// The server half of a round trip.
pub trait Server {
    /// Waits for one request, copies it into `buf`, does `work` on it and
    /// replies with `buf`.
    fn echo(&mut self, buf: &mut [u8], work: Work) -> io::Result<()>;
}
