//! The pure part against `tests/vectors/qmsg.json`: vectors made from the digest and the
//! seed alone (by `tests/vectors/make_qmsg_vectors.py`, written by a reader who never saw
//! this connector), each case naming the seed line it comes from.

use super::codes::StatCode;
use super::push;
use super::reply::{parse_get, parse_send};
use super::request::{Account, Batch, Method, plan, send_get, send_post, text_bytes};
use crate::connectors::callbacks::decode;
use crate::http::url::decode_bytes;
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/qmsg.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("qmsg.json")).expect("json")
}

fn cases(section: &str) -> Vec<Value> {
    vectors()[section].as_array().cloned().unwrap_or_else(|| panic!("no {section}"))
}

fn hex(h: &str) -> Vec<u8> {
    (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).expect("hex")).collect()
}

/// A query as (key, raw value bytes) pairs: compares the bytes sent, not their spelling.
fn pairs(query: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    query
        .split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode_bytes(k.as_bytes()), decode_bytes(v.as_bytes()))
        })
        .collect()
}

#[test]
fn send_requests_carry_the_bytes_the_vectors_expect_in_gbk_by_get_and_utf8_by_post() {
    for case in cases("sendsms_requests") {
        let name = case["name"].as_str().expect("name");
        let p = |k: &str| {
            case["params"].as_array().expect("params").iter().find(|kv| kv[0] == k).and_then(|kv| kv[1].as_str())
        };
        let account = Account {
            entid: p("entid").expect("entid").into(),
            uid: p("uid").expect("uid").into(),
            pwd: p("pwd").expect("pwd").into(),
        };
        let mobs: Vec<String> = p("mobs").expect("mobs").split(',').map(String::from).collect();
        let method = if case["method"] == "GET" { Method::Get } else { Method::Post };
        let batch = Batch { method, mobs };
        let (text, extno, sendid) = (p("msg").expect("msg"), p("extno").unwrap_or(""), p("sendid").expect("sendid"));
        // The agent always names the reply form; a vector without one is compared without it.
        let flag = p("returnflag").unwrap_or("text");
        let (ours, theirs) = match method {
            Method::Get => (
                send_get("/", &account, &batch, text, extno, sendid, flag)
                    .split_once('?')
                    .expect("query")
                    .1
                    .to_string(),
                case["query_form"].as_str().expect("query_form"),
            ),
            Method::Post => (
                String::from_utf8(send_post("/", &account, &batch, text, extno, sendid, flag).1).expect("ascii"),
                case["body_form"].as_str().expect("body_form"),
            ),
        };
        let mut ours = pairs(&ours);
        if p("returnflag").is_none() {
            ours.retain(|(k, _)| k != b"returnflag");
        }
        assert_eq!(ours, pairs(theirs), "{name}");
        let msg = ours.iter().find(|(k, _)| k == b"msg").expect("msg").1.clone();
        assert_eq!(msg, hex(case["msg_bytes_hex"].as_str().expect("hex")), "{name}: the text's bytes");
    }
}

#[test]
fn send_replies_read_as_the_vectors_say() {
    for case in cases("sendsms_replies") {
        let (name, want) = (case["name"].as_str().expect("name"), &case["expected"]);
        let r = parse_send(&hex(case["body_hex"].as_str().expect("hex"))).expect(name);
        assert_eq!(r.stat, StatCode(want["statCode"].as_i64().expect("code")), "{name}");
        if let Some(sendid) = want["sendid"].as_str() {
            assert_eq!(r.sendid, sendid, "{name}");
        }
        if let Some(balance) = want["balance"].as_i64() {
            assert_eq!(r.balance, Some(balance), "{name}");
        }
        if let Some(pay) = want["payType"].as_i64() {
            assert_eq!(r.pay_type, Some(pay), "{name}");
        }
        assert_eq!(r.stat.is_ok(), want["sent"].as_bool().unwrap_or(r.stat.is_ok()), "{name}");
    }
}

#[test]
fn every_statcode_of_the_vectors_has_the_digests_meaning() {
    for case in cases("statcodes") {
        let code = StatCode(case["code"].as_i64().expect("code"));
        assert_eq!(code.meaning(), case["digest"].as_str().expect("digest").to_lowercase().as_str(), "{code:?}");
    }
}

#[test]
fn get_replies_list_the_vectors_messages() {
    for case in cases("getsms_replies") {
        let (name, want) = (case["name"].as_str().expect("name"), &case["expected"]);
        let super::reply::Fetched { code, mos, odd } =
            parse_get(&hex(case["body_hex"].as_str().expect("hex"))).expect(name);
        assert!(odd.is_empty(), "{name}: {odd:?}");
        assert_eq!(code, StatCode(want["statCode"].as_i64().expect("code")), "{name}");
        let expected = want["mos"].as_array().cloned().unwrap_or_default();
        assert_eq!(mos.len(), expected.len(), "{name}");
        for (mo, e) in mos.iter().zip(&expected) {
            // xml cases also give the fields under their text names.
            let e = if e["as_text_fields"].is_object() { &e["as_text_fields"] } else { e };
            assert_eq!(mo.mobile, e["mobile"].as_str().expect("mobile"), "{name}");
            assert_eq!(mo.ext, e["extno"].as_str().expect("extno"), "{name}");
            assert_eq!(mo.replytime, e["replytime"].as_str().expect("replytime"), "{name}");
            assert_eq!(mo.text, e["msg"].as_str().expect("msg"), "{name}");
        }
    }
}

#[test]
fn pushes_decode_to_the_vectors_fields_in_utf8_and_in_gbk() {
    for case in cases("push_queries") {
        let name = case["name"].as_str().expect("name");
        let fields = decode(case["query_form"].as_str().expect("query"), None, b"").expect(name);
        for (k, v) in case["decoded"].as_object().expect("decoded") {
            assert_eq!(fields.get(k), v.as_str(), "{name}: {k}");
        }
        let parsed =
            if case["kind"] == "recvmsg" { push::mo(&fields).map(|_| ()) } else { push::report(&fields).map(|_| ()) };
        assert!(parsed.is_ok(), "{name}: {parsed:?}");
    }
}

#[test]
fn the_byte_count_and_the_limits_decide_get_or_post_as_the_vectors_say() {
    for case in cases("byte_length") {
        let text = case["text"].as_str().expect("text");
        assert_eq!(text_bytes(text) as u64, case["gbk_bytes"].as_u64().expect("bytes"), "{text}");
        let planned = plan(&["13800000000".to_string()], text);
        assert_eq!(planned.is_ok(), case["post_ok"].as_bool().expect("post_ok"), "{text}");
        let by_get = planned.is_ok_and(|p| p[0].method == Method::Get);
        assert_eq!(by_get, case["get_ok"].as_bool().expect("get_ok"), "{text}");
    }
    for case in cases("number_limits") {
        let n = case["numbers"].as_u64().expect("numbers") as usize;
        let mobs: Vec<String> = (0..n).map(|i| format!("138{i:08}")).collect();
        let planned = plan(&mobs, "hi").expect("plan");
        assert_eq!(
            planned.len() == 1 && planned[0].method == Method::Get,
            case["get_ok"].as_bool().expect("get"),
            "{n}"
        );
        assert_eq!(planned.len() == 1, case["post_ok"].as_bool().expect("post"), "{n} in one POST");
    }
}
