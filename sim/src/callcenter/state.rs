//! The simulated call-center platform's state, pure (no I/O): the account, agents
//! (seats) with their work and server status, outbound call tasks, calls in progress,
//! CDRs and recordings with increasing keys, and the counters `/sim/state` shows.

use super::times;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// The seed's `workStatus` values: "OFFLINE … ONLINE … BUSY … AWAY" (getAgentStatus).
pub const OFFLINE: &str = "OFFLINE";
pub const ONLINE: &str = "ONLINE";
pub const BUSY: &str = "BUSY";
pub const AWAY: &str = "AWAY";
/// The seed's `serverStatus` values used: `IDLE`, `CALL_OUT` (also CALL_IN, RINGING,
/// PROCESS, which nothing in the sim produces).
pub const IDLE: &str = "IDLE";
pub const CALL_OUT: &str = "CALL_OUT";

/// getCdrList `serviceType` of a click-to-call (the seed's only example CDR: `"serviceType": "5"`
/// for agent 8000; the labels are unreadable).
pub const CLICK_TO_CALL_SERVICE: &str = "5";
/// getRecordsList `type` of an outbound call: the table reads "type Int Y E 0 / M 1" (two
/// values, 0 and 1; labels unreadable; the example's `"type": "4"` contradicts it). The sim
/// writes `1`, the same as `call_type` 1 of an outbound call in the notifications.
pub const OUTBOUND_RECORD_TYPE: &str = "1";

/// One agent (seat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// getAgentInfo `id` (the platform's internal id: 1, 2, … in the order given).
    pub id: String,
    pub work: &'static str,
    pub server: &'static str,
}

/// A task's state: created (not started), running, stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    Created,
    Running,
    Stopped,
}

impl TaskStatus {
    pub fn name(self) -> &'static str {
        match self {
            TaskStatus::Created => "created",
            TaskStatus::Running => "running",
            TaskStatus::Stopped => "stopped",
        }
    }

    /// taskinfo `status` "(0/1/2)" (labels unreadable): 0 not started, 1 running, 2 stopped.
    pub fn code(self) -> u32 {
        match self {
            TaskStatus::Created => 0,
            TaskStatus::Running => 1,
            TaskStatus::Stopped => 2,
        }
    }
}

/// An outbound call task.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: u32,
    pub name: String,
    pub agent: String,
    /// Valid, distinct numbers.
    pub callees: Vec<String>,
    pub callers: Vec<String>,
    pub mode: u32,
    pub multiplier: u32,
    pub status: TaskStatus,
    pub user_data: Option<String>,
}

/// A click-to-call in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveCall {
    pub id: u32,
    pub agent: String,
    pub caller: String,
    pub callee: String,
    /// The CallNumber request's `seq` and `userData`, as given.
    pub seq: Value,
    pub user_data: Option<String>,
    /// Sim clock, epoch ms.
    pub started_ms: i64,
}

/// One getCdrList entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Cdr {
    pub key: u32,
    pub agent: String,
    pub service_type: String,
    /// Unix seconds.
    pub answer_s: i64,
    pub caller: String,
    pub callee: String,
    /// Seconds.
    pub time_length: i64,
    pub fee: f64,
    pub release_cause: String,
    /// 1 answered (inferred), 2, 3.
    pub result: String,
    pub filename: String,
}

impl Cdr {
    /// As getCdrList lists it: the example's strings, `fee` a number (`"fee": 0.06,`).
    pub fn to_json(&self) -> Value {
        json!({"key": self.key.to_string(), "agent": self.agent, "serviceType": self.service_type,
            "answerTime": times::datetime(self.answer_s), "caller": self.caller, "callee": self.callee,
            "timeLength": self.time_length.to_string(), "fee": self.fee, "releaseCause": self.release_cause,
            "result": self.result, "filename": self.filename})
    }
}

/// One getRecordsList entry and its recording file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub key: u32,
    pub caller: String,
    pub callee: String,
    /// `record/yyyyMMdd/<key>.wav`, served at `/<filename>`.
    pub filename: String,
    pub kind: String,
    pub agent: String,
    /// Unix seconds.
    pub start_s: i64,
    /// Seconds.
    pub duration: i64,
    /// Size of the recording file.
    pub bytes: u64,
}

