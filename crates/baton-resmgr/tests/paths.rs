//! Path resolution across servers (longest prefix first; equal prefixes in
//! order, falling through on `ENOENT`) and permission checks against a
//! client of another user (a child that drops root).
#![allow(unsafe_code)] // setgroups/setgid/setuid in the child role
mod common;

use baton_resmgr::{open, read_dir, OpenOptions};
use common::{errno, server, setup, watchdog};

#[test]
fn child() {
    common::child_main(&[("open_as", open_as)]);
}

fn names(path: &str) -> Vec<String> {
    read_dir(path).unwrap().map(|e| e.unwrap().name).collect()
}

fn create() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.write(true).create(true);
    o
}

#[test]
fn longest_prefix_wins() {
    setup();
    let _w = watchdog(120);
    let _a = server("resmgr-files", &["/p/a"]);
    let _ab = server("resmgr-files", &["/p/a/b"]);
    open("/p/a/b/x", &create()).unwrap();
    open("/p/a/c", &create()).unwrap();
    assert_eq!(names("/p/a/b"), ["x"], "/p/a/b/x went to the /p/a/b server");
    assert_eq!(names("/p/a"), ["c"], "/p/a/c went to the /p/a server");
}

#[test]
fn equal_prefixes_fall_through_on_enoent() {
    setup();
    let _w = watchdog(120);
    let _first = server("resmgr-files", &["/p/u"]);
    open("/p/u/only-in-first", &create()).unwrap();
    // Tried before the first: it has nothing, so opens of existing files
    // fall through to the first; creations stay with it.
    let _before = server("resmgr-files", &["/p/u", "--before"]);
    open("/p/u/only-in-first", OpenOptions::new().read(true)).unwrap();
    open("/p/u/new", &create()).unwrap();
    assert_eq!(names("/p/u"), ["new"], "the directory read goes to the server tried first");
    assert_eq!(errno(&open("/p/u/nowhere", OpenOptions::new().read(true)).unwrap_err()), libc::ENOENT);
}

/// Ids no user entry needs.
const UID: u32 = 4242;
const GID: u32 = 4343;

/// `args`: path, then `r` or `w`: drops root, opens, says `ok` or `err <errno>`.
fn open_as() {
    let a = common::args();
    // SAFETY: plain system calls on integers and an empty group list.
    let ok = unsafe { libc::setgroups(0, std::ptr::null()) == 0 && libc::setgid(GID) == 0 && libc::setuid(UID) == 0 };
    assert!(ok, "cannot drop root: {}", std::io::Error::last_os_error());
    let mut o = OpenOptions::new();
    if a[1] == "r" {
        o.read(true);
    } else {
        o.write(true);
    }
    match open(&a[0], &o) {
        Ok(_) => common::say("result ok"),
        Err(e) => common::say(format!("result err {}", errno(&e))),
    }
}

#[test]
fn permission_denied_for_other_user() {
    setup();
    let _w = watchdog(120);
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: needs root to make a client of another user");
        return;
    }
    let _priv = server("resmgr-null", &["/p/private", "--mode", "600"]);
    let _ro = server("resmgr-null", &["/p/readonly", "--mode", "644"]);
    let _open = server("resmgr-null", &["/p/open", "--mode", "666"]);
    // The runtime directory is the test's own (0700): open it to the other
    // user, as the shared /run/baton is.
    use std::os::unix::fs::PermissionsExt;
    let root = std::env::var_os("BATON_RUNTIME_DIR").unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let run = |path: &str, how: &str| common::role("open_as", &[path, how]).expect("result");
    assert_eq!(run("/p/private", "r"), format!("result err {}", libc::EACCES));
    assert_eq!(run("/p/readonly", "w"), format!("result err {}", libc::EACCES));
    assert_eq!(run("/p/readonly", "r"), "result ok");
    assert_eq!(run("/p/open", "w"), "result ok");
    // Root gets through.
    open("/p/private", OpenOptions::new().read(true).write(true)).unwrap();
}
