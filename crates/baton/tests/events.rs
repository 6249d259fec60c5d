//! Events and pulse timers between real processes: `MsgDeliverEvent` of
//! pulses and signals (also after the reply), registered and updateable
//! events, unregistering, registered-only connections, the errors
//! (`ESRCH` for a gone client or an unregistered handle, `EINVAL`,
//! `EACCES`), and timers whose expiries arrive as pulses: periodic,
//! one-shot, absolute, re-armed, disarmed, deleted, overrun.
#![allow(unsafe_code)]
mod common;

use baton::{Channel, Clock, Connection, Deadline, Event, Received, Timer, TimerSpec};
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicI32, AtomicI64};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a test waits for what must happen.
const SECS: u64 = 20;

#[test]
fn child() {
    common::child_main(&[("events_client", events_client), ("ticker", ticker)]);
}

fn soon() -> Deadline {
    Deadline::after(Duration::from_secs(SECS))
}

/// Receives the next pulse on `ch` (panics on a message or a timeout).
fn pulse(ch: &Channel) -> baton::Pulse {
    ch.receive_pulse(soon()).expect("a pulse in time")
}

// ---- Delivered events --------------------------------------------------------

/// What the signal handler saw: the value and the thread, per signal.
static SEEN: [(AtomicI64, AtomicI32); 2] =
    [(AtomicI64::new(0), AtomicI32::new(0)), (AtomicI64::new(0), AtomicI32::new(0))];

fn slot(signo: i32) -> usize {
    usize::from(signo == libc::SIGUSR2)
}

extern "C" fn on_signal(signo: i32, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid `siginfo_t` to an SA_SIGINFO handler.
    let value = unsafe { (*info).si_value().sival_ptr } as i64;
    let s = &SEEN[slot(signo)];
    s.1.store(rustix::thread::gettid().as_raw_nonzero().get(), SeqCst);
    s.0.store(value, SeqCst);
}

/// Catches SIGUSR1 and SIGUSR2 (whichever thread they land on).
fn catch_signals() {
    for signo in [libc::SIGUSR1, libc::SIGUSR2] {
        // SAFETY: `sa` is fully initialised (zeroed, then the handler and
        // flags set); `on_signal` only touches atomics.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO;
            assert_eq!(libc::sigaction(signo, &sa, std::ptr::null_mut()), 0);
        }
    }
}

/// Waits for `signo` to have been handled; returns its value and whether
/// it was handled on the calling thread.
fn wait_signal(signo: i32) -> (i64, bool) {
    let deadline = soon();
    let s = &SEEN[slot(signo)];
    while s.0.load(SeqCst) == 0 {
        assert!(!deadline.expired(), "signal {signo} did not arrive");
        std::thread::sleep(Duration::from_millis(1));
    }
    (s.0.load(SeqCst), s.1.load(SeqCst) == rustix::thread::gettid().as_raw_nonzero().get())
}

/// Sends `op` and an event to the server; returns the reply status.
fn ask(srv: &Connection, op: u8, ev: Event) -> i64 {
    let mut msg = vec![op];
    msg.extend_from_slice(&ev.encode());
    srv.send(&msg, &mut []).expect("the server answers").status
}

