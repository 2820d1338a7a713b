//! The agent's configuration: one TOML file, parsed strictly.
//!
//! Every table denies unknown keys, so a typo fails at start with the key's name. Values
//! are checked by [`Config::validate`] after parsing, each error naming its key. Secrets
//! are [`Secret`]s: never printed, redacted in [`Config::redacted_json`].

mod callbacks;
mod callcenter;
mod files;
mod goip;
mod masked;
mod privacy;
mod qmsg;
mod secret;
pub mod trial;
mod tunnel;
mod update;
mod wavefax;

pub use callbacks::CallbacksConfig;
pub use callcenter::{CallcenterConfig, is_agent, is_customer, minor_version};
pub use goip::{CIPHERS, GoipAuth, GoipConfig};
pub use privacy::PrivacyConfig;
pub use qmsg::QmsgConfig;
pub use secret::{REDACTED, Secret};
pub use tunnel::{TunnelConfig, TunnelMode};
pub use update::UpdateConfig;
pub use wavefax::WavefaxConfig;

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// One instance's table of a connector (`[[goip]]`, `[[wavefax]]`): it validates itself
/// against the whole config and lists its secrets for the one redaction routine.
pub trait ConnectorConfig {
    fn name(&self) -> &str;
    fn validate(&self, config: &Config) -> Result<(), ConfigError>;
    /// The instance's secrets, by key (`password`).
    fn secrets(&mut self) -> Vec<(&'static str, &mut Secret)>;
}

/// A connector table: its name, its name key, whether this build has it, its instances.
type ConnectorTable<'a> = (&'static str, &'static str, bool, Vec<&'a dyn ConnectorConfig>);

/// A config that could not be used, with the key and the reason.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Parse(String),
    #[error("{key}: {reason}")]
    Invalid { key: &'static str, reason: String },
}

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key, reason: reason.into() }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub agent: AgentConfig,
    #[serde(default)]
    pub mqtt: MqttConfig,
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub http: HttpConfig,
    /// The vendor callback listener.
    #[serde(default)]
    pub callbacks: CallbacksConfig,
    /// The outbound tunnel to the callback listener.
    #[serde(default)]
    pub tunnel: TunnelConfig,
    /// Remote software updates.
    #[serde(default)]
    pub update: UpdateConfig,
    /// EJOIN/GoIP gateways, `[[goip]]` tables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goip: Vec<GoipConfig>,
    /// WaveFax fax servers, `[[wavefax]]` tables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wavefax: Vec<WavefaxConfig>,
    /// QMsg cloud SMS accounts, `[[qmsg]]` tables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub qmsg: Vec<QmsgConfig>,
    /// Privacy-number platform accounts, `[[privacy]]` tables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub privacy: Vec<PrivacyConfig>,
    /// Call-center OpenAPI accounts, `[[callcenter]]` tables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub callcenter: Vec<CallcenterConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// The agent's name: the second level of every topic, and `agent` in every event.
    pub id: String,
    #[serde(default = "default_log_level")]
    pub log_level: String,
    /// Recent log lines kept in memory for `agent.logs`, in bytes (0 = none).
    #[serde(default = "default_log_ring")]
    pub log_ring_bytes: usize,
    /// How long a config sent by `agent.config.set` has to reach the broker before it is
    /// rolled back (config/trial.rs).
    #[serde(default = "default_config_probation")]
    pub config_probation_secs: u64,
}

fn default_config_probation() -> u64 {
    120
}

