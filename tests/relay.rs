//! End to end: events posted to the HTTP ingress reach a real broker, across agent
//! crashes (SIGKILL), broker outages and both MQTT versions.

mod common;

use common::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

fn event(source: &str, i: usize) -> Value {
    json!({"source": source, "type": "test.event", "data": {"i": i}, "dedup_key": format!("{source}-{i}")})
}

/// The `data.i` of every test event seen, in arrival order, with its event id.
fn arrivals(seen: &[Seen], source: &str) -> Vec<(u64, String)> {
    seen.iter()
        .filter(|s| s.topic.ends_with(&format!("/evt/{source}/test.event")))
        .map(|s| s.json())
        .map(|v| (v["data"]["i"].as_u64().unwrap_or(u64::MAX), v["id"].as_str().unwrap_or("").to_string()))
        .collect()
}

#[test]
fn events_posted_to_the_ingress_arrive_on_the_broker_in_order() {
    let dir = temp_dir("fastpath");
    let mqtt = start_rumqttd();
    let http = free_port();
    let rec = Recorder::start(mqtt, "telbridge/v1/fast/#");
    let agent = Agent::start(&write_config(&dir, "fast", mqtt, http, "", ""), http);
    let mut ids = Vec::new();
    for chunk in 0..10 {
        let body: Vec<Value> = (0..10).map(|i| event("app/one", chunk * 10 + i)).collect();
        let reply = agent.post_events(&Value::Array(body));
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
        for e in reply.json()["events"].as_array().expect("events") {
            assert_eq!(e["status"], "stored");
            ids.push(e["id"].as_str().expect("id").to_string());
        }
    }
    let seen = rec.wait_until(WAIT, "100 events", |s| arrivals(s, "app/one").len() >= 100);
    let got = arrivals(&seen, "app/one");
    assert_eq!(got.iter().map(|(i, _)| *i).collect::<Vec<_>>(), (0..100).collect::<Vec<u64>>());
    assert_eq!(got.iter().map(|(_, id)| id.clone()).collect::<Vec<_>>(), ids);
    let envelope = seen.iter().find(|s| s.topic == "telbridge/v1/fast/evt/app/one/test.event").expect("event").json();
    assert_eq!((envelope["agent"].as_str(), envelope["source"].as_str()), (Some("fast"), Some("app/one")));
    assert!(envelope["ts"].as_str().is_some_and(|t| t.ends_with('Z')));
    // Delivered rows are deleted from the store.
    let health = common::http::get(http, "/healthz").expect("healthz").json();
    wait_for(WAIT, "store drained", || {
        (common::http::get(http, "/healthz").ok()?.json()["store_rows"] == 0).then_some(())
    });
    assert_eq!(health["mqtt_connected"], true);
}

#[test]
fn every_acknowledged_event_arrives_after_the_agent_is_killed_mid_flight() {
    let dir = temp_dir("crash");
    let broker = Mosquitto::start(&dir);
    let http = free_port();
    let rec = Recorder::start(broker.port, "telbridge/v1/crash/#");
    let mut agent = Agent::start(&write_config(&dir, "crash", broker.port, http, "", ""), http);
    const N: usize = 300;
    let mut acked: BTreeMap<usize, String> = BTreeMap::new();
    for i in 0..N {
        // Kill the agent twice while events are flowing, right after an acknowledgement.
        if i == 100 || i == 200 {
            agent.kill();
            agent.restart();
        }
        // Retried with the same dedup key until acknowledged.
        let r = wait_for(WAIT, &format!("event {i} acknowledged"), || {
            common::http::post_json(http, "/v1/events", Some(TOKEN), &event("app/c", i))
                .ok()
                .filter(|r| r.status == 200)
        });
        acked.insert(i, r.json()["events"][0]["id"].as_str().expect("id").to_string());
    }
    let seen = rec.wait_until(WAIT, "all acknowledged events", |s| {
        arrivals(s, "app/c").iter().map(|(i, _)| *i).collect::<BTreeSet<_>>().len() >= N
    });
    // Every acknowledged event arrived, under the id it was acknowledged with; a repeat
    // (allowed after a crash) carries the same id.
    let mut ids_by_i: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    for (i, id) in arrivals(&seen, "app/c") {
        ids_by_i.entry(i).or_default().insert(id);
    }
    for (i, id) in &acked {
        let ids = &ids_by_i[&(*i as u64)];
        assert_eq!(ids.len(), 1, "event {i} arrived under several ids: {ids:?}");
        assert!(ids.contains(id), "event {i} arrived as {ids:?}, acknowledged as {id}");
    }
}

