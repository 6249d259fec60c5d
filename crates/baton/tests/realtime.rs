//! Real-time behaviour between real processes and real `SCHED_FIFO` threads
//! (SEMANTICS.md, "Priorities"; issue 3): the ready queue's order by the
//! senders' checked priorities, priority inheritance read back from the
//! kernel (one server, a chain of three, none on a fixed-priority channel),
//! the send-time boost, a priority inversion that inheritance resolves, the
//! priority of pulses, and the runtime thread's priority for real-time
//! pulse timers.
//!
//! The kernel's view of a thread comes from `/proc/PID/task/TID/stat`
//! (field 18: `-1 - p` while it runs at real-time priority p, its own or
//! inherited; `20 + nice` otherwise). A call or pulse is known to be posted
//! once its thread sleeps in a futex (`/proc/.../syscall`): a call posts its
//! message before it first sleeps, and a real-time caller's
//! priority-inheritance waits (`FUTEX_LOCK_PI2`) are futex calls too.
//!
//! The tests need `SCHED_FIFO` (root, or `RLIMIT_RTPRIO`); without it each
//! says so in a `NOTE:` line and passes. They take turns with the inversion
//! test, whose CPU hogs would starve their processes meanwhile.
// One raw `sched_setscheduler`, to change a thread's policy behind baton's back.
#![allow(unsafe_code)]

mod common;

use baton::{Channel, Clock, Connection, Deadline, Policy, Received, Request, Timeout, Timer};
use common::{Child, Ended};
use rustix::thread::CpuSet;
use std::cmp::Reverse;
use std::fmt::Debug;
use std::sync::{mpsc, Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the test waits for what must happen (a line, a message, a
/// thread's state).
const SECS: u64 = 20;
/// The watchdog of each test.
const DOG: u64 = 120;
/// Time a fixed-priority server is given to show a boost it must not get.
const SETTLE: Duration = Duration::from_millis(100);
/// Code of the pulses a `queuer` sends (the value is the item's index).
const PULSE: i8 = 7;
/// Code of the pulse that lets a `holder` answer the call it holds.
const RELEASE: i8 = 9;
/// Code of the pulses of the timer tests.
const TICK: i8 = 11;
/// Period of the timer that runs while the hogs do.
const PERIOD: Duration = Duration::from_millis(10);
/// Priority of the CPU hogs of the inversion test.
const HOG: i32 = 30;
/// How long each hog spins (wall clock).
const HOG_TIME: Duration = Duration::from_secs(4);
/// Priority of the inversion test's client, above the hogs.
const CLIENT: i32 = 60;
/// CPU time the inversion test's server spends on a request: far more than
/// a `SCHED_OTHER` thread gets while the hogs run (RT throttling leaves
/// normal threads 5% of each CPU: at most 2 × 5% × 4 s = 400 ms), far less
/// than [`HOG_TIME`].
const WORK: Duration = Duration::from_secs(1);
/// The system calls a server thread idle in receive sleeps in: the epoll
/// wait, or `futex_waitv` on its connections' doorbell words.
const EPOLL: [i64; 3] = [libc::SYS_epoll_pwait, libc::SYS_epoll_pwait2, libc::SYS_futex_waitv];

#[test]
fn child() {
    common::child_main(&[("queuer", queuer), ("holder", holder), ("relay", relay), ("worker", worker)]);
}

// ---- Turns, and the permission to run -----------------------------------------

/// Each test holds a shared turn; the inversion test, whose hogs would
/// starve every normal thread, an exclusive one.
static TURNS: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    TURNS.read().unwrap_or_else(PoisonError::into_inner)
}

fn alone() -> RwLockWriteGuard<'static, ()> {
    TURNS.write().unwrap_or_else(PoisonError::into_inner)
}

/// Starts `test` in `turn` and arms its watchdog; `None`, after a note, if
/// this process may not use `SCHED_FIFO` up to the highest priority the
/// tests use (80, the spoofer's).
fn begin<T>(test: &str, turn: T) -> Option<(T, common::Watchdog)> {
    common::setup();
    let dog = common::watchdog(DOG);
    match std::thread::spawn(|| baton::set_thread_priority(Policy::Fifo, 80)).join().unwrap() {
        Ok(()) => Some((turn, dog)),
        Err(e) if e.errno() == libc::EPERM => {
            common::note(format!("skipped {test} (not permitted: SCHED_FIFO needs root or RLIMIT_RTPRIO: {e})"));
            None
        }
        Err(e) => panic!("setting SCHED_FIFO failed: {e}"),
    }
}

// ---- Threads as the kernel sees them -------------------------------------------

