//! Synchronous message passing between processes, the way QNX Neutrino
//! does it: a client [sends](Connection::send) a message and blocks; a
//! server [receives](Channel::receive) it, works, and
//! [replies](Request::reply); the client wakes with the answer. A procedure
//! call between processes, with message boundaries, priorities, timeouts,
//! pulses and death notification built in.
//!
//! The bytes travel through shared memory (one segment per connection,
//! visible to the client and the server only); the hand-off is a futex and
//! an eventfd doorbell. There is no daemon: a Unix socket in the runtime
//! directory sets each connection up and tells each side when the other
//! dies.
//!
//! # Example
//!
//! A server and a client in two processes. Here the example re-runs itself
//! as the client; in real code the two are separate programs.
//!
//! ```
//! use baton::{Channel, Connection, Received};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # if std::env::var_os("BATON_RUNTIME_DIR").is_none() {
//! #     let dir = std::env::temp_dir().join(format!("baton-doc-{}", std::process::id()));
//! #     std::env::set_var("BATON_RUNTIME_DIR", &dir);
//! # }
//! if std::env::var_os("DOC_CLIENT").is_some() {
//!     // The client: open the name, call, print the answer.
//!     let conn = Connection::open("example/upper")?;
//!     let mut reply = [0u8; 64];
//!     let r = conn.send(b"hello", &mut reply)?;
//!     assert_eq!(&reply[..r.len], b"HELLO");
//!     std::process::exit(0);
//! }
//!
//! // The server: attach a name, then serve one request.
//! let channel = Channel::attach("example/upper")?;
//! # let mut child = std::process::Command::new(std::env::current_exe()?)
//! #     .args(std::env::args().skip(1)).env("DOC_CLIENT", "1").spawn()?;
//! let mut buf = [0u8; 64];
//! loop {
//! #   let deadline = baton::Deadline::after(std::time::Duration::from_secs(30));
//! #   let received = channel.receive_deadline(&mut buf, deadline)?;
//! #   /*
//!     let received = channel.receive(&mut buf)?;
//! #   */
//!     match received {
//!         Received::Message(req) => {
//!             let upper = buf[..req.len()].to_ascii_uppercase();
//!             req.reply(0, &upper)?;
//!             break;
//!         }
//!         Received::Pulse(_) => {} // e.g. a disconnect notice
//!     }
//! }
//! # assert!(child.wait()?.success());
//! # drop(channel);
//! # let _ = std::fs::remove_dir_all(baton::runtime_dir());
//! # Ok(())
//! # }
//! ```
//!
//! # Map from QNX
//!
//! | QNX | baton |
//! |---|---|
//! | `ChannelCreate`, `ChannelDestroy` | [`Channel::builder`], [`Channel::destroy`] (or drop) |
//! | `name_attach`, `name_open` | [`Channel::attach`], [`Connection::open`] |
//! | `resmgr_attach`'s path, pathname resolution | [`paths::attach`], [`paths::resolve`] (the I/O messages: crate `baton-resmgr`) |
//! | `ConnectAttach`, `ConnectDetach` | [`Connection::attach`], drop |
//! | `MsgSend`, `MsgSendv` | [`Connection::send`], [`Connection::send_vectored`] |
//! | `TimerTimeout` | [`Timeout`], [`Deadline`], the `_deadline` forms |
//! | `MsgReceive`, `MsgReceivePulse` | [`Channel::receive`], [`Channel::receive_pulse`] |
//! | `MsgReply`, `MsgError` | [`Request::reply`], [`Request::error`] |
//! | `MsgRead`, `MsgWrite`, `MsgInfo` | [`Request::read_at`], [`Request::write_at`], [`Request::info`] |
//! | `MsgSendPulse` | [`Connection::send_pulse`] |
//! | `ConnectClientInfo` | [`client_credentials`] |
//! | `struct sigevent`, `SIGEV_PULSE_INIT` | [`Event`], [`Event::pulse`] |
//! | `MsgDeliverEvent`, `MsgVerifyEvent` | [`ReceiveId::deliver`], [`ReceiveId::verify_event`], [`deliver_event_to_self`] |
//! | `MsgRegisterEvent`, `MsgUnregisterEvent` | [`register_event`], [`Connection::register_event`], [`unregister_event`] |
//! | `timer_create` (`SIGEV_PULSE`), `timer_settime`, `timer_delete` | [`Timer`], [`Timer::set`], drop |
//! | `rcvid` | [`ReceiveId`] ([`Request::park`]) |
//!
//! Behaviour follows QNX call by call (see `SEMANTICS.md` in the design
//! notes), with two deliberate differences: a [`Request`] dropped without an
//! answer fails the client's call (`EIO`) instead of leaving it blocked, and
//! any number of channels may ask for death pulses.
#![deny(unsafe_code)]
#![warn(missing_docs)]
// Under loom only the protocol state machines are built.
#![cfg_attr(loom, allow(dead_code, unused_imports))]

/// The README's examples are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

#[cfg(not(loom))]
mod client;
#[cfg(not(loom))]
mod error;
#[cfg(not(loom))]
mod event;
/// Entry points for the fuzz targets (`fuzz/`); not part of the API.
#[cfg(not(loom))]
#[doc(hidden)]
pub mod fuzz;
#[cfg(not(loom))]
pub mod paths;
mod proto;
#[cfg(not(loom))]
mod rundir;
#[cfg(not(loom))]
mod runtime;
#[cfg(not(loom))]
pub mod sched;
#[cfg(not(loom))]
mod server;
#[cfg(not(loom))]
mod shm;
mod sync;
#[cfg(not(loom))]
mod sys;
#[cfg(not(loom))]
mod timer;
#[cfg(not(loom))]
mod types;
#[cfg(not(loom))]
mod wait;

#[cfg(not(loom))]
pub use client::{
    deliver_event_to_self, lost_events, register_event, register_event_for_self, unregister_event, ConnectBuilder,
    Connection, Timeout, DEFAULT_BOOST_DELAY,
};
#[cfg(not(loom))]
pub use error::{Error, Result};
#[cfg(not(loom))]
pub use event::{Event, EventHandle, EVENT_LEN, MAX_REGISTERED, PULSE_PRIO_INHERIT};
#[cfg(not(loom))]
pub use rundir::{runtime_dir, set_runtime_dir, sweep};
#[cfg(not(loom))]
pub use sched::{refresh_thread_priority, set_thread_priority, thread_priority, Policy};
#[cfg(not(loom))]
pub use server::{client_credentials, Channel, ChannelBuilder, ReceiveId, Received, Request, SegmentGeometry};
#[cfg(not(loom))]
pub use sys::time::Deadline;
#[cfg(not(loom))]
pub use timer::{Clock, Timer, TimerSpec};
#[cfg(not(loom))]
pub use types::{chf, pulse_code, ChannelId, ClientCredentials, MsgInfo, Pulse, Reply, WaitMode, MI_UNBLOCK_REQ};
