#!/usr/bin/env python3
"""Known-answer vectors for the WaveFax fax server HTTP API, written from the documents
alone by an independent reader who never saw the Rust code:

  * digest:  /work/shared/specs/wavefax-http.md
  * seed:    /work/shared/seeds/000_8abee33538323645.txt ("电子传真平台接口定义")

Writes tests/vectors/wavefax.json next to this script.  Deterministic (fixed inputs, no
clock, no randomness); plain python3 standard library only.

Every vector carries "source": "digest §…" or "seed line N: …".  Where the documents are
ambiguous nothing is guessed; the point goes into the "ambiguities" array instead.
"""

import calendar
import json
import os
import re
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "wavefax.json")

# ---------------------------------------------------------------------------------------
# Time values.
# digest §Conventions: "Time values: `YYYYMMDDTHHNNSS` (e.g. `20141221T111111`), 24-hour,
#   server local time."
# seed line 380: "timestart	起始时间范围,格式:YYYYMMDDTHHNNSS,24小时计时方式"
# seed line 161: "scheduletime	要求发送时间(可选),格式:YYYYMMDDTHHNNSS"
# "server local time" is the digest's; the seed names no time zone (see ambiguities), so every
# vector carries an explicit utc offset in minutes (local = utc + offset).
# ---------------------------------------------------------------------------------------
TIME_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})$")


def fmt_time(unix, offset_min):
    y, mo, d, h, mi, s = time.gmtime(unix + offset_min * 60)[:6]
    return "%04d%02d%02dT%02d%02d%02d" % (y, mo, d, h, mi, s)


def parse_time(text, offset_min):
    m = TIME_RE.match(text)
    if not m:
        return None
    y, mo, d, h, mi, s = map(int, m.groups())
    if not (1 <= mo <= 12 and 1 <= d <= calendar.monthrange(y, mo)[1]
            and h <= 23 and mi <= 59 and s <= 59):
        return None
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) - offset_min * 60


TIME_INPUTS = [
    # (local string, utc offset minutes, source)
    ("20141221T111111", 480, "digest §Conventions example `20141221T111111`; seed line 404 (timestart)"),
    ("20141221T111111", 0, "digest §Conventions example, server at UTC"),
    ("20150201T111111", 480, "seed line 404: timeend=20150201T111111"),
    ("19700101T080000", 480, "epoch seen from UTC+8 (digest: server local time)"),
    ("20240229T235959", 480, "leap day, last second (digest: 24-hour)"),
    ("20250101T000000", 480, "new year midnight local, UTC is still the previous year"),
    ("20251231T233000", -300, "negative offset (UTC-5), crosses to next day in UTC"),
    ("20230615T134500", 330, "half-hour offset (UTC+5:30)"),
    ("20230615T000000", 0, "hour 00 (24-hour clock, not 12)"),
    ("20230615T230000", 0, "hour 23 (24-hour clock)"),
]

time_vectors = []
for text, off, src in TIME_INPUTS:
    unix = parse_time(text, off)
    assert unix is not None and fmt_time(unix, off) == text
    time_vectors.append({"unix": unix, "utc_offset_minutes": off, "text": text,
                         "source": src})

time_invalid = [
    {"text": "20141221T1111111", "why": "7 time digits; the seed's own getinfaxcount example",
     "source": "seed line 404: timestart=20141221T1111111&timeend=20150201T111111"},
    {"text": "2014-12-21T11:11:11", "why": "separators; format is YYYYMMDDTHHNNSS",
     "source": "digest §Conventions"},
    {"text": "20141221 111111", "why": "space instead of T", "source": "digest §Conventions"},
    {"text": "20141221t111111", "why": "lower-case t (format shows upper-case T)",
     "source": "digest §Conventions"},
    {"text": "20141321T111111", "why": "month 13", "source": "digest §Conventions"},
    {"text": "20141221T241111", "why": "hour 24 on a 24-hour clock (00-23)",
     "source": "seed line 380: 24小时计时方式"},
    {"text": "20230229T101010", "why": "29 Feb in a non-leap year", "source": "digest §Conventions"},
    {"text": "", "why": "empty", "source": "digest §Conventions"},
]
for v in time_invalid:
    assert parse_time(v["text"], 0) is None, v

