//! Rows a broker keeps ending the connection over, held back so the rest can flow.
//!
//! An MQTT 3.1.1 broker has no way to refuse one message: one over its packet limit (which
//! it cannot announce), or on a topic its rules deny (AWS IoT, EMQX's `deny_action =
//! disconnect`), ends the connection. The relay then sent the same row first again on the
//! next one, and nothing behind it was ever relayed.
//!
//! So after a connection ends with rows sent and none answered, the next ones **probe**:
//! the relay sends its status, waits for the broker to acknowledge it (the connection
//! works), then sends one row alone. When [`STRIKES`] probes in a row end with that same
//! row unanswered, it is the row: it is held back for [`HOLD`] (reported as
//! `relay.refused`), then sent again. A row answered ends the probing. (Rows sent together
//! cannot tell which one ended the connection: a broker's reset can take the PUBACK of the
//! row before the culprit with it.)
//!
//! The status itself can be what the broker refuses: AWS IoT ends the connection over a
//! retained publish when the policy lacks `iot:RetainPublish`. Then every probe ended
//! before its row, and nothing was ever relayed. When [`STRIKES`] connections in a row end
//! within [`STATUS_WAIT`] of their status, with it unanswered and nothing else sent, the
//! status is held back for [`HOLD`] like a row: connections then send none, and the rows
//! flow.

use super::correlator::Tag;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Probes in a row that must end over the same row before it is held back.
pub const STRIKES: u32 = 3;
/// How long a row is held back before it is sent again.
pub const HOLD: Duration = Duration::from_secs(3600);
/// Rows held back at once, at most (each cost [`STRIKES`] connections; a broker that
/// refuses every row is not worth more).
pub const HELD_MAX: usize = 16;

/// How a connection ended, as the relay saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The broker answered a row sent on it.
    Answered,
    /// Rows were sent and none answered; `oldest` the first of them, `alone` when it was a
    /// probe's one row, sent after the broker acknowledged the status.
    Unanswered { oldest: i64, alone: bool },
    /// Its status was all it sent, and it ended within [`STATUS_WAIT`], unanswered.
    StatusUnanswered,
    /// Its status was all it sent, and the broker acknowledged it.
    StatusAnswered,
    /// No row was sent on it.
    Idle,
}

/// What a connection's end holds back from now on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// The outbox row with this `seq`.
    Row(i64),
    /// The retained `online` status.
    Status,
}

/// What the relay knows of the connections that ended.
#[derive(Debug, Default)]
pub struct Strikes {
    /// Connections probe (see the module's doc).
    probing: bool,
    /// The row the last probes ended over, and how many in a row.
    last: Option<(i64, u32)>,
    /// Rows held back, with when their hold ends.
    held: BTreeMap<i64, Instant>,
    /// Connections in a row that ended over their status.
    status_strikes: u32,
    /// Until when the status is held back, if it is.
    status_held: Option<Instant>,
}

impl Strikes {
    /// A connection ended as `how`: what to hold back from now on, when this was the
    /// [`STRIKES`]th probe in a row to end over it.
    pub fn ended(&mut self, how: Ended, now: Instant) -> Option<Held> {
        if how != Ended::Idle {
            self.status_strikes = if how == Ended::StatusUnanswered { self.status_strikes + 1 } else { 0 };
        }
        let seq = match how {
            Ended::Answered => {
                (self.probing, self.last) = (false, None);
                return None;
            }
            Ended::Idle | Ended::StatusAnswered => return None,
            Ended::StatusUnanswered => {
                if self.status_strikes < STRIKES {
                    return None;
                }
                self.status_strikes = 0;
                self.status_held = Some(now + HOLD);
                return Some(Held::Status);
            }
            Ended::Unanswered { alone: false, .. } => {
                self.probing = true;
                return None;
            }
            Ended::Unanswered { oldest, alone: true } => oldest,
        };
        self.probing = true;
        let count = match self.last {
            Some((last, n)) if last == seq => n + 1,
            _ => 1,
        };
        self.last = Some((seq, count));
        if count < STRIKES {
            return None;
        }
        self.last = None;
        self.held.retain(|_, until| now < *until);
        if self.held.len() >= HELD_MAX {
            log::warn!("row {seq} ended {STRIKES} connections, but {HELD_MAX} rows are held back already");
            return None;
        }
        self.held.insert(seq, now + HOLD);
        Some(Held::Row(seq))
    }

