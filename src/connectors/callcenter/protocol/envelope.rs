//! Requests and replies (digest "Transport"). A call is
//! `{"authentication":{customer,timestamp,seq,digest[,agent]},"param":{debug,lang},"request":{seq,…}}`,
//! or `"requests":[…]` for several of one API; the reply carries `data.response` (or
//! `data.responses`) and an outer `result`. Both levels are checked: the outer `result`
//! says the HTTP call was accepted, each response's `result` whether its request succeeded.

use super::api::Api;
use super::auth;
use super::inferred;
use crate::connectors::lenient::text_of;
use serde_json::{Map, Value, json};

/// Who calls: the account.
#[derive(Debug, Clone)]
pub struct Account<'a> {
    pub customer: &'a str,
    pub apikey: &'a str,
    pub lang: &'a str,
}

/// One call to build: its API, the seat for `authentication.agent`, its requests.
#[derive(Debug, Clone)]
pub struct Call {
    pub api: Api,
    pub agent: Option<String>,
    pub requests: Vec<Map<String, Value>>,
    /// Sent as `requests` even with one request.
    pub batched: bool,
}

/// `/openapi/V2.0.{minor}/{Api}`.
pub fn path(minor: u8, api: Api) -> String {
    format!("/openapi/V2.0.{minor}/{}", api.name())
}

/// The JSON body of `call`, signed with `seq` at `timestamp_ms`. Request `i` carries
/// `seq + i` as its own `seq` (echoed in its response), so a batch's answers are matched
/// to their requests by `seq`; a call takes `requests.len()` seqs.
pub fn body(account: &Account<'_>, call: &Call, timestamp_ms: u64, seq: u64) -> Value {
    let (timestamp, seq_text) = (timestamp_ms.to_string(), seq.to_string());
    let mut authentication = json!({
        "customer": account.customer,
        "timestamp": timestamp,
        "seq": seq_text,
        "digest": auth::digest(account.customer, &timestamp, &seq_text, account.apikey),
    });
    if let (true, Some(agent)) = (call.api.agent_level(), &call.agent) {
        authentication["agent"] = json!(agent);
    }
    let requests: Vec<Value> = call
        .requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut r = r.clone();
            r.insert("seq".into(), json!((seq + i as u64).to_string()));
            Value::Object(r)
        })
        .collect();
    let mut out = json!({"authentication": authentication, "param": {"debug": false, "lang": account.lang}});
    if call.batched || requests.len() != 1 {
        out["requests"] = Value::Array(requests);
    } else {
        out["request"] = requests.into_iter().next().unwrap_or_default();
    }
    out
}

/// One request's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub seq: Option<String>,
    pub user_data: Option<String>,
    /// 0: the request succeeded.
    pub error: i64,
    pub msg: String,
    /// Every other field, as sent (unknown ones included); `data`-level siblings of a
    /// single response join them ([`inferred::DATA_LEVEL_FIELDS`]).
    pub fields: Map<String, Value>,
}

impl Response {
    /// The list under `name` (or an alias: `cdr`/`edr`), empty when absent.
    pub fn list(&self, names: &[&str]) -> Vec<Value> {
        names.iter().find_map(|n| self.fields.get(*n)).and_then(Value::as_array).cloned().unwrap_or_default()
    }

    pub fn text(&self, key: &str) -> Option<String> {
        self.fields.get(key).and_then(text_of).filter(|s| !s.is_empty())
    }

    /// The answer as the command result shows it: `error`, `msg`, `userData`, the fields.
    pub fn json(&self) -> Value {
        let mut m = self.fields.clone();
        m.insert("error".into(), json!(self.error));
        m.insert("msg".into(), json!(self.msg));
        if let Some(u) = &self.user_data {
            m.insert("userData".into(), json!(u));
        }
        Value::Object(m)
    }
}

/// A reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The outer `result`: 0 = the call was accepted.
    pub error: i64,
    pub msg: String,
    pub responses: Vec<Response>,
    /// `logs` when `param.debug` asked for them.
    pub logs: Option<Value>,
}

