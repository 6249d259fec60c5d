//! Shared-memory segments: sealed memfds and their mappings.
//!
//! A segment is created by the server, sized, then sealed against shrinking
//! so neither peer can make the other's accesses fault (`SIGBUS`) by
//! truncating the file under it. It may grow: each side maps more than the
//! file holds at first (the slots' overflow areas) and touches a byte past
//! the first size only after it has seen the file cover it (`grow`,
//! `size`); since the file never shrinks, what was covered stays covered.
//! The receiving side checks the seals and the size before it maps.
#![allow(unsafe_code)]

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{fcntl_add_seals, fcntl_get_seals, fstat, ftruncate, memfd_create, MemfdFlags, SealFlags};
use rustix::io::Errno;
use rustix::mm::{madvise, mmap, munmap, Advice, MapFlags, ProtFlags};
use std::ptr::NonNull;

const REQUIRED_SEALS: SealFlags = SealFlags::SHRINK.union(SealFlags::SEAL);

/// Creates a zeroed memfd of `len` bytes, sealed so it never shrinks (and
/// its seals never change).
pub(crate) fn create_sealed(name: &str, len: usize) -> Result<OwnedFd, Errno> {
    let fd = memfd_create(name, MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)?;
    ftruncate(&fd, len as u64)?;
    fcntl_add_seals(&fd, REQUIRED_SEALS)?;
    Ok(fd)
}

/// The current size of a memfd, bytes.
pub(crate) fn size(fd: impl AsFd) -> Result<usize, Errno> {
    Ok(usize::try_from(fstat(&fd)?.st_size).unwrap_or(0))
}

/// Grows a memfd to at least `len` bytes (never shrinks it: another
/// process may grow it further at the same time); returns its size.
pub(crate) fn grow(fd: impl AsFd, len: usize) -> Result<usize, Errno> {
    let now = size(&fd)?;
    if now >= len {
        return Ok(now);
    }
    match ftruncate(&fd, len as u64) {
        // `PERM`: the shrink seal refused because the file grew past `len`
        // since we looked.
        Ok(()) | Err(Errno::PERM) => size(&fd),
        Err(e) => Err(e),
    }
}
/// A shared mapping of a whole memfd, unmapped on drop.
#[derive(Debug)]
pub(crate) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain shared memory; every access through it goes
// through atomics or explicit copies, which are valid from any thread.
unsafe impl Send for Mapping {}
// SAFETY: as above: `Mapping` hands out only raw pointers and atomics.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps `len` bytes of `fd` read-write after checking that it is sealed
    /// against shrinking and holds at least `backed` bytes. Bytes past the
    /// file's end are mapped but must not be touched until the file covers
    /// them (touching them raises `SIGBUS`).
    pub(crate) fn map_sealed(fd: impl AsFd, backed: usize, len: usize) -> Result<Mapping, Errno> {
        let seals = fcntl_get_seals(&fd)?;
        if !seals.contains(REQUIRED_SEALS) {
            return Err(Errno::PERM);
        }
        if size(&fd)? < backed || backed == 0 || len < backed {
            return Err(Errno::INVAL);
        }
        // SAFETY: we request a fresh mapping (null hint, no MAP_FIXED), so no
        // existing memory is replaced. The file cannot shrink (checked seal):
        // the first `backed` bytes stay backed while the mapping exists, and
        // the rest is only touched once `size` or `grow` showed it backed.
        let ptr =
            unsafe { mmap(std::ptr::null_mut(), len, ProtFlags::READ | ProtFlags::WRITE, MapFlags::SHARED, &fd, 0)? };
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or(Errno::NOMEM)?;
        Ok(Mapping { ptr, len })
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Base address of the mapping.
    pub(crate) fn base(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Backs and maps the pages of `len` bytes at `offset` now (the file's
    /// pages created if nobody has yet), as writing them would, so that the
    /// first access takes no page fault. The range must lie within what
    /// the file holds. Best effort: a kernel without `MADV_POPULATE_WRITE`
    /// (before Linux 5.14) leaves the pages to the first access.
    pub(crate) fn populate(&self, offset: usize, len: usize) {
        debug_assert!(offset.checked_add(len).is_some_and(|end| end <= self.len));
        // SAFETY: the range lies within this mapping (checked by the
        // caller, asserted above) and within the file (the caller's
        // contract; the file never shrinks), so populating it can neither
        // fault nor touch another mapping; `MADV_POPULATE_WRITE` changes no
        // byte of the memory, it only faults the pages in.
        let _ = unsafe { madvise(self.ptr.as_ptr().add(offset).cast(), len, Advice::LinuxPopulateWrite) };
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` describe exactly the mapping created in
        // `map_sealed`, and nothing refers to it after the owner is dropped
        // (accessors borrow the `Mapping`).
        let _ = unsafe { munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_segment_grows_but_never_shrinks() {
        let fd = create_sealed("baton-test", 8192).unwrap();
        assert_eq!(ftruncate(&fd, 4096), Err(Errno::PERM));
        let m = Mapping::map_sealed(&fd, 8192, 16384).unwrap();
        assert_eq!(m.len(), 16384);
        assert_eq!(Mapping::map_sealed(&fd, 12288, 16384).unwrap_err(), Errno::INVAL);
        assert_eq!(grow(&fd, 12288), Ok(12288));
        assert_eq!(grow(&fd, 4096), Ok(12288), "never shrinks");
        // SAFETY: the file now covers the first 12288 bytes of the mapping.
        unsafe { m.base().add(12287).write(7) };
        assert_eq!(size(&fd), Ok(12288));
    }

    #[test]
    fn unsealed_memfd_is_refused() {
        let fd = memfd_create("x", MemfdFlags::CLOEXEC).unwrap();
        ftruncate(&fd, 4096).unwrap();
        assert_eq!(Mapping::map_sealed(&fd, 4096, 4096).unwrap_err(), Errno::PERM);
    }
}