fn default_log_ring() -> usize {
    256 * 1024
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MqttProtocol {
    V4,
    V5,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    pub host: String,
    pub port: u16,
    pub protocol: MqttProtocol,
    /// Empty means `telbridge-{agent.id}`.
    pub client_id: String,
    pub username: String,
    pub password: Secret,
    pub topic_prefix: String,
    pub keep_alive_secs: u64,
    /// false keeps the broker session, so commands sent while the agent is offline wait.
    pub clean_session: bool,
    /// Outbox events published and not yet acknowledged, at most.
    pub inflight: u16,
    pub reconnect_min_ms: u64,
    pub reconnect_max_ms: u64,
    /// Largest event payload accepted for relay, in bytes.
    pub max_payload_bytes: usize,
    /// Largest command accepted, in bytes (inline `fax.send` documents count). A larger one
    /// is answered `too_large`, never executed.
    pub max_command_bytes: usize,
    pub tls: TlsConfig,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    pub enabled: bool,
    /// PEM file of the CA(s) to trust; empty means the system's roots.
    pub ca_file: String,
    /// PEM client certificate chain and key, for mutual TLS.
    pub client_cert_file: String,
    pub client_key_file: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    Full,
    Normal,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    pub path: PathBuf,
    /// Bound on the outbox's content in bytes; see docs/store.md for the policy.
    pub max_bytes: u64,
    pub synchronous: Synchronous,
    /// Operations committed together in one transaction, at most.
    pub batch_max: usize,
    /// How long de-duplication keys are remembered.
    pub dedup_ttl_secs: u64,
    /// Disk space held in a file beside the store and given back when the disk fills, so
    /// deletes and checkpoints can still run (0: none).
    pub reserve_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub listen: String,
    pub max_body_bytes: usize,
    pub request_timeout_ms: u64,
    /// Bearer token for `POST /v1/events`; empty disables the route.
    pub ingest_token: Secret,
    /// Request bodies buffered at once, all requests together (beyond: 503 `busy`).
    pub max_buffered_bytes: usize,
    /// Connections served at once (more wait in the listen queue).
    pub max_connections: usize,
}

fn default_log_level() -> String {
    "info".to_string()
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            host: "127.0.0.1".into(),
            port: 1883,
            protocol: MqttProtocol::V4,
            client_id: String::new(),
            username: String::new(),
            password: Secret::default(),
            topic_prefix: "telbridge/v1".into(),
            keep_alive_secs: 30,
            clean_session: false,
            inflight: 64,
            reconnect_min_ms: 500,
            reconnect_max_ms: 60_000,
            max_payload_bytes: 256 * 1024,
            max_command_bytes: 1024 * 1024,
            tls: TlsConfig::default(),
        }
    }
}

impl MqttConfig {
    /// The largest MQTT packet the agent reads at first: an event-sized or a command-sized one.
    pub fn max_incoming_packet(&self) -> usize {
        self.max_payload_bytes.max(self.max_command_bytes) + 4096
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: PathBuf::from("data/telbridge.db"),
            max_bytes: 64 * 1024 * 1024,
            synchronous: Synchronous::Full,
            batch_max: 512,
            dedup_ttl_secs: 7 * 24 * 3600,
            reserve_bytes: 1024 * 1024,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "127.0.0.1:8080".into(),
            max_body_bytes: 1024 * 1024,
            request_timeout_ms: 10_000,
            ingest_token: Secret::default(),
            max_buffered_bytes: 8 * 1024 * 1024,
            max_connections: 64,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            agent: AgentConfig {
                id: "agent".into(),
                log_level: default_log_level(),
                log_ring_bytes: default_log_ring(),
                config_probation_secs: default_config_probation(),
            },
            mqtt: MqttConfig::default(),
            store: StoreConfig::default(),
            http: HttpConfig::default(),
            callbacks: CallbacksConfig::default(),
            tunnel: TunnelConfig::default(),
            update: UpdateConfig::default(),
            goip: Vec::new(),
            wavefax: Vec::new(),
            qmsg: Vec::new(),
            privacy: Vec::new(),
            callcenter: Vec::new(),
        }
    }
}

