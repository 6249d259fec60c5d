//! The runtime directory: where channels can be found.
//!
//! ```text
//! <root>/pid/<pid>/lock        held (flock) by process <pid> while it lives
//! <root>/pid/<pid>/<chid>      channel <chid>'s listening socket, mode = channel's
//! <root>/names/<name>          symlink to the channel socket of the attached name
//! <root>/paths/<pid>.<chid>.<id>  an attached path prefix (see `paths`)
//! (an flock on <root>/names itself serialises name attach/replace/sweep)
//! ```
//!
//! The root is `$BATON_RUNTIME_DIR` if set, else `/run/baton` when it can be
//! written, else `$XDG_RUNTIME_DIR/baton`, else `/tmp/baton-<uid>` (0700). It
//! is chosen once per process ([`set_runtime_dir`] may choose it first).
//!
//! A process that dies without cleaning up (`kill -9`) leaves its `pid/<pid>`
//! directory with an unlocked `lock` file: that is how every other process
//! knows the entries are stale. Stale entries are removed when found (name
//! attach, name lookup, a client noticing its server died) and by a sweep
//! when a process first uses the runtime directory.

use crate::error::{Error, Result};
use crate::proto::name;
use crate::sys::thread;
use rustix::fd::OwnedFd;
use rustix::fs::{flock, FlockOperation};
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

static ROOT: OnceLock<PathBuf> = OnceLock::new();
static OWN: OnceLock<std::result::Result<OwnDir, i32>> = OnceLock::new();

/// This process's `pid/<pid>` directory and the lock that marks it alive.
#[derive(Debug)]
struct OwnDir {
    path: PathBuf,
    _lock: File,
}

/// Chooses the runtime directory for this process. Fails with `EBUSY` once
/// baton has already used one.
pub fn set_runtime_dir(path: impl Into<PathBuf>) -> Result<()> {
    let path = path.into();
    let mut set = false;
    ROOT.get_or_init(|| {
        set = true;
        path.clone()
    });
    if set || ROOT.get() == Some(&path) {
        Ok(())
    } else {
        Err(Error::new(libc::EBUSY, "the runtime directory is already in use")
            .with_detail(ROOT.get().unwrap().display()))
    }
}

/// The runtime directory in use (chosen on first call).
pub fn runtime_dir() -> &'static Path {
    ROOT.get_or_init(choose_root)
}

fn choose_root() -> PathBuf {
    if let Some(p) = std::env::var_os("BATON_RUNTIME_DIR").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let run = Path::new("/run/baton");
    if writable(run) || (DirBuilder::new().mode(0o755).create(run).is_ok() && chmod(run, 0o1777).is_ok()) {
        return run.to_path_buf();
    }
    if let Some(x) = std::env::var_os("XDG_RUNTIME_DIR").filter(|p| !p.is_empty()) {
        let p = Path::new(&x).join("baton");
        if Path::new(&x).is_dir() {
            return p;
        }
    }
    PathBuf::from(format!("/tmp/baton-{}", thread::uid()))
}

fn writable(p: &Path) -> bool {
    rustix::fs::access(p, rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK).is_ok()
}

fn chmod(p: &Path, mode: u32) -> std::io::Result<()> {
    fs::set_permissions(p, fs::Permissions::from_mode(mode))
}

pub(crate) fn io_err(e: std::io::Error, what: &'static str, path: &Path) -> Error {
    Error::new(e.raw_os_error().unwrap_or(libc::EIO), what).with_detail(path.display())
}

/// Creates `dir` if missing (and missing parents, 0755), with `mode` set
/// explicitly so the umask does not decide. A directory that exists
/// already is left as it is.
fn ensure_dir(dir: &Path, mode: u32) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let fail = |e: std::io::Error| io_err(e, "cannot create the baton runtime directory", dir);
    if let Some(parent) = dir.parent() {
        DirBuilder::new().recursive(true).mode(0o755).create(parent).map_err(fail)?;
    }
    match DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => chmod(dir, mode).map_err(fail),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(fail(e)),
    }
}

