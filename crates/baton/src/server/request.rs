//! A received message and the obligation to answer it.

use super::inherit;
use super::transfer::{self, Lists};
use super::{ChannelShared, ServerConn};
use crate::error::{Error, Result};
use crate::proto::rcvid::Rcvid;
use crate::proto::slot::{self, Begin};
use crate::proto::stream;
use crate::shm::{Layout, SlotHeader};
use crate::sys::sched::Sched;
use crate::types::{MsgInfo, Pulse, MI_UNBLOCK_REQ};
use crate::wait::SlotFutex;
use std::collections::HashMap;
use std::io::{IoSlice, IoSliceMut};
use std::num::NonZeroI32;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

/// What [`Channel::receive`](crate::Channel::receive) got.
#[derive(Debug)]
#[must_use = "a received message must be answered"]
pub enum Received {
    /// A message: answer it with [`Request::reply`] or [`Request::error`].
    Message(Request),
    /// A pulse: nothing to answer.
    Pulse(Pulse),
}

/// A receive id (`rcvid`): names one received message until it is
/// answered. Positive, fits in an `int`, as on QNX.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReceiveId(NonZeroI32);

impl ReceiveId {
    /// The raw value (what QNX's `MsgReceive` returns).
    pub fn as_raw(self) -> i32 {
        self.0.get()
    }

    /// A receive id from its raw value, if it is well formed.
    pub fn from_raw(raw: i32) -> Option<ReceiveId> {
        Rcvid::decode(raw).and(NonZeroI32::new(raw)).map(ReceiveId)
    }

    /// Replies to a parked request. Corresponds to `MsgReply`; `ESRCH` if
    /// there is no such request (already answered, or its client died).
    pub fn reply(self, status: i64, data: &[u8]) -> Result<()> {
        Request::unpark(self)?.reply(status, data)
    }

    /// Fails a parked request. Corresponds to `MsgError`.
    pub fn error(self, errno: i32) -> Result<()> {
        Request::unpark(self)?.error(errno)
    }
}

/// The request fields as the client wrote them, read once and checked.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReqHeader {
    pub tid: i32,
    pub coid: i32,
    pub send_len: u64,
    pub reply_cap: u64,
    pub inline_len: u32,
}

impl ReqHeader {
    /// Reads the fields of the slot's first cache line (the part lists,
    /// in the second, are read only when a large transfer needs them).
    pub(crate) fn read(h: &SlotHeader) -> ReqHeader {
        ReqHeader {
            tid: h.tid.load(Relaxed),
            coid: h.coid.load(Relaxed),
            send_len: h.send_len.load(Relaxed),
            reply_cap: h.reply_cap.load(Relaxed),
            inline_len: h.inline_len.load(Relaxed),
        }
    }

    /// Whether the fields are consistent: the part in the message areas
    /// fits them and holds the start of the message. `overflow`: the slot's
    /// overflow area is backed (it holds the bytes past the inline area).
    pub(crate) fn valid(&self, layout: Layout, overflow: bool) -> bool {
        let shared = if overflow { layout.shared_capacity() } else { layout.inline_size as usize };
        let inline_len = self.inline_len as usize;
        inline_len <= shared
            && u64::from(self.inline_len) <= self.send_len
            // The client fills the message areas before anything moves
            // otherwise (also when its overflow area could not be had).
            && (self.send_len == u64::from(self.inline_len)
                || inline_len == layout.inline_size as usize
                || inline_len == layout.shared_capacity())
            && usize::try_from(self.send_len).is_ok()
            && usize::try_from(self.reply_cap).is_ok()
    }
}

/// A received message, REPLY-blocking its client until answered.
///
/// Answer it exactly once, from any thread: [`reply`](Request::reply),
/// [`reply_vectored`](Request::reply_vectored) or [`error`](Request::error).
/// While it is held, [`read_at`](Request::read_at) reads more of the
/// message and [`write_at`](Request::write_at) writes into the client's reply
/// buffer. Dropping it unanswered fails the client's call with `EIO` (QNX
/// would leave the client blocked; baton does not).
#[must_use = "dropping a Request fails the client's call with EIO"]
#[derive(Debug)]
pub struct Request {
    chan: Arc<ChannelShared>,
    conn: Arc<ServerConn>,
    slot: u32,
    gen: u32,
    /// The message's bytes in the slot's inline area. (Its length and the
    /// reply's room are `info.srcmsglen` and `info.dstmsglen`.)
    inline_len: u32,
    info: MsgInfo,
    /// The inline area no longer holds the message's start (a
    /// client-assisted transfer used it as a window).
    inline_stale: bool,
    /// The client's send and reply part lists, read by the first copy
    /// that needs them (large messages). A box, so that a `Request` stays
    /// small enough to move without a call to `memcpy` (it is moved from
    /// the receive to the handler on every message).
    lists: Lists,
    answered: bool,
}