    /// Whether the status is held back at `now`.
    pub fn holds_status(&self, now: Instant) -> bool {
        self.status_held.is_some_and(|until| now < until)
    }

    /// Whether connections probe: one row at a time after the status is acknowledged.
    pub fn probing(&self) -> bool {
        self.probing
    }

    /// Whether row `seq` is held back at `now` (asked for only when some row is held).
    pub fn holds(&self, seq: i64, now: impl FnOnce() -> Instant) -> bool {
        self.held.get(&seq).is_some_and(|until| now() < *until)
    }

    /// When the next hold ends, if a row or the status is held.
    pub fn next_release(&self) -> Option<Instant> {
        self.held.values().chain(&self.status_held).min().copied()
    }

    /// Forgets the holds that ended by `now`: those rows are sent again. Whether the
    /// status' hold was one of them (it is then published again).
    pub fn expire(&mut self, now: Instant) -> bool {
        self.held.retain(|_, until| now < *until);
        let status = self.status_held.is_some_and(|until| until <= now);
        if status {
            self.status_held = None;
        }
        status
    }
}

/// How long the broker's acknowledgement of the status is waited for: a probe sends no row
/// before, and a connection that ends within it with the status unanswered and nothing
/// else sent ended over the status.
pub const STATUS_WAIT: Duration = Duration::from_secs(5);

/// What the broker answered on one connection .
#[derive(Debug, Default)]
pub struct Answers {
    /// The connection probes: rows go one at a time, after the status is acknowledged.
    pub probe: bool,
    /// The broker acknowledged the status.
    pub status: bool,
    /// Until when the status' answer is waited for, once it is sent. A probe sends no row
    /// before (then it sends its row anyway, but a row that ends the connection is not
    /// blamed: the connection was never seen to work).
    pub status_wait: Option<tokio::time::Instant>,
    /// The broker answered a row (acknowledged or refused it).
    pub row: bool,
    /// The status is held back: not published on this connection, so a probe's row goes
    /// at once, and one that ends the connection is blamed.
    pub status_held: bool,
}

impl Answers {
    /// How many rows may be in flight: the window, or while probing none until the status
    /// is acknowledged, then one until a row is answered.
    pub fn window(&self, window: usize) -> usize {
        match (self.probe && !self.row, self.status || self.status_wait.is_none()) {
            (false, _) => window,
            (true, false) => 0,
            (true, true) => 1,
        }
    }

    /// The broker acknowledged the publishes `tags` (the status has none): the rows
    /// delivered, taken out of `in_flight`.
    pub fn acked(&mut self, tags: impl Iterator<Item = Tag>, in_flight: &mut BTreeMap<i64, bool>) -> Vec<i64> {
        let mut rows = Vec::new();
        for tag in tags {
            match tag {
                Some(seq) => {
                    in_flight.remove(&seq);
                    rows.push(seq);
                }
                None => (self.status, self.status_wait) = (true, None),
            }
        }
        self.row |= !rows.is_empty();
        rows
    }

    /// An MQTT 5 broker refused row `seq`: whether it is a `relay.refused` alarm itself.
    pub fn refused(&mut self, seq: i64, in_flight: &mut BTreeMap<i64, bool>) -> bool {
        self.row = true;
        in_flight.remove(&seq).unwrap_or(false)
    }

