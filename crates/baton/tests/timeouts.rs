//! Timeouts between real processes (SEMANTICS.md, "Timeouts"): a call that
//! times out while SEND-blocked is withdrawn; one that times out while
//! REPLY-blocked is abandoned or, on an `UNBLOCK` channel, stays blocked
//! while the server is asked; the immediate forms never block.
//!
//! The test process is the server, so it decides when it receives; the
//! client is a child running `client` with a list of steps, each reported
//! in a line ([`common::Ended`]). Durations are checked as lower bounds only.
//!
//! A connection handle detached by another thread ends the calls blocked
//! on it as a deadline would, with `EBADF` (SEMANTICS.md, "ConnectDetach").
mod common;

use baton::{pulse_code, Channel, ChannelBuilder, Connection, Deadline, Received, Request, Timeout, MI_UNBLOCK_REQ};
use common::{Child, Ended};
use std::fmt::Debug;
use std::time::{Duration, Instant};

/// The timeout of the client's timed calls, and of the test's own
/// "nothing arrives" checks.
const WAIT: Duration = Duration::from_millis(300);
/// How long the test waits for what must happen (a line, a message).
const SECS: u64 = 20;
/// The watchdog of each test.
const DOG: u64 = 120;
/// Time for the client to go to sleep in its next call.
const SETTLE: Duration = Duration::from_millis(100);
/// Code and value of the pulse the client's `pulse` step sends.
const PULSE: (i8, i64) = (5, 42);

#[test]
fn child() {
    common::child_main(&[("client", client), ("detacher", detacher)]);
}

/// Connects to the channel named by the first argument, then runs each
/// further argument as a step and prints how it ended. `pulse` sends
/// [`PULSE`]; any other step is a call whose message is the step's name and
/// whose timeout it names (see [`timeout`]).
fn client() {
    let args = common::args();
    let conn = Connection::open(&args[0]).unwrap();
    for step in &args[1..] {
        if step == "pulse" {
            conn.send_pulse(PULSE.0, PULSE.1).unwrap();
            common::say("pulsed");
            continue;
        }
        let mut reply = [0u8; 64];
        let t0 = Instant::now();
        let r = conn.send_timeout(step.as_bytes(), &mut reply, timeout(step, t0));
        common::say(Ended::new(r, &reply, t0));
    }
}

/// The timeout a call step names: [`WAIT`] after `t0` in the states it
/// names, or immediate, or none.
fn timeout(step: &str, t0: Instant) -> Timeout {
    let at = Deadline::at(t0 + WAIT);
    match step {
        "send-only" => Timeout::send_only(at),
        "reply-only" => Timeout::reply_only(at),
        "both" => Timeout::new(at),
        "immediate" => Timeout::new(Deadline::IMMEDIATE),
        "plain" => Timeout::NONE,
        _ => panic!("unknown step {step:?}"),
    }
}

fn secs() -> Deadline {
    Deadline::after(Duration::from_secs(SECS))
}

/// Receives the next message, which must read `want`.
fn expect_message(ch: &Channel, want: &str) -> Request {
    let mut buf = [0u8; 64];
    match ch.receive_deadline(&mut buf, secs()).unwrap() {
        Received::Message(req) => {
            assert_eq!(String::from_utf8_lossy(&buf[..req.len()]), want, "not the message expected next");
            req
        }
        Received::Pulse(p) => panic!("expected message {want:?}, got pulse {p:?}"),
    }
}

/// How the child's next step ended.
fn ended(c: &Child) -> Ended {
    Ended::parse(&c.line(SECS))
}

fn assert_replied(e: &Ended, status: i64, text: &str) {
    assert_eq!((e.errno, e.status, e.text.as_str()), (0, status, text), "{e:?}");
}

/// Asserts that something failed with `ETIMEDOUT`, and not before [`WAIT`].
fn assert_timed_out(errno: i32, ms: u64, what: impl Debug) {
    assert_eq!(errno, libc::ETIMEDOUT, "{what:?}");
    assert!(ms >= WAIT.as_millis() as u64, "timed out after {ms} ms, before its deadline: {what:?}");
}

/// Runs `op` with a deadline [`WAIT`] from now; it must time out.
fn assert_times_out<T: Debug>(op: impl FnOnce(Deadline) -> baton::Result<T>) {
    let t0 = Instant::now();
    let r = op(Deadline::at(t0 + WAIT));
    let ms = t0.elapsed().as_millis() as u64;
    assert_timed_out(r.as_ref().err().map_or(0, |e| e.errno()), ms, r);
}

