#!/usr/bin/env python3
"""Known-answer vectors for the EJOIN/GoIP "secure session" (接口安全), written from the
documents alone by an independent reader who never saw the Rust code:

  * digest:  /work/shared/specs/goip-ejoin-http.md, section "1b. Secure session"
  * seed:    /work/shared/seeds/004_566199fcadf7184e.txt, section 3 (lines 123-182)

Writes tests/vectors/goip_crypto.json next to this script.  Deterministic: fixed inputs,
no randomness, no clock.  Needs plain python3 plus ONE optional package, `cryptography`
(for AES); without it the script falls back to the `openssl` command line tool.  MD5 comes
from hashlib, RC4 and XOR are written out below.

Formulas (quoted):

  seed line 180: "1. auth（初始客户端会话 ID）= MD5（username + password + cnonce + url-resource），
                  其中 url-resource 是 URL 中除去 http://host:port 和参数所剩下的部分"
  digest 1b.1:   "A = md5hex(U + P + C + "/crypt_sess.json")"
  seed line 181: "2. auth（后续 URL 实时计算的标识）= MD5（username + password + session + url-resource + seq）"
  digest 1b.2:   "auth = md5hex(U + P + S + url_resource + seq)" ... "two of three public client
                  scripts seen in the wild hash U + P + S + seq + url_resource (seq before the path).
                  The driver must support both orders"
  seed line 182: "3. 加密 KEY = MD5（username + password + auth + session + seq）"
  digest 1b.3:   "key = md5hex(U + P + A + S + seq) — A is the session-opening auth of step 1
                  (the one sent to /crypt_sess.json, fixed for the session), not the per-request
                  auth of step 2; seq is this request's."
                 "The 32-character lower-case hex string used as key bytes (so aes-ecb is
                  AES-256-ECB with the 32 ASCII bytes as key; rc4 uses the 32 ASCII bytes; xor
                  XORs body bytes cyclically with them)."
                 "aes-ecb padding: zero bytes up to the next 16-byte boundary; a body whose length
                  is already a multiple of 16 gets one full block of zeros."
                 "Encrypted body is sent as raw bytes (not base64)."  -> the *_hex fields below
                  are just the hex spelling of those raw bytes.

Reading notes (see the report / README):
  * seed line 182 says only "auth" and refers to "3.2 节参数说明", where BOTH auths are listed
    (3.2.1 the session-opening one, 3.2.3 the per-request one).  The digest resolves it to the
    session-opening one; that is what `key` holds.  `key_if_A_were_per_request_auth` is a
    DIAGNOSTIC ONLY value (the other reading), not the contract.
  * seed line 131 once writes `encrypt_sess.json`, line 143 `crypt_sess.json`; digest:
    "treat the path as configurable, default /crypt_sess.json".  `crypt_sess_auth` uses
    /crypt_sess.json; `encrypt_sess_auth` is the same formula with /encrypt_sess.json.
  * Strings are hashed/encrypted as their UTF-8 bytes; seq is written in decimal with no
    padding (seed line 169 uses plain integers 10, 11).  MD5 hex is lower-case (digest 1b.3).
"""

import hashlib
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "goip_crypto.json")

CRYPT_SESS_PATH = "/crypt_sess.json"      # digest 1b.1 default
ENCRYPT_SESS_PATH = "/encrypt_sess.json"  # seed line 131 variant


def md5hex(s: str) -> str:
    return hashlib.md5(s.encode("utf-8")).hexdigest()  # lower-case hex


def xor_bytes(data: bytes, key: bytes) -> bytes:
    # digest 1b.3: "xor XORs body bytes cyclically with them"
    return bytes(b ^ key[i % len(key)] for i, b in enumerate(data))


