//! `baton bench` end to end: a tiny run of every transport and placement,
//! checked for completeness and sane figures (never for speed).

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BATON: &str = env!("CARGO_BIN_EXE_baton");

#[test]
fn quick_bench_writes_every_row() {
    let json = std::env::temp_dir().join(format!("baton-bench-test-{}.json", std::process::id()));
    let args = ["bench", "--quick", "-n", "200", "--warmup", "20", "--runs", "2", "--json"];
    let mut child = Command::new(BATON).args(args).arg(&json).stdout(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("baton bench did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "baton bench failed: {status}");
    let text = std::fs::read_to_string(&json).unwrap();
    let _ = std::fs::remove_file(&json);
    check(&Json::parse(&text));
}

fn check(doc: &Json) {
    assert_eq!(doc.get("schema").str(), "baton-bench/1");
    assert_eq!(doc.get("iterations").num(), 200.0);
    let rows = doc.get("rows").arr();
    let skipped: Vec<&str> = doc.get("skipped").arr().iter().map(|s| s.get("placement").str()).collect();
    let mut seen = Vec::new();
    for row in rows {
        let (transport, placement) = (row.get("transport").str(), row.get("placement").str());
        seen.push((transport, placement));
        assert_eq!(row.get("mode").str(), "blocking");
        assert_eq!(row.get("size").num(), 64.0);
        assert_eq!(row.get("n").num(), 200.0);
        assert_eq!(row.get("runs").num(), 2.0);
        let lat: Vec<f64> = ["p50_ns", "p99_ns", "p999_ns", "max_ns"].iter().map(|k| row.get(k).num()).collect();
        assert!(lat[0] > 0.0 && lat.windows(2).all(|w| w[0] <= w[1]), "{transport} {placement}: {lat:?}");
        for key in ["round_trips_per_sec", "cpu_ns_per_round_trip", "baton_p50_ratio"] {
            assert!(row.get(key).num() > 0.0, "{transport} {placement}: {key} is not positive");
        }
        let pinned = placement != "unpinned";
        assert_eq!(row.get("server_cpu").is_num(), pinned);
        assert_eq!(row.get("client_cpu").is_num(), pinned);
    }
    for placement in ["same-cpu", "cross-cpu", "unpinned"] {
        if skipped.contains(&placement) {
            continue;
        }
        for transport in ["baton", "futex", "pipe"] {
            assert!(seen.contains(&(transport, placement)), "no row for {transport} {placement}");
        }
    }
    assert_eq!(seen.len() + 3 * skipped.len(), 9);
}

#[test]
fn help_documents_the_json_schema() {
    let out = Command::new(BATON).args(["bench", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for word in ["--quick", "--iterations", "--json", "baton-bench/1", "p999_ns", "cpu_ns_per_round_trip"] {
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
