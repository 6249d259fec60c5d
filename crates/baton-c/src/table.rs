//! The numbers a C program holds, and what they stand for in this process:
//! channels by `chid`, connections by `coid`, received messages by `rcvid`.
//!
//! A received message stays here from `MsgReceive` until it is answered;
//! the thread that received it keeps its client's priority until then (or
//! until it receives again), as on QNX. Messages of a client that
//! disconnected, or of a destroyed channel, are dropped when the
//! disconnect pulse is received or the channel destroyed (replies to them
//! fail with `ESRCH` either way). They are kept in [`HELD_SHARDS`] maps by
//! their rcvid's connection and slot, so that a pool's threads receiving
//! and replying at once seldom meet on one lock, and nothing is allocated
//! per message once a map has grown.

use crate::abi::FIRST_SIDE_COID;
use crate::ffi::CResult;
use baton_core::{Channel, Connection, Request};
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, RwLock};

/// A connection id's connection.
#[derive(Debug)]
pub(crate) struct Coid {
    pub conn: Connection,
    /// For a coid asked for at or above an index: the descriptor that
    /// reserves its number.
    pub _reserved: Option<OwnedFd>,
}

/// A received message not yet answered.
#[derive(Debug)]
pub(crate) struct Held {
    pub chid: u32,
    pub scoid: u32,
    req: Request,
}

/// How many maps the held messages are spread over.
const HELD_SHARDS: usize = 32;

type HeldMap = HashMap<i32, Held, foldhash::fast::FixedState>;

#[derive(Debug, Default)]
struct Tables {
    channels: RwLock<HashMap<i32, Arc<Channel>>>,
    coids: RwLock<HashMap<i32, Arc<Coid>>>,
    held: [Mutex<HeldMap>; HELD_SHARDS],
    next_side: Mutex<i32>,
}

/// The map of held message `rcvid`: by its connection and slot (bits
/// 0..16 and 16..24), which differ between messages held at once.
fn held_shard(rcvid: i32) -> MutexGuard<'static, HeldMap> {
    let raw = rcvid as u32;
    lock(&TABLES.held[((raw ^ (raw >> 16)) as usize) % HELD_SHARDS])
}

static TABLES: LazyLock<Tables> = LazyLock::new(Tables::default);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers a channel under its chid.
pub(crate) fn add_channel(ch: Channel) -> i32 {
    let chid = ch.id() as i32;
    TABLES.channels.write().unwrap_or_else(|e| e.into_inner()).insert(chid, Arc::new(ch));
    chid
}

/// The channel `chid`; `ESRCH` if there is none (as QNX's MsgReceive).
pub(crate) fn channel(chid: i32) -> CResult<Arc<Channel>> {
    TABLES.channels.read().unwrap_or_else(|e| e.into_inner()).get(&chid).cloned().ok_or(libc::ESRCH)
}

/// Removes and destroys channel `chid`, dropping its unanswered messages;
/// `EINVAL` if there is none (as QNX's ChannelDestroy).
pub(crate) fn destroy_channel(chid: i32) -> CResult<()> {
    let ch = TABLES.channels.write().unwrap_or_else(|e| e.into_inner()).remove(&chid).ok_or(libc::EINVAL)?;
    ch.destroy();
    drop_held(|h| h.chid == chid as u32);
    Ok(())
}

/// Registers a connection under its id.
pub(crate) fn add_coid(c: Coid) -> i32 {
    let id = c.conn.id();
    TABLES.coids.write().unwrap_or_else(|e| e.into_inner()).insert(id, Arc::new(c));
    id
}

/// The connection `coid`; `EBADF` if there is none.
pub(crate) fn coid(coid: i32) -> CResult<Arc<Coid>> {
    TABLES.coids.read().unwrap_or_else(|e| e.into_inner()).get(&coid).cloned().ok_or(libc::EBADF)
}

/// Removes connection `coid`; `None` if there is none.
pub(crate) fn remove_coid(coid: i32) -> Option<Arc<Coid>> {
    TABLES.coids.write().unwrap_or_else(|e| e.into_inner()).remove(&coid)
}

/// A side-channel coid not in use.
pub(crate) fn alloc_side_coid() -> CResult<i32> {
    let mut next = lock(&TABLES.next_side);
    let coids = TABLES.coids.read().unwrap_or_else(|e| e.into_inner());
    for _ in 0..=coids.len() {
        if *next < FIRST_SIDE_COID {
            *next = FIRST_SIDE_COID;
        }
        let id = *next;
        *next = next.wrapping_add(1);
        if !coids.contains_key(&id) {
            return Ok(id);
        }
    }
    Err(libc::EAGAIN)
}

/// Keeps a received message until it is answered; returns its rcvid.
pub(crate) fn hold(req: Request) -> i32 {
    let info = req.info();
    let id = req.id().as_raw();
    // A message still here under the same rcvid belongs to a client that
    // is gone (baton reuses an id only once its message is answered or its
    // client gone): it is dropped (answered), after the lock.
    let old = held_shard(id).insert(id, Held { chid: info.chid, scoid: info.scoid, req });
    drop(old);
    id
}

/// Takes message `rcvid` out, to answer it; `ESRCH` if there is none. A
/// call working on it ([`with_held`]) finishes first.
pub(crate) fn take(rcvid: i32) -> CResult<Request> {
    let h = held_shard(rcvid).remove(&rcvid).ok_or(libc::ESRCH)?;
    Ok(h.req)
}

/// Runs `f` on held message `rcvid`, under its map's lock (`f` must not
/// come back to this table).
pub(crate) fn with_held<T>(rcvid: i32, f: impl FnOnce(&mut Request) -> CResult<T>) -> CResult<T> {
    let mut m = held_shard(rcvid);
    f(&mut m.get_mut(&rcvid).ok_or(libc::ESRCH)?.req)
}

/// Drops the held messages that match (their client or channel is gone):
/// answered, each map's after its lock.
pub(crate) fn drop_held(matches: impl Fn(&Held) -> bool) {
    for shard in &TABLES.held {
        let gone: Vec<Held> = {
            let mut m = lock(shard);
            let ids: Vec<i32> = m.iter().filter(|(_, h)| matches(h)).map(|(id, _)| *id).collect();
            ids.iter().filter_map(|id| m.remove(id)).collect()
        };
        drop(gone);
    }
}