def rc4(key: bytes, data: bytes) -> bytes:
    # textbook RC4 (KSA + PRGA), no drop
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) & 0xFF
        s[i], s[j] = s[j], s[i]
    out = bytearray()
    i = j = 0
    for b in data:
        i = (i + 1) & 0xFF
        j = (j + s[i]) & 0xFF
        s[i], s[j] = s[j], s[i]
        out.append(b ^ s[(s[i] + s[j]) & 0xFF])
    return bytes(out)


def zero_pad(data: bytes) -> bytes:
    # digest 1b.3: zero bytes up to the next 16-byte boundary; already a multiple of 16
    # (0 included) -> one full block of zeros.
    return data + b"\x00" * (16 - len(data) % 16)


def _aes_ecb_raw(key: bytes, data: bytes) -> bytes:
    """AES-ECB of block-aligned data, no padding added here."""
    assert len(key) == 32 and len(data) % 16 == 0
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
        return enc.update(data) + enc.finalize()
    except ImportError:
        r = subprocess.run(
            ["openssl", "enc", "-aes-256-ecb", "-nopad", "-nosalt", "-K", key.hex()],
            input=data, stdout=subprocess.PIPE, check=True)
        return r.stdout


def aes_ecb_zero(key: bytes, data: bytes) -> bytes:
    return _aes_ecb_raw(key, zero_pad(data))


def self_check():
    # MD5, RFC 1321 appendix A.5
    assert md5hex("abc") == "900150983cd24fb0d6963f7d28e17f72"
    # RC4, the classic "Key"/"Plaintext" vector
    assert rc4(b"Key", b"Plaintext").hex() == "bbf316e8d940af0ad3"
    # AES-256, FIPS-197 appendix C.3
    k = bytes(range(32))
    p = bytes.fromhex("00112233445566778899aabbccddeeff")
    assert _aes_ecb_raw(k, p).hex() == "8ea2b7ca516745bfeafc49904b496089"
    assert len(zero_pad(b"")) == 16 and len(zero_pad(b"x" * 16)) == 32 and len(zero_pad(b"x" * 17)) == 32


# Fixed inputs.  path = the url_resource of the request carrying the body.
CASES = [
    dict(name="ascii body, seq 1",
         username="admin", password="admin", cnonce="a1b2c3d4e5f60718",
         session="S1A2B3C4D5E6F", path="/goip_post_sms.html", seq=1,
         body='{"type":"send-sms","task_num":1,"tasks":[{"tid":1223,"to":"13686876620","sms":"hello"}]}'),
    dict(name="body length an exact multiple of 16 (48 bytes)",
         username="admin", password="admin", cnonce="a1b2c3d4e5f60718",
         session="S1A2B3C4D5E6F", path="/goip_send_cmd.html", seq=2,
         body='{"type":"command","op":"lock","ports":"1A,2B,3"}'),
    dict(name="body length exactly 16",
         username="admin", password="admin", cnonce="a1b2c3d4e5f60718",
         session="S1A2B3C4D5E6F", path="/goip_pause_sms.html", seq=3,
         body='{"tids":[12,34]}'),
    dict(name="UTF-8 (Chinese) body",
         username="admin", password="admin", cnonce="0f1e2d3c4b5a6978",
         session="7d3c5f1a", path="/goip_post_sms.html", seq=11,
         body='{"type":"send-sms","task_num":1,"tasks":[{"tid":7,"to":"10086","sms":"你好，世界！余额查询","chs":"utf8"}]}'),
    dict(name="password with spaces and symbols",
         username="user_01", password="p@ss w0rd!#$%^&*()+=;:'\",.<>/?",
         cnonce="Zz9-._~", session="sess-0042", path="/goip_remove_sms.html", seq=42,
         body='{"tids":[2,3]}'),
    dict(name="large seq (> 2^32)",
         username="admin", password="12345678", cnonce="cafebabedeadbeef",
         session="9876543210", path="/goip_resume_sms.html", seq=4294967296,
         body='{"tids":[1]}'),
    dict(name="empty body (0 is a multiple of 16 -> one zero block under aes-ecb)",
         username="admin", password="admin", cnonce="a1b2c3d4e5f60718",
         session="S1A2B3C4D5E6F", path="/goip_resume_sms.html", seq=5,
         body=''),
]


