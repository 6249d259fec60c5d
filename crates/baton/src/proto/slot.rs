//! The state machine of one call, shared by a client thread and the server.
//!
//! Each slot has a 32-bit state word in shared memory. Its low four bits are
//! the *phase*; the bits above are flags. The client thread sleeps on the
//! word (it is also its futex).
//!
//! | phase       | owner  | meaning                                           |
//! |-------------|--------|---------------------------------------------------|
//! | `IDLE`      | client | free; the client may fill in a request            |
//! | `POSTED`    | shared | SEND-blocked: waiting for a server to take it     |
//! | `RECEIVED`  | server | REPLY-blocked: a server thread holds the request  |
//! | `BUSY`      | server | the server is writing into the client's buffers   |
//! | `REPLIED`   | client | the answer (reply or error) is in the slot; once  |
//! |             |        | read, the slot stays so until the next post       |
//! | `ABANDONED` | server | the client gave up while REPLY-blocked            |
//! | `FAILED`    | client | the client's runtime failed the call (server died)|
//!
//! Transitions (C = client thread, S = server, R = client's runtime thread):
//!
//! ```text
//! IDLE      --C post-------------> POSTED
//! POSTED    --S claim (CAS)------> RECEIVED
//! POSTED    --C send timeout (CAS)-> IDLE          (server never sees it)
//! RECEIVED  --S begin write------> BUSY
//! BUSY      --S end write--------> RECEIVED
//! BUSY      --S finish (swap)----> REPLIED         (wake if WAITER)
//! RECEIVED  --S reply (CAS)------> REPLIED         (answer in the slot only, announced
//!                                                   first by the answer word; wake if WAITER)
//! RECEIVED  --C reply timeout----> ABANDONED       (channel without UNBLOCK)
//! ABANDONED --S begin write/reply/drop-> IDLE     (server answers ESRCH)
//! POSTED/RECEIVED/BUSY --R server died--> FAILED
//! FAILED    --C consumed----> IDLE
//! REPLIED   --C next post--------> POSTED        (a read answer needs no store)
//! ```
//!
//! Flags: `WAITER` (the client is asleep or about to be: the server must
//! wake it), `WAKE_ON_CLAIM` (a SEND-blocked client whose reply deadline has
//! already passed: the server must wake it when it takes the message, so
//! the client can time out or ask to be unblocked at once), `RQ_WAITER` (a
//! real-time client sleeps on the word in `FUTEX_WAIT_REQUEUE_PI`: the
//! server that takes the message moves it onto the slot's priority-
//! inheritance word with `FUTEX_CMP_REQUEUE_PI` instead of waking it, and
//! anyone else who must wake it does the same), `UNBLOCK_REQ` (REPLY-blocked client on an UNBLOCK channel asked
//! to be released), `ABANDON_WAIT` (the client wants to abandon and waits
//! for `BUSY` to end), `XFER_REQ` (the server asks the client to copy part
//! of its buffers through the inline area, see [`server_request_transfer`]),
//! `POKE` (toggled by another thread of the client's process to make the
//! waiting client look at its process-local state again, see
//! [`client_poke`]; it means nothing else, and any transition may drop it).
//!
//! Invariants:
//! 1. Only the owner of a phase moves the slot out of it, except the
//!    CAS-guarded races `POSTED` (claim vs. withdraw) and `RECEIVED`
//!    (begin-write or reply vs. abandon): the CAS decides, so exactly one
//!    side wins. (A client that took an early answer, invariant 6, does
//!    not abandon: it has left the call.)
//! 2. The server reads or writes the client's buffers only in `BUSY`, and
//!    the client never leaves while the slot is `BUSY`, so a server can
//!    never touch memory a client has already reused. (The slot's own
//!    areas it may write while `RECEIVED`: a client that abandons leaves
//!    the slot to the server until it answers.)
//! 3. Request fields are written before `POSTED` is stored (release) and
//!    read after the claim (acquire); reply fields are written before
//!    `REPLIED` (release) and read after it is seen (acquire).
//! 4. A client that sets `WAITER` re-checks the word in the futex wait
//!    (expected value includes `WAITER`), and every server transition out
//!    of a phase the client waits on wakes it if `WAITER` was set, so no
//!    wake-up is lost and none is made when nobody sleeps.
//! 5. Every such transition (an answer, a transfer request, a failure)
//!    also rings the slot's *bell*, a word on another cache line, after
//!    the state word has changed. A spinning client watches the bell, not
//!    the state word: it reads the bell, then the state, and spins while
//!    the bell keeps the value read (looking at the state again now and
//!    then all the same). So the server's claim and answer find the state
//!    word's line in their own cache instead of taking it back from a
//!    client that keeps reading it (docs/DESIGN.md, "Spin mode across
//!    CPUs"). The bell only tells a spinner when to look; the state word
//!    decides, and so does the answer word (invariant 6), for which the
//!    one-step answer rings before its state change instead of after.
//! 6. An answer written into the slot's own areas (the one-step answer,
//!    [`server_reply`]) is announced before the state word changes: the
//!    server stores the call's sequence number into the slot's *answer
//!    word*, on the bell's line with the reply fields, rings the bell, and
//!    only then moves the state word `RECEIVED` → `REPLIED`. A client that
//!    finds its own sequence number there has its answer ([`client_answered`])
//!    without reading the state word's line, and leaves; the slot stays
//!    `RECEIVED` until the server's compare-and-swap lands, so the client's
//!    next post looks at the state word first and, if that has not
//!    happened yet, waits for it ([`client_settle`]). Before a post the
//!    client makes sure the word does not already hold the new call's
//!    number (a wrapped counter). A transition the bell announces that is
//!    not an answer leaves the word alone, so the client then reads the
//!    state.

