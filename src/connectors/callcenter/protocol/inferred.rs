//! **Inferred.** Every meaning the call-center seed (`003_…`, a damaged OCR copy) does not
//! state readably, in one place: what the digest says was inferred, and the readings we
//! chose where the OCR left two. Each item quotes what survived.

/// getCdrList `serviceType` codes the seed lists; their labels are unreadable ("1 … 2 Ny
/// 3 NERIEAY 4 HEYHF 5 TUEANIE 7 EALS 9 Feilhgs 17 fl4h % 18 505 19 1B SIS"): the numbers
/// are relayed as they come (also the default of `cdr_service_types`).
pub const SERVICE_TYPES: [u32; 10] = [1, 2, 3, 4, 5, 7, 9, 17, 18, 19];

/// getCdrList `result`: 1 = answered is the digest's guess; relayed as a number, never
/// interpreted by the agent.
pub const RESULT_ANSWERED: u32 = 1;

/// getCdrList `startTime`/`endTime`: the seed's request example leaves them blank
/// (`“startTime”:””`); its CDRs write `"answerTime": "2018-09-10 14:39:20"`, so the
/// window is sent in that form, in the platform's local time (`utc_offset_minutes`,
/// China's +08:00 by default).
pub const CDR_TIME_FORMAT: &str = "yyyy-MM-dd HH:mm:ss";

/// getRecordsList: whether `startKey` is inclusive is hidden by the OCR ("id 55T startkey
/// HIE A S AL 7R 45 R L"): records are de-duplicated by `key`, and a page with no key
/// beyond the cursor ends the round. The page size is unreadable ("…500 45…"): a page is
/// taken as it comes, and paging stops at an empty page.
pub const RECORDS_PAGE_HINT: usize = 500;

/// getRecordsList's example puts `record` in `data`, beside `response`, while getCdrList
/// keeps `total`/`cdr` inside `response`: both places are read (a single-request reply's
/// `data` siblings join its response's fields).
pub const DATA_LEVEL_FIELDS: &[&str] = &["record", "cdr", "edr", "total"];

/// One getCdrList example writes `edr` for `cdr`.
pub const CDR_ALIASES: &[&str] = &["cdr", "edr"];

/// Notifications: the examples write `"call type"` where the tables say `call_type`; the
/// field is kept under `call_type`. Its 0/1 direction is not readable: relayed as given.
pub const CALL_TYPE_ALIASES: &[&str] = &["call_type", "call type"];

/// The seed's reply templates write `"result":""` and `"error": ""` where a value goes;
/// its filled-in examples write `{"error":0}`. A result that is missing, empty or without a
/// number is therefore **not** read as success (error -1, "no result"): a reply that says
/// nothing readable must never pass for a call that was taken.
pub fn error_code(result: Option<&serde_json::Value>) -> (i64, String) {
    use crate::connectors::lenient::{i64_of, text_of};
    let msg = result.and_then(|r| r.get("msg")).and_then(text_of).unwrap_or_default();
    let code = match result {
        Some(serde_json::Value::Object(m)) => m.get("error").and_then(i64_of),
        Some(other) => i64_of(other),
        None => None,
    };
    match code {
        Some(n) => (n, msg),
        None if msg.is_empty() => (-1, "no result".into()),
        None => (-1, msg),
    }
}

/// `authentication.agent`: "only for agent-level calls". The seed's examples carry it for
/// the agent APIs, getAgentInfo and the CallTask APIs, and leave it out for VoiceVerify
/// (lines 115-119), CallNumber (977-981), HangupCall (1085-1091), getRecordsList and
/// getCdrList (see [`super::api::Api::agent_level`]).
pub const AGENT_IN_AUTHENTICATION: &str = "agent and task APIs";
