//! The arguments of the fax server's cloud commands, pure: checked and turned into calls
//! before anything is sent, each refusal naming the argument.

use super::number::{self, Dialing};
use super::request::{Pattern, SubmitOptions, server_time};
use base64::Engine;
use serde_json::Value;

/// Documents one `fax.send` may carry.
pub const MAX_DOCUMENTS: usize = 20;

/// Where a document's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Downloaded by the agent (`http://` or `https://`).
    Url(String),
    Inline(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub source: Source,
    /// Sent in `Content-Disposition`: the server picks the document type by its extension.
    pub filename: String,
    /// Expected lower-case hex SHA-256 of the bytes.
    pub sha256: Option<String>,
}

/// A checked `fax.send`.
#[derive(Debug, Clone, PartialEq)]
pub struct SendPlan {
    /// In the server's format; empty for a mail-only submission.
    pub faxnum: String,
    pub documents: Vec<Document>,
    pub opts: SubmitOptions,
    /// Mail jobs the submission makes (their ids come after the fax's).
    pub mail_count: usize,
}

use crate::connectors::files::ack::text;

fn document(i: usize, d: &Value, max_bytes: usize) -> Result<Document, String> {
    let at = |what: &str| format!("documents[{i}]: {what}");
    let sha256 = text(d, "sha256").map_err(|e| at(&e))?.map(str::to_ascii_lowercase);
    if sha256.as_ref().is_some_and(|h| h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit())) {
        return Err(at("`sha256` must be 64 hex digits"));
    }
    let filename = text(d, "filename").map_err(|e| at(&e))?;
    let (source, default_name) = match (text(d, "url").map_err(|e| at(&e))?, text(d, "data").map_err(|e| at(&e))?) {
        (Some(url), None) => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(at("`url` must be http:// or https://"));
            }
            let path = url.split(['?', '#']).next().unwrap_or(url);
            let last = path.rsplit('/').next().filter(|s| s.contains('.')).map(str::to_string);
            (Source::Url(url.to_string()), last)
        }
        (None, Some(b64)) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| at(&format!("`data` is not base64: {e}")))?;
            if bytes.len() > max_bytes {
                return Err(at(&format!("`data` is larger than {max_bytes} bytes")));
            }
            (Source::Inline(bytes), None)
        }
        _ => return Err(at("give exactly one of `url` and `data`")),
    };
    // The name as putfile will send it (cut at a line break, see `content_disposition`):
    // its extension is what the server goes by.
    let filename = filename
        .map(str::to_string)
        .or(default_name)
        .map(|n| n.split(['\r', '\n']).next().unwrap_or_default().to_string())
        .filter(|n| n.contains('.'))
        .ok_or_else(|| at("`filename` with an extension is needed (the server picks the document type by it)"))?;
    Ok(Document { source, filename, sha256 })
}

/// Checks a `fax.send`'s arguments (see docs/mqtt.md).
pub fn parse_send(args: &Value, dialing: &Dialing, offset_minutes: i32, max_bytes: usize) -> Result<SendPlan, String> {
    let pattern = match text(args, "pattern")? {
        None => Pattern::Fax,
        Some(p) => Pattern::parse(p).ok_or("`pattern` must be fax, mail or fax-mail")?,
    };
    let mails: Vec<String> = match args.get("mail") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => {
            s.split([';', ',']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
        }
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| v.as_str().map(|s| s.trim().to_string()).ok_or("`mail` must hold strings"))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("`mail` must be an address list".into()),
    };
    if mails.iter().any(|m| !m.contains('@') || m.contains(char::is_whitespace)) {
        return Err("`mail` holds an address that is not one".into());
    }
    let wants_mail = matches!(pattern, Pattern::Mail | Pattern::FaxMail);
    if wants_mail == mails.is_empty() {
        return Err("`mail` is required with pattern mail or fax-mail, and only then".into());
    }
    let faxnum = match (text(args, "to")?, pattern) {
        (Some(to), _) => number::format(to, dialing).map_err(|e| e.to_string())?,
        (None, Pattern::Mail) => String::new(),
        (None, _) => return Err("`to` (the fax number) is required".into()),
    };
    let docs = args.get("documents").and_then(Value::as_array).ok_or("`documents` must be a list")?;
    if docs.is_empty() || docs.len() > MAX_DOCUMENTS {
        return Err(format!("`documents` must hold 1 to {MAX_DOCUMENTS} documents"));
    }
    let documents = docs.iter().enumerate().map(|(i, d)| document(i, d, max_bytes)).collect::<Result<_, _>>()?;
    let schedule_time = match text(args, "schedule_at")? {
        None => None,
        // Seed 1.1.1.8: submitfaxmerge lists no `scheduletime` (nor `recipient`).
        Some(_) if docs.len() > 1 => {
            return Err("`schedule_at` works with one document only: the server \
             cannot schedule a merged fax (submitfaxmerge takes no scheduletime)"
                .into());
        }
        Some(t) => Some(
            server_time(t, offset_minutes)
                .ok_or("`schedule_at` must be RFC 3339 (2026-11-24T10:00:00Z) or YYYYMMDDTHHNNSS")?,
        ),
    };
    let stamp = match args.get("stamp") {
        None | Some(Value::Null) => None,
        Some(s) => {
            let n = |k: &str| s.get(k).and_then(Value::as_u64).and_then(|v| u32::try_from(v).ok());
            let name = s.get("name").and_then(Value::as_str);
            let pages = s.get("pages").map(|p| p.as_str().map(str::to_string).unwrap_or_else(|| p.to_string()));
            match (name, n("x"), n("y"), pages) {
                (Some(name), Some(x), Some(y), Some(pages)) => Some((name.to_string(), x, y, pages)),
                _ => return Err("`stamp` needs `name`, `x`, `y` and `pages`".into()),
            }
        }
    };
    let convert = match args.get("convert") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("`convert` must be true or false".into()),
    };
    let opts = SubmitOptions {
        recipient: text(args, "recipient")?.unwrap_or_default().to_string(),
        subject: text(args, "subject")?.unwrap_or_default().to_string(),
        schedule_time,
        stamp,
        pattern: (pattern != Pattern::Fax).then_some(pattern),
        mail_address: wants_mail.then(|| mails.join("; ")),
        convert,
    };
    Ok(SendPlan { faxnum, documents, opts, mail_count: mails.len() })
}