use crate::sync::{fence, AtomicBool, AtomicU32};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst};

pub(crate) const PHASE_MASK: u32 = 0xf;
pub(crate) const IDLE: u32 = 0;
pub(crate) const POSTED: u32 = 1;
pub(crate) const RECEIVED: u32 = 2;
pub(crate) const BUSY: u32 = 3;
pub(crate) const REPLIED: u32 = 4;
pub(crate) const ABANDONED: u32 = 5;
pub(crate) const FAILED: u32 = 6;

pub(crate) const UNBLOCK_REQ: u32 = 1 << 8;
pub(crate) const ABANDON_WAIT: u32 = 1 << 9;
pub(crate) const XFER_REQ: u32 = 1 << 10;
pub(crate) const WAKE_ON_CLAIM: u32 = 1 << 11;
pub(crate) const RQ_WAITER: u32 = 1 << 12;
pub(crate) const POKE: u32 = 1 << 13;
pub(crate) const WAITER: u32 = 1 << 31;

/// The phase of a state word.
#[inline]
pub(crate) fn phase(s: u32) -> u32 {
    s & PHASE_MASK
}

/// A futex word plus the means to sleep on it and wake it: real futexes in
/// shared memory, or a loom model.
pub(crate) trait Futex {
    /// An absolute deadline.
    type Deadline: Copy;
    fn word(&self) -> &AtomicU32;
    /// Sleeps while the word holds `expected`; returns `false` if the
    /// deadline passed.
    fn wait(&self, expected: u32, deadline: Self::Deadline) -> bool;
    fn wake(&self);
    fn expired(&self, deadline: Self::Deadline) -> bool;
    fn never(&self) -> Self::Deadline;
    /// The earlier of two deadlines.
    fn earlier(&self, a: Self::Deadline, b: Self::Deadline) -> Self::Deadline;
    /// Waits on a priority-inheritance word instead of the state word, so
    /// that its owner (a server thread) runs at our priority meanwhile:
    /// `word` says which. `expected` is the state value the caller saw;
    /// the wait must not begin if it has changed. Returns `false` if there
    /// is no owner to wait for (the caller sleeps the plain way instead).
    fn pi_wait(&self, word: PiWord, expected: u32, deadline: Self::Deadline) -> bool;
    /// How long a priority-inheritance wait on `word` lasts before the
    /// caller looks at the state word again.
    fn pi_slice(&self, word: PiWord) -> Self::Deadline;
    /// Sleeps while the word holds `expected`, ready to be moved onto the
    /// slot's PI word by [`Futex::requeue`] (`FUTEX_WAIT_REQUEUE_PI`).
    /// Returns `false` if that is not possible here (sleep plainly).
    fn rq_wait(&self, expected: u32, deadline: Self::Deadline) -> bool;
    /// Moves a client sleeping in [`Futex::rq_wait`] onto the slot's PI
    /// word (waking it if nobody owns that word), given the state word's
    /// current value.
    fn requeue(&self, now: u32);
    /// One turn of a spin: a pause, and now and then a chance for another
    /// thread on this CPU (the peer we wait for may be one) to run.
    fn spin_pause(&self) {
        std::hint::spin_loop();
    }
    /// The slot's bell (invariant 5), read with acquire ordering.
    fn bell(&self) -> u32 {
        0
    }
    /// Rings the bell, after a transition the client must see.
    fn ring(&self) {}
    /// Server: records in the answer word that the answer to the call in
    /// the slot is written (invariant 6).
    fn announce_answer(&self) {}
    /// Client: whether the answer word names our call (invariant 6).
    fn answered(&self) -> bool {
        false
    }
    /// Spins while the bell holds `seen` (at least one turn, and no longer
    /// than `until` or a while; the caller looks at the state again).
    fn spin_watch(&self, seen: u32, until: Self::Deadline) {
        let _ = (seen, until);
        self.spin_pause();
    }
    /// Whether a spinner still spins (`until` has not passed). May answer
    /// from a count of turns instead of the clock most of the time.
    fn keep_spinning(&self, until: Self::Deadline) -> bool {
        !self.expired(until)
    }
}

/// Which priority-inheritance word a client waits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PiWord {
    /// The slot's: owned by the server thread that took the request.
    Slot,
    /// The connection's boost word: owned by the server thread that last
    /// took a request from this connection (the send-time boost).
    Boost,
}

impl<T: Futex> Futex for &T {
    type Deadline = T::Deadline;
    fn word(&self) -> &AtomicU32 {
        (**self).word()
    }
    fn wait(&self, expected: u32, deadline: Self::Deadline) -> bool {
        (**self).wait(expected, deadline)
    }
    fn wake(&self) {
        (**self).wake()
    }
    fn expired(&self, deadline: Self::Deadline) -> bool {
        (**self).expired(deadline)
    }
    fn never(&self) -> Self::Deadline {
        (**self).never()
    }
    fn earlier(&self, a: Self::Deadline, b: Self::Deadline) -> Self::Deadline {
        (**self).earlier(a, b)
    }
    fn pi_wait(&self, word: PiWord, expected: u32, deadline: Self::Deadline) -> bool {
        (**self).pi_wait(word, expected, deadline)
    }
    fn pi_slice(&self, word: PiWord) -> Self::Deadline {
        (**self).pi_slice(word)
    }
    fn rq_wait(&self, expected: u32, deadline: Self::Deadline) -> bool {
        (**self).rq_wait(expected, deadline)
    }
    fn requeue(&self, now: u32) {
        (**self).requeue(now)
    }
    fn spin_pause(&self) {
        (**self).spin_pause()
    }
    fn keep_spinning(&self, until: Self::Deadline) -> bool {
        (**self).keep_spinning(until)
    }
    fn bell(&self) -> u32 {
        (**self).bell()
    }
    fn ring(&self) {
        (**self).ring()
    }
    fn announce_answer(&self) {
        (**self).announce_answer()
    }
    fn answered(&self) -> bool {
        (**self).answered()
    }
    fn spin_watch(&self, seen: u32, until: Self::Deadline) {
        (**self).spin_watch(seen, until)
    }
}

