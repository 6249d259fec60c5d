//! The directories the path space implies (pure logic): `/dev/foo`
//! attached makes `/` and `/dev` directories whose entries are the next
//! components of the prefixes below them. What a server serves itself (the
//! prefix, and below a `DIR` prefix) comes from the server, not from here.

use std::collections::BTreeSet;

/// The attached prefixes at one moment.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    prefixes: Vec<String>,
}

impl Tree {
    /// The tree of these prefixes (absolute, normalised as the path space
    /// keeps them).
    pub fn new(prefixes: impl IntoIterator<Item = String>) -> Tree {
        Tree { prefixes: prefixes.into_iter().collect() }
    }

    /// Whether `path` is a directory because some prefix lies below it (the
    /// root always is).
    pub fn is_dir(&self, path: &str) -> bool {
        path == "/" || self.prefixes.iter().any(|p| below(p, path).is_some())
    }

    /// The names directly in `path` that the prefixes below it imply, sorted.
    pub fn children(&self, path: &str) -> BTreeSet<String> {
        self.prefixes
            .iter()
            .filter_map(|p| below(p, path))
            .map(|rest| rest.split('/').next().unwrap_or(rest).to_owned())
            .collect()
    }
}

/// `prefix` without `dir` and the `/` after it, if `prefix` lies strictly
/// below `dir`.
fn below<'a>(prefix: &'a str, dir: &str) -> Option<&'a str> {
    let rest = if dir == "/" { prefix.strip_prefix('/')? } else { prefix.strip_prefix(dir)?.strip_prefix('/')? };
    (!rest.is_empty()).then_some(rest)
}

/// `name` in directory `dir`: the path below the mount point.
pub fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// The directory holding `path` (`/` for `/` itself).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(p: &[&str]) -> Tree {
        Tree::new(p.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn prefixes_imply_their_directories() {
        let t = tree(&["/dev/foo", "/dev/bar", "/srv/files/a", "/top"]);
        assert!(t.is_dir("/"));
        assert!(t.is_dir("/dev"));
        assert!(t.is_dir("/srv"));
        assert!(t.is_dir("/srv/files"));
        assert!(!t.is_dir("/dev/foo"), "a prefix itself is its server's business");
        assert!(!t.is_dir("/de"), "whole components only");
        assert!(!t.is_dir("/top"));
        let names = |p: &str| t.children(p).into_iter().collect::<Vec<_>>();
        assert_eq!(names("/"), ["dev", "srv", "top"]);
        assert_eq!(names("/dev"), ["bar", "foo"]);
        assert_eq!(names("/srv"), ["files"]);
        assert_eq!(names("/dev/foo"), Vec::<String>::new());
    }

    #[test]
    fn root_prefix_and_empty_space() {
        let t = tree(&["/"]);
        assert!(t.is_dir("/"));
        assert!(t.children("/").is_empty());
        assert!(tree(&[]).children("/").is_empty());
    }

    #[test]
    fn joins_and_parents() {
        assert_eq!(join("/", "dev"), "/dev");
        assert_eq!(join("/dev", "foo"), "/dev/foo");
        assert_eq!(parent("/dev/foo"), "/dev");
        assert_eq!(parent("/dev"), "/");
        assert_eq!(parent("/"), "/");
    }
}
