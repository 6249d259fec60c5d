//! The read section's resource manager (`baton bench-peer --role
//! read-server`): one file, attached at `--name`, whose bytes come from
//! memory and repeat every [`FILE_BYTES`] (a read past the end wraps to
//! the start, so a reader never meets end of file). It answers the `_IO_*`
//! messages a reader sends (open, read, stat, lseek, close) on the wire of
//! RESMGR.md §3, one thread, an OCB (the offset) per `(scoid, coid)`;
//! anything else gets `ENOSYS`. It prints `ready` once attached, asks the
//! kernel to kill it when the bench parent dies, and otherwise serves until
//! killed.

use super::{byte_at, FILE_BYTES};
use crate::bench::peer::{say, PeerArgs};
use crate::bench::proto::READY;
use baton::{pulse_code, Channel, Received, Request};
use baton_resmgr::msg::{self, IoHeader, Stat};
use rustix::process::{set_parent_process_death_signal, Signal};
use std::collections::HashMap;
use std::io;

/// Biggest message the server takes in (a connect with its path).
const MSG_MAX: usize = 2048;

/// Runs the server until killed.
pub fn run(args: &PeerArgs) -> io::Result<()> {
    set_parent_process_death_signal(Some(Signal::KILL))?;
    let path = args.name.as_deref().ok_or_else(|| io::Error::other("the read server needs --name (its path)"))?;
    let channel = Channel::builder().unblock(true).disconnect(true).create()?;
    let _attach = baton::paths::attach(path, &channel, 0, 0)?;
    let data: Vec<u8> = (0..2 * FILE_BYTES).map(byte_at).collect();
    say(READY)?;
    let mut ocbs: HashMap<(u32, i32), u64> = HashMap::new();
    let mut buf = vec![0u8; MSG_MAX];
    loop {
        match channel.receive(&mut buf)? {
            Received::Message(req) => {
                let len = req.len().min(buf.len());
                // A reply fails only if its client died: nothing to do.
                let _ = handle(req, &buf[..len], &data, &mut ocbs);
            }
            // A client process gone: its opens go with it.
            Received::Pulse(p) if p.code == pulse_code::DISCONNECT => ocbs.retain(|k, _| k.0 != p.scoid),
            Received::Pulse(_) => {}
        }
    }
}

/// Answers one message.
fn handle(req: Request, m: &[u8], data: &[u8], ocbs: &mut HashMap<(u32, i32), u64>) -> baton::Result<()> {
    let info = req.info();
    let key = (info.scoid, info.coid);
    let Ok(head) = IoHeader::decode(m) else { return req.error(libc::EBADMSG) };
    if head.ty == msg::IO_CONNECT {
        return match msg::Connect::decode(m) {
            Ok(c) if c.subtype != msg::subtype::OPEN => req.error(libc::ENOSYS),
            Ok(c) if !c.path.is_empty() => req.error(libc::ENOENT),
            Ok(c) if c.ioflag & msg::IO_FLAG_WR != 0 => req.error(libc::EACCES),
            Ok(_) => {
                ocbs.insert(key, 0);
                req.reply(0, &[])
            }
            Err(e) => req.error(e.errno()),
        };
    }
    let Some(offset) = ocbs.get_mut(&key) else { return req.error(libc::EBADF) };
    match head.ty {
        msg::IO_READ => match msg::Read::decode(m) {
            Ok(r) => {
                // `data` holds the file twice: any read of up to a whole
                // file is one slice, however it wraps.
                let n = (r.nbytes as usize).min(FILE_BYTES);
                let at = (*offset % FILE_BYTES as u64) as usize;
                *offset += n as u64;
                req.reply(n as i64, &data[at..at + n])
            }
            Err(e) => req.error(e.errno()),
        },
        msg::IO_STAT => {
            let st = Stat { mode: libc::S_IFREG | 0o444, nlink: 1, size: FILE_BYTES as i64, ..Stat::default() };
            req.reply(0, &st.encode())
        }
        msg::IO_LSEEK => match msg::Lseek::decode(m) {
            Ok(s) => {
                let base = match i32::from(s.whence) {
                    libc::SEEK_SET => 0,
                    libc::SEEK_CUR => *offset as i64,
                    libc::SEEK_END => FILE_BYTES as i64,
                    _ => return req.error(libc::EINVAL),
                };
                match base.checked_add(s.offset).filter(|&o| o >= 0) {
                    Some(o) => {
                        *offset = o as u64;
                        req.reply(0, &o.to_le_bytes())
                    }
                    None => req.error(libc::EINVAL),
                }
            }
            Err(e) => req.error(e.errno()),
        },
        msg::IO_CLOSE => {
            ocbs.remove(&key);
            req.reply(0, &[])
        }
        _ => req.error(libc::ENOSYS),
    }
}
