//! The per-process background thread.
//!
//! Started on first use, it owns one epoll set and does three things, none
//! of them on the data path:
//! - accepts connections on this process's channel sockets and answers each
//!   with the handshake (segment + doorbell);
//! - notices when a client of ours goes away (its socket hangs up or its
//!   pidfd fires) and cleans up after it;
//! - notices when a server we are connected to goes away and fails the
//!   calls blocked on it;
//! - once a peer process has exited, removes the runtime-directory entries
//!   it left behind.

use crate::client::ClientConn;
use crate::server::{ChannelShared, ServerConn};
use crate::sys::event::{Epoll, Ready};
use crate::sys::time::Deadline;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// What a registered descriptor stands for.
#[derive(Clone, Debug)]
pub(crate) enum Watch {
    /// A channel's listening socket: accept.
    Listener(Weak<ChannelShared>),
    /// A client's socket or pidfd (server side): the client went away.
    Client(Weak<ServerConn>),
    /// A server's socket or pidfd (client side): the server went away.
    Server(Weak<ClientConn>),
    /// A peer's pidfd: when it fires the process has exited and closed all
    /// its files (so its runtime-directory lock is free); sweep its entries.
    Exit(i32, Arc<OwnedFd>),
}

/// Handle of a registration, for [`Runtime::unwatch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token(u64);

#[derive(Debug, Default)]
struct Table {
    entries: Vec<(u32, Option<Watch>)>,
    free: Vec<u32>,
    /// Pids with an `Exit` watch (at most one each).
    exits: HashSet<i32>,
}

/// The background thread's shared state.
#[derive(Debug)]
pub(crate) struct Runtime {
    epoll: Epoll,
    table: Mutex<Table>,
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

impl Runtime {
    /// The process's runtime, starting its thread on first use.
    pub(crate) fn get() -> &'static Runtime {
        RUNTIME.get_or_init(|| {
            crate::sys::thread::raise_fd_limit();
            let epoll = Epoll::new().expect("baton: cannot create the runtime epoll set");
            std::thread::Builder::new()
                .name("baton-runtime".into())
                .spawn(|| Runtime::get().run())
                .expect("baton: cannot start the runtime thread");
            Runtime { epoll, table: Mutex::new(Table::default()) }
        })
    }

    /// Watches `fd` (level-triggered: readable or hung up) for `w`.
    pub(crate) fn watch(&self, fd: impl AsFd, w: Watch) -> std::result::Result<Token, rustix::io::Errno> {
        let token = {
            let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
            let idx = match t.free.pop() {
                Some(i) => i,
                None => {
                    t.entries.push((0, None));
                    (t.entries.len() - 1) as u32
                }
            };
            let e = &mut t.entries[idx as usize];
            e.0 = e.0.wrapping_add(1);
            e.1 = Some(w);
            Token((u64::from(e.0) << 32) | u64::from(idx))
        };
        if let Err(e) = self.epoll.add_level(fd, token.0) {
            self.release(token);
            return Err(e);
        }
        Ok(token)
    }

    /// Stops watching `fd`.
    pub(crate) fn unwatch(&self, fd: impl AsFd, token: Token) {
        self.epoll.remove(fd);
        self.release(token);
    }

    /// Sweeps `pid`'s runtime-directory entries once it has exited
    /// (`pidfd` is a pidfd of it; one watch per pid).
    pub(crate) fn sweep_on_exit(&self, pid: i32, pidfd: BorrowedFd<'_>) {
        if !self.table.lock().unwrap_or_else(|e| e.into_inner()).exits.insert(pid) {
            return;
        }
        let watched = crate::sys::unix::dup_cloexec(pidfd).map(Arc::new).and_then(|fd| {
            let w = Watch::Exit(pid, fd.clone());
            self.watch(&*fd, w)
        });
        if watched.is_err() {
            self.table.lock().unwrap_or_else(|e| e.into_inner()).exits.remove(&pid);
        }
    }

    fn release(&self, token: Token) {
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let idx = (token.0 & 0xffff_ffff) as u32;
        if let Some(e) = t.entries.get_mut(idx as usize) {
            if u64::from(e.0) == token.0 >> 32 && e.1.is_some() {
                e.1 = None;
                t.free.push(idx);
            }
        }
    }

    fn lookup(&self, token: u64) -> Option<Watch> {
        let t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let (gen, w) = t.entries.get((token & 0xffff_ffff) as usize)?;
        (u64::from(*gen) == token >> 32).then(|| w.clone()).flatten()
    }

    fn run(&self) {
        let mut ready = [Ready { token: 0 }; 32];
        loop {
            let n = match self.epoll.wait(&mut ready, Deadline::NEVER) {
                Ok(n) => n,
                Err(_) => {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    continue;
                }
            };
            for r in &ready[..n] {
                match self.lookup(r.token) {
                    Some(Watch::Listener(ch)) => {
                        if let Some(ch) = ch.upgrade() {
                            ch.accept_pending();
                        }
                    }
                    Some(Watch::Client(c)) => {
                        if let Some(c) = c.upgrade() {
                            crate::server::client_gone(&c);
                        }
                    }
                    Some(Watch::Server(c)) => {
                        if let Some(c) = c.upgrade() {
                            c.server_gone();
                        }
                    }
                    Some(Watch::Exit(pid, fd)) => {
                        self.unwatch(&*fd, Token(r.token));
                        self.table.lock().unwrap_or_else(|e| e.into_inner()).exits.remove(&pid);
                        crate::rundir::sweep_pid(pid);
                        crate::rundir::sweep();
                    }
                    None => {}
                }
            }
        }
    }
}