fn gettid() -> i32 {
    rustix::thread::gettid().as_raw_nonzero().get()
}

/// A thread of some process, as `/proc` shows it.
#[derive(Clone, Copy, Debug)]
struct Task {
    pid: i32,
    tid: i32,
}

impl Task {
    /// The calling thread.
    fn me() -> Task {
        Task::mine(gettid())
    }

    /// Thread `tid` of this process.
    fn mine(tid: i32) -> Task {
        Task { pid: std::process::id() as i32, tid }
    }

    /// The thread a server child named in its `tid N` line.
    fn announced(child: &Child) -> Task {
        let line = child.line(SECS);
        let tid = line.strip_prefix("tid ").and_then(|t| t.parse().ok());
        Task { pid: child.pid(), tid: tid.unwrap_or_else(|| panic!("expected `tid N`, got {line:?}")) }
    }

    fn read(self, file: &str) -> String {
        std::fs::read_to_string(format!("/proc/{}/task/{}/{file}", self.pid, self.tid)).unwrap_or_default()
    }

    /// The priority the kernel runs the thread at (field 18 of `stat`).
    fn priority(self) -> i32 {
        let stat = self.read("stat");
        // The name (field 2) may hold spaces: count from field 3, after it.
        let fields = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
        let prio = fields.split(' ').nth(18 - 3).and_then(|f| f.parse().ok());
        prio.unwrap_or_else(|| panic!("no priority in the stat of {self:?}: {stat:?}"))
    }

    /// The system call the thread sleeps in, if it sleeps in one.
    fn syscall(self) -> Option<i64> {
        self.read("syscall").split(' ').next()?.parse().ok()
    }

    fn await_priority(self, want: i32) {
        eventually(format!("{self:?} at priority {want}"), || self.priority(), |&p| p == want);
    }

    fn await_syscall(self, which: &[i64]) {
        eventually(
            format!("{self:?} asleep in {which:?}"),
            || self.syscall(),
            |nr| nr.is_some_and(|n| which.contains(&n)),
        );
    }
}

/// Polls `read` until `good` accepts what it gives; fails after [`SECS`],
/// naming `what` and the last value.
fn eventually<T: Debug>(what: String, mut read: impl FnMut() -> T, good: impl Fn(&T) -> bool) {
    let mut last = None;
    let ok = common::wait_for(SECS, || good(last.insert(read())));
    assert!(ok, "expected {what}, still {last:?} after {SECS} s");
}

// ---- Queued items ----------------------------------------------------------------

/// What one thread of a `queuer` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Calls the server.
    Call,
    /// Calls after leaving its real-time policy behind baton's back: it
    /// still claims the priority baton cached.
    Spoof,
    /// Sends a pulse at its own priority, or at the one given.
    Pulse(Option<i32>),
}

/// One thread of a `queuer`: what it does, at which policy and level.
/// Written `call fifo 30`, `call other -5` (nice), `spoof fifo 80`,
/// `pulse fifo 45`, `pulse:99 other 0`.
#[derive(Clone, Copy, Debug)]
struct Spec {
    kind: Kind,
    policy: Policy,
    level: i32,
}

impl Spec {
    fn parse(s: &str) -> Spec {
        let spec = || {
            let mut w = s.split(' ');
            let kind = match w.next()? {
                "call" => Kind::Call,
                "spoof" => Kind::Spoof,
                "pulse" => Kind::Pulse(None),
                k => Kind::Pulse(Some(k.strip_prefix("pulse:")?.parse().ok()?)),
            };
            let policy = match w.next()? {
                "fifo" => Policy::Fifo,
                "other" => Policy::Other,
                _ => return None,
            };
            Some(Spec { kind, policy, level: w.next()?.parse().ok()? })
        };
        spec().unwrap_or_else(|| panic!("bad spec {s:?}"))
    }

    fn is_pulse(self) -> bool {
        matches!(self.kind, Kind::Pulse(_))
    }

    /// What the server must see: the sender thread's attributes as the
    /// kernel knows them, whatever it claims.
    fn seen(self, index: usize) -> Got {
        let (policy, priority) = if self.kind == Kind::Spoof { (Policy::Other, 0) } else { (self.policy, self.level) };
        Got { index, pulse: self.is_pulse(), policy: policy.as_raw(), priority }
    }
}

/// What the server received: which item (its index in the queuer's list),
/// a pulse or a message, and the policy and priority reported with it.
#[derive(Debug, PartialEq, Eq)]
struct Got {
    index: usize,
    pulse: bool,
    policy: i32,
    priority: i32,
}

