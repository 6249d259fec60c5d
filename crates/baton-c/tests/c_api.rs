//! The C API from C: each program in `tests/c` is built with plain `cc`
//! against this crate's `libbaton.so` and run (a server and a client in
//! separate processes, forked before either uses baton) with a watchdog.
//! A program that exits 77 was skipped; its reason is printed.
//!
//! The library comes from the profile these tests were built with
//! (`target/debug` or `target/release`); `cargo test` builds it before the
//! tests, and this file builds it if it is missing.

#![allow(unsafe_code)] // kill(2) of the program's process group

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long a program may run before it is killed and the test fails.
const WATCHDOG: Duration = Duration::from_secs(180);

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding `libbaton.so` (and `libbaton.a`): the profile
/// directory this test binary was built into. `cargo test` does not build
/// a library that is only a cdylib/staticlib for integration tests, so this
/// builds it (a no-op when it is up to date).
fn lib_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("test binary path");
        let dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps").to_path_buf();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-p", "baton-c"]).current_dir(crate_dir());
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let out = cmd.output().expect("run cargo build -p baton-c");
        assert!(out.status.success(), "cargo build -p baton-c failed\n{}", show(&out));
        assert!(dir.join("libbaton.so").exists(), "no libbaton.so in {}", dir.display());
        dir
    })
}

fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("baton-c-tests");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn show(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Compiles with `compiler` and `args`; panics with the compiler's output.
fn compile(compiler: &str, args: &[&str]) {
    let out = Command::new(compiler).args(args).output().unwrap_or_else(|e| panic!("running {compiler}: {e}"));
    assert!(out.status.success(), "{compiler} {}\n{}", args.join(" "), show(&out));
}

/// The strict C99 every C file of the tests is built with, then `rest`.
fn strict_c99<'a>(rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["-std=c99", "-Wall", "-Wextra", "-Werror"];
    args.extend_from_slice(rest);
    args
}

/// `cc -std=c99 -Wall -Wextra -Werror` of `tests/c/<name>.c`, linked
/// with `-lbaton -lpthread` as the README says; returns the executable.
fn build(name: &str) -> PathBuf {
    build_c(&crate_dir().join("tests/c").join(format!("{name}.c")), name, &[])
}

/// Builds the C program `src` as `build` does, with `extra` flags too.
fn build_c(src: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let exe = out_dir().join(name);
    let (inc, tdir, lib) = (crate_dir().join("include"), crate_dir().join("tests/c"), lib_dir());
    let rpath = format!("-Wl,-rpath,{}", lib.display());
    let l = format!("-L{}", lib.display());
    let (i1, i2) = (format!("-I{}", inc.display()), format!("-I{}", tdir.display()));
    let mut args = vec!["-O1", "-g", &i1, &i2];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-o", exe.to_str().unwrap(), src.to_str().unwrap(), &l, "-lbaton", "-lpthread", &rpath]);
    compile("cc", &strict_c99(&args));
    exe
}

/// Runs `exe` in its own process group and runtime directory; kills the
/// group if it outlives the watchdog. Returns its output; panics unless it
/// passed or skipped.
fn run(exe: &Path) -> Output {
    let name = exe.file_name().unwrap().to_string_lossy().into_owned();
    let rt = out_dir().join(format!("rt-{name}-{}", std::process::id()));
    let out = run_in(exe, &rt);
    let _ = std::fs::remove_dir_all(&rt);
    out
}

/// `run` with the runtime directory `rt`.
fn run_in(exe: &Path, rt: &Path) -> Output {
    let name = exe.file_name().unwrap().to_string_lossy().into_owned();
    let child = Command::new(exe)
        .env("BATON_RUNTIME_DIR", rt)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()));
    let pgid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let out = child.wait_with_output();
        let _ = tx.send(());
        out
    });
    let start = Instant::now();
    let timed_out = rx.recv_timeout(WATCHDOG).is_err();
    if timed_out {
        // SAFETY: signals the process group we created for the program.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
    let out = waiter.join().unwrap().unwrap();
    // Whatever the program forked and left behind goes too.
    // SAFETY: as above; ESRCH if the group is empty.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
    assert!(!timed_out, "{name} still running after {:?}: killed\n{}", start.elapsed(), show(&out));
    match out.status.code() {
        Some(0) => {}
        Some(77) => println!("{name}: {}", String::from_utf8_lossy(&out.stdout).trim()),
        _ => panic!("{name} failed ({})\n{}", out.status, show(&out)),
    }
    out
}

fn build_and_run(name: &str) {
    run(&build(name));
}

