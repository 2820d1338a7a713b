//! A link that dies silently (issue 18 item 6). The broker, or a GoIP device, runs in a
//! network namespace of the test's own; mid-load nftables inside it starts dropping every
//! packet — no reset, no ICMP — as when a 4G router or a carrier NAT forgets the path. The
//! agent must notice within its keep-alive (broker) or its timeouts (device), keep accepting
//! events meanwhile, come back when the path returns, and lose nothing. The measured times
//! are printed (`--nocapture` shows them). Skipped, passing, where namespaces cannot be made:
//! not root, no `nft`, or under an exec wrapper (qemu).

mod common;

use common::netns::Netns;
use common::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);
const KEEP_ALIVE_SECS: u64 = 5;
/// "About 1.5 × keep_alive" (7.5 s), with slack for a loaded machine. Without the relay's
/// own silence check it took up to 2 × (rumqttc notices a missing PINGRESP only at the next
/// ping): 9.8 s here, since the test drops the path right after a connect.
const BROKER_NOTICE_LIMIT: Duration = Duration::from_millis(9_300);

/// The test's namespace, or None after printing why the test is skipped.
fn netns_or_skip(test: &str) -> Option<Netns> {
    Netns::create().inspect_err(|why| eprintln!("SKIPPED {test}: {why}")).ok()
}

fn healthz(port: u16) -> Value {
    http::get(port, "/healthz").map(|r| r.json()).unwrap_or(Value::Null)
}

fn event(i: usize) -> Value {
    json!({"source": "app/s", "type": "test.event", "data": {"i": i}, "dedup_key": format!("s-{i}")})
}

/// The `data.i` of the test events seen, in arrival order.
fn arrivals(seen: &[Seen]) -> Vec<u64> {
    let events = seen.iter().filter(|s| s.topic.ends_with("/evt/app/s/test.event"));
    events.map(|s| s.json()["data"]["i"].as_u64().unwrap_or(u64::MAX)).collect()
}

/// Each value's first occurrence, in order.
fn firsts(values: impl IntoIterator<Item = u64>) -> Vec<u64> {
    let mut known = BTreeSet::new();
    values.into_iter().filter(|v| known.insert(*v)).collect()
}

/// Posts events to the ingress without pause until stopped: a few per request, each
/// request's status kept with the time it was answered.
struct Poster {
    stop: Arc<AtomicBool>,
    posted: Arc<AtomicUsize>,
    replies: Arc<Mutex<Vec<(Instant, u16)>>>,
    thread: JoinHandle<()>,
}

impl Poster {
    fn start(port: u16) -> Poster {
        let stop = Arc::new(AtomicBool::new(false));
        let posted = Arc::new(AtomicUsize::new(0));
        let replies = Arc::new(Mutex::new(Vec::new()));
        let (stop2, posted2, replies2) = (stop.clone(), posted.clone(), replies.clone());
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                let first = posted2.load(Ordering::SeqCst);
                let body = Value::Array((first..first + 4).map(event).collect());
                let status = http::post_json(port, "/v1/events", Some(TOKEN), &body).map_or(0, |r| r.status);
                replies2.lock().expect("lock").push((Instant::now(), status));
                if status != 200 {
                    return; // the test fails on it; later events would not be numbered gap-free
                }
                posted2.fetch_add(4, Ordering::SeqCst);
                // Pacing the load, not waiting for anything.
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Poster { stop, posted, replies, thread }
    }

    fn posted(&self) -> usize {
        self.posted.load(Ordering::SeqCst)
    }

    /// The statuses of the requests answered between `from` and `to`.
    fn answered_between(&self, from: Instant, to: Instant) -> Vec<u16> {
        let replies = self.replies.lock().expect("lock");
        replies.iter().filter(|(t, _)| (from..to).contains(t)).map(|(_, s)| *s).collect()
    }

    /// Stops; the number of events posted (all acknowledged).
    fn finish(self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().expect("poster");
        let replies = self.replies.lock().expect("lock");
        let refused: Vec<u16> = replies.iter().map(|(_, s)| *s).filter(|s| *s != 200).collect();
        assert!(refused.is_empty(), "the ingress refused events: {refused:?}");
        self.posted.load(Ordering::SeqCst)
    }
}

