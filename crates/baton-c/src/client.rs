//! The C client of resource managers (`baton/posix.h`, `devctl.h`):
//! `baton_open` resolves a path in the path space and sends `_IO_CONNECT`
//! on a connection of its own (the descriptor number it returns is the
//! coid); `baton_read`, `baton_write`, `baton_pread`, `baton_pwrite`,
//! `baton_lseek`, `baton_fstat`, `baton_ftruncate`, `baton_fchmod`,
//! `baton_fchown`, `baton_fcntl` (`F_GETFL`/`F_SETFL`), `baton_close`,
//! `devctl` and `ionotify` send the I/O messages of `docs/RESMGR.md` on it;
//! `baton_chmod` and `baton_chown` open the path for no access, send theirs
//! and close. Paths no resource manager has and descriptors that are not
//! coids go to libc.
#![allow(unsafe_code)]

use crate::connect::{attach_process, detach};
use crate::ffi::{bytes, bytes_mut, set_errno, CResult};
use crate::send::send;
use crate::table;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_long, c_uint, c_void, CStr};
use std::io::{IoSlice, IoSliceMut};
use std::sync::{LazyLock, Mutex};

const IO_CONNECT: u16 = 0x100;
const IO_READ: u16 = 0x101;
const IO_WRITE: u16 = 0x102;
const IO_STAT: u16 = 0x104;
const IO_NOTIFY: u16 = 0x105;
const IO_DEVCTL: u16 = 0x106;
const IO_LSEEK: u16 = 0x109;
const IO_CHMOD: u16 = 0x10a;
const IO_CHOWN: u16 = 0x10b;
const IO_SPACE: u16 = 0x110;
const IO_CLOSE: u16 = 0x116;
const IO_CONNECT_OPEN: u16 = 2;
const IO_CONNECT_UNLINK: u16 = 3;
const IO_CONNECT_EFLAG_DIR: u8 = 1;
const IO_XFLAG_NONBLOCK: u32 = 0x4000;
/// `_IO_XTYPE_OFFSET`: `pread`/`pwrite`, a `struct _xtype_offset` (`i64`)
/// after the header.
const IO_XTYPE_OFFSET: u32 = 5;
/// `ioflag` of an open for no access (`stat`, `chmod`, `chown` by path).
const NO_ACCESS: u32 = 0;
/// `DCMD_ALL_GETFLAGS`, `DCMD_ALL_SETFLAGS` (`fcntl(F_GETFL/F_SETFL)`).
const DCMD_ALL_GETFLAGS: u32 = 0x4004_0201;
const DCMD_ALL_SETFLAGS: u32 = 0x8004_0202;
/// `_io_space.subtype` of `ftruncate` (QNX's `F_FREESP64`).
const F_FREESP64: u16 = 111;
const DEVDIR_TO: u32 = 0x8000_0000;
const DEVDIR_FROM: u32 = 0x4000_0000;
/// `struct _io_notify` up to its event, and whole (the event is the C
/// `struct sigevent`, glibc's 64 bytes).
const NOTIFY_HEAD: usize = 16;
const NOTIFY_LEN: usize = NOTIFY_HEAD + std::mem::size_of::<libc::sigevent>();
const _: () = assert!(NOTIFY_LEN == 80, "struct _io_notify is 80 bytes (docs/RESMGR.md)");
/// `struct _io_connect` up to its path.
const CONNECT_HEAD: usize = 40;

/// The open flags of each descriptor `baton_open` made (for
/// `O_NONBLOCK`; `F_SETFL` changes them).
static OPENS: LazyLock<Mutex<HashMap<c_int, c_int>>> = LazyLock::new(Default::default);

fn opens() -> std::sync::MutexGuard<'static, HashMap<c_int, c_int>> {
    OPENS.lock().unwrap_or_else(|e| e.into_inner())
}

/// `_io_connect.ioflag`: the access mode plus one, the other flags as they are.
fn ioflag(oflag: c_int) -> u32 {
    ((oflag & !libc::O_ACCMODE) | ((oflag & libc::O_ACCMODE) + 1)) as u32
}

