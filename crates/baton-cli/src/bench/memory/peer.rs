//! The memory section's server (`baton bench-peer --role memory-server`):
//! a baton channel with default options, one thread answering every call.
//! Before `ready` it prints the geometry of its connections' shared
//! memory, as the library reports it. It asks the kernel to kill it when
//! the bench parent dies, and otherwise serves until killed.

use crate::bench::peer::{say, PeerArgs};
use crate::bench::peers::Endpoint;
use crate::bench::proto::READY;
use baton::{Channel, Received, SegmentGeometry};
use rustix::process::{set_parent_process_death_signal, Signal};
use std::io;

/// Runs the server until killed.
pub fn run(end: Endpoint, args: &PeerArgs) -> io::Result<()> {
    set_parent_process_death_signal(Some(Signal::KILL))?;
    let name = end.name.ok_or_else(|| io::Error::other("the memory server needs --name"))?;
    let channel = Channel::attach(&name)?;
    say(&geometry_line(&channel.segment_geometry()))?;
    say(READY)?;
    let mut buf = vec![0u8; args.size];
    loop {
        match channel.receive(&mut buf)? {
            Received::Message(req) => {
                let len = req.len().min(buf.len());
                req.reply(0, &buf[..len])?;
            }
            Received::Pulse(_) => {}
        }
    }
}

/// The `geometry` line.
pub fn geometry_line(g: &SegmentGeometry) -> String {
    format!(
        "geometry len={} header={} slot={} slots={} inline={} overflow={} pulses={}",
        g.len, g.header_len, g.slot_len, g.slots, g.inline_size, g.overflow_size, g.pulses
    )
}

/// Reads a `geometry` line.
pub fn parse_geometry(line: &str) -> Result<SegmentGeometry, String> {
    let mut words = line.split_whitespace();
    if words.next() != Some("geometry") {
        return Err(format!("expected a `geometry` line, got {line:?}"));
    }
    const KEYS: [&str; 7] = ["len", "header", "slot", "slots", "inline", "overflow", "pulses"];
    let mut values = [None; KEYS.len()];
    for word in words {
        let (key, value) = word.split_once('=').ok_or_else(|| format!("bad field {word:?}"))?;
        let i = KEYS.iter().position(|k| *k == key).ok_or_else(|| format!("unknown field {key:?}"))?;
        values[i] = Some(value.parse::<usize>().map_err(|e| format!("field {key}: {e}"))?);
    }
    if let Some(i) = values.iter().position(Option::is_none) {
        return Err(format!("field {} missing in {line:?}", KEYS[i]));
    }
    let [len, header_len, slot_len, slots, inline_size, overflow_size, pulses] = values.map(Option::unwrap_or_default);
    Ok(SegmentGeometry { len, header_len, slot_len, slots, inline_size, overflow_size, pulses })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_lines_round_trip() {
        let g = SegmentGeometry {
            len: 266_240,
            header_len: 4096,
            slot_len: 4096,
            slots: 64,
            inline_size: 3968,
            overflow_size: 1 << 20,
            pulses: 64,
        };
        assert_eq!(parse_geometry(&geometry_line(&g)), Ok(g));
        assert!(parse_geometry("ready").is_err());
        assert!(parse_geometry("geometry len=1").is_err());
    }
}
