//! The C structures and numbers of `sys/neutrino.h` and `sys/dispatch.h`,
//! and the pure conversions between them and baton's values.

use baton_core::{Event, EventHandle, MsgInfo, Pulse};
use std::ffi::{c_int, c_void};

/// `_NTO_SIDE_CHANNEL`: side-channel coids are at or above it; scoids are
/// reported with it set, as on QNX.
pub(crate) const SIDE_CHANNEL: i32 = 0x4000_0000;

/// The first side-channel coid handed out: above every scoid (16 bits)
/// with the side-channel bit, so that `ConnectDetach` tells the two apart.
pub(crate) const FIRST_SIDE_COID: i32 = SIDE_CHANNEL + 0x1_0000;

/// `ENOREMOTE` (QNX's value; Linux has none).
pub(crate) const ENOREMOTE: i32 = 300;

/// `_NTO_COF_*` flags baton accepts: `CLOEXEC` (connection ids are always
/// close-on-exec), `NOSHARE`, `REG_EVENTS` (the server may deliver only
/// registered events), and those that change nothing locally.
pub(crate) const COF_CLOEXEC: c_int = 0x1;
pub(crate) const COF_NOSHARE: c_int = 0x40;
pub(crate) const COF_REG_EVENTS: c_int = 0x2000;
pub(crate) const COF_ACCEPTED: c_int = COF_CLOEXEC
    | COF_NOSHARE
    | COF_REG_EVENTS
    | 0x0800 /* NOEVENT */
    | 0x1000 /* INSECURE */
    | 0x4000 /* UNREG_EVENTS: the default */;

/// `_NTO_TIMEOUT_*` states `TimerTimeout` covers.
pub(crate) const TIMEOUT_SEND: c_int = 1 << 4;
pub(crate) const TIMEOUT_RECEIVE: c_int = 1 << 5;
pub(crate) const TIMEOUT_REPLY: c_int = 1 << 6;

/// `sigev_notify` types: Linux's (`SIGEV_SIGNAL`, `SIGEV_NONE`,
/// `SIGEV_THREAD`, `SIGEV_THREAD_ID`) and QNX's, numbered so as not to
/// collide with them (`sys/neutrino.h`).
pub(crate) const SIGEV_SIGNAL: c_int = 0;
pub(crate) const SIGEV_NONE: c_int = 1;
pub(crate) const SIGEV_THREAD: c_int = 2;
pub(crate) const SIGEV_SIGNAL_THREAD: c_int = 3;
pub(crate) const SIGEV_THREAD_ID: c_int = 4;
/// The only event `TimerTimeout` takes.
pub(crate) const SIGEV_UNBLOCK: c_int = 5;
pub(crate) const SIGEV_INTR: c_int = 6;
pub(crate) const SIGEV_SIGNAL_CODE: c_int = 0x12;
pub(crate) const SIGEV_PULSE: c_int = 0x14;
/// `sigev_notify` = type (`SIGEV_TYPE_MASK`) | flags (QNX 7.1's values).
pub(crate) const SIGEV_TYPE_MASK: c_int = 0xff;
pub(crate) const SIGEV_FLAG_UPDATEABLE: c_int = 0x400;
pub(crate) const SIGEV_FLAG_HANDLE: c_int = 0x2000;

/// `MsgRegisterEvent`'s special coids.
pub(crate) const REGEVENT_ALLOW_ANY_SERVER: c_int = -1;
pub(crate) const REGEVENT_ALLOW_SELF: c_int = -2;

/// `NAME_FLAG_ATTACH_GLOBAL`.
pub(crate) const NAME_FLAG_ATTACH_GLOBAL: u32 = 0x2;

/// `struct _msg_info` (QNX 7's `_msg_info64`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CMsgInfo {
    pub nd: u32,
    pub srcnd: u32,
    pub pid: i32,
    pub tid: i32,
    pub chid: i32,
    pub scoid: i32,
    pub coid: i32,
    pub priority: i16,
    pub flags: i16,
    pub msglen: isize,
    pub srcmsglen: isize,
    pub dstmsglen: isize,
    pub type_id: u32,
    pub reserved: u32,
}

/// `struct _pulse`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CPulse {
    pub type_: u16,
    pub subtype: u16,
    pub code: i8,
    pub zero: [u8; 3],
    /// `union sigval`: `sival_int` is its first 4 bytes (little-endian
    /// Linux), `sival_ptr` all 8.
    pub value: i64,
    pub scoid: i32,
}

/// `struct _cred_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CCredInfo {
    pub ruid: u32,
    pub euid: u32,
    pub suid: u32,
    pub rgid: u32,
    pub egid: u32,
    pub sgid: u32,
    pub ngroups: u32,
    pub grouplist: [u32; 8],
}

/// `struct _client_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CClientInfo {
    pub nd: u32,
    pub pid: i32,
    pub sid: i32,
    pub flags: u32,
    pub cred: CCredInfo,
}