/// Starts a thread that takes the attributes `spec` gives and does what it
/// says on `conn` as item `index` (the message's text, the pulse's value).
/// Returns the thread's id and, for a call, how the call ends. A pulse's
/// thread stays alive: the server checks a claim against the live thread.
fn start(conn: &Arc<Connection>, index: usize, spec: Spec) -> (i32, Option<JoinHandle<Ended>>) {
    let (conn, (tx, rx)) = (conn.clone(), mpsc::channel());
    let thread = std::thread::spawn(move || {
        baton::set_thread_priority(spec.policy, spec.level).unwrap_or_else(|e| panic!("{spec:?}: {e}"));
        if spec.kind == Kind::Spoof {
            leave_realtime_behind_batons_back();
        }
        tx.send(gettid()).unwrap();
        match spec.kind {
            Kind::Pulse(given) => {
                let value = index as i64;
                given
                    .map_or_else(|| conn.send_pulse(PULSE, value), |p| conn.send_pulse_priority(p, PULSE, value))
                    .unwrap();
                loop {
                    std::thread::park();
                }
            }
            Kind::Call | Kind::Spoof => {
                let mut reply = [0u8; 64];
                let t0 = Instant::now();
                Ended::new(conn.send(index.to_string().as_bytes(), &mut reply), &reply, t0)
            }
        }
    });
    let tid = rx.recv().unwrap();
    (tid, (!spec.is_pulse()).then_some(thread))
}

/// Makes the calling thread `SCHED_OTHER` without telling baton.
fn leave_realtime_behind_batons_back() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid `sched_param` that outlives the call; pid 0
    // is the calling thread.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_OTHER, &param) };
    assert_eq!(rc, 0, "sched_setscheduler: {}", std::io::Error::last_os_error());
}

/// A client: opens the channel named by its first argument and, for each
/// further argument (a [`Spec`]), starts a thread and waits until it sleeps
/// (its message or pulse is posted) before starting the next; says
/// `posted`, then how each call ended, in order.
fn queuer() {
    let args = common::args();
    let conn = Arc::new(Connection::open(&args[0]).unwrap());
    let calls: Vec<_> = (args[1..].iter().enumerate())
        .map(|(i, s)| {
            let (tid, call) = start(&conn, i, Spec::parse(s));
            Task::mine(tid).await_syscall(&[libc::SYS_futex]);
            call
        })
        .collect();
    common::say("posted");
    for call in calls.into_iter().flatten() {
        common::say(call.join().unwrap());
    }
}

/// A `queuer` child, once everything it sends is posted.
struct Queuer {
    child: Child,
    specs: Vec<Spec>,
}

impl Queuer {
    /// Starts a `queuer` on channel `name` with `specs`; returns once all
    /// are posted.
    fn post(name: &str, specs: &[&str]) -> Queuer {
        let child = common::spawn("queuer", &[&[name], specs].concat());
        assert_eq!(child.line(SECS), "posted");
        Queuer { child, specs: specs.iter().map(|s| Spec::parse(s)).collect() }
    }

    /// What the server must receive, in order: real-time senders first,
    /// higher priority first; then normal ones, lower nice first; FIFO
    /// among equals (the sort is stable).
    fn expected(&self) -> Vec<Got> {
        let mut seen: Vec<Got> = self.specs.iter().enumerate().map(|(i, s)| s.seen(i)).collect();
        seen.sort_by_key(|g| match Policy::from_raw(g.policy) {
            Some(p) if p.is_realtime() => Reverse((1, g.priority)),
            _ => Reverse((0, -g.priority)),
        });
        seen
    }

    /// Checks that every call was answered with its own index (see
    /// [`take`]) and that the child exits.
    fn finish(self) {
        for (i, s) in self.specs.iter().enumerate().filter(|(_, s)| !s.is_pulse()) {
            let e = Ended::parse(&self.child.line(SECS));
            assert_eq!((e.errno, e.text), (0, i.to_string()), "call {i} ({s:?})");
        }
        self.child.wait_ok(SECS);
    }
}

fn secs() -> Deadline {
    Deadline::after(Duration::from_secs(SECS))
}

/// Receives the next item from a queuer; a message is handed back too, to
/// answer.
fn next(ch: &Channel) -> (Got, Option<Request>) {
    let mut buf = [0u8; 64];
    match ch.receive_deadline(&mut buf, secs()).unwrap() {
        Received::Message(req) => {
            let text = String::from_utf8_lossy(&buf[..req.len()]);
            let index = text.parse().unwrap_or_else(|_| panic!("not a queued item: {text:?}"));
            let info = req.info();
            (Got { index, pulse: false, policy: info.policy, priority: info.priority }, Some(req))
        }
        Received::Pulse(p) => {
            assert_eq!(p.code, PULSE, "{p:?}");
            (Got { index: p.value as usize, pulse: true, policy: p.policy, priority: p.priority }, None)
        }
    }
}

