//! Wait modes: a channel and its callers in blocking, adaptive and spin
//! mode carry calls and pulses between processes correctly, mixed with
//! callers of other modes; a spinning caller still honours its deadline;
//! a spinning server still sees clients that ring and pulses that arrive
//! while it watches other connections.
mod common;

use baton::{Channel, Connection, Deadline, Received, Timeout, WaitMode};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Seconds a line or exit may take before a test fails.
const WAIT: u64 = 120;
/// Seconds after which a test is presumed hung and the watchdog aborts.
const HANG: u64 = 300;
/// Calls each caller makes.
const CALLS: u32 = 2000;
/// The pulse code the tests send.
const CODE: i8 = 7;

#[test]
fn child() {
    common::child_main(&[("caller", caller)]);
}

fn mode(name: &str) -> WaitMode {
    match name {
        "blocking" => WaitMode::Blocking,
        "adaptive" => WaitMode::Adaptive,
        "spin" => WaitMode::Spin,
        _ => panic!("no wait mode {name:?}"),
    }
}

/// What the server answers to `msg`.
fn answer_to(msg: &[u8]) -> Vec<u8> {
    msg.iter().rev().map(u8::to_ascii_uppercase).collect()
}

/// A caller process: opens channel `args[0]` in mode `args[1]`, makes
/// [`CALLS`] calls named `args[2]`, checks each answer, sends a pulse and
/// one more call (answered after the pulse was received: same connection,
/// same priority, FIFO), and says `done N`.
fn caller() {
    let args = common::args();
    let conn = Connection::builder().wait_mode(mode(&args[1])).open(&args[0]).unwrap();
    let mut done = calls(&conn, &args[2], CALLS);
    conn.send_pulse(CODE, 1).unwrap();
    done += calls(&conn, &args[2], 1);
    common::say(format!("done {done}"));
}

/// Makes `n` calls on `conn`, each checked; returns how many were right.
fn calls(conn: &Connection, who: &str, n: u32) -> u32 {
    let mut reply = [0u8; 64];
    for i in 0..n {
        let msg = format!("{who}:{i}");
        let r = conn.send(msg.as_bytes(), &mut reply).unwrap_or_else(|e| panic!("{msg}: {e}"));
        assert_eq!(&reply[..r.len], answer_to(msg.as_bytes()), "call {msg}");
    }
    n
}

/// Serves `ch` on a thread until it is destroyed; returns the pulses it saw.
fn serve(ch: Arc<Channel>) -> std::thread::JoinHandle<u32> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        let mut pulses = 0;
        loop {
            match ch.receive(&mut buf) {
                Ok(Received::Message(req)) => {
                    let answer = answer_to(&buf[..req.len()]);
                    req.reply(0, &answer).unwrap();
                }
                Ok(Received::Pulse(p)) => pulses += u32::from(p.code == CODE),
                Err(e) if e.errno() == libc::ESRCH => return pulses,
                Err(e) => panic!("receive failed: {e}"),
            }
        }
    })
}

#[test]
fn every_mode_carries_calls_from_several_processes() {
    let _dog = common::watchdog(HANG);
    for server in ["blocking", "adaptive", "spin"] {
        let name = format!("modes/{server}");
        let ch = Arc::new(Channel::builder().name(&name).wait_mode(mode(server)).create().unwrap());
        let serving = serve(ch.clone());
        // Two callers in the server's mode, one in each of the others.
        let mut callers = vec![server, server];
        callers.extend(["blocking", "adaptive", "spin"].into_iter().filter(|m| *m != server));
        let children: Vec<_> =
            callers.iter().enumerate().map(|(i, m)| common::spawn("caller", &[&name, m, &format!("c{i}")])).collect();
        for (child, m) in children.into_iter().zip(&callers) {
            assert_eq!(child.line(WAIT), format!("done {}", CALLS + 1), "a {m} caller of a {server} channel");
            child.wait_ok(WAIT);
        }
        ch.destroy();
        assert_eq!(serving.join().unwrap(), callers.len() as u32, "pulses received on the {server} channel");
    }
}

#[test]
fn a_spinning_caller_still_times_out() {
    let _dog = common::watchdog(HANG);
    common::setup();
    // Nobody receives on this channel.
    let ch = Channel::builder().name("modes/deaf").wait_mode(WaitMode::Spin).create().unwrap();
    let conn = Connection::builder().wait_mode(WaitMode::Spin).open("modes/deaf").unwrap();
    let wait = Duration::from_millis(50);
    let t0 = Instant::now();
    let r = conn.send_timeout(b"anyone?", &mut [0u8; 8], Timeout::new(Deadline::after(wait)));
    assert_eq!(r.unwrap_err().errno(), libc::ETIMEDOUT);
    assert!(t0.elapsed() >= wait, "timed out after {:?}, before the {wait:?} deadline", t0.elapsed());
    drop(ch);
}

/// While the server thread spins over a busy connection, a second
/// connection (which has to ring: nobody promised to look at it) and
/// pulses still get through.
#[test]
fn a_spinning_server_sees_clients_that_ring_and_pulses() {
    let _dog = common::watchdog(HANG);
    common::setup();
    let ch = Arc::new(Channel::builder().name("modes/watch").wait_mode(WaitMode::Spin).create().unwrap());
    let serving = serve(ch.clone());
    let busy = std::thread::spawn(|| {
        let conn = Connection::builder().no_share(true).wait_mode(WaitMode::Spin).open("modes/watch").unwrap();
        calls(&conn, "busy", 20 * CALLS)
    });
    let other = Connection::builder().no_share(true).wait_mode(WaitMode::Blocking).open("modes/watch").unwrap();
    for i in 0..50 {
        other.send_pulse(CODE, i).unwrap();
        assert_eq!(calls(&other, "other", 10), 10);
    }
    assert_eq!(busy.join().unwrap(), 20 * CALLS);
    // The last call on `other` was answered after its pulses were queued
    // (same connection, FIFO at equal priority): all 50 were received.
    ch.destroy();
    assert_eq!(serving.join().unwrap(), 50);
}

/// Destroying a channel while its receiver spins over a connection it has
/// just served (no longer counted among the sleeping receivers to wake)
/// still ends that receive with `ESRCH`.
#[test]
fn destroy_ends_a_spinning_receive() {
    let _dog = common::watchdog(HANG);
    common::setup();
    for round in 0..20 {
        let name = format!("modes/destroy-{round}");
        let ch = Arc::new(Channel::builder().name(&name).wait_mode(WaitMode::Spin).create().unwrap());
        let serving = serve(ch.clone());
        let conn = Connection::builder().wait_mode(WaitMode::Spin).open(&name).unwrap();
        // The answer makes the connection hot: the receiver now spins on it.
        assert_eq!(calls(&conn, "once", 1), 1);
        ch.destroy();
        assert_eq!(serving.join().unwrap(), 0, "round {round}");
    }
}
