//! Receiving: waiting on the doorbells, filling the ready queue, taking
//! the first entry.
//!
//! A receiving thread first looks at the ready queue. If it is empty, it
//! sleeps on its connections' doorbell words (`sleep.rs`) or waits in the
//! channel's epoll set, where every connection's doorbell is
//! registered edge-triggered under its scoid. A doorbell means "look at my
//! posted bits and my pulse ring"; the thread moves what it finds into the
//! queue (under the channel lock), then takes the first entry. If more work
//! is left and other receivers are waiting, it wakes one of them. (Moving
//! posted work into the queue is in `drain.rs`.) A receiver that spins
//! over its hot connections takes a message posted in a slot it watches
//! straight from the slot when nothing else waits (`fast.rs`).

use super::drain::{drain, drain_hot, pick_hot, posted_besides_watch, pulse_wanted};
use super::fast::Taken;
use super::inherit;
use super::request::{Received, Request};
use super::{ChanState, ChannelShared, QueuedMsg, WAKE_TOKEN};
use crate::error::{Error, Result};
use crate::proto::doorbell;
use crate::proto::queue::Item;
use crate::proto::slot;
use crate::sys::event::Ready;
use crate::sys::sched::Sched;
use crate::sys::time::Deadline;
use crate::types::{chf, Pulse, WaitMode};
use crate::wait::SlotFutex;
use std::io::IoSliceMut;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::{Arc, MutexGuard};

/// What a receive accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Want {
    Any,
    PulsesOnly,
}

fn destroyed() -> Error {
    Error::new(libc::ESRCH, "the channel was destroyed")
}

fn timed_out() -> Error {
    Error::new(libc::ETIMEDOUT, "nothing arrived before the deadline")
}

/// Outcome of one look at the queue.
enum Took {
    Pulse(Pulse),
    Message { conn: Arc<super::ServerConn>, slot: u32, gen: u32, sched: Sched, pi: bool },
    Nothing,
}

