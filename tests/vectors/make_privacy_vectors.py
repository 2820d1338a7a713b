#!/usr/bin/env python3
"""Known-answer vectors for the cloud privacy-number platform (AXB / XA bindings of a
virtual number X), written from the documents alone by an independent reader who never saw
the agent's Rust code:

  * digest:  /work/shared/specs/privacy-number.md
  * seed:    /work/shared/seeds/002_26cfe526b07b9f0d.txt ("云通信平台[隐私业务-移动号码]
             外部接口文档" V1.0, 2016-12-28)

Writes tests/vectors/privacy.json next to this script.  Deterministic (fixed inputs, no
clock, no randomness); Python 3 standard library only (hashlib, base64, urllib.parse, json).
When the seed file is present, every quoted seed line is checked against it before writing.

Every case carries "source": "seed line N: …" (line numbers of the seed file above) or
"digest: …".  Where the documents are silent, disagree or contradict themselves, the point
goes into the "ambiguities" array with the reading taken (the seed wins over the digest).

Digest against seed, point by point:
  * signature: digest `lowercase_hex(sha256(authkey + ts_ms))[24..40]` = seed line 79
    "sha256(开发者认证 key+时间戳).substring(24,40)" + line 81 "sha256 生成小写的字符串" + Java
    line 93 `SHA256(authKey + ts).substring(24, 40)`: the same.  The seed's example (line 85)
    gives no key, so it cannot be recomputed; only its shape is a vector.
  * freshness: digest "rejects timestamps older than 3 minutes"; seed line 75 "时间戳需要保证为
    三分钟内的时间戳" (within three minutes) — read both ways (future too), boundary inclusive.
  * 1004 and subid: the seed (lines 152-154) marks `subid` "否" (optional) and says nothing
    about what a 1004 reply carries; the vectors' 1004 reply has no subid.
  * callbacks: neither document says what the customer must answer nor whether the platform
    retries; the digest's advice (HTTP 200 with {"error":0}) is recorded as advice only.
"""

import base64
import hashlib
import json
import os
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "privacy.json")
SEED = "/work/shared/seeds/002_26cfe526b07b9f0d.txt"
SEED_LINES = []
if os.path.exists(SEED):
    with open(SEED, encoding="utf-8") as f:
        SEED_LINES = f.read().split("\n")


def seed(line, text):
    """A source string quoting seed line `line`, checked against the seed when present."""
    if SEED_LINES:
        assert text in SEED_LINES[line - 1], (line, text, SEED_LINES[line - 1])
    return "seed line %d: %s" % (line, text)


DEVID, AUTHKEY, APPID = "10000000", "key1", "app1"   # the simulator's defaults
X, A, B = "17000000001", "13800000001", "13900000002"

# ---------------------------------------------------------------------------------------
# Java URLEncoder.encode(s, "UTF-8") spelling (the seed's sample code is Java, line 90):
# A-Z a-z 0-9 . - * _ kept, space "+", every other byte %XX upper case.  Any form decoder
# reads the same parameters from it.
# ---------------------------------------------------------------------------------------
SAFE = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-*_")


def enc(text):
    out = []
    for b in text.encode("utf-8"):
        if b == 0x20:
            out.append("+")
        elif b in SAFE:
            out.append(chr(b))
        else:
            out.append("%%%02X" % b)
    s = "".join(out)
    assert s == urllib.parse.quote_plus(text, safe="*").replace("~", "%7E"), text
    return s


def form(pairs):
    return "&".join("%s=%s" % (enc(k), enc(str(v))) for k, v in pairs)


def parse_form(body):
    return dict(urllib.parse.parse_qsl(body, keep_blank_values=True, strict_parsing=False))


# ---------------------------------------------------------------------------------------
# (a) Keytime signatures.
# ---------------------------------------------------------------------------------------
def sign(authkey, ts_ms):
    return hashlib.sha256((authkey + str(ts_ms)).encode("utf-8")).hexdigest()[24:40]


SIG_SRC = seed(79, "sha256(开发者认证 key+时间戳).substring(24,40)") + "; " + seed(81, "sha256 生成小写的字符串")