/// The client: its own channel for event pulses, a connection to the
/// server, and a script of events for the server to deliver.
fn events_client() {
    catch_signals();
    let name = &common::args()[0];
    let own = Channel::builder().private(true).create().unwrap();
    let me = Connection::attach(0, own.id()).unwrap();
    let srv = Connection::open(name).unwrap();

    // A raw pulse, delivered after the reply, arrives on our own connection.
    assert_eq!(ask(&srv, b'D', Event::pulse(me.id(), -1, 5, 77)), 0);
    let p = pulse(&own);
    common::say(format!("pulse {} {} {}", p.code, p.value, p.scoid == me.scoid()));

    assert_eq!(ask(&srv, b'D', Event::Signal { signo: libc::SIGUSR1, value: 11 }), 0);
    common::say(format!("signal {}", wait_signal(libc::SIGUSR1).0));
    assert_eq!(ask(&srv, b'D', Event::SignalThread { signo: libc::SIGUSR2, value: 12 }), 0);
    common::say(format!("thread signal {:?}", wait_signal(libc::SIGUSR2)));

    // Registered events: the registered value unless updateable.
    let fixed = srv.register_event(Event::pulse(me.id(), -1, 6, 1), false).unwrap();
    let upd = srv.register_event(Event::pulse(me.id(), -1, 7, 2), true).unwrap();
    assert_eq!(ask(&srv, b'D', Event::Registered { handle: fixed, value: 500 }), 0);
    let p = pulse(&own);
    common::say(format!("registered {} {}", p.code, p.value));
    assert_eq!(ask(&srv, b'D', Event::Registered { handle: upd, value: 600 }), 0);
    let p = pulse(&own);
    common::say(format!("updateable {} {}", p.code, p.value));

    // Unregistered: the server's delivery fails, and nothing arrives.
    baton::unregister_event(upd).unwrap();
    common::say(format!("unregistered {}", ask(&srv, b'T', Event::Registered { handle: upd, value: 1 })));
    assert_eq!(baton::unregister_event(upd).unwrap_err().errno(), libc::ESRCH);
    // A handle registered for another server: this one may not deliver it.
    let other = Channel::builder().private(true).create().unwrap();
    let to_other = Connection::attach(0, other.id()).unwrap();
    let elsewhere = to_other.register_event(Event::pulse(me.id(), -1, 8, 3), false).unwrap();
    common::say(format!("other server {}", ask(&srv, b'T', Event::Registered { handle: elsewhere, value: 0 })));

    // Malformed events.
    common::say(format!("bad code {}", ask(&srv, b'V', Event::pulse(me.id(), -1, -5, 0))));
    common::say(format!("bad signal {}", ask(&srv, b'T', Event::Signal { signo: 0, value: 0 })));
    common::say(format!("unblock {}", ask(&srv, b'T', Event::Unblock)));

    // A connection that takes registered events only.
    let strict = Connection::builder().no_share(true).registered_events_only(true).open(name).unwrap();
    common::say(format!("strict raw {}", ask(&strict, b'T', Event::pulse(me.id(), -1, 9, 4))));
    let h = strict.register_event(Event::pulse(me.id(), -1, 9, 4), false).unwrap();
    common::say(format!("strict registered {}", ask(&strict, b'T', Event::Registered { handle: h, value: 0 })));
    let p = pulse(&own);
    common::say(format!("strict pulse {} {}", p.code, p.value));
    assert!(own.try_receive(&mut []).unwrap().is_none(), "no other pulse arrived");
    common::say(format!("lost {}", baton::lost_events()));
}

/// The server: answers the client's script. `D`: reply, then deliver (it
/// must work); `T`: try to deliver, reply with 0 or the errno; `V`: verify,
/// reply with 0 or the errno. Returns the last receive id.
fn serve_script(ch: &Channel, done: impl Fn() -> bool) -> baton::ReceiveId {
    let mut buf = [0u8; 64];
    let mut last = None;
    while !done() {
        let r = match ch.receive_deadline(&mut buf, Deadline::after(Duration::from_millis(50))) {
            Err(e) if e.is_timeout() => continue,
            r => r.unwrap(),
        };
        let Received::Message(req) = r else { continue };
        let ev = Event::decode(&buf[1..req.len()]).unwrap();
        let id = req.id();
        last = Some(id);
        let status = |r: baton::Result<()>| r.err().map_or(0, |e| i64::from(e.errno()));
        match buf[0] {
            b'D' => {
                req.reply(0, &[]).unwrap();
                id.deliver(&ev).unwrap();
            }
            b'T' => {
                let s = status(id.deliver(&ev));
                req.reply(s, &[]).unwrap();
            }
            b'V' => {
                let s = status(id.verify_event(&ev));
                req.reply(s, &[]).unwrap();
            }
            op => panic!("unknown op {op}"),
        }
    }
    last.expect("the client sent something")
}