/// The connect message for `rest` (the path below the prefix).
fn connect_msg(subtype: u16, handle: u32, ioflag: u32, mode: u32, rest: &str, dir: bool) -> Vec<u8> {
    let path_len = rest.len() + 1;
    let mut m = vec![0u8; CONNECT_HEAD + path_len];
    m[0..2].copy_from_slice(&IO_CONNECT.to_ne_bytes());
    m[2..4].copy_from_slice(&subtype.to_ne_bytes());
    // file_type 0 (_FTYPE_ANY), reply_max, entry_max, key 0.
    m[16..20].copy_from_slice(&handle.to_ne_bytes());
    m[20..24].copy_from_slice(&ioflag.to_ne_bytes());
    m[24..28].copy_from_slice(&mode.to_ne_bytes());
    m[34..36].copy_from_slice(&(path_len as u16).to_ne_bytes());
    m[36] = if dir { IO_CONNECT_EFLAG_DIR } else { 0 };
    m[CONNECT_HEAD..CONNECT_HEAD + rest.len()].copy_from_slice(rest.as_bytes());
    m
}

/// Errors after which the next server of the path is tried: a dead server
/// (from the connect) or `ENOENT` from the server (union mounts).
fn try_next(e: i32) -> bool {
    matches!(e, libc::ESRCH | libc::EBADF | libc::ECONNREFUSED | libc::ENOENT)
}

/// Sends a connect message for `path` to the servers that attached it, in
/// order: the open coid (`OPEN`; other subtypes close it again and give
/// 0), or `None` if no server has the path (libc's then). `ioflag` as
/// [`ioflag`] makes it, or [`NO_ACCESS`].
fn connect_path(path: &str, subtype: u16, ioflag: u32, mode: u32) -> CResult<Option<c_int>> {
    let matches = match baton_core::paths::resolve(path) {
        Ok(m) => m,
        // Nothing attached, or a relative path: not a resource manager's.
        Err(e) if e.errno() == libc::ENOENT || e.errno() == libc::EINVAL => return Ok(None),
        Err(e) => return Err(e.errno()),
    };
    if path.len() > u16::MAX as usize - 1 {
        return Err(libc::ENAMETOOLONG);
    }
    let dir = path.ends_with('/');
    let mut last = libc::ENOENT;
    for m in matches {
        let coid = match attach_process(m.pid, m.chid) {
            Ok(c) => c,
            Err(e) if try_next(e) => {
                last = e;
                continue;
            }
            Err(e) => return Err(e),
        };
        let msg = connect_msg(subtype, m.id, ioflag, mode, &m.rest, dir);
        match send(coid, &[IoSlice::new(&msg)], &mut []) {
            Ok(_) if subtype == IO_CONNECT_OPEN => return Ok(Some(coid)),
            Ok(_) => {
                let _ = detach(coid);
                return Ok(Some(0));
            }
            Err(e) => {
                let _ = detach(coid);
                if !try_next(e) {
                    return Err(e);
                }
                last = e;
            }
        }
    }
    Err(last)
}

/// A path from C; `None` for NULL.
///
/// # Safety
///
/// A non-null `p` points to a NUL-terminated string.
unsafe fn c_path<'a>(p: *const c_char) -> Option<&'a CStr> {
    // SAFETY: per the function's contract.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) })
}

/// Whether `fd` is a connection (a coid) rather than a plain descriptor.
fn is_coid(fd: c_int) -> bool {
    table::coid(fd).is_ok()
}

fn fail<T: From<i8>>(e: i32) -> T {
    set_errno(e);
    T::from(-1)
}

/// `open(path, oflag, mode)` for resource managers (see the module).
/// Declared variadic in C (`int baton_open(const char *, int, ...)`): on
/// the Linux ABIs baton supports (x86-64, aarch64) a variadic int argument
/// travels where a third fixed one does.
///
/// # Safety
///
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn baton_open(path: *const c_char, oflag: c_int, mode: c_uint) -> c_int {
    // SAFETY: a C string (contract).
    let Some(p) = (unsafe { c_path(path) }) else { return fail(libc::EFAULT) };
    let owned_mode = if oflag & (libc::O_CREAT | libc::O_TMPFILE) != 0 { mode } else { 0 };
    let r = match p.to_str() {
        Ok(s) => connect_path(s, IO_CONNECT_OPEN, ioflag(oflag), owned_mode),
        Err(_) => Ok(None),
    };
    match r {
        Ok(Some(coid)) => {
            opens().insert(coid, oflag);
            coid
        }
        // SAFETY: libc's open with the caller's arguments.
        Ok(None) => unsafe { libc::open(path, oflag, owned_mode) },
        Err(e) => fail(e),
    }
}

