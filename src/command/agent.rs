//! The `agent.*` commands: remote management of the agent itself.
//!
//! `agent.ping`, `agent.status`, `agent.config.get`, `agent.config.set`,
//! `agent.restart`, `agent.log_level`, `agent.logs`, `agent.diagnostics` ([`super::diagnostics`]).
//! Replies never contain secrets.

use super::{Command, CommandError, Effect, Outcome, Registry, Reply};
use crate::config::{Config, log_level_filter, trial};
use crate::health::Health;
use crate::metrics::Metrics;
use crate::mqtt::LinkState;
use crate::store::Store;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::sync::watch;

/// What the management commands can see.
pub struct AgentContext {
    pub config: Config,
    pub config_path: PathBuf,
    pub started: Instant,
    pub store: Store,
    pub link: watch::Receiver<LinkState>,
    pub metrics: Metrics,
    pub health: Health,
    /// A config was written by `agent.config.set` and this run is about to end: a second set
    /// would race it (the last written wins, whatever was answered).
    pub config_written: std::sync::atomic::AtomicBool,
}

/// The target name of the agent's own commands.
pub const TARGET: &str = "agent";

/// Registers every `agent.*` command.
pub fn register(registry: &mut Registry, ctx: Arc<AgentContext>) {
    registry.register(TARGET, "agent.ping", true, |_c: Command| async {
        Ok(Outcome::data(json!({"pong": true, "ts": crate::event::format_rfc3339_ms(crate::event::now_ms())})))
    });
    let c = ctx.clone();
    registry.register(TARGET, "agent.status", true, move |_| {
        let v = status(&c);
        async move { Ok(Outcome::data(v)) }
    });
    let c = ctx.clone();
    registry.register(TARGET, "agent.config.get", true, move |_| {
        let v = json!({"path": c.config_path, "config": c.config.redacted_json()});
        async move { Ok(Outcome::data(v)) }
    });
    let c = ctx.clone();
    registry.register(TARGET, "agent.config.set", true, move |cmd| {
        let c = c.clone();
        async move {
            tokio::task::spawn_blocking(move || config_set(&c, &cmd.args))
                .await
                .unwrap_or_else(|e| Err(CommandError::new("internal", e.to_string())))
        }
    });
    registry.register(TARGET, "agent.restart", true, |_| async {
        Ok(Outcome {
            data: json!({"restarting": true}),
            then: Some(Effect::Restart { reason: "agent.restart".into() }),
        })
    });
    registry.register(TARGET, "agent.log_level", true, |cmd| async move { log_level(&cmd.args) });
    let c = ctx.clone();
    registry.register(TARGET, "agent.logs", true, move |cmd| {
        let r = super::diagnostics::logs(&c, &cmd.args);
        async move { r }
    });
    let c = ctx.clone();
    // Not resumable: an update cut by a crash is answered `interrupted`; the cloud sends it again.
    registry.register(TARGET, "agent.update", false, move |cmd| {
        let c = c.clone();
        async move { crate::update::apply::apply(&c, &cmd).await }
    });
    let c = ctx.clone();
    registry.register(TARGET, "agent.diagnostics", true, move |_| {
        let r = super::diagnostics::diagnostics(&c);
        async move { r }
    });
}

/// The `agent.status` reply: version, uptime, store, MQTT, drivers. No secrets.
pub fn status(ctx: &AgentContext) -> Value {
    let s = ctx.store.stats();
    let link = ctx.link.borrow().clone();
    json!({
        "agent": ctx.config.agent.id,
        "version": crate::version::version(),
        "uptime_secs": ctx.started.elapsed().as_secs(),
        "log_level": log::max_level().to_string().to_lowercase(),
        "store": {
            "rows": s.ledger.rows,
            "bytes": s.ledger.bytes,
            "critical_rows": s.ledger.critical_rows,
            "max_bytes": ctx.config.store.max_bytes,
            "file_bytes": s.file_bytes,
            "full": s.ledger.full,
            "disk_full": s.disk_full,
            "reserve_held": s.reserve_held,
            "evicted": s.ledger.evicted,
            "last_seq": s.ledger.last_seq,
            "dropped": s.ledger.dropped,
            "refused": s.ledger.refused,
            "commit_errors": s.commit_errors,
            "last_error": s.last_error,
        },
        "mqtt": {
            "connected": link.connected,
            "subscribed": link.subscribed,
            "broker": format!("{}:{}", ctx.config.mqtt.host, ctx.config.mqtt.port),
            "protocol": ctx.config.mqtt.protocol,
            "connects": link.connects,
            "errors": link.errors,
            "last_error": link.last_error,
        },
        "drivers": ctx.health.snapshot(),
        "counters": ctx.metrics.snapshot(),
    })
}