impl Record {
    /// As the seed's example lists it: every field a string (`"key": "1"`, `"startTime":
    /// "1505992923"`, `"duration": "330"`).
    pub fn to_json(&self) -> Value {
        json!({"key": self.key.to_string(), "caller": self.caller, "callee": self.callee,
            "filename": self.filename, "type": self.kind, "agent": self.agent,
            "startTime": self.start_s.to_string(), "duration": self.duration.to_string()})
    }
}

/// A finished call to store: who, when, how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub agent: String,
    pub caller: String,
    pub callee: String,
    pub start_s: i64,
    pub talk_s: i64,
    /// Store a record and a recording file too.
    pub record: bool,
}

/// The platform.
#[derive(Debug, Clone)]
pub struct Platform {
    pub customer: String,
    pub apikey: String,
    pub agents: BTreeMap<String, Agent>,
    pub tasks: Vec<Task>,
    /// Agent → its call in progress.
    pub calls: HashMap<String, ActiveCall>,
    pub cdrs: Vec<Cdr>,
    pub records: Vec<Record>,
    /// getRecordsList page size.
    pub records_page: usize,
    /// getCdrList cap (0: every matching CDR).
    pub cdr_page: usize,
    pub recording_bytes: u64,
    /// HTTP calls by API name (any outcome), and the refused ones.
    pub requests: BTreeMap<String, u64>,
    pub refused_digest: u64,
    pub refused_stale: u64,
    next_task: u32,
    next_call: u32,
    next_cdr: u32,
    next_record: u32,
}

/// The number an agent's calls come from (`caller` of its CDRs): 156 and the agent's
/// number padded to eight digits.
pub fn agent_phone(agent: &str) -> String {
    format!("156{agent:0>8}")
}

impl Platform {
    pub fn new(customer: &str, apikey: &str, agents: &[String]) -> Platform {
        let agents = agents
            .iter()
            .enumerate()
            .map(|(i, a)| (a.clone(), Agent { id: (i + 1).to_string(), work: OFFLINE, server: IDLE }))
            .collect();
        Platform {
            customer: customer.into(),
            apikey: apikey.into(),
            agents,
            tasks: Vec::new(),
            calls: HashMap::new(),
            cdrs: Vec::new(),
            records: Vec::new(),
            records_page: 500,
            cdr_page: 0,
            recording_bytes: 65_536,
            requests: BTreeMap::new(),
            refused_digest: 0,
            refused_stale: 0,
            next_task: 1,
            next_call: 1,
            next_cdr: 1,
            next_record: 1,
        }
    }

    /// A new task id (increasing from 1).
    pub fn task_id(&mut self) -> u32 {
        let id = self.next_task;
        self.next_task += 1;
        id
    }

    /// Starts a call of `agent` (the caller checked the agent's state): `CALL_OUT`.
    pub fn start_call(&mut self, agent: &str, callee: &str, seq: Value, user_data: Option<String>, now_ms: i64) -> u32 {
        let id = self.next_call;
        self.next_call += 1;
        if let Some(a) = self.agents.get_mut(agent) {
            a.server = CALL_OUT;
        }
        let call = ActiveCall {
            id,
            agent: agent.into(),
            caller: agent_phone(agent),
            callee: callee.into(),
            seq,
            user_data,
            started_ms: now_ms,
        };
        self.calls.insert(agent.into(), call);
        id
    }

    /// Ends call `id` of `agent` at `now_ms` (unless it has ended already): the agent is
    /// IDLE again, a CDR and a record are stored. → the call and its CDR and record.
    pub fn end_call(&mut self, agent: &str, id: u32, now_ms: i64) -> Option<(ActiveCall, Cdr, Option<Record>)> {
        if self.calls.get(agent).is_none_or(|c| c.id != id) {
            return None;
        }
        let call = self.calls.remove(agent)?;
        if let Some(a) = self.agents.get_mut(agent) {
            a.server = IDLE;
        }
        let talk_ms = (now_ms - call.started_ms).max(0);
        let (cdr, record) = self.store(Finished {
            agent: call.agent.clone(),
            caller: call.caller.clone(),
            callee: call.callee.clone(),
            start_s: call.started_ms.div_euclid(1000),
            talk_s: ((talk_ms + 999) / 1000).max(1),
            record: true,
        });
        Some((call, cdr, record))
    }

