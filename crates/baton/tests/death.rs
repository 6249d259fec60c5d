//! Death and destruction between real processes (SEMANTICS.md, "Death" and
//! `ChannelDestroy`): a server killed with SIGKILL under blocked calls,
//! clients killed while SEND- or REPLY-blocked, a client that disconnects
//! normally, a channel destroyed under its users, and the reply rules (once
//! per receive id, never to a dead client, `EIO` for a dropped request).
//!
//! A call is known to be blocked once its thread sleeps in a futex wait
//! (`/proc/self/task/TID/syscall`): a call posts its request before it
//! sleeps, so from then on it is SEND-blocked unless a server takes it.
mod common;

use baton::{pulse_code, Channel, Connection, Deadline, ReceiveId, Received, Request};
use common::{Child, Ended};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the test waits for what must happen (a line, a message).
const SECS: u64 = 20;
/// The watchdog of each test.
const DOG: u64 = 120;

#[test]
fn child() {
    common::child_main(&[("server", server), ("caller", caller), ("dropper", dropper), ("watcher", watcher)]);
}

// ---- Blocked threads -------------------------------------------------------

/// A blocking operation running in a thread of its own.
struct Blocked<T> {
    tid: i32,
    handle: JoinHandle<(T, Instant)>,
}

impl<T: Send + 'static> Blocked<T> {
    /// Runs `op` in a new thread.
    fn start(op: impl FnOnce() -> T + Send + 'static) -> Blocked<T> {
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::spawn(move || {
            tx.send(rustix::thread::gettid().as_raw_nonzero().get()).unwrap();
            (op(), Instant::now())
        });
        Blocked { tid: rx.recv().unwrap(), handle }
    }

    /// Waits until the thread sleeps in a system call that `which` accepts
    /// (by number), or has finished. After [`SECS`] it goes on regardless:
    /// by then the thread has had all the time it needs (this also covers a
    /// kernel without the `syscall` file).
    fn wait_asleep(&self, which: impl Fn(i64) -> bool) {
        let path = format!("/proc/self/task/{}/syscall", self.tid);
        common::wait_for(SECS, || {
            let now = std::fs::read_to_string(&path).unwrap_or_default();
            self.handle.is_finished() || now.split(' ').next().and_then(|nr| nr.parse().ok()).is_some_and(&which)
        });
    }

    /// The result, and when the operation returned. Fails the test if the
    /// operation is still blocked after [`SECS`] (leaving its thread behind).
    fn join(self) -> (T, Instant) {
        assert!(common::wait_for(SECS, || self.handle.is_finished()), "still blocked after {SECS} s");
        self.handle.join().unwrap()
    }
}

impl Blocked<Ended> {
    /// Sends `msg` on `conn` in a new thread.
    fn call(conn: &Arc<Connection>, msg: &str) -> Blocked<Ended> {
        let (conn, msg) = (conn.clone(), msg.to_string());
        Blocked::start(move || {
            let mut reply = [0u8; 64];
            let t0 = Instant::now();
            Ended::new(conn.send(msg.as_bytes(), &mut reply), &reply, t0)
        })
    }

    /// Waits until the call is blocked (or done).
    fn wait_blocked(&self) {
        self.wait_asleep(|nr| nr == libc::SYS_futex);
    }
}

// ---- Child roles -----------------------------------------------------------

/// A server: creates the channel named by its argument, receives one
/// message, holds it, and never receives again.
fn server() {
    let ch = Channel::builder().name(&common::args()[0]).create().unwrap();
    common::say("ready");
    let _held = ch.receive(&mut [0u8; 64]).unwrap();
    common::say("holding");
    loop {
        std::thread::park();
    }
}