/// Answers the child's `plain` call, which must be the next message.
fn answer_plain(ch: &Channel, child: &Child) {
    reply_done(expect_message(ch, "plain"), child);
}

/// Answers a `plain` call and checks that the child got the answer.
fn reply_done(req: Request, child: &Child) {
    req.reply(1, b"done").unwrap();
    assert_replied(&ended(child), 1, "done");
}

/// Starts a client on channel `name` whose `reply-only` call is taken only
/// after it has gone to sleep SEND-blocked (a `plain` call first is the
/// point to count from), and takes it.
fn hold_reply_only_call(ch: &Channel, name: &str) -> (Child, Request) {
    let client = common::spawn("client", &[name, "plain", "reply-only", "plain"]);
    answer_plain(ch, &client);
    std::thread::sleep(SETTLE);
    let req = expect_message(ch, "reply-only");
    (client, req)
}

/// Answers the child's final `plain` call and lets the child exit; nothing
/// is left queued.
fn finish(ch: &Channel, child: Child) {
    answer_plain(ch, &child);
    child.wait_ok(SECS);
    assert!(ch.try_receive(&mut [0u8; 64]).unwrap().is_none(), "something left queued");
}

/// A call that times out while SEND-blocked leaves the queue: the server,
/// which did not receive until then, next sees the call made after it.
fn check_send_blocked_timeout(name: &str, b: ChannelBuilder, step: &str) {
    common::setup();
    let _dog = common::watchdog(DOG);
    let ch = b.name(name).create().unwrap();
    let client = common::spawn("client", &[name, step, "plain"]);
    let timed = ended(&client);
    if step == "immediate" {
        assert_eq!(timed.errno, libc::ETIMEDOUT, "{timed:?}");
    } else {
        assert_timed_out(timed.errno, timed.ms, &timed);
    }
    finish(&ch, client);
}

#[test]
fn send_only_timeout_withdraws_the_message() {
    check_send_blocked_timeout("timeouts/send-only", Channel::builder(), "send-only");
}

#[test]
fn timeout_in_both_states_withdraws_a_send_blocked_message() {
    check_send_blocked_timeout("timeouts/both", Channel::builder(), "both");
}

#[test]
fn immediate_send_without_a_receiver_times_out() {
    check_send_blocked_timeout("timeouts/immediate", Channel::builder(), "immediate");
}

/// `UNBLOCK` concerns REPLY-blocked calls only: a SEND-blocked one leaves
/// at its deadline without asking the server.
#[test]
fn send_timeout_on_an_unblock_channel_leaves_at_once() {
    check_send_blocked_timeout("timeouts/unblock-send", Channel::builder().unblock(true), "both");
}

#[test]
fn try_receive_takes_only_what_waits() {
    common::setup();
    let _dog = common::watchdog(DOG);
    let name = "timeouts/try-receive";
    let ch = Channel::builder().name(name).create().unwrap();
    let mut buf = [0u8; 64];
    assert!(ch.try_receive(&mut buf).unwrap().is_none(), "nothing was sent yet");
    let client = common::spawn("client", &[name, "plain", "plain"]);
    let mut got = None;
    let arrived = common::wait_for(SECS, || {
        got = ch.try_receive(&mut buf).unwrap();
        got.is_some()
    });
    assert!(arrived, "the client's call never arrived");
    let Some(Received::Message(first)) = got else { panic!("expected a message, got {got:?}") };
    assert_eq!(&buf[..first.len()], b"plain");
    reply_done(first, &client);
    finish(&ch, client);
}

#[test]
fn receive_deadline_times_out() {
    common::setup();
    let _dog = common::watchdog(DOG);
    let ch = Channel::create().unwrap();
    assert_times_out(|d| ch.receive_deadline(&mut [0u8; 64], d));
    assert_times_out(|d| ch.receive_pulse(d));
}

/// A pulse-only receive times out while a message waits, and leaves it
/// queued; it takes a pulse ahead of a message that may wait before it.
#[test]
fn receive_pulse_waits_for_pulses_only() {
    common::setup();
    let _dog = common::watchdog(DOG);
    let name = "timeouts/receive-pulse";
    let ch = Channel::builder().name(name).create().unwrap();
    let client = common::spawn("client", &[name, "plain", "pulse", "plain"]);
    // No pulse comes before the first call is answered.
    assert_times_out(|d| ch.receive_pulse(d));
    answer_plain(&ch, &client);
    assert_eq!(client.line(SECS), "pulsed");
    let p = ch.receive_pulse(secs()).unwrap();
    assert_eq!((p.code, p.value), PULSE, "{p:?}");
    finish(&ch, client);
}