/// Refuses a per-user runtime directory (`/tmp/baton-<uid>`) that someone
/// else created, so another user cannot plant names for us.
fn check_owner(dir: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let md = fs::symlink_metadata(dir).map_err(|e| io_err(e, "cannot inspect the baton runtime directory", dir))?;
    if !md.is_dir() || (md.uid() != thread::uid() && md.uid() != 0) {
        return Err(
            Error::new(libc::EPERM, "the baton runtime directory belongs to another user").with_detail(dir.display())
        );
    }
    Ok(())
}

/// Makes sure the directory tree exists and this process has its `pid/<pid>`
/// directory; sweeps stale entries the first time.
fn own_dir() -> Result<&'static OwnDir> {
    let r = OWN.get_or_init(|| {
        let root = runtime_dir();
        // Shared by every user only where it is meant to be: /run/baton.
        let shared = root == Path::new("/run/baton");
        ensure_dir(root, if shared { 0o1777 } else { 0o700 }).map_err(|e| e.errno())?;
        if root.starts_with("/tmp/baton-") {
            check_owner(root).map_err(|e| e.errno())?;
        }
        ensure_dir(&root.join("pid"), 0o1777).map_err(|e| e.errno())?;
        ensure_dir(&root.join("names"), 0o1777).map_err(|e| e.errno())?;
        ensure_dir(&root.join("paths"), 0o1777).map_err(|e| e.errno())?;
        sweep();
        let own = create_own_dir(root).map_err(|e| e.errno())?;
        register_exit_cleanup();
        Ok(own)
    });
    match r {
        Ok(o) => Ok(o),
        Err(errno) => {
            Err(Error::new(*errno, "cannot set up the baton runtime directory").with_detail(runtime_dir().display()))
        }
    }
}

fn create_own_dir(root: &Path) -> Result<OwnDir> {
    let path = root.join("pid").join(thread::pid().to_string());
    for _ in 0..1000 {
        ensure_dir(&path, 0o755)?;
        let lock_path = path.join("lock");
        let lock = match OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o644)
            .custom_flags(libc::O_CLOEXEC)
            .open(&lock_path)
        {
            Ok(f) => f,
            // A sweeper removed the directory between our mkdir and open.
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err(e, "cannot create the process lock file", &lock_path)),
        };
        if flock(&lock, FlockOperation::NonBlockingLockExclusive).is_err() {
            // A sweeper holds it while it removes a dead namesake; retry.
            std::thread::sleep(std::time::Duration::from_millis(1));
            continue;
        }
        // The file we locked must still be the one at the path.
        use std::os::unix::fs::MetadataExt;
        let (a, b) = (lock.metadata(), fs::metadata(&lock_path));
        if matches!((a, b), (Ok(a), Ok(b)) if a.ino() == b.ino() && a.dev() == b.dev()) {
            // Anything left by a dead process with our pid is stale.
            if let Ok(rd) = fs::read_dir(&path) {
                for e in rd.flatten() {
                    if e.file_name() != "lock" {
                        let _ = fs::remove_file(e.path());
                    }
                }
            }
            return Ok(OwnDir { path, _lock: lock });
        }
    }
    Err(Error::new(libc::EAGAIN, "cannot claim this process's runtime directory").with_detail(path.display()))
}

fn register_exit_cleanup() {
    extern "C" fn cleanup() {
        if thread::forked() {
            return; // the entries are the parent's
        }
        if let Some(Ok(own)) = OWN.get() {
            remove_pid_dir_contents(&own.path);
            crate::paths::remove_entries_of(thread::pid());
            let names = runtime_dir().join("names");
            sweep_names(&names, &names, Some(thread::pid()));
        }
    }
    thread::at_exit(cleanup);
}

fn remove_pid_dir_contents(dir: &Path) {
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            let _ = fs::remove_file(e.path());
        }
    }
    let _ = fs::remove_dir(dir);
}

/// The path space's directory (created with the runtime directory).
pub(crate) fn paths_dir() -> Result<PathBuf> {
    own_dir()?;
    Ok(runtime_dir().join("paths"))
}

/// Path of channel `chid`'s socket in process `pid`.
pub(crate) fn channel_path(pid: i32, chid: u32) -> PathBuf {
    runtime_dir().join("pid").join(pid.to_string()).join(chid.to_string())
}

