//! Plain values the API hands out: message info, pulses, flags.

/// Channel flags, with their QNX values (`_NTO_CHF_*`).
pub mod chf {
    /// `_NTO_CHF_FIXED_PRIORITY`: receiving threads keep their own priority.
    pub const FIXED_PRIORITY: u32 = 0x1;
    /// `_NTO_CHF_UNBLOCK`: a REPLY-blocked client that times out stays
    /// blocked; the server gets an unblock pulse and decides.
    pub const UNBLOCK: u32 = 0x2;
    /// `_NTO_CHF_THREAD_DEATH`: pulse when a thread of this process dies.
    pub const THREAD_DEATH: u32 = 0x4;
    /// `_NTO_CHF_DISCONNECT`: pulse when a client's last connection goes.
    pub const DISCONNECT: u32 = 0x8;
    /// `_NTO_CHF_SENDER_LEN`: report the sender's full message length.
    pub const SENDER_LEN: u32 = 0x20;
    /// `_NTO_CHF_COID_DISCONNECT`: pulse when a server we are connected to
    /// goes away.
    pub const COID_DISCONNECT: u32 = 0x40;
    /// `_NTO_CHF_REPLY_LEN`: report the client's reply buffer size.
    pub const REPLY_LEN: u32 = 0x80;
    /// `_NTO_CHF_PRIVATE`: not connectable from other processes.
    pub const PRIVATE: u32 = 0x1000;
    /// Every flag baton understands.
    pub const ALL: u32 =
        FIXED_PRIORITY | UNBLOCK | THREAD_DEATH | DISCONNECT | SENDER_LEN | COID_DISCONNECT | REPLY_LEN | PRIVATE;
}

/// System pulse codes (`_PULSE_CODE_*`); user codes are 0..=127.
pub mod pulse_code {
    /// A REPLY-blocked client of an `UNBLOCK` channel wants to be released;
    /// the pulse value is its receive id.
    pub const UNBLOCK: i8 = -32;
    /// A client's last connection went away; the pulse's scoid says which.
    pub const DISCONNECT: i8 = -33;
    /// A thread of this process died; the value is its thread id.
    pub const THREADDEATH: i8 = -34;
    /// A server this process was connected to went away; the value is the
    /// connection id.
    pub const COIDDEATH: i8 = -35;
    /// Lowest user code (`_PULSE_CODE_MINAVAIL`).
    pub const MIN_AVAIL: i8 = 0;
    /// Highest user code (`_PULSE_CODE_MAXAVAIL`).
    pub const MAX_AVAIL: i8 = 127;
}

/// `_NTO_MI_UNBLOCK_REQ`: the client asked to be unblocked.
pub const MI_UNBLOCK_REQ: u32 = 0x100;

/// A channel id (`chid`), unique within its process.
pub type ChannelId = u32;

/// What the server learns about a message with it. Corresponds to QNX's
/// `struct _msg_info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsgInfo {
    /// Client process id, from the kernel (`SO_PEERCRED`).
    pub pid: i32,
    /// Client thread id, as reported by the client.
    pub tid: i32,
    /// Client user id, from the kernel.
    pub uid: u32,
    /// Client group id, from the kernel.
    pub gid: u32,
    /// Channel the message arrived on.
    pub chid: ChannelId,
    /// Server connection id: which client process's connection.
    pub scoid: u32,
    /// The client's connection id, as reported by the client.
    pub coid: i32,
    /// Bytes delivered into the receive buffer.
    pub msglen: usize,
    /// Bytes the client sent in all.
    pub srcmsglen: usize,
    /// Bytes of room in the client's reply buffer.
    pub dstmsglen: usize,
    /// The sending thread's priority: its real-time priority (1..=99) for a
    /// real-time `policy`, else its nice value. Checked against the kernel
    /// when it claims more than normal (see [`crate::sched`]).
    pub priority: i32,
    /// The sending thread's scheduling policy (`SCHED_*`, see
    /// [`Policy`](crate::Policy)), checked like `priority`.
    pub policy: i32,
    /// [`MI_UNBLOCK_REQ`] if the client asked to be unblocked.
    pub flags: u32,
}

/// Who a client process is, as the kernel told the server when it
/// connected. Corresponds to the `pid` and credentials of QNX's
/// `struct _client_info` ([`client_credentials`](crate::client_credentials)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientCredentials {
    /// The client's process id.
    pub pid: i32,
    /// Its effective user id when it connected.
    pub uid: u32,
    /// Its effective group id when it connected.
    pub gid: u32,
}

