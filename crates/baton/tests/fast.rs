//! The spin-mode fast path (`server/fast.rs`): a spinning receiver that
//! takes the message posted in the slot it watches without the channel
//! lock keeps every rule of the general path. Higher-priority work waiting
//! on another connection and a pulse sent before the call on the hot
//! connection still go first; reply timeouts (plain, and as unblock
//! requests), a client killed with SIGKILL while its fast-taken request is
//! held, and a server killed while its client spins all end as they do
//! elsewhere. Most calls of a back-to-back loop in spin mode go through the
//! fast path, so each test makes many.
//!
//! The two ordering tests also run with a blocking channel: its receiver
//! does not spin, and takes the hot slot's lone message without the queue
//! through the pick path (`drain::pick_hot`) instead, which must refuse in
//! the same cases (a pulse posted besides the message; doorbells read too
//! long ago for the other connection's call to be ruled out).
mod common;

use baton::{pulse_code, Channel, Connection, Deadline, Received, Request, Timeout, WaitMode};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

/// Seconds a line or exit may take before a test fails.
const WAIT: u64 = 120;
/// Seconds after which a test is presumed hung and the watchdog aborts.
const HANG: u64 = 300;
/// The pulse code the tests send.
const CODE: i8 = 9;

#[test]
fn child() {
    common::child_main(&[("caller", caller), ("server", server)]);
}

fn channel(name: &str, mode: WaitMode) -> baton::ChannelBuilder {
    Channel::builder().name(name).wait_mode(mode)
}

fn connect(name: &str, mode: WaitMode) -> Connection {
    Connection::builder().no_share(true).wait_mode(mode).open(name).unwrap()
}

/// Receives a message (panics on a pulse or an error); its bytes.
fn message(ch: &Channel) -> (Request, Vec<u8>) {
    let mut buf = [0u8; 64];
    match ch.receive(&mut buf).unwrap() {
        Received::Message(r) => {
            let n = r.len();
            (r, buf[..n].to_vec())
        }
        Received::Pulse(p) => panic!("a pulse ({p:?}) where a message was due"),
    }
}

/// Rounds of the ordering tests.
const ROUNDS: u32 = 20;

/// A client thread at nice `niceness` with a connection of its own to
/// `name`, waiting in `mode`: it calls once with each text it is handed,
/// until the sender is dropped.
fn calling_thread(name: &'static str, mode: WaitMode, niceness: i32) -> (mpsc::Sender<String>, JoinHandle<()>) {
    let (go, calls) = mpsc::channel::<String>();
    let t = std::thread::spawn(move || {
        nice(niceness);
        let conn = connect(name, mode);
        let mut reply = [0u8; 16];
        while let Ok(m) = calls.recv() {
            conn.send(m.as_bytes(), &mut reply).unwrap();
        }
    });
    (go, t)
}

/// Receives the next message, checks that it is `want` (`why` says what
/// went wrong if not) and answers it.
fn answer_next(ch: &Channel, want: &str, why: &str) {
    let (r, m) = message(ch);
    assert_eq!(String::from_utf8_lossy(&m), want, "{why}");
    r.reply(0, b"").unwrap();
}

/// Sets the calling thread's nice value (raising it needs no privilege).
fn nice(n: i32) {
    // On Linux a thread id names just that thread here.
    rustix::process::setpriority_process(Some(rustix::thread::gettid()), n).unwrap();
}

/// A connection the server has just answered is hot (its slot watched);
/// its next call waits in that slot while a higher-priority call from
/// another connection waits too: the higher one is received first, every
/// round.
#[test]
fn higher_priority_work_goes_ahead_of_the_hot_slot() {
    higher_priority_work_goes_first("fast/order", WaitMode::Spin);
}

/// [`higher_priority_work_goes_ahead_of_the_hot_slot`] through the pick
/// path: a blocking channel, a blocking hot client.
#[test]
fn higher_priority_work_goes_ahead_of_the_picked_slot() {
    higher_priority_work_goes_first("pick/order", WaitMode::Blocking);
}

fn higher_priority_work_goes_first(name: &'static str, mode: WaitMode) {
    let _dog = common::watchdog(HANG);
    common::setup();
    let ch = channel(name, mode).create().unwrap();
    let (hot, hot_thread) = calling_thread(name, mode, 10);
    let (high, high_thread) = calling_thread(name, WaitMode::Blocking, 0);
    hot.send("hot0".to_owned()).unwrap();
    answer_next(&ch, "hot0", "the first call");
    for i in 1..=ROUNDS {
        // The hot client posts its next call in the watched slot; the
        // other rings. Both wait before the receive begins.
        hot.send(format!("hot{i}")).unwrap();
        high.send("high".to_owned()).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        answer_next(&ch, "high", &format!("round {i}: the nice-10 hot slot went ahead of a nice-0 call"));
        answer_next(&ch, &format!("hot{i}"), &format!("round {i}"));
    }
    drop((hot, high));
    hot_thread.join().unwrap();
    high_thread.join().unwrap();
}