/// Creates channel `chid`'s listening socket with permission `mode`.
pub(crate) fn listen_channel(chid: u32, mode: u32) -> Result<(OwnedFd, PathBuf)> {
    let own = own_dir()?;
    let path = own.path.join(chid.to_string());
    let tmp = own.path.join(format!(".{chid}.tmp"));
    let _ = fs::remove_file(&tmp);
    let fd = crate::sys::unix::listen(&tmp).map_err(|e| Error::from(e).with_detail(tmp.display()))?;
    // Set the mode before the socket becomes reachable under its real name.
    chmod(&tmp, mode & 0o777).map_err(|e| io_err(e, "cannot set the channel's permission mode", &tmp))?;
    fs::rename(&tmp, &path).map_err(|e| io_err(e, "cannot publish the channel socket", &path))?;
    Ok((fd, path))
}

/// Removes a channel's socket file.
pub(crate) fn unlisten_channel(path: &Path) {
    let _ = fs::remove_file(path);
}

/// Holds an exclusive `flock` on the `names` directory while alive.
struct NamesLock(File);

impl NamesLock {
    fn take() -> Result<NamesLock> {
        let p = runtime_dir().join("names");
        let f = File::open(&p).map_err(|e| io_err(e, "cannot open the names directory", &p))?;
        flock(&f, FlockOperation::LockExclusive).map_err(|e| Error::from(e).with_detail(p.display()))?;
        Ok(NamesLock(f))
    }
}

impl Drop for NamesLock {
    fn drop(&mut self) {
        let _ = flock(&self.0, FlockOperation::Unlock);
    }
}

fn check_name(n: &str) -> Result<()> {
    name::validate(n).map_err(|e| Error::new(libc::EINVAL, e.reason()).with_detail(format!("{n:?}")))
}

/// Whether process `pid` holds its runtime-directory lock.
pub(crate) fn pid_alive(pid: i32) -> bool {
    if pid == thread::pid() {
        return true;
    }
    let lock = runtime_dir().join("pid").join(pid.to_string()).join("lock");
    let Ok(f) = File::open(&lock) else {
        return false;
    };
    match flock(&f, FlockOperation::NonBlockingLockShared) {
        Ok(()) => false,
        // Held: by the process itself, or by another one sweeping the dead
        // process's entries right now (`sweep_pid` locks exclusively), so
        // only a process that exists counts (found by `baton soak`: a
        // restarted server was refused its name during a client's sweep).
        Err(_) => thread::pid_exists(pid),
    }
}

/// Parses a name's symlink target back into (pid, chid).
fn parse_target(target: &Path) -> Option<(i32, u32)> {
    let rel = target.strip_prefix(runtime_dir().join("pid")).ok()?;
    let mut it = rel.components();
    let pid = it.next()?.as_os_str().to_str()?.parse().ok()?;
    let chid = it.next()?.as_os_str().to_str()?.parse().ok()?;
    it.next().is_none().then_some((pid, chid))
}

/// Attaches `name` to this process's channel `chid`, replacing a stale
/// entry. `EEXIST` if a live process holds the name.
pub(crate) fn attach_name(n: &str, chid: u32) -> Result<PathBuf> {
    check_name(n)?;
    let own = own_dir()?;
    let names = runtime_dir().join("names");
    let link = names.join(n);
    let target = own.path.join(chid.to_string());
    let _guard = NamesLock::take()?;
    if let Some(parent) = link.parent() {
        ensure_dir(parent, 0o1777)?;
    }
    for _ in 0..2 {
        match std::os::unix::fs::symlink(&target, &link) {
            Ok(()) => return Ok(link),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err(e, "cannot attach the name", &link)),
        }
        match fs::read_link(&link).ok().and_then(|t| parse_target(&t)) {
            Some((pid, c)) if pid_alive(pid) && channel_path(pid, c).exists() => {
                return Err(Error::new(libc::EEXIST, "the name is already attached by a running process")
                    .with_detail(format!("{n:?} (pid {pid})")));
            }
            Some(_) => {
                let _ = fs::remove_file(&link);
            }
            None => {
                return Err(Error::new(libc::EEXIST, "the name is taken by something that is not a baton name")
                    .with_detail(link.display()));
            }
        }
    }
    Err(Error::new(libc::EEXIST, "the name is already attached").with_detail(format!("{n:?}")))
}

