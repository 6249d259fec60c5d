//! Copies between address spaces: `process_vm_readv` / `process_vm_writev`.
//!
//! The server uses these to move the parts of a large message that do not
//! fit the slot's inline area straight between the client's buffers and its
//! own, in one copy. The kernel checks ptrace permission (same uid, or
//! `CAP_SYS_PTRACE`), so callers must be ready for `EPERM` and fall back.
#![allow(unsafe_code)]

use rustix::io::Errno;

/// One range of the peer's address space: as a client publishes its part
/// lists (address, then length, native-endian).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct RemoteRange {
    pub addr: u64,
    pub len: u64,
}

/// The most ranges one system call is given: on the stack.
const BATCH: usize = 64;

/// Reads the concatenation of `remote` (in `pid`) into `local`.
/// Returns the number of bytes read (short if the peer's memory ends early).
pub(crate) fn read(pid: i32, remote: impl IntoIterator<Item = RemoteRange>, local: &mut [u8]) -> Result<usize, Errno> {
    transfer(pid, remote, local.as_mut_ptr(), local.len(), false)
}

/// Writes `local` over the concatenation of `remote` (in `pid`).
pub(crate) fn write(pid: i32, remote: impl IntoIterator<Item = RemoteRange>, local: &[u8]) -> Result<usize, Errno> {
    transfer(pid, remote, local.as_ptr().cast_mut(), local.len(), true)
}

/// Reads `count` ranges published at `addr` in `pid` (a client's part
/// list) into `out`, replacing what it held. `Ok(false)` if the list
/// ends early in the peer's memory.
pub(crate) fn read_ranges(pid: i32, addr: u64, count: usize, out: &mut Vec<RemoteRange>) -> Result<bool, Errno> {
    out.clear();
    out.resize(count, RemoteRange::default());
    let bytes = std::mem::size_of_val(out.as_slice());
    // SAFETY: `RemoteRange` is two `u64`s, `repr(C)` without padding, so
    // its `count` elements are `bytes` initialised bytes that any values
    // written into them leave valid; the slice is dropped before `out` is
    // used again.
    let raw = unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<u8>(), bytes) };
    Ok(read(pid, [RemoteRange { addr, len: bytes as u64 }], raw)? == bytes)
}

fn transfer(
    pid: i32,
    remote: impl IntoIterator<Item = RemoteRange>,
    local: *mut u8,
    len: usize,
    to_remote: bool,
) -> Result<usize, Errno> {
    let mut remote = remote.into_iter();
    let mut iov = [libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; BATCH];
    let mut done = 0usize;
    loop {
        // The next ranges, cut to what is left of `local` (the last one
        // taken may be longer than that, even past what any memory holds).
        let (mut k, mut want) = (0, 0usize);
        while k < BATCH && want < len - done {
            let Some(r) = remote.next() else { break };
            let take = usize::try_from(r.len).unwrap_or(usize::MAX).min(len - done - want);
            if take == 0 {
                continue;
            }
            iov[k] = libc::iovec { iov_base: r.addr as usize as *mut libc::c_void, iov_len: take };
            want += take;
            k += 1;
        }
        if want == 0 {
            break;
        }
        let local_iov = libc::iovec {
            // SAFETY: `done < len`, so the offset stays inside `local`.
            iov_base: unsafe { local.add(done) }.cast(),
            iov_len: want,
        };
        // SAFETY: `local_iov` describes `want` bytes of the caller's buffer
        // (readable for writes to the peer, writable for reads from it);
        // `iov[..k]` describes the peer's memory, which the kernel checks
        // and which never aliases ours.
        let n = unsafe {
            if to_remote {
                libc::process_vm_writev(pid, &local_iov, 1, iov.as_ptr(), k as libc::c_ulong, 0)
            } else {
                libc::process_vm_readv(pid, &local_iov, 1, iov.as_ptr(), k as libc::c_ulong, 0)
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
        let n = read(std::process::id() as i32, ranges, &mut out).unwrap();
        assert_eq!(n, 11);
        assert_eq!(&out, b"helloremote");
        let mut dst = vec![0u8; 4];
        let r = [RemoteRange { addr: dst.as_mut_ptr() as u64, len: 4 }];
        assert_eq!(write(std::process::id() as i32, r, b"abcdef").unwrap(), 4);
        assert_eq!(&dst, b"abcd");
    }

    #[test]
    fn more_ranges_than_one_call_takes() {
        let src: Vec<u8> = (0..=255).collect();
        let pid = std::process::id() as i32;
        // Every other byte, with empty ranges between: 128 + 3 * 64 ranges.
        let ranges: Vec<RemoteRange> = (0..128u64)
            .flat_map(|i| {
                let r = RemoteRange { addr: src.as_ptr() as u64 + 2 * i, len: 1 };
                let empty = RemoteRange { addr: 8, len: 0 };
                if i % 2 == 0 {
                    vec![r, empty, empty, empty]
                } else {
                    vec![r]
                }
            })
            .collect();
        let mut out = [0u8; 128];
        assert_eq!(read(pid, ranges.iter().copied(), &mut out).unwrap(), 128);
        assert!(out.iter().enumerate().all(|(i, &b)| b as usize == 2 * i));
        // A shorter local buffer stops early.
        let mut short = [0u8; 100];
        assert_eq!(read(pid, ranges.iter().copied(), &mut short).unwrap(), 100);
        assert_eq!(short[99], 198);
    }

    /// A client's part list may claim more than any memory holds; the copy
    /// takes only what the local buffer has room for.
    #[test]
    fn a_range_longer_than_the_buffer_is_cut_to_it() {
        let src = *b"hello remote";
        let pid = std::process::id() as i32;
        let ranges = [
            RemoteRange { addr: src.as_ptr() as u64, len: 5 },
            RemoteRange { addr: src.as_ptr() as u64 + 6, len: u64::MAX },
        ];
        let mut out = [0u8; 11];
        assert_eq!(read(pid, ranges, &mut out).unwrap(), 11);
        assert_eq!(&out, b"helloremote");
    }

    #[test]
    fn reads_a_published_part_list() {
        let list: [u64; 6] = [0x1000, 10, 0x2000, 20, 0x3000, 30];
        let pid = std::process::id() as i32;
        let mut out = vec![RemoteRange::default(); 9];
        assert!(read_ranges(pid, list.as_ptr() as u64, 3, &mut out).unwrap());
        let want: Vec<RemoteRange> = list.chunks(2).map(|c| RemoteRange { addr: c[0], len: c[1] }).collect();
        assert_eq!(out, want);
        assert_eq!(read_ranges(pid, 8, 3, &mut out), Err(Errno::FAULT));
    }

    #[test]
    fn bad_address_is_efault() {
        let r = [RemoteRange { addr: 8, len: 4 }];
        let mut out = [0u8; 4];
        assert_eq!(read(std::process::id() as i32, r, &mut out), Err(Errno::FAULT));
    }
}
