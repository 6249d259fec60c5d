//! Names and who may connect: attach and open by name (nested too), bad and
//! unknown names, names held by live processes, names left by dead ones,
//! permission modes across users, private channels, and how connections
//! from one process share a server connection.
mod common;

use baton::{Channel, Connection, Error, Request};
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The uid and gid the cross-user checks run as (`nobody`/`nogroup`).
const NOBODY: u32 = 65534;

#[test]
fn child() {
    common::child_main(&[("server", server), ("call", call), ("as-nobody", as_nobody), ("share", share)]);
}

/// Attaches the name `args[0]`, says `ready` (or `err <errno>`), and answers
/// every message with its pid as the status.
fn server() {
    match Channel::attach(&common::args()[0]) {
        Ok(ch) => {
            common::say("ready");
            common::serve(&ch, |req, _| req.reply(i64::from(std::process::id()), b"").unwrap());
        }
        Err(e) => common::say(format!("err {}", e.errno())),
    }
}

/// Calls each target in the arguments once, saying how each call went.
fn call() {
    for target in common::args() {
        common::say(call_target(&target));
    }
}

/// Drops root for `nobody`, then does what [`call`] does.
fn as_nobody() {
    become_nobody();
    let (uid, gid) = (rustix::process::getuid().as_raw(), rustix::process::getgid().as_raw());
    common::say(format!("ids {uid} {gid}"));
    call();
}

#[allow(unsafe_code)] // no safe wrapper changes the ids of every thread of the process
fn become_nobody() {
    // SAFETY: plain system calls on integer arguments (a null list with a
    // zero length for setgroups); glibc applies each to every thread.
    let ok =
        unsafe { libc::setgroups(0, std::ptr::null()) == 0 && libc::setgid(NOBODY) == 0 && libc::setuid(NOBODY) == 0 };
    assert!(ok, "cannot become nobody: {}", std::io::Error::last_os_error());
}

/// Sends "ping" to `target`, a name or `@<pid>/<chid>`; `ok <status>` or
/// `err <errno>`.
fn call_target(target: &str) -> String {
    let conn = match target.strip_prefix('@') {
        Some(addr) => {
            let (pid, chid) = addr.split_once('/').expect("@pid/chid");
            Connection::attach(pid.parse().unwrap(), chid.parse().unwrap())
        }
        None => Connection::open(target),
    };
    match conn.and_then(|c| c.send(b"ping", &mut [])) {
        Ok(r) => format!("ok {}", r.status),
        Err(e) => format!("err {}", e.errno()),
    }
}

/// Connects to `@args[0]/args[1]` twice (shared) and once with `no_share`,
/// then sends the three scoids through the first connection: the server
/// counts the connections while this call waits for its reply.
fn share() {
    let a = common::args();
    let (pid, chid) = (a[0].parse().unwrap(), a[1].parse().unwrap());
    let first = Connection::attach(pid, chid).unwrap();
    let second = Connection::attach(pid, chid).unwrap();
    let own = Connection::builder().no_share(true).attach(pid, chid).unwrap();
    let scoids = format!("{} {} {}", first.scoid(), second.scoid(), own.scoid());
    first.send(scoids.as_bytes(), &mut []).unwrap();
}

/// Tests that start or kill processes that use the runtime directory hold
/// this: a process's start-up sweep would otherwise tidy away the stale
/// name that another test is about to look at.
fn processes() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts a `server` child attached under `name`, once it is ready.
fn start_server(name: &str) -> common::Child {
    let child = common::spawn("server", &[name]);
    assert_eq!(child.line(60), "ready", "server for {name:?}");
    child
}

/// Opens `name` and checks that the `server` child answers there.
fn assert_served_by(name: &str, server: &common::Child) {
    let conn = Connection::open(name).unwrap();
    assert_eq!(conn.server_pid(), server.pid());
    assert_eq!(conn.send(b"ping", &mut []).unwrap().status, i64::from(server.pid()));
}