/// `unlink(path)`: `_IO_CONNECT_UNLINK` to the path's resource manager, else libc's.
///
/// # Safety
///
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn baton_unlink(path: *const c_char) -> c_int {
    // SAFETY: a C string (contract).
    let Some(p) = (unsafe { c_path(path) }) else { return fail(libc::EFAULT) };
    let r = match p.to_str() {
        Ok(s) => connect_path(s, IO_CONNECT_UNLINK, ioflag(0), 0),
        Err(_) => Ok(None),
    };
    match r {
        Ok(Some(_)) => 0,
        // SAFETY: libc's unlink with the caller's argument.
        Ok(None) => unsafe { libc::unlink(path) },
        Err(e) => fail(e),
    }
}

/// An I/O header: type, combine_len (its size), then `rest`.
fn header<const N: usize>(kind: u16, rest: &[u8]) -> [u8; N] {
    let mut h = [0u8; N];
    h[0..2].copy_from_slice(&kind.to_ne_bytes());
    h[2..4].copy_from_slice(&(N as u16).to_ne_bytes());
    h[4..4 + rest.len()].copy_from_slice(rest);
    h
}

/// The read/write header: nbytes, xtype (non-blocking if opened so).
fn rw_header(kind: u16, fd: c_int, n: usize) -> [u8; 16] {
    header(kind, &rw_rest(fd, n, 0))
}

/// The header of a `pread`/`pwrite` at `offset`: `_IO_XTYPE_OFFSET`, and
/// the `struct _xtype_offset` after the 16 bytes (`combine_len` counts it).
fn rw_offset_header(kind: u16, fd: c_int, n: usize, offset: i64) -> [u8; 24] {
    let mut rest = [0u8; 20];
    rest[..12].copy_from_slice(&rw_rest(fd, n, IO_XTYPE_OFFSET));
    rest[12..].copy_from_slice(&offset.to_ne_bytes());
    header(kind, &rest)
}

/// `{nbytes, xtype, zero}`: `xtype` with `_IO_XFLAG_NONBLOCK` if the
/// descriptor is non-blocking.
fn rw_rest(fd: c_int, n: usize, xtype: u32) -> [u8; 12] {
    let nonblock = opens().get(&fd).is_some_and(|f| f & libc::O_NONBLOCK != 0);
    let xtype = xtype | if nonblock { IO_XFLAG_NONBLOCK } else { 0 };
    let mut rest = [0u8; 12];
    rest[0..4].copy_from_slice(&(n.min(i32::MAX as usize) as i32).to_ne_bytes());
    rest[4..8].copy_from_slice(&xtype.to_ne_bytes());
    rest
}

/// The read/write header, positioned at `offset` if there is one: its
/// bytes are `h[..len]`.
fn rw_header_at(kind: u16, fd: c_int, n: usize, offset: Option<i64>) -> ([u8; 24], usize) {
    match offset {
        Some(at) => (rw_offset_header(kind, fd, n, at), 24),
        None => {
            let mut h = [0u8; 24];
            h[..16].copy_from_slice(&rw_header(kind, fd, n));
            (h, 16)
        }
    }
}

/// `_IO_READ` of up to `nbytes` into `buf` on coid `fd`: at `offset`
/// (`_IO_XTYPE_OFFSET`, the open's offset stays), else at the open's.
///
/// # Safety
///
/// `buf` is valid for writes of `nbytes` bytes.
unsafe fn read_msg(fd: c_int, buf: *mut c_void, nbytes: usize, offset: Option<i64>) -> isize {
    let nbytes = nbytes.min(i32::MAX as usize);
    let (h, len) = rw_header_at(IO_READ, fd, nbytes, offset);
    // SAFETY: valid for `nbytes` bytes (contract).
    let r =
        unsafe { bytes_mut(buf, nbytes) }.and_then(|b| send(fd, &[IoSlice::new(&h[..len])], &mut [IoSliceMut::new(b)]));
    r.map_or_else(fail, |n| n as isize)
}

