//! The `Keytime` authorization (seed §2.1): "Authorization: Keytime 开发者 ID,毫秒单位的时间戳,
//! 生成的签名" with "sha256(开发者认证 key+时间戳).substring(24,40)", lower-case hex; the
//! platform refuses a timestamp more than three minutes old ("时间戳需要保证为三分钟内的时间戳").

use sha2::{Digest, Sha256};

/// Characters 24..40 of the lower-case hex SHA-256 of `authkey` followed by `ts_ms`.
pub fn signature(authkey: &str, ts_ms: u64) -> String {
    let digest = Sha256::digest(format!("{authkey}{ts_ms}"));
    let hex = crate::event::to_hex(&digest);
    hex[24..40].to_string()
}

/// The `Authorization` header's value at `ts_ms`.
pub fn header(devid: &str, authkey: &str, ts_ms: u64) -> String {
    format!("Keytime {devid},{ts_ms},{}", signature(authkey, ts_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_sixteen_hex_characters_from_the_middle_of_the_digest() {
        // python3 -c "import hashlib; print(hashlib.sha256(b'key11622020210513').hexdigest()[24:40])"
        assert_eq!(signature("key1", 1_622_020_210_513), "87a031df0dff3659");
        assert_eq!(header("10000000", "key1", 1_622_020_210_513), "Keytime 10000000,1622020210513,87a031df0dff3659");
    }

    #[test]
    fn our_header_has_the_shape_of_the_seeds_example() {
        // Seed §2.1: "Authorization: Keytime 10000000,1622020210513,afc1b805b6d7fb21" (its key
        // is not given, so only the shape can be compared).
        let shape = |h: &str| -> Option<(usize, usize, usize)> {
            let (devid, ts, sig) = match h.strip_prefix("Keytime ")?.split(',').collect::<Vec<_>>()[..] {
                [a, b, c] => (a, b, c),
                _ => return None,
            };
            let hex = sig.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            (ts.parse::<u64>().is_ok() && hex).then_some((devid.len(), ts.len(), sig.len()))
        };
        let seed = shape("Keytime 10000000,1622020210513,afc1b805b6d7fb21").expect("the seed's shape");
        assert_eq!(shape(&header("10000000", "any key", 1_622_020_210_513)), Some(seed));
    }
}
