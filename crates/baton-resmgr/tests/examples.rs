//! The three example servers driven through the Rust client API: the null
//! device, the in-memory file store (with a 16 MiB round trip and a
//! checksum) and the blocking queue (deferred reads released by a write or
//! by the client's timeout, `O_NONBLOCK`, devctl).
mod common;

use baton_resmgr::msg::{dcmd, notify};
use baton_resmgr::{mkdir, open, read_dir, stat, unlink, OpenOptions};
use common::{errno, server, setup, watchdog};
use std::io::{Read, Seek, SeekFrom, Write};
use std::time::Duration;

#[test]
fn child() {
    common::child_main(&[]);
}

fn rw() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.read(true).write(true);
    o
}

#[test]
fn null_device() {
    setup();
    let _w = watchdog(120);
    let srv = server("resmgr-null", &["/t/null"]);
    let mut f = open("/t/null", &rw()).unwrap();
    assert_eq!(f.write(b"hello").unwrap(), 5);
    f.write_all(&vec![7u8; 100_000]).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(f.read(&mut buf).unwrap(), 0, "reads are at end of file");
    let st = f.stat().unwrap();
    assert_eq!(st.mode, libc::S_IFCHR | 0o666);
    assert_eq!(st.size, 0);
    assert_eq!(f.seek(SeekFrom::Start(10)).unwrap(), 10);
    assert_eq!(errno(&f.seek(SeekFrom::Current(-11)).unwrap_err()), libc::EINVAL);
    assert_eq!(errno(&f.devctl(dcmd::dion(1, 1), &[], &mut []).unwrap_err()), libc::ENOTTY);
    assert_eq!(f.poll(notify::COND_INPUT).unwrap(), notify::COND_INPUT);
    assert_eq!(stat("/t/null").unwrap().mode & libc::S_IFMT, libc::S_IFCHR);
    // Open modes: a read-only open cannot write, and the reverse.
    let mut ro = open("/t/null", OpenOptions::new().read(true)).unwrap();
    assert_eq!(errno(&ro.write(b"x").unwrap_err()), libc::EBADF);
    let mut wo = open("/t/null", OpenOptions::new().write(true)).unwrap();
    assert_eq!(errno(&wo.read(&mut buf).unwrap_err()), libc::EBADF);
    // Not a directory prefix: nothing below it.
    assert_eq!(errno(&open("/t/null/x", &rw()).unwrap_err()), libc::ENOENT);
    f.close().unwrap();
    srv.expect("close");
}

