//! Pure protocol logic, apart from system calls so it can be tested alone
//! (and model-checked with loom):
//!
//! - `slot.rs`: the state machine of one call's slot, shared by client and
//!   server, over a small wait/wake interface.
//! - `doorbell.rs`: when a client may skip ringing the server's doorbell
//!   (a promise, a watched slot) or wakes a server asleep on its word.
//! - `queue.rs`: the channel's ready queue, ordered by priority, FIFO within
//!   a priority.
//! - `rcvid.rs`: encoding of receive ids.
//! - `ring.rs`: the server's side of a client's pulse ring.
//! - `hello.rs`: the connection handshake message.
//! - `notice.rs`: the event frames a connection's socket carries after it.
//! - `name.rs`: validation of names.
//! - `parts.rs`: offset arithmetic over scatter/gather lists.
//! - `stream.rs`: how large messages and replies are read while written.

pub(crate) mod doorbell;
#[cfg(not(loom))]
pub(crate) mod hello;
#[cfg(not(loom))]
pub(crate) mod name;
#[cfg(not(loom))]
pub(crate) mod notice;
#[cfg(not(loom))]
pub(crate) mod parts;
#[cfg(not(loom))]
pub(crate) mod queue;
#[cfg(not(loom))]
pub(crate) mod rcvid;
#[cfg(not(loom))]
pub(crate) mod ring;
pub(crate) mod slot;
#[cfg(not(loom))]
pub(crate) mod stream;
