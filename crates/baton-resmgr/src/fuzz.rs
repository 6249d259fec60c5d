//! Entry points for the fuzz targets (`fuzz/` at the repository root), not
//! part of the API: each feeds bytes a client (or a server) could send to
//! the code that reads them, and checks what the callers rely on. A failed
//! check panics, which the fuzzer reports as a crash.
//!
//! - [`decoders`]: every decoder of `msg` on the same bytes; what decodes
//!   encodes back to itself.
//! - [`dispatch`]: one message through the server's dispatch (the
//!   `Router`, no channel or process needed) to a small device, after an
//!   open bound to the sender, then its close: the reply fits what the
//!   message asked for, a `pread`/`pwrite` leaves the open's offset where
//!   it was, and the close leaves nothing armed.

use crate::msg::{self, sigevent, Connect, DirentIter, IoHeader, Stat};
use crate::server::{
    Attr, ConnectRequest, Context, Dirents, Errno, Ocb, Opened, ResourceManager, Router, SharedAttr, Space,
};
use baton::{MsgInfo, ReceiveId};
use std::sync::{Arc, Mutex};

/// Every decoder on `data`.
pub fn decoders(data: &[u8]) {
    let total = data.len();
    let _ = IoHeader::decode(data);
    if let Ok(r) = msg::Read::decode(data) {
        assert!(r.nbytes >= 0);
        assert_eq!(r.offset.is_some(), r.xtype & msg::XTYPE_MASK == msg::XTYPE_OFFSET);
        assert_eq!(msg::Read::decode(&r.encode()), Ok(r));
    }
    for claimed in [total, total.saturating_mul(2), usize::MAX] {
        if let Ok(w) = msg::Write::decode(data, claimed) {
            assert!(w.nbytes >= 0 && w.data_start() + w.nbytes as usize <= claimed);
            assert_eq!(w.offset.is_some(), w.xtype & msg::XTYPE_MASK == msg::XTYPE_OFFSET);
            assert_eq!(msg::Write::decode(&w.encode(), claimed), Ok(w));
        }
        if let Ok(d) = msg::Devctl::decode(data, claimed) {
            assert!(d.nbytes >= 0);
            if d.dcmd & msg::dcmd::DEVDIR_TO != 0 {
                assert!(msg::DEVCTL_LEN + d.nbytes as usize <= claimed);
            }
        }
    }
    if let Ok(c) = msg::Chmod::decode(data) {
        assert_eq!(msg::Chmod::decode(&c.encode()), Ok(c));
    }
    if let Ok(c) = msg::Chown::decode(data) {
        assert_eq!(msg::Chown::decode(&c.encode()), Ok(c));
        assert_eq!(msg::Chown::new(c.uid(), c.gid()), c);
    }
    let _ = msg::StatRequest::decode(data);
    let _ = msg::Close::decode(data);
    let _ = msg::DevctlReply::decode(data);
    let _ = msg::NotifyReply::decode(data);
    if let Ok(s) = msg::Space::decode(data) {
        assert_eq!(msg::Space::decode(&s.encode()), Ok(s));
    }
    if let Ok(l) = msg::Lseek::decode(data) {
        assert_eq!(msg::Lseek::decode(&l.encode()), Ok(l));
    }
    if let Ok(n) = msg::Notify::decode(data) {
        assert_eq!(msg::Notify::decode(&n.encode()), Ok(n));
        if let Ok(e) = n.event() {
            assert_eq!(sigevent::decode(&sigevent::encode(&e)), Ok(e));
        }
    }
    if let Ok(e) = sigevent::decode(data) {
        assert_eq!(sigevent::decode(&sigevent::encode(&e)), Ok(e));
    }
    if let Ok(c) = Connect::decode(data) {
        assert!(!c.path.contains('\0'));
        let again = c.encode().expect("a decoded connect encodes");
        assert_eq!(Connect::decode(&again), Ok(c));
    }
    let mut seen = 0;
    for rec in DirentIter::new(data) {
        match rec {
            Ok(r) => seen += msg::DIRENT_HEADER_LEN + r.name.len() + 1,
            Err(_) => break,
        }
    }
    assert!(seen <= total);
    if let Ok(s) = Stat::decode(data) {
        assert_eq!(Stat::decode(&s.encode()), Ok(s));
    }
}

/// Most bytes the device keeps (its writes beyond fail with `EFBIG`).
const MAX_DATA: usize = 1 << 20;

/// A device with the handlers that interpret message contents: a file's
/// bytes, a directory's entries, devctl, notify.
#[derive(Default)]
struct Device {
    data: Mutex<Vec<u8>>,
}

