//! The soak's report: counts (calls, kills, restarts, errors by kind,
//! worst delays), failures, leak checks, as text and as JSON.

use super::fleet::Role;
use super::procfs::Sample;
use super::Args;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

/// Samples of a long-lived (never killed) process.
#[derive(Debug, Default)]
pub struct LongLived {
    /// Right after it started (connections opened, for a client).
    pub ready: Option<Sample>,
    /// A tenth into the chaos, and at its end: memory must stay flat.
    pub start: Option<Sample>,
    pub end: Option<Sample>,
    /// After every client stopped: back to `ready`, no segment.
    pub idle: Option<Sample>,
}

impl LongLived {
    fn leaks(&self, who: &str, out: &mut Vec<String>) {
        let (Some(ready), Some(idle)) = (self.ready, self.idle) else {
            out.push(format!("{who}: could not be sampled"));
            return;
        };
        if idle.fds > ready.fds {
            out.push(format!("{who}: {} descriptors at the end, {} at the start", idle.fds, ready.fds));
        }
        if idle.tasks > ready.tasks {
            out.push(format!("{who}: {} threads at the end, {} at the start", idle.tasks, ready.tasks));
        }
        if idle.memfd_fds > 0 || idle.memfd_maps > 0 {
            out.push(format!(
                "{who}: {} segment descriptors and {} segment mappings left with no client",
                idle.memfd_fds, idle.memfd_maps
            ));
        }
        if let (Some(s), Some(e)) = (self.start, self.end) {
            // Flat: allowance for allocator noise, far below what a leak
            // per call or per kill would add over a run.
            if e.rss_kib > s.rss_kib + (s.rss_kib / 4).max(16 * 1024) {
                out.push(format!("{who}: RSS grew from {} KiB to {} KiB", s.rss_kib, e.rss_kib));
            }
        }
    }
}

#[derive(Debug)]
pub struct Report {
    pub command: String,
    pub duration: Duration,
    pub kill_every: Duration,
    pub bound: Duration,
    pub kills: BTreeMap<Role, u64>,
    /// Server kills that landed while the server held requests (by its
    /// last stats).
    pub kills_holding: u64,
    pub restarts: u64,
    pub detections: u64,
    pub detection_max_ns: u64,
    pub failures: Vec<String>,
    pub server0: LongLived,
    pub client0: LongLived,
    pub stale_entries: Vec<String>,
    pub left_after_exit: Vec<String>,
    pub clients: BTreeMap<String, u64>,
    pub servers: BTreeMap<String, u64>,
    leaks: Vec<String>,
}

impl Report {
    pub fn new(a: &Args, duration: Duration, kill_every: Duration, bound: Duration) -> Report {
        Report {
            command: format!(
                "baton soak --duration {} --servers {} --clients {} --server-threads {} --client-threads {} --seed {} --kill-every {} --bound {}",
                duration.as_secs_f64(),
                a.servers,
                a.clients,
                a.server_threads,
                a.client_threads,
                a.seed,
                kill_every.as_millis(),
                a.bound
            ),
            duration,
            kill_every,
            bound,
            kills: BTreeMap::new(),
            kills_holding: 0,
            restarts: 0,
            detections: 0,
            detection_max_ns: 0,
            failures: Vec::new(),
            server0: LongLived::default(),
            client0: LongLived::default(),
            stale_entries: Vec::new(),
            left_after_exit: Vec::new(),
            clients: BTreeMap::new(),
            servers: BTreeMap::new(),
            leaks: Vec::new(),
        }
    }

    pub fn fail(&mut self, what: String) {
        if self.failures.len() < 1000 {
            eprintln!("soak: FAIL {what}");
        }
        self.failures.push(what);
    }

    pub fn kill(&mut self, role: Role, holding: bool) {
        *self.kills.entry(role).or_insert(0) += 1;
        self.kills_holding += holding as u64;
    }

    pub fn kills_total(&self) -> u64 {
        self.kills.values().sum()
    }

    /// Works out the leaks once everything has been sampled.
    pub fn finish(&mut self) {
        let mut leaks = Vec::new();
        self.server0.leaks("server 0", &mut leaks);
        self.client0.leaks("client 0", &mut leaks);
        for e in &self.stale_entries {
            leaks.push(format!("runtime directory entry of a dead process while the servers ran: {e}"));
        }
        for e in &self.left_after_exit {
            leaks.push(format!("runtime directory entry left after every process exited: {e}"));
        }
        self.leaks = leaks;
    }

    pub fn leaks(&self) -> &[String] {
        &self.leaks
    }

    fn c(&self, k: &str) -> u64 {
        self.clients.get(k).copied().unwrap_or(0)
    }

    fn s(&self, k: &str) -> u64 {
        self.servers.get(k).copied().unwrap_or(0)
    }

