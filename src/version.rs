//! The version this binary reports (`--version`, `agent.started`, `agent.status`, the
//! update checks): `CARGO_PKG_VERSION`, kept in a stamp inside the binary so that
//! `telbridge restamp` can write a copy reporting another version — how a fleet operator
//! (and the update tests) rehearse an update, and, with `--fail-start`, a rollback, on a
//! test box without building twice.

/// Marks the stamp in the file.
const MAGIC: &[u8; 8] = b"TBSTAMP1";
const LEN: usize = 48;
/// The version's bytes (NUL-padded) and the start flag.
const VERSION_AT: usize = 8;
const VERSION_MAX: usize = 32;
const FLAG_AT: usize = 40;
/// `X`: `run` exits at once (a canary that must be rolled back).
const FAIL_START: u8 = b'X';

const fn stamp() -> [u8; LEN] {
    let mut out = [0u8; LEN];
    let mut i = 0;
    while i < MAGIC.len() {
        out[i] = MAGIC[i];
        i += 1;
    }
    let v = env!("CARGO_PKG_VERSION").as_bytes();
    let mut j = 0;
    while j < v.len() && j < VERSION_MAX {
        out[VERSION_AT + j] = v[j];
        j += 1;
    }
    out[FLAG_AT] = b'-';
    out
}

static STAMP: [u8; LEN] = stamp();

fn slot() -> [u8; LEN] {
    // Read as data at run time: a restamped copy must report its own bytes.
    *std::hint::black_box(&STAMP)
}

/// This binary's version.
pub fn version() -> String {
    let s = slot();
    let v = &s[VERSION_AT..VERSION_AT + VERSION_MAX];
    let end = v.iter().position(|b| *b == 0).unwrap_or(VERSION_MAX);
    String::from_utf8_lossy(&v[..end]).into_owned()
}

/// The copy was stamped to fail at start (`restamp --fail-start`).
pub fn fails_start() -> bool {
    slot()[FLAG_AT] == FAIL_START
}

/// This binary's bytes with the stamp changed to `version` (and the start flag).
pub fn restamp(binary: &[u8], version: &str, fail_start: bool) -> Result<Vec<u8>, String> {
    if version.is_empty() || version.len() > VERSION_MAX || !version.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!("version {version:?}: 1-{VERSION_MAX} printable characters"));
    }
    let current = slot();
    let at = binary
        .windows(LEN)
        .position(|w| w == current)
        .ok_or("the binary carries no stamp like this one's (another build?)")?;
    let mut out = binary.to_vec();
    let s = &mut out[at..at + LEN];
    s[VERSION_AT..VERSION_AT + VERSION_MAX].fill(0);
    s[VERSION_AT..VERSION_AT + version.len()].copy_from_slice(version.as_bytes());
    s[FLAG_AT] = if fail_start { FAIL_START } else { b'-' };
    Ok(out)
}

/// `major.minor.patch[-pre]` as numbers for ordering (missing parts 0; a pre-release
/// sorts before its release).
pub fn order(v: &str) -> Option<(u64, u64, u64, bool)> {
    let (core, pre) = match v.split_once('-') {
        Some((c, _)) => (c, true),
        None => (v, false),
    };
    let mut parts = core.split('.').map(|p| p.parse::<u64>());
    let a = parts.next()?.ok()?;
    let b = parts.next().unwrap_or(Ok(0)).ok()?;
    let c = parts.next().unwrap_or(Ok(0)).ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some((a, b, c, !pre))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restamped_copy_reports_its_version_and_the_original_is_untouched() {
        let mut fake = b"head".to_vec();
        fake.extend_from_slice(&slot());
        fake.extend_from_slice(b"tail");
        let copy = restamp(&fake, "9.8.7", true).expect("restamp");
        assert_eq!(copy.len(), fake.len());
        let at = copy.windows(8).position(|w| w == MAGIC).expect("magic");
        assert_eq!(&copy[at + VERSION_AT..at + VERSION_AT + 5], b"9.8.7");
        assert_eq!(copy[at + FLAG_AT], FAIL_START);
        assert_eq!(version(), env!("CARGO_PKG_VERSION"));
        assert!(!fails_start());
        assert!(restamp(b"no stamp here", "1.0.0", false).is_err());
    }

    #[test]
    fn versions_order_by_number_and_a_pre_release_comes_first() {
        assert!(order("0.10.0") > order("0.9.9"));
        assert!(order("1.0.0-rc1") < order("1.0.0"));
        assert_eq!(order("1.2"), Some((1, 2, 0, true)));
        assert_eq!(order("x"), None);
    }
}