impl Device {
    fn data(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ResourceManager for Device {
    type State = ();

    fn open(&self, ctx: &mut Context<'_>, req: &ConnectRequest<'_>) -> Result<Opened<()>, Errno> {
        crate::server::check_open(ctx, &req.attr.lock(), req.ioflag)?;
        Ok(Opened { attr: req.attr.clone(), state: () })
    }

    fn read(&self, _: &mut Context<'_>, ocb: &mut Ocb<()>, nbytes: usize, out: &mut Vec<u8>) -> Result<(), Errno> {
        let data = self.data();
        let start = usize::try_from(ocb.offset).unwrap_or(usize::MAX).min(data.len());
        let end = start + nbytes.min(data.len() - start);
        out.extend_from_slice(&data[start..end]);
        ocb.offset = end as u64;
        Ok(())
    }

    fn write(&self, _: &mut Context<'_>, ocb: &mut Ocb<()>, bytes: &[u8]) -> Result<usize, Errno> {
        let mut data = self.data();
        let start = usize::try_from(ocb.offset).map_err(|_| Errno(libc::EFBIG))?;
        let end = start.checked_add(bytes.len()).filter(|&e| e <= MAX_DATA).ok_or(Errno(libc::EFBIG))?;
        if data.len() < end {
            data.resize(end, 0);
        }
        data[start..end].copy_from_slice(bytes);
        ocb.offset = end as u64;
        ocb.attr.lock().size = data.len() as u64;
        Ok(bytes.len())
    }

    fn readdir(&self, _: &mut Context<'_>, _: &mut Ocb<()>, out: &mut Dirents<'_>) -> Result<(), Errno> {
        for i in out.start()..40 {
            let name = "n".repeat(1 + (i as usize * 7) % 300);
            if !out.push(i + 1, &name) {
                break;
            }
        }
        Ok(())
    }

    fn devctl(
        &self,
        _: &mut Context<'_>,
        _: &mut Ocb<()>,
        _: u32,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<i32, Errno> {
        out.extend_from_slice(data);
        Ok(data.len() as i32)
    }

    fn notify(&self, ctx: &mut Context<'_>, ocb: &mut Ocb<()>, req: &msg::Notify) -> Result<u32, Errno> {
        let input = if self.data().is_empty() { 0 } else { msg::notify::COND_INPUT };
        ctx.notify(ocb, req, input | msg::notify::COND_OUTPUT)
    }

    fn space(&self, _: &mut Context<'_>, ocb: &mut Ocb<()>, req: &Space) -> Result<u64, Errno> {
        let size = req.new_size(ocb.attr.lock().size)?;
        assert!(size <= i64::MAX as u64);
        let size = usize::try_from(size).ok().filter(|&s| s <= MAX_DATA).ok_or(Errno(libc::EFBIG))?;
        self.data().resize(size, 0);
        ocb.attr.lock().size = size as u64;
        Ok(size as u64)
    }
}

/// The sender of every message: root (so that opens pass), scoid 1.
fn info(coid: i32, msglen: usize, srcmsglen: usize) -> MsgInfo {
    MsgInfo {
        pid: std::process::id() as i32,
        tid: 1,
        uid: 0,
        gid: 0,
        chid: 1,
        scoid: 1,
        coid,
        msglen,
        srcmsglen,
        dstmsglen: 1 << 16,
        priority: 0,
        policy: 0,
        flags: 0,
    }
}

/// Runs `bytes` through `router` as a message from `coid` that claims
/// `srcmsglen` bytes; the result and the reply's data.
fn run(router: &Router, coid: i32, bytes: &[u8], srcmsglen: usize) -> (Result<i64, Errno>, Vec<u8>) {
    let registry = Arc::clone(&router.registry);
    let mut ctx = Context {
        info: info(coid, bytes.len(), srcmsglen),
        xtype: 0,
        ioflag: 0,
        offset: None,
        // No client to read more from: a message that needs more than it
        // carries fails (EBADMSG), as when its client lied.
        req: None,
        rcvid: ReceiveId::from_raw(0x101),
        deferred: None,
        registry: &registry,
        mount: usize::MAX,
    };
    let mut out = Vec::new();
    let r = router.dispatch(&mut ctx, bytes, &mut out);
    (r, out)
}

/// One message after an open: `data[0]` picks the file or the directory
/// and whether the message claims more bytes than it carries; the rest is
/// the message.
pub fn dispatch(data: &[u8]) {
    let Some((&sel, message)) = data.split_first() else { return };
    let router = Router::default();
    let file = SharedAttr::new(Attr::new(libc::S_IFREG | 0o666));
    let dir = SharedAttr::new(Attr::new(libc::S_IFDIR | 0o777));
    for (id, attr) in [(1, &file), (2, &dir)] {
        let index = router.add_mount(crate::server::mount_of(Device::default(), attr.clone()));
        router.link(id, index);
    }
    router
        .message_attach(
            0x200,
            0x2ff,
            Arc::new(|_: &mut Context<'_>, m: &[u8], out: &mut Vec<u8>| {
                out.extend_from_slice(m);
                Ok(m.len() as i64)
            }),
        )
        .expect("a free range");

    let open = Connect {
        subtype: msg::subtype::OPEN,
        handle: 1 + u32::from(sel & 1),
        ioflag: msg::IO_FLAG_RD | msg::IO_FLAG_WR | if sel & 4 != 0 { libc::O_APPEND as u32 } else { 0 },
        ..Default::default()
    }
    .encode()
    .expect("an open encodes");
    let (r, _) = run(&router, 1, &open, open.len());
    assert_eq!(r, Ok(0), "the open");
    if sel & 8 != 0 {
        // Something to read, and input ready.
        let (r, _) = run(&router, 1, &[&msg::Write::new(3, 0).encode()[..], b"abc"].concat(), 19);
        assert_eq!(r, Ok(3));
    }

    let claimed = if sel & 2 != 0 { message.len().saturating_add(usize::from(sel >> 4) << 12) } else { message.len() };
    let offset = || {
        let (r, out) = run(&router, 1, &msg::Lseek { whence: libc::SEEK_CUR as i16, offset: 0 }.encode(), 16);
        assert_eq!(r, Ok(0));
        u64::from_le_bytes(out.try_into().expect("8 bytes"))
    };
    let before = offset();
    let (r, out) = run(&router, 1, message, claimed);
    let positioned = msg::Read::decode(message).is_ok_and(|r| r.offset.is_some())
        || msg::Write::decode(message, claimed).is_ok_and(|w| w.offset.is_some());
    if positioned {
        assert_eq!(offset(), before, "a pread/pwrite moved the open's offset");
    }
    if let (Ok(status), Ok(h)) = (r, IoHeader::decode(message)) {
        match h.ty {
            msg::IO_READ => {
                let want = msg::Read::decode(message).expect("a read that succeeded decodes").nbytes;
                assert!(out.len() <= want as usize && status == out.len() as i64);
            }
            msg::IO_WRITE => {
                let n = msg::Write::decode(message, claimed).expect("a write that succeeded decodes").nbytes;
                assert!(status >= 0 && status <= i64::from(n));
            }
            msg::IO_STAT => assert_eq!(out.len(), msg::STAT_LEN),
            msg::IO_NOTIFY => assert_eq!(out.len(), msg::NOTIFY_REPLY_LEN),
            msg::IO_LSEEK | msg::IO_SPACE => assert_eq!(out.len(), 8),
            msg::IO_DEVCTL => {
                let d = msg::Devctl::decode(message, claimed).expect("a devctl that succeeded decodes");
                let reply = msg::DevctlReply::decode(&out).expect("a devctl reply");
                assert!(reply.nbytes >= 0 && reply.nbytes <= d.nbytes);
                assert_eq!(out.len(), msg::DEVCTL_REPLY_LEN + reply.nbytes as usize);
            }
            _ => {}
        }
    }
    // The same message from a connection without an open.
    let (r, _) = run(&router, 2, message, claimed);
    if let Ok(h) = IoHeader::decode(message) {
        if (msg::IO_READ..=msg::IO_MAX).contains(&h.ty) && r.is_ok() {
            panic!("an I/O message without an open succeeded: {:?}", h);
        }
    }
    let (r, _) = run(&router, 1, &msg::Close.encode(), msg::CLOSE_LEN);
    assert!(r.is_ok() || IoHeader::decode(message).is_ok_and(|h| h.ty == msg::IO_CLOSE), "{r:?}");
    assert_eq!(file.notify_armed() + dir.notify_armed(), 0, "the close dropped what the open armed");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A few hand-made inputs, so that `cargo test` runs the harness.
    #[test]
    fn harness_runs() {
        decoders(&[]);
        decoders(&msg::Read::new(5, 0).encode());
        dispatch(&[]);
        dispatch(&[0]);
        let mut m = vec![0u8];
        m.extend_from_slice(&msg::Read::new(5, 0).encode());
        dispatch(&m);
        m[0] = 9;
        dispatch(&m);
        for m in [
            msg::Read::at(5, 0, 1).encode().to_vec(),
            [&msg::Write::at(3, 0, 2).encode()[..], b"xyz"].concat(),
            msg::Chmod { mode: 0o600 }.encode().to_vec(),
            msg::Chown::new(Some(3), None).encode().to_vec(),
        ] {
            decoders(&m);
            dispatch(&[&[8u8][..], &m].concat());
        }
        let mut n = vec![1u8];
        n.extend_from_slice(&msg::Notify::new(1, msg::notify::COND_INPUT, &baton::Event::pulse(1, -1, 1, 0)).encode());
        dispatch(&n);
    }
}
