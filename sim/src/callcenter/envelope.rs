//! The call-center API's envelope (digest "Transport", seed §1–§2 and §3.4): the URL
//! `/openapi/V2.0.<x>/<ApiName>`, the body `{"authentication", "param", "request"}` or with
//! `"requests": […]`, and the reply `{"data": {"seq", "response"|"responses"}, "logs",
//! "result": {"error", "msg"}}`. The outer `result` judges the HTTP call (path, body,
//! authentication); each `response.result` one request, each request on its own. Pure: the
//! server passes the path, the body and the sim's clock and carries out the effects.

use super::apis::{self, Effect};
use super::auth;
use super::codes::{self, BAD_ENVELOPE, BAD_FIELD, BAD_VERSION, NO_SUCH_API, OK, STALE_TIMESTAMP};
use super::state::Platform;
use serde_json::{Map, Value, json};

/// A routed URL: the API (canonical name) and the minor version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub api: &'static str,
    pub version: u32,
}

/// An outer refusal: (code, detail), and the API when the name was known.
type Refused = (i64, String, Option<&'static str>);

/// Reads `/openapi/V2.0.<x>/<ApiName>`.
pub fn route(path: &str) -> Result<Route, Refused> {
    let rest = path.strip_prefix("/openapi/").unwrap_or(path);
    let (version, name) = rest.split_once('/').unwrap_or((rest, ""));
    let Some((api, versions)) = apis::lookup(name) else {
        return Err((NO_SUCH_API, format!("{name:?} (path {path})"), None));
    };
    let minor = version.strip_prefix("V2.0.").filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
    match minor.and_then(|d| d.parse::<u32>().ok()) {
        Some(v) if versions.contains(&v) => Ok(Route { api, version: v }),
        _ => {
            let list: Vec<String> = versions.iter().map(|v| format!("V2.0.{v}")).collect();
            Err((BAD_VERSION, format!("{api} is served in {} only, not {version:?}", list.join(", ")), Some(api)))
        }
    }
}

/// A reply and the work it asks for.
#[derive(Debug)]
pub struct Answer {
    pub body: Value,
    pub effects: Vec<Effect>,
}

/// An outer refusal's body: `{"data": null, "logs", "result": {"error", "msg"}}`.
pub fn outer(code: i64, detail: &str, logs: Option<String>) -> Value {
    json!({"data": null, "logs": logs, "result": codes::result(code, detail)})
}

fn debug_on(body: &Value) -> bool {
    match body.get("param").and_then(|p| p.get("debug")) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// Answers one HTTP call to `path` with `body` at the sim's `now_ms`.
pub fn answer(p: &mut Platform, path: &str, body: &[u8], now_ms: i64, max_skew_ms: i64) -> Answer {
    let refused = |body: Value| Answer { body, effects: Vec::new() };
    let routed = route(path);
    let api = match &routed {
        Ok(r) => Some(r.api),
        Err((_, _, api)) => *api,
    };
    if let Some(api) = api {
        *p.requests.entry(api.to_string()).or_default() += 1;
    }
    let route = match routed {
        Ok(r) => r,
        Err((code, why, _)) => return refused(outer(code, &why, None)),
    };
    let Ok(doc) = serde_json::from_slice::<Value>(body) else {
        return refused(outer(BAD_ENVELOPE, "the body is not JSON", None));
    };
    let debug = debug_on(&doc);
    let log = |s: String| debug.then_some(s);
    let Some(authn) = doc.get("authentication").filter(|a| a.is_object()) else {
        return refused(outer(BAD_ENVELOPE, "no authentication object", None));
    };
    if let Err(r) = auth::check(authn, &p.customer, &p.apikey, now_ms, max_skew_ms) {
        if r.code == STALE_TIMESTAMP {
            p.refused_stale += 1;
        } else {
            p.refused_digest += 1;
        }
        log::info!("{} refused: {}", route.api, r.why);
        return refused(outer(r.code, &r.why, log(r.why.clone())));
    }
    let (items, batch): (Vec<Value>, bool) = match (doc.get("requests"), doc.get("request")) {
        (Some(Value::Array(list)), _) if !list.is_empty() => (list.clone(), true),
        (_, Some(one @ Value::Object(_))) => (vec![one.clone()], false),
        _ => return refused(outer(BAD_ENVELOPE, "neither a request object nor a non-empty requests array", None)),
    };
    let mut effects = Vec::new();
    let mut lines = Vec::new();
    let mut responses = Vec::new();
    let mut beside = None;
    for item in &items {
        let mut resp = Map::new();
        resp.insert("seq".into(), item.get("seq").cloned().unwrap_or(Value::Null));
        resp.insert("userData".into(), item.get("userData").cloned().unwrap_or(Value::Null));
        let done = if item.is_object() {
            apis::handle(p, route.api, item, now_ms)
        } else {
            Err((BAD_FIELD, "a request must be an object".to_string()))
        };
        match done {
            Ok(done) => {
                resp.insert("result".into(), codes::result(OK, ""));
                for (k, v) in done.fields {
                    resp.insert(k.into(), v);
                }
                if let Some((k, v)) = done.beside {
                    if batch {
                        resp.insert(k.into(), v);
                    } else {
                        beside = Some((k, v));
                    }
                }
                effects.extend(done.effect);
                lines.push(format!("{} seq {}: ok", route.api, resp["seq"]));
            }
            Err((code, why)) => {
                log::info!("{} request refused: {code} {why}", route.api);
                lines.push(format!("{} seq {}: error {code} {why}", route.api, resp["seq"]));
                resp.insert("result".into(), codes::result(code, &why));
            }
        }
        responses.push(Value::Object(resp));
    }
    let mut data = Map::new();
    data.insert("seq".into(), authn.get("seq").cloned().unwrap_or(Value::Null));
    if batch {
        data.insert("responses".into(), Value::Array(responses));
    } else {
        data.insert("response".into(), responses.pop().unwrap_or(Value::Null));
        if let Some((k, v)) = beside {
            data.insert(k.into(), v);
        }
    }
    let body = json!({"data": data, "logs": log(lines.join("\n")), "result": codes::result(OK, "")});
    Answer { body, effects }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callcenter::auth::{SEED_APIKEY, digest};

    const NOW: i64 = 1_700_000_000_000;

    fn body(request: Value) -> Vec<u8> {
        let d = digest("C2", &NOW.to_string(), "9", SEED_APIKEY);
        let mut b = json!({"authentication": {"customer": "C2", "timestamp": NOW, "seq": 9, "digest": d},
            "param": {"debug": "true", "lang": "en_US"}});
        let key = if request.is_array() { "requests" } else { "request" };
        b[key] = request;
        b.to_string().into_bytes()
    }

    #[test]
    fn routes_check_names_and_versions() {
        assert_eq!(route("/openapi/V2.0.6/getAgentInfo").map(|r| r.version), Ok(6));
        assert_eq!(route("/openapi/V2.0.6/getAgentinfo").map(|r| r.api), Ok("getAgentInfo"));
        assert_eq!(route("/openapi/V2.0.4/getAgentInfo").map_err(|e| e.0), Err(BAD_VERSION));
        assert_eq!(route("/openapi/V2.0.5/AgentLogin").map_err(|e| e.0), Err(BAD_VERSION));
        assert_eq!(route("/openapi/V2.0.1/getCdrList").map(|r| r.api), Ok("getCdrList"));
        assert_eq!(route("/openapi/V2.0.3/getRecordsList").map_err(|e| e.0), Err(BAD_VERSION));
        assert_eq!(route("/openapi/V2.0.6/agentlogin").map_err(|e| e.0), Err(NO_SUCH_API));
        assert_eq!(route("/openapi/v2.0.6/AgentLogin").map_err(|e| e.0), Err(BAD_VERSION));
    }

    #[test]
    fn single_and_batched_requests_are_judged_one_by_one() {
        let mut p = Platform::new("C2", SEED_APIKEY, &["1000".into()]);
        let one =
            answer(&mut p, "/openapi/V2.0.6/AgentLogin", &body(json!({"seq": "1", "agent": "1000"})), NOW, 300_000);
        assert_eq!((one.body["result"]["error"].as_i64(), one.body["data"]["seq"].as_i64()), (Some(0), Some(9)));
        assert_eq!(one.body["data"]["response"]["result"]["error"], 0);
        assert_eq!(one.body["data"]["response"]["userData"], Value::Null);
        let reqs = json!([{"seq": 2, "agent": 1000, "userData": "a"}, {"seq": "3", "agent": "9"}, "x"]);
        let many = answer(&mut p, "/openapi/V2.0.6/getAgentStatus", &body(reqs), NOW, 300_000);
        let r = &many.body["data"]["responses"];
        assert_eq!(
            (r[0]["seq"].as_i64(), r[0]["userData"].as_str(), r[0]["workStatus"].as_str()),
            (Some(2), Some("a"), Some("ONLINE"))
        );
        assert_eq!(
            (r[1]["result"]["error"].as_i64(), r[2]["result"]["error"].as_i64()),
            (Some(codes::NO_SUCH_AGENT), Some(BAD_FIELD))
        );
        assert!(many.body["logs"].as_str().is_some_and(|l| l.contains("error")));
        let stale = answer(
            &mut p,
            "/openapi/V2.0.6/AgentLogin",
            &body(json!({"seq": "1", "agent": "1000"})),
            NOW + 300_001,
            300_000,
        );
        assert_eq!(stale.body["result"]["error"], STALE_TIMESTAMP);
        assert_eq!((p.refused_stale, p.requests["getAgentStatus"]), (1, 1));
        let junk = answer(&mut p, "/openapi/V2.0.6/AgentLogin", b"{", NOW, 300_000);
        assert_eq!(junk.body["result"]["error"], BAD_ENVELOPE);
    }
}
