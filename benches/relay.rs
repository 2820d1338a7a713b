//! `cargo bench --bench relay`: relay throughput from the HTTP ingress to PUBACK, next
//! to a plain rumqttc QoS 1 publisher against the same mosquitto in the same run; the
//! agent's idle and peak RSS; the stripped release binary's size. Prints numbers only;
//! nothing is asserted (these machines are noisy).

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const EVENTS: usize = 20_000;
const PAYLOAD: usize = 200;

/// Rounds of (plain publisher, agent) run alternately; medians are reported, so a noisy
/// neighbour on the machine skews one round, not the result.
const ROUNDS: usize = 3;

fn main() {
    let dir = temp_dir("bench");
    let broker = Mosquitto::start(&dir);
    for (label, batch, clients) in [("batches of 100, 4 clients", 100, 4), ("one event per request, 8 clients", 1, 8)] {
        let events = if batch == 1 { EVENTS / 4 } else { EVENTS };
        let (mut plain, mut agent_rates, mut cpu, mut idle, mut peak) = (vec![], vec![], vec![], 0, 0);
        for round in 0..ROUNDS {
            plain.push(plain_publisher(broker.port, events));
            let run_dir = dir.join(format!("{}-{round}", label.replace([' ', ','], "_")));
            std::fs::create_dir_all(&run_dir).expect("dir");
            let http = free_port();
            let extra = std::env::var("BENCH_MQTT").unwrap_or_default();
            let config = write_config(&run_dir, "bench", broker.port, http, &extra, "");
            let text = std::fs::read_to_string(&config).expect("config").replace("\"debug\"", "\"info\"");
            std::fs::write(&config, text).expect("config");
            let agent = Agent::start(&config, http);
            let pid = agent.pid().expect("pid");
            std::thread::sleep(Duration::from_millis(500));
            idle = idle.max(rss_kb(pid, "VmRSS"));
            let cpu_before = cpu_secs(pid);
            agent_rates.push(relay(http, events, batch, clients));
            cpu.push((cpu_secs(pid) - cpu_before) / events as f64 * 1e6);
            peak = peak.max(rss_kb(pid, "VmHWM"));
        }
        let (p, a) = (median(&mut plain), median(&mut agent_rates));
        println!("{label} ({events} events of ~{PAYLOAD} B, median of {ROUNDS} alternating rounds):");
        println!("  plain rumqttc QoS 1 publisher, same broker: {p:>9.0} msg/s");
        println!("  agent, HTTP ingress to PUBACK:              {a:>9.0} events/s = {:.0} % of plain", a / p * 100.0);
        println!("  agent CPU per event: {:.1} us; RSS idle {idle} KB, peak {peak} KB", median(&mut cpu));
    }
    let size = std::fs::metadata(env!("CARGO_BIN_EXE_telbridge")).map(|m| m.len()).unwrap_or(0);
    println!("telbridge binary (bench profile = release, stripped): {size} bytes");
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Publishes `n` QoS 1 messages and waits for every PUBACK; returns messages/s.
fn plain_publisher(port: u16, n: usize) -> f64 {
    let mut opts = rumqttc::MqttOptions::new("bench-plain", "127.0.0.1", port);
    opts.set_inflight(64);
    let (client, mut conn) = rumqttc::Client::new(opts, 128);
    let payload = vec![b'x'; PAYLOAD];
    let start = Instant::now();
    std::thread::spawn(move || {
        for _ in 0..n {
            client.publish("bench/plain", rumqttc::QoS::AtLeastOnce, false, payload.clone()).expect("publish");
        }
    });
    let mut acked = 0;
    for event in conn.iter() {
        if let Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) = event {
            acked += 1;
            if acked == n {
                break;
            }
        }
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Posts `n` events from `clients` threads in requests of `batch`; waits until the
/// agent counted them all as acknowledged by the broker; returns events/s.
fn relay(http: u16, n: usize, batch: usize, clients: usize) -> f64 {
    let base = counter(http, "telbridge_events_out_total");
    let start = Instant::now();
    let per_client = n / clients;
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            std::thread::spawn(move || {
                let pad = "x".repeat(PAYLOAD - 60);
                for b in 0..per_client / batch {
                    let body: Vec<Value> = (0..batch)
                        .map(|i| json!({"source": format!("bench/{c}"), "type": "bench.event", "data": {"i": b * batch + i, "pad": pad}}))
                        .collect();
                    let reply = common::http::post_json(http, "/v1/events", Some(TOKEN), &Value::Array(body)).expect("post");
                    assert_eq!(reply.status, 200);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client");
    }
    let total = (per_client / batch * batch * clients) as u64;
    wait_for(Duration::from_secs(300), "all events acknowledged", || {
        (counter(http, "telbridge_events_out_total") >= base + total).then_some(())
    });
    total as f64 / start.elapsed().as_secs_f64()
}

fn counter(http: u16, name: &str) -> u64 {
    let body = common::http::get(http, "/metrics").map(|r| r.body).unwrap_or_default();
    String::from_utf8_lossy(&body)
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn rss_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

/// User + system CPU seconds a process has used.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: f64 = fields.get(11..13).map(|f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum()).unwrap_or(0.0);
    ticks / 100.0
}
