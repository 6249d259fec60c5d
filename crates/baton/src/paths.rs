//! The path space: servers attach path prefixes, clients resolve a path to
//! the servers of its longest attached prefix (QNX's `resmgr_attach` and
//! procnto's pathname resolution, without procnto).
//!
//! ```text
//! <root>/paths/<pid>.<chid>.<id>   symlink; target "<order>:<flags>:<file_type>:<prefix>"
//! ```
//!
//! One `symlink(2)` publishes an entry whole. `order` is the attach time in
//! nanoseconds since the epoch (mount order). An entry of a process that no
//! longer holds its runtime-directory lock is stale: resolution skips and
//! removes it, and the sweep of dead processes removes it too. Only entries
//! made by root or by the resolving user count, so another user cannot
//! capture a path; who may connect is still the channel's own mode.
//!
//! The messages a client then sends (`_IO_CONNECT`, `_IO_READ`, …) are not
//! the core's business: see `docs/RESMGR.md` and the `baton-resmgr` crate.

use crate::error::{Error, Result};
use crate::rundir::{self, runtime_dir};
use crate::server::Channel;
use crate::sys::thread;
use crate::types::ChannelId;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// `_RESMGR_FLAG_BEFORE`: resolve before the other servers of the same prefix.
pub const BEFORE: u32 = 0x1;
/// `_RESMGR_FLAG_AFTER`: resolve after the other servers of the same prefix.
pub const AFTER: u32 = 0x2;
/// `_RESMGR_FLAG_OPAQUE`: hide the shorter prefixes behind this one.
pub const OPAQUE: u32 = 0x4;
/// `_RESMGR_FLAG_DIR`: the prefix also resolves every path below it.
pub const DIR: u32 = 0x100;
const KNOWN_FLAGS: u32 = BEFORE | AFTER | OPAQUE | DIR;
/// Longest prefix (and path) accepted, in bytes.
pub const PATH_MAX: usize = 1024;

static NEXT_ID: AtomicU32 = AtomicU32::new(1);

/// A prefix this process has attached; dropping it detaches the prefix.
#[derive(Debug)]
pub struct PathAttach {
    id: u32,
    prefix: String,
    link: PathBuf,
    target: String,
}

impl PathAttach {
    /// The attachment's id (QNX's link id): the `handle` a client's
    /// `_IO_CONNECT` carries, so a server with several prefixes knows which.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The prefix, as normalised.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Removes the entry now (as dropping does).
    pub fn detach(self) {}
}

impl Drop for PathAttach {
    fn drop(&mut self) {
        if thread::forked() {
            return; // the parent's entry
        }
        if fs::read_link(&self.link).ok().as_deref() == Some(Path::new(&self.target)) {
            let _ = fs::remove_file(&self.link);
        }
    }
}

/// A live entry of the path space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathEntry {
    /// The server's pid.
    pub pid: i32,
    /// The server's channel.
    pub chid: ChannelId,
    /// The attachment's id within the server ([`PathAttach::id`]).
    pub id: u32,
    /// The attached prefix.
    pub prefix: String,
    /// [`DIR`], [`BEFORE`], [`AFTER`], [`OPAQUE`].
    pub flags: u32,
    /// The QNX `_FTYPE_*` the server gave (0 = `_FTYPE_ANY`).
    pub file_type: u32,
    order: u64,
}

/// One server that may handle a resolved path, in the order to try them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathMatch {
    /// The server's pid.
    pub pid: i32,
    /// The server's channel.
    pub chid: ChannelId,
    /// The attachment's id: the `handle` of the `_IO_CONNECT` message.
    pub id: u32,
    /// The attached prefix that matched.
    pub prefix: String,
    /// The path below the prefix, without a leading `/` (`""` for the
    /// prefix itself): the path the `_IO_CONNECT` message carries.
    pub rest: String,
    /// The entry's flags.
    pub flags: u32,
    /// The entry's file type.
    pub file_type: u32,
}

/// Attaches `prefix` to `channel` (which must be this process's): from now
/// on [`resolve`] returns it for the prefix (and, with [`DIR`], for every
/// path below it). `EINVAL` for a malformed prefix or unknown flags.
pub fn attach(prefix: &str, channel: &Channel, flags: u32, file_type: u32) -> Result<PathAttach> {
    Error::check_not_forked()?;
    let prefix = normalize(prefix)?;
    if flags & !KNOWN_FLAGS != 0 || flags & (BEFORE | AFTER) == BEFORE | AFTER {
        return Err(Error::new(libc::EINVAL, "unknown or contradictory path flags").with_detail(format!("{flags:#x}")));
    }
    let dir = rundir::paths_dir()?;
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let order = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let link = dir.join(format!("{}.{}.{id}", thread::pid(), channel.id()));
    let target = format!("{order}:{flags}:{file_type}:{prefix}");
    std::os::unix::fs::symlink(&target, &link).map_err(|e| rundir::io_err(e, "cannot attach the path", &link))?;
    Ok(PathAttach { id, prefix, link, target })
}

