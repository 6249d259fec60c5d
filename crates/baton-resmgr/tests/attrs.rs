//! What QNX's `chmod`/`chown`, `pread`/`pwrite` and `fcntl(F_SETFL,
//! O_NONBLOCK)` do, through the Rust client API on the example servers:
//! the owner or root may chmod and the new mode is enforced on a client of
//! another user (a child that drops root); only root gives a file away,
//! the owner may change its group to one of its own; positioned reads and
//! writes leave the open's offset alone; `O_NONBLOCK` set after the open
//! (`DCMD_ALL_SETFLAGS`) makes the queue's blocking read fail with
//! `EAGAIN`.
#![allow(unsafe_code)] // setgroups/setgid/setuid in the child role
mod common;

use baton_resmgr::msg::dcmd;
use baton_resmgr::{chmod, chown, open, stat, OpenOptions};
use common::{errno, server, setup, watchdog};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::time::Duration;

#[test]
fn child() {
    common::child_main(&[("as_user", as_user)]);
}

/// Ids no user entry needs; the role's user is in `GID` and `GID2`.
const UID: u32 = 4242;
const GID: u32 = 4343;
const GID2: u32 = 4344;

/// `args`: an operation and its path: `read PATH`, `chmod PATH MODE`
/// (octal) or `chown PATH UID GID` (`-` for no change). Drops root, does
/// it, says `result ok` or `result err <errno>`.
fn as_user() {
    let a = common::args();
    let groups = [GID2];
    // SAFETY: plain system calls on integers and a one-element group list.
    let ok = unsafe { libc::setgroups(1, groups.as_ptr()) == 0 && libc::setgid(GID) == 0 && libc::setuid(UID) == 0 };
    assert!(ok, "cannot drop root: {}", std::io::Error::last_os_error());
    let id = |s: &str| s.parse::<u32>().ok();
    let r = match a[0].as_str() {
        "read" => open(&a[1], OpenOptions::new().read(true)).map(drop),
        "chmod" => chmod(&a[1], u32::from_str_radix(&a[2], 8).unwrap()),
        "chown" => chown(&a[1], id(&a[2]), id(&a[3])),
        op => panic!("no operation {op}"),
    };
    match r {
        Ok(()) => common::say("result ok"),
        Err(e) => common::say(format!("result err {}", errno(&e))),
    }
}

fn run(args: &[&str]) -> String {
    common::role("as_user", args).expect("result")
}

fn perm(path: &str) -> u32 {
    stat(path).unwrap().mode & 0o7777
}

#[test]
fn chmod_and_chown_as_posix_has_them() {
    setup();
    let _w = watchdog(120);
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: needs root to make a client of another user");
        return;
    }
    let _srv = server("resmgr-files", &["/a/mem"]);
    // The runtime directory is the test's own (0700): open it to the other
    // user, as the shared /run/baton is.
    let root = std::env::var_os("BATON_RUNTIME_DIR").unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let f = "/a/mem/f";
    let mut w = open(f, OpenOptions::new().write(true).create(true).mode(0o644)).unwrap();
    w.write_all(b"data").unwrap();
    let before = stat(f).unwrap();
    assert_eq!((before.mode & 0o7777, before.uid, before.gid), (0o644, 0, 0));
    assert_eq!(run(&["read", f]), "result ok");

    // Root's chmod by path: the new mode is enforced at once.
    chmod(f, 0o600).unwrap();
    let after = stat(f).unwrap();
    assert_eq!(after.mode, libc::S_IFREG | 0o600, "the file type stays");
    assert!(after.ctime >= before.ctime);
    assert_eq!(run(&["read", f]), format!("result err {}", libc::EACCES));
    // Not the owner: no chmod, no chown.
    assert_eq!(run(&["chmod", f, "666"]), format!("result err {}", libc::EPERM));
    assert_eq!(run(&["chown", f, "-", &GID.to_string()]), format!("result err {}", libc::EPERM));

    // fchmod/fchown on an open (any access will do): root gives the file
    // to the user, group GID, with set-id bits.
    w.set_permissions(std::fs::Permissions::from_mode(0o6750)).unwrap();
    w.chown(Some(UID), Some(GID)).unwrap();
    let st = w.stat().unwrap();
    assert_eq!((st.mode & 0o7777, st.uid, st.gid), (0o6750, UID, GID));
    assert_eq!(run(&["read", f]), "result ok", "the owner reads");
    // The owner may change the group to one it is in (which clears the
    // set-id bits), not to another, and may not give the file away.
    assert_eq!(run(&["chown", f, "-", &GID2.to_string()]), "result ok");
    assert_eq!((perm(f), stat(f).unwrap().gid), (0o750, GID2));
    assert_eq!(run(&["chown", f, "-", "1"]), format!("result err {}", libc::EPERM));
    assert_eq!(run(&["chown", f, "0", "-"]), format!("result err {}", libc::EPERM));
    assert_eq!(run(&["chown", f, &UID.to_string(), "-"]), "result ok", "to itself: no change");
    // The owner's chmod; set-group-id needs the file's group.
    assert_eq!(run(&["chmod", f, "2604"]), "result ok");
    assert_eq!(perm(f), 0o2604);
    chown(f, None, Some(1)).unwrap();
    assert_eq!(run(&["chmod", f, "2640"]), "result ok");
    assert_eq!(perm(f), 0o640, "S_ISGID dropped: the owner is not in group 1");
    // -1 leaves both ids.
    chown(f, None, None).unwrap();
    assert_eq!((stat(f).unwrap().uid, stat(f).unwrap().gid), (UID, 1));

    // A device with the framework's defaults (resmgr-null) takes them too.
    let _null = server("resmgr-null", &["/a/null"]);
    chmod("/a/null", 0o600).unwrap();
    assert_eq!(stat("/a/null").unwrap().mode, libc::S_IFCHR | 0o600);
    assert_eq!(run(&["read", "/a/null"]), format!("result err {}", libc::EACCES));
    assert_eq!(errno(&chmod("/a/nothing", 0o600).unwrap_err()), libc::ENOENT);
}

