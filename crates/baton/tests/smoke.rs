//! A first two-process round trip, as a check of the test harness itself.
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