/// The next message on `ch` and its bytes (pulses are skipped).
fn receive_one(ch: &Channel) -> (Request, Vec<u8>) {
    let mut buf = vec![0u8; 256];
    loop {
        let deadline = baton::Deadline::after(std::time::Duration::from_secs(60));
        match ch.receive_deadline(&mut buf, deadline).expect("a message within 60 s") {
            baton::Received::Message(req) => {
                buf.truncate(req.len());
                return (req, buf);
            }
            baton::Received::Pulse(_) => {}
        }
    }
}

/// A call on `conn` from another thread, answered here with status 7.
fn round_trip(ch: &Channel, conn: &Connection) {
    std::thread::scope(|s| {
        let caller = s.spawn(|| conn.send(b"ping", &mut []).unwrap().status);
        let (req, msg) = receive_one(ch);
        assert_eq!(msg, b"ping");
        req.reply(7, b"").unwrap();
        assert_eq!(caller.join().unwrap(), 7);
    });
}

/// The error of a call that must fail.
fn failure<T: std::fmt::Debug>(r: baton::Result<T>) -> Error {
    r.expect_err("the call should fail")
}

/// Where channel `ch` of this process listens.
fn socket_path(root: &Path, ch: &Channel) -> PathBuf {
    root.join("pid").join(ch.pid().to_string()).join(ch.id().to_string())
}

#[test]
fn attach_and_open_by_name() {
    let root = common::setup();
    let _dog = common::watchdog(120);
    let _p = processes();
    for name in ["plain", "nest/a/b/c"] {
        let ch = Channel::attach(name).unwrap();
        assert_eq!(ch.name(), Some(name));
        assert_eq!(fs::read_link(root.join("names").join(name)).unwrap(), socket_path(&root, &ch));

        let conn = Connection::open(name).unwrap();
        assert_eq!((conn.server_pid(), conn.channel_id()), (ch.pid(), ch.id()));
        round_trip(&ch, &conn);

        let client = common::spawn("call", &[name]);
        let (req, _) = receive_one(&ch);
        assert_eq!(req.info().pid, client.pid());
        req.reply(5, b"").unwrap();
        assert_eq!(client.line(60), "ok 5", "{name:?} from another process");
    }
    // Dropping the nested channel took its name and the empty directories.
    assert!(!root.join("names/nest").exists());

    let server = start_server("nest/remote/x");
    assert_served_by("nest/remote/x", &server);
}

#[test]
fn unknown_names_and_channels() {
    common::setup();
    for name in ["no-such-name", "no/such/nested/name"] {
        let e = failure(Connection::open(name));
        assert_eq!(e.errno(), libc::ENOENT, "{e}");
        assert!(e.to_string().contains(&format!("{name:?}")), "{e}");
    }
    // Addresses by pid and chid that lead nowhere.
    for (pid, chid) in [(0, u32::MAX), (i32::MAX, 1)] {
        assert_eq!(failure(Connection::attach(pid, chid)).errno(), libc::ESRCH, "pid {pid} chid {chid}");
    }
}

#[test]
fn bad_names_are_einval() {
    common::setup();
    for bad in ["", "/abs", "..", "a/../b", "a//b", "a/"] {
        let attach = failure(Channel::attach(bad));
        let build = failure(Channel::builder().name(bad).create());
        let open = failure(Connection::open(bad));
        for (what, e) in [("attach", attach), ("builder", build), ("open", open)] {
            assert_eq!(e.errno(), libc::EINVAL, "{what} {bad:?}: {e}");
            let msg = e.to_string();
            assert!(msg.contains("a name must not") && msg.contains(&format!("{bad:?}")), "{what} {bad:?}: {msg}");
        }
    }
}

#[test]
fn name_held_by_a_live_process_is_eexist() {
    common::setup();
    let _dog = common::watchdog(120);
    let _p = processes();
    let holder = start_server("held/by/child");
    let e = failure(Channel::attach("held/by/child"));
    assert_eq!(e.errno(), libc::EEXIST, "{e}");
    assert!(e.to_string().contains(&format!("pid {}", holder.pid())), "{e}");
    assert_served_by("held/by/child", &holder);

    let mine = Channel::attach("held/by/me").unwrap();
    assert_eq!(failure(Channel::attach("held/by/me")).errno(), libc::EEXIST);
    assert_eq!(Connection::open("held/by/me").unwrap().channel_id(), mine.id());
}

