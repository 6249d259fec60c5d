//! Limits, each tested at its edge: exactly N works, N+1 fails with a clear
//! error, and once one goes away the next works again. Connections per
//! channel (`EAGAIN`), slots per connection (`EAGAIN`), message size
//! (`EMSGSIZE`, refused before the server sees it). Pending pulses are
//! tested the same way in `messaging.rs`
//! (`full_pulse_storage_refuses_with_eagain_and_loses_nothing`).
mod common;

use baton::{Channel, Connection, Deadline, Received, Request};
use std::io::IoSlice;
use std::time::Duration;

#[test]
fn child() {
    common::child_main(&[("call", call)]);
}

/// Calls `args[0]` once: `ok <status>` or `err <errno>`.
fn call() {
    let r = Connection::open(&common::args()[0]).and_then(|c| c.send(b"ping", &mut []));
    common::say(match r {
        Ok(r) => format!("ok {}", r.status),
        Err(e) => format!("err {}", e.errno()),
    });
}

/// The next message on `ch` (pulses are skipped), within 60 s.
fn next_message(ch: &Channel, buf: &mut [u8]) -> Request {
    let deadline = Deadline::after(Duration::from_secs(60));
    loop {
        match ch.receive_deadline(buf, deadline).expect("a message within 60 s") {
            Received::Message(req) => return req,
            Received::Pulse(_) => {}
        }
    }
}

#[test]
fn connections_per_channel() {
    common::setup();
    let _dog = common::watchdog(120);
    const N: u32 = 3;
    let ch = std::sync::Arc::new(Channel::builder().name("limits/conns").max_connections(N).create().unwrap());
    let connect = || Connection::builder().no_share(true).attach(0, ch.id());
    let mut conns: Vec<Connection> = (0..N).map(|_| connect().unwrap()).collect();
    assert_eq!(ch.connection_count(), N as usize);
    let e = connect().expect_err("connection N+1");
    assert_eq!(e.errno(), libc::EAGAIN, "{e}");
    // Another process is refused the same way.
    let outsider = common::spawn("call", &["limits/conns"]);
    assert_eq!(outsider.line(60), format!("err {}", libc::EAGAIN));
    outsider.wait_ok(60);

    // One goes away: the next one is let in, and works.
    drop(conns.pop());
    assert!(common::wait_for(60, || ch.connection_count() == N as usize - 1), "{}", ch.connection_count());
    let server = {
        let ch = ch.clone();
        std::thread::spawn(move || common::serve(&ch, |req, _| req.reply(5, b"").unwrap()))
    };
    let client = common::spawn("call", &["limits/conns"]);
    assert_eq!(client.line(60), "ok 5");
    client.wait_ok(60);
    assert!(common::wait_for(60, || ch.connection_count() == N as usize - 1), "{}", ch.connection_count());
    conns.push(connect().unwrap());
    assert_eq!(connect().expect_err("connection N+1 again").errno(), libc::EAGAIN);
    for c in &conns {
        assert_eq!(c.send(b"x", &mut []).unwrap().status, 5);
    }
    ch.destroy();
    server.join().unwrap();
}

#[test]
fn slots_per_connection() {
    common::setup();
    let _dog = common::watchdog(120);
    const N: usize = 4;
    let ch = Channel::builder().private(true).slots_per_connection(N as u32).create().unwrap();
    let conn = Connection::attach(0, ch.id()).unwrap();
    let call = |tag: u8| conn.send(&[tag], &mut []).map(|r| r.status).map_err(|e| e.errno());
    std::thread::scope(|s| {
        // N threads in a call at once: each holds one slot.
        let callers: Vec<_> = (0..N as u8).map(|i| s.spawn(move || call(i))).collect();
        let mut held: Vec<Request> = Vec::new();
        let mut buf = [0u8; 1];
        while held.len() < N {
            held.push(next_message(&ch, &mut buf));
        }
        // Thread N+1 finds no slot.
        assert_eq!(s.spawn(|| call(100)).join().unwrap(), Err(libc::EAGAIN));
        // One call ends and its thread exits: its slot is free again.
        let first = held.remove(0);
        first.reply(1, b"").unwrap();
        let done = callers.iter().position(|c| c.is_finished());
        let done = done.or_else(|| {
            common::wait_for(60, || callers.iter().any(|c| c.is_finished()));
            callers.iter().position(|c| c.is_finished())
        });
        let mut callers = callers;
        assert_eq!(callers.remove(done.expect("a caller returned")).join().unwrap(), Ok(1));
        let next = s.spawn(|| call(101));
        let req = next_message(&ch, &mut buf);
        assert_eq!(buf, [101]);
        req.reply(2, b"").unwrap();
        assert_eq!(next.join().unwrap(), Ok(2));
        for req in held {
            req.reply(3, b"").unwrap();
        }
        for c in callers {
            assert_eq!(c.join().unwrap(), Ok(3));
        }
    });
}

#[test]
fn message_size() {
    common::setup();
    let _dog = common::watchdog(120);
    // Past the inline area, so the limit is not the slot's geometry.
    const MAX: usize = 10_000;
    let ch = Channel::builder().private(true).max_message_size(MAX as u64).create().unwrap();
    let conn = Connection::attach(0, ch.id()).unwrap();
    let big = vec![7u8; MAX + 1];
    let (conn, big) = (&conn, &big);
    std::thread::scope(|s| {
        for len in [MAX, MAX + 1, MAX] {
            let caller = s.spawn(move || conn.send(&big[..len], &mut []).map(|r| r.status).map_err(|e| e.errno()));
            if len > MAX {
                assert_eq!(caller.join().unwrap(), Err(libc::EMSGSIZE));
                assert!(ch.try_receive(&mut []).unwrap().is_none(), "the server saw a message over the limit");
                continue;
            }
            let mut buf = vec![0u8; MAX + 1];
            let req = next_message(&ch, &mut buf);
            assert_eq!(req.info().srcmsglen, len);
            req.reply(len as i64, b"").unwrap();
            assert_eq!(caller.join().unwrap(), Ok(len as i64));
        }
        // The limit counts every part of a vectored message.
        let parts = [IoSlice::new(&big[..MAX / 2]), IoSlice::new(&big[..MAX / 2 + 1])];
        let e = conn.send_vectored(&parts, &mut []).expect_err("a vectored message over the limit");
        assert_eq!(e.errno(), libc::EMSGSIZE, "{e}");
    });
    // Pulses are not messages: they still go.
    conn.send_pulse(1, 2).unwrap();
    let Some(Received::Pulse(p)) = ch.try_receive(&mut []).unwrap() else { panic!("no pulse") };
    assert_eq!((p.code, p.value), (1, 2));
}