/// Answers queued call `index` with its index.
fn answer(req: Request, index: usize) {
    req.reply(0, index.to_string().as_bytes()).unwrap();
}

/// Receives the next item, answering a message at once.
fn take(ch: &Channel) -> Got {
    let (got, req) = next(ch);
    if let Some(req) = req {
        answer(req, got.index);
    }
    got
}

fn take_all(ch: &Channel, n: usize) -> Vec<Got> {
    (0..n).map(|_| take(ch)).collect()
}

fn channel(name: &str) -> Channel {
    Channel::builder().name(name).create().unwrap()
}

// ---- Server roles ------------------------------------------------------------------

/// The channel of a server role: named by the first argument, fixed
/// priority if the second is `fixed`. Says `tid N`: the calling thread,
/// which receives.
fn serving() -> Channel {
    let args = common::args();
    let ch = Channel::builder().name(&args[0]).fixed_priority(args[1] == "fixed").create().unwrap();
    common::say(format!("tid {}", gettid()));
    ch
}

fn mode(fixed: bool) -> &'static str {
    if fixed {
        "fixed"
    } else {
        "inherit"
    }
}

/// The line a `holder` says when it takes a call.
fn took(policy: i32, priority: i32) -> String {
    format!("took {policy} {priority}")
}

/// A server ([`serving`]) that holds each call until a [`RELEASE`] pulse
/// arrives: says `took POLICY PRIORITY` (the call's info), waits, replies
/// with the message, says `replied`.
fn holder() {
    let ch = serving();
    common::serve(&ch, |req, body| {
        let info = req.info();
        common::say(took(info.policy, info.priority));
        // Another thread waits for the pulse: a receive of this thread's
        // own would end the boost it holds.
        let wait = || ch.receive_pulse(Deadline::after(Duration::from_secs(DOG)));
        let pulse = std::thread::scope(|s| s.spawn(wait).join().unwrap()).unwrap();
        assert_eq!(pulse.code, RELEASE, "{pulse:?}");
        req.reply(0, body).unwrap();
        common::say("replied");
    });
}

/// A server ([`serving`]) that passes each call on to the channel named by
/// its third argument and replies with that answer.
fn relay() {
    let ch = serving();
    let next = Connection::open(&common::args()[2]).unwrap();
    common::serve(&ch, |req, body| {
        let mut reply = [0u8; 64];
        let r = next.send(body, &mut reply).unwrap();
        req.reply(r.status, &reply[..r.len]).unwrap();
    });
}

/// A server ([`serving`]) that spends [`WORK`] of CPU time on each call,
/// then replies with the message.
fn worker() {
    let ch = serving();
    common::serve(&ch, |req, body| {
        burn(WORK);
        req.reply(0, body).unwrap();
    });
}

/// Spins until the calling thread has used `cpu` of CPU time (or, as a
/// bound, a minute has passed).
fn burn(cpu: Duration) {
    let used = || Duration::try_from(rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime)).unwrap();
    let (start, cap) = (used(), Instant::now() + Duration::from_secs(60));
    while used() - start < cpu && Instant::now() < cap {
        std::hint::spin_loop();
    }
}

/// Lets a `holder` answer the call it holds, and waits until it has.
fn release(conn: &Connection, holder: &Child) {
    conn.send_pulse(RELEASE, 0).unwrap();
    assert_eq!(holder.line(SECS), "replied");
}

// ---- Queue order ------------------------------------------------------------------

/// The server is busy with a normal call while calls of every kind queue
/// up; it then receives them in priority order, FIFO among equals, and is
/// told each sender's real policy and priority. Meanwhile the queued
/// real-time calls raise the busy thread (the send-time boost).
#[test]
fn the_queue_is_ordered_by_priority_fifo_among_equals() {
    let Some(_run) = begin("queue order", shared()) else { return };
    let name = "realtime/order";
    let ch = channel(name);
    let holder = Queuer::post(name, &["call other 0"]);
    let (_, held) = next(&ch);
    let mut specs = vec![
        "call fifo 10",
        "call other 0",
        "call fifo 30",
        "call other 5",
        "call fifo 20",
        "call other 0",
        "call fifo 30",
        "call fifo 5",
        "call other 0",
    ];
    if rustix::process::geteuid().is_root() {
        specs.push("call other -5");
    } else {
        common::note("queue order: no nice -5 caller (not permitted: not root)");
    }
    let queued = Queuer::post(name, &specs);
    // This thread, the channel's last receiver, is what the new
    // connection's real-time callers raise.
    Task::me().await_priority(-1 - 30);
    answer(held.unwrap(), 0);
    // fifo 30, fifo 30, 20, 10, 5; nice -5; nice 0 ×3; nice 5.
    assert_eq!(take_all(&ch, specs.len()), queued.expected());
    holder.finish();
    queued.finish();
}

