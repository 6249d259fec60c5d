//! Moving the parts of a message that do not fit the inline area.
//!
//! Two ways, chosen per connection:
//! - **direct**: `process_vm_readv`/`process_vm_writev` between the client's
//!   buffers (whose addresses it published in the slot) and ours: one copy,
//!   no help from the client. Needs ptrace permission (same uid, or
//!   `CAP_SYS_PTRACE`); the first `EPERM` switches the connection to
//! - **assisted**: the server asks the blocked client thread, through the
//!   slot, to copy a chunk between its buffers and the inline area, and
//!   waits for it; one inline area's worth per round trip.
//!
//! The client's addresses are only ever used on the client's own process
//! (its pid from the kernel), so a lying client can only fault itself.

use super::accept::{ServerConn, REMOTE_DENIED, REMOTE_OK};
use crate::proto::parts;
use crate::proto::slot::{self, XFER_PENDING};
use crate::shm::layout::{XFER_READ, XFER_WRITE};
use crate::sys::futex;
use crate::sys::remote::{self, RemoteRange};
use crate::sys::thread;
use crate::sys::time::Deadline;
use crate::wait::SlotFutex;
use std::io::{IoSlice, IoSliceMut};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::Duration;

/// A request's part lists ([`PartLists`]), from the first copy that needs
/// them (large messages). Boxed, so that a `Request` stays small enough to
/// move without a call to `memcpy`; the box is its thread's spare, handed
/// back when the request goes, so that copies allocate nothing once a
/// thread has had one. Dropping one that was never needed is a check of
/// `None`, as for a plain `Option<Box<_>>`.
#[derive(Debug, Default)]
pub(crate) struct Lists(Option<Box<PartLists>>);

impl Lists {
    /// The lists: the thread's spare (emptied), or new ones, at first.
    pub(crate) fn get(&mut self) -> &mut PartLists {
        self.0.get_or_insert_with(|| SPARE.try_with(|s| s.take()).ok().flatten().unwrap_or_default())
    }
}

impl Drop for Lists {
    // Inline: on every message, the drop of lists never needed is this
    // check alone.
    #[inline]
    fn drop(&mut self) {
        if let Some(lists) = self.0.take() {
            keep(lists);
        }
    }
}

/// Keeps `lists`, emptied, as the thread's spare.
#[cold]
fn keep(mut lists: Box<PartLists>) {
    lists.read = [false; 2];
    for l in &mut lists.lists {
        l.clear();
        l.shrink_to(SPARE_RANGES);
    }
    let _ = SPARE.try_with(|s| s.set(Some(lists)));
}

/// The client's part lists of one message, for direct copies: each read
/// from its memory by the first copy that needs it.
#[derive(Debug, Default)]
pub(crate) struct PartLists {
    /// By [`Parts`]: the send parts, the reply parts.
    lists: [Vec<RemoteRange>; 2],
    read: [bool; 2],
}

/// Entries of a spare's list kept for the next message; longer lists are
/// freed.
const SPARE_RANGES: usize = 64;

std::thread_local! {
    static SPARE: std::cell::Cell<Option<Box<PartLists>>> = const { std::cell::Cell::new(None) };
}

/// Which of the client's part lists a transfer uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Parts {
    /// The message it sends.
    Send = 0,
    /// The buffers its reply goes to.
    Reply = 1,
}

/// Most scatter/gather parts a client may describe (`IOV_MAX`).
const MAX_PARTS: u32 = 1024;

/// How long a server waits for a client to serve one assisted chunk before
/// failing the operation with `ETIMEDOUT` (a client that stopped helping
/// must not hang the server).
const ASSIST_TIMEOUT: Duration = Duration::from_secs(5);

/// Reads message bytes `offset..offset + dst.len()` of the client's send
/// parts into `dst`.
pub(crate) fn read(
    conn: &ServerConn,
    slot: u32,
    iov: Parts,
    lists: &mut PartLists,
    offset: u64,
    dst: &mut [u8],
) -> Result<usize, i32> {
    copy(conn, slot, iov, lists, offset, Buf::Read(dst))
}

/// Writes `src` into the client's reply parts at `offset`. The slot must be
/// `BUSY`.
pub(crate) fn write(
    conn: &ServerConn,
    slot: u32,
    iov: Parts,
    lists: &mut PartLists,
    offset: u64,
    src: &[u8],
) -> Result<usize, i32> {
    copy(conn, slot, iov, lists, offset, Buf::Write(src))
}

