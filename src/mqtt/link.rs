//! One face for rumqttc's MQTT 3.1.1 and MQTT 5 clients, so the relay is written once.
//!
//! [`LinkLoop`] owns the event loop and turns its events into [`LinkEvent`]s;
//! [`LinkClient`] queues requests. Everything QoS 1 the agent publishes goes through
//! [`LinkClient::try_publish`]; incoming commands come with an [`AckToken`] that is handed
//! back to [`LinkClient::ack`] once the command is stored.
//!
//! rumqttc re-sends a lost connection's unacknowledged publishes itself, but not in the
//! order they were first sent when two drops come close together (its `clean()` appends
//! the re-sends after requests it had not handled yet). The relay owns re-sending
//! instead: after every connection error [`LinkLoop::forget_publishes`] empties rumqttc's
//! queues of publishes, and the relay starts again from the store, in outbox order.

use crate::config::{MqttConfig, MqttProtocol};
use rumqttc::v5;
use std::time::Duration;

/// Options for building a link, beyond the config: identity, will, TLS.
#[derive(Clone)]
pub struct LinkOptions {
    pub client_id: String,
    pub will_topic: String,
    pub will_payload: Vec<u8>,
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

/// What the event loop reported, reduced to what the relay needs.
#[derive(Debug)]
pub enum LinkEvent {
    Connected {
        session_present: bool,
        /// MQTT 5: the largest packet the broker takes (its CONNACK's Maximum Packet Size).
        max_packet: Option<u32>,
    },
    /// A publish went out under this packet id.
    Published(u16),
    /// A publish was parked on a packet id collision.
    Collided(u16),
    PubAck(u16),
    /// MQTT 5: the broker acknowledged a publish with a failure reason (not authorised,
    /// quota exceeded, …): it did not take the message.
    Refused {
        pkid: u16,
        reason: String,
    },
    Message {
        topic: String,
        payload: Vec<u8>,
        ack: Box<AckToken>,
    },
    /// The broker answered a SUBSCRIBE: `granted` when it took every filter (a broker's
    /// ACL can refuse the command topics while letting the agent connect and publish).
    Subscribed {
        granted: bool,
    },
    /// The client sent DISCONNECT: the loop is done.
    Disconnected,
    /// Anything else: `incoming` when the broker sent it (a PINGRESP, a SUBACK, …).
    Other {
        incoming: bool,
    },
}

impl LinkEvent {
    /// Whether the broker sent this: proof the path is alive.
    pub fn incoming(&self) -> bool {
        match self {
            LinkEvent::Connected { .. }
            | LinkEvent::PubAck(_)
            | LinkEvent::Refused { .. }
            | LinkEvent::Subscribed { .. }
            | LinkEvent::Message { .. } => true,
            LinkEvent::Other { incoming } => *incoming,
            LinkEvent::Published(_) | LinkEvent::Collided(_) | LinkEvent::Disconnected => false,
        }
    }
}

/// The incoming publish to acknowledge once it is stored.
#[derive(Debug, Clone)]
pub enum AckToken {
    V4(rumqttc::Publish),
    V5(v5::mqttbytes::v5::Publish),
}

/// The request side of the link.
#[derive(Clone, Debug)]
pub enum LinkClient {
    V4(rumqttc::AsyncClient),
    V5(v5::AsyncClient),
}

/// The event-loop side of the link; poll it from one task only.
pub enum LinkLoop {
    /// The event loop and its outgoing packet limit (rumqttc has no getter for it).
    V4(Box<rumqttc::EventLoop>, usize),
    V5(Box<v5::EventLoop>),
}

/// Builds both halves from the config. `window` bounds rumqttc's own in-flight queue.
pub fn build(config: &MqttConfig, opts: LinkOptions, window: u16) -> (LinkClient, LinkLoop) {
    // rumqttc's in-flight slots: the outbox window plus room for status and results.
    let inflight = window.saturating_add(8);
    let keep_alive = Duration::from_secs(config.keep_alive_secs);
    let capacity = usize::from(inflight) * 2;
    // Small packets, latency-bound: Nagle's algorithm would hold bursts behind delayed ACKs.
    let mut network = rumqttc::NetworkOptions::new();
    network.set_tcp_nodelay(true);
    let transport = match &opts.tls {
        Some(tls) => rumqttc::Transport::Tls(rumqttc::TlsConfiguration::Rustls(tls.clone())),
        None => rumqttc::Transport::Tcp,
    };
    match config.protocol {
        MqttProtocol::V4 => {
            let mut o = rumqttc::MqttOptions::new(&opts.client_id, &config.host, config.port);
            o.set_keep_alive(keep_alive)
                .set_clean_session(config.clean_session)
                .set_inflight(inflight)
                .set_manual_acks(true)
                .set_request_channel_capacity(capacity)
                .set_max_packet_size(config.max_incoming_packet(), config.max_payload_bytes + 4096)
                .set_transport(transport)
                .set_last_will(rumqttc::LastWill::new(
                    &opts.will_topic,
                    opts.will_payload.clone(),
                    rumqttc::QoS::AtLeastOnce,
                    true,
                ));
            if !config.username.is_empty() {
                o.set_credentials(&config.username, config.password.expose());
            }
            let (client, mut eventloop) = rumqttc::AsyncClient::new(o, capacity);
            eventloop.set_network_options(network);
            (LinkClient::V4(client), LinkLoop::V4(Box::new(eventloop), config.max_payload_bytes + 4096))
        }
        MqttProtocol::V5 => {
            let mut o = v5::MqttOptions::new(&opts.client_id, &config.host, config.port);
            o.set_keep_alive(keep_alive)
                .set_clean_start(config.clean_session)
                .set_outgoing_inflight_upper_limit(inflight)
                .set_manual_acks(true)
                .set_request_channel_capacity(capacity)
                .set_max_packet_size(Some(config.max_incoming_packet() as u32))
                .set_transport(transport)
                .set_network_options(network)
                .set_last_will(v5::mqttbytes::v5::LastWill::new(
                    &opts.will_topic,
                    opts.will_payload.clone(),
                    v5::mqttbytes::QoS::AtLeastOnce,
                    true,
                    None,
                ));
            if !config.clean_session {
                // MQTT 5 ends a session at disconnect unless told to keep it.
                o.set_session_expiry_interval(Some(7 * 24 * 3600));
            }
            if !config.username.is_empty() {
                o.set_credentials(&config.username, config.password.expose());
            }
            let (client, eventloop) = v5::AsyncClient::new(o, capacity);
            (LinkClient::V5(client), LinkLoop::V5(Box::new(eventloop)))
        }
    }
}

/// The size of the MQTT 5 QoS 1 PUBLISH packet (no properties) that carries `payload_len`
/// bytes to `topic`: what a broker's Maximum Packet Size is compared with.
pub fn publish_packet_size(topic: &str, payload_len: usize) -> usize {
    // Topic (length-prefixed), packet id, an empty property list, the payload.
    let remaining = 2 + topic.len() + 2 + 1 + payload_len;
    let length_bytes = match remaining {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    };
    1 + length_bytes + remaining
}

/// Whether [`LinkClient::try_publish`] queued the publish.
#[derive(Debug)]
pub enum Queued {
    Yes,
    /// The request channel is full: the payload, to try again later.
    Busy(Vec<u8>),
}

/// A request the event loop will not take any more (it has stopped).
#[derive(Debug, thiserror::Error)]
#[error("mqtt client: {0}")]
pub struct ClientError(String);

fn client_error(e: impl std::fmt::Display) -> ClientError {
    ClientError(e.to_string())
}

impl LinkClient {
    /// Queues a QoS 1 publish without waiting: the relay calls it under the lock the poll
    /// task takes to forget publishes, so none can slip in between. A full request
    /// channel hands the payload back ([`Queued::Busy`]).
    pub fn try_publish(&self, topic: String, payload: Vec<u8>, retain: bool) -> Result<Queued, ClientError> {
        let sent = match self {
            LinkClient::V4(c) => {
                c.try_publish(topic, rumqttc::QoS::AtLeastOnce, retain, payload).map_err(|e| match e {
                    rumqttc::ClientError::TryRequest(rumqttc::Request::Publish(p)) => Some(p.payload.to_vec()),
                    _ => None,
                })
            }
            LinkClient::V5(c) => {
                c.try_publish(topic, v5::mqttbytes::QoS::AtLeastOnce, retain, payload).map_err(|e| match e {
                    v5::ClientError::TryRequest(v5::Request::Publish(p)) => Some(p.payload.to_vec()),
                    _ => None,
                })
            }
        };
        match sent {
            Ok(()) => Ok(Queued::Yes),
            Err(Some(payload)) => Ok(Queued::Busy(payload)),
            Err(None) => Err(ClientError("the event loop has stopped".into())),
        }
    }

