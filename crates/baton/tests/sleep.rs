//! A receiver asleep on its connections' doorbell words (`FUTEX_WAITV`,
//! `server/sleep.rs`) wakes for everything that needs it: a call or a
//! pulse on a connection it armed, a connection made while it sleeps, a
//! client that dies (the disconnect pulse), the channel's destruction; and
//! with more senders than it arms (more connections than it sleeps on, a
//! second receiver in the epoll set) every call is still answered. Also
//! the slot a promise watches (posted into without a posted bit): threads
//! sharing one connection, in every wait mode, all get their answers.
mod common;

use baton::{Channel, Connection, Deadline, Received, Timeout, WaitMode};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// Seconds a line, exit or expected state may take before a test fails.
const WAIT: u64 = 120;
/// Seconds after which a test is presumed hung and the watchdog aborts.
const HANG: u64 = 300;
/// The pulse code the tests send.
const CODE: i8 = 9;

#[test]
fn child() {
    common::child_main(&[("holder", holder), ("caller", caller)]);
}

/// Opens channel `args[0]`, makes one call, says `ready`, then waits to be
/// killed.
fn holder() {
    let args = common::args();
    let conn = Connection::open(&args[0]).unwrap();
    conn.send(b"hello", &mut [0u8; 16]).unwrap();
    common::say("ready");
    loop {
        std::thread::park();
    }
}

/// Makes `args[1]` calls on channel `args[0]` from `args[2]` threads, each
/// on a connection of its own, or all on one (`args[3]` is `shared`), in
/// wait mode `args[4]` (default: blocking), each answer checked; says
/// `done N`.
fn caller() {
    let args = common::args();
    let (calls, threads): (u32, u32) = (args[1].parse().unwrap(), args[2].parse().unwrap());
    let shared = args.get(3).is_some_and(|a| a == "shared");
    let mode = match args.get(4).map(String::as_str) {
        Some("spin") => WaitMode::Spin,
        Some("adaptive") => WaitMode::Adaptive,
        _ => WaitMode::Blocking,
    };
    let open = || Connection::builder().no_share(true).wait_mode(mode).open(&args[0]).unwrap();
    let one = shared.then(open);
    let done: u32 = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (one, open) = (&one, &open);
                s.spawn(move || {
                    let own;
                    let conn = match one {
                        Some(c) => c,
                        None => {
                            own = open();
                            &own
                        }
                    };
                    call_n(conn, &format!("{}:{t}", std::process::id()), calls)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    common::say(format!("done {done}"));
}

/// Makes `n` calls, each answer checked; returns how many were right.
fn call_n(conn: &Connection, who: &str, n: u32) -> u32 {
    let mut reply = [0u8; 64];
    for i in 0..n {
        let msg = format!("{who}:{i}");
        let r = conn.send(msg.as_bytes(), &mut reply).unwrap_or_else(|e| panic!("{msg}: {e}"));
        assert_eq!(&reply[..r.len], echo(msg.as_bytes()), "call {msg}");
    }
    n
}

fn echo(msg: &[u8]) -> Vec<u8> {
    msg.iter().rev().copied().collect()
}

/// What a serving thread saw besides messages.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Pulse(i8, i64),
    Gone,
}

/// Serves `ch` on a thread: answers messages, reports pulses and the end
/// (the channel destroyed). Sends its thread id first.
fn serve(ch: Arc<Channel>, tids: mpsc::Sender<i32>, seen: mpsc::Sender<Seen>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        tids.send(rustix::thread::gettid().as_raw_nonzero().get()).unwrap();
        let mut buf = [0u8; 64];
        loop {
            match ch.receive(&mut buf) {
                Ok(Received::Message(req)) => {
                    let answer = echo(&buf[..req.len()]);
                    req.reply(0, &answer).unwrap();
                }
                Ok(Received::Pulse(p)) => seen.send(Seen::Pulse(p.code, p.value)).unwrap(),
                Err(e) if e.errno() == libc::ESRCH => {
                    seen.send(Seen::Gone).unwrap();
                    return;
                }
                Err(e) => panic!("receive failed: {e}"),
            }
        }
    })
}

