//! sendSms and getSms replies, `text` or `xml` (seed §2.3.1, §2.3.2). The xml form is
//! declared GBK; text is read as UTF-8 or, failing that, GBK.

use super::codes::StatCode;
use super::text;
use serde_json::{Map, Value};

/// A reply that is neither form the seed shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable reply: {0}")]
pub struct ReplyError(pub String);

/// What sendSms answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReply {
    pub stat: StatCode,
    /// The sendid the platform used (ours, as we always send one).
    pub sendid: String,
    /// Messages the account can still send.
    pub balance: Option<i64>,
    /// xml only: 0 personal, 1 organisation account.
    pub pay_type: Option<i64>,
    /// xml only: the platform's own words.
    pub stat_msg: Option<String>,
}

/// One received message (MO).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mo {
    pub mobile: String,
    pub text: String,
    /// The sub-number it was sent to (text `extno`, xml `destId`, push `ext`).
    pub ext: String,
    /// `YYYY-MM-DD HH:MM:SS` as the platform wrote it.
    pub replytime: String,
    pub entid: String,
}

fn is_xml(body: &str) -> bool {
    body.trim_start().starts_with('<')
}

/// The text of `<tag>…</tag>` in `xml`, first occurrence, trimmed.
fn tag<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    untrimmed(xml, name).map(str::trim)
}

/// The text of `<tag>…</tag>` in `xml`, first occurrence, as it is.
fn untrimmed<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(&xml[start..end])
}

/// Undoes the five XML entities.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

fn stat(s: &str) -> Result<StatCode, ReplyError> {
    s.trim().parse().map(StatCode).map_err(|_| ReplyError(format!("statCode {s:?} is not a number")))
}

/// A sendSms reply.
pub fn parse_send(body: &[u8]) -> Result<SendReply, ReplyError> {
    let body = text(body);
    if is_xml(&body) {
        let code = tag(&body, "statCode").ok_or_else(|| ReplyError("xml without <statCode>".into()))?;
        return Ok(SendReply {
            stat: stat(code)?,
            sendid: tag(&body, "sendId").map(unescape).unwrap_or_default(),
            balance: tag(&body, "balance").and_then(|b| b.parse().ok()),
            pay_type: tag(&body, "payType").and_then(|b| b.parse().ok()),
            stat_msg: tag(&body, "statMsg").map(unescape),
        });
    }
    // "第一行为状态值 … 第二行是此次发送的序列号 … 第三行是余额": by position (a refusal may
    // leave the sendid line empty).
    let mut lines = body.trim_start().lines().map(str::trim);
    let first = lines.next().filter(|l| !l.is_empty()).ok_or_else(|| ReplyError("empty reply".into()))?;
    Ok(SendReply {
        stat: stat(first)?,
        sendid: lines.next().unwrap_or("").to_string(),
        balance: lines.next().and_then(|b| b.parse().ok()),
        pay_type: None,
        stat_msg: None,
    })
}

/// What a getSms reply held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub code: StatCode,
    pub mos: Vec<Mo>,
    /// Parts that do not read as a message, as they came: the platform returns each
    /// message once, so one odd row is kept (raw), never allowed to cost the others.
    pub odd: Vec<String>,
}

/// A getSms reply: its statCode, the messages, and whatever did not read as one.
pub fn parse_get(body: &[u8]) -> Result<Fetched, ReplyError> {
    let body = text(body);
    let mut odd = Vec::new();
    if is_xml(&body) {
        let code = stat(tag(&body, "statCode").ok_or_else(|| ReplyError("xml without <statCode>".into()))?)?;
        let mut mos = Vec::new();
        let mut rest = body.as_str();
        while let Some(start) = rest.find("<MO>") {
            let Some(end) = rest[start..].find("</MO>").map(|e| e + start) else {
                odd.push(rest[start..].to_string());
                break;
            };
            let mo = &rest[start..end];
            let field = |n: &str| tag(mo, n).map(unescape).unwrap_or_default();
            mos.push(Mo {
                mobile: field("srcId"),
                // The text as sent, spaces included, as the push carries it (`msg`): the
                // de-duplication of the same message by push and by poll hashes it. The seed's
                // example has nothing around it: "<msgContent>你好</msgContent>" (001, l. 231).
                text: untrimmed(mo, "msgContent").map(unescape).unwrap_or_default(),
                ext: field("destId"),
                replytime: field("replyTime"),
                entid: field("entId"),
            });
            rest = &rest[end + 5..];
        }
        return Ok(Fetched { code, mos, odd });
    }
    let mut lines = body.lines();
    let first =
        lines.by_ref().map(str::trim).find(|l| !l.is_empty()).ok_or_else(|| ReplyError("empty reply".into()))?;
    let code = stat(first)?;
    let mut mos = Vec::new();
    for line in lines {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        // "# extno,mobile,replytime,msg": the message itself may hold commas.
        let mut parts = line.splitn(4, ',');
        let (Some(ext), Some(mobile), Some(replytime), Some(text)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            odd.push(line.to_string());
            continue;
        };
        mos.push(Mo {
            mobile: mobile.trim().into(),
            text: text.into(),
            ext: ext.trim().into(),
            replytime: replytime.trim().into(),
            entid: String::new(),
        });
    }
    Ok(Fetched { code, mos, odd })
}

