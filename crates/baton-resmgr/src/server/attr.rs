//! The per-file attribute ([`Attr`], QNX's `iofunc_attr_t`) and the
//! per-open control block ([`Ocb`], QNX's `iofunc_ocb_t`).

use crate::msg::Stat;
use baton::{Event, ReceiveId};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// Inode numbers handed out by [`Attr::new`]: unique within the process.
static NEXT_INO: AtomicU64 = AtomicU64::new(1);

/// What a file is, whoever has it open: type and permissions, owner,
/// size, times, inode number. Corresponds to `iofunc_attr_t`; the
/// default handlers check permissions against it and answer `stat` from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attr {
    /// `st_mode`: `S_IF*` type and permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes (what `SEEK_END` and `stat` use).
    pub size: u64,
    /// Inode number, unique within the server.
    pub ino: u64,
    /// Link count.
    pub nlink: u64,
    /// Device number, for device files.
    pub rdev: u64,
    /// Last access.
    pub atime: SystemTime,
    /// Last modification.
    pub mtime: SystemTime,
    /// Last status change.
    pub ctime: SystemTime,
}

impl Attr {
    /// An attribute with `mode` (type and permissions, e.g.
    /// `libc::S_IFCHR | 0o666`), owned by this process's effective user and
    /// group, size 0, a fresh inode number, times now. Corresponds to
    /// `iofunc_attr_init`.
    pub fn new(mode: u32) -> Attr {
        let now = SystemTime::now();
        Attr {
            mode,
            uid: rustix::process::geteuid().as_raw(),
            gid: rustix::process::getegid().as_raw(),
            size: 0,
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            nlink: 1,
            rdev: 0,
            atime: now,
            mtime: now,
            ctime: now,
        }
    }

    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }

    /// Marks a modification (mtime and ctime now).
    pub fn touch(&mut self) {
        let now = SystemTime::now();
        self.mtime = now;
        self.ctime = now;
    }

    /// The `stat` answer for it. Corresponds to `iofunc_stat`.
    pub fn stat(&self) -> Stat {
        let t = |t: SystemTime| match t.duration_since(UNIX_EPOCH) {
            Ok(d) => (d.as_secs() as i64, i64::from(d.subsec_nanos())),
            Err(_) => (0, 0),
        };
        Stat {
            dev: 0,
            ino: self.ino,
            nlink: self.nlink,
            mode: self.mode,
            uid: self.uid,
            gid: self.gid,
            rdev: self.rdev,
            size: self.size.min(i64::MAX as u64) as i64,
            blksize: 4096,
            blocks: self.size.div_ceil(512).min(i64::MAX as u64) as i64,
            atime: t(self.atime),
            mtime: t(self.mtime),
            ctime: t(self.ctime),
        }
    }
}

/// An [`Attr`] shared by the opens of one file (and the handler's own
/// tables): a cheap handle to it, cloned freely. It also holds the events
/// the file's opens armed with `_IO_NOTIFY` (QNX keeps its
/// `iofunc_notify_t` lists next to the attribute too):
/// [`Context::notify`](super::Context::notify) arms them,
/// [`notify_trigger`](SharedAttr::notify_trigger) delivers them.
#[derive(Clone, Debug)]
pub struct SharedAttr(Arc<AttrCell>);

#[derive(Debug)]
struct AttrCell {
    attr: Mutex<Attr>,
    armed: Mutex<Vec<Armed>>,
}

/// One open's event armed for one condition.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Armed {
    /// The open's `(scoid, coid)`.
    pub key: (u32, i32),
    /// One `_NOTIFY_COND_*` bit.
    pub cond: u32,
    /// The receive id of the arming message: whom to deliver to.
    pub rcvid: ReceiveId,
    pub event: Event,
}

impl SharedAttr {
    /// Shares `attr`.
    pub fn new(attr: Attr) -> SharedAttr {
        SharedAttr(Arc::new(AttrCell { attr: Mutex::new(attr), armed: Mutex::new(Vec::new()) }))
    }