/// A server that runs until killed, in its own process group.
struct Server {
    child: std::process::Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: signals the process group made for the server.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// Starts `exe` with `args` in runtime directory `rt` and waits (within
/// the watchdog) for its first line, which must start with "ready".
fn start_server(exe: &Path, args: &[&str], rt: &Path) -> Server {
    use std::io::BufRead;
    let mut child = Command::new(exe)
        .args(args)
        .env("BATON_RUNTIME_DIR", rt)
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()));
    let stdout = child.stdout.take().unwrap();
    let server = Server { child };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(WATCHDOG).unwrap_or_else(|_| panic!("{} said nothing", exe.display()));
    assert!(line.starts_with("ready"), "{}: {line:?}", exe.display());
    server
}

/// `examples/c/<example>.c` serving, and `tests/c/<client>.c` (built with
/// `-include baton/posix.h`, so its POSIX calls are baton's) against it.
fn example_with_client(example: &str, client: &str) {
    let server = build_c(&crate_dir().join("examples/c").join(format!("{example}.c")), example, &[]);
    let posix = ["-include", "baton/posix.h"];
    let client = build_c(&crate_dir().join("tests/c").join(format!("{client}.c")), client, &posix);
    let rt = out_dir().join(format!("rt-{example}-{}", std::process::id()));
    let s = start_server(&server, &[], &rt);
    run_in(&client, &rt);
    drop(s);
    let _ = std::fs::remove_dir_all(&rt);
}

/// The headers compile with `-Wall -Wextra -Werror` as C99 (with
/// `-pedantic`) and as C++17, and the program's checks of the layouts and
/// values pass in both.
#[test]
fn headers_compile_cleanly_as_c99_and_cpp17() {
    let c = build("headers");
    run(&c);
    let cxx = ["c++", "g++", "clang++"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()));
    let Some(cxx) = cxx else {
        println!("C++17 header check skipped: no C++ compiler (c++, g++, clang++) on this machine");
        return;
    };
    let src = crate_dir().join("tests/c/headers.c");
    let exe = out_dir().join("headers-cpp");
    let inc = format!("-I{}", crate_dir().join("include").display());
    let (l, rpath) = (format!("-L{}", lib_dir().display()), format!("-Wl,-rpath,{}", lib_dir().display()));
    compile(
        cxx,
        &[
            "-std=c++17",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-x",
            "c++",
            &inc,
            "-o",
            exe.to_str().unwrap(),
            src.to_str().unwrap(),
            "-x",
            "none",
            &l,
            "-lbaton",
            "-lpthread",
            &rpath,
        ],
    );
    run(&exe);
    // And pedantic C99.
    compile("cc", &strict_c99(&["-pedantic", &inc, "-fsyntax-only", src.to_str().unwrap()]));
}

/// The /dev/null-like C example driven by POSIX calls through
/// `baton/posix.h`: writes vanish, reads find end of file, stat, lseek,
/// devctl (the flags, ENOTTY), open modes, libc for everything else.
#[test]
fn resmgr_devnull_example_from_c() {
    example_with_client("devnull", "resmgr_null");
}

/// The in-memory file store C example: create, write, read back, seek,
/// O_EXCL/O_APPEND/O_TRUNC, stat, 4 MiB with a checksum, QNX dirents,
/// unlink.
#[test]
fn resmgr_filestore_example_from_c() {
    example_with_client("filestore", "resmgr_fs");
}

/// A QNX-style device with its own OCB and read/write/devctl/notify/
/// unblock/close handlers, message_attach, pulse_attach and a thread pool:
/// blocking and unblocked reads, EACCES for another user (as root), a
/// dead client's opens closed, the pool's water marks, the framework's
/// EBADF/EBADMSG/ENOSYS.
#[test]
fn resmgr_device_with_custom_handlers() {
    let out = run(&build("resmgr_dev"));
    print!("{}", String::from_utf8_lossy(&out.stdout));
}

/// The echo server and client (name_attach/name_open, _IO_CONNECT, every
/// send form, MsgError, MsgInfo, ConnectClientInfo, pulses, a small
/// receive buffer, the disconnect pulse).
#[test]
fn echo_server_and_client() {
    build_and_run("echo");
}

/// A multi-threaded server replying from other threads than the receiver.
#[test]
fn multithreaded_server_replies_from_other_threads() {
    build_and_run("threads");
}

/// MsgRead/MsgWrite of a 1 MiB message in chunks.
#[test]
fn one_mib_read_and_written_in_chunks() {
    build_and_run("bigmsg");
}

/// TimerTimeout: send, reply, receive, immediate, absolute, one-shot, and
/// the unblock pulse.
#[test]
fn timer_timeouts_and_the_unblock_pulse() {
    build_and_run("timeout");
}

/// ESRCH and EBADF after the server is killed; the COIDDEATH pulse.
#[test]
fn server_killed_gives_esrch_then_ebadf() {
    build_and_run("death");
}

