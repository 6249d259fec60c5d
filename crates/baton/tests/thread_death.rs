//! Client threads that exit in the middle of a call: killed by a signal
//! whose handler ends the thread at once (`SYS_exit`: no unwinding, no
//! thread-local destructors), while the request is queued and while the
//! server holds it. The slot comes back (every slot of the connection can
//! be used again), a queued request never reaches the server, a held one's
//! reply fails with `ESRCH`, and a `THREAD_DEATH` channel of the process
//! gets the thread-death pulse with the thread's id. Once in this process
//! (client and server threads), once with the client in another process.
#![allow(unsafe_code)] // sigaction, tgkill and SYS_exit
mod common;

use baton::{pulse_code, Channel, Connection, Deadline, Received, Request, WaitMode};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// Slots per connection: small, so that a leaked slot shows.
const SLOTS: usize = 2;

#[test]
fn child() {
    common::child_main(&[("dier", dier)]);
}

extern "C" fn exit_thread(_: libc::c_int) {
    // SAFETY: ends the calling thread only; nothing of it runs afterwards.
    unsafe { libc::syscall(libc::SYS_exit, 0) };
}

/// Makes SIGUSR1 end the thread it is sent to.
fn install_exit_handler() {
    // SAFETY: a zeroed `sigaction` with a handler that only makes a system
    // call (async-signal-safe).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = exit_thread as *const () as usize;
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
}

/// Starts a detached thread that sends `msg` on `conn`; returns its tid.
/// (It never returns if it is killed: a join would never see its result.)
fn caller(conn: &Arc<Connection>, msg: &'static [u8]) -> i32 {
    let (tx, rx) = mpsc::channel();
    let conn = conn.clone();
    std::thread::spawn(move || {
        tx.send(rustix::thread::gettid().as_raw_nonzero().get()).unwrap();
        let _ = conn.send(msg, &mut []);
    });
    rx.recv().unwrap()
}

/// Waits until thread `tid` sleeps in a futex (its call is posted and it
/// waits for the answer), then ends it.
fn kill_in_call(tid: i32) {
    let path = format!("/proc/self/task/{tid}/syscall");
    let futex = format!("{} ", libc::SYS_futex);
    assert!(
        common::wait_for(60, || std::fs::read_to_string(&path).is_ok_and(|s| s.starts_with(&futex))),
        "thread {tid} never blocked in its call"
    );
    // SAFETY: sends a signal to one thread of this process.
    let rc = unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, libc::SIGUSR1) };
    assert_eq!(rc, 0);
}

/// Waits for the thread-death pulse of `tid` on `deaths` (others' are skipped).
fn death_pulse(deaths: &Channel, tid: i32) {
    let deadline = Deadline::after(Duration::from_secs(60));
    loop {
        let p = deaths.receive_pulse(deadline).expect("the thread-death pulse");
        if p.code == pulse_code::THREADDEATH && p.value == i64::from(tid) {
            return;
        }
    }
}

/// `SLOTS` calls at once from new threads, each answered by `serve` (which
/// gets the requests and their bytes); all must get a slot and succeed.
fn every_slot_works(conn: &Arc<Connection>, serve: impl FnOnce(usize)) {
    let callers: Vec<_> = (0..SLOTS)
        .map(|_| {
            let conn = conn.clone();
            std::thread::spawn(move || conn.send(b"live", &mut []).map(|r| r.status).map_err(|e| e.errno()))
        })
        .collect();
    serve(SLOTS);
    for c in callers {
        assert_eq!(c.join().unwrap(), Ok(4), "a slot was not released");
    }
}

/// Receives `n` messages on `ch` at once, checks each is "live", answers
/// each with status 4.
fn answer_live(ch: &Channel, n: usize) {
    let held: Vec<Request> = (0..n).map(|_| next_message(ch, b"live")).collect();
    for r in held {
        r.reply(4, b"").unwrap();
    }
}

