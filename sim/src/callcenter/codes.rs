//! The call-center simulator's error codes, all in one place. The seed
//! (`003_3a3c54df16d25bfe.txt`) gives no code numbers: every reply section only says
//! "Error 为 0 表示成功" — OCR: "M Error ¥ 0 FRIRT), (HRBERIRAGCLWRZIER, HHELHERITIRAEM 1."
//! — and whatever list it points to did not survive. So these numbers are the sim's own
//! choice: 0 is success (seed and digest), outer `result.error` codes (the HTTP call as a
//! whole was refused) are 1xxxx, per-request `response.result.error` codes are 2xxxx.

/// Success, outer and per request.
pub const OK: i64 = 0;

/// Outer: the body is not JSON (or not sent as `application/json`), has no
/// `authentication`, or neither `request` nor a non-empty `requests`.
pub const BAD_ENVELOPE: i64 = 10001;
/// Outer: unknown `customer`, a missing field of `authentication`, or a wrong `digest`.
pub const AUTH_FAILED: i64 = 10002;
/// Outer: `authentication.timestamp` further than `--max-skew-secs` from the sim's clock.
pub const STALE_TIMESTAMP: i64 = 10003;
/// Outer: no API of that name.
pub const NO_SUCH_API: i64 = 10004;
/// Outer: the API exists but not in that `V2.0.x` (or the version is not `V2.0.<digits>`).
pub const BAD_VERSION: i64 = 10005;

/// Per request: a required field is missing, null or empty.
pub const MISSING_FIELD: i64 = 20001;
/// Per request: a field has the wrong shape or is out of range (digits, lengths, `mode`,
/// `playTimes`, `multiplier`, `userData` length, time formats, `action`…).
pub const BAD_FIELD: i64 = 20002;
/// Per request: `agent` is well-formed but no such agent exists.
pub const NO_SUCH_AGENT: i64 = 20003;
/// Per request: the agent is in the wrong state (logged out for a call or `SetBusy`, in a
/// call for another call or `AgentLogout`).
pub const AGENT_STATE: i64 = 20004;
/// Per request: no such task (or it belongs to another agent).
pub const NO_SUCH_TASK: i64 = 20005;
/// Per request: more than 1000 `callees` or more than 100 `callers` in one request.
pub const TOO_MANY_NUMBERS: i64 = 20006;
/// Per request: `HangupCall` while the agent has no call.
pub const NO_CALL: i64 = 20007;

/// A short English description of `code` (the `msg` starts with it).
pub fn describe(code: i64) -> &'static str {
    match code {
        OK => "",
        BAD_ENVELOPE => "bad request envelope",
        AUTH_FAILED => "authentication failed",
        STALE_TIMESTAMP => "timestamp out of range",
        NO_SUCH_API => "no such API",
        BAD_VERSION => "API not supported in this version",
        MISSING_FIELD => "missing field",
        BAD_FIELD => "invalid field",
        NO_SUCH_AGENT => "no such agent",
        AGENT_STATE => "agent state does not allow this",
        NO_SUCH_TASK => "no such task",
        TOO_MANY_NUMBERS => "too many numbers",
        NO_CALL => "no call in progress",
        _ => "error",
    }
}

/// `{"error": code, "msg": "<description>: <detail>"}` (`msg` empty on success).
pub fn result(code: i64, detail: &str) -> serde_json::Value {
    let msg = match (describe(code), detail) {
        ("", d) => d.to_string(),
        (what, "") => what.to_string(),
        (what, d) => format!("{what}: {d}"),
    };
    serde_json::json!({"error": code, "msg": msg})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_described() {
        let all = [
            BAD_ENVELOPE,
            AUTH_FAILED,
            STALE_TIMESTAMP,
            NO_SUCH_API,
            BAD_VERSION,
            MISSING_FIELD,
            BAD_FIELD,
            NO_SUCH_AGENT,
            AGENT_STATE,
            NO_SUCH_TASK,
            TOO_MANY_NUMBERS,
            NO_CALL,
        ];
        for (i, a) in all.iter().enumerate() {
            assert_ne!(*a, OK);
            assert_ne!(describe(*a), "error");
            assert!(all[i + 1..].iter().all(|b| b != a));
        }
        assert_eq!(result(OK, ""), serde_json::json!({"error": 0, "msg": ""}));
        assert_eq!(result(NO_CALL, "agent 1000")["msg"], "no call in progress: agent 1000");
    }
}
