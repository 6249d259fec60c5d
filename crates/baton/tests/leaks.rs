//! Nothing outlives its users: after normal use, killed servers, killed
//! clients, destroyed and dropped channels and normal exits, no baton file
//! is left in the runtime directory and none in /dev/shm; descriptor and
//! thread counts return to their baseline, in a process that churns
//! through channels and connections and in a server whose clients come and
//! go; and one server takes 1000 connections within the default limits.
//!
//! The tests run one at a time (see [`exclusive`]): each checks the whole
//! runtime directory, which they share.
mod common;

use baton::{Channel, Connection, ReceiveId, Request};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

#[test]
fn child() {
    common::child_main(&[("server", server), ("client", client), ("many", many), ("churn", churn)]);
}

/// Starts a test: waits for the others to finish, then sweeps what dead
/// processes left, as any new process does when it first uses the runtime
/// directory. This long-lived test process stands in for a new one here,
/// so that what an earlier test left (a failed one, or a library bug) is
/// not blamed on this one; each test checks what it leaves itself.
fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    common::setup();
    baton::sweep();
    guard
}

/// Descriptors and threads of this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Usage {
    fds: usize,
    threads: usize,
}

impl Usage {
    fn now() -> Usage {
        let count = |dir| fs::read_dir(dir).unwrap().count();
        Usage { fds: count("/proc/self/fd"), threads: count("/proc/self/task") }
    }
}

/// What `sample` gives once it has stopped changing (a thread joined a
/// moment ago may still be listed; a descriptor the runtime thread is about
/// to close may still be open).
fn steady<T: PartialEq>(mut sample: impl FnMut() -> T) -> T {
    let mut last = sample();
    let mut same = 0;
    while same < 5 {
        std::thread::sleep(Duration::from_millis(20));
        let now = sample();
        same = if now == last { same + 1 } else { 0 };
        last = now;
    }
    last
}

/// What this process's descriptors point at, for a leak report.
fn fd_targets() -> Vec<String> {
    let rd = fs::read_dir("/proc/self/fd").unwrap();
    rd.flatten().filter_map(|e| fs::read_link(e.path()).ok()).map(|t| t.display().to_string()).collect()
}

/// The soft and hard `RLIMIT_NOFILE` of this process.
fn nofile_limits() -> String {
    let l = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    let show = |v: Option<u64>| v.map_or("unlimited".to_string(), |v| v.to_string());
    format!("{}/{}", show(l.current), show(l.maximum))
}

/// What a test server reports about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stats {
    usage: Usage,
    connections: usize,
    /// Parked requests whose clients are still there.
    held: usize,
}

impl Stats {
    fn encode(&self) -> String {
        format!("{} {} {} {}", self.usage.fds, self.usage.threads, self.connections, self.held)
    }

    fn decode(s: &str) -> Stats {
        let v: Vec<usize> = s.split(' ').map(|n| n.parse().unwrap()).collect();
        Stats { usage: Usage { fds: v[0], threads: v[1] }, connections: v[2], held: v[3] }
    }
}

/// How the servers of these tests answer: `stats` with [`Stats`], `hold`
/// is parked unanswered until `release` (which answers with how many it
/// released), `quit` destroys the channel, `exit` exits the process with
/// the channel still open; anything else is echoed.
#[derive(Debug, Default)]
struct Answers {
    held: Vec<ReceiveId>,
}

impl Answers {
    fn answer(&mut self, ch: &Channel, req: Request, msg: &[u8]) {
        // A client may die before its answer; a server carries on.
        let _ = match msg {
            b"stats" => {
                self.held.retain_mut(|id| Request::unpark(*id).map(|r| *id = r.park()).is_ok());
                let s = Stats { usage: Usage::now(), connections: ch.connection_count(), held: self.held.len() };
                req.reply(0, s.encode().as_bytes())
            }
            b"hold" => {
                self.held.push(req.park());
                Ok(())
            }
            b"release" => {
                let n = self.held.drain(..).filter(|id| id.reply(0, b"").is_ok()).count();
                req.reply(n as i64, b"")
            }
            b"quit" => {
                let r = req.reply(0, b"");
                ch.destroy();
                r
            }
            b"exit" => {
                let _ = req.reply(0, b"");
                std::process::exit(0)
            }
            _ => req.reply(0, msg),
        };
    }
}

