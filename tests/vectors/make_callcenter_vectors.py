#!/usr/bin/env python3
"""Known-answer vectors for the cloud call-center OpenAPI V2.0.x (voice verification codes,
agents, click-to-call, outbound call tasks, recordings, CDR) and for the verifier of its
notifications (callbacks), written from the documents alone by an independent reader who
never saw the agent's Rust code:

  * digest:  /work/shared/specs/callcenter-openapi.md
  * seed:    /work/shared/seeds/003_3a3c54df16d25bfe.txt (a badly OCR-ed Chinese document:
             JSON, URLs and field names survived, the prose did not)

Writes tests/vectors/callcenter.json next to this script.  Deterministic (fixed inputs, no
clock, no randomness); Python 3 standard library only (hashlib, json, datetime).  When the
seed file is present, every quoted seed line is checked against it before writing.

Every case carries "source": "digest §…" (a quote of the digest) or "seed line N: …" (line
numbers of the seed file above, quoted verbatim, OCR damage included).  Where the documents
are silent or disagree, the point goes into "ambiguities" with the reading recommended.

What the seed adds to / says against the digest (details in "ambiguities"):
  * line 27 writes the authentication example with bare numbers (`timestamp: 1471918933001,
    seq: 5271`) while lines 118-119 and the digest quote them: send strings, accept both.
  * lines 24/32/34 spell the apikey with OCR damage (O for 0, A for 4, "9IF"); the value
    used is the digest's E416D0F85DC0CB67C85E070A32D9F0123AFF4762.
  * the seed has no error-code table at all: only "error 0 = success" (lines 178, 186).
  * getRecordsList: table says record `type` is 0/1 (lines 2031-2032) but the example has
    "4" (line 2013); record startTime is epoch SECONDS (line 2015 "1505992923"), while CDR
    answerTime is "YYYY-MM-DD HH:MM:SS" (line 2472) — two time formats, no time zone given.
  * getCdrList: no version list (lines 2342-2344 only show V2.0.1 as the example); the request
    example leaves startTime/endTime empty (lines 2384, 2388), so their format is not shown;
    `total` "4" with only two items shown; the example lacks `result` and `filename`.
  * getAgentInfo: listed as "getAgentinfo (x=6)" (line 432) but its request example shows the
    URL of getAgentStatus (line 451), a copy-paste slip in the seed.
  * which calls carry `authentication.agent`: the examples put it in AgentQueryStatus,
    getAgentStatus, getAgentInfo, AgentLogin/Logout/SetBusy/SetIdle, CallTaskCreate/Query/
    Control/AddNumbers, but NOT in VoiceVerify (115-119), CallNumber (977-981), HangupCall
    (1085-1091), getRecordsList (1962-1966) nor getCdrList (2350-2362).
  * untyped notification (section 19): `agent` is marked N (optional, line 1933) and the
    direction values are listed in the other order ("1 …, 0 …", line 1935).
  * taskinfo notifications carry `seq` (line 2602) — the digest's table omits it.
  * lang is spelled "zh_CH|en_US" (line 146) and "en US" (line 2367): OCR/typo of zh_CN/en_US.
  * multiplier is "Number(1<a<5)" (line 1238); the digest reads 1–5 inclusive.
  * CallTaskControl action "Start(...) | stop(...)" (line 1504): capital S at a cell start.
"""

import datetime
import hashlib
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "callcenter.json")
SEED = "/work/shared/seeds/003_3a3c54df16d25bfe.txt"
SEED_LINES = []
if os.path.exists(SEED):
    with open(SEED, encoding="utf-8") as f:
        SEED_LINES = f.read().split("\n")


def seed(line, text):
    """A source string quoting seed line `line`, checked against the seed when present."""
    if SEED_LINES:
        assert text in SEED_LINES[line - 1], (line, text, SEED_LINES[line - 1])
    return "seed line %d: %s" % (line, text)


def digest_src(text):
    return "digest %s" % text


def md5hex(text):
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def dig(customer, timestamp, seq, apikey):
    return md5hex("%s@%s@%s@%s" % (customer, timestamp, seq, apikey))


