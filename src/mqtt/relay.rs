//! The two uplink tasks (see the module doc of `mqtt`): polling and publishing.

use super::correlator::{Correlator, Tag};
use super::deleter::{Delivered, delete_acked};
use super::link::{self, AckToken, LinkClient, LinkOptions, Queued};
use super::strikes::{Answers, HOLD, Held, STATUS_WAIT, STRIKES, Strikes};
use super::topics::Topics;
use super::{MqttError, status_payload};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::Store;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The connection as other parts of the agent see it.
#[derive(Debug, Clone, Default)]
pub struct LinkState {
    pub connected: bool,
    /// The broker granted this connection's command subscription (its SUBACK).
    pub subscribed: bool,
    /// CONNACKs received since start.
    pub connects: u64,
    /// Connection errors since start.
    pub errors: u64,
    pub last_error: Option<String>,
    /// MQTT 5: the largest packet the connected broker takes, if it set a limit.
    pub max_packet: Option<u32>,
}

/// A command (or any message on a subscribed topic) from the broker, not yet acked.
#[derive(Debug)]
pub struct Incoming {
    pub topic: String,
    pub payload: Vec<u8>,
    pub ack: Box<AckToken>,
}

/// The running uplink.
pub struct Uplink {
    pub client: LinkClient,
    pub state: watch::Receiver<LinkState>,
    pub topics: Topics,
    tasks: Vec<JoinHandle<Result<(), MqttError>>>,
}

impl Uplink {
    /// Waits for the uplink to finish its stop (flush, offline status, disconnect).
    pub async fn join(mut self) -> Result<(), MqttError> {
        let mut result = Ok(());
        // Awaited in place: a join dropped half-way (a stop that timed out) leaves every
        // handle to `Drop`, which aborts what still runs.
        for task in &mut self.tasks {
            match task.await {
                Ok(Err(e)) => result = Err(e),
                Err(_) => result = Err(MqttError::LoopGone),
                Ok(Ok(())) => {}
            }
        }
        self.tasks.clear();
        result
    }

    /// Resolves when a task ended before being asked to stop: a failure. After it
    /// resolved, call [`Uplink::abort`], not [`Uplink::join`].
    pub async fn failed(&mut self) -> String {
        let [a, b] = &mut self.tasks[..] else {
            return "uplink tasks missing".into();
        };
        let result = tokio::select! { r = a => r, r = b => r };
        match result {
            Ok(Ok(())) => "uplink task ended".into(),
            Ok(Err(e)) => e.to_string(),
            Err(e) => format!("uplink task panicked: {e}"),
        }
    }

    /// Stops the tasks at once.
    pub fn abort(self) {
        drop(self);
    }
}

