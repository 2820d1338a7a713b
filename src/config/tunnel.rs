//! `[tunnel]`: the outbound tunnel that gives the callback listener (and nothing else) a
//! public address: none, the built-in SSH remote forward, or a supervised external client.

use super::secret::{REDACTED, Secret};
use super::{ConfigError, invalid};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TunnelMode {
    #[default]
    None,
    /// The agent is an SSH client asking an OpenSSH server for a remote forward.
    Ssh,
    /// The agent runs and supervises `command` (frpc, ssh -R, cloudflared, …).
    Command,
}

impl TunnelMode {
    pub fn name(self) -> &'static str {
        match self {
            TunnelMode::None => "none",
            TunnelMode::Ssh => "ssh",
            TunnelMode::Command => "command",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TunnelConfig {
    pub mode: TunnelMode,
    /// The public side as the vendors reach it (`https://tunnel.example.com:20001`): the
    /// probe requests `{public_url}/_probe/{nonce}` there.
    pub public_url: String,
    /// How often the tunnel is probed end to end (0 = never: up when the transport is).
    pub probe_secs: u64,
    pub probe_timeout_ms: u64,
    /// Back-off between reconnects / restarts, doubling with jitter.
    pub reconnect_min_ms: u64,
    pub reconnect_max_ms: u64,
    /// ssh: `host:port` of the OpenSSH server.
    pub server: String,
    pub user: String,
    /// ssh: the private key (ed25519; mode 0600 or stricter, refused otherwise).
    pub key_file: String,
    /// ssh: the server's host key, pinned: `SHA256:…` (as `ssh-keygen -lf` prints it), an
    /// OpenSSH public key line, or a `known_hosts` line.
    pub host_key: String,
    /// ssh: the address and port the server listens on for this agent (`tcpip-forward`).
    pub remote_bind: String,
    pub remote_port: u16,
    /// ssh: a keepalive after this long without traffic; the path is dead after
    /// `keepalive_max` unanswered ones.
    pub keepalive_secs: u64,
    pub keepalive_max: usize,
    /// command: the program and its arguments (no shell). An argument after a flag that
    /// names a secret (`--token`, `--secret`, `--password`…, or `--token=…`) is scrubbed
    /// like a secret; better, give it through `env`.
    pub command: Vec<String>,
    /// command: variables added to its environment (cloudflared's `TUNNEL_TOKEN`, bore's
    /// `BORE_SECRET`), each a secret: redacted, scrubbed, `env:NAME` allowed.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, Secret>,
    /// command: after SIGTERM, how long before SIGKILL.
    pub stop_timeout_ms: u64,
}

impl Default for TunnelConfig {
    fn default() -> Self {
        TunnelConfig {
            mode: TunnelMode::None,
            public_url: String::new(),
            probe_secs: 60,
            probe_timeout_ms: 10_000,
            reconnect_min_ms: 1_000,
            reconnect_max_ms: 60_000,
            server: String::new(),
            user: String::new(),
            key_file: String::new(),
            host_key: String::new(),
            remote_bind: "127.0.0.1".into(),
            remote_port: 0,
            keepalive_secs: 15,
            keepalive_max: 3,
            command: Vec::new(),
            env: BTreeMap::new(),
            stop_timeout_ms: 5_000,
        }
    }
}

/// Whether a command-line flag names a secret, so that the argument after it (or after its
/// `=`) is one.
fn names_secret(flag: &str) -> bool {
    let name = flag.trim_start_matches('-').to_ascii_lowercase();
    flag.starts_with('-') && ["token", "secret", "password", "passwd"].iter().any(|w| name.contains(w))
}

impl TunnelConfig {
    /// The command's arguments that are secrets (see `command`).
    pub fn command_secrets(&self) -> Vec<String> {
        let mut found = Vec::new();
        for (i, arg) in self.command.iter().enumerate().skip(1) {
            match arg.split_once('=') {
                Some((flag, value)) if names_secret(flag) => found.push(value.to_string()),
                None if names_secret(arg) => found.extend(self.command.get(i + 1).cloned()),
                _ => {}
            }
        }
        found
    }

    /// The command's secret arguments come back scrubbed from `agent.config.get` (`***`,
    /// `--token=***`): they keep `current`'s at the same place.
    pub fn inherit_command_secrets(&mut self, current: &TunnelConfig) {
        if self.command.len() != current.command.len() {
            return;
        }
        for (new, old) in self.command.iter_mut().zip(&current.command) {
            let masked = match old.split_once('=') {
                Some((flag, _)) => format!("{flag}={REDACTED}"),
                None => REDACTED.to_string(),
            };
            if *new == REDACTED || (*new == masked && old.contains('=')) {
                new.clone_from(old);
            }
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.mode == TunnelMode::None {
            return Ok(());
        }
        if self.probe_secs != 0 {
            crate::http::client::Url::parse(&self.public_url)
                .map_err(|e| invalid("tunnel.public_url", format!("{e} (or probe_secs = 0)")))?;
        }
        if self.probe_secs != 0 && self.probe_secs < 5 {
            return Err(invalid("tunnel.probe_secs", "0 (never) or at least 5"));
        }
        if self.probe_timeout_ms < 100 || self.reconnect_min_ms < 100 || self.reconnect_max_ms < self.reconnect_min_ms {
            return Err(invalid(
                "tunnel.reconnect_min_ms",
                "probe_timeout_ms and reconnect_min_ms at least 100, reconnect_max_ms at least reconnect_min_ms",
            ));
        }
        match self.mode {
            TunnelMode::Ssh => {
                if !cfg!(feature = "tunnel-ssh") {
                    return Err(invalid(
                        "tunnel.mode",
                        "this telbridge was built without the ssh tunnel (cargo feature `tunnel-ssh`)",
                    ));
                }
                if self.server.rsplit_once(':').is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err()) {
                    return Err(invalid("tunnel.server", format!("{:?} is not host:port", self.server)));
                }
                for (key, v) in [
                    ("tunnel.user", &self.user),
                    ("tunnel.key_file", &self.key_file),
                    ("tunnel.host_key", &self.host_key),
                ] {
                    if v.trim().is_empty() {
                        return Err(invalid(key, "required with mode = \"ssh\""));
                    }
                }
                if self.remote_port == 0 {
                    return Err(invalid(
                        "tunnel.remote_port",
                        "required with mode = \"ssh\" (the port the server forwards)",
                    ));
                }
                if self.keepalive_secs == 0 || self.keepalive_max == 0 {
                    return Err(invalid(
                        "tunnel.keepalive_secs",
                        "keepalive_secs and keepalive_max must be at least 1",
                    ));
                }
            }
            TunnelMode::Command => {
                if self.command.first().is_none_or(|p| p.trim().is_empty()) {
                    return Err(invalid("tunnel.command", "required with mode = \"command\": [program, args…]"));
                }
            }
            TunnelMode::None => {}
        }
        Ok(())
    }
}