/// glibc's `struct sigevent` as `sys/neutrino.h` uses it: `sigev_coid` and
/// `sigev_handle` are `sigev_signo`; `sigev_code` and `sigev_priority` are
/// the first two words of the union (`_sigev_un._pad`), where Linux keeps
/// `SIGEV_THREAD_ID`'s thread id and `SIGEV_THREAD`'s function.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CSigevent {
    /// `union sigval`: `sival_int` is its first 4 bytes, `sival_ptr` all 8.
    pub value: i64,
    pub signo: c_int,
    pub notify: c_int,
    pub un: [c_int; 12],
}

impl CSigevent {
    /// `SIGEV_GET_TYPE`.
    pub(crate) fn kind(&self) -> c_int {
        self.notify & SIGEV_TYPE_MASK
    }
}

/// `name_attach_t`.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct CNameAttach {
    pub dpp: *mut c_void,
    pub chid: c_int,
    pub mntid: c_int,
    pub zero: [c_int; 2],
}

// The layouts the headers declare (x86-64 and aarch64 Linux).
const _: () = assert!(std::mem::size_of::<CMsgInfo>() == 64);
const _: () = assert!(std::mem::size_of::<CPulse>() == 24);
const _: () = assert!(std::mem::offset_of!(CPulse, value) == 8);
const _: () = assert!(std::mem::size_of::<CClientInfo>() == 16 + 60);
const _: () = assert!(std::mem::size_of::<CNameAttach>() == 24);
const _: () = assert!(std::mem::size_of::<libc::sigevent>() == 64);
const _: () = assert!(std::mem::size_of::<CSigevent>() == 64);
const _: () = assert!(std::mem::offset_of!(libc::sigevent, sigev_notify) == std::mem::offset_of!(CSigevent, notify));
const _: () = assert!(std::mem::offset_of!(libc::sigevent, sigev_signo) == std::mem::offset_of!(CSigevent, signo));

/// A scoid as C programs see it: with `_NTO_SIDE_CHANNEL` set.
pub(crate) fn scoid_to_c(scoid: u32) -> i32 {
    SIDE_CHANNEL | (scoid & 0xffff) as i32
}

/// A scoid from a C program: with or without `_NTO_SIDE_CHANNEL`.
pub(crate) fn scoid_from_c(scoid: i32) -> Option<u32> {
    let s = if scoid & SIDE_CHANNEL != 0 { scoid & !SIDE_CHANNEL } else { scoid };
    (1..=0xffff).contains(&s).then_some(s as u32)
}

/// The `struct _msg_info` of a message.
pub(crate) fn info_to_c(i: &MsgInfo) -> CMsgInfo {
    CMsgInfo {
        nd: 0,
        srcnd: 0,
        pid: i.pid,
        tid: i.tid,
        chid: i.chid as i32,
        scoid: scoid_to_c(i.scoid),
        coid: i.coid,
        priority: i.priority.clamp(i16::MIN.into(), i16::MAX.into()) as i16,
        flags: i.flags as i16,
        msglen: i.msglen as isize,
        srcmsglen: i.srcmsglen as isize,
        dstmsglen: i.dstmsglen as isize,
        type_id: 0,
        reserved: 0,
    }
}

/// The `struct _pulse` of a pulse; a pulse that concerns no connection
/// (thread death, coid death) has scoid -1, as on QNX.
pub(crate) fn pulse_to_c(p: &Pulse) -> CPulse {
    CPulse {
        type_: 0,
        subtype: 0,
        code: p.code,
        zero: [0; 3],
        value: p.value,
        scoid: if p.scoid == 0 { -1 } else { scoid_to_c(p.scoid) },
    }
}

/// The event a C `struct sigevent` describes: `EINVAL` for a type baton
/// does not deliver (`SIGEV_THREAD`, `SIGEV_INTR`, unknown) or a pulse
/// code outside -128..=127; a registered event (`SIGEV_FLAG_HANDLE`) is
/// its handle with the event's value. `SIGEV_SIGNAL_CODE`'s code is not
/// carried (Linux queues the signal with `si_code` `SI_QUEUE`).
pub(crate) fn event_from_c(e: &CSigevent) -> Result<Event, i32> {
    let value = e.value;
    if e.notify & SIGEV_FLAG_HANDLE != 0 {
        let handle = EventHandle::from_raw(e.signo as u32).ok_or(libc::EINVAL)?;
        return Ok(Event::Registered { handle, value });
    }
    Ok(match e.kind() {
        SIGEV_NONE => Event::None,
        SIGEV_SIGNAL | SIGEV_SIGNAL_CODE => Event::Signal { signo: e.signo, value },
        SIGEV_SIGNAL_THREAD => Event::SignalThread { signo: e.signo, value },
        SIGEV_PULSE => Event::Pulse {
            coid: e.signo,
            priority: e.un[1],
            code: i8::try_from(e.un[0]).map_err(|_| libc::EINVAL)?,
            value,
        },
        SIGEV_UNBLOCK => Event::Unblock,
        // A thread created in the client, an interrupt: nothing baton has.
        SIGEV_THREAD | SIGEV_INTR => return Err(libc::EINVAL),
        _ => return Err(libc::EINVAL),
    })
}

