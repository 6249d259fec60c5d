//! Cross tests of the two resource-manager implementations (issue 7):
//! each side's examples driven by the other side's client.
//!
//! - The Rust examples (`examples/src/bin/resmgr-{null,files,queue}.rs`)
//!   served as processes, driven by the C programs `tests/c/cross_*.c`,
//!   built with `-include baton/posix.h` so their plain `open`, `read`,
//!   `write`, `lseek`, `fstat`, `ftruncate`, `close`, `unlink` and QNX
//!   `devctl` and `ionotify` are baton's C client calls.
//! - The C examples (`examples/c/devnull.c`, `filestore.c`) served as
//!   processes, driven from this test process through `baton_resmgr`'s
//!   `open`/`File`/`stat`/`read_dir`/`unlink`.
//!
//! Every process runs with a watchdog; the test binary's runtime directory
//! is private to it (each test attaches paths of its own). The libraries
//! and the Rust example servers are built on first use into the target
//! directory this test was built in (cargo does not build another
//! package's binaries, nor this package's cdylib, for its tests).

#![allow(unsafe_code)] // kill(2) of the processes' groups, atexit(3)

use baton_resmgr::msg::{dcmd, DirentIter, DirentRecord};
use baton_resmgr::{open, read_dir, stat, unlink, OpenOptions};
use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, Once, OnceLock};
use std::time::Duration;

/// How long a test (or a line a process should print) may take before the
/// test fails; the machine may be busy building.
const WATCHDOG: Duration = Duration::from_secs(240);

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `target/<profile>`: where this test binary is (in `deps/`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent().and_then(Path::parent).expect("target/<profile>/deps").to_path_buf()
}

/// Runs `cargo build` with `args` for this test's profile and target
/// directory; panics with its output if it fails.
fn cargo_build(args: &[&str]) {
    let dir = profile_dir();
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.arg("build").args(args).arg("--target-dir").arg(dir.parent().unwrap()).current_dir(crate_dir());
    if dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let out = cmd.output().expect("run cargo build");
    assert!(out.status.success(), "cargo build {}\n{}", args.join(" "), show(&out));
}

/// The directory of `libbaton.so` and of the Rust example servers, built
/// once (a no-op when they are up to date).
fn bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        cargo_build(&["-p", "baton-c"]);
        cargo_build(&[
            "-p",
            "baton-examples",
            "--bin",
            "resmgr-null",
            "--bin",
            "resmgr-files",
            "--bin",
            "resmgr-queue",
        ]);
        let dir = profile_dir();
        assert!(dir.join("libbaton.so").exists(), "no libbaton.so in {}", dir.display());
        dir
    })
}

fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("baton-c-cross");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn show(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Points this process (and the processes it starts) at a runtime
/// directory of its own. Called first by every test.
fn setup() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let rt = out_dir().join(format!("rt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&rt);
        std::env::set_var("BATON_RUNTIME_DIR", &rt);
        // The servers die with their tests: the directory goes at exit,
        // so that runs do not pile up.
        extern "C" fn remove_runtime_dir() {
            if let Some(dir) = std::env::var_os("BATON_RUNTIME_DIR") {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
        // SAFETY: `remove_runtime_dir` takes no arguments, returns nothing
        // and cannot unwind (it ignores every error).
        unsafe { libc::atexit(remove_runtime_dir) };
    });
}

/// The process groups of the processes the tests started, for the
/// watchdog to kill.
static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

fn kill_group(pgid: i32) {
    // SAFETY: signals a process group this test made; ESRCH if it is empty.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
}

/// Aborts the test binary (after killing the processes started) if the
/// guard lives longer than [`WATCHDOG`].
struct Watchdog(#[allow(dead_code)] mpsc::Sender<()>);

fn watchdog() -> Watchdog {
    let (tx, rx) = mpsc::channel::<()>();
    let name = std::thread::current().name().unwrap_or("?").to_string();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(WATCHDOG) {
            eprintln!("watchdog: test {name} still running after {WATCHDOG:?}; aborting");
            for &g in GROUPS.lock().unwrap().iter() {
                kill_group(g);
            }
            std::process::abort();
        }
    });
    Watchdog(tx)
}

/// Builds the C program `src` with `-std=c99 -Wall -Wextra -Werror`,
/// `extra` flags, against this crate's headers and `libbaton.so`.
fn build_c(src: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let exe = out_dir().join(name);
    let lib = bin_dir();
    let inc = format!("-I{}", crate_dir().join("include").display());
    let tdir = format!("-I{}", crate_dir().join("tests/c").display());
    let (l, rpath) = (format!("-L{}", lib.display()), format!("-Wl,-rpath,{}", lib.display()));
    let mut args = vec!["-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", "-g", &inc, &tdir];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-o", exe.to_str().unwrap(), src.to_str().unwrap(), &l, "-lbaton", "-lpthread", &rpath]);
    let out = Command::new("cc").args(&args).output().expect("run cc");
    assert!(out.status.success(), "cc {}\n{}", args.join(" "), show(&out));
    exe
}

/// A process in a group of its own whose standard output is read line
/// by line; killed (with its group) on drop.
struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Proc {
    fn start(mut cmd: Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
        GROUPS.lock().unwrap().push(child.id() as i32);
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        let pid = child.id();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                eprintln!("[{pid}] {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc { child, lines }
    }

    /// Waits for a line containing `what` and returns it.
    fn expect(&self, what: &str) -> String {
        loop {
            match self.lines.recv_timeout(WATCHDOG) {
                Ok(l) if l.contains(what) => return l,
                Ok(_) => {}
                Err(e) => panic!("no line with {what:?} from pid {}: {e}", self.child.id()),
            }
        }
    }

    /// The lines printed so far that contain `what`, consumed.
    fn count_now(&self, what: &str) -> usize {
        self.lines.try_iter().filter(|l| l.contains(what)).count()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let pgid = self.child.id() as i32;
        kill_group(pgid);
        let _ = self.child.wait();
        GROUPS.lock().unwrap().retain(|&g| g != pgid);
    }
}

/// Starts Rust example server `name` serving `path` and waits for its
/// ready line.
fn rust_server(name: &str, path: &str) -> Proc {
    let mut cmd = Command::new(bin_dir().join(name));
    cmd.arg(path);
    let p = Proc::start(cmd);
    p.expect("ready");
    p
}

/// Builds C example `examples/c/<name>.c`, starts it serving `path` and
/// waits for its ready line.
fn c_server(name: &str, path: &str) -> Proc {
    let exe = build_c(&crate_dir().join("examples/c").join(format!("{name}.c")), name, &[]);
    let mut cmd = Command::new(exe);
    cmd.arg(path);
    let p = Proc::start(cmd);
    p.expect("ready");
    p
}

/// Builds the C client `tests/c/<name>.c` with `-include baton/posix.h`,
/// runs it with `path` and waits (within the watchdog) for it to pass;
/// returns its standard output.
fn c_client(name: &str, path: &str) -> String {
    let exe = build_c(&crate_dir().join("tests/c").join(format!("{name}.c")), name, &["-include", "baton/posix.h"]);
    let mut cmd = Command::new(&exe);
    cmd.arg(path).stderr(Stdio::piped());
    let mut p = Proc::start(cmd);
    let mut stderr = p.child.stderr.take().unwrap();
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = p.child.wait().unwrap();
    let stdout: Vec<String> = p.lines.iter().collect();
    let stderr = err.join().unwrap();
    assert!(status.success(), "{name} {path} failed ({status})\n{}\n{stderr}", stdout.join("\n"));
    stdout.join("\n")
}

fn errno(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

fn rw() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.read(true).write(true);
    o
}

fn ro() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.read(true);
    o
}

// ---- The Rust examples, driven from C ----

/// The Rust null device from C: EOF reads, swallowed writes, a character
/// device's stat, lseek, devctl, open modes; every open the client made
/// (one by a process that exited without closing) is closed by the server.
#[test]
fn rust_null_example_from_c() {
    setup();
    let _w = watchdog();
    let srv = rust_server("resmgr-null", "/dev/cross-null");
    let out = c_client("cross_null", "/dev/cross-null");
    let opens: usize = out
        .lines()
        .find_map(|l| l.strip_prefix("opens "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no opens line in {out:?}"));
    for _ in 0..opens {
        srv.expect("close scoid");
    }
}

/// The Rust file store from C: files, seek, stat, QNX dirents, unlink,
/// 8 MiB with a checksum.
#[test]
fn rust_files_example_from_c() {
    setup();
    let _w = watchdog();
    let _srv = rust_server("resmgr-files", "/cross-rfs");
    c_client("cross_files", "/cross-rfs");
}

/// The Rust blocking queue from C: a read released by another process's
/// write, a TimerTimeout'd read unblocked (the server says so and still
/// serves), O_NONBLOCK, devctl.
#[test]
fn rust_queue_example_from_c() {
    setup();
    let _w = watchdog();
    let srv = rust_server("resmgr-queue", "/dev/cross-queue");
    let out = c_client("cross_queue", "/dev/cross-queue");
    assert!(out.contains("unblocked 1"), "{out}");
    srv.expect("unblock: a reader gave up");
    assert_eq!(srv.count_now("unblock"), 0, "one unblock only");
}

// ---- The C examples, driven from Rust ----

/// The C devnull example through the Rust client API: the checks of
/// `tests/c/resmgr_null.c`.
#[test]
fn c_devnull_example_from_rust() {
    setup();
    let _w = watchdog();
    let _srv = c_server("devnull", "/dev/cross-cnull");
    let path = "/dev/cross-cnull";
    let mut f = open(path, &rw()).unwrap();
    assert_eq!(f.write(b"hello\n").unwrap(), 6);
    assert_eq!(f.write(&[b'x'; 4096]).unwrap(), 4096);
    // More than the server's receive buffer (msg_max_size 2048), whole.
    assert_eq!(f.write(&vec![7u8; 100_000]).unwrap(), 100_000);
    let mut buf = [0u8; 64];
    assert_eq!(f.read(&mut buf).unwrap(), 0, "reads are at end of file");
    let st = f.stat().unwrap();
    assert_eq!(st.mode, libc::S_IFCHR | 0o666);
    assert_eq!((st.size, st.dev), (0, 0));
    assert_eq!(stat(path).unwrap().mode, libc::S_IFCHR | 0o666);
    assert_eq!(f.seek(SeekFrom::Start(100)).unwrap(), 100);
    assert_eq!(f.seek(SeekFrom::Current(5)).unwrap(), 105);
    assert_eq!(errno(&f.seek(SeekFrom::Current(-200)).unwrap_err()), libc::EINVAL);
    // devctl: the flags (iofunc_devctl_default), an unknown command.
    let getflags = dcmd::ALL_GETFLAGS;
    let mut flags = [0u8; 4];
    assert_eq!(f.devctl(getflags, &[], &mut flags).unwrap(), 0);
    assert_eq!(i32::from_ne_bytes(flags), libc::O_RDWR);
    let set = libc::O_NONBLOCK | libc::O_APPEND | libc::O_CREAT; // only the first two change
    assert_eq!(f.devctl(dcmd::ALL_SETFLAGS, &set.to_ne_bytes(), &mut []).unwrap(), 0);
    f.devctl(getflags, &[], &mut flags).unwrap();
    assert_eq!(i32::from_ne_bytes(flags), libc::O_RDWR | libc::O_NONBLOCK | libc::O_APPEND);
    assert_eq!(errno(&f.devctl(dcmd::diot(5, 1, 4), &[0; 4], &mut []).unwrap_err()), libc::ENOTTY);
    f.close().unwrap();
    // Open modes.
    let mut r = open(path, &ro()).unwrap();
    assert_eq!(errno(&r.write(b"x").unwrap_err()), libc::EBADF);
    assert_eq!(r.read(&mut buf).unwrap(), 0);
    let mut w = open(path, OpenOptions::new().write(true)).unwrap();
    assert_eq!(errno(&w.read(&mut buf).unwrap_err()), libc::EBADF);
    assert_eq!(w.write(b"x").unwrap(), 1);
    let nb = open(path, ro().nonblock(true)).unwrap();
    let mut nbf = [0u8; 4];
    assert_eq!(nb.devctl(getflags, &[], &mut nbf).unwrap(), 0);
    assert_eq!(i32::from_ne_bytes(nbf), libc::O_RDONLY | libc::O_NONBLOCK);
    // Not a directory prefix: nothing below it.
    assert_eq!(errno(&open("/dev/cross-cnull/below", &ro()).unwrap_err()), libc::ENOENT);
}

/// FNV-1a of `b`.
fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &x| (h ^ u64::from(x)).wrapping_mul(0x100_0000_01b3))
}

/// The names `dir` lists, checked to be unique.
fn names(dir: &str) -> Vec<String> {
    let mut v: Vec<String> = read_dir(dir).unwrap().map(|e| e.unwrap().name).collect();
    v.sort();
    let n = v.len();
    v.dedup();
    assert_eq!(v.len(), n, "a name listed twice in {dir}");
    v
}

/// The C file store through the Rust client API: the checks of
/// `tests/c/resmgr_fs.c`, and 16 MiB written and read back with a
/// checksum.
#[test]
fn c_filestore_example_from_rust() {
    setup();
    let _w = watchdog();
    let _srv = c_server("filestore", "/cross-cfs");
    let mut create = rw();
    create.create(true).mode(0o640);
    let mut f = open("/cross-cfs/hello.txt", &create).unwrap();
    f.write_all(b"hello, ").unwrap();
    f.write_all(b"world\n").unwrap();
    assert_eq!(f.stream_position().unwrap(), 13);
    assert_eq!(f.seek(SeekFrom::Start(0)).unwrap(), 0);
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    assert_eq!(s, "hello, world\n");
    f.seek(SeekFrom::Start(7)).unwrap();
    let mut five = [0u8; 5];
    f.read_exact(&mut five).unwrap();
    assert_eq!(&five, b"world");
    assert_eq!(f.seek(SeekFrom::End(-6)).unwrap(), 7);
    assert_eq!(errno(&f.seek(SeekFrom::Current(-8)).unwrap_err()), libc::EINVAL);
    let st = f.stat().unwrap();
    assert!(st.is_file());
    assert_eq!((st.mode & 0o7777, st.size, st.dev), (0o640, 13, 0));
    assert_ne!(st.ino, 0);
    // SAFETY: getuid has no preconditions.
    assert_eq!(st.uid, unsafe { libc::getuid() });
    f.close().unwrap();

    // O_EXCL on an existing file, O_APPEND, O_TRUNC, a missing file.
    assert_eq!(errno(&open("/cross-cfs/hello.txt", create.clone().create_new(true)).unwrap_err()), libc::EEXIST);
    let mut a = open("/cross-cfs/hello.txt", OpenOptions::new().append(true)).unwrap();
    a.write_all(b"!").unwrap();
    assert_eq!(a.stat().unwrap().size, 14);
    drop(a);
    let mut r = open("/cross-cfs/hello.txt", &ro()).unwrap();
    s.clear();
    r.read_to_string(&mut s).unwrap();
    assert_eq!(s, "hello, world\n!");
    assert_eq!(errno(&r.write(b"x").unwrap_err()), libc::EBADF);
    drop(r);
    let t = open("/cross-cfs/hello.txt", rw().truncate(true)).unwrap();
    assert_eq!(t.stat().unwrap().size, 0);
    drop(t);
    assert_eq!(errno(&open("/cross-cfs/none.txt", &ro()).unwrap_err()), libc::ENOENT);
    assert_eq!(errno(&stat("/cross-cfs/none.txt").unwrap_err()), libc::ENOENT);

    // 16 MiB out in one message and in 1 MiB ones, back in odd-sized
    // reads, checksummed.
    let big: Vec<u8> = (0..16u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let mut f = open("/cross-cfs/big.bin", create.clone().create_new(true).mode(0o600)).unwrap();
    assert_eq!(f.write(&big).unwrap(), big.len(), "one 16 MiB write, taken whole");
    f.seek(SeekFrom::Start(0)).unwrap();
    for chunk in big.chunks(1 << 20) {
        f.write_all(chunk).unwrap();
    }
    assert_eq!(stat("/cross-cfs/big.bin").unwrap().size, 16 << 20);
    let st = f.stat().unwrap();
    assert_eq!(st.mode, libc::S_IFREG | 0o600);
    // The rest of `struct stat` where the C side put it.
    assert_eq!((st.blksize, st.blocks, st.dev), (4096, (16 << 20) / 512, 0));
    assert!(st.nlink >= 1);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    for (what, t) in [("atime", st.atime), ("mtime", st.mtime), ("ctime", st.ctime)] {
        assert!(t.0 > 1_600_000_000 && t.0 <= now + 60 && (0..1_000_000_000).contains(&t.1), "{what} {t:?}");
    }
    f.seek(SeekFrom::Start(0)).unwrap();
    let mut back = vec![0u8; big.len()];
    let mut got = 0;
    while got < back.len() {
        let end = (got + 300_000).min(back.len());
        match f.read(&mut back[got..end]).unwrap() {
            0 => break,
            n => got += n,
        }
    }
    assert_eq!(got, big.len());
    assert_eq!(f.read(&mut five).unwrap(), 0);
    assert_eq!(fnv(&back), fnv(&big));
    drop(f);
    let mut whole = Vec::new();
    open("/cross-cfs/big.bin", &ro()).unwrap().read_to_end(&mut whole).unwrap();
    assert_eq!(fnv(&whole), fnv(&big));

    // The directory: stat, entries, a buffer too small for one record,
    // unlink.
    let d = open("/cross-cfs", &ro()).unwrap();
    assert!(d.stat().unwrap().is_dir());
    assert_eq!(errno(&d.read_at_offset(&mut [0u8; 8]).unwrap_err()), libc::EINVAL);
    drop(d);
    assert!(stat("/cross-cfs").unwrap().is_dir());
    assert_eq!(errno(&open("/cross-cfs", OpenOptions::new().write(true)).unwrap_err()), libc::EISDIR);
    assert_eq!(names("/cross-cfs"), ["big.bin", "hello.txt"]);
    let inos: Vec<u64> = read_dir("/cross-cfs").unwrap().map(|e| e.unwrap().ino).collect();
    assert!(inos.iter().all(|&i| i != 0) && inos[0] != inos[1], "{inos:?}");
    // The records as they come: one per read of a small buffer, d_offset
    // the entry's own index.
    let d = open("/cross-cfs", &ro()).unwrap();
    let mut buf = [0u8; 40];
    let mut recs = Vec::new();
    loop {
        let n = d.read_at_offset(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        let batch: Vec<DirentRecord> = DirentIter::new(&buf[..n]).map(|r| r.unwrap()).collect();
        assert_eq!(batch.len(), 1, "one 32-byte record fits in 40 bytes");
        recs.extend(batch);
    }
    let offsets: Vec<i64> = recs.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, [0, 1]);
    // Many entries: more than one read's worth.
    for i in 0..200 {
        open(&format!("/cross-cfs/f{i:03}"), &create).unwrap();
    }
    assert_eq!(names("/cross-cfs").len(), 202);
    unlink("/cross-cfs/big.bin").unwrap();
    assert!(!names("/cross-cfs").contains(&"big.bin".to_string()));
    assert_eq!(errno(&unlink("/cross-cfs/big.bin").unwrap_err()), libc::ENOENT);
    assert_eq!(errno(&open("/cross-cfs/big.bin", &ro()).unwrap_err()), libc::ENOENT);
    for i in 0..200 {
        unlink(&format!("/cross-cfs/f{i:03}")).unwrap();
    }
    assert_eq!(names("/cross-cfs"), ["hello.txt"]);
}

/// `_IO_SPACE` both ways: the Rust client's `File::set_len` on the C file
/// store (shrink, grow with zeros, the offset untouched, the errors) and
/// on the C devnull, which has no space handler (the framework's ENOSYS);
/// C's `ftruncate` (`baton_ftruncate`) on the C and the Rust file stores.
#[test]
fn space_ftruncate_both_ways() {
    setup();
    let _w = watchdog();
    let _cfs = c_server("filestore", "/cross-space-c");
    let _null = c_server("devnull", "/dev/cross-space-null");
    let _rfs = rust_server("resmgr-files", "/cross-space-r");
    let mut create = rw();
    create.create(true).mode(0o644);
    let path = "/cross-space-c/a";
    let mut f = open(path, &create).unwrap();
    let all = |f: &mut baton_resmgr::File| {
        let mut v = Vec::new();
        f.seek(SeekFrom::Start(0)).unwrap();
        f.read_to_end(&mut v).unwrap();
        v
    };
    f.write_all(b"hello, world").unwrap();
    f.set_len(5).unwrap();
    assert_eq!(f.stat().unwrap().size, 5);
    assert_eq!(f.stream_position().unwrap(), 12, "the offset stays");
    f.set_len(8).unwrap();
    assert_eq!(all(&mut f), b"hello\0\0\0");
    // Shrunk below the offset, then written at it: the gap reads as zeros.
    f.set_len(2).unwrap();
    f.write_all(b"X").unwrap();
    assert_eq!(all(&mut f), b"he\0\0\0\0\0\0X");
    assert_eq!(stat(path).unwrap().size, 9);
    assert_eq!(errno(&f.set_len(1 << 40).unwrap_err()), libc::EFBIG, "past the store's limit");
    assert_eq!(errno(&open(path, &ro()).unwrap().set_len(0).unwrap_err()), libc::EBADF);
    f.set_len(0).unwrap();
    assert_eq!(all(&mut f), b"");
    drop(f);
    unlink(path).unwrap();
    let null = open("/dev/cross-space-null", &rw()).unwrap();
    assert_eq!(errno(&null.set_len(0).unwrap_err()), libc::ENOSYS);
    c_client("cross_space", "/cross-space-c");
    c_client("cross_space", "/cross-space-r");
}

/// chmod/chown and pread/pwrite both ways: the Rust client on the C file
/// store (the iofunc defaults: the owner or root chmods, root chowns; the
/// C example's `_IO_XTYPE_OFFSET` handling) and on the C devnull; C's
/// `chmod`, `fchmod`, `chown`, `fchown`, `pread`, `pwrite` (with a child
/// of another user, as root) on the C and the Rust file stores.
#[test]
fn attrs_and_positioned_io_both_ways() {
    setup();
    let _w = watchdog();
    let _cfs = c_server("filestore", "/cross-attrs-c");
    let _null = c_server("devnull", "/dev/cross-attrs-null");
    let _rfs = rust_server("resmgr-files", "/cross-attrs-r");
    let mut create = rw();
    create.create(true).mode(0o644);
    let path = "/cross-attrs-c/a";
    let mut f = open(path, &create).unwrap();
    f.write_all(b"0123456789").unwrap();
    f.seek(SeekFrom::Start(2)).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(f.read_at(&mut buf, 6).unwrap(), 4);
    assert_eq!(&buf, b"6789");
    assert_eq!(f.write_at(b"ab", 10).unwrap(), 2);
    assert_eq!(f.stream_position().unwrap(), 2, "the OCB's offset stayed");
    assert_eq!(stat(path).unwrap().size, 12);
    f.chmod(0o600).unwrap();
    assert_eq!(stat(path).unwrap().mode, libc::S_IFREG | 0o600);
    baton_resmgr::chown(path, Some(7), Some(8)).unwrap();
    let st = f.stat().unwrap();
    assert_eq!((st.uid, st.gid), (7, 8));
    baton_resmgr::chmod(path, 0o640).unwrap();
    assert_eq!(stat(path).unwrap().mode & 0o7777, 0o640);
    drop(f);
    unlink(path).unwrap();
    let null = open("/dev/cross-attrs-null", &rw()).unwrap();
    assert_eq!((null.read_at(&mut buf, 5).unwrap(), null.write_at(b"xyz", 5).unwrap()), (0, 3));
    null.chmod(0o600).unwrap();
    assert_eq!(null.stat().unwrap().mode, libc::S_IFCHR | 0o600);
    for prefix in ["/cross-attrs-c", "/cross-attrs-r"] {
        let out = c_client("cross_attrs", prefix);
        // SAFETY: geteuid cannot fail and takes no pointer.
        let root = unsafe { libc::geteuid() } == 0;
        assert!(out.contains(if root { "as user: checked" } else { "as user: skipped" }), "{out}");
    }
}

/// QNX's `ionotify()` from C (a pulse armed with `SIGEV_PULSE_INIT`) on
/// the Rust queue: the pulse arrives once another client writes.
#[test]
fn rust_queue_notify_from_c() {
    setup();
    let _w = watchdog();
    let _srv = rust_server("resmgr-queue", "/dev/cross-notify");
    let out = c_client("cross_notify", "/dev/cross-notify");
    assert!(out.contains("pulse 9 1234") && out.contains("pulse 9 5678"), "{out}");
}