/// With every server thread busy (none receiving, so the call rings), a
/// real-time call raises the busy thread at once, however long its
/// connection's boost delay; and so does the next such call: the thread
/// handed the boost word back names the server thread in it again.
#[test]
fn a_realtime_call_raises_a_busy_server_at_once_every_time() {
    let Some(_run) = begin("immediate boost", shared()) else { return };
    let name = "realtime/immediate";
    let ch = channel(name);
    let normal = Queuer::post(name, &["call other 0", "call other 0"]);
    let conn = Arc::new(Connection::builder().boost_delay(Duration::from_secs(3600)).open(name).unwrap());
    let normal_priority = Task::me().priority();
    for round in 0..2 {
        let (got, held) = next(&ch);
        assert_eq!((got.index, got.policy), (round, libc::SCHED_OTHER), "round {round}");
        let (_, call) = start(&conn, 10 + round, Spec::parse("call fifo 30"));
        Task::me().await_priority(-1 - 30);
        answer(held.unwrap(), round);
        let got = take(&ch);
        assert_eq!((got.index, got.policy, got.priority), (10 + round, libc::SCHED_FIFO, 30), "round {round}");
        let ended = call.unwrap().join().unwrap();
        assert_eq!((ended.errno, ended.text), (0, (10 + round).to_string()), "round {round}");
        assert_eq!(Task::me().priority(), normal_priority, "after round {round}'s answer");
    }
    normal.finish();
}

