//! The dispatcher task: store first, acknowledge second, execute third, answer once.

use super::protocol::{self, ResultHeader};
use super::{Command, CommandError, Registry, Reply};
use crate::event::{Class, new_id, now_ms};
use crate::metrics::Metrics;
use crate::mqtt::topics::{Topics, result_suffix};
use crate::mqtt::{Incoming, LinkClient};
use crate::store::{CommandStart, OutboxItem, Store, StoreError};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What the agent does after a command's result is committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Stop everything and start again, re-reading the config file.
    Restart { reason: String },
    /// Stop everything, then replace this process with `argv` (an update's watcher, or the
    /// previous version after a rollback).
    Exec { argv: Vec<std::ffi::OsString>, reason: String },
    /// Stop everything and exit [`crate::update::PROMOTE`]: the new version was healthy
    /// under the update watcher, which hands over to it.
    Promote,
}

/// Receives commands from the uplink and runs them through the registry.
#[derive(Clone)]
pub struct Dispatcher {
    pub store: Store,
    pub registry: Registry,
    pub topics: Topics,
    pub agent: String,
    pub metrics: Metrics,
    pub effects: mpsc::UnboundedSender<Effect>,
    /// `mqtt.max_command_bytes`: a larger command is answered `too_large`, never run.
    pub max_command_bytes: usize,
    /// The stop of the command tasks: the dispatcher stops taking commands, and a result
    /// the store refused is no longer tried again.
    pub stop: CancellationToken,
}

/// How long a result the store refused waits before it is tried again.
const RESULT_RETRY: std::time::Duration = std::time::Duration::from_secs(2);

/// A result payload as an outbox item on `suffix`.
fn result_item(
    agent: &str,
    suffix: String,
    header: &ResultHeader<'_>,
    result: &Result<Value, CommandError>,
) -> OutboxItem {
    let id = new_id();
    let payload = protocol::encode_result(&id, now_ms(), agent, header, result);
    OutboxItem { id, topic: suffix, payload, class: Class::Critical, dedup_key: None }
}

/// Where a result for an unparseable command without a usable id goes.
pub const INVALID_RESULT_SUFFIX: &str = "res/_invalid";

impl Dispatcher {
    /// Serves commands until `stop`; running commands are tracked by `tracker`.
    pub async fn run(
        self,
        client: LinkClient,
        mut incoming: mpsc::UnboundedReceiver<Incoming>,
        tracker: TaskTracker,
    ) -> Result<(), StoreError> {
        loop {
            let message = tokio::select! {
                _ = self.stop.cancelled() => return Ok(()),
                m = incoming.recv() => match m { Some(m) => m, None => return Ok(()) },
            };
            // Not acknowledged unless stored. A broker sends an unacknowledged message again
            // only on a new connection (maybe never, on a link that holds), so a store that
            // fails (a full disk) is tried again every RESULT_RETRY, in order, until the stop
            // (then the broker keeps it for the next session).
            self.metrics.inc("telbridge_commands_in_total");
            let mut failures = 0u32;
            let run = loop {
                match self.accept(&message).await {
                    Ok(run) => break Some(run),
                    Err(e) => {
                        if failures == 0 {
                            log::error!("command not stored: {e}; trying again every {RESULT_RETRY:?}");
                        }
                        failures += 1;
                        self.metrics.inc("telbridge_command_store_errors_total");
                        tokio::select! {
                            _ = self.stop.cancelled() => break None,
                            _ = tokio::time::sleep(RESULT_RETRY) => {}
                        }
                    }
                }
            };
            let Some(run) = run else { return Ok(()) };
            if failures > 0 {
                log::info!("command stored after {failures} failed tries");
            }
            if let Err(e) = client.ack(&message.ack).await {
                log::warn!("cannot ack command message: {e}");
            }
            if let Some(command) = run {
                let this = self.clone();
                tracker.spawn(async move { this.execute(command).await });
            }
        }
    }