/// `_IO_WRITE` of `nbytes` from `buf` on coid `fd` (the data after the
/// header): at `offset`, else at the open's offset.
///
/// # Safety
///
/// `buf` is valid for reads of `nbytes` bytes.
unsafe fn write_msg(fd: c_int, buf: *const c_void, nbytes: usize, offset: Option<i64>) -> isize {
    let nbytes = nbytes.min(i32::MAX as usize);
    let (h, len) = rw_header_at(IO_WRITE, fd, nbytes, offset);
    // SAFETY: valid for `nbytes` bytes (contract).
    let r = unsafe { bytes(buf, nbytes) }.and_then(|b| send(fd, &[IoSlice::new(&h[..len]), IoSlice::new(b)], &mut []));
    r.map_or_else(fail, |n| n as isize)
}

/// `read(fd, buf, nbytes)`: `_IO_READ` on a coid, else libc's.
///
/// # Safety
///
/// `buf` is valid for writes of `nbytes` bytes.
#[no_mangle]
pub unsafe extern "C" fn baton_read(fd: c_int, buf: *mut c_void, nbytes: usize) -> isize {
    if !is_coid(fd) {
        // SAFETY: libc's read with the caller's arguments.
        return unsafe { libc::read(fd, buf, nbytes) };
    }
    // SAFETY: the caller's contract.
    unsafe { read_msg(fd, buf, nbytes, None) }
}

/// `write(fd, buf, nbytes)`: `_IO_WRITE` on a coid, else libc's.
///
/// # Safety
///
/// `buf` is valid for reads of `nbytes` bytes.
#[no_mangle]
pub unsafe extern "C" fn baton_write(fd: c_int, buf: *const c_void, nbytes: usize) -> isize {
    if !is_coid(fd) {
        // SAFETY: libc's write with the caller's arguments.
        return unsafe { libc::write(fd, buf, nbytes) };
    }
    // SAFETY: the caller's contract.
    unsafe { write_msg(fd, buf, nbytes, None) }
}

/// `pread(fd, buf, nbytes, offset)`: `_IO_READ` with `_IO_XTYPE_OFFSET` on
/// a coid (the open's offset does not move), else libc's. `EINVAL` for a
/// negative offset.
///
/// # Safety
///
/// `buf` is valid for writes of `nbytes` bytes.
#[no_mangle]
pub unsafe extern "C" fn baton_pread(fd: c_int, buf: *mut c_void, nbytes: usize, offset: libc::off_t) -> isize {
    if !is_coid(fd) {
        // SAFETY: libc's pread with the caller's arguments.
        return unsafe { libc::pread(fd, buf, nbytes, offset) };
    }
    if offset < 0 {
        return fail(libc::EINVAL);
    }
    // SAFETY: the caller's contract.
    unsafe { read_msg(fd, buf, nbytes, Some(offset)) }
}

/// `pwrite(fd, buf, nbytes, offset)`: `_IO_WRITE` with `_IO_XTYPE_OFFSET`
/// on a coid (the data after the offset; the open's offset does not
/// move), else libc's. `EINVAL` for a negative offset.
///
/// # Safety
///
/// `buf` is valid for reads of `nbytes` bytes.
#[no_mangle]
pub unsafe extern "C" fn baton_pwrite(fd: c_int, buf: *const c_void, nbytes: usize, offset: libc::off_t) -> isize {
    if !is_coid(fd) {
        // SAFETY: libc's pwrite with the caller's arguments.
        return unsafe { libc::pwrite(fd, buf, nbytes, offset) };
    }
    if offset < 0 {
        return fail(libc::EINVAL);
    }
    // SAFETY: the caller's contract.
    unsafe { write_msg(fd, buf, nbytes, Some(offset)) }
}

/// `_IO_CHMOD` with `mode` on coid `fd`.
fn chmod_msg(fd: c_int, mode: libc::mode_t) -> CResult<c_long> {
    let h: [u8; 8] = header(IO_CHMOD, &mode.to_ne_bytes());
    send(fd, &[IoSlice::new(&h)], &mut [])
}

