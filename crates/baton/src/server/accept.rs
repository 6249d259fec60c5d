//! Accepting connections: who is calling, may they, and the handshake.

use super::{alloc_scoid, free_scoid, ChanState, ChannelShared, ConnEntry, SlotPriv};
use crate::proto::hello::Hello;
use crate::proto::ring::RingCursor;
use crate::proto::slot::{self, Begin};
use crate::runtime::{Runtime, Token, Watch};
use crate::shm::layout::SERVER_CLOSED;
use crate::shm::Segment;
use crate::sys::event;
use crate::sys::thread;
use crate::sys::unix::{self, PeerCred};
use crate::types::chf;
use crate::wait::SlotFutex;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::Ordering::{AcqRel, Relaxed, Release, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8};
use std::sync::{Arc, Mutex, Weak};

/// Whether `process_vm_*` works towards this client.
pub(crate) const REMOTE_UNKNOWN: u8 = 0;
pub(crate) const REMOTE_OK: u8 = 1;
pub(crate) const REMOTE_DENIED: u8 = 2;

/// One client process's connection, server side.
#[derive(Debug)]
pub(crate) struct ServerConn {
    pub scoid: u32,
    /// The client's identity, from the kernel.
    pub cred: PeerCred,
    pub seg: Segment,
    doorbell: OwnedFd,
    sock: OwnedFd,
    pidfd: Option<OwnedFd>,
    chan: Weak<ChannelShared>,
    dead: AtomicBool,
    closed: AtomicBool,
    tokens: Mutex<Vec<Token>>,
    /// `REMOTE_*`: can we copy straight into the client's address space?
    pub remote: AtomicU8,
    /// Events: the client's registered handles (`events.rs`).
    pub(crate) events: super::events::EventMirror,
    /// Which request each slot holds (`hold.rs`).
    pub(crate) holds: super::hold::Holds,
    /// On the channel's hot list: a server thread promised to look at it
    /// and its `polling` word is set. Written under the channel lock (and
    /// cleared when the connection leaves the channel); read under it, or
    /// by an answer without it (`Request::forget`).
    pub(crate) promised: AtomicBool,
    /// The slot the promise in its `polling` word watches, plus one (0:
    /// none), while `promised` (its client posts there without a posted
    /// bit): looked at with the posted bits until the promise is withdrawn
    /// and one last look made. Under the channel lock.
    watch: AtomicU32,
    /// Bytes the last call answered on this connection moved (request and
    /// reply): what its client is likely to copy before it calls again,
    /// for how long a receiver spins for it (`WaitMode::adaptive_spin`).
    pub(crate) last_bytes: AtomicU64,
}

impl ServerConn {
    pub(crate) fn channel(&self) -> Option<Arc<ChannelShared>> {
        self.chan.upgrade()
    }

    pub(crate) fn doorbell(&self) -> BorrowedFd<'_> {
        self.doorbell.as_fd()
    }

    /// The slot a promise watches (see `watch`); under the channel lock.
    pub(crate) fn watch(&self) -> Option<u32> {
        self.watch.load(Relaxed).checked_sub(1)
    }

    /// Sets the slot a promise watches; under the channel lock.
    pub(crate) fn set_watch(&self, slot: Option<u32>) {
        self.watch.store(slot.map_or(0, |s| s.wrapping_add(1)), Relaxed);
    }

    /// The connection's socket (event notices after the handshake).
    pub(crate) fn sock(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }

    pub(crate) fn mark_dead(&self) {
        self.dead.store(true, SeqCst);
    }

    /// Whether the client is gone (replies fail with `ESRCH`).
    pub(crate) fn is_dead(&self) -> bool {
        self.dead.load(Relaxed)
    }

    pub(crate) fn pidfd(&self) -> Option<BorrowedFd<'_>> {
        self.pidfd.as_ref().map(|f| f.as_fd())
    }

    /// Answers every call in flight on this connection with `errno`
    /// (the channel is being destroyed).
    pub(crate) fn fail_all(&self, errno: i32) {
        for i in 0..self.seg.layout().slot_count {
            let h = self.seg.slot(i);
            let f = SlotFutex(h);
            let phase = slot::phase(h.state.load(Relaxed));
            let take = match phase {
                slot::POSTED => slot::server_claim(&f),
                slot::RECEIVED | slot::ABANDONED => true,
                _ => false,
            };
            if take && slot::server_begin(&f) == Begin::Busy {
                h.status.store(-1, Relaxed);
                h.reply_len.store(0, Relaxed);
                h.reply_inline.store(0, Relaxed);
                h.error.store(errno, Relaxed);
                slot::server_finish(&f);
            }
        }
    }

    /// Stops watching the client and shuts the socket down, so the client
    /// sees the hang-up now even while requests still hold this object.
    pub(crate) fn close(&self) {
        // Shutting the socket down in a forked child would cut the parent's.
        if thread::forked() || self.closed.swap(true, SeqCst) {
            return;
        }
        self.seg.header().server.flags.fetch_or(SERVER_CLOSED, Release);
        let rt = Runtime::get();
        let tokens = std::mem::take(&mut *self.tokens.lock().unwrap_or_else(|e| e.into_inner()));
        let mut fds = vec![self.sock.as_fd()];
        fds.extend(self.pidfd());
        for (fd, t) in fds.into_iter().zip(tokens) {
            rt.unwatch(fd, t);
        }
        let _ = rustix::net::shutdown(&self.sock, rustix::net::Shutdown::Both);
    }
}