    /// Records the message; returns the command to execute if it is new.
    async fn accept(&self, message: &Incoming) -> Result<Option<Command>, StoreError> {
        let Some(target) = self.topics.command_target(&message.topic) else {
            let header = ResultHeader { cmd_id: None, target: "", name: None };
            let err = CommandError::new("bad_topic", format!("{} is not a command topic", message.topic));
            self.answer_unrecorded(INVALID_RESULT_SUFFIX, &header, err).await?;
            return Ok(None);
        };
        let command = match protocol::parse_command(target, &message.payload) {
            Ok(c) if message.payload.len() > self.max_command_bytes => {
                let header = ResultHeader { cmd_id: Some(&c.id), target, name: Some(&c.name) };
                let err = CommandError::new(
                    "too_large",
                    format!(
                        "the command has {} bytes; mqtt.max_command_bytes is {} (give large documents by URL)",
                        message.payload.len(),
                        self.max_command_bytes
                    ),
                );
                self.metrics.inc("telbridge_commands_too_large_total");
                self.record_and_finish(&c.id, target, &c.name, &message.payload, &header, Err(err)).await?;
                return Ok(None);
            }
            Ok(c) => c,
            Err(rejected) => {
                let header = ResultHeader { cmd_id: rejected.id.as_deref(), target, name: None };
                let suffix = rejected.id.as_deref().map(result_suffix).unwrap_or(INVALID_RESULT_SUFFIX.into());
                // A rejected command with an id is recorded like any other, so a repeat
                // gets the same answer.
                match &rejected.id {
                    Some(id) => {
                        self.record_and_finish(id, target, "", &message.payload, &header, Err(rejected.error)).await?
                    }
                    None => self.answer_unrecorded(&suffix, &header, rejected.error).await?,
                }
                return Ok(None);
            }
        };
        let (id, target2, name, body) =
            (command.id.clone(), command.target.clone(), command.name.clone(), message.payload.clone());
        let start = self.store.call(move |db| db.command_begin(&id, &target2, &name, &body)).await?;
        match start {
            CommandStart::New => Ok(Some(command)),
            CommandStart::InProgress => Ok(None),
            CommandStart::Done(result) => {
                // Answered again with the same bytes (same result id): the cloud drops the repeat.
                let item = OutboxItem {
                    id: String::new(),
                    topic: result_suffix(&command.id),
                    payload: result,
                    class: Class::Critical,
                    dedup_key: None,
                };
                self.store.enqueue_unbounded(item).await?;
                self.metrics.inc("telbridge_commands_repeated_total");
                Ok(None)
            }
        }
    }

    async fn answer_unrecorded(
        &self,
        suffix: &str,
        header: &ResultHeader<'_>,
        err: CommandError,
    ) -> Result<(), StoreError> {
        let item = result_item(&self.agent, suffix.to_string(), header, &Err(err));
        self.store.enqueue_unbounded(item).await.map(|_| ())
    }

    async fn record_and_finish(
        &self,
        id: &str,
        target: &str,
        name: &str,
        body: &[u8],
        header: &ResultHeader<'_>,
        result: Result<Value, CommandError>,
    ) -> Result<(), StoreError> {
        let item = result_item(&self.agent, result_suffix(id), header, &result);
        let (id, target, name, body) = (id.to_string(), target.to_string(), name.to_string(), body.to_vec());
        self.store
            .call(move |db| match db.command_begin(&id, &target, &name, &body)? {
                CommandStart::New => db.command_finish(&id, &item),
                CommandStart::Done(previous) => {
                    let again = OutboxItem { payload: previous, ..item };
                    db.enqueue_unbounded(&again).map(|_| ())
                }
                CommandStart::InProgress => Ok(()),
            })
            .await
    }

