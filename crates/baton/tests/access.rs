//! Access control across users: clients of other uids and gids (made by a
//! child that drops root for ids no user entry needs) are refused or let in
//! by the channel's mode and its allow lists, at both gates (the kernel's
//! check of the socket file and the server's check of the credentials the
//! kernel reports); the server sees their real ids; and each connection
//! gets a segment of its own. Needs root: skipped (with a note) otherwise.
#![allow(unsafe_code)] // setgroups/setgid/setuid, and fstat/fcntl on raw descriptors
mod common;

use baton::{Channel, ChannelBuilder, Connection, MsgInfo};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// Ids no user entry needs.
const UID_A: u32 = 4242;
const UID_B: u32 = 4244;
const UID_C: u32 = 4245;
const GID_ALLOWED: u32 = 4343;

#[test]
fn child() {
    common::child_main(&[("as", as_user), ("segments", segments)]);
}

/// Drops root for `uid`, `gid` and the supplementary groups `groups`
/// (comma-separated, `-` for none), then says `ids <uid> <gid>`.
fn become_user(uid: &str, gid: &str, groups: &str) {
    let (uid, gid): (u32, u32) = (uid.parse().unwrap(), gid.parse().unwrap());
    let groups: Vec<libc::gid_t> =
        if groups == "-" { Vec::new() } else { groups.split(',').map(|g| g.parse().unwrap()).collect() };
    // SAFETY: plain system calls on integers and on `groups`, valid for
    // `groups.len()` entries; glibc applies each to every thread.
    let ok = unsafe {
        libc::setgroups(groups.len(), groups.as_ptr()) == 0 && libc::setgid(gid) == 0 && libc::setuid(uid) == 0
    };
    assert!(ok, "cannot become {uid}:{gid}: {}", std::io::Error::last_os_error());
    let (u, g) = (rustix::process::geteuid().as_raw(), rustix::process::getegid().as_raw());
    common::say(format!("ids {u} {g}"));
}

/// `args`: uid gid groups, then names. For each name: a plain `connect` to
/// its socket file (the kernel's check) and a baton call (the server's):
/// `raw ok|err <errno>, call ok <status>|err <errno>`.
fn as_user() {
    let a = common::args();
    become_user(&a[0], &a[1], &a[2]);
    let root = PathBuf::from(std::env::var_os("BATON_RUNTIME_DIR").unwrap());
    for name in &a[3..] {
        let raw = match std::os::unix::net::UnixStream::connect(root.join("names").join(name)) {
            Ok(_) => "ok".to_string(),
            Err(e) => format!("err {}", e.raw_os_error().unwrap_or(0)),
        };
        let call = match Connection::open(name).and_then(|c| c.send(b"ping", &mut [])) {
            Ok(r) => format!("ok {}", r.status),
            Err(e) => format!("err {}", e.errno()),
        };
        common::say(format!("raw {raw}, call {call}"));
    }
}

/// `args`: uid gid name. Connects to `name`, says the inodes of the
/// sealed memfds it holds (its connection's segment: nothing else in this
/// process is a sealed file) as `inodes <n>...`, then calls once.
fn segments() {
    let a = common::args();
    become_user(&a[0], &a[1], "-");
    let conn = Connection::open(&a[2]).unwrap();
    let inodes: Vec<String> = (0..1024).filter_map(sealed_inode).map(|i| i.to_string()).collect();
    common::say(format!("inodes {}", inodes.join(" ")));
    conn.send(b"ping", &mut []).unwrap();
}

