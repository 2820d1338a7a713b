//! Rows a broker keeps ending the connection over, held back so the rest can flow.
//!
//! An MQTT 3.1.1 broker has no way to refuse one message: one over its packet limit (which
//! it cannot announce), or on a topic its rules deny (AWS IoT, EMQX's `deny_action =
//! disconnect`), ends the connection. The relay then sends the same row first again on the
//! next one, and nothing behind it is ever relayed. So when [`STRIKES`] connections in a
//! row end with the same row the oldest one sent and nothing at all acknowledged, that row
//! is held back for [`HOLD`] (reported as `relay.refused`), then tried again. After such an
//! end, rows go one at a time until the broker answers one ([`Strikes::probing`]). At most
//! [`HELD_MAX`] rows are held at once: more, and it is the broker, not the rows (a denied
//! status topic, a link that drops whatever is sent).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Connections in a row that must end over the same row before it is held back.
pub const STRIKES: u32 = 3;
/// How long a row is held back before it is tried again.
pub const HOLD: Duration = Duration::from_secs(3600);
/// Rows held back at once, at most.
pub const HELD_MAX: usize = 4;

/// What the relay knows of the connections that ended.
#[derive(Debug, Default)]
pub struct Strikes {
    /// The row the last connections ended over, and how many in a row.
    last: Option<(i64, u32)>,
    /// Rows held back, with when.
    held: BTreeMap<i64, Instant>,
}

impl Strikes {
    /// A connection ended; `unanswered`: its oldest row sent, if the broker acknowledged
    /// nothing on it (no PUBACK, no refusal). The row to hold back from now on, when this
    /// was the [`STRIKES`]th connection in a row to end over it.
    pub fn ended(&mut self, unanswered: Option<i64>, now: Instant) -> Option<i64> {
        let Some(seq) = unanswered else {
            self.last = None;
            return None;
        };
        let count = match self.last {
            Some((last, n)) if last == seq => n + 1,
            _ => 1,
        };
        self.last = Some((seq, count));
        if count < STRIKES {
            return None;
        }
        self.last = None;
        self.held.retain(|_, since| now.duration_since(*since) < HOLD);
        if self.held.len() >= HELD_MAX {
            log::warn!(
                "the broker ended {STRIKES} more connections over row {seq}, with {HELD_MAX} rows held back \
                 already: not holding more (the broker, or the link, refuses more than single messages)"
            );
            return None;
        }
        self.held.insert(seq, now);
        Some(seq)
    }

    /// Whether the last connection ended with nothing answered: the relay then sends one
    /// row at a time until the broker answers, so that a row behind the one that ends the
    /// connections (whose PUBACK the broker's reset may take with it) is never blamed.
    pub fn probing(&self) -> bool {
        self.last.is_some()
    }

    /// Whether row `seq` is held back at `now` (asked for only when some row is held).
    pub fn holds(&self, seq: i64, now: impl FnOnce() -> Instant) -> bool {
        self.held.get(&seq).is_some_and(|since| now().duration_since(*since) < HOLD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_held_back_after_three_connections_in_a_row_end_over_it() {
        let (mut strikes, t0) = (Strikes::default(), Instant::now());
        assert!(!strikes.probing());
        assert_eq!(strikes.ended(Some(7), t0), None);
        assert!(strikes.probing(), "one row at a time now");
        assert_eq!(strikes.ended(Some(7), t0), None);
        assert!(!strikes.holds(7, || t0));
        assert_eq!(strikes.ended(Some(7), t0), Some(7));
        assert!(strikes.holds(7, || t0));
        assert!(!strikes.holds(8, || t0));
        // Tried again after the hold.
        assert!(!strikes.holds(7, || t0 + HOLD));
    }

    #[test]
    fn an_answer_or_another_row_in_between_starts_the_count_again() {
        let (mut strikes, t0) = (Strikes::default(), Instant::now());
        strikes.ended(Some(7), t0);
        strikes.ended(Some(7), t0);
        strikes.ended(None, t0);
        strikes.ended(Some(7), t0);
        strikes.ended(Some(8), t0);
        assert_eq!(strikes.ended(Some(7), t0), None);
        assert!(!strikes.holds(7, || t0));
    }

    #[test]
    fn no_more_than_four_rows_are_held_at_once() {
        let (mut strikes, t0) = (Strikes::default(), Instant::now());
        let held: Vec<_> = (1..=6).filter_map(|seq| (0..STRIKES).find_map(|_| strikes.ended(Some(seq), t0))).collect();
        assert_eq!(held, vec![1, 2, 3, 4]);
        // Once a hold ends, another row may be held.
        let later = t0 + HOLD;
        assert_eq!((0..STRIKES).find_map(|_| strikes.ended(Some(9), later)), Some(9));
    }
}
