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
//! and replying at once seldom meet on one lock; each map keeps a few
//! answered entries for the next messages, so that nothing is allocated
//! per message once it has grown.

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
    /// `None` once answered (a concurrent call then finds it gone). Its own
    /// lock, so that a `MsgRead` that waits (a client-assisted copy) holds
    /// up only calls on this message.
    req: Mutex<Option<Request>>,
}

/// How many maps the held messages are spread over.
const HELD_SHARDS: usize = 32;
/// Answered entries a map keeps for reuse.
const SPARES: usize = 8;

#[derive(Debug, Default)]
struct HeldShard {
    map: HashMap<i32, Arc<Held>, foldhash::fast::FixedState>,
    spare: Vec<Arc<Held>>,
}

#[derive(Debug, Default)]
struct Tables {
    channels: RwLock<HashMap<i32, Arc<Channel>>>,
    coids: RwLock<HashMap<i32, Arc<Coid>>>,
    held: [Mutex<HeldShard>; HELD_SHARDS],
    next_side: Mutex<i32>,
}

/// The map of held message `rcvid`: by its connection and slot (bits
/// 0..16 and 16..24), which differ between messages held at once.
fn held_shard(rcvid: i32) -> MutexGuard<'static, HeldShard> {
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
    let mut shard = held_shard(id);
    let h = match shard.spare.pop() {
        Some(mut h) => {
            // A spare is in no map and no call holds it (`take`).
            let e = Arc::get_mut(&mut h).expect("a spare entry is not shared");
            (e.chid, e.scoid) = (info.chid, info.scoid);
            *e.req.get_mut().unwrap_or_else(|e| e.into_inner()) = Some(req);
            h
        }
        None => Arc::new(Held { chid: info.chid, scoid: info.scoid, req: Mutex::new(Some(req)) }),
    };
    // A message still here under the same rcvid belongs to a client that
    // is gone (baton reuses an id only once its message is answered or its
    // client gone): it is dropped (answered), after the lock.
    let old = shard.map.insert(id, h);
    drop(shard);
    drop(old);
    id
}

/// Takes message `rcvid` out, to answer it; `ESRCH` if there is none. A
/// call working on it ([`with_held`]) finishes first.
pub(crate) fn take(rcvid: i32) -> CResult<Request> {
    let mut shard = held_shard(rcvid);
    let mut h = shard.map.remove(&rcvid).ok_or(libc::ESRCH)?;
    // Out of the map, it is shared only by a call still working on it. If
    // none, the request comes out without its lock, and the entry serves a
    // later message, all under the one lock of the map.
    if let Some(e) = Arc::get_mut(&mut h) {
        let req = e.req.get_mut().unwrap_or_else(|e| e.into_inner()).take();
        if shard.spare.len() < SPARES {
            shard.spare.push(h);
        }
        drop(shard);
        return req.ok_or(libc::ESRCH);
    }
    drop(shard);
    let req = lock(&h.req).take();
    req.ok_or(libc::ESRCH)
}

/// Runs `f` on held message `rcvid` (serialised with other calls on it).
pub(crate) fn with_held<T>(rcvid: i32, f: impl FnOnce(&mut Request) -> CResult<T>) -> CResult<T> {
    let h = held_shard(rcvid).map.get(&rcvid).cloned().ok_or(libc::ESRCH)?;
    let mut g = lock(&h.req);
    f(g.as_mut().ok_or(libc::ESRCH)?)
}

/// Drops the held messages that match (their client or channel is gone):
/// answered, each map's after its lock.
pub(crate) fn drop_held(matches: impl Fn(&Held) -> bool) {
    for shard in &TABLES.held {
        let gone: Vec<Arc<Held>> = {
            let mut m = lock(shard);
            let ids: Vec<i32> = m.map.iter().filter(|(_, h)| matches(h)).map(|(id, _)| *id).collect();
            ids.iter().filter_map(|id| m.map.remove(id)).collect()
        };
        drop(gone);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_core::Received;
    use std::sync::mpsc;
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};

    /// A message from a real round trip within this process, held here:
    /// its rcvid, the channel, and the client's thread, which ends with
    /// the reply's bytes.
    fn held_message() -> (i32, Channel, JoinHandle<Vec<u8>>) {
        let ch = Channel::create().unwrap();
        let conn = Connection::attach(0, ch.id()).unwrap();
        let client = std::thread::spawn(move || {
            let mut r = [0u8; 8];
            let rep = conn.send(b"hi", &mut r).unwrap();
            r[..rep.len].to_vec()
        });
        let mut buf = [0u8; 8];
        let within = baton_core::Deadline::after(Duration::from_secs(30));
        let Received::Message(req) = ch.receive_deadline(&mut buf, within).unwrap() else {
            panic!("a pulse, not the message")
        };
        (hold(req), ch, client)
    }

    /// A runtime directory of this test process's own (the only test here
    /// that makes channels), removed when the test ends, passed or failed.
    struct RuntimeDir(std::path::PathBuf);

    impl RuntimeDir {
        fn set() -> RuntimeDir {
            let dir = std::env::temp_dir().join(format!("baton-c-unit-{}", std::process::id()));
            std::env::set_var("BATON_RUNTIME_DIR", &dir);
            RuntimeDir(dir)
        }
    }

    impl Drop for RuntimeDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn is_held(rcvid: i32) -> bool {
        held_shard(rcvid).map.contains_key(&rcvid)
    }

    /// `take` answers a message once, whether a call on it (a `MsgRead`,
    /// `with_held`) still holds its entry or not. In the shared case the
    /// call holds the entry until `take` has found it shared: it returns
    /// only once the entry is out of the map, which `take` makes so and
    /// then, still under the map's lock, finds the call's reference.
    #[test]
    fn a_held_message_is_taken_once_whether_or_not_a_call_shares_it() {
        let _dir = RuntimeDir::set();
        let (rcvid, ch, client) = held_message();
        let req = take(rcvid).unwrap();
        assert_eq!(take(rcvid).unwrap_err(), libc::ESRCH, "taken twice");
        req.reply(0, b"alone").unwrap();
        assert_eq!(client.join().unwrap(), b"alone");
        drop(ch);

        let (rcvid, ch, client) = held_message();
        let (inside, entered) = mpsc::channel();
        let call = std::thread::spawn(move || {
            with_held(rcvid, |_| {
                inside.send(()).unwrap();
                let deadline = Instant::now() + Duration::from_secs(30);
                while is_held(rcvid) {
                    assert!(Instant::now() < deadline, "take never came");
                    std::thread::sleep(Duration::from_millis(1));
                }
                Ok(())
            })
        });
        entered.recv_timeout(Duration::from_secs(30)).unwrap();
        let req = take(rcvid).unwrap();
        assert_eq!(call.join().unwrap(), Ok(()));
        assert_eq!(take(rcvid).unwrap_err(), libc::ESRCH, "taken twice");
        assert_eq!(with_held(rcvid, |_| Ok(())).unwrap_err(), libc::ESRCH);
        req.reply(0, b"shared").unwrap();
        assert_eq!(client.join().unwrap(), b"shared");
        drop(ch);
    }
}
