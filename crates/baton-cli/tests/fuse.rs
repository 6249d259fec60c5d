//! `baton fuse` end to end: the example resource managers (resmgr-null,
//! resmgr-files, resmgr-queue of the `baton-examples` package) served
//! through a FUSE mount to ordinary programs: `sh`, `cat`, `dd`,
//! `sha256sum`, `stat`, `ls`, Python's `open()` and `fcntl.ioctl`, and
//! `cat` as another user. Every test has its own runtime directory, mount
//! and servers, and a watchdog; each is skipped, saying so, where
//! `/dev/fuse` is missing.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

const BATON: &str = env!("CARGO_BIN_EXE_baton");
/// How long anything may take before the test counts as hung.
const WAIT: Duration = Duration::from_secs(60);

/// Kills the test's processes and aborts if the test outlives `secs`.
struct Watchdog(#[allow(dead_code)] mpsc::Sender<()>);

fn watchdog(secs: u64, pids: Vec<u32>) -> Watchdog {
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(Duration::from_secs(secs)) {
            eprintln!("watchdog: still running after {secs}s; aborting");
            for pid in pids {
                kill(pid, rustix::process::Signal::KILL);
            }
            std::process::abort();
        }
    });
    Watchdog(tx)
}

fn kill(pid: u32, signal: rustix::process::Signal) {
    if let Some(p) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(p, signal);
    }
}

/// Whether FUSE can be tried here; prints why not.
fn fuse_available() -> bool {
    if Path::new("/dev/fuse").exists() {
        return true;
    }
    eprintln!("/dev/fuse is missing: FUSE tests skipped");
    false
}

/// The path of example server `name`, built on first use (cargo builds
/// another package's binaries only when asked).
fn example(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        // target/<profile>/deps/<test> -> target/<profile>
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--quiet", "-p", "baton-examples"]);
        for b in ["resmgr-null", "resmgr-files", "resmgr-queue"] {
            cmd.args(["--bin", b]);
        }
        cmd.arg("--target-dir").arg(profile_dir.parent().unwrap()).current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir.ends_with("release") {
            cmd.arg("--release");
        }
        assert!(cmd.status().unwrap().success(), "cargo build of the example servers failed");
        profile_dir
    });
    dir.join(name)
}

/// The QNX-style C example `name` (crates/baton-c/examples/c/<name>.c),
/// compiled against this build's `libbaton.so` (brought up to date first:
/// a no-op when it is), once per test binary: tests that run at the same
/// time share it (a compile over a running binary would fail).
fn c_example(name: &str) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<(String, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, exe)) = built.iter().find(|b| b.0 == name) {
        return exe.clone();
    }
    let lib = example("libbaton.so");
    let dir = lib.parent().unwrap();
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--quiet", "-p", "baton-c"]);
    cmd.arg("--target-dir").arg(dir.parent().unwrap()).current_dir(env!("CARGO_MANIFEST_DIR"));
    if dir.ends_with("release") {
        cmd.arg("--release");
    }
    assert!(cmd.status().unwrap().success(), "cargo build of libbaton failed");
    let c = Path::new(env!("CARGO_MANIFEST_DIR")).join("../baton-c");
    let exe = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fuse-c-{name}"));
    let out = Command::new("cc")
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", "-o"])
        .arg(&exe)
        .arg(c.join("examples/c").join(format!("{name}.c")))
        .arg(format!("-I{}", c.join("include").display()))
        .arg(format!("-L{}", dir.display()))
        .args(["-lbaton", "-lpthread"])
        .arg(format!("-Wl,-rpath,{}", dir.display()))
        .output()
        .expect("run cc");
    assert!(out.status.success(), "cc {name}.c: {}", String::from_utf8_lossy(&out.stderr));
    built.push((name.to_string(), exe.clone()));
    exe
}

/// A test's world: a runtime directory, a mount, the bridge, the servers.
struct World {
    dir: PathBuf,
    mount: PathBuf,
    bridge: Option<Child>,
    servers: Vec<Child>,
}