/// Two hot connections, both posting in their watched slots while the
/// server is away: the one answered first (so first in the spinner's watch
/// list) at nice 10, the other at nice 0. The spinner sees the first one's
/// message first, but the nice-0 call is received first, every round (a
/// spinner that took in only the connection it saw post served a flood of
/// calls from early hot connections ahead of a real-time one, for as long
/// as they kept posting: `baton bench --section load`).
#[test]
fn higher_priority_work_on_a_later_hot_connection_goes_first() {
    higher_priority_hot_work_goes_first("fast/hot-order", WaitMode::Spin);
}

/// [`higher_priority_work_on_a_later_hot_connection_goes_first`] with a
/// blocking channel (no spin: the hot connections are taken back and
/// queued together).
#[test]
fn higher_priority_work_on_a_later_hot_connection_goes_first_blocking() {
    higher_priority_hot_work_goes_first("pick/hot-order", WaitMode::Blocking);
}

fn higher_priority_hot_work_goes_first(name: &'static str, mode: WaitMode) {
    let _dog = common::watchdog(HANG);
    common::setup();
    let ch = channel(name, mode).create().unwrap();
    let (low, low_thread) = calling_thread(name, mode, 10);
    let (high, high_thread) = calling_thread(name, mode, 0);
    // Answered in this order, both connections turn hot, the low one first.
    for (who, m) in [(&low, "low0"), (&high, "high0")] {
        who.send(m.to_owned()).unwrap();
        answer_next(&ch, m, "the first calls");
    }
    for i in 1..=ROUNDS {
        low.send(format!("low{i}")).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        high.send(format!("high{i}")).unwrap();
        std::thread::sleep(Duration::from_millis(30));
        answer_next(&ch, &format!("high{i}"), &format!("round {i}: a nice-10 hot call went ahead of a nice-0 one"));
        answer_next(&ch, &format!("low{i}"), &format!("round {i}"));
    }
    drop((low, high));
    low_thread.join().unwrap();
    high_thread.join().unwrap();
}

/// A client that sends a pulse and then calls, on the connection the
/// spinning server watches: the pulse is received first (same connection,
/// same priority: the client's order), every time, also when the server
/// already spins on the watched slot as the call comes.
#[test]
fn a_pulse_before_the_hot_call_is_received_first() {
    a_pulse_goes_first("fast/pulse", WaitMode::Spin);
}

/// [`a_pulse_before_the_hot_call_is_received_first`] through the pick
/// path: a blocking channel, a blocking client (one connection, so the
/// pick is tried on every call).
#[test]
fn a_pulse_before_the_picked_call_is_received_first() {
    a_pulse_goes_first("pick/pulse", WaitMode::Blocking);
}

fn a_pulse_goes_first(name: &'static str, mode: WaitMode) {
    let _dog = common::watchdog(HANG);
    common::setup();
    let ch = channel(name, mode).create().unwrap();
    const CALLS: i64 = 2000;
    let client = std::thread::spawn(move || {
        let conn = connect(name, mode);
        let mut reply = [0u8; 16];
        for i in 0..CALLS {
            conn.send_pulse(CODE, i).unwrap();
            conn.send(&i.to_le_bytes(), &mut reply).unwrap();
        }
    });
    let mut buf = [0u8; 64];
    for i in 0..CALLS {
        match ch.receive(&mut buf).unwrap() {
            Received::Pulse(p) => assert_eq!((p.code, p.value), (CODE, i), "the pulse of call {i}"),
            Received::Message(_) => panic!("call {i} was received before the pulse sent ahead of it"),
        }
        let (r, m) = message(&ch);
        assert_eq!(m, i.to_le_bytes());
        r.reply(0, b"").unwrap();
    }
    client.join().unwrap();
}

