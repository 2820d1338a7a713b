//! The memory reading a body takes — into serde_json values, and as the handlers read
//! theirs (the ingest's events, a GoIP push, a vendor callback) — measured against the bound
//! the HTTP server reserves for it before a handler runs
//! (`telbridge::http::parse_cost::parse_bound`).
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
        "events read by the ingest" => format!("[{}]", vec![event; 1000].join(",")),
        "a GoIP form carrying JSON" => {
            format!("data={}", percent_encoded(&format!(r#"{{"type":"x","d":{}}}"#, list(r#"{"a":0}"#))))
        }
        "a GoIP form after a stray quote" => {
            format!("x=%22&type=recv-sms&sms={}", percent_encoded(&list(r#"{"a":0}"#)))
        }
        "a GoIP push of fields" => format!("type=recv-sms&sms_num=1&{}", vec!["a=[0]"; (1 << 20) / 6].join("&")),
        "a callback form of many pairs" => (0..100_000).map(|i| format!("k{i}=")).collect::<Vec<_>>().join("&"),
        "a callback of JSON members" => keys(&mut (0..80_000)),
        other => panic!("no shape {other}"),
    }
}

/// `text` with every byte but letters and digits written as `%XX`.
fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// Reads `body` as the handler of `shape` does.
fn read(shape: &str, body: &[u8]) {
    if shape.contains("ingest") {
        drop(telbridge::http::ingest::parse_events(body));
        return;
    }
    #[cfg(feature = "goip")]
    if shape.contains("GoIP") {
        drop(telbridge::connectors::goip::protocol::push::parse_push(body));
        return;
    }
    #[cfg(feature = "callbacks")]
    if shape.contains("callback") {
        // A callback's handler keeps every field it does not know under `extra`.
        let kind = if shape.contains("form") { "application/x-www-form-urlencoded" } else { "application/json" };
        let fields = telbridge::connectors::callbacks::decode("", Some(kind), body).expect("decoded");
        let extra = fields.extra(&[]);
        drop((fields, extra));
        return;
    }
    drop(serde_json::from_slice::<serde_json::Value>(body).expect("json"));
}

/// The shapes measured (those read by a connector when it is built in).
fn shapes() -> Vec<&'static str> {
    let mut shapes = vec![
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
        "events read by the ingest",
    ];
    if cfg!(feature = "goip") {
        shapes.extend(["a GoIP form carrying JSON", "a GoIP form after a stray quote", "a GoIP push of fields"]);
    }
    if cfg!(feature = "callbacks") {
        shapes.extend(["a callback form of many pairs", "a callback of JSON members"]);
    }
    shapes
}

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
    read(&shape, body.as_bytes());
    let peak = status_bytes("VmHWM:");
    println!("TAKEN {}", peak.saturating_sub(before));
}

#[test]
fn reading_a_body_never_takes_more_memory_than_its_bound() {
    // Under qemu-user, the peak is the emulator's.
    if std::env::var("TELBRIDGE_TEST_EXEC_WRAPPER").is_ok_and(|w| !w.is_empty()) {
        return;
    }
    let me = std::env::current_exe().expect("exe");
    for shape in shapes() {
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
        // The ingest moves its values where it keeps them; other handlers may copy them once.
        let copies = if shape.contains("ingest") { 1 } else { telbridge::http::parse_cost::VALUE_COPIES };
        let bound = parse_bound(body.as_bytes(), copies);
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
