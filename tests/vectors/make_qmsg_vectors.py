#!/usr/bin/env python3
"""Known-answer vectors for the QMsg (快信通 1.9) cloud SMS HTTP API, written from the
documents alone by an independent reader who never saw the agent's Rust code:

  * digest:  /work/shared/specs/qmsg-sms.md
  * seed:    /work/shared/seeds/001_5bf76b26765129cc.txt ("快信通 Quick Messenger 1.9
             二次开发接口使用说明书", MobileDao, version 2.0)

Writes tests/vectors/qmsg.json next to this script.  Deterministic (fixed inputs, no clock,
no randomness); plain python3 standard library only (GBK through Python's own `gbk` codec,
percent-encoding written out by hand and cross-checked against urllib.parse).

Every vector carries "source": "digest line N: …" or "seed line N: …" (line numbers of the
two files above).  Where the documents are silent or disagree, nothing is guessed silently:
the point goes into the "ambiguities" array, with the reading the simulator
(`telbridge-sim qmsg`) takes.

Where digest and seed differ (the seed is followed):
  * seed lines 174-175 ("| uid | 用户名 |", "| pwd | 密码 |") do not mark uid/pwd "必填" for
    getSms, while the digest's prototype lists them like sendSms's; the seed's getSms code
    table (line 204) has "5 | 用户名和密码不匹配", so they are sent and checked.
  * seed line 283 "推送成功返回 0" belongs to 2.3.3 (received SMS) only; 2.3.4 (reports) names
    no answer.  The digest says the same (line 42, under "Received SMS" only).
  * seed lines 281/302/316 name the push paths recvmsg.asp, recvreport.jsp, recvreport.asp;
    the digest writes /recvmsg and /recvreport.  The customer sets the URL (seed line 278), so
    the path is the agent's choice; these vectors give only the query strings.
"""

import json
import os
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "qmsg.json")
BASE = "http://qmsg2.mdao.com"  # seed line 79; digest line 6: "Base URL is configurable"

# ---------------------------------------------------------------------------------------
# Percent-encoding.
# seed line 81: "注意: get 方式提交编码指定为 GBK;post 方式提交编码指定为 UTF-8。"
# seed line 91: "msg | 短信内容，建议采用 URL 编码后提交。"
# digest lines 10-11: "GET requests are encoded in GBK; POST (form) requests in UTF-8. The agent
#   must encode accordingly (GBK percent-encoding for GET)."
# The seed does not say which bytes stay unescaped, so two exact spellings are given; a server
# decodes both to the same parameters:
#   * "form":    application/x-www-form-urlencoded as HTML forms / Java URLEncoder write it:
#                A-Z a-z 0-9 * - . _ kept, space -> "+", every other byte %XX (upper case).
#   * "rfc3986": A-Z a-z 0-9 - . _ ~ kept, space -> "%20", every other byte %XX (upper case).
# ---------------------------------------------------------------------------------------
FORM_SAFE = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-._")
RFC_SAFE = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def pct(text, charset, style):
    out = []
    for b in text.encode(charset):
        if style == "form" and b == 0x20:
            out.append("+")
        elif b in (FORM_SAFE if style == "form" else RFC_SAFE):
            out.append(chr(b))
        else:
            out.append("%%%02X" % b)
    s = "".join(out)
    # Cross-check against the standard library.
    if style == "rfc3986":
        assert s == urllib.parse.quote(text, safe="", encoding=charset), (text, s)
    else:
        assert s == urllib.parse.quote_plus(text, safe="*", encoding=charset).replace("~", "%7E"), (text, s)
    return s


def query(pairs, charset, style):
    return "&".join("%s=%s" % (k, pct(v, charset, style)) for k, v in pairs)


def parse(q, charset):
    """The parameters a servlet would see (first value of a name wins)."""
    out = {}
    for k, v in urllib.parse.parse_qsl(q, keep_blank_values=True, encoding=charset, errors="strict"):
        out.setdefault(k, v)
    return out


def gbk_hex(text):
    return text.encode("gbk").hex()