impl Drop for Uplink {
    /// An uplink dropped before it was joined (a start that failed after the uplink was
    /// spawned, a stop that timed out) takes its tasks with it: left running they would
    /// hold the store open beside the next start's writer and relay the same outbox twice.
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

pub(super) struct Shared {
    pub(super) correlator: Correlator,
    pub(super) connected: bool,
    /// CONNACKs so far: a publish meant for one connection never goes out on the next.
    pub(super) connection: u64,
}

pub(super) type SharedRef = Arc<Mutex<Shared>>;

pub(super) fn lock(shared: &SharedRef) -> std::sync::MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts the uplink. Commands arrive on the returned receiver; `stop` begins the
/// graceful stop: in-flight rows get a few seconds to be acknowledged, then `offline` is
/// published and the connection closed.
pub fn spawn(
    config: &Config,
    store: Store,
    metrics: Metrics,
    stop: CancellationToken,
) -> Result<(Uplink, mpsc::UnboundedReceiver<Incoming>), MqttError> {
    let topics = Topics::new(&config.mqtt.topic_prefix, &config.agent.id);
    let tls = if config.mqtt.tls.enabled { Some(super::client_config(&config.mqtt.tls)?) } else { None };
    let opts = LinkOptions {
        client_id: config.client_id(),
        will_topic: topics.status(),
        will_payload: status_payload("offline", &config.agent.id, Some("connection lost"), None),
        tls,
    };
    let window = config.mqtt.inflight;
    let (client, link_loop) = link::build(&config.mqtt, opts, window);
    let shared = Arc::new(Mutex::new(Shared { correlator: Correlator::default(), connected: false, connection: 0 }));
    let (state_tx, state_rx) = watch::channel(LinkState::default());
    let (acks_tx, acks_rx) = mpsc::unbounded_channel();
    let (refused_tx, refused_rx) = mpsc::unbounded_channel();
    let (incoming_tx, incoming_rx) = mpsc::unbounded_channel();
    let loop_stop = CancellationToken::new();
    let backoff =
        (Duration::from_millis(config.mqtt.reconnect_min_ms), Duration::from_millis(config.mqtt.reconnect_max_ms));
    // rumqttc pings every keep-alive whatever the traffic, but only notices a missing
    // PINGRESP at the next ping: up to twice the keep-alive on a path that went silent.
    // Nothing at all from the broker for 1.5 times it ends the connection instead.
    let silent_after =
        (config.mqtt.keep_alive_secs > 0).then(|| Duration::from_millis(config.mqtt.keep_alive_secs * 1500));
    let poller = super::poller::Poller {
        shared: shared.clone(),
        state: state_tx,
        acks: acks_tx,
        refused: refused_tx,
        incoming: incoming_tx,
        backoff,
        silent_after,
    };
    let poll_task = tokio::spawn(poller.run(link_loop, loop_stop.clone(), metrics.clone()));
    let publisher = Publisher {
        client: client.clone(),
        shared,
        store,
        topics: topics.clone(),
        agent: config.agent.id.clone(),
        window: usize::from(window),
        max_payload: config.mqtt.max_payload_bytes + crate::event::SEQ_FIELD_MAX,
        metrics,
    };
    let publish_task = tokio::spawn(publisher.run(state_rx.clone(), acks_rx, refused_rx, stop, loop_stop));
    Ok((Uplink { client, state: state_rx, topics, tasks: vec![publish_task, poll_task] }, incoming_rx))
}

struct Publisher {
    client: LinkClient,
    shared: SharedRef,
    store: Store,
    topics: Topics,
    agent: String,
    window: usize,
    /// A row's payload over this is not published (see [`Publisher::oversized`]).
    max_payload: usize,
    metrics: Metrics,
}

impl Publisher {
    /// The broker refused row `seq` (MQTT 5), or it is too large to publish: it stays in the
    /// store — never deleted as if delivered — and is offered again on the next connection;
    /// `agent/relay.refused` says so once per row, and `telbridge_mqtt_refused_total` counts
    /// every refusal.
    ///
    /// A refused row that is itself such an alarm (`alarm`) is only logged and counted: an
    /// alarm about it would be refused too (a broker that takes no `agent` events, or none
    /// that large), and raise another, without end.
    ///
    /// `seq` `None` is the status, held back (`agent/relay.status_refused`, once per hold).
    async fn refused(&self, seq: Option<i64>, alarm: bool, reason: &str) {
        match seq {
            Some(seq) => log::error!("outbox row {seq} was refused ({reason}); it stays in the store"),
            None => log::error!("the status was refused: {reason}"),
        }
        self.metrics.inc("telbridge_mqtt_refused_total");
        if alarm {
            return;
        }
        let (kind, data) = match seq {
            Some(seq) => (REFUSED, serde_json::json!({"seq": seq, "reason": reason})),
            None => (STATUS_REFUSED, serde_json::json!({"reason": reason})),
        };
        let mut e = crate::event::NewEvent::new("agent", kind, data, crate::event::Class::Critical);
        e.dedup_key = seq.map(|seq| format!("agent/relay.refused/{seq}"));
        let alarm = crate::store::OutboxItem::from_event(&e, &self.agent);
        if let Err(e) = self.store.enqueue_unbounded(alarm).await {
            log::error!("cannot record {kind}: {e}");
        }
    }