def compact(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


SEED_CUSTOMER, SEED_TS, SEED_SEQ = "C2", "1471918933001", "5271"
SEED_APIKEY = "E416D0F85DC0CB67C85E070A32D9F0123AFF4762"
OTHER_APIKEY = "0123456789ABCDEF0123456789ABCDEF01234567"

DIGEST_FORMULA_SRC = (
    digest_src("§Transport: `digest = md5hex(customer + \"@\" + timestamp + \"@\" + seq + \"@\" + apikey)`")
    + "; " + seed(20, "MD5(<customer> + “@” + <timestamp> + “@” + <seq> + “@” + )"))
SEED_EXAMPLE_SRC = (
    seed(24, "E416DOF85DCOCB67C85E070A32D9F0123AFF4762") + " (OCR: O for 0); "
    + seed(32, "C2@1471918933001@5271@E416D0F85DCOCB67C85E070A32D9F0123AFFA762") + " (OCR: O for 0, A for 4); "
    + digest_src("§Transport: `md5(\"C2@1471918933001@5271@E416D0F85DC0CB67C85E070A32D9F0123AFF4762\")`"))

# =======================================================================================
# (a) digests
# =======================================================================================


def digest_vectors():
    cases = [
        (SEED_CUSTOMER, SEED_TS, SEED_SEQ, SEED_APIKEY, "the seed's own example", SEED_EXAMPLE_SRC),
        ("SCCC-test", "1471918933001", "5271", SEED_APIKEY, "customer with '-' (the seed's CallTaskControl example)",
         seed(1449, "\"customer\": \"SCCC-test\",") + "; " + seed(7, "[A-Za-z0-9-_]")),
        ("cust_01-a_B", "1715000000123", "98765432109876543210", OTHER_APIKEY,
         "customer with '-' and '_', 20-digit seq (fits no u64: seq is text)",
         seed(7, "[A-Za-z0-9-_]") + "; " + digest_src("§Transport: `seq` (unique per request, increasing)")),
        ("C2", "1700000000000", "1", SEED_APIKEY, "one-digit seq", DIGEST_FORMULA_SRC),
        ("C2", "1700000000000", "18446744073709551616", SEED_APIKEY, "seq = 2^64 (21 digits): kept as text",
         DIGEST_FORMULA_SRC),
        ("a", "0", "0", "k", "shortest values (timestamp 0)", DIGEST_FORMULA_SRC),
        ("__--__", "9999999999999", "000123", SEED_APIKEY, "customer of '_' and '-' only; seq with leading zeros "
         "is hashed as written (no number normalisation)", seed(7, "[A-Za-z0-9-_]")),
        (SEED_CUSTOMER, SEED_TS, SEED_SEQ, SEED_APIKEY.lower(),
         "the seed example with the apikey lower-cased: a different digest (the apikey is hashed byte for byte)",
         DIGEST_FORMULA_SRC),
    ]
    out = []
    for customer, ts, seq, key, what, src in cases:
        text = "%s@%s@%s@%s" % (customer, ts, seq, key)
        d = md5hex(text)
        assert d == dig(customer, ts, seq, key) and len(d) == 32 and d == d.lower()
        out.append({"customer": customer, "timestamp": ts, "seq": seq, "apikey": key, "hashed_text": text,
                    "digest": d, "digest_upper": d.upper(), "what": what, "source": src})
    assert out[0]["digest"] != out[-1]["digest"]
    return out


# =======================================================================================
# (b) versions
# =======================================================================================
ALL5 = [1, 2, 3, 4, 6]
VERSIONS = [
    # (api, minors, source)
    ("VoiceVerify", ALL5, seed(111, "http://ip:port/openapi/V2.0.x/VoiceVerify (x=1,2,3,4,6)")),
    ("AgentQueryStatus", ALL5, seed(219, "http://ip:port/openapi/V2.0.x/AgentQueryStatus (x=1,2,3,4,6)")),
    ("getAgentStatus", ALL5, seed(320, "http://ip:port/openapi/V2.0.x/getAgentStatus (x=1,2,3,4,6)")),
    ("getAgentInfo", [6], seed(432, "http://ip:port/openapi/V2.0.x/getAgentinfo (x=6)")
     + "; " + digest_src("§Transport: `getAgentInfo only 6`")),
    ("AgentLogin", ALL5, seed(570, "http://ip:port/openapi/V2.0.x/AgentLogin") + "; " + seed(590, "(x=1,2,3,4,6)")),
    ("AgentLogout", ALL5, seed(673, "http://ip:port/openapi/V2.0.x/AgentLogout (x=1,2,3,4,6)")),
    ("AgentSetBusy", ALL5, seed(804, "(x=1,2,3,4,6)") + " (beside the AgentSetBusy URL, line 805)"),
    ("AgentSetIdle", ALL5, seed(866, "http://ip:port/openapi/V2.0.x/AgentSetldle (x=1,2,3,4,6)") + " (OCR: l for I)"),
    ("CallNumber", ALL5, seed(966, "http://ip:port/openapi/V2.0.x/CalINumber (x=1,2,3,4,6)") + " (OCR: I for l)"),
    ("HangupCall", ALL5, seed(1110, "(X: 112131416)") + " (OCR of (x=1,2,3,4,6))"),
    ("CallTaskCreate", ALL5, seed(1173, "http://ip:port/openapi/V2.0.x/CallTaskCreate (x=1,2,3,4,6)")),
    ("CallTaskQuery", ALL5, seed(1334, "http://ip:port/openapi/V2.0.x/CallTaskQuery (x=1,2,3,4,6)")),
    ("CallTaskControl", ALL5, seed(1443, "http://ip:port/openapi/V2.0.x/CallTaskControl  (x=1,2,3,4,6)")),
    ("CallTaskAddNumbers", ALL5, seed(1563, "[ITaskAddNumbers (x=1,2,3,4,6)")),
    ("getRecordsList", [4, 6], seed(1958, "http://ip:port/openapi/V2.0.x/getRecordsList (x=4,6)")),
    ("getCdrList", ALL5, seed(2342, "http://ip:port/openapi/V2.0.x/getCdrList") + "; "
     + seed(2344, "http://ip:port/openapi/V2.0.1/getCdrList)")
     + " (no x= list for getCdrList; its own example uses V2.0.1; read as the common list, see ambiguities)"),
]
SUPPORTED = {api: minors for api, minors, _ in VERSIONS}


def version_vectors():
    supported = [{"api": api, "minors": minors, "versions": ["V2.0.%d" % m for m in minors], "source": src}
                 for api, minors, src in VERSIONS]
    checks = []
    for api, version in [
        ("VoiceVerify", "V2.0.6"), ("VoiceVerify", "V2.0.1"), ("VoiceVerify", "V2.0.5"), ("VoiceVerify", "V2.0.7"),
        ("getAgentInfo", "V2.0.6"), ("getAgentInfo", "V2.0.4"), ("getAgentInfo", "V2.0.1"),
        ("getRecordsList", "V2.0.4"), ("getRecordsList", "V2.0.6"), ("getRecordsList", "V2.0.3"),
        ("getRecordsList", "V2.0.1"), ("CallNumber", "V2.0.2"), ("CallTaskAddNumbers", "V2.0.3"),
        ("AgentLogin", "V2.0.0"), ("getCdrList", "V2.0.1"), ("getCdrList", "V2.0.6"), ("HangupCall", "V2.0.5"),
    ]:
        minor = int(version.rsplit(".", 1)[1])
        ok = minor in SUPPORTED[api]
        src = [s for a, _, s in VERSIONS if a == api][0]
        checks.append({"api": api, "version": version, "path": "/openapi/%s/%s" % (version, api),
                       "supported": ok, "source": src})
    return {
        "default": "V2.0.6",
        "default_source": digest_src("§Transport: `version configurable, default V2.0.6`"),
        "note": "V2.0.5 appears in no list; V2.0.6 (the default) supports every API",
        "supported": supported,
        "checks": checks,
    }


# =======================================================================================
# (c) envelopes: the request a client sends
# =======================================================================================
HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
HEADERS_SRC = seed(62, "Accept: application/json") + "; " + seed(64, "Content-Type: application/json")
PARAM = {"debug": "true", "lang": "en_US"}
PARAM_SRC = seed(125, "\"debug\": \"true\",") + "; " + seed(126, "\"lang\": \"en_US\"")


def loose_paths(value, prefix=""):
    """Paths of string scalars that are all digits (or param.debug): the seed's tables call
    them Number/Bool, so a JSON number (bool) with the same text is an acceptable spelling."""
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            out += loose_paths(v, prefix + ("." if prefix else "") + k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += loose_paths(v, "%s[%d]" % (prefix, i))
    elif isinstance(value, str) and (value.isdigit() or prefix == "param.debug") and \
            prefix.rsplit(".", 1)[-1] not in ("digest", "userData", "taskName", "customer"):
        out.append(prefix)
    return out


def envelope(name, api, version, customer, apikey, ts, seq, agent, param, request, source, batched=False,
             what=""):
    auth = {"customer": customer, "timestamp": ts, "seq": seq, "digest": dig(customer, ts, seq, apikey)}
    if agent is not None:
        auth["agent"] = agent
    body = {"authentication": auth}
    if param is not None:
        body["param"] = param
    body["requests" if batched else "request"] = request
    path = "/openapi/%s/%s" % (version, api)
    assert int(version.rsplit(".", 1)[1]) in SUPPORTED[api], (api, version)
    return {
        "name": name, "api": api, "version": version, "method": "POST", "path": path,
        "url_example": "http://ip:port" + path, "headers": HEADERS,
        "inputs": {"customer": customer, "apikey": apikey, "timestamp": ts, "seq": seq, "agent": agent,
                   "param": param, "batched": batched, ("requests" if batched else "request"): request},
        "digest_input": "%s@%s@%s@%s" % (customer, ts, seq, apikey),
        "body": body,
        "body_text": compact(body),
        "loose": loose_paths(body),
        "what": what,
        "source": source + "; " + HEADERS_SRC,
    }


def envelope_vectors():
    out = []
    out.append(envelope(
        "voiceverify_seed_auth", "VoiceVerify", "V2.0.6", SEED_CUSTOMER, SEED_APIKEY, SEED_TS, SEED_SEQ, None, PARAM,
        {"seq": "1", "userData": "order-42", "callee": "13800000001", "verifyCode": "4096", "playTimes": "3"},
        seed(111, "VoiceVerify (x=1,2,3,4,6)") + "; " + seed(118, "\"seq\": \"5271\",") + "; "
        + seed(119, "\"timestamp\": \"1471918933001\"") + " (no agent in lines 115-119); "
        + seed(154, "verifyCode Y RS Number|length[3-8]") + "; " + seed(156, "playTimes N R Number |1-5|default:3"),
        what="authentication is the seed's own example (no agent): its digest is the seed's digest"))
    out.append(envelope(
        "voiceverify_default_playtimes", "VoiceVerify", "V2.0.1", "C2", SEED_APIKEY, "1700000000000", "5272", None,
        {"debug": "false", "lang": "zh_CN"},
        {"seq": "2", "userData": "", "callee": "02088886666", "verifyCode": "12345678"},
        seed(156, "playTimes N R Number |1-5|default:3") + " (playTimes omitted: the platform's default 3); "
        + seed(146, "zh_CH|en_US") + " (read zh_CN)",
        what="optional playTimes left out; 8-digit code; landline callee"))
    out.append(envelope(
        "agentlogin", "AgentLogin", "V2.0.6", "C2", SEED_APIKEY, "1700000000001", "5273", "1000", PARAM,
        {"seq": "3", "userData": "shift-a", "agent": "1000"},
        seed(570, "http://ip:port/openapi/V2.0.x/AgentLogin") + "; lines 574-599 (authentication.agent \"1000\", "
        "request agent/seq/userData); " + seed(269, "agent Y A TS Number|length[1-8]"),
        what="agent-level call: authentication.agent present (not part of the digest)"))
    out.append(envelope(
        "getagentstatus", "getAgentStatus", "V2.0.4", "SCCC-test", OTHER_APIKEY, "1700000000002", "5274", "1000",
        PARAM, {"seq": "4", "userData": "", "agent": "1000"},
        seed(320, "getAgentStatus (x=1,2,3,4,6)") + "; lines 326-344 (authentication.agent and request.agent "
        "both \"1000\")",
        what="customer with '-', another apikey"))
    out.append(envelope(
        "callnumber", "CallNumber", "V2.0.6", "C2", SEED_APIKEY, "1700000000003", "5275", None, PARAM,
        {"seq": "5", "userData": "ticket-9", "agent": "1000", "callee": "13800000002"},
        seed(975, "http://ip:port/openapi/V2.0.x/CallNumber") + "; lines 977-981 (authentication without agent); "
        + seed(995, "\"agent\": \"\",") + "; " + seed(1016, "callee \\ S, FEMPKSES | Number"),
        what="click-to-call: the agent travels in the request, not in authentication (as in the seed's example)"))
    out.append(envelope(
        "calltaskcreate_mode2", "CallTaskCreate", "V2.0.6", "C2", SEED_APIKEY, "1700000000004", "5276", "1000", PARAM,
        {"seq": "6", "userData": "campaign-7", "agent": "1000", "taskName": "renewals",
         "callers": ["02088880001", "02088880002"], "callees": ["13800000011", "13800000012", "13800000013"],
         "mode": "2", "multiplier": "1"},
        seed(1173, "CallTaskCreate (x=1,2,3,4,6)") + "; lines 1177-1210; " + seed(1232, "callees Y LRSI Array % 1000")
        + "; " + seed(1234, "callers N ERCRSILYIIFS Array % 100") + "; " + seed(1236, "mode Y I L] 5 Number(2|5)")
        + "; " + seed(1238, "multiplier N Iy 35 Number(1<a<5)"),
        what="callees/callers are JSON arrays of strings"))
    out.append(envelope(
        "calltaskcreate_mode5", "CallTaskCreate", "V2.0.3", "C2", SEED_APIKEY, "1700000000005", "5277", "1001", None,
        {"seq": "7", "userData": "", "agent": "1001", "taskName": "", "callers": ["02088880003"],
         "callees": ["13800000021"], "mode": "5"},
        seed(1236, "mode Y I L] 5 Number(2|5)") + "; " + seed(1248, "W Mode 384 5, callers")
        + " (a rule for callers when mode is 5; unreadable); " + seed(141, "Param I iB:  (A[ik)")
        + " (param optional: left out here)",
        what="mode 5, multiplier left to its default, no param object"))
    out.append(envelope(
        "calltaskaddnumbers", "CallTaskAddNumbers", "V2.0.3", "C2", SEED_APIKEY, "1700000000006", "5278", "1000",
        PARAM, {"seq": "8", "userData": "", "taskID": "10086", "agent": "1000",
                "callees": ["13800000031", "13800000032"]},
        seed(1563, "[ITaskAddNumbers (x=1,2,3,4,6)") + "; lines 1567-1592; " + seed(1589, "\"taskiD\": \"\",")
        + " (OCR of taskID); " + seed(1610, "taskID Y f£% 1D Number") + "; "
        + seed(1614, "callees \\ Heny -5-p5 AMEr S Array % 1000"),
        what="taskID spelled with capital ID as in the digest and seed line 1610"))
    out.append(envelope(
        "getrecordslist_next_page", "getRecordsList", "V2.0.4", "C2", SEED_APIKEY, "1700000000007", "5279", None,
        PARAM, {"seq": "9", "startKey": "1"},
        seed(1958, "getRecordsList (x=4,6)") + "; lines 1962-1978 (no agent, request seq + startKey only); "
        + seed(1987, "startKey Int Y HUA id") + "; " + seed(2038, "startKey;")
        + " (the last key seen, \"1\" in the seed's reply, is the next startKey)",
        what="the request of the page after the seed's reply (its last key is \"1\"); no userData in the seed's "
             "request"))
    out.append(envelope(
        "getrecordslist_first_page", "getRecordsList", "V2.0.6", "C2", SEED_APIKEY, "1700000000008", "5280", None,
        PARAM, {"seq": "10", "startKey": "0"},
        seed(1978, "\"startKey\": \"\",") + "; " + seed(1987, "startKey Int Y HUA id")
        + " (required; the first page's value is not given: \"0\" read as 'from the beginning', see ambiguities)",
        what="first page"))
    out.append(envelope(
        "getcdrlist_time_window", "getCdrList", "V2.0.6", "C2", SEED_APIKEY, "1700000000009", "5281", None, PARAM,
        {"seq": "123", "userData": "123", "agent": ["8000"], "serviceType": "5",
         "startTime": "2018-09-10 00:00:00", "endTime": "2018-09-10 23:59:59"},
        seed(2372, "“userData”: 7123”7") + "; " + seed(2373, "“seq”: 71237,") + "; "
        + seed(2375, "“agent”: [78000”") + " (a list); " + seed(2380, "serviceType™ :\" 7,") + "; "
        + seed(2384, "“startTime”:””,") + " (format not shown: the CDR's own answerTime format "
        + seed(2472, "\"answerTime\": \"2018-09-10 14:39:20\",") + " is used)",
        what="the seed's example values (seq/userData \"123\", agent [\"8000\"]), a one-day window"))
    out.append(envelope(
        "getcdrlist_all_filters", "getCdrList", "V2.0.1", "C2", SEED_APIKEY, "1700000000010", "5282", None, PARAM,
        {"seq": "124", "userData": "", "agent": ["8000", "8001"], "serviceType": "1",
         "startTime": "2018-09-01 00:00:00", "endTime": "2018-09-30 23:59:59", "caller": "15612343021",
         "callee": "13770761337", "timeLengthMin": "5", "timeLengthMax": "600"},
        seed(2344, "http://ip:port/openapi/V2.0.1/getCdrList)") + "; lines 2371-2404 (every filter); "
        + seed(2440, "timeLengthMin") + "; " + seed(2441, "timeLengthMax"),
        what="every filter, two agents, V2.0.1 as in the seed's example URL"))
    out.append(envelope(
        "voiceverify_batched", "VoiceVerify", "V2.0.6", "C2", SEED_APIKEY, "1700000000011", "5283", None, PARAM,
        [{"seq": "11", "userData": "a", "callee": "13800000041", "verifyCode": "111", "playTimes": "1"},
         {"seq": "12", "userData": "b", "callee": "13800000042", "verifyCode": "22222", "playTimes": "5"}],
        digest_src("§Transport: `One call may carry \"requests\":[…] instead of \"request\"`") + "; lines 58-60 "
        "(request / requests, OCR); " + seed(217, "response 4%, ¥4 B e responses 3"),
        batched=True, what="two requests in one HTTP call: `requests` array, one authentication"))
    return out


# =======================================================================================
# (d) limits
# =======================================================================================
def phones(n, base=13800000000):
    return [str(base + i) for i in range(n)]


def limit_vectors():
    L = []

    def add(api, field, value, valid, what, src):
        c = {"api": api, "field": field, "value": value, "valid": valid, "what": what, "source": src}
        if isinstance(value, list):
            c["count"] = len(value)
        elif isinstance(value, str):
            c["length"] = len(value)
        L.append(c)

    agent_src = seed(269, "agent Y A TS Number|length[1-8]")
    for v, ok, what in [("1", True, "1 digit"), ("12345678", True, "8 digits"), ("123456789", False, "9 digits"),
                        ("", False, "empty (required)"), ("10a0", False, "not digits"), ("-100", False, "sign"),
                        ("1000", True, "the seed's example")]:
        add("AgentLogin", "agent", v, ok, what, agent_src)
    add("CallNumber", "agent", "99999999", True, "8 digits", seed(1015, "agent Y AT S Number|length[1-8]"))
    add("HangupCall", "agent", "123456789", False, "9 digits", seed(1122, "agent Y AARE 145 Number (1-8)"))

    vc = seed(154, "verifyCode Y RS Number|length[3-8]")
    for v, ok, what in [("123", True, "3 digits"), ("12", False, "2 digits"), ("12345678", True, "8 digits"),
                        ("123456789", False, "9 digits"), ("12a4", False, "not digits"), ("", False, "empty"),
                        ("0000", True, "leading zeros are digits")]:
        add("VoiceVerify", "verifyCode", v, ok, what, vc)

    pt = seed(156, "playTimes N R Number |1-5|default:3")
    for v, ok, what in [("0", False, "below 1"), ("1", True, "lower bound"), ("3", True, "the default"),
                        ("5", True, "upper bound"), ("6", False, "above 5"), (None, True, "absent: default 3")]:
        add("VoiceVerify", "playTimes", v, ok, what, pt)

    md = seed(1236, "mode Y I L] 5 Number(2|5)")
    for v, ok in [("2", True), ("5", True), ("1", False), ("3", False), ("4", False), ("", False)]:
        add("CallTaskCreate", "mode", v, ok, "mode is 2 or 5", md)

    mu = seed(1238, "multiplier N Iy 35 Number(1<a<5)") + " + " + digest_src("§Calls: `multiplier` 1–5 (default 1)")
    for v, ok, what in [("0", False, "below 1"), ("1", True, "lower bound (inclusive, digest)"),
                        ("5", True, "upper bound (inclusive, digest)"), ("6", False, "above 5"),
                        (None, True, "absent: default 1")]:
        add("CallTaskCreate", "multiplier", v, ok, what, mu)

    ud30 = seed(267, "userData N R K String(30)")
    ud100 = seed(160, "string fx K 100") + " + " + digest_src("§Calls: `userData` ≤ 30 chars — VoiceVerify allows 100")
    add("AgentLogin", "userData", "u" * 30, True, "30 ASCII characters", ud30)
    add("AgentLogin", "userData", "u" * 31, False, "31 ASCII characters", ud30)
    add("CallNumber", "userData", "", True, "empty", seed(1013, "userData N FH P Hdis String(30)"))
    add("CallTaskCreate", "userData", "x" * 31, False, "31 ASCII characters", seed(1225, "userData N SRR E String(30)"))
    add("VoiceVerify", "userData", "v" * 100, True, "100 ASCII characters (VoiceVerify)", ud100)
    add("VoiceVerify", "userData", "v" * 101, False, "101 ASCII characters (VoiceVerify)", ud100)
    add("VoiceVerify", "userData", "v" * 31, True, "31 characters are fine for VoiceVerify", ud100)

    ce = seed(1232, "callees Y LRSI Array % 1000")
    add("CallTaskCreate", "callees", phones(1000), True, "1000 numbers", ce)
    add("CallTaskCreate", "callees", phones(1001), False, "1001 numbers", ce)
    add("CallTaskCreate", "callees", [], False, "empty (required)", ce)
    add("CallTaskCreate", "callees", phones(1), True, "one number", ce)
    ca = seed(1614, "callees \\ Heny -5-p5 AMEr S Array % 1000")
    add("CallTaskAddNumbers", "callees", phones(1000, 13900000000), True, "1000 numbers", ca)
    add("CallTaskAddNumbers", "callees", phones(1001, 13900000000), False, "1001 numbers", ca)
    cr = seed(1234, "callers N ERCRSILYIIFS Array % 100")
    add("CallTaskCreate", "callers", phones(100, 2088880000), True, "100 numbers", cr)
    add("CallTaskCreate", "callers", phones(101, 2088880000), False, "101 numbers", cr)
    add("CallTaskCreate", "callers", None, True, "absent (optional)", cr)

    cu = seed(7, "[A-Za-z0-9-_]")
    for v, ok, what in [("C2", True, "the seed's"), ("SCCC-test", True, "'-'"), ("cust_01-a_B", True, "'-' and '_'"),
                        ("C 2", False, "space"), ("C2!", False, "'!'"), ("C2@x", False, "'@' would break the digest "
                        "text"), ("", False, "empty")]:
        add("authentication", "customer", v, ok, what, cu)
    return L


# =======================================================================================
# (e) replies: raw bodies and what a lenient parser extracts.
# =======================================================================================
# Extraction rules (also in conventions.replies):
#  * outer {error:int, msg:str}: error given as a number or a decimal string; msg "" when absent.
#  * data_seq: data.seq as text (a number's decimal text), null when absent.
#  * responses: [data.response] or data.responses; each: seq (text or null), userData (text, null
#    when absent or null), error (int), msg ("" when absent), ok (outer error 0 and this error 0),
#    fields (the API's documented fields, every scalar as text: numbers by their JSON text, e.g.
#    0.06 -> "0.06"), extra (every other key of the response object, raw JSON value, kept).
#  * getRecordsList "record" and getCdrList "total"/"cdr" are read from the response or, when
#    not there, from data beside it; "edr" is read as "cdr".  List items keep every key.
API_FIELDS = {
    "getAgentStatus": ["workStatus", "serverStatus"],
    "getAgentInfo": ["data"],
    "CallTaskCreate": ["taskID", "report"],
    "CallTaskAddNumbers": ["taskID", "report"],
    "CallTaskQuery": ["taskID"],
    "CallTaskControl": ["taskID"],
    "getRecordsList": ["record"],
    "getCdrList": ["total", "cdr"],
}


def as_text(v):
    """Every scalar as text (numbers parsed with their raw JSON text kept), structure kept."""
    if isinstance(v, dict):
        return {k: as_text(x) for k, x in v.items()}
    if isinstance(v, list):
        return [as_text(x) for x in v]
    if v is None:
        return None
    if v is True or v is False:
        return "true" if v else "false"
    return v  # already text: see raw_loads


class Num(str):
    """Marks a number parsed from JSON (its raw text)."""


def raw_loads(text):
    return json.loads(text, parse_int=Num, parse_float=Num)


def to_int(v):
    if v is None:
        return None
    return int(str(v).strip())


def reference_parse(api, body):
    """A small lenient parser used only to cross-check the hand-written expectations."""
    raw = raw_loads(body)
    val = json.loads(body)
    outer = raw.get("result") or {}
    oerr = to_int(outer.get("error"))
    res = {"outer": {"error": oerr, "msg": outer.get("msg") or ""},
           "logs": val.get("logs"), "data_seq": None, "batched": False, "responses": []}
    data_r, data_v = raw.get("data"), val.get("data")
    if isinstance(data_r, dict):
        res["data_seq"] = None if data_r.get("seq") is None else str(data_r.get("seq"))
        if "responses" in data_r:
            res["batched"] = True
            items = list(zip(data_r["responses"], data_v["responses"]))
        elif "response" in data_r:
            items = [(data_r["response"], data_v["response"])]
        else:
            items = []
        for r, v in items:
            rr = r.get("result") or {}
            err = to_int(rr.get("error"))
            known = API_FIELDS.get(api, [])
            fields = {}
            for k in known:
                src_r = r
                key = k
                if k == "cdr" and "cdr" not in r and "edr" in r:
                    key = "edr"
                if key not in r and k in ("record", "total", "cdr"):
                    src_r = data_r
                    if k == "cdr" and "cdr" not in data_r and "edr" in data_r:
                        key = "edr"
                if key in src_r:
                    fields[k] = as_text(src_r[key])
            skip = {"seq", "userData", "result"} | set(known) | ({"edr"} if api == "getCdrList" else set())
            extra = {k: x for k, x in v.items() if k not in skip}
            res["responses"].append({
                "seq": None if r.get("seq") is None else str(r.get("seq")),
                "userData": None if r.get("userData") is None else str(r.get("userData")),
                "error": err, "msg": rr.get("msg") or "",
                "ok": oerr == 0 and err == 0, "fields": fields, "extra": extra})
    res["all_ok"] = oerr == 0 and bool(res["responses"]) and all(x["ok"] for x in res["responses"])
    return res


def resp(seq, user, err, msg="", fields=None, extra=None, outer_ok=True):
    return {"seq": seq, "userData": user, "error": err, "msg": msg, "ok": outer_ok and err == 0,
            "fields": fields or {}, "extra": extra or {}}


def expect(err, msg, logs, data_seq, responses, batched=False):
    return {"outer": {"error": err, "msg": msg}, "logs": logs, "data_seq": data_seq, "batched": batched,
            "responses": responses,
            "all_ok": err == 0 and bool(responses) and all(r["ok"] for r in responses)}


REPLY_SHAPE_SRC = (digest_src("§Transport: Reply `{\"data\":{\"seq\":\"…\",\"response\":{\"seq\":\"…\",\"userData\":\"…\","
                              "\"result\":{\"error\":0,\"msg\":\"\"}, …api fields…}}, \"logs\":\"…\",\"result\":"
                              "{\"error\":0,\"msg\":\"\"}}`; Both must be checked"))


def reply_vectors():
    R = []

    def add(name, api, body, expected, source, optional=False, what=""):
        got = reference_parse(api, body)
        assert got == expected, (name, got, expected)
        c = {"name": name, "api": api, "http_status": 200, "body": body, "expected": expected, "what": what,
             "source": source}
        if optional:
            c["optional"] = True
        R.append(c)

    add("voiceverify_ok", "VoiceVerify",
        '{"data":{"seq":"5271","response":{"seq":"1","userData":"order-42","result":{"error":0,"msg":""}}},'
        '"logs":"","result":{"error":0,"msg":""}}',
        expect(0, "", "", "5271", [resp("1", "order-42", 0)]),
        REPLY_SHAPE_SRC + "; lines 169-174",
        what="success: data.seq echoes authentication.seq, response.seq echoes request.seq")

    add("outer_failure_string_code", "AgentLogin",
        '{"result":{"error":"1002","msg":"digest mismatch"},"data":null,"logs":null}',
        expect(1002, "digest mismatch", None, None, []),
        seed(178, "M Error ¥ 0 FRIRT)") + " (0 = success, anything else a failure; the seed has no code table: "
        "1002 is made up); " + seed(186, "error Y HiRhD Int"),
        what="outer failure, code as a string, data null: no response to read")

    add("outer_failure_no_data_no_msg", "CallNumber",
        '{"result":{"error":7}}',
        expect(7, "", None, None, []),
        seed(97, "\"result\": { \"error\": msg\": \"\" }") + "; msg is optional (N) in the Result table, line 187",
        what="outer failure with nothing but result.error")

    add("inner_failure", "AgentLogin",
        '{\n  "data": {\n    "seq": "5273",\n    "response": {"seq": "3", "userData": "shift-a", '
        '"result": {"error": 1, "msg": "agent not registered"}}\n  },\n  "logs": "",\n  '
        '"result": {"error": 0, "msg": ""}\n}\n',
        expect(0, "", "", "5273", [resp("3", "shift-a", 1, "agent not registered")]),
        REPLY_SHAPE_SRC + "; " + seed(280, "\"response\": { \"seq\": \"\", \"userData\": \"\", \"result\":{\"error\":0}},"),
        what="the HTTP call was accepted (outer 0) but the request failed (inner 1): not ok")

    add("batched_one_failed", "VoiceVerify",
        '{"data":{"seq":"5283","responses":[{"seq":"11","userData":"a","result":{"error":0,"msg":""}},'
        '{"seq":"12","userData":"b","result":{"error":"5","msg":"callee invalid"}}]},'
        '"logs":"","result":{"error":0,"msg":""}}',
        expect(0, "", "", "5283", [resp("11", "a", 0), resp("12", "b", 5, "callee invalid")], batched=True),
        digest_src("§Transport: `the reply then carries \"responses\":[…] instead of \"response\"`") + "; "
        + seed(310, "response 18, B4 B N responses 18"),
        what="one item ok, one failed: per-item verdicts, all_ok false")

    add("getagentstatus_loose_types_and_extras", "getAgentStatus",
        '{"result":{"error":"0","msg":"success"},"data":{"seq":5274,"response":{"seq":4,"userData":null,'
        '"result":{"error":"0"},"workStatus":"ONLINE","serverStatus":"IDLE","skillGroup":"g1",'
        '"loginTime":1700000000}},"logs":null}',
        expect(0, "success", None, "5274",
               [resp("4", None, 0, "", {"workStatus": "ONLINE", "serverStatus": "IDLE"},
                     {"skillGroup": "g1", "loginTime": 1700000000})]),
        seed(379, "\"workStatus\": \"ONLINE\",") + "; " + seed(380, "\"serverStatus\": \"IDLE\",") + "; "
        + seed(503, "\"result\":{\"error\":0}") + " (no msg); "
        + digest_src("§intro: `numbers may arrive as strings and vice versa; unknown fields kept`"),
        what="error as \"0\", seq as numbers, userData null, unknown fields skillGroup/loginTime kept raw")

    add("getagentstatus_busy_ringing", "getAgentStatus",
        '{"data":{"seq":"5275","response":{"seq":"5","userData":"","result":{"error":0,"msg":""},'
        '"workStatus":"BUSY","serverStatus":"RINGING"}},"logs":"","result":{"error":0,"msg":""}}',
        expect(0, "", "", "5275", [resp("5", "", 0, "", {"workStatus": "BUSY", "serverStatus": "RINGING"})]),
        seed(412, "ONLINE 7E £k, BUSY") + "; " + seed(418, "RINGING TR%"),
        what="other status values")

    add("getagentinfo", "getAgentInfo",
        '{"data":{"seq":"5276","response":{"seq":"6","userData":"","result":{"error":0},'
        '"data":[{"id":"1","name":"Alice","staffNo":"1000"},{"id":2,"name":"张三","staffNo":1001},'
        '{"id":"3","name":"","staffNo":"1002","phone":"8001"}]}},"logs":"","result":{"error":0,"msg":""}}',
        expect(0, "", "", "5276",
               [resp("6", "", 0, "", {"data": [{"id": "1", "name": "Alice", "staffNo": "1000"},
                                               {"id": "2", "name": "张三", "staffNo": "1001"},
                                               {"id": "3", "name": "", "staffNo": "1002", "phone": "8001"}]})]),
        seed(509, "\"data\": [") + "; " + seed(519, "{id:\"\", name:\"\", staffNo:\"\"},") + "; "
        + seed(543, "data Y AT A BB Array") + " (a field of response)",
        what="response.data is the agent list (not the outer data); numeric id/staffNo read as text; an "
             "unknown item key kept")

    add("calltaskcreate", "CallTaskCreate",
        '{"data":{"seq":"5277","response":{"seq":"7","userData":"campaign-7","result":{"error":0,"msg":""},'
        '"taskID":10086,"report":{"total":"3","error":1,"repeat":"0"}}},"logs":"","result":{"error":0,"msg":""}}',
        expect(0, "", "", "5277", [resp("7", "campaign-7", 0, "",
                                        {"taskID": "10086", "report": {"total": "3", "error": "1", "repeat": "0"}})]),
        seed(1272, "\"taskIiD\": \"\",") + " (OCR of taskID); " + seed(1273, "\"report\": {") + "; "
        + seed(1274, "\"total\": \"\",") + "; " + seed(1275, "\"error\": \"\",") + "; "
        + seed(1276, "\"repeat\": \"\","),
        what="taskID as a number; report.error is a COUNT of bad numbers, not a failure: the call is ok")

    add("calltaskaddnumbers", "CallTaskAddNumbers",
        '{"data":{"seq":"5278","response":{"seq":"8","userData":"","result":{"error":0,"msg":""},'
        '"taskID":"10086","report":{"total":2,"error":0,"repeat":1}}},"logs":"","result":{"error":0,"msg":""}}',
        expect(0, "", "", "5278", [resp("8", "", 0, "",
                                        {"taskID": "10086", "report": {"total": "2", "error": "0", "repeat": "1"}})]),
        "lines 1626-1640 (taskID, report total/error/repeat); " + seed(1676, "report Y BEH Number")
        + " (OCR of repeat)",
        what="report counts as numbers")

    add("calltaskquery_with_logs", "CallTaskQuery",
        '{"data":{"seq":"5284","response":{"seq":"13","userData":"","result":{"error":0,"msg":""},'
        '"taskID":"10086"}},"logs":"2024-01-01 00:00:00 query ok","result":{"error":0,"msg":""}}',
        expect(0, "", "2024-01-01 00:00:00 query ok", "5284", [resp("13", "", 0, "", {"taskID": "10086"})]),
        seed(1392, "\"response\": { \"seq\": \"\", \"userData\": \"\", \"result\":\"\", \"taskID\": \"\"},")
        + "; " + digest_src("§Transport: `debug` (bool; when true the reply carries `logs`)"),
        what="logs text (debug true) is passed through")

    rec_seed = {"key": "1", "caller": "10086", "callee": "26104935", "filename": "", "type": "4", "agent": "",
                "startTime": "1505992923", "duration": "330"}
    add("getrecordslist_seed_record_in_data", "getRecordsList",
        '{\n"result": {\n"error": 0,\n"msg": "成功"\n},\n"data": {\n"seq": "5271",\n"response": {\n"seq": "1",\n'
        '"userData": null,\n"result": {\n"error": 0\n}\n},\n"record": [\n{\n"key": "1",\n"caller": "10086",\n'
        '"callee": "26104935",\n"filename": "",\n"type": "4",\n"agent":"",\n"startTime": "1505992923",\n'
        '"duration": "330"\n}\n]\n},\n"logs": null\n}',
        expect(0, "成功", None, "5271", [resp("1", None, 0, "", {"record": [rec_seed]})]),
        "lines 1993-2020, the seed's example with OCR repaired ('12' read as '},'; the msg text is unreadable, "
        "'I IN' at line 1996: \"成功\" is ours); " + seed(2007, "\"record\": [") + " (beside response, in data)",
        what="record inside data, beside response (the seed's placement)")

    add("getrecordslist_record_in_response", "getRecordsList",
        '{"data":{"seq":"5279","response":{"seq":"9","userData":"","result":{"error":0,"msg":""},"record":['
        '{"key":"2","caller":"13800000001","callee":"02088886666","filename":"rec/2024/2.wav","type":1,'
        '"agent":"1000","startTime":1700000000,"duration":42},'
        '{"key":"3","caller":"02088886666","callee":"13800000001","filename":"rec/2024/3.wav","type":"0",'
        '"agent":"1001","startTime":"1700000100","duration":"0","channel":"left"}]}},'
        '"logs":"","result":{"error":0,"msg":""}}',
        expect(0, "", "", "5279", [resp("9", "", 0, "", {"record": [
            {"key": "2", "caller": "13800000001", "callee": "02088886666", "filename": "rec/2024/2.wav", "type": "1",
             "agent": "1000", "startTime": "1700000000", "duration": "42"},
            {"key": "3", "caller": "02088886666", "callee": "13800000001", "filename": "rec/2024/3.wav", "type": "0",
             "agent": "1001", "startTime": "1700000100", "duration": "0", "channel": "left"}]})]),
        digest_src("§Calls: `the seed's example puts record inside data, beside response … accept both places`")
        + "; " + seed(2031, "type Int Y E 0") + "; " + seed(2033, "startTime | Int Y"),
        what="record inside response; numbers as numbers; an unknown item key kept; next startKey = \"3\"")

    add("getrecordslist_empty_page", "getRecordsList",
        '{"data":{"seq":"5280","response":{"seq":"10","userData":"","result":{"error":0,"msg":""}},"record":[]},'
        '"logs":"","result":{"error":0,"msg":""}}',
        expect(0, "", "", "5280", [resp("10", "", 0, "", {"record": []})]),
        digest_src("§Calls: `repeat until an empty page`"),
        what="an empty page ends the paging")

    cdr_item = {"key": "7", "agent": "8000", "serviceType": "5", "answerTime": "2018-09-10 15:01:02",
                "caller": "15612343021", "callee": "13770761337", "timeLength": "65", "fee": "0.12",
                "releaseCause": "200", "result": "1", "filename": "rec/20180910/7.wav"}
    add("getcdrlist_cdr_in_response", "getCdrList",
        '{"result":{"error":0,"msg":""},"data":{"seq":"5281","response":{"seq":"123","userData":"123",'
        '"result":{"error":0},"total":1,"cdr":[{"key":"7","agent":"8000","serviceType":5,'
        '"answerTime":"2018-09-10 15:01:02","caller":"15612343021","callee":"13770761337","timeLength":65,'
        '"fee":0.12,"releaseCause":"200","result":1,"filename":"rec/20180910/7.wav"}]}},"logs":null}',
        expect(0, "", None, "5281", [resp("123", "123", 0, "", {"total": "1", "cdr": [cdr_item]})]),
        digest_src("§Calls: getCdrList reply `total`, `cdr:[{\"key\",\"agent\",\"serviceType\",\"answerTime\","
                   "\"caller\",\"callee\",\"timeLength\",\"fee\",\"releaseCause\",\"result\",\"filename\"}]`") + "; "
        + seed(2519, "cdr Y A") + "; " + seed(2534, "filename \\ K A"),
        what="total/cdr inside response, every documented item field, numbers as numbers")

    edr = [{"key": "6", "agent": "8000", "serviceType": "5", "answerTime": "2018-09-10 14:39:20",
            "caller": "15612343021", "callee": "13770761337", "timeLength": "7", "fee": "0.06",
            "releaseCause": "200"},
           {"key": "4", "agent": "8000", "serviceType": "5", "answerTime": "2018-09-10 14:36:47",
            "caller": "15612343021", "callee": "13813902888", "timeLength": "2", "fee": "0.06",
            "releaseCause": "200"}]
    add("getcdrlist_seed_edr", "getCdrList",
        '{\n"result": {\n"error": 0,\n"msg": "成功"\n},\n"data": {\n"seq": 123,\n"response": {\n"seq": "123",\n'
        '"userData": "123",\n"result": {\n"error": 0\n},\n"total": "4",\n"edr": [\n{\n"key": "6",\n'
        '"agent": "8000",\n"serviceType": "5",\n"answerTime": "2018-09-10 14:39:20",\n"caller": "15612343021",\n'
        '"callee": "13770761337",\n"timeLength": "7",\n"fee": 0.06,\n"releaseCause": "200"\n},\n{\n"key": "4",\n'
        '"agent": "8000",\n"serviceType": "5",\n"answerTime": "2018-09-10 14:36:47",\n"caller": "15612343021",\n'
        '"callee": "13813902888",\n"timeLength": "2",\n"fee": 0.06,\n"releaseCause": "200"\n}\n]\n}\n},\n'
        '"logs": null\n}',
        expect(0, "成功", None, "123", [resp("123", "123", 0, "", {"total": "4", "cdr": edr})]),
        "lines 2446-2507, the seed's example with OCR repaired; " + seed(2451, "\"seq\": 123,") + " (a number); "
        + seed(2462, "\"total\": \"4\",") + "; " + seed(2464, "\"edr\": [") + "; " + seed(2480, "\"fee\": 0.06,"),
        what="the seed's `edr` spelling read as cdr; data.seq a number; total \"4\" with two items shown (total "
             "counts all matches); items without result/filename")

    add("getcdrlist_cdr_in_data", "getCdrList",
        '{"result":{"error":0,"msg":""},"data":{"seq":"5282","response":{"seq":"124","userData":"",'
        '"result":{"error":0}},"total":"0","cdr":[]},"logs":null}',
        expect(0, "", None, "5282", [resp("124", "", 0, "", {"total": "0", "cdr": []})]),
        digest_src("§Calls: `accept both places`") + " (said of record; applied to total/cdr by analogy)",
        optional=True,
        what="OPTIONAL leniency: total/cdr beside response as getRecordsList's record is; an empty result")

    add("inner_failure_getcdrlist_no_fields", "getCdrList",
        '{"result":{"error":0,"msg":""},"data":{"seq":"5285","response":{"seq":"125","userData":"",'
        '"result":{"error":"3","msg":"serviceType required"}}},"logs":""}',
        expect(0, "", "", "5285", [resp("125", "", 3, "serviceType required")]),
        seed(2421, "serviceType Y") + " (required)",
        what="inner failure: no total, no cdr")
    return R


# =======================================================================================
# (f) notifications
# =======================================================================================
NOW_MS = 1700000000000
MAX_SKEW_MS = 300000
ANSWER_OK = {"result": {"error": 0, "msg": ""}}
ANSWER_OK_TEXT = '{"result":{"error":0,"msg":""}}'
assert compact(ANSWER_OK) == ANSWER_OK_TEXT

NOTIFY_SRC = digest_src("§Notifications: `The endpoint must verify digest exactly as above (reject with an error "
                        "result if it does not match or the timestamp is far off)`")
KNOWN_TYPES = ["callstart", "callend", "callin", "callout", "billing", "taskinfo"]


def notification(name, notify, auth_customer="C2", ts=None, seq="900001", apikey=SEED_APIKEY, digest=None,
                 digest_case="lower", verdict="valid", source="", what="", as_numbers=False, drop_digest=False,
                 duplicate_of=None, boundary=False, pretty=False):
    ts = str(NOW_MS - 1234) if ts is None else ts
    d = dig(auth_customer, ts, seq, apikey) if digest is None else digest
    if digest_case == "upper":
        d = d.upper()
    auth = {"customer": auth_customer, "digest": d,
            "seq": int(seq) if as_numbers else seq, "timestamp": int(ts) if as_numbers else ts}
    if drop_digest:
        del auth["digest"]
    body_v = {"authentication": auth, "notify": notify, "param": {"debug": "false", "lang": "zh_CN"}}
    body = json.dumps(body_v, ensure_ascii=False, indent=2) if pretty else compact(body_v)
    t = notify.get("type")
    kind = t if t in KNOWN_TYPES else "untyped"
    ct = notify.get("call_type", notify.get("call type"))
    c = {
        "name": name, "body": body,
        "verifier": {"customer": "C2", "apikey": SEED_APIKEY, "now_ms": NOW_MS, "max_skew_ms": MAX_SKEW_MS},
        "signed_with": {"customer": auth_customer, "apikey": apikey, "timestamp": ts, "seq": seq,
                        "hashed_text": None if digest is not None or drop_digest else
                        "%s@%s@%s@%s" % (auth_customer, ts, seq, apikey)},
        "expected": {
            "verdict": verdict,
            "answer": ANSWER_OK if verdict == "valid" else None,
            "answer_text": ANSWER_OK_TEXT if verdict == "valid" else None,
            "answer_error_nonzero": verdict != "valid",
            "type": kind,
            "raw_type": t,
            "call_type": None if ct is None else str(ct),
            "fields": notify,
            "skew_ms": NOW_MS - int(ts),
        },
        "what": what,
        "source": source,
    }
    if duplicate_of:
        c["duplicate_of"] = duplicate_of
        c["expected"]["stores_new_event"] = False
    if boundary:
        c["boundary"] = True
    return c


def notification_vectors():
    N = []
    callstart = {"type": "callstart", "customer": "C2", "agent": "1000", "number": "13800000001", "call_type": "1",
                 "seq": "5", "userData": "ticket-9"}
    N.append(notification("callstart_valid", callstart, seq="900001",
                          source=seed(1720, "“type”:”callstart”") + "; " + seed(1767, "call_type Y")
                          + "; " + seed(1768, "type Y Api KM, callstart") + "; " + NOTIFY_SRC,
                          what="valid, lower-case digest"))
    N.append(notification("callend_upper_digest", dict(callstart, type="callend", call_type="1"), seq="900002",
                          digest_case="upper",
                          source=seed(1810, "“type”: “callend”") + "; " + seed(1852, "type Y Api 257, callend")
                          + "; " + digest_src("§Transport: `compare case-insensitively when verifying`"),
                          what="valid: the digest arrives in upper case"))
    N.append(notification("callin_call_type_with_space",
                          {"type": "callin", "customer": "C2", "agent": "1001", "number": "02088886666",
                           "call type": "0", "seq": "", "userData": ""}, seq="900003",
                          source=seed(2081, "“type”: “callin”") + "; " + seed(2098, "“call type”: 77,") + "; "
                          + digest_src("§Notifications: `The examples write \"call type\" where the tables say "
                                       "call_type: accept both`"),
                          what="\"call type\" (with a space) read as call_type; fields kept as sent"))
    N.append(notification("callout_numbers_in_authentication",
                          {"type": "callout", "customer": "C2", "agent": "1000", "number": "13800000002",
                           "call_type": 1, "seq": 5, "userData": "ticket-9"}, seq="900004", as_numbers=True,
                          source=seed(2168, "“type”: “callout”,") + "; "
                          + seed(27, "timestamp: 1471918933001, seq: 5271") + " (bare numbers); "
                          + seed(2215, "call_type Y"),
                          what="authentication.timestamp/seq and notify call_type/seq as JSON numbers: the digest "
                               "is over their decimal text"))
    billing = {"type": "billing", "startTime": "2018-09-10 14:39:00", "ringTime": "2018-09-10 14:39:05",
               "answerTime": "2018-09-10 14:39:20", "byeTime": "2018-09-10 14:39:27", "callee": "13770761337",
               "caller": "15612343021", "recordFile": "rec/20180910/6.wav", "service": "5", "session": "s-6f1e",
               "timeLength": "7", "seq": "5", "userData": "ticket-9"}
    N.append(notification("billing_valid", billing, seq="900005", pretty=True,
                          source=seed(2255, "“type”: “billing”") + "; " + seed(2311, "billing") + "; "
                          + seed(2322, "timeLength Y") + " (in the table, not in the example); time format of "
                          "the four times not shown: CDR answerTime style used (line 2472)",
                          what="pretty-printed body; every billing field kept as text"))
    taskinfo = {"type": "taskinfo", "taskID": "10086", "taskName": "renewals", "calleeAmount": "3",
                "remainAmount": "1", "status": "1", "purpose": "0", "group": "g1", "seq": "6", "userData": ""}
    N.append(notification("taskinfo_valid", taskinfo, seq="900006",
                          source=seed(2562, "“type”: “taskinfo”") + "; " + seed(2602, "seq Y") + " (taskinfo "
                          "carries seq; the digest's table omits it); " + seed(2609, "status \\ RS 03T, 1%, 247K")
                          + "; " + seed(2612, "group Y I Xt B purpose A 0"),
                          what="purpose 0 with group"))
    N.append(notification("taskinfo_staffno_numbers",
                          {"type": "taskinfo", "taskID": 10087, "taskName": "", "calleeAmount": 1000,
                           "remainAmount": 0, "status": 2, "purpose": 1, "staffNo": "1000", "seq": "7",
                           "userData": "x", "vendorNote": "done"}, seq="900007",
                          source=seed(2613, "staffNo Y AR JEE TS X purpose N 1") + "; "
                          + digest_src("§intro: `unknown fields kept`"),
                          what="purpose 1 with staffNo, numbers as numbers, an unknown field kept"))
    N.append(notification("untyped_no_agent",
                          {"customer": "C2", "number": "13800000003", "call_type": "0", "seq": "8"}, seq="900008",
                          source=seed(1874, "19. WA 357 3 &0") + " (section 19, no type in lines 1904-1915); "
                          + seed(1933, "agent N AT") + " (agent optional); "
                          + digest_src("§Notifications: `treat an unknown or missing type as a generic call event "
                                       "and keep all fields`"),
                          what="no type: \"untyped\"; no agent"))
    N.append(notification("unknown_type",
                          {"type": "callhold", "customer": "C2", "agent": "1000", "number": "13800000004",
                           "call_type": "1", "seq": "9"}, seq="900009",
                          source=digest_src("§Notifications: `treat an unknown or missing type as a generic call "
                                            "event and keep all fields`"),
                          what="unknown type: \"untyped\", the raw type kept among the fields"))
    N.append(notification("callstart_extra_field",
                          dict(callstart, trunk="gw-3", seq="10"), seq="900010",
                          source=digest_src("§intro: `unknown fields kept`"),
                          what="valid, unknown notify field kept"))
    good = dig("C2", str(NOW_MS - 1234), "900011", SEED_APIKEY)
    forged = ("0" if good[0] != "0" else "1") + good[1:]
    N.append(notification("forged_digest", callstart, seq="900011", digest=forged, verdict="invalid",
                          source=NOTIFY_SRC, what="first hex digit of the right digest changed"))
    N.append(notification("signed_with_other_apikey", callstart, seq="900012", apikey=OTHER_APIKEY,
                          verdict="invalid", source=NOTIFY_SRC + "; " + DIGEST_FORMULA_SRC,
                          what="a well-formed digest made with another account's apikey"))
    N.append(notification("wrong_customer", dict(callstart, customer="C3"), auth_customer="C3", seq="900013",
                          verdict="invalid",
                          source=NOTIFY_SRC + "; " + seed(7, "customer Y") + " (the account id)",
                          what="digest right for C3 with our apikey, but C3 is not our account"))
    N.append(notification("missing_digest", callstart, seq="900014", drop_digest=True, verdict="invalid",
                          source=NOTIFY_SRC, what="no digest at all"))
    N.append(notification("stale_past", callstart, seq="900015", ts=str(NOW_MS - MAX_SKEW_MS - 1), verdict="stale",
                          source=NOTIFY_SRC + " (the window, max_skew_ms, is ours: the documents give none)",
                          what="right digest, 300001 ms old"))
    N.append(notification("stale_future", callstart, seq="900016", ts=str(NOW_MS + MAX_SKEW_MS + 1), verdict="stale",
                          source=NOTIFY_SRC, what="right digest, 300001 ms in the future (the window is two-sided)"))
    N.append(notification("edge_past_exactly_max_skew", callstart, seq="900017", ts=str(NOW_MS - MAX_SKEW_MS),
                          boundary=True, source=NOTIFY_SRC + " (boundary reading: |now - ts| <= max_skew is fresh)",
                          what="exactly 300000 ms old: fresh (boundary; see ambiguities)"))
    N.append(notification("edge_future_exactly_max_skew", callstart, seq="900018", ts=str(NOW_MS + MAX_SKEW_MS),
                          boundary=True, source=NOTIFY_SRC + " (boundary reading)",
                          what="exactly 300000 ms ahead: fresh (boundary)"))
    dup = notification("callstart_retry_duplicate", callstart, seq="900001", duplicate_of="callstart_valid",
                       source=digest_src("§Notifications: `A platform retry repeats the same seq and timestamp: a "
                                         "notification already stored is answered error: 0 again (and stored "
                                         "nothing new)`"),
                       what="the same body as callstart_valid, delivered again")
    assert dup["body"] == N[0]["body"]
    N.append(dup)
    return N


# =======================================================================================
# (g) CDR times and codes
# =======================================================================================
CST = datetime.timezone(datetime.timedelta(hours=8))


def fmt(epoch_s, tz):
    return datetime.datetime.fromtimestamp(epoch_s, tz).strftime("%Y-%m-%d %H:%M:%S")


def parse(text, tz):
    dt = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=tz)
    return int(dt.timestamp())


def cdr_section():
    time_examples = []
    for text, src in [("2018-09-10 14:39:20", seed(2472, "\"answerTime\": \"2018-09-10 14:39:20\",")),
                      ("2018-09-10 14:36:47", seed(2492, "\"answerTime\": \"2018-09-10 14:36:47\",")),
                      ("2018-09-10 00:00:00", "start of the seed's day"),
                      ("2018-09-10 23:59:59", "end of the seed's day"),
                      ("2024-02-29 23:59:59", "leap day"),
                      ("2025-01-01 07:59:59", "the UTC+8 reading is still 2024 in UTC")]:
        e8 = parse(text, CST)
        eu = parse(text, datetime.timezone.utc)
        assert fmt(e8, CST) == text and fmt(eu, datetime.timezone.utc) == text and eu - e8 == 8 * 3600
        time_examples.append({"text": text, "epoch_s_if_utc8": e8, "epoch_s_if_utc": eu, "source": src})
    invalid_times = [
        {"text": t, "valid": False, "why": why, "source": seed(2472, "\"answerTime\": \"2018-09-10 14:39:20\",")}
        for t, why in [("2018-09-10T14:39:20", "ISO 'T' instead of a space"), ("20180910143920", "compact"), ("2018-09-10", "date only"),
                       ("2018-02-30 00:00:00", "no such day"), ("2018-09-10 24:00:00", "hour 24"),
                       ("1536561560", "epoch seconds (the records' format, not the CDR's)")]
    ]
    for c in invalid_times:
        try:
            parse(c["text"], CST)
            ok = True
        except ValueError:
            ok = False
        assert ok is False, c
    service_lines = [(1, 2421), (2, 2423), (3, 2424), (4, 2425), (5, 2426), (7, 2427), (9, 2428), (17, 2429),
                     (18, 2430), (19, 2432)]
    service_types = []
    for code, line in service_lines:
        quote = "serviceType Y N& it 1" if code == 1 else ("%d " % code)
        service_types.append({"code": str(code), "label": None, "source": seed(line, quote) + " (label unreadable)"})
    return {
        "answerTime_format": {
            "pattern": "YYYY-MM-DD HH:MM:SS", "strftime": "%Y-%m-%d %H:%M:%S", "length": 19,
            "seed_values": ["2018-09-10 14:39:20", "2018-09-10 14:36:47"],
            "time_zone": "not stated; UTC+8 (China) recommended, see ambiguities",
            "source": seed(2472, "\"answerTime\": \"2018-09-10 14:39:20\",") + "; "
                      + seed(2492, "\"answerTime\": \"2018-09-10 14:36:47\","),
        },
        "request_startTime_endTime_format": {
            "pattern": "YYYY-MM-DD HH:MM:SS", "shown_by_seed": False,
            "reading": "the request example leaves both empty and the table's description is unreadable; the only "
                       "date-time text in the seed (answerTime) is taken as the format to send",
            "example": {"startTime": "2018-09-10 00:00:00", "endTime": "2018-09-10 23:59:59"},
            "source": seed(2384, "“startTime”:””,") + "; " + seed(2388, "“endTime”:””,") + "; "
                      + seed(2434, "startTime") + "; " + seed(2436, "endTime"),
        },
        "time_examples": time_examples,
        "invalid_times": invalid_times,
        "records_startTime": {
            "unit": "epoch seconds (10 digits), not the CDR's text format", "seed_value": "1505992923",
            "utc8": fmt(1505992923, CST), "utc": fmt(1505992923, datetime.timezone.utc),
            "duration_unit": "seconds (\"330\")",
            "source": seed(2015, "\"startTime\": \"1505992923\",") + "; " + seed(2016, "\"duration\": \"330\""),
        },
        "service_types": service_types,
        "service_types_source": digest_src("§Calls: `getCdrList serviceType codes (inferred): 1, 2, 3, 4, 5, 7, 9, "
                                           "17, 18, 19 (the seed's labels are unreadable; keep the number)`"),
        "result_codes": [
            {"code": "1", "meaning": "answered (inferred by the digest)", "source": seed(2531, "result Y I &35 2R 1")},
            {"code": "2", "meaning": None, "source": seed(2532, "2 R")},
            {"code": "3", "meaning": None, "source": seed(2533, "3 AT")},
        ],
        "result_codes_note": "labels unreadable; the seed's own CDR example has no result field at all",
        "releaseCause": {"meaning": "SIP status code, as text", "example": "200",
                         "source": seed(2482, "\"releaseCause\": \"200\"") + "; " + seed(2530, "SIP")},
        "fee": {"meaning": "decimal amount; the seed sends a JSON number", "example": 0.06, "as_text": "0.06",
                "source": seed(2480, "\"fee\": 0.06,")},
        "timeLength": {"unit": "seconds (inferred)", "example": "7",
                       "source": seed(2478, "\"timeLength\": \"7\",")},
        "recording_url": {"pattern": "http://ip:port/<filename>", "example_filename": "rec/20180910/7.wav",
                          "example_url": "http://ip:port/rec/20180910/7.wav",
                          "source": seed(2044, "http://ip:port/<filename>")},
        "error_codes": {
            "known": [{"code": 0, "meaning": "success"}],
            "table_in_seed": False,
            "reading": "0 = success, any other value = failure; the outer result and each response's result are "
                       "checked separately; the seed gives no code table, so no code is treated specially",
            "source": seed(178, "M Error ¥ 0 FRIRT)") + "; " + seed(186, "error Y HiRhD Int"),
        },
    }


# =======================================================================================
# (h) ambiguities
# =======================================================================================
AMBIGUITIES = [
    {"point": "getRecordsList startKey inclusive?",
     "source": seed(1989, "VE: id 55T startkey") + " (the note on it is unreadable)",
     "reading": "unknown: pass the last key seen as the next startKey and de-duplicate records by key, so either "
                "reading works; stop at an empty page"},
    {"point": "getRecordsList page size",
     "source": seed(2037, "500"),
     "reading": "probably at most 500 records per page; do not stop because a page is shorter than 500 — stop at "
                "an empty page (digest)"},
    {"point": "the first page's startKey",
     "source": seed(1978, "\"startKey\": \"\",") + "; " + seed(1987, "startKey Int Y"),
     "reading": "required and an Int, value for 'from the start' not given: send \"0\" (records keys in the seed "
                "start at \"1\")"},
    {"point": "record placement",
     "source": seed(2007, "\"record\": ["),
     "reading": "the seed's example has record in data beside response; read it from response first, then from "
                "data (digest: accept both)"},
    {"point": "cdr / edr and its placement",
     "source": seed(2464, "\"edr\": [") + "; " + seed(2519, "cdr Y A"),
     "reading": "the table says cdr, the example edr: accept both; total/cdr are in response (digest); accepting "
                "them beside response too is harmless (optional vector)"},
    {"point": "getCdrList paging",
     "source": seed(2462, "\"total\": \"4\","),
     "reading": "total is 4 with two items shown and the request has no startKey/page field: total is the number "
                "of matches; how to fetch the rest is not documented — narrow the time window"},
    {"point": "error codes",
     "source": seed(178, "M Error ¥ 0 FRIRT)"),
     "reading": "no code table survives; 0 = success, anything else failure; outer error != 0 means no response "
                "is to be read; error may come as a number or a string (\"0\"); an absent or empty error (the "
                "templates write \"error\": \"\" and \"result\":\"\", lines 97, 171) is NOT success"},
    {"point": "time zone",
     "source": seed(2472, "2018-09-10 14:39:20"),
     "reading": "none stated; a Chinese platform: read CDR/billing date-times as UTC+8 and keep the text; epoch "
                "values (authentication timestamp ms, records startTime s) are zone-free"},
    {"point": "startTime/endTime format in the getCdrList request",
     "source": seed(2384, "“startTime”:””,"),
     "reading": "not shown (empty in the example); send \"YYYY-MM-DD HH:MM:SS\" like answerTime"},
    {"point": "billing times and timeLength",
     "source": seed(2312, "startTime") + "; " + seed(2322, "timeLength Y"),
     "reading": "formats not shown (values lost); keep them as text; timeLength is in the table but not in the "
                "example"},
    {"point": "record type values",
     "source": seed(2031, "type Int Y E 0") + "; " + seed(2013, "\"type\": \"4\","),
     "reading": "the table lists 0 and 1, the example has \"4\": keep the value as text, do not validate"},
    {"point": "which calls carry authentication.agent",
     "source": seed(227, "\"agent\": \"1000\",") + " vs lines 977-981 (CallNumber without)",
     "reading": "as in each example: agent APIs (AgentLogin/Logout/SetBusy/SetIdle/QueryStatus, getAgentStatus, "
                "getAgentInfo) and CallTask* carry it; VoiceVerify, CallNumber, HangupCall, getRecordsList, "
                "getCdrList do not. It is not part of the digest either way"},
    {"point": "authentication.agent on calls that are not agent-level",
     "source": seed(27, "digest: \"\", agent:\"\"}"),
     "reading": "the generic example carries agent:\"\"; the per-API examples of VoiceVerify, CallNumber, … have "
                "no agent key: a client leaves it out; a checker may treat \"agent\":\"\" as the same thing"},
    {"point": "types of scalars on the wire",
     "source": seed(27, "timestamp: 1471918933001, seq: 5271") + " vs " + seed(118, "\"seq\": \"5271\","),
     "reading": "send JSON strings (every quoted example does); the tables say Number for seq, agent, verifyCode, "
                "playTimes, mode, taskID …: accept a number or a string in anything received"},
    {"point": "param.debug",
     "source": seed(125, "\"debug\": \"true\",") + " vs " + seed(144, "Debug N I E Bool"),
     "reading": "the examples send the string \"true\", the table says Bool: a receiver should accept both; param "
                "itself is optional (line 141)"},
    {"point": "lang values",
     "source": seed(146, "zh_CH|en_US") + "; " + seed(2367, "en US"),
     "reading": "zh_CN and en_US (OCR/typos in the seed)"},
    {"point": "the seed's apikey spelling",
     "source": seed(24, "E416DOF85DCOCB67C85E070A32D9F0123AFF4762") + "; " + seed(34, "D9IF0123"),
     "reading": "OCR damage: the digest's E416D0F85DC0CB67C85E070A32D9F0123AFF4762 is used; the apikey is hashed "
                "byte for byte (its case matters); the digest is sent lower-case and compared case-insensitively"},
    {"point": "notification freshness window",
     "source": NOTIFY_SRC,
     "reading": "the documents give no number ('far off'); vectors use max_skew_ms 300000, two-sided, with "
                "|now - ts| <= max_skew fresh (boundary cases are flagged 'boundary')"},
    {"point": "notification reject code",
     "source": seed(1776, "\"result\": { \"error\":") + "; " + seed(1783, "error Y FiRD Int"),
     "reading": "any non-zero error rejects; no code is documented: use e.g. 1 with a msg; the success answer is "
                "exactly {\"result\":{\"error\":0,\"msg\":\"\"}}"},
    {"point": "retries and duplicates",
     "source": digest_src("§Notifications: `A platform retry repeats the same seq and timestamp`"),
     "reading": "de-duplicate on (customer, authentication.seq, authentication.timestamp) and answer error 0 to a "
                "duplicate; the seed itself says nothing readable about retries"},
    {"point": "call_type meaning",
     "source": seed(1767, "call_type Y L S Y 0 TR, 1 FoRIEH") + "; " + seed(1935, "Call_type \\ 1 o W, 0 R"),
     "reading": "0/1 is a direction whose labels are unreadable (and listed in the other order in section 19); "
                "keep the raw value"},
    {"point": "\"call type\" key",
     "source": seed(1735, "“call type”: 77,"),
     "reading": "examples write a space, tables write call_type: accept both, keep the key as sent in fields"},
    {"point": "notify.seq vs authentication.seq",
     "source": seed(1757, "seq Y"),
     "reading": "notify.seq is read as the seq of the request that started the call (for correlation with "
                "userData); authentication.seq is the notification's own id used in the digest"},
    {"point": "untyped notification (section 19)",
     "source": seed(1933, "agent N AT"),
     "reading": "no type field; agent optional; any unknown type is handled the same way (\"untyped\")"},
    {"point": "taskinfo seq",
     "source": seed(2602, "seq Y"),
     "reading": "the seed lists seq for taskinfo; the digest's table does not: keep it"},
    {"point": "multiplier bounds",
     "source": seed(1238, "Number(1<a<5)"),
     "reading": "OCR of 1≤a≤5: 1..5 inclusive (digest), default 1"},
    {"point": "CallTaskCreate mode 5 and callers",
     "source": seed(1248, "W Mode 384 5, callers"),
     "reading": "a rule ties callers to mode 5 (unreadable); the vectors send callers with mode 5 and never "
                "refuse mode 5 without callers"},
    {"point": "CallTaskControl action spelling",
     "source": seed(1504, "Start(FF4A1E55) | stop("),
     "reading": "send lower-case start / stop (digest); the capital S is at a table-cell start"},
    {"point": "getAgentInfo name and URL",
     "source": seed(432, "getAgentinfo (x=6)") + "; " + seed(451, "http://ip:port/openapi/V2.0.x/getAgentStatus"),
     "reading": "getAgentInfo, V2.0.6 only; the request example's URL (getAgentStatus) is a copy-paste slip"},
    {"point": "getCdrList versions",
     "source": seed(2344, "http://ip:port/openapi/V2.0.1/getCdrList)"),
     "reading": "no x= list; treated like the common list 1,2,3,4,6 (V2.0.6 default works)"},
    {"point": "getCdrList agent and serviceType shapes",
     "source": seed(2375, "“agent”: [78000”") + "; " + seed(2380, "serviceType™"),
     "reading": "agent is a list of strings (required, digest); serviceType one code as text"},
    {"point": "userData length unit",
     "source": seed(267, "String(30)") + "; " + seed(160, "100"),
     "reading": "characters or bytes not stated: vectors use ASCII only; 30 (100 for VoiceVerify)"},
    {"point": "HangupCall reply and userData",
     "source": seed(1123, "userData Y String(30)") + "; " + seed(1130, "\"response\": { \"seq\": \", \"result\":\"\" },"),
     "reading": "the table marks userData Y (probably OCR), the reply example has none: userData optional, and "
                "absent is read as null"},
    {"point": "userData null vs absent vs empty",
     "source": seed(2002, "\"userData\": null,"),
     "reading": "null and absent both read as null; \"\" stays \"\""},
    {"point": "taskID spelling and type",
     "source": seed(1272, "taskIiD") + "; " + seed(1502, "taskiD Y f£%% 1D Number"),
     "reading": "taskID (OCR writes taskiD/taskIiD); a Number in the table, strings in the examples: read as text"},
    {"point": "report.error",
     "source": seed(1275, "\"error\": \"\","),
     "reading": "report.{total,error,repeat} are counts of numbers (error = refused numbers), not a result code"},
    {"point": "data.seq / response.seq",
     "source": seed(1999, "\"seq\": \"5271\",") + "; " + seed(2001, "\"seq\": \"1\","),
     "reading": "data.seq echoes authentication.seq, response.seq echoes request.seq (the seed's example)"},
]


def main():
    doc = {
        "made_by": "tests/vectors/make_callcenter_vectors.py, written from the digest /work/shared/specs/"
                   "callcenter-openapi.md and the seed 003_3a3c54df16d25bfe.txt alone, by an independent reader who "
                   "never saw the agent's Rust code. Python standard library only; deterministic.",
        "conventions": {
            "digest": "lower-case hex md5 of customer + '@' + timestamp + '@' + seq + '@' + apikey (UTF-8), the "
                      "values as their decimal/text form; the apikey is hashed as given; compare received digests "
                      "case-insensitively",
            "digest_source": DIGEST_FORMULA_SRC,
            "sources": "'digest §…' quotes /work/shared/specs/callcenter-openapi.md; 'seed line N: …' quotes line N "
                       "of /work/shared/seeds/003_3a3c54df16d25bfe.txt verbatim (OCR damage included); 'lines A-B' "
                       "points at a range",
            "envelopes": "body is the parsed JSON value a client sends (key order irrelevant); body_text is one "
                         "serialisation. Every scalar is a JSON string as in the seed's examples; the paths in "
                         "`loose` may also be sent as a JSON number (param.debug as a bool) with the same text. "
                         "authentication.agent is present exactly when inputs.agent is not null (an empty "
                         "\"agent\":\"\" is an acceptable equivalent of absence, seed line 27). headers are the "
                         "HTTP request headers; the method is POST",
            "replies": "expected: outer {error:int, msg:str ('' when absent)}, logs (raw JSON value), data_seq "
                       "(text or null), batched, responses[] each {seq (text|null), userData (text; null when "
                       "absent or null), error (int, parsed from a number or a string), msg ('' when absent), ok "
                       "(outer error 0 and this error 0), fields (the API's documented fields with every scalar as "
                       "text: a JSON number by its literal text, e.g. 0.06 -> \"0.06\"; list items keep all their "
                       "keys), extra (every other key of the response object, raw JSON value)}, all_ok. "
                       "getRecordsList record and getCdrList total/cdr are read from response or else from data; "
                       "edr is read as cdr. Replies flagged optional test a leniency beyond the digest",
            "api_fields": API_FIELDS,
            "notifications": "verdict is 'valid', 'invalid' (digest wrong/missing or customer not ours) or 'stale' "
                             "(right digest, |now_ms - timestamp| > max_skew_ms). valid -> answer exactly "
                             "answer_text; otherwise a non-zero error. type is the notify.type when it is one of "
                             "callstart/callend/callin/callout/billing/taskinfo, else 'untyped'; call_type is "
                             "notify.call_type or notify[\"call type\"] as text; fields is the notify object exactly "
                             "as sent (all kept). Cases flagged boundary sit exactly on max_skew_ms",
            "limits": "valid says whether a client should accept the value before sending (null value = field "
                      "absent); count/length given for lists/strings",
        },
        "digests": digest_vectors(),
        "envelopes": envelope_vectors(),
        "versions": version_vectors(),
        "limits": limit_vectors(),
        "replies": reply_vectors(),
        "notifications": {
            "now_ms": NOW_MS,
            "max_skew_ms": MAX_SKEW_MS,
            "customer": "C2",
            "apikey": SEED_APIKEY,
            "success_answer": ANSWER_OK,
            "success_answer_text": ANSWER_OK_TEXT,
            "success_answer_source": digest_src("§Notifications: `then answer {\"result\":{\"error\":0,\"msg\":\"\"}} "
                                                "(non-zero error = rejected)`") + "; "
                                     + seed(1859, "\"result\": { \"error\": \"\", \"msg\": \"\" }"),
            "types": KNOWN_TYPES + ["untyped"],
            "cases": notification_vectors(),
        },
        "cdr": cdr_section(),
        "ambiguities": AMBIGUITIES,
    }
    assert doc["digests"][0]["digest"] == md5hex("C2@1471918933001@5271@E416D0F85DC0CB67C85E070A32D9F0123AFF4762")
    assert doc["envelopes"][0]["body"]["authentication"]["digest"] == doc["digests"][0]["digest"]
    text = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    json.loads(text)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    print("wrote", OUT, "(seed lines checked)" if SEED_LINES else "(seed not found: quotes unchecked)")


if __name__ == "__main__":
    main()