time_window_rule = {
    "rule": "timeend must be greater than timestart (strictly)",
    "source": "seed line 394: 参数timeend必须大于timestart。 (also lines 426, 519); digest §Outbound fax getoutfaxids: (timeend > timestart)",
    "cases": [
        {"timestart": "20141221T111111", "timeend": "20150201T111111", "valid": True},
        {"timestart": "20141221T111111", "timeend": "20141221T111112", "valid": True},
        {"timestart": "20141221T111111", "timeend": "20141221T111111", "valid": False},
        {"timestart": "20150201T111111", "timeend": "20141221T111111", "valid": False},
    ],
}

# ---------------------------------------------------------------------------------------
# URL encoding of values.
# digest §Conventions: "All values are URL-encoded; fax numbers in particular (`+`→`%2B`,
#   `(`→`%28`, `)`→`%29`, space→`%20`)."
# seed line 189: "4. 使用http的接口,按URL的相关规范,需要对+号,括号,空格进行转码:"
# seed lines 191-195: "+ %2B / ( %28 / ) %29 / 空格 %20"
# Only these four mappings are given by the documents; letters, digits and RFC 3986
# unreserved "-._~" are left alone by every URL encoder, and "&", "=", "%", "#" must be
# encoded or the query string itself breaks ("按URL的相关规范").  Nothing else is pinned.
# ---------------------------------------------------------------------------------------
SAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def enc(value):
    out = []
    for b in value.encode("utf-8"):
        c = chr(b)
        out.append(c if c in SAFE else "%%%02X" % b)
    return "".join(out)


url_encoding = []
for raw, src in [
    ("+", "seed line 192: + → %2B"),
    ("(", "seed line 193: ( → %28"),
    (")", "seed line 194: ) → %29"),
    (" ", "seed line 195: 空格 → %20 (NOT '+', which the server would have to decode as a space)"),
    ("+86(20)87057352", "seed line 186 example number, encoded per lines 189-195"),
    ("+852 22222222", "seed line 187 example number, encoded per lines 189-195"),
    ("+86(21) 23456789", "seed line 188 example number (with its space), encoded per lines 189-195"),
    ("+86(20)87057352E8001", "seed line 157: 分机号码以E分隔; 'E' is a letter, left as is"),
    ("+86(10)99999999", "seed line 199: mail jobs show faxnum +86(10)99999999"),
    ("87057352", "digits only: nothing to encode"),
]:
    url_encoding.append({"input": raw, "encoded": enc(raw), "source": src})

url_encoding_structural = []
for raw in ["a&b", "a=b", "100%", "a#b", "p@ss&w=rd +1"]:
    url_encoding_structural.append({
        "input": raw, "encoded": enc(raw),
        "source": "digest §Conventions: All values are URL-encoded; seed line 189: 按URL的相关规范 — "
                  "'&', '=', '%', '#' must be percent-encoded for the value to survive the query string; "
                  "'+' and ' ' per seed lines 192/195"})

# ---------------------------------------------------------------------------------------
# Fax number format the server expects.
# seed line 184: "WaveFax传真服务器要求提交的号码按一定的规则进行格式化:"
# seed line 186: "1. 中国大陆的号码使用+86(区号)号码的格式,例如广州的号码提交为+86(20)87057352;"
# seed line 187: "2. 其它国家地区的号码使用"+国际码空格号码"的格式例如香港的号码+852 22222222"
# seed line 188: "3. 如果提交时没有指定国际码,服务器会按当前服务设置的默认区号对号码进行格式化,
#                 例如向传真服务器提交一个号码为23456789的号码,传真服务器的区号为21,则该号码会被格式化为+86(21) 23456789。"
# seed line 157: "faxnum	传真号码 ,分机号码以E分隔"
# digest §Fax number format: "Mainland China: `+86(20)87057352`; other countries:
#   `+852 22222222`; a number without country code is formatted by the server with its
#   default area code. Extension: append `E` + digits."
# ---------------------------------------------------------------------------------------
fax_number_format = [
    {"input": {"country_code": "86", "area_code": "20", "number": "87057352"},
     "expected": "+86(20)87057352", "expected_encoded": enc("+86(20)87057352"),
     "source": "seed line 186: 广州的号码提交为+86(20)87057352"},
    {"input": {"country_code": "852", "number": "22222222"},
     "expected": "+852 22222222", "expected_encoded": enc("+852 22222222"),
     "source": "seed line 187: 香港的号码+852 22222222"},
    {"input": {"country_code": "86", "area_code": "20", "number": "87057352", "extension": "8001"},
     "expected": "+86(20)87057352E8001", "expected_encoded": enc("+86(20)87057352E8001"),
     "source": "seed line 186 + seed line 157 (分机号码以E分隔); digest: Extension: append E + digits"},
    {"input": {"country_code": "852", "number": "22222222", "extension": "12"},
     "expected": "+852 22222222E12", "expected_encoded": enc("+852 22222222E12"),
     "source": "seed line 187 + seed line 157 (分机号码以E分隔)"},
]

