//! The APIs of the digest's table: each one's path name, the minor versions that serve it
//! (the seed's `(x=1,2,3,4,6)` lines), and its request fields' rules, checked before
//! anything is sent.

use crate::connectors::lenient::{text_of, u64_of};
use serde_json::{Map, Value};

/// One API of the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    VoiceVerify,
    AgentLogin,
    AgentLogout,
    AgentSetBusy,
    AgentSetIdle,
    AgentQueryStatus,
    GetAgentStatus,
    GetAgentInfo,
    CallNumber,
    HangupCall,
    CallTaskCreate,
    CallTaskQuery,
    CallTaskControl,
    CallTaskAddNumbers,
    GetRecordsList,
    GetCdrList,
}

/// What a request field must hold.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// A seat number, 1–8 digits.
    Agent,
    /// Non-empty text (a phone number, a name, a task id).
    Text,
    /// `n..=m` digits.
    Digits(usize, usize),
    /// A whole number in `n..=m`.
    Range(u64, u64),
    /// One of the words.
    OneOf(&'static [&'static str]),
    /// A list of phone numbers, 1 to `n` of them.
    Phones(usize),
    /// A list of seats (getCdrList's `agent`), or one.
    Agents,
}

/// A request field: its name, whether it is required, its rule.
type Field = (&'static str, bool, Rule);

const AGENT: Field = ("agent", true, Rule::Agent);
/// "(x=1,2,3,4,6)": the seed's line for most APIs.
const MOST: &[u8] = &[1, 2, 3, 4, 6];

impl Api {
    pub const ALL: [Api; 16] = [
        Api::VoiceVerify,
        Api::AgentLogin,
        Api::AgentLogout,
        Api::AgentSetBusy,
        Api::AgentSetIdle,
        Api::AgentQueryStatus,
        Api::GetAgentStatus,
        Api::GetAgentInfo,
        Api::CallNumber,
        Api::HangupCall,
        Api::CallTaskCreate,
        Api::CallTaskQuery,
        Api::CallTaskControl,
        Api::CallTaskAddNumbers,
        Api::GetRecordsList,
        Api::GetCdrList,
    ];

    /// The name in the path, `/openapi/V2.0.x/{name}`.
    pub fn name(self) -> &'static str {
        match self {
            Api::VoiceVerify => "VoiceVerify",
            Api::AgentLogin => "AgentLogin",
            Api::AgentLogout => "AgentLogout",
            Api::AgentSetBusy => "AgentSetBusy",
            Api::AgentSetIdle => "AgentSetIdle",
            Api::AgentQueryStatus => "AgentQueryStatus",
            Api::GetAgentStatus => "getAgentStatus",
            Api::GetAgentInfo => "getAgentInfo",
            Api::CallNumber => "CallNumber",
            Api::HangupCall => "HangupCall",
            Api::CallTaskCreate => "CallTaskCreate",
            Api::CallTaskQuery => "CallTaskQuery",
            Api::CallTaskControl => "CallTaskControl",
            Api::CallTaskAddNumbers => "CallTaskAddNumbers",
            Api::GetRecordsList => "getRecordsList",
            Api::GetCdrList => "getCdrList",
        }
    }

    /// The minor versions (`x` of `V2.0.x`) that serve it: "getAgentinfo (x=6)",
    /// "getRecordsList (x=4,6)", every other "(x=1,2,3,4,6)".
    pub fn versions(self) -> &'static [u8] {
        match self {
            Api::GetAgentInfo => &[6],
            Api::GetRecordsList => &[4, 6],
            _ => MOST,
        }
    }

    /// Refuses a version that does not serve this API.
    pub fn check_version(self, minor: u8) -> Result<(), String> {
        if self.versions().contains(&minor) {
            return Ok(());
        }
        let list: Vec<String> = self.versions().iter().map(|v| format!("V2.0.{v}")).collect();
        Err(format!("{} is not served by V2.0.{minor} (only {})", self.name(), list.join(", ")))
    }

    /// Whether `authentication.agent` is sent (see [`super::inferred::AGENT_IN_AUTHENTICATION`]).
    pub fn agent_level(self) -> bool {
        !matches!(self, Api::VoiceVerify | Api::CallNumber | Api::HangupCall | Api::GetRecordsList | Api::GetCdrList)
    }

    /// Whether the request names a seat (`agent`), so a command may leave it to the default.
    pub fn takes_agent(self) -> bool {
        self.fields().iter().any(|(name, _, _)| *name == "agent")
    }

    /// The longest `userData` (digest: "`userData` ≤ 30 chars — VoiceVerify allows 100").
    pub fn user_data_max(self) -> usize {
        if self == Api::VoiceVerify { 100 } else { 30 }
    }

    fn fields(self) -> &'static [Field] {
        match self {
            Api::VoiceVerify => &[
                ("callee", true, Rule::Text),
                ("verifyCode", true, Rule::Digits(3, 8)),
                ("playTimes", false, Rule::Range(1, 5)),
            ],
            Api::AgentLogin
            | Api::AgentLogout
            | Api::AgentSetBusy
            | Api::AgentSetIdle
            | Api::AgentQueryStatus
            | Api::GetAgentStatus
            | Api::HangupCall
            | Api::CallTaskQuery => &[AGENT],
            Api::GetAgentInfo => &[],
            Api::CallNumber => &[AGENT, ("callee", true, Rule::Text)],
            Api::CallTaskCreate => &[
                AGENT,
                ("taskName", false, Rule::Text),
                ("callees", true, Rule::Phones(1000)),
                ("callers", false, Rule::Phones(100)),
                ("mode", true, Rule::OneOf(&["2", "5"])),
                ("multiplier", false, Rule::Range(1, 5)),
            ],
            Api::CallTaskControl => &[("taskID", true, Rule::Text), ("action", true, Rule::OneOf(&["start", "stop"]))],
            Api::CallTaskAddNumbers => &[("taskID", true, Rule::Text), AGENT, ("callees", true, Rule::Phones(1000))],
            Api::GetRecordsList => &[("startKey", true, Rule::Text)],
            Api::GetCdrList => &[
                ("agent", true, Rule::Agents),
                ("serviceType", true, Rule::Text),
                ("startTime", false, Rule::Text),
                ("endTime", false, Rule::Text),
                ("caller", false, Rule::Text),
                ("callee", false, Rule::Text),
                ("timeLengthMin", false, Rule::Range(0, u64::MAX)),
                ("timeLengthMax", false, Rule::Range(0, u64::MAX)),
            ],
        }
    }

    /// Checks a request's fields (`seq` and `userData` included); other fields are sent
    /// as given.
    pub fn check(self, request: &Map<String, Value>) -> Result<(), String> {
        for (name, required, rule) in self.fields() {
            match request.get(*name) {
                None | Some(Value::Null) if *required => return Err(format!("{}: {name} is required", self.name())),
                None | Some(Value::Null) => {}
                // An optional field left blank, as the seed's examples leave them.
                Some(Value::String(t)) if !required && t.is_empty() => {}
                Some(v) => rule.check(v).map_err(|why| format!("{}: {name} {why}", self.name()))?,
            }
        }
        if let Some(u) = request.get("userData").filter(|v| !v.is_null()) {
            let text = text_of(u).ok_or_else(|| format!("{}: userData must be text", self.name()))?;
            if text.chars().count() > self.user_data_max() {
                return Err(format!("{}: userData is longer than {} characters", self.name(), self.user_data_max()));
            }
        }
        Ok(())
    }

    /// The API named `name` (as in the path; any letter case).
    pub fn parse(name: &str) -> Option<Api> {
        Api::ALL.into_iter().find(|a| a.name().eq_ignore_ascii_case(name))
    }
}