/// A name left by a dead process whose lock another process holds at that
/// moment (sweeping its entries) is stale all the same: attaching replaces
/// it instead of failing with `EEXIST`.
#[test]
fn name_of_a_dead_process_being_swept_is_replaced() {
    let root = common::setup();
    let _dog = common::watchdog(120);
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let dead = root.join("pid").join(gone.id().to_string());
    fs::create_dir_all(&dead).unwrap();
    fs::File::create(dead.join("7")).unwrap();
    let lock = fs::File::create(dead.join("lock")).unwrap();
    fs::create_dir_all(root.join("names/swept")).unwrap();
    std::os::unix::fs::symlink(dead.join("7"), root.join("names/swept/name")).unwrap();
    // The sweeper's lock (an open file description of its own).
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).unwrap();
    let ch = Channel::attach("swept/name").unwrap();
    assert_eq!(Connection::open("swept/name").unwrap().channel_id(), ch.id());
}

#[test]
fn channel_mode_is_the_socket_file_mode() {
    let root = common::setup();
    for (name, mode) in [("mode/600", Some(0o600)), ("mode/640", Some(0o640)), ("mode/default", None)] {
        let builder = Channel::builder().name(name);
        let ch = match mode {
            Some(m) => builder.mode(m),
            None => builder,
        }
        .create()
        .unwrap();
        let md = fs::metadata(root.join("names").join(name)).unwrap();
        assert!(md.file_type().is_socket(), "{name}");
        assert_eq!(md.mode() & 0o7777, mode.unwrap_or(0o666), "{name}");
        assert_eq!(fs::metadata(socket_path(&root, &ch)).unwrap().ino(), md.ino(), "{name}");
    }
}

/// The first ancestor of `dir` that other users cannot search, if any.
fn unsearchable_ancestor(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().find(|d| fs::metadata(d).map_or(true, |m| m.mode() & 0o001 == 0)).map(Path::to_path_buf)
}

#[test]
fn modes_and_peer_identity_across_users() {
    let root = common::setup();
    let _dog = common::watchdog(120);
    let closed = Channel::builder().name("perm/closed").mode(0o600).create().unwrap();
    let relaxed = Channel::builder().name("perm/relaxed").mode(0o600).create().unwrap();
    let open = Channel::builder().name("perm/open").mode(0o666).create().unwrap();
    if !rustix::process::geteuid().is_root() {
        common::note("not running as root: the checks as another user are skipped");
        return;
    }
    // The runtime directory must let `nobody` in (baton makes a
    // BATON_RUNTIME_DIR root 01777; insist, since this test depends on it).
    fs::set_permissions(&root, fs::Permissions::from_mode(0o1777)).unwrap();
    if let Some(dir) = unsearchable_ancestor(&root) {
        common::note(format!("{} is closed to other users: the checks as another user are skipped", dir.display()));
        return;
    }
    // The kernel checks the socket file's mode; the server checks the
    // channel's mode again, so loosening the file must not let anyone in.
    fs::set_permissions(socket_path(&root, &relaxed), fs::Permissions::from_mode(0o666)).unwrap();

    let by_address = format!("@{}/{}", closed.pid(), closed.id());
    let client = common::spawn("as-nobody", &["perm/closed", &by_address, "perm/relaxed", "perm/open"]);
    assert_eq!(client.line(60), format!("ids {NOBODY} {NOBODY}"));
    for target in ["perm/closed", &by_address, "perm/relaxed"] {
        assert_eq!(client.line(60), format!("err {}", libc::EACCES), "{target} (mode 0600) as nobody");
    }
    let (req, _) = receive_one(&open);
    let info = req.info();
    assert_eq!((info.pid, info.uid, info.gid), (client.pid(), NOBODY, NOBODY));
    req.reply(9, b"").unwrap();
    assert_eq!(client.line(60), "ok 9", "perm/open (mode 0666) as nobody");
    client.wait_ok(60);
}

