//! What an invalid config's error may show: its place and the parser's or the check's
//! message, never a value of the file. A config comes from `agent.config.set` too, and its
//! error goes into the command's result and the log, where the scrubber only knows the
//! running config's secrets: a new secret under a misspelt key, or of the wrong type, would
//! be echoed otherwise.

/// A parse error by its place and toml's message, without the line of the file toml quotes
/// and with every value of the file masked: a new secret under a misspelt key, or of the
/// wrong type, would be echoed otherwise into a command's result and the log (the scrubber
/// only knows the running config's secrets).
pub(super) fn parse_error(e: &toml::de::Error, text: &str) -> String {
    let place = e.span().and_then(|span| text.get(..span.start)).map(|before| {
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!("line {line}, column {column}: ")
    });
    let mut values = Vec::new();
    if let Ok(table) = text.parse::<toml::Table>() {
        leaf_values(&toml::Value::Table(table), &mut values);
    }
    format!("{}{}", place.unwrap_or_default(), masked(e.message().trim().to_string(), values))
}

/// Every string and number in `v`, as written.
fn leaf_values(v: &toml::Value, out: &mut Vec<String>) {
    match v {
        toml::Value::Table(t) => t.values().for_each(|v| leaf_values(v, out)),
        toml::Value::Array(a) => a.iter().for_each(|v| leaf_values(v, out)),
        toml::Value::String(s) => out.push(s.clone()),
        toml::Value::Integer(i) => out.push(i.to_string()),
        toml::Value::Float(f) => out.push(f.to_string()),
        _ => {}
    }
}

/// `text` with each of `values` (the longest first; those under 4 bytes would match
/// ordinary words) replaced by `***`.
pub(super) fn masked(mut text: String, mut values: Vec<String>) -> String {
    values.retain(|v| v.len() >= crate::scrub::MIN_LEN);
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    for v in values {
        text = text.replace(&v, super::secret::REDACTED);
    }
    text
}
