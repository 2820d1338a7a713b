//! A callback's fields, from its query string and its body (form or JSON), in UTF-8 or
//! GBK: Chinese vendors send either and rarely say which. Each value is percent-decoded to
//! bytes first; the request is UTF-8 if every value is, else GBK if every value is; when
//! neither fits, the values are kept lossily and the raw request in `raw` (base64).

use crate::http::url::decode_bytes;
use base64::Engine;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// What a callback carried.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields {
    pub values: BTreeMap<String, String>,
    /// `utf-8`, `gbk`, or `unknown` (then see `raw`).
    pub charset: &'static str,
    /// The JSON body as sent, when it was JSON.
    pub json: Option<Value>,
    /// Base64 of the query and body, when no charset fitted.
    pub raw: Option<String>,
}

impl Fields {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// The value of `key`, or an error naming it.
    pub fn need(&self, key: &str) -> Result<&str, String> {
        self.get(key).filter(|v| !v.is_empty()).ok_or_else(|| format!("missing {key}"))
    }

    /// Every field but `known`, as JSON: what the event keeps under `extra`.
    pub fn extra(&self, known: &[&str]) -> Map<String, Value> {
        let mut m: Map<String, Value> = self
            .values
            .iter()
            .filter(|(k, _)| !known.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        if let Some(raw) = &self.raw {
            m.insert("raw_b64".into(), Value::String(raw.clone()));
        }
        m
    }

    /// [`Fields::extra`], and the charset when it was not UTF-8: what an event keeps of a
    /// callback beyond the fields it reads.
    pub fn kept(&self, known: &[&str]) -> Map<String, Value> {
        let mut m = self.extra(known);
        if self.charset != "utf-8" {
            m.insert("charset".into(), self.charset.into());
        }
        m
    }
}

/// Decodes a callback: the query string, then a form or JSON body (by its content type,
/// or by its first byte when the type is missing).
pub fn decode(query: &str, content_type: Option<&str>, body: &[u8]) -> Result<Fields, String> {
    let mut pairs = form_pairs(query.as_bytes());
    let trimmed = body.iter().position(|b| !b.is_ascii_whitespace()).map(|i| &body[i..]).unwrap_or(&[]);
    let is_json = content_type.is_some_and(|t| t.contains("json")) || trimmed.first() == Some(&b'{');
    let mut json = None;
    if !trimmed.is_empty() && is_json {
        let text = text_of(trimmed).ok_or("the JSON body is neither UTF-8 nor GBK")?.0;
        let value: Value = serde_json::from_str(&text).map_err(|e| format!("the body is not JSON: {e}"))?;
        let Value::Object(map) = &value else { return Err("the JSON body is not an object".into()) };
        for (k, v) in map {
            let v = match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            pairs.push((k.as_bytes().to_vec(), v.into_bytes()));
        }
        json = Some(value);
    } else if !trimmed.is_empty() {
        pairs.extend(form_pairs(body));
    }
    // Decided on every key and value by itself (joined, the end of one and the start of
    // the next could pass for a character neither holds).
    let parts = || pairs.iter().flat_map(|(k, v)| [k.as_slice(), v.as_slice()]);
    type Decoder = fn(&[u8]) -> Option<String>;
    let (charset, decode): (&'static str, Decoder) = if parts().all(|b| std::str::from_utf8(b).is_ok()) {
        ("utf-8", |b| String::from_utf8(b.to_vec()).ok())
    } else if parts().all(|b| gbk(b).is_some()) {
        ("gbk", gbk)
    } else {
        ("unknown", |b| Some(String::from_utf8_lossy(b).into_owned()))
    };
    let values = pairs.iter().map(|(k, v)| (decode(k).unwrap_or_default(), decode(v).unwrap_or_default())).collect();
    let raw = (charset == "unknown").then(|| {
        let mut bytes = query.as_bytes().to_vec();
        if !body.is_empty() {
            bytes.push(b'\n');
            bytes.extend_from_slice(body);
        }
        // Base64 hides a secret from the scrubbing of the event's text: masked before.
        base64::engine::general_purpose::STANDARD.encode(crate::scrub::bytes(&bytes))
    });
    Ok(Fields { values, charset, json, raw })
}

/// Text in UTF-8, else GBK; with the charset found.
fn text_of(bytes: &[u8]) -> Option<(String, &'static str)> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Some((s.to_string(), "utf-8")),
        Err(_) => gbk(bytes).map(|s| (s, "gbk")),
    }
}