#[test]
fn file_store() {
    setup();
    let _w = watchdog(300);
    let _srv = server("resmgr-files", &["/t/mem"]);
    let mut create = rw();
    create.create(true);
    let mut f = open("/t/mem/hello", &create).unwrap();
    f.write_all(b"hello, world").unwrap();
    f.seek(SeekFrom::Start(7)).unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    assert_eq!(s, "world");
    assert_eq!(f.stat().unwrap().size, 12);
    assert!(f.stat().unwrap().is_file());
    assert_eq!(f.seek(SeekFrom::End(-5)).unwrap(), 7);
    drop(f);

    // 16 MiB through the store, checked.
    let big: Vec<u8> = (0..16u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let sum = |b: &[u8]| b.iter().fold(0u64, |h, &x| (h ^ u64::from(x)).wrapping_mul(0x100_0000_01b3));
    let mut f = open("/t/mem/big", create.clone().truncate(true)).unwrap();
    for chunk in big.chunks(1 << 20) {
        f.write_all(chunk).unwrap();
    }
    drop(f);
    assert_eq!(stat("/t/mem/big").unwrap().size, 16 << 20);
    let mut back = Vec::new();
    open("/t/mem/big", OpenOptions::new().read(true)).unwrap().read_to_end(&mut back).unwrap();
    assert_eq!(back.len(), big.len());
    assert_eq!(sum(&back), sum(&big));

    // Directories.
    mkdir("/t/mem/sub", 0o755).unwrap();
    assert_eq!(errno(&mkdir("/t/mem/sub", 0o755).unwrap_err()), libc::EEXIST);
    assert!(stat("/t/mem/sub").unwrap().is_dir());
    open("/t/mem/sub/inner", &create).unwrap();
    let names: Vec<String> = read_dir("/t/mem").unwrap().map(|e| e.unwrap().name).collect();
    assert_eq!(names, ["big", "hello", "sub"]);
    // Many entries, over several reads.
    for i in 0..300 {
        open(&format!("/t/mem/sub/f{i:03}"), &create).unwrap();
    }
    assert_eq!(read_dir("/t/mem/sub").unwrap().count(), 301);
    assert_eq!(errno(&unlink("/t/mem/sub").unwrap_err()), libc::ENOTEMPTY);
    unlink("/t/mem/hello").unwrap();
    assert_eq!(errno(&open("/t/mem/hello", OpenOptions::new().read(true)).unwrap_err()), libc::ENOENT);
    assert_eq!(errno(&open("/t/mem/big", create.clone().create_new(true)).unwrap_err()), libc::EEXIST);
}

/// `devctl` of the queue example: bytes queued.
const QUEUE_LEN: u32 = dcmd::diof(b'q', 1, 4);

fn queued(f: &baton_resmgr::File) -> i32 {
    let mut n = [0u8; 4];
    assert_eq!(f.devctl(QUEUE_LEN, &[], &mut n).unwrap(), 0);
    i32::from_le_bytes(n)
}

#[test]
fn queue_blocking_read_released_by_write() {
    setup();
    let _w = watchdog(120);
    let _srv = server("resmgr-queue", &["/t/queue1"]);
    let reader = std::thread::spawn(|| {
        let mut f = open("/t/queue1", OpenOptions::new().read(true)).unwrap();
        let mut buf = [0u8; 64];
        let n = f.read(&mut buf).unwrap();
        buf[..n].to_vec()
    });
    // Give the reader a moment to block (if it has not, the data is
    // waiting for it: the test passes either way).
    std::thread::sleep(Duration::from_millis(100));
    let mut w = open("/t/queue1", OpenOptions::new().write(true)).unwrap();
    w.write_all(b"ping").unwrap();
    assert_eq!(reader.join().unwrap(), b"ping");
    w.write_all(b"abc").unwrap();
    assert_eq!(queued(&w), 3);
    let mut r = open("/t/queue1", OpenOptions::new().read(true)).unwrap();
    let mut buf = [0u8; 2];
    assert_eq!(r.read(&mut buf).unwrap(), 2);
    assert_eq!(&buf, b"ab");
    assert_eq!(queued(&w), 1);
    assert_eq!(errno(&w.devctl(dcmd::diof(b'q', 9, 4), &[], &mut [0; 4]).unwrap_err()), libc::ENOTTY);
}

#[test]
fn queue_read_timeout_unblocks() {
    setup();
    let _w = watchdog(120);
    let srv = server("resmgr-queue", &["/t/queue2"]);
    let mut f = open("/t/queue2", OpenOptions::new().read(true).timeout(Duration::from_millis(300))).unwrap();
    let mut buf = [0u8; 8];
    let e = f.read(&mut buf).unwrap_err();
    assert_eq!(errno(&e), libc::ETIMEDOUT, "{e}");
    srv.expect("unblock");
    // The server keeps working, and the timed-out reader is out of line.
    let mut w = open("/t/queue2", OpenOptions::new().write(true)).unwrap();
    w.write_all(b"after").unwrap();
    f.set_timeout(None);
    let n = f.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"after");
    // Non-blocking reads of an empty queue fail at once.
    let mut nb = open("/t/queue2", OpenOptions::new().read(true).nonblock(true)).unwrap();
    assert_eq!(errno(&nb.read(&mut buf).unwrap_err()), libc::EAGAIN);
}