    /// Runs a recorded command and commits its one result.
    pub async fn execute(&self, command: Command) {
        let reply: Reply = match self.registry.get(&command.target, &command.name) {
            Some(handler) => handler.call(command.clone()).await,
            None => Err(CommandError::new(
                "unknown_command",
                format!(
                    "{} has no command {:?}; known: {}",
                    command.target,
                    command.name,
                    self.registry.names(&command.target).join(", ")
                ),
            )),
        };
        if let Err(e) = &reply {
            log::info!("command {} ({}) failed: {e}", command.id, command.name);
            self.metrics.inc("telbridge_command_errors_total");
        }
        let (data, effect) = match reply {
            Ok(outcome) => (Ok(outcome.data), outcome.then),
            Err(e) => (Err(e), None),
        };
        if self.finish(&command, data, true).await
            && let Some(effect) = effect
        {
            let _ = self.effects.send(effect);
        }
    }

    /// Commits the result. One the store refuses (a full disk, an I/O error) is tried
    /// again every [`RESULT_RETRY`] until it commits (`retry`): the command ran, and a result
    /// left for the next start would say `interrupted` (or run it again), and the cloud might
    /// send it again. False if the stop came first, or without `retry` (then the next start
    /// answers it).
    async fn finish(&self, command: &Command, result: Result<Value, CommandError>, retry: bool) -> bool {
        let header = ResultHeader { cmd_id: Some(&command.id), target: &command.target, name: Some(&command.name) };
        let item = result_item(&self.agent, result_suffix(&command.id), &header, &result);
        let mut failed = false;
        loop {
            let (id, item) = (command.id.clone(), item.clone());
            match self.store.call(move |db| db.command_finish(&id, &item)).await {
                Ok(()) => {
                    if failed {
                        log::info!("result of command {} stored after an earlier failure", command.id);
                    }
                    return true;
                }
                Err(StoreError::Closed) => return false,
                Err(e) if !retry => {
                    log::error!("result of command {} not stored (the next start answers it): {e}", command.id);
                    return false;
                }
                Err(e) if !failed => {
                    log::error!("result of command {} not stored (trying again): {e}", command.id);
                    self.metrics.inc("telbridge_command_store_errors_total");
                    failed = true;
                }
                Err(_) => {}
            }
            tokio::select! {
                _ = self.stop.cancelled() => {
                    log::error!("result of command {} not stored before the stop; the next start answers it", command.id);
                    return false;
                }
                _ = tokio::time::sleep(RESULT_RETRY) => {}
            }
        }
    }