impl ChannelShared {
    /// Receives one message (copied into `parts`) or pulse.
    pub(crate) fn receive(
        self: &Arc<Self>,
        parts: &mut [IoSliceMut<'_>],
        deadline: Deadline,
        want: Want,
    ) -> Result<Received> {
        Error::check_not_forked()?;
        inherit::entering_receive();
        let mut ready = [Ready { token: 0 }; 16];
        let mut st = self.lock();
        if st.last_receiver == 0 && self.flags & chf::FIXED_PRIORITY == 0 {
            // The channel's first receiver: connections made before it
            // have nobody named in their boost word yet.
            for e in st.conns.values() {
                inherit::designate(&e.conn.seg.header().server.boost);
            }
        }
        st.last_receiver = crate::sys::thread::tid() as u32;
        self.keep_promise(&mut st);
        // Whether the doorbells were just read (no need to look again).
        let mut looked = false;
        loop {
            if st.destroyed {
                // Wake-ups of the (edge-triggered) wake fd merge: pass this
                // one on so every receiver hears of the destroy.
                if st.receivers > 0 {
                    self.wake_receiver();
                }
                return Err(destroyed());
            }
            if !st.queue.is_empty() && !looked {
                // The queue was filled earlier: what has arrived since may
                // outrank everything in it, so look before taking.
                self.look_again(&mut st, &mut ready);
            }
            looked = false;
            let mut took = self.take(&mut st, want);
            if matches!(took, Took::Nothing) && !st.hot.is_empty() {
                if let Some((until, start)) = self.spin_until(&st) {
                    // The fast path's request holds the channel: taken
                    // now, the reference's locked increment is not between
                    // the claim and the answer.
                    let chan = self.clone();
                    let seen;
                    (st, seen) = match self.spin(st, until, start, &mut ready, want) {
                        Spun::Locked(st, seen) => (st, seen),
                        Spun::Taken(t) => {
                            // The fast path: no lock, no queue (`fast.rs`).
                            if let Some(r) = Request::deliver(chan, t.conn, t.slot, t.gen, t.sched, parts) {
                                return Ok(Received::Message(r));
                            }
                            st = self.lock();
                            continue;
                        }
                    };
                    if st.destroyed {
                        // Destroyed while we spun without the lock (and
                        // without being counted as a receiver to wake).
                        continue;
                    }
                    self.look_if_stale_at(&mut st, &mut ready, seen);
                    took = self.take(&mut st, want);
                }
            }
            if matches!(took, Took::Nothing) {
                took = self.take_hot(&mut st, want, &mut ready);
            }
            if !matches!(took, Took::Nothing) {
                self.leave_promises(&mut st);
            }
            match took {
                Took::Pulse(p) => return Ok(Received::Pulse(p)),
                Took::Message { conn, slot, gen, sched, pi } => {
                    drop(st);
                    if pi {
                        inherit::await_waiter(&conn, slot);
                    }
                    if let Some(r) = Request::deliver(self.clone(), conn, slot, gen, sched, parts) {
                        return Ok(Received::Message(r));
                    }
                    st = self.lock();
                    continue;
                }
                Took::Nothing => {}
            }
            st = match self.sleep_on_futexes(st, deadline) {
                Ok(woken) => {
                    st = woken;
                    looked = true;
                    if deadline.expired() && !has_work(&st, want) {
                        return Err(timed_out());
                    }
                    continue;
                }
                Err(st) => st,
            };
            // Counted before the lock is released, so whoever queues work
            // next knows to wake us.
            self.count_sleeper(&mut st, true);
            drop(st);
            let n = self.epoll.wait(&mut ready, deadline).unwrap_or(0);
            self.looked_now();
            st = self.lock();
            self.count_sleeper(&mut st, false);
            for r in &ready[..n] {
                if r.token != WAKE_TOKEN {
                    drain(&mut st, r.token as u32);
                }
            }
            looked = true;
            if n == 0 && deadline.expired() && !has_work(&st, want) {
                return Err(timed_out());
            }
        }
    }

    /// With the queue empty: takes what the hot connections posted. A lone
    /// message on the one hot connection is taken without the queue, if
    /// nothing else can be waiting (every connection is that one, or the
    /// doorbells were read less than `STALE` ago); with no other receiver
    /// asleep, without withdrawing the promise either (`drain::pick_hot`).
    /// Otherwise the promises are withdrawn and what was posted queued
    /// (`drain_hot`); the doorbells are read first if they are stale and
    /// some connection was not hot (with every connection just looked at,
    /// none can rank anything against what was found: no `epoll_wait`,
    /// which in blocking mode on one CPU was one every third message).
    fn take_hot(&self, st: &mut ChanState, want: Want, ready: &mut [Ready]) -> Took {
        let pick = want == Want::Any
            && st.hot.len() == 1
            && st.queue.is_empty()
            && (st.conns.len() == 1 || !self.stale(crate::sys::time::now_ns()));
        if let Some((conn, slot, claim)) = pick.then(|| pick_hot(st)).flatten() {
            if let took @ Took::Message { .. } = take_picked(conn, slot, claim) {
                return took;
            }
        }
        let hot = drain_hot(st, pick);
        if let Some((conn, slot, claim)) = hot.picked {
            return take_picked(conn, slot, claim);
        }
        if !hot.grew {
            return Took::Nothing;
        }
        if !hot.everyone {
            self.look_if_stale(st, ready);
        }
        self.take(st, want)
    }

    /// Promises to look at connection `scoid` before sleeping (see
    /// `proto::doorbell`): its client, likely to call again at once in
    /// `slot`, the slot just answered, need not ring nor set a posted bit.
    /// Only by a thread that will look: one answering with no other
    /// receiver waiting, or one receiving (`keep_promise`). Returns whether
    /// the connection is still the channel's and alive, promised or not
    /// (`ChanState::serves`).
    pub(super) fn promise(&self, st: &mut ChanState, conn: &super::ServerConn, slot: u32) -> bool {
        if !st.serves(conn) {
            return false;
        }
        if conn.promised.load(Relaxed) {
            return true;
        }
        conn.promised.store(true, Relaxed);
        // The slot just answered is the one its client thread posts its
        // next call in: watched, it needs no bit.
        conn.set_watch(Some(slot));
        let polling = &conn.seg.header().doorbell.polling;
        doorbell::server_poll(polling, crate::sys::thread::cpu(), Some(slot));
        st.hot.push(conn.scoid);
        self.hot_joins.fetch_add(1, Relaxed);
        true
    }

    /// Counts a receiver going to sleep (`asleep`) or awake again in
    /// `ChanState::receivers`, and in its lock-free copy `sleepers`.
    pub(super) fn count_sleeper(&self, st: &mut ChanState, asleep: bool) {
        if asleep {
            st.receivers += 1;
        } else {
            st.receivers -= 1;
        }
        self.sleepers.store(st.receivers, Relaxed);
    }

    /// On entering receive: the promise this thread put off when it
    /// answered while other receivers slept ([`promise_later`]) is made
    /// now, when it is sure to look (a client that posted meanwhile rang,
    /// and what it posted is looked at all the same).
    /// Also counts this thread back in (`ChanState::serving`). Not while a
    /// receiver sleeps on futexes: it armed the words a promise would
    /// overwrite (it went to sleep before this thread was out serving).
    fn keep_promise(&self, st: &mut ChanState) {
        let me = std::ptr::from_ref(self) as usize;
        if SERVING.get() == me {
            SERVING.set(0);
            st.serving = st.serving.saturating_sub(1);
        }
        if let Some((chan, scoid, slot)) = PROMISE_LATER.take() {
            if chan == me && !self.futex_sleeper.load(SeqCst) {
                if let Some(conn) = st.conns.get(&scoid).map(|e| e.conn.clone()) {
                    self.promise(st, &conn, slot);
                }
            }
        }
    }

    /// On leaving receive with work while other receivers sleep: this
    /// thread will not look at the hot connections for a while, and the
    /// sleepers would not hear of what their clients post (they do not
    /// ring while the promise stands), so the promises end here: what
    /// was posted is queued, and a sleeper woken for it. (With nobody
    /// asleep, a receiver that comes takes the promises over as it spins.)
    /// Also counts this thread out (`ChanState::serving`).
    fn leave_promises(&self, st: &mut ChanState) {
        if SERVING.get() == 0 {
            SERVING.set(std::ptr::from_ref(self) as usize);
            st.serving += 1;
        }
        if st.receivers > 0 && !st.hot.is_empty() && drain_hot(st, false).grew {
            self.wake_receiver();
        }
    }

    /// Moves into the queue whatever was posted since it was filled: the
    /// hot connections, and every doorbell rung (read without waiting). A
    /// wake-up meant for a sleeping receiver that this read takes is passed
    /// on. Costs one `epoll_wait` per receive, only while work is queued.
    fn look_again(&self, st: &mut ChanState, ready: &mut [Ready]) {
        drain_hot(st, false);
        self.peek_rung(st, ready);
    }

    /// Before taking work found on the hot connections only: if the
    /// doorbells were last read more than [`STALE`] ago, reads them now
    /// (without waiting), so that work that rang meanwhile on another
    /// connection is ranked with it. A receiver busy with hot connections
    /// thus reads the doorbells at most once per [`STALE`], not once per
    /// message: a message is ordered against every other queued at least
    /// that long before the receive.
    fn look_if_stale(&self, st: &mut ChanState, ready: &mut [Ready]) {
        self.look_if_stale_at(st, ready, crate::sys::time::now_ns());
    }

    /// [`Self::look_if_stale`], the clock read at `now` (a spinner's last
    /// read, at most [`CLOCK_EVERY`] turns ago: reading it again would put
    /// a clock read, 66 ns on the development VM, between the client's
    /// post and the server's answer).
    fn look_if_stale_at(&self, st: &mut ChanState, ready: &mut [Ready], now: u64) {
        if self.stale(now) {
            self.peek_rung_at(st, ready, now);
        }
    }

    /// Whether the doorbells were last read more than [`STALE`] before `now`.
    pub(super) fn stale(&self, now: u64) -> bool {
        now.saturating_sub(self.last_look.load(Relaxed)) > STALE.as_nanos() as u64
    }

    /// Notes that the doorbells were read just now.
    pub(super) fn looked_now(&self) {
        self.last_look.store(crate::sys::time::now_ns(), Relaxed);
    }

    /// Reads the doorbells without waiting and moves what rang into the
    /// queue, passing on a wake-up meant for a sleeping receiver.
    fn peek_rung(&self, st: &mut ChanState, ready: &mut [Ready]) {
        self.peek_rung_at(st, ready, crate::sys::time::now_ns());
    }

    /// [`Self::peek_rung`], the clock read at `now` (just before).
    fn peek_rung_at(&self, st: &mut ChanState, ready: &mut [Ready], now: u64) {
        let n = self.epoll.wait(ready, Deadline::IMMEDIATE).unwrap_or(0);
        self.last_look.store(now, Relaxed);
        self.take_in_rung(st, &ready[..n]);
    }

    /// Moves what the doorbells in `rung` (read without waiting, so not
    /// meant for us alone) announced into the queue; a wake-up meant for a
    /// sleeping receiver that was among them is passed on.
    fn take_in_rung(&self, st: &mut ChanState, rung: &[Ready]) {
        let mut woken = false;
        for r in rung {
            if r.token == WAKE_TOKEN {
                woken = true;
            } else {
                drain(st, r.token as u32);
            }
        }
        if woken && st.receivers > 0 {
            self.wake_receiver();
        }
    }

    /// Until when a receiver with nothing to take spins before it sleeps,
    /// per the channel's [`WaitMode`]; `None`: it does not spin.
    /// Also returns the clock read it was computed from.
    fn spin_until(&self, st: &ChanState) -> Option<(Deadline, u64)> {
        let limit = match self.wait_mode {
            WaitMode::Blocking => return None,
            WaitMode::Adaptive if !crate::sys::thread::many_cpus() => return None,
            // Spinning pays only while a client we would watch runs on
            // another CPU: one on ours needs the CPU we would spin on
            // (docs/DESIGN.md, "Wait modes", has the figures). Long
            // enough for such a client to copy the last reply out and its
            // next request in, as big as its last call's.
            WaitMode::Adaptive => {
                let me = crate::sys::thread::cpu().wrapping_add(1);
                let bytes = st
                    .hot
                    .iter()
                    .filter_map(|scoid| st.conns.get(scoid))
                    .filter(|e| e.conn.seg.header().doorbell.client_cpu.load(Relaxed) != me)
                    .map(|e| e.conn.last_bytes.load(Relaxed))
                    .max()?;
                WaitMode::adaptive_spin(bytes)
            }
            WaitMode::Spin => WaitMode::SPIN_LIMIT,
        };
        let now = crate::sys::time::now_ns();
        Some((Deadline::from_monotonic_nanos(now.saturating_add(limit.as_nanos() as u64)), now))
    }

    /// Spins, without the channel lock, watching the hot connections (their
    /// clients do not ring: we promised to look) until one posts work, a
    /// doorbell rings or another connection turns hot (both looked at every
    /// few µs), or `until`.
    /// A message posted in a watched slot when nothing else waits is taken
    /// at once, without the lock ([`Spun::Taken`], `fast.rs`); otherwise
    /// what rang, and what the connection that posted posted, is moved
    /// into the queue. `start`: the clock when the spin began. Returns the
    /// clock's last reading (at most [`CLOCK_EVERY`] turns old).
    fn spin<'a>(
        &'a self,
        st: MutexGuard<'a, ChanState>,
        until: Deadline,
        start: u64,
        ready: &mut [Ready],
        want: Want,
    ) -> Spun<'a> {
        /// Spin iterations between looks at the doorbells (and, past
        /// [`YIELD_AFTER`], yields of the CPU, see `wait::SPINS_PER_YIELD`).
        const LOOK_EVERY: u32 = crate::wait::SPINS_PER_YIELD;
        let mut watched = WATCHED.with(|w| w.take());
        watched.clear();
        for scoid in &st.hot {
            if let Some(e) = st.conns.get(scoid) {
                watched.push((e.conn.clone(), e.ring.read_pos(), e.conn.watch()));
            }
        }
        let calm = self.calm();
        drop(st);
        let mut rung = 0;
        let mut posted = None;
        let mut seen = start;
        'spin: for i in 1u32.. {
            for (k, (conn, read, watch)) in watched.iter().enumerate() {
                if posted_since(conn, *read, *watch) {
                    posted = Some(k);
                    break 'spin;
                }
            }
            if i % CLOCK_EVERY == 0 {
                seen = crate::sys::time::now_ns();
            }
            if i % LOOK_EVERY == 0 {
                let now = seen;
                rung = self.epoll.wait(ready, Deadline::IMMEDIATE).unwrap_or(0);
                self.last_look.store(now, Relaxed);
                let joined = self.hot_joins.load(Relaxed) != calm.joins;
                if rung > 0 || joined || until.as_monotonic_nanos().is_some_and(|u| now >= u) {
                    break;
                }
                // Not in the adaptive spin's first `ADAPTIVE_SPIN` (all of
                // it after a small call). A yield can hand the CPU to any
                // other task for the rest of its slice, the promises
                // standing meanwhile: clients that do not ring then wait
                // unseen, up to a tick (4 ms here) behind even a
                // `SCHED_IDLE` task (the load section's idle real-time
                // p99 was 196–270 µs, 70–76 without). That spin is short and
                // never on a hot client's CPU; a longer one, after large
                // calls, yields as spin mode's does, so that it holds
                // other work back by no more than a round (SECURITY.md).
                if self.wait_mode == WaitMode::Spin || now.saturating_sub(start) >= YIELD_AFTER {
                    rustix::thread::sched_yield();
                }
            }
            std::hint::spin_loop();
        }
        if let Some(t) = posted.filter(|_| want == Want::Any).and_then(|k| self.take_fast(&mut watched, k, calm, seen))
        {
            put_back(watched);
            return Spun::Taken(t);
        }
        let mut st = self.lock();
        // Every watched connection that posted is taken in, not only the
        // first the spin saw: they are ranked together. (Taking in only
        // that one served a flood of calls from connections early in the
        // list ahead of a real-time call from a later one for as long as
        // they kept posting, `baton bench --section load`.) Taken in while
        // the promises to look stand (the connections stay hot and their
        // clients keep not ringing): no write to a client's doorbell line
        // but the taking of its bits.
        for (conn, read, watch) in &watched {
            if posted_since(conn, *read, *watch) {
                drain(&mut st, conn.scoid);
            }
        }
        put_back(watched);
        self.take_in_rung(&mut st, &ready[..rung]);
        Spun::Locked(st, seen)
    }

    /// Takes the first acceptable queue entry, claiming a message's slot.
    fn take(&self, st: &mut ChanState, want: Want) -> Took {
        while let Some((key, item)) = st.queue.pop(want == Want::PulsesOnly) {
            let took = match item {
                Item::Pulse(p) => {
                    if !pulse_wanted(st, key, &p) {
                        continue;
                    }
                    if self.flags & chf::FIXED_PRIORITY == 0 {
                        inherit::pulse_taken(p.pulse.policy, p.pulse.priority);
                    }
                    Took::Pulse(p.pulse)
                }
                Item::Message(QueuedMsg { scoid, slot }) => {
                    let Some(e) = st.conns.get_mut(&scoid) else { continue };
                    let sp = &mut e.slots[slot as usize];
                    if sp.queued != Some(key) {
                        continue;
                    }
                    sp.queued = None;
                    // Held: a client wrote over a held slot, or the fast
                    // path took it meanwhile (`fast.rs`).
                    let Some(gen) = e.conn.holds.take(slot, sp.sched) else { continue };
                    let h = e.conn.seg.slot(slot);
                    // Inheritance follows the claim, not its check: the
                    // kernel lends only the priority a waiter really has,
                    // so a false claim gains nothing, while a true one made
                    // by a server thread whose own client has not yet
                    // blocked on it (and so does not look boosted yet)
                    // still carries the boost down the chain.
                    let pi = sp.claim.is_realtime() && self.flags & chf::FIXED_PRIORITY == 0;
                    if pi {
                        inherit::before_claim(h);
                    }
                    let Some(was) = slot::server_claim_from(&SlotFutex(h)) else {
                        if pi {
                            inherit::claim_failed(h);
                        }
                        e.conn.holds.undo(slot, gen);
                        continue; // withdrawn (send timeout)
                    };
                    if pi {
                        inherit::claimed(&e.conn, slot, sp.claim.level, was & slot::WAKE_ON_CLAIM != 0);
                    }
                    Took::Message { conn: e.conn.clone(), slot, gen, sched: sp.sched, pi }
                }
            };
            if !st.queue.is_empty() && st.receivers > 0 {
                self.wake_receiver();
            }
            return took;
        }
        if want == Want::PulsesOnly && !st.queue.is_empty() && st.receivers > 0 {
            // Messages we may not take: pass the wake-up on to a receiver that can.
            self.wake_receiver();
        }
        Took::Nothing
    }
}