impl Drop for ServerConn {
    fn drop(&mut self) {
        self.close();
        free_scoid(self.scoid);
    }
}

/// Users and groups a channel lets in whatever its mode says
/// (`ChannelBuilder::allow_uid`, `allow_gid`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct AllowList {
    pub uids: Vec<u32>,
    pub gids: Vec<u32>,
}

impl AllowList {
    pub(crate) fn is_empty(&self) -> bool {
        self.uids.is_empty() && self.gids.is_empty()
    }

    /// Whether the list names `cred`'s user, its group or one of `groups`.
    fn admits(&self, cred: &PeerCred, groups: &[u32]) -> bool {
        self.uids.contains(&cred.uid) || self.gids.contains(&cred.gid) || groups.iter().any(|g| self.gids.contains(g))
    }
}

/// Whether `cred` (with supplementary `groups`) may connect to a channel
/// of `mode` owned by this process: by the rules for writing a file, or
/// because `allow` names it.
fn permitted(cred: &PeerCred, mode: u32, groups: &[u32], allow: &AllowList) -> bool {
    if cred.uid == 0 || allow.admits(cred, groups) {
        return true;
    }
    let bits = if cred.uid == thread::uid() {
        mode >> 6
    } else if cred.gid == thread::gid() || groups.contains(&thread::gid()) {
        mode >> 3
    } else {
        mode
    };
    bits & 0o2 != 0
}

fn refuse(sock: &OwnedFd, errno: i32, chid: u32) {
    let h = Hello {
        scoid: 0,
        chid,
        server_pid: thread::pid(),
        chan_flags: 0,
        layout: crate::shm::Layout { slot_count: 0, inline_size: 0, overflow_size: 0, pulse_capacity: 0 },
        refused: errno,
        max_message: 0,
    };
    let _ = unix::send_with_fds(sock.as_fd(), &h.encode(), &[]);
}

impl ChannelShared {
    /// Accepts every pending connection (runtime thread).
    pub(crate) fn accept_pending(self: &Arc<Self>) {
        loop {
            let accepted = {
                let l = self.listener.lock().unwrap_or_else(|e| e.into_inner());
                match l.as_ref() {
                    Some(l) => unix::accept(l.fd.as_fd()),
                    None => return,
                }
            };
            match accepted {
                Ok(sock) => {
                    let _ = self.serve_new(sock);
                }
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => return,
            }
        }
    }

    /// Sets up a connection on an accepted (or self-connected) socket.
    pub(crate) fn serve_new(self: &Arc<Self>, sock: OwnedFd) -> Result<(), i32> {
        let cred = unix::peer_cred(sock.as_fd()).map_err(|e| e.raw_os_error())?;
        let own = cred.pid == thread::pid();
        let groups = unix::peer_groups(sock.as_fd());
        let verdict = if self.flags & chf::PRIVATE != 0 && !own {
            Err(libc::EPERM)
        } else if !own && !permitted(&cred, self.mode, &groups, &self.allow) {
            Err(libc::EACCES)
        } else if self.lock().conns.len() >= self.max_connections as usize {
            Err(libc::EAGAIN)
        } else {
            Ok(())
        };
        if let Err(errno) = verdict {
            refuse(&sock, errno, self.chid);
            return Err(errno);
        }
        match self.open_conn(sock, cred) {
            Ok(()) => Ok(()),
            Err((sock, errno)) => {
                refuse(&sock, errno, self.chid);
                Err(errno)
            }
        }
    }