def signature_vectors():
    cases = []
    for devid, key, ts in [
        (DEVID, AUTHKEY, 1622020210513),            # the seed example's devid and time, our key
        (DEVID, AUTHKEY, 1700000000000),
        (DEVID, "0123456789abcdef0123456789abcdef", 1715000000123),
        ("20001234", "K3y-With.Symbols_*~!", 1735689600000),
        (DEVID, AUTHKEY, 999999999999),             # a 12-digit time: no zero padding
    ]:
        full = hashlib.sha256((key + str(ts)).encode("utf-8")).hexdigest()
        sig = sign(key, ts)
        assert len(sig) == 16 and sig == full[24:40] and sig == sig.lower()
        cases.append({
            "devid": devid, "authkey": key, "ts_ms": ts, "hashed_text": key + str(ts),
            "sha256_hex": full, "sig": sig,
            "header": "Keytime %s,%d,%s" % (devid, ts, sig),
            "source": SIG_SRC + "; " + seed(73, "Authorization: Keytime 开发者 ID,毫秒单位的时间戳,生成的签名"),
        })
    seed_example = {
        "header": "Keytime 10000000,1622020210513,afc1b805b6d7fb21",
        "devid": "10000000", "ts_ms": 1622020210513, "sig": "afc1b805b6d7fb21",
        "authkey": None, "checkable": False,
        "note": "the seed gives no authkey for its example: only the shape (16 lower-case hex characters, "
                "a 13-digit millisecond time) can be checked",
        "source": seed(85, "Authorization: Keytime 10000000,1622020210513,afc1b805b6d7fb21"),
    }
    ts = 1700000000000
    fresh_src = seed(75, "时间戳需要保证为三分钟内的时间戳")
    freshness = [
        {"now_ms": ts + d, "ts_ms": ts, "accepted": ok, "what": what, "source": fresh_src}
        for d, ok, what in [
            (0, True, "same time"),
            (180000, True, "exactly three minutes old: still within"),
            (180001, False, "older than three minutes"),
            (-180000, True, "three minutes in the future"),
            (-180001, False, "more than three minutes in the future (read as 'within', both ways)"),
        ]
    ]
    return cases, seed_example, freshness


# ---------------------------------------------------------------------------------------
# (b) Requests: the request line and the form body of each call.
# ---------------------------------------------------------------------------------------
USER_TEXT = "订单A-1/张三+李四"
USER_B64 = base64.b64encode(USER_TEXT.encode("utf-8")).decode("ascii")


def request_vectors():
    out = []

    def add(name, method, path, query_pairs, body_pairs, expected, source):
        target = path + ("?" + form(query_pairs) if query_pairs else "")
        body = form(body_pairs) if body_pairs else ""
        v = {
            "name": name, "method": method, "path": path, "target": target,
            "request_line": "%s %s HTTP/1.1" % (method, target),
            "content_type": "application/x-www-form-urlencoded" if body_pairs else None,
            "body": body,
            "params": {k: str(v) for k, v in (query_pairs or body_pairs or [])},
            "expected_reply": expected,
            "source": source,
        }
        assert parse_form(body or form(query_pairs or [])) == v["params"] or not v["params"]
        out.append(v)

    add("account_status", "GET", "/api/v1/account/status", None, None,
        {"error": 0, "fields": ["error", "reason", "state", "role", "balance", "overdraft", "createTime", "updateTime"]},
        seed(107, "访问 URI	/api/v1/account/status"))
    add("bind_axb_full", "PUT", "/igw/service/uc/interline/" + X, None,
        [("appid", APPID), ("anum", A), ("bnum", B), ("reqid", "req-20240101-0001"), ("ttl", 600),
         ("record", 1), ("display", "1,0"), ("anucode", "101,102,103"), ("ansanu", "201"), ("userData", USER_B64)],
        {"error": 0, "subid": "present"},
        seed(131, "访问 URI	/igw/service/uc/interline/{x 号码}") + "; " +
        seed(135, "请求参数: 按 application/x-www-form-urlencoded 提交") + "; lines 138-147")
    add("bind_axb_minimal", "PUT", "/igw/service/uc/interline/" + X, None,
        [("appid", APPID), ("anum", A), ("bnum", B), ("reqid", "req-20240101-0002"), ("ttl", 100)],
        {"error": 0, "subid": "present"},
        seed(142, "ttl	是	integer	有效期, 秒为单位, 比如 100, 表示有效期 100 秒"))
    add("release_axb", "DELETE", "/igw/service/uc/interline", [("appid", APPID), ("subid", "SUBID")], None,
        {"error": 0},
        seed(168, "例如：/igw/service/uc/interline?appid=xxx&subid=xxx") + " (parameters in the URI, none in a body)")
    add("bind_xa_forever", "PUT", "/igw/service/uc/interline/%s/transfer" % X, None,
        [("appid", APPID), ("anum", A), ("reqid", "req-20240101-0003"), ("anucode", "105"), ("record", 0),
         ("display", 1), ("ttl", 0), ("userData", USER_B64)],
        {"error": 0, "subid": "absent"},
        seed(186, "访问 URI	/igw/service/uc/interline/{x 号码}/transfer") + "; " +
        seed(201, "ttl	否	integer	缺省 0 表示一直有效"))
    add("bind_xa_minimal", "PUT", "/igw/service/uc/interline/17000000002/transfer", None,
        [("appid", APPID), ("anum", A), ("reqid", "req-20240101-0004")],
        {"error": 0, "subid": "absent"},
        seed(195, "appid	是	string	APP ID") + "; lines 196-197 (anum, reqid required; the rest optional)")
    add("release_xa", "DELETE", "/igw/service/uc/interline/%s/transfer" % X, [("appid", APPID)], None,
        {"error": 0},
        seed(223, "例如: /igw/service/uc/interline/170xxxxxyyyy/transfer?appid=xxx"))
    return out


