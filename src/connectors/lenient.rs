//! JSON as devices and vendors really write it, pure: numbers that arrive as strings and
//! strings as numbers, and (WaveFax's seed) objects with bare keys and single quotes.

use serde_json::{Map, Value};

/// A whole number, or a string holding one.
pub fn u64_of(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A signed number, or a string holding one.
pub fn i64_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A string, or a number written as one (ids come both ways).
pub fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses an object, strict JSON first, then the non-strict style ([`normalize`]).
pub fn object(body: &[u8]) -> Result<Map<String, Value>, String> {
    let raw = String::from_utf8_lossy(body);
    let value: Value =
        serde_json::from_str(&raw).or_else(|_| serde_json::from_str(&normalize(&raw))).map_err(|e| e.to_string())?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err("not an object".into()),
    }
}

/// Rewrites the non-strict style into JSON: quotes bare keys, turns single-quoted strings
/// into double-quoted ones. Text inside strings is left alone.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    let mut expect_key = false;
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                out.push('"');
                while let Some(d) = chars.next() {
                    match d {
                        '\\' => match chars.next() {
                            Some('\'') => out.push('\''),
                            Some(e) => {
                                out.push('\\');
                                out.push(e);
                            }
                            None => {}
                        },
                        '"' if c == '\'' => out.push_str("\\\""),
                        d if d == c => break,
                        d => out.push(d),
                    }
                }
                out.push('"');
                expect_key = false;
            }
            '{' | ',' => {
                out.push(c);
                expect_key = true;
            }
            c if expect_key && (c.is_alphabetic() || c == '_') => {
                let mut key = String::from(c);
                while let Some(&d) = chars.peek() {
                    if d.is_alphanumeric() || d == '_' || d == '-' {
                        key.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push('"');
                out.push_str(&key);
                out.push('"');
                expect_key = false;
            }
            c if c.is_whitespace() => out.push(c),
            c => {
                out.push(c);
                expect_key = false;
            }
        }
    }
    out
}