/// `_IO_CHOWN` on coid `fd`: QNX's `{gid, uid}`, -1 (`(uid_t)-1`) for no
/// change.
fn chown_msg(fd: c_int, uid: libc::uid_t, gid: libc::gid_t) -> CResult<c_long> {
    let mut rest = [0u8; 8];
    rest[0..4].copy_from_slice(&gid.to_ne_bytes());
    rest[4..8].copy_from_slice(&uid.to_ne_bytes());
    let h: [u8; 12] = header(IO_CHOWN, &rest);
    send(fd, &[IoSlice::new(&h)], &mut [])
}

/// Opens `path` for no access on its resource manager, runs `op` on the
/// coid and closes it: `Ok(None)` if no resource manager has the path.
fn on_path(path: &CStr, op: impl FnOnce(c_int) -> CResult<c_long>) -> CResult<Option<()>> {
    let Ok(p) = path.to_str() else { return Ok(None) };
    let Some(coid) = connect_path(p, IO_CONNECT_OPEN, NO_ACCESS, 0)? else { return Ok(None) };
    let r = op(coid);
    let h: [u8; 4] = header(IO_CLOSE, &[]);
    let _ = send(coid, &[IoSlice::new(&h)], &mut []);
    let _ = detach(coid);
    r.map(|_| Some(()))
}

/// `chmod(path, mode)`: `_IO_CHMOD` on an open of the path's resource
/// manager, else libc's.
///
/// # Safety
///
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn baton_chmod(path: *const c_char, mode: libc::mode_t) -> c_int {
    // SAFETY: a C string (contract).
    let Some(p) = (unsafe { c_path(path) }) else { return fail(libc::EFAULT) };
    match on_path(p, |coid| chmod_msg(coid, mode)) {
        Ok(Some(())) => 0,
        // SAFETY: libc's chmod with the caller's arguments.
        Ok(None) => unsafe { libc::chmod(path, mode) },
        Err(e) => fail(e),
    }
}

/// `fchmod(fd, mode)`: `_IO_CHMOD` on a coid, else libc's.
#[no_mangle]
pub extern "C" fn baton_fchmod(fd: c_int, mode: libc::mode_t) -> c_int {
    if !is_coid(fd) {
        // SAFETY: fchmod takes no pointer.
        return unsafe { libc::fchmod(fd, mode) };
    }
    chmod_msg(fd, mode).map_or_else(fail, |_| 0)
}

/// `chown(path, uid, gid)`: `_IO_CHOWN` on an open of the path's resource
/// manager, else libc's. -1 leaves an id as it is.
///
/// # Safety
///
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn baton_chown(path: *const c_char, uid: libc::uid_t, gid: libc::gid_t) -> c_int {
    // SAFETY: a C string (contract).
    let Some(p) = (unsafe { c_path(path) }) else { return fail(libc::EFAULT) };
    match on_path(p, |coid| chown_msg(coid, uid, gid)) {
        Ok(Some(())) => 0,
        // SAFETY: libc's chown with the caller's arguments.
        Ok(None) => unsafe { libc::chown(path, uid, gid) },
        Err(e) => fail(e),
    }
}

/// `fchown(fd, uid, gid)`: `_IO_CHOWN` on a coid, else libc's.
#[no_mangle]
pub extern "C" fn baton_fchown(fd: c_int, uid: libc::uid_t, gid: libc::gid_t) -> c_int {
    if !is_coid(fd) {
        // SAFETY: fchown takes no pointer.
        return unsafe { libc::fchown(fd, uid, gid) };
    }
    chown_msg(fd, uid, gid).map_or_else(fail, |_| 0)
}