/// A client: opens the channel named by its first argument, says its
/// scoid, makes as many calls at once as its second argument says (one
/// thread each, messages `call 0`, `call 1`, ...), says `blocked` once all
/// are blocked, then how each ended, in order.
fn caller() {
    let args = common::args();
    let conn = Arc::new(Connection::open(&args[0]).unwrap());
    common::say(format!("scoid {}", conn.scoid()));
    let n: usize = args[1].parse().unwrap();
    let calls: Vec<_> = (0..n).map(|i| Blocked::call(&conn, &format!("call {i}"))).collect();
    calls.iter().for_each(Blocked::wait_blocked);
    common::say("blocked");
    for c in calls {
        common::say(c.join().0);
    }
}

/// A client that drops one of its two handles to the channel named by its
/// argument, calls through the other, drops that one too, says `dropped`,
/// and lives on.
fn dropper() {
    let name = &common::args()[0];
    let (first, second) = (Connection::open(name).unwrap(), Connection::open(name).unwrap());
    common::say(format!("scoid {}", first.scoid()));
    drop(first);
    second.send(b"still connected", &mut []).unwrap();
    drop(second);
    common::say("dropped");
    loop {
        std::thread::park();
    }
}

/// A client with a `COID_DISCONNECT` channel of its own: says its coid,
/// makes one call, says `blocked`, then how that call ended, how a second
/// call ends, and the pulse its channel gets (`pulse CODE VALUE`).
fn watcher() {
    let own = Channel::builder().coid_disconnect(true).create().unwrap();
    let conn = Arc::new(Connection::open(&common::args()[0]).unwrap());
    common::say(format!("coid {}", conn.id()));
    let call = Blocked::call(&conn, "watcher");
    call.wait_blocked();
    common::say("blocked");
    common::say(call.join().0);
    common::say(Blocked::call(&conn, "later").join().0);
    let p = own.receive_pulse(secs()).unwrap();
    common::say(format!("pulse {} {}", p.code, p.value));
}

// ---- Helpers of the test process -------------------------------------------

fn secs() -> Deadline {
    Deadline::after(Duration::from_secs(SECS))
}

/// A new channel named `name`; `disconnect` asks for disconnect pulses.
fn channel(name: &str, disconnect: bool) -> Channel {
    common::setup();
    Channel::builder().name(name).disconnect(disconnect).create().unwrap()
}

/// The number the child's next line gives after `key` (`"scoid 3"`).
fn number(c: &Child, key: &str) -> i64 {
    let line = c.line(SECS);
    let n = line.strip_prefix(key).and_then(|r| r.trim().parse().ok());
    n.unwrap_or_else(|| panic!("expected `{key} N`, got {line:?}"))
}

/// How the child's next call ended.
fn ended(c: &Child) -> Ended {
    Ended::parse(&c.line(SECS))
}

/// Receives the next message, which must come from `from`.
fn receive_from(ch: &Channel, from: &Child) -> Request {
    match ch.receive_deadline(&mut [0u8; 64], secs()).unwrap() {
        Received::Message(req) => {
            assert_eq!(req.info().pid, from.pid(), "{:?}", req.info());
            req
        }
        Received::Pulse(p) => panic!("expected a message, got pulse {p:?}"),
    }
}

/// Waits for the disconnect pulse of connection `scoid`.
fn await_disconnect(ch: &Channel, scoid: i64) {
    let p = ch.receive_pulse(secs()).unwrap();
    assert_eq!((p.code, i64::from(p.scoid)), (pulse_code::DISCONNECT, scoid), "{p:?}");
}

fn assert_errno<T: std::fmt::Debug>(r: baton::Result<T>, errno: i32) {
    assert_eq!(r.as_ref().err().map(|e| e.errno()), Some(errno), "{r:?}");
}

/// Starts a `caller` making `n` calls to `ch` (named `name`), receives
/// them all and gives them to `hold`; then kills the client and waits for
/// its disconnect pulse, so that its death is known.
fn with_dead_client<T>(ch: &Channel, name: &str, n: usize, hold: impl FnOnce(Vec<Request>) -> T) -> T {
    let mut client = common::spawn("caller", &[name, &n.to_string()]);
    let scoid = number(&client, "scoid");
    let held = hold((0..n).map(|_| receive_from(ch, &client)).collect());
    assert_eq!(client.line(SECS), "blocked");
    client.kill9();
    await_disconnect(ch, scoid);
    held
}