    /// Subscribes at QoS 1.
    pub async fn subscribe(&self, filter: String) -> Result<(), ClientError> {
        match self {
            LinkClient::V4(c) => c.subscribe(filter, rumqttc::QoS::AtLeastOnce).await.map_err(client_error),
            LinkClient::V5(c) => c.subscribe(filter, v5::mqttbytes::QoS::AtLeastOnce).await.map_err(client_error),
        }
    }

    /// Acknowledges an incoming publish (after it was stored).
    pub async fn ack(&self, token: &AckToken) -> Result<(), ClientError> {
        match (self, token) {
            (LinkClient::V4(c), AckToken::V4(p)) => c.ack(p).await.map_err(client_error),
            (LinkClient::V5(c), AckToken::V5(p)) => c.ack(p).await.map_err(client_error),
            _ => Err(ClientError("ack token of the other protocol version".into())),
        }
    }

    /// Sends DISCONNECT (the broker then discards the last will).
    pub async fn disconnect(&self) -> Result<(), ClientError> {
        match self {
            LinkClient::V4(c) => c.disconnect().await.map_err(client_error),
            LinkClient::V5(c) => c.disconnect().await.map_err(client_error),
        }
    }
}

/// The most an over-limit message may raise the incoming limit to (see [`LinkLoop::poll`]).
pub const READ_ONCE_CAP: usize = 16 * 1024 * 1024;

impl LinkLoop {
    /// The next event; not cancel-safe: call it from one task, never inside `select!`.
    ///
    /// MQTT 3.1.1 has no way to tell the broker the largest packet the agent takes: a
    /// larger command kills the connection, and with a kept session the broker delivers it
    /// again on every reconnect — a loop in which nothing else is answered. So when a
    /// packet is too large, the limit is raised to its size (up to [`READ_ONCE_CAP`]) for
    /// the next connection: the message is read once, and the dispatcher answers it
    /// `too_large`. (MQTT 5 sends the limit in CONNECT; the broker then drops such messages.)
    pub async fn poll(&mut self) -> Result<LinkEvent, String> {
        match self {
            LinkLoop::V4(el, outgoing) => match el.poll().await {
                Ok(event) => Ok(from_v4(event)),
                Err(e) => {
                    use rumqttc::{ConnectionError, StateError, mqttbytes::Error};
                    if let ConnectionError::MqttState(StateError::Deserialization(Error::PayloadSizeLimitExceeded(n))) =
                        &e
                        && *n <= READ_ONCE_CAP
                    {
                        el.mqtt_options.set_max_packet_size(*n + 16, *outgoing);
                        log::warn!("an incoming message of {n} bytes is over the limit; reading it once to refuse it");
                    }
                    Err(e.to_string())
                }
            },
            LinkLoop::V5(el) => el.poll().await.map(from_v5).map_err(|e| e.to_string()),
        }
    }

