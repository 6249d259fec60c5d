//! What the soak reads of a live process in /proc, to find leaks:
//! descriptors, shared-memory segments (memfds, open or mapped), threads
//! and resident memory.

use std::fs;

/// One look at a process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    /// Open descriptors.
    pub fds: u64,
    /// Open descriptors that are memfds (baton's segments).
    pub memfd_fds: u64,
    /// Mappings of memfds.
    pub memfd_maps: u64,
    /// Threads.
    pub tasks: u64,
    /// Resident memory, KiB.
    pub rss_kib: u64,
}

impl Sample {
    /// Looks at process `pid` (`None` if it is gone).
    pub fn of(pid: u32) -> Option<Sample> {
        let dir = format!("/proc/{pid}");
        let mut s = Sample::default();
        for e in fs::read_dir(format!("{dir}/fd")).ok()?.flatten() {
            s.fds += 1;
            if fs::read_link(e.path()).is_ok_and(|t| t.to_string_lossy().starts_with("/memfd:")) {
                s.memfd_fds += 1;
            }
        }
        s.memfd_maps =
            fs::read_to_string(format!("{dir}/maps")).ok()?.lines().filter(|l| l.contains("/memfd:")).count() as u64;
        s.tasks = fs::read_dir(format!("{dir}/task")).ok()?.count() as u64;
        let status = fs::read_to_string(format!("{dir}/status")).ok()?;
        s.rss_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        Some(s)
    }
}

/// Entries of the runtime directory: `pid/<pid>` directories and the
/// sockets, names and other files under it, with the pids they belong to
/// (names are attributed to the pid they point into).
pub fn runtime_entries(root: &std::path::Path) -> Vec<(String, Option<u32>)> {
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<(String, Option<u32>)>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        let rel = p.strip_prefix(root).unwrap_or(&p).to_string_lossy().into_owned();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            walk(root, &p, out);
            continue;
        }
        let owner_of = |s: &str| s.split("pid/").nth(1).and_then(|r| r.split('/').next()?.parse().ok());
        let owner = if ft.is_symlink() {
            fs::read_link(&p).ok().and_then(|t| owner_of(&t.to_string_lossy()))
        } else {
            owner_of(&rel)
        };
        out.push((rel, owner));
    }
}
