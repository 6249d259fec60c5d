//! The filesystem the kernel sees: FUSE requests answered from the path
//! space (`tree.rs`) and by the resource managers, through the client API
//! of `baton_resmgr` (each open a `File` of its own, so each FUSE open is
//! an OCB of the server's).
//!
//! Threads: fuser runs [`SESSION_THREADS`] loops reading `/dev/fuse`. A
//! request that goes to a server may block there for as long as the server
//! likes (a queue's read waits for a write), so such a request runs on its
//! loop's thread only while another loop is left to read the next request;
//! otherwise it gets a thread of its own ([`Bridge::dispatch`]). The mount
//! so never stops answering, and the usual request costs no hand-off.
//!
//! Interrupts: fuser 0.18 answers FUSE_INTERRUPT itself with `ENOSYS`
//! (after which the kernel sends no more), so a reader interrupted while a
//! server holds its read keeps waiting for the server's answer (a fatal
//! signal included: the kernel waits for requests already sent).

use super::attr::{self, dcmd_of_ioctl};
use super::inodes::Inodes;
use super::tree::{self, Tree};
use baton_resmgr::{File, OpenOptions};
use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, InitFlags, IoctlFlags,
    KernelConfig, LockOwner, OpenFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry,
    ReplyIoctl, ReplyOpen, ReplyWrite, Request, TimeOrNow, WriteFlags,
};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{self, SeekFrom};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Loops reading requests from `/dev/fuse`.
pub const SESSION_THREADS: usize = 4;
/// How long the kernel may keep an answer: not at all, since servers come
/// and go and their files change behind the kernel's back.
const TTL: Duration = Duration::ZERO;
/// Every open is `direct_io`: each `read(2)` and `write(2)` is one request,
/// of the caller's size, to the server (no page cache, no read-ahead: a
/// device's data is not a file's).
pub(super) const OPEN_FLAGS: FopenFlags = FopenFlags::FOPEN_DIRECT_IO;

/// The filesystem handed to fuser.
#[derive(Debug)]
pub struct Bridge {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    inodes: Inodes,
    files: Mutex<HashMap<u64, Arc<Open>>>,
    dirs: Mutex<HashMap<u64, Arc<Vec<Entry>>>>,
    next_fh: AtomicU64,
    /// Loops now running a request that may block (see the module doc).
    busy: AtomicUsize,
    uid: u32,
    gid: u32,
    mounted: SystemTime,
}

/// An open file: the server's OCB; whether the server takes positioned I/O
/// (`pread`/`pwrite`, `_IO_XTYPE_OFFSET`), which it does until it answers
/// one with `ENOSYS` (a QNX device refuses xtypes it does not know) or
/// `ESPIPE` (a device without positions, as a pipe); and,
/// for the reads and writes at the OCB's offset used then, where that
/// offset is as far as this side knows (`None`: unknown, after an error).
#[derive(Debug)]
struct Open {
    file: File,
    positioned: AtomicBool,
    pos: Mutex<Option<u64>>,
}

/// A directory entry as listed at `opendir`.
#[derive(Debug)]
struct Entry {
    ino: u64,
    kind: FileType,
    name: String,
}

/// What a path is.
enum Node {
    /// Served by a resource manager: its status.
    Served(baton_resmgr::Stat),
    /// A directory the path space implies.
    Implied,
}

/// A request's work, with its reply, to run on some thread.
type Job = Box<dyn FnOnce(&Inner) + Send>;

