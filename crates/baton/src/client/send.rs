//! The send path: fill the slot, post it, ring, wait, copy the reply out.

use super::conn::ClientConn;
use super::slots;
use crate::error::{Error, Result};
use crate::proto::doorbell;
use crate::proto::slot::{self, Outcome, WaitSpec};
use crate::proto::stream;
use crate::shm::layout::{pack_sched, XFER_READ, XFER_WRITE};
use crate::sys::futex::{self, PI_TID_MASK};
use crate::sys::sched::Sched;
use crate::sys::thread;
use crate::sys::time::Deadline;
use crate::types::{chf, Reply, WaitMode};
use crate::wait::{ClientFutex, SlotFutex};
use std::io::{IoSlice, IoSliceMut};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::sync::Arc;

/// When a call may time out. Corresponds to QNX's `TimerTimeout` with
/// `_NTO_TIMEOUT_SEND` and/or `_NTO_TIMEOUT_REPLY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeout {
    /// The moment the call gives up.
    pub deadline: Deadline,
    /// Give up while SEND-blocked (no server has taken the message): the
    /// message leaves the queue and the server never sees it.
    pub send: bool,
    /// Give up while REPLY-blocked (a server holds the message). On an
    /// `UNBLOCK` channel the server is asked instead, and decides.
    pub reply: bool,
}

impl Timeout {
    /// No timeout.
    pub const NONE: Timeout = Timeout { deadline: Deadline::NEVER, send: false, reply: false };

    /// Time out at `deadline` in either state.
    pub fn new(deadline: Deadline) -> Timeout {
        Timeout { deadline, send: true, reply: true }
    }

    /// Time out at `deadline` only while SEND-blocked.
    pub fn send_only(deadline: Deadline) -> Timeout {
        Timeout { deadline, send: true, reply: false }
    }

    /// Time out at `deadline` only while REPLY-blocked.
    pub fn reply_only(deadline: Deadline) -> Timeout {
        Timeout { deadline, send: false, reply: true }
    }
}

/// How one connection's callers wait.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CallOpts {
    /// See `ConnectBuilder::boost_delay`.
    pub boost_delay: std::time::Duration,
    pub mode: WaitMode,
}

/// Stores `v` unless the word holds it already: reading a line we share
/// keeps it shared, writing it takes it from the other side.
fn store_changed_u32(word: &AtomicU32, v: u32) {
    if word.load(Relaxed) != v {
        word.store(v, Relaxed);
    }
}

/// The bytes the default mode's spin waits out (`WaitMode::adaptive_spin`)
/// for a call that sends `total` bytes into `cap` bytes of reply buffers,
/// the server having last replied `last_reply` bytes in the slot: the
/// copies the answer cannot come before, ours and a reply like the last
/// one. Not the buffers' room: a 1 MiB buffer for a short reply from a slow
/// server would spin 276 µs a call for nothing. `last_reply` is the
/// server's word, so it counts for no more than `cap`.
fn spin_bytes(total: usize, cap: usize, last_reply: u64) -> u64 {
    (total as u64).saturating_add(last_reply.min(cap as u64))
}

fn closed() -> Error {
    Error::new(libc::EBADF, "the connection is closed: its server went away or destroyed the channel")
}

/// Waits for the server to publish the slot's last answer, taken early
/// (`slot::client_settle`): rare, and kept out of the call's path.
#[cold]
#[inline(never)]
fn settle(f: &ClientFutex<'_>, t: Timeout) -> Result<()> {
    if slot::client_settle(f, if t.send { t.deadline } else { Deadline::NEVER }) {
        return Ok(());
    }
    if f.detached.load(Relaxed) {
        return Err(detached());
    }
    Err(Error::new(libc::ETIMEDOUT, "the server did not finish the previous call before the deadline"))
}

pub(crate) fn detached() -> Error {
    Error::new(libc::EBADF, "the connection was detached (by another thread)")
}