// ---- Server death ----------------------------------------------------------

#[test]
fn server_death_fails_send_and_reply_blocked_calls() {
    common::setup();
    let _dog = common::watchdog(DOG);
    let name = "death/server-killed";
    let mut server = common::spawn("server", &[name]);
    assert_eq!(server.line(SECS), "ready");
    let conn = Arc::new(Connection::open(name).unwrap());
    let replying = Blocked::call(&conn, "reply-blocked");
    assert_eq!(server.line(SECS), "holding");
    // The server receives no more: this call stays SEND-blocked.
    let sending = Blocked::call(&conn, "send-blocked");
    sending.wait_blocked();
    let killed = Instant::now();
    server.kill9();
    for (state, call) in [("REPLY", replying), ("SEND", sending)] {
        let (e, at) = call.join();
        eprintln!("{state}-blocked call failed {:?} after the SIGKILL", at - killed);
        assert_eq!(e.errno, libc::ESRCH, "{state}-blocked call: {e:?}");
    }
    assert!(conn.is_closed());
    assert_errno(conn.send(b"later", &mut []), libc::EBADF);
}

// ---- Client death and disconnection ------------------------------------------

#[test]
fn client_killed_while_send_blocked_leaves_nothing() {
    let _dog = common::watchdog(DOG);
    let name = "death/client-send-blocked";
    let ch = channel(name, true);
    let mut client = common::spawn("caller", &[name, "1"]);
    let scoid = number(&client, "scoid");
    assert_eq!(client.line(SECS), "blocked"); // SEND-blocked: we do not receive
    client.kill9();
    await_disconnect(&ch, scoid);
    assert!(ch.try_receive(&mut [0u8; 64]).unwrap().is_none(), "the dead client's message is still queued");
    assert_eq!(ch.connection_count(), 0);
}

#[test]
fn client_killed_while_reply_blocked_cannot_be_replied_to() {
    let _dog = common::watchdog(DOG);
    let name = "death/client-reply-blocked";
    let ch = channel(name, true);
    let held = with_dead_client(&ch, name, 1, |reqs| reqs);
    for req in held {
        assert_errno(req.reply(0, b"too late"), libc::ESRCH);
    }
}

/// Requests parked before their client died are gone with it.
#[test]
fn parked_requests_of_a_dead_client_cannot_be_answered() {
    let _dog = common::watchdog(DOG);
    let name = "death/client-parked";
    let ch = channel(name, true);
    let ids: Vec<ReceiveId> = with_dead_client(&ch, name, 2, |reqs| reqs.into_iter().map(Request::park).collect());
    assert_errno(ids[0].reply(0, b"too late"), libc::ESRCH);
    assert_errno(ids[1].error(libc::EINTR), libc::ESRCH);
}

/// Dropping one of two handles keeps the connection; dropping the last
/// disconnects, though the process lives on.
#[test]
fn dropping_the_last_connection_disconnects() {
    let _dog = common::watchdog(DOG);
    let name = "death/dropped";
    let ch = channel(name, true);
    let mut client = common::spawn("dropper", &[name]);
    let scoid = number(&client, "scoid");
    // Had dropping one handle disconnected, the disconnect pulse would come
    // first: it goes ahead of messages.
    let req = receive_from(&ch, &client);
    assert_eq!(i64::from(req.info().scoid), scoid);
    req.reply(0, b"").unwrap();
    assert_eq!(client.line(SECS), "dropped");
    await_disconnect(&ch, scoid);
    assert!(client.child.try_wait().unwrap().is_none(), "the client should still be alive");
}

// ---- Channel destruction -----------------------------------------------------