#[test]
fn a_broker_that_goes_silent_mid_load_is_noticed_within_the_keep_alive_and_nothing_posted_is_lost() {
    let Some(ns) = netns_or_skip("silent broker") else { return };
    let dir = temp_dir("silent-broker");
    let broker = Mosquitto::start_in_netns(&dir, &ns);
    let http = free_port();
    let rec = Recorder::start_at(&broker.host, broker.port, "telbridge/v1/silent/#");
    let mqtt = format!("host = \"{}\"\nkeep_alive_secs = {KEEP_ALIVE_SECS}", broker.host);
    let agent = Agent::start(&write_config(&dir, "silent", broker.port, http, &mqtt, ""), http);
    rec.wait_until(WAIT, "online status", |s| s.iter().any(|m| m.topic.ends_with("/status")));
    let poster = Poster::start(http);
    rec.wait_until(WAIT, "events flowing", |s| arrivals(s).len() >= 40);

    // The path dies a fraction of a second after the agent connected, at the start of a
    // keep-alive period: the worst phase for rumqttc, which pings on a fixed period from the
    // connect and sees a missing PINGRESP only at the next tick (2 × keep_alive; 1 × at best).
    ns.go_silent();
    let dropped = Instant::now();
    wait_for(WAIT, "the agent to notice the dead link", || (healthz(http)["mqtt_connected"] == false).then_some(()));
    let noticed = dropped.elapsed();
    println!(
        "silent broker: the dead link noticed after {:.1} s (keep_alive {KEEP_ALIVE_SECS} s)",
        noticed.as_secs_f64()
    );
    assert!(noticed <= BROKER_NOTICE_LIMIT, "noticed after {noticed:?}\n{}", agent.log());

    // The link stays dead a while longer: events are still accepted and stored.
    let posted = poster.posted();
    wait_for(WAIT, "events accepted while the link is dead", || (poster.posted() >= posted + 40).then_some(()));
    let stored = healthz(http)["store_rows"].as_u64().unwrap_or(0);
    assert!(stored >= 40, "the events wait in the store: {stored} rows");

    ns.speak_again();
    let returned = Instant::now();
    wait_for(WAIT, "the agent to reconnect", || (healthz(http)["mqtt_connected"] == true).then_some(()));
    println!("silent broker: reconnected {:.1} s after the path returned", returned.elapsed().as_secs_f64());
    let meanwhile = poster.answered_between(dropped, returned);
    assert!(meanwhile.len() >= 10 && meanwhile.iter().all(|s| *s == 200), "dead link: {meanwhile:?}");
    // The load goes on while the backlog drains.
    let at_return = poster.posted();
    rec.wait_until(WAIT, "the backlog relayed", |s| firsts(arrivals(s)).len() >= at_return);
    let total = poster.finish();

    let seen = rec.wait_until(WAIT, "every event posted", |s| firsts(arrivals(s)).len() >= total);
    assert_eq!(firsts(arrivals(&seen)), (0..total as u64).collect::<Vec<_>>(), "first arrivals in order");
    let seqs: Vec<u64> = firsts(seen.iter().filter_map(|m| m.json()["seq"].as_u64()));
    assert!(seqs.len() >= total, "every relayed message carries a seq: {} of them did", seqs.len());
    let gaps: Vec<&[u64]> = seqs.windows(2).filter(|w| w[1] != w[0] + 1).collect();
    assert!(gaps.is_empty(), "seq has a gap or goes back: {gaps:?}");
    wait_for(WAIT, "the store drained", || (healthz(http)["store_rows"] == 0).then_some(()));
    let status = seen.iter().rev().find(|m| m.topic.ends_with("/status")).map(Seen::json);
    assert_eq!(status.as_ref().map(|s| &s["state"]), Some(&json!("online")), "the cloud's last word: {status:?}");
    let reconnects = agent.log().matches("mqtt connected").count();
    assert!(reconnects >= 2, "one connection before, one after: {reconnects}");
}

/// The GoIP device's settings: polled every second, 2 s per exchange.
#[cfg(feature = "goip")]
const POLL_SECS: u64 = 1;
#[cfg(feature = "goip")]
const DEVICE_TIMEOUT_MS: u64 = 2000;

