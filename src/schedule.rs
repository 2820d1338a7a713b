//! The timing of a driver's background loop, pure (times are passed in): periodic jobs,
//! each with its own interval (zero = off), sharing one back-off. When a job fails, every
//! job waits for the back-off (2 s doubling to 5 min): the peer is likely down for all of
//! them. A success resets it. [`run_jobs`] is the loop every connector runs its jobs in.

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

type JobFuture<'a, E> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), E>> + Send + 'a>>;

/// One periodic job of a background loop.
pub struct Job<'a, E> {
    /// What the log says (`poll`, `subscribe`, `inbox`).
    pub name: &'static str,
    pub every: Duration,
    /// The first run, after the loop starts.
    pub first: Duration,
    pub run: Box<dyn Fn() -> JobFuture<'a, E> + Send + Sync + 'a>,
}

impl<'a, E> Job<'a, E> {
    pub fn new<F, Fut>(name: &'static str, every: Duration, first: Duration, f: F) -> Job<'a, E>
    where
        F: Fn() -> Fut + Send + Sync + 'a,
        Fut: std::future::Future<Output = Result<(), E>> + Send + 'a,
    {
        Job { name, every, first, run: Box::new(move || Box::pin(f())) }
    }
}

/// Runs `jobs` on their intervals until `stop`, one at a time, in order. A job failing
/// because the peer is away (`Transient`, `Auth`) ends the round: the peer is likely down
/// for all of them, so every job waits for the shared back-off. Any other failure (a
/// refusal, an unreadable reply, corrupt state) concerns that job only: it is logged as a
/// warning, shown as the peer's last error, and the other jobs go on. `wake` makes every
/// job due at once (`poll_now`). A [`Fatal`] error (the agent cannot go on) ends the loop
/// with that error; the agent then stops.
///
/// [`Fatal`]: crate::connectors::ErrorClass::Fatal
pub async fn run_jobs<E>(
    peer: &crate::connectors::Peer,
    jobs: &[Job<'_, E>],
    wake: Option<&tokio::sync::Notify>,
    stop: &tokio_util::sync::CancellationToken,
) -> Result<(), E>
where
    E: crate::connectors::Classify + std::fmt::Display,
{
    let now = Instant::now;
    let times: Vec<_> = jobs.iter().map(|j| (j.every, j.first)).collect();
    let mut schedule = Schedule::new(now(), &times);
    loop {
        let at = schedule.wake().unwrap_or_else(|| now() + Duration::from_secs(3600));
        let woken = async {
            match wake {
                Some(w) => w.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            _ = tokio::time::sleep_until(at) => {}
            _ = woken => schedule.all_due(now()),
        }
        use crate::connectors::ErrorClass;
        let mut failed = None;
        for (i, job) in jobs.iter().enumerate() {
            if !schedule.due(i, now()) {
                continue;
            }
            match (job.run)().await {
                Ok(()) => schedule.done(i, now()),
                Err(e) if e.class() == ErrorClass::Fatal => return Err(e),
                Err(e) if matches!(e.class(), ErrorClass::Transient | ErrorClass::Auth) => {
                    failed = Some((job.name, e));
                    break;
                }
                Err(e) => {
                    log::warn!("{}: {}: {e}", peer.source, job.name);
                    peer.note_error(&format!("{}: {e}", job.name));
                    schedule.done(i, now());
                }
            }
        }
        let wait = schedule.ended(failed.is_none(), now());
        if let Some((name, e)) = failed {
            log::debug!("{}: {name}: {e}; next try in {wait:?}", peer.source);
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

    /// An error of a chosen class, for the loop's tests.
    #[derive(Debug)]
    struct Failure(crate::connectors::ErrorClass);

    impl std::fmt::Display for Failure {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{:?}", self.0)
        }
    }

    impl crate::connectors::Classify for Failure {
        fn class(&self) -> crate::connectors::ErrorClass {
            self.0
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_transient_failure_is_retried_after_the_back_off_and_a_fatal_one_ends_the_loop() {
        use crate::connectors::ErrorClass::{Fatal, Transient};
        use std::sync::atomic::{AtomicUsize, Ordering};
        let runs = AtomicUsize::new(0);
        let job = Job::new("flaky", S(1), Duration::ZERO, || async {
            match runs.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err(Failure(Transient)),
                2 => Ok(()),
                _ => Err(Failure(Fatal)),
            }
        });
        let stop = tokio_util::sync::CancellationToken::new();
        let (peer, _writer) = crate::connectors::peer::test_peer(Duration::ZERO);
        let started = Instant::now();
        let ended = run_jobs(&peer, &[job], None, &stop).await;
        assert!(matches!(ended, Err(Failure(Fatal))), "{ended:?}");
        assert_eq!(runs.load(Ordering::SeqCst), 4);
        // 2 s and 4 s of back-off after the two transient failures, then 1 s of interval.
        assert_eq!(started.elapsed(), S(7));
    }

    #[tokio::test(start_paused = true)]
    async fn the_loop_returns_ok_when_stopped_and_a_wake_makes_every_job_due() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let runs = AtomicUsize::new(0);
        let job = Job::new("slow", S(3600), S(3600), || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok::<(), Failure>(())
        });
        let (stop, wake) = (tokio_util::sync::CancellationToken::new(), tokio::sync::Notify::new());
        wake.notify_one();
        let s = stop.clone();
        let stopper = async move {
            tokio::time::sleep(S(10)).await;
            s.cancel();
        };
        let jobs = [job];
        let (peer, _writer) = crate::connectors::peer::test_peer(Duration::ZERO);
        let (ended, ()) = tokio::join!(run_jobs(&peer, &jobs, Some(&wake), &stop), stopper);
        assert!(ended.is_ok());
        assert_eq!(runs.load(Ordering::SeqCst), 1, "woken once, not due again within 10 s");
    }

    #[tokio::test(start_paused = true)]
    async fn a_job_that_fails_for_itself_does_not_hold_up_the_others() {
        use crate::connectors::ErrorClass::BadReply;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (broken, after) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let jobs = [
            Job::new("broken", S(10), Duration::ZERO, || async {
                broken.fetch_add(1, Ordering::SeqCst);
                Err(Failure(BadReply))
            }),
            Job::new("after", S(10), Duration::ZERO, || async {
                after.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }),
        ];
        let (peer, _writer) = crate::connectors::peer::test_peer(Duration::ZERO);
        let stop = tokio_util::sync::CancellationToken::new();
        let s = stop.clone();
        let stopper = async move {
            tokio::time::sleep(S(25)).await;
            s.cancel();
        };
        let (ended, ()) = tokio::join!(run_jobs(&peer, &jobs, None, &stop), stopper);
        assert!(ended.is_ok());
        assert_eq!((broken.load(Ordering::SeqCst), after.load(Ordering::SeqCst)), (3, 3), "both ran at 0, 10 and 20 s");
        let health = peer.health_now().expect("health");
        assert!(health.last_error.as_deref().is_some_and(|e| e.contains("broken")), "{health:?}");
    }
}