#[test]
fn delivered_and_registered_events() {
    common::setup();
    let _dog = common::watchdog(120);
    let name = format!("events/{}", std::process::id());
    let ch = Channel::attach(&name).unwrap();
    let client = common::spawn("events_client", &[&name]);
    let expect = vec![
        "pulse 5 77 true".to_string(),
        format!("signal {}", 11),
        "thread signal (12, true)".into(),
        "registered 6 1".into(),
        "updateable 7 600".into(),
        format!("unregistered {}", libc::ESRCH),
        format!("other server {}", libc::ESRCH),
        format!("bad code {}", libc::EINVAL),
        format!("bad signal {}", libc::EINVAL),
        format!("unblock {}", libc::ENOTSUP),
        format!("strict raw {}", libc::EACCES),
        "strict registered 0".into(),
        "strict pulse 9 4".into(),
        "lost 0".into(),
    ];
    let finished = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (n, finished) = (expect.len(), finished.clone());
        std::thread::spawn(move || {
            // Ends the server's loop however this thread ends.
            struct Done(std::sync::Arc<std::sync::atomic::AtomicBool>);
            impl Drop for Done {
                fn drop(&mut self) {
                    self.0.store(true, SeqCst);
                }
            }
            let _done = Done(finished);
            let lines: Vec<String> = (0..n).map(|_| client.line(SECS)).collect();
            client.wait_ok(SECS);
            lines
        })
    };
    let last = serve_script(&ch, || finished.load(SeqCst));
    assert_eq!(reader.join().unwrap(), expect);
    // The client has gone: deliveries to it fail with ESRCH once its
    // death is noticed.
    let deadline = soon();
    loop {
        match last.deliver(&Event::None) {
            Err(e) if e.errno() == libc::ESRCH => break,
            _ => assert!(!deadline.expired(), "delivery to a dead client still works"),
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

// ---- Pulse timers ---------------------------------------------------------------

/// A channel of this process and a connection to it.
fn own_channel(pulses: u32) -> (Channel, Connection) {
    common::setup();
    let ch = Channel::builder().pulse_capacity(pulses).create().unwrap();
    let conn = Connection::attach(0, ch.id()).unwrap();
    (ch, conn)
}

/// Whether no pulse arrives within `ms` (used only where none may come).
fn quiet(ch: &Channel, ms: u64) -> bool {
    matches!(ch.receive_pulse(Deadline::after(Duration::from_millis(ms))), Err(e) if e.is_timeout())
}

#[test]
fn periodic_timer_rearm_disarm_delete() {
    let _dog = common::watchdog(60);
    let (ch, conn) = own_channel(64);
    let t = Timer::new(&conn, Clock::Monotonic, -1, 3, 42).unwrap();
    assert_eq!(t.get().unwrap(), TimerSpec::default());
    t.periodic(Duration::from_millis(2), Duration::from_millis(2)).unwrap();
    for _ in 0..10 {
        let p = pulse(&ch);
        assert_eq!((p.code, p.value, p.scoid), (3, 42, conn.scoid()));
    }
    // Re-armed: the previous setting comes back; the new period holds.
    let old = t.set(TimerSpec { value: Duration::from_millis(1), interval: Duration::from_secs(3600) }).unwrap();
    assert_eq!(old.interval, Duration::from_millis(2));
    assert_eq!(t.get().unwrap().interval, Duration::from_secs(3600));
    t.disarm().unwrap();
    assert_eq!(t.get().unwrap().value, Duration::ZERO);
    while ch.try_receive(&mut []).unwrap().is_some() {}
    t.periodic(Duration::from_millis(1), Duration::from_millis(1)).unwrap();
    pulse(&ch);
    let sent = t.pulses();
    drop(t);
    // Deleted: what was sent before may still be queued, nothing after.
    let mut queued = 0;
    while ch.try_receive(&mut []).unwrap().is_some() {
        queued += 1;
    }
    assert!(queued < sent, "{queued} pulses queued, {sent} sent");
    assert!(quiet(&ch, 30), "a pulse arrived after the timer was deleted");
}

#[test]
fn one_shot_and_absolute_timers() {
    let _dog = common::watchdog(60);
    let (ch, conn) = own_channel(64);
    let t = Timer::new(&conn, Clock::Monotonic, 0, 1, 7).unwrap();
    t.one_shot(Duration::from_millis(5)).unwrap();
    assert_eq!(pulse(&ch).code, 1);
    assert!(quiet(&ch, 30), "a one-shot timer fired twice");
    assert_eq!(t.get().unwrap(), TimerSpec::default());

    // Absolute on CLOCK_MONOTONIC: the deadline's own time base.
    let at = Deadline::after(Duration::from_millis(5)).as_monotonic_nanos().unwrap();
    t.set_absolute(TimerSpec { value: Duration::from_nanos(at), interval: Duration::ZERO }).unwrap();
    assert_eq!(pulse(&ch).value, 7);

    // Absolute on CLOCK_REALTIME: wall-clock time.
    let rt = Timer::new(&conn, Clock::Realtime, -1, 2, 8).unwrap();
    let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_millis(5);
    rt.set_absolute(TimerSpec { value: wall, interval: Duration::ZERO }).unwrap();
    let p = pulse(&ch);
    assert_eq!((p.code, p.value), (2, 8));
    assert_eq!(rt.clock(), Clock::Realtime);

    // A timer from a C-style event names the connection by its id.
    let ev = Timer::from_event(Clock::Monotonic, &Event::pulse(conn.id(), -1, 4, 9)).unwrap();
    ev.one_shot(Duration::from_millis(1)).unwrap();
    assert_eq!(pulse(&ch).code, 4);
    let bad = Timer::from_event(Clock::Monotonic, &Event::pulse(-7, -1, 4, 9)).unwrap_err();
    assert_eq!(bad.errno(), libc::EBADF);
    assert_eq!(Timer::new(&conn, Clock::Monotonic, -1, -3, 0).unwrap_err().errno(), libc::EINVAL);
}

#[test]
fn timer_overruns_are_counted_not_queued() {
    let _dog = common::watchdog(60);
    let (ch, conn) = own_channel(2);
    let t = Timer::new(&conn, Clock::Monotonic, -1, 5, 0).unwrap();
    t.periodic(Duration::from_millis(1), Duration::from_millis(1)).unwrap();
    // Nobody receives: the ring fills with two pulses, later expiries count.
    let deadline = soon();
    let mut overruns = 0;
    while overruns < 20 {
        assert!(!deadline.expired(), "no overruns counted");
        std::thread::sleep(Duration::from_millis(5));
        overruns += t.overruns();
    }
    t.disarm().unwrap();
    let mut queued = 0;
    while ch.try_receive(&mut []).unwrap().is_some() {
        queued += 1;
    }
    assert!(queued <= 2, "{queued} pulses piled up in a ring of 2");
    assert_eq!(t.pulses(), queued);
}

/// In a child: a periodic timer on a connection to the parent's channel.
fn ticker() {
    let conn = Connection::open(&common::args()[0]).unwrap();
    let t = Timer::new(&conn, Clock::Monotonic, -1, 6, 99).unwrap();
    t.periodic(Duration::from_millis(2), Duration::from_millis(2)).unwrap();
    common::say(conn.scoid());
    std::thread::sleep(Duration::from_secs(SECS * 3));
}

#[test]
fn timer_pulses_reach_another_process() {
    common::setup();
    let _dog = common::watchdog(60);
    let name = format!("ticks/{}", std::process::id());
    let ch = Channel::builder().name(&name).create().unwrap();
    let child = common::spawn("ticker", &[&name]);
    let scoid: u32 = child.line(SECS).parse().unwrap();
    for _ in 0..5 {
        let p = pulse(&ch);
        assert_eq!((p.code, p.value, p.scoid), (6, 99, scoid));
    }
}