/// The inode of descriptor `fd` if it is a sealed memfd. (After `setuid`
/// the process is not dumpable and cannot read `/proc/self/fd`.)
fn sealed_inode(fd: i32) -> Option<u64> {
    // SAFETY: `fcntl` with `F_GET_SEALS` takes no pointer; on a descriptor
    // that is not open or not a memfd it fails.
    let seals = unsafe { libc::fcntl(fd, libc::F_GET_SEALS) };
    if seals <= 0 {
        return None;
    }
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` is valid for writing one `struct stat`; it is read only
    // when `fstat` succeeded (and so filled it).
    (unsafe { libc::fstat(fd, st.as_mut_ptr()) } == 0).then(|| unsafe { st.assume_init() }.st_ino)
}

/// The first ancestor of `dir` that other users cannot search, if any.
fn unsearchable_ancestor(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().find(|d| fs::metadata(d).map_or(true, |m| m.mode() & 0o001 == 0)).map(Path::to_path_buf)
}

/// Whether the cross-user checks can run here (root, and a runtime
/// directory other users can reach); prints why not.
fn can_switch_users(root: &Path) -> bool {
    if !rustix::process::geteuid().is_root() {
        common::note("not running as root: the checks as other users are skipped");
        return false;
    }
    fs::set_permissions(root, fs::Permissions::from_mode(0o1777)).unwrap();
    if let Some(dir) = unsearchable_ancestor(root) {
        common::note(format!("{} is closed to other users: the checks as other users are skipped", dir.display()));
        return false;
    }
    true
}

/// Serves `channels` on threads of a scope: each message's name and
/// `MsgInfo` go to `tx`, and it is answered with status 0. Returns once
/// `body` has run and the channels are destroyed.
fn serving(channels: &[(&str, Channel)], body: impl FnOnce(&mpsc::Receiver<(String, MsgInfo)>)) {
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        for (name, ch) in channels {
            let tx = tx.clone();
            s.spawn(move || {
                common::serve(ch, |req, _| {
                    let _ = tx.send((name.to_string(), req.info()));
                    req.reply(0, b"").unwrap();
                })
            });
        }
        // Destroyed also when `body` panics, or the scope would wait forever.
        struct Destroy<'a>(&'a [(&'a str, Channel)]);
        impl Drop for Destroy<'_> {
            fn drop(&mut self) {
                self.0.iter().for_each(|(_, ch)| ch.destroy());
            }
        }
        let _destroy = Destroy(channels);
        body(&rx);
    });
}

/// The next message a server saw: its channel's name and sender.
fn seen(rx: &mpsc::Receiver<(String, MsgInfo)>) -> (String, MsgInfo) {
    rx.recv_timeout(Duration::from_secs(60)).expect("a message within 60 s")
}

#[test]
fn modes_and_allow_lists_across_users() {
    let root = common::setup();
    let _dog = common::watchdog(180);
    let make = |name: &'static str, b: ChannelBuilder| (name, b.name(name).create().unwrap());
    let channels = [
        make("acl/closed", Channel::builder().mode(0o600)),
        make("acl/by-uid", Channel::builder().mode(0o600).allow_uid(UID_A)),
        make("acl/by-gid", Channel::builder().mode(0o600).allow_gid(GID_ALLOWED)),
        make("acl/by-mode", Channel::builder().mode(0o602)),
    ];
    // An allow list opens the socket file to the kernel's check; the mode
    // alone does not.
    let file_mode = |name: &str| fs::metadata(root.join("names").join(name)).unwrap().mode() & 0o777;
    assert_eq!(file_mode("acl/closed"), 0o600);
    assert_eq!(file_mode("acl/by-uid"), 0o622);
    if !can_switch_users(&root) {
        return;
    }
    let names = ["acl/closed", "acl/by-uid", "acl/by-gid", "acl/by-mode"];
    let eacces = format!("err {}", libc::EACCES);
    // (uid, gid, supplementary groups) and what each name does for them.
    let users: [(u32, u32, &str, [&str; 4]); 3] = [
        (UID_A, UID_A, "-", [&eacces, "ok", &eacces, "ok"]),
        (UID_B, GID_ALLOWED, "-", [&eacces, &eacces, "ok", "ok"]),
        (UID_C, UID_C, "4343", [&eacces, &eacces, "ok", "ok"]),
    ];
    serving(&channels, |rx| {
        for (uid, gid, groups, expect) in users {
            let mut args = vec![uid.to_string(), gid.to_string(), groups.to_string()];
            args.extend(names.iter().map(|n| n.to_string()));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let client = common::spawn("as", &args);
            assert_eq!(client.line(60), format!("ids {uid} {gid}"));
            for (name, want) in names.iter().zip(expect) {
                let got = client.line(60);
                // The kernel refuses what the socket file's mode refuses.
                let raw = if *name == "acl/closed" { eacces.as_str() } else { "ok" };
                let call = if want == "ok" { "ok 0" } else { want };
                assert_eq!(got, format!("raw {raw}, call {call}"), "{name} as {uid}:{gid} (groups {groups})");
                if want == "ok" {
                    let (at, info) = seen(rx);
                    assert_eq!(at, *name);
                    assert_eq!((info.pid, info.uid, info.gid), (client.pid(), uid, gid), "{name}: the sender's ids");
                }
            }
            client.wait_ok(60);
        }
        assert!(rx.try_recv().is_err(), "a refused client's message arrived");
    });
}

#[test]
fn clients_of_different_users_get_segments_of_their_own() {
    let root = common::setup();
    let _dog = common::watchdog(120);
    let open = Channel::builder().name("acl/open").mode(0o666).create().unwrap();
    if !can_switch_users(&root) {
        return;
    }
    // Each client's call is held until both are connected, so the two
    // segments exist at once.
    let mut held = Vec::new();
    for uid in [UID_A, UID_B] {
        let client = common::spawn("segments", &[&uid.to_string(), &uid.to_string(), "acl/open"]);
        assert_eq!(client.line(60), format!("ids {uid} {uid}"));
        let line = client.line(60);
        let mine: Vec<u64> = line.strip_prefix("inodes ").unwrap().split(' ').map(|i| i.parse().unwrap()).collect();
        assert_eq!(mine.len(), 1, "one connection, one segment: {line}");
        let deadline = baton::Deadline::after(Duration::from_secs(60));
        let req = loop {
            match open.receive_deadline(&mut [], deadline).expect("a message within 60 s") {
                baton::Received::Message(req) => break req,
                baton::Received::Pulse(_) => {}
            }
        };
        let info = req.info();
        assert_eq!((info.pid, info.uid, info.gid), (client.pid(), uid, uid));
        held.push((client, req, mine[0]));
    }
    assert_ne!(held[0].2, held[1].2, "clients of two users share a segment");
    for (client, req, _) in held {
        req.reply(0, b"").unwrap();
        client.wait_ok(60);
    }
}
