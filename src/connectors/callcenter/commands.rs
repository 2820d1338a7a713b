//! The account's cloud commands (target `callcenter/{name}`), one per API: the command's
//! args are the API's request fields as the digest names them (`callee`, `verifyCode`,
//! `taskID`…), `agent` defaulting to the account's; `requests: [{…}, …]` sends several in
//! one batched call, each answered on its own. Plus `cc.task.create` (any number of
//! callees, [`super::task`]) and `cc.recording.ack`.
//!
//! Retries: calls that change nothing twice (queries, lists, agent states, hang-up, task
//! control, adding numbers — the platform counts a repeat in `report.repeat`) are retried
//! within the account's window; a voice code or a click-to-call whose answer was lost is
//! **not** sent again (a second call would ring the phone twice): it fails `uncertain`.

use super::driver::Driver;
use super::protocol::api::Api;
use super::protocol::envelope::{Call, Response};
use super::service::ServiceError;
use crate::command::{Command, CommandError, Outcome, Registry, Reply};
use crate::connectors::peer;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Each command and its API.
const COMMANDS: &[(&str, Api)] = &[
    ("cc.voice_verify", Api::VoiceVerify),
    ("cc.agent.login", Api::AgentLogin),
    ("cc.agent.logout", Api::AgentLogout),
    ("cc.agent.busy", Api::AgentSetBusy),
    ("cc.agent.idle", Api::AgentSetIdle),
    ("cc.agent.query_status", Api::AgentQueryStatus),
    ("cc.agent.status", Api::GetAgentStatus),
    ("cc.agent.info", Api::GetAgentInfo),
    ("cc.call", Api::CallNumber),
    ("cc.hangup", Api::HangupCall),
    ("cc.task.query", Api::CallTaskQuery),
    ("cc.task.control", Api::CallTaskControl),
    ("cc.task.add_numbers", Api::CallTaskAddNumbers),
    ("cc.records.list", Api::GetRecordsList),
    ("cc.cdr.list", Api::GetCdrList),
];

/// Sending it twice would do it twice.
fn once_only(api: Api) -> bool {
    matches!(api, Api::VoiceVerify | Api::CallNumber | Api::CallTaskCreate)
}

pub fn register(registry: &mut Registry, d: Arc<Driver>) {
    let target = d.peer.source.clone();
    for (name, api) in COMMANDS {
        let (d, api) = (d.clone(), *api);
        registry.register(&target, name, !once_only(api), move |c| {
            let d = d.clone();
            async move { run(&d, api, c).await }
        });
    }
    let td = d.clone();
    registry.register(&target, "cc.task.create", true, move |c| {
        let d = td.clone();
        async move { super::task::create(&d, c).await }
    });
    registry.register(&target, "cc.recording.ack", true, move |c| {
        let d = d.clone();
        async move {
            let ack = crate::connectors::files::ack::parse(&c.args).map_err(CommandError::bad_args)?;
            let file_id = ack.file_id;
            match d.files.acknowledge(&file_id, ack.ok, &ack.reason).await.map_err(store)? {
                Some(a) => Ok(Outcome::data(
                    json!({"file_id": file_id, "key": a.item, "state": a.state.as_sql(), "reoffered": a.reoffered}),
                )),
                None => Err(CommandError::new("unknown_file", format!("no recording with file_id {file_id}"))),
            }
        }
    });
}

pub fn store(e: crate::store::StoreError) -> CommandError {
    CommandError::new("store", e.to_string())
}

/// One API command: a single request, or a batch under `requests`.
async fn run(d: &Driver, api: Api, c: Command) -> Reply {
    let batch = c.args.get("requests").and_then(Value::as_array).cloned();
    let list = match &batch {
        Some(list) => list.clone(),
        None => vec![c.args.clone()],
    };
    let requests = list.iter().map(|r| request(d, api, r)).collect::<Result<Vec<_>, _>>()?;
    let agent = requests.first().and_then(|r| r.get("agent")).and_then(Value::as_str).map(str::to_string);
    let call = Call { api, agent: agent.or_else(|| default_agent(d)), requests, batched: batch.is_some() };
    let responses = send(d, &call).await?;
    if batch.is_some() {
        return Ok(Outcome::data(json!({"responses": responses.iter().map(Response::json).collect::<Vec<_>>()})));
    }
    let r = responses.into_iter().next().ok_or_else(|| CommandError::new("bad_reply", "no response"))?;
    answer(r)
}

