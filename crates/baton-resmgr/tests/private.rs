//! Private message types (`Server::message_attach`): a server in a child
//! process speaks its own protocol on the channel of its resource manager;
//! messages of a type no handler has get `ENOSYS`; the ranges are checked.
mod common;

use baton::Connection;
use baton_resmgr::msg::IO_MAX;
use baton_resmgr::{Attr, Context, Errno, ResourceManager, Server};
use common::{role, say, setup, watchdog};

/// Upper-case echo: the reply is the message's text upper-cased, the
/// status its length.
const UPPER: u16 = 0x200;
/// Sum of every byte of the message after the type, read in full from the
/// client (however long it is): the status.
const SUM: u16 = 0x201;
/// A type in the attached range that the handler refuses.
const REFUSED: u16 = 0x20f;

struct Plain;

impl ResourceManager for Plain {
    type State = ();
}

fn private(ctx: &mut Context<'_>, msg: &[u8], out: &mut Vec<u8>) -> Result<i64, Errno> {
    let ty = u16::from_le_bytes([msg[0], msg[1]]);
    match ty {
        UPPER => {
            out.extend(msg[2..].iter().map(u8::to_ascii_uppercase));
            Ok(out.len() as i64)
        }
        SUM => {
            let total = ctx.info().srcmsglen;
            let mut sum: i64 = msg[2..].iter().map(|&b| i64::from(b)).sum();
            let mut at = msg.len();
            let mut buf = vec![0u8; 4096];
            while at < total {
                let n = ctx.read_msg(at, &mut buf)?;
                if n == 0 {
                    return Err(Errno(libc::EBADMSG));
                }
                sum += buf[..n].iter().map(|&b| i64::from(b)).sum::<i64>();
                at += n;
            }
            Ok(sum)
        }
        _ => Err(Errno(libc::EPROTO)),
    }
}

fn serve() {
    let server = Server::new().unwrap();
    server.attach("/t/private", 0, Attr::new(libc::S_IFCHR | 0o666), Plain).unwrap();
    server.message_attach(UPPER, REFUSED, private).unwrap();
    say("ready");
    server.run().unwrap();
}

#[test]
fn child() {
    common::child_main(&[("serve", serve)]);
}

fn message(ty: u16, body: &[u8]) -> Vec<u8> {
    let mut m = ty.to_le_bytes().to_vec();
    m.extend_from_slice(body);
    m
}

#[test]
fn private_messages_on_the_resource_managers_channel() {
    setup();
    let _w = watchdog(120);
    let srv = role("serve", &[]);
    srv.expect("ready");
    // The channel the path resolves to: a plain connection to it carries
    // the private protocol; so does an open's.
    let m = baton::paths::resolve("/t/private").unwrap().remove(0);
    let conn = Connection::attach(m.pid, m.chid).unwrap();
    let mut reply = [0u8; 64];
    let r = conn.send(&message(UPPER, b"hello"), &mut reply).unwrap();
    assert_eq!((r.status, &reply[..r.len]), (5, &b"HELLO"[..]));

    // Longer than the server's receive buffer: the handler reads the rest.
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let want: i64 = big.iter().map(|&b| i64::from(b)).sum();
    assert_eq!(conn.send(&message(SUM, &big), &mut []).unwrap().status, want);

    let f = baton_resmgr::open("/t/private", baton_resmgr::OpenOptions::new().read(true)).unwrap();
    let r = f.connection().send(&message(UPPER, b"via open"), &mut reply).unwrap();
    assert_eq!(&reply[..r.len], b"VIA OPEN");

    // The handler's errors, and types no handler has.
    let err = |ty: u16| conn.send(&message(ty, &[4, 0, 0, 0]), &mut []).unwrap_err().errno();
    assert_eq!(err(REFUSED), libc::EPROTO);
    assert_eq!(err(REFUSED + 1), libc::ENOSYS);
    assert_eq!(err(0xffff), libc::ENOSYS);
    assert_eq!(err(IO_MAX), libc::ENOSYS, "an _IO_* type the framework does not know");
    // The I/O protocol still works on the same channel.
    assert_eq!(f.stat().unwrap().mode & libc::S_IFMT, libc::S_IFCHR);
}

#[test]
fn message_ranges_are_checked() {
    setup();
    let _w = watchdog(60);
    let server = Server::new().unwrap();
    let h = |_: &mut Context<'_>, _: &[u8], _: &mut Vec<u8>| Ok(0);
    let code = |r: std::io::Result<()>| r.unwrap_err().raw_os_error();
    assert_eq!(code(server.message_attach(IO_MAX, 0x300, h)), Some(libc::EINVAL), "I/O types are the framework's");
    assert_eq!(code(server.message_attach(0x300, 0x2ff, h)), Some(libc::EINVAL));
    server.message_attach(0x300, 0x30f, h).unwrap();
    assert_eq!(code(server.message_attach(0x30f, 0x310, h)), Some(libc::EBUSY));
    assert_eq!(code(server.message_attach(0x200, 0x300, h)), Some(libc::EBUSY));
    server.message_attach(0x310, 0x310, h).unwrap();
}
