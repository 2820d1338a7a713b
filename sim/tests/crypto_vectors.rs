//! The GoIP crypto against independent vectors (`tests/vectors/make_vectors.py`: Python's
//! hashlib, `openssl enc -aes-256-ecb`, textbook RC4), as the digest's section 1b defines it.

use serde_json::Value;
use telbridge_sim::goip::crypto::{self, AuthOrder, Cipher};

fn vectors() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/goip_vectors.json"))
        .expect("vectors");
    serde_json::from_str(&text).expect("json")
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("{k} missing"))
}

fn unhex(h: &str) -> Vec<u8> {
    (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).expect("hex")).collect()
}

#[test]
fn hashes_keys_and_ciphertexts_match_the_independent_vectors() {
    let v = vectors();
    let (u, p, sess) = (s(&v, "user"), s(&v, "password"), s(&v, "session"));
    let open = crypto::session_open_auth(u, p, s(&v, "cnonce"), s(&v, "session_path"));
    assert_eq!(open, s(&v, "open_auth"));
    let cases = v["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 3);
    for c in cases {
        let name = s(c, "name");
        let seq = c["seq"].as_u64().expect("seq");
        let path = s(c, "path");
        assert_eq!(crypto::request_auth(u, p, sess, path, seq, AuthOrder::PathSeq), s(c, "request_auth_path_seq"));
        assert_eq!(crypto::request_auth(u, p, sess, path, seq, AuthOrder::SeqPath), s(c, "request_auth_seq_path"));
        let key = crypto::body_key(u, p, &open, sess, seq);
        assert_eq!(key, s(c, "key"), "{name}: the key uses the session-opening auth");
        let body = s(c, "body").as_bytes();
        for (cipher, field) in [(Cipher::Xor, "xor_hex"), (Cipher::Rc4, "rc4_hex"), (Cipher::AesEcb, "aes_ecb_hex")] {
            let expected = unhex(s(c, field));
            assert_eq!(crypto::encrypt(cipher, &key, body), Some(expected.clone()), "{name} {field}");
            assert_eq!(crypto::decrypt(cipher, &key, &expected).as_deref(), Some(body), "{name} {field} back");
            // The misreading (per-request auth as `A`) never yields the body.
            let wrong = crypto::decrypt(cipher, s(c, "wrong_key_request_auth"), &expected);
            assert_ne!(wrong.as_deref(), Some(body), "{name} {field} with the wrong key");
        }
        assert_eq!(crypto::encrypt(Cipher::None, &key, body).as_deref(), Some(body));
    }
}

#[test]
fn an_exact_block_body_gets_a_full_block_of_zero_padding() {
    let v = vectors();
    let c = &v["cases"][1];
    assert_eq!(s(c, "body").len(), 16);
    assert_eq!(s(c, "aes_ecb_hex").len(), 64, "two blocks");
}
