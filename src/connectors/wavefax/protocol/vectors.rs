//! The pure WaveFax protocol against `tests/vectors/wavefax.json`: vectors written from the
//! digest and the seed alone by a reader who never saw this code (made by
//! `tests/vectors/make_wavefax_vectors.py`; each names the seed line it rests on).

use super::codes::{EXPIRED_TOKEN, INVALID_TOKEN, OutState, ServerCode};
use super::reply::parse_ok;
use super::request::{Call, build, format_time, parse_time};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("../../../../tests/vectors/wavefax.json")).expect("vectors")
}

fn list(v: &Value, key: &str) -> Vec<Value> {
    v[key].as_array().unwrap_or_else(|| panic!("{key}")).clone()
}

#[test]
fn server_times_format_and_parse_as_the_vectors_say() {
    let v = vectors();
    for case in list(&v, "time_format") {
        let (unix, offset) = (case["unix"].as_i64().expect("unix"), case["utc_offset_minutes"].as_i64().expect("o"));
        let text = case["text"].as_str().expect("text");
        assert_eq!(format_time(unix, offset as i32), text, "{case}");
        assert_eq!(parse_time(text), Some(unix + offset * 60), "{case}");
    }
    // Reading is lenient on purpose (accept every form, emit the primary one): a server
    // writing separators, a space or a lower-case `t` is still understood. Every other
    // invalid time of the vectors (wrong digits, impossible dates) is refused.
    let lenient = ["2014-12-21T11:11:11", "20141221 111111", "20141221t111111"];
    for case in list(&v, "time_invalid") {
        let text = case["text"].as_str().expect("text");
        assert_eq!(parse_time(text).is_some(), lenient.contains(&text), "{case}");
    }
}

#[test]
fn values_are_percent_encoded_as_the_vectors_say() {
    let v = vectors();
    for case in list(&v, "url_encoding").into_iter().chain(list(&v, "url_encoding_structural")) {
        let input = case["input"].as_str().expect("input");
        assert_eq!(crate::http::url::encode(input), case["encoded"].as_str().expect("encoded"), "{case}");
    }
}

#[test]
fn session_requests_carry_exactly_the_vectors_parameters() {
    let v = vectors();
    let query = |name: &str| {
        let case = list(&v, "requests").into_iter().find(|r| r["name"] == name).expect(name);
        format!("{}?{}", case["path"].as_str().expect("path"), case["query"].as_str().expect("query"))
    };
    let login = Call::Login { user: "alice".into(), domain: false, password: "secret".into() };
    assert_eq!(build(&login, "").target, query("login with user"));
    let odd = Call::Login { user: "alice".into(), domain: false, password: "p@ss&w=rd +1".into() };
    assert_eq!(build(&odd, "").target, query("login with user, password needing encoding"));
    let domain = Call::Login { user: "domainuser01".into(), domain: true, password: "secret".into() };
    assert_eq!(build(&domain, "").target, query("login with userdomain"));
    let admin = Call::AdminLogin { user: "admin".into(), password: "secret".into() };
    assert_eq!(build(&admin, "").target, query("adminlogin"));
    assert_eq!(build(&Call::Logoff, "WSSESS645E323BA24393187FAD").target, query("logoff"));
}

/// A built request's query as (name, value) pairs, decoded, sorted (the seed does not say
/// whether the order matters; the vectors list the seed's order).
fn pairs(target: &str) -> Vec<(String, String)> {
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let mut v: Vec<_> = crate::http::url::parse_query(query).into_iter().collect();
    v.sort();
    v
}

#[test]
fn submits_and_deletes_carry_exactly_the_parameters_the_seed_lists() {
    use super::request::SubmitOptions;
    let v = vectors();
    let want = |name: &str| {
        let case = list(&v, "requests").into_iter().find(|r| r["name"] == name).expect(name);
        let mut p: Vec<(String, String)> = case["params"]
            .as_array()
            .expect("params")
            .iter()
            .map(|kv| (kv[0].as_str().expect("k").to_string(), kv[1].as_str().expect("v").to_string()))
            .collect();
        p.sort();
        p
    };
    let token = "WSSESS645E323BA24393187FAD";
    let opts = SubmitOptions {
        recipient: "Zhang San".into(),
        subject: "Invoice 42".into(),
        convert: true,
        ..Default::default()
    };
    let plain = Call::SubmitFax { faxnum: "+86(20)87057352".into(), fileid: "F1001".into(), opts: opts.clone() };
    assert_eq!(pairs(&build(&plain, token).target), want("submitfax, required parameters"));
    let later = SubmitOptions { schedule_time: Some("20141221T111111".into()), ..opts };
    let scheduled = Call::SubmitFax { faxnum: "+86(20)87057352E8001".into(), fileid: "F1001".into(), opts: later };
    assert_eq!(pairs(&build(&scheduled, token).target), want("submitfax with scheduletime and extension"));
    let mail = SubmitOptions {
        recipient: "HK Office".into(),
        subject: "Contract".into(),
        stamp: Some(("company".into(), 100, 200, "1".into())),
        pattern: Some(super::request::Pattern::FaxMail),
        mail_address: Some("test1@example.com; test2@example.com".into()),
        convert: false,
        ..Default::default()
    };
    let stamped = Call::SubmitFax { faxnum: "+852 22222222".into(), fileid: "F1002".into(), opts: mail };
    assert_eq!(pairs(&build(&stamped, token).target), want("submitfax, fax-mail with stamp and Convert=N"));
    let delete = Call::DeleteInFax { faxid: "54321".into() };
    assert_eq!(pairs(&build(&delete, token).target), want("deleteinfax"));
}

#[test]
fn non_strict_replies_parse_to_the_vectors_values() {
    for case in list(&vectors(), "lenient_json") {
        let text = case["text"].as_str().expect("text");
        let expect = case["expect"].as_object().expect("expect");
        match expect["code"].as_i64() {
            Some(0) => {
                let map = parse_ok(text.as_bytes()).expect("parses");
                for (k, want) in expect {
                    assert_eq!(
                        map.get(k).map(|v| v.to_string().trim_matches('"').to_string()),
                        Some(want.to_string().trim_matches('"').to_string()),
                        "{case}"
                    );
                }
            }
            Some(code) => {
                let err = parse_ok(text.as_bytes()).expect_err("a failure");
                assert!(err.to_string().contains(&code.to_string()), "{case}: {err}");
            }
            None => panic!("{case}: no code"),
        }
    }
}

#[test]
fn every_error_code_and_fax_state_of_the_vectors_is_known_with_its_meaning() {
    let v = vectors();
    for case in list(&v, "error_codes") {
        let code = case["code"].as_i64().expect("code");
        if code == 0 {
            continue;
        }
        assert!(ServerCode::from_code(code).is_some(), "unknown server code {case}");
        let relogin = code == INVALID_TOKEN || code == EXPIRED_TOKEN;
        assert_eq!(relogin, case["relogin_and_retry_once"].as_bool().expect("flag"), "{case}");
    }
    for case in list(&v, "fax_states") {
        let state = OutState::from_code(case["status"].as_u64().expect("status")).expect("known state");
        assert_eq!(state.is_final(), case["final"].as_bool().expect("final"), "{case}");
    }
}
