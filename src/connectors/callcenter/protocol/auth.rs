//! The digest that signs every request and notification (digest "Transport"):
//! `md5hex(customer + "@" + timestamp + "@" + seq + "@" + apikey)`, lower-case hex when
//! sending, compared case-insensitively when verifying.

use md5::{Digest, Md5};

/// The digest of a request or notification.
pub fn digest(customer: &str, timestamp: &str, seq: &str, apikey: &str) -> String {
    let sum = Md5::digest(format!("{customer}@{timestamp}@{seq}@{apikey}").as_bytes());
    crate::event::to_hex(&sum)
}

/// Whether `given` is the digest of these values (any letter case; constant time).
pub fn verify(given: &str, customer: &str, timestamp: &str, seq: &str, apikey: &str) -> bool {
    let expected = digest(customer, timestamp, seq, apikey);
    crate::http::ingest::constant_time_eq(given.to_ascii_lowercase().as_bytes(), expected.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_example_digest_is_lower_case_hex_and_verifies_in_either_case() {
        let d = digest("C2", "1471918933001", "5271", "E416D0F85DC0CB67C85E070A32D9F0123AFF4762");
        assert_eq!(d.len(), 32);
        assert!(d.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert!(verify(
            &d.to_ascii_uppercase(),
            "C2",
            "1471918933001",
            "5271",
            "E416D0F85DC0CB67C85E070A32D9F0123AFF4762"
        ));
        assert!(!verify(&d, "C2", "1471918933002", "5271", "E416D0F85DC0CB67C85E070A32D9F0123AFF4762"));
    }
}
