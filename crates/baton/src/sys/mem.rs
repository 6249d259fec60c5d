//! Shared-memory segments: sealed memfds and their mappings.
//!
//! A segment is created by the server, sized, then sealed against growing
//! and shrinking so neither peer can make the other's accesses fault
//! (`SIGBUS`) by truncating the file under it. The receiving side checks the
//! seals and the size before it maps.
#![allow(unsafe_code)]

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{fcntl_add_seals, fcntl_get_seals, fstat, ftruncate, memfd_create, MemfdFlags, SealFlags};
use rustix::io::Errno;
use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};
use std::ptr::NonNull;

const REQUIRED_SEALS: SealFlags = SealFlags::SHRINK.union(SealFlags::GROW);

/// Creates a zeroed memfd of `len` bytes, sealed so its size never changes.
pub(crate) fn create_sealed(name: &str, len: usize) -> Result<OwnedFd, Errno> {
    let fd = memfd_create(name, MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)?;
    ftruncate(&fd, len as u64)?;
    fcntl_add_seals(&fd, REQUIRED_SEALS | SealFlags::SEAL)?;
    Ok(fd)
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
    /// Maps `fd` read-write after checking that it is sealed against size
    /// changes and is exactly `len` bytes long.
    pub(crate) fn map_sealed(fd: impl AsFd, len: usize) -> Result<Mapping, Errno> {
        let seals = fcntl_get_seals(&fd)?;
        if !seals.contains(REQUIRED_SEALS) {
            return Err(Errno::PERM);
        }
        let st = fstat(&fd)?;
        if st.st_size as u64 != len as u64 || len == 0 {
            return Err(Errno::INVAL);
        }
        // SAFETY: we request a fresh mapping (null hint, no MAP_FIXED), so no
        // existing memory is replaced; the file cannot shrink (checked seal),
        // so every byte of the mapping stays backed while it exists.
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
    fn sealed_segment_cannot_be_resized() {
        let fd = create_sealed("baton-test", 8192).unwrap();
        assert_eq!(ftruncate(&fd, 4096), Err(Errno::PERM));
        let m = Mapping::map_sealed(&fd, 8192).unwrap();
        assert_eq!(m.len(), 8192);
        assert_eq!(Mapping::map_sealed(&fd, 4096).unwrap_err(), Errno::INVAL);
    }

    #[test]
    fn unsealed_memfd_is_refused() {
        let fd = memfd_create("x", MemfdFlags::CLOEXEC).unwrap();
        ftruncate(&fd, 4096).unwrap();
        assert_eq!(Mapping::map_sealed(&fd, 4096).unwrap_err(), Errno::PERM);
    }
}