/// A pulse: a small notification that needs no reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pulse {
    /// The code: 0..=127 from clients, negative for system pulses
    /// ([`pulse_code`]).
    pub code: i8,
    /// The value (for an unblock pulse, the receive id).
    pub value: i64,
    /// The server connection it came from (or concerns).
    pub scoid: u32,
    /// Its priority: the real-time priority (1..=99) for a real-time
    /// `policy`, else the sender's nice value.
    pub priority: i32,
    /// The scheduling policy it carries (`SCHED_*`).
    pub policy: i32,
}

/// The answer a client got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The status the server gave to `reply`.
    pub status: i64,
    /// The full length of the server's reply; the bytes copied are
    /// `min(len, reply buffer size)`.
    pub len: usize,
}

/// How a thread that has nothing to do yet waits: a server thread in
/// `receive`, a client for its reply.
///
/// Sleeping in the kernel costs a context switch on each side and, when
/// the two sides run on different CPUs, a cross-CPU wake-up (several µs
/// each on a virtual machine); spinning costs CPU time. The choice is per
/// channel (its receiving threads) and per connection (its callers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum WaitMode {
    /// Never spin: sleep at once. The least CPU time; every hand-off is a
    /// wake-up.
    Blocking,
    /// Spin briefly (up to [`WaitMode::ADAPTIVE_SPIN`], longer for a call
    /// that moves many KiB: [`WaitMode::adaptive_spin`]) when spinning can
    /// pay, then sleep. A caller spins only while a server thread is awake
    /// on another CPU (one that promised to look at its connection); a
    /// server thread spins only over the connections it just served, on a
    /// machine with more than one CPU. Real-time callers on channels with
    /// priority inheritance never spin: they block on the PI word at once,
    /// so the server thread runs at their priority.
    #[default]
    Adaptive,
    /// Spin up to [`WaitMode::SPIN_LIMIT`] before sleeping, whatever the
    /// CPUs. For threads with a CPU to themselves: a spinning thread that
    /// shares its CPU with the peer it waits for only delays it. A spinning
    /// real-time caller does not lend its priority to the server thread.
    Spin,
}

impl WaitMode {
    /// How long [`WaitMode::Adaptive`] spins at most for a call that moves
    /// no more than a few KiB (see [`WaitMode::adaptive_spin`]).
    pub const ADAPTIVE_SPIN: std::time::Duration = std::time::Duration::from_micros(20);
    /// How much longer [`WaitMode::Adaptive`] spins per KiB the call
    /// moves (request and reply): a slow copy's time, so that the spin
    /// outlasts the copies the answer must wait for.
    pub const ADAPTIVE_SPIN_PER_KIB: std::time::Duration = std::time::Duration::from_nanos(250);
    /// How long [`WaitMode::Spin`] spins at most before sleeping.
    pub const SPIN_LIMIT: std::time::Duration = std::time::Duration::from_millis(1);

    /// How long [`WaitMode::Adaptive`] spins for a call that moves `bytes`
    /// (request and reply): [`ADAPTIVE_SPIN`](WaitMode::ADAPTIVE_SPIN),
    /// plus [`ADAPTIVE_SPIN_PER_KIB`](WaitMode::ADAPTIVE_SPIN_PER_KIB) for
    /// each KiB, at most [`SPIN_LIMIT`](WaitMode::SPIN_LIMIT). A large
    /// call's copies take longer than a wake-up would cost, and the answer
    /// cannot come before they are done: sleeping through them would add a
    /// wake-up (a halted CPU's, on a virtual machine) to a wait that is
    /// known to be long but bounded.
    pub fn adaptive_spin(bytes: u64) -> std::time::Duration {
        let extra = (Self::ADAPTIVE_SPIN_PER_KIB.as_nanos() as u64).saturating_mul(bytes / 1024);
        (Self::ADAPTIVE_SPIN + std::time::Duration::from_nanos(extra)).min(Self::SPIN_LIMIT)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::WaitMode;
    use std::time::Duration;

    #[test]
    fn the_adaptive_spin_grows_with_the_bytes_up_to_the_spin_limit() {
        assert_eq!(WaitMode::adaptive_spin(0), WaitMode::ADAPTIVE_SPIN);
        assert_eq!(WaitMode::adaptive_spin(1023), WaitMode::ADAPTIVE_SPIN, "whole KiB only");
        let mib_each_way = WaitMode::adaptive_spin(2 << 20);
        assert_eq!(mib_each_way, WaitMode::ADAPTIVE_SPIN + WaitMode::ADAPTIVE_SPIN_PER_KIB * 2048);
        assert!(mib_each_way > Duration::from_micros(500) && mib_each_way < WaitMode::SPIN_LIMIT);
        assert_eq!(WaitMode::adaptive_spin(64 << 20), WaitMode::SPIN_LIMIT);
        assert_eq!(WaitMode::adaptive_spin(u64::MAX), WaitMode::SPIN_LIMIT, "no overflow");
    }
}