/// Serves `ch` with [`Answers`] until it is destroyed.
fn serve(ch: &Channel) {
    let mut answers = Answers::default();
    common::serve(ch, |req, msg| answers.answer(ch, req, msg));
}

/// Attaches the name `args[0]` (with the soft descriptor limit `args[1]`
/// at start, if given), says `ready <its descriptor limits>`, serves until
/// `quit`/`exit`.
fn server() {
    let args = common::args();
    if let Some(soft) = args.get(1) {
        use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
        let hard = getrlimit(Resource::Nofile).maximum;
        setrlimit(Resource::Nofile, Rlimit { current: Some(soft.parse().unwrap()), maximum: hard }).unwrap();
    }
    let ch = Channel::attach(&args[0]).unwrap();
    common::say(format!("ready {}", nofile_limits()));
    serve(&ch);
}

/// Opens the name `args[0]`, calls once, says `connected`, then by
/// `args[1]`: `return` (drops everything and exits), `exit` (exits with the
/// connection open), `hold` (a call the server parks; says how it ended),
/// `idle` or `idle-owner` (waits to be killed; the owner also has a
/// channel, so its runtime directory is left behind when it is killed).
fn client() {
    let a = common::args();
    let (name, how) = (&a[0], a[1].as_str());
    let _own = (how == "idle-owner").then(|| Channel::create().unwrap());
    let conn = Connection::open(name).unwrap();
    assert_eq!(conn.send(b"hello", &mut []).unwrap().status, 0);
    common::say("connected");
    match how {
        "return" => {}
        "exit" => std::process::exit(0),
        "hold" => match conn.send(b"hold", &mut []) {
            Ok(r) => common::say(format!("held ok {}", r.status)),
            Err(e) => common::say(format!("held err {}", e.errno())),
        },
        _ => loop {
            std::thread::sleep(Duration::from_secs(3600));
        },
    }
}

/// Opens `args[1]` connections of its own (`no_share`) to the name
/// `args[0]`, calls once on each, says `connected <n>` (or how it failed),
/// then holds a call until the server releases it and exits normally.
fn many() {
    let a = common::args();
    let n: usize = a[1].parse().unwrap();
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        let opened = Connection::builder().no_share(true).open(&a[0]);
        match opened.and_then(|c| c.send(b"hello", &mut []).map(|_| c)) {
            Ok(c) => conns.push(c),
            Err(e) => return common::say(format!("failed after {i} connections: {e}")),
        }
    }
    common::say(format!("connected {n}"));
    conns[0].send(b"hold", &mut []).unwrap();
}

/// Creates channels (named, anonymous, private), connects to them every
/// way (by name, shared, `no_share`), calls on each, then tears it all down,
/// connections first or channels first.
fn churn_round(base: &str, round: usize) {
    let name = format!("{base}/{round}/named");
    let named = Channel::builder().name(&name).create().unwrap();
    let anon = Channel::create().unwrap();
    let private = Channel::builder().private(true).create().unwrap();
    let conns = vec![
        Connection::open(&name).unwrap(),
        Connection::attach(0, anon.id()).unwrap(),
        Connection::attach(0, anon.id()).unwrap(),
        Connection::builder().no_share(true).attach(0, anon.id()).unwrap(),
        Connection::attach(0, private.id()).unwrap(),
    ];
    let channels = [named, anon, private];
    std::thread::scope(|s| {
        for ch in &channels {
            s.spawn(move || serve(ch));
        }
        for c in &conns {
            let mut reply = [0u8; 4];
            assert_eq!(c.send(b"ping", &mut reply).unwrap().len, 4);
        }
        if round % 2 == 0 {
            drop(conns);
            assert!(common::wait_for(60, || channels.iter().all(|ch| ch.connection_count() == 0)));
        }
        for ch in &channels {
            ch.destroy();
        }
    });
}

/// Says whether this process's usage came back to `base` after `what`.
fn report_usage(what: &str, base: Usage, base_fds: &[String]) {
    if common::wait_for(60, || Usage::now() == base) {
        return common::say(format!("steady after {what}"));
    }
    let now = fd_targets();
    let extra: Vec<&String> = now.iter().filter(|t| !base_fds.contains(t)).collect();
    common::say(format!("LEAK after {what}: {:?} -> {:?}, new descriptors {extra:?}", base, Usage::now()));
}

