//! The path space: prefixes attached by live processes resolve longest
//! first (whole components, `DIR` for the paths below, `BEFORE`/`AFTER`/
//! mount order for equal prefixes, `OPAQUE` hiding shorter ones); detach
//! and `kill -9` remove entries; bad prefixes are refused; entries another
//! user made, and malformed ones, are ignored.
mod common;

use baton::paths::{self, AFTER, BEFORE, DIR, OPAQUE};
use baton::Channel;
use std::os::unix::fs::MetadataExt;
use std::sync::{Mutex, MutexGuard};

#[test]
fn child() {
    common::child_main(&[("server", server)]);
}

/// Attaches each `prefix:flags` argument to one channel, says `ready
/// <pid>`, then waits to be killed.
fn server() {
    let ch = Channel::create().unwrap();
    let held: Vec<_> = common::args()
        .iter()
        .map(|a| {
            let (p, f) = a.rsplit_once(':').unwrap();
            paths::attach(p, &ch, f.parse().unwrap(), 0).unwrap()
        })
        .collect();
    common::say(format!("ready {}", std::process::id()));
    std::thread::sleep(std::time::Duration::from_secs(120));
    drop(held);
}

/// The tests share one runtime directory's path space: one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    common::setup();
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn start(args: &[&str]) -> (common::Child, i32) {
    let c = common::spawn("server", args);
    let line = c.line(20);
    let pid = line.strip_prefix("ready ").unwrap_or_else(|| panic!("server said {line:?}")).parse().unwrap();
    (c, pid)
}

/// (prefix, rest, pid) of each match, in order.
fn resolved(path: &str) -> Vec<(String, String, i32)> {
    paths::resolve(path).unwrap().into_iter().map(|m| (m.prefix, m.rest, m.pid)).collect()
}

fn m(prefix: &str, rest: &str, pid: i32) -> (String, String, i32) {
    (prefix.to_owned(), rest.to_owned(), pid)
}

#[test]
fn longest_prefix_first_across_processes() {
    let _g = serial();
    let _w = common::watchdog(60);
    let (_a, pa) = start(&[&format!("/a:{DIR}")]);
    let (_b, pb) = start(&[&format!("/a/b:{DIR}"), "/dev/ser1:0"]);
    assert_eq!(resolved("/a/b/x"), [m("/a/b", "x", pb), m("/a", "b/x", pa)]);
    assert_eq!(resolved("/a/c/d"), [m("/a", "c/d", pa)]);
    assert_eq!(resolved("/a//b/./y/../z"), [m("/a/b", "z", pb), m("/a", "b/z", pa)]);
    assert_eq!(resolved("/a"), [m("/a", "", pa)]);
    assert_eq!(resolved("/dev/ser1"), [m("/dev/ser1", "", pb)]);
    // Whole components only, and no path below a prefix without DIR.
    for miss in ["/ab", "/dev/ser10", "/dev/ser1/9600", "/dev"] {
        assert_eq!(paths::resolve(miss).unwrap_err().errno(), libc::ENOENT, "{miss}");
    }
    let listed: Vec<_> = paths::list().unwrap().into_iter().filter(|e| e.pid == pb).map(|e| e.prefix).collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
}

#[test]
fn equal_prefixes_resolve_before_then_mount_order_then_after() {
    let _g = serial();
    let _w = common::watchdog(60);
    let ch = Channel::create().unwrap();
    let me = std::process::id() as i32;
    let first = paths::attach("/u", &ch, DIR, 0).unwrap();
    let after = paths::attach("/u", &ch, DIR | AFTER, 0).unwrap();
    let second = paths::attach("/u", &ch, DIR, 0).unwrap();
    let before = paths::attach("/u", &ch, DIR | BEFORE, 0).unwrap();
    let ids: Vec<u32> = paths::resolve("/u/f").unwrap().iter().map(|m| m.id).collect();
    assert_eq!(ids, [before.id(), first.id(), second.id(), after.id()]);
    assert!(paths::resolve("/u/f").unwrap().iter().all(|m| m.pid == me && m.chid == ch.id() && m.rest == "f"));
    // Detaching (drop) removes exactly that entry.
    drop(first);
    let ids: Vec<u32> = paths::resolve("/u").unwrap().iter().map(|m| m.id).collect();
    assert_eq!(ids, [before.id(), second.id(), after.id()]);
    drop((after, second, before));
    assert_eq!(paths::resolve("/u").unwrap_err().errno(), libc::ENOENT);
}