    pub fn text(&self) -> String {
        let mut o = String::new();
        let ms = |ns: u64| ns as f64 / 1e6;
        let _ = writeln!(o, "command: {}", self.command);
        let _ = writeln!(o, "calls: {} ({} ok, {} MiB checked)", self.c("calls"), self.c("ok"), self.c("bytes") >> 20);
        let _ = writeln!(
            o,
            "errors by kind: ESRCH {}, EBADF {}, ETIMEDOUT {}, EINTR {}, undocumented {}, wrong replies {}",
            self.c("esrch"),
            self.c("ebadf"),
            self.c("etimedout"),
            self.c("eintr"),
            self.c("other_err"),
            self.c("mismatch")
        );
        let _ = writeln!(
            o,
            "pulses: {} sent ({} refused: dead server or full queue), {} received; opens refused while a server restarted: {}",
            self.c("pulses"),
            self.c("pulse_err"),
            self.s("pulses"),
            self.c("open_err")
        );
        let _ = writeln!(
            o,
            "servers: {} requests, {} answered, {} answers to clients gone or timed out (ESRCH), {} unblocked (EINTR), {} unblock pulses, {} disconnect pulses, {} corrupt, {} cut short by their client's kill (failed with EIO)",
            self.s("received"),
            self.s("replied"),
            self.s("gone"),
            self.s("unblocked"),
            self.s("unblock_pulses"),
            self.s("disconnects"),
            self.s("corrupt"),
            self.s("cut_by_death")
        );
        let _ = writeln!(
            o,
            "kills: {} ({} servers, {} of them while holding requests; {} clients), restarts: {}",
            self.kills_total(),
            self.kills.get(&Role::Server).copied().unwrap_or(0),
            self.kills_holding,
            self.kills.get(&Role::Client).copied().unwrap_or(0),
            self.restarts
        );
        let _ = writeln!(
            o,
            "worst delay: {:.2} ms past a deadline ({} calls with one that applied), {:.2} ms from a server's kill to a blocked call's ESRCH ({} such calls); bound {} ms",
            ms(self.c("late_max_ns")),
            self.c("deadline_calls"),
            ms(self.detection_max_ns),
            self.detections,
            self.bound.as_millis()
        );
        for (who, l) in [("server 0", &self.server0), ("client 0", &self.client0)] {
            let f = |s: Option<Sample>| {
                s.map_or("-".into(), |s| {
                    format!(
                        "{} fds ({} segments, {} mapped), {} threads, {} KiB RSS",
                        s.fds, s.memfd_fds, s.memfd_maps, s.tasks, s.rss_kib
                    )
                })
            };
            let _ = writeln!(o, "{who} (never killed): start {}; idle at the end {}", f(l.ready), f(l.idle));
            let _ = writeln!(
                o,
                "{who} memory under load: {} KiB RSS at 10%, {} KiB at the end",
                l.start.map_or(0, |s| s.rss_kib),
                l.end.map_or(0, |s| s.rss_kib)
            );
        }
        let _ = writeln!(o, "leaks: {}", self.leaks.len());
        for l in &self.leaks {
            let _ = writeln!(o, "  {l}");
        }
        let _ = writeln!(o, "failures: {}", self.failures.len());
        for f in self.failures.iter().take(50) {
            let _ = writeln!(o, "  {f}");
        }
        let ok = self.failures.is_empty() && self.leaks.is_empty();
        let _ = writeln!(o, "verdict: {}", if ok { "PASS" } else { "FAIL" });
        o
    }

    pub fn json(&self) -> String {
        let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        let list = |v: &[String]| format!("[{}]", v.iter().map(|s| q(s)).collect::<Vec<_>>().join(","));
        let map = |m: &BTreeMap<String, u64>| {
            format!("{{{}}}", m.iter().map(|(k, v)| format!("{}:{v}", q(k))).collect::<Vec<_>>().join(","))
        };
        let sample = |s: Option<Sample>| {
            s.map_or("null".into(), |s| {
                format!(
                    "{{\"fds\":{},\"memfd_fds\":{},\"memfd_maps\":{},\"threads\":{},\"rss_kib\":{}}}",
                    s.fds, s.memfd_fds, s.memfd_maps, s.tasks, s.rss_kib
                )
            })
        };
        let ll = |l: &LongLived| {
            format!(
                "{{\"ready\":{},\"start\":{},\"end\":{},\"idle\":{}}}",
                sample(l.ready),
                sample(l.start),
                sample(l.end),
                sample(l.idle)
            )
        };
        format!(
            "{{\"command\":{},\"duration_s\":{},\"kill_every_ms\":{},\"bound_ms\":{},\"kills\":{{\"server\":{},\"client\":{},\"server_holding\":{}}},\"restarts\":{},\"detections\":{},\"detection_max_ns\":{},\"late_max_ns\":{},\"clients\":{},\"servers\":{},\"server0\":{},\"client0\":{},\"leaks\":{},\"failures\":{},\"pass\":{}}}\n",
            q(&self.command),
            self.duration.as_secs_f64(),
            self.kill_every.as_millis(),
            self.bound.as_millis(),
            self.kills.get(&Role::Server).copied().unwrap_or(0),
            self.kills.get(&Role::Client).copied().unwrap_or(0),
            self.kills_holding,
            self.restarts,
            self.detections,
            self.detection_max_ns,
            self.c("late_max_ns"),
            map(&self.clients),
            map(&self.servers),
            ll(&self.server0),
            ll(&self.client0),
            list(&self.leaks),
            list(&self.failures),
            self.failures.is_empty() && self.leaks.is_empty()
        )
    }
}
