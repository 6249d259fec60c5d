//! libbaton: the QNX Neutrino message-passing C API over baton.
//!
//! A C program written against `<sys/neutrino.h>` and `<sys/dispatch.h>`
//! compiles against the headers in `crates/baton-c/include` and links
//! with `-lbaton -lpthread`. Each exported function corresponds to the QNX
//! call of the same name and keeps its types, constants and behaviour (see
//! the design notes, `SEMANTICS.md`); each has its `_r` twin, which returns
//! `-errno` instead of setting `errno`.
//!
//! - `abi.rs`: the C structures (`struct _msg_info`, `struct _pulse`, ...)
//!   and the numbers that cross the boundary, with pure conversions.
//! - `ffi.rs`: errno, the macro that exports a call and its `_r` twin, and
//!   turning C pointers and `iov_t` arrays into slices.
//! - `table.rs`: the process's channels, connection ids and received
//!   messages by the numbers C programs hold (`chid`, `coid`, `rcvid`).
//! - `timeout.rs`: `TimerTimeout`, per thread.
//! - `channel.rs`: `ChannelCreate`/`Destroy`, `MsgReceive*`.
//! - `connect.rs`: `ConnectAttach`/`Detach`, `ConnectClientInfo`.
//! - `send.rs`: `MsgSend*`, `MsgSendPulse`.
//! - `event.rs`: `MsgDeliverEvent`, `MsgVerifyEvent`, `MsgRegisterEvent`,
//!   `MsgUnregisterEvent`.
//! - `timer.rs`: `timer_create` with `SIGEV_PULSE` and the other `timer_*`
//!   calls, forwarding every other timer to glibc.
//! - `reply.rs`: `MsgReply*`, `MsgError`, `MsgRead*`, `MsgWrite*`, `MsgInfo`.
//! - `name.rs`: `name_attach`, `name_detach`, `name_open`, `name_close`.
//! - `extra.rs`: what `baton.h` adds.
//! - `framework.rs`: the QNX resource-manager framework (`sys/dispatch.h`,
//!   `sys/resmgr.h`, `sys/iofunc.h`), which is C in `src/c` (built by
//!   `build.rs`), exported under its QNX names; and its path attach.
//! - `client.rs`: resource managers' clients: `baton_open`, `baton_read`,
//!   ... (`baton/posix.h`) and `devctl` (`devctl.h`).
#![deny(unsafe_code)]

mod abi;
mod channel;
mod client;
mod connect;
mod event;
mod extra;
mod ffi;
mod framework;
mod name;
mod reply;
mod send;
mod table;
mod timeout;
mod timer;
