//! The call-center API's calls (digest table "Calls", seed §3–§16, §20, §24): which
//! `V2.0.x` versions each supports, each request's validation, and its effect on the
//! [`Platform`]. Pure: the side effects that need I/O (a simulated call, its hangup, a
//! `taskinfo` notification) are returned as [`Effect`]s for the server to carry out.

use super::codes::{AGENT_STATE, BAD_FIELD, MISSING_FIELD, NO_CALL, NO_SUCH_AGENT, NO_SUCH_TASK};
use super::fields::{Fail, MAX_CALLEES, MAX_CALLERS, Req, is_phone, numbers};
use super::state::{AWAY, BUSY, OFFLINE, ONLINE, Platform, Task, TaskStatus};
use super::times;
use serde_json::{Value, json};

const ALL: &[u32] = &[1, 2, 3, 4, 6];

/// Each API with the minor versions `x` of `V2.0.x` it answers. The seed's URL lines say
/// "(x=1,2,3,4,6)" for all but `getAgentinfo (x=6)` and `getRecordsList (x=4,6)`;
/// getCdrList's line lists none but its example URL is `…/openapi/V2.0.1/getCdrList`, so it
/// is given the same five as the others.
pub const APIS: &[(&str, &[u32])] = &[
    ("VoiceVerify", ALL),
    ("AgentQueryStatus", ALL),
    ("getAgentStatus", ALL),
    ("getAgentInfo", &[6]),
    ("AgentLogin", ALL),
    ("AgentLogout", ALL),
    ("AgentSetBusy", ALL),
    ("AgentSetIdle", ALL),
    ("CallNumber", ALL),
    ("HangupCall", ALL),
    ("CallTaskCreate", ALL),
    ("CallTaskQuery", ALL),
    ("CallTaskControl", ALL),
    ("CallTaskAddNumbers", ALL),
    ("getRecordsList", &[4, 6]),
    ("getCdrList", ALL),
];

/// The API called `name` (exact case) and its versions. The seed's URL line reads
/// `http://ip:port/openapi/V2.0.x/getAgentinfo (x=6)` while its title and the digest say
/// getAgentInfo; OCR confuses I and i, so both spellings are answered.
pub fn lookup(name: &str) -> Option<(&'static str, &'static [u32])> {
    let name = if name == "getAgentinfo" { "getAgentInfo" } else { name };
    APIS.iter().find(|(n, _)| *n == name).copied()
}

/// getCdrList `serviceType` codes: the seed's table lists 1, 2, 3, 4, 5, 7, 9, 17, 18, 19
/// (labels unreadable); another value is refused.
pub const SERVICE_TYPES: &[&str] = &["1", "2", "3", "4", "5", "7", "9", "17", "18", "19"];

/// Work the server does after answering.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Run call `id` of `agent` (notifications, then the CDR).
    Call { agent: String, id: u32 },
    /// End call `id` of `agent` now.
    Hangup { agent: String, id: u32 },
    /// Send this `notify` object.
    Notify(Value),
}