impl Mo {
    /// The event data of a received message.
    pub fn data(&self) -> Value {
        let mut m = Map::new();
        m.insert("from".into(), self.mobile.clone().into());
        m.insert("text".into(), self.text.clone().into());
        m.insert("ext".into(), self.ext.clone().into());
        m.insert("replytime".into(), self.replytime.clone().into());
        if !self.entid.is_empty() {
            m.insert("entid".into(), self.entid.clone().into());
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_text_send_reply_is_read() {
        let r = parse_send(b"0\r\n623090994\r\n198\r\n").expect("reply");
        assert_eq!((r.stat, r.sendid.as_str(), r.balance), (StatCode(0), "623090994", Some(198)));
    }

    #[test]
    fn a_gbk_xml_send_reply_is_read() {
        let xml = "<?xml version=\"1.0\" encoding=\"GBK\" ?>\n<qmsg><version>1.9</version><statCode>9</statCode>\
                   <statMsg>余额不足</statMsg><sendId>42</sendId><payType>1</payType><balance>0</balance></qmsg>";
        let gbk = super::super::to_gbk(xml).expect("gbk");
        let r = parse_send(&gbk).expect("reply");
        assert_eq!(r.stat, StatCode(9));
        assert_eq!(r.stat_msg.as_deref(), Some("余额不足"));
        assert_eq!((r.sendid.as_str(), r.balance, r.pay_type), ("42", Some(0), Some(1)));
    }

    #[test]
    fn the_seeds_text_get_reply_keeps_commas_in_messages() {
        let body = "0\n# 机构账户余额是(The organization's balance is):198\n# extno,mobile,replytime,msg\n\
                    00016,13916610888,2007-12-07 18:23:08,d44444444444\n00016,139,2007-12-07 18:24:00,a, b, c\n";
        let Fetched { code, mos, odd } = parse_get(body.as_bytes()).expect("reply");
        assert_eq!(code, StatCode(0));
        assert!(odd.is_empty());
        assert_eq!(mos.len(), 2);
        assert_eq!(mos[0].mobile, "13916610888");
        assert_eq!(mos[0].ext, "00016");
        assert_eq!(mos[0].replytime, "2007-12-07 18:23:08");
        assert_eq!(mos[1].text, "a, b, c");
    }

    #[test]
    fn an_xml_get_reply_lists_every_mo() {
        let body = "<qmsg><statCode>0</statCode><MO><entId>8000123</entId><srcId>13916610888</srcId><destId>000</destId>\
                    <msgContent>你好 &amp; bye</msgContent><replyTime>2007-12-07 18:23:08</replyTime></MO>\
                    <MO><srcId>139</srcId><destId>78988</destId><msgContent>d4</msgContent><replyTime>t</replyTime></MO></qmsg>";
        let mos = parse_get(body.as_bytes()).expect("reply").mos;
        assert_eq!(mos.len(), 2);
        assert_eq!(mos[0].text, "你好 & bye");
        assert_eq!(mos[0].entid, "8000123");
        assert_eq!(mos[1].ext, "78988");
        let spaced = "<qmsg><statCode>0</statCode><MO><srcId> 139 </srcId><msgContent> OK </msgContent></MO></qmsg>";
        let mo = &parse_get(spaced.as_bytes()).expect("reply").mos[0];
        assert_eq!((mo.mobile.as_str(), mo.text.as_str()), ("139", " OK "), "the text as sent");
        let none = parse_get(b"<qmsg><statCode>0</statCode></qmsg>").expect("reply");
        assert!(none.mos.is_empty() && none.odd.is_empty(), "no <MO>: nothing new");
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_send(b"").is_err());
        assert!(parse_send(b"<html>oops</html>").is_err());
        assert!(parse_get(b"ok\n").is_err());
    }

    #[test]
    fn one_odd_row_of_a_get_reply_is_kept_raw_and_costs_the_others_nothing() {
        let r =
            parse_get(b"0\n1,139,2007-12-07 18:23:08,hi\nnot,enough\n2,138,2007-12-07 18:23:09,yo\n").expect("reply");
        assert_eq!(r.mos.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["hi", "yo"]);
        assert_eq!(r.odd, ["not,enough"]);
        let xml = parse_get(b"<qmsg><statCode>0</statCode><MO><srcId>1</srcId></MO><MO><srcId>2</srcId>").expect("xml");
        assert_eq!((xml.mos.len(), xml.odd.len()), (1, 1), "an unclosed <MO> is kept raw");
    }
}