/// Releases a loop's claim to run a request in place.
struct Claim<'a>(&'a AtomicUsize);

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Bridge {
    pub fn new() -> Bridge {
        Bridge {
            inner: Arc::new(Inner {
                inodes: Inodes::new(),
                files: Mutex::new(HashMap::new()),
                dirs: Mutex::new(HashMap::new()),
                next_fh: AtomicU64::new(1),
                busy: AtomicUsize::new(0),
                uid: rustix::process::getuid().as_raw(),
                gid: rustix::process::getgid().as_raw(),
                mounted: SystemTime::now(),
            }),
        }
    }

    /// A claim to run a request that may block on this loop's thread, if
    /// another loop is left to read requests meanwhile.
    fn claim(&self) -> Option<Claim<'_>> {
        let busy = &self.inner.busy;
        let claim = Claim(busy);
        (busy.fetch_add(1, Ordering::AcqRel) + 1 < SESSION_THREADS).then_some(claim)
    }

    /// Runs `job` on a thread of its own. If no thread can be had, the job
    /// (and its reply) is dropped, and fuser answers `EIO`.
    fn spawn(&self, job: Job) {
        let inner = Arc::clone(&self.inner);
        let _ = std::thread::Builder::new().name("baton-fuse-req".into()).spawn(move || job(&inner));
    }

    /// Runs `job` here if a claim can be had, else on a thread of its own.
    fn dispatch(&self, job: impl FnOnce(&Inner) + Send + 'static) {
        match self.claim() {
            Some(_claim) => job(&self.inner),
            None => self.spawn(Box::new(job)),
        }
    }

    fn path(&self, ino: INodeNo) -> Result<String, Errno> {
        self.inner.inodes.path(ino.0).ok_or(Errno::ENOENT)
    }

    /// The path of `name` in directory `parent`.
    fn child(&self, parent: INodeNo, name: &OsStr) -> Result<String, Errno> {
        let name = name.to_str().ok_or(Errno::ENOENT)?;
        Ok(tree::join(&self.path(parent)?, name))
    }

    fn open_file(&self, fh: FileHandle) -> Result<Arc<Open>, Errno> {
        let files = self.inner.files.lock().unwrap_or_else(|e| e.into_inner());
        files.get(&fh.0).cloned().ok_or(Errno::EBADF)
    }
}

impl Inner {
    /// The tree the path space implies now.
    fn tree(&self) -> Result<Tree, Errno> {
        let list = baton::paths::list().map_err(|e| attr::errno_of(&e))?;
        Ok(Tree::new(list.into_iter().map(|e| e.prefix)))
    }

    /// What `path` is: a server's status if a server has it (its answer
    /// wins where a server and the tree both claim the path, unless the
    /// server fails), an implied directory, or `ENOENT`.
    fn node(&self, path: &str) -> Result<Node, Errno> {
        let tree = self.tree()?;
        let served = baton::paths::resolve(path).is_ok();
        if served {
            match baton_resmgr::stat(path) {
                Ok(st) => return Ok(Node::Served(st)),
                Err(e) if !tree.is_dir(path) => return Err(attr::errno(&e)),
                Err(_) => {}
            }
        }
        if tree.is_dir(path) {
            Ok(Node::Implied)
        } else {
            Err(Errno::ENOENT)
        }
    }

    fn attr(&self, path: &str) -> Result<FileAttr, Errno> {
        let ino = self.inodes.number(path);
        Ok(match self.node(path)? {
            Node::Served(st) => attr::from_stat(ino, &st),
            Node::Implied => attr::implied_dir(ino, self.uid, self.gid, self.mounted),
        })
    }

    /// The entries of directory `path`: the names the tree implies and those
    /// its server lists, each once, with `.` and `..` first.
    fn list(&self, path: &str) -> Result<Vec<Entry>, Errno> {
        let mut names = self.tree()?.children(path);
        if let Node::Served(st) = self.node(path)? {
            if st.mode & libc::S_IFMT != libc::S_IFDIR {
                return Err(Errno::ENOTDIR);
            }
            for e in baton_resmgr::read_dir(path).map_err(|e| attr::errno(&e))? {
                let e = e.map_err(|e| attr::errno(&e))?;
                if e.name != "." && e.name != ".." && !e.name.is_empty() && !e.name.contains('/') {
                    names.insert(e.name);
                }
            }
        }
        let dir = |p: &str| Entry { ino: self.inodes.number(p), kind: FileType::Directory, name: String::new() };
        let mut out =
            vec![Entry { name: ".".into(), ..dir(path) }, Entry { name: "..".into(), ..dir(tree::parent(path)) }];
        for name in names {
            let child = tree::join(path, &name);
            // A name that vanished since (its server went) is left out.
            if let Ok(a) = self.attr(&child) {
                out.push(Entry { ino: a.ino.0, kind: a.kind, name });
            }
        }
        Ok(out)
    }