/// Deadlines and channel behaviour for one client wait.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WaitSpec<D> {
    /// Give up while SEND-blocked at this moment.
    pub send: D,
    /// Give up (or ask to be unblocked) while REPLY-blocked at this moment.
    pub reply: D,
    /// The channel has `_NTO_CHF_UNBLOCK`: a REPLY-blocked timeout asks the
    /// server instead of leaving.
    pub unblock_channel: bool,
    /// Until this moment the client spins instead of sleeping.
    pub spin_until: D,
    /// The caller is real-time on a channel with priority inheritance: it
    /// waits on the priority-inheritance words so that the server thread
    /// working for it runs at its priority.
    pub pi: bool,
    /// From this moment a real-time caller still SEND-blocked boosts the
    /// server thread that last served its connection.
    pub boost: D,
}

/// How a client's wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The server answered; read the reply (the slot may stay `REPLIED`
    /// until the next post).
    Replied,
    /// The runtime failed the call; read the error, then [`client_release`].
    Failed,
    /// Timed out while SEND-blocked: withdrawn, the slot is `IDLE` again.
    SendTimedOut,
    /// Timed out while REPLY-blocked: the slot now belongs to the server
    /// until it answers (`ABANDONED` → `IDLE`).
    ReplyTimedOut,
    /// `UNBLOCK_REQ` was set: tell the server (post + doorbell), wait again.
    UnblockRequested,
    /// The server asked for a transfer: serve it, then wait again.
    Transfer,
    /// The word held a phase that cannot occur while we wait (the peer
    /// wrote garbage).
    Corrupt(u32),
}

/// Client: publishes a filled-in request (`IDLE` → `POSTED`).
#[inline]
pub(crate) fn client_post<F: Futex>(f: &F) {
    f.word().store(POSTED, Release);
}

/// Client: publishes a request on a connection that may be closing.
/// Returns `false` if the connection was declared dead (and the request
/// withdrawn); `true` means either the server will see it or
/// [`runtime_close`] will fail it, so waiting for it cannot hang.
pub(crate) fn client_post_checked<F: Futex>(f: &F, dead: &AtomicBool) -> bool {
    client_post(f);
    // Pairs with the fence in `runtime_close`: either we see `dead`, or the
    // runtime's scan sees `POSTED`.
    fence(SeqCst);
    !(dead.load(Relaxed) && client_withdraw(f))
}

/// Client's runtime: declares a connection dead (its server is gone) and
/// fails every call in flight on it. Returns `false` if it was dead already.
pub(crate) fn runtime_close<F: Futex>(dead: &AtomicBool, slots: impl IntoIterator<Item = F>) -> bool {
    if dead.swap(true, SeqCst) {
        return false;
    }
    fence(SeqCst);
    for f in slots {
        runtime_fail(&f);
    }
    true
}

/// Client: withdraws a posted request if the server has not taken it.
/// Returns `true` if withdrawn (the slot is `IDLE` again).
pub(crate) fn client_withdraw<F: Futex>(f: &F) -> bool {
    let mut s = f.word().load(Acquire);
    while phase(s) == POSTED {
        match f.word().compare_exchange(s, IDLE, AcqRel, Acquire) {
            Ok(_) => return true,
            Err(now) => s = now,
        }
    }
    false
}

/// Client, before a post: waits while the slot's last call is still
/// `RECEIVED` because its answer was taken early (invariant 6) and the
/// server's compare-and-swap has not landed yet. It nearly always has; if
/// not, the client sleeps as `WAITER`, which that compare-and-swap wakes
/// (as does a failure of the call by the runtime). Returns `false` if
/// `deadline` passed first.
pub(crate) fn client_settle<F: Futex>(f: &F, deadline: F::Deadline) -> bool {
    let w = f.word();
    loop {
        let s = w.load(Acquire);
        if phase(s) != RECEIVED {
            return true;
        }
        if f.expired(deadline) {
            return false;
        }
        let want = s | WAITER;
        if s & WAITER == 0 && w.compare_exchange(s, want, AcqRel, Acquire).is_err() {
            continue;
        }
        f.wait(want, deadline);
    }
}

/// Client: whether the server answered (what [`client_wait`] returns
/// [`Outcome::Replied`] for, checked alone).
#[inline]
pub(crate) fn client_answered<F: Futex>(f: &F) -> bool {
    f.answered() || phase(f.word().load(Acquire)) == REPLIED
}

/// Whether a slot holds no call: `IDLE`, or `REPLIED` with its answer
/// read (a slot no thread holds has no unread answer: a thread that dies
/// before reading it is released with [`release_dead`]).
#[inline]
pub(crate) fn unused(s: u32) -> bool {
    matches!(phase(s), IDLE | REPLIED)
}

