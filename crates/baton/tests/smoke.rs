//! First checks: a two-process round trip (also a check of the test
//! harness itself), a same-process one, the thread-death pulse, a forked
//! child that must neither use nor harm its parent's baton, and a new
//! connection's first call taking no page fault on either side.
#![allow(unsafe_code)] // fork, waitpid and _exit in the fork test; getrusage
mod common;

use baton::{Channel, Connection, Received};

#[test]
fn child() {
    common::child_main(&[("upper-server", upper_server), ("fresh-connections", fresh_connections)]);
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

/// The calling thread's minor page faults so far.
fn thread_faults() -> i64 {
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `getrusage` fills the `rusage` it is given, which lives
    // until the call returns.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_THREAD, ru.as_mut_ptr()) }, 0);
    // SAFETY: filled by the successful call above (and zeroed before).
    unsafe { ru.assume_init() }.ru_minflt
}

/// How many fresh connections [`fresh_connections`] makes.
const FRESH: u8 = 3;

/// Calls `args[0]` once on a first connection (the thread's own first
/// call), then opens [`FRESH`] more of its own (not shared), one at a
/// time, and calls twice on each: `faults <n>` for the page faults of each one's first call. Each
/// message is `[connection, call]`.
fn fresh_connections() {
    let name = &common::args()[0];
    let mut r = [0u8; 8];
    Connection::open(name).unwrap().send(&[0, 0], &mut r).unwrap();
    for n in 1..=FRESH {
        let c = Connection::builder().no_share(true).open(name).unwrap();
        let before = thread_faults();
        c.send(&[n, 0], &mut r).unwrap();
        let faults = thread_faults() - before;
        c.send(&[n, 1], &mut r).unwrap();
        common::say(format!("faults {faults}"));
    }
}

/// The first page of the slot the first call takes is backed and mapped
/// on both sides when the connection is made (`Segment::prefault_first_slot`),
/// so a fresh connection's first call takes no page fault in the client's
/// calling thread nor in the server's receiving thread. A fault that
/// something else causes now and then (the heap growing) may spoil one
/// connection, so each side must be clean on at least one of three; without
/// the prefault, each side faults on every one. The largest pulse ring puts
/// the slots 132 KiB past the header: with the default ring, the kernel's
/// fault-around, mapping the pages near the header as the client first
/// reads it, would map the first slot's page in the client anyway.
#[test]
fn first_call_on_a_new_connection_takes_no_page_fault() {
    common::setup();
    let _dog = common::watchdog(60);
    let ch = Channel::builder().name("smoke/fresh").pulse_capacity(4096).create().unwrap();
    let client = common::spawn("fresh-connections", &["smoke/fresh"]);
    let mut server = Vec::new();
    let mut buf = [0u8; 8];
    for _ in 0..=FRESH * 2 {
        let before = thread_faults();
        let Received::Message(req) = ch.receive(&mut buf).unwrap() else { panic!("a pulse") };
        let tag = [buf[0], buf[1]];
        req.reply(0, b"ok").unwrap();
        if tag[0] > 0 && tag[1] == 0 {
            server.push(thread_faults() - before);
        }
    }
    let client: Vec<i64> =
        (0..FRESH).map(|_| client.line(30).strip_prefix("faults ").unwrap().parse().unwrap()).collect();
    assert_eq!(server.len(), usize::from(FRESH), "first messages seen: {server:?}");
    assert!(client.contains(&0), "the client's first call faulted on every fresh connection: {client:?}");
    assert!(server.contains(&0), "the server faulted on every fresh connection's first message: {server:?}");
}