/// Removes `name` if it still points at our channel `chid`.
pub(crate) fn detach_name(n: &str, chid: u32) {
    let link = runtime_dir().join("names").join(n);
    let Ok(_guard) = NamesLock::take() else {
        return;
    };
    if fs::read_link(&link).ok().and_then(|t| parse_target(&t)) == Some((thread::pid(), chid)) {
        let _ = fs::remove_file(&link);
        prune_empty_parents(&link);
    }
}

fn prune_empty_parents(link: &Path) {
    let names = runtime_dir().join("names");
    let mut dir = link.parent();
    while let Some(d) = dir {
        if d == names || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// Looks `name` up: the (pid, chid) of the channel and its socket path.
/// `ENOENT` if nobody (alive) has attached it.
pub(crate) fn resolve_name(n: &str) -> Result<(i32, u32, PathBuf)> {
    check_name(n)?;
    let link = runtime_dir().join("names").join(n);
    let not_found = || Error::new(libc::ENOENT, "no channel is attached under this name").with_detail(format!("{n:?}"));
    let target = fs::read_link(&link).map_err(|_| not_found())?;
    let (pid, chid) = parse_target(&target).ok_or_else(not_found)?;
    if !pid_alive(pid) {
        if let Ok(_guard) = NamesLock::take() {
            if fs::read_link(&link).ok().as_deref() == Some(target.as_path()) {
                let _ = fs::remove_file(&link);
                prune_empty_parents(&link);
            }
        }
        return Err(not_found());
    }
    Ok((pid, chid, target))
}

/// Removes a dead process's directory if it is stale.
pub(crate) fn sweep_pid(pid: i32) {
    if pid == thread::pid() {
        return;
    }
    let dir = runtime_dir().join("pid").join(pid.to_string());
    let Ok(lock) = File::open(dir.join("lock")) else {
        // No lock file: a leftover from a crash between mkdir and lock, or
        // empty; remove what is there.
        if dir.is_dir() && !pid_has_lock_race(&dir) {
            remove_pid_dir_contents(&dir);
        }
        return;
    };
    if flock(&lock, FlockOperation::NonBlockingLockExclusive).is_ok() {
        crate::paths::remove_entries_of(pid);
        remove_pid_dir_contents(&dir);
    }
}

/// A directory without a lock may be one a live process is creating right
/// now; give it the benefit of the doubt if that process exists.
fn pid_has_lock_race(dir: &Path) -> bool {
    dir.file_name().and_then(|n| n.to_str()).and_then(|n| n.parse::<i32>().ok()).is_some_and(thread::pid_exists)
}

/// Removes stale entries of dead processes: `pid/<pid>` directories whose
/// lock nobody holds and names that point into them.
pub fn sweep() {
    let root = runtime_dir();
    if let Ok(rd) = fs::read_dir(root.join("pid")) {
        for e in rd.flatten() {
            if let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) {
                sweep_pid(pid);
            }
        }
    }
    if let Ok(_guard) = NamesLock::take() {
        let names = root.join("names");
        sweep_names(&names, &names, None);
    }
}

/// Unlinks names under `dir` that point to dead processes (or, with
/// `owner`, to that process), and empty sub-directories.
fn sweep_names(names: &Path, dir: &Path, owner: Option<i32>) {
    let Ok(rd) = fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            sweep_names(names, &p, owner);
            if p != names {
                let _ = fs::remove_dir(&p);
            }
        } else if ft.is_symlink() {
            let stale = match fs::read_link(&p).ok().and_then(|t| parse_target(&t)) {
                Some((pid, _)) if owner == Some(pid) => true,
                Some((pid, chid)) => owner.is_none() && (!pid_alive(pid) || !channel_path(pid, chid).exists()),
                None => false,
            };
            if stale {
                let _ = fs::remove_file(&p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_parsing() {
        let base = runtime_dir().join("pid");
        assert_eq!(parse_target(&base.join("12").join("3")), Some((12, 3)));
        assert_eq!(parse_target(&base.join("12")), None);
        assert_eq!(parse_target(&base.join("x").join("3")), None);
        assert_eq!(parse_target(Path::new("/elsewhere/12/3")), None);
    }
}