impl Rule {
    fn check(self, v: &Value) -> Result<(), String> {
        let text = || text_of(v).ok_or_else(|| format!("must be text or a number, not {v}"));
        match self {
            Rule::Agent => {
                let t = text()?;
                crate::config::is_agent(&t).then_some(()).ok_or_else(|| format!("{t:?} is not 1-8 digits"))
            }
            Rule::Text => {
                if text()?.is_empty() {
                    Err("is empty".into())
                } else {
                    Ok(())
                }
            }
            Rule::Digits(lo, hi) => {
                let t = text()?;
                let ok = (lo..=hi).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit());
                ok.then_some(()).ok_or_else(|| format!("{t:?} is not {lo}-{hi} digits"))
            }
            Rule::Range(lo, hi) => match u64_of(v) {
                Some(n) if (lo..=hi).contains(&n) => Ok(()),
                _ => Err(format!("must be a whole number from {lo} to {hi}")),
            },
            Rule::OneOf(words) => {
                let t = text()?;
                words.contains(&t.as_str()).then_some(()).ok_or_else(|| format!("must be one of {words:?}"))
            }
            Rule::Phones(max) => {
                let list = v.as_array().ok_or("must be a list")?;
                if list.is_empty() || list.len() > max {
                    return Err(format!("must hold 1 to {max} numbers ({} given)", list.len()));
                }
                match list.iter().position(|n| text_of(n).is_none_or(|t| t.is_empty())) {
                    Some(i) => Err(format!("item {i} is not a number")),
                    None => Ok(()),
                }
            }
            Rule::Agents => match v {
                Value::Array(list) if !list.is_empty() => list.iter().try_for_each(|a| Rule::Agent.check(a)),
                Value::Array(_) => Err("must name at least one seat".into()),
                other => Rule::Agent.check(other),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_task_takes_up_to_1000_callees_and_mode_2_or_5() {
        let callees: Vec<String> = (0..1000).map(|i| format!("1380000{i:04}")).collect();
        assert!(Api::CallTaskCreate.check(&req(json!({"agent": "1000", "callees": callees, "mode": 2}))).is_ok());
        let more: Vec<String> = (0..1001).map(|i| format!("1{i}")).collect();
        let e =
            Api::CallTaskCreate.check(&req(json!({"agent": "1000", "callees": more, "mode": 2}))).expect_err("1001");
        assert!(e.contains("1 to 1000"), "{e}");
        assert!(Api::CallTaskCreate.check(&req(json!({"agent": "1000", "callees": ["1"], "mode": "3"}))).is_err());
    }

    #[test]
    fn user_data_is_30_characters_except_for_voice_verify() {
        let long = "x".repeat(31);
        assert!(Api::CallNumber.check(&req(json!({"agent": "1", "callee": "2", "userData": long}))).is_err());
        let ok = req(json!({"callee": "2", "verifyCode": "1234", "userData": long}));
        assert!(Api::VoiceVerify.check(&ok).is_ok());
        assert!(Api::VoiceVerify.check(&req(json!({"callee": "2", "verifyCode": "12"}))).is_err());
    }

    #[test]
    fn versions_follow_the_seed() {
        assert!(Api::GetAgentInfo.check_version(6).is_ok());
        assert!(Api::GetAgentInfo.check_version(4).expect_err("V2.0.4").contains("only V2.0.6"));
        assert!(Api::GetRecordsList.check_version(1).is_err());
        assert!(Api::CallNumber.check_version(5).is_err());
        assert_eq!(Api::parse("getcdrlist"), Some(Api::GetCdrList));
    }
}
