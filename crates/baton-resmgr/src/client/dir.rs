//! Reading a directory: `_IO_READ` on a directory's open returns whole
//! `struct dirent` records (msg::dirent); the offset counts entries.

use super::{errno, File, OpenOptions};
use crate::msg::DirentIter;
use std::collections::VecDeque;
use std::io;

/// Bytes asked for per read (QNX's `readdir` buffer is about this size).
const CHUNK: usize = 4096;

/// One entry of a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// `d_ino`: the entry's inode number within its server.
    pub ino: u64,
    /// The entry's name.
    pub name: String,
}

/// The entries of a directory, read a few at a time. Corresponds to
/// `opendir()`/`readdir()`.
#[derive(Debug)]
pub struct ReadDir {
    file: File,
    buf: Vec<u8>,
    pending: VecDeque<DirEntry>,
    done: bool,
}

/// Opens directory `path` for reading its entries.
pub fn read_dir(path: &str) -> io::Result<ReadDir> {
    Ok(OpenOptions::new().read(true).open(path)?.read_dir())
}

impl File {
    /// Reads this open as a directory: its entries from the current offset.
    pub fn read_dir(self) -> ReadDir {
        ReadDir { file: self, buf: vec![0; CHUNK], pending: VecDeque::new(), done: false }
    }
}

impl ReadDir {
    /// Fetches the next batch of records.
    fn fill(&mut self) -> io::Result<()> {
        let n = self.file.read_at_offset(&mut self.buf)?;
        if n == 0 {
            self.done = true;
            return Ok(());
        }
        for rec in DirentIter::new(&self.buf[..n]) {
            let rec = rec.map_err(|_| errno(libc::EIO))?;
            self.pending.push_back(DirEntry { ino: rec.ino, name: rec.name });
        }
        Ok(())
    }
}

impl Iterator for ReadDir {
    type Item = io::Result<DirEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.pending.is_empty() && !self.done {
            if let Err(e) = self.fill() {
                self.done = true;
                return Some(Err(e));
            }
        }
        self.pending.pop_front().map(Ok)
    }
}
