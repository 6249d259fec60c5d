//! `baton bench` end to end: a tiny run of every transport, placement and
//! message size, and of the load section, checked for completeness and
//! sane figures (never for speed, nor for the goals); and the load section
//! reported as skipped, with its reason, where SCHED_FIFO is not permitted,
//! as D-Bus is where dbus-daemon is missing. Likewise the throughput, scale
//! and memory sections, and those skipped when none of their transports is
//! chosen. And the read section: every way measured, or FUSE reported
//! skipped where it cannot run.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BATON: &str = env!("CARGO_BIN_EXE_baton");
/// The real-time client's priority in the load section.
const RT_PRIORITY: i32 = 50;

/// Every transport, in table order.
const TRANSPORTS: [&str; 12] = [
    "baton",
    "baton-blocking",
    "baton-spin",
    "futex",
    "eventfd",
    "spin",
    "pipe",
    "seqpacket",
    "stream",
    "tcp",
    "iceoryx2",
    "dbus",
];
/// The sizes `--quick` measures.
const QUICK_SIZES: [u64; 2] = [64, 1 << 20];

#[test]
fn quick_bench_writes_every_row() {
    let args = ["--quick", "--section", "round-trip", "-n", "150", "--warmup", "10", "--runs", "2"];
    let doc = bench("round-trip", &args, |_| {});
    assert_eq!(doc.get("sections").arr().iter().map(Json::str).collect::<Vec<_>>(), ["round-trip"]);
    check(&doc);
    assert_eq!(*doc.get("load"), Json::Null);
}

#[test]
fn quick_load_section() {
    let doc = bench("load", &["--quick", "--section", "load", "--runs", "2", "--rt-calls", "300"], |_| {});
    assert_eq!(doc.get("sections").arr().iter().map(Json::str).collect::<Vec<_>>(), ["load"]);
    assert!(doc.get("rows").arr().iter().all(|r| r.get("mode").str().starts_with("rt-")));
    check_load(&doc, realtime_allowed());
}

#[test]
fn chosen_sizes_and_transports() {
    let args =
        ["--section", "round-trip", "--size", "4096,100", "--transport", "spin,stream", "--runs", "1", "-n", "50"];
    let args = [&args[..], &["--placement", "same-cpu,unpinned"]].concat();
    let doc = bench("sizes", &args, |_| {});
    assert_eq!(doc.get("sizes").arr().iter().map(Json::num).collect::<Vec<_>>(), [100.0, 4096.0]);
    let mut rows: Vec<(&str, &str, f64)> = Vec::new();
    for row in doc.get("rows").arr() {
        assert_eq!(row.get("n").num(), 50.0);
        rows.push((row.get("placement").str(), row.get("transport").str(), row.get("size").num()));
    }
    let mut want = vec![("unpinned", "spin", 100.0), ("unpinned", "spin", 4096.0)];
    if !skipped(&doc).iter().any(|s| s.get("placement").str() == "same-cpu" && s.get("transport") == &Json::Null) {
        want.extend([("same-cpu", "stream", 100.0), ("same-cpu", "stream", 4096.0)]);
    }
    want.extend([("unpinned", "stream", 100.0), ("unpinned", "stream", 4096.0)]);
    rows.sort_by(|a, b| a.partial_cmp(b).unwrap());
    want.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(rows, want);
}

#[test]
fn load_section_without_sched_fifo_is_reported_skipped() {
    let mut as_nobody = false;
    if realtime_allowed() {
        // Root may not be able to lose the permission (RLIMIT_RTPRIO lets
        // anyone in); otherwise run the bench as nobody, without it.
        let rtprio = rustix::process::getrlimit(rustix::process::Resource::Rtprio).current;
        if !(rustix::process::geteuid().is_root() && rtprio.is_some_and(|r| r < RT_PRIORITY as u64)) {
            eprintln!("SCHED_FIFO is permitted here and cannot be taken away; nothing to check");
            return;
        }
        as_nobody = true;
    }
    let doc = bench("unprivileged", &["--quick", "--section", "load", "--rt-calls", "100"], |cmd| {
        if as_nobody {
            cmd.uid(65534).gid(65534);
        }
    });
    assert_eq!(doc.get("sections").arr().iter().map(Json::str).collect::<Vec<_>>(), ["load"]);
    check_load(&doc, false);
}