    /// The next event rumqttc has already queued (it reads every packet that has arrived
    /// in one go), without polling: what its next poll would return first. Only after a
    /// poll returned an event: the connection is up then.
    pub fn queued(&mut self) -> Option<LinkEvent> {
        match self {
            LinkLoop::V4(el, _) if el.network.is_none() => None,
            LinkLoop::V4(el, _) => el.state.events.pop_front().map(from_v4),
            LinkLoop::V5(el) => el.state.events.pop_front().map(from_v5),
        }
    }

    /// After a connection error: the answers (PUBACKs, MQTT 5 refusals) rumqttc read in the
    /// same go as the connection's end, taken from its queue: they answer publishes of the
    /// connection that ended (dropped, those rows would be sent again and taken for unanswered).
    pub fn answers_left(&mut self) -> Vec<LinkEvent> {
        let mut answers = Vec::new();
        match self {
            LinkLoop::V4(el, _) => el.state.events.retain(|e| match e {
                rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_)) => {
                    answers.push(from_v4(e.clone()));
                    false
                }
                _ => true,
            }),
            LinkLoop::V5(el) => el.state.events.retain(|e| match e {
                v5::Event::Incoming(v5::mqttbytes::v5::Packet::PubAck(_)) => {
                    answers.push(from_v5(e.clone()));
                    false
                }
                _ => true,
            }),
        }
        answers
    }

    /// After a connection error: drops every publish rumqttc would send again on the next
    /// connection (un-acknowledged, not yet handled, or still in the request channel),
    /// keeping other requests, and the queued reports of publishes written to the lost
    /// connection (they would be matched against the next one's). The relay re-publishes
    /// those rows from the store, in order.
    pub fn forget_publishes(&mut self) {
        use rumqttc::Outgoing;
        let written = |o: &Outgoing| matches!(o, Outgoing::Publish(_) | Outgoing::AwaitAck(_));
        match self {
            LinkLoop::V4(el, _) => {
                el.clean();
                el.pending.retain(|r| !matches!(r, rumqttc::Request::Publish(_)));
                // A publish parked on a packet-id collision: clean() keeps it, and the next
                // connection would wait on it forever (nothing acks that id there).
                el.state.collision = None;
                el.state.collision_ping_count = 0;
                el.state.events.retain(|e| !matches!(e, rumqttc::Event::Outgoing(o) if written(o)));
            }
            LinkLoop::V5(el) => {
                el.clean();
                el.pending.retain(|r| !matches!(r, v5::Request::Publish(_)));
                // A fresh state: rumqttc numbers packets on from the last connection's last id
                // and starts again at 1 only on reaching the broker's Receive Maximum exactly.
                // A broker that comes back with a lower one (its config changed, another node)
                // than the last id would see every later publish fail, connection after
                // connection. Nothing else in it outlives a connection (QoS 1, no session).
                let mut events = std::mem::take(&mut el.state.events);
                events.retain(|e| !matches!(e, v5::Event::Outgoing(o) if written(o)));
                let limit = el.options.get_outgoing_inflight_upper_limit().unwrap_or(u16::MAX);
                el.state = v5::MqttState::new(limit, el.options.manual_acks());
                el.state.events = events;
            }
        }
    }
}

