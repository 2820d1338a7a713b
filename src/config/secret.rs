//! A secret string (password, token) that never prints itself.
//!
//! In the config file a secret is either the literal value or `env:NAME`, which reads
//! the value from the environment variable `NAME` when the file is loaded. `Debug` and
//! the redacted config view print `***`; writing the config back keeps the `env:NAME`
//! form so a remote `agent.config.set` never copies an environment secret into the file.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// What `agent.config.get` shows instead of a secret, and what `agent.config.set`
/// accepts to mean "keep the current value".
pub const REDACTED: &str = "***";

/// A secret value and where it came from.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret {
    value: String,
    /// The environment variable it was read from, kept so the file keeps `env:NAME`.
    env: Option<String>,
}

impl Secret {
    /// A literal secret, as written in the file.
    pub fn new(value: impl Into<String>) -> Self {
        Secret { value: value.into(), env: None }
    }

    /// The secret itself; call only where it is sent to its peer.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// The value whose form a config check looks at: empty for the `***` placeholder (a
    /// config shown and sent back), which is checked once the running value replaced it.
    pub fn to_check(&self) -> &str {
        if self.is_placeholder() { "" } else { &self.value }
    }

    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    /// True when the config said `***`: "keep what is there now".
    pub fn is_placeholder(&self) -> bool {
        self.env.is_none() && self.value == REDACTED
    }

    /// The redacted form shown in status and `agent.config.get`.
    pub fn redacted(&self) -> String {
        match &self.env {
            Some(name) => format!("env:{name}"),
            None if self.value.is_empty() => String::new(),
            None => REDACTED.to_string(),
        }
    }

    /// Parses the file form: a literal, or `env:NAME` resolved now.
    pub fn from_file_form(text: &str) -> Result<Self, String> {
        match text.strip_prefix("env:") {
            Some(name) if !name.is_empty() => match std::env::var(name) {
                Ok(value) => Ok(Secret { value, env: Some(name.to_string()) }),
                Err(_) => Err(format!("environment variable {name} is not set")),
            },
            Some(_) => Err("`env:` must be followed by a variable name".to_string()),
            None => Ok(Secret::new(text)),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

thread_local! {
    /// Set while [`redacting`] runs: every secret then serializes redacted.
    static REDACTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` (a serialization) with every [`Secret`] serializing in its redacted form: the
/// one place secrets are hidden from status output, whatever struct holds them.
pub fn redacting<T>(f: impl FnOnce() -> T) -> T {
    /// Restores the flag however `f` ends (a panic included).
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            REDACTING.with(|r| r.set(self.0));
        }
    }
    let _restore = Restore(REDACTING.with(|r| r.replace(true)));
    f()
}

impl Serialize for Secret {
    /// Serializes the file form (literal or `env:NAME`), or the redacted form inside
    /// [`redacting`].
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if REDACTING.with(|r| r.get()) {
            return s.serialize_str(&self.redacted());
        }
        match &self.env {
            Some(name) => s.serialize_str(&format!("env:{name}")),
            None => s.serialize_str(&self.value),
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Secret::from_file_form(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(s.redacted(), "***");
    }

    #[test]
    fn env_form_reads_the_variable_and_keeps_its_name() {
        // SAFETY-free: tests in this module use a unique variable name.
        let name = "TELBRIDGE_TEST_SECRET_ENV_FORM";
        assert!(Secret::from_file_form(&format!("env:{name}")).is_err());
        // set_var is unsafe in edition 2024 and the crate forbids unsafe code, so read
        // a variable every environment has instead.
        let s = Secret::from_file_form("env:PATH").expect("PATH is set");
        assert_eq!(s.expose(), std::env::var("PATH").expect("PATH"));
        assert_eq!(s.redacted(), "env:PATH");
        assert_eq!(toml::Value::try_from(&s).expect("ser").as_str(), Some("env:PATH"));
    }
}