REFUSED_REQUESTS = [
    # (name, form body, code, source) — AXB binds on X that the seed's checks refuse.
    ("anum_25_bytes", [("appid", APPID), ("anum", "1" * 25), ("bnum", B), ("reqid", "q1"), ("ttl", 60)], 1002,
     seed(139, "a 方真实号码 (最长 24 字节)")),
    ("missing_reqid", [("appid", APPID), ("anum", A), ("bnum", B), ("ttl", 60)], 1002,
     seed(141, "每次请求传全局唯一的请求 ID")),
    ("missing_ttl", [("appid", APPID), ("anum", A), ("bnum", B), ("reqid", "q2")], 1002,
     seed(142, "ttl	是	integer")),
    ("wrong_appid", [("appid", "other"), ("anum", A), ("bnum", B), ("reqid", "q3"), ("ttl", 60)], 1002,
     "no code in the seed for an unknown appid; 1002 " + seed(43, "访问参数错误") + " (see ambiguities)"),
]


# ---------------------------------------------------------------------------------------
# (c) Error codes and replies.
# ---------------------------------------------------------------------------------------
ERRORS = [
    (0, "成功", "ok"), (1000, "访问服务异常", "service error"), (1001, "URL 映射不匹配", "URL mapping mismatch"),
    (1002, "访问参数错误", "bad parameters"), (1003, "验证码不正确", "wrong verification code"),
    (1004, "重复提交", "duplicate submission"), (1100, "账号不存在", "no such account"),
    (1101, "账号认证失败", "auth failed"), (1102, "账号已停用", "account disabled"),
    (1103, "账号权限未开通", "permission not enabled"), (1104, "ACL 限制", "ACL"),
    (1105, "Rate 限制、流控", "rate limited"), (1110, "账号余额不足", "insufficient balance"),
    (1200, "任务不存在", "no such task"), (1201, "任务冲突或重复", "task conflict/duplicate"),
    (1300, "资源不存在", "no such resource"), (1301, "资源不足", "insufficient resources"),
    (1302, "资源配置冲突", "resource conflict"), (1400, "任务发起失败", "task failed to start"),
    (1401, "任务发起超时", "task start timeout"), (1500, "系统临时故障", "temporary failure"),
    (1501, "系统维护", "maintenance"), (1502, "系统操作失败", "operation failed"),
]
RETRYABLE = {1105, 1500, 1501}   # digest: "1105/1500/1501 are by their meaning"; the seed says nothing


def error_vectors():
    return [{"code": c, "meaning": zh, "meaning_en": en, "retryable": c in RETRYABLE, "ok": c == 0,
             "source": seed(40 + i, "%d	%s" % (c, zh))} for i, (c, zh, en) in enumerate(ERRORS)]


