//! POSIX permission checks against an [`Attr`] for a client whose ids the
//! kernel reported (`MsgInfo`). Supplementary groups are read from
//! `/proc/<pid>/status` only when they could change the answer.

use super::Attr;
use std::fs;

/// Read permission (`R_OK`).
pub const READ: u32 = 4;
/// Write permission (`W_OK`).
pub const WRITE: u32 = 2;
/// Execute/search permission (`X_OK`).
pub const EXEC: u32 = 1;

/// Who is asking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Client {
    /// Process id.
    pub pid: i32,
    /// Effective user id.
    pub uid: u32,
    /// Effective group id.
    pub gid: u32,
}

/// Whether `client` may access `attr` for `want` (`READ | WRITE | EXEC`).
/// Root may read and write anything, and execute what anyone may.
pub fn allowed(attr: &Attr, client: Client, want: u32) -> bool {
    let want = want & 7;
    let m = attr.mode;
    if client.uid == 0 {
        return want & EXEC == 0 || m & 0o111 != 0 || attr.is_dir();
    }
    let bits = if client.uid == attr.uid {
        (m >> 6) & 7
    } else {
        let (group, other) = ((m >> 3) & 7, m & 7);
        // The groups are read only when they could change the answer.
        let member = client.gid == attr.gid || (group & want != other & want && in_group(client.pid, attr.gid));
        if member {
            group
        } else {
            other
        }
    };
    bits & want == want
}

/// Whether `client` is in group `gid`: its effective group, or one of its
/// supplementary groups.
pub fn member(client: Client, gid: u32) -> bool {
    client.gid == gid || in_group(client.pid, gid)
}

/// Whether process `pid` has `gid` among its supplementary groups.
fn in_group(pid: i32, gid: u32) -> bool {
    let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) else { return false };
    status
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .is_some_and(|g| g.split_whitespace().any(|x| x.parse() == Ok(gid)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_group_other_root() {
        let mut a = Attr::new(libc::S_IFREG | 0o640);
        a.uid = 10;
        a.gid = 20;
        let c = |uid, gid| Client { pid: std::process::id() as i32, uid, gid };
        assert!(allowed(&a, c(10, 1), READ | WRITE));
        assert!(allowed(&a, c(11, 20), READ));
        assert!(!allowed(&a, c(11, 20), WRITE));
        assert!(!allowed(&a, c(11, 21), READ));
        assert!(allowed(&a, c(0, 0), READ | WRITE));
        assert!(!allowed(&a, c(0, 0), EXEC));
    }
}
