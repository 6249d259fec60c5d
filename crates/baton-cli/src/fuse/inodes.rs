//! Inode numbers for paths: the kernel names nodes by number, the path
//! space by path. A path keeps its number for the life of the mount (the
//! table only grows: one entry per path ever looked up), so a server that
//! goes and comes back shows the same node.

use std::collections::HashMap;
use std::sync::Mutex;

/// The root's number (FUSE's `FUSE_ROOT_ID`).
pub const ROOT: u64 = 1;

/// Path ↔ number, both ways.
#[derive(Debug)]
pub struct Inodes {
    table: Mutex<Table>,
}

#[derive(Debug)]
struct Table {
    by_path: HashMap<String, u64>,
    paths: Vec<String>,
}

impl Inodes {
    pub fn new() -> Inodes {
        let root = "/".to_owned();
        let by_path = HashMap::from([(root.clone(), ROOT)]);
        Inodes { table: Mutex::new(Table { by_path, paths: vec![root] }) }
    }

    /// The number of `path`, given one now if it has none.
    pub fn number(&self, path: &str) -> u64 {
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&ino) = t.by_path.get(path) {
            return ino;
        }
        t.paths.push(path.to_owned());
        let ino = t.paths.len() as u64;
        t.by_path.insert(path.to_owned(), ino);
        ino
    }

    /// The path of number `ino`, if it was given.
    pub fn path(&self, ino: u64) -> Option<String> {
        let t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let i = usize::try_from(ino).ok()?.checked_sub(1)?;
        t.paths.get(i).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_stable_and_reversible() {
        let t = Inodes::new();
        assert_eq!(t.number("/"), ROOT);
        let a = t.number("/dev/foo");
        let b = t.number("/dev");
        assert_ne!(a, b);
        assert_eq!(t.number("/dev/foo"), a);
        assert_eq!(t.path(a).as_deref(), Some("/dev/foo"));
        assert_eq!(t.path(ROOT).as_deref(), Some("/"));
        assert_eq!(t.path(0), None);
        assert_eq!(t.path(99), None);
    }
}
