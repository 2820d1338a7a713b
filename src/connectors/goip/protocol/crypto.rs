//! The GoIP secure session (spec section 1b), pure: the auth hashes, the body key, and
//! the three body ciphers. Checked against independent vectors in
//! `tests/vectors/goip_crypto.json` (made by `tests/vectors/make_goip_vectors.py`).
//!
//! - `crypt_sess.json` auth: `md5hex(U + P + cnonce + path)`.
//! - request auth: `md5hex(U + P + session + path + seq)`; some firmware hashes
//!   `… + seq + path` instead ([`AuthOrder`]), detected per device.
//! - body key: `md5hex(U + P + auth + session + seq)`, its 32 lower-case hex characters used
//!   as the key bytes: AES-256-ECB (zero padding, a full zero block when already aligned),
//!   RC4 with a 32-byte key, or XOR repeating the key. The encrypted body is sent raw.

use aes::Aes256;
use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use md5::{Digest, Md5};
use rc4::{Rc4, StreamCipher};

/// The body cipher a session was opened with (`crypt=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    None,
    Xor,
    Rc4,
    AesEcb,
}

impl Cipher {
    /// The `crypt` parameter's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Cipher::None => "none",
            Cipher::Xor => "xor",
            Cipher::Rc4 => "rc4",
            Cipher::AesEcb => "aes-ecb",
        }
    }

    pub fn parse(s: &str) -> Option<Cipher> {
        match s {
            "none" => Some(Cipher::None),
            "xor" => Some(Cipher::Xor),
            "rc4" => Some(Cipher::Rc4),
            "aes-ecb" => Some(Cipher::AesEcb),
            _ => None,
        }
    }
}

/// Where `seq` goes in the request auth hash; firmware differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOrder {
    /// `U + P + session + path + seq` (the seed's text).
    PathThenSeq,
    /// `U + P + session + seq + path` (seen in public client scripts).
    SeqThenPath,
}

/// Lower-case hex MD5 of the concatenated parts.
pub fn md5_hex(parts: &[&str]) -> String {
    let mut h = Md5::new();
    for p in parts {
        h.update(p.as_bytes());
    }
    crate::event::to_hex(&h.finalize())
}

/// The `auth` of the `crypt_sess.json` request that opens a session.
pub fn session_open_auth(user: &str, password: &str, cnonce: &str, path: &str) -> String {
    md5_hex(&[user, password, cnonce, path])
}

/// The `auth` of a request inside a session.
pub fn request_auth(user: &str, password: &str, session: &str, path: &str, seq: u64, order: AuthOrder) -> String {
    let seq = seq.to_string();
    match order {
        AuthOrder::PathThenSeq => md5_hex(&[user, password, session, path, &seq]),
        AuthOrder::SeqThenPath => md5_hex(&[user, password, session, &seq, path]),
    }
}

/// The body key of a request: 32 hex characters, used as the key bytes. `open_auth` is
/// the **session-opening** auth (the one sent to `/crypt_sess.json`), not the request's:
/// seed 004 section 3.3 item 3, "加密 KEY = MD5（username + password + auth + session + seq）",
/// where `auth` is the "初始客户端会话 ID" of item 1; the vendor's test scripts agree.
pub fn body_key(user: &str, password: &str, open_auth: &str, session: &str, seq: u64) -> String {
    md5_hex(&[user, password, open_auth, session, &seq.to_string()])
}

/// Encrypts a POST body with the session's cipher.
pub fn encrypt(cipher: Cipher, key: &str, body: &[u8]) -> Vec<u8> {
    let key = key.as_bytes();
    match cipher {
        Cipher::None => body.to_vec(),
        Cipher::Xor => xor(key, body),
        Cipher::Rc4 => rc4(key, body),
        Cipher::AesEcb => {
            let aes = aes256(key);
            let mut out = body.to_vec();
            out.resize((body.len() / 16 + 1) * 16, 0);
            for block in out.chunks_exact_mut(16) {
                aes.encrypt_block(block.try_into().expect("16-byte chunk"));
            }
            out
        }
    }
}