/// With both threads of a pool busy, a real-time call raises the one its
/// new connection's boost word names (the channel's last receiver, this
/// thread); the other thread, freed first, takes it, and the call is
/// answered although the thread it waits on never releases the word (its
/// client looks again when its wait's slice ends).
#[test]
fn a_realtime_call_taken_by_another_thread_than_the_one_it_raised_is_answered() {
    let Some(_run) = begin("boost of another pool thread", shared()) else { return };
    let name = "realtime/pool";
    let ch = Arc::new(channel(name));
    let normal = Queuer::post(name, &["call other 0", "call other 0"]);
    let (took_tx, took_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let other = {
        let ch = ch.clone();
        std::thread::spawn(move || {
            let (got, held) = next(&ch);
            took_tx.send(got.index).unwrap();
            go_rx.recv().unwrap();
            answer(held.unwrap(), got.index);
            take(&ch)
        })
    };
    let first = took_rx.recv().unwrap();
    // This thread receives last: the boost word of a connection made now
    // names it.
    let (second, held) = next(&ch);
    assert_eq!((first, second.index), (0, 1));
    let realtime = Queuer::post(name, &["call fifo 30"]);
    Task::me().await_priority(-1 - 30);
    go_tx.send(()).unwrap();
    let got = other.join().unwrap();
    assert_eq!((got.index, got.policy, got.priority), (0, libc::SCHED_FIFO, 30), "what the other thread took");
    realtime.finish();
    answer(held.unwrap(), second.index);
    normal.finish();
}

/// A real-time call sent while the server already holds queued normal
/// calls (it took them in with the one it is busy with) is still served
/// before them: the receive looks for new work before it takes from a
/// queue that was filled earlier.
#[test]
fn a_later_realtime_call_overtakes_calls_queued_before_it() {
    let Some(_run) = begin("later call overtakes", shared()) else { return };
    let name = "realtime/overtake";
    let ch = channel(name);
    let early = Queuer::post(name, &["call other 0", "call other 0", "call other 0"]);
    // Taking the first call moves all three into the queue.
    let (first, held) = next(&ch);
    assert_eq!(first.index, 0);
    let late = Queuer::post(name, &["call fifo 20"]);
    answer(held.unwrap(), 0);
    let got = take_all(&ch, 3);
    let order: Vec<_> = got.iter().map(|g| (g.index, g.policy)).collect();
    assert_eq!(order, [(0, libc::SCHED_FIFO), (1, libc::SCHED_OTHER), (2, libc::SCHED_OTHER)], "{got:?}");
    early.finish();
    late.finish();
}

/// A thread that left `SCHED_FIFO` 80 behind baton's back still claims 80;
/// the server ranks it as what it is, normal. So does a pulse sent at
/// priority 99 by a normal thread.
#[test]
fn a_spoofed_priority_does_not_jump_the_queue() {
    let Some(_run) = begin("spoofed priority", shared()) else { return };
    let name = "realtime/spoof";
    let ch = channel(name);
    let queued =
        Queuer::post(name, &["call other 0", "call fifo 20", "spoof fifo 80", "pulse:99 other 0", "call other 0"]);
    let got = take_all(&ch, 5);
    assert_eq!(got.iter().map(|g| g.index).collect::<Vec<_>>(), [1, 0, 2, 3, 4], "{got:?}");
    assert_eq!(got, queued.expected());
    queued.finish();
}

/// A real-time pulse goes ahead of earlier normal calls, carries its
/// sender's priority, and raises the thread that receives it until that
/// thread next receives.
#[test]
fn a_realtime_pulse_goes_first_and_raises_its_receiver() {
    let Some(_run) = begin("pulse priority", shared()) else { return };
    let name = "realtime/pulse";
    let ch = channel(name);
    let me = Task::me();
    let normal = me.priority();
    let queued = Queuer::post(name, &["call other 0", "call other 0", "pulse fifo 45"]);
    let want = queued.expected();
    assert_eq!((want[0].index, want[0].policy, want[0].priority), (2, libc::SCHED_FIFO, 45));
    assert_eq!(take(&ch), want[0]);
    assert_eq!(me.priority(), -1 - 45, "right after receiving the pulse");
    assert_eq!(take(&ch), want[1]);
    assert_eq!(me.priority(), normal, "after the next receive");
    assert_eq!(take(&ch), want[2]);
    queued.finish();
}

// ---- Inheritance ----------------------------------------------------------------------

/// A `SCHED_OTHER` server holds a call from a `SCHED_FIFO` 50 thread: its
/// serving thread runs at 50 until it replies, or keeps its own priority
/// on a fixed-priority channel.
fn check_inheritance(fixed: bool) {
    let name = format!("realtime/inherit-{}", mode(fixed));
    let server = common::spawn("holder", &[&name, mode(fixed)]);
    let serving = Task::announced(&server);
    let normal = serving.priority();
    assert!(normal >= 0, "the server should run at a normal priority: {normal}");
    let conn = Arc::new(Connection::open(&name).unwrap());
    let (caller, call) = start(&conn, 0, Spec::parse("call fifo 50"));
    assert_eq!(server.line(SECS), took(libc::SCHED_FIFO, 50));
    if fixed {
        Task::mine(caller).await_syscall(&[libc::SYS_futex]);
        std::thread::sleep(SETTLE);
        assert_eq!(serving.priority(), normal, "a thread serving a fixed-priority channel was raised");
    } else {
        serving.await_priority(-1 - 50);
    }
    release(&conn, &server);
    assert_eq!(serving.priority(), normal, "after the reply");
    assert_eq!(call.unwrap().join().unwrap().errno, 0);
}

#[test]
fn the_serving_thread_runs_at_its_clients_priority() {
    let Some(_run) = begin("inheritance", shared()) else { return };
    check_inheritance(false);
}

#[test]
fn a_fixed_priority_channel_keeps_the_servers_priority() {
    let Some(_run) = begin("fixed priority", shared()) else { return };
    check_inheritance(true);
}

/// A (`SCHED_FIFO` 40) calls B, which calls C while it serves A; while C
/// holds B's call, C's and B's serving threads both run at 40.
#[test]
fn inheritance_is_transitive_through_a_chain_of_servers() {
    let Some(_run) = begin("transitive inheritance", shared()) else { return };
    let (b_name, c_name) = ("realtime/chain-b", "realtime/chain-c");
    let c = common::spawn("holder", &[c_name, "inherit"]);
    let c_serving = Task::announced(&c);
    let b = common::spawn("relay", &[b_name, "inherit", c_name]);
    let b_serving = Task::announced(&b);
    let (c_normal, b_normal) = (c_serving.priority(), b_serving.priority());
    assert!(c_normal >= 0 && b_normal >= 0, "the servers should run at normal priorities: {c_normal}, {b_normal}");
    let (_, call) = start(&Arc::new(Connection::open(b_name).unwrap()), 0, Spec::parse("call fifo 40"));
    // B claims A's priority for its call, and C's check accepts it.
    assert_eq!(c.line(SECS), took(libc::SCHED_FIFO, 40), "how C sees B's call, made while B serves A");
    c_serving.await_priority(-1 - 40);
    b_serving.await_priority(-1 - 40);
    release(&Connection::open(c_name).unwrap(), &c);
    assert_eq!(c_serving.priority(), c_normal, "C after its reply");
    assert_eq!(call.unwrap().join().unwrap().errno, 0);
    b_serving.await_priority(b_normal);
}

// ---- Priority inversion --------------------------------------------------------------

/// How a call went while CPU hogs ran. All times are this process's
/// (`CLOCK_MONOTONIC`).
#[derive(Debug)]
struct Race {
    start: Instant,
    returned: Instant,
    hogs_stopped: Vec<Instant>,
    ended: Ended,
}

impl Race {
    fn first_stop(&self) -> Instant {
        self.hogs_stopped.iter().copied().min().unwrap()
    }

    fn describe(&self) -> String {
        let ms = |t: Instant| (t - self.start).as_millis();
        let stops: Vec<_> = self.hogs_stopped.iter().map(|&t| ms(t)).collect();
        format!("{} hogs stopped at {stops:?} ms; the call returned at {} ms", stops.len(), ms(self.returned))
    }
}

/// Starts one [`HOG`] thread pinned to each CPU this process may use, each
/// spinning for [`HOG_TIME`]; returns once all spin. Each gives when it
/// stopped.
fn start_hogs() -> Vec<JoinHandle<Instant>> {
    let cpus = rustix::thread::sched_getaffinity(None).unwrap();
    let (tx, rx) = mpsc::channel();
    let hogs: Vec<_> = (0..CpuSet::MAX_CPU)
        .filter(|&cpu| cpus.is_set(cpu))
        .map(|cpu| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut only = CpuSet::new();
                only.set(cpu);
                rustix::thread::sched_setaffinity(None, &only).unwrap();
                baton::set_thread_priority(Policy::Fifo, HOG).unwrap();
                let until = Instant::now() + HOG_TIME;
                tx.send(()).unwrap();
                while Instant::now() < until {
                    std::hint::spin_loop();
                }
                Instant::now()
            })
        })
        .collect();
    hogs.iter().for_each(|_| rx.recv().unwrap());
    hogs
}

