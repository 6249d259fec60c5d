//! An in-memory file store serving a directory prefix: files and
//! directories below it can be created, read, written, seeked, stat'ed,
//! listed, removed, truncated (`ftruncate`: `_IO_SPACE`); `mkdir` makes
//! directories. Permissions are checked as POSIX does (the client's ids
//! against each file's mode and owner).
//!
//! ```text
//! cargo run -p baton-examples --bin resmgr-files -- /mem
//! ```
//!
//! It prints `ready` once the prefix is attached. With `--before` it is
//! tried before servers attached earlier at the same prefix: a path it
//! does not have (`ENOENT`) then falls through to them (a union mount).

use baton_resmgr::server::{access, check_open};
use baton_resmgr::{
    Attr, ConnectRequest, Context, Dirents, Errno, Ocb, Opened, ResourceManager, Server, SharedAttr, Space,
};
use clap::Parser;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Serves an in-memory directory tree at a prefix.
#[derive(Parser, Debug)]
struct Args {
    /// The prefix to attach (absolute).
    path: String,
    /// Be tried before servers attached earlier at the same prefix
    /// (`_RESMGR_FLAG_BEFORE`); by default later servers come after.
    #[arg(long)]
    before: bool,
}

/// The largest file `ftruncate` makes (the store is in memory).
const MAX_SIZE: u64 = 1 << 30;

/// A file or a directory.
struct Node {
    attr: SharedAttr,
    /// A file's bytes.
    data: Mutex<Vec<u8>>,
    /// A directory's entries.
    children: Mutex<BTreeMap<String, Arc<Node>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Node {
    fn new(attr: SharedAttr) -> Arc<Node> {
        Arc::new(Node { attr, data: Mutex::default(), children: Mutex::default() })
    }

    fn is_dir(&self) -> bool {
        self.attr.lock().is_dir()
    }
}

struct Files {
    root: Arc<Node>,
}

/// `EINVAL` for an empty name (the prefix itself where a child is meant).
fn split(path: &str) -> Result<(&str, &str), Errno> {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    if name.is_empty() {
        return Err(Errno(libc::EINVAL));
    }
    Ok((dir, name))
}

impl Files {
    /// The node at `path` (below the prefix), checking search permission
    /// on each directory on the way.
    fn lookup(&self, ctx: &Context<'_>, path: &str) -> Result<Arc<Node>, Errno> {
        let mut node = Arc::clone(&self.root);
        for name in path.split('/').filter(|n| !n.is_empty()) {
            if !node.is_dir() {
                return Err(Errno(libc::ENOTDIR));
            }
            ctx.check_access(&node.attr.lock(), access::EXEC)?;
            let next = lock(&node.children).get(name).cloned().ok_or(Errno(libc::ENOENT))?;
            node = next;
        }
        Ok(node)
    }

    /// The directory that holds `path`'s last component, checked for
    /// write permission, and the name.
    fn parent<'p>(&self, ctx: &Context<'_>, path: &'p str) -> Result<(Arc<Node>, &'p str), Errno> {
        let (dir, name) = split(path)?;
        let dir = self.lookup(ctx, dir)?;
        if !dir.is_dir() {
            return Err(Errno(libc::ENOTDIR));
        }
        ctx.check_access(&dir.attr.lock(), access::WRITE | access::EXEC)?;
        Ok((dir, name))
    }

    /// A new node in `dir` owned by the client.
    fn create(&self, ctx: &Context<'_>, dir: &Node, name: &str, mode: u32) -> Result<Arc<Node>, Errno> {
        let mut children = lock(&dir.children);
        if children.contains_key(name) {
            return Err(Errno(libc::EEXIST));
        }
        let mut attr = Attr::new(mode);
        attr.uid = ctx.info().uid;
        attr.gid = ctx.info().gid;
        let node = Node::new(SharedAttr::new(attr));
        children.insert(name.to_string(), Arc::clone(&node));
        dir.attr.lock().touch();
        Ok(node)
    }
}

impl ResourceManager for Files {
    /// The node an open refers to (`None` only before the open).
    type State = Option<Arc<Node>>;