/// A counter from `/metrics`.
fn counter(http: u16, name: &str) -> u64 {
    common::http::metric(http, name).unwrap_or_else(|| panic!("{name} in /metrics"))
}

#[test]
fn events_delivered_one_by_one_are_not_sent_again_after_the_agent_is_killed() {
    // Events further apart than a delete waits for company: each delete after PUBACK commits
    // alone, without waiting for an fsync (docs/store.md). A process killed outright keeps it.
    let dir = temp_dir("trickle");
    let broker = Mosquitto::start(&dir);
    let http = free_port();
    let rec = Recorder::start(broker.port, "telbridge/v1/trickle/#");
    let mut agent = Agent::start(&write_config(&dir, "trickle", broker.port, http, "", ""), http);
    let (commits, synced) =
        (counter(http, "telbridge_store_commits_total"), counter(http, "telbridge_store_synced_commits_total"));
    for i in 0..5 {
        assert_eq!(agent.post_events(&event("app/t", i)).status, 200);
        rec.wait_until(WAIT, &format!("event {i}"), |s| arrivals(s, "app/t").len() > i);
        wait_for(WAIT, "its row deleted", || {
            (common::http::get(http, "/healthz").ok()?.json()["store_rows"] == 0).then_some(())
        });
    }
    let unsynced = (counter(http, "telbridge_store_commits_total") - commits)
        - (counter(http, "telbridge_store_synced_commits_total") - synced);
    assert!(unsynced >= 5, "each delete committed alone without an fsync: {unsynced} such commits");
    agent.kill();
    agent.restart();
    // The relay starts from the oldest row it still has: a delete lost with the process would
    // send its event again before this one.
    assert_eq!(agent.post_events(&event("app/t", 5)).status, 200);
    let seen = rec.wait_until(WAIT, "event 5", |s| arrivals(s, "app/t").iter().any(|(i, _)| *i == 5));
    let got: Vec<u64> = arrivals(&seen, "app/t").iter().map(|(i, _)| *i).collect();
    assert_eq!(got, (0..6).collect::<Vec<u64>>(), "each event once, in order");
}

#[test]
fn events_buffered_during_a_broker_outage_arrive_in_order_per_source() {
    let (_dir, mut broker, http, rec, agent) = online("outage");
    broker.stop();
    wait_for(WAIT, "the agent to notice", || {
        (common::http::get(http, "/healthz").ok()?.json()["mqtt_connected"] == false).then_some(())
    });
    for i in 0..60 {
        let source = if i % 2 == 0 { "app/a" } else { "app/b" };
        let reply = agent.post_events(&event(source, i));
        assert_eq!(reply.status, 200, "accepted while the broker is down");
    }
    broker.resume();
    let seen = rec.wait_until(WAIT, "60 events after the outage", |s| {
        arrivals(s, "app/a").len() + arrivals(s, "app/b").len() >= 60
    });
    for source in ["app/a", "app/b"] {
        let order: Vec<u64> = arrivals(&seen, source).iter().map(|(i, _)| *i).collect();
        let mut first_seen = Vec::new();
        for i in order {
            if !first_seen.contains(&i) {
                first_seen.push(i);
            }
        }
        let expected: Vec<u64> = (0..60).filter(|i| (i % 2 == 0) == (source == "app/a")).collect();
        assert_eq!(first_seen, expected, "{source} out of order");
    }
}

