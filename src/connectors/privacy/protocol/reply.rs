//! Replies: HTTP 401 is "认证失败"; otherwise JSON with `error` (0 = ok) and `reason`
//! (seed §1), and the call's own fields.

use serde_json::{Map, Value};

/// The platform's error code (seed §1, "自定义错误码定义").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(pub i64);

impl ErrorCode {
    pub const DUPLICATE: ErrorCode = ErrorCode(1004);
    pub const NO_RESOURCE: ErrorCode = ErrorCode(1300);

    /// The seed's meaning, in English (its words in the comments).
    pub fn meaning(self) -> &'static str {
        match self.0 {
            0 => "ok",                                 // 成功
            1000 => "service error",                   // 访问服务异常
            1001 => "URL mapping mismatch",            // URL 映射不匹配
            1002 => "bad parameters",                  // 访问参数错误
            1003 => "wrong verification code",         // 验证码不正确
            1004 => "duplicate submission",            // 重复提交
            1100 => "no such account",                 // 账号不存在
            1101 => "account authentication failed",   // 账号认证失败
            1102 => "account disabled",                // 账号已停用
            1103 => "permission not enabled",          // 账号权限未开通
            1104 => "ACL restriction",                 // ACL 限制
            1105 => "rate limited",                    // Rate 限制、流控
            1110 => "insufficient balance",            // 账号余额不足
            1200 => "no such task",                    // 任务不存在
            1201 => "task conflict or duplicate",      // 任务冲突或重复
            1300 => "no such resource",                // 资源不存在
            1301 => "insufficient resources",          // 资源不足
            1302 => "resource configuration conflict", // 资源配置冲突
            1400 => "task failed to start",            // 任务发起失败
            1401 => "task start timed out",            // 任务发起超时
            1500 => "temporary system failure",        // 系统临时故障
            1501 => "system maintenance",              // 系统维护
            1502 => "system operation failed",         // 系统操作失败
            _ => "unknown error code",
        }
    }

    /// Worth another try with the same `reqid`: the seed marks none; these are by their
    /// meaning (rate limit, temporary failure, maintenance).
    pub fn retryable(self) -> bool {
        matches!(self.0, 1105 | 1500 | 1501)
    }

    /// The account itself cannot act: the peer is down for every command.
    pub fn account(self) -> bool {
        matches!(self.0, 1100..=1104 | 1110)
    }

    /// A machine name for command errors.
    pub fn name(self) -> &'static str {
        match self.0 {
            1002 => "bad_parameters",
            1004 => "duplicate",
            1100..=1104 => "account_refused",
            1105 => "rate_limited",
            1110 => "insufficient_balance",
            1300 => "not_found",
            1301 => "no_resources",
            1302 => "conflict",
            1500..=1502 => "platform_error",
            _ => "refused",
        }
    }
}

/// A reply the platform sent with status 200.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub error: ErrorCode,
    pub reason: String,
    /// Every field, `error` and `reason` included.
    pub fields: Map<String, Value>,
}

impl Reply {
    pub fn text(&self, key: &str) -> Option<String> {
        match self.fields.get(key)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

/// Reads a 200 reply's JSON (numbers as strings accepted).
pub fn parse(body: &[u8]) -> Result<Reply, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("the reply is not JSON: {e}"))?;
    let Value::Object(fields) = v else { return Err("the reply is not a JSON object".into()) };
    let error = match fields.get("error") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or("the reply has no error code")?;
    let reason = fields.get("reason").and_then(Value::as_str).unwrap_or("").to_string();
    Ok(Reply { error: ErrorCode(error), reason, fields })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bind_reply_gives_its_subid_and_codes_their_meanings() {
        let r = parse(br#"{"error":0,"reason":"ok","subid":"S1"}"#).expect("reply");
        assert_eq!((r.error, r.text("subid").as_deref()), (ErrorCode(0), Some("S1")));
        let r = parse(br#"{"error":"1004","reason":"dup"}"#).expect("reply");
        assert_eq!((r.error, r.text("subid")), (ErrorCode::DUPLICATE, None));
        assert!(ErrorCode(1105).retryable() && ErrorCode(1500).retryable() && ErrorCode(1501).retryable());
        assert!(!ErrorCode(1502).retryable() && !ErrorCode(1004).retryable());
        for code in [
            1000, 1001, 1002, 1003, 1004, 1100, 1101, 1102, 1103, 1104, 1105, 1110, 1200, 1201, 1300, 1301, 1302, 1400,
            1401, 1500, 1501, 1502,
        ] {
            assert_ne!(ErrorCode(code).meaning(), "unknown error code", "{code}");
        }
        assert!(parse(b"<html>").is_err());
        assert!(parse(br#"{"reason":"x"}"#).is_err());
    }
}
