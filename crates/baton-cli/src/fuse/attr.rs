//! What the kernel is told about a node: a server's `struct stat` as FUSE
//! attributes, the attributes of an implied directory, and errors as
//! errnos.
//!
//! A resource manager's device (`S_IFCHR`, a FIFO, …) is shown as a
//! regular file: the kernel would otherwise open the device node's own
//! driver (or refuse, the mount being `nodev`) instead of sending the open
//! here. Directories stay directories.

use baton_resmgr::Stat;
use fuser::{Errno, FileAttr, FileType, INodeNo};
use std::io;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Block size reported when the server gives none.
const BLKSIZE: u32 = 4096;

/// The attributes of node `ino` from its server's status.
pub fn from_stat(ino: u64, st: &Stat) -> FileAttr {
    let time = |(s, ns): (i64, i64)| {
        let d = Duration::new(s.unsigned_abs(), ns.clamp(0, 999_999_999) as u32);
        if s >= 0 {
            UNIX_EPOCH + d
        } else {
            UNIX_EPOCH.checked_sub(d).unwrap_or(UNIX_EPOCH)
        }
    };
    let dir = st.mode & libc::S_IFMT == libc::S_IFDIR;
    let size = u64::try_from(st.size).unwrap_or(0);
    FileAttr {
        ino: INodeNo(ino),
        size,
        blocks: u64::try_from(st.blocks).unwrap_or(0),
        atime: time(st.atime),
        mtime: time(st.mtime),
        ctime: time(st.ctime),
        crtime: time(st.ctime),
        kind: if dir { FileType::Directory } else { FileType::RegularFile },
        perm: (st.mode & 0o7777) as u16,
        nlink: u32::try_from(st.nlink).unwrap_or(u32::MAX).max(1),
        uid: st.uid,
        gid: st.gid,
        rdev: 0,
        flags: 0,
        blksize: u32::try_from(st.blksize).ok().filter(|&b| b > 0).unwrap_or(BLKSIZE),
    }
}

/// The attributes of an implied directory (one that holds prefixes, see
/// `tree.rs`): read and search for everyone, owned by the bridge's user,
/// dated `since` (the mount).
pub fn implied_dir(ino: u64, uid: u32, gid: u32, since: SystemTime) -> FileAttr {
    FileAttr {
        ino: INodeNo(ino),
        size: 0,
        blocks: 0,
        atime: since,
        mtime: since,
        ctime: since,
        crtime: since,
        kind: FileType::Directory,
        perm: 0o555,
        nlink: 2,
        uid,
        gid,
        rdev: 0,
        flags: 0,
        blksize: BLKSIZE,
    }
}

/// The errno to give the kernel for a failed call to a server. A server
/// that died under the call (`ESRCH`) or whose connection is gone gives
/// `EIO`, as a disk that went away would.
pub fn errno(e: &io::Error) -> Errno {
    match e.raw_os_error() {
        Some(libc::ESRCH | libc::ECONNRESET | libc::EPIPE) | None => Errno::EIO,
        Some(n) => Errno::from_i32(n),
    }
}

/// The errno of an error the path space gave.
pub fn errno_of(e: &baton::Error) -> Errno {
    Errno::from_i32(e.errno())
}

/// A Linux `ioctl` number as a QNX `devctl` command (RESMGR.md §3): the
/// same size, class and command bits, the direction bits swapped
/// (`_IOC_WRITE`, 1 << 30, is `DEVDIR_TO`, 1 << 31; `_IOC_READ`, 1 << 31,
/// is `DEVDIR_FROM`, 1 << 30).
pub fn dcmd_of_ioctl(cmd: u32) -> u32 {
    const IOC_WRITE: u32 = 1 << 30;
    const IOC_READ: u32 = 1 << 31;
    const DEVDIR_TO: u32 = 0x8000_0000;
    const DEVDIR_FROM: u32 = 0x4000_0000;
    let mut dcmd = cmd & !(IOC_WRITE | IOC_READ);
    if cmd & IOC_WRITE != 0 {
        dcmd |= DEVDIR_TO;
    }
    if cmd & IOC_READ != 0 {
        dcmd |= DEVDIR_FROM;
    }
    dcmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_show_as_files_directories_as_directories() {
        let st = Stat { mode: libc::S_IFCHR | 0o666, size: -1, nlink: 0, ..Stat::default() };
        let a = from_stat(7, &st);
        assert_eq!((a.ino, a.kind, a.perm, a.size, a.nlink), (INodeNo(7), FileType::RegularFile, 0o666, 0, 1));
        let st = Stat { mode: libc::S_IFDIR | 0o755, mtime: (10, 5), ..Stat::default() };
        let a = from_stat(8, &st);
        assert_eq!((a.kind, a.perm, a.mtime), (FileType::Directory, 0o755, UNIX_EPOCH + Duration::new(10, 5)));
    }

    #[test]
    fn ioctl_directions_swap() {
        // _IOR('x', 1, u32): read 4 bytes from the driver -> __DIOF.
        let ior = (2u32 << 30) | (4 << 16) | (u32::from(b'x') << 8) | 1;
        assert_eq!(dcmd_of_ioctl(ior), 0x4000_0000 | (4 << 16) | (0x78 << 8) | 1);
        // _IOW('x', 2, u64) -> __DIOT.
        let iow = (1u32 << 30) | (8 << 16) | (u32::from(b'x') << 8) | 2;
        assert_eq!(dcmd_of_ioctl(iow), 0x8000_0000 | (8 << 16) | (0x78 << 8) | 2);
        // _IOWR -> __DIOTF; _IO -> no direction.
        assert_eq!(dcmd_of_ioctl((3u32 << 30) | (16 << 16) | 0x7803), 0xC000_0000 | (16 << 16) | 0x7803);
        assert_eq!(dcmd_of_ioctl(0x7804), 0x7804);
    }

    #[test]
    fn dead_servers_are_io_errors() {
        assert_eq!(errno(&io::Error::from_raw_os_error(libc::ESRCH)), Errno::EIO);
        assert_eq!(errno(&io::Error::other("?")), Errno::EIO);
        assert_eq!(errno(&io::Error::from_raw_os_error(libc::EACCES)), Errno::EACCES);
    }
}