/// Runs `baton bench` with `args` (`prepare` may change the command) and
/// reads its JSON output; `name` is unique among the tests.
fn bench(name: &str, args: &[&str], prepare: impl FnOnce(&mut Command)) -> Json {
    let dir = std::env::temp_dir().join(format!("baton-bench-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The bench may run as another user: let it write its JSON here.
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let json = dir.join("out.json");
    let mut cmd = Command::new(BATON);
    cmd.arg("bench").args(args).arg("--json").arg(&json).stdout(Stdio::null());
    prepare(&mut cmd);
    let status = wait(cmd.spawn().unwrap());
    let text = std::fs::read_to_string(&json);
    remove(&dir);
    assert!(status.success(), "baton bench failed: {status}");
    Json::parse(&text.unwrap())
}

fn wait(mut child: std::process::Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("baton bench did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn remove(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}

/// Whether this process may use SCHED_FIFO at the load section's priority
/// (tried on a thread that then ends).
fn realtime_allowed() -> bool {
    std::thread::spawn(|| baton::set_thread_priority(baton::Policy::Fifo, RT_PRIORITY).is_ok()).join().unwrap()
}

#[test]
fn dbus_without_its_daemon_is_reported_skipped() {
    // No dbus-daemon on an empty PATH (the bench re-runs itself by its own
    // path, so it needs none).
    let empty = std::env::temp_dir().join(format!("baton-bench-test-{}-empty-path", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let args = ["--section", "round-trip", "--transport", "baton,dbus", "--placement", "unpinned", "--size", "64"];
    let doc = bench("no-dbus-daemon", &[&args[..], &["--runs", "1", "-n", "100"]].concat(), |cmd| {
        cmd.env("PATH", &empty);
    });
    remove(&empty);
    let rows: Vec<&str> = doc.get("rows").arr().iter().map(|r| r.get("transport").str()).collect();
    assert_eq!(rows, ["baton"]);
    let skipped = skipped(&doc);
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0].get("transport").str(), "dbus");
    assert_eq!(skipped[0].get("placement").str(), "unpinned");
    assert!(skipped[0].get("reason").str().contains("dbus-daemon is not installed"));
}

/// The round-trip section's skipped entries.
fn skipped(doc: &Json) -> Vec<&Json> {
    doc.get("skipped").arr().iter().filter(|s| s.get("section").str() == "round-trip").collect()
}

/// A quick round-trip section of 150 round trips (100 for 1 MiB), 2 runs:
/// a row for every transport, placement and size, or a reason why not.
fn check(doc: &Json) {
    assert_eq!(doc.get("schema").str(), "baton-bench/3");
    assert_eq!(doc.get("iterations").num(), 150.0);
    let sizes: Vec<u64> = doc.get("sizes").arr().iter().map(|s| s.num() as u64).collect();
    assert_eq!(sizes, QUICK_SIZES);
    let per_run = doc.get("bytes_per_run").num() as u64;
    let memcpy = doc.get("memcpy").arr();
    assert_eq!(memcpy.iter().map(|m| m.get("size").num() as u64).collect::<Vec<_>>(), QUICK_SIZES);
    assert!(memcpy.iter().all(|m| m.get("gb_per_sec").num() > 0.0), "memcpy: {memcpy:?}");
    let mut seen = Vec::new();
    for row in doc.get("rows").arr() {
        let (transport, placement, size) =
            (row.get("transport").str(), row.get("placement").str(), row.get("size").num());
        let what = format!("{transport} {placement} {size}");
        seen.push((transport, placement, size as u64));
        let mode = match transport {
            "baton" => "default",
            "spin" | "baton-spin" => "spin",
            _ => "blocking",
        };
        assert_eq!(row.get("mode").str(), mode, "{what}");
        // Big messages make fewer round trips, by the documented rule.
        let n = 150.min((per_run / (2 * size as u64)).max(100));
        assert_eq!(row.get("n").num(), n as f64, "{what}");
        assert_eq!(row.get("runs").num(), 2.0, "{what}");
        check_latency(row, &what);
        for key in ["round_trips_per_sec", "cpu_ns_per_round_trip", "baton_p50_ratio", "gb_per_sec", "memcpy_ratio"] {
            assert!(row.get(key).num() > 0.0, "{what}: {key} is not positive");
        }
        let gbs = 2.0 * size / row.get("p50_ns").num();
        assert!((row.get("gb_per_sec").num() / gbs - 1.0).abs() < 0.01, "{what}: gb_per_sec");
        let pinned = placement != "unpinned";
        assert_eq!(row.get("server_cpu").is_num(), pinned);
        assert_eq!(row.get("client_cpu").is_num(), pinned);
    }
    let skipped = skipped(doc);
    for s in &skipped {
        assert!(!s.get("reason").str().is_empty(), "skipped without a reason: {s:?}");
    }
    let is_skipped = |transport: &str, placement: &str, size: u64| {
        skipped.iter().any(|s| {
            s.get("placement").str() == placement
                && (s.get("transport") == &Json::Null || s.get("transport").str() == transport)
                && (s.get("size") == &Json::Null || s.get("size").num() as u64 == size)
        })
    };
    let mut expected = 0;
    for placement in ["same-cpu", "cross-cpu", "unpinned"] {
        for size in QUICK_SIZES {
            for transport in TRANSPORTS {
                let row = seen.contains(&(transport, placement, size));
                let skip = is_skipped(transport, placement, size);
                assert!(row != skip, "{transport} {placement} {size}: row {row}, skipped {skip}");
                expected += usize::from(row);
            }
            // Two spinners on one CPU would measure the scheduler.
            assert!(is_skipped("spin", "same-cpu", size));
        }
    }
    assert_eq!(seen.len(), expected, "duplicate rows");
    // Only seqpacket may refuse a size, and only a big one; dbus may be
    // missing its daemon.
    for s in skipped.iter().filter(|s| s.get("transport") != &Json::Null && s.get("transport").str() != "spin") {
        if s.get("transport").str() == "dbus" {
            assert!(s.get("reason").str().contains("dbus-daemon is not installed"), "{s:?}");
            continue;
        }
        assert_eq!(s.get("transport").str(), "seqpacket", "{s:?}");
        assert!(s.get("size").num() > 65536.0, "{s:?}");
    }
}

/// Latencies positive and in order.
fn check_latency(row: &Json, what: &str) {
    let lat: Vec<f64> = ["p50_ns", "p99_ns", "p999_ns", "max_ns"].iter().map(|k| row.get(k).num()).collect();
    assert!(lat[0] > 0.0 && lat.windows(2).all(|w| w[0] <= w[1]), "{what}: {lat:?}");
}

/// The load section: its four rows and its `load` object if it `ran`,
/// else a skipped entry with a reason and no rows.
fn check_load(doc: &Json, ran: bool) {
    let rows: Vec<&Json> = doc.get("rows").arr().iter().filter(|r| r.get("mode").str().starts_with("rt-")).collect();
    let skipped: Vec<&Json> = doc.get("skipped").arr().iter().filter(|s| s.get("section").str() == "load").collect();
    if !ran {
        assert!(rows.is_empty(), "load rows without SCHED_FIFO");
        assert_eq!(*doc.get("load"), Json::Null);
        assert_eq!(skipped.len(), 1, "the load section is neither run nor reported skipped");
        let reason = skipped[0].get("reason").str();
        assert!(reason.contains("SCHED_FIFO"), "unhelpful reason {reason:?}");
        return;
    }
    assert!(skipped.is_empty(), "load section skipped although SCHED_FIFO works: {skipped:?}");
    let load = doc.get("load");
    assert_eq!(load.get("rt_policy").str(), "SCHED_FIFO");
    assert_eq!(load.get("rt_priority").num(), f64::from(RT_PRIORITY));
    assert_eq!(load.get("rt_calls").num(), 300.0);
    assert_eq!(load.get("flooders").num(), 8.0);
    for key in ["rt_period_ns", "server_work_rounds", "server_work_ns", "goal_ratio"] {
        assert!(load.get(key).num() > 0.0, "load: {key} is not positive");
    }
    for key in ["baton_p999_ratio", "seqpacket_p999_ratio"] {
        assert!(load.get(key).num() > 0.0, "load: {key} is not positive");
    }
    // Measured, whichever way it went.
    assert!(matches!(load.get("goal_met"), Json::Bool(_)));
    assert!(matches!(load.get("socket_grew"), Json::Bool(_)));
    let mut seen = Vec::new();
    for row in rows {
        let (transport, mode) = (row.get("transport").str(), row.get("mode").str());
        seen.push((transport, mode));
        let what = format!("{transport} {mode}");
        assert_eq!(row.get("placement").str(), "unpinned");
        assert_eq!(row.get("n").num(), 300.0, "{what}");
        assert_eq!(row.get("runs").num(), 2.0, "{what}");
        check_latency(row, &what);
        let under_load = mode == "rt-under-load";
        assert_eq!(row.get("flooders").num(), if under_load { 8.0 } else { 0.0 }, "{what}");
        assert_eq!(row.get("flood_calls_per_sec").num() > 0.0, under_load, "{what}: flood_calls_per_sec");
        assert!(row.get("rt_cpu_ns_per_call").num() > 0.0, "{what}: rt_cpu_ns_per_call");
        assert!(row.get("p999_ratio_to_idle").num() > 0.0, "{what}: p999_ratio_to_idle");
    }
    seen.sort_unstable();
    let want =
        [("baton", "rt-idle"), ("baton", "rt-under-load"), ("seqpacket", "rt-idle"), ("seqpacket", "rt-under-load")];
    assert_eq!(seen, want);
}

#[test]
fn help_documents_the_json_schema() {
    let out = Command::new(BATON).args(["bench", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let words = [
        "--quick",
        "--iterations",
        "--json",
        "--section",
        "--rt-calls",
        "--size",
        "baton-bench/3",
        "p999_ns",
        "cpu_ns_per_round_trip",
        "memcpy_ratio",
        "gb_per_sec",
        "bytes_per_run",
        "eventfd",
        "SOCK_STREAM",
        "TCP_NODELAY",
        "rt-under-load",
        "flood_calls_per_sec",
        "p999_ratio_to_idle",
        "SCHED_FIFO",
        "iceoryx2",
        "dbus-daemon",
    ];
    for word in words {
        assert!(help.contains(word), "`baton bench --help` does not mention {word}");
    }
}

#[test]
fn throughput_scale_and_memory_sections_write_every_figure() {
    let args = ["--quick", "--section", "throughput,scale,memory", "-n", "200", "--warmup", "20", "--runs", "1"];
    let doc = bench("sections", &[&args[..], &["--throughput-ms", "300"]].concat(), |_| {});
    let sections: Vec<&str> = doc.get("sections").arr().iter().map(Json::str).collect();
    assert_eq!(sections, ["throughput", "scale", "memory"]);
    assert!(doc.get("skipped").arr().is_empty());
    let rows =
        |mode: &str| -> Vec<&Json> { doc.get("rows").arr().iter().filter(|r| r.get("mode").str() == mode).collect() };

    let t = doc.get("throughput");
    assert_eq!((t.get("clients").num(), t.get("server_threads").num()), (4.0, 2.0));
    assert_eq!(t.get("measure_ns").num(), 300e6);
    assert!(t.get("baton_to_seqpacket").num() > 0.0);
    assert!(matches!(t.get("goal_met"), Json::Bool(_)));
    let throughput = rows("throughput");
    let transports: Vec<&str> = throughput.iter().map(|r| r.get("transport").str()).collect();
    assert_eq!(transports, ["baton", "seqpacket"]);
    for row in throughput {
        let what = format!("throughput {}", row.get("transport").str());
        assert!(row.get("n").num() > 0.0, "{what}: no calls");
        check_latency(row, &what);
        assert!(row.get("calls_per_sec").num() > 0.0 && row.get("cpu_ns_per_call").num() > 0.0, "{what}");
        let clients = row.get("clients").arr();
        assert_eq!(clients.len(), 4, "{what}");
        for c in clients {
            assert!(c.get("p50_ns").num() > 0.0 && c.get("p99_ns").num() >= c.get("p50_ns").num(), "{what}: {c:?}");
            assert!(c.get("calls_per_sec").num() > 0.0, "{what}: {c:?}");
        }
    }

    let s = doc.get("scale");
    let connected: Vec<f64> = s.get("connected").arr().iter().map(Json::num).collect();
    assert_eq!(connected, [1.0, 100.0, 1000.0]);
    assert_eq!(s.get("goal_connected").num(), 1000.0);
    assert!(s.get("baton_p50_ratio").num() > 0.0 && s.get("seqpacket_p50_ratio").num() > 0.0);
    assert!(matches!(s.get("goal_met"), Json::Bool(_)));
    let queued = s.get("queued").arr();
    assert_eq!(queued.iter().map(|q| q.get("transport").str()).collect::<Vec<_>>(), ["baton", "seqpacket"]);
    for q in queued {
        assert_eq!(q.get("queued").num(), 1000.0);
        for key in ["drain_ns_per_message", "probe_ns", "server_cpu_ns_per_message", "server_cpu_ns_per_disconnect"] {
            assert!(q.get(key).num() > 0.0, "queued: {key} is not positive: {q:?}");
        }
        assert!((0.0..=1000.0).contains(&q.get("probe_position").num()), "{q:?}");
    }
    let mut seen = Vec::new();
    for row in rows("scale") {
        let (transport, c) = (row.get("transport").str(), row.get("connected").num());
        seen.push((transport, c as u32));
        let what = format!("scale {transport} {c}");
        assert_eq!(row.get("n").num(), 200.0, "{what}");
        check_latency(row, &what);
        assert!(row.get("round_trips_per_sec").num() > 0.0 && row.get("p50_ratio_to_one").num() > 0.0, "{what}");
    }
    let want =
        [("baton", 1), ("baton", 100), ("baton", 1000), ("seqpacket", 1), ("seqpacket", 100), ("seqpacket", 1000)];
    assert_eq!(seen, want);

    let m = doc.get("memory");
    assert_eq!(m.get("connections").num(), 1000.0);
    let (len, header) = (m.get("segment_bytes").num(), m.get("segment_header_bytes").num());
    let (slot, slots) = (m.get("slot_bytes").num(), m.get("slots_per_connection").num());
    assert!(header > 0.0 && slot >= m.get("inline_bytes").num() && slots >= 1.0, "{m:?}");
    assert!(len >= header + slots * slot, "the segment is smaller than its parts: {m:?}");
    assert!(m.get("server_base").get("rss_bytes").num() > 0.0);
    for key in ["idle_per_connection", "used_per_connection"] {
        let per = m.get(key);
        // Each connection holds at least a descriptor and its mapped header page.
        assert!(per.get("fds").num() >= 1.0 && per.get("rss_bytes").num() > 0.0, "{key}: {per:?}");
    }
    assert!(matches!(m.get("goal_met"), Json::Bool(_)));
}

#[test]
fn sections_without_their_transports_are_reported_skipped() {
    let args = ["--quick", "--section", "throughput,scale,memory", "--transport", "futex"];
    let doc = bench("no-transport", &args, |_| {});
    for key in ["throughput", "scale", "memory"] {
        assert_eq!(*doc.get(key), Json::Null, "{key} ran without its transports");
    }
    let skipped: Vec<(&str, &str)> =
        doc.get("skipped").arr().iter().map(|s| (s.get("section").str(), s.get("reason").str())).collect();
    assert_eq!(skipped.iter().map(|s| s.0).collect::<Vec<_>>(), ["throughput", "scale", "memory"]);
    assert!(skipped.iter().all(|s| s.1.contains("--transport")), "{skipped:?}");
}

#[test]
fn help_documents_the_throughput_scale_and_memory_sections() {
    let out = Command::new(BATON).args(["bench", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for word in [
        "--throughput-ms",
        "throughput",
        "calls_per_sec",
        "baton_to_seqpacket",
        "p50_ratio_to_one",
        "drain_ns_per_message",
        "segment_bytes",
        "idle_per_connection",
    ] {
        assert!(help.contains(word), "`baton bench --help` does not mention {word}");
    }
}

#[test]
fn read_section_measures_every_way() {
    let doc = bench("read", &["--section", "read", "-n", "200", "--warmup", "20", "--runs", "2"], |_| {});
    assert_eq!(doc.get("sections").arr().iter().map(Json::str).collect::<Vec<_>>(), ["read"]);
    let r = doc.get("read");
    let fuse_ran = check_read(r, 200.0, 2.0);
    // Where FUSE is there (CI runs as root with /dev/fuse), it must run.
    if Path::new("/dev/fuse").exists() && rustix::process::geteuid().is_root() {
        assert!(fuse_ran, "FUSE did not run: {:?}", r.get("skipped"));
    }
}

#[test]
fn read_section_without_fuse_reports_it_skipped() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("not root: cannot run the bench as a user without /dev/fuse; nothing to check");
        return;
    }
    // nobody may not open /dev/fuse (0600 root), nor mount.
    let args = ["--section", "read", "-n", "100", "--warmup", "10", "--runs", "1"];
    let doc = bench("read-nobody", &args, |cmd| {
        use std::os::unix::process::CommandExt;
        cmd.uid(65534).gid(65534);
    });
    let r = doc.get("read");
    assert!(!check_read(r, 100.0, 1.0), "FUSE ran as nobody");
    let top: Vec<&Json> = doc.get("skipped").arr().iter().filter(|s| s.get("section").str() == "read").collect();
    assert_eq!(top.len(), 2, "{top:?}");
    assert!(top[0].get("reason").str().starts_with("fuse: "), "{top:?}");
    assert!(top[1].get("reason").str().starts_with("fuse-floor: "), "{top:?}");
    assert!(top.iter().all(|t| t.get("size").num() == 4096.0));
}

/// Checks the `read` object of a run of `n` reads per way and `runs` runs:
/// direct and tmpfs ran, both FUSE ways ran or were skipped with a reason.
/// Returns whether FUSE ran.
fn check_read(r: &Json, n: f64, runs: f64) -> bool {
    assert_eq!(r.get("size").num(), 4096.0);
    assert_eq!(r.get("iterations").num(), n);
    assert_eq!(r.get("runs").num(), runs);
    assert!(r.get("warmup").is_num() && r.get("file_bytes").num() >= 4096.0);
    let ways: Vec<&str> = r.get("ways").arr().iter().map(|w| w.get("way").str()).collect();
    let skipped: Vec<&str> = r.get("skipped").arr().iter().map(|s| s.get("way").str()).collect();
    for s in r.get("skipped").arr() {
        assert!(!s.get("reason").str().is_empty());
    }
    let fuse_ran = ways.contains(&"fuse");
    assert_eq!(ways, if fuse_ran { vec!["direct", "fuse", "fuse-floor", "tmpfs"] } else { vec!["direct", "tmpfs"] });
    assert_eq!(skipped, if fuse_ran { vec![] } else { vec!["fuse", "fuse-floor"] });
    for w in r.get("ways").arr() {
        let what = w.get("way").str();
        assert_eq!(w.get("n").num(), n, "{what}");
        assert_eq!(w.get("runs").num(), runs, "{what}");
        check_latency(w, what);
        assert!(w.get("reads_per_sec").num() > 0.0, "{what}");
        assert!(w.get("cpu_ns_per_read").num() > 0.0, "{what}");
        assert!(w.get("tmpfs_p50_ratio").num() > 0.0, "{what}");
    }
    assert!(r.get("direct_to_tmpfs").num() > 0.0);
    assert_eq!(r.get("fuse_to_tmpfs").is_num(), fuse_ran);
    assert_eq!(r.get("fuse_to_floor").is_num(), fuse_ran);
    assert_eq!(r.get("goal_ratio").num(), 2.0);
    assert!(matches!(r.get("goal_met"), Json::Bool(_)));
    fuse_ran
}

#[test]
fn help_documents_the_read_section() {
    let out = Command::new(BATON).args(["bench", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for word in
        ["read", "tmpfs_p50_ratio", "cpu_ns_per_read", "reads_per_sec", "direct_to_tmpfs", "fuse_to_floor", "/dev/fuse"]
    {
        assert!(help.contains(word), "`baton bench --help` does not mention {word}");
    }
}

/// Just enough JSON to read the bench's output.
#[derive(Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(BTreeMap<String, Json>),
}

impl Json {
    fn parse(text: &str) -> Json {
        let mut p = Parser { s: text.as_bytes(), i: 0 };
        let v = p.value();
        p.ws();
        assert_eq!(p.i, p.s.len(), "trailing bytes after the JSON document");
        v
    }

    fn get(&self, key: &str) -> &Json {
        match self {
            Json::Obj(m) => m.get(key).unwrap_or_else(|| panic!("no {key:?} in {self:?}")),
            _ => panic!("{self:?} is not an object"),
        }
    }

    fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            _ => panic!("{self:?} is not a string"),
        }
    }

    fn num(&self) -> f64 {
        match self {
            Json::Num(x) => *x,
            _ => panic!("{self:?} is not a number"),
        }
    }

    fn is_num(&self) -> bool {
        matches!(self, Json::Num(_))
    }

    fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(v) => v,
            _ => panic!("{self:?} is not an array"),
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        let hit = self.s.get(self.i) == Some(&c);
        self.i += usize::from(hit);
        hit
    }

    fn expect(&mut self, c: u8) {
        assert!(self.eat(c), "expected {:?} at byte {}", c as char, self.i);
    }

    fn value(&mut self) -> Json {
        self.ws();
        let rest = &self.s[self.i..];
        for (word, v) in [("null", Json::Null), ("true", Json::Bool(true)), ("false", Json::Bool(false))] {
            if rest.starts_with(word.as_bytes()) {
                self.i += word.len();
                return v;
            }
        }
        match rest.first() {
            Some(b'{') => Json::Obj(self.list(b'{', b'}', |p| {
                let k = p.string();
                p.expect(b':');
                (k, p.value())
            })),
            Some(b'[') => Json::Arr(self.list(b'[', b']', Parser::value)),
            Some(b'"') => Json::Str(self.string()),
            _ => {
                let len = rest.iter().take_while(|c| c.is_ascii_digit() || b"+-.eE".contains(c)).count();
                let num = std::str::from_utf8(&rest[..len]).unwrap();
                self.i += len;
                Json::Num(num.parse().unwrap_or_else(|_| panic!("bad number {num:?} at byte {}", self.i)))
            }
        }
    }

    fn list<T, C: FromIterator<T>>(&mut self, open: u8, close: u8, mut item: impl FnMut(&mut Self) -> T) -> C {
        self.expect(open);
        let mut items = Vec::new();
        if !self.eat(close) {
            loop {
                items.push(item(self));
                if self.eat(close) {
                    break;
                }
                self.expect(b',');
            }
        }
        items.into_iter().collect()
    }

    fn string(&mut self) -> String {
        self.expect(b'"');
        let mut out = Vec::new();
        loop {
            let c = self.s[self.i];
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).unwrap(),
                b'\\' => {
                    let e = self.s[self.i];
                    self.i += 1;
                    match e {
                        b'u' => {
                            let hex = std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
                            let ch = char::from_u32(u32::from_str_radix(hex, 16).unwrap()).unwrap();
                            out.extend_from_slice(ch.to_string().as_bytes());
                            self.i += 4;
                        }
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        other => out.push(other),
                    }
                }
                c => out.push(c),
            }
        }
    }
}
