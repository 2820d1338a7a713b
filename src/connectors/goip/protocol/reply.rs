//! Parsing the gateway's replies (every call of the spec), pure and lenient: `code` 0 or
//! 200 is success, numbers may come as strings, stat field names in any case.

use super::push::{OddRow, PushError};
use super::sms::{ReceivedSms, parse_rows};
use crate::connectors::lenient::u64_of;
use serde_json::{Map, Value};

/// Why a reply could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("reply is not a JSON object: {0}")]
    BadJson(String),
    #[error("device refused: code {code}: {reason}")]
    Refused { code: i64, reason: String },
    #[error("reply lacks `{0}`")]
    Missing(&'static str),
    #[error(transparent)]
    Record(#[from] PushError),
}

/// Parses the object and checks `code` (0 or 200 = success; absent counts as success).
pub fn parse_ok(body: &[u8]) -> Result<Map<String, Value>, ReplyError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| ReplyError::BadJson(e.to_string()))?;
    let Value::Object(map) = value else { return Err(ReplyError::BadJson("not an object".into())) };
    let code = map.get("code").and_then(|c| u64_of(c).map(|c| c as i64).or_else(|| c.as_i64()));
    match code {
        None | Some(0) | Some(200) => Ok(map),
        Some(code) => {
            let reason = ["reason", "desc"].iter().find_map(|k| map.get(*k).and_then(Value::as_str)).unwrap_or("");
            Err(ReplyError::Refused { code, reason: reason.to_string() })
        }
    }
}

/// The `crypt_sess.json` reply: the session id and its lifetime in seconds.
pub fn parse_session(body: &[u8]) -> Result<(String, u64), ReplyError> {
    let map = parse_ok(body)?;
    let session = map.get("session").and_then(Value::as_str).ok_or(ReplyError::Missing("session"))?;
    let expires = map.get("expires").and_then(u64_of).unwrap_or(180);
    Ok((session.to_string(), expires))
}

/// A per-task result of `goip_post_sms` and of pause/resume/remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskResult {
    pub tid: u64,
    pub code: u16,
    pub text: String,
}

impl TaskResult {
    /// The device accepted the task (or, for our own tid, had accepted it before).
    pub fn accepted(&self) -> bool {
        self.code == 0 || self.code == 13
    }
}

/// The meaning of a per-task code (spec section 4).
pub fn task_code_name(code: u16) -> &'static str {
    const NAMES: [&str; 21] = [
        "OK",
        "Invalid User",
        "Invalid Port",
        "USSD Expected",
        "Pending USSD",
        "SIM Unregistered",
        "Timeout",
        "Server Error",
        "SMS expected",
        "TO expected",
        "Pending Transaction",
        "TID Expected",
        "FROM Expected",
        "Duplicated TaskId",
        "Unauthorized",
        "Invalid CMD",
        "Too Many Task",
        "MMS Title expected",
        "Too Many MMS Attachments",
        "MMS Attachments expected",
        "MMS attachments cache over limit",
    ];
    NAMES.get(usize::from(code)).copied().unwrap_or("unknown")
}

/// The task list of a `task-status` (`status`) or management (`results`) reply.
pub fn parse_task_results(body: &[u8]) -> Result<Vec<TaskResult>, ReplyError> {
    let map = parse_ok(body)?;
    let list = map.get("status").or_else(|| map.get("results")).and_then(Value::as_array);
    let Some(list) = list else { return Ok(Vec::new()) };
    Ok(list
        .iter()
        .filter_map(|t| {
            let tid = u64_of(t.get("tid")?)?;
            let status = t.get("status")?;
            let (code, text) = match status {
                Value::Number(n) => (n.as_u64()? as u16, String::new()),
                Value::String(s) => {
                    let (c, r) = s.trim().split_once(' ').unwrap_or((s.trim(), ""));
                    (c.parse().ok()?, r.to_string())
                }
                _ => return None,
            };
            let text = if text.is_empty() { task_code_name(code).to_string() } else { text };
            Some(TaskResult { tid, code, text })
        })
        .collect())
}

