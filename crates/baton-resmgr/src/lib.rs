//! Resource managers over baton (placeholder header; see below).
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod msg;