def build_case(c):
    U, P, C, S, path, seq, body = (c["username"], c["password"], c["cnonce"], c["session"],
                                   c["path"], c["seq"], c["body"])
    seq_s = str(seq)
    A = md5hex(U + P + C + CRYPT_SESS_PATH)
    a_path_then_seq = md5hex(U + P + S + path + seq_s)
    a_seq_then_path = md5hex(U + P + S + seq_s + path)
    key = md5hex(U + P + A + S + seq_s)
    kb = key.encode("ascii")
    bb = body.encode("utf-8")
    return {
        "name": c["name"],
        "username": U, "password": P, "cnonce": C, "session": S,
        "path": path, "seq": seq, "body": body, "expires": 180,
        "body_hex": bb.hex(), "body_len": len(bb),
        "crypt_sess_auth": A,
        "encrypt_sess_auth": md5hex(U + P + C + ENCRYPT_SESS_PATH),
        "auth_path_then_seq": a_path_then_seq,
        "auth_seq_then_path": a_seq_then_path,
        "key": key,
        "key_if_A_were_per_request_auth": {
            "note": "DIAGNOSTIC ONLY, not the contract: seed line 182 read with the per-request auth",
            "path_then_seq": md5hex(U + P + a_path_then_seq + S + seq_s),
            "seq_then_path": md5hex(U + P + a_seq_then_path + S + seq_s),
        },
        "xor_hex": xor_bytes(bb, kb).hex(),
        "rc4_hex": rc4(kb, bb).hex(),
        "aes_ecb_hex": aes_ecb_zero(kb, bb).hex(),
        "aes_ecb_padded_plain_hex": zero_pad(bb).hex(),
    }


def main():
    self_check()
    assert len(CASES[1]["body"].encode()) == 48
    assert len(CASES[2]["body"].encode()) == 16
    doc = {
        "made_by": ("tests/vectors/make_goip_vectors.py, written from the digest "
                    "/work/shared/specs/goip-ejoin-http.md §1b and the seed "
                    "004_566199fcadf7184e.txt §3.3 alone, by an independent reader who never "
                    "saw the Rust code. MD5: hashlib; AES: cryptography (or openssl); RC4/XOR: in script."),
        "formula": {
            "crypt_sess_auth": 'A = md5hex(U + P + cnonce + "/crypt_sess.json")   (digest 1b.1; seed line 180)',
            "encrypt_sess_auth": 'same with "/encrypt_sess.json" (seed line 131 spelling; digest: path configurable)',
            "auth_path_then_seq": "md5hex(U + P + S + url_resource + seq)   (digest 1b.2 primary; seed line 181)",
            "auth_seq_then_path": "md5hex(U + P + S + seq + url_resource)   (digest 1b.2 field caveat)",
            "key": "md5hex(U + P + A + S + seq), A = session-opening auth (crypt_sess_auth), seq = this request's   (digest 1b.3; seed line 182)",
            "key_bytes": "the 32 ASCII bytes of the lower-case hex key",
            "xor_hex": "body_utf8[i] XOR key_ascii[i mod 32]",
            "rc4_hex": "RC4(key = 32 ASCII bytes) over body_utf8",
            "aes_ecb_hex": "AES-256-ECB(key = 32 ASCII bytes) over body_utf8 + zero bytes to the next 16-byte boundary (a full zero block if already a multiple of 16, including length 0)",
            "encoding": "all strings as UTF-8 bytes; seq in decimal, no padding; md5 hex lower-case; *_hex are the raw encrypted bytes in hex (the wire carries raw bytes, not base64)",
        },
        "cases": [build_case(c) for c in CASES],
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=2)
        f.write("\n")
    print("wrote", OUT, len(doc["cases"]), "cases")


if __name__ == "__main__":
    main()
