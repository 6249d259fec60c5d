//! The shared-memory segment of one connection: layout and accessors.
//!
//! Each connection (one client process ↔ one channel) has its own segment,
//! created and sized by the server, sealed against resizing, and mapped by
//! exactly those two processes. No other client can see it.
//!
//! ```text
//! offset 0        ConnHeader   fixed geometry (server), posted bits and
//!                              pulse tail (client), pulse head (server)
//!                 PulseEntry × pulse_capacity   client → server pulse ring
//! slots_offset    Slot 0       SlotHeader + inline area
//!                 Slot 1 ...   (slot_stride bytes apart)
//! ```
//!
//! - `layout.rs`: the `#[repr(C)]` structures and the geometry ([`Layout`]).
//! - `segment.rs`: [`Segment`], a mapping with bounds-checked accessors.
//!
//! Every field is an atomic: a peer may write any of them at any time, so
//! the code reads each once, validates it, then uses the local copy. The
//! geometry a side acts on is its own private [`Layout`], never re-read from
//! the segment.

pub(crate) mod layout;
pub(crate) mod segment;

pub(crate) use layout::{Layout, SlotHeader};
pub(crate) use segment::{prefetch_inline, Segment};