impl Config {
    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        let config = Config::parse(&text)?;
        // `***` is what `agent.config.get` shows in place of a secret: taken from a file it
        // would be a secret everyone knows (`agent.config.set` replaces it with the running
        // value before it writes the file).
        if let [first, ..] = config.placeholder_secrets().as_slice() {
            return Err(ConfigError::Parse(format!("{first}: `***` stands for a secret: write the secret itself")));
        }
        Ok(config)
    }

    /// Parses and validates config text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse(masked::parse_error(&e, text)))?;
        config.validate().map_err(|e| match e {
            ConfigError::Invalid { key, reason } => {
                ConfigError::Invalid { key, reason: masked::masked(reason, config.secret_values()) }
            }
            e => e,
        })?;
        Ok(config)
    }

    /// Checks every value that parsing alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !is_topic_segment(&self.agent.id) {
            return Err(invalid("agent.id", "must be 1-64 characters of A-Z a-z 0-9 . _ -"));
        }
        if !(1..=86_400).contains(&self.agent.config_probation_secs) {
            return Err(invalid("agent.config_probation_secs", "must be 1 - 86400"));
        }
        if log_level_filter(&self.agent.log_level).is_none() {
            return Err(invalid("agent.log_level", "must be one of off, error, warn, info, debug, trace"));
        }
        let m = &self.mqtt;
        if m.host.trim().is_empty() {
            return Err(invalid("mqtt.host", "must not be empty"));
        }
        if m.port == 0 {
            return Err(invalid("mqtt.port", "must be 1-65535"));
        }
        if m.topic_prefix.is_empty() || !m.topic_prefix.split('/').all(is_topic_segment) {
            return Err(invalid("mqtt.topic_prefix", "must be '/'-separated segments of A-Z a-z 0-9 . _ -"));
        }
        if !(1..=1000).contains(&m.inflight) {
            return Err(invalid("mqtt.inflight", "must be 1-1000"));
        }
        if m.keep_alive_secs < 5 || m.keep_alive_secs > 3600 {
            return Err(invalid("mqtt.keep_alive_secs", "must be 5-3600"));
        }
        if m.reconnect_min_ms == 0 || m.reconnect_min_ms > m.reconnect_max_ms {
            return Err(invalid("mqtt.reconnect_min_ms", "must be > 0 and <= mqtt.reconnect_max_ms"));
        }
        if m.max_payload_bytes < 1024 || m.max_payload_bytes > 16 * 1024 * 1024 {
            return Err(invalid("mqtt.max_payload_bytes", "must be 1 KiB - 16 MiB"));
        }
        if m.max_command_bytes < 1024 || m.max_command_bytes > 16 * 1024 * 1024 {
            return Err(invalid("mqtt.max_command_bytes", "must be 1 KiB - 16 MiB"));
        }
        if !m.password.is_empty() && m.username.is_empty() {
            return Err(invalid("mqtt.username", "must be set when mqtt.password is"));
        }
        let tls = &m.tls;
        if tls.client_cert_file.is_empty() != tls.client_key_file.is_empty() {
            return Err(invalid("mqtt.tls.client_key_file", "client_cert_file and client_key_file go together"));
        }
        for (key, file) in [
            ("mqtt.tls.ca_file", &tls.ca_file),
            ("mqtt.tls.client_cert_file", &tls.client_cert_file),
            ("mqtt.tls.client_key_file", &tls.client_key_file),
        ] {
            if tls.enabled && !file.is_empty() && !Path::new(file).is_file() {
                return Err(invalid(key, format!("{file} is not a readable file")));
            }
        }
        let s = &self.store;
        if s.path.as_os_str().is_empty() {
            return Err(invalid("store.path", "must not be empty"));
        }
        if s.max_bytes < 64 * 1024 {
            return Err(invalid("store.max_bytes", "must be at least 65536"));
        }
        if s.reserve_bytes > 64 * 1024 * 1024 {
            return Err(invalid("store.reserve_bytes", "must be at most 64 MiB"));
        }
        if !(1..=10_000).contains(&s.batch_max) {
            return Err(invalid("store.batch_max", "must be 1-10000"));
        }
        let h = &self.http;
        if h.listen.parse::<SocketAddr>().is_err() {
            return Err(invalid("http.listen", format!("{:?} is not an address:port", h.listen)));
        }
        if h.max_body_bytes < 1024 {
            return Err(invalid("http.max_body_bytes", "must be at least 1024"));
        }
        if h.request_timeout_ms < 100 {
            return Err(invalid("http.request_timeout_ms", "must be at least 100"));
        }
        if h.max_buffered_bytes < h.max_body_bytes || h.max_buffered_bytes > 1 << 30 {
            return Err(invalid("http.max_buffered_bytes", "must be at least http.max_body_bytes and at most 1 GiB"));
        }
        if !(1..=10_000).contains(&h.max_connections) {
            return Err(invalid("http.max_connections", "must be 1-10000"));
        }
        self.callbacks.validate()?;
        self.tunnel.validate()?;
        self.update.validate()?;
        let mut names = std::collections::HashSet::new();
        for (table, name_key, built, instances) in self.connector_tables() {
            if !instances.is_empty() && !built {
                return Err(ConfigError::Invalid {
                    key: table,
                    reason: format!("this telbridge was built without the {table} driver (cargo feature `{table}`)"),
                });
            }
            for c in instances {
                c.validate(self)?;
                if !names.insert((table, c.name().to_string())) {
                    return Err(invalid(name_key, format!("{:?} is used twice", c.name())));
                }
            }
        }
        Ok(())
    }

    /// Every connector table of the file: its name, whether this build has the connector,
    /// and its instances. A new connector adds its line here (and its field above).
    fn connector_tables(&self) -> Vec<ConnectorTable<'_>> {
        fn all<C: ConnectorConfig>(v: &[C]) -> Vec<&dyn ConnectorConfig> {
            v.iter().map(|c| c as &dyn ConnectorConfig).collect()
        }
        vec![
            ("goip", "goip.name", cfg!(feature = "goip"), all(&self.goip)),
            ("wavefax", "wavefax.name", cfg!(feature = "wavefax"), all(&self.wavefax)),
            ("qmsg", "qmsg.name", cfg!(feature = "qmsg"), all(&self.qmsg)),
            ("privacy", "privacy.name", cfg!(feature = "privacy"), all(&self.privacy)),
            ("callcenter", "callcenter.name", cfg!(feature = "callcenter"), all(&self.callcenter)),
        ]
    }

    /// Every secret of the config, named by where it is (`mqtt.password`,
    /// `goip.gw1.password`): what a config sent back with `***` inherits from the running one.
    fn secrets_mut(&mut self) -> Vec<(String, &mut Secret)> {
        fn named<'a, C: ConnectorConfig>(table: &str, list: &'a mut [C]) -> Vec<(String, &'a mut Secret)> {
            let mut all = Vec::new();
            for c in list {
                let name = c.name().to_string();
                all.extend(c.secrets().into_iter().map(|(key, s)| (format!("{table}.{name}.{key}"), s)));
            }
            all
        }
        let mut all = vec![
            ("mqtt.password".to_string(), &mut self.mqtt.password),
            ("http.ingest_token".to_string(), &mut self.http.ingest_token),
        ];
        all.extend(named("goip", &mut self.goip));
        all.extend(named("wavefax", &mut self.wavefax));
        all.extend(named("qmsg", &mut self.qmsg));
        all.extend(named("privacy", &mut self.privacy));
        all.extend(named("callcenter", &mut self.callcenter));
        all.extend(self.tunnel.env.iter_mut().map(|(name, s)| (format!("tunnel.env.{name}"), s)));
        all
    }

    /// The config as JSON with every secret redacted: for status replies and logs.
    pub fn redacted_json(&self) -> serde_json::Value {
        secret::redacting(|| serde_json::to_value(self).unwrap_or_default())
    }

    /// Replaces every `***` secret with the value the running config has at the same place,
    /// so a config read with `agent.config.get` can be edited and sent back.
    pub fn inherit_redacted_secrets(&mut self, current: &Config) {
        let mut current = current.clone();
        let old: std::collections::HashMap<String, Secret> =
            current.secrets_mut().into_iter().map(|(path, s)| (path, s.clone())).collect();
        for (path, secret) in self.secrets_mut() {
            if secret.is_placeholder()
                && let Some(value) = old.get(&path)
            {
                *secret = value.clone();
            }
        }
        self.tunnel.inherit_command_secrets(&current.tunnel);
    }

    /// Every secret value of the config (for the scrubber).
    pub fn secret_values(&self) -> Vec<String> {
        let mut copy = self.clone();
        let mut all: Vec<String> = copy.secrets_mut().into_iter().map(|(_, s)| s.expose().to_string()).collect();
        all.extend(self.tunnel.command_secrets());
        all.retain(|v| !v.is_empty());
        all
    }

    /// Where a secret is still the `***` placeholder (nothing was there to inherit).
    pub fn placeholder_secrets(&self) -> Vec<String> {
        let mut copy = self.clone();
        copy.secrets_mut().into_iter().filter(|(_, s)| s.is_placeholder()).map(|(path, _)| path).collect()
    }

    /// The file form of this config (secrets as literal or `env:NAME`).
    pub fn to_toml(&self) -> Result<String, ConfigError> {
        toml::to_string(self).map_err(|e| ConfigError::Parse(e.to_string()))
    }

    pub fn client_id(&self) -> String {
        if self.mqtt.client_id.is_empty() {
            format!("telbridge-{}", self.agent.id)
        } else {
            self.mqtt.client_id.clone()
        }
    }
}

/// One topic level as the agent writes it: no wildcards, no separators, no spaces.
pub fn is_topic_segment(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The `log` filter for a level name.
pub fn log_level_filter(name: &str) -> Option<log::LevelFilter> {
    name.parse().ok()
}

#[cfg(test)]
mod tests;
