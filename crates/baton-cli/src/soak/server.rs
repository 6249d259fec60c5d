//! A soak server process (`baton soak-peer server`): two named channels,
//! `soak/s<i>` (plain) and `soak/s<i>u` (`UNBLOCK`), both with
//! `DISCONNECT`, each served by a pool of threads. Every request is checked
//! (its header and its payload's checksum), held as long as the client
//! asked (so that kills land while the server holds requests), and answered
//! with the reply the client can check byte for byte. On the `UNBLOCK`
//! channel a held request whose client asked to be unblocked is failed with
//! `EINTR`. Counters go to stdout as `stats` lines; anything wrong as a
//! `fail` line. The server runs until its stdin closes.

use super::proto::{self, Counters};
use super::wire::{self, Header, MAX_MSG};
use baton::{chf, pulse_code, Channel, Received, Request};
use std::io::BufRead;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The counters a server reports.
/// `cut_by_death`: messages delivered short because their client was
/// being killed while the server copied them (see `answer`).
pub const FIELDS: [&str; 10] = [
    "received",
    "replied",
    "gone",
    "unblocked",
    "empty",
    "pulses",
    "disconnects",
    "unblock_pulses",
    "corrupt",
    "cut_by_death",
];

/// The name of server `index`'s channel (`unblock`: the `UNBLOCK` one).
pub fn channel_name(index: u32, unblock: bool) -> String {
    format!("soak/s{index}{}", if unblock { "u" } else { "" })
}

pub fn run(index: u32, threads: u32) -> std::io::Result<()> {
    let counters = Arc::new(Counters::new(&FIELDS));
    let mut pools = Vec::new();
    for unblock in [false, true] {
        let flags = chf::DISCONNECT | if unblock { chf::UNBLOCK } else { 0 };
        let channel = Channel::builder().name(channel_name(index, unblock)).flags(flags).create()?;
        pools.push(Arc::new(channel));
    }
    for channel in &pools {
        for _ in 0..threads.max(1) {
            let (channel, counters) = (Arc::clone(channel), Arc::clone(&counters));
            std::thread::Builder::new().name("soak-server".into()).spawn(move || serve(&channel, &counters))?;
        }
    }
    proto::say(&format!("ready {}", std::process::id()));
    proto::report_until_eof(&counters, std::io::stdin().lock().lines().map(|_| ()));
    Ok(())
}

fn serve(channel: &Channel, c: &Counters) {
    let mut buf = vec![0u8; MAX_MSG + 4096];
    let mut reply = vec![0u8; MAX_MSG];
    let unblock_channel = channel.flags() & chf::UNBLOCK != 0;
    loop {
        match channel.receive(&mut buf) {
            Ok(Received::Message(req)) => {
                c.add("received", 1);
                let len = req.len();
                answer(req, &buf[..len], &mut reply, unblock_channel, c);
            }
            Ok(Received::Pulse(p)) => match p.code {
                pulse_code::DISCONNECT => c.add("disconnects", 1),
                pulse_code::UNBLOCK => c.add("unblock_pulses", 1),
                code if code >= 0 => {
                    c.add("pulses", 1);
                    if code != proto::pulse_code_of(p.value) {
                        proto::fail(&format!("pulse with code {code} and value {:#x}: they do not match", p.value));
                    }
                }
                code => proto::fail(&format!("unexpected system pulse {code} (value {:#x})", p.value)),
            },
            Err(e) => {
                proto::fail(&format!("receive failed: {e}"));
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Checks, holds and answers one request.
fn answer(req: Request, msg: &[u8], reply: &mut [u8], unblock_channel: bool, c: &Counters) {
    if msg.is_empty() {
        c.add("empty", 1);
        return finish(req.reply(wire::EMPTY_STATUS, &[]), c, "replied");
    }
    let info = req.info();
    // A message copied while its client is being killed can come out
    // short (the client's memory goes away under the copy); the answer
    // then fails with ESRCH. Short from a live client is a failure.
    if info.srcmsglen != msg.len() && client_gone(info.pid) {
        c.add("cut_by_death", 1);
        return finish(req.error(libc::EIO), c, "replied");
    }
    let h = match Header::decode(msg) {
        Some(h) if h.reply_len as usize <= reply.len() && wire::checksum(&msg[wire::HEADER..]) == h.sum => h,
        _ => {
            c.add("corrupt", 1);
            proto::fail(&format!(
                "corrupt or short request of {} bytes ({} sent) from pid {}: header {:?}",
                msg.len(),
                info.srcmsglen,
                info.pid,
                Header::decode(msg)
            ));
            return finish(req.error(libc::EBADMSG), c, "replied");
        }
    };
    // Hold the request as the client asked, looking for its unblock
    // request every millisecond on the UNBLOCK channel.
    let until = Instant::now() + Duration::from_micros(h.hold_us as u64);
    while Instant::now() < until {
        if unblock_channel && req.unblock_requested() {
            return finish(req.error(libc::EINTR), c, "unblocked");
        }
        std::thread::sleep(until.saturating_duration_since(Instant::now()).min(Duration::from_millis(1)));
    }
    let out = &mut reply[..h.reply_len as usize];
    wire::write_reply(out, &h);
    finish(req.reply(wire::status(h.client, h.call), out), c, "replied");
}

/// Counts an answer: `ESRCH` means its client died or timed out meanwhile.
fn finish(r: baton::Result<()>, c: &Counters, what: &str) {
    match r {
        Ok(()) => c.add(what, 1),
        Err(e) if e.errno() == libc::ESRCH => c.add("gone", 1),
        Err(e) => proto::fail(&format!("answering a request failed: {e}")),
    }
}

/// Whether process `pid` dies within a moment (it was being killed).
fn client_gone(pid: i32) -> bool {
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok();
        // Gone, or a zombie (field 3 after the command's parenthesis).
        if state.is_none_or(|s| s.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with(['Z', 'X']))) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}
