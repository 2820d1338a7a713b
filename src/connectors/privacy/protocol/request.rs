//! The calls (seed §3, §4): account status, AXB bind/release, XA bind/release. Binds are
//! `PUT` with a form body; releases are `DELETE` with their parameters in the URI ("由于框架
//! 按 HTTP 标准实现，参数需要带着 URI 里面").

use crate::http::url::{encode, query_string};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Put,
    Delete,
}

/// One call: its method, target (path and query) and form body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub target: String,
    pub form: Option<String>,
}

/// An AXB binding asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Axb {
    pub x: String,
    pub anum: String,
    pub bnum: String,
    pub reqid: String,
    pub ttl: u64,
    pub record: Option<bool>,
    /// `"0,0"` … `"1,1"`: what each callee sees (x or the real number).
    pub display: Option<String>,
    pub anucode: Option<String>,
    pub ansanu: Option<String>,
    pub user_data: Option<String>,
}

/// An XA transfer asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Xa {
    pub x: String,
    pub anum: String,
    pub reqid: String,
    /// 0 = forever ("缺省 0 表示一直有效").
    pub ttl: u64,
    pub record: Option<bool>,
    /// 0 shows x, 1 the real caller.
    pub display: Option<u8>,
    pub anucode: Option<String>,
    pub user_data: Option<String>,
}

/// "最长 24 字节".
const MAX_NUMBER_BYTES: usize = 24;

fn number(what: &str, n: &str) -> Result<(), String> {
    if n.is_empty() || n.len() > MAX_NUMBER_BYTES {
        return Err(format!("{what}: 1-{MAX_NUMBER_BYTES} bytes"));
    }
    if !n.bytes().all(|b| b.is_ascii_digit() || b == b'+') {
        return Err(format!("{what}: {n:?} is not a phone number"));
    }
    Ok(())
}

fn push(form: &mut Vec<(&'static str, String)>, key: &'static str, v: &Option<String>) {
    if let Some(v) = v {
        form.push((key, v.clone()));
    }
}

pub fn account_status() -> Request {
    Request { method: Method::Get, target: "/api/v1/account/status".into(), form: None }
}

pub fn bind_axb(appid: &str, b: &Axb) -> Result<Request, String> {
    number("x", &b.x)?;
    number("a", &b.anum)?;
    number("b", &b.bnum)?;
    if b.ttl == 0 {
        return Err("ttl: seconds, at least 1 (required for AXB)".into());
    }
    if let Some(d) = &b.display
        && !matches!(d.as_str(), "0,0" | "0,1" | "1,0" | "1,1")
    {
        return Err("display: one of \"0,0\", \"0,1\", \"1,0\", \"1,1\"".into());
    }
    let mut form = vec![
        ("appid", appid.to_string()),
        ("anum", b.anum.clone()),
        ("bnum", b.bnum.clone()),
        ("reqid", b.reqid.clone()),
        ("ttl", b.ttl.to_string()),
    ];
    if let Some(r) = b.record {
        form.push(("record", u8::from(r).to_string()));
    }
    push(&mut form, "display", &b.display);
    push(&mut form, "anucode", &b.anucode);
    push(&mut form, "ansanu", &b.ansanu);
    push(&mut form, "userData", &b.user_data);
    let target = format!("/igw/service/uc/interline/{}", encode(&b.x));
    Ok(Request { method: Method::Put, target, form: Some(query_string(&form)) })
}

pub fn release_axb(appid: &str, subid: &str) -> Request {
    let q = query_string(&[("appid", appid.to_string()), ("subid", subid.to_string())]);
    Request { method: Method::Delete, target: format!("/igw/service/uc/interline?{q}"), form: None }
}

pub fn bind_xa(appid: &str, b: &Xa) -> Result<Request, String> {
    number("x", &b.x)?;
    number("a", &b.anum)?;
    if let Some(d) = b.display
        && d > 1
    {
        return Err("display: 0 (show x) or 1 (show the real caller)".into());
    }
    let mut form = vec![("appid", appid.to_string()), ("anum", b.anum.clone()), ("reqid", b.reqid.clone())];
    push(&mut form, "anucode", &b.anucode);
    if let Some(r) = b.record {
        form.push(("record", u8::from(r).to_string()));
    }
    if let Some(d) = b.display {
        form.push(("display", d.to_string()));
    }
    form.push(("ttl", b.ttl.to_string()));
    push(&mut form, "userData", &b.user_data);
    let target = format!("/igw/service/uc/interline/{}/transfer", encode(&b.x));
    Ok(Request { method: Method::Put, target, form: Some(query_string(&form)) })
}

pub fn release_xa(appid: &str, x: &str) -> Request {
    let q = query_string(&[("appid", appid.to_string())]);
    Request {
        method: Method::Delete,
        target: format!("/igw/service/uc/interline/{}/transfer?{q}", encode(x)),
        form: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_axb_bind_is_a_put_form_to_the_x_numbers_path() {
        let b = Axb {
            x: "17000000001".into(),
            anum: "13800000001".into(),
            bnum: "13900000002".into(),
            reqid: "r-1".into(),
            ttl: 600,
            record: Some(true),
            user_data: Some("b3JkZXI9Nw==".into()),
            ..Axb::default()
        };
        let r = bind_axb("app1", &b).expect("request");
        assert_eq!((r.method, r.target.as_str()), (Method::Put, "/igw/service/uc/interline/17000000001"));
        assert_eq!(
            r.form.as_deref(),
            Some("appid=app1&anum=13800000001&bnum=13900000002&reqid=r-1&ttl=600&record=1&userData=b3JkZXI9Nw%3D%3D")
        );
    }

    #[test]
    fn releases_carry_their_parameters_in_the_uri() {
        assert_eq!(release_axb("app1", "S 1").target, "/igw/service/uc/interline?appid=app1&subid=S%201");
        let r = release_xa("app1", "17000000001");
        assert_eq!(
            (r.method, r.target.as_str()),
            (Method::Delete, "/igw/service/uc/interline/17000000001/transfer?appid=app1")
        );
    }

    #[test]
    fn bad_numbers_and_values_are_refused_before_sending() {
        let ok = Axb { x: "1".into(), anum: "2".into(), bnum: "3".into(), reqid: "r".into(), ttl: 1, ..Axb::default() };
        assert!(bind_axb("a", &Axb { anum: "1".repeat(25), ..ok.clone() }).is_err(), "over 24 bytes");
        assert!(bind_axb("a", &Axb { ttl: 0, ..ok.clone() }).is_err());
        assert!(bind_axb("a", &Axb { display: Some("2,0".into()), ..ok.clone() }).is_err());
        assert!(bind_axb("a", &Axb { bnum: "13x".into(), ..ok }).is_err());
        let xa = Xa { x: "1".into(), anum: "2".into(), reqid: "r".into(), ..Xa::default() };
        assert!(bind_xa("a", &xa).expect("xa").form.expect("form").contains("&ttl=0"), "0 = forever");
    }
}