/// Decrypts a body (the device side; the simulator uses it). AES zero padding is removed
/// by trimming trailing NULs, which a JSON body never ends with. None when the length is
/// not a whole number of AES blocks.
pub fn decrypt(cipher: Cipher, key: &str, data: &[u8]) -> Option<Vec<u8>> {
    let key = key.as_bytes();
    match cipher {
        Cipher::None => Some(data.to_vec()),
        Cipher::Xor => Some(xor(key, data)),
        Cipher::Rc4 => Some(rc4(key, data)),
        Cipher::AesEcb => {
            if data.is_empty() || !data.len().is_multiple_of(16) {
                return None;
            }
            let aes = aes256(key);
            let mut out = data.to_vec();
            for block in out.chunks_exact_mut(16) {
                aes.decrypt_block(block.try_into().expect("16-byte chunk"));
            }
            while out.last() == Some(&0) {
                out.pop();
            }
            Some(out)
        }
    }
}

fn aes256(key: &[u8]) -> Aes256 {
    // The key is always the 32 hex characters of an MD5.
    Aes256::new_from_slice(key).expect("a 32-byte key")
}

fn xor(key: &[u8], data: &[u8]) -> Vec<u8> {
    data.iter().zip(key.iter().cycle()).map(|(b, k)| b ^ k).collect()
}

fn rc4(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    let mut cipher = <Rc4 as rc4::KeyInit>::new_from_slice(key).expect("a 32-byte key");
    cipher.apply_keystream(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Vec<Value> {
        let text = include_str!("../../../../tests/vectors/goip_crypto.json");
        let v: Value = serde_json::from_str(text).expect("vectors");
        v["cases"].as_array().expect("cases").clone()
    }

    use crate::event::to_hex as hex;

    #[test]
    fn hashes_and_keys_match_the_independent_vectors() {
        for c in vectors() {
            let s = |k: &str| c[k].as_str().expect(k).to_string();
            let seq = c["seq"].as_u64().expect("seq");
            let (u, p, sess, path) = (s("username"), s("password"), s("session"), s("path"));
            assert_eq!(session_open_auth(&u, &p, &s("cnonce"), "/crypt_sess.json"), s("crypt_sess_auth"));
            let auth = request_auth(&u, &p, &sess, &path, seq, AuthOrder::PathThenSeq);
            assert_eq!(auth, s("auth_path_then_seq"));
            assert_eq!(request_auth(&u, &p, &sess, &path, seq, AuthOrder::SeqThenPath), s("auth_seq_then_path"));
            assert_eq!(body_key(&u, &p, &s("crypt_sess_auth"), &sess, seq), s("key"));
        }
    }

    #[test]
    fn the_three_ciphers_match_the_vectors_and_round_trip() {
        for c in vectors() {
            let key = c["key"].as_str().expect("key");
            let body = c["body"].as_str().expect("body").as_bytes();
            for (cipher, field) in [(Cipher::Xor, "xor_hex"), (Cipher::Rc4, "rc4_hex"), (Cipher::AesEcb, "aes_ecb_hex")]
            {
                let sealed = encrypt(cipher, key, body);
                assert_eq!(hex(&sealed), c[field].as_str().expect(field), "{cipher:?}");
                assert_eq!(decrypt(cipher, key, &sealed).as_deref(), Some(body), "{cipher:?}");
            }
            assert_eq!(encrypt(Cipher::None, key, body), body);
        }
    }

    #[test]
    fn a_truncated_aes_body_is_refused_not_a_panic() {
        let key = "0123456789abcdef0123456789abcdef";
        assert_eq!(decrypt(Cipher::AesEcb, key, &[1, 2, 3]), None);
        assert_eq!(decrypt(Cipher::AesEcb, key, &[]), None);
        assert_eq!(Cipher::parse("aes-ecb"), Some(Cipher::AesEcb));
        assert_eq!(Cipher::parse("des"), None);
        assert!(crate::config::CIPHERS.iter().all(|name| Cipher::parse(name).is_some()), "config names parse");
    }
}