fn from_v4(event: rumqttc::Event) -> LinkEvent {
    use rumqttc::{Event, Outgoing, Packet};
    match event {
        Event::Incoming(Packet::ConnAck(c)) => {
            LinkEvent::Connected { session_present: c.session_present, max_packet: None }
        }
        Event::Incoming(Packet::PubAck(a)) => LinkEvent::PubAck(a.pkid),
        Event::Incoming(Packet::SubAck(a)) => LinkEvent::Subscribed {
            granted: a.return_codes.iter().all(|c| matches!(c, rumqttc::SubscribeReasonCode::Success(_))),
        },
        Event::Incoming(Packet::Publish(p)) => {
            LinkEvent::Message { topic: p.topic.clone(), payload: p.payload.to_vec(), ack: Box::new(AckToken::V4(p)) }
        }
        Event::Outgoing(Outgoing::Publish(pkid)) if pkid != 0 => LinkEvent::Published(pkid),
        Event::Outgoing(Outgoing::AwaitAck(pkid)) => LinkEvent::Collided(pkid),
        Event::Outgoing(Outgoing::Disconnect) => LinkEvent::Disconnected,
        Event::Incoming(_) => LinkEvent::Other { incoming: true },
        Event::Outgoing(_) => LinkEvent::Other { incoming: false },
    }
}