# ---------------------------------------------------------------------------------------
# (e) The byte-length rule.
# seed line 91: "（如果采用 GET 方式，长度不超过 300 个字节，即 150 个汉字；如果采用 POST 方式，长度不超过
#   1000 个字节，即 500 个汉字）"
# digest lines 14-15: "bytes counted GBK-style, a Chinese character = 2"
# For every text that GBK can encode the count is len(text.encode("gbk")): 1 per ASCII
# character, 2 per other character.
# ---------------------------------------------------------------------------------------
GET_MAX_BYTES, POST_MAX_BYTES = 300, 1000   # seed line 91
GET_MAX_MOBS, POST_MAX_MOBS = 50, 300       # seed line 90


def gbk_len(text):
    n = sum(1 if ord(c) < 0x80 else 2 for c in text)
    assert n == len(text.encode("gbk")), text
    return n


# ---------------------------------------------------------------------------------------
# (a) sendSms requests.
# seed line 79 (prototype): sendSms.do?entid=&uid=&pwd=&mobs=&msg=&extno=&sendid=&returnflag=
# seed line 99: "...sendSms.do?entid=8000123&uid=user&pwd=password&mobs=13800210022&msg=Hello&
#   extno=12345&sendid=123456&returnflag=xml"
# ---------------------------------------------------------------------------------------
LOGIN = [("entid", "8000123"), ("uid", "user"), ("pwd", "password")]  # seed lines 98-99

SEND_CASES = [
    ("seed_example_2", LOGIN + [("mobs", "13800210022"), ("msg", "Hello"), ("extno", "12345"),
                                ("sendid", "123456"), ("returnflag", "xml")],
     "seed line 99 (ASCII only: the same bytes in GBK and UTF-8)"),
    ("chinese_with_signature", LOGIN + [("mobs", "13800210021"), ("msg", "【快信通】你好，世界！Hello 2024"),
                                        ("sendid", "123456"), ("returnflag", "text")],
     "seed line 81 (GET in GBK, POST in UTF-8), line 91 (msg URL-encoded)"),
    ("reserved_characters", LOGIN + [("mobs", "13800210021"), ("msg", "50% off & free=yes? #1 +86 a,b/c"),
                                     ("sendid", "A-1"), ("returnflag", "text")],
     "seed line 91 ('建议采用 URL 编码后提交'): & = % + # ? / must not leak into the query's syntax"),
    ("several_numbers", LOGIN + [("mobs", "13800210021,13800210022,13916610888"), ("msg", "会议改到3点"),
                                 ("sendid", "20240101000001")],
     "seed line 90: '多个手机号以英文逗号分隔' (an ASCII comma, written %2C here; a literal ',' decodes the same)"),
]


def send_vectors():
    out = []
    for name, pairs, src in SEND_CASES:
        msg = dict(pairs)["msg"]
        for method, charset in (("GET", "gbk"), ("POST", "utf-8")):
            form = query(pairs, charset, "form")
            rfc = query(pairs, charset, "rfc3986")
            assert parse(form, charset) == parse(rfc, charset) == dict(pairs)
            v = {
                "name": "%s_%s" % (name, method.lower()),
                "method": method,
                "charset": "GBK" if charset == "gbk" else "UTF-8",
                "params": [list(p) for p in pairs],
                "msg_bytes_hex": msg.encode(charset).hex(),
                "msg_gbk_len": gbk_len(msg),
                "decoded": dict(pairs),
                "source": src,
            }
            if method == "GET":
                v["query_form"] = form
                v["query_rfc3986"] = rfc
                v["url_form"] = "%s/sendSms.do?%s" % (BASE, form)
                # Diagnostic only: the same request wrongly percent-encoded in UTF-8, and the
                # text a GBK-reading server makes of it (never the contract).
                wrong = query(pairs, "utf-8", "form")
                if wrong != form:
                    v["diagnostic_utf8_query"] = wrong
                    v["diagnostic_utf8_read_as_gbk"] = msg.encode("utf-8").decode("gbk", errors="replace")
            else:
                v["url"] = "%s/sendSms.do" % BASE
                v["content_type"] = "application/x-www-form-urlencoded"
                v["body_form"] = form
                v["body_rfc3986"] = rfc
            out.append(v)
    return out


