//! What goes wrong: a server killed while a client waits in a read; a
//! client killed with files open (the server's close handler runs for
//! each); malformed messages sent over a plain baton connection (each gets
//! an error, and the server keeps serving).
mod common;

use baton::Connection;
use baton_resmgr::msg::{self, Connect};
use baton_resmgr::{open, OpenOptions};
use common::{errno, server, setup, watchdog};
use std::io::{Read, Write};

#[test]
fn child() {
    common::child_main(&[("hold_open", hold_open)]);
}

/// `args`: path. Opens it twice, says `opened`, then waits to be killed.
fn hold_open() {
    let path = &common::args()[0];
    let a = open(path, OpenOptions::new().read(true)).unwrap();
    let b = open(path, OpenOptions::new().write(true)).unwrap();
    common::say("opened");
    std::thread::sleep(std::time::Duration::from_secs(600));
    drop((a, b));
}

#[test]
fn server_killed_mid_read() {
    setup();
    let _w = watchdog(120);
    let mut srv = server("resmgr-queue", &["/r/queue"]);
    let mut f = open("/r/queue", OpenOptions::new().read(true)).unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 8];
        f.read(&mut buf)
    });
    // Let the read reach the server (if it has not, the send fails the
    // same way).
    std::thread::sleep(std::time::Duration::from_millis(100));
    srv.kill9();
    let e = reader.join().unwrap().unwrap_err();
    assert!([libc::ESRCH, libc::EBADF].contains(&errno(&e)), "{e}");
    // The path is gone with its server.
    assert_eq!(errno(&open("/r/queue", OpenOptions::new().read(true)).unwrap_err()), libc::ENOENT);
}

#[test]
fn client_death_closes_its_opens() {
    setup();
    let _w = watchdog(120);
    let srv = server("resmgr-null", &["/r/null"]);
    let mut client = common::role("hold_open", &["/r/null"]);
    client.expect("opened");
    client.kill9();
    srv.expect("close");
    srv.expect("close");
}

/// Sends `bytes` on a plain connection; the errno of the answer (0: success).
fn send(conn: &Connection, bytes: &[u8]) -> i32 {
    match conn.send(bytes, &mut [0u8; 256]) {
        Ok(_) => 0,
        Err(e) => e.errno(),
    }
}

#[test]
fn malformed_messages_get_errors() {
    setup();
    let _w = watchdog(120);
    let _srv = server("resmgr-files", &["/r/mem"]);
    let m = baton::paths::resolve("/r/mem").unwrap().remove(0);
    let conn = Connection::builder().no_share(true).attach(m.pid, m.chid).unwrap();
    assert_eq!(send(&conn, &[]), libc::EBADMSG, "empty");
    assert_eq!(send(&conn, &[1, 2]), libc::EBADMSG, "shorter than a header");
    assert_eq!(send(&conn, &0x1ffu16.to_le_bytes().repeat(2)), libc::ENOSYS, "unknown type");
    assert_eq!(send(&conn, &[0x13, 0x37, 4, 0]), libc::ENOSYS, "not an I/O message");
    let read = msg::Read::new(4, 0).encode();
    assert_eq!(send(&conn, &read[..10]), libc::EBADMSG, "short read");
    assert_eq!(send(&conn, &msg::Read::new(-1, 0).encode()), libc::EBADMSG, "negative count");
    assert_eq!(send(&conn, &read), libc::EBADF, "read without an open");
    let mut combined = msg::Close.encode();
    combined[3] |= 0x80;
    assert_eq!(send(&conn, &combined), libc::ENOSYS, "combined");
    let mut w = msg::Write::new(100, 0).encode().to_vec();
    w.extend_from_slice(&[0; 10]);
    assert_eq!(send(&conn, &w), libc::EBADMSG, "write shorter than its count");
    let mut d = msg::Devctl { dcmd: msg::dcmd::diot(1, 1, 64), nbytes: 64 }.encode().to_vec();
    d.extend_from_slice(&[0; 8]);
    assert_eq!(send(&conn, &d), libc::EBADMSG, "devctl shorter than its count");
    let open_msg = Connect {
        subtype: msg::subtype::OPEN,
        handle: m.id,
        ioflag: msg::IO_FLAG_RD,
        path: String::new(),
        ..Default::default()
    }
    .encode()
    .unwrap();
    let mut bad_len = open_msg.clone();
    bad_len[34] = 200;
    assert_eq!(send(&conn, &bad_len), libc::EBADMSG, "path_len past the end");
    let mut no_nul = open_msg.clone();
    *no_nul.last_mut().unwrap() = b'x';
    assert_eq!(send(&conn, &no_nul), libc::EBADMSG, "path without its NUL");
    assert_eq!(send(&conn, &open_msg[..20]), libc::EBADMSG, "short connect");
    let mut other_handle = open_msg.clone();
    other_handle[16] = 99;
    assert_eq!(send(&conn, &other_handle), libc::ENOENT, "no such attachment");
    // A well-formed open over the same connection works, and so does the
    // read that follows it.
    assert_eq!(send(&conn, &open_msg), 0);
    assert_eq!(send(&conn, &msg::Read::new(64, 0).encode()), 0);
    // The messages of chmod, chown, pread and pwrite, cut short.
    let pread = msg::Read::at(4, 0, 0).encode();
    assert_eq!(send(&conn, &pread[..msg::READ_LEN]), libc::EBADMSG, "pread without its offset");
    assert_eq!(send(&conn, &pread[..20]), libc::EBADMSG, "pread with half an offset");
    let mut pw = msg::Write::at(4, 0, 0).encode().to_vec();
    pw.extend_from_slice(&[0; 3]);
    assert_eq!(send(&conn, &pw), libc::EBADMSG, "pwrite whose data is counted after the offset");
    assert_eq!(send(&conn, &msg::Chmod { mode: 0o600 }.encode()[..6]), libc::EBADMSG, "short chmod");
    assert_eq!(send(&conn, &msg::Chown::new(Some(1), Some(1)).encode()[..8]), libc::EBADMSG, "short chown");
    assert_eq!(send(&conn, &msg::Read::at(4, 0, -1).encode()), libc::EINVAL, "pread at a negative offset");
    assert_eq!(send(&conn, &pread), 0, "a whole pread");
    // The server still serves everyone.
    let mut f = open("/r/mem/after", OpenOptions::new().read(true).write(true).create(true)).unwrap();
    f.write_all(b"still here").unwrap();
}