server_side_formatting = [
    {"submitted": "23456789", "server_default_area_code": "21",
     "server_formats_as": "+86(21) 23456789",
     "note": "done by the server, not the client; note the space after ')' in the seed's own example",
     "source": "seed line 188: 提交一个号码为23456789的号码,传真服务器的区号为21,则该号码会被格式化为+86(21) 23456789"},
]

# ---------------------------------------------------------------------------------------
# Request query strings: only parameters the documents list for each call, in the order of
# the seed's request line (the seed does not say the order matters).
# ---------------------------------------------------------------------------------------


def q(params):
    return "&".join("%s=%s" % (k, enc(v)) for k, v in params)


requests = []


def req(name, method, params, source, note=None):
    r = {"name": name, "method": method, "path": "/wspubcore", "params": params,
         "query": q(params), "source": source}
    if note:
        r["note"] = note
    requests.append(r)


TOKEN = "WSSESS645E323BA24393187FAD"  # seed line 14

req("login with user", "POST",
    [["call", "login"], ["user", "alice"], ["passwd", "secret"]],
    "seed line 22: POST /wspubcore?call=login&user=xxxxxx&passwd=xxxxxx HTTP/1.1")
req("login with user, password needing encoding", "POST",
    [["call", "login"], ["user", "alice"], ["passwd", "p@ss&w=rd +1"]],
    "seed line 22 + digest §Conventions: All values are URL-encoded")
req("login with userdomain", "POST",
    [["call", "login"], ["userdomain", "domainuser01"], ["passwd", "secret"]],
    "seed line 32: userdomain	使用域用户登录, 域用户名; digest §Session: (or userdomain=D instead of user)",
    note="userdomain takes user's place; the seed shows no request line for it, so its position is the one user has in seed line 22")
req("adminlogin", "POST",
    [["call", "adminlogin"], ["user", "admin"], ["passwd", "secret"]],
    "seed line 50: POST /wspubcore?call=adminlogin&user=xxxxxx&passwd=xxxxxx HTTP/1.1")
req("logoff", "POST",
    [["call", "logoff"], ["sessiontoken", TOKEN]],
    "seed line 71: POST /wspubcore?call=logoff&sessiontoken=xxxxxx HTTP/1.1",
    note="request parameter is lower-case `sessiontoken`; the reply key is `sessionToken` (seed lines 14, 38)")
req("submitfax, required parameters", "POST",
    [["call", "submitfax"], ["sessiontoken", TOKEN], ["faxnum", "+86(20)87057352"],
     ["recipient", "Zhang San"], ["fileid", "F1001"], ["subject", "Invoice 42"]],
    "seed line 147: /wspubcore?call=submitfax&sessiontoken=xxx&faxnum=xxx&recipient=xxx&fileid=xxx&subject=xxx&scheduletime=xxx (scheduletime optional, seed line 161)")
req("submitfax with scheduletime and extension", "POST",
    [["call", "submitfax"], ["sessiontoken", TOKEN], ["faxnum", "+86(20)87057352E8001"],
     ["recipient", "Zhang San"], ["fileid", "F1001"], ["subject", "Invoice 42"],
     ["scheduletime", "20141221T111111"]],
    "seed line 147 (request line), 157 (E extension), 161 (scheduletime YYYYMMDDTHHNNSS)")