#[test]
fn mqtt_5_relays_events_and_commands_too() {
    let dir = temp_dir("v5");
    let broker = Mosquitto::start(&dir);
    let http = free_port();
    let rec = Recorder::start(broker.port, "telbridge/v1/five/#");
    let agent = Agent::start(&write_config(&dir, "five", broker.port, http, "protocol = \"v5\"", ""), http);
    assert_eq!(agent.post_events(&event("app/v5", 1)).status, 200);
    rec.wait_until(WAIT, "the v5 event", |s| !arrivals(s, "app/v5").is_empty());
    rec.command("telbridge/v1/five/cmd/agent", r#"{"id":"v5-ping","cmd":"agent.ping"}"#);
    let seen = rec.wait_until(WAIT, "the ping result", |s| s.iter().any(|m| m.topic.ends_with("/res/v5-ping")));
    let result = seen.iter().find(|m| m.topic.ends_with("/res/v5-ping")).expect("result").json();
    assert_eq!(result["status"], "ok");
    assert_eq!(result["data"]["pong"], true);
}

#[test]
fn sigterm_flushes_publishes_offline_and_exits_zero() {
    let dir = temp_dir("term");
    let broker = Mosquitto::start(&dir);
    let http = free_port();
    let rec = Recorder::start(broker.port, "telbridge/v1/term/#");
    let mut agent = Agent::start(&write_config(&dir, "term", broker.port, http, "", ""), http);
    let body: Vec<Value> = (0..50).map(|i| event("app/t", i)).collect();
    assert_eq!(agent.post_events(&Value::Array(body)).status, 200);
    assert_eq!(agent.terminate(), Some(0), "{}", agent.log());
    let seen = rec.wait_until(WAIT, "offline status", |s| {
        s.iter().any(|m| m.topic.ends_with("/status") && m.json()["state"] == "offline")
    });
    let offline = seen.iter().rev().find(|m| m.topic.ends_with("/status")).expect("status").json();
    assert_eq!(offline["reason"], "shutdown");
    let delivered = arrivals(&seen, "app/t").len();
    // Whatever was not delivered before the stop is still in the store for next time.
    let conn = rusqlite::Connection::open(dir.join("store.db")).expect("store");
    let left: i64 =
        conn.query_row("SELECT count(*) FROM outbox WHERE topic LIKE 'evt/app/t/%'", [], |r| r.get(0)).expect("count");
    assert!(delivered as i64 + left >= 50, "delivered {delivered}, left {left}");
}

/// An agent named `name` connected to a broker of its own, with a recorder of its topics.
fn online(name: &str) -> (std::path::PathBuf, Mosquitto, u16, Recorder, Agent) {
    let dir = temp_dir(name);
    let broker = Mosquitto::start(&dir);
    let http = free_port();
    let rec = Recorder::start(broker.port, &format!("telbridge/v1/{name}/#"));
    let agent = Agent::start(&write_config(&dir, name, broker.port, http, "", ""), http);
    rec.wait_until(WAIT, "online status", |s| s.iter().any(|m| m.topic.ends_with("/status")));
    (dir, broker, http, rec, agent)
}

/// Connects with the agent's client id `id` and a clean session: the broker drops the
/// agent's connection and forgets its session.
fn take_over(port: u16, id: &str) {
    let mut opts = rumqttc::MqttOptions::new(id, "127.0.0.1", port);
    opts.set_clean_session(true);
    let (_client, mut conn) = rumqttc::Client::new(opts, 10);
    for event in conn.iter() {
        if let Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) = event {
            break;
        }
    }
}

#[test]
fn events_in_flight_when_the_broker_drops_the_session_are_published_again() {
    let (_dir, broker, http, rec, agent) = online("takeover");
    let body: Vec<Value> = (0..500).map(|i| event("app/k", i)).collect();
    assert_eq!(agent.post_events(&Value::Array(body)).status, 200);
    // Another client takes over the agent's client id with a clean session: the broker
    // drops the agent's connection and forgets its session, in-flight messages included.
    take_over(broker.port, "telbridge-takeover");
    let seen = rec.wait_until(WAIT, "all 500 events", |s| {
        arrivals(s, "app/k").iter().map(|(i, _)| *i).collect::<BTreeSet<_>>().len() >= 500
    });
    let reconnected = wait_for(WAIT, "the agent to reconnect", || {
        let m = common::http::get(http, "/metrics").ok()?;
        let text = String::from_utf8_lossy(&m.body).to_string();
        text.lines().any(|l| l == "telbridge_mqtt_connected 1").then_some(text)
    });
    assert!(reconnected.contains("telbridge_mqtt_connects_total 2"), "{reconnected}");
    let mut first = Vec::new();
    for (i, _) in arrivals(&seen, "app/k") {
        if !first.contains(&i) {
            first.push(i);
        }
    }
    assert_eq!(first, (0..500).collect::<Vec<u64>>());
}

#[test]
fn events_being_published_when_the_broker_stops_arrive_after_it_returns() {
    let (_dir, mut broker, _http, rec, agent) = online("midstop");
    // Events keep coming while the broker goes away and comes back with the agent's session
    // (persistence): nothing the relay had in hand when the link dropped may be left behind.
    let poster = std::thread::spawn(move || {
        for chunk in 0..40 {
            let body: Vec<Value> = (0..25).map(|i| event("app/m", chunk * 25 + i)).collect();
            assert_eq!(agent.post_events(&Value::Array(body)).status, 200);
        }
        agent
    });
    rec.wait_until(WAIT, "the first events relayed", |s| !arrivals(s, "app/m").is_empty());
    broker.stop();
    broker.resume();
    let agent = poster.join().expect("poster");
    let seen = rec.wait_until(WAIT, "all 1000 events", |s| {
        arrivals(s, "app/m").iter().map(|(i, _)| *i).collect::<BTreeSet<_>>().len() >= 1000
    });
    assert!(arrivals(&seen, "app/m").len() >= 1000);
    let http = agent.http_port;
    wait_for(WAIT, "the store drained", || {
        (common::http::get(http, "/healthz").ok()?.json()["store_rows"] == 0).then_some(())
    });
}

