//! What a QNX (POSIX) user expects of open, write, lseek, stat and
//! ftruncate, on the file store example: `O_APPEND` writes at the end
//! whatever the offset, `O_TRUNC` empties, `O_CREAT|O_EXCL` fails on an
//! existing file, `SEEK_END` counts from the size, `stat` of the directory
//! prefix itself, `file/` is not a directory, `ftruncate` shrinks and
//! extends with zeros (`_IO_SPACE`) and needs an open for writing.
mod common;

use baton_resmgr::{open, stat, OpenOptions};
use common::{errno, server, setup, watchdog};
use std::io::{Read, Seek, SeekFrom, Write};

#[test]
fn child() {
    common::child_main(&[]);
}

fn contents(path: &str) -> Vec<u8> {
    let mut v = Vec::new();
    open(path, OpenOptions::new().read(true)).unwrap().read_to_end(&mut v).unwrap();
    v
}

#[test]
fn open_flags_seek_stat_truncate() {
    setup();
    let _w = watchdog(120);
    let _srv = server("resmgr-files", &["/p/mem"]);
    let mut create = OpenOptions::new();
    create.read(true).write(true).create(true);

    let mut f = open("/p/mem/log", &create).unwrap();
    f.write_all(b"0123456789").unwrap();
    drop(f);

    // O_APPEND: at the end, even after a seek back; the offset follows.
    let mut a = open("/p/mem/log", OpenOptions::new().read(true).append(true)).unwrap();
    a.seek(SeekFrom::Start(2)).unwrap();
    a.write_all(b"ab").unwrap();
    assert_eq!(a.stream_position().unwrap(), 12);
    assert_eq!(contents("/p/mem/log"), b"0123456789ab");

    // SEEK_END counts from the size; reading from there.
    let mut r = open("/p/mem/log", OpenOptions::new().read(true)).unwrap();
    assert_eq!(r.seek(SeekFrom::End(-2)).unwrap(), 10);
    let mut two = [0u8; 2];
    r.read_exact(&mut two).unwrap();
    assert_eq!(&two, b"ab");
    assert_eq!(errno(&r.seek(SeekFrom::End(-13)).unwrap_err()), libc::EINVAL);

    // ftruncate: shrink, extend with zeros; only an open for writing.
    let w = open("/p/mem/log", OpenOptions::new().write(true)).unwrap();
    w.set_len(4).unwrap();
    assert_eq!(stat("/p/mem/log").unwrap().size, 4);
    w.set_len(6).unwrap();
    assert_eq!(contents("/p/mem/log"), b"0123\0\0");
    assert_eq!(errno(&r.set_len(0).unwrap_err()), libc::EBADF);

    // O_TRUNC empties; O_CREAT|O_EXCL fails on what exists.
    drop(open("/p/mem/log", OpenOptions::new().write(true).truncate(true)).unwrap());
    assert_eq!(stat("/p/mem/log").unwrap().size, 0);
    let e = open("/p/mem/log", OpenOptions::new().write(true).create_new(true)).unwrap_err();
    assert_eq!(errno(&e), libc::EEXIST);
    drop(open("/p/mem/new", OpenOptions::new().write(true).create_new(true)).unwrap());

    // stat of the directory prefix itself, with or without a slash.
    assert!(stat("/p/mem").unwrap().is_dir());
    assert!(stat("/p/mem/").unwrap().is_dir());
    // A file named as a directory.
    assert_eq!(errno(&open("/p/mem/log/", OpenOptions::new().read(true)).unwrap_err()), libc::ENOTDIR);
}

#[test]
fn ftruncate_without_a_handler_is_enosys() {
    setup();
    let _w = watchdog(120);
    let _srv = server("resmgr-null", &["/p/null"]);
    let f = open("/p/null", OpenOptions::new().write(true)).unwrap();
    assert_eq!(errno(&f.set_len(0).unwrap_err()), libc::ENOSYS);
}