req("submitfax, fax-mail with stamp and Convert=N", "POST",
    [["call", "submitfax"], ["sessiontoken", TOKEN], ["faxnum", "+852 22222222"],
     ["recipient", "HK Office"], ["fileid", "F1002"], ["subject", "Contract"],
     ["stampname", "company"], ["decx", "100"], ["decy", "200"], ["pages", "1"],
     ["pattern", "fax-mail"], ["mailaddress", "test1@example.com; test2@example.com"],
     ["Convert", "N"]],
    "seed lines 155-173 (parameter table: stampname, decx, decy, pages, pattern, mailaddress, Convert); digest §Outbound fax",
    note="`Convert` is spelled with a capital C in the seed (line 171) and the digest. '@' and ';' are encoded here by the strict encoder; whether the server also accepts them literally is not stated (see ambiguities)")
req("getinfaxids with a time window", "GET",
    [["call", "getinfaxids"], ["sessiontoken", TOKEN], ["timestart", "20141221T111111"],
     ["timeend", "20150201T111111"]],
    "seed line 368: /wspubcore?call=getinfaxids&sessiontoken=xxx×tart=xxx&timeend=xxx ('×tart' is '&timestart' mangled by an HTML entity, cf. table line 380)")
req("getinfaxids with a time window and folderid", "GET",
    [["call", "getinfaxids"], ["sessiontoken", TOKEN], ["timestart", "20141221T111111"],
     ["timeend", "20150201T111111"], ["folderid", "7"]],
    "seed lines 378-385 (folderid optional); digest §Inbound fax")
req("getoutfaxids with a time window", "GET",
    [["call", "getoutfaxids"], ["sessiontoken", TOKEN], ["timestart", "20141221T111111"],
     ["timeend", "20150201T111111"]],
    "seed line 495 (same '×tart' mangling) and table lines 505-510")
req("getoutfax", "GET",
    [["call", "getoutfax"], ["sessiontoken", TOKEN], ["faxid", "12345"]],
    "seed line 305: GET /wspubcore?call=getoutfax&sessiontoken=xxx&faxid=xxx HTTP/1.1")
req("getinfax", "GET",
    [["call", "getinfax"], ["sessiontoken", TOKEN], ["faxid", "54321"]],
    "seed line 432: GET /wspubcore?call=getinfax&sessiontoken=xxx&faxid=xxx HTTP/1.1")
req("getfaxfile as pdf", "GET",
    [["call", "getfaxfile"], ["sessiontoken", TOKEN], ["fileid", "F2001"], ["pdf", "1"]],
    "seed line 91: GET /wspubcore?call=getfaxfile&sessiontoken=xxx&fileid=xxx&pdf=1 (OCR spaces removed)")
req("deleteinfax", "GET",
    [["call", "deleteinfax"], ["sessiontoken", TOKEN], ["faxid", "54321"], ["recycle", "false"]],
    "seed line 466 + line 477-478: 该参数暂时没实现,请传输固定值false")
req("putfile", "POST",
    [["call", "putfile"], ["sessiontoken", TOKEN]],
    "seed line 119; seed lines 137-139: body is the raw file, header Content-Disposition must carry filename")

# ---------------------------------------------------------------------------------------
# Lenient JSON replies.
# digest §Conventions: "The seed's examples are not strict JSON (`{ code:0, sessionToken:"…"}`,
#   unquoted keys): parse leniently."
# ---------------------------------------------------------------------------------------
lenient_json = [
    {"text": '{ code:0, sessionToken: "WSSESS645E323BA24393187FAD"}',
     "expect": {"code": 0, "sessionToken": "WSSESS645E323BA24393187FAD"},
     "source": 'seed line 14: { code:0, sessionToken: "WSSESS645E323BA24393187FAD"}'},
    {"text": '{ code:251658242, msg: "invalid session token"}',
     "expect": {"code": 251658242, "msg": "invalid session token"},
     "meaning": "invalid sessionToken -> log in again and retry once (digest §Session)",
     "source": 'seed line 15: { code:251658242, msg: "invalid session token"}'},
    {"text": '{"code":0,"sessionToken":"WSSESS645E323BA24393187FAD"}',
     "expect": {"code": 0, "sessionToken": "WSSESS645E323BA24393187FAD"},
     "source": 'digest §Session: {"code":0,"sessionToken":"WSSESS…"} (strict form; token value from seed line 14)'},
]