# ---------------------------------------------------------------------------------------
# (b) sendSms replies and the status codes.
# seed lines 103-107: text reply "0 / 623090994 / 198"; line 122: "第二行是此次发送的序列号";
# line 123: "第三行是余额。表示该用户的账户中还可发 198 条短信"
# seed lines 125-150: the two XML replies; lines 156-159: payType, balance
# ---------------------------------------------------------------------------------------
SEND_CODES = [
    # code, seed statMsg (lines 113-120), digest wording (lines 25-26)
    (0, "成功提交", "submitted"),
    (1, "输入参数错误，如缺少参数、手机号码格式错误等", "bad parameters"),
    (2, "数据库错误", "database error"),
    (5, "用户名和密码不匹配", "wrong uid/pwd"),
    (8, "账号被锁定", "account locked"),
    (9, "余额不足", "insufficient balance"),
    (10, "账号已过期", "account expired"),
    (11, "短信内容包含非法字词", "forbidden words"),
]
GET_CODES = [0, 1, 2, 5, 8, 10]  # seed lines 199-209 (0 there is "查询成功")
MEANING = {c: en for c, _, en in SEND_CODES}

SEED_XML_OK = """<?xml version="1.0" encoding="GBK" ?>
<qmsg>
  <version>1.9</version>
  <statCode>0</statCode>
  <statMsg>成功</statMsg>
  <sendId>1297154018</sendId>
  <payType>1</payType>
  <balance>48</balance>
</qmsg>
"""
SEED_XML_POOR = """<?xml version="1.0" encoding="GBK" ?>
<qmsg>
  <version>1.9</version>
  <statCode>9</statCode>
  <statMsg>用户余额不足,请联系管理员</statMsg>
  <payType>0</payType>
  <balance>0</balance>
</qmsg>
"""


def send_expect(code, sendid, balance, pay_type=None, stat_msg=None):
    e = {"statCode": code, "sendid": sendid, "balance": balance, "sent": code == 0,
         "meaning": MEANING.get(code)}
    if pay_type is not None:
        e["payType"] = pay_type
        e["payType_meaning"] = {0: "personal account", 1: "organisation account"}[pay_type]
    if stat_msg is not None:
        e["statMsg"] = stat_msg
    return e


def reply_case(name, returnflag, text, expected, source):
    return {"name": name, "returnflag": returnflag, "body_text": text, "body_hex": gbk_hex(text),
            "expected": expected, "source": source}


def send_reply_vectors():
    return [
        reply_case("text_seed", "text", "0\n623090994\n198", send_expect(0, "623090994", 198),
                   "seed lines 105-107, 122-123"),
        reply_case("text_crlf_trailing", "text", "0\r\n623090994\r\n198\r\n", send_expect(0, "623090994", 198),
                   "seed lines 105-107; line ends are not specified (see ambiguities)"),
        reply_case("text_refused_blank_id", "text", "9\n\n0\n", send_expect(9, None, 0),
                   "seed line 118 (9 余额不足); a refusal's text shape is not shown (see ambiguities): "
                   "this is the simulator's"),
        reply_case("text_refused_one_line", "text", "5", send_expect(5, None, None),
                   "seed line 116 (5 用户名和密码不匹配); a refusal that is the status line alone"),
        reply_case("xml_seed_ok", "xml", SEED_XML_OK, send_expect(0, "1297154018", 48, 1, "成功"),
                   "seed lines 128-136, 158-159"),
        reply_case("xml_seed_insufficient_balance", "xml", SEED_XML_POOR,
                   send_expect(9, None, 0, 0, "用户余额不足,请联系管理员"),
                   "seed lines 142-149 (no <sendId> when refused)"),
        reply_case("xml_compact_crlf", "xml",
                   '<?xml version="1.0" encoding="GBK" ?>\r\n<qmsg><version>1.9</version><statCode>0</statCode>'
                   "<statMsg>成功</statMsg><sendId>77</sendId><payType>1</payType><balance>0</balance></qmsg>",
                   send_expect(0, "77", 0, 1, "成功"),
                   "digest line 24 (the same reply written on one line); balance 0 after a success is "
                   "still a success"),
    ]


