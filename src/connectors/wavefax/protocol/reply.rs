//! Parsing the WaveFax server's replies, pure and lenient: the seed's examples are not
//! strict JSON (`{ code:0, sessionToken:"WSSESS…"}`: bare keys, sometimes single quotes),
//! numbers may come as strings, and a failure holds only `code` and `msg`.

use super::codes::{FaxError, OutState, server_error_name};
use serde_json::{Map, Value};

/// Why a reply could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("reply is not JSON: {0}")]
    BadJson(String),
    #[error("server error {code} ({name}): {msg}")]
    Server { code: i64, name: &'static str, msg: String },
    #[error("reply lacks `{0}`")]
    Missing(&'static str),
}

pub use crate::connectors::lenient::text_of as text;
use crate::connectors::lenient::{self, i64_of as number};

/// Parses a reply and checks `code` (0 = success).
pub fn parse_ok(body: &[u8]) -> Result<Map<String, Value>, ReplyError> {
    let map = lenient::object(body).map_err(ReplyError::BadJson)?;
    match map.get("code").and_then(number) {
        Some(0) => Ok(map),
        Some(code) => {
            let msg = map.get("msg").and_then(text).unwrap_or_default();
            Err(ReplyError::Server { code, name: server_error_name(code), msg })
        }
        None => Err(ReplyError::Missing("code")),
    }
}

/// The value of `key` as a string id.
pub fn field(map: &Map<String, Value>, key: &'static str) -> Result<String, ReplyError> {
    map.get(key).and_then(text).filter(|s| !s.is_empty()).ok_or(ReplyError::Missing(key))
}

/// `faxid` (one job) or `faxids` (several: fax ids first, then mail ids).
pub fn fax_ids(map: &Map<String, Value>) -> Result<Vec<String>, ReplyError> {
    if let Some(list) = map.get("faxids") {
        return match list {
            Value::Array(items) => Ok(items.iter().filter_map(text).collect()),
            // Some servers send a comma-separated string.
            Value::String(s) => Ok(s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()),
            _ => Err(ReplyError::Missing("faxids")),
        };
    }
    field(map, "faxid").map(|id| vec![id])
}

/// An outbound fax as `getoutfax` describes it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OutFax {
    pub state: OutState,
    pub status: i64,
    pub errcode: i64,
    /// `errcode` as its variant, and its meaning.
    pub reason: FaxError,
    pub error: &'static str,
    /// Every other field as sent (faxnum, recipient, pages, duration, portname, …).
    pub fields: Map<String, Value>,
}

pub fn parse_out_fax(body: &[u8]) -> Result<OutFax, ReplyError> {
    out_fax(parse_ok(body)?)
}

/// The outbound fax in a reply already checked by [`parse_ok`].
pub fn out_fax(mut map: Map<String, Value>) -> Result<OutFax, ReplyError> {
    map.remove("code");
    map.remove("msg");
    let status = map.remove("status").as_ref().and_then(number).ok_or(ReplyError::Missing("status"))?;
    let state = OutState::from_code(u64::try_from(status).unwrap_or(u64::MAX)).unwrap_or(OutState::Unknown);
    let errcode = map.remove("errcode").as_ref().and_then(number).unwrap_or(0);
    let reason = FaxError::from_code(u64::try_from(errcode).unwrap_or(u64::MAX));
    Ok(OutFax { state, status, errcode, reason, error: reason.meaning(), fields: map })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_non_strict_style_parses() {
        let map = parse_ok(br#"{ code:0, sessionToken:"WSSESS123"}"#).expect("lenient");
        assert_eq!(field(&map, "sessionToken"), Ok("WSSESS123".into()));
        let map = parse_ok(b"{code:'0', fileurl:'http://h/f?a=1,b=2', note:'it\\'s \"x\"'}").expect("single quotes");
        assert_eq!(field(&map, "fileurl"), Ok("http://h/f?a=1,b=2".into()));
        assert_eq!(map["note"], "it's \"x\"");
    }

    #[test]
    fn failures_carry_the_code_its_meaning_and_the_message() {
        let err = parse_ok(br#"{"code":251658244,"msg":"expired"}"#).expect_err("failure");
        assert_eq!(err, ReplyError::Server { code: 251_658_244, name: "sessionToken expired", msg: "expired".into() });
        assert!(matches!(parse_ok(b"{\"code\":0"), Err(ReplyError::BadJson(_))));
        assert_eq!(parse_ok(b"{\"msg\":\"x\"}"), Err(ReplyError::Missing("code")));
    }

    #[test]
    fn fax_ids_come_alone_or_as_a_list() {
        assert_eq!(fax_ids(&parse_ok(br#"{"code":0,"faxid":17}"#).expect("one")), Ok(vec!["17".into()]));
        let many = parse_ok(br#"{code:0,faxids:["1","2",3]}"#).expect("many");
        assert_eq!(fax_ids(&many), Ok(vec!["1".into(), "2".into(), "3".into()]));
        assert_eq!(fax_ids(&parse_ok(br#"{"code":0}"#).expect("none")), Err(ReplyError::Missing("faxid")));
    }

    #[test]
    fn an_outbound_fax_gets_its_state_and_error_meaning() {
        let fax = parse_out_fax(
            br#"{code:0,status:"8",errcode:4,faxnum:"+86(20)87057352",sentpages:0,duration:12,portname:"COM3"}"#,
        )
        .expect("outfax");
        assert_eq!((fax.state, fax.error, fax.state.is_final()), (OutState::Failed, "busy", true));
        let newer = out_fax(parse_ok(br#"{"code":0,"status":10,"errcode":0}"#).expect("reply")).expect("kept");
        assert_eq!((newer.status, newer.state.name(), newer.state.is_final()), (10, "unknown", false));
        assert_eq!(fax.reason, FaxError::Busy);
        assert_eq!(fax.fields["portname"], "COM3");
        assert!(parse_out_fax(br#"{"code":0,"errcode":0}"#).is_err(), "no status at all");
    }
}
