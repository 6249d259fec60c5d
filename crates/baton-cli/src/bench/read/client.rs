//! The read section's reader (`baton bench-peer --role read-client`):
//! 4 KiB reads of the bench file by one way ([`Via`]), a warm-up, then
//! `iterations` reads each timed on its own (a clock read before and after
//! it; the check between reads is not timed). Warm-up reads are checked
//! byte for byte; timed reads by their first and last byte (the file's
//! bytes depend on their offset, so a read of the wrong place shows).

use super::{byte_at, Via, FILE_BYTES, READ_SIZE};
use crate::bench::peer::{cpu_ns, PeerArgs};
use crate::bench::proto::Report;
use crate::bench::stats::Summary;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::time::Instant;

/// One way of reading the file.
enum Reader {
    Direct(baton_resmgr::File),
    File(std::fs::File),
    Pread(std::fs::File),
}

impl Reader {
    fn open(via: Via, path: &str) -> io::Result<Reader> {
        let err = |e: io::Error| io::Error::new(e.kind(), format!("cannot open {path} ({}): {e}", via.name()));
        Ok(match via {
            Via::Direct => Reader::Direct(baton_resmgr::OpenOptions::new().read(true).open(path).map_err(err)?),
            Via::Fuse | Via::FuseFloor => Reader::File(std::fs::File::open(path).map_err(err)?),
            Via::Tmpfs => Reader::Pread(std::fs::File::open(path).map_err(err)?),
        })
    }

    /// Read number `i` (0-based, warm-up included): the file at
    /// `i * READ_SIZE`, wrapped. The server and the bridge read on from
    /// the open's offset; the tmpfs file is read at that offset (`pread`),
    /// as it ends.
    fn read(&mut self, i: u64, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Reader::Direct(f) => f.read_at_offset(buf),
            Reader::File(f) => f.read(buf),
            Reader::Pread(f) => f.read_at(buf, offset(i)),
        }
    }
}

/// Where read `i` starts in the file.
fn offset(i: u64) -> u64 {
    i * READ_SIZE as u64 % FILE_BYTES as u64
}

/// Makes the reads and returns the report.
pub fn run(args: &PeerArgs) -> io::Result<Report> {
    let via = args.read.via.ok_or_else(|| io::Error::other("the read client needs --read-via"))?;
    let path = args.name.as_deref().ok_or_else(|| io::Error::other("the read client needs --name (the path)"))?;
    let mut reader = Reader::open(via, path)?;
    let mut buf = vec![0u8; READ_SIZE];
    let check = |i: u64, buf: &[u8], n: usize, whole: bool| -> io::Result<()> {
        let at = offset(i);
        let ok = n == READ_SIZE
            && if whole {
                buf.iter().enumerate().all(|(j, &b)| b == byte_at(at as usize + j))
            } else {
                buf[0] == byte_at(at as usize) && buf[n - 1] == byte_at(at as usize + n - 1)
            };
        if ok {
            Ok(())
        } else {
            Err(io::Error::other(format!("read {i} ({}): {n} bytes, not the file's at {at}", via.name())))
        }
    };
    for i in 0..args.warmup {
        let n = reader.read(i, &mut buf)?;
        check(i, &buf, n, true)?;
    }
    let mut samples = vec![u64::MAX; args.iterations as usize];
    let cpu = cpu_ns();
    let start = Instant::now();
    let mut last = start;
    for (i, sample) in (args.warmup..).zip(samples.iter_mut()) {
        let n = reader.read(i, &mut buf)?;
        let now = Instant::now();
        check(i, &buf, n, false)?;
        *sample = (now - last).as_nanos() as u64;
        last = Instant::now();
    }
    let cpu_ns = cpu_ns() - cpu;
    let wall_ns = samples.iter().sum();
    let latency = Summary::of(&mut samples).unwrap_or_default();
    Ok(Report { n: args.iterations, cpu_ns, wall_ns, latency, ..Report::default() })
}
