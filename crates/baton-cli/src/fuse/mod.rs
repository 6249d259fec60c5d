//! `baton fuse MOUNTPOINT`: the path space as a filesystem, so that any
//! Linux program (`cat`, `echo >`, `dd`, `stat`, Python's `open()`) does
//! its I/O through resource managers (docs/FUSE.md).
//!
//! The directories that hold attached prefixes are implied (`/dev/foo`
//! attached: `MOUNT/dev` lists `foo`); a prefix and everything below a
//! `DIR` prefix is its server's: status by `_IO_STAT`, directory entries
//! by reading the directory, and open, read, write, close, truncate
//! (`_IO_SPACE`), create, unlink and mkdir as the matching `_IO_*` messages; an `ioctl`
//! whose number gives its argument's size is a `devctl`.
//!
//! - `mod.rs`: the command: mount (over a stale mount a bridge left),
//!   detach, unmount on SIGINT/SIGTERM or when a `--die-with-parent`
//!   parent dies.
//! - `fs.rs`: the FUSE requests and the threads they run on.
//! - `tree.rs`: the directories the prefixes imply (pure logic).
//! - `inodes.rs`: the kernel's node numbers for paths.
//! - `attr.rs`: a server's `struct stat` as FUSE attributes, errnos,
//!   ioctl numbers as devctl commands.
//! - `floor.rs`: for `baton bench`, a mount served from memory (FUSE's
//!   own cost, next to the bridge's).

mod attr;
mod floor;
mod fs;
mod inodes;
mod tree;

pub use floor::FILE as FLOOR_FILE;
use fs::{Bridge, SESSION_THREADS};
use fuser::{Filesystem, MountOption, SessionACL};
use rustix::io::Errno;
use rustix::mount::{unmount, UnmountFlags};
use rustix::process::{getppid, set_parent_process_death_signal, Pid, Signal};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The mount's source (its "file system name"), by which a stale mount of
/// a bridge is known (its type is `fuse`, or `fuse.baton` through
/// fusermount3).
const FS_NAME: &str = "baton";
/// The line a detached bridge prints once mounted.
const READY: &str = "ready";
/// How long the session may take to end once unmounted.
const END_TIME: Duration = Duration::from_secs(2);

/// Options of `baton fuse`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The directory to show the path space in (it must exist).
    mountpoint: PathBuf,
    /// Stay in the foreground (attached to the terminal) instead of
    /// detaching once the mount is up.
    #[arg(long)]
    foreground: bool,
    /// Let users other than the one who mounted use the mount. The kernel
    /// still checks every access against the permission bits the servers
    /// report (the mount always has `default_permissions`).
    #[arg(long)]
    allow_other: bool,
    /// Set by a detaching `baton fuse` on the copy of itself that serves.
    #[arg(long, hide = true)]
    detached: bool,
    /// Set by `baton bench` on its bridge, with its own pid: unmount
    /// (lazily) and exit when that parent process dies, so that a crashed
    /// bench leaves no bridge and no mount behind. Only in the foreground
    /// (a detached bridge's parent is gone once it has mounted). The pid
    /// makes a parent that died before the bridge started to watch it
    /// (the bridge already an orphan) noticed too.
    #[arg(long, hide = true, requires = "foreground", value_name = "PID")]
    die_with_parent: Option<i32>,
    /// Set by `baton bench`: serve, instead of the path space, one file
    /// (`file`) of the read bench's bytes from memory, mounted as the
    /// bridge is: what a FUSE read costs without a resource manager.
    #[arg(long, hide = true)]
    bench_floor: bool,
}

/// `baton fuse`.
pub fn run(args: &Args) -> io::Result<()> {
    let parent = args.die_with_parent.map(die_with_parent).transpose()?;
    let mountpoint = mount_point(&args.mountpoint)?;
    if !args.foreground && !args.detached {
        return detach(args, &mountpoint);
    }
    if args.detached {
        // Its own session: the terminal's signals are no longer its business,
        // and it keeps no directory busy.
        rustix::process::setsid()?;
        std::env::set_current_dir("/")?;
    }
    if args.bench_floor {
        serve(args, &mountpoint, parent, floor::Floor::new())
    } else {
        serve(args, &mountpoint, parent, Bridge::new())
    }
}

/// Asks the kernel for SIGTERM when the parent dies (the signal the
/// bridge unmounts on); returns the parent. An error if the parent is not
/// `expected` once asked: it died before (the bridge re-parented), and no
/// signal would come.
fn die_with_parent(expected: i32) -> io::Result<Pid> {
    set_parent_process_death_signal(Some(Signal::TERM))?;
    match getppid() {
        Some(parent) if parent.as_raw_nonzero().get() == expected => Ok(parent),
        _ => Err(io::Error::other("the parent process has gone")),
    }
}

