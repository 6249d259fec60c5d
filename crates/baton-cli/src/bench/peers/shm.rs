//! A small shared mapping of a memfd, for the raw shared-memory peers: futex
//! words and payload areas at fixed offsets, reached through atomics and
//! byte copies only (never a Rust reference into the peer's bytes).
#![allow(unsafe_code)] // mapping memory and copying into it

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{ftruncate, memfd_create, MemfdFlags};
use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};
use std::ffi::c_void;
use std::io;
use std::ptr::NonNull;
use std::sync::atomic::AtomicU32;

/// Creates an anonymous shared file of `len` bytes (zeroed).
pub fn create(len: usize) -> io::Result<OwnedFd> {
    let fd = memfd_create("baton-bench", MemfdFlags::CLOEXEC)?;
    ftruncate(&fd, len as u64)?;
    Ok(fd)
}

/// The mapping of a shared file, `MAP_SHARED`, read-write.
#[derive(Debug)]
pub struct Shared {
    base: NonNull<c_void>,
    len: usize,
}

impl Shared {
    /// A new zeroed mapping of `len` bytes, with its descriptor (for the
    /// peers, which [`Shared::map`] it).
    pub fn create(len: usize) -> io::Result<(OwnedFd, Shared)> {
        let fd = create(len)?;
        let shared = Shared::map(&fd, len)?;
        Ok((fd, shared))
    }

    /// Maps the first `len` bytes of `fd`.
    pub fn map(fd: impl AsFd, len: usize) -> io::Result<Shared> {
        if rustix::fs::fstat(&fd)?.st_size < len as i64 {
            return Err(io::Error::other("the shared file is smaller than the bench needs"));
        }
        // SAFETY: a fresh mapping chosen by the kernel (null hint) overlaps
        // no Rust object; `fd` is at least `len` bytes long (checked above).
        let ptr =
            unsafe { mmap(std::ptr::null_mut(), len, ProtFlags::READ | ProtFlags::WRITE, MapFlags::SHARED, fd, 0)? };
        let base = NonNull::new(ptr).ok_or_else(|| io::Error::other("mmap returned null"))?;
        Ok(Shared { base, len })
    }

    /// The 32-bit word at `offset` (4-byte aligned, in bounds).
    pub fn word(&self, offset: usize) -> &AtomicU32 {
        assert!(offset % 4 == 0 && offset + 4 <= self.len, "word at {offset} outside the mapping");
        // SAFETY:
        // - in bounds and 4-byte aligned (asserted; the mapping is page-aligned);
        // - the mapping lives as long as `self`, and so does the reference;
        // - every process touches this word only atomically, so a shared
        //   `&AtomicU32` to it is sound even though another process writes it.
        unsafe { &*self.base.as_ptr().cast::<u8>().add(offset).cast::<AtomicU32>() }
    }

    /// Copies `src` into the mapping at `offset`.
    pub fn write(&self, offset: usize, src: &[u8]) {
        self.check(offset, src.len());
        // SAFETY: the destination is inside the mapping (checked) and cannot
        // overlap `src`, which is this process's private memory. The protocol
        // (a futex word handed over with release/acquire) keeps the peer off
        // these bytes while we copy.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), self.at(offset), src.len()) }
    }

    /// Copies bytes at `offset` out of the mapping into `dst`.
    pub fn read(&self, offset: usize, dst: &mut [u8]) {
        self.check(offset, dst.len());
        // SAFETY: as in `write`, with source and destination swapped.
        unsafe { std::ptr::copy_nonoverlapping(self.at(offset), dst.as_mut_ptr(), dst.len()) }
    }

    fn check(&self, offset: usize, len: usize) {
        assert!(offset.checked_add(len).is_some_and(|end| end <= self.len), "copy outside the mapping");
    }

    fn at(&self, offset: usize) -> *mut u8 {
        self.base.as_ptr().cast::<u8>().wrapping_add(offset)
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` are exactly what `mmap` returned, and no
        // reference handed out by `word` outlives `self`.
        let _ = unsafe { munmap(self.base.as_ptr(), self.len) };
    }
}
