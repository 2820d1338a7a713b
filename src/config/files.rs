//! The keys of a connector's file relay (received faxes, call recordings), checked once.

use super::{ConfigError, invalid};

/// The config table's names for the file relay's keys.
pub struct FileKeys {
    pub chunk_bytes: &'static str,
    pub max_file_bytes: &'static str,
    pub spool_max_bytes: &'static str,
    pub upload_url: &'static str,
    pub tls_ca_file: &'static str,
}

/// The file relay's values of one instance.
pub struct FileValues<'a> {
    pub chunk_bytes: usize,
    pub max_file_bytes: usize,
    pub spool_max_bytes: u64,
    pub upload_url: &'a str,
    pub tls_ca_file: &'a str,
}

/// Checks the file relay keys of a connector table that names them like every
/// file-relaying table does: `check_files!(self, "privacy", name, config)`.
macro_rules! check_files {
    ($cfg:expr, $table:literal, $name:expr, $config:expr) => {
        $crate::config::files::check(
            &$crate::config::files::FileKeys {
                chunk_bytes: concat!($table, ".chunk_bytes"),
                max_file_bytes: concat!($table, ".max_file_bytes"),
                spool_max_bytes: concat!($table, ".spool_max_bytes"),
                upload_url: concat!($table, ".upload_url"),
                tls_ca_file: concat!($table, ".tls_ca_file"),
            },
            $name,
            &$crate::config::files::FileValues {
                chunk_bytes: $cfg.chunk_bytes,
                max_file_bytes: $cfg.max_file_bytes,
                spool_max_bytes: $cfg.spool_max_bytes,
                upload_url: &$cfg.upload_url,
                tls_ca_file: &$cfg.tls_ca_file,
            },
            $config.mqtt.max_payload_bytes,
            $config.store.max_bytes,
        )
    };
}
pub(crate) use check_files;

/// The defaults every file relay shares (serde `default = "…"` paths point here).
pub fn default_chunk() -> usize {
    96 * 1024
}
pub fn default_spool() -> u64 {
    32 * 1024 * 1024
}
pub fn default_max_file() -> usize {
    10 * 1024 * 1024
}
pub fn default_reoffer() -> u64 {
    3600
}

/// Envelope and base64 overhead of one chunk event beyond 4/3 of its bytes.
pub const CHUNK_ENVELOPE_BYTES: usize = 1024;

/// Checks instance `n`'s file relay: chunks fit an MQTT payload (`max_payload`) once
/// base64-encoded, a file fits the spool, and with MQTT delivery a file's chunks fit half
/// the outbox (`store_max`), or it could never be queued.
pub fn check(k: &FileKeys, n: &str, v: &FileValues<'_>, max_payload: usize, store_max: u64) -> Result<(), ConfigError> {
    if !(4096..=1024 * 1024).contains(&v.chunk_bytes) {
        return Err(invalid(k.chunk_bytes, format!("{n}: must be 4096-1048576")));
    }
    if v.chunk_bytes.div_ceil(3) * 4 + CHUNK_ENVELOPE_BYTES > max_payload {
        return Err(invalid(
            k.chunk_bytes,
            format!(
                "{n}: a chunk of {} bytes does not fit mqtt.max_payload_bytes ({max_payload}) once base64-encoded",
                v.chunk_bytes
            ),
        ));
    }
    if v.max_file_bytes < 1024 {
        return Err(invalid(k.max_file_bytes, format!("{n}: must be at least 1024")));
    }
    if v.spool_max_bytes < v.max_file_bytes as u64 {
        return Err(invalid(k.spool_max_bytes, format!("{n}: must be at least max_file_bytes")));
    }
    if !v.upload_url.is_empty() {
        crate::http::client::Url::parse(v.upload_url).map_err(|e| invalid(k.upload_url, format!("{n}: {e}")))?;
    }
    if !v.tls_ca_file.is_empty() && !std::path::Path::new(v.tls_ca_file).is_file() {
        return Err(invalid(k.tls_ca_file, format!("{n}: {} is not a readable file", v.tls_ca_file)));
    }
    let chunked = (v.max_file_bytes as u64).div_ceil(3) * 4 * 11 / 10;
    if v.upload_url.is_empty() && chunked > store_max / 2 {
        return Err(invalid(
            k.max_file_bytes,
            format!("{n}: a file this large needs store.max_bytes of at least {}", chunked * 2),
        ));
    }
    Ok(())
}