/// Reply timeouts on requests taken in a hot loop: on a plain channel the
/// client leaves with `ETIMEDOUT` and the late answer fails with `ESRCH`;
/// on an `UNBLOCK` channel the server gets the unblock pulse naming the
/// request, answers, and the client gets that answer.
#[test]
fn reply_timeouts_on_the_fast_path() {
    let _dog = common::watchdog(HANG);
    common::setup();
    for unblock in [false, true] {
        let name = if unblock { "fast/unblock" } else { "fast/timeout" };
        let ch = channel(name, WaitMode::Spin).unblock(unblock).create().unwrap();
        const CALLS: u32 = 1000;
        const EVERY: u32 = 50;
        let (timed_out, saw_timeout) = mpsc::channel::<u32>();
        let client = std::thread::spawn(move || {
            let conn = connect(name, WaitMode::Spin);
            let mut reply = [0u8; 16];
            for i in 0..CALLS {
                let t = if i % EVERY == EVERY - 1 {
                    Timeout::reply_only(Deadline::after(Duration::from_millis(2)))
                } else {
                    Timeout::NONE
                };
                let r = conn.send_timeout(&i.to_le_bytes(), &mut reply, t);
                match r {
                    Ok(r) => assert_eq!(&reply[..r.len], &i.to_le_bytes()[..], "call {i}"),
                    Err(e) => {
                        assert!(!unblock, "call {i} failed on an UNBLOCK channel: {e}");
                        assert_eq!(e.errno(), libc::ETIMEDOUT, "call {i}");
                        timed_out.send(i).unwrap();
                    }
                }
            }
        });
        let mut buf = [0u8; 64];
        for i in 0..CALLS {
            let (r, m) = message(&ch);
            assert_eq!(m, i.to_le_bytes());
            if i % EVERY != EVERY - 1 {
                r.reply(0, &m).unwrap();
                continue;
            }
            if unblock {
                // Held until the client asks to be unblocked.
                match ch.receive(&mut buf).unwrap() {
                    Received::Pulse(p) => {
                        assert_eq!(p.code, pulse_code::UNBLOCK);
                        assert_eq!(p.value, i64::from(r.id().as_raw()), "the pulse names the held request");
                    }
                    Received::Message(_) => panic!("a message while the only client is REPLY-blocked"),
                }
                r.reply(0, &m).unwrap();
            } else {
                assert_eq!(saw_timeout.recv().unwrap(), i);
                assert_eq!(r.reply(0, &m).unwrap_err().errno(), libc::ESRCH, "call {i}: answered a caller that left");
            }
        }
        client.join().unwrap();
    }
}

/// A caller process: calls channel `args[0]` in spin mode until it fails,
/// answering the count of calls made.
fn caller() {
    let args = common::args();
    let conn = connect(&args[0], WaitMode::Spin);
    let mut reply = [0u8; 16];
    let mut i = 0u64;
    while conn.send(&i.to_le_bytes(), &mut reply).is_ok() {
        i += 1;
    }
}

/// A client killed with SIGKILL in a hot loop, while the server holds its
/// fast-taken request: the disconnect pulse comes, the answer fails with
/// `ESRCH`, and the channel serves the next client.
#[test]
fn a_client_killed_while_its_fast_request_is_held() {
    let _dog = common::watchdog(HANG);
    common::setup();
    let name = "fast/killed";
    let ch = channel(name, WaitMode::Spin).disconnect(true).create().unwrap();
    for round in 0..3 {
        let mut child = common::spawn("caller", &[name]);
        let mut held = None;
        for i in 0..2000u64 {
            let (r, m) = message(&ch);
            assert_eq!(m, i.to_le_bytes(), "round {round}");
            if i == 1999 {
                held = Some(r);
            } else {
                r.reply(0, &m).unwrap();
            }
        }
        child.kill9();
        let mut buf = [0u8; 64];
        match ch.receive(&mut buf).unwrap() {
            Received::Pulse(p) => assert_eq!(p.code, pulse_code::DISCONNECT, "round {round}"),
            Received::Message(_) => panic!("a message from a killed client"),
        }
        let r = held.take().unwrap();
        assert_eq!(r.reply(0, b"late").unwrap_err().errno(), libc::ESRCH, "round {round}");
    }
    assert_eq!(ch.connection_count(), 0);
}

/// A server process for `args[0]` in spin mode, answering every call.
fn server() {
    let args = common::args();
    let ch = channel(&args[0], WaitMode::Spin).create().unwrap();
    common::say("ready");
    let mut buf = [0u8; 64];
    loop {
        if let Received::Message(r) = ch.receive(&mut buf).unwrap() {
            let n = r.len();
            r.reply(0, &buf[..n]).unwrap();
        }
    }
}

/// A server killed with SIGKILL while its client spins in a hot loop: the
/// client's call fails instead of spinning (or sleeping) on.
#[test]
fn a_server_killed_under_a_hot_loop() {
    let _dog = common::watchdog(HANG);
    common::setup();
    let name = "fast/server-killed";
    let mut server = common::spawn("server", &[name]);
    assert_eq!(server.line(WAIT), "ready");
    let calls = Arc::new(AtomicU32::new(0));
    let counted = calls.clone();
    let client = std::thread::spawn(move || {
        let conn = connect(name, WaitMode::Spin);
        let mut reply = [0u8; 16];
        loop {
            let i = counted.load(Ordering::Relaxed);
            match conn.send(&i.to_le_bytes(), &mut reply) {
                Ok(r) => assert_eq!(&reply[..r.len], &i.to_le_bytes()[..]),
                Err(e) => return e.errno(),
            }
            counted.fetch_add(1, Ordering::Relaxed);
        }
    });
    assert!(common::wait_for(WAIT, || calls.load(Ordering::Relaxed) >= 5000), "the hot loop did not get going");
    server.kill9();
    let errno = client.join().unwrap();
    assert!([libc::ESRCH, libc::EBADF].contains(&errno), "the call failed with errno {errno}");
}