/// A `SCHED_OTHER` `worker` idles in receive; hogs take every CPU; a
/// [`CLIENT`] thread, above them, calls the worker.
fn race(fixed: bool) -> Race {
    let name = format!("realtime/inversion-{}", mode(fixed));
    let server = common::spawn("worker", &[&name, mode(fixed)]);
    let serving = Task::announced(&server);
    // Idle in receive before the connection is made, so that the
    // connection's boost word names it, and again before the hogs start.
    serving.await_syscall(&EPOLL);
    let conn = Connection::open(&name).unwrap();
    serving.await_syscall(&EPOLL);
    // This thread only waits: it starves while the hogs run. The client
    // thread, above the hogs, runs them.
    std::thread::spawn(move || {
        baton::set_thread_priority(Policy::Fifo, CLIENT).unwrap();
        let start = Instant::now();
        let hogs = start_hogs();
        let mut reply = [0u8; 8];
        let t0 = Instant::now();
        let r = conn.send_timeout(b"work", &mut reply, Timeout::new(Deadline::after(Duration::from_secs(DOG / 2))));
        let returned = Instant::now();
        let ended = Ended::new(r, &reply, t0);
        let hogs_stopped = hogs.into_iter().map(|h| h.join().unwrap()).collect();
        Race { start, returned, hogs_stopped, ended }
    })
    .join()
    .unwrap()
}

/// With inheritance, the high-priority call completes while middle-priority
/// hogs hold every CPU (the low-priority server runs at its client's
/// priority); on a fixed-priority channel it waits until the hogs stop.
#[test]
fn inheritance_resolves_a_priority_inversion() {
    let Some(_run) = begin("priority inversion", alone()) else { return };
    let inherit = race(false);
    common::note(format!("inversion with inheritance: {}", inherit.describe()));
    assert_eq!((inherit.ended.errno, inherit.ended.text.as_str()), (0, "work"), "{inherit:?}");
    assert!(inherit.returned < inherit.first_stop(), "with inheritance the call waited for the hogs: {inherit:?}");
    let fixed = race(true);
    common::note(format!("inversion on a fixed-priority channel: {}", fixed.describe()));
    assert_eq!((fixed.ended.errno, fixed.ended.text.as_str()), (0, "work"), "{fixed:?}");
    assert!(fixed.returned > fixed.first_stop(), "on a fixed-priority channel the call beat the hogs: {fixed:?}");
}

// ---- Timers ---------------------------------------------------------------------------

/// The process's runtime thread, which sends the timers' pulses.
fn runtime_thread() -> Task {
    let tasks = std::fs::read_dir("/proc/self/task").unwrap();
    let tid = tasks
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .find(|tid: &i32| Task::mine(*tid).read("comm").trim() == "baton-runtime");
    Task::mine(tid.expect("no baton-runtime thread in this process"))
}