/// Client: waits until the call completes or a deadline passes.
pub(crate) fn client_wait<F: Futex>(f: &F, spec: &WaitSpec<F::Deadline>) -> Outcome {
    let w = f.word();
    loop {
        // The bell first: a transition after this read of the state rings
        // it again, so a spin on the value read here cannot miss it.
        let bell = f.bell();
        if f.answered() {
            return Outcome::Replied;
        }
        let s = w.load(Acquire);
        match phase(s) {
            REPLIED => return Outcome::Replied,
            FAILED => return Outcome::Failed,
            POSTED => {
                if f.expired(spec.send) {
                    if client_withdraw(f) {
                        return Outcome::SendTimedOut;
                    }
                    continue;
                }
                let reply_due = f.expired(spec.reply);
                if spec.pi && !reply_due && !f.expired(spec.boost) {
                    // Sleep so that the server taking the message moves us
                    // straight onto the slot's PI word (no extra wake-up).
                    if s & RQ_WAITER == 0 {
                        let _ = w.compare_exchange(s, s | RQ_WAITER, AcqRel, Acquire);
                    } else if !f.rq_wait(s, f.earlier(spec.send, spec.boost)) {
                        sleep(f, s, bell, f.earlier(spec.send, spec.boost), spec.spin_until);
                    }
                    continue;
                }
                // Ask to be woken the moment a server takes the message if
                // the reply deadline already passed (it applies from then),
                // or to move to the priority-inheritance wait.
                if (reply_due || spec.pi) && s & WAKE_ON_CLAIM == 0 {
                    let next = (s & !RQ_WAITER) | WAKE_ON_CLAIM | WAITER;
                    let _ = w.compare_exchange(s, next, AcqRel, Acquire);
                    continue;
                }
                if spec.pi
                    && f.expired(spec.boost)
                    && f.pi_wait(PiWord::Boost, s, f.earlier(spec.send, f.pi_slice(PiWord::Boost)))
                {
                    continue;
                }
                let mut until = if reply_due { spec.send } else { f.earlier(spec.send, spec.reply) };
                if spec.pi && !f.expired(spec.boost) {
                    until = f.earlier(until, spec.boost);
                }
                sleep(f, s, bell, until, spec.spin_until);
            }
            RECEIVED | BUSY => {
                if s & XFER_REQ != 0 {
                    return Outcome::Transfer;
                }
                if !f.expired(spec.reply) {
                    if spec.pi && s & WAITER != 0 {
                        // We wait on the PI word from now on: spare the
                        // server a useless wake of the state word.
                        let _ = w.compare_exchange(s, s & !WAITER, AcqRel, Acquire);
                        continue;
                    }
                    // The slice reads the clock: only a PI waiter needs it
                    // (a spinner would read it on every turn).
                    if !(spec.pi && f.pi_wait(PiWord::Slot, s, f.earlier(spec.reply, f.pi_slice(PiWord::Slot)))) {
                        sleep(f, s, bell, spec.reply, spec.spin_until);
                    }
                } else if spec.unblock_channel {
                    if s & UNBLOCK_REQ == 0 {
                        if w.compare_exchange(s, s | UNBLOCK_REQ, AcqRel, Acquire).is_ok() {
                            return Outcome::UnblockRequested;
                        }
                        continue;
                    }
                    // Asked already: stay blocked until the server answers.
                    if !(spec.pi && f.pi_wait(PiWord::Slot, s, f.pi_slice(PiWord::Slot))) {
                        sleep(f, s, bell, f.never(), spec.spin_until);
                    }
                } else if phase(s) == RECEIVED {
                    if w.compare_exchange(s, ABANDONED, AcqRel, Acquire).is_ok() {
                        return Outcome::ReplyTimedOut;
                    }
                } else if s & ABANDON_WAIT == 0 {
                    // BUSY: the server is writing into our buffers; we may
                    // not leave until it stops.
                    let _ = w.compare_exchange(s, s | ABANDON_WAIT | WAITER, AcqRel, Acquire);
                } else {
                    sleep(f, s, bell, f.never(), spec.spin_until);
                }
            }
            other => return Outcome::Corrupt(other),
        }
    }
}

/// After a transition the client must see (invariants 4 and 5): rings the
/// bell, and wakes the client if the word replaced (`old`) says it sleeps.
fn tell_client<F: Futex>(f: &F, old: u32) {
    f.ring();
    if old & WAITER != 0 {
        f.wake();
    }
}

/// Spins a while, watching the bell (`bell`: read before `s`), until
/// `spin_until`; the caller looks again. After that announces `WAITER`
/// and sleeps on the word.
fn sleep<F: Futex>(f: &F, s: u32, bell: u32, deadline: F::Deadline, spin_until: F::Deadline) {
    if f.keep_spinning(spin_until) {
        // Until the earlier of the two: the caller's deadline holds while
        // it spins (looked at as often as the clock is read).
        f.spin_watch(bell, f.earlier(spin_until, deadline));
        return;
    }
    let want = s | WAITER;
    if s & WAITER == 0 && f.word().compare_exchange(s, want, AcqRel, Acquire).is_err() {
        return;
    }
    f.wait(want, deadline);
}

