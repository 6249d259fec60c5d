//! The transports measured, each as two halves: a [`Client`] that sends a
//! request and waits for the reply, and a [`Server`] that answers it with
//! the same bytes. A transport is a [`Peer`]: the bench parent
//! [prepares](Peer::prepare) what the halves share, then each half runs in
//! its own process.
//!
//! - `baton.rs`: baton itself (`Channel::attach` + `send`), in its default
//!   (adaptive), blocking and spin wait modes.
//! - `futex.rs`: the floor: a futex ping-pong on shared memory.
//! - `pipe.rs`: a pipe pair.
//! - `seqpacket.rs`: a Unix `SOCK_SEQPACKET` server: one listening socket,
//!   an epoll set over the accepted ones (any number of clients).
//! - `shm.rs`: the shared mapping the raw shared-memory peers (and the load
//!   section's board) use.
//!
//! baton and seqpacket serve any number of clients on one server (the
//! client endpoint is a name only), which the load section needs.

mod baton;
mod futex;
mod pipe;
mod seqpacket;
pub mod shm;

use super::work::Work;
use ::baton::WaitMode;
use rustix::fd::OwnedFd;
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
    /// A pair of pipes, one each way.
    Pipe,
    /// A Unix SOCK_SEQPACKET connection to an epoll server.
    Seqpacket,
}

impl Transport {
    /// Every transport, in table order (baton first: the others are compared
    /// with it).
    pub const ALL: [Transport; 6] = [
        Transport::Baton,
        Transport::BatonBlocking,
        Transport::BatonSpin,
        Transport::Futex,
        Transport::Pipe,
        Transport::Seqpacket,
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
            Transport::Pipe => "pipe",
            Transport::Seqpacket => "seqpacket",
        }
    }

    /// How its waiting sides wait.
    pub fn mode(self) -> &'static str {
        match self {
            Transport::Baton => "default",
            Transport::BatonSpin => "spin",
            _ => "blocking",
        }
    }

    /// Its implementation.
    pub fn peer(self) -> &'static dyn Peer {
        match self {
            Transport::Baton => &baton::Baton(WaitMode::Adaptive),
            Transport::BatonBlocking => &baton::Baton(WaitMode::Blocking),
            Transport::BatonSpin => &baton::Baton(WaitMode::Spin),
            Transport::Futex => &futex::Futex,
            Transport::Pipe => &pipe::Pipe,
            Transport::Seqpacket => &seqpacket::Seqpacket,
        }
    }
}

/// What one half is given: descriptors (inherited from the parent) and a
/// name, as its transport needs.
#[derive(Debug, Default)]
pub struct Endpoint {
    pub fds: Vec<OwnedFd>,
    pub name: Option<String>,
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
