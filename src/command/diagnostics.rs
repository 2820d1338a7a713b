//! `agent.logs` and `agent.diagnostics`: what a site visit would look at, on request only.
//!
//! - `agent.logs {"level":"warn","since":…,"until":…,"after_seq":N,"contains":"…"}`: recent
//!   lines from the in-memory ring ([`crate::logring`]), scrubbed of secrets when logged,
//!   oldest first, as many as fit under the MQTT payload limit; `more` and `next_after_seq`
//!   say how to ask for the rest.
//! - `agent.diagnostics`: one bounded bundle — version, config (redacted), store and uplink,
//!   every part's health and last error (the tunnel's included), disk and memory figures.

use super::agent::{AgentContext, status};
use super::{CommandError, Reply};
use crate::logring::{self, Query};
use serde_json::{Value, json};

/// Room left in a result for everything but the lines.
const ENVELOPE: usize = 1024;

pub fn logs(ctx: &AgentContext, args: &Value) -> Reply {
    let level = match args.get("level").and_then(Value::as_str) {
        None => None,
        Some(l) => Some(
            l.parse::<log::Level>().map_err(|_| CommandError::bad_args("level: error, warn, info, debug or trace"))?,
        ),
    };
    let time = |key: &str| -> Result<Option<u64>, CommandError> {
        match args.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| CommandError::bad_args(format!("{key}: ms"))),
            Some(Value::String(s)) => crate::event::parse_rfc3339_ms(s)
                .map(Some)
                .ok_or_else(|| CommandError::bad_args(format!("{key}: RFC 3339 or epoch ms"))),
            Some(_) => Err(CommandError::bad_args(format!("{key}: RFC 3339 or epoch ms"))),
        }
    };
    let q = Query {
        level,
        since_ms: time("since")?,
        until_ms: time("until")?,
        after_seq: args.get("after_seq").and_then(Value::as_u64).unwrap_or(0),
        contains: args.get("contains").and_then(Value::as_str).map(str::to_string),
    };
    let budget = ctx.config.mqtt.max_payload_bytes.saturating_sub(ENVELOPE) / 2;
    let (lines, more) = logring::read(&q, budget);
    let next = lines.last().map(|l| l.seq).unwrap_or(q.after_seq);
    let lines: Vec<Value> = lines
        .iter()
        .map(|l| {
            json!({"seq": l.seq, "ts": crate::event::format_rfc3339_ms(l.ts_ms), "level": l.level.as_str().to_lowercase(),
                   "target": l.target, "text": l.text})
        })
        .collect();
    let (kept, bytes, limit) = logring::stats();
    Ok(super::Outcome::data(json!({
        "lines": lines, "more": more, "next_after_seq": next,
        "ring": {"lines": kept, "bytes": bytes, "limit_bytes": limit},
    })))
}

pub fn diagnostics(ctx: &AgentContext) -> Reply {
    let mut bundle = status(ctx);
    bundle["config"] = ctx.config.redacted_json();
    bundle["last_errors"] = last_errors(&bundle);
    bundle["disk"] = disk(&ctx.config.store.path);
    bundle["memory"] = memory();
    let (kept, bytes, limit) = logring::stats();
    bundle["log_ring"] = json!({"lines": kept, "bytes": bytes, "limit_bytes": limit});
    // Bounded: the counters go first when the bundle would not fit one message.
    let limit = ctx.config.mqtt.max_payload_bytes.saturating_sub(ENVELOPE);
    if bundle.to_string().len() > limit {
        bundle["counters"] = json!("left out: too large (see /metrics)");
    }
    if bundle.to_string().len() > limit {
        bundle["config"] = json!("left out: too large (agent.config.get)");
    }
    Ok(super::Outcome::data(bundle))
}

/// Each part's last error: the store, the uplink, every driver and the tunnel.
fn last_errors(status: &Value) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("store".into(), status["store"]["last_error"].clone());
    out.insert("mqtt".into(), status["mqtt"]["last_error"].clone());
    if let Some(drivers) = status["drivers"].as_object() {
        for (name, h) in drivers {
            out.insert(name.clone(), h["last_error"].clone());
        }
    }
    Value::Object(out)
}

/// The store's filesystem: size, free and available bytes.
fn disk(store: &std::path::Path) -> Value {
    let dir = crate::store::store_dir(store);
    match crate::store::disk_space(store) {
        Ok(d) => json!({"path": dir, "total_bytes": d.total, "free_bytes": d.free, "available_bytes": d.available}),
        Err(e) => json!({"path": dir, "error": e}),
    }
}

/// The process's memory (`VmRSS`, `VmHWM`) and the machine's (`MemTotal`, `MemAvailable`), in kB.
fn memory() -> Value {
    let pick = |file: &str, keys: &[&str]| -> serde_json::Map<String, Value> {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        text.lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(k, _)| keys.contains(k))
            .filter_map(|(k, v)| {
                v.split_whitespace().next()?.parse::<u64>().ok().map(|n| (format!("{k}_kb"), json!(n)))
            })
            .collect()
    };
    let mut m = pick("/proc/self/status", &["VmRSS", "VmHWM"]);
    m.extend(pick("/proc/meminfo", &["MemTotal", "MemAvailable"]));
    Value::Object(m)
}