/// The system call thread `tid` of this process sleeps in, if any.
fn syscall_of(tid: i32) -> Option<i64> {
    let s = std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall")).ok()?;
    s.split(' ').next()?.parse().ok()
}

/// Waits until thread `tid` sleeps in `futex_waitv`; `false` (after a note)
/// if it sleeps in the epoll wait instead for a while, as on a kernel
/// without `futex_waitv`.
fn await_futex_sleep(tid: i32) -> bool {
    static NOTED: AtomicI32 = AtomicI32::new(0);
    let mut last = None;
    let ok = common::wait_for(WAIT, || {
        last = syscall_of(tid);
        last == Some(libc::SYS_futex_waitv) || last.is_some_and(|n| EPOLL.contains(&n)) && sleeping_long(tid)
    });
    assert!(ok, "receiver {tid} not asleep: in {last:?}");
    let futex = last == Some(libc::SYS_futex_waitv);
    if !futex && NOTED.fetch_add(1, Ordering::Relaxed) == 0 {
        common::note("receivers sleep in epoll here (no futex_waitv): the futex path is not exercised");
    }
    futex
}

/// Whether thread `tid` stays in the epoll wait for 200 ms.
fn sleeping_long(tid: i32) -> bool {
    std::thread::sleep(std::time::Duration::from_millis(200));
    syscall_of(tid).is_some_and(|n| EPOLL.contains(&n))
}

/// The system calls of the epoll wait.
const EPOLL: [i64; 2] = [libc::SYS_epoll_pwait, libc::SYS_epoll_pwait2];

#[test]
fn a_receiver_asleep_on_futexes_wakes_for_everything() {
    let _dog = common::watchdog(HANG);
    common::setup();
    for mode in [WaitMode::Blocking, WaitMode::Adaptive, WaitMode::Spin] {
        let name = format!("sleep/all-{mode:?}");
        let ch = Arc::new(Channel::builder().name(&name).wait_mode(mode).disconnect(true).create().unwrap());
        let (tx, tids) = mpsc::channel();
        let (stx, seen) = mpsc::channel();
        let serving = serve(ch.clone(), tx, stx);
        let tid = tids.recv().unwrap();
        let first = Connection::builder().no_share(true).wait_mode(WaitMode::Blocking).open(&name).unwrap();
        await_futex_sleep(tid);
        // A call on a connection it armed.
        assert_eq!(call_n(&first, "first", 3), 3);
        // A pulse on it.
        await_futex_sleep(tid);
        first.send_pulse(CODE, 1).unwrap();
        assert_eq!(seen.recv().unwrap(), Seen::Pulse(CODE, 1));
        // A connection made while it sleeps (it had not armed that one).
        await_futex_sleep(tid);
        let second = Connection::builder().no_share(true).wait_mode(WaitMode::Blocking).open(&name).unwrap();
        assert_eq!(call_n(&second, "second", 3), 3);
        await_futex_sleep(tid);
        second.send_pulse(CODE, 2).unwrap();
        assert_eq!(seen.recv().unwrap(), Seen::Pulse(CODE, 2));
        // A client process that dies while it sleeps: the disconnect pulse.
        let mut holder = common::spawn("holder", &[&name]);
        assert_eq!(holder.line(WAIT), "ready");
        await_futex_sleep(tid);
        holder.kill9();
        assert_eq!(seen.recv().unwrap(), Seen::Pulse(baton::pulse_code::DISCONNECT, 0));
        // Still serving the others.
        assert_eq!(call_n(&first, "first-again", 3), 3);
        // Destroyed while it sleeps.
        await_futex_sleep(tid);
        ch.destroy();
        assert_eq!(seen.recv().unwrap(), Seen::Gone);
        serving.join().unwrap();
    }
}