/// Another thread of the client's process: makes the thread waiting on
/// the slot look at its process-local state again (its connection was
/// detached, which its futex's `expired` now reports). Toggling `POKE`
/// changes the word, so a waiter about to sleep on the old value does not
/// sleep; a sleeper is woken (or, on the requeue-PI wait, moved to the PI
/// word, which it then leaves at once or within a slice). A waiter on a PI
/// word looks again when its slice ends. Nothing happens to a slot not in
/// flight; the server ignores the flag.
pub(crate) fn client_poke<F: Futex>(f: &F) {
    let old = f.word().fetch_xor(POKE, AcqRel);
    if !matches!(phase(old), POSTED | RECEIVED | BUSY) {
        return;
    }
    if old & WAITER != 0 {
        f.wake();
    }
    if old & RQ_WAITER != 0 {
        f.requeue(old ^ POKE);
    }
}

/// Client: marks a consumed `FAILED` (or `REPLIED`) slot free again. A
/// read answer may also stay as it is: the next post overwrites it, and
/// [`unused`] counts it free. Leaving it saves the client a store to the
/// state word's line between the answer and the next post, which, with a
/// server spinning on that line, costs the line a trip between CPUs.
#[inline]
pub(crate) fn client_release<F: Futex>(f: &F) {
    f.word().store(IDLE, Release);
}

/// Client: clears `XFER_REQ` after serving a transfer.
pub(crate) fn client_transfer_done<F: Futex>(f: &F) {
    f.word().fetch_and(!XFER_REQ, AcqRel);
}

/// Client's runtime: fails an in-flight call because the server is gone.
/// Returns `true` if the slot was in flight.
pub(crate) fn runtime_fail<F: Futex>(f: &F) -> bool {
    let w = f.word();
    let mut s = w.load(Acquire);
    loop {
        if !matches!(phase(s), POSTED | RECEIVED | BUSY) {
            return false;
        }
        match w.compare_exchange(s, FAILED | (s & WAITER), AcqRel, Acquire) {
            Ok(_) => {
                tell_client(f, s);
                if s & RQ_WAITER != 0 {
                    f.requeue(FAILED | (s & WAITER));
                }
                return true;
            }
            Err(now) => s = now,
        }
    }
}

/// What [`release_dead`] did with the slot of a thread that exited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Orphan {
    /// The slot is `IDLE`: free for another thread.
    Free,
    /// The slot is the server's until it answers (`ABANDONED` → `IDLE`).
    Abandoned,
    /// The server is writing (`BUSY`), has announced its answer and not
    /// yet published it (invariant 6), or the word holds something
    /// impossible: look again later.
    Later,
}

/// Client side, for a thread that exited in a call (its runtime, or the
/// thread that next takes the slot): a queued request is withdrawn (the
/// server never sees it), one in service is abandoned (the server's answer
/// fails with `ESRCH`), an answer nobody will read is dropped. Never
/// blocks; nobody sleeps on the word any more, so nobody is woken.
pub(crate) fn release_dead<F: Futex>(f: &F) -> Orphan {
    let w = f.word();
    let mut s = w.load(Acquire);
    loop {
        let next = match phase(s) {
            IDLE => return Orphan::Free,
            ABANDONED => return Orphan::Abandoned,
            POSTED | REPLIED | FAILED => IDLE,
            // Answered early (invariant 6): `REPLIED` comes next.
            RECEIVED if f.answered() => return Orphan::Later,
            RECEIVED => ABANDONED,
            _ => return Orphan::Later,
        };
        match w.compare_exchange(s, next, AcqRel, Acquire) {
            Ok(_) if next == IDLE => return Orphan::Free,
            Ok(_) => return Orphan::Abandoned,
            Err(now) => s = now,
        }
    }
}

/// Server: takes a posted request (`POSTED` → `RECEIVED`). `false` if the
/// client withdrew it (or the slot never held one).
#[inline]
pub(crate) fn server_claim<F: Futex>(f: &F) -> bool {
    server_claim_from(f).is_some()
}

/// [`server_claim`], returning the state word the claim replaced: its
/// [`WAKE_ON_CLAIM`] says whether the client was on its way to a
/// priority-inheritance wait (`server/inherit.rs`).
#[inline]
pub(crate) fn server_claim_from<F: Futex>(f: &F) -> Option<u32> {
    let w = f.word();
    let mut s = w.load(Acquire);
    while phase(s) == POSTED {
        let next = (s & WAITER) | RECEIVED;
        match w.compare_exchange(s, next, AcqRel, Acquire) {
            Ok(_) => {
                if s & RQ_WAITER != 0 {
                    f.requeue(next);
                }
                if s & WAKE_ON_CLAIM != 0 {
                    f.wake();
                }
                return Some(s);
            }
            Err(now) => s = now,
        }
    }
    None
}

/// Result of [`server_begin`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Begin {
    /// The slot is `BUSY`: the server may write into the client's buffers.
    Busy,
    /// The client gave up; the slot has been handed back (`IDLE`).
    Abandoned,
    /// The word held something impossible (hostile or broken client).
    Corrupt,
}

/// Server: locks the client's buffers for writing (`RECEIVED` → `BUSY`).
pub(crate) fn server_begin<F: Futex>(f: &F) -> Begin {
    let w = f.word();
    let mut s = w.load(Acquire);
    loop {
        let next = match phase(s) {
            RECEIVED => (s & !PHASE_MASK) | BUSY,
            ABANDONED => IDLE,
            _ => return Begin::Corrupt,
        };
        match w.compare_exchange(s, next, AcqRel, Acquire) {
            Ok(_) if next == IDLE => return Begin::Abandoned,
            Ok(_) => return Begin::Busy,
            Err(now) => s = now,
        }
    }
}