# ---------------------------------------------------------------------------------------
# (c) getSms replies.
# seed lines 190-195 (text), 212 "以#打头的为注释行", 213 "<扩展号>,<手机号>,<收到时间>,<信息内容>，每一行为
#   收到的一条短信", 214 (extno = enterprise sub-number + user sub-number)
# digest lines 31-33: "the message itself may contain commas (split into at most 4 fields)"
# seed lines 219-241 (XML with two <MO>), 244-256 (nothing new), 270-274 (fields)
# ---------------------------------------------------------------------------------------
HEAD = "0\n# 机构账户余额是(The organization's balance is):198\n# extno,mobile,replytime,msg\n"


def text_mo(extno, mobile, replytime, msg):
    return {"extno": extno, "mobile": mobile, "replytime": replytime, "msg": msg}


def xml_mo(ent, src, dest, content, time):
    return {"entId": ent, "srcId": src, "destId": dest, "msgContent": content, "replyTime": time,
            "as_text_fields": text_mo(dest, src, time, content)}


def parse_text(body):
    """The reading the vectors expect: status line, '#' comments skipped, 4 fields at most."""
    lines = [l.rstrip("\r") for l in body.split("\n")]
    code = int(lines[0].strip())
    mos = [text_mo(*l.split(",", 3)) for l in lines[1:] if l and not l.startswith("#")]
    comments = [l for l in lines[1:] if l.startswith("#")]
    return code, mos, comments


def get_text_case(name, body, source):
    code, mos, comments = parse_text(body)
    e = {"statCode": code, "comments": comments, "mos": mos}
    if code == 0:
        e["balance_from_comment"] = 198
    return {"name": name, "returnflag": "text", "body_text": body, "body_hex": gbk_hex(body),
            "expected": e, "source": source}


def xml_doc(mos, code=0):
    parts = ['<?xml version="1.0" encoding="GBK" ?>', "<qmsg>", "  <version>1.9</version>",
             "  <statCode>%d</statCode>" % code, "  <statMsg />", "  <remark />", "  <payType>1</payType>",
             "  <balance>198</balance>"]
    for m in mos:
        esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        parts += ["  <MO>", "    <entId>%s</entId>" % m["entId"], "    <srcId>%s</srcId>" % m["srcId"],
                  "    <destId>%s</destId>" % m["destId"], "    <msgContent>%s</msgContent>" % esc(m["msgContent"]),
                  "    <replyTime>%s</replyTime>" % m["replyTime"], "  </MO>"]
    parts.append("</qmsg>")
    return "\n".join(parts) + "\n"


def get_reply_vectors():
    t = "2007-12-07 18:23:08"
    cases = [
        get_text_case("text_seed", HEAD + "00016,13916610888,2007-12-07 18:23:08,d44444444444\n",
                      "seed lines 191-194"),
        get_text_case("text_commas_and_chinese",
                      HEAD + "10012,13916610888,2007-12-07 18:23:08,你好,世界, ok,,\n"
                      + ",13800210021,2007-12-07 18:24:00,#不是注释 a,b\n"
                      + "00016,13800210022,2007-12-07 18:25:00,\n",
                      "digest lines 31-33 (split into at most 4 fields; the msg keeps its commas, trailing ones "
                      "too); seed line 212: only lines that START with '#' are comments; seed line 214 "
                      "(extno 10012); an empty extno and an empty msg are still 4 fields"),
        get_text_case("text_crlf", HEAD.replace("\n", "\r\n") + "00016,13916610888,2007-12-07 18:23:08,好,的\r\n",
                      "seed lines 191-194 with CRLF line ends (not specified; see ambiguities)"),
        get_text_case("text_nothing_new", HEAD, "seed lines 191-193 without message lines"),
        get_text_case("text_refused", "5\n", "seed line 204 (5 用户名和密码不匹配); no comment or message lines"),
    ]
    seed_mos = [xml_mo("8000123", "13916610888", "000", "你好", t),
                xml_mo("8000123", "13916610888", "78988", "d44444444444", t)]
    escaped = [xml_mo("8000123", "13800210021", "10012", "a<b & c>d, 你好,世界", "2007-12-07 18:24:00")]
    for name, mos, src in (
        ("xml_seed_two_mo", seed_mos, "seed lines 219-241"),
        ("xml_seed_nothing_new", [], "seed lines 247-255 ('如果没有新收到的短信')"),
        ("xml_escaped_content", escaped, "seed lines 270-274; XML text escaping (&lt; &amp; &gt;) is XML's own rule"),
    ):
        body = xml_doc(mos)
        cases.append({"name": name, "returnflag": "xml", "body_text": body, "body_hex": gbk_hex(body),
                      "expected": {"statCode": 0, "payType": 1, "balance": 198, "mos": mos}, "source": src})
    seed_body = cases[5]["body_text"]
    assert seed_body.splitlines()[12] == "    <msgContent>你好</msgContent>"  # seed line 231, verbatim
    return cases


