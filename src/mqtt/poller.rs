//! The poll task: drives rumqttc's event loop, turns packet ids into outbox rows (acks,
//! refusals), forwards incoming messages, ends a connection that went silent, and backs off
//! after errors.

use super::link::{LinkEvent, LinkLoop};
use super::relay::{Incoming, LinkState, SharedRef, lock};
use super::{MqttError, backoff_delay};
use crate::metrics::Metrics;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub(super) struct Poller {
    pub(super) shared: SharedRef,
    pub(super) state: watch::Sender<LinkState>,
    /// The tag of every publish acknowledged (`None`: the status).
    pub(super) acks: mpsc::UnboundedSender<super::correlator::Tag>,
    /// Rows the broker refused (MQTT 5 PUBACK with a failure reason), with the reason.
    pub(super) refused: mpsc::UnboundedSender<(i64, String)>,
    pub(super) incoming: mpsc::UnboundedSender<Incoming>,
    pub(super) backoff: (Duration, Duration),
    /// A connection that brought nothing in for this long is dead.
    pub(super) silent_after: Option<Duration>,
}

impl Poller {
    pub(super) async fn run(
        self,
        mut link: LinkLoop,
        stop: CancellationToken,
        metrics: Metrics,
    ) -> Result<(), MqttError> {
        let mut failures = 0u32;
        let mut heard = Instant::now();
        // One timer for the silence, moved on only when it fires: an event costs no timer
        // work (a timeout around each poll set and removed a timer per event, and moved
        // rumqttc's ~2.7 KB poll future twice more).
        let silence = tokio::time::sleep_until(heard);
        tokio::pin!(silence);
        loop {
            let connected = lock(&self.shared).connected;
            let limit = self.silent_after.filter(|_| connected);
            let polled = {
                // Cancelling a poll is safe only because the connection is dropped with it:
                // the relay starts again from the store on the next one. So a poll runs to
                // its end unless the path is dead.
                let poll = link.poll();
                tokio::pin!(poll);
                loop {
                    tokio::select! {
                        biased;
                        polled = &mut poll => break polled,
                        () = &mut silence, if limit.is_some() => {
                            let limit = limit.unwrap_or_default();
                            if heard + limit <= Instant::now() {
                                break Err(format!("nothing from the broker for {limit:?}: the path is dead"));
                            }
                            silence.as_mut().reset(heard + limit);
                        }
                    }
                }
            };
            match polled {
                Ok(event) => {
                    // What rumqttc read in the same go (PUBACKs come in bunches) is taken
                    // from its queue, in the order its next polls would return it.
                    let mut next = Some(event);
                    while let Some(event) = next {
                        if event.incoming() {
                            heard = Instant::now();
                        }
                        if matches!(event, LinkEvent::Connected { .. }) {
                            failures = 0;
                        }
                        if !self.on_event(event, &metrics) || self.stopped(&stop) {
                            return Ok(());
                        }
                        next = link.queued();
                    }
                }
                Err(e) => {
                    // Answers read with the connection's end still count for it.
                    for answer in link.answers_left() {
                        self.on_event(answer, &metrics);
                    }
                    {
                        // Under the lock the relay publishes under: nothing slips in
                        // between, and the relay starts again from the store.
                        let mut s = lock(&self.shared);
                        s.connected = false;
                        link.forget_publishes();
                        s.correlator.reset();
                    }
                    let was_connected = self.state.borrow().connected;
                    if was_connected {
                        log::warn!("mqtt connection lost: {e}");
                    } else {
                        log::debug!("mqtt connect failed: {e}");
                    }
                    metrics.inc("telbridge_mqtt_errors_total");
                    self.state.send_modify(|st| {
                        st.connected = false;
                        st.subscribed = false;
                        st.errors += 1;
                        st.last_error = Some(e);
                    });
                    failures = failures.saturating_add(1);
                    let u32_random = u32::from_le_bytes(crate::event::random_bytes());
                    let delay = backoff_delay(failures, self.backoff.0, self.backoff.1, u32_random);
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = stop.cancelled() => return Ok(()),
                    }
                }
            }
            if self.stopped(&stop) {
                return Ok(());
            }
        }
    }

    /// Asked to stop and no connection left to close: after every event, as the publisher
    /// may have given up on a link that a queued CONNACK then brings back.
    fn stopped(&self, stop: &CancellationToken) -> bool {
        stop.is_cancelled() && !lock(&self.shared).connected
    }

    /// Acts on one event of a working connection; false when the connection was closed
    /// on purpose (the task ends).
    fn on_event(&self, event: LinkEvent, metrics: &Metrics) -> bool {
        match event {
            LinkEvent::Connected { session_present, max_packet } => {
                {
                    let mut s = lock(&self.shared);
                    s.connected = true;
                    s.connection += 1;
                }
                log::info!("mqtt connected (session present: {session_present})");
                metrics.inc("telbridge_mqtt_connects_total");
                self.state.send_modify(|st| {
                    st.connected = true;
                    st.subscribed = false;
                    st.connects += 1;
                    st.max_packet = max_packet;
                });
            }
            LinkEvent::Published(pkid) => lock(&self.shared).correlator.published(pkid),
            LinkEvent::Collided(pkid) => lock(&self.shared).correlator.collided(pkid),
            LinkEvent::PubAck(pkid) => {
                if let Some(tag) = lock(&self.shared).correlator.acked(pkid) {
                    let _ = self.acks.send(tag);
                }
            }
            LinkEvent::Refused { pkid, reason } => match lock(&self.shared).correlator.acked(pkid) {
                Some(Some(seq)) => {
                    let _ = self.refused.send((seq, reason));
                }
                // The status refused: still an answer (the connection works).
                Some(None) => {
                    let _ = self.acks.send(None);
                }
                None => {}
            },
            LinkEvent::Message { topic, payload, ack } => {
                let _ = self.incoming.send(Incoming { topic, payload, ack });
            }
            LinkEvent::Subscribed { granted } => {
                if !granted {
                    log::error!("mqtt: the broker refused the command subscription: no command can reach the agent");
                    metrics.inc("telbridge_mqtt_subscribe_refused_total");
                }
                self.state.send_modify(|st| st.subscribed = granted);
            }
            LinkEvent::Disconnected => {
                lock(&self.shared).connected = false;
                self.state.send_modify(|st| {
                    st.connected = false;
                    st.subscribed = false;
                });
                return false;
            }
            LinkEvent::Other { .. } => {}
        }
        true
    }
}