def reply_vectors():
    src = seed(152, "error	是	integer	结果: 0 表示成功, 其他失败, 参见错误码定义文档")
    return [
        {"name": "bind_axb_ok", "http_status": 200, "body": '{"error":0,"reason":"成功","subid":"a1b2c3d4e5f60718"}',
         "expected": {"ok": True, "error": 0, "subid": "a1b2c3d4e5f60718", "retryable": False},
         "source": src + "; " + seed(154, "subid	否	string	配置订阅 ID")},
        {"name": "bind_axb_duplicate_without_subid", "http_status": 200, "body": '{"error":1004,"reason":"重复提交"}',
         "expected": {"ok": False, "error": 1004, "subid": None, "retryable": False,
                      "meaning": "the first try with this reqid was taken; no subid to release it by"},
         "source": seed(45, "1004	重复提交") + "; " + seed(141, "在重试时, 需保持不变")},
        {"name": "bind_xa_ok", "http_status": 200, "body": '{"error":0,"reason":"成功"}',
         "expected": {"ok": True, "error": 0, "subid": None, "retryable": False},
         "source": seed(207, "error	是	integer	结果: 0 表示成功, 其他失败, 参见错误码定义文档")},
        {"name": "rate_limited", "http_status": 200, "body": '{"error":1105,"reason":"Rate 限制、流控"}',
         "expected": {"ok": False, "error": 1105, "subid": None, "retryable": True},
         "source": seed(51, "1105	Rate 限制、流控")},
        {"name": "temporary_failure_no_reason", "http_status": 200, "body": '{"error":1500}',
         "expected": {"ok": False, "error": 1500, "subid": None, "retryable": True},
         "source": seed(60, "1500	系统临时故障") + "; " + seed(153, "reason	否	string	错误文字描述")},
        {"name": "unauthorized", "http_status": 401, "body": "",
         "expected": {"ok": False, "error": None, "auth_failed": True, "retryable": False},
         "source": seed(33, "401	认证失败")},
        {"name": "account_status", "http_status": 200,
         "body": '{"error":0,"reason":"成功","state":1,"role":"developer","balance":88.5,"overdraft":0.0,'
                 '"createTime":1697408000000,"updateTime":1699913600000}',
         "expected": {"ok": True, "error": 0, "state": 1, "state_meaning": "正式开通", "balance": 88.5,
                      "overdraft": 0.0, "createTime": 1697408000000, "updateTime": 1699913600000},
         "source": seed(116, "state	否	integer	账号状态, 0 试用、1 正式开通、2 暂停、3 关闭")},
    ]


# ---------------------------------------------------------------------------------------
# (d) Callbacks: the CDR (seed 5.1) and the call start (seed 5.3), as form and as JSON.
# Field types are the seed's ("string"/"integer"); a form carries every value as text.
# ---------------------------------------------------------------------------------------
CDR_FIELDS = [  # (name, type, seed line)
    ("devid", "string", 241), ("appid", "string", 242), ("taskid", "string", 243), ("subid", "string", 244),
    ("caller", "string", 245), ("rcaller", "string", 246), ("callee", "string", 247), ("result", "string", 248),
    ("beginTime", "integer", 249), ("ringTime", "integer", 250), ("answerTime", "integer", 251),
    ("releaseTime", "integer", 252), ("duration", "integer", 253), ("recording", "string", 254),
    ("userData", "string", 255), ("releasedir", "string", 256),
]
START_FIELDS = [
    ("devid", "string", 314), ("appid", "string", 315), ("taskid", "string", 316), ("subid", "string", 317),
    ("caller", "string", 318), ("rcaller", "string", 319), ("callee", "string", 320), ("callTime", "integer", 321),
    ("smsContent", "string", 322), ("userData", "string", 323),
]
REQUIRED = {"devid", "appid", "taskid", "subid", "caller", "rcaller", "callee", "result", "beginTime", "callTime"}