fn log_level(args: &Value) -> Reply {
    let name =
        args.get("level").and_then(Value::as_str).ok_or_else(|| CommandError::bad_args("`level` is required"))?;
    let filter = log_level_filter(name)
        .ok_or_else(|| CommandError::bad_args("`level` must be one of off, error, warn, info, debug, trace"))?;
    let previous = log::max_level().to_string().to_lowercase();
    log::set_max_level(filter);
    log::warn!("log level set to {filter} by command");
    Ok(Outcome::data(json!({"level": filter.to_string().to_lowercase(), "previous": previous})))
}

/// `agent.config.set`: `{"toml": "<whole file>"}` or `{"config": {…}}`. Validated, then
/// written atomically (the old file kept as `<file>.prev`), then applied by a restart.
/// `***` secrets keep their current values. A config that fails to start is rolled back.
fn config_set(ctx: &AgentContext, args: &Value) -> Reply {
    // Checked first: once a set wrote, even one equal to the running config would answer
    // "unchanged" about a file that now holds the other.
    if ctx.config_written.load(Ordering::SeqCst) {
        return Err(restarting());
    }
    let text = match (args.get("toml"), args.get("config")) {
        (Some(Value::String(text)), None) => text.clone(),
        (None, Some(obj @ Value::Object(_))) => {
            toml::to_string(obj).map_err(|e| CommandError::bad_args(format!("`config` cannot be TOML: {e}")))?
        }
        _ => {
            return Err(CommandError::bad_args("give exactly one of `toml` (string) or `config` (object)"));
        }
    };
    let mut new = Config::parse(&text).map_err(|e| CommandError::new("invalid_config", e.to_string()))?;
    new.inherit_redacted_secrets(&ctx.config);
    if let [first, ..] = new.placeholder_secrets().as_slice() {
        let why = format!("{first} is `***` but the running config has no value to keep: write the secret");
        return Err(CommandError::new("invalid_config", why));
    }
    if new == ctx.config {
        return Ok(Outcome::data(json!({"changed": false})));
    }
    if new.store.path != ctx.config.store.path {
        // A new file would start empty: the undelivered events, the commands' records and
        // the connectors' state would stay behind in the old one, never relayed.
        let why = "store.path cannot be changed remotely: the undelivered events are in the current file; \
                   move it with the agent stopped";
        return Err(CommandError::new("invalid_config", why));
    }
    let file_text = if text.contains(crate::config::REDACTED) {
        new.to_toml().map_err(|e| CommandError::new("internal", e.to_string()))?
    } else {
        text
    };
    if ctx.config_written.swap(true, Ordering::SeqCst) {
        return Err(restarting());
    }
    if let Err(e) = write_config(&ctx.config_path, &file_text) {
        ctx.config_written.store(false, Ordering::SeqCst);
        return Err(CommandError::new("write_failed", e.to_string()));
    }
    Ok(Outcome {
        data: json!({"changed": true, "restarting": true}),
        then: Some(Effect::Restart { reason: "agent.config.set".into() }),
    })
}

fn restarting() -> CommandError {
    let why = "a config written by an earlier agent.config.set is being applied: send this one again after the restart";
    CommandError::new("restarting", why)
}

/// Keeps the old file as `.prev` (unless a config is on trial: `.prev` is then the last one
/// that passed, and stays), replaces the file atomically, and leaves the `.applying` marker:
/// the new config is on trial (config/trial.rs). One at a time: two sets the broker
/// delivers together would share the temporary file.
fn write_config(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = crate::durable::with_suffix(path, ".tmp");
    if !trial::on_trial(path) {
        let prev = trial::prev_path(path);
        std::fs::copy(path, &prev)?;
        std::fs::File::open(&prev)?.sync_all()?;
    }
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    let mut marker = std::fs::File::create(trial::applying_marker(path))?;
    marker.write_all(b"0")?;
    marker.sync_all()?;
    std::fs::rename(&tmp, path)?;
    crate::durable::sync_parent(path);
    Ok(())
}
