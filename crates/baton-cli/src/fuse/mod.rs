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
//! - `mod.rs`: the command: mount, detach, unmount on SIGINT/SIGTERM.
//! - `fs.rs`: the FUSE requests and the threads they run on.
//! - `tree.rs`: the directories the prefixes imply (pure logic).
//! - `inodes.rs`: the kernel's node numbers for paths.
//! - `attr.rs`: a server's `struct stat` as FUSE attributes, errnos,
//!   ioctl numbers as devctl commands.

mod attr;
mod fs;
mod inodes;
mod tree;

use fs::{Bridge, SESSION_THREADS};
use fuser::{MountOption, SessionACL};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

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
}

/// `baton fuse`.
pub fn run(args: &Args) -> io::Result<()> {
    let mountpoint = std::fs::canonicalize(&args.mountpoint)
        .map_err(|e| io::Error::new(e.kind(), format!("mount point {}: {e}", args.mountpoint.display())))?;
    if !args.foreground && !args.detached {
        return detach(args, &mountpoint);
    }
    if args.detached {
        // Its own session: the terminal's signals are no longer its business,
        // and it keeps no directory busy.
        rustix::process::setsid()?;
        std::env::set_current_dir("/")?;
    }
    serve(args, &mountpoint)
}

/// Mounts and serves until SIGINT or SIGTERM (then unmounts) or until the
/// mount goes (`umount`).
fn serve(args: &Args, mountpoint: &Path) -> io::Result<()> {
    let mut config = fuser::Config::default();
    config.mount_options = vec![
        MountOption::FSName("baton".into()),
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
    let mut session = fuser::Session::new(Bridge::new(), mountpoint, &config)
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
    // ends the connection when this process exits.
    if signals.forever().next().is_some() && unmounter.unmount().is_err() {
        rustix::mount::unmount(mountpoint, rustix::mount::UnmountFlags::DETACH)?;
    }
    // A request a server still holds keeps its loop; exiting ends it.
    ended.recv_timeout(END_TIME).unwrap_or(Ok(()))
}

/// Says the mount is up: on stdout to the detaching parent (then lets go
/// of the terminal's stdout and stderr), or on stderr in the foreground.
fn announce(detached: bool, mountpoint: &Path) -> io::Result<()> {
    if !detached {
        eprintln!("baton fuse: the path space is on {} (SIGINT or SIGTERM unmounts)", mountpoint.display());
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
