//! The timing of a driver's background loop, pure (times are passed in): periodic jobs,
//! each with its own interval (zero = off), sharing one back-off. When a job fails, every
//! job waits for the back-off (2 s doubling to 5 min): the peer is likely down for all of
//! them. A success resets it. Beside it, [`retrying`]: how a command retries a peer that
//! does not answer.

use std::time::Duration;
use tokio::time::Instant;

const MIN_BACKOFF: Duration = Duration::from_secs(2);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
pub struct Schedule {
    every: Vec<Duration>,
    next: Vec<Instant>,
    backoff: Duration,
}

impl Schedule {
    /// Jobs as `(interval, first run after)`; an interval of zero turns the job off.
    pub fn new(now: Instant, jobs: &[(Duration, Duration)]) -> Schedule {
        Schedule {
            every: jobs.iter().map(|(every, _)| *every).collect(),
            next: jobs.iter().map(|(_, first)| now + *first).collect(),
            backoff: MIN_BACKOFF,
        }
    }

    /// When the loop should wake next (`None` when every job is off).
    pub fn wake(&self) -> Option<Instant> {
        self.next.iter().zip(&self.every).filter(|(_, every)| !every.is_zero()).map(|(next, _)| *next).min()
    }

    /// Whether job `i` is on and due.
    pub fn due(&self, i: usize, now: Instant) -> bool {
        !self.every[i].is_zero() && now >= self.next[i]
    }

    /// Job `i` ran: next run one interval from now.
    pub fn done(&mut self, i: usize, now: Instant) {
        self.next[i] = now + self.every[i];
    }

    /// Every job is due now (a `poll_now`).
    pub fn all_due(&mut self, now: Instant) {
        self.next.iter_mut().for_each(|n| *n = now);
    }

    /// The round ended: `ok` resets the back-off; a failure delays every job by it (and
    /// doubles it). Returns the delay applied.
    pub fn ended(&mut self, ok: bool, now: Instant) -> Duration {
        if ok {
            self.backoff = MIN_BACKOFF;
            return Duration::ZERO;
        }
        let wait = self.backoff;
        self.next.iter_mut().for_each(|n| *n = (*n).max(now + wait));
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        wait
    }
}

/// Runs `f` until it succeeds, fails for good, or `secs` have passed (back-off 0.5 s → 10 s).
pub async fn retrying<T, E: std::fmt::Display, F, Fut>(
    secs: u64,
    source: &str,
    mut f: F,
    transient: impl Fn(&E) -> bool,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    let mut wait = Duration::from_millis(500);
    loop {
        match f().await {
            Err(e) if transient(&e) && tokio::time::Instant::now() + wait < deadline => {
                log::info!("{source}: {e}; retrying in {wait:?}");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(10));
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn jobs_run_on_their_intervals_and_an_off_job_never_wakes_the_loop() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, &[(S(10), S(0)), (S(0), S(0)), (S(60), S(60))]);
        assert_eq!(s.wake(), Some(t0));
        assert!(s.due(0, t0) && !s.due(1, t0) && !s.due(2, t0));
        s.done(0, t0);
        assert_eq!(s.wake(), Some(t0 + S(10)));
        assert!(s.due(2, t0 + S(60)));
        s.all_due(t0 + S(1));
        assert_eq!(s.wake(), Some(t0 + S(1)));
    }

    #[test]
    fn failures_back_off_every_job_doubling_and_a_success_resets() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, &[(S(1), S(0)), (S(1), S(0))]);
        assert_eq!(s.ended(false, t0), S(2));
        assert_eq!(s.wake(), Some(t0 + S(2)));
        assert_eq!(s.ended(false, t0), S(4));
        for _ in 0..10 {
            s.ended(false, t0);
        }
        assert_eq!(s.ended(false, t0), S(300), "capped at five minutes");
        s.ended(true, t0);
        assert_eq!(s.ended(false, t0), S(2));
    }
}
