//! Group commit: how the writer waits for jobs to share a commit. Deletes of delivered
//! rows wait for a caller (new events); a commit with callers waits for as many as the last
//! one had, at most as long as the last commit took. The writer sleeps until the last
//! caller it waits for rings the [`Bell`], or the wait ends.

use super::{Job, Writer};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How a caller wakes the writer that waits for it. The writer says how many more callers
/// it waits for; each caller sent counts one off, and the one that counts the last wakes it:
/// mostly one wake-up per commit (a caller the writer took before it counted itself off can
/// wake it early: it looks again and sleeps on). A wake-up for every job cost more CPU and
/// made smaller commits; looking in short steps instead woke the writer up to a step and the
/// kernel's timer slack, ~50 us, after the last caller came (measured).
#[derive(Clone, Debug)]
pub struct Bell {
    thread: std::thread::Thread,
    wanted: Arc<AtomicUsize>,
}

impl Bell {
    pub fn new(thread: std::thread::Thread, wanted: Arc<AtomicUsize>) -> Self {
        Bell { thread, wanted }
    }

    /// After a caller's job was queued: counts it off what the writer waits for, and wakes
    /// the writer if it was the last one.
    pub fn ring(&self) {
        // Orders the job's send before the look at the count: a caller that sees 0 sent its
        // job before the writer set the count, and the writer's look after setting it finds it.
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.wanted.load(Ordering::SeqCst) == 0 {
            return;
        }
        if self.wanted.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)) == Ok(1) {
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
        self.wait_for(jobs, batch, Instant::now() + wait, self.callers_seen);
        self.callers_seen = callers(batch);
    }

    /// Takes jobs as they come until `want` callers are in the batch, the batch is full or
    /// `until`; asleep until the caller that completes them (or fills the batch) rings.
    pub(super) fn wait_for(
        &self,
        jobs: &mut mpsc::Receiver<Box<dyn Job>>,
        batch: &mut Vec<Box<dyn Job>>,
        until: Instant,
        want: usize,
    ) {
        // The count last set (none yet).
        let mut told = None;
        loop {
            self.take_queued(jobs, batch);
            let room = self.batch_max.saturating_sub(batch.len());
            let need = want.saturating_sub(callers(batch)).min(room);
            if need == 0 || jobs.is_closed() {
                break;
            }
            let Some(left) = until.checked_duration_since(Instant::now()) else { break };
            // Sleep only on a count no caller has touched since the look at the queue before
            // it: every caller not taken then counts itself off after it. A caller that rang
            // in between (its job may be in the queue, its count spent), or a count set for
            // the first time (callers before it did not count), means: look again.
            let before = self.wanted.swap(need, Ordering::SeqCst);
            std::sync::atomic::fence(Ordering::SeqCst);
            let untouched = told == Some(before);
            told = Some(need);
            if untouched {
                std::thread::park_timeout(left);
            }
        }
        self.wanted.store(0, Ordering::SeqCst);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[test]
    fn the_bell_wakes_the_waiting_writer_at_the_last_caller_it_waits_for_and_not_before() {
        let wanted = Arc::new(AtomicUsize::new(0));
        let (woke_tx, woke) = channel();
        let count = wanted.clone();
        // The writer: sleeps until woken, and tells the count it found, each time.
        let writer = std::thread::spawn(move || {
            for _ in 0..2 {
                std::thread::park_timeout(Duration::from_secs(60));
                let _ = woke_tx.send(count.load(Ordering::SeqCst));
            }
        });
        let bell = Bell::new(writer.thread().clone(), wanted.clone());
        bell.ring();
        assert_eq!(wanted.load(Ordering::SeqCst), 0, "a writer that does not wait counts nothing");
        wanted.store(3, Ordering::SeqCst);
        bell.ring();
        bell.ring();
        assert_eq!(wanted.load(Ordering::SeqCst), 1);
        assert!(woke.recv_timeout(Duration::from_millis(300)).is_err(), "woken before the last caller");
        bell.ring();
        assert_eq!(woke.recv_timeout(Duration::from_secs(30)), Ok(0), "the last caller wakes the writer");
        bell.ring();
        assert_eq!(wanted.load(Ordering::SeqCst), 0, "the count stops at zero");
        assert!(woke.recv_timeout(Duration::from_millis(300)).is_err(), "a caller past the count woke it");
        writer.thread().unpark();
        writer.join().expect("writer");
    }
}