    /// Makes `path` `size` bytes long with `_IO_SPACE` (`File::set_len`):
    /// through its open `fh` for `ftruncate(2)` (the open may be the only
    /// way left to the file: unlinked since), else through an open of its
    /// own for writing (`truncate(2)`; the kernel has checked the caller's
    /// access). A server without `_IO_SPACE` (`ENOSYS`) can still be cut
    /// to 0 by an open with `O_TRUNC`; other sizes are then `EOPNOTSUPP`
    /// (`ENOSYS` would say the kernel lacks the call).
    fn resize(&self, fh: Option<FileHandle>, path: &str, size: u64) -> Result<(), Errno> {
        let open = fh.and_then(|fh| self.files.lock().unwrap_or_else(|e| e.into_inner()).get(&fh.0).cloned());
        let result = match &open {
            Some(open) => open.file.set_len(size).map_err(|e| open.errno(&e)),
            None => {
                OpenOptions::new().write(true).open(path).and_then(|f| f.set_len(size)).map_err(|e| attr::errno(&e))
            }
        };
        match result {
            Err(Errno::ENOSYS) if size == 0 => {
                OpenOptions::new().write(true).truncate(true).open(path).map(drop).map_err(|e| attr::errno(&e))
            }
            Err(Errno::ENOSYS) => Err(Errno::EOPNOTSUPP),
            other => other,
        }
    }

    /// `chown(2)` (`uid`, `gid`; `None`: unchanged) and `chmod(2)` of
    /// `path`: `_IO_CHOWN`, then `_IO_CHMOD` (after, so that the set-id
    /// bits a chown clears are the mode asked), on the open `fh` if the
    /// kernel names one, else on an open for no access. The kernel has
    /// checked the caller's right to (`default_permissions`: the owner
    /// chmods, only root gives a file away); the server sees the bridge.
    fn set_owner_mode(
        &self,
        fh: Option<FileHandle>,
        path: &str,
        uid: Option<u32>,
        gid: Option<u32>,
        mode: Option<u32>,
    ) -> Result<(), Errno> {
        if uid.is_none() && gid.is_none() && mode.is_none() {
            return Ok(());
        }
        let open = fh.and_then(|fh| self.files.lock().unwrap_or_else(|e| e.into_inner()).get(&fh.0).cloned());
        let errno = |e: io::Error| match &open {
            Some(o) => o.errno(&e),
            // A directory the path space implies is the bridge's: fixed.
            None if e.raw_os_error() == Some(libc::ENOENT) && self.tree().is_ok_and(|t| t.is_dir(path)) => Errno::EPERM,
            None => attr::errno(&e),
        };
        if uid.is_some() || gid.is_some() {
            match &open {
                Some(o) => o.file.chown(uid, gid),
                None => baton_resmgr::chown(path, uid, gid),
            }
            .map_err(errno)?;
        }
        if let Some(mode) = mode {
            match &open {
                Some(o) => o.file.chmod(mode & 0o7777),
                None => baton_resmgr::chmod(path, mode & 0o7777),
            }
            .map_err(errno)?;
        }
        Ok(())
    }

    fn add_file(&self, file: File) -> u64 {
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        let open = Arc::new(Open { file, positioned: AtomicBool::new(true), pos: Mutex::new(Some(0)) });
        self.files.lock().unwrap_or_else(|e| e.into_inner()).insert(fh, open);
        fh
    }
}

impl Open {
    /// The errno for `e` from this open's server: `EIO` once the server is
    /// gone (its connection closed), whatever the call said.
    fn errno(&self, e: &io::Error) -> Errno {
        if self.file.connection().is_closed() {
            Errno::EIO
        } else {
            attr::errno(e)
        }
    }

    /// Reads into `buf` at `offset` (FUSE's): a `pread`, which leaves the
    /// OCB's offset alone, or, from a server that refuses it, a read at the
    /// OCB's offset moved there ([`at`](Self::at)).
    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if self.positioned.load(Ordering::Relaxed) {
            match self.file.read_at(buf, offset) {
                Err(e) if refuses_positions(&e) => self.positioned.store(false, Ordering::Relaxed),
                r => return r.map_err(|e| self.errno(&e)),
            }
        }
        self.at(offset, |f| f.read_at_offset(buf))
    }

    /// Writes `data` at `offset`, as [`read`](Self::read) reads (a server
    /// whose write itself is `ENOSYS` answers the fallback so too).
    fn write(&self, offset: u64, data: &[u8]) -> Result<usize, Errno> {
        if self.positioned.load(Ordering::Relaxed) {
            match self.file.write_at(data, offset) {
                Err(e) if refuses_positions(&e) => self.positioned.store(false, Ordering::Relaxed),
                r => return r.map_err(|e| self.errno(&e)),
            }
        }
        self.at(offset, |f| f.write_at_offset(data))
    }

    /// Runs `op` at the OCB's offset moved to `offset` first if it is
    /// elsewhere; it is `offset` + the count after.
    fn at(&self, offset: u64, op: impl FnOnce(&File) -> io::Result<usize>) -> Result<usize, Errno> {
        let mut pos = self.pos.lock().unwrap_or_else(|e| e.into_inner());
        if *pos != Some(offset) {
            *pos = None;
            self.file.seek_to(SeekFrom::Start(offset)).map_err(|e| self.errno(&e))?;
        }
        match op(&self.file) {
            Ok(n) => {
                *pos = Some(offset + n as u64);
                Ok(n)
            }
            Err(e) => Err(self.errno(&e)),
        }
    }
}

