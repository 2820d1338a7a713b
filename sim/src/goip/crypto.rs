//! The GoIP secure session's arithmetic (digest section 1b), written from the digest:
//! the session-opening auth, the per-request auth in either field order, the body key,
//! and the three body ciphers (`xor`, `rc4`, `aes-ecb` with zero padding), all keyed
//! with the 32 lower-case hex characters of an MD5 as key bytes.

use aes::Aes256;
use aes::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use md5::{Digest, Md5};
use rc4::{Rc4, StreamCipher};

/// `md5hex(s)`: 32 lower-case hex characters.
pub fn md5hex(s: &str) -> String {
    crate::util::hex(&Md5::digest(s.as_bytes()))
}

/// Step 1: `A = md5hex(U + P + C + url_resource)`, the resource being the path of the
/// session-opening request ("the URL path without host, port and query").
pub fn session_open_auth(user: &str, password: &str, cnonce: &str, path: &str) -> String {
    md5hex(&format!("{user}{password}{cnonce}{path}"))
}

/// Which field order a firmware hashes the per-request auth in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOrder {
    /// `md5hex(U + P + S + url_resource + seq)` — the seed's documented form.
    PathSeq,
    /// `md5hex(U + P + S + seq + url_resource)` — "two of three public client scripts".
    SeqPath,
}

impl AuthOrder {
    pub fn parse(s: &str) -> Option<AuthOrder> {
        match s {
            "path-seq" => Some(AuthOrder::PathSeq),
            "seq-path" => Some(AuthOrder::SeqPath),
            _ => None,
        }
    }
}

/// Step 2: the auth every later request carries.
pub fn request_auth(user: &str, password: &str, session: &str, path: &str, seq: u64, order: AuthOrder) -> String {
    match order {
        AuthOrder::PathSeq => md5hex(&format!("{user}{password}{session}{path}{seq}")),
        AuthOrder::SeqPath => md5hex(&format!("{user}{password}{session}{seq}{path}")),
    }
}

/// Step 3: the body key. Digest: "`key = md5hex(U + P + A + S + seq)` — `A` is the
/// **session-opening** `auth` of step 1 (the one sent to `/crypt_sess.json`, fixed for
/// the session), *not* the per-request `auth` of step 2; `seq` is this request's."
pub fn body_key(user: &str, password: &str, open_auth: &str, session: &str, seq: u64) -> String {
    md5hex(&format!("{user}{password}{open_auth}{session}{seq}"))
}

/// The session's body cipher (`crypt` ∈ `none | xor | rc4 | aes-ecb`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    None,
    Xor,
    Rc4,
    AesEcb,
}

impl Cipher {
    pub fn parse(s: &str) -> Option<Cipher> {
        match s {
            "none" => Some(Cipher::None),
            "xor" => Some(Cipher::Xor),
            "rc4" => Some(Cipher::Rc4),
            "aes-ecb" => Some(Cipher::AesEcb),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Cipher::None => "none",
            Cipher::Xor => "xor",
            Cipher::Rc4 => "rc4",
            Cipher::AesEcb => "aes-ecb",
        }
    }
}

/// "The 32-character lower-case hex string used as key bytes": 32 ASCII bytes.
fn key_bytes(key: &str) -> Option<[u8; 32]> {
    key.as_bytes().try_into().ok()
}

fn xor(key: &[u8; 32], data: &[u8]) -> Vec<u8> {
    data.iter().zip(key.iter().cycle()).map(|(d, k)| d ^ k).collect()
}

fn rc4(key: &[u8; 32], data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    let mut cipher = Rc4::new(&Array::from(*key));
    cipher.apply_keystream(&mut out);
    out
}

/// Encrypts a body as a client does (the tests' side). `None` for a key that is not 32
/// bytes long.
pub fn encrypt(cipher: Cipher, key: &str, body: &[u8]) -> Option<Vec<u8>> {
    let k = key_bytes(key)?;
    Some(match cipher {
        Cipher::None => body.to_vec(),
        Cipher::Xor => xor(&k, body),
        Cipher::Rc4 => rc4(&k, body),
        Cipher::AesEcb => {
            // "zero bytes up to the next 16-byte boundary; a body whose length is already a
            // multiple of 16 gets one full block of zeros".
            let mut data = body.to_vec();
            data.resize(body.len() + 16 - body.len() % 16, 0);
            let aes = Aes256::new(&Array::from(k));
            for chunk in data.chunks_exact_mut(16) {
                let mut block = Array::from(<[u8; 16]>::try_from(&*chunk).ok()?);
                aes.encrypt_block(&mut block);
                chunk.copy_from_slice(&block);
            }
            data
        }
    })
}

/// Decrypts a body as a strict device does. `None` when it cannot be the encryption of
/// anything under this key: an AES body that is not whole blocks, or whose plaintext does
/// not end with 1 to 16 zero bytes of padding (a correct sender always adds at least one).
/// A wrong key with `xor`/`rc4` decrypts to garbage, which the caller refuses as non-JSON.
pub fn decrypt(cipher: Cipher, key: &str, body: &[u8]) -> Option<Vec<u8>> {
    let k = key_bytes(key)?;
    match cipher {
        Cipher::None => Some(body.to_vec()),
        Cipher::Xor => Some(xor(&k, body)),
        Cipher::Rc4 => Some(rc4(&k, body)),
        Cipher::AesEcb => {
            if body.is_empty() || !body.len().is_multiple_of(16) {
                return None;
            }
            let aes = Aes256::new(&Array::from(k));
            let mut data = body.to_vec();
            for chunk in data.chunks_exact_mut(16) {
                let mut block = Array::from(<[u8; 16]>::try_from(&*chunk).ok()?);
                aes.decrypt_block(&mut block);
                chunk.copy_from_slice(&block);
            }
            let zeros = data.iter().rev().take_while(|b| **b == 0).count();
            if !(1..=16).contains(&zeros) {
                return None;
            }
            data.truncate(data.len() - zeros);
            Some(data)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_of_the_empty_string_and_the_padding_rule() {
        assert_eq!(md5hex(""), "d41d8cd98f00b204e9800998ecf8427e");
        let key = md5hex("k");
        for len in [0usize, 1, 15, 16, 17, 32] {
            let body = vec![b'x'; len];
            let enc = encrypt(Cipher::AesEcb, &key, &body).expect("enc");
            assert_eq!(enc.len(), (len / 16 + 1) * 16, "always at least one byte of padding");
            if len > 0 {
                assert_eq!(decrypt(Cipher::AesEcb, &key, &enc), Some(body));
            }
        }
        // Whole blocks without padding are refused by a strict device.
        let no_pad = encrypt(Cipher::AesEcb, &key, &[b'x'; 15]).expect("enc");
        let mut raw = [b'x'; 16];
        raw[15] = b'y';
        assert!(decrypt(Cipher::AesEcb, &key, &no_pad[..15]).is_none(), "not whole blocks");
        let unpadded = {
            let aes = Aes256::new(&Array::from(key_bytes(&key).expect("32")));
            let mut block = Array::from(raw);
            aes.encrypt_block(&mut block);
            block.to_vec()
        };
        assert!(decrypt(Cipher::AesEcb, &key, &unpadded).is_none(), "no zero padding");
    }
}