#[cfg(feature = "goip")]
#[test]
fn a_device_that_goes_silent_is_reported_down_in_time_and_up_again_with_nothing_it_queued_lost() {
    use common::sim::Sim;
    use common::site::Site;
    let Some(ns) = netns_or_skip("silent device") else { return };
    let sim = Sim::goip_in(&ns, &[]);
    // The agent's ingress listens on loopback; the device pushes to it through the veth.
    let http = free_port();
    let push = format!("http://{}:{}", ns.outside, ns.forward_to_loopback(http));
    let goip = format!(
        "[[goip]]\nname = \"gw1\"\nurl = \"{}\"\nusername = \"admin\"\npassword = \"admin\"\n\
         push_secret = \"push-s3cret\"\npush_base_url = \"{push}\"\npoll_sms_secs = {POLL_SECS}\n\
         timeout_ms = {DEVICE_TIMEOUT_MS}\ncommand_retry_secs = 5\n",
        sim.url()
    );
    let s = Site::start_on("silent-goip", "goip/gw1", http, "", &goip);
    let texts = |s: &Site, text: &str| s.events("sms.received").iter().filter(|d| d["text"] == text).count();
    // The device works, pushes included, before the path dies.
    wait_for(WAIT, "the sms_url subscription", || {
        sim.state()["sms_url"].as_str().filter(|u| u.starts_with(&push)).map(drop)
    });
    sim.receive("1A", "10010", "before");
    s.wait_event("sms.received", "the SMS before the silence", |d| d["text"] == "before");
    let pushed = wait_for(WAIT, "the device's pushes delivered", || {
        let state = sim.state();
        (state["pushes_queued"] == 0).then(|| state["pushes_delivered"].as_u64().unwrap_or(0))
    });
    assert!(pushed > 0, "the device's pushes reach the agent through the veth");
    let poster = Poster::start(http);

    ns.go_silent();
    let dropped = Instant::now();
    let down = |h: &Value| h["drivers_down"].as_array().is_some_and(|d| d.iter().any(|n| n == "goip/gw1"));
    wait_for(WAIT, "the device reported down", || down(&healthz(http)).then_some(()));
    let noticed = dropped.elapsed();
    println!(
        "silent device: reported down after {:.1} s (poll every {POLL_SECS} s, timeout {DEVICE_TIMEOUT_MS} ms)",
        noticed.as_secs_f64()
    );
    // One poll interval, then one exchange timing out; a second for a busy machine.
    let limit = Duration::from_secs(POLL_SECS) + Duration::from_millis(DEVICE_TIMEOUT_MS) * 2;
    assert!(noticed <= limit, "noticed after {noticed:?}, expected within {limit:?}");
    let alarm = s.wait_event("device.down", "device.down on the broker", |_| true);
    assert!(alarm["reason"].as_str().is_some_and(|r| r.contains("unreachable")), "{alarm}");

    // While it is silent a message arrives at the device (its control API is reached from
    // inside the namespace); the agent keeps relaying everything else.
    let body = json!({"port": "2B", "from": "10086", "text": "while silent"}).to_string();
    let url = format!("{}/sim/sms", sim.url());
    let curl = ns.run("curl", &["-sSf", "-m", "5", "-H", "Content-Type: application/json", "-d", &body, &url]);
    assert!(curl.status.success(), "curl in the namespace: {}", String::from_utf8_lossy(&curl.stderr));
    let posted = poster.posted();
    s.rec.wait_until(WAIT, "events relayed while the device is silent", |seen| arrivals(seen).len() >= posted + 20);

    ns.speak_again();
    let returned = Instant::now();
    s.wait_event("device.up", "device.up", |_| true);
    println!("silent device: up again {:.1} s after the path returned", returned.elapsed().as_secs_f64());
    let meanwhile = poster.answered_between(dropped, returned);
    assert!(meanwhile.len() >= 10 && meanwhile.iter().all(|s| *s == 200), "silent device: {meanwhile:?}");
    let late = s.wait_event("sms.received", "the SMS that came while silent", |d| d["text"] == "while silent");
    println!("silent device: the message that came while silent was relayed (via {})", late["via"]);
    wait_for(WAIT, "the device's queued pushes delivered", || {
        let state = sim.state();
        (state["pushes_queued"] == 0 && state["pushes_delivered"].as_u64() > Some(pushed)).then_some(())
    });
    let total = poster.finish();
    let seen = s.rec.wait_until(WAIT, "every event posted", |seen| firsts(arrivals(seen)).len() >= total);
    assert_eq!(firsts(arrivals(&seen)), (0..total as u64).collect::<Vec<_>>(), "first arrivals in order");
    s.call("poll-after", "device.poll_now", json!({}));
    assert_eq!((texts(&s, "before"), texts(&s, "while silent")), (1, 1), "each message relayed once");
    assert!(!down(&healthz(http)), "the device is up: {}", healthz(http));
}