/// Destroying a channel wakes its REPLY-, SEND- and RECEIVE-blocked parties
/// with `ESRCH`; the clients' later calls fail with `EBADF`, and a client
/// that asked gets a COIDDEATH pulse.
#[test]
fn destroying_a_channel_wakes_everyone_blocked_on_it() {
    let _dog = common::watchdog(DOG);
    let name = "death/destroyed";
    let ch = Arc::new(channel(name, false));
    let replying = common::spawn("watcher", &[name]);
    let replying_coid = number(&replying, "coid");
    let held = receive_from(&ch, &replying);
    assert_eq!(replying.line(SECS), "blocked");
    let sending = common::spawn("watcher", &[name]);
    let sending_coid = number(&sending, "coid");
    // Nobody takes messages from now on: this call stays SEND-blocked, and
    // a pulse-only receive blocks while its message waits.
    assert_eq!(sending.line(SECS), "blocked");
    let receiving = {
        let ch = ch.clone();
        Blocked::start(move || ch.receive_pulse(Deadline::NEVER))
    };
    receiving.wait_asleep(|nr| nr >= 0);
    ch.destroy();
    assert_errno(receiving.join().0, libc::ESRCH);
    for (client, coid) in [(replying, replying_coid), (sending, sending_coid)] {
        let (blocked, later) = (ended(&client), ended(&client));
        assert_eq!((blocked.errno, later.errno), (libc::ESRCH, libc::EBADF), "{blocked:?} then {later:?}");
        assert_eq!(client.line(SECS), format!("pulse {} {coid}", pulse_code::COIDDEATH));
        client.wait_ok(SECS);
    }
    assert_errno(held.reply(0, b"gone"), libc::ESRCH);
}

#[test]
fn destroying_a_channel_wakes_its_receivers() {
    common::setup();
    let _dog = common::watchdog(DOG);
    let ch = Arc::new(Channel::create().unwrap());
    let any = ch.clone();
    let pulses = ch.clone();
    let receivers = [
        Blocked::start(move || any.receive(&mut [0u8; 64]).map(|_| ())),
        Blocked::start(move || pulses.receive_pulse(Deadline::NEVER).map(|_| ())),
    ];
    receivers.iter().for_each(|r| r.wait_asleep(|nr| nr >= 0));
    ch.destroy();
    for r in receivers {
        assert_errno(r.join().0, libc::ESRCH);
    }
    assert_errno(ch.receive_deadline(&mut [0u8; 64], Deadline::IMMEDIATE).map(|_| ()), libc::ESRCH);
}

// ---- Reply rules -------------------------------------------------------------

/// Starts a `caller` making one call to `ch` (named `name`) and receives it.
fn one_call(ch: &Channel, name: &str) -> (Child, Request) {
    let client = common::spawn("caller", &[name, "1"]);
    number(&client, "scoid");
    let req = receive_from(ch, &client);
    (client, req)
}

#[test]
fn a_receive_id_is_answered_once() {
    let _dog = common::watchdog(DOG);
    let name = "death/double-reply";
    let ch = channel(name, false);
    let (client, req) = one_call(&ch, name);
    let id = req.park();
    id.reply(3, b"once").unwrap();
    assert_errno(id.reply(4, b"twice"), libc::ESRCH);
    assert_errno(id.error(libc::EINVAL), libc::ESRCH);
    assert_eq!(client.line(SECS), "blocked");
    let e = ended(&client);
    assert_eq!((e.errno, e.status, e.text.as_str()), (0, 3, "once"), "{e:?}");
    client.wait_ok(SECS);
}

#[test]
fn dropping_a_request_fails_the_call_with_eio() {
    let _dog = common::watchdog(DOG);
    let name = "death/dropped-request";
    let ch = channel(name, false);
    let (client, req) = one_call(&ch, name);
    drop(req);
    assert_eq!(client.line(SECS), "blocked");
    assert_eq!(ended(&client).errno, libc::EIO);
    client.wait_ok(SECS);
}
