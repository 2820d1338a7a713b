//! End to end: the store's bound. With the uplink down and the store full, telemetry is
//! evicted, critical events are refused with 503 (never dropped), an alarm is raised,
//! and everything accepted is delivered once the broker is reachable.

mod common;

use common::*;
use serde_json::json;
use std::time::Duration;

#[test]
fn a_full_store_evicts_telemetry_refuses_critical_events_and_loses_none() {
    let dir = temp_dir("full");
    // The recorder's session is kept by the broker while it is down, so nothing the agent
    // publishes once it is back can slip past the recorder.
    let mut broker = Mosquitto::start(&dir);
    let mqtt_port = broker.port;
    let rec = Recorder::start(mqtt_port, "telbridge/v1/full/#");
    broker.stop();
    let http = free_port();
    let config = write_config(&dir, "full", mqtt_port, http, "", "");
    let text = std::fs::read_to_string(&config).expect("config").replace("[store]\n", "[store]\nmax_bytes = 65536\n");
    std::fs::write(&config, text).expect("config");
    let agent = Agent::start(&config, http);
    let pad = "x".repeat(900);
    for i in 0..20 {
        let r = agent.post_events(
            &json!({"source": "app/m", "type": "stats.snapshot", "class": "telemetry", "data": {"i": i, "pad": pad}}),
        );
        assert_eq!(r.status, 200);
    }
    let mut accepted = Vec::new();
    let mut refusal = None;
    for i in 0..200 {
        let r = agent.post_events(&json!({"source": "app/m", "type": "sms.received", "data": {"i": i, "pad": pad}}));
        match r.status {
            200 => accepted.push(r.json()["events"][0]["id"].as_str().expect("id").to_string()),
            503 => {
                refusal = Some(r);
                break;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    let refusal = refusal.expect("the store filled up");
    assert_eq!(refusal.json()["error"], "store_full");
    assert_eq!(refusal.header("retry-after").as_deref(), Some("30"));
    assert!(accepted.len() > 40, "critical events took the telemetry's room: {}", accepted.len());
    let metrics = String::from_utf8(common::http::get(http, "/metrics").expect("metrics").body).expect("utf8");
    assert!(metrics.contains("telbridge_store_full 1"), "{metrics}");
    let evicted: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("telbridge_store_evicted_total "))
        .and_then(|v| v.parse().ok())
        .expect("evicted");
    assert!(evicted >= 15, "telemetry evicted oldest-first to make room: {evicted}");

    broker.resume();
    let seen = rec.wait_until(Duration::from_secs(60), "every accepted critical event", |s| {
        let ids: Vec<String> = s
            .iter()
            .filter(|m| m.topic.ends_with("sms.received"))
            .map(|m| m.json()["id"].as_str().unwrap_or("").to_string())
            .collect();
        accepted.iter().all(|a| ids.contains(a))
    });
    let _ = seen;
    rec.wait_until(Duration::from_secs(60), "the store.full alarm", |s| {
        s.iter().any(|m| m.topic.ends_with("/evt/agent/store.full"))
    });
    rec.wait_until(Duration::from_secs(60), "the recovery", |s| {
        s.iter().any(|m| m.topic.ends_with("/evt/agent/store.recovered"))
    });
    assert_eq!(agent.post_events(&json!({"source": "app/m", "type": "sms.received"})).status, 200, "room again");
}