fn has_work(st: &ChanState, want: Want) -> bool {
    match want {
        Want::Any => !st.queue.is_empty(),
        Want::PulsesOnly => st.queue.has_pulses(),
    }
}

/// How a spin ended.
enum Spun<'a> {
    /// Back under the lock; the clock's last reading.
    Locked(MutexGuard<'a, ChanState>, u64),
    /// The fast path took a message (without the lock).
    Taken(Taken),
}

/// How long ago the doorbells may have been read when a receiver takes
/// work found on its hot connections (see `look_if_stale`).
pub(super) const STALE: std::time::Duration = std::time::Duration::from_micros(20);

/// How long the adaptive spin goes before it yields the CPU now and then,
/// ns (see [`ChannelShared::spin`]).
const YIELD_AFTER: u64 = WaitMode::ADAPTIVE_SPIN.as_nanos() as u64;

/// Spin turns between a spinning receiver's reads of the clock (a divisor
/// of its turns between looks at the doorbells).
const CLOCK_EVERY: u32 = crate::wait::SPINS_PER_CLOCK;

/// A hot connection as a spinning receiver watches it: the connection, its
/// pulse ring's read position, the slot its promise watches.
pub(super) type Watched = (Arc<super::ServerConn>, u32, Option<u32>);

/// Records that this thread, having answered connection `scoid`'s request
/// in `slot` while other receivers of `chan` slept, promises to look at it
/// when it next receives on `chan` (`ChannelShared::keep_promise`). Only
/// the last such answer counts.
pub(super) fn promise_later(chan: &Arc<ChannelShared>, scoid: u32, slot: u32) {
    PROMISE_LATER.set(Some((Arc::as_ptr(chan) as usize, scoid, slot)));
}

