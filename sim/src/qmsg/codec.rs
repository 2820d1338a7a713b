//! QMsg's encodings (digest `shared/specs/qmsg-sms.md`, seed `001_…`): request parameters
//! percent-decoded and read as GBK (the URL's query) or UTF-8 (a POST form body), push
//! query strings percent-encoded in UTF-8 or GBK, the GBK-style byte count of the length
//! limits, XML escaping and the platform's `YYYY-MM-DD HH:MM:SS` time.

use std::collections::BTreeMap;

/// How the bytes behind a percent-encoded text are read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    Gbk,
    Utf8,
}

/// The text behind `bytes` in `charset`, and whether some bytes were not valid in it
/// (those become U+FFFD, the way a server that guessed the wrong charset shows mojibake).
pub fn decode(bytes: &[u8], charset: Charset) -> (String, bool) {
    let encoding = match charset {
        Charset::Gbk => encoding_rs::GBK,
        Charset::Utf8 => encoding_rs::UTF_8,
    };
    let (text, had_errors) = encoding.decode_without_bom_handling(bytes);
    (text.into_owned(), had_errors)
}

/// `text` as bytes in `charset`. A character GBK lacks (an emoji) is written as an XML
/// numeric character reference (`&#128512;`), encoding_rs's GBK encoder's behaviour.
pub fn encode(text: &str, charset: Charset) -> Vec<u8> {
    match charset {
        Charset::Utf8 => text.as_bytes().to_vec(),
        Charset::Gbk => encoding_rs::GBK.encode(text).0.into_owned(),
    }
}

/// Request parameters: the first value of each name wins (a Java servlet's
/// `getParameter`), and whether any value was not valid in its charset.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pub values: BTreeMap<String, String>,
    pub decode_errors: bool,
}

impl Params {
    /// Adds the pairs of `raw` (`a=1&b=2`, percent-encoded bytes in `charset`); a name
    /// already present keeps its value.
    pub fn add(&mut self, raw: &str, charset: Charset) {
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (name, e1) = decode(&crate::server::percent_decode_bytes(k), charset);
            let (value, e2) = decode(&crate::server::percent_decode_bytes(v), charset);
            self.decode_errors |= e1 || e2;
            self.values.entry(name).or_insert(value);
        }
    }

    /// Parses `raw` alone.
    pub fn parse(raw: &str, charset: Charset) -> Params {
        let mut p = Params::default();
        p.add(raw, charset);
        p
    }

    /// A parameter's value; `None` when absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// A parameter's value when present and not empty.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }
}

