//! A server with several receiving threads (a thread pool, as resource
//! managers run) keeps its clients' calls moving when one thread is held
//! up: a thread that answered while another slept promises to look at its
//! client only once it is back in receive, and gives its promises up when
//! it leaves with work while others sleep, so a call a client makes while
//! that thread is busy wakes a sleeper instead of waiting for the busy
//! thread (docs/DESIGN.md, "Doorbells").
//!
//! The server (a child process) has two threads. A `WAIT` call holds its
//! thread until a `GO` call arrives, which only the other thread can take;
//! the client makes the `GO` call from a second thread of the same
//! connection (another slot), after warm-up calls that leave the
//! connection promised. If anything left the `GO` unannounced, the test
//! hangs and the watchdog fails it.
mod common;

use baton::{Channel, Connection};
use common::{args, child_main, say, spawn, watchdog};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Rounds of warm-up calls, then `WAIT` and `GO`.
const ROUNDS: usize = 200;
/// How long a `WAIT` waits for its `GO` before it fails the call (the
/// test then fails on the reply, not on the watchdog).
const PATIENCE: Duration = Duration::from_secs(30);

#[test]
fn child() {
    child_main(&[("server", server)]);
}

/// Two threads serve the channel named by the first argument.
fn server() {
    let name = &args()[0];
    let ch = Arc::new(Channel::builder().name(name).create().unwrap());
    let go = Arc::new((Mutex::new(false), Condvar::new()));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (ch, go) = (Arc::clone(&ch), Arc::clone(&go));
            std::thread::spawn(move || {
                common::serve(&ch, |req, msg| {
                    let (flag, cv) = &*go;
                    let status = match msg {
                        b"WAIT" => {
                            let g = flag.lock().unwrap();
                            let (mut g, t) = cv.wait_timeout_while(g, PATIENCE, |set| !*set).unwrap();
                            if t.timed_out() {
                                -1
                            } else {
                                *g = false;
                                1
                            }
                        }
                        b"GO" => {
                            *flag.lock().unwrap() = true;
                            cv.notify_all();
                            2
                        }
                        _ => 0,
                    };
                    req.reply(status, msg).unwrap();
                });
            })
        })
        .collect();
    say("ready");
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn a_call_made_while_one_thread_is_held_up_reaches_another() {
    let _w = watchdog(300);
    let name = format!("pool/held-{}", std::process::id());
    let srv = spawn("server", &[&name]);
    assert_eq!(srv.line(60), "ready");
    let conn = Arc::new(Connection::open(&name).unwrap());
    let mut reply = [0u8; 16];
    for round in 0..ROUNDS {
        // Back-to-back calls: the answering thread promises to look, and
        // the other sleeps.
        for _ in 0..20 {
            assert_eq!(conn.send(b"warm", &mut reply).unwrap().status, 0);
        }
        let waiter = {
            let conn = Arc::clone(&conn);
            std::thread::spawn(move || conn.send(b"WAIT", &mut [0u8; 16]).unwrap().status)
        };
        // Let the WAIT be taken and the other thread fall asleep (it spins
        // 20 µs at most), some rounds longer than others.
        std::thread::sleep(Duration::from_micros(200 + 50 * (round % 10) as u64));
        assert_eq!(conn.send(b"GO", &mut reply).unwrap().status, 2, "round {round}");
        assert_eq!(waiter.join().unwrap(), 1, "round {round}: the WAIT never saw its GO");
    }
}
