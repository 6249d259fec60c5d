//! One attached prefix: its handler, its attribute and the OCBs of its
//! opens, behind an object-safe trait so that one server can serve
//! prefixes whose handlers have different per-open state types.

use super::context::{ConnectRequest, Context, Dirents, Errno, Space};
use super::{Ocb, ResourceManager, SharedAttr};
use crate::msg::{self, space as subtype_space, subtype, Connect, DirentWriter};
use baton::ReceiveId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The OCBs by key: foldhash, seeded per process (a client chooses its
/// `coid`s, so the seed keeps it from choosing collisions).
type Ocbs<S> = HashMap<Key, Shared<S>, foldhash::fast::RandomState>;

/// An open's key: the client's `(scoid, coid)`.
pub(crate) type Key = (u32, i32);

/// A decoded I/O message (its body checked).
#[derive(Debug)]
pub(crate) enum IoMsg<'a> {
    Read(msg::Read),
    Write(msg::Write, &'a [u8]),
    Stat,
    Lseek(msg::Lseek),
    Space(msg::Space),
    Chmod(msg::Chmod),
    Chown(msg::Chown),
    Devctl(msg::Devctl, &'a [u8]),
    Notify(msg::Notify),
    Close,
}

/// A mount as the dispatcher sees it.
pub(crate) trait Mount: Send + Sync {
    /// `_IO_CONNECT` for this mount: open (binding a new OCB to `key`),
    /// unlink, mknod. Returns the reply status.
    fn connect(&self, ctx: &mut Context<'_>, key: Key, c: &Connect) -> Result<i64, Errno>;
    /// An I/O message for the open `key`; `None` if it is not one of ours.
    /// The reply's data goes to `out`.
    fn io(&self, ctx: &mut Context<'_>, key: Key, m: &IoMsg<'_>, out: &mut Vec<u8>) -> Option<Result<i64, Errno>>;
    /// Ends the open `key` if it is ours (its close handler runs).
    fn close_key(&self, key: Key);
    /// Ends every open of client connection `scoid`.
    fn close_scoid(&self, scoid: u32);
    /// A deferred request's client asks to be released.
    fn unblock(&self, id: ReceiveId);
}

type Shared<S> = Arc<Mutex<Ocb<S>>>;

/// A mount with handler `R`.
pub(crate) struct MountOf<R: ResourceManager> {
    pub handler: R,
    pub attr: SharedAttr,
    ocbs: Mutex<Ocbs<R::State>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<R: ResourceManager> MountOf<R> {
    pub fn new(handler: R, attr: SharedAttr) -> Self {
        MountOf { handler, attr, ocbs: Mutex::new(Ocbs::default()) }
    }

    /// Runs `op` on `ocb` at the offset `at` of a `pread`/`pwrite` (the
    /// handler sees it as `ocb.offset` and [`Context::xtype_offset`]),
    /// then puts the open's own offset back: positioned I/O does not move
    /// it. `EINVAL` for a negative offset (POSIX `pread`).
    fn positioned<T>(
        ctx: &mut Context<'_>,
        ocb: &mut Ocb<R::State>,
        at: Option<i64>,
        op: impl FnOnce(&mut Context<'_>, &mut Ocb<R::State>) -> Result<T, Errno>,
    ) -> Result<T, Errno> {
        let Some(at) = at else { return op(ctx, ocb) };
        let at = u64::try_from(at).map_err(|_| Errno(libc::EINVAL))?;
        ctx.offset = Some(at);
        let own = std::mem::replace(&mut ocb.offset, at);
        let r = op(ctx, ocb);
        ocb.offset = own;
        r
    }

    fn end(&self, ocb: Shared<R::State>) {
        let mut ocb = lock(&ocb);
        ocb.attr.notify_remove((ocb.scoid, ocb.coid));
        self.handler.close(&mut ocb);
    }
}

impl<R: ResourceManager> Mount for MountOf<R> {
    fn connect(&self, ctx: &mut Context<'_>, key: Key, c: &Connect) -> Result<i64, Errno> {
        let req = ConnectRequest { path: &c.path, ioflag: c.ioflag, mode: c.mode, eflag: c.eflag, attr: &self.attr };
        match c.subtype {
            subtype::OPEN => {
                let o = self.handler.open(ctx, &req)?;
                let dir = o.attr.lock().is_dir();
                let ocb =
                    Ocb { offset: 0, ioflag: c.ioflag, attr: o.attr, state: o.state, scoid: key.0, coid: key.1, dir };
                let old = lock(&self.ocbs).insert(key, Arc::new(Mutex::new(ocb)));
                if let Some(old) = old {
                    self.end(old);
                }
                Ok(0)
            }
            subtype::UNLINK => self.handler.unlink(ctx, &req).map(|()| 0),
            subtype::MKNOD => self.handler.mknod(ctx, &req).map(|()| 0),
            _ => Err(Errno(libc::ENOSYS)),
        }
    }

    fn io(&self, ctx: &mut Context<'_>, key: Key, m: &IoMsg<'_>, out: &mut Vec<u8>) -> Option<Result<i64, Errno>> {
        let shared = lock(&self.ocbs).get(&key).cloned()?;
        if let IoMsg::Close = m {
            if let Some(ocb) = lock(&self.ocbs).remove(&key) {
                self.end(ocb);
            }
            return Some(Ok(0));
        }
        let mut guard = lock(&shared);
        let ocb = &mut *guard;
        let h = &self.handler;
        Some((|| match *m {
            IoMsg::Read(r) => {
                if !ocb.readable() {
                    return Err(Errno(libc::EBADF));
                }
                (ctx.xtype, ctx.ioflag) = (r.xtype, ocb.ioflag);
                let n = r.nbytes as usize;
                Self::positioned(ctx, ocb, r.offset, |ctx, ocb| {
                    if ocb.dir {
                        let mut d = Dirents { writer: DirentWriter::new(out, n), start: ocb.offset };
                        h.readdir(ctx, ocb, &mut d)?;
                        if d.writer.count() == 0 && d.writer.is_full() {
                            return Err(Errno(libc::EINVAL));
                        }
                        ocb.offset += d.writer.count() as u64;
                    } else {
                        h.read(ctx, ocb, n, out)?;
                        out.truncate(n);
                    }
                    Ok(out.len() as i64)
                })
            }
            IoMsg::Write(w, data) => {
                if !ocb.writable() {
                    return Err(Errno(libc::EBADF));
                }
                (ctx.xtype, ctx.ioflag) = (w.xtype, ocb.ioflag);
                Self::positioned(ctx, ocb, w.offset, |ctx, ocb| {
                    // O_APPEND writes at the end, a pwrite too (as Linux does).
                    if ocb.ioflag & libc::O_APPEND as u32 != 0 {
                        ocb.offset = ocb.attr.lock().size;
                    }
                    let n = h.write(ctx, ocb, data)?;
                    Ok(n.min(data.len()) as i64)
                })
            }
            IoMsg::Stat => {
                let st = h.stat(ctx, ocb)?;
                out.extend_from_slice(&st.encode());
                Ok(0)
            }
            IoMsg::Lseek(l) => {
                let pos = h.lseek(ctx, ocb, l.offset, i32::from(l.whence))?;
                out.extend_from_slice(&pos.to_le_bytes());
                Ok(0)
            }
            IoMsg::Space(s) => {
                if !ocb.writable() {
                    return Err(Errno(libc::EBADF));
                }
                let base = match i32::from(s.whence) {
                    libc::SEEK_SET => 0,
                    libc::SEEK_CUR => ocb.offset,
                    libc::SEEK_END => ocb.attr.lock().size,
                    _ => return Err(Errno(libc::EINVAL)),
                };
                let start = i128::from(base) + i128::from(s.start);
                let start = u64::try_from(start).ok().filter(|&n| n <= i64::MAX as u64).ok_or(Errno(libc::EINVAL))?;
                let free = match s.subtype {
                    subtype_space::FREESP | subtype_space::FREESP64 => true,
                    subtype_space::ALLOCSP | subtype_space::ALLOCSP64 => false,
                    _ => return Err(Errno(libc::EINVAL)),
                };
                let size = h.space(ctx, ocb, &Space { free, start, len: s.len })?;
                out.extend_from_slice(&size.to_le_bytes());
                Ok(0)
            }
            IoMsg::Chmod(c) => h.chmod(ctx, ocb, c.mode).map(|()| 0),
            IoMsg::Chown(c) => h.chown(ctx, ocb, c.uid(), c.gid()).map(|()| 0),
            IoMsg::Devctl(d, data) => {
                let mut answer = Vec::new();
                let ret_val = h.devctl(ctx, ocb, d.dcmd, data, &mut answer)?;
                if d.dcmd & msg::dcmd::DEVDIR_FROM == 0 {
                    answer.clear();
                }
                answer.truncate(d.nbytes as usize);
                let nbytes = answer.len() as i32;
                out.extend_from_slice(&msg::DevctlReply { ret_val, nbytes }.encode());
                out.extend_from_slice(&answer);
                Ok(0)
            }
            IoMsg::Notify(n) => {
                let flags = h.notify(ctx, ocb, &n)?;
                out.extend_from_slice(&msg::NotifyReply { flags }.encode());
                Ok(0)
            }
            IoMsg::Close => Ok(0),
        })())
    }

    fn close_key(&self, key: Key) {
        let old = lock(&self.ocbs).remove(&key);
        if let Some(old) = old {
            self.end(old);
        }
    }

    fn close_scoid(&self, scoid: u32) {
        let gone: Vec<Shared<R::State>> = {
            let mut map = lock(&self.ocbs);
            let keys: Vec<Key> = map.keys().filter(|k| k.0 == scoid).copied().collect();
            keys.into_iter().filter_map(|k| map.remove(&k)).collect()
        };
        for ocb in gone {
            self.end(ocb);
        }
    }

    fn unblock(&self, id: ReceiveId) {
        self.handler.unblock(id);
    }
}