/// Percent-encodes `text`'s bytes in `charset` the way Java's `URLEncoder.encode(s, cs)`
/// does (the platform's `.do` paths are a Java servlet's): `A-Z a-z 0-9 . - * _` kept,
/// space as `+`, every other byte `%XX` in upper case.
pub fn url_encode(text: &str, charset: Charset) -> String {
    let mut out = String::new();
    for b in encode(text, charset) {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => out.push(char::from(b)),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `name=value&…`, each value encoded with [`url_encode`].
pub fn query_string(pairs: &[(&str, &str)], charset: Charset) -> String {
    let parts: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", url_encode(v, charset))).collect();
    parts.join("&")
}

/// The length the limits count. Seed: "长度不超过 300 个字节，即 150 个汉字" and "1000 个字节，即
/// 500 个汉字" (300 bytes = 150 Chinese characters): an ASCII character is 1 byte, any other
/// 2. A character outside the BMP (an emoji) counts 4: two UTF-16 units of 2 each, as a
/// Java server counting `c < 128 ? 1 : 2` over the string's chars would (the seed does not
/// say; GBK itself cannot encode it).
pub fn gbk_len(text: &str) -> usize {
    text.chars().map(|c| if c.is_ascii() { 1 } else { 2 * c.len_utf16() }).sum()
}

/// `&`, `<`, `>` and `"` escaped for XML text.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// `YYYY-MM-DD HH:MM:SS` (the seed's `2007-12-07 18:23:08`) of a Unix time, in China
/// Standard Time (UTC+8, no daylight saving): the platform is in China and the seed names
/// no zone.
pub fn china_time(unix_secs: i64) -> String {
    // `YYYYMMDDTHHNNSS` from the fax module's calendar arithmetic, re-punctuated.
    let s = crate::fax::codes::format_time(unix_secs + 8 * 3600);
    format!("{}-{}-{} {}:{}:{}", &s[0..4], &s[4..6], &s[6..8], &s[9..11], &s[11..13], &s[13..15])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gbk_percent_encoded_chinese_get_query_is_decoded() {
        // "你好" in GBK is C4 E3 BA C3.
        let p = Params::parse("mobs=13800210021&msg=%C4%E3%BA%C3+Hello&extno=12", Charset::Gbk);
        assert_eq!(p.get("msg"), Some("你好 Hello"));
        assert_eq!((p.get("mobs"), p.get("extno"), p.decode_errors), (Some("13800210021"), Some("12"), false));
    }

    #[test]
    fn a_utf8_form_body_is_decoded_as_utf8() {
        let p = Params::parse("msg=%E4%BD%A0%E5%A5%BD%2C+ok&uid=u1", Charset::Utf8);
        assert_eq!((p.get("msg"), p.get("uid")), (Some("你好, ok"), Some("u1")));
    }

    #[test]
    fn utf8_bytes_read_as_gbk_are_flagged_as_mojibake() {
        // "你好" in UTF-8 (E4 BD A0 E5 A5 BD) sent where GBK is expected.
        let p = Params::parse("msg=%E4%BD%A0%E5%A5%BD", Charset::Gbk);
        assert_ne!(p.get("msg"), Some("你好"));
    }

    #[test]
    fn the_first_value_of_a_repeated_parameter_wins() {
        let mut p = Params::parse("uid=a&uid=b", Charset::Utf8);
        p.add("uid=c&pwd=x", Charset::Utf8);
        assert_eq!((p.get("uid"), p.get("pwd")), (Some("a"), Some("x")));
        assert_eq!(p.non_empty("none"), None);
        assert_eq!(Params::parse("e=", Charset::Gbk).non_empty("e"), None);
    }

    #[test]
    fn push_values_are_encoded_like_java_urlencoder_in_either_charset() {
        assert_eq!(url_encode("你好 a,b*._-~", Charset::Utf8), "%E4%BD%A0%E5%A5%BD+a%2Cb*._-%7E");
        assert_eq!(url_encode("你好 a,b", Charset::Gbk), "%C4%E3%BA%C3+a%2Cb");
        assert_eq!(url_encode("2007-12-07 18:23:08", Charset::Gbk), "2007-12-07+18%3A23%3A08");
        let q = query_string(&[("mob", "139"), ("msg", "好")], Charset::Gbk);
        assert_eq!(q, "mob=139&msg=%BA%C3");
        assert_eq!(Params::parse(&q, Charset::Gbk).get("msg"), Some("好"));
    }

    #[test]
    fn limits_count_a_chinese_character_as_two_bytes() {
        assert_eq!(gbk_len("Hello"), 5);
        assert_eq!(gbk_len("你好"), 4);
        assert_eq!(gbk_len("你好, ok"), 8);
        assert_eq!(gbk_len(&"汉".repeat(150)), 300);
        assert_eq!(gbk_len("😀"), 4);
    }

    #[test]
    fn gbk_encoding_round_trips_and_escapes_what_gbk_lacks() {
        assert_eq!(encode("你好", Charset::Gbk), vec![0xC4, 0xE3, 0xBA, 0xC3]);
        assert_eq!(decode(&[0xC4, 0xE3, 0xBA, 0xC3], Charset::Gbk), ("你好".to_string(), false));
        assert_eq!(encode("😀", Charset::Gbk), b"&#128512;".to_vec());
        assert_eq!(xml_escape("a<b>&\"c"), "a&lt;b&gt;&amp;&quot;c");
    }

    #[test]
    fn times_are_china_standard_time_like_the_seed() {
        // 2007-12-07 10:23:08 UTC is 18:23:08 in Shanghai.
        assert_eq!(china_time(1_197_022_988), "2007-12-07 18:23:08");
        assert_eq!(china_time(0), "1970-01-01 08:00:00");
    }
}