impl ClientConn {
    /// Sends `msg`, waits for the answer (as `opts.mode` says), copies the
    /// reply into `reply`. A real-time caller still SEND-blocked after
    /// `opts.boost_delay` boosts the server thread that last served this
    /// connection. Once `detached` is set (the handle `coid` was detached
    /// by another thread, which then pokes the slot), the call leaves as at
    /// a deadline, with `EBADF`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send(
        self: &Arc<Self>,
        coid: i32,
        detached: &AtomicBool,
        msg: &[IoSlice<'_>],
        reply: &mut [IoSliceMut<'_>],
        t: Timeout,
        opts: CallOpts,
    ) -> Result<Reply> {
        Error::check_not_forked()?;
        if self.is_dead() {
            return Err(closed());
        }
        let total: usize = msg.iter().map(|p| p.len()).sum();
        if total as u64 > self.hello.max_message {
            return Err(Error::new(libc::EMSGSIZE, "the message is larger than the channel takes")
                .with_detail(format!("{total} bytes, at most {}", self.hello.max_message)));
        }
        let s = slots::acquire(self)?;
        let h = self.seg.slot(s);
        let cap: usize = reply.iter().map(|p| p.len()).sum();
        // Past the inline area, the message and the reply go through the
        // slot's overflow area, backed from the first call that needs it.
        let inline_size = self.seg.layout().inline_size as usize;
        if total > inline_size || cap > inline_size {
            self.seg.overflow_ready(s, true);
        }
        // The order matters when a server spins on the slot across CPUs:
        // the atomic increment of the sequence number (a locked
        // instruction, which waits for every store before it) comes first,
        // nothing is written on the second line (the server's: the answer
        // and the bell), and the state word's line, which holds the whole
        // request, last, all at once, so the server's reads take it from
        // us once, not between two of our stores.
        let seq = self.next_seq();
        let f = ClientFutex::new(h, &self.seg.header().server.boost, detached, seq);
        // After an answer taken early (`slot`, invariant 6) the slot stays
        // `RECEIVED` until the server's compare-and-swap lands, nearly
        // always long before the thread calls again.
        if !slot::unused(h.state.load(Acquire)) {
            settle(&f, t)?;
        }
        // A number this slot's answer word may hold from long ago (the
        // counter wrapped) must not pass for this call's answer. Read on
        // the bell's line, which we have; written almost never.
        if h.answered.load(Relaxed) == seq {
            h.answered.store(!seq, Relaxed);
        }
        let claim = crate::sched::claim();
        // A real-time caller waits so that the server thread working for
        // it inherits its priority, unless the channel opted out (or the
        // caller chose to spin, which lends nothing).
        let pi = claim.is_realtime() && self.hello.chan_flags & chf::FIXED_PRIORITY == 0 && opts.mode != WaitMode::Spin;
        // Who the boost word names before the post: a thread that frees it
        // as it answers (`inherit::answering`) is named again after the
        // call.
        let named = if pi { f.boost.load(Relaxed) & PI_TID_MASK } else { 0 };
        // The message's bytes in the areas; a large one may stream from
        // area byte `streams` on (`proto::stream`).
        let (inline, streams) = if total > stream::STREAM_MIN {
            self.write_large(s, msg, total, opts.mode)
        } else {
            (self.seg.write_inline(s, msg, 0, total), None)
        };
        // `IoSlice`/`IoSliceMut` are ABI-compatible with `struct iovec`: the
        // server reads these arrays straight from our address space.
        h.send_iov.store(msg.as_ptr() as u64, Relaxed);
        h.send_parts.store(msg.len() as u32, Relaxed);
        h.reply_iov.store(reply.as_ptr() as u64, Relaxed);
        h.reply_parts.store(reply.len() as u32, Relaxed);
        h.tid.store(thread::tid(), Relaxed);
        h.sched.store(pack_sched(claim.policy, claim.level), Relaxed);
        h.coid.store(coid, Relaxed);
        h.send_len.store(total as u64, Relaxed);
        h.reply_cap.store(cap as u64, Relaxed);
        h.inline_len.store(inline as u32, Relaxed);
        h.seq.store(seq, Relaxed);
        // Read before the post: the answer rings it after.
        let bell = slot::Futex::bell(&f);
        // What the server last replied in this slot, for the default mode's
        // spin (below): read before the post, from the bell's line, which
        // the server may write once the message is posted.
        let spin_bytes = spin_bytes(total, cap, h.reply_len.load(Relaxed));
        if !slot::client_post_checked(&f, self.dead_flag()) {
            return Err(closed());
        }
        // In the default mode, where we run tells a server thread whether
        // spinning for our next call can pay (not if it would spin on our
        // CPU); on the doorbell line, which the ring writes anyway.
        let my_cpu = (opts.mode == WaitMode::Adaptive && thread::many_cpus()).then(thread::cpu);
        // Stored only when it changed: the server's fast path reads this
        // line as the message comes, and a store would take it away from
        // the server (one more cache-line transfer on the way to the answer).
        if let Some(cpu) = my_cpu {
            store_changed_u32(&self.seg.header().doorbell.client_cpu, cpu.wrapping_add(1));
        }
        // A server thread that watches our slot needs neither bit nor ring.
        let notify =
            doorbell::client_watched(&self.seg.header().doorbell.polling, s).unwrap_or_else(|| self.post_bit(s));
        let server_cpu = self.notify(notify);
        if let Some(from) = streams {
            self.stream_rest(s, msg, from, inline);
        }
        let spin_until = match opts.mode {
            WaitMode::Spin => Deadline::after(WaitMode::SPIN_LIMIT),
            // Spinning pays only while the server thread that will answer
            // runs on another CPU; for as long as the copies of our message
            // and of a reply like the last one could take.
            WaitMode::Adaptive if !pi && server_cpu.is_some_and(|cpu| my_cpu.is_some_and(|me| me != cpu)) => {
                Deadline::after(WaitMode::adaptive_spin(spin_bytes))
            }
            WaitMode::Adaptive | WaitMode::Blocking => Deadline::IMMEDIATE,
        };
        let spec = WaitSpec {
            send: if t.send { t.deadline } else { Deadline::NEVER },
            reply: if t.reply { t.deadline } else { Deadline::NEVER },
            unblock_channel: self.hello.chan_flags & chf::UNBLOCK != 0,
            spin_until,
            pi,
            // Unless a server thread was asleep in receive (we woke it and
            // it takes the message next), raise the one the boost word
            // names at once, as QNX does when no thread is receiving: every
            // thread may be busy (we rang), and one that promised to look
            // may be busy too, or preempted. The delay is for the sleeper.
            boost: match (pi, notify) {
                (false, _) => Deadline::NEVER,
                (true, doorbell::Notify::Wake) => Deadline::after(opts.boost_delay),
                (true, _) => Deadline::IMMEDIATE,
            },
        };
        // A spinner waits for the bell before it first reads the state
        // word: read now, the word's line would go back and forth between
        // us and the server taking the message (`slot`, invariant 5).
        // The answer the spin usually ends with is read here, without the
        // call into the general wait (about 80 instructions on the path
        // from the answer to the next call), from the bell's line: the
        // answer word and the reply's fields are there (`slot`,
        // invariant 6).
        // A spinner whose whole call fits the areas copies a long reply
        // out as the server writes it (`proto::stream`); `ahead` bytes. (A
        // call past the areas may have transfers, whose offsets share the
        // reply's count word.)
        let mut ahead = 0;
        let replied = spin_until != Deadline::IMMEDIATE && {
            let until = spin_until.min(spec.send).min(spec.reply);
            if cap > stream::STREAM_MIN && total.max(cap) <= self.seg.capacity(s) {
                self.copy_ahead(s, &f, bell, reply, cap, until, &mut ahead)
            } else {
                slot::Futex::spin_watch(&f, bell, until);
                slot::client_answered(&f)
            }
        };
        if !replied {
            self.wait_answer(s, &f, &spec, detached, msg, reply)?;
            if pi {
                f.name_again(named);
            }
        }
        let status = h.status.load(Relaxed);
        let error = h.error.load(Relaxed);
        let len = h.reply_len.load(Relaxed) as usize;
        let inline = h.reply_inline.load(Relaxed) as usize;
        if ahead > 0 {
            self.copy_rest(s, error, inline.min(cap), reply, ahead);
        } else if error == 0 && inline > 0 {
            self.seg.read_inline(s, 0, inline.min(cap), reply, 0);
        }
        // The slot stays `REPLIED` until the next post (`slot::client_release`),
        // or becomes so once the server's compare-and-swap after an early
        // answer lands (`slot::client_settle`).
        if error != 0 {
            return Err(Error::from_errno(error));
        }
        Ok(Reply { status, len })
    }

    /// Writes a message of `total` (more than `STREAM_MIN`) bytes into
    /// slot `s`'s areas, or its first piece only if it is to stream: when a
    /// server thread on another CPU than ours has promised to look at the
    /// connection (a hint: the promise may go, which costs only time).
    /// Returns the message's bytes in the areas, and where the stream goes
    /// on, if it does; the count of bytes written (`xfer_done`) says so to
    /// the server (`proto::stream`).
    #[inline(never)]
    fn write_large(&self, s: u32, msg: &[IoSlice<'_>], total: usize, mode: WaitMode) -> (usize, Option<usize>) {
        let area = total.min(self.seg.capacity(s));
        let polling = self.seg.header().doorbell.polling.load(Relaxed);
        let streams = area > stream::STREAM_MIN
            && mode != WaitMode::Blocking
            && thread::many_cpus()
            && doorbell::polling_cpu(polling).is_some_and(|cpu| cpu != thread::cpu());
        let written = self.seg.write_inline(s, msg, 0, if streams { stream::CHUNK } else { total });
        self.seg.slot(s).xfer_done.store(written as u64, Relaxed);
        (area, streams.then_some(written))
    }

    /// Copies the rest of a streaming message, from area byte `from` to
    /// `area`, into slot `s`, counting each piece in `xfer_done` for the
    /// server reading it (`proto::stream`).
    fn stream_rest(&self, s: u32, msg: &[IoSlice<'_>], from: usize, area: usize) {
        let h = self.seg.slot(s);
        self.seg.write_counted(s, msg, from, area, |done| h.xfer_done.store(done as u64, Release));
    }

    /// Spins for the answer to call `f` in slot `s` until `until`, as
    /// `spin_watch` from `bell` (read before the post) does, copying the
    /// reply's bytes into `reply` (of `cap` bytes) as the server counts
    /// them written (`proto::stream`); `ahead`: bytes copied so far.
    /// Whether the answer came; it stops at a ring for anything else.
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn copy_ahead(
        &self,
        s: u32,
        f: &ClientFutex<'_>,
        bell: u32,
        reply: &mut [IoSliceMut<'_>],
        cap: usize,
        until: Deadline,
        ahead: &mut usize,
    ) -> bool {
        let h = self.seg.slot(s);
        let seq = h.seq.load(Relaxed);
        loop {
            if slot::client_answered(f) {
                return true;
            }
            // Rung: the answer, announced just now, or something else (a
            // transfer, an unblock request) that the general wait sees to.
            if slot::Futex::bell(f) != bell {
                return slot::client_answered(f);
            }
            if let Some(filled) = stream::reply_filled(h.xfer_offset.load(Acquire), seq) {
                let filled = filled.min(cap);
                if filled > *ahead {
                    let n = self.seg.read_inline(s, *ahead, filled - *ahead, reply, *ahead);
                    *ahead += n;
                    if n > 0 {
                        continue;
                    }
                }
            }
            slot::Futex::spin_pause(f);
            if !slot::Futex::keep_spinning(f, until) {
                return slot::client_answered(f);
            }
        }
    }

    /// Copies the reply's bytes `ahead..upto` out of slot `s`, after a
    /// reply copied out in part as it came; nothing if the call failed
    /// (`error`). Out of line: the common path copies from 0.
    #[inline(never)]
    fn copy_rest(&self, s: u32, error: i32, upto: usize, reply: &mut [IoSliceMut<'_>], ahead: usize) {
        if error == 0 && upto > ahead {
            self.seg.read_inline(s, ahead, upto - ahead, reply, ahead);
        }
    }

    /// Waits for the answer to the call posted in slot `s` (the general
    /// wait: sleeps, deadlines, unblock requests, transfers, failures).
    /// `Ok` once the server replied. Inlined: outside the spin, every call
    /// comes here, and as a call of its own it cost about 40 instructions
    /// more (icount, blocking mode).
    #[inline(always)]
    fn wait_answer(
        self: &Arc<Self>,
        s: u32,
        f: &ClientFutex<'_>,
        spec: &WaitSpec<Deadline>,
        detached: &AtomicBool,
        msg: &[IoSlice<'_>],
        reply: &mut [IoSliceMut<'_>],
    ) -> Result<()> {
        loop {
            match slot::client_wait(f, spec) {
                Outcome::Replied => return Ok(()),
                Outcome::Failed => {
                    slot::client_release(f);
                    return Err(Error::new(libc::ESRCH, "the server went away during the call"));
                }
                Outcome::SendTimedOut if detached.load(Relaxed) => return Err(self::detached()),
                Outcome::SendTimedOut => {
                    return Err(Error::new(libc::ETIMEDOUT, "no server received the message before the deadline"));
                }
                Outcome::ReplyTimedOut => {
                    slots::abandon(self, s);
                    if detached.load(Relaxed) {
                        return Err(self::detached());
                    }
                    return Err(Error::new(libc::ETIMEDOUT, "the server did not reply before the deadline"));
                }
                Outcome::UnblockRequested => {
                    self.ring(s);
                }
                Outcome::Transfer => self.serve_transfer(s, msg, reply),
                Outcome::Corrupt(phase) => {
                    slots::abandon(self, s);
                    return Err(
                        Error::new(libc::EPROTO, "the server left the call in an impossible state").with_detail(phase)
                    );
                }
            }
        }
    }

    /// Makes the calls in flight through connection id `coid` look at their
    /// `detached` flag, which the caller has set: they leave with `EBADF`.
    pub(crate) fn poke_calls(&self, coid: i32) {
        // Pairs with the fence in `slot::client_post_checked`: either the
        // scan sees the call's coid, or the call sees the flag.
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        for i in 0..self.seg.layout().slot_count {
            let h = self.seg.slot(i);
            if h.coid.load(Relaxed) == coid {
                slot::client_poke(&SlotFutex(h));
            }
        }
    }

    /// Serves one chunk of a client-assisted transfer: copies between our
    /// buffers and the inline area, then tells the server.
    fn serve_transfer(&self, s: u32, msg: &[IoSlice<'_>], reply: &mut [IoSliceMut<'_>]) {
        let h = self.seg.slot(s);
        let op = h.xfer_op.load(Relaxed);
        let offset = usize::try_from(h.xfer_offset.load(Relaxed)).unwrap_or(usize::MAX);
        let len = h.xfer_len.load(Relaxed) as usize;
        let n = match op {
            XFER_READ => self.seg.write_inline(s, msg, offset, len),
            XFER_WRITE => self.seg.read_inline(s, 0, len, reply, offset),
            _ => 0,
        };
        h.xfer_done.store(n as u64, Relaxed);
        slot::client_transfer_done(&SlotFutex(h));
        h.xfer.store(slot::XFER_DONE, Release);
        futex::wake(&h.xfer, 1);
    }

    /// Queues a pulse without blocking; `EAGAIN` if the server's room for
    /// this connection's pulses is full.
    pub(crate) fn send_pulse(&self, priority: Option<i32>, code: i8, value: i64) -> Result<()> {
        Error::check_not_forked()?;
        if code < 0 {
            return Err(Error::new(libc::EINVAL, "pulse codes from clients are 0..=127").with_detail(code));
        }
        // A given priority is a real-time priority (QNX's 1..=255 map onto
        // 1..=99); the server still caps it at what the sender has.
        let claim = match priority {
            Some(p) if p > 0 => Sched { policy: libc::SCHED_FIFO, level: p.min(99) },
            _ => crate::sched::claim(),
        };
        self.post_pulse(claim, thread::tid(), code, value)
    }

    /// Writes a pulse claiming `claim` for thread `tid` of this process
    /// (the server checks the claim against that thread) into the ring and
    /// rings. Also used by timers and delivered events, which the runtime
    /// thread posts on behalf of another thread.
    pub(crate) fn post_pulse(&self, claim: Sched, tid: i32, code: i8, value: i64) -> Result<()> {
        if self.is_dead() {
            return Err(closed());
        }
        let hdr = self.seg.header();
        let cap = self.seg.layout().pulse_capacity;
        {
            let mut tail = self.pulse_tail.lock().unwrap_or_else(|e| e.into_inner());
            let head = hdr.server.pulse_head.load(Acquire);
            if tail.wrapping_sub(head) >= cap {
                return Err(Error::new(libc::EAGAIN, "the server has not yet taken this connection's earlier pulses")
                    .with_detail(format!("{cap} pending")));
            }
            let e = self.seg.pulse(*tail);
            e.code.store(i32::from(code), Relaxed);
            e.priority.store(claim.level, Relaxed);
            e.policy.store(claim.policy, Relaxed);
            e.tid.store(tid, Relaxed);
            e.value.store(value, Relaxed);
            e.seq.store(self.next_seq(), Relaxed);
            *tail = tail.wrapping_add(1);
            hdr.doorbell.pulse_tail.store(*tail, Release);
        }
        self.ring_for_pulse();
        Ok(())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::spin_bytes;

    #[test]
    fn the_spin_is_sized_by_the_last_reply_within_the_buffers() {
        // A short last reply: the buffers' room does not count.
        assert_eq!(spin_bytes(64, 1 << 20, 16), 80);
        // A reply as large as the buffers, again.
        assert_eq!(spin_bytes(64, 1 << 20, 1 << 20), 64 + (1 << 20));
        // A first call in the slot: the message alone.
        assert_eq!(spin_bytes(4096, 4096, 0), 4096);
        // A longer reply than the buffers (truncated), or a server's lie:
        // no more than the buffers hold, and no overflow.
        assert_eq!(spin_bytes(64, 4096, 1 << 30), 64 + 4096);
        assert_eq!(spin_bytes(usize::MAX, usize::MAX, u64::MAX), u64::MAX);
    }
}
