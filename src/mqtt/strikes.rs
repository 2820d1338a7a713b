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

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Probes in a row that must end over the same row before it is held back.
pub const STRIKES: u32 = 3;
/// How long a row is held back before it is sent again.
pub const HOLD: Duration = Duration::from_secs(3600);
/// Rows held back at once, at most (each cost [`STRIKES`] connections).
pub const HELD_MAX: usize = 64;

/// How a connection ended, as the relay saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The broker answered a row sent on it.
    Answered,
    /// Rows were sent and none answered; `oldest` the first of them, `alone` when it was a
    /// probe's one row, sent after the broker acknowledged the status.
    Unanswered { oldest: i64, alone: bool },
    /// No row was sent on it.
    Idle,
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
}

impl Strikes {
    /// A connection ended as `how`: the row to hold back from now on, when this was the
    /// [`STRIKES`]th probe in a row to end over it.
    pub fn ended(&mut self, how: Ended, now: Instant) -> Option<i64> {
        let seq = match how {
            Ended::Answered => {
                (self.probing, self.last) = (false, None);
                return None;
            }
            Ended::Idle => return None,
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
        self.expire(now);
        if self.held.len() >= HELD_MAX {
            log::warn!("row {seq} ended {STRIKES} connections, but {HELD_MAX} rows are held back already");
            return None;
        }
        self.held.insert(seq, now + HOLD);
        Some(seq)
    }

    /// Whether connections probe: one row at a time after the status is acknowledged.
    pub fn probing(&self) -> bool {
        self.probing
    }

    /// Whether row `seq` is held back at `now` (asked for only when some row is held).
    pub fn holds(&self, seq: i64, now: impl FnOnce() -> Instant) -> bool {
        self.held.get(&seq).is_some_and(|until| now() < *until)
    }

    /// When the next hold ends, if a row is held.
    pub fn next_release(&self) -> Option<Instant> {
        self.held.values().min().copied()
    }

    /// Forgets the holds that ended by `now`: those rows are sent again.
    pub fn expire(&mut self, now: Instant) {
        self.held.retain(|_, until| now < *until);
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
        assert_eq!(strikes.ended(probe(7), t0), Some(7));
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
        // A connection that sent nothing changes nothing.
        strikes.ended(Ended::Idle, t0);
        assert_eq!(strikes.ended(probe(7), t0), None);
        assert!(!strikes.holds(7, || t0));
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
        assert_eq!(hold(1000, t0 + HOLD), Some(1000));
    }
}
