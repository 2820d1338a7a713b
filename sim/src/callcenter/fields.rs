//! Request-field validation for the call-center API, as the digest's table and the seed's
//! field tables type them: `agent` "Number|length[1-8]", `verifyCode`
//! "Number|length[3-8]", `playTimes` "Number |1-5|default:3", `mode` "Number(2|5)",
//! `multiplier` "Number(1<a<5)" (read as 1–5, default 1), `userData` "String(30)" (VoiceVerify
//! 100), `callees` "Array ≤ 1000", `callers` "Array ≤ 100". A number may come as a JSON
//! string and a string as a JSON number. Phone numbers: the seed's rule is unreadable
//! ("string(& 1A I HL UG 5 h)"); the sim takes an optional `+` then 3–20 digits.

use super::auth::text;
use super::codes::{BAD_FIELD, MISSING_FIELD, TOO_MANY_NUMBERS};
use serde_json::Value;
use std::collections::HashSet;

/// A refusal of one request: (code, detail).
pub type Fail = (i64, String);

/// Most `callees` one request may carry.
pub const MAX_CALLEES: usize = 1000;
/// Most `callers` one request may carry.
pub const MAX_CALLERS: usize = 100;

/// One request's fields.
pub struct Req<'a>(pub &'a Value);

fn bad(key: &str, why: &str) -> Fail {
    (BAD_FIELD, format!("{key} {why}"))
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// An optional `+`, then 3–20 digits.
pub fn is_phone(s: &str) -> bool {
    let d = s.strip_prefix('+').unwrap_or(s);
    (3..=20).contains(&d.len()) && all_digits(d)
}

impl Req<'_> {
    /// The field as text; `None` when missing, null or empty.
    pub fn opt(&self, key: &str) -> Result<Option<String>, Fail> {
        match text(self.0.get(key)) {
            None => Ok(None),
            Some(Err(())) => Err(bad(key, "must be a string or a number")),
            Some(Ok(s)) if s.trim().is_empty() => Ok(None),
            Some(Ok(s)) => Ok(Some(s.trim().to_string())),
        }
    }

    /// The field as text, required.
    pub fn req(&self, key: &str) -> Result<String, Fail> {
        self.opt(key)?.ok_or_else(|| (MISSING_FIELD, key.to_string()))
    }

    /// Required, `min`–`max` digits.
    pub fn digits(&self, key: &str, min: usize, max: usize) -> Result<String, Fail> {
        let v = self.req(key)?;
        if !all_digits(&v) || !(min..=max).contains(&v.len()) {
            return Err(bad(key, &format!("must be {min}-{max} digits, not {v:?}")));
        }
        Ok(v)
    }

    /// A whole number in `lo..=hi`; `default` when missing (`None`: required).
    pub fn int(&self, key: &str, lo: i64, hi: i64, default: Option<i64>) -> Result<i64, Fail> {
        let Some(v) = self.opt(key)? else {
            return default.ok_or_else(|| (MISSING_FIELD, key.to_string()));
        };
        match v.parse::<i64>() {
            Ok(n) if (lo..=hi).contains(&n) => Ok(n),
            _ => Err(bad(key, &format!("must be a whole number {lo}-{hi}, not {v:?}"))),
        }
    }

    /// A phone number, required.
    pub fn phone(&self, key: &str) -> Result<String, Fail> {
        let v = self.req(key)?;
        if !is_phone(&v) {
            return Err(bad(key, &format!("is not a phone number: {v:?}")));
        }
        Ok(v)
    }

    /// An array field; `None` when missing or null; at most `max` entries.
    pub fn list(&self, key: &str, max: usize) -> Result<Option<Vec<Value>>, Fail> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) if a.len() > max => {
                Err((TOO_MANY_NUMBERS, format!("{key} has {} entries, at most {max} are allowed", a.len())))
            }
            Some(Value::Array(a)) => Ok(Some(a.clone())),
            Some(_) => Err(bad(key, "must be an array")),
        }
    }

    /// `userData`: at most `max` characters; given back as it came (for the echo).
    pub fn user_data(&self, max: usize) -> Result<Option<String>, Fail> {
        let v = match text(self.0.get("userData")) {
            None => return Ok(None),
            Some(Err(())) => return Err(bad("userData", "must be a string")),
            Some(Ok(s)) => s,
        };
        let n = v.chars().count();
        if n > max {
            return Err(bad("userData", &format!("is {n} characters, at most {max} are allowed")));
        }
        Ok(Some(v))
    }
}

/// A number list's report (`report:{total,error,repeat}`): the valid numbers not seen
/// before (in order), and the counts. `total` is every entry given; an entry that is not a
/// phone number counts as an error; one already in `existing` or earlier in the list as a
/// repeat.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    pub added: Vec<String>,
    pub total: usize,
    pub error: usize,
    pub repeat: usize,
}

/// Sorts `list` into a [`Report`].
pub fn numbers(list: &[Value], existing: &[String]) -> Report {
    let mut seen: HashSet<String> = existing.iter().cloned().collect();
    let mut r = Report { total: list.len(), ..Report::default() };
    for v in list {
        match text(Some(v)) {
            Some(Ok(s)) if is_phone(s.trim()) => {
                let s = s.trim().to_string();
                if seen.insert(s.clone()) {
                    r.added.push(s);
                } else {
                    r.repeat += 1;
                }
            }
            _ => r.error += 1,
        }
    }
    r
}

impl Report {
    /// `{"total","error","repeat"}`, numbers as the example's strings (`"total": ""`).
    pub fn to_json(&self) -> Value {
        serde_json::json!({"total": self.total.to_string(), "error": self.error.to_string(),
            "repeat": self.repeat.to_string()})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_read_leniently_and_checked() {
        let v = json!({"agent": 1000, "code": "0123", "n": "5", "x": true, "e": "", "ud": "é".repeat(31)});
        let r = Req(&v);
        assert_eq!(r.digits("agent", 1, 8), Ok("1000".into()));
        assert_eq!(r.digits("code", 3, 8), Ok("0123".into()));
        assert_eq!(r.digits("code", 5, 8).map_err(|e| e.0), Err(BAD_FIELD));
        assert_eq!(r.int("n", 1, 5, None), Ok(5));
        assert_eq!(r.int("n", 1, 4, None).map_err(|e| e.0), Err(BAD_FIELD));
        assert_eq!(r.int("missing", 1, 5, Some(3)), Ok(3));
        assert_eq!(r.req("e").map_err(|e| e.0), Err(MISSING_FIELD));
        assert_eq!(r.opt("x").map_err(|e| e.0), Err(BAD_FIELD));
        assert!(Req(&json!({"userData": "é".repeat(30)})).user_data(30).is_ok());
        assert_eq!(Req(&json!({"userData": "é".repeat(31)})).user_data(30).map_err(|e| e.0), Err(BAD_FIELD));
        let big = json!({"callees": vec!["13800000000"; 1001]});
        assert_eq!(Req(&big).list("callees", MAX_CALLEES).map_err(|e| e.0), Err(TOO_MANY_NUMBERS));
        assert!(is_phone("+8613800000000") && is_phone("10086") && !is_phone("12") && !is_phone("138-0000"));
    }

    #[test]
    fn reports_count_errors_and_repeats() {
        let list = vec![json!("13800000001"), json!(13800000002u64), json!("13800000001"), json!("x"), json!(null)];
        let r = numbers(&list, &["13800000002".into()]);
        assert_eq!((r.added, r.total, r.error, r.repeat), (vec!["13800000001".to_string()], 5, 2, 2));
    }
}