/// Server: ends a write that is not the final answer (`BUSY` → `RECEIVED`),
/// waking a client that waits to abandon.
pub(crate) fn server_end<F: Futex>(f: &F) {
    let w = f.word();
    let mut s = w.load(Acquire);
    while phase(s) == BUSY {
        let next = (s & !(PHASE_MASK | ABANDON_WAIT)) | RECEIVED;
        match w.compare_exchange(s, next, AcqRel, Acquire) {
            Ok(_) => {
                if s & ABANDON_WAIT != 0 {
                    f.wake();
                }
                return;
            }
            Err(now) => s = now,
        }
    }
}

/// Server: publishes the answer written into the slot (`BUSY` → `REPLIED`)
/// and wakes the client if it sleeps.
pub(crate) fn server_finish<F: Futex>(f: &F) {
    let old = f.word().swap(REPLIED, Release);
    tell_client(f, old);
}

/// Server: publishes an answer written into the slot's own header and
/// message areas, not the client's buffers, straight from `RECEIVED`
/// (`RECEIVED` → `REPLIED`, waking the client if it sleeps): one
/// compare-and-swap where [`server_begin`] and [`server_finish`] take two.
/// The answer is announced first (the answer word and the bell, invariant
/// 6); the client reads nothing of it before it finds its call named there
/// or the slot `REPLIED`. A client that gave up meanwhile (`ABANDONED`)
/// has left the slot to the server, which hands it back (`IDLE`) and gets
/// [`Begin::Abandoned`]. Returns [`Begin::Busy`] once published.
pub(crate) fn server_reply<F: Futex>(f: &F) -> Begin {
    let w = f.word();
    let mut s = w.load(Acquire);
    // Announced first (invariant 6): a spinning client leaves with the
    // answer while the compare-and-swap below waits for the reply bytes'
    // line, and finds no second ring to look at after it. (Not to a
    // client known to have left; one that leaves meanwhile ignores it.)
    if phase(s) == RECEIVED {
        f.announce_answer();
        f.ring();
    }
    loop {
        let next = match phase(s) {
            RECEIVED => REPLIED,
            ABANDONED => IDLE,
            _ => return Begin::Corrupt,
        };
        match w.compare_exchange(s, next, AcqRel, Acquire) {
            Ok(_) if next == IDLE => return Begin::Abandoned,
            Ok(_) => {
                if s & WAITER != 0 {
                    f.wake();
                }
                return Begin::Busy;
            }
            Err(now) => s = now,
        }
    }
}

/// Server: asks the client to perform a transfer (flag `XFER_REQ` on a
/// `RECEIVED` or `BUSY` slot) and wakes it. The transfer word must have
/// been armed with [`XFER_PENDING`] before. `false` if the client has
/// abandoned the call.
pub(crate) fn server_request_transfer<F: Futex>(f: &F) -> bool {
    let w = f.word();
    let mut s = w.load(Acquire);
    while matches!(phase(s), RECEIVED | BUSY) {
        match w.compare_exchange(s, s | XFER_REQ, AcqRel, Acquire) {
            Ok(_) => {
                tell_client(f, s);
                return true;
            }
            Err(now) => s = now,
        }
    }
    false
}

/// Transfer word values (`SlotHeader::xfer`).
pub(crate) const XFER_PENDING: u32 = 1;
pub(crate) const XFER_DONE: u32 = 2;

