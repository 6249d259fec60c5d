//! First checks: a two-process round trip (also a check of the test
//! harness itself), a same-process one, the thread-death pulse, and a
//! forked child that must neither use nor harm its parent's baton.
#![allow(unsafe_code)] // fork, waitpid and _exit in the fork test
mod common;

use baton::{Channel, Connection, Received};

#[test]
fn child() {
    common::child_main(&[("upper-server", upper_server)]);
}

fn upper_server() {
    let ch = Channel::builder().name(&common::args()[0]).create().unwrap();
    common::say("ready");
    let mut buf = [0u8; 64];
    loop {
        match ch.receive(&mut buf).unwrap() {
            Received::Message(req) => {
                let up = buf[..req.len()].to_ascii_uppercase();
                req.reply(up.len() as i64, &up).unwrap();
            }
            Received::Pulse(_) => {}
        }
    }
}

#[test]
fn two_process_round_trip() {
    common::setup();
    let _dog = common::watchdog(30);
    let server = common::spawn("upper-server", &["smoke/upper"]);
    assert_eq!(server.line(10), "ready");
    let c = Connection::open("smoke/upper").unwrap();
    assert_eq!(c.server_pid(), server.pid());
    let mut r = [0u8; 16];
    let rep = c.send(b"ping", &mut r).unwrap();
    assert_eq!((rep.status, &r[..rep.len]), (4, &b"PING"[..]));
}

#[test]
fn same_process_round_trip() {
    common::setup();
    let _dog = common::watchdog(30);
    let ch = Channel::create().unwrap();
    let chid = ch.id();
    let t = std::thread::spawn(move || {
        let c = Connection::attach(0, chid).unwrap();
        let mut r = [0u8; 16];
        let rep = c.send(b"ping", &mut r).unwrap();
        assert_eq!(&r[..rep.len], b"PING");
        assert_eq!(rep.status, 7);
    });
    let mut buf = [0u8; 16];
    match ch.receive(&mut buf).unwrap() {
        Received::Message(req) => {
            assert_eq!(req.len(), 4);
            let up = buf[..4].to_ascii_uppercase();
            req.reply(7, &up).unwrap();
        }
        Received::Pulse(p) => panic!("pulse {p:?}"),
    }
    t.join().unwrap();
}

#[test]
fn thread_death_pulse() {
    common::setup();
    let _dog = common::watchdog(60);
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        tid_tx.send(rustix::thread::gettid().as_raw_nonzero().get()).unwrap();
        rx.recv().unwrap();
    });
    let tid = tid_rx.recv().unwrap();
    // The worker exists before the channel: it is watched from creation on.
    let ch = Channel::builder().thread_death(true).create().unwrap();
    tx.send(()).unwrap();
    worker.join().unwrap();
    // Other tests' threads die too; look for ours.
    let deadline = baton::Deadline::after(std::time::Duration::from_secs(30));
    loop {
        let p = ch.receive_pulse(deadline).unwrap();
        assert_eq!(p.code, baton::pulse_code::THREADDEATH);
        if p.value == i64::from(tid) {
            break;
        }
    }
}

#[test]
fn a_forked_child_cannot_use_or_harm_the_parents_baton() {
    common::setup();
    let _dog = common::watchdog(60);
    let ch = std::sync::Arc::new(Channel::create().unwrap());
    let conn = Connection::attach(0, ch.id()).unwrap();
    let server = {
        let ch = ch.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 16];
            for _ in 0..2 {
                if let Received::Message(r) = ch.receive(&mut buf).unwrap() {
                    r.reply(0, b"ok").unwrap();
                }
            }
        })
    };
    conn.send(b"before", &mut []).unwrap();
    // SAFETY: the child only calls baton (which refuses and does nothing
    // else) and `_exit`; it returns no memory to the parent.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let refused = conn.send(b"x", &mut []).is_err_and(|e| e.errno() == libc::ENOTSUP)
            && Channel::create().is_err_and(|e| e.errno() == libc::ENOTSUP);
        // Dropping what the child inherited must not touch the parent's
        // channel or connection.
        drop(conn);
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(if refused { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waits for the child we just forked.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "child status {status:#x}");
    let mut r = [0u8; 2];
    conn.send(b"after", &mut r).unwrap();
    assert_eq!(&r, b"ok");
    server.join().unwrap();
}

#[test]
fn segment_geometry_adds_up() {
    common::setup();
    let ch = Channel::builder().private(true).slots_per_connection(8).inline_size(1000).create().unwrap();
    let g = ch.segment_geometry();
    assert_eq!(g.len, ch.segment_size());
    assert_eq!((g.slots, g.inline_size), (8, 1000));
    assert!(g.slot_len >= g.inline_size && g.slot_len % 64 == 0, "{g:?}");
    assert!(g.len >= g.header_len + g.slots * g.slot_len && g.len % 4096 == 0, "{g:?}");
}

#[test]
fn a_given_connection_id_is_what_the_server_sees_and_credentials_by_scoid() {
    common::setup();
    let _dog = common::watchdog(30);
    let ch = Channel::create().unwrap();
    let chid = ch.id();
    let t = std::thread::spawn(move || {
        let c = Connection::builder().no_share(true).id(0x4001_0001).attach(0, chid).unwrap();
        assert_eq!(c.id(), 0x4001_0001);
        c.send(b"hi", &mut []).unwrap();
        c.scoid()
    });
    let mut buf = [0u8; 16];
    let scoid = match ch.receive(&mut buf).unwrap() {
        Received::Message(req) => {
            let info = req.info();
            assert_eq!(info.coid, 0x4001_0001);
            let who = baton::client_credentials(info.scoid).unwrap();
            assert_eq!((who.pid, who.uid, who.gid), (std::process::id() as i32, info.uid, info.gid));
            req.reply(0, &[]).unwrap();
            info.scoid
        }
        Received::Pulse(p) => panic!("pulse {p:?}"),
    };
    assert_eq!(t.join().unwrap(), scoid);
    // The connection closed with the thread's exit: no such client now.
    let deadline = baton::Deadline::after(std::time::Duration::from_secs(10));
    while baton::client_credentials(scoid).is_ok() && !deadline.expired() {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert_eq!(baton::client_credentials(scoid).unwrap_err().errno(), libc::ESRCH);
    assert_eq!(baton::client_credentials(0xfffe).unwrap_err().errno(), libc::ESRCH);
}