# ---------------------------------------------------------------------------------------
# (d) Push query strings.
# seed line 281: recvmsg.asp?mob=&msg=&entid=&replytime=&ext=&appid=&returnflag=&getall=
# seed lines 289-293 (fields; line 293: ext=100123); line 283: "推送成功返回 0"
# seed line 302: recvreport.jsp?mob=&sendid=&status=&appid=&entid=; line 316: the example
#   "recvreport.asp?mob=13918876665&sendid=123456&status=0&appid=123&entid=8000123"
# digest lines 45-46: "The seed does not say how pushes are encoded: accept UTF-8 and GBK."
# ---------------------------------------------------------------------------------------
def push_vectors():
    out = []
    mo = [("mob", "13916610888"), ("msg", "你好，世界 ok,1+1=2&x"), ("entid", "8000123"),
          ("replytime", "2007-12-07 18:23:08"), ("ext", "100123"), ("appid", "123")]
    mo_extra = [("mob", "13916610888"), ("msg", "收到"), ("entid", "8000123"), ("replytime", "2007-12-07 18:23:08"),
                ("ext", "100123"), ("appid", ""), ("returnflag", "text"), ("getall", "no")]
    reports = [
        ([("mob", "13918876665"), ("sendid", "123456"), ("status", "0"), ("appid", "123"), ("entid", "8000123")],
         "seed line 316 (the example, verbatim)"),
        ([("mob", "13800210021"), ("sendid", "订单-42"), ("status", "2"), ("appid", "123"), ("entid", "8000123")],
         "seed lines 302, 308-312; status values are undefined (line 310 points to 2.3.4 itself): keep '2' raw; "
         "a non-ASCII caller-chosen sendid (seed line 93) shows the charset"),
    ]
    cases = [("recvmsg", mo, "seed lines 281, 289-293"),
             ("recvmsg_extra_params", mo_extra,
              "seed line 281 also lists returnflag and getall; digest lines 46-47: ignore them")]
    cases += [("recvreport", r, s) for r, s in reports]
    for i, (kind, pairs, src) in enumerate(cases):
        for charset in ("utf-8", "gbk"):
            form = query(pairs, charset, "form")
            rfc = query(pairs, charset, "rfc3986")
            assert parse(form, charset) == parse(rfc, charset) == dict(pairs)
            decoded = dict(pairs)
            for k in ("returnflag", "getall"):
                decoded.pop(k, None)
            out.append({
                "name": "%s_%d_%s" % (kind, i, "gbk" if charset == "gbk" else "utf8"),
                "kind": "recvreport" if kind == "recvreport" else "recvmsg",
                "charset": "GBK" if charset == "gbk" else "UTF-8",
                "query_form": form,
                "query_rfc3986": rfc,
                "decoded": decoded,
                "answer_body": "0",
                "source": src,
            })
    assert [v for v in out if v["name"] == "recvreport_2_utf8"][0]["query_form"] == "mob=13918876665&sendid=123456&status=0&appid=123&entid=8000123"
    return out