/// Whether a server answered a `pread`/`pwrite` so as to say it has no
/// positioned I/O (`ENOSYS`, `ESPIPE`): the bridge then seeks and reads.
fn refuses_positions(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::ESPIPE))
}

/// Options for an open with FUSE's `flags` (access mode, `O_APPEND`,
/// `O_TRUNC`, `O_NONBLOCK`; `O_CREAT` and `O_EXCL` come with `create`).
fn options(flags: i32) -> OpenOptions {
    let mut o = OpenOptions::new();
    match flags & libc::O_ACCMODE {
        libc::O_WRONLY => o.write(true),
        libc::O_RDWR => o.read(true).write(true),
        _ => o.read(true),
    };
    o.append(flags & libc::O_APPEND != 0)
        .truncate(flags & libc::O_TRUNC != 0 && flags & libc::O_ACCMODE != libc::O_RDONLY)
        .nonblock(flags & libc::O_NONBLOCK != 0);
    o
}

impl Filesystem for Bridge {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> io::Result<()> {
        // O_TRUNC travels with the open (to the server's open handler)
        // instead of as a separate truncate before it.
        let _ = config.add_capabilities(InitFlags::FUSE_ATOMIC_O_TRUNC);
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let path = match self.child(parent, name) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        self.dispatch(move |inner| match inner.attr(&path) {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        });
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let path = match self.path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        self.dispatch(move |inner| match inner.attr(&path) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(e),
        });
    }

    /// A size is `_IO_SPACE` ([`Inner::resize`]), an owner or group
    /// `_IO_CHOWN` and a mode `_IO_CHMOD` ([`Inner::set_owner_mode`]); times
    /// are not kept by the bridge (accepted, the server's stay).
    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let path = match self.path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        self.dispatch(move |inner| {
            let result = inner
                .set_owner_mode(fh, &path, uid, gid, mode)
                .and_then(|()| size.map_or(Ok(()), |n| inner.resize(fh, &path, n)));
            match result.and_then(|()| inner.attr(&path)) {
                Ok(a) => reply.attr(&TTL, &a),
                Err(e) => reply.error(e),
            }
        });
    }

    fn mkdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, mode: u32, umask: u32, reply: ReplyEntry) {
        let path = match self.child(parent, name) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        self.dispatch(move |inner| {
            match baton_resmgr::mkdir(&path, mode & !umask & 0o7777)
                .map_err(|e| attr::errno(&e))
                .and_then(|()| inner.attr(&path))
            {
                Ok(a) => reply.entry(&TTL, &a, Generation(0)),
                Err(e) => reply.error(e),
            }
        });
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let path = match self.child(parent, name) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        self.dispatch(move |_| match baton_resmgr::unlink(&path) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(attr::errno(&e)),
        });
    }

    fn rmdir(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        self.unlink(req, parent, name, reply);
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let path = match self.path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        self.dispatch(move |inner| match options(flags.0).open(&path) {
            Ok(file) => reply.opened(FileHandle(inner.add_file(file)), OPEN_FLAGS),
            Err(e) => reply.error(attr::errno(&e)),
        });
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let path = match self.child(parent, name) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        // A create opens for writing whatever the access mode asked (the
        // client API creates only so: O_RDONLY becomes O_WRONLY, O_RDWR
        // stays); the kernel checks the caller's access.
        let access = match flags & libc::O_ACCMODE {
            libc::O_RDONLY => libc::O_WRONLY,
            other => other,
        };
        let mut o = options((flags & !libc::O_ACCMODE) | access);
        o.create(true).create_new(flags & libc::O_EXCL != 0).mode(mode & !umask & 0o7777);
        self.dispatch(move |inner| {
            let file = match o.open(&path) {
                Ok(f) => f,
                Err(e) => return reply.error(attr::errno(&e)),
            };
            let ino = inner.inodes.number(&path);
            match file.stat() {
                Ok(st) => {
                    let a = attr::from_stat(ino, &st);
                    reply.created(&TTL, &a, Generation(0), FileHandle(inner.add_file(file)), OPEN_FLAGS);
                }
                Err(e) => reply.error(attr::errno(&e)),
            }
        });
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let open = match self.open_file(fh) {
            Ok(o) => o,
            Err(e) => return reply.error(e),
        };
        self.dispatch(move |_| {
            let mut buf = vec![0u8; size as usize];
            match open.read(offset, &mut buf) {
                Ok(n) => reply.data(&buf[..n]),
                Err(e) => reply.error(e),
            }
        });
    }

    fn write(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let open = match self.open_file(fh) {
            Ok(o) => o,
            Err(e) => return reply.error(e),
        };
        let write = move |open: &Open, data: &[u8], reply: ReplyWrite| match open.write(offset, data) {
            Ok(n) => reply.written(n as u32),
            Err(e) => reply.error(e),
        };
        // The data is fuser's buffer: copied only for another thread.
        match self.claim() {
            Some(_claim) => write(&open, data, reply),
            None => {
                let data = data.to_vec();
                self.spawn(Box::new(move |_| write(&open, &data, reply)));
            }
        }
    }

    fn flush(&self, _req: &Request, _ino: INodeNo, _fh: FileHandle, _lock_owner: LockOwner, reply: ReplyEmpty) {
        reply.ok(); // nothing is buffered here
    }

    fn fsync(&self, _req: &Request, _ino: INodeNo, _fh: FileHandle, _datasync: bool, reply: ReplyEmpty) {
        reply.ok(); // each write went to the server
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        let open = self.inner.files.lock().unwrap_or_else(|e| e.into_inner()).remove(&fh.0);
        // The last reference sends _IO_CLOSE (a request still running on the
        // file holds one).
        self.dispatch(move |_| {
            drop(open);
            reply.ok();
        });
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        let path = match self.path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        self.dispatch(move |inner| match inner.list(&path) {
            Ok(entries) => {
                let fh = inner.next_fh.fetch_add(1, Ordering::Relaxed);
                inner.dirs.lock().unwrap_or_else(|e| e.into_inner()).insert(fh, Arc::new(entries));
                reply.opened(FileHandle(fh), FopenFlags::empty());
            }
            Err(e) => reply.error(e),
        });
    }

    fn readdir(&self, _req: &Request, _ino: INodeNo, fh: FileHandle, offset: u64, mut reply: ReplyDirectory) {
        let entries = self.inner.dirs.lock().unwrap_or_else(|e| e.into_inner()).get(&fh.0).cloned();
        let Some(entries) = entries else { return reply.error(Errno::EBADF) };
        for (i, e) in entries.iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(e.ino), i as u64 + 1, e.kind, &e.name) {
                break;
            }
        }
        reply.ok();
    }

    fn releasedir(&self, _req: &Request, _ino: INodeNo, fh: FileHandle, _flags: OpenFlags, reply: ReplyEmpty) {
        self.inner.dirs.lock().unwrap_or_else(|e| e.into_inner()).remove(&fh.0);
        reply.ok();
    }

    /// A restricted ioctl (its argument's size in the number) as a devctl:
    /// the argument goes to the server for `_IOC_WRITE`, its answer comes
    /// back for `_IOC_READ`; the ioctl returns the server's `ret_val`.
    fn ioctl(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: IoctlFlags,
        cmd: u32,
        in_data: &[u8],
        out_size: u32,
        reply: ReplyIoctl,
    ) {
        let open = match self.open_file(fh) {
            Ok(o) => o,
            Err(e) => return reply.error(e),
        };
        let to = in_data.to_vec();
        self.dispatch(move |_| {
            let mut from = vec![0u8; out_size as usize];
            match open.file.devctl(dcmd_of_ioctl(cmd), &to, &mut from) {
                Ok(ret) => reply.ioctl(ret, &from),
                Err(e) => reply.error(open.errno(&e)),
            }
        });
    }
}
