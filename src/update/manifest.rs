//! What an update command carries, checked before anything is downloaded: the manifest
//! (JSON, signed as the exact bytes sent) names the version, the target, the size and the
//! SHA-256 of the file; the signature is ed25519 (ring) by one of `[update] public_keys`.
//! Signing the manifest — not only the file — is what stops an old signed binary from being
//! replayed: its manifest says its (older) version. Pure: no I/O.

use base64::Engine;
use ring::signature::{ED25519, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

/// The signed description of a release file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    /// The build it is for ([`target`]: `x86_64-linux-gnu`, `mipsel-linux-musl`, …).
    pub target: String,
    pub size: u64,
    /// Lower-case hex.
    pub sha256: String,
}

/// Why an update was refused before anything changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("updates are disabled: no [update] public_keys configured")]
    Disabled,
    #[error("the signature is missing or not base64")]
    NoSignature,
    #[error("the signature does not verify with any trusted key (untrusted key, or a changed manifest)")]
    BadSignature,
    #[error("the manifest does not read: {0}")]
    BadManifest(String),
    #[error("the manifest is for {0}, this agent is {1}")]
    WrongTarget(String, String),
    #[error("version {0} is already running")]
    SameVersion(String),
    #[error("version {0} is older than the running {1} (allow_downgrade: true to install it anyway)")]
    Downgrade(String, String),
    #[error("the file is larger than [update] max_bytes ({0} > {1})")]
    TooLarge(u64, u64),
}

/// A trusted key: base64 of the 32-byte ed25519 public key (an optional `ed25519:` prefix).
pub fn parse_key(s: &str) -> Result<Vec<u8>, String> {
    let b = s.trim().strip_prefix("ed25519:").unwrap_or(s.trim());
    let raw = base64::engine::general_purpose::STANDARD.decode(b).map_err(|e| format!("{s:?}: {e}"))?;
    if raw.len() != 32 {
        return Err(format!("{s:?}: an ed25519 public key is 32 bytes, not {}", raw.len()));
    }
    Ok(raw)
}

/// Checks the signature and the manifest against this agent; the manifest when it passes.
pub fn check(
    manifest: &str,
    signature: &str,
    keys: &[Vec<u8>],
    running: &str,
    allow_downgrade: bool,
    max_bytes: u64,
) -> Result<Manifest, Refused> {
    if keys.is_empty() {
        return Err(Refused::Disabled);
    }
    let sig = base64::engine::general_purpose::STANDARD.decode(signature.trim()).map_err(|_| Refused::NoSignature)?;
    if sig.is_empty() {
        return Err(Refused::NoSignature);
    }
    if !keys.iter().any(|k| UnparsedPublicKey::new(&ED25519, k).verify(manifest.as_bytes(), &sig).is_ok()) {
        return Err(Refused::BadSignature);
    }
    let m: Manifest = serde_json::from_str(manifest).map_err(|e| Refused::BadManifest(e.to_string()))?;
    let hex_ok = m.sha256.len() == 64 && m.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if m.name != "telbridge" || !hex_ok || crate::version::order(&m.version).is_none() {
        return Err(Refused::BadManifest("name must be telbridge, sha256 64 lower-case hex, version x.y.z".into()));
    }
    if m.target != target() {
        return Err(Refused::WrongTarget(m.target, target()));
    }
    let (new, old) = (crate::version::order(&m.version), crate::version::order(running));
    if m.version == running || new == old {
        return Err(Refused::SameVersion(m.version));
    }
    if new < old && !allow_downgrade {
        return Err(Refused::Downgrade(m.version, running.to_string()));
    }
    if m.size > max_bytes {
        return Err(Refused::TooLarge(m.size, max_bytes));
    }
    Ok(m)
}

/// This build's target name.
pub fn target() -> String {
    let arch = std::env::consts::ARCH;
    let arch = match (arch, cfg!(target_endian = "little")) {
        ("mips" | "mips64", true) => format!("{arch}el"),
        _ => arch.to_string(),
    };
    let env = if cfg!(target_env = "musl") {
        "musl"
    } else if cfg!(target_env = "gnu") {
        "gnu"
    } else {
        "other"
    };
    format!("{arch}-{}-{env}", std::env::consts::OS)
}

