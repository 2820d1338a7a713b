//! Which outbox row each in-flight packet id carries — pure state, no I/O.
//!
//! rumqttc assigns packet ids inside its event loop and reports them only as
//! `Outgoing::Publish(pkid)`, in the order requests were queued. So every QoS 1 publish
//! is first announced here ([`Correlator::queued`], `None` for publishes that are not
//! outbox rows) and matched in FIFO order when its pkid appears. A pkid already mapped
//! is a re-send of the same packet after a resumed session: nothing is popped.
//!
//! On a connection error rumqttc moves the requests it had not handled yet (pkid 0) into
//! its `pending` list; they are the oldest unmatched entries here. If the next CONNACK
//! says the session is new, rumqttc drops `pending`: [`Correlator::connected`] drops the
//! same entries and forgets the pkid map, and the relay re-publishes every unacked row
//! from the store. Entries queued after the error (still in rumqttc's channel) survive
//! and are matched normally.

use std::collections::{HashMap, VecDeque};

/// An outbox sequence number, or None for a publish that is not an outbox row.
pub type Tag = Option<i64>;

#[derive(Debug, Default)]
pub struct Correlator {
    queued: VecDeque<Tag>,
    by_pkid: HashMap<u16, Tag>,
    /// Entries at the front of `queued` that rumqttc holds in `pending` after an error.
    pending_front: usize,
    /// A publish rumqttc parked because its pkid collided; it goes out later.
    collided: Option<(u16, Tag)>,
}

impl Correlator {
    /// A QoS 1 publish is about to be handed to the client.
    pub fn queued(&mut self, tag: Tag) {
        self.queued.push_back(tag);
    }

    /// rumqttc wrote a publish with this pkid.
    pub fn published(&mut self, pkid: u16) {
        if self.by_pkid.contains_key(&pkid) {
            return; // re-send of a packet we already know
        }
        let tag = match self.collided.take() {
            Some((p, tag)) if p == pkid => tag,
            other => {
                self.collided = other;
                self.pop()
            }
        };
        self.by_pkid.insert(pkid, tag);
    }

    /// rumqttc parked a publish on a pkid collision (`Outgoing::AwaitAck`).
    pub fn collided(&mut self, pkid: u16) {
        let tag = self.pop();
        self.collided = Some((pkid, tag));
    }

    fn pop(&mut self) -> Tag {
        self.pending_front = self.pending_front.saturating_sub(1);
        self.queued.pop_front().flatten()
    }

    /// The broker acknowledged a pkid: the outbox row it carried, if any.
    pub fn acked(&mut self, pkid: u16) -> Tag {
        self.by_pkid.remove(&pkid).flatten()
    }

    /// The connection failed; rumqttc now holds `unhandled` never-sent publishes.
    pub fn disconnected(&mut self, unhandled: usize) {
        self.pending_front = unhandled.min(self.queued.len());
    }

    /// A CONNACK arrived. Returns true when the relay must re-publish from the store.
    pub fn connected(&mut self, session_present: bool) -> bool {
        if session_present {
            return false;
        }
        self.queued.drain(..self.pending_front);
        self.pending_front = 0;
        self.by_pkid.clear();
        self.collided = None;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_map_back_to_rows_in_queue_order() {
        let mut c = Correlator::default();
        c.queued(Some(10));
        c.queued(None); // the retained status message
        c.queued(Some(11));
        c.published(1);
        c.published(2);
        c.published(3);
        assert_eq!(c.acked(3), Some(11));
        assert_eq!(c.acked(2), None);
        assert_eq!(c.acked(1), Some(10));
        assert_eq!(c.acked(1), None, "a second ack for a pkid is ignored");
    }

    #[test]
    fn a_resent_pkid_after_a_resumed_session_pops_nothing() {
        let mut c = Correlator::default();
        c.queued(Some(1));
        c.queued(Some(2));
        c.published(1);
        c.disconnected(1); // request 2 was still unhandled
        assert!(!c.connected(true));
        c.published(1); // re-send from pending, same pkid
        c.published(2); // the unhandled one gets its pkid now
        assert_eq!(c.acked(2), Some(2));
        assert_eq!(c.acked(1), Some(1));
    }

    #[test]
    fn a_new_session_drops_what_rumqttc_dropped_and_keeps_later_requests() {
        let mut c = Correlator::default();
        c.queued(Some(1));
        c.queued(Some(2));
        c.published(1);
        c.disconnected(1); // row 2 sits in rumqttc's pending
        c.queued(Some(3)); // queued after the error: still in the channel
        assert!(c.connected(false), "relay must republish");
        c.published(7); // the stray request for row 3 goes out first
        assert_eq!(c.acked(7), Some(3));
        assert_eq!(c.acked(1), None, "pkid map forgotten");
    }

    #[test]
    fn a_collided_publish_keeps_its_row_until_it_goes_out() {
        let mut c = Correlator::default();
        c.queued(Some(1));
        c.queued(Some(2));
        c.published(1);
        c.collided(1);
        assert_eq!(c.acked(1), Some(1));
        c.published(1); // the parked publish is sent on the freed pkid
        assert_eq!(c.acked(1), Some(2));
    }
}