/// Whether a relaxed look at the word shows the client asked to be unblocked.
pub(crate) fn unblock_requested(s: u32) -> bool {
    s & UNBLOCK_REQ != 0 && matches!(phase(s), RECEIVED | BUSY)
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Model checks of the handshake and its timeout/cancel races.
    use super::*;
    use loom::sync::{Arc, Condvar, Mutex};
    use loom::thread;

    /// A futex emulated with a mutex and condition variable. A timed wait
    /// does not block: it models the deadline firing at any point.
    struct ModelFutex {
        word: AtomicU32,
        lock: Mutex<()>,
        cv: Condvar,
        /// The call's connection handle was detached: every deadline has
        /// passed (as `wait::ClientFutex` reports it).
        detached: AtomicBool,
        /// The answer word (invariant 6), for the model's one call: 1 once
        /// the server announced its answer.
        answer: AtomicU32,
    }

    impl ModelFutex {
        fn new() -> Arc<ModelFutex> {
            Arc::new(ModelFutex {
                word: AtomicU32::new(IDLE),
                lock: Mutex::new(()),
                cv: Condvar::new(),
                detached: AtomicBool::new(false),
                answer: AtomicU32::new(0),
            })
        }
    }

    /// `true` = a deadline that fires; `false` = no deadline.
    impl Futex for ModelFutex {
        type Deadline = bool;
        fn word(&self) -> &AtomicU32 {
            &self.word
        }
        fn wait(&self, expected: u32, timed: bool) -> bool {
            if timed {
                return false;
            }
            let g = self.lock.lock().unwrap();
            if self.word.load(Acquire) == expected {
                drop(self.cv.wait(g).unwrap());
            }
            true
        }
        fn wake(&self) {
            let _g = self.lock.lock().unwrap();
            self.cv.notify_all();
        }
        fn expired(&self, d: bool) -> bool {
            d || self.detached.load(Relaxed)
        }
        fn never(&self) -> bool {
            false
        }
        fn earlier(&self, a: bool, b: bool) -> bool {
            a || b
        }
        fn pi_wait(&self, _: PiWord, _: u32, _: bool) -> bool {
            false
        }
        fn pi_slice(&self, _: PiWord) -> bool {
            true
        }
        fn rq_wait(&self, _: u32, _: bool) -> bool {
            false
        }
        fn requeue(&self, _: u32) {
            self.wake();
        }
        fn announce_answer(&self) {
            self.answer.store(1, Release);
        }
        fn answered(&self) -> bool {
            self.answer.load(Acquire) == 1
        }
    }

    fn spec(send: bool, reply: bool, unblock: bool) -> WaitSpec<bool> {
        WaitSpec { send, reply, unblock_channel: unblock, spin_until: true, pi: false, boost: false }
    }

    /// Server side of one call: claim, write, answer. Returns whether the
    /// client got the answer path (`Busy`) or had abandoned.
    fn serve(f: &ModelFutex) -> Option<Begin> {
        if !server_claim(f) {
            return None;
        }
        let b = server_begin(f);
        if b == Begin::Busy {
            server_finish(f);
        }
        Some(b)
    }

    #[test]
    fn plain_call_completes_exactly_once() {
        loom::model(|| {
            let f = ModelFutex::new();
            client_post(&*f);
            let s = f.clone();
            let server = thread::spawn(move || serve(&s));
            let out = client_wait(&*f, &spec(false, false, false));
            assert_eq!(out, Outcome::Replied);
            assert_eq!(server.join().unwrap(), Some(Begin::Busy));
            client_release(&*f);
            assert_eq!(f.word.load(Acquire), IDLE);
        });
    }

    /// A call without deadlines whose handle another thread detaches
    /// (flag, then poke) never sleeps on: it is withdrawn, abandoned, or
    /// answered in time, and the server (if one receives at all) agrees.
    /// Bounded to two preemptions: unbounded, this model runs for a very
    /// long time (the others finish in seconds either way).
    #[test]
    fn detach_ends_a_call_without_deadlines() {
        for (unblock, receiver) in [(false, false), (false, true), (true, true)] {
            let mut model = loom::model::Builder::new();
            model.preemption_bound = Some(2);
            model.check(move || {
                let f = ModelFutex::new();
                client_post(&*f);
                let (s, d) = (f.clone(), f.clone());
                let server = receiver.then(|| thread::spawn(move || serve(&s)));
                let detacher = thread::spawn(move || {
                    d.detached.store(true, SeqCst);
                    client_poke(&*d);
                });
                let out = client_wait(&*f, &spec(false, false, unblock));
                let out = if out == Outcome::UnblockRequested {
                    // The server decides (here: it answers).
                    client_wait(&*f, &spec(false, false, unblock))
                } else {
                    out
                };
                detacher.join().unwrap();
                let served = server.and_then(|s| s.join().unwrap());
                match out {
                    Outcome::SendTimedOut => assert_eq!(served, None),
                    Outcome::ReplyTimedOut => assert_eq!(served, Some(Begin::Abandoned)),
                    Outcome::Replied => assert_eq!(served, Some(Begin::Busy)),
                    o => panic!("unexpected {o:?}"),
                }
            });
        }
    }

    #[test]
    fn send_timeout_races_claim() {
        loom::model(|| {
            let f = ModelFutex::new();
            client_post(&*f);
            let s = f.clone();
            let server = thread::spawn(move || serve(&s));
            let out = client_wait(&*f, &spec(true, false, false));
            let served = server.join().unwrap();
            match out {
                // Withdrawn: the server must not have seen it.
                Outcome::SendTimedOut => assert_eq!(served, None),
                // Taken in time: it was answered.
                Outcome::Replied => assert_eq!(served, Some(Begin::Busy)),
                o => panic!("unexpected {o:?}"),
            }
        });
    }

    #[test]
    fn reply_timeout_races_reply() {
        loom::model(|| {
            let f = ModelFutex::new();
            client_post(&*f);
            let s = f.clone();
            let server = thread::spawn(move || serve(&s));
            let out = client_wait(&*f, &spec(false, true, false));
            settled(&f, out, server.join().unwrap().expect("no send timeout"));
        });
    }

    /// How a reply timeout's race with the answer ended, checked: the
    /// client left and the server learned it and handed the slot back, or
    /// the client got the answer.
    fn settled(f: &ModelFutex, out: Outcome, served: Begin) {
        match out {
            Outcome::ReplyTimedOut => {
                assert_eq!(served, Begin::Abandoned);
                assert_eq!(f.word.load(Acquire), IDLE);
            }
            Outcome::Replied => assert_eq!(served, Begin::Busy),
            o => panic!("unexpected {o:?}"),
        }
    }

    /// The one-step answer from `RECEIVED` against a reply timeout: the
    /// client gets the answer or leaves, and the server learns which.
    #[test]
    fn direct_reply_races_reply_timeout() {
        for unblock in [false, true] {
            loom::model(move || {
                let f = ModelFutex::new();
                client_post(&*f);
                let s = f.clone();
                let server = thread::spawn(move || server_claim(&*s).then(|| server_reply(&*s)));
                let mut out = client_wait(&*f, &spec(false, true, unblock));
                if out == Outcome::UnblockRequested {
                    out = client_wait(&*f, &spec(false, true, unblock));
                }
                settled(&f, out, server.join().unwrap().expect("no send timeout"));
            });
        }
    }

    /// After an answer taken early the slot is `RECEIVED` until the
    /// server's compare-and-swap: the next post waits for it, and is woken
    /// if it sleeps.
    #[test]
    fn the_next_post_waits_for_an_early_answer_to_settle() {
        loom::model(|| {
            let f = ModelFutex::new();
            client_post(&*f);
            let s = f.clone();
            let server = thread::spawn(move || server_claim(&*s).then(|| server_reply(&*s)));
            assert_eq!(client_wait(&*f, &spec(false, false, false)), Outcome::Replied);
            assert!(client_settle(&*f, false));
            assert!(unused(f.word.load(Acquire)));
            assert_eq!(server.join().unwrap(), Some(Begin::Busy));
        });
    }

    /// A thread that dies with an answer announced but not yet published:
    /// its runtime does not abandon the call (the server's answer stands),
    /// and frees the slot once it is published.
    #[test]
    fn a_dead_threads_early_answer_is_not_abandoned() {
        loom::model(|| {
            let f = ModelFutex::new();
            client_post(&*f);
            assert!(server_claim(&*f));
            let s = f.clone();
            let server = thread::spawn(move || server_reply(&*s));
            let orphan = release_dead(&*f);
            let served = server.join().unwrap();
            match orphan {
                Orphan::Abandoned => assert_eq!(served, Begin::Abandoned),
                Orphan::Free => assert_eq!(served, Begin::Busy),
                Orphan::Later => {
                    assert_eq!(served, Begin::Busy);
                    assert_eq!(release_dead(&*f), Orphan::Free);
                }
            }
            assert_eq!(f.word.load(Acquire), IDLE);
        });
    }

    #[test]
    fn reply_deadline_passed_while_still_queued() {
        loom::model(|| {
            let f = ModelFutex::new();
            client_post(&*f);
            let s = f.clone();
            // The server takes the message only later, and answers.
            let server = thread::spawn(move || serve(&s));
            let out = client_wait(&*f, &spec(false, true, false));
            let served = server.join().unwrap().expect("no send timeout");
            match out {
                Outcome::ReplyTimedOut => assert_eq!(served, Begin::Abandoned),
                Outcome::Replied => assert_eq!(served, Begin::Busy),
                o => panic!("unexpected {o:?}"),
            }
        });
    }

    #[test]
    fn client_never_leaves_while_server_writes() {
        loom::model(|| {
            let f = ModelFutex::new();
            client_post(&*f);
            assert!(server_claim(&*f));
            let s = f.clone();
            let server = thread::spawn(move || {
                // A MsgWrite followed by the reply.
                if server_begin(&*s) != Begin::Busy {
                    return false;
                }
                server_end(&*s);
                match server_begin(&*s) {
                    Begin::Busy => {
                        server_finish(&*s);
                        true
                    }
                    _ => false,
                }
            });
            let out = client_wait(&*f, &spec(false, true, false));
            let replied = server.join().unwrap();
            match out {
                Outcome::ReplyTimedOut => assert!(!replied),
                Outcome::Replied => assert!(replied),
                o => panic!("unexpected {o:?}"),
            }
        });
    }

    #[test]
    fn unblock_channel_keeps_client_until_answer() {
        loom::model(|| {
            let f = ModelFutex::new();
            client_post(&*f);
            assert!(server_claim(&*f));
            let s = f.clone();
            let server = thread::spawn(move || {
                assert_eq!(server_begin(&*s), Begin::Busy);
                server_finish(&*s);
            });
            let mut out = client_wait(&*f, &spec(false, true, true));
            if out == Outcome::UnblockRequested {
                out = client_wait(&*f, &spec(false, true, true));
            }
            assert_eq!(out, Outcome::Replied);
            server.join().unwrap();
        });
    }

    #[test]
    fn post_racing_server_death_never_hangs() {
        loom::model(|| {
            let f = ModelFutex::new();
            let dead = Arc::new(AtomicBool::new(false));
            let (s, d) = (f.clone(), dead.clone());
            let runtime = thread::spawn(move || runtime_close(&d, [&*s]));
            if client_post_checked(&*f, &dead) {
                // Nobody serves: only the runtime can end this wait.
                assert_eq!(client_wait(&*f, &spec(false, false, false)), Outcome::Failed);
            } else {
                assert_eq!(f.word.load(Acquire), IDLE);
            }
            assert!(runtime.join().unwrap());
        });
    }

    #[test]
    fn transfer_request_races_reply_timeout() {
        loom::model(|| {
            let f = ModelFutex::new();
            let xfer = ModelFutex::new();
            client_post(&*f);
            assert!(server_claim(&*f));
            let (s, x) = (f.clone(), xfer.clone());
            let server = thread::spawn(move || {
                x.word.store(XFER_PENDING, Release);
                if !server_request_transfer(&*s) {
                    return false; // abandoned first
                }
                while x.word.load(Acquire) == XFER_PENDING {
                    x.wait(XFER_PENDING, false);
                }
                // Then the answer, unless the client has left meanwhile.
                match server_begin(&*s) {
                    Begin::Busy => {
                        server_finish(&*s);
                        true
                    }
                    b => {
                        assert_eq!(b, Begin::Abandoned);
                        false
                    }
                }
            });
            let replied = loop {
                match client_wait(&*f, &spec(false, true, false)) {
                    Outcome::Transfer => {
                        client_transfer_done(&*f);
                        xfer.word.store(XFER_DONE, Release);
                        xfer.wake();
                    }
                    Outcome::ReplyTimedOut => break false,
                    Outcome::Replied => break true,
                    o => panic!("unexpected {o:?}"),
                }
            };
            assert_eq!(server.join().unwrap(), replied);
        });
    }

    #[test]
    fn server_death_fails_waiting_client() {
        loom::model(|| {
            let f = ModelFutex::new();
            client_post(&*f);
            let s = f.clone();
            let runtime = thread::spawn(move || runtime_fail(&*s));
            let out = client_wait(&*f, &spec(false, false, false));
            assert_eq!(out, Outcome::Failed);
            assert!(runtime.join().unwrap());
        });
    }
}