    /// At start: re-runs interrupted commands that are safe to repeat, and answers the
    /// others with an `interrupted` error.
    pub async fn resume_pending(&self, tracker: &TaskTracker) -> Result<usize, StoreError> {
        let pending = self.store.call(|db| db.commands_pending()).await?;
        let n = pending.len();
        for p in pending {
            let command = match protocol::parse_command(&p.target, &p.body) {
                Ok(c) => c,
                Err(r) => Command {
                    id: p.cmd_id.clone(),
                    target: p.target.clone(),
                    name: p.name.clone(),
                    args: r.error.reason.into(),
                },
            };
            match self.registry.get(&command.target, &command.name) {
                Some(h) if h.resumable => {
                    log::info!("resuming command {} ({})", command.id, command.name);
                    let this = self.clone();
                    tracker.spawn(async move { this.execute(command).await });
                }
                _ => {
                    let err = CommandError::new(
                        "interrupted",
                        "the agent restarted before this command completed; it was not retried because it is not safe to repeat",
                    );
                    // Once: the start must go on (a full disk is no reason not to relay).
                    self.finish(&command, Err(err), false).await;
                }
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Outcome;
    use crate::config::StoreConfig;
    use serde_json::json;

    /// A dispatcher of `registry`'s commands on a fresh store (`name`), with commands
    /// `(id, name)` of target `dev/1` recorded and never finished, as a crash leaves them.
    async fn dispatcher(name: &str, registry: Registry, recorded: &[(&'static str, &'static str)]) -> Dispatcher {
        let dir = crate::store::temp_dir_for_tests(name);
        let (store, _writer) =
            Store::open(&StoreConfig { path: dir.join("r.db"), ..StoreConfig::default() }).expect("store");
        for &(id, name) in recorded {
            let body = json!({"id": id, "cmd": name}).to_string().into_bytes();
            store.call(move |db| db.command_begin(id, "dev/1", name, &body)).await.expect("record");
        }
        let (effects, _rx) = mpsc::unbounded_channel();
        Dispatcher {
            store,
            registry,
            topics: Topics::new("p", "a"),
            agent: "a".into(),
            metrics: Metrics::default(),
            effects,
            max_command_bytes: 1 << 20,
            stop: CancellationToken::new(),
        }
    }

    #[tokio::test]
    async fn after_a_crash_safe_commands_resume_and_unsafe_ones_are_answered_interrupted() {
        let mut registry = Registry::default();
        registry.register("dev/1", "t.again", true, |_| async { Ok(Outcome::data(json!({"ran": true}))) });
        registry.register("dev/1", "t.once", false, |_| async { Ok(Outcome::data(json!({"ran": true}))) });
        let dispatcher = dispatcher("resume", registry, &[("c-again", "t.again"), ("c-once", "t.once")]).await;
        let store = dispatcher.store.clone();
        let tracker = TaskTracker::new();
        assert_eq!(dispatcher.resume_pending(&tracker).await.expect("resume"), 2);
        tracker.close();
        tracker.wait().await;
        let rows = store.outbox_after(0, 10).await.expect("rows");
        let result = |topic: &str| -> Value {
            let row = rows.iter().find(|r| r.topic == topic).expect("result row");
            serde_json::from_slice(&row.payload).expect("json")
        };
        assert_eq!(result("res/c-again")["data"]["ran"], true);
        assert_eq!(result("res/c-once")["error"]["code"], "interrupted");
        assert!(store.call(|db| db.commands_pending()).await.expect("pending").is_empty());
    }

    /// Runs command `c-1` (`name` of `dev/1`) on a store that refuses every outbox insert.
    async fn run_refused(dispatcher: &Dispatcher, name: &str) -> tokio::task::JoinHandle<()> {
        crate::store::fail_inserts_for_tests(&dispatcher.store, true).await;
        let command = Command { id: "c-1".into(), target: "dev/1".into(), name: name.into(), args: json!({}) };
        let dispatcher = dispatcher.clone();
        tokio::spawn(async move { dispatcher.execute(command).await })
    }

    #[tokio::test]
    async fn a_result_the_store_refused_is_stored_once_it_can_be() {
        let mut registry = Registry::default();
        registry.register("dev/1", "t.once", false, |_| async { Ok(Outcome::data(json!({"ran": true}))) });
        let dispatcher = dispatcher("retry", registry, &[("c-1", "t.once")]).await;
        let store = dispatcher.store.clone();
        let running = run_refused(&dispatcher, "t.once").await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(store.outbox_after(0, 10).await.expect("rows").is_empty(), "refused: nothing stored yet");
        crate::store::fail_inserts_for_tests(&store, false).await;
        tokio::time::timeout(RESULT_RETRY * 3, running).await.expect("stored within a retry").expect("task");
        let rows = store.outbox_after(0, 10).await.expect("rows");
        assert_eq!(rows.len(), 1);
        let result: Value = serde_json::from_slice(&rows[0].payload).expect("json");
        assert_eq!((rows[0].topic.as_str(), &result["data"]["ran"]), ("res/c-1", &json!(true)));
        assert!(store.call(|db| db.commands_pending()).await.expect("pending").is_empty(), "the command is done");
    }

    #[tokio::test]
    async fn a_result_still_refused_at_the_stop_is_left_for_the_next_start() {
        let dispatcher = dispatcher("stop", Registry::default(), &[("c-1", "t.gone")]).await;
        let store = dispatcher.store.clone();
        let running = run_refused(&dispatcher, "t.gone").await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        dispatcher.stop.cancel();
        tokio::time::timeout(std::time::Duration::from_secs(1), running)
            .await
            .expect("ends at the stop")
            .expect("task");
        assert_eq!(store.call(|db| db.commands_pending()).await.expect("pending").len(), 1);
    }
}