/// A call in the slot the receiver's last promise watched, made while it
/// sleeps on futexes: the word was armed naming that slot, so the client
/// posts without a posted bit and wakes the receiver through the word;
/// awake, the receiver looks at that slot and answers. Every call has a
/// deadline, so a message left unseen fails the test instead of hanging.
#[test]
fn calls_in_the_watched_slot_wake_the_sleeper() {
    let _dog = common::watchdog(HANG);
    common::setup();
    for mode in [WaitMode::Blocking, WaitMode::Adaptive] {
        let name = format!("sleep/watched-{mode:?}");
        let ch = Arc::new(Channel::builder().name(&name).wait_mode(mode).create().unwrap());
        let (tx, tids) = mpsc::channel();
        let (stx, _seen) = mpsc::channel();
        let serving = serve(ch.clone(), tx, stx);
        let tid = tids.recv().unwrap();
        let conn = Connection::builder().no_share(true).wait_mode(WaitMode::Blocking).open(&name).unwrap();
        let mut reply = [0u8; 64];
        for i in 0..20 {
            await_futex_sleep(tid);
            let msg = format!("watched {mode:?} {i}");
            let deadline = Timeout::new(Deadline::after(Duration::from_secs(10)));
            let r = conn.send_timeout(msg.as_bytes(), &mut reply, deadline).unwrap_or_else(|e| panic!("{msg}: {e}"));
            assert_eq!(&reply[..r.len], echo(msg.as_bytes()), "call {msg}");
        }
        ch.destroy();
        serving.join().unwrap();
    }
}

/// Two receiving threads (one asleep on futexes, one in the epoll set)
/// and callers on more connections than a receiver arms
/// (`server::sleep::MAX_ARMED` is 16), then on fewer: every call is
/// answered.
#[test]
fn many_senders_two_receivers() {
    let _dog = common::watchdog(HANG);
    common::setup();
    for (processes, threads) in [(3u32, 8u32), (2, 2), (1, 1)] {
        let name = format!("sleep/many-{processes}x{threads}");
        let ch = Arc::new(Channel::builder().name(&name).wait_mode(WaitMode::Blocking).create().unwrap());
        let (tx, tids) = mpsc::channel();
        let (stx, seen) = mpsc::channel();
        let servers = [serve(ch.clone(), tx.clone(), stx.clone()), serve(ch.clone(), tx, stx)];
        let _ = (tids.recv().unwrap(), tids.recv().unwrap());
        let calls = 300;
        let children: Vec<_> = (0..processes)
            .map(|_| common::spawn("caller", &[&name, &calls.to_string(), &threads.to_string()]))
            .collect();
        for child in children {
            assert_eq!(child.line(WAIT), format!("done {}", calls * threads), "{processes} x {threads} callers");
            child.wait_ok(WAIT);
        }
        ch.destroy();
        for s in servers {
            s.join().unwrap();
        }
        let ends: Vec<Seen> = seen.try_iter().collect();
        assert_eq!(ends, [Seen::Gone, Seen::Gone]);
    }
}

/// Threads of two processes sharing one connection each (several slots,
/// of which the server's promise watches one: the others post with bits),
/// with one and with two receiving threads, in every wait mode.
#[test]
fn threads_sharing_a_connection_in_every_mode() {
    let _dog = common::watchdog(HANG);
    common::setup();
    for mode in ["blocking", "adaptive", "spin"] {
        for receivers in [1, 2] {
            let name = format!("sleep/shared-{mode}-{receivers}");
            let wait = match mode {
                "spin" => WaitMode::Spin,
                "adaptive" => WaitMode::Adaptive,
                _ => WaitMode::Blocking,
            };
            let ch = Arc::new(Channel::builder().name(&name).wait_mode(wait).create().unwrap());
            let (tx, tids) = mpsc::channel();
            let (stx, seen) = mpsc::channel();
            let servers: Vec<_> = (0..receivers).map(|_| serve(ch.clone(), tx.clone(), stx.clone())).collect();
            for _ in 0..receivers {
                tids.recv().unwrap();
            }
            let (calls, threads) = (500u32, 4u32);
            let children: Vec<_> = (0..2)
                .map(|_| common::spawn("caller", &[&name, &calls.to_string(), &threads.to_string(), "shared", mode]))
                .collect();
            for child in children {
                assert_eq!(child.line(WAIT), format!("done {}", calls * threads), "{mode}, {receivers} receivers");
                child.wait_ok(WAIT);
            }
            ch.destroy();
            for s in servers {
                s.join().unwrap();
            }
            assert_eq!(seen.try_iter().count(), receivers);
        }
    }
}
