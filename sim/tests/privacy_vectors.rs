//! The privacy-number simulator against the known answers of `tests/vectors/privacy.json`
//! (made by `tests/vectors/make_privacy_vectors.py` with Python's hashlib, base64 and
//! urllib): its Keytime signatures and three-minute rule, the seed's calls and refusals,
//! its error and CDR result tables, its callbacks byte for byte as form and as JSON, and
//! `userData` carried through unchanged.

use hyper::Method;
use serde_json::Value;
use telbridge_sim::privacy::callback::{Call, url_encode};
use telbridge_sim::privacy::state::{Account, Params, Platform};
use telbridge_sim::privacy::{Op, auth, codes, op};
use telbridge_sim::server::parse_query;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/privacy.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("privacy.json")
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

fn cases<'a>(doc: &'a Value, key: &str) -> &'a Vec<Value> {
    doc[key].as_array().unwrap_or_else(|| panic!("{key}"))
}

const NOW: i64 = 1_700_000_000_000;

fn platform() -> Platform {
    Platform::new(Account {
        devid: "10000000".into(),
        authkey: "key1".into(),
        appid: "app1".into(),
        balance: 100.0,
        overdraft: 0.0,
        state: 1,
        create_ms: 0,
        update_ms: 0,
    })
}

fn params(query: &str) -> Params {
    parse_query(query).into_iter().collect()
}

#[test]
fn signatures_and_the_three_minute_rule_match_the_vectors() {
    let doc = vectors();
    for c in cases(&doc, "signatures") {
        let ts = c["ts_ms"].as_u64().expect("ts");
        let (devid, key) = (s(&c["devid"]), s(&c["authkey"]));
        assert_eq!(auth::sign(key, &ts.to_string()), s(&c["sig"]), "{key} {ts}");
        assert_eq!(auth::header(devid, key, ts), s(&c["header"]));
        let at = i64::try_from(ts).expect("ts");
        assert_eq!(auth::check(Some(s(&c["header"])), devid, key, at), Ok(()));
    }
    let example = &doc["seed_example_header"];
    let k = auth::parse(s(&example["header"])).expect("the seed's example parses");
    assert_eq!((k.devid.as_str(), k.sig.as_str()), (s(&example["devid"]), s(&example["sig"])));
    assert_eq!(k.ts, example["ts_ms"].to_string());
    for c in cases(&doc, "freshness") {
        let ts = c["ts_ms"].as_u64().expect("ts");
        let now = c["now_ms"].as_i64().expect("now");
        let ok = auth::check(Some(&auth::header("10000000", "key1", ts)), "10000000", "key1", now).is_ok();
        assert_eq!(Some(ok), c["accepted"].as_bool(), "{}", c["what"]);
    }
}

#[test]
fn each_request_of_the_vectors_is_the_call_it_names_and_succeeds() {
    let doc = vectors();
    for c in cases(&doc, "requests") {
        let name = s(&c["name"]);
        let method = Method::from_bytes(s(&c["method"]).as_bytes()).expect("method");
        let target = s(&c["target"]);
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        assert_eq!(s(&c["request_line"]), format!("{method} {target} HTTP/1.1"));
        let raw = if method == Method::PUT { s(&c["body"]) } else { query };
        let p = params(raw);
        assert_eq!(serde_json::to_value(&p).expect("json"), c["params"], "{name}");
        let mut pf = platform();
        let x = "17000000001";
        let out = match op(&method, path) {
            Op::Account => {
                let status = pf.account_status();
                for f in c["expected_reply"]["fields"].as_array().expect("fields") {
                    assert!(status.get(s(f)).is_some(), "{f}");
                }
                continue;
            }
            Op::BindAxb(x) => pf.bind_axb(&x, &p, NOW, "S".into()),
            Op::BindXa(x) => pf.bind_xa(&x, &p, NOW, "S".into()),
            Op::ReleaseAxb => {
                let bind = "appid=app1&anum=1&bnum=2&reqid=r&ttl=60";
                pf.bind_axb(x, &params(bind), NOW, p["subid"].clone());
                pf.release_axb(&p, NOW)
            }
            Op::ReleaseXa(x) => {
                pf.bind_xa(&x, &params("appid=app1&anum=1&reqid=r"), NOW, "S".into());
                pf.release_xa(&x, &p, NOW)
            }
            Op::Unmapped => panic!("{name}: not a call"),
        };
        let e = &c["expected_reply"];
        assert_eq!(Some(u64::from(out.code)), e["error"].as_u64(), "{name}: {}", out.reason);
        if let Some(subid) = e["subid"].as_str() {
            assert_eq!(out.subid.is_some(), subid == "present", "{name}");
        }
    }
    for c in cases(&doc, "refused_requests") {
        let Op::BindAxb(x) = op(&Method::PUT, s(&c["path"])) else { panic!("path") };
        let out = platform().bind_axb(&x, &params(s(&c["body"])), NOW, "S".into());
        assert_eq!(Some(u64::from(out.code)), c["error"].as_u64(), "{}", c["name"]);
    }
}