    /// Why a row's payload (`len` bytes, to `topic`) cannot be published on this
    /// connection: over `mqtt.max_payload_bytes` (stored under a higher limit, or by a path
    /// that does not check it), or, as a packet, over the Maximum Packet Size an MQTT 5
    /// broker set (`broker_max`). Published, it would end the connection (rumqttc refuses to
    /// write it; a broker drops the connection) on every reconnect, and nothing after it
    /// would ever be relayed. So it is not published: it stays in the store, reported as
    /// refused, and goes out on a connection whose limits allow it.
    fn too_large(&self, broker_max: Option<u32>, topic: &str, len: usize) -> Option<String> {
        if len > self.max_payload {
            let limit = self.max_payload - crate::event::SEQ_FIELD_MAX;
            return Some(format!("{len} bytes, more than mqtt.max_payload_bytes ({limit})"));
        }
        let max = broker_max?;
        let size = super::link::publish_packet_size(topic, len);
        (size > max as usize)
            .then(|| format!("a packet of {size} bytes, more than the broker's Maximum Packet Size ({max})"))
    }
}

/// The type of the alarm that says a row was refused.
const REFUSED: &str = "relay.refused";
/// The type of the alarm that says the status is held back.
const STATUS_REFUSED: &str = "relay.status_refused";

/// What became of a publish handed to [`Publisher::send`].
enum Sent {
    Yes,
    /// The connection it was meant for is gone.
    Down(Vec<u8>),
    /// The client's request queue is full: try again shortly.
    Busy(Vec<u8>),
}

/// How long a full client queue is given before the relay tries again.
const BUSY_WAIT: Duration = Duration::from_millis(10);

/// Bytes of outbox rows read ahead of the window, at most (beyond one row).
const READ_AHEAD_BYTES: usize = 1024 * 1024;

/// How long a stop waits for PUBACKs of rows already sent.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

impl Publisher {
    /// Publishes the retained `online` status on `connection`, if it is due (`due`): once
    /// it is queued (its answer then awaited in `conn`), or the connection is gone (the next
    /// one publishes it), it is no longer due. Whether the client's queue was full.
    fn publish_status(&self, connection: u64, due: &mut bool, conn: &mut Answers) -> Result<bool, MqttError> {
        if !*due {
            return Ok(false);
        }
        let online = status_payload("online", &self.agent, None, Some(crate::event::now_ms()));
        match self.send(connection, None, self.topics.status(), online, true)? {
            Sent::Yes => conn.status_wait = Some(tokio::time::Instant::now() + STATUS_WAIT),
            Sent::Down(_) => {}
            Sent::Busy(_) => return Ok(true),
        }
        *due = false;
        Ok(false)
    }

    /// Hands one QoS 1 publish to the client if `connection` is still the live one;
    /// otherwise (or when the client's queue is full) the payload comes back.
    fn send(
        &self,
        connection: u64,
        tag: Tag,
        topic: String,
        payload: Vec<u8>,
        retain: bool,
    ) -> Result<Sent, MqttError> {
        let mut s = lock(&self.shared);
        if !s.connected || s.connection != connection {
            return Ok(Sent::Down(payload));
        }
        match self.client.try_publish(topic, payload, retain)? {
            Queued::Yes => {
                s.correlator.queued(tag);
                Ok(Sent::Yes)
            }
            Queued::Busy(payload) => Ok(Sent::Busy(payload)),
        }
    }

