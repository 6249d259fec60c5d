//! The error type of every baton call: an errno with a sentence.

use std::fmt;

/// What went wrong, as an errno plus a sentence a user understands.
///
/// The errno follows QNX: `ESRCH` when the server went away during a call,
/// `EBADF` for a connection that is closed, `ETIMEDOUT` when a deadline
/// passed, or whatever the server gave to [`Request::error`](crate::Request::error).
/// Convert it to [`std::io::Error`] with `?` or `into()`.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    errno: i32,
    what: &'static str,
    detail: Option<Box<str>>,
}

impl Error {
    /// An error with `errno` and a description of the situation.
    pub(crate) fn new(errno: i32, what: &'static str) -> Error {
        Error { errno, what, detail: None }
    }

    /// Adds a detail (a name, a path, a number) to the sentence.
    pub(crate) fn with_detail(mut self, detail: impl fmt::Display) -> Error {
        self.detail = Some(detail.to_string().into_boxed_str());
        self
    }

    /// `ENOTSUP`: a forked child cannot use the baton state it inherited.
    pub(crate) fn forked() -> Error {
        Error::new(
            libc::ENOTSUP,
            "this process was forked from one that used baton; baton does not survive fork (exec a new program)",
        )
    }

    /// Fails with [`Error::forked`] in such a child.
    #[inline]
    pub(crate) fn check_not_forked() -> Result<()> {
        if crate::sys::thread::forked() {
            return Err(Error::forked());
        }
        Ok(())
    }

    /// An error carrying an errno that came from a peer (the server's
    /// `MsgError`, or a failed system call) without more context.
    pub fn from_errno(errno: i32) -> Error {
        Error::new(errno, describe(errno))
    }

    /// The errno (`libc::ESRCH`, `libc::ETIMEDOUT`, ...).
    pub fn errno(&self) -> i32 {
        self.errno
    }

    /// The `std::io::ErrorKind` for this errno.
    pub fn kind(&self) -> std::io::ErrorKind {
        std::io::Error::from_raw_os_error(self.errno).kind()
    }

    /// Whether this is a timeout (`ETIMEDOUT`).
    pub fn is_timeout(&self) -> bool {
        self.errno == libc::ETIMEDOUT
    }
}

/// The standard sentence for an errno that a peer or the kernel gave us.
fn describe(errno: i32) -> &'static str {
    match errno {
        libc::ESRCH => "the server is gone: its process died or it destroyed the channel",
        libc::EBADF => "the connection is closed",
        libc::ETIMEDOUT => "the call did not complete before its deadline",
        libc::EAGAIN => "out of resources for now; try again",
        libc::EINTR => "the call was interrupted",
        libc::EINVAL => "invalid argument",
        libc::ENOENT => "no such name",
        libc::EACCES | libc::EPERM => "permission denied",
        libc::EFAULT => "a buffer address was not valid",
        libc::EMSGSIZE => "message too large",
        libc::EIO => "the server failed the request",
        libc::EMFILE | libc::ENFILE => "too many open files (connections use descriptors)",
        _ => "the server failed the request with an error",
    }
}

pub(crate) fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::ESRCH => "ESRCH",
        libc::EBADF => "EBADF",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::EAGAIN => "EAGAIN",
        libc::EINTR => "EINTR",
        libc::EINVAL => "EINVAL",
        libc::ENOENT => "ENOENT",
        libc::EACCES => "EACCES",
        libc::EPERM => "EPERM",
        libc::EFAULT => "EFAULT",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::EIO => "EIO",
        libc::EEXIST => "EEXIST",
        libc::ENOSYS => "ENOSYS",
        libc::ENOMEM => "ENOMEM",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::EPROTO => "EPROTO",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::ENOTDIR => "ENOTDIR",
        libc::EMFILE => "EMFILE",
        libc::ENFILE => "ENFILE",
        libc::EBUSY => "EBUSY",
        libc::ENOSPC => "ENOSPC",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::ENOTSUP => "ENOTSUP",
        libc::ECONNRESET => "ECONNRESET",
        libc::EPIPE => "EPIPE",
        _ => "errno",
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)?;
        if let Some(d) = &self.detail {
            write!(f, ": {d}")?;
        }
        write!(f, " ({} {})", errno_name(self.errno), self.errno)
    }
}

/// The same sentence as `Display`, so that `main` returning an error prints
/// something a user can read.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> std::io::Error {
        std::io::Error::new(e.kind(), e)
    }
}

impl From<rustix::io::Errno> for Error {
    fn from(e: rustix::io::Errno) -> Error {
        Error::from_errno(e.raw_os_error())
    }
}

/// Shorthand for results of baton calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_errno() {
        let e = Error::new(libc::EINVAL, "invalid name").with_detail("\"/abs\"");
        assert_eq!(e.to_string(), "invalid name: \"/abs\" (EINVAL 22)");
        let io: std::io::Error = e.clone().into();
        assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput);
        let back = io.get_ref().unwrap().downcast_ref::<Error>().unwrap();
        assert_eq!(back.errno(), libc::EINVAL);
    }
}