/// The next message on `ch`, which must be `want`.
fn next_message(ch: &Channel, want: &[u8]) -> Request {
    let deadline = Deadline::after(Duration::from_secs(60));
    let mut buf = [0u8; 16];
    loop {
        match ch.receive_deadline(&mut buf, deadline).expect("a message within 60 s") {
            Received::Message(req) => {
                assert_eq!(&buf[..req.len()], want, "a dead thread's request reached the server");
                return req;
            }
            Received::Pulse(_) => {}
        }
    }
}

#[test]
fn a_thread_that_dies_in_a_call_releases_its_slot() {
    common::setup();
    let _dog = common::watchdog(120);
    install_exit_handler();
    let deaths = Channel::builder().private(true).thread_death(true).create().unwrap();
    let ch = Channel::builder().private(true).slots_per_connection(SLOTS as u32).create().unwrap();
    let conn = Arc::new(Connection::builder().wait_mode(WaitMode::Blocking).attach(0, ch.id()).unwrap());

    // Dies while its request is queued: the server never sees it.
    let tid = caller(&conn, b"queued");
    kill_in_call(tid);
    death_pulse(&deaths, tid);
    every_slot_works(&conn, |n| answer_live(&ch, n));

    // Dies while the server holds its request: the reply finds nobody.
    let tid = caller(&conn, b"served");
    let req = next_message(&ch, b"served");
    kill_in_call(tid);
    death_pulse(&deaths, tid);
    let e = req.reply(1, b"").expect_err("a reply to a dead thread");
    assert_eq!(e.errno(), libc::ESRCH, "{e}");
    every_slot_works(&conn, |n| answer_live(&ch, n));
}

/// Connects to `args[0]`, has a thread die in a queued call, says
/// `died <tid>` once its thread-death pulse came, then makes `SLOTS`
/// calls at once and says `ok`.
fn dier() {
    install_exit_handler();
    let deaths = Channel::builder().private(true).thread_death(true).create().unwrap();
    let conn = Arc::new(Connection::builder().wait_mode(WaitMode::Blocking).open(&common::args()[0]).unwrap());
    let tid = caller(&conn, b"queued");
    kill_in_call(tid);
    death_pulse(&deaths, tid);
    common::say(format!("died {tid}"));
    every_slot_works(&conn, |_| {});
    common::say("ok");
}

#[test]
fn a_client_process_thread_that_dies_in_a_queued_call() {
    common::setup();
    let _dog = common::watchdog(120);
    let ch = Channel::builder().name("death/queued").slots_per_connection(SLOTS as u32).create().unwrap();
    let client = common::spawn("dier", &["death/queued"]);
    assert!(client.line(60).starts_with("died "));
    // Only now does the server look: the dead thread's request is gone.
    answer_live(&ch, SLOTS);
    assert_eq!(client.line(60), "ok");
    client.wait_ok(60);
}

/// A thread that ends normally after its calls gives its slot back as it
/// exits (its thread-local destructor), not later through the runtime: a
/// connection with one slot takes the next thread's call at once, 200
/// times. The slot is left as the last answer left it (`REPLIED`, which
/// counts as unused), so this also checks that such a slot is free.
#[test]
fn a_thread_that_ends_gives_its_slot_back_at_once() {
    common::setup();
    let _dog = common::watchdog(120);
    let ch = Arc::new(Channel::builder().private(true).slots_per_connection(1).create().unwrap());
    let server = {
        let ch = ch.clone();
        std::thread::spawn(move || {
            for _ in 0..200 {
                next_message(&ch, b"live").reply(4, b"").unwrap();
            }
        })
    };
    let conn = Arc::new(Connection::builder().attach(0, ch.id()).unwrap());
    for i in 0..200 {
        let c = conn.clone();
        let r = std::thread::spawn(move || c.send(b"live", &mut []).map(|r| r.status).map_err(|e| e.errno()));
        // EAGAIN if the thread before this one still held the slot.
        assert_eq!(r.join().unwrap(), Ok(4), "call {i}, each from a new thread");
    }
    server.join().unwrap();
}