    /// How the connection ended, with `in_flight` unanswered.
    pub fn ended(&self, in_flight: &BTreeMap<i64, bool>) -> Ended {
        match in_flight.first_key_value() {
            _ if self.row => Ended::Answered,
            Some((&oldest, _)) => Ended::Unanswered {
                oldest,
                alone: self.probe && (self.status || self.status_held) && in_flight.len() == 1,
            },
            None if self.status => Ended::StatusAnswered,
            // The status went out and the wait for its answer had not run out.
            None if self.status_wait.is_some() => Ended::StatusUnanswered,
            None => Ended::Idle,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(seq: i64) -> Ended {
        Ended::Unanswered { oldest: seq, alone: true }
    }

    #[test]
    fn a_row_is_held_back_after_three_probes_in_a_row_end_over_it() {
        let (mut strikes, t0) = (Strikes::default(), Instant::now());
        assert!(!strikes.probing());
        // Rows sent together: which one ended it is not known yet.
        assert_eq!(strikes.ended(Ended::Unanswered { oldest: 6, alone: false }, t0), None);
        assert!(strikes.probing(), "one row at a time now");
        assert_eq!(strikes.ended(probe(7), t0), None);
        assert_eq!(strikes.ended(probe(7), t0), None);
        assert!(!strikes.holds(7, || t0));
        assert_eq!(strikes.ended(probe(7), t0), Some(Held::Row(7)));
        assert!(strikes.holds(7, || t0));
        assert!(!strikes.holds(8, || t0));
        assert_eq!(strikes.next_release(), Some(t0 + HOLD));
        // Sent again once the hold ends.
        assert!(!strikes.holds(7, || t0 + HOLD));
        strikes.expire(t0 + HOLD);
        assert_eq!(strikes.next_release(), None);
    }

    #[test]
    fn an_answer_or_another_row_in_between_starts_the_count_again() {
        let (mut strikes, t0) = (Strikes::default(), Instant::now());
        strikes.ended(probe(7), t0);
        strikes.ended(probe(7), t0);
        strikes.ended(Ended::Answered, t0);
        assert!(!strikes.probing());
        strikes.ended(probe(7), t0);
        strikes.ended(probe(8), t0);
        assert_eq!(strikes.ended(probe(7), t0), None);
        assert!(!strikes.holds(7, || t0));
    }

    #[test]
    fn a_connection_that_sent_nothing_changes_nothing() {
        let (mut strikes, t0) = (Strikes::default(), Instant::now());
        for how in [probe(7), probe(7), Ended::Idle] {
            assert_eq!(strikes.ended(how, t0), None);
        }
        assert!(strikes.probing());
        assert_eq!(strikes.ended(probe(7), t0), Some(Held::Row(7)));
    }

    #[test]
    fn rows_sent_together_are_never_blamed() {
        let (mut strikes, t0) = (Strikes::default(), Instant::now());
        for _ in 0..10 {
            assert_eq!(strikes.ended(Ended::Unanswered { oldest: 7, alone: false }, t0), None);
        }
        assert!(!strikes.holds(7, || t0));
    }

    #[test]
    fn no_more_than_the_cap_of_rows_are_held_at_once() {
        let (mut strikes, t0) = (Strikes::default(), Instant::now());
        let mut hold = |seq, at| (0..STRIKES).find_map(|_| strikes.ended(probe(seq), at));
        let held = (1..=HELD_MAX as i64 + 1).filter_map(|seq| hold(seq, t0)).count();
        assert_eq!(held, HELD_MAX);
        // Once holds end, another row may be held.
        assert_eq!(hold(1000, t0 + HOLD), Some(Held::Row(1000)));
    }

    #[test]
    fn a_probe_sends_nothing_until_the_status_is_answered_then_one_row_until_a_row_is() {
        let mut conn = Answers { probe: true, status_wait: Some(tokio::time::Instant::now()), ..Answers::default() };
        assert_eq!(conn.window(10), 0);
        let mut in_flight = BTreeMap::new();
        assert!(conn.acked([None].into_iter(), &mut in_flight).is_empty(), "the status is no row");
        assert_eq!(conn.window(10), 1);
        in_flight.insert(5, false);
        assert_eq!(conn.ended(&in_flight), Ended::Unanswered { oldest: 5, alone: true });
        assert_eq!(conn.acked([Some(5)].into_iter(), &mut in_flight), vec![5]);
        assert!(in_flight.is_empty());
        assert_eq!(conn.window(10), 10);
        assert_eq!(conn.ended(&in_flight), Ended::Answered);
    }

    #[test]
    fn a_probe_whose_status_went_unanswered_blames_no_row() {
        // The wait ran out: one row goes, but the connection was never seen to work.
        let conn = Answers { probe: true, ..Answers::default() };
        assert_eq!(conn.window(10), 1);
        let in_flight = BTreeMap::from([(5, false)]);
        assert_eq!(conn.ended(&in_flight), Ended::Unanswered { oldest: 5, alone: false });
        // Not probing: rows go together, none is blamed.
        let conn = Answers::default();
        assert_eq!(conn.window(10), 10);
        let in_flight = BTreeMap::from([(5, false), (6, false)]);
        assert_eq!(conn.ended(&in_flight), Ended::Unanswered { oldest: 5, alone: false });
        assert_eq!(conn.ended(&BTreeMap::new()), Ended::Idle);
    }

    #[test]
    fn the_status_is_held_back_after_three_probes_in_a_row_end_over_it_alone() {
        let (mut strikes, t0) = (Strikes::default(), Instant::now());
        strikes.ended(Ended::Unanswered { oldest: 6, alone: false }, t0);
        assert_eq!(strikes.ended(Ended::StatusUnanswered, t0), None);
        assert_eq!(strikes.ended(Ended::StatusUnanswered, t0), None);
        assert!(!strikes.holds_status(t0));
        assert_eq!(strikes.ended(Ended::StatusUnanswered, t0), Some(Held::Status));
        assert!(strikes.holds_status(t0));
        assert_eq!(strikes.next_release(), Some(t0 + HOLD));
        assert!(strikes.probing(), "rows still go one at a time until one is answered");
        // The hold ends: the status is published again.
        assert!(!strikes.expire(t0 + HOLD - Duration::from_secs(1)));
        assert!(strikes.expire(t0 + HOLD));
        assert!(!strikes.holds_status(t0 + HOLD));
        assert_eq!(strikes.next_release(), None);
    }

    #[test]
    fn a_status_strike_count_starts_again_after_any_other_end_but_an_idle_one() {
        let (mut strikes, t0) = (Strikes::default(), Instant::now());
        let others = [Ended::Answered, Ended::StatusAnswered, probe(7), Ended::Unanswered { oldest: 7, alone: false }];
        for other in others {
            strikes.ended(Ended::StatusUnanswered, t0);
            strikes.ended(Ended::StatusUnanswered, t0);
            strikes.ended(other, t0);
            assert_eq!(strikes.ended(Ended::StatusUnanswered, t0), None, "after {other:?}");
            strikes.ended(Ended::Answered, t0);
        }
        strikes.ended(Ended::StatusUnanswered, t0);
        strikes.ended(Ended::StatusUnanswered, t0);
        strikes.ended(Ended::Idle, t0);
        assert_eq!(strikes.ended(Ended::StatusUnanswered, t0), Some(Held::Status));
    }

    #[test]
    fn a_connection_ended_with_only_its_status_unanswered_says_so_unless_the_wait_ran_out() {
        for probe in [false, true] {
            let waiting = Answers { probe, status_wait: Some(tokio::time::Instant::now()), ..Answers::default() };
            assert_eq!(waiting.ended(&BTreeMap::new()), Ended::StatusUnanswered);
            assert_eq!(waiting.window(10), if probe { 0 } else { 10 });
        }
        let ran_out = Answers { probe: true, ..Answers::default() };
        assert_eq!(ran_out.ended(&BTreeMap::new()), Ended::Idle);
        let answered = Answers { probe: true, status: true, ..Answers::default() };
        assert_eq!(answered.ended(&BTreeMap::new()), Ended::StatusAnswered);
    }

    #[test]
    fn while_the_status_is_held_a_probes_row_goes_at_once_and_is_blamed_alone() {
        let conn = Answers { probe: true, status_held: true, ..Answers::default() };
        assert_eq!(conn.window(10), 1);
        let in_flight = BTreeMap::from([(5, false)]);
        assert_eq!(conn.ended(&in_flight), Ended::Unanswered { oldest: 5, alone: true });
        assert_eq!(conn.ended(&BTreeMap::new()), Ended::Idle);
    }
}