# ---------------------------------------------------------------------------------------
# Error codes.  seed lines 552-570 "1.1.1.18. 调用返回code定义"; digest §Error codes.
# digest §Session: "On `251658242` (invalid) or `251658244` (expired) the driver logs in
#   again and retries the call once."
# ---------------------------------------------------------------------------------------
ERRS = [
    (0, "无错误", "ok", 554),
    (251658242, "无效的 sessionToken", "invalid sessionToken", 555),
    (251658244, "Sessiontoken 已过期", "sessionToken expired", 556),
    (251658249, "数据库操作错误", "database error", 557),
    (251658256, "服务器内部错误", "internal server error", 558),
    (251658308, "无效的传真 ID", "invalid fax id", 559),
    (251658336, "传真号码格式错误", "bad fax number format", 560),
    (251658345, "无效的文件 ID", "invalid file id", 561),
    (251658512, "无此用户", "no such user", 562),
    (251658513, "密码错误", "wrong password", 563),
    (251658515, "此用户不可用(被冻结)", "user disabled (frozen)", 564),
    (251658516, "域登陆验证失败", "domain login failed", 565),
    (251658753, "用户信息有误", "bad user info", 566),
    (251658755, "无效的用户 ID", "invalid user id", 567),
    (251658771, "无此文件 ID", "no such file id", 568),
    (251658772, "无法获取此文件", "cannot fetch file", 569),
    (251658248, "用户没有相应的权限", "permission denied", 570),
]
error_codes = []
for code, zh, en, line in ERRS:
    error_codes.append({
        "code": code, "hex": "0x%08X" % code, "meaning_seed": zh, "meaning": en,
        "success": code == 0,
        "invalid_token": code == 251658242,
        "expired_token": code == 251658244,
        "relogin_and_retry_once": code in (251658242, 251658244),
        "source": "seed line %d: %s	%s" % (line, code, zh),
    })

# ---------------------------------------------------------------------------------------
# getoutfax status and errcode.  seed lines 320-347 (the table is OCR-garbled and repeated;
# line 330 reads "8: 发送完成(庆败)" where line 331 has "8: 发送完成(失败)").
# digest §Outbound fax: "States 8 and 9 are final".
# ---------------------------------------------------------------------------------------
STATES = [
    (0, "等待传真文档转换", "waiting for document conversion", 321),
    (1, "等待审批", "waiting for approval", 322),
    (2, "正在转换", "converting", 323),
    (3, "等待发送", "waiting to send", 324),
    (4, "暂停发送", "paused", 325),
    (5, "己调度进入发送设备", "scheduled onto a sending device", 326),
    (6, "正在拨号", "dialling", 327),
    (7, "正在发送", "sending", 328),
    (8, "发送完成(失败)", "finished (failed)", 331),
    (9, "发送完成(成功)", "finished (success)", 332),
]
fax_states = [{"status": n, "meaning_seed": zh, "meaning": en, "final": n in (8, 9),
               "success": n == 9 if n in (8, 9) else None,
               "source": "seed line %d; digest §Outbound fax" % line}
              for n, zh, en, line in STATES]

FAXERRS = [
    (0, "发送成功,无错误", "none"),
    (1, "传真文档转换失败", "document conversion failed"),
    (2, "传真审批失败", "approval rejected"),
    (3, "拨号失败", "dial failed"),
    (4, "忙音", "busy"),
    (5, "对方挂机", "remote hung up"),
    (6, "拨号超时", "dial timeout"),
    (7, "不支持的Modem", "unsupported modem"),
    (8, "传真协议协商失败", "fax negotiation failed"),
    (9, "线路噪音过大", "line noise"),
    (10, "通讯端口错误", "port error"),
    (11, "被用户取消", "cancelled by user"),
    (12, "达到配额", "quota reached"),
    (13, "未知错误", "unknown error"),
]
fax_errcodes = [{"errcode": n, "meaning_seed": zh, "meaning": en,
                 "source": "seed line 330: errcode 发送错误码; ... %d: %s; digest §Outbound fax" % (n, zh)}
                for n, zh, en in FAXERRS]

