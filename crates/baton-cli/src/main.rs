//! The `baton` command.
//!
//! - `baton bench`: round-trip latency of baton side by side with the raw
//!   kernel primitives it is built from, and a real-time client's latency
//!   under load (see [`mod@bench`]).
//! - `baton soak`: fault injection, calls while random peers are killed
//!   with SIGKILL and restarted, checked for lost or misdelivered replies
//!   and leaks (see [`mod@soak`]).
//! - `baton fuse MOUNTPOINT`: the path space of resource managers as a
//!   filesystem (see [`mod@fuse`]).
#![deny(unsafe_code)]

mod bench;
mod fuse;
mod soak;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Tools for baton, QNX-style synchronous message passing on Linux.
#[derive(Debug, Parser)]
#[command(name = "baton", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Measure round trips between two processes: baton next to the floors
    /// written plainly (a futex ping-pong, an eventfd each way, pure
    /// spinning on a shared cache line, a pipe pair) and the sockets users
    /// use today (Unix SOCK_SEQPACKET and SOCK_STREAM, TCP on 127.0.0.1),
    /// iceoryx2 request-response (sleeping on its events) and a D-Bus
    /// method call (zbus, through a private dbus-daemon that the bench
    /// starts; skipped, with the reason, if dbus-daemon is not installed),
    /// on one CPU, on two CPUs and unpinned, with messages of 64 B to
    /// 1 MiB; then a real-time client's latency under load, baton against a
    /// SOCK_SEQPACKET server; throughput with 4 clients and 2 server
    /// threads; scale to 1000 clients; memory per connection; 4 KiB reads
    /// through resource managers (client API, FUSE) against tmpfs.
    ///
    /// Round-trip section (first table): each run starts a server and a
    /// client process (this binary, run again) that exchange a request and
    /// a reply of the same size (see --size); the server echoes the
    /// request, which carries the call's number at both ends, and the
    /// client checks every byte of each reply during the warm-up, the
    /// numbers while it times (so that checking 1 MiB does not count as
    /// moving it). After the warm-up the client reads
    /// CLOCK_MONOTONIC once between round trips, so every round trip is one
    /// sample; each process measures its own CPU time. For each size the
    /// table also shows memcpy's bandwidth, measured in this process in the
    /// same bench, and each row's bandwidth (request + reply bytes per p50
    /// round trip) against it. Spinning on one CPU is skipped (it would
    /// measure the scheduler's time slice), as is any size a transport
    /// cannot carry here, with the reason.
    ///
    /// Load section (second table): a server process with one SCHED_OTHER
    /// thread works ~20 µs (calibrated, printed) on each 64-byte request
    /// before it answers; a SCHED_FIFO 50 client process calls it once
    /// every 1 ms (sleeping in between) and times each call, alone (idle)
    /// and while 8 SCHED_OTHER client processes call the server back to
    /// back. Same server logic for baton and for SOCK_SEQPACKET (one
    /// listening socket, epoll over the accepted ones). It reports the
    /// real-time client's p50/p99/p99.9/max, the flooders' throughput, each
    /// transport's under-load p99.9 ÷ idle p99.9, and whether the goal
    /// (baton within 2×) was met. It runs unpinned, and is skipped, with
    /// the reason, if SCHED_FIFO is not permitted (run as root, or with
    /// CAP_SYS_NICE or RLIMIT_RTPRIO >= 50).
    ///
    /// Throughput section: 4 client processes call a server process with 2
    /// threads back to back (64-byte messages) for a fixed time; calls/s,
    /// each client's p50/p99, CPU per call of all processes, and baton's
    /// calls/s ÷ seqpacket's against the goal (>= 3×). The seqpacket server
    /// deals its sockets out to its 2 threads, each with its own epoll set.
    ///
    /// Scale section: an active client's round trip while 0, 99 or 999
    /// other connections (distinct server connections, held by other
    /// processes) are idle, baton and seqpacket, against the goal (baton's
    /// p50 with 1000 within 1.2× its p50 with 1); and a probe message sent
    /// while the paused server has 1000 messages queued: how long the
    /// server takes per message to drain them and when the probe's reply
    /// comes (the senders close their connections only afterwards), and
    /// the server's CPU time per connection as they then close.
    ///
    /// Memory section: a baton connection's shared memory (from the
    /// library's layout) and the server's measured growth per connection
    /// (RSS, PSS, private memory, descriptors) with 1000 idle connections
    /// and after one call on each, against the goal (<= 64 KiB per idle
    /// connection; 1000 connections work within the limits shown).
    ///
    /// Read section: 4 KiB reads of one file, four ways in the same run:
    /// the resource-manager client API (one _IO_READ message to a server
    /// process that serves the file from memory, reads wrapping at its
    /// end), read(2) through a FUSE mount of the path space (`baton fuse`,
    /// direct I/O), read(2) through a FUSE mount made the same way that
    /// answers from memory (fuse-floor: FUSE's own cost; both FUSE ways
    /// skipped, with the reason, without /dev/fuse or if the mount fails)
    /// and pread(2) of a tmpfs file (/dev/shm) with the same bytes; each
    /// read timed, checked by its bytes; p50/p99/p99.9/max, reads/s, CPU
    /// per read (reader, server, FUSE process), each way's p50 ÷ tmpfs's,
    /// the bridge's ÷ FUSE's floor (fuse_to_floor), and the goal (the
    /// client API within 2× of tmpfs).
    ///
    /// Every configuration runs several times, interleaved with the others,
    /// and each figure is the median over those runs. All peer processes
    /// are killed at the end of their run and on any error. Progress goes
    /// to stderr, the tables to stdout.
    #[command(after_long_help = bench::JSON_HELP)]
    Bench(bench::Args),
    /// One side of a benchmark pair; `baton bench` starts two of these.
    #[command(hide = true)]
    BenchPeer(bench::PeerArgs),
    /// Fault injection: server processes (each with a plain and an UNBLOCK
    /// channel served by a thread pool) and client processes call each
    /// other with sizes from 0 bytes to past the overflow area (1 MiB +
    /// 3968), pulses, send and reply timeouts and unblocks, while a chaos
    /// driver SIGKILLs random clients and servers (mid-send, mid-reply,
    /// while servers hold requests) and restarts them. Server 0 and client
    /// 0 are never killed: their leaks are checked.
    ///
    /// Checked, each a failure (exit status 1): every call got exactly the
    /// reply to its own request (its id, call number and checksum echoed,
    /// every byte checked) or a documented error (ESRCH, EBADF, ETIMEDOUT
    /// with a deadline, EINTR from the UNBLOCK channel), counted by kind;
    /// no call returned later than its deadline, or its server's kill, plus
    /// --bound; no peer died except by the driver; and no leak: after the
    /// clients stop, server 0 and client 0 hold no segment (memfd
    /// descriptor or mapping) and no more descriptors or threads than when
    /// they started, the runtime directory holds entries of live servers
    /// only (and nothing once all exit), and the long-lived processes' RSS
    /// stays flat. The report gives the counts: calls, kills, restarts,
    /// errors by kind, the worst delays, the leaks.
    Soak(soak::Args),
    /// One peer of a soak; `baton soak` starts these.
    #[command(hide = true)]
    SoakPeer(soak::PeerArgs),
    /// Show the path space of resource managers under MOUNTPOINT (FUSE),
    /// so that any program does its I/O through them: `cat`, `echo >`,
    /// `dd`, `stat`, Python's `open()`; an `ioctl` whose number encodes its
    /// argument's size becomes a `devctl`.
    ///
    /// The directories holding attached prefixes are implied (`/dev/foo`
    /// attached: MOUNTPOINT/dev lists `foo`); a prefix, and everything below
    /// a directory prefix, is its server's: lookups and `stat` ask it
    /// (`_IO_STAT`), listings read it, and open, read, write, close,
    /// truncate to 0, create, unlink and mkdir are its `_IO_*` messages.
    /// Devices show as regular files. Every open is direct I/O: each
    /// read(2) is one `_IO_READ` of the caller's size. The kernel checks
    /// permissions against the mode bits the servers report
    /// (default_permissions); the servers see this process as their client.
    ///
    /// As root it mounts with mount(2) (otherwise fuser runs fusermount3).
    /// It detaches once mounted unless --foreground; SIGINT or SIGTERM
    /// unmounts (lazily, if the mount is busy). docs/FUSE.md shows how to
    /// make a resource manager appear at its own path (/dev/foo).
    Fuse(fuse::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench(args) => bench::run(&args),
        Command::BenchPeer(args) => bench::run_peer(&args),
        Command::Soak(args) => soak::run(&args),
        Command::SoakPeer(args) => soak::run_peer(&args),
        Command::Fuse(args) => fuse::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("baton: {e}");
            ExitCode::FAILURE
        }
    }
}