/// In a process of its own, so that the counts are exact: churns through
/// channels and connections, then through peers that die (servers killed
/// under its connections, clients killed while connected to it), and says
/// after each whether its descriptors and threads came back to baseline.
fn churn() {
    let base = &common::args()[0];
    // Warm-up: starts the runtime thread and claims the runtime directory.
    churn_round(base, 0);
    let before = steady(Usage::now);
    let before_fds = fd_targets();
    for round in 1..=40 {
        churn_round(base, round);
    }
    report_usage("channels and connections", before, &before_fds);

    let peer = format!("{base}/peer");
    for _ in 0..4 {
        let mut server = Server::start(&peer);
        server.probe.send(b"ping", &mut []).unwrap();
        server.child.kill9();
        assert!(common::wait_for(60, || server.probe.is_closed()), "the server's death went unnoticed");
    }
    // The next server under that name replaces the last killed one's entries
    // (whether its clients removed them is another test's business).
    Server::start(&peer).quit();
    let mine = Channel::builder().name(format!("{base}/mine")).disconnect(true).create().unwrap();
    std::thread::scope(|s| {
        s.spawn(|| serve(&mine));
        for how in ["idle", "hold", "return", "exit"] {
            let mut client = common::spawn("client", &[&format!("{base}/mine"), how]);
            assert_eq!(client.line(60), "connected");
            if how == "hold" {
                // Killed while REPLY-blocked, once the server holds the call.
                let stats = Connection::open(&format!("{base}/mine")).unwrap();
                assert!(common::wait_for(60, || stats_of(&stats).held == 1));
            }
            match how {
                "return" | "exit" => client.wait_ok(60),
                _ => client.kill9(),
            }
        }
        assert!(common::wait_for(60, || mine.connection_count() == 0));
        mine.destroy();
    });
    drop(mine);
    report_usage("peers that died", before, &before_fds);
}

/// The [`Stats`] of the server at the other end of `conn`.
fn stats_of(conn: &Connection) -> Stats {
    let mut buf = [0u8; 64];
    let r = conn.send(b"stats", &mut buf).unwrap();
    Stats::decode(std::str::from_utf8(&buf[..r.len]).unwrap())
}

/// A `server` child and this process's connection to it.
struct Server {
    child: common::Child,
    probe: Connection,
    /// Its soft/hard descriptor limits once it had attached its name.
    limits: String,
}

impl Server {
    fn start(name: &str) -> Server {
        Server::spawn(&[name])
    }

    /// Starts a server with the role's arguments `args`.
    fn spawn(args: &[&str]) -> Server {
        let child = common::spawn("server", args);
        let line = child.line(60);
        let limits = line.strip_prefix("ready ").unwrap_or_else(|| panic!("server: {line:?}")).to_string();
        Server { child, probe: Connection::open(args[0]).unwrap(), limits }
    }

    fn stats(&self) -> Stats {
        stats_of(&self.probe)
    }

    /// Waits until the server's stats satisfy `ok`; panics with the last
    /// ones if they never do.
    fn wait_stats(&self, what: &str, ok: impl Fn(&Stats) -> bool) -> Stats {
        let mut last = self.stats();
        let done = common::wait_for(60, || {
            last = self.stats();
            ok(&last)
        });
        assert!(done, "{what}: server stats {last:?}");
        last
    }

    /// Asks the server to destroy its channel and exit normally.
    fn quit(self) {
        self.probe.send(b"quit", &mut []).unwrap();
        self.child.wait_ok(60);
    }
}

/// Everything in the runtime directory but its frame (`pid/`, `names/`)
/// and this process's own `pid/<pid>/lock`, as relative paths.
fn leftovers() -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for e in fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = e.path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                walk(root, &path, out);
            }
            out.push(rel);
        }
    }
    let root = common::setup();
    let me = Path::new("pid").join(std::process::id().to_string());
    let frame = [PathBuf::from("pid"), "names".into(), "paths".into(), me.join("lock"), me];
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.retain(|p| !frame.contains(p));
    out
}

/// Entries of /dev/shm whose name mentions baton (there must be none:
/// segments are memfds).
fn shm_files() -> Vec<String> {
    let rd = fs::read_dir("/dev/shm").into_iter().flatten().flatten();
    rd.map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.contains("baton")).collect()
}