/// Every live entry of the path space, in no particular order.
pub fn list() -> Result<Vec<PathEntry>> {
    let dir = runtime_dir().join("paths");
    let rd = match fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(rundir::io_err(e, "cannot read the path space", &dir)),
    };
    let me = thread::uid();
    let mut out = Vec::new();
    for e in rd.flatten() {
        let p = e.path();
        let Some(name) = e.file_name().to_str().map(str::to_owned) else { continue };
        let Ok(md) = fs::symlink_metadata(&p) else { continue };
        if !md.file_type().is_symlink() || (md.uid() != 0 && md.uid() != me) {
            continue;
        }
        let Some(entry) = fs::read_link(&p).ok().and_then(|t| parse(&name, t.to_str()?)) else { continue };
        if !rundir::pid_alive(entry.pid) {
            let _ = fs::remove_file(&p);
            continue;
        }
        if rundir::channel_path(entry.pid, entry.chid).exists() || entry.pid == thread::pid() {
            out.push(entry);
        }
    }
    Ok(out)
}

/// The servers to try for `path`: longest prefix first; for equal
/// prefixes [`BEFORE`] entries first, [`AFTER`] last, otherwise in the
/// order they were attached; an [`OPAQUE`] entry hides shorter prefixes.
/// `path` must be absolute; `.` and `..` are resolved lexically. `ENOENT`
/// when nothing matches.
pub fn resolve(path: &str) -> Result<Vec<PathMatch>> {
    let path = normalize_lexically(path)?;
    let mut found: Vec<(PathEntry, String)> = list()?
        .into_iter()
        .filter_map(|e| {
            let rest = below(&path, &e.prefix, e.flags & DIR != 0)?;
            Some((e, rest.to_owned()))
        })
        .collect();
    let rank = |f: u32| {
        if f & BEFORE != 0 {
            0
        } else if f & AFTER != 0 {
            2
        } else {
            1
        }
    };
    found.sort_by(|(a, _), (b, _)| {
        b.prefix.len().cmp(&a.prefix.len()).then(rank(a.flags).cmp(&rank(b.flags))).then(a.order.cmp(&b.order))
    });
    if let Some(i) = found.iter().position(|(e, _)| e.flags & OPAQUE != 0) {
        let len = found[i].0.prefix.len();
        found.retain(|(e, _)| e.prefix.len() >= len);
    }
    if found.is_empty() {
        return Err(Error::new(libc::ENOENT, "no server has attached this path").with_detail(format!("{path:?}")));
    }
    Ok(found
        .into_iter()
        .map(|(e, rest)| PathMatch {
            pid: e.pid,
            chid: e.chid,
            id: e.id,
            prefix: e.prefix,
            rest,
            flags: e.flags,
            file_type: e.file_type,
        })
        .collect())
}

/// The part of `path` below `prefix` if the prefix matches it.
fn below<'a>(path: &'a str, prefix: &str, dir: bool) -> Option<&'a str> {
    if path == prefix {
        return Some("");
    }
    if !dir {
        return None;
    }
    if prefix == "/" {
        return Some(&path[1..]);
    }
    path.strip_prefix(prefix)?.strip_prefix('/')
}