/// Every relayed message's `seq` and its position among first arrivals.
fn first_seqs(seen: &[Seen]) -> Vec<i64> {
    let mut first = Vec::new();
    let mut known = BTreeSet::new();
    for seq in seen.iter().filter_map(|s| s.json()["seq"].as_i64()) {
        if known.insert(seq) {
            first.push(seq);
        }
    }
    first
}

#[test]
fn events_keep_their_order_and_a_gap_free_seq_across_many_broker_restarts() {
    order_across_restarts("restarts", "");
}

#[test]
fn mqtt_5_keeps_the_order_across_broker_restarts_too() {
    order_across_restarts("restarts5", "protocol = \"v5\"");
}

fn order_across_restarts(agent_id: &str, mqtt: &str) {
    let dir = temp_dir(agent_id);
    let mut broker = Mosquitto::start(&dir);
    let http = free_port();
    let rec = Recorder::start(broker.port, &format!("telbridge/v1/{agent_id}/#"));
    let agent = Agent::start(&write_config(&dir, agent_id, broker.port, http, mqtt, ""), http);
    rec.wait_until(WAIT, "online status", |s| s.iter().any(|m| m.topic.ends_with("/status")));
    const TOTAL: usize = 10_000;
    let poster = std::thread::spawn(move || {
        for chunk in 0..TOTAL / 50 {
            let body: Vec<Value> = (0..50).map(|i| event("app/r", chunk * 50 + i)).collect();
            assert_eq!(agent.post_events(&Value::Array(body)).status, 200);
            std::thread::sleep(Duration::from_millis(2));
        }
        agent
    });
    // Drops in pairs close together: the second comes while the first one's re-sends are
    // still going out (where rumqttc's own re-sending broke the order).
    let connects = || common::http::metric(http, "telbridge_mqtt_connects_total");
    for round in 0..12u64 {
        rec.wait_until(WAIT, "events flowing", |s| !arrivals(s, "app/r").is_empty());
        let before = wait_for(WAIT, "the connection count", connects);
        broker.stop();
        broker.resume();
        // The agent is back (after its 100-500 ms back-off) and re-sending: the next drop
        // comes within 150 ms of that.
        wait_for(WAIT, "the agent to connect again", || connects().filter(|n| *n > before));
        std::thread::sleep(Duration::from_millis(round * 37 % 150));
    }
    let agent = poster.join().expect("poster");
    let seen = rec.wait_until(WAIT, "every event", |s| {
        arrivals(s, "app/r").iter().map(|(i, _)| *i).collect::<BTreeSet<_>>().len() >= TOTAL
    });
    let mut first = Vec::new();
    let mut known = BTreeSet::new();
    for (i, _) in arrivals(&seen, "app/r") {
        if known.insert(i) {
            first.push(i);
        }
    }
    let out_of_order = first.windows(2).filter(|w| w[1] < w[0]).count();
    assert_eq!(out_of_order, 0, "first arrivals out of order: {out_of_order}\n{}", agent.log());
    assert_eq!(first, (0..TOTAL as u64).collect::<Vec<_>>());
    let seqs = first_seqs(&seen);
    assert!(seqs.len() > TOTAL, "every relayed message carries a seq: {} of them did", seqs.len());
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "seq has a gap or goes back: {seqs:?}");
    let reconnects = agent.log().matches("mqtt connected").count();
    assert!(reconnects >= 13, "every broker restart was seen: {reconnects} connections");
    // Every PUBACK found its row: nothing delivered is left behind to be sent again.
    wait_for(WAIT, "the store drained", || {
        (common::http::get(agent.http_port, "/healthz").ok()?.json()["store_rows"] == 0).then_some(())
    });
}