/// Waits until nothing is left behind in the runtime directory (cleanup
/// may be the work of a runtime thread that noticed a death) and checks
/// /dev/shm.
fn assert_clean(after: &str) {
    let mut left = Vec::new();
    let clean = common::wait_for(60, || {
        left = leftovers();
        left.is_empty()
    });
    assert!(clean, "after {after}, left in the runtime directory: {left:?}");
    assert_eq!(shm_files(), Vec::<String>::new(), "after {after}, in /dev/shm");
}

#[test]
fn normal_use_and_exit_leave_nothing() {
    let _s = exclusive();
    let _dog = common::watchdog(180);
    let server = Server::start("leaks/normal/a");
    for how in ["return", "exit"] {
        let client = common::spawn("client", &["leaks/normal/a", how]);
        assert_eq!(client.line(60), "connected");
        client.wait_ok(60);
    }
    server.quit();
    assert_clean("a server that destroyed its channel and exited");

    // A process that exits with its channel still attached.
    let server = Server::start("leaks/normal/b");
    server.probe.send(b"exit", &mut []).unwrap();
    server.child.wait_ok(60);
    assert_clean("a server that exited with its channel open");
}

#[test]
fn killed_server_leaves_nothing() {
    let _s = exclusive();
    let _dog = common::watchdog(180);
    let mut server = Server::start("leaks/killed");
    let idle = common::spawn("client", &["leaks/killed", "idle"]);
    let holding = common::spawn("client", &["leaks/killed", "hold"]);
    for c in [&idle, &holding] {
        assert_eq!(c.line(60), "connected");
    }
    server.wait_stats("the held call", |s| s.held == 1);
    // The segments are memfds, never files in /dev/shm.
    let maps = fs::read_to_string("/proc/self/maps").unwrap();
    assert!(maps.contains("/memfd:baton"), "no memfd segment mapped");
    assert_eq!(shm_files(), Vec::<String>::new());

    server.child.kill9();
    assert_eq!(holding.line(60), format!("held err {}", libc::ESRCH));
    assert!(common::wait_for(60, || server.probe.is_closed()));
    let e = server.probe.send(b"ping", &mut []).unwrap_err();
    assert_eq!(e.errno(), libc::EBADF, "{e}");
    // Its clients should have removed its entries (checked on its own in
    // `clients_of_a_killed_server_remove_its_entries`); a new server under
    // its name replaces them anyway.
    Server::start("leaks/killed").quit();
    assert_clean("a server killed with clients connected, and its successor");
}

#[test]
fn clients_of_a_killed_server_remove_its_entries() {
    let _s = exclusive();
    let _dog = common::watchdog(300);
    // Each round races the server's death against this process noticing it.
    for round in 0..20 {
        let mut server = Server::start("leaks/orphaned");
        server.child.kill9();
        assert!(common::wait_for(60, || server.probe.is_closed()));
        assert_clean(&format!("a server killed with a client connected (round {round})"));
    }
}

#[test]
fn killed_clients_leave_nothing() {
    let _s = exclusive();
    let _dog = common::watchdog(180);
    let server = Server::start("leaks/victims");
    let base = steady(|| server.stats());
    let mut clients: Vec<common::Child> =
        ["idle", "hold", "idle-owner"].iter().map(|how| common::spawn("client", &["leaks/victims", how])).collect();
    for c in &clients {
        assert_eq!(c.line(60), "connected");
    }
    server.wait_stats("the held call", |s| s.held == 1);
    clients.iter_mut().for_each(common::Child::kill9);
    server.wait_stats("the clients' deaths", |s| s.connections == base.connections && s.held == 0);
    // The owner's channel had no clients to notice its death: its entries
    // go when the next process starts using the runtime directory.
    let next = Server::start("leaks/next");
    next.quit();
    server.quit();
    assert_clean("clients killed while connected");
}