thread_local! {
    /// (channel, scoid, slot) of [`promise_later`]; the channel by address,
    /// only compared (a channel gone and another at its address gets a
    /// promise it may keep: any promise is kept by looking).
    static PROMISE_LATER: std::cell::Cell<Option<(usize, u32, u32)>> = const { std::cell::Cell::new(None) };
    /// The channel (by address; 0: none) that counts this thread out
    /// serving (`ChanState::serving`). One at a time: a thread that leaves
    /// another channel's receive with work before it comes back here
    /// stays counted here (its sleepers then use the epoll set, nothing
    /// worse).
    static SERVING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };

    /// A spinning receiver's watch list, kept between spins so that
    /// spinning allocates nothing once it has grown.
    static WATCHED: std::cell::Cell<Vec<Watched>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Keeps a spinner's watch list for the next spin, emptied: it holds no
/// connection alive while the thread sleeps.
fn put_back(mut watched: Vec<Watched>) {
    watched.clear();
    WATCHED.with(|w| w.set(watched));
}

/// Claims the message `drain_hot` picked (connection `conn`, `slot`, a
/// claim of no more than normal priority) as `take` would had it been
/// queued; `Nothing` if the client withdrew it or another receiver's fast
/// path took it meanwhile.
fn take_picked(conn: Arc<super::ServerConn>, slot: u32, claim: Sched) -> Took {
    let Some(gen) = conn.holds.take(slot, claim) else { return Took::Nothing };
    if !slot::server_claim(&SlotFutex(conn.seg.slot(slot))) {
        conn.holds.undo(slot, gen);
        return Took::Nothing;
    }
    Took::Message { conn, slot, gen, sched: claim, pi: false }
}

/// Whether connection `conn` has posted a message, an unblock request or a
/// pulse (its ring's tail moved from `read`) that the server has not
/// taken, or a message in slot `watch` (posted there without a bit): plain
/// loads of the client's words, nothing written. The watched slot's state
/// is read first: it is the word a call on the hot path changes.
fn posted_since(conn: &super::ServerConn, read: u32, watch: Option<u32>) -> bool {
    if watch.is_some_and(|s| slot::phase(conn.seg.slot(s).state.load(Relaxed)) == slot::POSTED) {
        return true;
    }
    posted_besides_watch(conn, read)
}