/// A successful request's results.
#[derive(Debug, Default)]
pub struct Done {
    /// Fields added to the `response` object.
    pub fields: Vec<(&'static str, Value)>,
    /// A field put beside `response` inside `data` (getRecordsList's `record`, as the seed's
    /// example places it); inside the response when the request was one of a batch.
    pub beside: Option<(&'static str, Value)>,
    pub effect: Option<Effect>,
}

impl Done {
    fn with(fields: Vec<(&'static str, Value)>) -> Done {
        Done { fields, ..Done::default() }
    }
}

/// `agent`: 1–8 digits and an agent of the platform.
fn agent(p: &Platform, r: &Req) -> Result<String, Fail> {
    let a = r.digits("agent", 1, 8)?;
    if !p.agents.contains_key(&a) {
        return Err((NO_SUCH_AGENT, format!("agent {a}")));
    }
    Ok(a)
}

fn task_index(p: &Platform, r: &Req, owner: Option<&str>) -> Result<usize, Fail> {
    let id = r.digits("taskID", 1, 10)?;
    p.tasks
        .iter()
        .position(|t| t.id.to_string() == id.trim_start_matches('0') && owner.is_none_or(|o| o == t.agent))
        .ok_or_else(|| {
            (NO_SUCH_TASK, format!("task {id}{}", owner.map(|o| format!(" of agent {o}")).unwrap_or_default()))
        })
}

/// The `taskinfo` notification of a task (seed §25: `taskID, taskName, calleeAmount,
/// remainAmount, status, purpose, group, staffNo, seq, userData`). `purpose` 1 with
/// `staffNo` (a task of one agent; 0 would be a group's with `group`); `remainAmount` all
/// numbers (the sim dials none of them); `userData` the task's, from CallTaskCreate (`""`
/// when it had none, the examples' shape).
pub fn taskinfo(t: &Task, seq: &Value) -> Value {
    json!({"type": "taskinfo", "taskID": t.id.to_string(), "taskName": t.name,
        "calleeAmount": t.callees.len().to_string(), "remainAmount": t.callees.len().to_string(),
        "status": t.status.code().to_string(), "purpose": "1", "group": "", "staffNo": t.agent,
        "seq": seq, "userData": t.user_data.clone().unwrap_or_default()})
}

/// Answers one request of API `api` (checked by [`lookup`]) at the sim's `now_ms`.
pub fn handle(p: &mut Platform, api: &str, req: &Value, now_ms: i64) -> Result<Done, Fail> {
    let r = Req(req);
    let seq = req.get("seq").cloned().unwrap_or(Value::Null);
    r.req("seq")?;
    let user_data = r.user_data(if api == "VoiceVerify" { 100 } else { 30 })?;
    let set_work = |p: &mut Platform, a: &str, work: &'static str| {
        if let Some(ag) = p.agents.get_mut(a) {
            ag.work = work;
        }
    };
    match api {
        "VoiceVerify" => {
            r.phone("callee")?;
            r.digits("verifyCode", 3, 8)?;
            r.int("playTimes", 1, 5, Some(3))?;
            Ok(Done::default())
        }
        "AgentLogin" => {
            let a = agent(p, &r)?;
            set_work(p, &a, ONLINE);
            Ok(Done::default())
        }
        "AgentLogout" => {
            let a = agent(p, &r)?;
            if p.calls.contains_key(&a) {
                return Err((AGENT_STATE, format!("agent {a} is in a call")));
            }
            set_work(p, &a, OFFLINE);
            Ok(Done::default())
        }
        "AgentSetBusy" | "AgentSetIdle" => {
            let a = agent(p, &r)?;
            if p.agents[&a].work == OFFLINE {
                return Err((AGENT_STATE, format!("agent {a} is not logged in")));
            }
            set_work(p, &a, if api == "AgentSetBusy" { BUSY } else { ONLINE });
            Ok(Done::default())
        }
        "AgentQueryStatus" => {
            // The seed's reply example carries only seq, userData and result.
            agent(p, &r)?;
            Ok(Done::default())
        }
        "getAgentStatus" => {
            let a = agent(p, &r)?;
            let ag = &p.agents[&a];
            Ok(Done::with(vec![("workStatus", json!(ag.work)), ("serverStatus", json!(ag.server))]))
        }
        "getAgentInfo" => {
            let data: Vec<Value> = p
                .agents
                .iter()
                .map(|(no, a)| json!({"id": a.id, "name": format!("Agent {no}"), "staffNo": no}))
                .collect();
            Ok(Done::with(vec![("data", Value::Array(data))]))
        }
        "CallNumber" => {
            let a = agent(p, &r)?;
            let callee = r.phone("callee")?;
            let ag = &p.agents[&a];
            if ag.work == OFFLINE {
                return Err((AGENT_STATE, format!("agent {a} is not logged in")));
            }
            if ag.work == AWAY || p.calls.contains_key(&a) {
                return Err((AGENT_STATE, format!("agent {a} is {} / {}", ag.work, ag.server)));
            }
            let id = p.start_call(&a, &callee, seq, user_data, now_ms);
            Ok(Done { effect: Some(Effect::Call { agent: a, id }), ..Done::default() })
        }
        "HangupCall" => {
            let a = agent(p, &r)?;
            let Some(call) = p.calls.get(&a) else { return Err((NO_CALL, format!("agent {a}"))) };
            Ok(Done { effect: Some(Effect::Hangup { agent: a, id: call.id }), ..Done::default() })
        }
        "CallTaskCreate" => {
            let a = agent(p, &r)?;
            let name = r.opt("taskName")?.unwrap_or_default();
            let callees = r.list("callees", MAX_CALLEES)?.filter(|l| !l.is_empty());
            let callees = callees.ok_or_else(|| (MISSING_FIELD, "callees".to_string()))?;
            let callers = r.list("callers", MAX_CALLERS)?.unwrap_or_default();
            let callers: Vec<String> = callers
                .iter()
                .map(|c| match super::auth::text(Some(c)) {
                    Some(Ok(s)) if is_phone(&s) => Ok(s),
                    _ => Err((BAD_FIELD, format!("callers: {c} is not a phone number"))),
                })
                .collect::<Result<_, _>>()?;
            let mode = r.int("mode", i64::MIN, i64::MAX, None)?;
            if mode != 2 && mode != 5 {
                return Err((BAD_FIELD, format!("mode must be 2 or 5, not {mode}")));
            }
            let multiplier = r.int("multiplier", 1, 5, Some(1))?;
            let report = numbers(&callees, &[]);
            let id = p.task_id();
            p.tasks.push(Task {
                id,
                name,
                agent: a,
                callees: report.added.clone(),
                callers,
                mode: mode as u32,
                multiplier: multiplier as u32,
                status: TaskStatus::Created,
                user_data,
            });
            Ok(Done::with(vec![("taskID", json!(id.to_string())), ("report", report.to_json())]))
        }
        "CallTaskQuery" => {
            let a = agent(p, &r)?;
            let t = p.tasks.iter().rev().find(|t| t.agent == a).ok_or((NO_SUCH_TASK, format!("agent {a} has none")))?;
            Ok(Done::with(vec![("taskID", json!(t.id.to_string()))]))
        }
        "CallTaskControl" => {
            let owner = match r.opt("agent")? {
                Some(_) => Some(agent(p, &r)?),
                None => None,
            };
            let i = task_index(p, &r, owner.as_deref())?;
            let action = r.req("action")?;
            let status = match action.to_ascii_lowercase().as_str() {
                "start" => TaskStatus::Running,
                "stop" => TaskStatus::Stopped,
                _ => return Err((BAD_FIELD, format!("action must be start or stop, not {action:?}"))),
            };
            p.tasks[i].status = status;
            let t = &p.tasks[i];
            Ok(Done {
                fields: vec![("taskID", json!(t.id.to_string()))],
                beside: None,
                effect: Some(Effect::Notify(taskinfo(t, &seq))),
            })
        }
        "CallTaskAddNumbers" => {
            let a = agent(p, &r)?;
            let i = task_index(p, &r, Some(&a))?;
            let callees = r.list("callees", MAX_CALLEES)?.filter(|l| !l.is_empty());
            let callees = callees.ok_or_else(|| (MISSING_FIELD, "callees".to_string()))?;
            let report = numbers(&callees, &p.tasks[i].callees);
            p.tasks[i].callees.extend(report.added.iter().cloned());
            Ok(Done::with(vec![("taskID", json!(p.tasks[i].id.to_string())), ("report", report.to_json())]))
        }
        "getRecordsList" => records(p, &r),
        "getCdrList" => cdrs(p, &r),
        other => Err((BAD_FIELD, format!("no handler for {other}"))),
    }
}

/// getRecordsList: the records whose key is greater than `startKey`, oldest first, at most a
/// page. Seed: "VE: id 55T startkey HIE A S AL 7R 45 R L" (read "id 大于 startKey …": greater
/// than, not from) and "FUGR [F K5 40808 500 45, … v DUBL 4B Key IEKME YERNTF —URRBUE K1
/// startKey;" (at most 500 a time; the last key is the next startKey).
fn records(p: &Platform, r: &Req) -> Result<Done, Fail> {
    let start = r.int("startKey", 0, i64::from(u32::MAX), None)?;
    let page: Vec<Value> = p
        .records
        .iter()
        .filter(|rec| i64::from(rec.key) > start)
        .take(p.records_page.max(1))
        .map(|rec| rec.to_json())
        .collect();
    Ok(Done { beside: Some(("record", Value::Array(page))), ..Done::default() })
}

fn time_bound(r: &Req, key: &str) -> Result<Option<i64>, Fail> {
    match r.opt(key)? {
        None => Ok(None),
        Some(t) => times::parse_datetime(&t)
            .map(Some)
            .ok_or_else(|| (BAD_FIELD, format!("{key} must be yyyy-MM-dd HH:mm:ss (Beijing time), not {t:?}"))),
    }
}

/// getCdrList: every CDR matching the filters, newest first (the seed's example lists key
/// 6 before key 4), `total` their count. The seed defines no paging for it (no start key,
/// no page size): all are returned unless `--cdr-page` caps the list.
fn cdrs(p: &Platform, r: &Req) -> Result<Done, Fail> {
    let agents: Vec<String> = match r.0.get("agent") {
        Some(Value::Array(list)) => {
            list.iter().map(|v| Req(&json!({"agent": v})).digits("agent", 1, 8)).collect::<Result<_, _>>()?
        }
        _ => vec![r.digits("agent", 1, 8)?],
    };
    if agents.is_empty() {
        return Err((MISSING_FIELD, "agent".into()));
    }
    let service = r.req("serviceType")?;
    if !SERVICE_TYPES.contains(&service.as_str()) {
        return Err((BAD_FIELD, format!("serviceType {service:?} is not one of 1 2 3 4 5 7 9 17 18 19")));
    }
    let (from, to) = (time_bound(r, "startTime")?, time_bound(r, "endTime")?);
    let (caller, callee) = (r.opt("caller")?, r.opt("callee")?);
    let min = match r.opt("timeLengthMin")? {
        Some(_) => Some(r.int("timeLengthMin", 0, i64::MAX, None)?),
        None => None,
    };
    let max = match r.opt("timeLengthMax")? {
        Some(_) => Some(r.int("timeLengthMax", 0, i64::MAX, None)?),
        None => None,
    };
    let hits: Vec<Value> = p
        .cdrs
        .iter()
        .rev()
        .filter(|c| agents.contains(&c.agent) && c.service_type == service)
        .filter(|c| from.is_none_or(|f| c.answer_s >= f) && to.is_none_or(|t| c.answer_s <= t))
        .filter(|c| caller.as_ref().is_none_or(|x| *x == c.caller) && callee.as_ref().is_none_or(|x| *x == c.callee))
        .filter(|c| min.is_none_or(|m| c.time_length >= m) && max.is_none_or(|m| c.time_length <= m))
        .map(|c| c.to_json())
        .collect();
    let total = hits.len();
    let cap = if p.cdr_page == 0 { usize::MAX } else { p.cdr_page };
    let list: Vec<Value> = hits.into_iter().take(cap).collect();
    Ok(Done::with(vec![("total", json!(total.to_string())), ("cdr", Value::Array(list))]))
}
