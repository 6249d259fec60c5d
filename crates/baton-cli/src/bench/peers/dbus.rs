//! A D-Bus method call with zbus (its blocking API) through a private
//! `dbus-daemon`: the bench parent starts the daemon for the run, with a
//! generated configuration that listens on a Unix socket in a directory of
//! its own, and kills it and removes the directory after the run. The
//! server owns the name `org.baton.Bench` and answers `Echo(ay) -> ay` on
//! the object `/org/baton/Bench`, interface `org.baton.Bench1`; the client
//! calls it through a zbus proxy. Each call thus crosses the daemon twice
//! (client -> daemon -> server, and back), as on any bus.
//!
//! The server takes each call off its connection's message stream and
//! answers it itself (`Connection::reply`) rather than through zbus's
//! `ObjectServer`, whose method runs on zbus's own thread and returns
//! before the reply is out: the bench's server loop must know when a call
//! has been answered (the last one before it reports and exits).
//!
//! Without `dbus-daemon` on the machine the transport is skipped, with the
//! reason.

use super::{Client, Endpoint, Pair, Peer, Placement, Server, Work};
use rustix::event::{poll, PollFd, PollFlags};
use rustix::time::Timespec;
use serde_bytes::{ByteBuf, Bytes};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};
use zbus::blocking::connection::Builder;
use zbus::blocking::{Connection, MessageIterator};
use zbus::message::Type;

/// A D-Bus method call through a private dbus-daemon.
#[derive(Debug)]
pub struct Dbus;

/// The daemon, looked up on `PATH`.
const DAEMON: &str = "dbus-daemon";
/// The run's directory in the temporary directory: `DIR` + "<parent pid>-<tag>".
const DIR: &str = "baton-bench-dbus-";
/// How long the daemon may take to start listening.
const START_TIME: Duration = Duration::from_secs(10);
/// The server's bus name, object, interface and method.
const NAME: &str = "org.baton.Bench";
const PATH: &str = "/org/baton/Bench";
const INTERFACE: &str = "org.baton.Bench1";
const METHOD: &str = "Echo";

#[zbus::proxy(
    interface = "org.baton.Bench1",
    default_service = "org.baton.Bench",
    default_path = "/org/baton/Bench",
    gen_async = false
)]
trait Bench {
    /// The server's method: the bytes back. As `serde_bytes` types, zbus
    /// copies the array whole instead of element by element (which costs
    /// far more than the call at large sizes).
    fn echo(&self, data: &Bytes) -> zbus::Result<ByteBuf>;
}

/// A zbus error as an I/O error, saying what failed.
fn fail(what: &str) -> impl FnOnce(zbus::Error) -> io::Error + '_ {
    move |e| io::Error::other(format!("D-Bus: {what}: {e}"))
}

impl Peer for Dbus {
    fn refuse(&self, _size: usize, _placement: Placement) -> Option<String> {
        match find(DAEMON) {
            Some(_) => None,
            None => Some(format!("{DAEMON} is not installed (Debian: apt-get install dbus-daemon)")),
        }
    }

    fn prepare(&self, _size: usize, tag: &str) -> io::Result<Pair> {
        sweep_dead_parents();
        let daemon = Daemon::start(&format!("{}-{tag}", std::process::id()))?;
        let address = Some(daemon.address.clone());
        Ok(Pair {
            server: Endpoint { name: address.clone(), held: Some(Box::new(daemon)), ..Endpoint::default() },
            client: Endpoint { name: address, ..Endpoint::default() },
        })
    }

    fn server(&self, end: Endpoint, _size: usize) -> io::Result<Box<dyn Server>> {
        let conn = Builder::address(end.name()?)
            .and_then(|b| b.name(NAME))
            .and_then(Builder::build)
            .map_err(fail("connect the server"))?;
        // Made before the server says it is ready, so no call is missed.
        let calls = MessageIterator::from(&conn);
        Ok(Box::new(BusServer { conn, calls }))
    }

    fn client(&self, end: Endpoint, _size: usize) -> io::Result<Box<dyn Client>> {
        let conn = Builder::address(end.name()?).and_then(Builder::build).map_err(fail("connect the client"))?;
        let proxy = BenchProxy::builder(&conn)
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .map_err(fail("make the proxy"))?;
        Ok(Box::new(BusClient { proxy, _conn: conn }))
    }
}

/// The client: a proxy for the server's object on its connection.
struct BusClient {
    proxy: BenchProxy<'static>,
    _conn: Connection,
}

impl Client for BusClient {
    fn round_trip(&mut self, msg: &[u8], reply: &mut [u8]) -> io::Result<()> {
        let got = self.proxy.echo(Bytes::new(msg)).map_err(fail("call Echo"))?;
        if got.len() != reply.len() {
            return Err(io::Error::other(format!("D-Bus replied {} bytes, expected {}", got.len(), reply.len())));
        }
        reply.copy_from_slice(&got);
        Ok(())
    }
}

/// The server: its connection and the stream of messages it receives.
struct BusServer {
    conn: Connection,
    calls: MessageIterator,
}