/// How a request is answered.
enum Answer<'a> {
    Reply(i64, &'a [IoSlice<'a>]),
    Error(i32),
}

fn gone() -> Error {
    Error::new(libc::ESRCH, "no such request: it was answered already, or its client is gone")
}

impl Request {
    /// Builds the request for a claimed slot and copies the message into
    /// `parts`. On a malformed request the client is answered with `EINVAL`
    /// and `None` is returned (the receive goes on).
    pub(crate) fn deliver(
        chan: Arc<ChannelShared>,
        conn: Arc<ServerConn>,
        slot: u32,
        gen: u32,
        sched: Sched,
        parts: &mut [IoSliceMut<'_>],
    ) -> Option<Request> {
        let layout = conn.seg.layout();
        let hdr = ReqHeader::read(conn.seg.slot(slot));
        let info = MsgInfo {
            pid: conn.cred.pid,
            tid: hdr.tid,
            uid: conn.cred.uid,
            gid: conn.cred.gid,
            chid: chan.chid,
            scoid: conn.scoid,
            coid: hdr.coid,
            msglen: 0,
            srcmsglen: hdr.send_len as usize,
            dstmsglen: hdr.reply_cap as usize,
            priority: sched.level,
            policy: sched.policy,
            flags: 0,
        };
        let mut req = Request {
            chan,
            conn,
            slot,
            gen,
            inline_len: hdr.inline_len,
            info,
            inline_stale: false,
            lists: Lists::default(),
            answered: false,
        };
        // The overflow area is looked at (one `fstat` the first time) only
        // when the client says it used it.
        let overflow = hdr.inline_len > layout.inline_size && req.conn.seg.overflow_ready(slot, false);
        if !hdr.valid(layout, overflow) {
            let _ = req.answer(Answer::Error(libc::EINVAL));
            return None;
        }
        // A client that skipped its own check of the limit.
        if hdr.send_len > req.chan.max_message {
            let _ = req.answer(Answer::Error(libc::EMSGSIZE));
            return None;
        }
        let room: usize = parts.iter().map(|p| p.len()).sum();
        let want = room.min(hdr.send_len as usize);
        let area = hdr.inline_len as usize;
        let inline = if area > stream::STREAM_MIN {
            match req.read_streamed(want.min(area), parts) {
                Ok(n) => n,
                Err(errno) => {
                    let _ = req.answer(Answer::Error(errno));
                    return None;
                }
            }
        } else {
            req.conn.seg.read_inline(slot, 0, want.min(area), parts, 0)
        };
        let mut got = inline;
        if want > inline {
            match req.with_slot_busy(|r| r.copy_remote_out(inline, want - inline, parts, inline)) {
                Ok(n) => got += n,
                // The client gave up (a reply timeout) before the copy:
                // its message is withdrawn, as if it had never been taken.
                Err(None) => return None,
                Err(Some(errno)) => {
                    let _ = req.answer(Answer::Error(errno));
                    return None;
                }
            }
        }
        req.info.msglen = got;
        Some(req)
    }

    /// Reads the first `want` bytes of a large message out of the areas
    /// into `parts` as the client counts them written (`proto::stream`),
    /// then waits for the rest of the areas' part: the reply may go there
    /// only once the client is done. `Err`: the client died, or stopped
    /// writing for [`FILL_PATIENCE`].
    #[inline(never)]
    fn read_streamed(&self, want: usize, parts: &mut [IoSliceMut<'_>]) -> std::result::Result<usize, i32> {
        let h = self.conn.seg.slot(self.slot);
        let area = self.inline_len as usize;
        let mut want = want;
        let mut done = 0;
        let mut wait = FillWait::default();
        loop {
            let filled = (h.xfer_done.load(Acquire) as usize).min(area);
            if filled > done && done < want {
                let n = self.conn.seg.read_inline(self.slot, done, filled.min(want) - done, parts, done);
                done += n;
                if n == 0 {
                    want = done;
                }
                continue;
            }
            if filled == area {
                return Ok(done);
            }
            wait.turn(&self.conn, filled)?;
        }
    }

    /// Reads `len` message bytes from `offset` (beyond what the inline area
    /// serves) into `parts` at `parts_off`.
    fn copy_remote_out(
        &mut self,
        offset: usize,
        len: usize,
        parts: &mut [IoSliceMut<'_>],
        parts_off: usize,
    ) -> std::result::Result<usize, i32> {
        let mut done = 0;
        let mut skip = parts_off;
        for p in parts.iter_mut() {
            if done == len {
                break;
            }
            if skip >= p.len() {
                skip -= p.len();
                continue;
            }
            let n = (p.len() - skip).min(len - done);
            let got = transfer::read(
                &self.conn,
                self.slot,
                transfer::Parts::Send,
                self.lists.get(),
                (offset + done) as u64,
                &mut p[skip..skip + n],
            )?;
            self.note_window_use();
            done += got;
            if got < n {
                break;
            }
            skip = 0;
        }
        Ok(done)
    }

    /// What the server knows of the message and its sender. Corresponds to
    /// `MsgInfo`; `flags` shows [`MI_UNBLOCK_REQ`] live.
    pub fn info(&self) -> MsgInfo {
        let mut i = self.info;
        if self.unblock_requested() {
            i.flags |= MI_UNBLOCK_REQ;
        }
        i
    }

    /// Bytes delivered into the receive buffer (`info().msglen`).
    pub fn len(&self) -> usize {
        self.info.msglen
    }

    /// Whether nothing was delivered.
    pub fn is_empty(&self) -> bool {
        self.info.msglen == 0
    }

    /// This request's receive id.
    pub fn id(&self) -> ReceiveId {
        let raw = Rcvid { scoid: self.conn.scoid, slot: self.slot, gen: self.gen }.encode();
        ReceiveId(NonZeroI32::new(raw).expect("receive ids are positive"))
    }

    /// Whether the client has asked to be unblocked (it timed out while
    /// REPLY-blocked on an `UNBLOCK` channel).
    pub fn unblock_requested(&self) -> bool {
        slot::unblock_requested(self.conn.seg.slot(self.slot).state.load(Relaxed))
    }

    /// Replies with `status` and `data`. Corresponds to `MsgReply`; the
    /// client gets `min(data.len(), its reply buffer)` bytes.
    pub fn reply(self, status: i64, data: &[u8]) -> Result<()> {
        self.reply_vectored(status, &[IoSlice::new(data)])
    }

    /// Replies with the concatenation of `parts`. Corresponds to `MsgReplyv`.
    pub fn reply_vectored(mut self, status: i64, parts: &[IoSlice<'_>]) -> Result<()> {
        self.answer(Answer::Reply(status, parts))
    }

    /// Fails the client's call with `errno`. Corresponds to `MsgError`;
    /// `errno == 0` makes the call succeed with status 0.
    pub fn error(mut self, errno: i32) -> Result<()> {
        self.answer(Answer::Error(errno))
    }

    /// Reads message bytes from `offset` into `buf`, while the client waits.
    /// Corresponds to `MsgRead`; returns bytes read (0 past the end).
    pub fn read_at(&mut self, offset: usize, buf: &mut [u8]) -> Result<usize> {
        self.read_vectored_at(offset, &mut [IoSliceMut::new(buf)])
    }

    /// Reads message bytes from `offset` into `parts`. Corresponds to `MsgReadv`.
    pub fn read_vectored_at(&mut self, offset: usize, parts: &mut [IoSliceMut<'_>]) -> Result<usize> {
        self.check_live()?;
        let room: usize = parts.iter().map(|p| p.len()).sum();
        let total = self.info.srcmsglen;
        let want = room.min(total.saturating_sub(offset));
        let mut got = 0;
        let inline_len = self.inline_len as usize;
        if offset < inline_len && !self.inline_stale {
            got = self.conn.seg.read_inline(self.slot, offset, want.min(inline_len - offset), parts, 0);
        }
        if got < want {
            got += self
                .with_slot_busy(|r| r.copy_remote_out(offset + got, want - got, parts, got))
                .map_err(|e| e.map_or_else(gone, Error::from_errno))?;
        }
        Ok(got)
    }

    /// Runs `copy` with the slot `BUSY`: the client cannot leave (time out
    /// while REPLY-blocked) and reuse its buffers while we read or write
    /// them, so a copy is of the message it sent, or nothing. `Err(None)`:
    /// the client had already given up (the request is forgotten and its
    /// slot handed back); `Err(Some(errno))`: `copy` failed.
    fn with_slot_busy<T>(
        &mut self,
        copy: impl FnOnce(&mut Self) -> std::result::Result<T, i32>,
    ) -> std::result::Result<T, Option<i32>> {
        let conn = self.conn.clone();
        let f = SlotFutex(conn.seg.slot(self.slot));
        match slot::server_begin(&f) {
            Begin::Busy => {}
            Begin::Abandoned | Begin::Corrupt => {
                self.forget();
                inherit::release(&self.conn, self.slot);
                return Err(None);
            }
        }
        let r = copy(self);
        slot::server_end(&f);
        r.map_err(Some)
    }

    /// Writes `data` into the client's reply buffer at `offset`, while it
    /// waits. Corresponds to `MsgWrite`; returns bytes written (clamped at
    /// the end of the client's buffer).
    pub fn write_at(&mut self, offset: usize, data: &[u8]) -> Result<usize> {
        self.write_vectored_at(offset, &[IoSlice::new(data)])
    }

    /// Writes the concatenation of `parts` at `offset`. Corresponds to `MsgWritev`.
    pub fn write_vectored_at(&mut self, offset: usize, parts: &[IoSlice<'_>]) -> Result<usize> {
        self.check_live()?;
        self.with_slot_busy(|r| r.write_remote(offset, parts)).map_err(|e| match e {
            None => gone(),
            Some(errno) => Error::from_errno(errno),
        })
    }

    fn check_live(&self) -> Result<()> {
        Error::check_not_forked()?;
        let phase = slot::phase(self.conn.seg.slot(self.slot).state.load(Relaxed));
        if self.answered || self.conn.is_dead() || phase == slot::ABANDONED {
            return Err(gone());
        }
        Ok(())
    }

    /// Writes `parts` into the client's reply buffers at `offset` (slot is
    /// `BUSY`); returns bytes written.
    fn write_remote(&mut self, offset: usize, parts: &[IoSlice<'_>]) -> std::result::Result<usize, i32> {
        let cap = self.info.dstmsglen;
        let mut off = offset;
        for p in parts {
            if off >= cap {
                break;
            }
            let n = p.len().min(cap - off);
            let w =
                transfer::write(&self.conn, self.slot, transfer::Parts::Reply, self.lists.get(), off as u64, &p[..n])?;
            self.note_window_use();
            off += w;
            if w < n {
                break;
            }
        }
        Ok(off - offset)
    }

    /// After a transfer: if it went through the slot (assisted), the inline
    /// area no longer holds the start of the message.
    fn note_window_use(&mut self) {
        if self.conn.remote.load(Relaxed) == super::accept::REMOTE_DENIED {
            self.inline_stale = true;
        }
    }

    /// Gives up ownership, returning the id to answer it by later
    /// ([`ReceiveId::reply`], [`Request::unpark`]).
    ///
    /// A parked request no longer lends its client's priority to this
    /// thread (it is no longer being worked on by it).
    pub fn park(self) -> ReceiveId {
        inherit::release(&self.conn, self.slot);
        let id = self.id();
        parked().insert(id.as_raw(), self);
        id
    }

    /// Takes back a parked request. `ESRCH` if there is none with this id.
    pub fn unpark(id: ReceiveId) -> Result<Request> {
        parked().remove(&id.as_raw()).ok_or_else(gone)
    }

    /// Marks this request answered in the channel's books; returns whether
    /// it was still ours to answer.
    fn forget(&mut self) -> bool {
        if self.answered {
            return false;
        }
        self.answered = true;
        // Ending the hold also voids a pending unblock pulse for it.
        if !self.conn.holds.release(self.slot, self.gen) {
            return false;
        }
        // The common case, a client calling back to back: the promise
        // stands (its client did not ring) and nobody sleeps, so the lock
        // would only find the connection hot and return. Without it, an
        // answer racing the connection's departure is published (or finds
        // the slot failed) as if it had come just before.
        if self.conn.promised.load(Relaxed) && self.chan.sleepers.load(Relaxed) == 0 {
            return true;
        }
        let mut st = self.chan.lock();
        // The client is likely to call again at once. With no other
        // thread waiting to receive, this one will look before it sleeps:
        // it promises now, and the client need not ring. With others
        // asleep, a promise now would leave them unwoken if this thread
        // did not come back: it promises when it next receives on the
        // channel (`ChannelShared::keep_promise`), if it does. Either way
        // the request is ours only while its connection is the channel's.
        if st.receivers == 0 {
            return self.chan.promise(&mut st, &self.conn, self.slot);
        }
        let known = st.serves(&self.conn);
        if known {
            super::receive::promise_later(&self.chan, self.conn.scoid, self.slot);
        }
        known
    }

    fn answer(&mut self, how: Answer<'_>) -> Result<()> {
        // A forked child shares the parent's segments: it must not write.
        Error::check_not_forked()?;
        let owned = inherit::answering(&self.conn, self.slot);
        let r = if self.forget() { self.publish(how) } else { Err(gone()) };
        // After the answer is out (or the request turned out to be gone): a
        // client waiting on the PI word this thread owns wakes to find it.
        inherit::answered(owned);
        r
    }

    /// Writes the answer into the slot and publishes it.
    fn publish(&mut self, how: Answer<'_>) -> Result<()> {
        if self.conn.is_dead() {
            return Err(gone());
        }
        // A reply's bytes (`total`) and what of them the client takes (`n`).
        // What fits the slot's message areas is written there; more goes
        // straight into the client's buffers (`publish_remote`).
        let (total, n) = match how {
            Answer::Reply(_, parts) => {
                let total: usize = parts.iter().map(|p| p.len()).sum();
                (total, total.min(self.info.dstmsglen))
            }
            Answer::Error(_) => (0, 0),
        };
        let layout = self.conn.seg.layout();
        // The client backed its overflow area if its reply buffers reach
        // past the inline area; if it could not, we try.
        if !(n <= layout.inline_size as usize
            || n <= layout.shared_capacity() && self.conn.seg.overflow_ready(self.slot, true))
        {
            return self.publish_remote(how, total);
        }
        let (status, error, len, inline) = match how {
            Answer::Error(0) => (0, 0, 0, 0),
            Answer::Error(errno) => (-1, errno, 0, 0),
            Answer::Reply(status, parts) => (status, 0, total, self.write_reply(parts, n)),
        };
        // The slot's own areas stay ours if the client gives up meanwhile
        // (`ABANDONED`), so an answer written there is published from
        // `RECEIVED` in one step (`slot::server_reply`): one compare-and-
        // swap on the state word instead of two.
        let h = self.conn.seg.slot(self.slot);
        put_answer(h, status, error, len, inline);
        if slot::server_reply(&SlotFutex(h)) != Begin::Busy {
            return Err(gone());
        }
        self.note_bytes(n);
        Ok(())
    }

    /// Writes the first `n` bytes of a reply into the slot's areas; a long
    /// one in pieces, each counted for a client that copies it out as it
    /// comes (`proto::stream`). Returns bytes written.
    #[inline]
    fn write_reply(&self, parts: &[IoSlice<'_>], n: usize) -> usize {
        if n <= stream::STREAM_MIN {
            return self.conn.seg.write_inline(self.slot, parts, 0, n);
        }
        self.write_reply_streamed(parts, n)
    }

    /// [`Self::write_reply`] for a long reply.
    #[inline(never)]
    fn write_reply_streamed(&self, parts: &[IoSlice<'_>], n: usize) -> usize {
        let h = self.conn.seg.slot(self.slot);
        let seq = h.seq.load(Relaxed);
        self.conn.seg.write_counted(self.slot, parts, 0, n, |done| {
            h.xfer_offset.store(stream::reply_progress(seq, done), Release);
        })
    }

    /// Notes what the call moved, `reply` bytes back, for how long a
    /// receiver spins for the connection's next call (after the answer:
    /// off the path to it).
    fn note_bytes(&self, reply: usize) {
        self.conn.last_bytes.store((self.info.srcmsglen as u64).saturating_add(reply as u64), Relaxed);
    }

    /// [`Self::publish`] for a reply that goes straight into the client's
    /// buffers: those need the slot `BUSY` (the client may not leave while
    /// we write them).
    #[cold]
    fn publish_remote(&mut self, how: Answer<'_>, total: usize) -> Result<()> {
        let conn = self.conn.clone();
        let h = conn.seg.slot(self.slot);
        let f = SlotFutex(h);
        match slot::server_begin(&f) {
            Begin::Busy => {}
            Begin::Abandoned | Begin::Corrupt => return Err(gone()),
        }
        let (status, error, len) = match how {
            Answer::Error(0) => (0, 0, 0),
            Answer::Error(errno) => (-1, errno, 0),
            Answer::Reply(status, parts) => match self.write_remote(0, parts) {
                Ok(_) => (status, 0, total),
                Err(errno) => (-1, errno, 0),
            },
        };
        put_answer(h, status, error, len, 0);
        slot::server_finish(&f);
        self.note_bytes(len.min(self.info.dstmsglen));
        if error != 0 && matches!(how, Answer::Reply(..)) {
            return Err(Error::from_errno(error).with_detail("the reply could not be written into the client's buffer"));
        }
        Ok(())
    }
}

/// Writes an answer's fields into the slot's header (before it is published).
fn put_answer(h: &SlotHeader, status: i64, error: i32, len: usize, inline: usize) {
    h.status.store(status, Relaxed);
    h.error.store(error, Relaxed);
    h.reply_len.store(len as u64, Relaxed);
    h.reply_inline.store(inline as u32, Relaxed);
}

impl Drop for Request {
    fn drop(&mut self) {
        if !self.answered {
            let _ = self.answer(Answer::Error(libc::EIO));
        }
    }
}

/// Requests given up by [`Request::park`], by raw receive id.
static PARKED: LazyLock<Mutex<HashMap<i32, Request>>> = LazyLock::new(Default::default);

fn parked() -> MutexGuard<'static, HashMap<i32, Request>> {
    PARKED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Drops parked requests whose scoid matches (their client or channel is gone).
pub(crate) fn forget_parked(matches: impl Fn(u32) -> bool) {
    let dropped: Vec<Request> = {
        let mut g = parked();
        let ids: Vec<i32> = g.iter().filter(|(_, r)| matches(r.conn.scoid)).map(|(k, _)| *k).collect();
        ids.into_iter().filter_map(|k| g.remove(&k)).collect()
    };
    drop(dropped);
}

/// How long a server waits for the whole of a streamed message to be
/// written before it fails the call with `ETIMEDOUT`: its client has
/// stopped (or is hostile); a live one writes the largest areas in
/// milliseconds.
const FILL_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

/// A client that has written nothing new for this long is not running:
/// the server naps instead of spinning.
const FILL_STALL: std::time::Duration = std::time::Duration::from_micros(100);

/// A server's wait for the next piece of a streamed message: it spins
/// while the client writes (a piece takes microseconds) and yields now and
/// then; once the count has not grown for [`FILL_STALL`] it naps; in all it
/// waits no longer than [`FILL_PATIENCE`], and not past the client's death.
/// Only growth counts: a count that goes back and forth buys no spinning.
#[derive(Default)]
struct FillWait {
    turns: u32,
    most: usize,
    start: Option<std::time::Instant>,
    grown: Option<std::time::Instant>,
}

impl FillWait {
    fn turn(&mut self, conn: &ServerConn, filled: usize) -> std::result::Result<(), i32> {
        if filled > self.most {
            self.most = filled;
            self.grown = None;
        }
        self.turns = self.turns.wrapping_add(1);
        if self.turns % 64 != 0 {
            std::hint::spin_loop();
            return Ok(());
        }
        if conn.is_dead() {
            return Err(libc::ESRCH);
        }
        let now = std::time::Instant::now();
        if now.duration_since(*self.start.get_or_insert(now)) >= FILL_PATIENCE {
            return Err(libc::ETIMEDOUT);
        }
        if now.duration_since(*self.grown.get_or_insert(now)) >= FILL_STALL {
            std::thread::sleep(std::time::Duration::from_micros(500));
        } else if self.turns % 1024 == 0 {
            rustix::thread::sched_yield();
        }
        Ok(())
    }
}
