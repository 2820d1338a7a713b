//! What the writer runs: a store call's closure, and the channel its answer goes back on
//! once the commit's fate is known.

use super::super::{Db, StoreError};
use tokio::sync::oneshot;

/// One store call: runs in the transaction, then learns whether the commit held.
pub trait Job: Send {
    /// Runs against the open transaction; false means "undo what I did".
    fn run(&mut self, db: &mut Db<'_>) -> bool;
    /// Answers the caller once the batch's fate is known.
    fn finish(self: Box<Self>, commit: Result<(), StoreError>);
    /// Whether this job may wait a moment ([`super::SHARE_WAIT`]) for others to share its
    /// commit (deletes of delivered rows) instead of committing alone.
    fn can_wait(&self) -> bool {
        false
    }
    /// Whether this job can run again after its transaction was rolled back (its answer
    /// is the last run's). Such jobs run without a savepoint each while none fails.
    fn can_run_again(&self) -> bool {
        false
    }
}

type Reply<R> = oneshot::Sender<Result<R, StoreError>>;

/// Keeps a run's result; true when it succeeded.
fn record<R>(db: &mut Db<'_>, result: Result<R, StoreError>, slot: &mut Option<Result<R, StoreError>>) -> bool {
    let ok = result.is_ok();
    db.out_of_space |= matches!(result, Err(StoreError::DiskFull));
    *slot = Some(result);
    ok
}

/// The caller's answer: its own error first, then the commit's, then its result.
fn answer<R>(commit: Result<(), StoreError>, result: Option<Result<R, StoreError>>, reply: Reply<R>) {
    let result = match (commit, result) {
        (_, Some(Err(e))) => Err(e),
        (Err(e), _) => Err(e),
        (Ok(()), Some(ok)) => ok,
        (Ok(()), None) => Err(StoreError::Invalid("job did not run".into())),
    };
    let _ = reply.send(result);
}

/// A closure that runs once (in a savepoint of its own).
pub struct CallJob<F, R> {
    f: Option<F>,
    result: Option<Result<R, StoreError>>,
    reply: Reply<R>,
}

impl<F, R> CallJob<F, R> {
    pub fn new(f: F, reply: Reply<R>) -> Self {
        CallJob { f: Some(f), result: None, reply }
    }
}

impl<F, R> Job for CallJob<F, R>
where
    R: Send + 'static,
    F: FnOnce(&mut Db<'_>) -> Result<R, StoreError> + Send + 'static,
{
    fn run(&mut self, db: &mut Db<'_>) -> bool {
        let result = match self.f.take() {
            Some(f) => f(db),
            None => Err(StoreError::Invalid("job ran twice".into())),
        };
        record(db, result, &mut self.result)
    }

    fn finish(self: Box<Self>, commit: Result<(), StoreError>) {
        answer(commit, self.result, self.reply)
    }
}

/// A closure that can run again: the store's own hot calls (enqueue, delete).
pub struct RepeatJob<F, R> {
    f: F,
    result: Option<Result<R, StoreError>>,
    reply: Reply<R>,
    can_wait: bool,
}

impl<F, R> RepeatJob<F, R> {
    pub fn new(f: F, reply: Reply<R>) -> Self {
        RepeatJob { f, result: None, reply, can_wait: false }
    }

    /// A job that may wait [`super::SHARE_WAIT`] for company (see [`Job::can_wait`]).
    pub fn waiting(f: F, reply: Reply<R>) -> Self {
        RepeatJob { can_wait: true, ..Self::new(f, reply) }
    }
}

impl<F, R> Job for RepeatJob<F, R>
where
    R: Send + 'static,
    F: FnMut(&mut Db<'_>) -> Result<R, StoreError> + Send + 'static,
{
    fn run(&mut self, db: &mut Db<'_>) -> bool {
        let result = (self.f)(db);
        record(db, result, &mut self.result)
    }

    fn finish(self: Box<Self>, commit: Result<(), StoreError>) {
        answer(commit, self.result, self.reply)
    }

    fn can_wait(&self) -> bool {
        self.can_wait
    }

    fn can_run_again(&self) -> bool {
        true
    }
}