/// An agent `name` on MQTT 5, online with a broker that refuses its events of the `denied`
/// topics (below its own prefix).
fn v5_refusing(name: &str, denied: &[&str]) -> (std::path::PathBuf, Mosquitto, u16, Recorder, Agent) {
    let dir = temp_dir(name);
    let acl = dir.join("acl");
    let rules: String = denied.iter().map(|t| format!("topic deny telbridge/v1/{name}/{t}\n")).collect();
    std::fs::write(&acl, format!("topic readwrite #\n{rules}")).expect("acl");
    let broker = Mosquitto::start_with(&dir, free_port(), &format!("acl_file {}\n", acl.display()));
    let http = free_port();
    let rec = Recorder::start(broker.port, &format!("telbridge/v1/{name}/#"));
    let agent = Agent::start(&write_config(&dir, name, broker.port, http, "protocol = \"v5\"", ""), http);
    rec.wait_until(WAIT, "online status", |s| s.iter().any(|m| m.topic.ends_with("/status")));
    (dir, broker, http, rec, agent)
}

#[test]
fn mqtt_5_a_message_the_broker_refuses_stays_in_the_store_and_is_reported() {
    let (dir, _broker, http, rec, agent) = v5_refusing("refuse", &["evt/app/denied/#"]);
    assert_eq!(agent.post_events(&event("app/denied", 1)).status, 200);
    assert_eq!(agent.post_events(&event("app/ok", 2)).status, 200);
    let seen = rec.wait_until(WAIT, "the allowed event and the refusal alarm", |s| {
        !arrivals(s, "app/ok").is_empty() && s.iter().any(|m| m.topic.ends_with("/evt/agent/relay.refused"))
    });
    let alarm = seen.iter().find(|m| m.topic.ends_with("/evt/agent/relay.refused")).expect("alarm").json();
    assert_eq!(alarm["data"]["reason"], "NotAuthorized", "{alarm}");
    assert!(arrivals(&seen, "app/denied").is_empty(), "the broker did not pass it on");
    // Not deleted as if delivered: the refused row is still in the store.
    let conn = rusqlite::Connection::open(dir.join("store.db")).expect("store");
    let left: i64 = conn
        .query_row("SELECT count(*) FROM outbox WHERE topic LIKE 'evt/app/denied/%'", [], |r| r.get(0))
        .expect("count");
    assert_eq!(left, 1);
    let metrics = String::from_utf8(common::http::get(http, "/metrics").expect("metrics").body).expect("utf8");
    assert!(metrics.lines().any(|l| l.starts_with("telbridge_mqtt_refused_total ")), "{metrics}");
}

/// Behind a broker that takes packets of at most 2000 bytes (`max_packet_size`), an agent
/// Posts `middle`, then event 2 of `app/a` (event 0 posted before): waits for event 2 and a
/// `relay.refused` alarm, checks that `app/a`'s events arrived in order, and returns what
/// the recorder saw.
fn set_aside_between_events(agent: &Agent, rec: &Recorder, middle: &Value) -> Vec<Seen> {
    assert_eq!(agent.post_events(middle).status, 200);
    assert_eq!(agent.post_events(&event("app/a", 2)).status, 200);
    let seen = rec.wait_until(WAIT, "the later event and the alarm", |s| {
        arrivals(s, "app/a").iter().any(|(i, _)| *i == 2)
            && s.iter().any(|m| m.topic.ends_with("/evt/agent/relay.refused"))
    });
    // The first event's PUBACK may be lost with a connection the middle one ended: then it
    // arrives again (with its id), before the second.
    let mut order: Vec<u64> = arrivals(&seen, "app/a").iter().map(|(i, _)| *i).collect();
    order.dedup();
    assert_eq!(order, vec![0, 2], "{}", agent.log());
    seen
}

/// `name` on `protocol` relays a small event, a 3 KB one (under `mqtt.max_payload_bytes`, so
/// stored) and another small one: the small ones arrive in order, the big one stays in the
/// store, reported once by `relay.refused`, whose reason this returns (with the broker, still
/// running).
fn big_event_behind_a_packet_limit(name: &str, protocol: &str) -> (Mosquitto, Agent, Recorder, String) {
    let dir = temp_dir(name);
    let broker = Mosquitto::start_with(&dir, free_port(), "max_packet_size 2000\n");
    let http = free_port();
    let rec = Recorder::start(broker.port, &format!("telbridge/v1/{name}/#"));
    let agent = Agent::start(&write_config(&dir, name, broker.port, http, protocol, ""), http);
    rec.wait_until(WAIT, "online status", |s| s.iter().any(|m| m.topic.ends_with("/status")));
    assert_eq!(agent.post_events(&event("app/a", 0)).status, 200);
    rec.wait_until(WAIT, "the first event", |s| !arrivals(s, "app/a").is_empty());
    let big = json!({"source": "app/big", "type": "test.event", "data": {"i": 1, "pad": "x".repeat(3000)}});
    let seen = set_aside_between_events(&agent, &rec, &big);
    assert!(arrivals(&seen, "app/big").is_empty());
    let alarms: Vec<_> = seen.iter().filter(|m| m.topic.ends_with("/evt/agent/relay.refused")).collect();
    assert_eq!(alarms.len(), 1, "only the big event is reported: {}", agent.log());
    let alarm = alarms[0].json();
    let conn = rusqlite::Connection::open(dir.join("store.db")).expect("store");
    let left: i64 = conn
        .query_row("SELECT seq FROM outbox WHERE topic LIKE 'evt/app/big/%'", [], |r| r.get(0))
        .expect("the big event is still in the store");
    assert_eq!(alarm["data"]["seq"], left);
    let reason = alarm["data"]["reason"].as_str().unwrap_or_default().to_string();
    (broker, agent, rec, reason)
}

