//! The one place configured secret values are removed from what leaves the agent: every log
//! line (the logger calls [`text`]), and every event and command result (their payloads are
//! encoded through [`json`]). A device or vendor that echoes a request line back (GoIP's
//! plain auth puts the password in the URL) cannot carry a secret into a log, an event or a
//! result, whichever call site the text passed.
//!
//! The secrets are the config's (set at every start) and those a connector generates (a push
//! secret kept in the store). Each is matched as written and percent-encoded (as it appears
//! in a URL). Values shorter than [`MIN_LEN`] are not scrubbed (they would match ordinary
//! words); strings longer than [`MAX_TEXT`] (file chunks) are data, not text, and are left as
//! they are.

use serde_json::Value;
use std::borrow::Cow;
use std::sync::{Arc, RwLock};

/// Shortest value scrubbed.
pub const MIN_LEN: usize = 4;
/// Longest JSON string scrubbed.
pub const MAX_TEXT: usize = 4096;
/// What replaces a secret.
pub const MASK: &str = "***";

static SECRETS: RwLock<Option<Arc<Vec<String>>>> = RwLock::new(None);

/// Unit tests that change the (process-wide) secrets hold this, one at a time.
#[cfg(test)]
pub(crate) static TEST_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn current() -> Option<Arc<Vec<String>>> {
    SECRETS.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The forms to look for: the value and its percent-encoding, longest first.
fn forms(values: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut all: Vec<String> =
        values.into_iter().filter(|v| v.len() >= MIN_LEN).flat_map(|v| [crate::http::url::encode(&v), v]).collect();
    all.sort_by_key(|f| std::cmp::Reverse(f.len()));
    all.dedup();
    all
}

/// Replaces the secrets (a config was loaded).
pub fn set(values: impl IntoIterator<Item = String>) {
    *SECRETS.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(forms(values)));
}

/// Adds a secret (one a connector generated).
pub fn add(value: &str) {
    let mut guard = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    let mut values: Vec<String> = guard.as_ref().map(|v| v.as_ref().clone()).unwrap_or_default();
    values.push(value.to_string());
    *guard = Some(Arc::new(forms(values)));
}

/// `s` with every secret masked.
pub fn text(s: &str) -> Cow<'_, str> {
    let Some(secrets) = current() else { return Cow::Borrowed(s) };
    let mut out = Cow::Borrowed(s);
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), MASK));
        }
    }
    out
}

/// Raw bytes from outside (a request kept whole, base64-encoded) with every secret masked.
pub fn bytes(b: &[u8]) -> Cow<'_, [u8]> {
    let Some(secrets) = current() else { return Cow::Borrowed(b) };
    let mut out = Cow::Borrowed(b);
    for secret in secrets.iter().map(|s| s.as_bytes()) {
        if !out.windows(secret.len()).any(|w| w == secret) {
            continue;
        }
        let mut masked = Vec::with_capacity(out.len());
        let mut rest: &[u8] = &out;
        while let Some(at) = rest.windows(secret.len()).position(|w| w == secret) {
            masked.extend_from_slice(&rest[..at]);
            masked.extend_from_slice(MASK.as_bytes());
            rest = &rest[at + secret.len()..];
        }
        masked.extend_from_slice(rest);
        out = Cow::Owned(masked);
    }
    out
}

/// At most `max` bytes of text from `b` (cut at a character), secrets masked first: a cut
/// can never leave part of a secret that no longer matches.
pub fn excerpt(b: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(b);
    let mut clean = self::text(&text).into_owned();
    if clean.len() > max {
        let mut cut = max;
        while !clean.is_char_boundary(cut) {
            cut -= 1;
        }
        clean.truncate(cut);
    }
    clean
}

/// Whether any string of `v` (up to [`MAX_TEXT`] long) holds a secret.
pub fn needed(v: &Value) -> bool {
    let Some(secrets) = current() else { return false };
    fn walk(v: &Value, secrets: &[String]) -> bool {
        match v {
            Value::String(s) => s.len() <= MAX_TEXT && secrets.iter().any(|x| s.contains(x.as_str())),
            Value::Array(a) => a.iter().any(|v| walk(v, secrets)),
            Value::Object(m) => {
                m.iter().any(|(k, v)| secrets.iter().any(|x| k.contains(x.as_str())) || walk(v, secrets))
            }
            _ => false,
        }
    }
    walk(v, &secrets)
}

/// `v` with every secret masked in its strings (up to [`MAX_TEXT`] long).
pub fn json(v: &Value) -> Cow<'_, Value> {
    if !needed(v) {
        return Cow::Borrowed(v);
    }
    fn walk(v: &mut Value) {
        match v {
            Value::String(s) if s.len() <= MAX_TEXT => {
                if let Cow::Owned(clean) = text(s) {
                    *s = clean;
                }
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            // Keys are text from outside too.
            Value::Object(m) => {
                *m = std::mem::take(m)
                    .into_iter()
                    .map(|(k, mut v)| {
                        walk(&mut v);
                        (text(&k).into_owned(), v)
                    })
                    .collect();
            }
            _ => {}
        }
    }
    let mut owned = v.clone();
    walk(&mut owned);
    Cow::Owned(owned)
}

/// A logger that masks the secrets in every line before `L` writes it.
#[derive(Debug)]
pub struct Scrubbing<L>(pub L);

impl<L: log::Log> log::Log for Scrubbing<L> {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.0.enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = record.args().to_string();
        let clean = text(&line);
        if self.0.enabled(record.metadata()) && record.level() <= log::max_level() {
            crate::logring::push(record.level(), record.target(), &clean);
        }
        self.0.log(
            &log::Record::builder()
                .metadata(record.metadata().clone())
                .args(format_args!("{clean}"))
                .module_path(record.module_path())
                .file(record.file())
                .line(record.line())
                .build(),
        );
    }

    fn flush(&self) {
        self.0.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_secret_is_masked_as_written_and_percent_encoded_but_short_values_and_blobs_are_not() {
        let _one_at_a_time = TEST_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        set(["p@ss word".to_string(), "abc".to_string(), "push-s3cret".to_string()]);
        let echoed = "refused: GET /goip_x.html?username=admin&password=p%40ss%20word (p@ss word)";
        assert_eq!(text(echoed), "refused: GET /goip_x.html?username=admin&password=*** (***)");
        assert_eq!(text("abc stays"), "abc stays", "too short to be told from a word");
        let v = json!({"reason": "at /goip/gw1/push-s3cret/sms", "n": 1, "blob": "push-s3cret".repeat(500)});
        let clean = json(&v);
        assert_eq!(clean["reason"], "at /goip/gw1/***/sms");
        assert_eq!(clean["blob"], v["blob"], "data longer than MAX_TEXT is left alone");
        assert!(matches!(json(&json!({"ok": true})), Cow::Borrowed(_)), "nothing to do: no copy");
        assert_eq!(bytes(b"a=1&pw=p%40ss%20word&x"), &b"a=1&pw=***&x"[..]);
        assert!(matches!(bytes(b"nothing here"), Cow::Borrowed(_)));
        // Cut after the secret's first bytes: masked before the cut, so nothing of it is left.
        assert_eq!(excerpt(b"reply: push-s3cret and more", 12), "reply: *** a");
        assert_eq!(excerpt("caf\u{e9}".as_bytes(), 4), "caf", "cut at a character");
        add("later-secret");
        assert_eq!(text("a later-secret"), "a ***");
        set(Vec::<String>::new());
    }
}