    async fn run(
        self,
        mut state: watch::Receiver<LinkState>,
        mut acks: mpsc::UnboundedReceiver<Tag>,
        mut refused: mpsc::UnboundedReceiver<(i64, String)>,
        stop: CancellationToken,
        loop_stop: CancellationToken,
    ) -> Result<(), MqttError> {
        let (deletes_tx, deletes_rx) = mpsc::unbounded_channel::<Vec<i64>>();
        // Rows the broker acknowledged whose delete has not committed yet (waiting for company,
        // or failing on a full disk): a new connection reads them from the store again, and
        // must not send them again.
        let delivered = Delivered::new(self.metrics.clone());
        let deleter =
            tokio::spawn(delete_acked(self.store.clone(), deletes_rx, delivered.clone(), self.metrics.clone()));
        let mut stats = self.store.watch();
        let mut cursor = 0i64;
        // Rows sent and not yet acknowledged: whether each is itself a `relay.refused` alarm.
        let mut in_flight = BTreeMap::new();
        // What the broker answered on this connection, and the rows it ended them over.
        let mut conn = Answers::default();
        let mut strikes = Strikes::default();
        // The status is to be published on this connection (see `publish_status`).
        let mut status_due = false;
        let (mut seen_connects, mut seen_version) = (0u64, u64::MAX);
        let mut drained = false;
        let mut ahead = std::collections::VecDeque::new();
        let mut ahead_bytes = 0usize;
        loop {
            let st = state.borrow_and_update().clone();
            if st.connects != seen_connects {
                // A new connection: rumqttc forgot every publish of the last one, and the
                // store is the truth. Start again from its oldest row, in order.
                seen_connects = st.connects;
                cursor = 0;
                // Answers of the last connection still on their way count for it.
                let batch = conn.acked(std::iter::from_fn(|| acks.try_recv().ok()), &mut in_flight);
                delivered.hand_over(batch, &deletes_tx);
                while let Ok((seq, reason)) = refused.try_recv() {
                    let alarm = conn.refused(seq, &mut in_flight);
                    self.refused(Some(seq), alarm, &reason).await;
                }
                let how = conn.ended(&in_flight);
                match strikes.ended(how, Instant::now()) {
                    Some(Held::Row(seq)) => {
                        let reason = format!(
                            "the broker ended the connection the last {STRIKES} times this message was sent alone, \
                             before acknowledging it; held back for {} s, then sent again",
                            HOLD.as_secs()
                        );
                        self.refused(Some(seq), in_flight.get(&seq).copied().unwrap_or(false), &reason).await;
                    }
                    Some(Held::Status) => {
                        let reason = format!(
                            "the broker ended the connection the last {STRIKES} times the agent published its \
                             retained status, before acknowledging it (does the broker's policy allow retained \
                             messages on it? AWS IoT's needs iot:RetainPublish); the status is left out for {} s \
                             while the messages flow, then published again",
                            HOLD.as_secs()
                        );
                        self.refused(None, false, &reason).await;
                    }
                    None => {}
                }
                // A hold that ended is over before this connection's status (not published a
                // second time when its timer fires).
                strikes.expire(Instant::now());
                let status_held = strikes.holds_status(Instant::now());
                conn = Answers { probe: strikes.probing(), status_held, ..Answers::default() };
                status_due = st.connected && !status_held;
                in_flight.clear();
                ahead.clear();
                ahead_bytes = 0;
                drained = false;
                if st.connected {
                    self.client.subscribe(self.topics.commands_filter()).await?;
                }
            }
            let version = stats.borrow_and_update().outbox_version;
            if version != seen_version {
                seen_version = version;
                drained = false;
            }
            // Read ahead in bulk (fewer, larger reads) but publish on every free slot:
            // a steady trickle keeps TCP ACKs piggybacked on data, where waiting for
            // half the window would stall on delayed ACKs.
            if st.connected && !drained && ahead.len() <= self.window / 2 && ahead_bytes < READ_AHEAD_BYTES {
                // Taken before the read: a delete that commits during it takes its row out of
                // the set, but not necessarily out of what the read returns.
                let done = delivered.snapshot();
                let rows = self.store.outbox_after(cursor, self.window).await?;
                drained = rows.len() < self.window;
                for row in rows {
                    cursor = row.seq;
                    // In flight already: read again when a hold ended (below).
                    if done.contains(&row.seq) || in_flight.contains_key(&row.seq) {
                        continue;
                    }
                    ahead_bytes += row.payload.len();
                    ahead.push_back(row);
                    if ahead_bytes >= READ_AHEAD_BYTES {
                        drained = false;
                        break;
                    }
                }
            }
            let mut sent = false;
            // The status goes first (a probe sends no row before its answer, for a while).
            let mut busy = st.connected && self.publish_status(seen_connects, &mut status_due, &mut conn)?;
            while st.connected && !status_due && in_flight.len() < conn.window(self.window) {
                let Some(mut row) = ahead.pop_front() else { break };
                let (seq, len) = (row.seq, row.payload.len());
                let topic = self.topics.full(&row.topic);
                let alarm = matches!(row.topic.strip_prefix("evt/agent/"), Some(REFUSED | STATUS_REFUSED));
                // A row skipped is progress too: more are read behind it.
                if strikes.holds(seq, Instant::now) {
                    ahead_bytes -= len;
                    sent = true;
                    continue;
                }
                if let Some(reason) = self.too_large(st.max_packet, &topic, len) {
                    ahead_bytes -= len;
                    self.refused(Some(seq), alarm, &reason).await;
                    sent = true;
                    continue;
                }
                let payload = match self.send(seen_connects, Some(seq), topic, row.payload, false)? {
                    Sent::Yes => {
                        ahead_bytes -= len;
                        in_flight.insert(seq, alarm);
                        sent = true;
                        continue;
                    }
                    Sent::Down(payload) => payload,
                    Sent::Busy(payload) => {
                        busy = true;
                        payload
                    }
                };
                // The row stays first in line, for this connection or the next.
                row.payload = payload;
                ahead.push_front(row);
                break;
            }
            if sent {
                continue;
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                Some(tag) = acks.recv() => {
                    let tags = std::iter::once(tag).chain(std::iter::from_fn(|| acks.try_recv().ok()));
                    delivered.hand_over(conn.acked(tags, &mut in_flight), &deletes_tx);
                }
                Some((seq, reason)) = refused.recv() => {
                    let alarm = conn.refused(seq, &mut in_flight);
                    self.refused(Some(seq), alarm, &reason).await;
                }
                _ = sleep_until(conn.status_wait), if st.connected => {
                    log::warn!("the broker did not acknowledge the status within {STATUS_WAIT:?}");
                    conn.status_wait = None;
                }
                _ = sleep_until(strikes.next_release().map(tokio::time::Instant::from_std)) => {
                    // A hold ended: that row goes out again, read from the start (rows in
                    // flight are not sent twice), or the status does.
                    if strikes.expire(Instant::now()) {
                        (status_due, conn.status_held) = (st.connected, false);
                    }
                    cursor = 0;
                    ahead.clear();
                    ahead_bytes = 0;
                    drained = false;
                }
                changed = state.changed() => {
                    if changed.is_err() {
                        return Err(MqttError::LoopGone);
                    }
                }
                _ = stats.changed() => {}
                _ = tokio::time::sleep(BUSY_WAIT), if busy => {}
            }
        }
        // Stop: give rows already sent a moment to be acknowledged, then say goodbye.
        let deadline = tokio::time::Instant::now() + FLUSH_TIMEOUT;
        while !in_flight.is_empty() && state.borrow().connected {
            match tokio::time::timeout_at(deadline, acks.recv()).await {
                Ok(Some(tag)) => delivered.hand_over(conn.acked(std::iter::once(tag), &mut in_flight), &deletes_tx),
                _ => break,
            }
        }
        drop(deletes_tx);
        let _ = deleter.await;
        let offline = status_payload("offline", &self.agent, Some("shutdown"), Some(crate::event::now_ms()));
        if matches!(self.send(seen_connects, None, self.topics.status(), offline, true)?, Sent::Yes) {
            self.client.disconnect().await?;
        }
        loop_stop.cancel();
        Ok(())
    }
}

/// Sleeps until `at`, or for ever when no hold is to end.
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