/// On a channel without `UNBLOCK` a REPLY-blocked call times out and is
/// abandoned: the server's late reply fails with `ESRCH`, and the client's
/// next call works at once.
#[test]
fn reply_timeout_abandons_the_call() {
    common::setup();
    let _dog = common::watchdog(DOG);
    let name = "timeouts/reply-only";
    let ch = Channel::builder().name(name).create().unwrap();
    let (client, held) = hold_reply_only_call(&ch, name);
    // Its reply deadline counts although it went to sleep SEND-blocked.
    let timed = ended(&client);
    assert_timed_out(timed.errno, timed.ms, &timed);
    let late = held.reply(0, b"too late").unwrap_err();
    assert_eq!(late.errno(), libc::ESRCH, "{late}");
    finish(&ch, client);
}

/// On an `UNBLOCK` channel a REPLY-blocked call whose deadline passes stays
/// blocked: the server gets one unblock pulse naming the request, sees the
/// request flagged, and releases the client with `answer`, whose outcome
/// `check` verifies.
fn check_unblock(name: &str, answer: impl FnOnce(Request), check: impl FnOnce(&Ended)) {
    common::setup();
    let _dog = common::watchdog(DOG);
    let ch = Channel::builder().name(name).unblock(true).create().unwrap();
    let (client, req) = hold_reply_only_call(&ch, name);
    let p = ch.receive_pulse(secs()).expect("no unblock pulse: the client's reply deadline went unnoticed");
    assert_eq!((p.code, p.value, p.scoid), (pulse_code::UNBLOCK, i64::from(req.id().as_raw()), req.info().scoid));
    assert!(req.unblock_requested());
    assert_ne!(req.info().flags & MI_UNBLOCK_REQ, 0, "{:?}", req.info());
    // No second unblock pulse, and no next call: the client still waits.
    assert_times_out(|d| ch.receive_deadline(&mut [0u8; 64], d));
    answer(req);
    let released = ended(&client);
    check(&released);
    assert!(released.ms >= WAIT.as_millis() as u64, "{released:?}");
    finish(&ch, client);
}

#[test]
fn unblock_pulse_then_error_eintr() {
    check_unblock(
        "timeouts/unblock-eintr",
        |req| req.error(libc::EINTR).unwrap(),
        |e| assert_eq!(e.errno, libc::EINTR),
    );
}

#[test]
fn unblock_pulse_then_a_normal_reply() {
    check_unblock(
        "timeouts/unblock-reply",
        |req| req.reply(7, b"late but whole").unwrap(),
        |e| assert_replied(e, 7, "late but whole"),
    );
}