/// A channel of this process and a connection to it.
fn own_channel() -> (Channel, Connection) {
    let ch = Channel::builder().pulse_capacity(64).create().unwrap();
    let conn = Connection::attach(0, ch.id()).unwrap();
    (ch, conn)
}

/// While a timer's pulses claim a real-time priority, the runtime thread
/// that sends them runs at the highest such priority; a normal timer
/// changes nothing, and once the last real-time timer is deleted the
/// thread is back where it was.
#[test]
fn realtime_timers_raise_the_thread_that_sends_their_pulses() {
    let Some(_run) = begin("timer priority", shared()) else { return };
    let (_ch, conn) = own_channel();
    let runtime = runtime_thread();
    let normal = runtime.priority();
    assert!(normal >= 0, "the runtime thread should start at a normal priority: {normal}");
    let at_40 = Timer::new(&conn, Clock::Monotonic, 40, TICK, 0).unwrap();
    runtime.await_priority(-1 - 40);
    let at_60 = Timer::new(&conn, Clock::Monotonic, 60, TICK, 0).unwrap();
    runtime.await_priority(-1 - 60);
    let plain = Timer::new(&conn, Clock::Monotonic, 0, TICK, 0).unwrap();
    let another_40 = Timer::new(&conn, Clock::Monotonic, 40, TICK, 0).unwrap();
    assert_eq!(runtime.priority(), -1 - 60, "a lower or normal timer lowered it");
    drop(at_60);
    runtime.await_priority(-1 - 40);
    drop(at_40);
    assert_eq!(runtime.priority(), -1 - 40, "with one timer at 40 left");
    // The creating thread's priority (`-1`): from a `SCHED_FIFO` 50 thread.
    let inherited = std::thread::spawn(move || {
        baton::set_thread_priority(Policy::Fifo, 50).unwrap();
        Timer::new(&conn, Clock::Monotonic, -1, TICK, 0).unwrap()
    })
    .join()
    .unwrap();
    runtime.await_priority(-1 - 50);
    drop(another_40);
    drop(inherited);
    runtime.await_priority(normal);
    drop(plain);
}

/// A real-time timer's pulses keep coming while `SCHED_FIFO` hogs below
/// them hold every CPU: the runtime thread runs above the hogs (at a normal
/// priority it would get only what RT throttling leaves, 5% of each CPU).
#[test]
fn realtime_timer_pulses_leave_while_hogs_hold_every_cpu() {
    let Some(_run) = begin("timer under load", alone()) else { return };
    let (ch, conn) = own_channel();
    let timer = Timer::new(&conn, Clock::Monotonic, 50, TICK, 0).unwrap();
    // This thread starves while the hogs run; the receiver, above them,
    // counts the pulses that arrive before the first hog stops.
    let (got, window, hogs_stopped) = std::thread::scope(|s| {
        s.spawn(|| {
            baton::set_thread_priority(Policy::Fifo, CLIENT).unwrap();
            timer.periodic(PERIOD, PERIOD).unwrap();
            let hogs = start_hogs();
            let start = Instant::now();
            // Well inside the hogs' time, which started just before.
            let end = start + HOG_TIME - Duration::from_millis(500);
            let mut got = 0u32;
            while Instant::now() < end {
                match ch.receive_pulse(Deadline::after(end - Instant::now())) {
                    Ok(p) if p.code == TICK => got += 1,
                    Ok(p) => panic!("unexpected pulse {p:?}"),
                    Err(e) if e.is_timeout() => break,
                    Err(e) => panic!("receive_pulse: {e}"),
                }
            }
            let window = Instant::now() - start;
            let stopped: Vec<Instant> = hogs.into_iter().map(|h| h.join().unwrap()).collect();
            (got, window, stopped.into_iter().min().unwrap() - start)
        })
        .join()
        .unwrap()
    });
    timer.disarm().unwrap();
    let expiries = (window.as_micros() / PERIOD.as_micros()) as u32;
    common::note(format!(
        "timer under load: {got} pulses in {} ms ({expiries} expiries; the first hog stopped at {} ms)",
        window.as_millis(),
        hogs_stopped.as_millis()
    ));
    assert!(window < hogs_stopped, "the hogs stopped before the count ended");
    // Above the hogs nearly every expiry gets its pulse (339 of 350 here);
    // at a normal priority 131 of 350 did (RT throttling's share).
    assert!(got * 5 >= expiries * 4, "{got} pulses for {expiries} expiries while the hogs ran");
}