/// `fcntl(fd, cmd, arg)`. On a coid, as QNX's libc: `F_GETFL` is
/// `DCMD_ALL_GETFLAGS` (the open's flags from its server), `F_SETFL`
/// `DCMD_ALL_SETFLAGS` (the server keeps `O_NONBLOCK` and `O_APPEND`; later
/// reads and writes also say `_IO_XFLAG_NONBLOCK`); `F_GETFD`/`F_SETFD`
/// are the descriptor's own; any other command `EINVAL`. On any other
/// descriptor: libc's. Declared variadic in C, as `baton_open` (the third
/// argument travels where a fixed one does, an int or a pointer alike).
#[no_mangle]
pub extern "C" fn baton_fcntl(fd: c_int, cmd: c_int, arg: libc::c_ulong) -> c_int {
    if !is_coid(fd) || matches!(cmd, libc::F_GETFD | libc::F_SETFD) {
        // SAFETY: the caller's arguments, as it gave them to fcntl.
        return unsafe { libc::fcntl(fd, cmd, arg) };
    }
    let flags_msg = |dcmd: u32, flags: c_int| {
        let mut rest = [0u8; 12];
        rest[0..4].copy_from_slice(&dcmd.to_ne_bytes());
        rest[4..8].copy_from_slice(&4i32.to_ne_bytes());
        let h: [u8; 16] = header(IO_DEVCTL, &rest);
        let (mut reply, mut data) = ([0u8; 16], [0u8; 4]);
        let out = flags.to_ne_bytes();
        let to: &[u8] = if dcmd == DCMD_ALL_SETFLAGS { &out } else { &[] };
        send(fd, &[IoSlice::new(&h), IoSlice::new(to)], &mut [IoSliceMut::new(&mut reply), IoSliceMut::new(&mut data)])
            .map(|_| c_int::from_ne_bytes(data))
    };
    match cmd {
        libc::F_GETFL => flags_msg(DCMD_ALL_GETFLAGS, 0).unwrap_or_else(fail),
        libc::F_SETFL => {
            let flags = arg as c_int;
            match flags_msg(DCMD_ALL_SETFLAGS, flags) {
                Ok(_) => {
                    let changeable = libc::O_NONBLOCK | libc::O_APPEND;
                    if let Some(f) = opens().get_mut(&fd) {
                        *f = (*f & !changeable) | (flags & changeable);
                    }
                    0
                }
                Err(e) => fail(e),
            }
        }
        _ => fail(libc::EINVAL),
    }
}

/// `lseek(fd, offset, whence)`: `_IO_LSEEK` on a coid, else libc's.
#[no_mangle]
pub extern "C" fn baton_lseek(fd: c_int, offset: libc::off_t, whence: c_int) -> libc::off_t {
    if !is_coid(fd) {
        // SAFETY: lseek takes no pointer.
        return unsafe { libc::lseek(fd, offset, whence) };
    }
    let Ok(whence) = i16::try_from(whence) else { return fail(libc::EINVAL) };
    let mut rest = [0u8; 12];
    rest[0..2].copy_from_slice(&whence.to_ne_bytes());
    rest[4..12].copy_from_slice(&offset.to_ne_bytes());
    let h: [u8; 16] = header(IO_LSEEK, &rest);
    let mut pos = [0u8; 8];
    match send(fd, &[IoSlice::new(&h)], &mut [IoSliceMut::new(&mut pos)]) {
        Ok(_) => i64::from_ne_bytes(pos),
        Err(e) => fail(e),
    }
}

/// `fstat(fd, st)`: `_IO_STAT` on a coid, else libc's.
///
/// # Safety
///
/// `st` is valid for a write of a `struct stat`.
#[no_mangle]
pub unsafe extern "C" fn baton_fstat(fd: c_int, st: *mut libc::stat) -> c_int {
    if !is_coid(fd) {
        // SAFETY: libc's fstat with the caller's arguments.
        return unsafe { libc::fstat(fd, st) };
    }
    let h: [u8; 8] = header(IO_STAT, &[0; 4]);
    // SAFETY: `st` is valid for a `struct stat` (contract).
    let r = unsafe { bytes_mut(st.cast(), std::mem::size_of::<libc::stat>()) }
        .and_then(|b| send(fd, &[IoSlice::new(&h)], &mut [IoSliceMut::new(b)]));
    r.map_or_else(fail, |_| 0)
}

/// `ftruncate(fd, length)`: `_IO_SPACE` on a coid (`F_FREESP64` from
/// `length` to the end: the file ends at `length`, grown with zeros if
/// need be), else libc's.
#[no_mangle]
pub extern "C" fn baton_ftruncate(fd: c_int, length: libc::off_t) -> c_int {
    if !is_coid(fd) {
        // SAFETY: ftruncate takes no pointer.
        return unsafe { libc::ftruncate(fd, length) };
    }
    if length < 0 {
        return fail(libc::EINVAL);
    }
    let mut rest = [0u8; 20];
    rest[0..2].copy_from_slice(&F_FREESP64.to_ne_bytes());
    rest[2..4].copy_from_slice(&(libc::SEEK_SET as i16).to_ne_bytes());
    rest[4..12].copy_from_slice(&length.to_ne_bytes());
    let h: [u8; 24] = header(IO_SPACE, &rest);
    let mut size = [0u8; 8];
    send(fd, &[IoSlice::new(&h)], &mut [IoSliceMut::new(&mut size)]).map_or_else(fail, |_| 0)
}