/// Parses a reply leniently (numbers as strings and back, `result` empty or absent = 0).
pub fn parse(body: &[u8]) -> Result<Reply, String> {
    let top = crate::connectors::lenient::object(body).map_err(|e| format!("not a JSON object: {e}"))?;
    let (error, msg) = inferred::error_code(top.get("result"));
    let logs = top.get("logs").filter(|l| !l.is_null()).cloned();
    let data = top.get("data").and_then(Value::as_object).cloned().unwrap_or_default();
    let mut responses = Vec::new();
    if let Some(list) = data.get("responses").and_then(Value::as_array) {
        for r in list {
            responses.push(response(r.as_object().cloned().unwrap_or_default()));
        }
    } else if let Some(Value::Object(r)) = data.get("response") {
        let mut one = r.clone();
        for key in inferred::DATA_LEVEL_FIELDS {
            if let (Some(v), false) = (data.get(*key), one.contains_key(*key)) {
                one.insert(key.to_string(), v.clone());
            }
        }
        responses.push(response(one));
    }
    if error == 0 && responses.is_empty() {
        return Err("the reply carries no response".into());
    }
    Ok(Reply { error, msg, responses, logs })
}

fn response(mut r: Map<String, Value>) -> Response {
    let (error, msg) = inferred::error_code(r.get("result"));
    r.remove("result");
    let seq = r.remove("seq").as_ref().and_then(text_of);
    let user_data = r.remove("userData").as_ref().and_then(text_of);
    Response { seq, user_data, error, msg, fields: r }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account<'static> {
        Account { customer: "C2", apikey: "E416D0F85DC0CB67C85E070A32D9F0123AFF4762", lang: "en_US" }
    }

    #[test]
    fn a_single_request_is_signed_and_carries_its_seq_and_agent() {
        let mut r = Map::new();
        r.insert("agent".into(), json!("1000"));
        r.insert("callee".into(), json!("13800000000"));
        let call = Call { api: Api::CallNumber, agent: Some("1000".into()), requests: vec![r], batched: false };
        let b = body(&account(), &call, 1471918933001, 5271);
        assert_eq!(b["authentication"]["digest"], auth::digest("C2", "1471918933001", "5271", account().apikey));
        assert!(b["authentication"].get("agent").is_none(), "CallNumber is not agent-level");
        assert_eq!(b["request"]["seq"], "5271");
        let q = Call { api: Api::CallTaskQuery, ..call };
        assert_eq!(body(&account(), &q, 1, 2)["authentication"]["agent"], "1000");
        assert!(b.get("requests").is_none());
        assert_eq!(path(6, Api::CallNumber), "/openapi/V2.0.6/CallNumber");
    }

    #[test]
    fn a_batch_answers_each_request_on_its_own() {
        let reply = br#"{"result":{"error":0,"msg":"ok"},"data":{"seq":"9","responses":[
            {"seq":"9","result":{"error":0}},{"seq":10,"userData":7,"result":{"error":"3","msg":"no agent"},"x":1}]}}"#;
        let r = parse(reply).expect("parsed");
        assert_eq!(r.responses.len(), 2);
        assert_eq!((r.responses[1].error, r.responses[1].msg.as_str()), (3, "no agent"));
        assert_eq!(r.responses[1].user_data.as_deref(), Some("7"));
        assert_eq!(r.responses[1].fields["x"], 1, "unknown fields kept");
    }

    #[test]
    fn records_beside_the_response_join_it_and_edr_reads_as_cdr() {
        let r = parse(
            br#"{"result":{"error":0},"data":{"response":{"seq":"1","result":{"error":0}},"record":[{"key":"1"}]}}"#,
        )
        .expect("parsed");
        assert_eq!(r.responses[0].list(&["record"]).len(), 1);
        let r = parse(
            br#"{"result":{"error":0},"data":{"response":{"result":{"error":"0"},"total":"1","edr":[{"key":"6"}]}}}"#,
        )
        .expect("parsed");
        assert_eq!(r.responses[0].list(inferred::CDR_ALIASES)[0]["key"], "6");
    }

    #[test]
    fn an_outer_refusal_needs_no_response() {
        let r = parse(br#"{"result":{"error":"2","msg":"digest error"}}"#).expect("parsed");
        assert_eq!((r.error, r.msg.as_str()), (2, "digest error"));
        assert!(parse(br#"{"result":{"error":0}}"#).is_err());
        let r = parse(br#"{"result":"","data":{"response":{"result":""}}}"#).expect("parsed");
        assert_eq!(r.error, -1, "an empty result is no success");
    }
}