#[test]
fn mqtt_5_an_event_over_the_brokers_maximum_packet_size_is_set_aside_while_the_others_flow() {
    // The broker says its limit in its CONNACK.
    let (_broker, agent, _rec, reason) = big_event_behind_a_packet_limit("maxpacket", "protocol = \"v5\"");
    assert!(reason.contains("Maximum Packet Size (2000)"), "{reason}");
    // One connection served it all: the big row never ended one.
    assert_eq!(agent.log().matches("mqtt connected").count(), 1, "{}", agent.log());
}

#[test]
fn mqtt_3_an_event_the_broker_ends_the_connection_over_is_held_back_while_the_others_flow() {
    // MQTT 3.1.1 cannot announce the limit: the broker ends the connection of a client that
    // sends more.
    let (_broker, agent, rec, reason) = big_event_behind_a_packet_limit("strikes", "");
    assert!(reason.contains("ended the connection the last 3 times"), "{reason}");
    // Then the connection holds: later events flow on it.
    let connections = agent.log().matches("mqtt connected").count();
    assert_eq!(agent.post_events(&event("app/a", 3)).status, 200);
    rec.wait_until(WAIT, "a later event", |s| arrivals(s, "app/a").iter().any(|(i, _)| *i == 3));
    assert_eq!(agent.log().matches("mqtt connected").count(), connections, "{}", agent.log());
}

#[test]
fn a_broker_that_ends_the_connection_over_the_retained_status_still_gets_every_event() {
    // AWS IoT without iot:RetainPublish: the status ended every connection, before any row.
    let name = "noretain";
    let dir = temp_dir(name);
    let broker = Mosquitto::start(&dir);
    let gate = common::gate::RetainGate::start(broker.port);
    let http = free_port();
    let rec = Recorder::start(broker.port, &format!("telbridge/v1/{name}/#"));
    let agent = Agent::start(&write_config(&dir, name, gate.port, http, "", ""), http);
    assert_eq!(agent.post_events(&event("app/a", 0)).status, 200);
    let seen = rec.wait_until(WAIT, "the first event and the alarm", |s| {
        !arrivals(s, "app/a").is_empty() && s.iter().any(|m| m.topic.ends_with("/evt/agent/relay.status_refused"))
    });
    let alarms: Vec<_> = seen.iter().filter(|m| m.topic.ends_with("/evt/agent/relay.status_refused")).collect();
    assert_eq!(alarms.len(), 1, "{}", agent.log());
    let reason = alarms[0].json()["data"]["reason"].as_str().unwrap_or_default().to_string();
    assert!(reason.contains("the last 3 times the agent published its retained status"), "{reason}");
    // Three connections in a row ended over the status alone; before them, at most three
    // more: two may have come before the start's event was stored, and the one that sent
    // rows with the status blamed nothing (the count started again after it).
    let cuts = gate.cuts();
    assert!((3..=6).contains(&cuts), "{cuts} connections ended: {}", agent.log());
    // Then the connection holds, without the status, and later events flow on it.
    let connections = agent.log().matches("mqtt connected").count();
    for i in 1..=3 {
        assert_eq!(agent.post_events(&event("app/a", i)).status, 200);
    }
    let seen = rec.wait_until(WAIT, "the later events", |s| arrivals(s, "app/a").iter().any(|(i, _)| *i == 3));
    let mut order: Vec<u64> = arrivals(&seen, "app/a").iter().map(|(i, _)| *i).collect();
    order.dedup();
    assert_eq!(order, vec![0, 1, 2, 3], "{}", agent.log());
    assert_eq!(agent.log().matches("mqtt connected").count(), connections, "{}", agent.log());
    assert_eq!(gate.cuts(), cuts);
    let online = seen.iter().filter(|m| m.topic.ends_with("/status") && m.json()["state"] == "online").count();
    assert_eq!(online, 0, "no status got past the gate");
}

