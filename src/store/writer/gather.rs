//! Group commit: how the writer waits for jobs to share a commit. Deletes of delivered
//! rows wait for a caller (new events); a commit with callers waits for as many as the last
//! one had, at most as long as the last commit took.

use super::{Job, Writer};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How a sender wakes the writer while it waits for the first caller to share a commit of
/// deletes ([`SHARE_WAIT`]; a caller arriving mid-sleep waited out the rest of it: one
/// client posting events got half its rate). Only then: while a group commit gathers, the
/// writer looks in short steps instead, as a wake-up for every job there cost more CPU and
/// made smaller commits (measured).
#[derive(Clone, Debug)]
pub struct Bell {
    thread: std::thread::Thread,
    listening: Arc<AtomicBool>,
}

impl Bell {
    pub fn new(thread: std::thread::Thread, listening: Arc<AtomicBool>) -> Self {
        Bell { thread, listening }
    }

    /// After a job was queued: wakes the writer if it listens.
    pub fn ring(&self) {
        if self.listening.load(Ordering::SeqCst) {
            self.thread.unpark();
        }
    }
}

/// How long a commit of deletes alone waits for a caller to share it (then the group commit
/// may wait up to one commit's time more, see [`GROUP_WAIT`]). A delivered row is sent again
/// if the agent dies before its delete commits, so this is kept to a few milliseconds (about
/// one fsync on a router's flash); 50 ms was seen to matter.
pub const SHARE_WAIT: Duration = Duration::from_millis(3);

/// The bounds of how long a commit with callers waiting for it (new events) waits for as
/// many callers as the last one had: as long as the last commit took, within these. Under
/// concurrent requests their rows then share one commit (one fsync) instead of trickling
/// into several, for at most one commit's time more per caller (measured: half the commits
/// and the bytes written, throughput unchanged). A lone caller never waits once the writer
/// has seen one alone.
pub const GROUP_WAIT: std::ops::RangeInclusive<Duration> = Duration::from_micros(50)..=Duration::from_millis(2);

/// Jobs in `batch` whose callers wait for the commit (all but deletes of delivered rows).
pub(super) fn callers(batch: &[Box<dyn Job>]) -> usize {
    batch.iter().filter(|job| !job.can_wait()).count()
}

impl Writer {
    /// Group commit: waits up to one commit's time (see [`GROUP_WAIT`]) for as many callers
    /// as the last commit with callers had (requests that came together tend to keep coming
    /// together), then remembers how many came. Like PostgreSQL's `commit_delay`, it waits
    /// only where there was company: after a lone caller it does not wait at all.
    pub(super) fn gather(&mut self, jobs: &mut mpsc::Receiver<Box<dyn Job>>, batch: &mut Vec<Box<dyn Job>>) {
        let wait = self.commit_took.clamp(*GROUP_WAIT.start(), *GROUP_WAIT.end());
        let seen = self.callers_seen;
        self.wait_for(jobs, batch, Instant::now() + wait, Some(wait / 6), |batch| callers(batch) >= seen);
        self.callers_seen = callers(batch);
    }

    /// Takes jobs as they come until `enough` says so, the batch is full or `until`: looking
    /// every `step`, or, without one, parked until a sender rings the [`Bell`].
    pub(super) fn wait_for(
        &self,
        jobs: &mut mpsc::Receiver<Box<dyn Job>>,
        batch: &mut Vec<Box<dyn Job>>,
        until: Instant,
        step: Option<Duration>,
        enough: impl Fn(&[Box<dyn Job>]) -> bool,
    ) {
        self.listening.store(step.is_none(), Ordering::SeqCst);
        loop {
            // First after the flag is up: a job sent just before did not ring.
            self.take_queued(jobs, batch);
            if enough(batch) || batch.len() >= self.batch_max || jobs.is_closed() {
                break;
            }
            let Some(left) = until.checked_duration_since(Instant::now()) else { break };
            match step {
                Some(step) => std::thread::sleep(step.min(left)),
                None => std::thread::park_timeout(left),
            }
        }
        self.listening.store(false, Ordering::SeqCst);
    }

    /// Adds what is already waiting, up to `store.batch_max` jobs.
    pub(super) fn take_queued(&self, jobs: &mut mpsc::Receiver<Box<dyn Job>>, batch: &mut Vec<Box<dyn Job>>) {
        while batch.len() < self.batch_max {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
    }
}