#[test]
fn a_dead_servers_name_is_replaced() {
    let root = common::setup();
    let _dog = common::watchdog(120);
    let _p = processes();
    let mut old = start_server("stale/svc");
    let old_pid = old.pid();
    old.kill9();
    let new = start_server("stale/svc");
    assert_ne!(new.pid(), old_pid);
    let target = fs::read_link(root.join("names/stale/svc")).unwrap();
    assert!(target.starts_with(root.join("pid").join(new.pid().to_string())), "{}", target.display());
    assert_served_by("stale/svc", &new);
}

#[test]
fn opening_a_dead_servers_name_is_enoent_and_removes_it() {
    let root = common::setup();
    let _dog = common::watchdog(120);
    let _p = processes();
    // This process's own start-up sweep must not be what tidies up below.
    drop(Channel::create().unwrap());
    let mut dead = start_server("gone/svc");
    dead.kill9();
    let link = root.join("names/gone/svc");
    assert!(link.symlink_metadata().is_ok(), "nothing should have noticed the death yet");
    let e = failure(Connection::open("gone/svc"));
    assert_eq!(e.errno(), libc::ENOENT, "{e}");
    assert!(link.symlink_metadata().is_err(), "the stale name is still there");
    assert!(!root.join("names/gone").exists(), "its empty directory is still there");
}

#[test]
fn private_channel_is_reachable_only_from_its_own_process() {
    let root = common::setup();
    let _dog = common::watchdog(120);
    let ch = Channel::builder().private(true).create().unwrap();
    assert!(!socket_path(&root, &ch).exists(), "a private channel has no socket");
    // Another process finds nothing to connect to: ESRCH, as for no channel.
    let outsider = common::spawn("call", &[&format!("@{}/{}", ch.pid(), ch.id())]);
    assert_eq!(outsider.line(60), format!("err {}", libc::ESRCH));
    round_trip(&ch, &Connection::attach(0, ch.id()).unwrap());
    round_trip(&ch, &Connection::attach(ch.pid(), ch.id()).unwrap());

    let e = failure(Channel::builder().private(true).name("private/named").create());
    assert_eq!(e.errno(), libc::EINVAL, "{e}");
}

#[test]
fn connections_from_one_process_share_a_scoid() {
    common::setup();
    let _dog = common::watchdog(120);
    let ch = Channel::create().unwrap();
    let gone = |n: usize| common::wait_for(60, || ch.connection_count() == n);

    let first = Connection::attach(0, ch.id()).unwrap();
    let second = Connection::attach(0, ch.id()).unwrap();
    assert_eq!(first.scoid(), second.scoid());
    assert_ne!(first.id(), second.id());
    assert_eq!(ch.connection_count(), 1);
    let own = Connection::builder().no_share(true).attach(0, ch.id()).unwrap();
    assert_ne!(own.scoid(), first.scoid());
    assert_eq!(ch.connection_count(), 2);
    // Dropping one shared handle keeps the shared connection.
    drop(first);
    drop(own);
    assert!(gone(1), "connections: {}", ch.connection_count());
    round_trip(&ch, &second);
    drop(second);
    assert!(gone(0), "connections: {}", ch.connection_count());

    let client = common::spawn("share", &[&ch.pid().to_string(), &ch.id().to_string()]);
    let (req, msg) = receive_one(&ch);
    let scoids: Vec<u32> = String::from_utf8(msg).unwrap().split(' ').map(|s| s.parse().unwrap()).collect();
    assert_eq!(scoids[0], scoids[1], "shared connections of one process");
    assert_ne!(scoids[0], scoids[2], "a no_share connection");
    let info = req.info();
    assert_eq!((info.pid, info.scoid), (client.pid(), scoids[0]));
    assert_eq!(ch.connection_count(), 2);
    req.reply(0, b"").unwrap();
    client.wait_ok(60);
    assert!(gone(0), "connections after the client exited: {}", ch.connection_count());
}