#[test]
fn destroyed_and_dropped_channels_leave_nothing() {
    let _s = exclusive();
    let _dog = common::watchdog(180);
    let root = common::setup();
    let ch = Channel::attach("leaks/destroyed").unwrap();
    let socket = root.join(format!("pid/{}/{}", ch.pid(), ch.id()));
    let link = root.join("names/leaks/destroyed");
    std::thread::scope(|s| {
        s.spawn(|| serve(&ch));
        let client = common::spawn("client", &["leaks/destroyed", "idle"]);
        assert_eq!(client.line(60), "connected");
        assert!(socket.exists() && link.symlink_metadata().is_ok());
        ch.destroy();
        assert!(!socket.exists(), "the socket outlived ChannelDestroy");
        assert!(link.symlink_metadata().is_err(), "the name outlived ChannelDestroy");
    });
    drop(ch);

    let names = ["leaks/tree/a/b", "leaks/tree/a/c", "leaks/tree/d", "leaks/flat"];
    let channels: Vec<Channel> = names.iter().map(|n| Channel::attach(n).unwrap()).collect();
    let anonymous = Channel::create().unwrap();
    // Failed attaches leave nothing either.
    assert_eq!(Channel::attach("leaks/flat").unwrap_err().errno(), libc::EEXIST);
    assert_eq!(Channel::attach("leaks/../x").unwrap_err().errno(), libc::EINVAL);
    drop(channels);
    drop(anonymous);
    assert_eq!(leftovers(), Vec::<PathBuf>::new(), "right after the channels were dropped");
    assert_clean("destroyed and dropped channels");
}

#[test]
fn descriptors_and_threads_return_to_baseline_in_process() {
    let _s = exclusive();
    let _dog = common::watchdog(180);
    let churn = common::spawn("churn", &["leaks/churn"]);
    assert_eq!(churn.line(120), "steady after channels and connections");
    assert_eq!(churn.line(120), "steady after peers that died");
    churn.wait_ok(60);
    assert_clean("the churn process exited");
}

#[test]
fn server_usage_returns_to_baseline_after_50_clients() {
    let _s = exclusive();
    let _dog = common::watchdog(300);
    let server = Server::start("leaks/fifty");
    let base = steady(|| server.stats());
    let hows = ["return", "idle", "exit", "hold"];
    for batch in 0..5 {
        let mut clients: Vec<(common::Child, &str)> = (0..10)
            .map(|i| hows[(batch * 10 + i) % hows.len()])
            .map(|how| (common::spawn("client", &["leaks/fifty", how]), how))
            .collect();
        for (c, _) in &clients {
            assert_eq!(c.line(60), "connected");
        }
        // The holders are killed while REPLY-blocked.
        let holders = clients.iter().filter(|(_, how)| *how == "hold").count();
        server.wait_stats("the held calls", |s| s.held == holders);
        for (mut c, how) in clients.drain(..) {
            match how {
                "return" | "exit" => c.wait_ok(60),
                _ => c.kill9(),
            }
        }
    }
    server.wait_stats(&format!("50 clients gone, baseline {base:?}"), |s| *s == base);
    server.quit();
    assert_clean("50 clients came and went");
}

#[test]
fn a_thousand_connections_to_one_server() {
    let _s = exclusive();
    let _dog = common::watchdog(300);
    let (procs, each) = (5, 200);
    // The server starts with the traditional soft limit of 1024 open files,
    // below the three descriptors per client it needs; baton raises the
    // soft limit to the hard one when its runtime starts.
    let server = Server::spawn(&["leaks/thousand", "1024"]);
    let base = steady(|| server.stats());
    let clients: Vec<common::Child> =
        (0..procs).map(|_| common::spawn("many", &["leaks/thousand", &each.to_string()])).collect();
    for c in &clients {
        assert_eq!(c.line(120), format!("connected {each}"), "server's descriptor limits: {}", server.limits);
    }
    let peak = server.wait_stats("all connections", |s| s.connections == base.connections + procs * each);
    common::note(format!(
        "{} connections: server descriptors {} -> {}; its RLIMIT_NOFILE soft/hard {} once baton ran (started at soft 1024)",
        procs * each,
        base.usage.fds,
        peak.usage.fds,
        server.limits,
    ));
    server.wait_stats("the held calls", |s| s.held == procs);
    assert_eq!(server.probe.send(b"release", &mut []).unwrap().status, procs as i64);
    for c in clients {
        c.wait_ok(120);
    }
    server.wait_stats(&format!("all connections closed, baseline {base:?}"), |s| *s == base);
    server.quit();
    assert_clean("a thousand connections");
}