impl CPulse {
    /// Its bytes, as `MsgReceive` writes them.
    pub(crate) fn to_bytes(self) -> [u8; 24] {
        let mut b = [0u8; 24];
        b[0..2].copy_from_slice(&self.type_.to_ne_bytes());
        b[2..4].copy_from_slice(&self.subtype.to_ne_bytes());
        b[4] = self.code as u8;
        b[8..16].copy_from_slice(&self.value.to_ne_bytes());
        b[16..20].copy_from_slice(&self.scoid.to_ne_bytes());
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoids_carry_the_side_channel_bit_and_stay_below_side_coids() {
        assert_eq!(scoid_to_c(7), 0x4000_0007);
        assert_eq!(scoid_from_c(0x4000_0007), Some(7));
        assert_eq!(scoid_from_c(7), Some(7));
        assert_eq!(scoid_from_c(0), None);
        assert_eq!(scoid_from_c(SIDE_CHANNEL), None);
        assert!(scoid_to_c(0xffff) < FIRST_SIDE_COID);
        assert_eq!(scoid_from_c(FIRST_SIDE_COID), None);
    }

    #[test]
    fn pulse_bytes_follow_struct_pulse() {
        let p = Pulse { code: -33, value: 0x1234_5678, scoid: 5, priority: 10, policy: 0 };
        let c = pulse_to_c(&p);
        let b = c.to_bytes();
        assert_eq!(&b[0..4], &[0, 0, 0, 0]);
        assert_eq!(b[4] as i8, -33);
        assert_eq!(i32::from_ne_bytes(b[8..12].try_into().unwrap()), 0x1234_5678); // sival_int
        assert_eq!(i32::from_ne_bytes(b[16..20].try_into().unwrap()), 0x4000_0005);
        let sys = pulse_to_c(&Pulse { code: -34, value: 9, scoid: 0, priority: 0, policy: 0 });
        assert_eq!(sys.scoid, -1);
    }

    #[test]
    fn sigevents_map_onto_events() {
        let mut e = CSigevent { value: 0x1_0000_0005, signo: 7, notify: SIGEV_PULSE, ..Default::default() };
        e.un[0] = 3; // sigev_code
        e.un[1] = -1; // sigev_priority
        assert_eq!(event_from_c(&e), Ok(Event::pulse(7, -1, 3, 0x1_0000_0005)));
        e.notify |= SIGEV_FLAG_UPDATEABLE;
        assert_eq!(event_from_c(&e), Ok(Event::pulse(7, -1, 3, 0x1_0000_0005)));
        e.un[0] = 300;
        assert_eq!(event_from_c(&e), Err(libc::EINVAL));
        e.notify |= SIGEV_FLAG_HANDLE;
        let h = EventHandle::from_raw(7).unwrap();
        assert_eq!(event_from_c(&e), Ok(Event::Registered { handle: h, value: 0x1_0000_0005 }));
        let sig = CSigevent { value: 9, signo: libc::SIGUSR1, notify: SIGEV_SIGNAL, ..Default::default() };
        assert_eq!(event_from_c(&sig), Ok(Event::Signal { signo: libc::SIGUSR1, value: 9 }));
        let t = CSigevent { notify: SIGEV_SIGNAL_THREAD, signo: 40, ..sig };
        assert_eq!(event_from_c(&t), Ok(Event::SignalThread { signo: 40, value: 9 }));
        let n = CSigevent { notify: SIGEV_NONE, ..Default::default() };
        assert_eq!(event_from_c(&n), Ok(Event::None));
        let u = CSigevent { notify: SIGEV_UNBLOCK, ..Default::default() };
        assert_eq!(event_from_c(&u), Ok(Event::Unblock));
        for k in [SIGEV_THREAD, SIGEV_THREAD_ID, SIGEV_INTR, 0x77] {
            assert_eq!(event_from_c(&CSigevent { notify: k, ..Default::default() }), Err(libc::EINVAL));
        }
    }

    #[test]
    fn info_clamps_and_marks() {
        let i = MsgInfo {
            pid: 1,
            tid: 2,
            uid: 0,
            gid: 0,
            chid: 3,
            scoid: 4,
            coid: 5,
            msglen: 6,
            srcmsglen: 7,
            dstmsglen: 8,
            priority: 99,
            policy: libc::SCHED_FIFO,
            flags: 0x100,
        };
        let c = info_to_c(&i);
        assert_eq!((c.pid, c.tid, c.chid, c.scoid, c.coid), (1, 2, 3, 0x4000_0004, 5));
        assert_eq!((c.msglen, c.srcmsglen, c.dstmsglen, c.priority, c.flags), (6, 7, 8, 99, 0x100));
    }
}