/// `close(fd)`: `_IO_CLOSE` and the connection detached for a coid, else
/// libc's. The connection goes even if the server failed the close.
#[no_mangle]
pub extern "C" fn baton_close(fd: c_int) -> c_int {
    if !is_coid(fd) {
        // SAFETY: close takes no pointer.
        return unsafe { libc::close(fd) };
    }
    let h: [u8; 4] = header(IO_CLOSE, &[]);
    let r = send(fd, &[IoSlice::new(&h)], &mut []);
    opens().remove(&fd);
    let d = detach(fd);
    match r.and(d) {
        Ok(_) => 0,
        Err(e) => fail(e),
    }
}

/// The Linux `ioctl` request of a devctl command: its direction bits
/// swapped (`DEVDIR_TO` is `_IOC_WRITE`, `DEVDIR_FROM` `_IOC_READ`), as
/// `baton fuse` maps them the other way.
fn ioctl_request(dcmd: u32) -> u32 {
    let mut r = dcmd & !(DEVDIR_TO | DEVDIR_FROM);
    if dcmd & DEVDIR_TO != 0 {
        r |= 1 << 30;
    }
    if dcmd & DEVDIR_FROM != 0 {
        r |= 1 << 31;
    }
    r
}

/// `devctl(fd, dcmd, data, nbytes, info)`: `_IO_DEVCTL` on a coid (data
/// to the server if `DEVDIR_TO`, back if `DEVDIR_FROM`), else `ioctl`.
/// Returns `EOK` or the error (errno untouched); `ENOSYS` from the server
/// is `ENOTTY`, as QNX's libc reports it.
///
/// # Safety
///
/// `data` is valid for `nbytes` bytes (reads and writes as the direction
/// says); `info` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn devctl(fd: c_int, dcmd: c_int, data: *mut c_void, nbytes: usize, info: *mut c_int) -> c_int {
    let d = dcmd as u32;
    if !is_coid(fd) {
        // SAFETY: the caller's buffer, as for its ioctl.
        let r = unsafe { libc::ioctl(fd, ioctl_request(d) as _, data) };
        if r == -1 {
            return std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
        }
        // SAFETY: `info` is NULL or valid (contract).
        unsafe { crate::ffi::put(info, r) };
        return 0;
    }
    let Ok(n) = i32::try_from(nbytes) else { return libc::EINVAL };
    let mut rest = [0u8; 12];
    rest[0..4].copy_from_slice(&dcmd.to_ne_bytes());
    rest[4..8].copy_from_slice(&n.to_ne_bytes());
    let h: [u8; 16] = header(IO_DEVCTL, &rest);
    let mut reply = [0u8; 16];
    let r = (|| {
        // The data going out is copied first: the same buffer takes the
        // data coming back.
        // SAFETY: `data` is valid for `nbytes` bytes (contract).
        let out: Vec<u8> = if d & DEVDIR_TO != 0 { unsafe { bytes(data, nbytes)? }.to_vec() } else { Vec::new() };
        // SAFETY: as above, and no other view of it is alive.
        let back: &mut [u8] = if d & DEVDIR_FROM != 0 { unsafe { bytes_mut(data, nbytes)? } } else { &mut [] };
        send(fd, &[IoSlice::new(&h), IoSlice::new(&out)], &mut [IoSliceMut::new(&mut reply), IoSliceMut::new(back)])
    })();
    match r {
        Ok(_) => {
            let ret_val = i32::from_ne_bytes(reply[4..8].try_into().unwrap_or_default());
            // SAFETY: `info` is NULL or valid (contract).
            unsafe { crate::ffi::put(info, ret_val) };
            0
        }
        Err(libc::ENOSYS) => libc::ENOTTY,
        Err(e) => e,
    }
}