/// `faxid` (a string or a number).
pub fn fax_id(args: &Value) -> Result<String, String> {
    args.get("faxid").and_then(super::reply::text).filter(|s| !s.is_empty()).ok_or_else(|| "`faxid` is required".into())
}

/// `fax.resend`: the fax and an optional new number.
pub fn parse_resend(args: &Value, dialing: &Dialing) -> Result<(String, Option<String>), String> {
    let to = text(args, "to")?.map(|t| number::format(t, dialing).map_err(|e| e.to_string())).transpose()?;
    Ok((fax_id(args)?, to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gz() -> Dialing {
        Dialing { country: "86".into(), area: "20".into() }
    }

    #[test]
    fn a_send_with_a_url_and_an_inline_document_becomes_a_plan_and_only_one_document_is_scheduled() {
        let args = json!({"to": "87057352", "subject": "Quote", "recipient": "Li",
            "documents": [{"url": "https://files.example/q/quote.pdf?sig=1", "sha256": "AB".repeat(32)},
                          {"data": "aGVsbG8=", "filename": "note.txt"}],
            "schedule_at": "2026-11-24T02:00:00Z", "stamp": {"name": "seal", "x": 10, "y": 20, "pages": "1"}});
        let err = parse_send(&args, &gz(), 480, 1000).expect_err("two documents cannot be scheduled");
        assert!(err.contains("schedule_at") && err.contains("one document"), "{err}");
        let mut args = args;
        args["documents"].as_array_mut().expect("docs").truncate(1);
        let one = parse_send(&args, &gz(), 480, 1000).expect("one scheduled document");
        assert_eq!(one.opts.schedule_time.as_deref(), Some("20261124T100000"));
        args["documents"] = json!([{"url": "https://files.example/q/quote.pdf?sig=1", "sha256": "AB".repeat(32)},
                                   {"data": "aGVsbG8=", "filename": "note.txt"}]);
        args.as_object_mut().expect("args").remove("schedule_at");
        let plan = parse_send(&args, &gz(), 480, 1000).expect("plan");
        assert_eq!(plan.faxnum, "+86(20)87057352");
        assert_eq!(plan.documents[0].filename, "quote.pdf");
        assert_eq!(plan.documents[0].sha256.as_deref(), Some("ab".repeat(32).as_str()));
        assert_eq!(plan.documents[1].source, Source::Inline(b"hello".to_vec()));
        assert_eq!(plan.opts.stamp, Some(("seal".into(), 10, 20, "1".into())));
        assert!(plan.opts.convert && plan.opts.pattern.is_none() && plan.mail_count == 0);
    }

    #[test]
    fn mail_patterns_need_addresses_and_count_their_jobs() {
        let docs = json!([{"data": "eA==", "filename": "a.pdf"}]);
        let plan = parse_send(&json!({"pattern": "mail", "mail": "a@x.cn; b@y.cn", "documents": docs}), &gz(), 0, 99)
            .expect("mail only");
        assert_eq!((plan.faxnum.as_str(), plan.mail_count), ("", 2));
        assert_eq!(plan.opts.mail_address.as_deref(), Some("a@x.cn; b@y.cn"));
        let e = parse_send(&json!({"to": "+85222222222", "pattern": "fax-mail", "documents": docs}), &gz(), 0, 99);
        assert!(e.expect_err("no mail").contains("`mail`"));
    }

    #[test]
    fn bad_sends_are_refused_naming_the_argument() {
        let cases = [
            (json!({"documents": [{"data": "eA==", "filename": "a.pdf"}]}), "`to`"),
            (json!({"to": "12ab", "documents": [{"data": "eA==", "filename": "a.pdf"}]}), "fax number"),
            (json!({"to": "+85222222222", "documents": []}), "`documents`"),
            (json!({"to": "+85222222222", "documents": [{"data": "eA=="}]}), "`filename`"),
            (json!({"to": "+85222222222", "documents": [{"url": "ftp://x/a.pdf"}]}), "`url`"),
            (json!({"to": "+85222222222", "documents": [{"data": "***", "filename": "a.pdf"}]}), "base64"),
            (json!({"to": "+85222222222", "documents": [{"data": "eHh4eA==", "filename": "a.pdf"}]}), "larger"),
            (json!({"to": "+85222222222", "documents": [{"url": "http://h/a.pdf", "sha256": "12"}]}), "sha256"),
            (
                json!({"to": "+85222222222", "documents": [{"url": "http://h/a.pdf"}], "schedule_at": "soon"}),
                "schedule_at",
            ),
        ];
        for (args, needle) in cases {
            let e = parse_send(&args, &gz(), 0, 3).expect_err("refused");
            assert!(e.contains(needle), "{args} → {e}");
        }
    }

    #[test]
    fn resend_arguments_are_checked() {
        assert_eq!(
            parse_resend(&json!({"faxid": 17, "to": "+85222222222"}), &gz()),
            Ok(("17".into(), Some("+852 22222222".into())))
        );
        assert!(parse_resend(&json!({}), &gz()).is_err());
    }
}