#[test]
fn the_error_and_result_tables_are_the_vectors_and_the_seeds() {
    let doc = vectors();
    let errors: Vec<(u64, &str, bool)> = cases(&doc, "errors")
        .iter()
        .map(|c| (c["code"].as_u64().expect("code"), s(&c["meaning"]), c["retryable"].as_bool().expect("flag")))
        .collect();
    let ours: Vec<(u64, &str, bool)> =
        codes::ERRORS.iter().map(|(c, m)| (u64::from(*c), *m, codes::retryable(*c))).collect();
    assert_eq!(ours, errors);
    let results: Vec<(&str, &str)> =
        cases(&doc, "results").iter().map(|c| (s(&c["result"]), s(&c["meaning"]))).collect();
    assert_eq!(codes::RESULTS, results.as_slice());
    assert_eq!(results.len(), 44);
    for r in cases(&doc, "replies") {
        let body = serde_json::from_str::<Value>(s(&r["body"])).unwrap_or(Value::Null);
        if let (Some(code @ 1..), Some(reason)) = (r["expected"]["error"].as_u64(), body["reason"].as_str()) {
            assert_eq!(codes::describe(u32::try_from(code).expect("code")), reason);
        }
    }
}

fn call_of(decoded: &Value, extras: &[Value]) -> Call {
    let t = |k: &str| decoded[k].as_str().map(str::to_string);
    let i = |k: &str| decoded[k].as_i64();
    Call {
        devid: t("devid").expect("devid"),
        appid: t("appid").expect("appid"),
        taskid: t("taskid").expect("taskid"),
        subid: t("subid").expect("subid"),
        caller: t("caller").expect("caller"),
        rcaller: t("rcaller").expect("rcaller"),
        callee: t("callee").expect("callee"),
        result: t("result").expect("result"),
        begin: i("beginTime").expect("beginTime"),
        ring: i("ringTime"),
        answer: i("answerTime"),
        release: i("releaseTime").expect("releaseTime"),
        duration: i("duration").expect("duration"),
        recording: t("recording"),
        user_data: t("userData"),
        releasedir: t("releasedir").expect("releasedir"),
        extras: extras.iter().map(|k| (s(k).to_string(), t(s(k)).expect("extra"))).collect(),
    }
}

#[test]
fn callbacks_are_the_vectors_bytes_as_form_and_their_values_as_json() {
    let doc = vectors();
    for c in cases(&doc, "callbacks") {
        let name = s(&c["name"]);
        let call = call_of(&c["cdr"]["decoded"], c["extras"].as_array().expect("extras"));
        for (fields, v) in [(call.cdr(), &c["cdr"]), (call.call_start(), &c["call_start"])] {
            assert_eq!(fields.form(), s(&v["form"]), "{name}");
            let json: Value = serde_json::from_str(s(&v["json"])).expect("json");
            assert_eq!(fields.json(), json, "{name}");
            assert_eq!(fields.json(), v["decoded"], "{name}");
        }
    }
}

#[test]
fn user_data_is_carried_through_a_form_unchanged() {
    let doc = vectors();
    for c in cases(&doc, "user_data") {
        let raw = s(&c["raw"]);
        let pair = format!("userData={}", url_encode(raw));
        assert_eq!(pair, s(&c["form_pair"]), "{}", c["name"]);
        let bound = params(&format!("appid=app1&anum=1&bnum=2&reqid=r&ttl=60&{pair}"));
        let mut p = platform();
        p.bind_axb("17000000001", &bound, NOW, "S".into());
        assert_eq!(p.bindings[0].user_data.as_deref(), Some(raw), "{}", c["name"]);
    }
}