/// A response as the command's result: its fields, or its error.
pub fn answer(r: Response) -> Reply {
    if r.error != 0 {
        let msg = if r.msg.is_empty() { String::new() } else { format!(": {}", r.msg) };
        return Err(CommandError::new("refused", format!("error {}{msg}", r.error)));
    }
    Ok(Outcome::data(r.json()))
}

fn default_agent(d: &Driver) -> Option<String> {
    Some(d.cfg.agent.clone()).filter(|a| !a.is_empty())
}

/// A request's fields from a command's args: `agent` defaulted, `requests` dropped.
pub fn request(d: &Driver, api: Api, args: &Value) -> Result<Map<String, Value>, CommandError> {
    let mut r = match args {
        Value::Object(m) => m.clone(),
        Value::Null => Map::new(),
        other => return Err(CommandError::bad_args(format!("a request is an object, not {other}"))),
    };
    r.remove("requests");
    r.remove("seq");
    if api.takes_agent() && r.get("agent").is_none_or(Value::is_null) {
        let agent = default_agent(d).ok_or_else(|| CommandError::bad_args("agent: missing (and no default agent)"))?;
        let agent = if api == Api::GetCdrList { json!([agent]) } else { json!(agent) };
        r.insert("agent".into(), agent);
    }
    api.check(&r).map_err(CommandError::bad_args)?;
    Ok(r)
}

/// Whether a failed call may still have been taken by the platform: no answer, an HTTP
/// error (a 503 too: a proxy may answer it after passing the request on), or a 2xx that
/// cannot be read.
fn may_have_taken(e: &ServiceError) -> bool {
    !e.not_sent() && matches!(e, ServiceError::NoAnswer(_) | ServiceError::Status(_) | ServiceError::Reply(_))
}

/// Sends a call within the account's retry window: any call while nothing reached the
/// platform; a call that does nothing twice also when its answer was lost.
pub async fn send(d: &Driver, call: &Call) -> Result<Vec<Response>, CommandError> {
    let once = once_only(call.api);
    let attempt = || async {
        match d.send(call).await {
            Err(e) if once && may_have_taken(&e) => Err(Uncertain::Yes(e)),
            other => other.map_err(Uncertain::No),
        }
    };
    d.peer.retrying(attempt).await.map_err(|e| match e {
        Uncertain::Yes(e) => CommandError::new(
            "uncertain",
            format!("{e}: the platform may have taken the request; it is not sent again (see docs/mqtt.md)"),
        ),
        Uncertain::No(ServiceError::Invalid(why)) => CommandError::bad_args(why),
        Uncertain::No(e) => peer::command_error(&e, "refused"),
    })
}

/// A failed try, and whether the platform may have acted on it.
#[derive(Debug, thiserror::Error)]
enum Uncertain {
    #[error(transparent)]
    Yes(ServiceError),
    #[error(transparent)]
    No(ServiceError),
}

impl crate::connectors::Classify for Uncertain {
    fn class(&self) -> crate::connectors::ErrorClass {
        match self {
            // Never retried.
            Uncertain::Yes(_) => crate::connectors::ErrorClass::Refused,
            Uncertain::No(e) => e.class(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_that_got_an_http_error_or_an_unreadable_reply_may_have_been_taken() {
        assert!(may_have_taken(&ServiceError::Status(503)), "a proxy's 503 after passing it on");
        assert!(may_have_taken(&ServiceError::Status(500)));
        assert!(may_have_taken(&ServiceError::Reply("not json".into())));
        assert!(!may_have_taken(&ServiceError::Invalid("agent".into())), "refused before sending");
        assert!(!may_have_taken(&ServiceError::Refused(1, String::new())), "the platform said no");
    }
}