    /// Stores a finished call's CDR (and record): answered (`result` 1, `releaseCause`
    /// 200), 0.06 per started minute (the example's fee).
    pub fn store(&mut self, f: Finished) -> (Cdr, Option<Record>) {
        let record = f.record.then(|| {
            let key = self.next_record;
            self.next_record += 1;
            let r = Record {
                key,
                caller: f.caller.clone(),
                callee: f.callee.clone(),
                filename: format!("record/{}/{key}.wav", times::day(f.start_s)),
                kind: OUTBOUND_RECORD_TYPE.into(),
                agent: f.agent.clone(),
                start_s: f.start_s,
                duration: f.talk_s,
                bytes: self.recording_bytes,
            };
            self.records.push(r.clone());
            r
        });
        let key = self.next_cdr;
        self.next_cdr += 1;
        let minutes = (f.talk_s.max(1) + 59) / 60;
        let cdr = Cdr {
            key,
            agent: f.agent,
            service_type: CLICK_TO_CALL_SERVICE.into(),
            answer_s: f.start_s,
            caller: f.caller,
            callee: f.callee,
            time_length: f.talk_s,
            fee: (minutes as f64 * 0.06 * 100.0).round() / 100.0,
            release_cause: "200".into(),
            result: "1".into(),
            filename: record.as_ref().map(|r| r.filename.clone()).unwrap_or_default(),
        };
        self.cdrs.push(cdr.clone());
        (cdr, record)
    }

    /// The record whose file is `/<path>`.
    pub fn recording(&self, path: &str) -> Option<&Record> {
        let name = path.trim_start_matches('/');
        self.records.iter().find(|r| r.filename == name)
    }

    /// The `/sim/state` summary.
    pub fn summary(&self) -> Value {
        let agents: serde_json::Map<String, Value> = self
            .agents
            .iter()
            .map(|(k, a)| (k.clone(), json!({"workStatus": a.work, "serverStatus": a.server, "id": a.id})))
            .collect();
        let tasks: Vec<Value> = self
            .tasks
            .iter()
            .map(|t| {
                json!({"taskID": t.id.to_string(), "taskName": t.name, "agent": t.agent, "callees": t.callees.len(),
                    "status": t.status.name(), "userData": t.user_data, "mode": t.mode, "multiplier": t.multiplier})
            })
            .collect();
        json!({"agents": agents, "tasks": tasks, "requests": self.requests, "cdrs": self.cdrs.len(),
            "records": self.records.len(), "calls": self.calls.len(),
            "refused": {"digest": self.refused_digest, "stale": self.refused_stale}})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_sets_call_out_then_stores_a_cdr_and_a_record() {
        let mut p = Platform::new("C2", "k", &["1000".into(), "1001".into()]);
        assert_eq!(p.agents["1001"].id, "2");
        let id = p.start_call("1000", "13800000000", json!("7"), Some("u".into()), 1_536_561_560_000);
        assert_eq!(p.agents["1000"].server, CALL_OUT);
        assert!(p.end_call("1000", id + 1, 0).is_none(), "another call's id");
        let (call, cdr, rec) = p.end_call("1000", id, 1_536_561_561_300).expect("ended");
        assert_eq!((call.seq, p.agents["1000"].server), (json!("7"), IDLE));
        let rec = rec.expect("record");
        assert_eq!((cdr.key, cdr.time_length, cdr.fee, rec.filename.as_str()), (1, 2, 0.06, "record/20180910/1.wav"));
        assert_eq!(cdr.to_json()["answerTime"], "2018-09-10 14:39:20");
        assert_eq!(cdr.to_json()["caller"], "15600001000");
        assert_eq!(rec.to_json()["startTime"], "1536561560");
        assert!(p.end_call("1000", id, 0).is_none(), "only once");
        assert_eq!(p.recording("/record/20180910/1.wav").map(|r| r.key), Some(1));
    }
}
