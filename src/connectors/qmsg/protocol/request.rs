//! sendSms and getSms requests.
//!
//! The seed: "GET 方式请求时编码为 GBK，POST 方式请求时编码为 UTF-8"; GET carries at most 50
//! numbers and 300 bytes of text, POST at most 300 numbers and 1000 bytes ("即 500 个汉字": a
//! Chinese character counts 2, as in GBK). A send goes by GET when it fits (and its text has
//! a GBK form), else by POST; more numbers than one call takes are split over several calls
//! of the same text; a text over 1000 bytes is refused before anything is sent.

use super::to_gbk;
use crate::http::url::{encode, encode_bytes};

pub const GET_MAX_MOBS: usize = 50;
pub const GET_MAX_BYTES: usize = 300;
pub const POST_MAX_MOBS: usize = 300;
pub const POST_MAX_BYTES: usize = 1000;

/// The account every call names.
#[derive(Debug, Clone)]
pub struct Account {
    pub entid: String,
    pub uid: String,
    pub pwd: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// One sendSms call: its numbers and how it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub method: Method,
    pub mobs: Vec<String>,
}

/// The text's length as the platform counts it: one byte per ASCII character, two for
/// any other of the BMP ("即 500 个汉字"), four beyond it (an emoji: two UTF-16 units,
/// four bytes in GB18030 — the seed is silent; the larger count never overruns).
pub fn text_bytes(text: &str) -> usize {
    text.chars()
        .map(|c| {
            if c.is_ascii() {
                1
            } else if u32::from(c) > 0xFFFF {
                4
            } else {
                2
            }
        })
        .sum()
}

/// Splits a send into calls, or says why it cannot be sent.
pub fn plan(mobs: &[String], text: &str) -> Result<Vec<Batch>, String> {
    if mobs.is_empty() {
        return Err("to: at least one number".into());
    }
    if let Some(bad) = mobs.iter().find(|m| m.is_empty() || m.len() > 20 || !m.bytes().all(|b| b.is_ascii_digit())) {
        return Err(format!("to: {bad:?} is not a mobile number (digits only)"));
    }
    if text.is_empty() {
        return Err("text: must not be empty".into());
    }
    let bytes = text_bytes(text);
    if bytes > POST_MAX_BYTES {
        return Err(format!(
            "text: {bytes} bytes (a Chinese character counts 2); QMsg takes at most {POST_MAX_BYTES} (500 Chinese characters)"
        ));
    }
    let get = bytes <= GET_MAX_BYTES && mobs.len() <= GET_MAX_MOBS && to_gbk(text).is_some();
    let (method, per) = if get { (Method::Get, GET_MAX_MOBS) } else { (Method::Post, POST_MAX_MOBS) };
    Ok(mobs.chunks(per).map(|c| Batch { method, mobs: c.to_vec() }).collect())
}

/// `{base}/{name}`, the base's path kept.
pub fn path(base_target: &str, name: &str) -> String {
    format!("{}/{name}", base_target.trim_end_matches('/'))
}

/// The parameters of one sendSms call, in the seed's order.
fn send_params<'a>(
    account: &'a Account,
    batch: &Batch,
    text: &'a str,
    extno: &'a str,
    sendid: &'a str,
    returnflag: &'a str,
) -> Vec<(&'static str, std::borrow::Cow<'a, str>)> {
    let mut p = vec![
        ("entid", account.entid.as_str().into()),
        ("uid", account.uid.as_str().into()),
        ("pwd", account.pwd.as_str().into()),
        ("mobs", batch.mobs.join(",").into()),
        ("msg", text.into()),
    ];
    if !extno.is_empty() {
        p.push(("extno", extno.into()));
    }
    p.push(("sendid", sendid.into()));
    p.push(("returnflag", returnflag.into()));
    p
}

/// A sendSms GET: the request target, its query percent-encoded from GBK bytes.
pub fn send_get(
    base_target: &str,
    account: &Account,
    batch: &Batch,
    text: &str,
    extno: &str,
    sendid: &str,
    returnflag: &str,
) -> String {
    let query: Vec<String> = send_params(account, batch, text, extno, sendid, returnflag)
        .into_iter()
        .map(|(k, v)| format!("{k}={}", encode_bytes(&to_gbk(&v).unwrap_or_else(|| v.as_bytes().to_vec()))))
        .collect();
    format!("{}?{}", path(base_target, "sendSms.do"), query.join("&"))
}

