//! Resource managers over baton (placeholder header; see below).
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod client;
pub mod msg;

pub use client::{mkdir, open, read_dir, stat, unlink, DirEntry, File, OpenOptions, ReadDir};
pub use msg::Stat;