/// The ELF identity of a binary: class, byte order and machine (`e_ident[4..6]`, `e_machine`).
pub fn elf_identity(head: &[u8]) -> Option<(u8, u8, u16)> {
    if head.len() < 20 || &head[..4] != b"\x7fELF" {
        return None;
    }
    let (class, data) = (head[4], head[5]);
    let machine = match data {
        1 => u16::from_le_bytes([head[18], head[19]]),
        2 => u16::from_be_bytes([head[18], head[19]]),
        _ => return None,
    };
    Some((class, data, machine))
}

/// Signs `manifest` with a PKCS#8 ed25519 key (`telbridge sign`): base64 of the signature.
pub fn sign(pkcs8: &[u8], manifest: &str) -> Result<String, String> {
    let pair =
        ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|e| format!("not an ed25519 PKCS#8 key: {e}"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(pair.sign(manifest.as_bytes()).as_ref()))
}

/// A new key pair: (PKCS#8 document, base64 public key).
pub fn keygen() -> Result<(Vec<u8>, String), String> {
    use ring::signature::KeyPair;
    let rng = ring::rand::SystemRandom::new();
    let doc = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).map_err(|e| e.to_string())?;
    let pair = ring::signature::Ed25519KeyPair::from_pkcs8(doc.as_ref()).map_err(|e| e.to_string())?;
    Ok((doc.as_ref().to_vec(), base64::engine::general_purpose::STANDARD.encode(pair.public_key().as_ref())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(version: &str, target: &str) -> String {
        serde_json::to_string(&Manifest {
            name: "telbridge".into(),
            version: version.into(),
            target: target.into(),
            size: 10,
            sha256: "a".repeat(64),
        })
        .expect("json")
    }

    #[test]
    fn only_a_manifest_signed_by_a_trusted_key_for_this_target_and_a_newer_version_passes() {
        let (doc, public) = keygen().expect("key");
        let (other_doc, _) = keygen().expect("other key");
        let keys = vec![parse_key(&public).expect("public")];
        let m = manifest("9.0.0", &target());
        let sig = sign(&doc, &m).expect("sign");
        assert_eq!(check(&m, &sig, &keys, "0.1.0", false, 100).map(|m| m.version), Ok("9.0.0".into()));
        assert_eq!(check(&m, &sig, &[], "0.1.0", false, 100), Err(Refused::Disabled));
        let untrusted = sign(&other_doc, &m).expect("sign");
        assert_eq!(check(&m, &untrusted, &keys, "0.1.0", false, 100), Err(Refused::BadSignature));
        let changed = m.replace("9.0.0", "9.0.1");
        assert_eq!(check(&changed, &sig, &keys, "0.1.0", false, 100), Err(Refused::BadSignature));
        assert_eq!(check(&m, "", &keys, "0.1.0", false, 100), Err(Refused::NoSignature));
        let arm = manifest("9.0.0", "arm-linux-musl");
        let arm_sig = sign(&doc, &arm).expect("sign");
        assert!(matches!(check(&arm, &arm_sig, &keys, "0.1.0", false, 100), Err(Refused::WrongTarget(..))));
        // A replayed older signed release.
        assert!(matches!(check(&m, &sig, &keys, "9.1.0", false, 100), Err(Refused::Downgrade(..))));
        assert!(check(&m, &sig, &keys, "9.1.0", true, 100).is_ok());
        assert!(matches!(check(&m, &sig, &keys, "9.0.0", false, 100), Err(Refused::SameVersion(_))));
        assert!(matches!(check(&m, &sig, &keys, "0.1.0", false, 5), Err(Refused::TooLarge(10, 5))));
    }

    #[test]
    fn the_elf_identity_is_read_from_the_header() {
        let exe = std::fs::read("/proc/self/exe").expect("exe");
        let (class, data, _) = elf_identity(&exe[..64]).expect("elf");
        assert_eq!(class, if cfg!(target_pointer_width = "64") { 2 } else { 1 });
        assert_eq!(data, if cfg!(target_endian = "little") { 1 } else { 2 });
        assert_eq!(elf_identity(b"#!/bin/sh\necho hi\n and more"), None);
    }
}
