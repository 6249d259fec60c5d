//! Copies between address spaces: `process_vm_readv` / `process_vm_writev`.
//!
//! The server uses these to move the parts of a large message that do not
//! fit the slot's inline area straight between the client's buffers and its
//! own, in one copy. The kernel checks ptrace permission (same uid, or
//! `CAP_SYS_PTRACE`), so callers must be ready for `EPERM` and fall back.
#![allow(unsafe_code)]

use rustix::io::Errno;

/// One range of the peer's address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RemoteRange {
    pub addr: u64,
    pub len: u64,
}

/// The most ranges one system call takes (`IOV_MAX`).
const IOV_MAX: usize = 1024;

fn to_iovec(r: &RemoteRange) -> libc::iovec {
    libc::iovec { iov_base: r.addr as usize as *mut libc::c_void, iov_len: r.len as usize }
}

/// Reads the concatenation of `remote` (in `pid`) into `local`.
/// Returns the number of bytes read (short if the peer's memory ends early).
pub(crate) fn read(pid: i32, remote: &[RemoteRange], local: &mut [u8]) -> Result<usize, Errno> {
    transfer(pid, remote, local.as_mut_ptr(), local.len(), false)
}

/// Writes `local` over the concatenation of `remote` (in `pid`).
pub(crate) fn write(pid: i32, remote: &[RemoteRange], local: &[u8]) -> Result<usize, Errno> {
    transfer(pid, remote, local.as_ptr().cast_mut(), local.len(), true)
}

fn transfer(pid: i32, remote: &[RemoteRange], local: *mut u8, len: usize, to_remote: bool) -> Result<usize, Errno> {
    let mut done = 0usize;
    for chunk in remote.chunks(IOV_MAX) {
        let want: usize = chunk.iter().map(|r| r.len as usize).sum();
        let want = want.min(len - done);
        if want == 0 {
            break;
        }
        let iov: Vec<libc::iovec> = chunk.iter().map(to_iovec).collect();
        let local_iov = libc::iovec {
            // SAFETY: `done < len`, so the offset stays inside `local`.
            iov_base: unsafe { local.add(done) }.cast(),
            iov_len: want,
        };
        // SAFETY: `local_iov` describes `want` bytes of the caller's buffer
        // (readable for writes to the peer, writable for reads from it);
        // `iov` describes the peer's memory, which the kernel checks and
        // which never aliases ours.
        let n = unsafe {
            if to_remote {
                libc::process_vm_writev(pid, &local_iov, 1, iov.as_ptr(), iov.len() as libc::c_ulong, 0)
            } else {
                libc::process_vm_readv(pid, &local_iov, 1, iov.as_ptr(), iov.len() as libc::c_ulong, 0)
            }
        };
        if n < 0 {
            let e = Errno::from_raw_os_error(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO));
            if done > 0 {
                return Ok(done);
            }
            return Err(e);
        }
        done += n as usize;
        if (n as usize) < want {
            break;
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_own_memory() {
        let src = b"hello, remote world".to_vec();
        let ranges =
            [RemoteRange { addr: src.as_ptr() as u64, len: 5 }, RemoteRange { addr: src.as_ptr() as u64 + 7, len: 6 }];
        let mut out = [0u8; 11];
        let n = read(std::process::id() as i32, &ranges, &mut out).unwrap();
        assert_eq!(n, 11);
        assert_eq!(&out, b"helloremote");
        let mut dst = vec![0u8; 4];
        let r = [RemoteRange { addr: dst.as_mut_ptr() as u64, len: 4 }];
        assert_eq!(write(std::process::id() as i32, &r, b"abcdef").unwrap(), 4);
        assert_eq!(&dst, b"abcd");
    }

    #[test]
    fn bad_address_is_efault() {
        let r = [RemoteRange { addr: 8, len: 4 }];
        let mut out = [0u8; 4];
        assert_eq!(read(std::process::id() as i32, &r, &mut out), Err(Errno::FAULT));
    }
}