def length_vectors():
    texts = [
        ("Hello", "seed line 99 (msg=Hello)"),
        ("你好", "seed line 231 (你好); a Chinese character = 2 (digest line 15)"),
        ("【快信通】验证码 123456，5分钟内有效。", "full-width punctuation and brackets are 2 bytes each in GBK"),
        ("汉" * 150, "seed line 91: GET '300 个字节，即 150 个汉字' (exactly at the limit)"),
        ("汉" * 151, "seed line 91: 151 Chinese characters = 302 bytes: over GET, fine for POST"),
        ("a" * 300, "seed line 91: 300 ASCII bytes: at the GET limit"),
        ("a" * 301, "seed line 91: 301 ASCII bytes: over GET"),
        ("a" + "汉" * 150, "seed line 91: 1 + 300 = 301 bytes: over GET although only 151 characters"),
        ("汉" * 500, "seed line 91: POST '1000 个字节，即 500 个汉字' (exactly at the limit)"),
        ("汉" * 501, "seed line 91: 1002 bytes: over POST"),
        ("a" * 1000, "seed line 91: 1000 ASCII bytes: at the POST limit"),
        ("a" * 999 + "汉", "seed line 91: 999 + 2 = 1001 bytes: over POST"),
    ]
    out = []
    for text, src in texts:
        n = gbk_len(text)
        out.append({"text": text, "chars": len(text), "gbk_bytes": n, "get_ok": n <= GET_MAX_BYTES,
                    "post_ok": n <= POST_MAX_BYTES, "source": src})
    mobs = []
    for count in (1, 50, 51, 300, 301):
        mobs.append({"numbers": count, "get_ok": count <= GET_MAX_MOBS, "post_ok": count <= POST_MAX_MOBS,
                     "source": "seed line 90: GET '不得超过 50 个', POST '不得超过 300 个'"})
    return out, mobs


AMBIGUITIES = [
    {"point": "charset of the text replies",
     "detail": "The seed declares GBK for the XML replies (lines 128, 142, 219, 247) and for GET requests "
               "(line 81) but gives the text replies no charset. The getSms text reply carries Chinese (its "
               "comment line 192 and the messages). The simulator sends every reply as GBK bytes, with "
               "Content-Type text/plain or text/xml and no charset parameter.",
     "source": "seed lines 81, 128, 190-194"},
    {"point": "shape of a refused sendSms text reply",
     "detail": "Only a success is shown (three lines). The simulator answers statCode, an empty sendid line "
               "and the balance; a client must rely on the first line only and accept one, two or three lines.",
     "source": "seed lines 103-107"},
    {"point": "line ends",
     "detail": "Not specified; accept LF and CRLF, with or without a final line end. The simulator writes LF "
               "(CRLF with --crlf).",
     "source": "seed lines 105-107, 191-194"},
    {"point": "push charset",
     "detail": "Not stated (digest lines 45-46). Validity does not tell them apart: the GBK bytes of many "
               "Chinese texts are valid UTF-8 too, e.g. '一业为' is GBK D2BB D2B5 CEAA, which as UTF-8 reads "
               "'һҵΪ'. A receiver that tries UTF-8 first will misread such GBK pushes; the deployment's "
               "charset should be configured. The simulator pushes UTF-8, or GBK with --push-gbk.",
     "example": {"text": "一业为", "gbk_hex": gbk_hex("一业为"),
                 "same_bytes_as_utf8": bytes.fromhex(gbk_hex("一业为")).decode("utf-8")},
     "source": "digest lines 45-46; seed lines 281-293, 302-316 (no charset)"},
    {"point": "push percent-encoding style",
     "detail": "A space may come as '+' or '%20'; decode both. The simulator writes Java URLEncoder style "
               "('+', '*' kept, '~' escaped), e.g. replytime '2007-12-07+18%3A23%3A08'.",
     "source": "seed lines 281, 292 (replytime has a space)"},
    {"point": "answer to a status report push",
     "detail": "'推送成功返回 0' (seed line 283) stands under 2.3.3 (received SMS) only; 2.3.4 names no answer. "
               "The simulator retries both kinds of push until the body, trimmed, is exactly '0'; answering "
               "'0' to both is safe.",
     "source": "seed lines 283, 295-316; digest line 42"},
    {"point": "status values of reports",
     "detail": "Undefined: seed line 310 '其值含义见 2.3.4' points at its own section. 0 = delivered is only the "
               "convention of such platforms (digest line 44); keep the raw value.",
     "source": "seed line 310; digest lines 44-45"},
    {"point": "characters GBK cannot encode (emoji)",
     "detail": "A GET cannot carry them (Python's gbk codec refuses; encoding_rs writes '&#128512;'); the "
               "length rule for them is not stated. The simulator counts 2 per UTF-16 unit (an emoji = 4) for "
               "POST texts.",
     "source": "seed lines 81, 91"},
    {"point": "getSms credentials",
     "detail": "Seed lines 174-175 do not mark uid/pwd '必填' for getSms (only entid, line 173) but its code "
               "table has '5 用户名和密码不匹配' (line 204); send them.",
     "source": "seed lines 173-175, 204"},
    {"point": "replytime zone",
     "detail": "'YYYY-MM-DD HH:MM:SS' with no zone; the platform is in China (UTC+8). The simulator writes "
               "China Standard Time.",
     "source": "seed lines 194, 232, 292"},
    {"point": "line breaks inside an MO in the text format",
     "detail": "One message per line (seed line 213) cannot carry a line break; the simulator replaces CR/LF "
               "with spaces in text replies (the XML reply keeps them). Prefer returnflag=xml.",
     "source": "seed line 213"},
    {"point": "XML escaping",
     "detail": "The seed shows no escaped content; the vectors and the simulator use XML's rule "
               "(&amp; &lt; &gt;).",
     "source": "seed lines 219-241"},
    {"point": "statMsg wording",
     "detail": "The code table says '成功提交' (line 113) and '余额不足' (line 118); the XML examples say "
               "'成功' (line 132) and '用户余额不足,请联系管理员' (line 146). Use statCode, never statMsg.",
     "source": "seed lines 113, 118, 132, 146"},
    {"point": "seed example typo",
     "detail": "Seed line 98 has 'msg=Hello &returnflag=xml' with a raw space before '&': not a pattern to "
               "follow; encode the space.",
     "source": "seed line 98"},
    {"point": "what balance counts",
     "detail": "'还可发 198 条短信' (line 123): messages left. Whether a long text costs one per segment is not "
               "said; the simulator charges 1 per number.",
     "source": "seed line 123"},
    {"point": "sendid format",
     "detail": "Caller-chosen (line 93) with no stated format or length; the examples are digits "
               "(123456, 623090994, 1297154018). No de-duplication is promised: a repeated sendid sends "
               "again (digest lines 18-21).",
     "source": "seed lines 93, 99, 106, 133; digest lines 17-21"},
]


