//! The reply of `_IO_STAT`: Linux's `struct stat` as `<sys/stat.h>` lays
//! it out on this architecture (x86_64: 144 bytes; aarch64: 128), so that
//! a C client can take the reply straight into its `struct stat`. The
//! layout table is checked against `libc::stat` by the tests.

use super::{le, need, MsgError};

/// Where each field lives: (offset, size in bytes).
struct Layout {
    len: usize,
    dev: (usize, usize),
    ino: (usize, usize),
    nlink: (usize, usize),
    mode: (usize, usize),
    uid: (usize, usize),
    gid: (usize, usize),
    rdev: (usize, usize),
    size: (usize, usize),
    blksize: (usize, usize),
    blocks: (usize, usize),
    /// `st_atime`; the `_nsec` fields follow each time at +8, mtime at
    /// +16, ctime at +32.
    atime: usize,
}

#[cfg(target_arch = "aarch64")]
const LAYOUT: Layout = Layout {
    len: 128,
    dev: (0, 8),
    ino: (8, 8),
    mode: (16, 4),
    nlink: (20, 4),
    uid: (24, 4),
    gid: (28, 4),
    rdev: (32, 8),
    size: (48, 8),
    blksize: (56, 4),
    blocks: (64, 8),
    atime: 72,
};

#[cfg(not(target_arch = "aarch64"))]
const LAYOUT: Layout = Layout {
    len: 144,
    dev: (0, 8),
    ino: (8, 8),
    nlink: (16, 8),
    mode: (24, 4),
    uid: (28, 4),
    gid: (32, 4),
    rdev: (40, 8),
    size: (48, 8),
    blksize: (56, 8),
    blocks: (64, 8),
    atime: 72,
};

/// Bytes of the stat reply (`sizeof(struct stat)`).
pub const STAT_LEN: usize = LAYOUT.len;

/// A file's status, the fields of `struct stat`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    /// `st_dev` (0 for resource managers).
    pub dev: u64,
    /// `st_ino`: unique within the server.
    pub ino: u64,
    /// `st_nlink`.
    pub nlink: u64,
    /// `st_mode`: type and permission bits.
    pub mode: u32,
    /// `st_uid`.
    pub uid: u32,
    /// `st_gid`.
    pub gid: u32,
    /// `st_rdev`.
    pub rdev: u64,
    /// `st_size` in bytes.
    pub size: i64,
    /// `st_blksize`.
    pub blksize: i64,
    /// `st_blocks` (512-byte units).
    pub blocks: i64,
    /// `st_atime`, `st_atime_nsec`.
    pub atime: (i64, i64),
    /// `st_mtime`, `st_mtime_nsec`.
    pub mtime: (i64, i64),
    /// `st_ctime`, `st_ctime_nsec`.
    pub ctime: (i64, i64),
}

fn put(b: &mut [u8], (at, size): (usize, usize), v: u64) {
    le::put(b, at, &v.to_le_bytes()[..size]);
}

fn get(b: &[u8], (at, size): (usize, usize)) -> u64 {
    if size == 4 {
        u64::from(le::u32(b, at))
    } else {
        le::u64(b, at)
    }
}

impl Stat {
    /// The reply's bytes. Values too big for a 32-bit field are cut.
    pub fn encode(&self) -> [u8; STAT_LEN] {
        let l = &LAYOUT;
        let mut b = [0u8; STAT_LEN];
        put(&mut b, l.dev, self.dev);
        put(&mut b, l.ino, self.ino);
        put(&mut b, l.nlink, self.nlink);
        put(&mut b, l.mode, self.mode.into());
        put(&mut b, l.uid, self.uid.into());
        put(&mut b, l.gid, self.gid.into());
        put(&mut b, l.rdev, self.rdev);
        put(&mut b, l.size, self.size as u64);
        put(&mut b, l.blksize, self.blksize as u64);
        put(&mut b, l.blocks, self.blocks as u64);
        for (i, t) in [self.atime, self.mtime, self.ctime].into_iter().enumerate() {
            put(&mut b, (l.atime + 16 * i, 8), t.0 as u64);
            put(&mut b, (l.atime + 16 * i + 8, 8), t.1 as u64);
        }
        b
    }

    /// Decodes a stat reply.
    pub fn decode(b: &[u8]) -> Result<Stat, MsgError> {
        need(b, STAT_LEN)?;
        let l = &LAYOUT;
        let time = |i: usize| (get(b, (l.atime + 16 * i, 8)) as i64, get(b, (l.atime + 16 * i + 8, 8)) as i64);
        Ok(Stat {
            dev: get(b, l.dev),
            ino: get(b, l.ino),
            nlink: get(b, l.nlink),
            mode: get(b, l.mode) as u32,
            uid: get(b, l.uid) as u32,
            gid: get(b, l.gid) as u32,
            rdev: get(b, l.rdev),
            size: get(b, l.size) as i64,
            blksize: get(b, l.blksize) as i64,
            blocks: get(b, l.blocks) as i64,
            atime: time(0),
            mtime: time(1),
            ctime: time(2),
        })
    }

    /// Whether the mode says directory.
    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }

    /// Whether the mode says regular file.
    pub fn is_file(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFREG
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn layout_is_libc_stat() {
        let l = &LAYOUT;
        assert_eq!(l.len, size_of::<libc::stat>());
        assert_eq!(l.dev.0, offset_of!(libc::stat, st_dev));
        assert_eq!(l.ino.0, offset_of!(libc::stat, st_ino));
        assert_eq!(l.nlink.0, offset_of!(libc::stat, st_nlink));
        assert_eq!(l.mode.0, offset_of!(libc::stat, st_mode));
        assert_eq!(l.uid.0, offset_of!(libc::stat, st_uid));
        assert_eq!(l.gid.0, offset_of!(libc::stat, st_gid));
        assert_eq!(l.rdev.0, offset_of!(libc::stat, st_rdev));
        assert_eq!(l.size.0, offset_of!(libc::stat, st_size));
        assert_eq!(l.blksize.0, offset_of!(libc::stat, st_blksize));
        assert_eq!(l.blocks.0, offset_of!(libc::stat, st_blocks));
        assert_eq!(l.atime, offset_of!(libc::stat, st_atime));
        assert_eq!(l.atime + 16, offset_of!(libc::stat, st_mtime));
        assert_eq!(l.atime + 32, offset_of!(libc::stat, st_ctime));
    }

    #[test]
    fn round_trip() {
        let s = Stat {
            ino: 7,
            nlink: 1,
            mode: libc::S_IFREG | 0o640,
            uid: 1000,
            gid: 100,
            size: 1 << 40,
            blksize: 4096,
            blocks: 3,
            atime: (1, 2),
            mtime: (3, 4),
            ctime: (5, 6),
            ..Default::default()
        };
        assert_eq!(Stat::decode(&s.encode()), Ok(s));
        assert!(Stat::decode(&s.encode()[..STAT_LEN - 1]).is_err());
    }
}
