//! Thin wrappers over the Linux system calls baton uses.
//!
//! Everything that talks to the kernel lives here and nowhere else, so the
//! layers above deal in typed values and `Result`s:
//!
//! - `futex.rs`: wait/wake on shared (never `FUTEX_PRIVATE_FLAG`) futex words
//!   with absolute `CLOCK_MONOTONIC` deadlines.
//! - `time.rs`: [`Deadline`], the absolute monotonic deadline every blocking
//!   call takes.
//! - `mem.rs`: sealed memfd segments and their mappings.
//! - `unix.rs`: Unix-domain sockets for connection set-up: listen, connect,
//!   `SCM_RIGHTS`, `SO_PEERCRED`, `SO_PEERPIDFD`.
//! - `event.rs`: eventfd doorbells and epoll sets.
//! - `remote.rs`: `process_vm_readv`/`process_vm_writev` between address spaces.
//! - `sched.rs`: scheduling attributes, set, read, and as boosted now.
//! - `thread.rs`: thread ids, pids, liveness, thread pidfds, fork.
//! - `signal.rs`: queued signals with a value, to this process or a thread.
//! - `timerfd.rs`: the kernel timers behind pulse timers.

pub(crate) mod event;
pub(crate) mod futex;
pub(crate) mod mem;
pub(crate) mod remote;
pub(crate) mod sched;
pub(crate) mod signal;
pub(crate) mod thread;
pub mod time;
pub(crate) mod timerfd;
pub(crate) mod unix;
