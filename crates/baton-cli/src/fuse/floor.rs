//! FUSE's own floor, for `baton bench`'s read section (`baton fuse DIR
//! --bench-floor`): a filesystem of one file, `DIR/file`, whose reads are
//! answered from this process's memory with the read bench's bytes. It is
//! mounted as the bridge is (the same session threads, options and
//! `direct_io` opens), so a read of it costs what FUSE itself costs; the
//! bridge's read costs that plus the resource manager's message.

use super::attr::implied_dir;
use super::fs::OPEN_FLAGS;
use crate::bench::read::{byte_at, FILE_BYTES};
use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, Generation, INodeNo, LockOwner, OpenFlags, ReplyAttr, ReplyData,
    ReplyEntry, ReplyOpen, Request,
};
use std::ffi::OsStr;
use std::time::{Duration, SystemTime};

/// The file's name in the mount's root.
pub const FILE: &str = "file";
/// The root's node number (FUSE's) and the file's.
const ROOT: u64 = 1;
const FILE_INO: u64 = 2;
/// Attributes never change: the kernel may keep them.
const TTL: Duration = Duration::from_secs(3600);

/// The filesystem: the bytes, twice over (a read that wraps is one slice).
#[derive(Debug)]
pub struct Floor {
    bytes: Vec<u8>,
    uid: u32,
    gid: u32,
    mounted: SystemTime,
}

impl Floor {
    pub fn new() -> Floor {
        Floor {
            bytes: (0..2 * FILE_BYTES).map(byte_at).collect(),
            uid: rustix::process::getuid().as_raw(),
            gid: rustix::process::getgid().as_raw(),
            mounted: SystemTime::now(),
        }
    }

    fn attr(&self, ino: u64) -> Option<FileAttr> {
        let dir = implied_dir(ino, self.uid, self.gid, self.mounted);
        match ino {
            ROOT => Some(dir),
            FILE_INO => Some(FileAttr {
                size: FILE_BYTES as u64,
                blocks: FILE_BYTES as u64 / 512,
                kind: FileType::RegularFile,
                perm: 0o444,
                nlink: 1,
                ..dir
            }),
            _ => None,
        }
    }
}

impl Filesystem for Floor {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match self.attr(FILE_INO) {
            Some(a) if parent.0 == ROOT && name == FILE => reply.entry(&TTL, &a, Generation(0)),
            _ => reply.error(Errno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.attr(ino.0) {
            Some(a) => reply.attr(&TTL, &a),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match ino.0 {
            FILE_INO => reply.opened(FileHandle(0), OPEN_FLAGS),
            _ => reply.error(Errno::EISDIR),
        }
    }

    /// The file's bytes at `offset`, wrapped at its end as the read bench's
    /// resource manager wraps them.
    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let at = (offset % FILE_BYTES as u64) as usize;
        let n = (size as usize).min(FILE_BYTES);
        reply.data(&self.bytes[at..at + n]);
    }
}
