#!/usr/bin/env python3
"""Independent GoIP secure-session vectors (digest section 1b), for tests/crypto_vectors.rs.

Hashes come from Python's hashlib, AES-256-ECB from the `openssl` command line; RC4 is the
textbook algorithm written out here (openssl 3 keeps RC4 in its legacy provider and its
`enc` tool only takes 16-byte RC4 keys, so it is cross-checked against openssl with a
16-byte key below). Nothing here comes from the agent's or the simulator's Rust code.

Run: python3 tests/vectors/make_vectors.py > tests/vectors/goip_vectors.json
"""
import hashlib
import json
import subprocess


def md5hex(s: str) -> str:
    return hashlib.md5(s.encode("utf-8")).hexdigest()


def rc4(key: bytes, data: bytes) -> bytes:
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    i = j = 0
    out = bytearray()
    for b in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(b ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


def openssl(args, data: bytes) -> bytes:
    return subprocess.run(["openssl", "enc", *args], input=data, capture_output=True, check=True).stdout


def xor(key: bytes, data: bytes) -> bytes:
    return bytes(b ^ key[i % len(key)] for i, b in enumerate(data))


def aes_ecb_zero_pad(key: bytes, data: bytes) -> bytes:
    # "zero bytes up to the next 16-byte boundary; a body whose length is already a
    # multiple of 16 gets one full block of zeros"
    padded = data + b"\0" * (16 - len(data) % 16)
    return openssl(["-aes-256-ecb", "-nopad", "-K", key.hex()], padded)


# The textbook RC4 above agrees with openssl where openssl can be asked (16-byte key).
k16 = b"0123456789abcdef"
probe = b"rc4 cross-check against openssl"
assert rc4(k16, probe) == openssl(["-provider", "legacy", "-provider", "default", "-rc4", "-K", k16.hex()], probe)

U, P = "admin", "s3cret"
CNONCE = "9f8e7d6c"
SESSION_PATH = "/crypt_sess.json"
S = "5a17c0de"
open_auth = md5hex(U + P + CNONCE + SESSION_PATH)

cases = []
bodies = [
    ("short", '{"tids":[2,3]}'),  # 14 bytes
    ("exact16", '{"tids":[1,2,3]}'),  # exactly 16 bytes: a full block of zeros
    ("utf8", '{"type":"send-sms","tasks":[{"tid":7,"to":"10086","sms":"héllo 你好"}]}'),
]
for seq, (name, body) in enumerate(bodies, start=1):
    path = "/goip_post_sms.html"
    key = md5hex(U + P + open_auth + S + str(seq))
    request_auth_path_seq = md5hex(U + P + S + path + str(seq))
    request_auth_seq_path = md5hex(U + P + S + str(seq) + path)
    kb = key.encode("ascii")
    data = body.encode("utf-8")
    cases.append({
        "name": name,
        "seq": seq,
        "path": path,
        "body": body,
        "request_auth_path_seq": request_auth_path_seq,
        "request_auth_seq_path": request_auth_seq_path,
        "key": key,
        # The misreading the simulator must refuse: the per-request auth as `A`.
        "wrong_key_request_auth": md5hex(U + P + request_auth_path_seq + S + str(seq)),
        "xor_hex": xor(kb, data).hex(),
        "rc4_hex": rc4(kb, data).hex(),
        "aes_ecb_hex": aes_ecb_zero_pad(kb, data).hex(),
    })

print(json.dumps({
    "user": U,
    "password": P,
    "cnonce": CNONCE,
    "session_path": SESSION_PATH,
    "session": S,
    "open_auth": open_auth,
    "cases": cases,
}, indent=2, ensure_ascii=False))
