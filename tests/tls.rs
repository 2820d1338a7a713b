//! End to end over TLS: a custom CA and a client certificate (mutual TLS) against
//! mosquitto, with rustls on the ring provider.

mod common;

use common::*;
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

/// Mosquitto with a plain listener (for the recorder) and a TLS listener that requires a
/// client certificate signed by the test CA. Returns the broker and the TLS port.
fn tls_broker(dir: &std::path::Path, files: &tls::TlsFiles) -> (Mosquitto, u16) {
    let tls_port = free_port();
    let extra = format!(
        "listener {tls_port} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate true\n",
        files.ca.display(),
        files.server_cert.display(),
        files.server_key.display()
    );
    (Mosquitto::start_with(dir, free_port(), &extra), tls_port)
}

#[test]
fn mutual_tls_with_a_custom_ca_relays_events() {
    let dir = temp_dir("mtls");
    let files = tls::make(&dir);
    let (broker, tls_port) = tls_broker(&dir, &files);
    let rec = Recorder::start(broker.port, "telbridge/v1/mtls/#");
    let http = free_port();
    let tls = format!(
        "[mqtt.tls]\nenabled = true\nca_file = \"{}\"\nclient_cert_file = \"{}\"\nclient_key_file = \"{}\"\n",
        files.ca.display(),
        files.client_cert.display(),
        files.client_key.display()
    );
    let config = write_config(&dir, "mtls", tls_port, http, &tls, "");
    let agent = Agent::start(&config, http);
    assert_eq!(agent.post_events(&json!({"source": "app/tls", "type": "secure.event", "data": {"n": 1}})).status, 200);
    let seen = rec.wait_until(WAIT, "the event over TLS", |s| s.iter().any(|m| m.topic.ends_with("secure.event")));
    assert!(seen.iter().any(|m| m.topic.ends_with("/status") && m.json()["state"] == "online"));
}

#[test]
fn without_its_client_certificate_the_agent_is_refused_and_keeps_its_events() {
    let dir = temp_dir("nocert");
    let files = tls::make(&dir);
    let (_broker, tls_port) = tls_broker(&dir, &files);
    let http = free_port();
    let tls = format!("[mqtt.tls]\nenabled = true\nca_file = \"{}\"\n", files.ca.display());
    let agent = Agent::start(&write_config(&dir, "nocert", tls_port, http, &tls, ""), http);
    assert_eq!(agent.post_events(&json!({"source": "app/tls", "type": "kept"})).status, 200);
    let metrics = wait_for(WAIT, "failed TLS connects", || {
        let body = common::http::get(http, "/metrics").ok()?.body;
        let text = String::from_utf8_lossy(&body).to_string();
        text.lines().any(|l| l.starts_with("telbridge_mqtt_errors_total ") && !l.ends_with(" 0")).then_some(text)
    });
    assert!(metrics.contains("telbridge_mqtt_connected 0"), "{metrics}");
    let health = common::http::get(http, "/healthz").expect("healthz").json();
    assert_eq!(health["mqtt_connected"], false);
    assert!(health["store_rows"].as_u64().is_some_and(|n| n >= 2), "events stay in the store: {health}");
}
