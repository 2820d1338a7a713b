//! The platform's pushes (seed §2.3.3 `recvmsg`, §2.3.4 `recvreport`): both are GET query
//! strings answered `0` ("推送成功返回 0"). They carry no signature: the callback rules
//! (secret path, allow-list) protect them.

use super::reply::Mo;
use crate::connectors::callbacks::Fields;

/// Fields the agent reads; the rest are kept under the event's `extra`.
pub const MO_FIELDS: &[&str] = &["mob", "msg", "entid", "replytime", "ext", "appid", "returnflag", "getall"];
/// (`appid` and `entid` are kept as the report's extra fields.)
pub const REPORT_FIELDS: &[&str] = &["mob", "sendid", "status"];

/// A received message push: the text as sent, the other fields trimmed as getSms's are
/// (the same message by push and by poll is one: its de-duplication hashes them all).
pub fn mo(fields: &Fields) -> Result<Mo, String> {
    let trimmed = |k: &str| fields.get(k).unwrap_or("").trim().to_string();
    Ok(Mo {
        mobile: fields.need("mob")?.trim().to_string(),
        text: fields.get("msg").unwrap_or("").to_string(),
        ext: trimmed("ext"),
        replytime: trimmed("replytime"),
        entid: trimmed("entid"),
    })
}

/// A status report push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub mobile: String,
    pub sendid: String,
    /// As sent: the seed defines no values (its "see 2.3.4" points at itself).
    pub status: String,
}

impl Report {
    /// `0` is "delivered" by the convention of such platforms (the digest's reading; the
    /// seed is silent), anything else is not; the raw value travels beside it.
    pub fn delivered(&self) -> bool {
        self.status.trim() == "0"
    }
}

pub fn report(fields: &Fields) -> Result<Report, String> {
    Ok(Report {
        mobile: fields.need("mob")?.to_string(),
        sendid: fields.need("sendid")?.to_string(),
        status: fields.need("status")?.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::callbacks::decode;

    #[test]
    fn the_seeds_report_example_is_read() {
        let f = decode("mob=13918876665&sendid=123456&status=0&appid=123&entid=8000123", None, b"").expect("fields");
        let r = report(&f).expect("report");
        assert_eq!((r.mobile.as_str(), r.sendid.as_str(), r.delivered()), ("13918876665", "123456", true));
        let kept = f.extra(REPORT_FIELDS);
        assert_eq!((kept["appid"].as_str(), kept["entid"].as_str()), (Some("123"), Some("8000123")));
        assert_eq!(kept.len(), 2);
    }

    #[test]
    fn a_gbk_mo_push_is_read_and_unknown_fields_kept() {
        let f = decode("mob=139&msg=%C4%E3%BA%C3&ext=100123&replytime=2007-12-07+18%3A23%3A08&vendor=x", None, b"")
            .expect("fields");
        let m = mo(&f).expect("mo");
        assert_eq!((m.text.as_str(), m.ext.as_str(), m.replytime.as_str()), ("你好", "100123", "2007-12-07 18:23:08"));
        assert_eq!(f.extra(MO_FIELDS).get("vendor").and_then(|v| v.as_str()), Some("x"));
    }

    #[test]
    fn a_push_without_its_key_fields_is_refused() {
        assert!(mo(&decode("msg=hi", None, b"").expect("fields")).is_err());
        assert!(report(&decode("mob=1&status=0", None, b"").expect("fields")).is_err());
    }
}