/// A request answered before its unblock pulse was received takes the
/// pulse with it. To have the pulse queued (not just requested) when the
/// request is answered, a receive drains the channel while a pulse of
/// higher priority is there to be taken instead.
#[test]
fn unblock_pulse_is_dropped_when_the_request_is_answered_first() {
    common::setup();
    let _dog = common::watchdog(DOG);
    let name = "timeouts/unblock-dropped";
    let ch = Channel::builder().name(name).unblock(true).create().unwrap();
    let (client, req) = hold_reply_only_call(&ch, name);
    assert!(common::wait_for(SECS, || req.unblock_requested()), "the client never asked to be unblocked");
    std::thread::sleep(SETTLE); // the client rings after flagging
                                // A pulse ranked above the unblock pulse: sent by a real-time thread
                                // (a claimed priority alone would be checked and refused), which stays
                                // alive until its claim has been checked.
    let own = Connection::attach(0, ch.id()).unwrap();
    std::thread::scope(|s| {
        let (sent_tx, sent_rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        s.spawn(move || {
            let sent = baton::set_thread_priority(baton::Policy::Fifo, 50).and_then(|()| own.send_pulse(9, 0));
            sent_tx.send(sent).unwrap();
            let _ = done_rx.recv();
        });
        if let Err(e) = sent_rx.recv().unwrap() {
            eprintln!("NOTE: cannot run a SCHED_FIFO thread here ({e}); the pulse cannot outrank the unblock pulse");
            return;
        }
        match ch.receive_deadline(&mut [0u8; 64], secs()).unwrap() {
            Received::Pulse(p) => assert_eq!(p.code, 9, "{p:?}"),
            Received::Message(m) => panic!("unexpected message {:?}", m.info()),
        }
        done_tx.send(()).unwrap();
    });
    req.reply(2, b"answered").unwrap();
    assert_replied(&ended(&client), 2, "answered");
    // The next thing received is the client's next call, not the pulse.
    finish(&ch, client);
    assert_times_out(|d| ch.receive_pulse(d));
}

// ---- Detached by another thread ----------------------------------------------

/// Opens the channels named by the arguments (one the server holds calls
/// on, one it never receives on) and blocks a thread in each state: one
/// REPLY-blocked on a call the server holds, one SEND-blocked. The main
/// thread then detaches both handles and reports how the calls ended, a
/// later call through a detached handle, and a call through another
/// handle to the same (shared) connection.
fn detacher() {
    let args = common::args();
    let held = Connection::open(&args[0]).unwrap();
    let other = Connection::open(&args[0]).unwrap();
    let idle = Connection::open(&args[1]).unwrap();
    std::thread::scope(|s| {
        let a = s.spawn(|| held.send(b"hold", &mut [0u8; 8]));
        let b = s.spawn(|| idle.send(b"idle", &mut [0u8; 8]));
        // Answered once the server holds "hold": the thread is REPLY-blocked.
        other.send(b"go?", &mut []).unwrap();
        std::thread::sleep(SETTLE); // the SEND-blocked thread goes to sleep
        let t0 = Instant::now();
        held.detach();
        idle.detach();
        let errno = |r: baton::Result<baton::Reply>| r.err().map_or(0, |e| e.errno());
        common::say(format!("reply-blocked {}", errno(a.join().unwrap())));
        common::say(format!("send-blocked {}", errno(b.join().unwrap())));
        // Lower bound only: a slow machine makes it longer.
        common::note(format!("detached calls ended after {:?}", t0.elapsed()));
    });
    let later = held.send(b"x", &mut []).err().map_or(0, |e| e.errno());
    let pulse = held.send_pulse(1, 1).err().map_or(0, |e| e.errno());
    common::say(format!("later {later} {pulse}"));
    let mut reply = [0u8; 8];
    let r = other.send(b"after", &mut reply).unwrap();
    common::say(format!("other {} {}", r.status, String::from_utf8_lossy(&reply[..r.len])));
}

/// `Connection::detach` from another thread: the REPLY-blocked and the
/// SEND-blocked caller wake with `EBADF`, later calls through the handle
/// fail with `EBADF`, other handles to the connection keep working, and
/// the server's held request is answered into nothing (the client left).
#[test]
fn detach_from_another_thread_ends_blocked_calls_with_ebadf() {
    common::setup();
    let _dog = common::watchdog(DOG);
    let (held_name, idle_name) = ("timeouts/detach-held", "timeouts/detach-idle");
    let ch = Channel::builder().name(held_name).create().unwrap();
    let _idle = Channel::builder().name(idle_name).create().unwrap();
    let child = common::spawn("detacher", &[held_name, idle_name]);
    // "hold" and "go?" come in either order; "go?" is answered only once
    // "hold" is held.
    let (mut hold, mut go) = (None, None);
    while hold.is_none() || go.is_none() {
        let mut buf = [0u8; 64];
        match ch.receive_deadline(&mut buf, secs()).unwrap() {
            Received::Message(req) => match &buf[..req.len()] {
                b"hold" => hold = Some(req),
                b"go?" => go = Some(req),
                m => panic!("unexpected message {:?}", String::from_utf8_lossy(m)),
            },
            Received::Pulse(p) => panic!("unexpected pulse {p:?}"),
        }
    }
    go.unwrap().reply(0, b"").unwrap();
    assert_eq!(child.line(SECS), format!("reply-blocked {}", libc::EBADF));
    assert_eq!(child.line(SECS), format!("send-blocked {}", libc::EBADF));
    assert_eq!(child.line(SECS), format!("later {} {}", libc::EBADF, libc::EBADF));
    let after = expect_message(&ch, "after");
    after.reply(7, b"ok").unwrap();
    assert_eq!(child.line(SECS), "other 7 ok");
    // The caller left: the answer goes nowhere (the call was abandoned).
    assert_eq!(hold.unwrap().reply(1, b"late").unwrap_err().errno(), libc::ESRCH);
    child.wait_ok(SECS);
}