/// `ionotify(fd, action, flags, event)` (QNX, `<sys/iomsg.h>`):
/// `_IO_NOTIFY` on a coid with `action` (`_NOTIFY_ACTION_*`), the
/// `_NOTIFY_COND_*` `flags` and `event` (typically `SIGEV_PULSE_INIT` to a
/// connection to one of the caller's channels), which the server delivers
/// once when an armed condition becomes true. Returns the conditions that
/// hold now (the reply's flags), or -1 and errno (`EBADF` for a
/// descriptor that is not a resource manager's). A NULL `event` sends the
/// message without one (a poll).
///
/// # Safety
///
/// `event` is NULL or points to a `struct sigevent`.
#[no_mangle]
pub unsafe extern "C" fn ionotify(fd: c_int, action: c_int, flags: c_int, event: *const libc::sigevent) -> c_int {
    if !is_coid(fd) {
        return fail(libc::EBADF);
    }
    let mut m = [0u8; NOTIFY_LEN];
    let len = if event.is_null() { NOTIFY_HEAD } else { NOTIFY_LEN };
    m[0..2].copy_from_slice(&IO_NOTIFY.to_ne_bytes());
    m[2..4].copy_from_slice(&(len as u16).to_ne_bytes());
    m[4..8].copy_from_slice(&action.to_ne_bytes());
    m[8..12].copy_from_slice(&flags.to_ne_bytes());
    if !event.is_null() {
        // SAFETY: a `struct sigevent` (contract).
        match unsafe { bytes(event.cast(), NOTIFY_LEN - NOTIFY_HEAD) } {
            Ok(e) => m[NOTIFY_HEAD..].copy_from_slice(e),
            Err(e) => return fail(e),
        }
    }
    let mut reply = [0u8; 8];
    match send(fd, &[IoSlice::new(&m[..len])], &mut [IoSliceMut::new(&mut reply)]) {
        Ok(_) => i32::from_ne_bytes(reply[4..8].try_into().unwrap_or_default()),
        Err(e) => fail(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_message_layout() {
        let m = connect_msg(IO_CONNECT_OPEN, 7, ioflag(libc::O_RDWR | libc::O_CREAT), 0o644, "a/b", true);
        assert_eq!(m.len(), 44);
        assert_eq!(u16::from_ne_bytes([m[0], m[1]]), 0x100);
        assert_eq!(u16::from_ne_bytes([m[2], m[3]]), 2);
        assert_eq!(u32::from_ne_bytes(m[16..20].try_into().unwrap()), 7);
        assert_eq!(u32::from_ne_bytes(m[20..24].try_into().unwrap()), (libc::O_CREAT | 3) as u32);
        assert_eq!(u32::from_ne_bytes(m[24..28].try_into().unwrap()), 0o644);
        assert_eq!(u16::from_ne_bytes([m[34], m[35]]), 4);
        assert_eq!((m[36], &m[40..]), (1, &b"a/b\0"[..]));
        assert_eq!(ioflag(libc::O_RDONLY), 1);
        assert_eq!(ioflag(libc::O_WRONLY | libc::O_NONBLOCK), 2 | libc::O_NONBLOCK as u32);
    }

    #[test]
    fn pread_header_layout() {
        let h = rw_offset_header(IO_READ, -1, 10, 1 << 40);
        assert_eq!(u16::from_ne_bytes([h[0], h[1]]), IO_READ);
        assert_eq!(u16::from_ne_bytes([h[2], h[3]]), 24, "combine_len counts the offset");
        assert_eq!(i32::from_ne_bytes(h[4..8].try_into().unwrap()), 10);
        assert_eq!(u32::from_ne_bytes(h[8..12].try_into().unwrap()), IO_XTYPE_OFFSET);
        assert_eq!(i64::from_ne_bytes(h[16..24].try_into().unwrap()), 1 << 40);
    }

    #[test]
    fn devctl_directions_become_ioctl_directions() {
        assert_eq!(ioctl_request(0x8004_0501), 0x4004_0501);
        assert_eq!(ioctl_request(0x4004_0501), 0x8004_0501);
        assert_eq!(ioctl_request(0xc004_0501), 0xc004_0501);
        assert_eq!(ioctl_request(0x0000_0501), 0x0000_0501);
    }
}