#[test]
fn opaque_hides_shorter_prefixes_and_root_dir_matches_all() {
    let _g = serial();
    let _w = common::watchdog(60);
    let ch = Channel::create().unwrap();
    let root = paths::attach("/", &ch, DIR, 0).unwrap();
    let mid = paths::attach("/o", &ch, DIR, 0).unwrap();
    let opaque = paths::attach("/o/p", &ch, DIR | OPAQUE, 0).unwrap();
    let ids = |p: &str| paths::resolve(p).unwrap().iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(ids("/o/p/q"), [opaque.id()]);
    assert_eq!(ids("/o/x"), [mid.id(), root.id()]);
    assert_eq!(ids("/anything/else"), [root.id()]);
    assert_eq!(paths::resolve("/").unwrap()[0].rest, "");
}

#[test]
fn a_killed_server_leaves_no_entry() {
    let _g = serial();
    let _w = common::watchdog(60);
    let (mut s, pid) = start(&[&format!("/k:{DIR}")]);
    assert_eq!(resolved("/k/x"), [m("/k", "x", pid)]);
    s.kill9();
    assert_eq!(paths::resolve("/k/x").unwrap_err().errno(), libc::ENOENT);
    let dir = baton::runtime_dir().join("paths");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&format!("{pid}.")))
        .collect();
    assert!(left.is_empty(), "stale entries left: {left:?}");
}

#[test]
fn bad_prefixes_paths_and_flags_are_einval() {
    let _g = serial();
    let ch = Channel::create().unwrap();
    for bad in ["", "rel", "/x/", "/x//y", "/x/./y", "/x/../y", "/nul\0"] {
        assert_eq!(paths::attach(bad, &ch, 0, 0).unwrap_err().errno(), libc::EINVAL, "{bad:?}");
    }
    let long = format!("/{}", "x".repeat(paths::PATH_MAX));
    assert_eq!(paths::attach(&long, &ch, 0, 0).unwrap_err().errno(), libc::EINVAL);
    assert_eq!(paths::attach("/f", &ch, 0x8, 0).unwrap_err().errno(), libc::EINVAL);
    assert_eq!(paths::attach("/f", &ch, BEFORE | AFTER, 0).unwrap_err().errno(), libc::EINVAL);
    for bad in ["relative/path", "", "/nul\0"] {
        assert_eq!(paths::resolve(bad).unwrap_err().errno(), libc::EINVAL, "{bad:?}");
    }
}

#[test]
fn entries_of_other_users_and_malformed_ones_are_ignored() {
    let _g = serial();
    let ch = Channel::create().unwrap();
    let me = std::process::id();
    let dir = baton::runtime_dir().join("paths");
    let mine = paths::attach("/t", &ch, 0, 0).unwrap();
    // A planted entry claiming the same prefix first, owned by someone else.
    let planted = dir.join(format!("{me}.{}.900001", ch.id()));
    std::os::unix::fs::symlink(format!("1:{BEFORE}:0:/t"), &planted).unwrap();
    let nobody = 65534;
    rustix::fs::chownat(
        rustix::fs::CWD,
        &planted,
        Some(rustix::process::Uid::from_raw(nobody)),
        None,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .unwrap();
    assert_eq!(std::fs::symlink_metadata(&planted).unwrap().uid(), nobody);
    // Garbage in every part of a name or target.
    let junk = [("x.y.z", "1:0:0:/t"), (&*format!("{me}.1.900002"), "1:0:0:t"), (&*format!("{me}.1.900003"), "zzz")];
    for (name, target) in junk {
        std::os::unix::fs::symlink(target, dir.join(name)).unwrap();
    }
    let ids: Vec<u32> = paths::resolve("/t").unwrap().iter().map(|m| m.id).collect();
    assert_eq!(ids, [mine.id()]);
    for (name, _) in junk {
        std::fs::remove_file(dir.join(name)).unwrap();
    }
    std::fs::remove_file(planted).unwrap();
}
