//! URL query strings, pure: percent-encoding values for the requests the agent sends to
//! LAN devices, and parsing a request's query (the simulators read theirs with it).

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
pub fn encode(s: &str) -> String {
    encode_bytes(s.as_bytes())
}

/// Percent-encodes bytes in any charset (a GBK query value, say).
pub fn encode_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `k=v&k=v` with every value encoded; keys are written as given (`par_name(n)` keeps its brackets).
pub fn query_string<K: AsRef<str>>(pairs: &[(K, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", k.as_ref(), encode(v))).collect::<Vec<_>>().join("&")
}

/// Decodes `%XX` and `+` to text (lossy UTF-8); an invalid escape is kept as it is.
pub fn decode(s: &str) -> String {
    String::from_utf8_lossy(&decode_bytes(s.as_bytes())).into_owned()
}

/// Decodes `%XX` and `+` to bytes, whatever their charset.
pub fn decode_bytes(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex =
            b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
                continue;
            }
            (b'+', _) => out.push(b' '),
            (c, _) => out.push(c),
        }
        i += 1;
    }
    out
}

/// The pairs of a query string, decoded, in order.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_encoding() {
        let text = "+86(20) 8705&x=1/中";
        assert_eq!(encode(text), "%2B86%2820%29%208705%26x%3D1%2F%E4%B8%AD");
        let q = query_string(&[("faxnum", text.to_string()), ("n", "1".to_string())]);
        assert_eq!(parse_query(&q), vec![("faxnum".into(), text.into()), ("n".into(), "1".into())]);
        assert_eq!(decode("a+b%2"), "a b%2", "a broken escape is kept");
    }
}