#[test]
fn while_the_status_is_held_back_an_event_the_broker_ends_the_connection_over_is_held_back_too() {
    // AWS IoT without iot:RetainPublish, whose policy also denies one topic.
    let name = "noretaindeny";
    let dir = temp_dir(name);
    let broker = Mosquitto::start(&dir);
    let gate = common::gate::RetainGate::denying(broker.port, "/evt/app/denied/");
    let http = free_port();
    let rec = Recorder::start(broker.port, &format!("telbridge/v1/{name}/#"));
    let agent = Agent::start(&write_config(&dir, name, gate.port, http, "", ""), http);
    rec.wait_until(WAIT, "the status alarm", |s| {
        s.iter().any(|m| m.topic.ends_with("/evt/agent/relay.status_refused"))
    });
    assert_eq!(agent.post_events(&event("app/a", 0)).status, 200);
    let seen = set_aside_between_events(&agent, &rec, &event("app/denied", 1));
    let alarm = seen.iter().find(|m| m.topic.ends_with("/evt/agent/relay.refused")).expect("alarm").json();
    let reason = alarm["data"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("ended the connection the last 3 times"), "{reason}");
    let conn = rusqlite::Connection::open(dir.join("store.db")).expect("store");
    let left: i64 = conn
        .query_row("SELECT seq FROM outbox WHERE topic LIKE 'evt/app/denied/%'", [], |r| r.get(0))
        .expect("the denied event is still in the store");
    assert_eq!(alarm["data"]["seq"], left);
}

#[test]
fn mqtt_5_an_alarm_the_broker_refuses_raises_no_alarm_about_itself() {
    let (dir, _broker, http, rec, agent) = v5_refusing("chain", &["evt/app/denied/#", "evt/agent/relay.refused"]);
    assert_eq!(agent.post_events(&event("app/denied", 1)).status, 200);
    // The refusal's alarm is refused too: counted, and no alarm about the alarm.
    let refusals = || {
        let metrics = String::from_utf8(common::http::get(http, "/metrics").expect("metrics").body).expect("utf8");
        metrics.lines().find_map(|l| l.strip_prefix("telbridge_mqtt_refused_total ")?.parse::<u64>().ok())
    };
    wait_for(WAIT, "both refusals", || (refusals()? >= 2).then_some(()));
    assert_eq!(agent.post_events(&event("app/ok", 2)).status, 200);
    rec.wait_until(WAIT, "a later event", |s| !arrivals(s, "app/ok").is_empty());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(refusals(), Some(2), "{}", agent.log());
    let conn = rusqlite::Connection::open(dir.join("store.db")).expect("store");
    let alarms: i64 = conn
        .query_row("SELECT count(*) FROM outbox WHERE topic = 'evt/agent/relay.refused'", [], |r| r.get(0))
        .expect("count");
    assert_eq!(alarms, 1, "one alarm, about the event");
}

#[test]
fn a_stored_event_over_the_payload_limit_is_set_aside_and_reported_while_the_others_flow() {
    let dir = temp_dir("oversize");
    let (mqtt, http) = (free_port(), free_port());
    let config = |limit: usize| write_config(&dir, "oversize", mqtt, http, &format!("max_payload_bytes = {limit}"), "");
    // Stored under a limit of 64 KiB while the broker is away...
    let mut agent = Agent::start(&config(65536), http);
    assert_eq!(agent.post_events(&event("app/a", 0)).status, 200);
    let big = json!({"source": "app/big", "type": "test.event", "data": {"i": 1, "pad": "x".repeat(8000)}});
    assert_eq!(agent.post_events(&big).status, 200);
    assert_eq!(agent.post_events(&event("app/a", 2)).status, 200);
    // ...then the operator lowers it to 4 KiB: the 8 KB event can no longer be relayed.
    agent.kill();
    config(4096);
    let broker = Mosquitto::start_on(&dir, mqtt);
    let rec = Recorder::start(broker.port, "telbridge/v1/oversize/#");
    agent.restart();
    let seen = rec.wait_until(WAIT, "the small events and the alarm", |s| {
        arrivals(s, "app/a").len() >= 2 && s.iter().any(|m| m.topic.ends_with("/evt/agent/relay.refused"))
    });
    let order: Vec<u64> = arrivals(&seen, "app/a").iter().map(|(i, _)| *i).collect();
    assert_eq!(order, vec![0, 2], "{}", agent.log());
    assert!(arrivals(&seen, "app/big").is_empty());
    let alarm = seen.iter().find(|m| m.topic.ends_with("/evt/agent/relay.refused")).expect("alarm").json();
    assert!(alarm["data"]["reason"].as_str().is_some_and(|r| r.contains("mqtt.max_payload_bytes")), "{alarm}");
    let conn = rusqlite::Connection::open(dir.join("store.db")).expect("store");
    let left: i64 = conn
        .query_row("SELECT seq FROM outbox WHERE topic LIKE 'evt/app/big/%'", [], |r| r.get(0))
        .expect("the big event is still in the store");
    assert_eq!(alarm["data"]["seq"], left);
    // Raised again, the limit lets it through: nothing was lost.
    config(65536);
    agent.restart();
    let seen = rec.wait_until(WAIT, "the big event", |s| !arrivals(s, "app/big").is_empty());
    assert_eq!(arrivals(&seen, "app/big").len(), 1);
}

