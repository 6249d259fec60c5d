//! The read section's FUSE mounts: the bridge, `baton fuse DIR
//! --foreground`, a child process with the bench's runtime directory, on a
//! fresh directory, ready once the resource manager's file shows through
//! it; and FUSE's floor, the same with `--bench-floor` (one file served
//! from memory, no resource manager), ready once its file shows. Stopped with
//! SIGTERM (it unmounts), killed and lazily unmounted if it does not go;
//! if the bench dies first, the kernel sends it SIGTERM
//! (`--die-with-parent`: PR_SET_PDEATHSIG) and it unmounts lazily.

use crate::bench::process::SETUP_TIME;
use rustix::process::{kill_process, Pid, Signal};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The mount points' names (in the temporary directory) before the bench's
/// pid: the bridge's, the floor's.
pub const MOUNT_PREFIX: &str = "baton-bench-fuse-";
pub const FLOOR_PREFIX: &str = "baton-bench-fusefloor-";
/// How long the bridge may take to unmount and exit.
const STOP_TIME: Duration = Duration::from_secs(5);

/// A running bridge and its mount point.
#[derive(Debug)]
pub struct Bridge {
    child: Child,
    mount: PathBuf,
    file: PathBuf,
}

impl Bridge {
    /// Mounts the path space of `runtime_dir` (or the user's) and waits
    /// until `rm_path` shows through the mount. `Err` says why not (the
    /// row is then reported skipped).
    pub fn start(runtime_dir: Option<&Path>, rm_path: &str) -> Result<Bridge, String> {
        Self::mount(MOUNT_PREFIX, &[], runtime_dir, rm_path)
    }

    /// Mounts FUSE's floor (`baton fuse --bench-floor`) and waits until
    /// its file shows.
    pub fn start_floor() -> Result<Bridge, String> {
        Self::mount(FLOOR_PREFIX, &["--bench-floor"], None, crate::fuse::FLOOR_FILE)
    }

    /// `baton fuse` with `extra` arguments on a fresh directory named
    /// `prefix` and the bench's pid; ready once `file` shows below it.
    fn mount(prefix: &str, extra: &[&str], runtime_dir: Option<&Path>, file: &str) -> Result<Bridge, String> {
        if !Path::new("/dev/fuse").exists() {
            return Err("/dev/fuse is missing (no FUSE on this machine)".into());
        }
        let mount = std::env::temp_dir().join(format!("{prefix}{}", std::process::id()));
        std::fs::create_dir_all(&mount).map_err(|e| format!("cannot make {}: {e}", mount.display()))?;
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(exe);
        // It unmounts and exits if the bench dies without stopping it.
        let parent = format!("--die-with-parent={}", std::process::id());
        cmd.arg("fuse").arg(&mount).args(["--foreground", &parent]).args(extra);
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        if let Some(dir) = runtime_dir {
            cmd.env("BATON_RUNTIME_DIR", dir);
        }
        let child = cmd.spawn().map_err(|e| format!("cannot start baton fuse: {e}"))?;
        let file = mount.join(file.trim_start_matches('/'));
        let mut bridge = Bridge { child, mount, file };
        let deadline = Instant::now() + SETUP_TIME;
        loop {
            if let Ok(Some(status)) = bridge.child.try_wait() {
                let mut why = String::new();
                if let Some(err) = bridge.child.stderr.as_mut() {
                    let _ = err.read_to_string(&mut why);
                }
                return Err(format!("baton fuse exited ({status}): {}", why.trim()));
            }
            if std::fs::metadata(&bridge.file).is_ok() {
                return Ok(bridge);
            }
            if Instant::now() > deadline {
                return Err(format!("{} did not show through the mount in time", bridge.file.display()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The file read through the mount (the resource manager's, or the
    /// floor's).
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The bridge's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Asks the bridge to unmount and waits for it.
    pub fn stop(mut self) -> std::io::Result<()> {
        let pid = Pid::from_raw(self.child.id() as i32).expect("a child's pid is positive");
        kill_process(pid, Signal::TERM)?;
        let deadline = Instant::now() + STOP_TIME;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return if status.success() {
                    Ok(())
                } else {
                    Err(std::io::Error::other(format!("baton fuse failed ({status})")))
                };
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(std::io::Error::other("baton fuse did not exit on SIGTERM"))
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // A bridge killed leaves its mount behind (disconnected).
        let _ = rustix::mount::unmount(&self.mount, rustix::mount::UnmountFlags::DETACH);
        let _ = std::fs::remove_dir(&self.mount);
    }
}
