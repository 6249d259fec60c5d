//! `_IO_NOTIFY` arming on the queue example: a client arms a pulse to its
//! own channel for input and receives it after another client writes; an
//! armed event is delivered once; a closed open's events are dropped; a
//! poll reports what holds.
mod common;

use baton::{Channel, Connection, Deadline, Event, Pulse};
use baton_resmgr::msg::notify;
use baton_resmgr::{open, File, OpenOptions};
use common::{errno, server, setup, watchdog};
use std::io::{Read, Write};
use std::time::Duration;

#[test]
fn child() {
    common::child_main(&[]);
}

/// The next pulse on `ch` (the watchdog covers a pulse that never comes;
/// the deadline only makes the failure readable).
fn next_pulse(ch: &Channel) -> Pulse {
    ch.receive_pulse(Deadline::after(Duration::from_secs(60))).expect("a pulse")
}

fn drain(f: &mut File) {
    let mut buf = [0u8; 64];
    while f.poll(notify::COND_INPUT).unwrap() != 0 {
        assert!(f.read(&mut buf).unwrap() > 0);
    }
}

#[test]
fn armed_pulse_arrives_after_a_write() {
    setup();
    let _w = watchdog(120);
    let _srv = server("resmgr-queue", &["/t/nqueue"]);
    let mine = Channel::create().unwrap();
    let me = Connection::attach(std::process::id() as i32, mine.id()).unwrap();
    let pulse = |code: i8, value: i64| Event::pulse(me.id(), -1, code, value);

    let mut reader = open("/t/nqueue", OpenOptions::new().read(true)).unwrap();
    let mut writer = open("/t/nqueue", OpenOptions::new().write(true)).unwrap();
    // Nothing to read: armed, and the reply says no input.
    assert_eq!(reader.poll(notify::COND_INPUT | notify::COND_OUTPUT).unwrap(), notify::COND_OUTPUT);
    assert_eq!(reader.notify_arm(notify::COND_INPUT, &pulse(5, 77)).unwrap(), 0);
    writer.write_all(b"data").unwrap();
    let p = next_pulse(&mine);
    assert_eq!((p.code, p.value), (5, 77));

    // Data there: POLLARM reports it and arms nothing.
    assert_eq!(reader.notify_arm(notify::COND_INPUT, &pulse(6, 0)).unwrap(), notify::COND_INPUT);
    drain(&mut reader);

    // Delivered once: the first arming is spent, so the next write brings
    // only the pulse armed after it (a stale one would come first).
    assert_eq!(reader.notify_arm(notify::COND_INPUT, &pulse(7, 1)).unwrap(), 0);
    writer.write_all(b"x").unwrap();
    assert_eq!(next_pulse(&mine).code, 7);
    drain(&mut reader);
    assert_eq!(reader.notify_arm(notify::COND_INPUT, &pulse(8, 2)).unwrap(), 0);
    writer.write_all(b"y").unwrap();
    assert_eq!(next_pulse(&mine).code, 8);
    drain(&mut reader);

    // A closed open's events are dropped: only the later open's arrives.
    let gone = open("/t/nqueue", OpenOptions::new().read(true)).unwrap();
    assert_eq!(gone.notify_arm(notify::COND_INPUT, &pulse(9, 0)).unwrap(), 0);
    gone.close().unwrap();
    assert_eq!(reader.notify_arm(notify::COND_INPUT, &pulse(10, 0)).unwrap(), 0);
    writer.write_all(b"z").unwrap();
    assert_eq!(next_pulse(&mine).code, 10);
    drain(&mut reader);

    // TRANARM arms whatever holds and reports nothing.
    writer.write_all(b"w").unwrap();
    assert_eq!(reader.notify(notify::ACTION_TRANARM, notify::COND_INPUT, &pulse(11, 0)).unwrap(), 0);
    writer.write_all(b"v").unwrap();
    assert_eq!(next_pulse(&mine).code, 11);

    // An event baton cannot deliver is refused when armed.
    drain(&mut reader);
    let bad = Event::pulse(me.id(), -1, -5, 0);
    assert_eq!(errno(&reader.notify_arm(notify::COND_INPUT, &bad).unwrap_err()), libc::EINVAL);
}
