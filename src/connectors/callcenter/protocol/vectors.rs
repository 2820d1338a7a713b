//! The pure part against `tests/vectors/callcenter.json`: vectors made from the digest and
//! the seed alone (by `tests/vectors/make_callcenter_vectors.py`, written by a reader who
//! never saw this connector), each case naming the seed line it comes from.

use super::api::Api;
use super::envelope::{self, Account, Call};
use super::{auth, notify};
use crate::connectors::lenient::text_of;
use serde_json::{Map, Value, json};

fn all() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/callcenter.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("callcenter.json")).expect("json")
}

fn list(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

fn s(v: &Value) -> String {
    text_of(v).unwrap_or_default()
}

/// A JSON value with every scalar as text (the vectors' convention for fields).
fn texts(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.iter().map(texts).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), texts(v))).collect()),
        Value::Number(n) => json!(n.to_string()),
        other => other.clone(),
    }
}

#[test]
fn digests_match_the_independent_vectors_and_verify_in_upper_case() {
    for c in list(&all()["digests"]) {
        let (cu, ts, seq, key) = (s(&c["customer"]), s(&c["timestamp"]), s(&c["seq"]), s(&c["apikey"]));
        assert_eq!(auth::digest(&cu, &ts, &seq, &key), s(&c["digest"]), "{}", c["what"]);
        assert!(auth::verify(&s(&c["digest_upper"]), &cu, &ts, &seq, &key), "{}", c["what"]);
    }
}

#[test]
fn envelopes_carry_the_vectors_authentication_path_and_fields() {
    for e in list(&all()["envelopes"]) {
        let name = s(&e["name"]);
        let api = Api::parse(&s(&e["api"])).unwrap_or_else(|| panic!("{name}: unknown api"));
        let minor = crate::config::minor_version(&s(&e["version"])).expect("version");
        assert_eq!(envelope::path(minor, api), s(&e["path"]), "{name}");
        let inputs = &e["inputs"];
        let without_seq = |r: &Value| {
            let mut m = r.as_object().cloned().unwrap_or_default();
            m.remove("seq");
            m
        };
        let requests: Vec<Map<String, Value>> = match inputs.get("requests") {
            Some(Value::Array(rs)) => rs.iter().map(without_seq).collect(),
            _ => vec![without_seq(&inputs["request"])],
        };
        for r in &requests {
            assert_eq!(api.check(r), Ok(()), "{name}: the vector's request is valid");
        }
        let call = Call {
            api,
            agent: inputs["agent"].as_str().map(str::to_string),
            requests: requests.clone(),
            batched: inputs["batched"].as_bool().unwrap_or(false),
        };
        let account = Account { customer: &s(&inputs["customer"]), apikey: &s(&inputs["apikey"]), lang: "en_US" };
        let ts: u64 = s(&inputs["timestamp"]).parse().expect("timestamp");
        let seq: u64 = s(&inputs["seq"]).parse().expect("seq");
        let body = envelope::body(&account, &call, ts, seq);
        assert_eq!(body["authentication"], e["body"]["authentication"], "{name}: authentication");
        let sent: Vec<Value> = match (&body["requests"], &body["request"]) {
            (Value::Array(rs), _) => rs.clone(),
            (_, r) => vec![r.clone()],
        };
        let expected: Vec<Value> = match (&e["body"]["requests"], &e["body"]["request"]) {
            (Value::Array(rs), _) => rs.clone(),
            (_, r) => vec![r.clone()],
        };
        assert_eq!(sent.len(), expected.len(), "{name}: single or batched as the vector");
        for (got, want) in sent.iter().zip(&expected) {
            assert_eq!(Value::Object(without_seq(got)), Value::Object(without_seq(want)), "{name}: request fields");
        }
    }
}

#[test]
fn each_api_is_sent_only_on_the_versions_the_seed_lists() {
    for c in list(&all()["versions"]["checks"]) {
        let api = Api::parse(&s(&c["api"])).expect("api");
        let ok = crate::config::minor_version(&s(&c["version"])).is_some_and(|m| api.check_version(m).is_ok());
        assert_eq!(ok, c["supported"].as_bool().expect("supported"), "{} {}", s(&c["api"]), s(&c["version"]));
    }
}

/// A valid request of `api`, for checking one field at a time.
fn base(api: Api) -> Map<String, Value> {
    let v = match api {
        Api::VoiceVerify => json!({"callee": "13800000001", "verifyCode": "1234"}),
        Api::CallNumber => json!({"agent": "1000", "callee": "13800000001"}),
        Api::CallTaskCreate => json!({"agent": "1000", "callees": ["13800000001"], "mode": "2"}),
        Api::CallTaskAddNumbers => json!({"agent": "1000", "taskID": "1", "callees": ["13800000001"]}),
        _ => json!({"agent": "1000"}),
    };
    v.as_object().cloned().unwrap_or_default()
}

