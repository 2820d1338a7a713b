//! The memory serde_json takes to read a body, measured against the bound the HTTP server
//! reserves for it before a handler reads it (`telbridge::http::parse_cost::parse_bound`).
//!
//! Each body is read in a process of its own (this test binary, started again for one
//! shape): what reading it took is the growth of the process's peak resident memory.

use std::time::Instant;
use telbridge::http::parse_cost::parse_bound;

/// The bodies measured, about 1 MiB each (`http.max_body_bytes`' default): the shapes that
/// take the most per byte, and ordinary events.
fn body(shape: &str) -> String {
    let event = r#"{"source":"pbx/main","type":"cdr.new","class":"critical","dedup_key":"cdr-991","data":{"caller":"+8613800138000","callee":"8001","start":"2026-11-22T09:23:28Z","seconds":182,"trunk":"sip-1","tags":["in","vip"],"cost":0.42}}"#;
    let list = |item: &str| format!("[{}]", vec![item; (1 << 20) / (item.len() + 1)].join(","));
    let keys = |order: &mut dyn Iterator<Item = usize>| {
        format!("{{{}}}", order.map(|i| format!("\"k{i:06}\":0")).collect::<Vec<_>>().join(","))
    };
    match shape {
        "objects in an array" => list(r#"{"a":0}"#),
        "numbers in an array" => list("0"),
        "arrays in an array" => list("[0]"),
        "pairs in an array" => list("[0,1,2,3,4]"),
        "empty strings in an array" => list(r#""""#),
        "twelve-member objects in an array" => {
            list(r#"{"a":0,"b":0,"c":0,"d":0,"e":0,"f":0,"g":0,"h":0,"i":0,"j":0,"k":0,"l":0}"#)
        }
        "keys in order" => keys(&mut (0..100_000)),
        "keys in reverse order" => keys(&mut (0..100_000).rev()),
        "nested objects in an array" => list(r#"{"a":{"b":{"c":[{"d":0}]}}}"#),
        "escaped strings" => list(r#""\u00e9\"\\x""#),
        "one long string" => format!("\"{}\"", "x".repeat(1 << 20)),
        "events" => list(event),
        other => panic!("no shape {other}"),
    }
}

const SHAPES: [&str; 12] = [
    "objects in an array",
    "numbers in an array",
    "arrays in an array",
    "pairs in an array",
    "empty strings in an array",
    "twelve-member objects in an array",
    "keys in order",
    "keys in reverse order",
    "nested objects in an array",
    "escaped strings",
    "one long string",
    "events",
];

/// A line of this process's `/proc/self/status`, in bytes.
fn status_bytes(key: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    let line = status.lines().find(|l| l.starts_with(key)).expect(key);
    let kib: usize = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("kB");
    kib * 1024
}

/// In the process started for one shape: reads its body, prints the peak growth.
#[test]
fn read_one_shape() {
    let Ok(shape) = std::env::var("PARSE_COST_SHAPE") else { return };
    let body = body(&shape);
    let before = status_bytes("VmRSS:");
    let value: serde_json::Value = serde_json::from_slice(body.as_bytes()).expect("json");
    let peak = status_bytes("VmHWM:");
    drop(value);
    println!("TAKEN {}", peak.saturating_sub(before));
}

#[test]
fn reading_a_body_never_takes_more_memory_than_its_bound() {
    // Under qemu-user, the peak is the emulator's.
    if std::env::var("TELBRIDGE_TEST_EXEC_WRAPPER").is_ok_and(|w| !w.is_empty()) {
        return;
    }
    let me = std::env::current_exe().expect("exe");
    for shape in SHAPES {
        let started = Instant::now();
        let out = std::process::Command::new(&me)
            .args(["--exact", "read_one_shape", "--nocapture", "--test-threads=1"])
            .env("PARSE_COST_SHAPE", shape)
            .output()
            .expect("run");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let taken: usize = stdout
            .lines()
            .find_map(|l| l.split_once("TAKEN ").map(|(_, n)| n))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("{shape}: {stdout}{}", String::from_utf8_lossy(&out.stderr)));
        let body = body(shape);
        let bound = parse_bound(body.as_bytes());
        println!(
            "{shape}: {} bytes took {taken} ({:.1}x), bound {bound} ({:.1}x), {:?}",
            body.len(),
            taken as f64 / body.len() as f64,
            bound as f64 / body.len() as f64,
            started.elapsed()
        );
        assert!(taken <= bound, "{shape}: reading {} bytes took {taken}, over the bound {bound}", body.len());
    }
}