/// GBK bytes to text, or None when they are not GBK.
pub fn gbk(bytes: &[u8]) -> Option<String> {
    encoding_rs::GBK.decode_without_bom_handling_and_without_replacement(bytes).map(|c| c.into_owned())
}

/// `a=1&b=%C4%E3` into raw byte pairs (`+` is a space).
fn form_pairs(text: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    text.split(|b| *b == b'&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.iter().position(|b| *b == b'=') {
            Some(i) => (decode_bytes(&p[..i]), decode_bytes(&p[i + 1..])),
            None => (decode_bytes(p), Vec::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gbk_query_is_decoded_as_gbk() {
        // 你好 in GBK is C4 E3 BA C3.
        let f = decode("mob=13800000000&msg=%C4%E3%BA%C3", None, b"").expect("fields");
        assert_eq!(f.charset, "gbk");
        assert_eq!(f.get("msg"), Some("你好"));
        assert_eq!(f.get("mob"), Some("13800000000"));
    }

    #[test]
    fn a_utf8_form_body_is_decoded_as_utf8_with_plus_as_space() {
        let f = decode("", Some("application/x-www-form-urlencoded"), "msg=%E4%BD%A0%E5%A5%BD+there&a=1".as_bytes())
            .expect("fields");
        assert_eq!(f.charset, "utf-8");
        assert_eq!(f.get("msg"), Some("你好 there"));
    }

    #[test]
    fn a_json_body_keeps_its_fields_and_its_value() {
        let f = decode("", Some("application/json"), br#"{"mob":"1","n":2,"x":null}"#).expect("fields");
        assert_eq!((f.get("mob"), f.get("n"), f.get("x")), (Some("1"), Some("2"), Some("")));
        assert_eq!(f.json.expect("json")["n"], 2);
    }

    #[test]
    fn a_value_that_decodes_only_joined_with_the_next_is_kept_raw() {
        // C4 ends a value and E3 starts the next key: joined, C4 E3 is GBK's 你.
        let f = decode("a=%C4&%E3=x", None, b"").expect("fields");
        assert_eq!(f.charset, "unknown");
        assert!(f.raw.is_some(), "neither value is text alone: the raw request is kept");
    }

    #[test]
    fn bytes_in_no_charset_are_kept_raw() {
        let f = decode("msg=%FF%FF%FF", None, b"").expect("fields");
        assert_eq!(f.charset, "unknown");
        assert!(f.raw.is_some());
        assert!(f.extra(&[]).contains_key("raw_b64"));
    }

    #[test]
    fn a_secret_echoed_in_a_request_kept_raw_is_masked_before_base64_hides_it() {
        use base64::Engine;
        let _one_at_a_time = crate::scrub::TEST_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        crate::scrub::add("raw-s3cret");
        let f = decode("msg=%FF%FF&key=raw-s3cret", None, b"echo raw-s3cret").expect("fields");
        let raw = base64::engine::general_purpose::STANDARD.decode(f.raw.expect("raw")).expect("base64");
        assert_eq!(raw, b"msg=%FF%FF&key=***\necho ***");
    }

    #[test]
    fn bad_json_is_refused() {
        assert!(decode("", Some("application/json"), b"{nope").is_err());
        assert!(decode("", Some("application/json"), b"[1]").is_err());
    }
}