#[test]
fn field_limits_are_checked_before_sending_as_the_vectors_say() {
    for c in list(&all()["limits"]) {
        let (api_name, field) = (s(&c["api"]), s(&c["field"]));
        let valid = c["valid"].as_bool().expect("valid");
        if api_name == "authentication" {
            assert_eq!(crate::config::is_customer(&s(&c["value"])), valid, "customer {}", c["value"]);
            continue;
        }
        let api = Api::parse(&api_name).expect("api");
        let mut r = base(api);
        match &c["value"] {
            Value::Null => drop(r.remove(&field)),
            v => drop(r.insert(field.clone(), v.clone())),
        }
        assert_eq!(api.check(&r).is_ok(), valid, "{api_name}.{field} = {}: {}", c["value"], c["what"]);
    }
}

#[test]
fn replies_are_read_at_both_levels_with_every_field_kept() {
    for c in list(&all()["replies"]) {
        let name = s(&c["name"]);
        let want = &c["expected"];
        let parsed = envelope::parse(s(&c["body"]).as_bytes());
        let outer = want["outer"]["error"].as_i64().expect("outer error");
        let r = match parsed {
            Ok(r) => r,
            Err(e) => panic!("{name}: {e}"),
        };
        assert_eq!((r.error, r.msg.clone()), (outer, s(&want["outer"]["msg"])), "{name}: outer");
        let responses = list(&want["responses"]);
        assert_eq!(r.responses.len(), responses.len(), "{name}: responses");
        for (got, w) in r.responses.iter().zip(&responses) {
            assert_eq!(got.seq, w["seq"].as_str().map(str::to_string), "{name}: seq");
            let user_data = w["userData"].as_str().map(str::to_string);
            assert_eq!(got.user_data, user_data, "{name}: userData");
            assert_eq!((got.error, got.msg.clone()), (w["error"].as_i64().expect("error"), s(&w["msg"])), "{name}");
            for (k, v) in w["fields"].as_object().cloned().unwrap_or_default() {
                let mine = if k == "cdr" {
                    Value::Array(got.list(super::inferred::CDR_ALIASES))
                } else {
                    got.fields.get(&k).cloned().unwrap_or(Value::Null)
                };
                assert_eq!(texts(&mine), v, "{name}: field {k}");
            }
            for (k, v) in w["extra"].as_object().cloned().unwrap_or_default() {
                assert_eq!(got.fields.get(&k), Some(&v), "{name}: unknown field {k} kept");
            }
        }
    }
}

#[test]
fn notifications_are_verified_typed_and_kept_as_the_vectors_say() {
    let all = all();
    for c in list(&all["notifications"]["cases"]) {
        let name = s(&c["name"]);
        let (v, want) = (&c["verifier"], &c["expected"]);
        let body: Value = serde_json::from_str(&s(&c["body"])).expect("body");
        // The vectors' reader took one window both ways.
        let skew_ms = v["max_skew_ms"].as_u64().expect("skew");
        let verdict = match notify::parse(&body) {
            Err(_) => "invalid",
            Ok(n) => match n.verify(&s(&v["customer"]), &s(&v["apikey"])) {
                Err(_) => "invalid",
                Ok(()) => match n.fresh(v["now_ms"].as_u64().expect("now"), skew_ms, skew_ms) {
                    Err(_) => "stale",
                    Ok(()) => {
                        let kind = match want["type"].as_str() {
                            Some("untyped") => "call.event",
                            Some("callstart") => "call.start",
                            Some("callend") => "call.end",
                            Some("callin") => "call.in",
                            Some("callout") => "call.out",
                            Some("billing") => "call.billing",
                            Some("taskinfo") => "task.info",
                            other => panic!("{name}: type {other:?}"),
                        };
                        assert_eq!(n.event_kind(), kind, "{name}");
                        if !want["call_type"].is_null() {
                            assert_eq!(s(&n.fields["call_type"]), s(&want["call_type"]), "{name}: call_type");
                        }
                        for k in want["fields"].as_object().cloned().unwrap_or_default().keys() {
                            let kept =
                                n.fields.contains_key(k) || (k == "call type" && n.fields.contains_key("call_type"));
                            assert!(kept, "{name}: {k} kept");
                        }
                        "valid"
                    }
                },
            },
        };
        assert_eq!(verdict, s(&want["verdict"]), "{name}");
    }
    let answer = notify::answer(0, "");
    assert_eq!(serde_json::to_string(&answer).expect("json"), s(&all["notifications"]["success_answer_text"]));
}