/// A `goip_get_sms` page: the device's boot id, the next cursor, and the messages.
#[derive(Debug, Clone, PartialEq)]
pub struct SmsPage {
    pub ssrc: String,
    pub next_sms: u64,
    pub messages: Vec<ReceivedSms>,
    /// Rows that could not be read, kept as sent (a bad row never stalls the cursor).
    pub odd: Vec<OddRow>,
}

pub fn parse_sms_page(body: &[u8]) -> Result<SmsPage, ReplyError> {
    let map = parse_ok(body)?;
    let ssrc = map.get("ssrc").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    let next_sms = map.get("next_sms").and_then(u64_of).ok_or(ReplyError::Missing("next_sms"))?;
    let (messages, odd) = match map.get("data") {
        Some(Value::Array(items)) => parse_rows(items),
        _ => (Vec::new(), Vec::new()),
    };
    Ok(SmsPage { ssrc, next_sms, messages, odd })
}

/// SMS or call statistics, with every field name lower-cased (`Sent_ok` → `sent_ok`).
pub fn parse_stats(body: &[u8]) -> Result<Vec<Map<String, Value>>, ReplyError> {
    let map = parse_ok(body)?;
    let stats = map.get("stats").and_then(Value::as_array).ok_or(ReplyError::Missing("stats"))?;
    Ok(stats
        .iter()
        .filter_map(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_codes_are_0_and_200_and_others_are_refusals_with_the_reason() {
        assert!(parse_ok(br#"{"code":0,"reason":"OK"}"#).is_ok());
        assert!(parse_ok(br#"{"code":"200","reason":"OK"}"#).is_ok());
        let err = parse_ok(br#"{"code":1,"desc":"auth failed"}"#).expect_err("refused");
        assert_eq!(err, ReplyError::Refused { code: 1, reason: "auth failed".into() });
        assert!(matches!(parse_ok(b"{\"code\":0"), Err(ReplyError::BadJson(_))));
    }

    #[test]
    fn session_and_task_replies_parse() {
        assert_eq!(parse_session(br#"{"code":0,"desc":"ok","session":"S1","expires":"180"}"#), Ok(("S1".into(), 180)));
        let tasks = parse_task_results(
            br#"{"code":200,"reason":"OK","type":"task-status","status":[{"tid":1223,"status":"0 OK"},{"tid":"7","status":13},{"tid":8,"status":"5 SIM Unregistered"}]}"#,
        )
        .expect("tasks");
        assert_eq!(tasks[0], TaskResult { tid: 1223, code: 0, text: "OK".into() });
        assert!(tasks[1].accepted(), "13 Duplicated TaskId for our own tid means accepted");
        assert_eq!(tasks[1].text, "Duplicated TaskId");
        assert!(!tasks[2].accepted());
    }

    #[test]
    fn an_sms_page_gives_the_cursor_and_messages() {
        let page = parse_sms_page(
            br#"{"code":0,"reason":"OK","ssrc":"0123456789abcdef","sms_num":1,"next_sms":3,"data":[[0,"1A",5,"10010","x","aGk="]]}"#,
        )
        .expect("page");
        assert_eq!((page.ssrc.as_str(), page.next_sms), ("0123456789abcdef", 3));
        assert_eq!(page.messages[0].text.as_deref(), Some("hi"));
        assert!(parse_sms_page(br#"{"code":0}"#).is_err());
    }

    #[test]
    fn stat_field_names_are_accepted_in_any_case() {
        let stats = parse_stats(br#"{"code":200,"count":1,"stats":[{"Port":1,"slot":1,"Sent_ok":5,"SENT":6}]}"#)
            .expect("stats");
        assert_eq!(
            (stats[0]["port"].as_u64(), stats[0]["sent_ok"].as_u64(), stats[0]["sent"].as_u64()),
            (Some(1), Some(5), Some(6))
        );
    }
}