CALLS = [
    {"name": "axb_answered_recorded",
     "call": {"devid": DEVID, "appid": APPID, "taskid": "7f3a9c01d2e4b658", "subid": "a1b2c3d4e5f60718",
              "caller": A, "rcaller": X, "callee": B, "result": "answered", "beginTime": 1700000000,
              "ringTime": 1700000002, "answerTime": 1700000005, "releaseTime": 1700000047, "duration": 42,
              "recording": "http://127.0.0.1:8090/sim/recordings/7f3a9c01d2e4b658.wav",
              "userData": USER_B64, "releasedir": "1"},
     "extras": [("bindtype", "axb"), ("calldisplay", A)],
     "source": seed(238, "按 application/x-www-form-urlencoded 提交参数（json 格式需联系运维配置）")},
    {"name": "axb_busy_b_to_a",
     "call": {"devid": DEVID, "appid": APPID, "taskid": "0000000000000017", "subid": "a1b2c3d4e5f60718",
              "caller": B, "rcaller": X, "callee": A, "result": "17", "beginTime": 1700000100,
              "releaseTime": 1700000102, "duration": 0, "releasedir": "0"},
     "extras": [("bindtype", "axb"), ("calldisplay", X)],
     "source": seed(253, "duration	否	integer	时长，缺省 0") + "; " + seed(268, "17	用户忙")},
    {"name": "xa_answered_raw_user_data",
     "call": {"devid": DEVID, "appid": APPID, "taskid": "00000000000000xa", "subid": "9988776655443322",
              "caller": "02088886666", "rcaller": X, "callee": A, "result": "answered", "beginTime": 1700000200,
              "ringTime": 1700000202, "answerTime": 1700000205, "releaseTime": 1700000265, "duration": 60,
              "userData": "order 42 & more=yes; 中文", "releasedir": "2"},
     "extras": [("bindtype", "xa"), ("calldisplay", "02088886666")],
     "source": seed(255, "userData	否	string	用户数据") + "; " + seed(256, "1 表示主叫， 2 表示被叫， 0 表示平台释放")},
    {"name": "carrier_cause_outside_the_table",
     "call": {"devid": DEVID, "appid": APPID, "taskid": "00000000000000cc", "subid": "a1b2c3d4e5f60718",
              "caller": A, "rcaller": X, "callee": B, "result": "300", "beginTime": 1700000300,
              "releaseTime": 1700000302, "duration": 0, "releasedir": "0"},
     "extras": [("bindtype", "axb"), ("calldisplay", X), ("vendorTrace", "gw-3/β")],
     "source": seed(307, "其他	因后端运营商而变动") + "; " + seed(257, "其它参数	否		具体业务相关")},
]


def encoded(fields, c, extras):
    typed = [(k, c[k]) for k, _, _ in fields if k in c] + list(extras)
    for k, t, line in fields:
        if k in c:
            assert isinstance(c[k], int) == (t == "integer"), (k, c[k])
        if k in REQUIRED:
            assert k in c, k
    decoded = dict(typed)
    body = form(typed)
    as_text = {k: str(v) for k, v in typed}
    assert parse_form(body) == as_text
    return {"form": body, "json": json.dumps(decoded, ensure_ascii=False, separators=(",", ":")),
            "decoded": decoded, "decoded_from_form": as_text, "field_order": [k for k, _ in typed]}


def callback_vectors():
    out = []
    for case in CALLS:
        c = dict(case["call"])
        start = {k: c[k] for k in ["devid", "appid", "taskid", "subid", "caller", "rcaller", "callee"]}
        # seed line 321 "callTime … 开始时间戳" is the CDR's beginTime (line 249 "开始时间戳").
        start["callTime"] = c["beginTime"]
        if "userData" in c:
            start["userData"] = c["userData"]
        extras = case["extras"]
        out.append({
            "name": case["name"],
            "cdr": encoded(CDR_FIELDS, c, extras),
            "call_start": encoded(START_FIELDS, start, extras),
            "extras": [k for k, _ in extras],
            "field_types": {k: t for k, t, _ in CDR_FIELDS + START_FIELDS},
            "result_meaning": RESULT_MEANING.get(c["result"]),
            "userData_text": user_data_text(c.get("userData")),
            "source": case["source"] + "; " + seed(321, "callTime	是	integer	开始时间戳, 秒为单位"),
        })
    return out