impl Server for BusServer {
    fn echo(&mut self, buf: &mut [u8], work: Work) -> io::Result<()> {
        loop {
            let msg = self
                .calls
                .next()
                .ok_or_else(|| io::Error::other("D-Bus: the connection closed"))?
                .map_err(fail("receive"))?;
            let header = msg.header();
            let ours = header.message_type() == Type::MethodCall
                && header.path().is_some_and(|p| p.as_str() == PATH)
                && header.interface().is_some_and(|i| i.as_str() == INTERFACE)
                && header.member().is_some_and(|m| m.as_str() == METHOD);
            if !ours {
                continue; // the daemon's signals (NameAcquired) and the like
            }
            let body = msg.body();
            let request: &[u8] = body.deserialize().map_err(fail("read the request"))?;
            if request.len() != buf.len() {
                return Err(io::Error::other(format!(
                    "D-Bus delivered {} bytes, expected {}",
                    request.len(),
                    buf.len()
                )));
            }
            buf.copy_from_slice(request);
            work.run(buf);
            return self.conn.reply(&header, &Bytes::new(buf)).map_err(fail("reply"));
        }
    }
}

/// The run's private dbus-daemon, killed and its directory removed on drop.
#[derive(Debug)]
struct Daemon {
    child: Child,
    dir: PathBuf,
    /// Where it listens, as a D-Bus address.
    address: String,
}

impl Daemon {
    /// Starts the daemon of run `run` and waits until it listens.
    fn start(run: &str) -> io::Result<Daemon> {
        let dir = std::env::temp_dir().join(format!("{DIR}{run}"));
        std::fs::create_dir_all(&dir)?;
        let config = dir.join("bus.conf");
        std::fs::write(&config, config_text(&dir))?;
        // Its complaints (it cannot raise its descriptor limit unless root
        // outside a container, and says so) go to a log, shown if it fails.
        let log = dir.join("log");
        let child = Command::new(DAEMON)
            .arg(format!("--config-file={}", config.display()))
            .args(["--print-address", "--nofork"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot start {DAEMON}: {e}")))?;
        let mut daemon = Daemon { child, dir, address: String::new() };
        let stdout = daemon.child.stdout.take().expect("stdout is piped");
        daemon.address = first_line(stdout, Instant::now() + START_TIME).map_err(|e| {
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            io::Error::new(e.kind(), format!("{DAEMON}: {e}: {}", said.trim()))
        })?;
        Ok(daemon)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A minimal bus for the bench: one Unix socket in `dir`, the same user's
/// connections only (EXTERNAL), anyone may own a name and call anything.
/// The daemon writes its process id into `dir`, for [`sweep_dead_parents`].
fn config_text(dir: &Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <pidfile>{}</pidfile>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
        dir.join("bus").display(),
        dir.join("pid").display()
    )
}

/// The first line `out` prints, by `deadline`; its end before a line is an
/// error.
fn first_line(mut out: ChildStdout, deadline: Instant) -> io::Result<String> {
    let mut buf = Vec::new();
    while !buf.contains(&b'\n') {
        let left = deadline.saturating_duration_since(Instant::now());
        let timeout = Timespec { tv_sec: left.as_secs() as i64, tv_nsec: i64::from(left.subsec_nanos()) };
        if poll(&mut [PollFd::new(&out, PollFlags::IN)], Some(&timeout))? == 0 {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "did not say where it listens in time"));
        }
        let mut chunk = [0u8; 256];
        let n = out.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::other("exited before it listened"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf);
    Ok(line.lines().next().unwrap_or_default().trim().to_owned())
}

/// Where `program` is on `PATH`, if it is.
fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(program)).find(|p| {
        use std::os::unix::fs::PermissionsExt;
        p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// Stops the daemons of bench parents that are gone (killed before they
/// could kill their daemon) and removes their directories: the parent's
/// process id is in the directory's name, the daemon's in its pid file.
fn sweep_dead_parents() {
    let tmp = std::env::temp_dir();
    let Ok(entries) = std::fs::read_dir(&tmp) else { return };
    for name in entries.filter_map(|e| e.ok()?.file_name().into_string().ok()) {
        let Some(run) = name.strip_prefix(DIR) else { continue };
        let parent = run.split('-').next().unwrap_or_default();
        if parent.is_empty() || Path::new("/proc").join(parent).exists() {
            continue;
        }
        let dir = tmp.join(&name);
        if let Some(pid) = daemon_pid(&dir) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The process id of the daemon started for `dir`, if it still runs: the
/// one in its pid file, provided its command line names `dir`'s config (so
/// a reused process id is left alone).
fn daemon_pid(dir: &Path) -> Option<rustix::process::Pid> {
    let pid: i32 = std::fs::read_to_string(dir.join("pid")).ok()?.trim().parse().ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let config = dir.join("bus.conf");
    let ours = String::from_utf8_lossy(&cmdline).contains(&*config.to_string_lossy());
    ours.then(|| rustix::process::Pid::from_raw(pid)).flatten()
}