fn from_v5(event: v5::Event) -> LinkEvent {
    use rumqttc::Outgoing;
    use v5::Event;
    use v5::mqttbytes::v5::Packet;
    match event {
        Event::Incoming(Packet::ConnAck(c)) => LinkEvent::Connected {
            session_present: c.session_present,
            max_packet: c.properties.and_then(|p| p.max_packet_size),
        },
        Event::Incoming(Packet::PubAck(a)) => {
            use v5::mqttbytes::v5::PubAckReason;
            match a.reason {
                PubAckReason::Success | PubAckReason::NoMatchingSubscribers => LinkEvent::PubAck(a.pkid),
                reason => LinkEvent::Refused { pkid: a.pkid, reason: format!("{reason:?}") },
            }
        }
        Event::Incoming(Packet::SubAck(a)) => LinkEvent::Subscribed {
            granted: a.return_codes.iter().all(|c| matches!(c, v5::mqttbytes::v5::SubscribeReasonCode::Success(_))),
        },
        Event::Incoming(Packet::Publish(p)) => LinkEvent::Message {
            topic: String::from_utf8_lossy(&p.topic).into_owned(),
            payload: p.payload.to_vec(),
            ack: Box::new(AckToken::V5(p)),
        },
        Event::Outgoing(Outgoing::Publish(pkid)) if pkid != 0 => LinkEvent::Published(pkid),
        Event::Outgoing(Outgoing::AwaitAck(pkid)) => LinkEvent::Collided(pkid),
        Event::Outgoing(Outgoing::Disconnect) => LinkEvent::Disconnected,
        Event::Incoming(_) => LinkEvent::Other { incoming: true },
        Event::Outgoing(_) => LinkEvent::Other { incoming: false },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use v5::mqttbytes::v5::{ConnAck, ConnAckProperties, ConnectReturnCode, Packet, PubAck, Publish};

    #[test]
    fn the_publish_packet_size_is_the_one_rumqttc_checks_against_the_brokers_limit() {
        for (topic, len) in
            [("t", 0), ("telbridge/v1/a/evt/app/x/y", 90), ("t/x", 130), ("t", 16_500), ("t", 2_100_000)]
        {
            let mut publish = Publish::new(topic, v5::mqttbytes::QoS::AtLeastOnce, vec![b'x'; len], None);
            publish.pkid = 7;
            assert_eq!(publish_packet_size(topic, len), Packet::Publish(publish).size(), "{topic} {len}");
        }
    }

    /// Publishes one QoS 1 message through rumqttc's state and acknowledges it; its packet id.
    fn publish_and_ack(state: &mut v5::MqttState) -> Result<u16, v5::StateError> {
        let publish = Publish::new("t", rumqttc::v5::mqttbytes::QoS::AtLeastOnce, "x", None);
        let Some(Packet::Publish(sent)) = state.handle_outgoing_packet(v5::Request::Publish(publish))? else {
            panic!("a publish to write");
        };
        state.handle_incoming_packet(Packet::PubAck(PubAck::new(sent.pkid, None)))?;
        Ok(sent.pkid)
    }

    fn connack(receive_max: u16) -> Packet {
        let properties = ConnAckProperties {
            session_expiry_interval: None,
            receive_max: Some(receive_max),
            max_qos: None,
            retain_available: None,
            max_packet_size: None,
            assigned_client_identifier: None,
            topic_alias_max: None,
            reason_string: None,
            user_properties: Vec::new(),
            wildcard_subscription_available: None,
            subscription_identifiers_available: None,
            shared_subscription_available: None,
            server_keep_alive: None,
            response_information: None,
            server_reference: None,
            authentication_method: None,
            authentication_data: None,
        };
        Packet::ConnAck(ConnAck {
            session_present: false,
            code: ConnectReturnCode::Success,
            properties: Some(properties),
        })
    }

    #[test]
    fn mqtt_5_a_broker_back_with_a_lower_receive_maximum_does_not_run_the_packet_ids_out() {
        let mut o = v5::MqttOptions::new("t", "127.0.0.1", 1883);
        o.set_outgoing_inflight_upper_limit(72).set_manual_acks(true);
        let mut link = LinkLoop::V5(Box::new(v5::EventLoop::new(o, 10)));
        let LinkLoop::V5(el) = &mut link else { unreachable!() };
        el.state.handle_incoming_packet(connack(100)).expect("connack");
        let first: Vec<u16> = (0..60).map(|_| publish_and_ack(&mut el.state).expect("publish")).collect();
        assert_eq!(first.last(), Some(&60));
        // The connection drops; the broker comes back allowing 10 in flight.
        link.forget_publishes();
        let LinkLoop::V5(el) = &mut link else { unreachable!() };
        el.state.handle_incoming_packet(connack(10)).expect("connack");
        let next: Vec<u16> = (0..30).map(|_| publish_and_ack(&mut el.state).expect("publish")).collect();
        assert!(next.iter().all(|id| (1..=10).contains(id)), "{next:?}");
    }
}