    fn open(&self, ctx: &mut Context<'_>, req: &ConnectRequest<'_>) -> Result<Opened<Self::State>, Errno> {
        let creat = req.ioflag & libc::O_CREAT as u32 != 0;
        let excl = req.ioflag & libc::O_EXCL as u32 != 0;
        let node = match self.lookup(ctx, req.path) {
            Ok(_) if creat && excl => return Err(Errno(libc::EEXIST)),
            Ok(node) => {
                check_open(ctx, &node.attr.lock(), req.ioflag)?;
                node
            }
            Err(Errno(libc::ENOENT)) if creat => {
                let (dir, name) = self.parent(ctx, req.path)?;
                self.create(ctx, &dir, name, libc::S_IFREG | (req.mode & 0o777))?
            }
            Err(e) => return Err(e),
        };
        if req.eflag & baton_resmgr::msg::CONNECT_EFLAG_DIR != 0 && !node.is_dir() {
            // "file/": a file is no directory.
            return Err(Errno(libc::ENOTDIR));
        }
        let writes = req.ioflag & baton_resmgr::msg::IO_FLAG_WR != 0;
        if node.is_dir() && writes {
            return Err(Errno(libc::EISDIR));
        }
        if writes && req.ioflag & libc::O_TRUNC as u32 != 0 {
            lock(&node.data).clear();
            let mut attr = node.attr.lock();
            attr.size = 0;
            attr.touch();
        }
        Ok(Opened { attr: node.attr.clone(), state: Some(node) })
    }

    fn read(
        &self,
        _: &mut Context<'_>,
        ocb: &mut Ocb<Self::State>,
        nbytes: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), Errno> {
        let node = ocb.state.as_ref().ok_or(Errno(libc::EBADF))?;
        let data = lock(&node.data);
        let start = (ocb.offset as usize).min(data.len());
        let end = start + nbytes.min(data.len() - start);
        out.extend_from_slice(&data[start..end]);
        ocb.offset = end as u64;
        Ok(())
    }

    fn write(&self, _: &mut Context<'_>, ocb: &mut Ocb<Self::State>, bytes: &[u8]) -> Result<usize, Errno> {
        let node = ocb.state.as_ref().ok_or(Errno(libc::EBADF))?;
        let mut data = lock(&node.data);
        let start = usize::try_from(ocb.offset).map_err(|_| Errno(libc::EFBIG))?;
        let end = start.checked_add(bytes.len()).ok_or(Errno(libc::EFBIG))?;
        if data.len() < end {
            data.resize(end, 0);
        }
        data[start..end].copy_from_slice(bytes);
        ocb.offset = end as u64;
        let mut attr = node.attr.lock();
        attr.size = data.len() as u64;
        attr.touch();
        Ok(bytes.len())
    }

    fn space(&self, _: &mut Context<'_>, ocb: &mut Ocb<Self::State>, req: &Space) -> Result<u64, Errno> {
        let node = ocb.state.as_ref().ok_or(Errno(libc::EBADF))?;
        let mut data = lock(&node.data);
        let size = req.new_size(data.len() as u64)?;
        if size > MAX_SIZE {
            return Err(Errno(libc::EFBIG));
        }
        let size = size as usize;
        if req.free && size == data.len() {
            // A hole inside the file: its bytes read as zeros.
            let start = (req.start as usize).min(size);
            let end = req.start.saturating_add(req.len).min(size as u64) as usize;
            data[start..end].fill(0);
        }
        data.resize(size, 0);
        let mut attr = node.attr.lock();
        attr.size = size as u64;
        attr.touch();
        Ok(size as u64)
    }

    fn readdir(&self, _: &mut Context<'_>, ocb: &mut Ocb<Self::State>, out: &mut Dirents<'_>) -> Result<(), Errno> {
        let node = ocb.state.as_ref().ok_or(Errno(libc::EBADF))?;
        for (name, child) in lock(&node.children).iter().skip(out.start() as usize) {
            if !out.push(child.attr.lock().ino, name) {
                break;
            }
        }
        Ok(())
    }

    fn unlink(&self, ctx: &mut Context<'_>, req: &ConnectRequest<'_>) -> Result<(), Errno> {
        let (dir, name) = self.parent(ctx, req.path)?;
        let mut children = lock(&dir.children);
        let node = children.get(name).ok_or(Errno(libc::ENOENT))?;
        if !lock(&node.children).is_empty() {
            return Err(Errno(libc::ENOTEMPTY));
        }
        children.remove(name);
        dir.attr.lock().touch();
        Ok(())
    }

    fn mknod(&self, ctx: &mut Context<'_>, req: &ConnectRequest<'_>) -> Result<(), Errno> {
        let kind = req.mode & libc::S_IFMT;
        if kind != libc::S_IFDIR && kind != libc::S_IFREG {
            return Err(Errno(libc::EINVAL));
        }
        let (dir, name) = self.parent(ctx, req.path)?;
        self.create(ctx, &dir, name, kind | (req.mode & 0o777)).map(drop)
    }
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let root = SharedAttr::new(Attr::new(libc::S_IFDIR | 0o777));
    let files = Files { root: Node::new(root.clone()) };
    let server = Server::new()?;
    let flags = baton::paths::DIR | if args.before { baton::paths::BEFORE } else { 0 };
    server.attach(&args.path, flags, root, files)?;
    println!("resmgr-files: ready at {} (pid {})", args.path, std::process::id());
    server.run()
}