/// The mount point, absolute. A stale FUSE mount on it (its server gone:
/// every access fails with `ENOTCONN`) that a bridge left (source
/// `baton`) is unmounted lazily first; another kind is refused, saying
/// how to clear it.
fn mount_point(arg: &Path) -> io::Result<PathBuf> {
    let context = |e: io::Error| io::Error::new(e.kind(), format!("mount point {}: {e}", arg.display()));
    // realpath(3) may resolve a dead mount's path; stat does not.
    let err = match std::fs::canonicalize(arg).and_then(|p| std::fs::metadata(&p).map(|_| p)) {
        Ok(p) => return Ok(p),
        Err(e) if e.raw_os_error() == Some(Errno::NOTCONN.raw_os_error()) => e,
        Err(e) => return Err(context(e)),
    };
    // The dead mount is the path itself: its parent still resolves.
    let Some(name) = arg.file_name() else { return Err(context(err)) };
    let parent = arg.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let path = std::fs::canonicalize(parent).map_err(context)?.join(name);
    match fuse_mount(&path)? {
        Some((_, source)) if source == FS_NAME => {
            unmount(&path, UnmountFlags::DETACH).map_err(|e| {
                io::Error::other(format!(
                    "{} is the stale mount of a bridge that is gone, and unmounting it failed ({e}): \
                     fusermount3 -uz {0}",
                    path.display()
                ))
            })?;
            let _ = writeln!(
                io::stderr(),
                "baton fuse: {} was the stale mount of a bridge that is gone: unmounted",
                path.display()
            );
            std::fs::canonicalize(&path).map_err(context)
        }
        Some((kind, _)) => Err(io::Error::other(format!(
            "{0} is a stale {kind} mount (its server is gone): unmount it first (umount -l {0}, or fusermount3 -uz {0})",
            path.display()
        ))),
        None => Err(context(err)),
    }
}

/// The type and source of the FUSE mount on `path` (the topmost), if one
/// is there (`/proc/self/mountinfo`: the mount point is field 5, type and
/// source the first two after ` - `).
fn fuse_mount(path: &Path) -> io::Result<Option<(String, String)>> {
    let info = std::fs::read_to_string("/proc/self/mountinfo")?;
    let want = path.to_str();
    Ok(info.lines().rev().find_map(|l| {
        let (head, tail) = l.split_once(" - ")?;
        let point = unescape(head.split(' ').nth(4)?);
        let mut tail = tail.split(' ');
        let (kind, source) = (tail.next()?, unescape(tail.next()?));
        let fuse = kind == "fuse" || kind.starts_with("fuse.");
        (Some(point.as_str()) == want && fuse).then(|| (kind.to_string(), source))
    }))
}

/// A mountinfo field with its octal escapes (`\040` for a space) undone.
fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b.get(i + 1..i + 4).filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push(d.iter().fold(0u8, |n, c| n.wrapping_mul(8) + (c - b'0')));
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Mounts `fs` and serves until SIGINT or SIGTERM (then unmounts) or until
/// the mount goes (`umount`). `parent`: the process whose death ends it
/// (`--die-with-parent`).
fn serve(args: &Args, mountpoint: &Path, parent: Option<Pid>, fs: impl Filesystem + 'static) -> io::Result<()> {
    let mut config = fuser::Config::default();
    config.mount_options = vec![
        MountOption::FSName(FS_NAME.into()),
        MountOption::Subtype("baton".into()),
        // The kernel checks each access against the servers' permission
        // bits: a server sees the bridge as its client, whoever the caller.
        MountOption::DefaultPermissions,
        MountOption::NoDev,
        MountOption::NoSuid,
    ];
    config.acl = if args.allow_other { SessionACL::All } else { SessionACL::Owner };
    config.n_threads = Some(SESSION_THREADS);
    config.clone_fd = true;
    // Before the mount, so no signal goes unheard once it is up.
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    let mut session = fuser::Session::new(fs, mountpoint, &config)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot mount on {}: {e}", mountpoint.display())))?;
    let mut unmounter = session.unmount_callable();
    let handle = signals.handle();
    let (done, ended) = mpsc::channel();
    std::thread::Builder::new().name("baton-fuse".into()).spawn(move || {
        let result = session.run();
        handle.close(); // the mount went: stop waiting for signals
        let _ = done.send(result);
    })?;
    announce(args.detached, mountpoint)?;
    // A signal (or none: the mount went). A busy mount (a file open, a
    // directory some shell is in) is detached from the tree now; the kernel
    // ends the connection when this process exits. The parent's death
    // detaches it at once: whatever the parent left open there is dead.
    if signals.forever().next().is_some() {
        let orphaned = parent.is_some() && getppid() != parent;
        if orphaned || unmounter.unmount().is_err() {
            unmount(mountpoint, UnmountFlags::DETACH)?;
        }
    }
    // A request a server still holds keeps its loop; exiting ends it.
    ended.recv_timeout(END_TIME).unwrap_or(Ok(()))
}

/// Says the mount is up: on stdout to the detaching parent (then lets go
/// of the terminal's stdout and stderr), or on stderr in the foreground.
fn announce(detached: bool, mountpoint: &Path) -> io::Result<()> {
    if !detached {
        // Not eprintln!: a parent that died has closed its end of a piped
        // stderr, and a panic here would leave the mount behind.
        let _ = writeln!(
            io::stderr(),
            "baton fuse: the path space is on {} (SIGINT or SIGTERM unmounts)",
            mountpoint.display()
        );
        return Ok(());
    }
    let mut out = io::stdout().lock();
    writeln!(out, "{READY}")?;
    out.flush()?;
    let null = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
    rustix::stdio::dup2_stdout(&null)?;
    rustix::stdio::dup2_stderr(&null)?;
    Ok(())
}

/// Starts the serving copy of this command in the background and returns
/// once it has mounted (or failed: its error went to stderr).
fn detach(args: &Args, mountpoint: &Path) -> io::Result<()> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("fuse").arg(mountpoint).arg("--detached");
    if args.allow_other {
        cmd.arg("--allow-other");
    }
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout is piped")).read_line(&mut line)?;
    if line.trim_end() == READY {
        return Ok(());
    }
    let status = child.wait()?;
    Err(io::Error::other(format!("the bridge did not mount ({status})")))
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape(r"/tmp/a\040b\011c\134d"), "/tmp/a b\tc\\d");
        assert_eq!(unescape(r"/plain"), "/plain");
        assert_eq!(unescape(r"/short\04"), r"/short\04");
    }
}