/// Removes the entries of process `pid` (its exit, or its death found by a
/// sweep).
pub(crate) fn remove_entries_of(pid: i32) {
    let Ok(rd) = fs::read_dir(runtime_dir().join("paths")) else { return };
    let head = format!("{pid}.");
    for e in rd.flatten() {
        if e.file_name().to_str().is_some_and(|n| n.starts_with(&head)) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Parses an entry: the link's name `<pid>.<chid>.<id>` and its target.
fn parse(name: &str, target: &str) -> Option<PathEntry> {
    let mut n = name.split('.');
    let pid = n.next()?.parse().ok()?;
    let chid = n.next()?.parse().ok()?;
    let id = n.next()?.parse().ok()?;
    if n.next().is_some() {
        return None;
    }
    let mut t = target.splitn(4, ':');
    let order = t.next()?.parse().ok()?;
    let flags: u32 = t.next()?.parse().ok()?;
    let file_type = t.next()?.parse().ok()?;
    let prefix = t.next()?;
    // A hand-made entry with a malformed prefix is ignored, not trusted.
    (flags & !KNOWN_FLAGS == 0 && normalize(prefix).ok()? == prefix).then(|| PathEntry {
        pid,
        chid,
        id,
        prefix: prefix.to_owned(),
        flags,
        file_type,
        order,
    })
}

fn invalid(why: &'static str, p: &str) -> Error {
    Error::new(libc::EINVAL, why).with_detail(format!("{p:?}"))
}

/// Checks a prefix: absolute, no empty, `.` or `..` part, no trailing `/`
/// (but `/` itself), no NUL, at most [`PATH_MAX`] bytes.
fn normalize(prefix: &str) -> Result<String> {
    if !prefix.starts_with('/') {
        return Err(invalid("a path prefix must start with '/'", prefix));
    }
    if prefix.len() > PATH_MAX {
        return Err(invalid("a path prefix is limited to 1024 bytes", prefix));
    }
    if prefix.contains('\0') {
        return Err(invalid("a path prefix must not contain a NUL byte", prefix));
    }
    if prefix == "/" {
        return Ok(prefix.to_owned());
    }
    for part in prefix[1..].split('/') {
        match part {
            "" => return Err(invalid("a path prefix must not contain '//' or end in '/'", prefix)),
            "." | ".." => return Err(invalid("a path prefix must not contain '.' or '..' parts", prefix)),
            _ => {}
        }
    }
    Ok(prefix.to_owned())
}

/// Makes an absolute path canonical without the filesystem: drops empty
/// and `.` parts, lets `..` remove the part before it.
fn normalize_lexically(path: &str) -> Result<String> {
    if !path.starts_with('/') {
        return Err(invalid("a path to resolve must be absolute", path));
    }
    if path.len() > PATH_MAX || path.contains('\0') {
        return Err(invalid("a path is limited to 1024 bytes without NUL", path));
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_checked() {
        assert_eq!(normalize("/dev/ser1").unwrap(), "/dev/ser1");
        assert_eq!(normalize("/").unwrap(), "/");
        for bad in ["", "dev", "/dev/", "//dev", "/dev//x", "/./x", "/a/..", "/a\0b"] {
            assert_eq!(normalize(bad).unwrap_err().errno(), libc::EINVAL, "{bad:?}");
        }
        assert!(normalize(&format!("/{}", "a".repeat(PATH_MAX))).is_err());
    }

    #[test]
    fn paths_are_made_canonical_lexically() {
        assert_eq!(normalize_lexically("/dev//ser1/").unwrap(), "/dev/ser1");
        assert_eq!(normalize_lexically("/a/./b/../c").unwrap(), "/a/c");
        assert_eq!(normalize_lexically("/..").unwrap(), "/");
        assert!(normalize_lexically("dev/ser1").is_err());
    }

    #[test]
    fn prefixes_match_whole_components() {
        assert_eq!(below("/dev/ser1", "/dev/ser1", false), Some(""));
        assert_eq!(below("/dev/ser1/x", "/dev/ser1", false), None);
        assert_eq!(below("/dev/ser1/x/y", "/dev/ser1", true), Some("x/y"));
        assert_eq!(below("/dev/ser10", "/dev/ser1", true), None);
        assert_eq!(below("/a/b", "/", true), Some("a/b"));
        assert_eq!(below("/", "/", true), Some(""));
        assert_eq!(below("/a", "/", false), None);
    }

    #[test]
    fn entries_parse_and_malformed_ones_are_ignored() {
        let e = parse("12.3.4", "99:256:0:/dev/x").unwrap();
        assert_eq!((e.pid, e.chid, e.id, e.flags, e.prefix.as_str(), e.order), (12, 3, 4, DIR, "/dev/x", 99));
        assert_eq!(parse("12.3.4", "99:256:0:/dev/x:y").unwrap().prefix, "/dev/x:y");
        for (n, t) in [("12.3", "1:0:0:/x"), ("12.3.4.5", "1:0:0:/x"), ("a.3.4", "1:0:0:/x")] {
            assert!(parse(n, t).is_none(), "{n}");
        }
        for t in ["1:0:0:x", "1:0:0:/x/", "1:999999:0:/x", "x:0:0:/x", "1:0:0", "1:0:0:/a/../b"] {
            assert!(parse("1.2.3", t).is_none(), "{t}");
        }
    }
}