#[test]
fn events_acknowledged_but_not_yet_deleted_are_not_sent_again_after_a_reconnect() {
    let (dir, broker, http, rec, agent) = online("undeleted");
    // The agent's deletes fail, as on a full disk: acknowledged rows stay in the store.
    let conn = rusqlite::Connection::open(dir.join("store.db")).expect("store");
    conn.busy_timeout(Duration::from_secs(10)).expect("busy timeout");
    conn.execute_batch(
        "CREATE TRIGGER keep_rows BEFORE DELETE ON outbox BEGIN SELECT RAISE(ABORT, 'deletes fail'); END",
    )
    .expect("trigger");
    let body: Vec<Value> = (0..20).map(|i| event("app/k", i)).collect();
    assert_eq!(agent.post_events(&Value::Array(body)).status, 200);
    rec.wait_until(WAIT, "20 events", |s| arrivals(s, "app/k").len() >= 20);
    // Every row acknowledged (and kept: its delete failed), the agent's own events too.
    wait_for(WAIT, "every row delivered", || {
        let rows = common::http::get(http, "/healthz").ok()?.json()["store_rows"].as_u64()?;
        (rows >= 20 && counter(http, "telbridge_outbox_delivered_rows") == rows).then_some(())
    });
    // The broker drops the connection (another client takes the agent's id over).
    take_over(broker.port, "telbridge-undeleted");
    wait_for(WAIT, "the agent to reconnect", || (counter(http, "telbridge_mqtt_connects_total") >= 2).then_some(()));
    assert_eq!(agent.post_events(&event("app/k", 20)).status, 200);
    let seen = rec.wait_until(WAIT, "the event after the reconnect", |s| arrivals(s, "app/k").len() >= 21);
    let got: Vec<u64> = arrivals(&seen, "app/k").iter().map(|(i, _)| *i).collect();
    assert_eq!(got, (0..21).collect::<Vec<u64>>(), "delivered once, though still in the store at the reconnect");
    // Deletes work again: the delivered rows go.
    conn.execute_batch("DROP TRIGGER keep_rows").expect("drop");
    wait_for(WAIT, "the delivered rows deleted", || {
        (common::http::get(http, "/healthz").ok()?.json()["store_rows"] == 0).then_some(())
    });
    assert_eq!(counter(http, "telbridge_outbox_delivered_rows"), 0);
}

#[test]
fn an_event_whose_content_held_a_secret_arrives_masked_and_says_so() {
    let s = common::site::Site::agent_only("scrubbed");
    // The ingest token is a configured secret; a producer's text that holds it is masked.
    let posted = json!([
        {"source": "app/sms", "type": "sms.received", "data": {"text": format!("code {TOKEN} ok")}},
        {"source": "app/sms", "type": "sms.received", "data": {"text": "plain"}},
    ]);
    assert_eq!(s.agent.post_events(&posted).status, 200);
    let seen =
        s.rec.wait_until(WAIT, "both events", |m| m.iter().filter(|m| m.topic.ends_with("/sms.received")).count() >= 2);
    let events: Vec<Value> = seen.iter().filter(|m| m.topic.ends_with("/sms.received")).map(|m| m.json()).collect();
    assert_eq!(
        (events[0]["data"]["text"].as_str(), events[0]["scrubbed"].as_bool()),
        (Some("code *** ok"), Some(true))
    );
    assert_eq!((events[1]["data"]["text"].as_str(), events[1].get("scrubbed")), (Some("plain"), None));
}