    /// Locks it. (A handler that panicked while holding it left it as it
    /// was; it is still used.)
    pub fn lock(&self) -> MutexGuard<'_, Attr> {
        self.0.attr.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether two handles share one attribute.
    pub fn ptr_eq(&self, other: &SharedAttr) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    fn armed(&self) -> MutexGuard<'_, Vec<Armed>> {
        self.0.armed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `conds` (`_NOTIFY_COND_*` bits) became true: delivers every event
    /// armed for one of them, once (the client arms again for more), and
    /// returns how many were delivered. An event whose client is gone is
    /// dropped. Corresponds to `iofunc_notify_trigger`. Call it after the
    /// change is visible to a poll (say, with the device's data lock still
    /// held), so that a client arming at the same time either sees the
    /// condition or gets the event.
    pub fn notify_trigger(&self, conds: u32) -> usize {
        let fired: Vec<Armed> = {
            let mut armed = self.armed();
            let (fire, keep) = armed.drain(..).partition(|a| a.cond & conds != 0);
            *armed = keep;
            fire
        };
        // Delivered outside the lock: a delivery is a socket write.
        fired.iter().filter(|a| a.rcvid.deliver(&a.event).is_ok()).count()
    }

    /// How many events are armed (one per open and condition).
    pub fn notify_armed(&self) -> usize {
        self.armed().len()
    }

    /// Arms `event` of open `key` for each condition bit of `conds`,
    /// replacing what that open had armed for it.
    pub(crate) fn notify_arm(&self, key: (u32, i32), conds: u32, rcvid: ReceiveId, event: Event) {
        let mut armed = self.armed();
        armed.retain(|a| !(a.key == key && a.cond & conds != 0));
        for bit in (0..32).map(|i| 1u32 << i).filter(|b| conds & b != 0) {
            armed.push(Armed { key, cond: bit, rcvid, event });
        }
    }

    /// Drops what open `key` armed (it closed). Corresponds to
    /// `iofunc_notify_remove`.
    pub(crate) fn notify_remove(&self, key: (u32, i32)) {
        self.armed().retain(|a| a.key != key);
    }
}

impl From<Attr> for SharedAttr {
    fn from(attr: Attr) -> SharedAttr {
        SharedAttr::new(attr)
    }
}

/// One open of a file: its offset, its open flags, the file's attribute,
/// and the handler's own per-open `state`. Corresponds to `iofunc_ocb_t`.
/// The framework binds it to the client's `(scoid, coid)` at open and
/// hands it to every later handler call for that open.
#[derive(Debug)]
pub struct Ocb<S> {
    /// The file offset (for a directory: the index of the next entry).
    pub offset: u64,
    /// The open flags: `_IO_FLAG_RD`/`_IO_FLAG_WR` and the other `O_*` bits.
    pub ioflag: u32,
    /// The file it opened.
    pub attr: SharedAttr,
    /// The handler's own per-open state.
    pub state: S,
    pub(crate) scoid: u32,
    pub(crate) coid: i32,
    /// Whether it opened a directory (reads are then directory entries);
    /// kept here so that a read takes no lock of the attribute to know.
    pub(crate) dir: bool,
}

impl<S> Ocb<S> {
    /// The server connection (client process) it belongs to.
    pub fn scoid(&self) -> u32 {
        self.scoid
    }

    /// The client's connection id for it.
    pub fn coid(&self) -> i32 {
        self.coid
    }

    /// Whether it was opened for reading.
    pub fn readable(&self) -> bool {
        self.ioflag & crate::msg::IO_FLAG_RD != 0
    }

    /// Whether it was opened for writing.
    pub fn writable(&self) -> bool {
        self.ioflag & crate::msg::IO_FLAG_WR != 0
    }
}

/// What an open handler returns: the file opened and the new open's state.
#[derive(Debug)]
pub struct Opened<S> {
    /// The file's attribute (the mount's own, or one of the handler's).
    pub attr: SharedAttr,
    /// The handler's per-open state.
    pub state: S,
}