getoutfax_reply_fields = {
    "fields": ["code", "status", "errcode", "faxnum", "recipient", "fileid", "subject",
               "scheduletime", "senttime", "duration", "sentpages", "portname"],
    "notes": {
        "scheduletime": "may be empty (seed: 要求发送时间,可以为空)",
        "senttime": "empty until sent (seed: 未发送完成时为空); unit disputed, see ambiguities",
        "duration": "seconds, 0 until sent (seed: 发送持续时间,单位秒(未发送完成时为0))",
        "on_failure": "only `code` (seed line 360: 如果调用失败,除了code属性以外,返回对象中不包含其他属性); seed line 11 adds `msg`",
    },
    "source": "seed lines 317-356, 360; digest §Outbound fax",
}
getinfax_reply_fields = {
    "fields": ["code", "callerid", "calleeid", "fileid", "subject", "rcvtime", "pages",
               "duration", "portname"],
    "notes": {"rcvtime": "may be empty (seed line 451: 接收时间,可以为空)",
              "duration": "seconds (seed line 453)"},
    "source": "seed lines 444-454; digest §Inbound fax",
}
submitfax_reply = {
    "single": {"key": "faxid", "source": "seed line 178: faxid 提交成功后得到的发送传真ID(对于提交了单个任务)"},
    "several": {"key": "faxids",
                "order": "fax ids first, then mail ids: [传真id1,传真id2,邮件id1,邮件id2]",
                "mail_job_faxnum": "+86(10)99999999",
                "source": "seed lines 179, 199"},
}

ambiguities = [
    {"topic": "time zone of YYYYMMDDTHHNNSS",
     "detail": "The digest says 'server local time'; the seed names no time zone at all (lines 161, 380, 414 give only the format and '24小时计时方式'). Vectors therefore carry an explicit utc_offset_minutes; which offset a real server uses is not in the documents.",
     "source": "digest §Conventions vs seed lines 161, 380-383, 414-415"},
    {"topic": "seed example time with 7 time digits",
     "detail": "The getinfaxcount request line writes timestart=20141221T1111111 (7 digits after T), contradicting YYYYMMDDTHHNNSS; treated as a typo, listed under time_invalid.",
     "source": "seed line 404"},
    {"topic": "space after the area code",
     "detail": "Rule 1 writes mainland numbers with no space (+86(20)87057352) but rule 3's example of the server's own formatting has a space (+86(21) 23456789). Whether the server accepts/needs the space for mainland numbers is not stated; vectors emit the rule-1 form.",
     "source": "seed lines 186 vs 188"},
    {"topic": "area code with or without the domestic trunk prefix 0",
     "detail": "Guangzhou is written (20); the seed never says to strip a leading 0 from an area code such as 020, nor how a local number with a 0-prefixed area code (02087057352) should be turned into +86(20)87057352. No vector for that conversion.",
     "source": "seed line 186"},
    {"topic": "mainland mobile numbers / numbers without area code",
     "detail": "The +86(区号)号码 form assumes an area code; nothing says how mainland mobile numbers (e.g. 13800138000) are to be written. Rule 3 says a number without country code is formatted by the server with its default area code, which would be wrong for a mobile. Not pinned.",
     "source": "seed lines 186, 188"},
    {"topic": "other countries with area codes / spacing inside the number",
     "detail": "'+国际码空格号码' (one space after the country code) is shown only for Hong Kong (no area codes). Whether a number such as UK 20 7946 0000 is sent as '+44 2079460000' or with inner spaces or parentheses is not stated.",
     "source": "seed line 187"},
    {"topic": "extension separator for international numbers",
     "detail": "'分机号码以E分隔' is stated for faxnum generally; no example with an extension exists. The vectors append E+digits directly after the number (no space) for both forms; the exact placement relative to spaces/parentheses is an inference from 'separated by E'.",
     "source": "seed line 157"},
    {"topic": "URL encoding of characters other than + ( ) space",
     "detail": "The seed lists only + ( ) space (lines 191-195) and otherwise says '按URL的相关规范'. Characters such as '@' and ';' (mailaddress), '/' or ':' may be sent literally or percent-encoded; the documents don't say which the server requires. The request vectors use a strict encoder (everything except A-Z a-z 0-9 - . _ ~ percent-encoded, upper-case hex).",
     "source": "seed lines 189-195; digest §Conventions"},
    {"topic": "character set for non-ASCII values (e.g. Chinese recipient/subject)",
     "detail": "The documents never say whether percent-encoding is over UTF-8 or GBK bytes; no vector with non-ASCII query values is given.",
     "source": "seed lines 9-11, 189; digest §Conventions"},
    {"topic": "mailaddress separator spacing",
     "detail": "submitfax shows 'test1@example.com; test2@example.com' (space after ';'), submitfaxmerge 'test1@example.com;test2@example.com' (no space).",
     "source": "seed lines 170 vs 230"},
    {"topic": "senttime unit",
     "detail": "One copy of the getoutfax table says 'senttime 实际发送时间,单位秒' (seconds), the others 'senttime 实际发送时间' without unit; the digest says to accept a number and a YYYYMMDDTHHNNSS string.",
     "source": "seed line 330 vs lines 332-353"},
    {"topic": "failure reply contents",
     "detail": "Seed line 11 says a failed reply contains a msg; lines 360 and 458 say that on failure the object holds nothing except code. Accept code with or without msg.",
     "source": "seed lines 11, 360, 458"},
    {"topic": "type of id values",
     "detail": "sessionToken is a string in the seed example; the documents never show concrete faxid/fileid/faxids values, so whether ids are JSON strings or numbers is not stated (digest writes \"faxid\":\"…\", a placeholder).",
     "source": "seed lines 133, 178-179, 390; digest §Outbound fax"},
    {"topic": "fileid of a merged or converted outbound fax",
     "detail": "The seed says nothing about what getoutfax's fileid holds for submitfaxmerge jobs or after conversion (already noted by the digest).",
     "source": "seed lines 246, 321; digest §Outbound fax"},
    {"topic": "getoutfaxids coverage",
     "detail": "Described as the ids of sent faxes (已发送的传真ID列表); whether queued/converting jobs are included is not stated (already noted by the digest).",
     "source": "seed line 501"},
    {"topic": "which time getinfaxids/getoutfaxids filter on",
     "detail": "The windows filter on 'time range' without naming the field (rcvtime? submission time? senttime?) or whether bounds are inclusive.",
     "source": "seed lines 374, 380-383, 501-510"},
    {"topic": "getfaxfile pdf values",
     "detail": "Only 'pdf 为0不转换' (0 = no conversion) and the request line's pdf=1 are given; other non-zero values are not described.",
     "source": "seed lines 91, 104"},
    {"topic": "parameter order and name case",
     "detail": "Request vectors follow the order of each seed request line; nothing says the server cares about order. Parameter names are lower-case except `Convert` (seed line 171); whether the server matches names case-insensitively (seed line 42 also writes 'Userdomain') is not stated.",
     "source": "seed lines 42, 171"},
]

