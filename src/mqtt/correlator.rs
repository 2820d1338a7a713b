//! Which outbox row each in-flight packet id carries — pure state, no I/O.
//!
//! rumqttc assigns packet ids inside its event loop and reports them only as
//! `Outgoing::Publish(pkid)`, in the order requests were queued. So every QoS 1 publish
//! is first announced here ([`Correlator::queued`], `None` for publishes that are not
//! outbox rows) and matched in FIFO order when its pkid appears. (A pkid already mapped
//! would be a re-send of the same packet: nothing is popped.)
//!
//! On a connection error the poll task makes rumqttc forget every publish it holds (see
//! `link`) and [`Correlator::reset`] forgets the same: the relay re-publishes every
//! unacknowledged row from the store on the next connection.

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

    /// The broker acknowledged a pkid: the tag of the publish it carried (`Some(None)`: the
    /// status, no row), or `None` when no publish waits under it.
    pub fn acked(&mut self, pkid: u16) -> Option<Tag> {
        self.by_pkid.remove(&pkid)
    }

    /// The connection failed and rumqttc forgot its publishes: so does this.
    pub fn reset(&mut self) {
        *self = Correlator::default();
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
        assert_eq!(c.acked(3), Some(Some(11)));
        assert_eq!(c.acked(2), Some(None), "the status: acknowledged, no row");
        assert_eq!(c.acked(1), Some(Some(10)));
        assert_eq!(c.acked(1), None, "a second ack for a pkid is ignored");
    }

    #[test]
    fn a_reset_forgets_every_queued_and_sent_publish() {
        let mut c = Correlator::default();
        c.queued(Some(1));
        c.queued(Some(2));
        c.published(1);
        c.reset();
        c.queued(Some(3)); // the relay starts again on the new connection
        c.published(1);
        assert_eq!(c.acked(1), Some(Some(3)), "pkid 1 now carries the new connection's first row");
    }

    #[test]
    fn a_collided_publish_keeps_its_row_until_it_goes_out() {
        let mut c = Correlator::default();
        c.queued(Some(1));
        c.queued(Some(2));
        c.published(1);
        c.collided(1);
        assert_eq!(c.acked(1), Some(Some(1)));
        c.published(1); // the parked publish is sent on the freed pkid
        assert_eq!(c.acked(1), Some(Some(2)));
    }
}
