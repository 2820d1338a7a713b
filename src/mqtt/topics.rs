//! The topic scheme (version 1), pure. See docs/mqtt.md for every message.
//!
//! ```text
//! {prefix}/{agent}/status                 retained online/offline (+ last will)
//! {prefix}/{agent}/evt/{source}/{type}    events, QoS 1, from the outbox in order
//! {prefix}/{agent}/cmd/{target}           commands from the cloud, QoS 1
//! {prefix}/{agent}/res/{cmd-id}           exactly one result per command, QoS 1
//! ```
//! `prefix` defaults to `telbridge/v1`; the `v1` is the scheme's version.

use crate::config::is_topic_segment;

/// Topic names for one agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    base: String,
}

impl Topics {
    pub fn new(prefix: &str, agent: &str) -> Self {
        Topics { base: format!("{prefix}/{agent}") }
    }

    /// The full topic of an outbox row's stored suffix (`evt/…` or `res/…`).
    pub fn full(&self, suffix: &str) -> String {
        // Every relayed row's: without the formatting machinery.
        [&self.base, "/", suffix].concat()
    }

    pub fn status(&self) -> String {
        format!("{}/status", self.base)
    }

    /// The subscription filter for every command.
    pub fn commands_filter(&self) -> String {
        format!("{}/cmd/#", self.base)
    }

    /// The target of a command topic (`agent`, `goip/gw1`…), or None if it is not one.
    pub fn command_target<'a>(&self, topic: &'a str) -> Option<&'a str> {
        let rest = topic.strip_prefix(&self.base)?.strip_prefix("/cmd/")?;
        is_source(rest).then_some(rest)
    }
}

/// The stored suffix of a command result.
pub fn result_suffix(cmd_id: &str) -> String {
    format!("res/{cmd_id}")
}

/// An event source: one to four topic levels, e.g. `goip/gw1`.
pub fn is_source(s: &str) -> bool {
    let n = s.split('/').count();
    (1..=4).contains(&n) && s.split('/').all(is_topic_segment)
}

/// An event type: a dotted lower-case name, e.g. `sms.received`.
pub fn is_event_type(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'))
}

/// A command id usable as a topic level: 1-128 of A-Z a-z 0-9 . _ - :
pub fn is_command_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_follow_the_documented_scheme() {
        let t = Topics::new("telbridge/v1", "site-01");
        assert_eq!(t.full("evt/goip/gw1/sms.received"), "telbridge/v1/site-01/evt/goip/gw1/sms.received");
        assert_eq!(t.status(), "telbridge/v1/site-01/status");
        assert_eq!(t.commands_filter(), "telbridge/v1/site-01/cmd/#");
        assert_eq!(t.full(&result_suffix("c-1")), "telbridge/v1/site-01/res/c-1");
    }

    #[test]
    fn command_targets_are_read_from_command_topics_only() {
        let t = Topics::new("p", "a");
        assert_eq!(t.command_target("p/a/cmd/agent"), Some("agent"));
        assert_eq!(t.command_target("p/a/cmd/goip/gw1"), Some("goip/gw1"));
        assert_eq!(t.command_target("p/a/cmd/"), None);
        assert_eq!(t.command_target("p/b/cmd/agent"), None);
        assert_eq!(t.command_target("p/a/evt/agent"), None);
    }

    #[test]
    fn wildcards_and_empty_levels_are_not_sources() {
        assert!(is_source("goip/gw1"));
        assert!(!is_source("goip/+"));
        assert!(!is_source("goip//x"));
        assert!(!is_source("a/b/c/d/e"));
        assert!(is_event_type("sms.received"));
        assert!(!is_event_type("SMS"));
        assert!(!is_command_id("a/b"));
    }
}
