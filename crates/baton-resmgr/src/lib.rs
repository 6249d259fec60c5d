//! Resource managers for baton: all I/O as messages, the QNX way. A server
//! attaches a path; clients `open` it and `read`, `write`, `lseek`,
//! `stat`, `devctl` through QNX's `_IO_*` messages over baton's
//! send/receive/reply (docs/RESMGR.md is the contract).
//!
//! - [`msg`]: the message types, constants and wire layouts.
//! - The client: [`open`] with [`OpenOptions`] gives a [`File`]
//!   (`std::io::Read`, `Write`, `Seek`, plus [`File::stat`],
//!   [`File::devctl`], [`File::read_at`]/[`File::write_at`] (`pread`,
//!   `pwrite`), [`File::chmod`], [`File::chown`]); [`stat`], [`read_dir`],
//!   [`unlink`], [`mkdir`], [`chmod`], [`chown`] by path.
//! - The server: implement [`ResourceManager`] (every operation has the
//!   POSIX default of QNX's `iofunc_*_default`), attach it to a path with a
//!   [`Server`], run it: a thread pool receives and dispatches; opens get
//!   an [`Ocb`], permissions are checked against the [`Attr`], a read can
//!   wait for data ([`Context::defer`]) and clients that give up are
//!   unblocked.
//!
//! # Example
//!
//! A `/dev/null`-like device in a few lines: reads are at end of file (the
//! default), writes are swallowed.
//!
//! ```no_run
//! use baton_resmgr::{Attr, Context, Errno, Ocb, ResourceManager, Server};
//!
//! struct Null;
//!
//! impl ResourceManager for Null {
//!     type State = ();
//!
//!     fn write(&self, _: &mut Context<'_>, _: &mut Ocb<()>, data: &[u8]) -> Result<usize, Errno> {
//!         Ok(data.len())
//!     }
//! }
//!
//! fn main() -> std::io::Result<()> {
//!     let server = Server::new()?;
//!     server.attach("/dev/mynull", 0, Attr::new(libc::S_IFCHR | 0o666), Null)?;
//!     server.run()
//! }
//! ```
//!
//! And a client, in another process:
//!
//! ```no_run
//! use std::io::{Read, Write};
//!
//! let mut f = baton_resmgr::open("/dev/mynull", baton_resmgr::OpenOptions::new().read(true).write(true))?;
//! f.write_all(b"gone")?;
//! assert_eq!(f.read(&mut [0; 16])?, 0);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Map from QNX
//!
//! | QNX | baton-resmgr |
//! |---|---|
//! | `resmgr_attach`, `resmgr_detach` | [`Server::attach`], [`Server::detach`] |
//! | `thread_pool_create`/`_start` | [`Server::builder`] (`threads`), [`Server::run`] |
//! | `resmgr_connect_funcs_t`, `resmgr_io_funcs_t` | [`ResourceManager`] |
//! | `iofunc_attr_t`, `iofunc_ocb_t` | [`Attr`] ([`SharedAttr`]), [`Ocb`] |
//! | `_RESMGR_NOREPLY`, `MsgReply` later | [`Context::defer`], [`Pending`] |
//! | `message_attach` (private message types) | [`Server::message_attach`], [`MessageHandler`] |
//! | `iofunc_notify`, `iofunc_notify_trigger`; `ionotify` | [`Context::notify`], [`SharedAttr::notify_trigger`]; [`File::notify`] |
//! | `open`, `read`, `write`, `pread`, `pwrite`, `lseek`, `fstat`, `devctl`, `ftruncate`, `fchmod`, `fchown`, `close` | [`open`], [`File`] |
//! | `chmod`, `chown`; `iofunc_chmod`, `iofunc_chown` | [`chmod`], [`chown`]; [`ResourceManager::chmod`], [`ResourceManager::chown`] |
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod client;
#[doc(hidden)]
pub mod fuzz;
pub mod msg;
pub mod server;

pub use client::{chmod, chown, mkdir, open, read_dir, stat, unlink, DirEntry, File, OpenOptions, ReadDir};
pub use msg::Stat;
pub use server::{
    Attr, ConnectRequest, Context, Dirents, Errno, MessageHandler, Ocb, Opened, Pending, ResourceManager, Server,
    ServerBuilder, SharedAttr, Space,
};