    fn open_conn(self: &Arc<Self>, sock: OwnedFd, cred: PeerCred) -> Result<(), (OwnedFd, i32)> {
        let fail = |e: rustix::io::Errno| e.raw_os_error();
        let scoid = match alloc_scoid(self) {
            Some(s) => s,
            None => return Err((sock, libc::EAGAIN)),
        };
        let built = (|| {
            let seg = Segment::create(self.layout).map_err(fail)?;
            seg.prefault_first_slot();
            let doorbell = event::doorbell().map_err(fail)?;
            Ok::<_, i32>((seg, doorbell))
        })();
        let (seg, doorbell) = match built {
            Ok(b) => b,
            Err(e) => {
                free_scoid(scoid);
                return Err((sock, e));
            }
        };
        let pidfd = unix::peer_pidfd(sock.as_fd(), cred.pid);
        let conn = Arc::new(ServerConn {
            scoid,
            cred,
            seg,
            doorbell,
            sock,
            pidfd,
            chan: Arc::downgrade(self),
            dead: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            tokens: Mutex::new(Vec::new()),
            remote: AtomicU8::new(if self.direct_copy { REMOTE_UNKNOWN } else { REMOTE_DENIED }),
            events: Default::default(),
            holds: super::hold::Holds::new(self.layout.slot_count),
            promised: AtomicBool::new(false),
            watch: AtomicU32::new(0),
            last_bytes: AtomicU64::new(0),
        });
        {
            let mut st: std::sync::MutexGuard<'_, ChanState> = self.lock();
            if st.destroyed || self.epoll.add_edge(conn.doorbell(), u64::from(scoid)).is_err() {
                // The client sees the socket close before any hello.
                drop(st);
                conn.close();
                return Ok(());
            }
            st.conns.insert(
                scoid,
                ConnEntry {
                    conn: conn.clone(),
                    slots: vec![SlotPriv::default(); self.layout.slot_count as usize],
                    ring: RingCursor::new(self.layout.pulse_capacity),
                    rewatch: None,
                },
            );
        }
        // A receiver asleep on the other connections' words would not hear
        // this one ring: it wakes and arms this one's word too.
        self.wake_futex_sleeper();
        let rt = Runtime::get();
        let w = Watch::Client(Arc::downgrade(&conn));
        let mut tokens = Vec::new();
        if let Ok(t) = rt.watch(&conn.sock, Watch::ClientSocket(Arc::downgrade(&conn))) {
            tokens.push(t);
        }
        if let Some(p) = conn.pidfd() {
            if let Ok(t) = rt.watch(p, w) {
                tokens.push(t);
            }
        }
        *conn.tokens.lock().unwrap_or_else(|e| e.into_inner()) = tokens;
        if self.flags & chf::FIXED_PRIORITY == 0 {
            // Until a server thread takes one of its real-time requests, a
            // new connection's send-time boost goes to the last receiver.
            let last = self.lock().last_receiver;
            let _ = conn.seg.header().server.boost.compare_exchange(0, last, AcqRel, Relaxed);
        }
        let hello = Hello {
            scoid,
            chid: self.chid,
            server_pid: thread::pid(),
            chan_flags: self.flags,
            layout: self.layout,
            refused: 0,
            max_message: self.max_message,
        };
        if unix::send_with_fds(conn.sock.as_fd(), &hello.encode(), &[conn.seg.fd(), conn.doorbell()]).is_err() {
            super::client_gone(&conn);
        } else if unix::peer_closed(&conn.sock) {
            // The client left before we registered: nothing else will tell us.
            super::client_gone(&conn);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_bits() {
        let me = PeerCred { pid: 1, uid: thread::uid(), gid: thread::gid() };
        let other = PeerCred { pid: 1, uid: 4242, gid: 4242 };
        let root = PeerCred { pid: 1, uid: 0, gid: 0 };
        let none = AllowList::default();
        assert!(root.uid == 0 && permitted(&root, 0, &[], &none));
        if me.uid != 0 {
            assert!(permitted(&me, 0o600, &[], &none));
            assert!(!permitted(&me, 0o066, &[], &none));
        }
        assert!(!permitted(&other, 0o660, &[], &none));
        assert!(permitted(&other, 0o662, &[], &none));
        assert!(permitted(&other, 0o620, &[thread::gid()], &none));
    }

    #[test]
    fn allow_list() {
        let other = PeerCred { pid: 1, uid: 4242, gid: 4243 };
        let by_uid = AllowList { uids: vec![4242], gids: vec![] };
        let by_gid = AllowList { uids: vec![], gids: vec![4243] };
        let by_group = AllowList { uids: vec![], gids: vec![4244] };
        let stranger = AllowList { uids: vec![4243], gids: vec![4242] };
        assert!(permitted(&other, 0o600, &[], &by_uid));
        assert!(permitted(&other, 0o600, &[], &by_gid));
        assert!(!permitted(&other, 0o600, &[], &by_group));
        assert!(permitted(&other, 0o600, &[4244], &by_group));
        assert!(!permitted(&other, 0o600, &[], &stranger));
        assert!(permitted(&other, 0o602, &[], &stranger));
    }
}