def main():
    lengths, mobs = length_vectors()
    doc = {
        "made_by": "tests/vectors/make_qmsg_vectors.py, written from the digest /work/shared/specs/qmsg-sms.md "
                   "and the seed 001_5bf76b26765129cc.txt alone, by an independent reader who never saw the "
                   "agent's Rust code. Python standard library only (Python's gbk codec).",
        "conventions": {
            "base": BASE,
            "get_charset": "GBK (seed line 81)",
            "post_charset": "UTF-8, application/x-www-form-urlencoded (seed line 81)",
            "percent_styles": {
                "form": "A-Z a-z 0-9 * - . _ kept, space '+', other bytes %XX upper case (HTML forms, Java URLEncoder)",
                "rfc3986": "A-Z a-z 0-9 - . _ ~ kept, space %20, other bytes %XX upper case",
            },
            "limits": {"get": {"numbers": GET_MAX_MOBS, "msg_bytes": GET_MAX_BYTES},
                       "post": {"numbers": POST_MAX_MOBS, "msg_bytes": POST_MAX_BYTES},
                       "byte_rule": "1 per ASCII character, 2 per other (GBK-style)"},
            "sendid": "caller-chosen, no de-duplication: a repeated sendid sends again (digest lines 17-21)",
            "replies_charset": "GBK bytes (XML declares it; text: see ambiguities)",
            "source": "seed lines 79-99; digest lines 8-27",
        },
        "sendsms_requests": send_vectors(),
        "sendsms_replies": send_reply_vectors(),
        "statcodes": [{"code": c, "seed_statMsg": zh, "digest": en, "sendSms": True, "getSms": c in GET_CODES,
                       "sent": c == 0, "source": "seed lines 111-120 (sendSms), 199-209 (getSms); digest lines 25-26"}
                      for c, zh, en in SEND_CODES],
        "getsms_replies": get_reply_vectors(),
        "push_queries": push_vectors(),
        "byte_length": lengths,
        "number_limits": mobs,
        "ambiguities": AMBIGUITIES,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=2)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