/// ConnectAttach's coid spaces and the connection errors.
#[test]
fn connection_ids_never_collide_with_descriptors() {
    build_and_run("coid");
}

/// Priority order and inheritance seen from C (skipped without SCHED_FIFO).
#[test]
fn priority_order_and_inheritance() {
    build_and_run("priority");
}

/// Pulses and MsgDeliverEvent (at once and after the reply, on either
/// coid space), signals, registered and updateable events, an
/// unregistered one failing, MsgVerifyEvent, `_NTO_COF_REG_EVENTS`.
#[test]
fn events_delivered_and_registered() {
    build_and_run("events");
}

/// Pulse timers (periodic, one-shot, absolute) and glibc's own timers
/// (SIGEV_SIGNAL, SIGEV_THREAD) in a program linked with -lbaton.
#[test]
fn pulse_timers_and_glibc_timers() {
    let out = run(&build("timers"));
    print!("{}", String::from_utf8_lossy(&out.stdout));
}

/// No allocation per message on the C path, large copies included (the
/// program counts every `malloc`, `calloc` and `realloc` of the process).
#[test]
fn send_receive_reply_allocate_nothing() {
    build_and_run("noalloc");
}

/// select_attach: a ready descriptor's function called through the
/// channel, re-armed or not, detached, its errors (tests/c/select.c).
#[test]
fn select_attach_calls_back_when_a_descriptor_is_ready() {
    build_and_run("select");
}

/// ConnectDetach from another thread wakes the threads blocked on the
/// coid with EBADF.
#[test]
fn connect_detach_wakes_blocked_threads_with_ebadf() {
    build_and_run("detach");
}

/// A program links against `libbaton.a` alone (no shared library).
#[test]
fn links_statically() {
    static_build_and_run("threads");
}

/// The resource-manager device linked against `libbaton.a`: the C
/// framework is inside it.
#[test]
fn resmgr_links_statically() {
    static_build_and_run("resmgr_dev");
}

/// The timers program linked against `libbaton.a`: the executable then
/// defines the `timer_*` names, and glibc's timers are still found behind
/// it (`dlsym(RTLD_NEXT, ...)`).
#[test]
fn glibc_timers_work_when_linked_statically() {
    static_build_and_run("timers");
}

fn static_build_and_run(name: &str) {
    let src = crate_dir().join(format!("tests/c/{name}.c"));
    let exe = out_dir().join(format!("{name}-static"));
    let (inc, tdir) = (
        format!("-I{}", crate_dir().join("include").display()),
        format!("-I{}", crate_dir().join("tests/c").display()),
    );
    let a = lib_dir().join("libbaton.a");
    compile(
        "cc",
        &strict_c99(&[
            &inc,
            &tdir,
            "-o",
            exe.to_str().unwrap(),
            src.to_str().unwrap(),
            a.to_str().unwrap(),
            "-lpthread",
            "-ldl",
            "-lm",
            "-lgcc_s",
        ]),
    );
    run(&exe);
}

/// `scripts/install-baton-c` installs the library and headers with a
/// `baton.pc`, and a program builds with `pkg-config --cflags --libs baton`
/// and runs.
#[test]
fn install_script_and_pkg_config() {
    if Command::new("pkg-config").arg("--version").output().is_err() {
        println!("pkg-config check skipped: no pkg-config on this machine");
        return;
    }
    let prefix = out_dir().join(format!("prefix-{}", std::process::id()));
    let script = crate_dir().join("../../scripts/install-baton-c");
    let out = Command::new("sh")
        .arg(&script)
        .args(["--no-build", prefix.to_str().unwrap()])
        .env("BATON_LIB_DIR", lib_dir())
        .output()
        .unwrap();
    assert!(out.status.success(), "install-baton-c failed\n{}", show(&out));
    let pc = prefix.join("lib/pkgconfig");
    let flags =
        Command::new("pkg-config").args(["--cflags", "--libs", "baton"]).env("PKG_CONFIG_PATH", &pc).output().unwrap();
    assert!(flags.status.success(), "pkg-config --cflags --libs baton\n{}", show(&flags));
    let flags = String::from_utf8(flags.stdout).unwrap();
    assert!(flags.contains("-lbaton"), "{flags}");
    let exe = out_dir().join("threads-pkgconfig");
    let src = crate_dir().join("tests/c/threads.c");
    let tdir = format!("-I{}", crate_dir().join("tests/c").display());
    let mut args = strict_c99(&[&tdir, "-o", exe.to_str().unwrap(), src.to_str().unwrap()]);
    args.extend(flags.split_whitespace());
    compile("cc", &args);
    run(&exe);
    let _ = std::fs::remove_dir_all(&prefix);
}
