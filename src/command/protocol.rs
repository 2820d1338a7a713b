//! The command and result wire format — pure parsing and encoding.
//!
//! Result: `{"id","cmd_id","ts","agent","target","cmd","status":"ok","data":…}` or with
//! `"status":"error","error":{"code","reason"}`. `id` is the result's own event id
//! (the cloud de-duplicates by it); `cmd_id` is the command's.

use crate::mqtt::topics::is_command_id;
use serde_json::{Map, Value, json};

/// A parsed command.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub id: String,
    pub target: String,
    pub name: String,
    pub args: Value,
}

/// A command's failure: a stable machine-readable code and a human reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {reason}")]
pub struct CommandError {
    pub code: String,
    pub reason: String,
}

impl CommandError {
    pub fn new(code: &str, reason: impl Into<String>) -> Self {
        CommandError { code: code.to_string(), reason: reason.into() }
    }

    /// `bad_args`: the arguments are missing or of the wrong type.
    pub fn bad_args(reason: impl Into<String>) -> Self {
        Self::new("bad_args", reason)
    }
}

/// A successful result, and what to do once it is committed.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub data: Value,
    pub then: Option<super::Effect>,
}

impl Outcome {
    pub fn data(data: Value) -> Self {
        Outcome { data, then: None }
    }
}

/// A command message that could not be parsed at all, with whatever id it had.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub id: Option<String>,
    pub error: CommandError,
}

/// Parses a command payload received for `target`.
pub fn parse_command(target: &str, payload: &[u8]) -> Result<Command, Rejected> {
    let value: Value = serde_json::from_slice(payload).map_err(|e| Rejected {
        id: None,
        error: CommandError::new("bad_json", format!("command is not JSON: {e}")),
    })?;
    let Value::Object(mut map) = value else {
        return Err(Rejected { id: None, error: CommandError::new("bad_request", "command must be a JSON object") });
    };
    let id = match map.remove("id") {
        Some(Value::String(id)) if is_command_id(&id) => id,
        Some(Value::Number(n)) if is_command_id(&n.to_string()) => n.to_string(),
        _ => {
            return Err(Rejected {
                id: None,
                error: CommandError::new("bad_request", "`id` must be 1-128 characters of A-Z a-z 0-9 . _ - :"),
            });
        }
    };
    let name = match map.remove("cmd") {
        Some(Value::String(name)) if !name.is_empty() => name,
        _ => {
            return Err(Rejected { id: Some(id), error: CommandError::new("bad_request", "`cmd` must be a string") });
        }
    };
    let args = match map.remove("args") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(args @ Value::Object(_)) => args,
        Some(_) => {
            return Err(Rejected { id: Some(id), error: CommandError::bad_args("`args` must be an object") });
        }
    };
    Ok(Command { id, target: target.to_string(), name, args })
}

/// Who a result answers: the command's id, target and name where known.
#[derive(Debug, Clone, Default)]
pub struct ResultHeader<'a> {
    pub cmd_id: Option<&'a str>,
    pub target: &'a str,
    pub name: Option<&'a str>,
}

/// Serializes a result payload (always starting with `{"id":`).
pub fn encode_result(
    result_id: &str,
    ts_ms: u64,
    agent: &str,
    header: &ResultHeader<'_>,
    result: &Result<Value, CommandError>,
) -> Vec<u8> {
    // serde_json's map keeps insertion order only with `preserve_order`; build the text
    // in two parts so `id` stays first without that feature.
    let mut body = json!({
        "cmd_id": header.cmd_id,
        "ts": crate::event::format_rfc3339_ms(ts_ms),
        "agent": agent,
        "target": header.target,
        "cmd": header.name,
    });
    match result {
        Ok(data) => {
            body["status"] = "ok".into();
            body["data"] = crate::scrub::json(data).into_owned();
        }
        Err(e) => {
            body["status"] = "error".into();
            body["error"] = json!({"code": e.code, "reason": crate::scrub::text(&e.reason)});
        }
    }
    let rest = body.to_string();
    let id = Value::String(result_id.to_string()).to_string();
    format!("{{\"id\":{id},{}", &rest[1..]).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_formed_command_parses_with_empty_args_by_default() {
        let c = parse_command("agent", br#"{"id":"c-1","cmd":"agent.ping"}"#).expect("parses");
        assert_eq!(c, Command { id: "c-1".into(), target: "agent".into(), name: "agent.ping".into(), args: json!({}) });
    }

    #[test]
    fn malformed_commands_are_rejected_with_a_code_and_the_id_when_known() {
        let e = parse_command("agent", b"{not json").expect_err("bad json");
        assert_eq!((e.id, e.error.code.as_str()), (None, "bad_json"));
        let e = parse_command("agent", br#"{"id":"a/b","cmd":"x"}"#).expect_err("bad id");
        assert_eq!(e.error.code, "bad_request");
        let e = parse_command("agent", br#"{"id":"c-2"}"#).expect_err("no cmd");
        assert_eq!((e.id.as_deref(), e.error.code.as_str()), (Some("c-2"), "bad_request"));
        let e = parse_command("agent", br#"{"id":"c-3","cmd":"x","args":[1]}"#).expect_err("args");
        assert_eq!(e.error.code, "bad_args");
    }

    #[test]
    fn results_start_with_their_own_id_and_carry_the_command_id() {
        let header = ResultHeader { cmd_id: Some("c-1"), target: "agent", name: Some("agent.ping") };
        let ok = encode_result("r-1", 0, "site", &header, &Ok(json!({"pong": true})));
        assert!(ok.starts_with(b"{\"id\":\"r-1\","), "{}", String::from_utf8_lossy(&ok));
        let v: Value = serde_json::from_slice(&ok).expect("json");
        assert_eq!((v["status"].as_str(), v["data"]["pong"].as_bool()), (Some("ok"), Some(true)));
        let err = encode_result("r-2", 0, "site", &header, &Err(CommandError::new("unknown_command", "no")));
        let v: Value = serde_json::from_slice(&err).expect("json");
        assert_eq!(v["error"]["code"], "unknown_command");
    }
}
