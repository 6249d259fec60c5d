//! A handler that answers itself (`Context::reply`): a read served straight
//! from the handler's bytes reaches the client whole, whatever the handler
//! returns or leaves in `out` afterwards; a second answer gets `ESRCH`; a
//! private message handler may answer the same way. The server runs in a
//! child process.
mod common;

use baton_resmgr::{Attr, Context, Errno, Ocb, OpenOptions, ResourceManager, Server};
use common::{role, say, setup, watchdog};
use std::io::Read;

/// The file's bytes: longer than the inline area of a slot, so a reply
/// goes through the overflow area too.
const LEN: usize = 10_000;

fn byte(i: usize) -> u8 {
    (i * 7 % 251) as u8
}

/// The private message type that answers itself.
const PING: u16 = 0x300;

struct Direct(Vec<u8>);

impl ResourceManager for Direct {
    type State = ();

    fn read(&self, ctx: &mut Context<'_>, ocb: &mut Ocb<()>, nbytes: usize, out: &mut Vec<u8>) -> Result<(), Errno> {
        let at = (ocb.offset as usize).min(LEN);
        let n = nbytes.min(LEN - at);
        ocb.offset += n as u64;
        ctx.reply(n as i64, &self.0[at..at + n])?;
        // Answered: a second answer is refused, and what follows is dropped.
        assert_eq!(ctx.reply(0, b"again"), Err(Errno(libc::ESRCH)));
        out.extend_from_slice(b"ignored");
        Err(Errno(libc::EIO))
    }
}

fn serve() {
    let server = Server::new().unwrap();
    let mut attr = Attr::new(libc::S_IFREG | 0o444);
    attr.size = LEN as u64;
    server.attach("/t/reply", 0, attr, Direct((0..LEN).map(byte).collect())).unwrap();
    server
        .message_attach(PING, PING, |ctx: &mut Context<'_>, _: &[u8], _: &mut Vec<u8>| {
            ctx.reply(7, b"pong")?;
            Ok(0)
        })
        .unwrap();
    say("ready");
    server.run().unwrap();
}

#[test]
fn child() {
    common::child_main(&[("serve", serve)]);
}

#[test]
fn a_handler_answers_from_its_own_bytes() {
    setup();
    let _w = watchdog(120);
    let srv = role("serve", &[]);
    srv.expect("ready");

    // Reads of several sizes, the last one short at the end of the file.
    let mut f = baton_resmgr::open("/t/reply", OpenOptions::new().read(true)).unwrap();
    let mut got = Vec::new();
    for size in [1usize, 100, 4096, 5000, 4096] {
        let mut buf = vec![0u8; size];
        let n = f.read(&mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got.len(), LEN, "the last read stops at the end");
    assert!(got.iter().enumerate().all(|(i, &b)| b == byte(i)), "the file's bytes, in order");
    let mut rest = [0u8; 16];
    assert_eq!(f.read(&mut rest).unwrap(), 0, "end of file");

    let m = baton::paths::resolve("/t/reply").unwrap().remove(0);
    let conn = baton::Connection::attach(m.pid, m.chid).unwrap();
    let mut reply = [0u8; 16];
    let r = conn.send(&[PING.to_le_bytes(), [0, 0]].concat(), &mut reply).unwrap();
    assert_eq!((r.status, &reply[..r.len]), (7, &b"pong"[..]));
    // The server is still serving.
    assert_eq!(f.stat().unwrap().size, LEN as i64);
}
