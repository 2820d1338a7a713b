//! The cloud's answer to a relayed file, one shape for every connector that relays files
//! (`fax.file.ack`, `privacy.recording.ack`, `cc.recording.ack`): `{"file_id", "ok", "reason"}`.
//! `ok` is `true` (the default: the file arrived whole, the source may delete it) or `false`
//! (offered again); anything else is refused, so `"ok": "false"` or `0` never releases a file.

use serde_json::Value;

/// One acknowledgement's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub file_id: String,
    pub ok: bool,
    pub reason: String,
}

/// A command's string argument: absent or null is None, any other type an error.
pub(crate) fn text<'a>(args: &'a Value, key: &str) -> Result<Option<&'a str>, String> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(format!("`{key}` must be a string")),
    }
}

/// Reads an acknowledgement's arguments; the error says which one is wrong.
pub fn parse(args: &Value) -> Result<Ack, String> {
    let file_id = text(args, "file_id")?.filter(|s| !s.is_empty()).ok_or("`file_id` is required")?;
    let ok = match args.get("ok") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("`ok` must be true or false".into()),
    };
    Ok(Ack { file_id: file_id.to_string(), ok, reason: text(args, "reason")?.unwrap_or_default().to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_ack_is_read_strictly() {
        let ack = |file_id: &str, ok, reason: &str| Ack { file_id: file_id.into(), ok, reason: reason.into() };
        assert_eq!(parse(&json!({"file_id": "f1"})), Ok(ack("f1", true, "")));
        assert_eq!(
            parse(&json!({"file_id": "f1", "ok": false, "reason": "sha mismatch"})),
            Ok(ack("f1", false, "sha mismatch"))
        );
        for bad in [json!({"ok": true}), json!({"file_id": "f1", "ok": "false"}), json!({"file_id": "f1", "ok": 0})] {
            assert!(parse(&bad).is_err(), "{bad}");
        }
    }
}