/// A sendSms POST: the target and the UTF-8 form body.
pub fn send_post(
    base_target: &str,
    account: &Account,
    batch: &Batch,
    text: &str,
    extno: &str,
    sendid: &str,
    returnflag: &str,
) -> (String, Vec<u8>) {
    let body: Vec<String> = send_params(account, batch, text, extno, sendid, returnflag)
        .into_iter()
        .map(|(k, v)| format!("{k}={}", encode(&v)))
        .collect();
    (path(base_target, "sendSms.do"), body.join("&").into_bytes())
}

/// A getSms GET (the query is ASCII).
pub fn get_sms(base_target: &str, account: &Account, returnflag: &str, getall: bool) -> String {
    let getall = if getall { "yes" } else { "no" };
    format!(
        "{}?entid={}&uid={}&pwd={}&returnflag={returnflag}&getall={getall}",
        path(base_target, "getSms.do"),
        encode(&account.entid),
        encode(&account.uid),
        encode(&account.pwd)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account {
        Account { entid: "8000123".into(), uid: "user".into(), pwd: "password".into() }
    }

    fn mobs(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("1380000{i:04}")).collect()
    }

    #[test]
    fn the_seeds_example_request_is_built_byte_for_byte() {
        // seed: sendSms.do?entid=8000123&uid=user&pwd=password&mobs=13800210022&msg=Hello&extno=12345&sendid=123456&returnflag=xml
        let batch = Batch { method: Method::Get, mobs: vec!["13800210022".into()] };
        let target = send_get("/", &account(), &batch, "Hello", "12345", "123456", "xml");
        assert_eq!(
            target,
            "/sendSms.do?entid=8000123&uid=user&pwd=password&mobs=13800210022&msg=Hello&extno=12345&sendid=123456&returnflag=xml"
        );
    }

    #[test]
    fn chinese_text_goes_by_get_in_gbk_and_by_post_in_utf8() {
        let batch = Batch { method: Method::Get, mobs: vec!["1".into()] };
        let get = send_get("/api/", &account(), &batch, "你好", "", "7", "text");
        assert!(get.starts_with("/api/sendSms.do?"), "{get}");
        assert!(get.contains("&msg=%C4%E3%BA%C3&"), "GBK bytes: {get}");
        let (target, body) = send_post("/", &account(), &batch, "你好", "", "7", "text");
        assert_eq!(target, "/sendSms.do");
        assert!(String::from_utf8(body).expect("ascii").contains("&msg=%E4%BD%A0%E5%A5%BD&"));
    }

    #[test]
    fn a_send_is_planned_by_the_limits() {
        let small = plan(&mobs(50), &"a".repeat(300)).expect("plan");
        assert_eq!(small, vec![Batch { method: Method::Get, mobs: mobs(50) }]);
        let many = plan(&mobs(700), "hi").expect("plan");
        assert_eq!(
            many.iter().map(|b| (b.method, b.mobs.len())).collect::<Vec<_>>(),
            vec![(Method::Post, 300), (Method::Post, 300), (Method::Post, 100)]
        );
        assert_eq!(plan(&mobs(51), "hi").expect("plan")[0].method, Method::Post);
        // 151 Chinese characters = 302 bytes: over GET's 300.
        assert_eq!(plan(&mobs(1), &"中".repeat(151)).expect("plan")[0].method, Method::Post);
        assert_eq!(plan(&mobs(1), &"中".repeat(150)).expect("plan")[0].method, Method::Get);
    }

    #[test]
    fn a_text_too_long_for_post_is_refused_before_sending() {
        let e = plan(&mobs(1), &"中".repeat(501)).expect_err("too long");
        assert!(e.contains("1002 bytes") && e.contains("1000"), "{e}");
        assert!(plan(&mobs(1), &"中".repeat(500)).is_ok());
        assert!(plan(&[], "x").is_err());
        assert!(plan(&["138-0000".into()], "x").is_err());
    }

    #[test]
    fn a_text_without_a_gbk_form_goes_by_post() {
        assert_eq!(plan(&mobs(1), "emoji 😀").expect("plan")[0].method, Method::Post);
    }
}