# ---------------------------------------------------------------------------------------
# (e) The CDR result table, seed section 5.2, complete (lines 262-306; 301 is blank).
# ---------------------------------------------------------------------------------------
RESULTS = [
    ("answered", "呼叫成功"), ("1", "未分配的号码 (被叫手机号码为空号)"), ("2", "无路由到指定的转接网"),
    ("3", "无路由到目的地"), ("4", "发送专用信息音"), ("16", "正常的呼叫拆线"), ("17", "用户忙"),
    ("18", "用户未响应"), ("19", "用户未应答"), ("20", "用户缺席"), ("21", "呼叫拒收"), ("22", "号码改变"),
    ("27", "目的地不可达"), ("28", "无效的号码格式 (地址不全)"), ("29", "性能拒绝"), ("31", "正常—未指定"),
    ("34", "无电路/通路可用"), ("42", "交换设备拥塞"), ("50", "所请求的性能未预定"), ("53", "CUG 中限制去呼叫"),
    ("55", "CUG 中限制来呼叫"), ("57", "承载能力无权 (被叫手机号码未开通呼叫权限)"), ("58", "承载能力目前不可用"),
    ("65", "承载能力未实现"), ("69", "所请求的性能未实现"), ("87", "被叫用户不是 CUG 的成员"),
    ("88", "不兼容的目的地"), ("90", "不存在的 CUG"), ("91", "无效的转接网选择"), ("95", "无效的消息, 未指定"),
    ("97", "消息类型不存在或未实现"), ("99", "参数不存在或未实现"), ("102", "定时器终了时恢复"),
    ("103", "参数不存在或未实现—传递"), ("110", "消息带有未被识别的参数—舍弃"), ("111", "协议错误, 未指定"),
    ("127", "互通, 未指定"), ("202", "用户忙, MSRN 获取失败, 平台挂机"), ("203", "用户去活, 平台挂机"),
    ("204", "用户在平台侧关机，平台挂机"), ("205", "用户未开户，平台挂机"), ("206", "小号不允许呼叫，平台挂机"),
    ("207", "主号拨打小号，平台挂机"), ("209", "主叫打小号带原始被叫，平台挂机"),
]
RESULT_MEANING = dict(RESULTS)


def result_vectors():
    out = []
    for i, (r, meaning) in enumerate(RESULTS):
        line = 262 + i if i < 39 else 263 + i   # line 301 is blank
        out.append({"result": r, "meaning": meaning, "answered": r == "answered",
                    "platform_hangup": meaning.endswith("平台挂机"),
                    "source": seed(line, "%s	%s" % (r, meaning))})
    return out


# ---------------------------------------------------------------------------------------
# (f) userData: "用户数据(建议 base64 编码)" — decode only strict base64 (standard alphabet,
# padding required) whose bytes are UTF-8; anything else is kept raw.
# ---------------------------------------------------------------------------------------
def user_data_text(raw):
    if raw is None or raw == "":
        return None
    try:
        data = base64.b64decode(raw, validate=True)
        return data.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


UD_SRC = seed(147, "userData	否	string	用户数据(建议 base64 编码), CDR 回执时返回")
USER_DATA = [
    ("base64_utf8_chinese", base64.b64encode("你好，世界".encode("utf-8")).decode(), "base64 of UTF-8"),
    ("base64_with_plus_and_slash", USER_B64, "base64 whose text has + and /: percent-encoded in a form"),
    ("base64_json", base64.b64encode(json.dumps({"order": "A-1", "用户": "张三"}, ensure_ascii=False)
                                     .encode("utf-8")).decode(), "base64 of a JSON text"),
    ("base64_ascii", "dGVzdA==", "base64 of 'test'"),
    ("plain_text", "not base64!", "not base64: kept raw"),
    ("base64_of_binary", "//79", "valid base64 of bytes ff fe fd, not UTF-8: kept raw"),
    ("looks_like_a_word", "abcd", "valid base64 (69 b7 1d), not UTF-8: kept raw"),
    ("unpadded", "dGVzdA", "missing '=' padding: strict decoding refuses, kept raw (see ambiguities)"),
]


def user_data_vectors():
    out = []
    for name, raw, what in USER_DATA:
        text = user_data_text(raw)
        out.append({"name": name, "raw": raw, "form_pair": "userData=" + enc(raw),
                    "json_pair": json.dumps({"userData": raw}, ensure_ascii=False),
                    "decoded_text": text, "kept_raw": text is None, "what": what,
                    "source": UD_SRC + "; " + seed(255, "userData	否	string	用户数据")})
    assert [c["kept_raw"] for c in out] == [False] * 4 + [True] * 4
    return out


