#!/usr/bin/env python3
"""Known-answer vectors for the GoIP/EJOIN secure session (spec section 1b), made
independently of the Rust code: MD5 from Python's hashlib, AES-256-ECB from the openssl
command line, RC4 from the textbook algorithm below, XOR by hand.

    python3 tests/vectors/make_goip_vectors.py > tests/vectors/goip_crypto.json
"""
import hashlib
import json
import subprocess


def md5hex(*parts):
    return hashlib.md5("".join(parts).encode()).hexdigest()


def rc4(key, data):
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    out, i, j = bytearray(), 0, 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


def aes_ecb_zero_padded(key, data):
    padded = data + b"\0" * (16 - len(data) % 16)  # a full block when already aligned
    out = subprocess.run(
        ["openssl", "enc", "-aes-256-ecb", "-nopad", "-K", key.hex()],
        input=padded, capture_output=True, check=True)
    return out.stdout


def xor(key, data):
    return bytes(b ^ key[i % len(key)] for i, b in enumerate(data))


cases = []
for user, password, cnonce, session, path, seq, body in [
    ("admin", "admin", "a1b2c3d4", "5f3c9d2e7a", "/goip_post_sms.html", 1,
     '{"type":"send-sms","task_num":1,"tasks":[{"tid":1,"to":"10086","sms":"hello"}]}'),
    ("root", "p@ss w0rd", "zz", "S", "/goip_send_cmd.html", 42, '{"type":"command","op":"lock","ports":"1A"}'),
    ("u", "p", "c", "sess", "/goip_pause_sms.html", 7, '{"tids":[2,3],"x":"01234567890"}'),  # 32 bytes: aligned
]:
    key_auth = md5hex(user, password, cnonce, "/crypt_sess.json")
    auth_path_seq = md5hex(user, password, session, path, str(seq))
    auth_seq_path = md5hex(user, password, session, str(seq), path)
    key = md5hex(user, password, auth_path_seq, session, str(seq))
    raw = body.encode()
    kb = key.encode()  # the 32 lower-case hex characters are the key bytes
    cases.append({
        "username": user, "password": password, "cnonce": cnonce, "session": session,
        "path": path, "seq": seq, "body": body,
        "crypt_sess_auth": key_auth,
        "auth_path_then_seq": auth_path_seq,
        "auth_seq_then_path": auth_seq_path,
        "key": key,
        "xor_hex": xor(kb, raw).hex(),
        "rc4_hex": rc4(kb, raw).hex(),
        "aes_ecb_hex": aes_ecb_zero_padded(kb, raw).hex(),
    })
print(json.dumps({"made_by": "tests/vectors/make_goip_vectors.py", "cases": cases}, indent=1))