doc = {
    "made_by": ("tests/vectors/make_wavefax_vectors.py, written from the digest "
                "/work/shared/specs/wavefax-http.md and the seed 000_8abee33538323645.txt alone, "
                "by an independent reader who never saw the Rust code. Python standard library only."),
    "conventions": {
        "endpoint": "/wspubcore?call=<name>&…",
        "reply": "JSON (possibly non-strict: unquoted keys); code 0 = success, otherwise msg",
        "time_format": "YYYYMMDDTHHNNSS, 24-hour; local = utc + utc_offset_minutes",
        "url_encoding": "strict percent-encoding of UTF-8 bytes, upper-case hex, unreserved A-Z a-z 0-9 - . _ ~ kept",
        "source": "digest §Conventions; seed lines 9-16, 189-195",
    },
    "time_format": time_vectors,
    "time_invalid": time_invalid,
    "time_window_rule": time_window_rule,
    "url_encoding": url_encoding,
    "url_encoding_structural": url_encoding_structural,
    "fax_number_format": fax_number_format,
    "server_side_number_formatting": server_side_formatting,
    "requests": requests,
    "lenient_json": lenient_json,
    "error_codes": error_codes,
    "fax_states": fax_states,
    "fax_errcodes": fax_errcodes,
    "getoutfax_reply_fields": getoutfax_reply_fields,
    "getinfax_reply_fields": getinfax_reply_fields,
    "submitfax_reply": submitfax_reply,
    "ambiguities": ambiguities,
}

with open(OUT, "w", encoding="utf-8") as f:
    json.dump(doc, f, ensure_ascii=False, indent=2)
    f.write("\n")
print("wrote", OUT)