AMBIGUITIES = [
    {"point": "the seed's example signature", "reading": "its authkey is not given (line 85): only the header's "
     "shape can be checked; signature vectors use our own keys with the seed's formula (lines 79, 81, 93)"},
    {"point": "three minutes", "reading": "line 75 '三分钟内' (within three minutes) is applied both ways: a "
     "timestamp more than 180000 ms before or after the platform's clock is refused (401); exactly 180000 passes"},
    {"point": "a repeated reqid", "reading": "answered 1004 (line 45 '重复提交'); the reply's subid is optional "
     "(line 154 '否') and nothing says a 1004 carries it, so the vectors' 1004 has none: the binding then runs "
     "out by its TTL. The simulator can add it (--subid-on-duplicate)"},
    {"point": "XA subid", "reading": "the XA bind reply has error and reason only (lines 206-208) but every CDR "
     "carries a subid (line 244 '是'): the platform's own id for the transfer, which the customer learns first "
     "from a callback; XA is released by x (line 216), not by subid"},
    {"point": "unknown appid", "reading": "the seed has no code for it; 1002 (bad parameters) is the reading"},
    {"point": "releasing what is not there", "reading": "a subid never bound, already released or expired, and an "
     "x without a transfer, answer 1300 '资源不存在' (rather than 1200 '任务不存在'); an agent should treat "
     "either as 'already released'"},
    {"point": "AXB ttl = 0", "reading": "only XA defines 0 as forever (line 201); an AXB needs ttl >= 1 (1002)"},
    {"point": "number conflicts", "reading": "an AXB whose A or B is already bound on the same x, or any bind on an "
     "x that has a transfer, answers 1302 '资源配置冲突'"},
    {"point": "callback answers and retries", "reading": "neither document says what the customer answers or "
     "whether the platform retries; the simulator retries until HTTP 200 (the digest advises 200 with "
     "{\"error\":0} after the commit)"},
    {"point": "cross-references", "reading": "lines 190 and 219 say '参考 2.3 节' (there is no 2.3: the Keytime "
     "header of 2.1 is meant); line 248 says result values are '见 3.5 节' (they are in 5.2)"},
    {"point": "DELETE parameters", "reading": "lines 166-168 say form-urlencoded yet 'parameters must be in the "
     "URI': they go in the query string, and a body is not read"},
    {"point": "display", "reading": "AXB display is a string 'a,b' (line 144), XA display an integer 0/1 (line 200)"},
    {"point": "callTime", "reading": "line 321 '开始时间戳' is the same words as the CDR's beginTime (line 249)"},
    {"point": "userData decoding", "reading": "'建议 base64 编码' (recommended, not required): decode only strict "
     "base64 (standard alphabet, padding) that is UTF-8; otherwise keep the raw value; unpadded base64 is kept raw"},
    {"point": "JSON callback types", "reading": "JSON bodies use the seed's types (integer fields as numbers, "
     "releasedir and result as strings); a receiver should also accept numbers written as strings"},
    {"point": "vendor extras", "reading": "both callback tables end with '其它参数 … 具体业务相关' (lines 257, 324): "
     "unknown fields are kept; the simulator adds bindtype and calldisplay"},
]


def main():
    sigs, seed_example, freshness = signature_vectors()
    doc = {
        "made_by": "tests/vectors/make_privacy_vectors.py, written from the digest /work/shared/specs/"
                   "privacy-number.md and the seed 002_26cfe526b07b9f0d.txt alone, by an independent reader who "
                   "never saw the agent's Rust code. Python standard library only.",
        "conventions": {
            "account": {"devid": DEVID, "authkey": AUTHKEY, "appid": APPID},
            "form_encoding": "UTF-8, Java URLEncoder style: A-Z a-z 0-9 . - * _ kept, space '+', other bytes %XX",
            "signature": "lowercase_hex(sha256(authkey + decimal ts_ms))[24:40]",
            "fresh_ms": 180000,
            "source": SIG_SRC,
        },
        "signatures": sigs,
        "seed_example_header": seed_example,
        "freshness": freshness,
        "requests": request_vectors(),
        "refused_requests": [{"name": n, "method": "PUT", "path": "/igw/service/uc/interline/" + X,
                              "body": form(p), "error": code, "source": src} for n, p, code, src in REFUSED_REQUESTS],
        "errors": error_vectors(),
        "replies": reply_vectors(),
        "callbacks": callback_vectors(),
        "results": result_vectors(),
        "user_data": user_data_vectors(),
        "ambiguities": AMBIGUITIES,
    }
    assert len(doc["errors"]) == 23 and len(doc["results"]) == 44
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=2)
        f.write("\n")
    print("wrote", OUT, "(seed lines checked)" if SEED_LINES else "(seed not found: quotes unchecked)")


if __name__ == "__main__":
    main()