/// `buf` from or to the client's parts at `offset`: directly if the
/// connection may, through the inline area otherwise.
fn copy(
    conn: &ServerConn,
    slot: u32,
    iov: Parts,
    lists: &mut PartLists,
    offset: u64,
    mut buf: Buf<'_>,
) -> Result<usize, i32> {
    if let Some(ranges) = direct_ranges(conn, slot, iov, lists)? {
        let win = parts::from_offset(ranges, offset);
        let copied = match &mut buf {
            Buf::Read(dst) => remote::read(conn.cred.pid, win, dst),
            Buf::Write(src) => remote::write(conn.cred.pid, win, src),
        };
        match copied {
            Ok(n) => return Ok(n),
            Err(e) if e.raw_os_error() == libc::EPERM => conn.remote.store(REMOTE_DENIED, Relaxed),
            Err(e) => return Err(e.raw_os_error()),
        }
    }
    assisted(conn, slot, offset, buf)
}

/// The client's part list for direct copies, read once; `None` when
/// direct copies are not possible for this connection.
fn direct_ranges<'l>(
    conn: &ServerConn,
    slot: u32,
    which: Parts,
    lists: &'l mut PartLists,
) -> Result<Option<&'l [RemoteRange]>, i32> {
    if conn.is_dead() || conn.pidfd().is_some_and(|p| !thread::pidfd_alive(p)) {
        return Err(libc::ESRCH);
    }
    if conn.remote.load(Relaxed) == REMOTE_DENIED {
        return Ok(None);
    }
    let i = which as usize;
    if !lists.read[i] {
        let h = conn.seg.slot(slot);
        let (addr, count) = match which {
            Parts::Send => (h.send_iov.load(Relaxed), h.send_parts.load(Relaxed)),
            Parts::Reply => (h.reply_iov.load(Relaxed), h.reply_parts.load(Relaxed)),
        };
        if count > MAX_PARTS {
            return Err(libc::EINVAL);
        }
        match remote::read_ranges(conn.cred.pid, addr, count as usize, &mut lists.lists[i]) {
            Ok(true) => {}
            Ok(false) => return Err(libc::EFAULT),
            Err(e) if e.raw_os_error() == libc::EPERM => {
                conn.remote.store(REMOTE_DENIED, Relaxed);
                return Ok(None);
            }
            Err(e) => return Err(e.raw_os_error()),
        }
        conn.remote.store(REMOTE_OK, Relaxed);
        lists.read[i] = true;
    }
    Ok(Some(&lists.lists[i]))
}

enum Buf<'a> {
    Read(&'a mut [u8]),
    Write(&'a [u8]),
}

impl Buf<'_> {
    fn len(&self) -> usize {
        match self {
            Buf::Read(b) => b.len(),
            Buf::Write(b) => b.len(),
        }
    }
}

/// Moves the bytes through the inline area, one chunk per round trip with
/// the blocked client thread.
fn assisted(conn: &ServerConn, slot: u32, offset: u64, mut buf: Buf<'_>) -> Result<usize, i32> {
    let h = conn.seg.slot(slot);
    let f = SlotFutex(h);
    let chunk = conn.seg.layout().inline_size as usize;
    let len = buf.len();
    let op = match buf {
        Buf::Read(_) => XFER_READ,
        Buf::Write(_) => XFER_WRITE,
    };
    let mut done = 0;
    while done < len {
        let n = chunk.min(len - done);
        if let Buf::Write(src) = &buf {
            conn.seg.write_inline(slot, &[IoSlice::new(&src[done..done + n])], 0, n);
        }
        h.xfer_op.store(op, Relaxed);
        h.xfer_offset.store(offset + done as u64, Relaxed);
        h.xfer_len.store(n as u32, Relaxed);
        h.xfer_done.store(0, Relaxed);
        h.xfer.store(XFER_PENDING, Release);
        if !slot::server_request_transfer(&f) {
            return Err(libc::ESRCH);
        }
        let deadline = Deadline::after(ASSIST_TIMEOUT);
        while h.xfer.load(Acquire) == XFER_PENDING {
            if conn.is_dead() {
                return Err(libc::ESRCH);
            }
            if deadline.expired() {
                return Err(libc::ETIMEDOUT);
            }
            futex::wait(&h.xfer, XFER_PENDING, Deadline::after(Duration::from_millis(20)).min(deadline));
        }
        let got = (h.xfer_done.load(Acquire) as usize).min(n);
        if let Buf::Read(dst) = &mut buf {
            conn.seg.read_inline(slot, 0, got, &mut [IoSliceMut::new(&mut dst[done..done + got])], 0);
        }
        done += got;
        if got < n {
            break;
        }
    }
    Ok(done)
}
