//! First checks: a two-process round trip (also a check of the test
//! harness itself), a same-process one, and the thread-death pulse.
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
