//! The release tools behind `telbridge keygen`, `sign` and `restamp` (docs/update.md).

use super::manifest::{self, Manifest};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::Path;

/// Writes a new PKCS#8 ed25519 key to `key` (mode 0600, never over an existing file); the
/// public key for `[update] public_keys`.
pub fn keygen(key: &Path) -> Result<String, String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let (doc, public) = manifest::keygen()?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(key)
        .map_err(|e| format!("{}: {e}", key.display()))?;
    f.write_all(&doc).map_err(|e| e.to_string())?;
    Ok(public)
}

/// The manifest of `file` as `version` for `target`, signed with `key`: JSON with
/// `manifest` (the exact string to send) and `signature`.
pub fn sign(key: &Path, file: &Path, version: &str, target: &str) -> Result<String, String> {
    let pkcs8 = std::fs::read(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let data = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let m = Manifest {
        name: "telbridge".into(),
        version: version.into(),
        target: target.into(),
        size: data.len() as u64,
        sha256: crate::event::to_hex(&Sha256::digest(&data)),
    };
    let text = serde_json::to_string(&m).map_err(|e| e.to_string())?;
    let signature = manifest::sign(&pkcs8, &text)?;
    Ok(json!({"manifest": text, "signature": signature}).to_string())
}

/// Writes a copy of this binary that reports `version` (and fails at start with `fail_start`).
pub fn restamp(out: &Path, version: &str, fail_start: bool) -> Result<String, String> {
    use std::os::unix::fs::PermissionsExt;
    let me = std::fs::read("/proc/self/exe").map_err(|e| format!("cannot read this binary: {e}"))?;
    let copy = crate::version::restamp(&me, version, fail_start)?;
    std::fs::write(out, copy).map_err(|e| format!("{}: {e}", out.display()))?;
    std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
    Ok(format!("{}: telbridge {version}{}", out.display(), if fail_start { " (fails at start)" } else { "" }))
}