#[test]
fn pread_and_pwrite_leave_the_offset() {
    setup();
    let _w = watchdog(120);
    let _srv = server("resmgr-files", &["/a/pio"]);
    let mut create = OpenOptions::new();
    create.read(true).write(true).create(true);
    let mut f = open("/a/pio/f", &create).unwrap();
    f.write_all(b"0123456789").unwrap();
    f.seek(SeekFrom::Start(3)).unwrap();
    let mut four = [0u8; 4];
    assert_eq!(f.read_at(&mut four, 5).unwrap(), 4);
    assert_eq!(&four, b"5678");
    assert_eq!(f.write_at(b"XY", 8).unwrap(), 2);
    assert_eq!(f.stream_position().unwrap(), 3, "the open's offset did not move");
    // A pwrite past the end leaves a hole of zeros; a pread there is short.
    f.write_all_at(b"Z", 12).unwrap();
    let mut rest = Vec::new();
    f.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"34567XY\0\0Z", "the plain read went on from offset 3");
    let mut buf = [0u8; 8];
    assert_eq!(f.read_at(&mut buf, 11).unwrap(), 2);
    assert_eq!(&buf[..2], b"\0Z");
    assert_eq!(f.read_at(&mut buf, 100).unwrap(), 0, "past the end");
    f.read_exact_at(&mut four, 0).unwrap();
    assert_eq!(&four, b"0123");
    assert_eq!(errno(&f.read_at(&mut buf, 1 << 63).unwrap_err()), libc::EINVAL);
    // An O_APPEND open appends, whatever the position (as Linux does).
    let a = open("/a/pio/f", OpenOptions::new().append(true)).unwrap();
    a.write_at(b"!", 0).unwrap();
    assert_eq!(stat("/a/pio/f").unwrap().size, 14);
    // The open modes hold for positioned I/O too.
    let ro = open("/a/pio/f", OpenOptions::new().read(true)).unwrap();
    assert_eq!(errno(&ro.write_at(b"x", 0).unwrap_err()), libc::EBADF);
    assert_eq!(errno(&a.read_at(&mut buf, 0).unwrap_err()), libc::EBADF);
    // A device: the null device's pread is at end of file, its pwrite
    // swallows.
    let _null = server("resmgr-null", &["/a/pnull"]);
    let n = open("/a/pnull", OpenOptions::new().read(true).write(true)).unwrap();
    assert_eq!((n.read_at(&mut buf, 7).unwrap(), n.write_at(b"abc", 9).unwrap()), (0, 3));
}

#[test]
fn setflags_nonblock_after_the_open() {
    setup();
    let _w = watchdog(120);
    let _srv = server("resmgr-queue", &["/a/queue"]);
    let mut f = open("/a/queue", OpenOptions::new().read(true)).unwrap();
    let flags = |f: &baton_resmgr::File| {
        let mut out = [0u8; 4];
        f.devctl(dcmd::ALL_GETFLAGS, &[], &mut out).unwrap();
        i32::from_le_bytes(out)
    };
    assert_eq!(flags(&f) & libc::O_NONBLOCK, 0);
    // fcntl(F_SETFL, O_NONBLOCK): the client still sends plain reads; the
    // open's flag decides.
    f.devctl(dcmd::ALL_SETFLAGS, &libc::O_NONBLOCK.to_le_bytes(), &mut []).unwrap();
    assert_eq!(flags(&f) & libc::O_NONBLOCK, libc::O_NONBLOCK);
    let mut buf = [0u8; 8];
    assert_eq!(errno(&f.read(&mut buf).unwrap_err()), libc::EAGAIN);
    // Cleared again: the read waits (here, until the client's timeout).
    f.devctl(dcmd::ALL_SETFLAGS, &0i32.to_le_bytes(), &mut []).unwrap();
    f.set_timeout(Some(Duration::from_millis(200)));
    assert_eq!(errno(&f.read(&mut buf).unwrap_err()), libc::ETIMEDOUT);
    // Data there: the non-blocking read gets it.
    f.devctl(dcmd::ALL_SETFLAGS, &libc::O_NONBLOCK.to_le_bytes(), &mut []).unwrap();
    open("/a/queue", OpenOptions::new().write(true)).unwrap().write_all(b"hi").unwrap();
    assert_eq!(f.read(&mut buf).unwrap(), 2);
    assert_eq!(errno(&f.read(&mut buf).unwrap_err()), libc::EAGAIN);
    // A queue has no positions (a pipe's ESPIPE).
    assert_eq!(errno(&f.read_at(&mut buf, 0).unwrap_err()), libc::ESPIPE);
}