impl World {
    /// A fresh runtime directory and a bridge mounted on a fresh directory
    /// (`--allow-other`: the permission test reads as another user).
    fn new(name: &str) -> World {
        let dir = std::env::temp_dir().join(format!("baton-fuse-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mount = dir.join("mnt");
        std::fs::create_dir_all(&mount).unwrap();
        // Other users must reach the mount point.
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let mut world = World { dir, mount, bridge: None, servers: Vec::new() };
        let bridge = Command::new(BATON)
            .arg("fuse")
            .arg(&world.mount)
            .args(["--foreground", "--allow-other"])
            .env("BATON_RUNTIME_DIR", world.runtime())
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        world.bridge = Some(bridge);
        let deadline = Instant::now() + WAIT;
        while !mounted(&world.mount) {
            assert!(Instant::now() < deadline, "the bridge did not mount");
            if let Some(status) = world.bridge.as_mut().unwrap().try_wait().unwrap() {
                panic!("baton fuse exited: {status}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        world
    }

    fn runtime(&self) -> PathBuf {
        self.dir.join("run")
    }

    /// `rel` below the mount point.
    fn at(&self, rel: &str) -> String {
        format!("{}/{}", self.mount.display(), rel.trim_start_matches('/'))
    }

    /// Starts example server `name` with `args` and waits for its `ready`.
    fn server(&mut self, name: &str, args: &[&str]) -> u32 {
        self.start(&example(name), args)
    }

    /// Starts QNX-style C example `name` (crates/baton-c/examples/c) with
    /// `args` and waits for its `ready`.
    fn c_server(&mut self, name: &str, args: &[&str]) -> u32 {
        self.start(&c_example(name), args)
    }

    fn start(&mut self, exe: &Path, args: &[&str]) -> u32 {
        let name = exe.display().to_string();
        let mut child = Command::new(exe)
            .args(args)
            .env("BATON_RUNTIME_DIR", self.runtime())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let pid = child.id();
        self.servers.push(child);
        let mut line = String::new();
        while !line.contains("ready") {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "{name} exited before it was ready");
        }
        // Keep reading its lines (close notices) so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in out.lines().map_while(Result::ok) {});
        pid
    }

    /// The pids a watchdog kills.
    fn pids(&self) -> Vec<u32> {
        self.bridge.iter().chain(&self.servers).map(Child::id).collect()
    }

    /// Stops the bridge with SIGTERM: it must unmount and exit 0.
    fn stop_bridge(&mut self) {
        let mut bridge = self.bridge.take().unwrap();
        kill(bridge.id(), rustix::process::Signal::TERM);
        let status = wait(&mut bridge);
        assert!(status.success(), "baton fuse on SIGTERM: {status}");
        assert!(!mounted(&self.mount), "still mounted after SIGTERM");
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(mut b) = self.bridge.take() {
            kill(b.id(), rustix::process::Signal::TERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while b.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = b.kill();
            let _ = b.wait();
        }
        for s in &mut self.servers {
            let _ = s.kill();
            let _ = s.wait();
        }
        let _ = rustix::mount::unmount(&self.mount, rustix::mount::UnmountFlags::DETACH);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether `dir` is a mount point now (`/proc/self/mountinfo`).
fn mounted(dir: &Path) -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let dir = dir.to_str().unwrap();
    info.lines().any(|l| l.split(' ').nth(4) == Some(dir))
}

fn wait(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "process {} did not exit", child.id());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `script` with `sh -c`; returns its output (whatever its status).
fn sh(script: &str) -> Output {
    Command::new("sh").args(["-c", script]).stdin(Stdio::null()).output().unwrap()
}

/// Runs `script`, which must succeed; returns its standard output.
fn sh_ok(script: &str) -> String {
    let out = sh(script);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "`{script}` failed ({}): {stderr}", out.status);
    String::from_utf8(out.stdout).unwrap()
}

/// Waits until process `pid` is blocked in `read(2)` on descriptor `fd`
/// (`/proc/<pid>/syscall`: the call number, 0, then its arguments).
fn await_blocked_read(pid: u32, fd: u32) {
    let want = format!("0 {fd:#x} ");
    let deadline = Instant::now() + WAIT;
    loop {
        let now = std::fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
        if now.starts_with(&want) {
            return;
        }
        assert!(Instant::now() < deadline, "pid {pid} never blocked in read (syscall: {now:?})");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn shell_commands_through_the_mount() {
    if !fuse_available() {
        return;
    }
    let mut w = World::new("shell");
    w.server("resmgr-files", &["/mem"]);
    w.server("resmgr-null", &["/dev/null2"]);
    let _dog = watchdog(120, w.pids());
    // Implied directories, and the servers' own.
    assert_eq!(sh_ok(&format!("ls {}", w.at("/"))).split_whitespace().collect::<Vec<_>>(), ["dev", "mem"]);
    assert_eq!(sh_ok(&format!("ls {}", w.at("dev"))).trim(), "null2");
    // echo and cat on the file store.
    let a = w.at("mem/a");
    assert_eq!(sh_ok(&format!("echo hi > {a} && cat {a}")), "hi\n");
    assert_eq!(sh_ok(&format!("echo more >> {a} && cat {a}")), "hi\nmore\n");
    assert_eq!(sh_ok(&format!("echo new > {a} && cat {a}")), "new\n", "> truncates");
    assert_eq!(sh_ok(&format!("stat -c '%s %F %a' {a}")).trim(), "4 regular file 644");
    sh_ok(&format!("mkdir {} && echo x > {}", w.at("mem/d"), w.at("mem/d/x")));
    assert_eq!(sh_ok(&format!("stat -c %F {}", w.at("mem/d"))).trim(), "directory");
    assert_eq!(sh_ok(&format!("ls {}", w.at("mem"))).split_whitespace().collect::<Vec<_>>(), ["a", "d"]);
    sh_ok(&format!("rm {a}"));
    assert!(!sh(&format!("cat {a}")).status.success());
    assert_eq!(sh_ok(&format!("ls {}", w.at("mem"))).trim(), "d");
    // The null device: writes vanish, reads end at once.
    let null = w.at("dev/null2");
    assert_eq!(sh_ok(&format!("echo gone > {null} && cat {null} | wc -c")).trim(), "0");
    w.stop_bridge();
}

/// The two QNX-style C examples (a null device and a file store, built
/// on the C resource-manager framework) through the mount, with ordinary
/// commands and Python.
#[test]
fn c_examples_through_the_mount() {
    if !fuse_available() {
        return;
    }
    let mut w = World::new("c-examples");
    w.c_server("filestore", &["/cfs"]);
    w.c_server("devnull", &["/dev/cnull"]);
    let _dog = watchdog(300, w.pids());
    let a = w.at("cfs/a");
    assert_eq!(sh_ok(&format!("echo hi > {a} && cat {a}")), "hi\n");
    assert_eq!(sh_ok(&format!("echo more >> {a} && cat {a}")), "hi\nmore\n");
    assert_eq!(sh_ok(&format!("stat -c '%s %F' {a}")).trim(), "8 regular file");
    let py = format!("open('{0}', 'w').write('from python'); print(open('{0}').read())", w.at("cfs/py"));
    assert_eq!(sh_ok(&format!("python3 -c \"{py}\"")).trim(), "from python");
    let listed = sh_ok(&format!("ls {}", w.at("cfs")));
    assert_eq!(listed.split_whitespace().collect::<Vec<_>>(), ["a", "py"]);
    dd_16_mib_round_trip(&w, "cfs/big");
    sh_ok(&format!("rm {a}"));
    assert!(!sh(&format!("cat {a}")).status.success());
    // The C null device: writes vanish, reads end at once.
    let null = w.at("dev/cnull");
    assert_eq!(sh_ok(&format!("echo gone > {null} && cat {null} | wc -c")).trim(), "0");
    w.stop_bridge();
}

#[test]
fn dd_of_16_mib_keeps_every_byte() {
    if !fuse_available() {
        return;
    }
    let mut w = World::new("dd");
    w.server("resmgr-files", &["/mem"]);
    let _dog = watchdog(300, w.pids());
    dd_16_mib_round_trip(&w, "mem/big");
}

/// `dd`s 16 MiB of random bytes to `rel` below the mount and back, and
/// checks the size `stat` reports and that the copy back, and the file
/// read in place, hash as the source does.
fn dd_16_mib_round_trip(w: &World, rel: &str) {
    let (src, back, big) = (w.dir.join("src"), w.dir.join("back"), w.at(rel));
    sh_ok(&format!("dd if=/dev/urandom of={} bs=1M count=16 status=none", src.display()));
    sh_ok(&format!("dd if={} of={big} bs=64k status=none", src.display()));
    assert_eq!(sh_ok(&format!("stat -c %s {big}")).trim(), (16 << 20).to_string());
    sh_ok(&format!("dd if={big} of={} bs=128k status=none", back.display()));
    let sum = |p: &str| sh_ok(&format!("sha256sum < {p}"));
    let want = sum(&src.display().to_string());
    assert_eq!(sum(&back.display().to_string()), want);
    assert_eq!(sum(&big), want);
}

#[test]
fn python_open_and_ioctl_as_devctl() {
    if !fuse_available() {
        return;
    }
    let mut w = World::new("python");
    w.server("resmgr-files", &["/mem"]);
    w.server("resmgr-queue", &["/dev/q"]);
    let _dog = watchdog(120, w.pids());
    let script = format!(
        r#"
import fcntl, os, struct
p = "{file}"
with open(p, "w") as f:
    f.write("from python\n")
with open(p) as f:
    assert f.read() == "from python\n"
with open(p, "rb") as f:
    f.seek(5)
    assert f.read(6) == b"python"
# QUEUE_LEN: __DIOF('q', 1, 4) on the server, _IOR('q', 1, 4) here.
QUEUE_LEN = (2 << 30) | (4 << 16) | (ord("q") << 8) | 1
fd = os.open("{queue}", os.O_RDWR)
os.write(fd, b"12345")
buf = bytearray(4)
fcntl.ioctl(fd, QUEUE_LEN, buf)
assert struct.unpack("<i", buf)[0] == 5, bytes(buf)
try:
    fcntl.ioctl(fd, (2 << 30) | (4 << 16) | (ord("q") << 8) | 99, bytearray(4))
    raise SystemExit("an unknown command succeeded")
except OSError as e:
    assert e.errno == 25, e  # ENOTTY: the server has no such command
assert os.read(fd, 5) == b"12345"
print("ok")
"#,
        file = w.at("mem/py"),
        queue = w.at("dev/q")
    );
    let out = Command::new("python3").args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}

#[test]
fn blocking_read_is_released_by_a_write_and_blocks_nothing_else() {
    if !fuse_available() {
        return;
    }
    let mut w = World::new("blocking");
    w.server("resmgr-queue", &["/dev/q"]);
    w.server("resmgr-files", &["/mem"]);
    let q = w.at("dev/q");
    let mut reader = Command::new("head").args(["-c", "5", &q]).stdout(Stdio::piped()).spawn().unwrap();
    let _dog = watchdog(120, [w.pids(), vec![reader.id()]].concat());
    // head reads descriptor 3: blocked there, the server holding its read.
    await_blocked_read(reader.id(), 3);
    // The mount keeps answering meanwhile, the same file included.
    assert_eq!(sh_ok(&format!("echo hi > {m} && cat {m}", m = w.at("mem/x"))), "hi\n");
    sh_ok(&format!("stat {q} > /dev/null && ls {} > /dev/null", w.at("/")));
    sh_ok(&format!("printf hello > {q}"));
    let mut got = String::new();
    reader.stdout.take().unwrap().read_to_string(&mut got).unwrap();
    assert!(wait(&mut reader).success());
    assert_eq!(got, "hello");
}

#[test]
fn server_killed_mid_read_fails_the_read_and_the_mount_lives_on() {
    if !fuse_available() {
        return;
    }
    let mut w = World::new("kill");
    let queue = w.server("resmgr-queue", &["/dev/q"]);
    let q = w.at("dev/q");
    let mut reader = Command::new("cat").arg(&q).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let _dog = watchdog(120, [w.pids(), vec![reader.id()]].concat());
    await_blocked_read(reader.id(), 3);
    kill(queue, rustix::process::Signal::KILL);
    let status = wait(&mut reader);
    let mut err = String::new();
    reader.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(!status.success(), "cat of a killed server succeeded");
    assert!(err.contains("Input/output error"), "cat said: {err}");
    // The mount still works: the path is gone, then served again.
    assert!(!sh(&format!("stat {q}")).status.success());
    sh_ok(&format!("ls {} > /dev/null", w.at("/")));
    w.server("resmgr-queue", &["/dev/q"]);
    assert_eq!(sh_ok(&format!("printf again > {q} && head -c 5 {q}")), "again");
    w.stop_bridge();
}

#[test]
fn permission_denied_for_a_user_without_access() {
    if !fuse_available() {
        return;
    }
    if !rustix::process::geteuid().is_root() {
        eprintln!("not root: cannot run cat as another user; permission test skipped");
        return;
    }
    let mut w = World::new("perm");
    w.server("resmgr-files", &["/mem"]);
    let _dog = watchdog(120, w.pids());
    let (secret, open) = (w.at("mem/secret"), w.at("mem/open"));
    sh_ok(&format!("umask 077 && echo s > {secret} && umask 022 && echo o > {open}"));
    assert_eq!(sh_ok(&format!("stat -c %a {secret}")).trim(), "600");
    let cat_as_nobody = |path: &str| {
        use std::os::unix::process::CommandExt;
        Command::new("cat").arg(path).uid(65534).gid(65534).output().unwrap()
    };
    let denied = cat_as_nobody(&secret);
    assert!(!denied.status.success());
    assert!(String::from_utf8_lossy(&denied.stderr).contains("Permission denied"), "{denied:?}");
    let allowed = cat_as_nobody(&open);
    assert!(allowed.status.success(), "{allowed:?}");
    assert_eq!(allowed.stdout, b"o\n");
}

/// `chmod` and `chown` through the mount are `_IO_CHMOD`/`_IO_CHOWN` (on
/// the Rust file store, the C file store and a device with the
/// framework's defaults), and the kernel enforces the new mode and owner
/// for another user (as root).
#[test]
fn chmod_and_chown_are_io_messages_and_the_mode_is_enforced() {
    if !fuse_available() {
        return;
    }
    let mut w = World::new("chmod");
    w.server("resmgr-files", &["/mem"]);
    w.c_server("filestore", &["/cfs"]);
    w.server("resmgr-null", &["/dev/null2"]);
    let _dog = watchdog(120, w.pids());
    let mode = |p: &str| sh_ok(&format!("stat -c %a {p}")).trim().to_string();
    for rel in ["mem/f", "cfs/f"] {
        let f = w.at(rel);
        sh_ok(&format!("echo s > {f} && chmod 640 {f}"));
        assert_eq!(mode(&f), "640", "{rel}");
        sh_ok(&format!("chmod u+x,o+r {f}"));
        assert_eq!(mode(&f), "744", "{rel}");
        sh_ok(&format!("chown 123:456 {f}"));
        assert_eq!(sh_ok(&format!("stat -c '%u %g' {f}")).trim(), "123 456", "{rel}");
        // Python's fchmod/fchown: on the open itself.
        let script = format!(
            "import os\nfd = os.open('{f}', os.O_RDONLY)\nos.fchmod(fd, 0o600)\nos.fchown(fd, 0, -1)\n\
             st = os.fstat(fd)\nassert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o600, 0, 456), st\nprint('ok')"
        );
        let out = Command::new("python3").args(["-c", &script]).output().unwrap();
        assert!(out.status.success(), "python on {rel}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let null = w.at("dev/null2");
    sh_ok(&format!("chmod 600 {null}"));
    assert_eq!(mode(&null), "600");
    // The bridge's own directories do not change.
    assert!(!sh(&format!("chmod 700 {}", w.at("dev"))).status.success());

    if !rustix::process::geteuid().is_root() {
        eprintln!("not root: cannot act as another user; the enforcement checks are skipped");
        return w.stop_bridge();
    }
    use std::os::unix::process::CommandExt;
    let as_nobody = |cmd: &str| Command::new("sh").args(["-c", cmd]).uid(65534).gid(65534).output().unwrap();
    let f = w.at("mem/g");
    sh_ok(&format!("echo secret > {f} && chmod 644 {f}"));
    assert!(as_nobody(&format!("cat {f}")).status.success());
    sh_ok(&format!("chmod 600 {f}"));
    let denied = as_nobody(&format!("cat {f}"));
    assert!(String::from_utf8_lossy(&denied.stderr).contains("Permission denied"), "{denied:?}");
    // Not the owner: no chmod.
    let out = as_nobody(&format!("chmod 666 {f}"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Operation not permitted"), "{out:?}");
    // Given to nobody: it reads, chmods, and cannot give it back.
    sh_ok(&format!("chown 65534:65534 {f}"));
    let ok = as_nobody(&format!("cat {f} && chmod 400 {f}"));
    assert!(ok.status.success() && ok.stdout == b"secret\n", "{ok:?}");
    assert_eq!(mode(&f), "400");
    assert!(!as_nobody(&format!("chown 0 {f}")).status.success());
    w.stop_bridge();
}

/// `pread`/`pwrite` (Python's `os.pread`/`os.pwrite`, `dd seek=`/`skip=`)
/// through the mount: the bridge sends `_IO_XTYPE_OFFSET` at FUSE's
/// offset; the descriptor's offset stays; a device without positions (the
/// queue answers `ESPIPE`) is still read and written in turn.
#[test]
fn pread_and_pwrite_through_the_mount() {
    if !fuse_available() {
        return;
    }
    let mut w = World::new("pread");
    w.server("resmgr-files", &["/mem"]);
    w.c_server("filestore", &["/cfs"]);
    w.server("resmgr-queue", &["/dev/q"]);
    let _dog = watchdog(120, w.pids());
    for rel in ["mem/p", "cfs/p"] {
        let f = w.at(rel);
        let script = format!(
            "import os\nfd = os.open('{f}', os.O_RDWR | os.O_CREAT, 0o644)\nos.write(fd, b'0123456789')\n\
             os.lseek(fd, 2, os.SEEK_SET)\nassert os.pwrite(fd, b'XY', 8) == 2\n\
             assert os.pread(fd, 4, 5) == b'567X'\nassert os.pwrite(fd, b'Z', 12) == 1\n\
             assert os.lseek(fd, 0, os.SEEK_CUR) == 2\nassert os.read(fd, 20) == b'234567XY\\0\\0Z'\n\
             os.close(fd)\nprint('ok')"
        );
        let out = Command::new("python3").args(["-c", &script]).output().unwrap();
        assert!(out.status.success(), "python on {rel}: {}", String::from_utf8_lossy(&out.stderr));
        sh_ok(&format!("printf 0123456789 > {f}"));
        sh_ok(&format!("printf AB | dd of={f} bs=1 seek=3 conv=notrunc status=none"));
        assert_eq!(sh_ok(&format!("cat {f}")), "012AB56789", "{rel}");
        assert_eq!(sh_ok(&format!("dd if={f} bs=1 skip=7 count=2 status=none")), "78", "{rel}");
    }
    let q = w.at("dev/q");
    sh_ok(&format!("printf abc > {q}"));
    assert_eq!(sh_ok(&format!("dd if={q} bs=3 count=1 status=none")), "abc");
    w.stop_bridge();
}

/// A QNX-style C server whose read refuses every extended type (the
/// `_IO_XTYPE_NONE` check of QNX's documentation: `ENOSYS` for a `pread`):
/// the bridge falls back to moving the OCB's offset and reading there, so
/// reads at any offset, in any order, mixed with reads at the descriptor's
/// offset, give the file's bytes.
#[test]
fn pread_from_a_server_that_refuses_positions() {
    if !fuse_available() {
        return;
    }
    let mut w = World::new("no-pread");
    w.c_server("textfile", &["/txt", "0123456789abcdefghij"]);
    let _dog = watchdog(120, w.pids());
    let f = w.at("txt");
    let script = format!(
        "import os\nfd = os.open('{f}', os.O_RDONLY)\n\
         assert os.pread(fd, 4, 5) == b'5678'\nassert os.pread(fd, 3, 0) == b'012'\n\
         assert os.pread(fd, 10, 15) == b'fghij'\nassert os.pread(fd, 4, 20) == b''\n\
         assert os.read(fd, 6) == b'012345'\nassert os.pread(fd, 2, 1) == b'12'\n\
         assert os.read(fd, 3) == b'678'\nos.close(fd)\nprint('ok')"
    );
    let out = Command::new("python3").args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(sh_ok(&format!("cat {f}")), "0123456789abcdefghij");
    assert_eq!(sh_ok(&format!("dd if={f} bs=1 skip=12 count=3 status=none")), "cde");
    assert_eq!(sh_ok(&format!("stat -c '%s %F' {f}")).trim(), "20 regular file");
    w.stop_bridge();
}

#[test]
fn truncate_to_any_size_is_io_space() {
    if !fuse_available() {
        return;
    }
    let mut w = World::new("truncate");
    w.server("resmgr-files", &["/mem"]);
    w.server("resmgr-null", &["/dev/null2"]);
    let _dog = watchdog(120, w.pids());
    let f = w.at("mem/f");
    let bytes = |p: &str| sh_ok(&format!("od -An -c {p} | tr -s ' '")).trim().to_string();
    sh_ok(&format!("printf abc > {f}"));
    // truncate(2): grows with zeros, then shrinks.
    sh_ok(&format!("truncate -s 6 {f}"));
    assert_eq!(sh_ok(&format!("stat -c %s {f}")).trim(), "6");
    assert_eq!(bytes(&f), r"a b c \0 \0 \0");
    sh_ok(&format!("truncate -s 2 {f}"));
    assert_eq!(sh_ok(&format!("cat {f}")), "ab");
    // ftruncate(2) on an open descriptor (the same FUSE open's OCB).
    let script = format!(
        "import os\nfd = os.open('{f}', os.O_RDWR)\nos.ftruncate(fd, 4)\nassert os.fstat(fd).st_size == 4\n\
         assert os.read(fd, 10) == b'ab\\0\\0'\nos.ftruncate(fd, 1)\nos.close(fd)\nprint('ok')"
    );
    let out = Command::new("python3").args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(sh_ok(&format!("cat {f}")), "a");
    sh_ok(&format!("truncate -s 0 {f}"));
    assert_eq!(sh_ok(&format!("stat -c %s {f}")).trim(), "0");
    // A server without _IO_SPACE: an error at once (the watchdog stands
    // for a hang); 0 still works, as an open with O_TRUNC.
    let null = w.at("dev/null2");
    let out = sh(&format!("truncate -s 5 {null}"));
    assert!(!out.status.success(), "truncate of resmgr-null succeeded");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Operation not supported"), "{out:?}");
    sh_ok(&format!("truncate -s 0 {null}"));
    w.stop_bridge();
}

/// Waits until `dir` is mounted (`true`) or not (`false`).
fn await_mounted(dir: &Path, want: bool) {
    let deadline = Instant::now() + WAIT;
    while mounted(dir) != want {
        assert!(Instant::now() < deadline, "{} never became {}mounted", dir.display(), if want { "" } else { "un" });
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How many processes have `path` among their arguments.
fn processes_naming(path: &Path) -> usize {
    let want = path.as_os_str().as_encoded_bytes();
    let procs = std::fs::read_dir("/proc").unwrap();
    procs
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|cmd| cmd.split(|&b| b == 0).any(|arg| arg == want))
        .count()
}

/// Whether process `pid` has ended (gone, or a zombie nobody reaped yet).
fn ended(pid: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.is_empty() || status.lines().any(|l| l.starts_with("State:") && l.contains('Z'))
}

/// A fresh directory with an empty mount point `mnt` in it.
fn scratch(name: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("baton-fuse-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mount = dir.join("mnt");
    std::fs::create_dir_all(&mount).unwrap();
    (dir, mount)
}

/// Unmounts whatever is left on `mount` and removes `dir`.
fn clean(dir: &Path, mount: &Path) {
    while mounted(mount) && rustix::mount::unmount(mount, rustix::mount::UnmountFlags::DETACH).is_ok() {}
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bridge_with_die_with_parent_unmounts_when_its_parent_is_killed() {
    if !fuse_available() {
        return;
    }
    let (dir, mount) = scratch("orphan");
    // The parent: a shell that starts the bridge (as the bench does) and
    // says its pid, then is killed without stopping it.
    let mut parent = Command::new("sh")
        .arg("-c")
        .arg(format!("{BATON} fuse {} --foreground --die-with-parent=$$ </dev/null & echo $!; wait", mount.display()))
        .env("BATON_RUNTIME_DIR", dir.join("run"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(parent.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let bridge: u32 = line.trim().parse().unwrap();
    let _dog = watchdog(120, vec![parent.id(), bridge]);
    await_mounted(&mount, true);
    kill(parent.id(), rustix::process::Signal::KILL);
    wait(&mut parent);
    await_mounted(&mount, false);
    let deadline = Instant::now() + WAIT;
    while !ended(bridge) {
        assert!(Instant::now() < deadline, "the bridge outlived its parent");
        std::thread::sleep(Duration::from_millis(10));
    }
    clean(&dir, &mount);
}

/// A bridge whose parent died before it could ask to be told (the bench
/// killed as it starts one): it is an orphan by then, and no death signal
/// would come, so it must see that its parent is not the one named and
/// exit without mounting.
#[test]
fn bridge_whose_parent_died_before_it_started_exits_without_mounting() {
    if !fuse_available() {
        return;
    }
    let (dir, mount) = scratch("orphaned-early");
    // The shell starts a subshell that becomes the bridge, naming the
    // shell, 0.2 s later; the shell exits at once.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "(sleep 0.2; exec {BATON} fuse {} --foreground --die-with-parent=$$) </dev/null >/dev/null & echo $!",
            mount.display()
        ))
        .env("BATON_RUNTIME_DIR", dir.join("run"))
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let bridge: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let _dog = watchdog(120, vec![bridge]);
    // It ends and leaves no mount. (Had the machine been so slow that the
    // shell was still there when the bridge looked, the bridge would have
    // mounted, then unmounted on the shell's death: the same end.)
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ended(bridge) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let failed = if !ended(bridge) {
        Some("the orphaned bridge is still running")
    } else {
        mounted(&mount).then_some("the orphaned bridge left its mount")
    };
    if failed.is_some() {
        kill(bridge, rustix::process::Signal::TERM);
    }
    clean(&dir, &mount);
    assert_eq!(failed, None);
}

#[test]
fn stale_mount_of_a_bridge_is_cleared_and_another_is_refused() {
    if !fuse_available() {
        return;
    }
    let (dir, mount) = scratch("stale");
    let bridge = |mount: &Path| {
        Command::new(BATON)
            .arg("fuse")
            .arg(mount)
            .arg("--foreground")
            .env("BATON_RUNTIME_DIR", dir.join("run"))
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // A bridge killed outright leaves its mount behind, dead.
    let mut first = bridge(&mount);
    let dog = watchdog(120, vec![first.id()]);
    await_mounted(&mount, true);
    kill(first.id(), rustix::process::Signal::KILL);
    wait(&mut first);
    let dead = std::fs::metadata(&mount).unwrap_err();
    assert_eq!(dead.raw_os_error(), Some(libc::ENOTCONN), "{dead}");
    // The next bridge unmounts it, says so, and serves.
    let mut second = bridge(&mount);
    let _dog2 = watchdog(120, vec![second.id()]);
    let deadline = Instant::now() + WAIT;
    // Mounted and answering (the dead mount is mounted but fails; between
    // the two nothing is mounted).
    while !(mounted(&mount) && std::fs::read_dir(&mount).is_ok()) {
        assert!(Instant::now() < deadline, "the second bridge did not mount");
        assert!(second.try_wait().unwrap().is_none(), "the second bridge exited");
        std::thread::sleep(Duration::from_millis(10));
    }
    kill(second.id(), rustix::process::Signal::TERM);
    assert!(wait(&mut second).success());
    let mut said = String::new();
    second.stderr.take().unwrap().read_to_string(&mut said).unwrap();
    assert!(said.contains("stale mount of a bridge that is gone: unmounted"), "{said}");
    assert!(!mounted(&mount));
    drop(dog);
    // Another file system's dead FUSE mount (mounted by hand on a
    // /dev/fuse descriptor closed at once): refused, with how to clear it.
    if !rustix::process::geteuid().is_root() {
        eprintln!("not root: cannot mount a foreign FUSE file system; that part skipped");
        return clean(&dir, &mount);
    }
    let m = mount.display();
    sh_ok(&format!("exec 5<>/dev/fuse; mount -t fuse.other -o fd=5,rootmode=40000,user_id=0,group_id=0 other {m}"));
    let mut third = bridge(&mount);
    let _dog3 = watchdog(120, vec![third.id()]);
    assert!(!wait(&mut third).success(), "a bridge mounted over a foreign stale mount");
    let mut said = String::new();
    third.stderr.take().unwrap().read_to_string(&mut said).unwrap();
    assert!(said.contains("is a stale fuse.other mount") && said.contains("umount -l"), "{said}");
    clean(&dir, &mount);
}

#[test]
fn bench_killed_mid_read_section_leaves_no_bridge_and_no_mount() {
    if !fuse_available() {
        return;
    }
    let (dir, _) = scratch("bench");
    let mut bench = Command::new(BATON)
        .args(["bench", "--section", "read", "--quick", "--runs", "3", "-n", "1000000"])
        .env("BATON_RUNTIME_DIR", dir.join("run"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _dog = watchdog(180, vec![bench.id()]);
    let mount = std::env::temp_dir().join(format!("baton-bench-fuse-{}", bench.id()));
    await_mounted(&mount, true);
    kill(bench.id(), rustix::process::Signal::KILL);
    wait(&mut bench);
    // The bridge got SIGTERM from the kernel and unmounted.
    await_mounted(&mount, false);
    // The floor's bridge, which the bench was starting as it was killed:
    // it exits, whether it had begun to watch its parent (SIGTERM) or not
    // (its parent already gone), and leaves no mount.
    let floor = std::env::temp_dir().join(format!("baton-bench-fusefloor-{}", bench.id()));
    let deadline = Instant::now() + WAIT;
    while processes_naming(&floor) > 0 {
        assert!(Instant::now() < deadline, "the floor's bridge outlived the bench");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!mounted(&floor), "{} is left mounted", floor.display());
    // The next bench removes the empty mount point and the tmpfs file.
    let out = Command::new(BATON)
        .args(["bench", "--section", "read", "--quick", "--runs", "1", "-n", "100"])
        .env("BATON_RUNTIME_DIR", dir.join("run"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!mount.exists(), "{} is left", mount.display());
    assert!(!Path::new(&format!("/dev/shm/baton-bench-read-{}", bench.id())).exists());
    let _ = std::fs::remove_dir_all(&dir);
}
