//! The runtime directory of the baton peers: the user's `$BATON_RUNTIME_DIR`
//! if set, else a private one made for this bench and removed after it, so
//! the bench never meets another user's channels nor leaves names behind.

use std::fs::DirBuilder;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// The directory, removed on drop if the bench made it.
#[derive(Debug)]
pub struct RuntimeDir {
    own: Option<PathBuf>,
}

impl RuntimeDir {
    pub fn new() -> io::Result<RuntimeDir> {
        if std::env::var_os("BATON_RUNTIME_DIR").is_some_and(|d| !d.is_empty()) {
            return Ok(RuntimeDir { own: None });
        }
        let dir = std::env::temp_dir().join(format!("baton-bench-{}", std::process::id()));
        DirBuilder::new().mode(0o700).create(&dir)?;
        Ok(RuntimeDir { own: Some(dir) })
    }

    /// What to set `BATON_RUNTIME_DIR` to in the peers (`None`: they
    /// inherit the user's).
    pub fn for_peers(&self) -> Option<&Path> {
        self.own.as_deref()
    }
}

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        if let Some(dir) = &self.own {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
