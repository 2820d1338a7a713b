//! The QMsg simulator against the known answers of `tests/vectors/qmsg.json` (made by
//! `tests/vectors/make_qmsg_vectors.py` with Python's own GBK codec): it decodes the
//! vectors' GBK GET queries and UTF-8 POST bodies to the expected parameters, counts their
//! bytes the same way, writes the seed's replies byte for byte, and spells its pushes as the
//! vectors' form style.

use serde_json::Value;
use telbridge_sim::qmsg::codec::{Charset, Params, gbk_len, query_string};
use telbridge_sim::qmsg::replies::{GetReply, SendReply};
use telbridge_sim::qmsg::state::{Mo, Via};

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/qmsg.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("qmsg.json")
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

fn cases<'a>(doc: &'a Value, key: &str) -> &'a Vec<Value> {
    doc[key].as_array().unwrap_or_else(|| panic!("{key}"))
}

fn named<'a>(doc: &'a Value, key: &str, name: &str) -> &'a Value {
    cases(doc, key).iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("{key}/{name}"))
}

fn hex(v: &Value) -> Vec<u8> {
    let h = s(v);
    (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).expect("hex")).collect()
}

fn decoded(p: &Params) -> Value {
    serde_json::to_value(&p.values).expect("json")
}

#[test]
fn the_vectors_requests_decode_to_their_parameters_in_either_spelling() {
    let doc = vectors();
    for case in cases(&doc, "sendsms_requests") {
        let (charset, spellings) = if case["method"] == "GET" {
            (Charset::Gbk, ["query_form", "query_rfc3986"])
        } else {
            (Charset::Utf8, ["body_form", "body_rfc3986"])
        };
        for key in spellings {
            let p = Params::parse(s(&case[key]), charset);
            assert_eq!(decoded(&p), case["decoded"], "{} {key}", case["name"]);
            assert!(!p.decode_errors);
        }
        let msg = s(&case["decoded"]["msg"]);
        assert_eq!(Some(gbk_len(msg) as u64), case["msg_gbk_len"].as_u64(), "{}", case["name"]);
        if let Some(wrong) = case.get("diagnostic_utf8_query") {
            let p = Params::parse(s(wrong), Charset::Gbk);
            assert_ne!(p.get("msg"), Some(msg), "UTF-8 in a GET is not read as the text");
        }
    }
}

#[test]
fn byte_lengths_and_verdicts_match_the_vectors() {
    let doc = vectors();
    let ((get_mobs, get_bytes), (post_mobs, post_bytes)) = (Via::Get.limits(), Via::Post.limits());
    for case in cases(&doc, "byte_length") {
        let n = gbk_len(s(&case["text"]));
        assert_eq!(Some(n as u64), case["gbk_bytes"].as_u64(), "{}", case["source"]);
        assert_eq!(
            (Some(n <= get_bytes), Some(n <= post_bytes)),
            (case["get_ok"].as_bool(), case["post_ok"].as_bool())
        );
    }
    for case in cases(&doc, "number_limits") {
        let n = case["numbers"].as_u64().expect("numbers") as usize;
        assert_eq!((Some(n <= get_mobs), Some(n <= post_mobs)), (case["get_ok"].as_bool(), case["post_ok"].as_bool()));
    }
}

#[test]
fn send_replies_are_the_vectors_bytes() {
    let doc = vectors();
    let ok = SendReply { code: 0, sendid: Some("1297154018".into()), pay_type: 1, balance: 48 };
    assert_eq!(ok.xml("\n"), hex(&named(&doc, "sendsms_replies", "xml_seed_ok")["body_hex"]));
    let poor = SendReply { code: 9, sendid: None, pay_type: 0, balance: 0 };
    assert_eq!(poor.xml("\n"), hex(&named(&doc, "sendsms_replies", "xml_seed_insufficient_balance")["body_hex"]));
    assert_eq!(poor.text("\n"), hex(&named(&doc, "sendsms_replies", "text_refused_blank_id")["body_hex"]));
    let text = SendReply { code: 0, sendid: Some("623090994".into()), pay_type: 1, balance: 198 };
    let seed = hex(&named(&doc, "sendsms_replies", "text_seed")["body_hex"]);
    assert_eq!(text.text("\n"), [seed.as_slice(), b"\n"].concat());
    assert_eq!(text.text("\r\n"), hex(&named(&doc, "sendsms_replies", "text_crlf_trailing")["body_hex"]));
}

fn mo(v: &Value) -> Mo {
    Mo {
        entid: "8000123".into(),
        mob: s(&v["mobile"]).into(),
        ext: s(&v["extno"]).into(),
        msg: s(&v["msg"]).into(),
        replytime: s(&v["replytime"]).into(),
    }
}

fn xml_mo(v: &Value) -> Mo {
    Mo { entid: s(&v["entId"]).into(), ..mo(&v["as_text_fields"]) }
}

#[test]
fn get_sms_replies_are_the_vectors_bytes() {
    let doc = vectors();
    for name in ["text_seed", "text_commas_and_chinese", "text_nothing_new", "text_refused", "text_crlf"] {
        let case = named(&doc, "getsms_replies", name);
        let e = &case["expected"];
        let code = e["statCode"].as_u64().expect("code") as u32;
        let mos = e["mos"].as_array().expect("mos").iter().map(mo).collect();
        let eol = if name == "text_crlf" { "\r\n" } else { "\n" };
        let reply = GetReply { code, pay_type: 1, balance: 198, mos };
        assert_eq!(reply.get_text(eol), hex(&case["body_hex"]), "{name}");
    }
    for name in ["xml_seed_two_mo", "xml_seed_nothing_new", "xml_escaped_content"] {
        let case = named(&doc, "getsms_replies", name);
        let mos = case["expected"]["mos"].as_array().expect("mos").iter().map(xml_mo).collect();
        let reply = GetReply { code: 0, pay_type: 1, balance: 198, mos };
        assert_eq!(reply.xml("\n"), hex(&case["body_hex"]), "{name}");
    }
}

#[test]
fn pushes_are_spelled_like_the_vectors_form_style() {
    let doc = vectors();
    let mut checked = 0;
    for case in cases(&doc, "push_queries").iter().filter(|c| !s(&c["name"]).contains("extra")) {
        let charset = if case["charset"] == "GBK" { Charset::Gbk } else { Charset::Utf8 };
        let order: &[&str] = if case["kind"] == "recvmsg" {
            &["mob", "msg", "entid", "replytime", "ext", "appid"]
        } else {
            &["mob", "sendid", "status", "appid", "entid"]
        };
        let pairs: Vec<(&str, &str)> = order.iter().map(|k| (*k, s(&case["decoded"][*k]))).collect();
        assert_eq!(query_string(&pairs, charset), s(&case["query_form"]), "{}", case["name"]);
        let back = Params::parse(s(&case["query_rfc3986"]), charset);
        assert_eq!(decoded(&back), case["decoded"], "{}", case["name"]);
        checked += 1;
    }
    assert_eq!(checked, 6);
}
