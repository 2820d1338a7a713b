//! The platform's replies, byte for byte as the seed shows them: `sendSms` as three text
//! lines or the GBK-declared `<qmsg>` XML, `getSms` as a status line, `#` comments and
//! `<extno>,<mobile>,<replytime>,<msg>` lines, or XML with `<MO>` elements. Everything is
//! sent as GBK bytes (see [`get_text`] for why the text replies are GBK too).

use super::codec::{Charset, encode, xml_escape};
use super::state::Mo;

/// The seed's statMsg for a code (section 2.3.1's table; for 0 and 9 the wording of its XML
/// examples, "成功" and "用户余额不足,请联系管理员").
pub fn stat_msg(code: u32) -> &'static str {
    match code {
        0 => "成功",
        1 => "输入参数错误，如缺少参数、手机号码格式错误等",
        2 => "数据库错误",
        5 => "用户名和密码不匹配",
        8 => "账号被锁定",
        9 => "用户余额不足,请联系管理员",
        10 => "账号已过期",
        11 => "短信内容包含非法字词",
        _ => "未知错误",
    }
}

/// What a `sendSms` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReply {
    pub code: u32,
    /// The send's id; `None` when nothing was sent.
    pub sendid: Option<String>,
    pub pay_type: u32,
    pub balance: u64,
}

const XML_HEAD: &str = "<?xml version=\"1.0\" encoding=\"GBK\" ?>";

impl SendReply {
    /// `returnflag=text` (or none): "第一行为状态值 … 第二行是此次发送的序列号 … 第三行是余额".
    /// A refused send has no id: its second line is empty (the seed shows only a success;
    /// its XML refusal omits `<sendId>`, so the text one leaves the line blank).
    pub fn text(&self, eol: &str) -> Vec<u8> {
        let id = self.sendid.as_deref().unwrap_or("");
        format!("{}{eol}{id}{eol}{}{eol}", self.code, self.balance).into_bytes()
    }

    /// `returnflag=xml`: the seed's two examples (a success with `<sendId>`, a refusal
    /// without), in GBK.
    pub fn xml(&self, eol: &str) -> Vec<u8> {
        let mut lines = vec![
            XML_HEAD.to_string(),
            "<qmsg>".into(),
            "  <version>1.9</version>".into(),
            format!("  <statCode>{}</statCode>", self.code),
            format!("  <statMsg>{}</statMsg>", stat_msg(self.code)),
        ];
        if let Some(id) = &self.sendid {
            lines.push(format!("  <sendId>{}</sendId>", xml_escape(id)));
        }
        lines.push(format!("  <payType>{}</payType>", self.pay_type));
        lines.push(format!("  <balance>{}</balance>", self.balance));
        lines.push("</qmsg>".into());
        encode(&(lines.join(eol) + eol), Charset::Gbk)
    }
}

/// What a `getSms` answers.
#[derive(Debug, Clone)]
pub struct GetReply {
    pub code: u32,
    pub pay_type: u32,
    pub balance: u64,
    pub mos: Vec<Mo>,
}

/// One MO as a text line. The format cannot carry a line break inside a message, so one
/// becomes a space here (the seed: "每一行为收到的一条短信", one line per message).
fn mo_line(mo: &Mo) -> String {
    let msg: String = mo.msg.chars().map(|c| if c == '\r' || c == '\n' { ' ' } else { c }).collect();
    format!("{},{},{},{msg}", mo.ext, mo.mob, mo.replytime)
}

impl GetReply {
    /// `returnflag=text` (or none), as the seed's example: the status line, the two comment
    /// lines, one line per MO; a refusal is the status line alone. In GBK bytes: the seed
    /// declares GBK for both XML replies and for GET requests, and gives the text reply no
    /// charset of its own, so the platform's one charset is the reading taken.
    pub fn get_text(&self, eol: &str) -> Vec<u8> {
        let mut lines = vec![self.code.to_string()];
        if self.code == 0 {
            lines.push(format!("# 机构账户余额是(The organization's balance is):{}", self.balance));
            lines.push("# extno,mobile,replytime,msg".into());
            lines.extend(self.mos.iter().map(mo_line));
        }
        encode(&(lines.join(eol) + eol), Charset::Gbk)
    }

    /// `returnflag=xml`: the seed's example, `<statMsg />` and `<remark />` empty on
    /// success, one `<MO>` per message (none when nothing is new), in GBK.
    pub fn xml(&self, eol: &str) -> Vec<u8> {
        let mut lines = vec![
            XML_HEAD.to_string(),
            "<qmsg>".into(),
            "  <version>1.9</version>".into(),
            format!("  <statCode>{}</statCode>", self.code),
        ];
        if self.code == 0 {
            lines.push("  <statMsg />".into());
        } else {
            lines.push(format!("  <statMsg>{}</statMsg>", stat_msg(self.code)));
        }
        lines.push("  <remark />".into());
        lines.push(format!("  <payType>{}</payType>", self.pay_type));
        lines.push(format!("  <balance>{}</balance>", self.balance));
        for mo in &self.mos {
            lines.push("  <MO>".into());
            lines.push(format!("    <entId>{}</entId>", xml_escape(&mo.entid)));
            lines.push(format!("    <srcId>{}</srcId>", xml_escape(&mo.mob)));
            lines.push(format!("    <destId>{}</destId>", xml_escape(&mo.ext)));
            lines.push(format!("    <msgContent>{}</msgContent>", xml_escape(&mo.msg)));
            lines.push(format!("    <replyTime>{}</replyTime>", xml_escape(&mo.replytime)));
            lines.push("  </MO>".into());
        }
        lines.push("</qmsg>".into());
        encode(&(lines.join(eol) + eol), Charset::Gbk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qmsg::codec::decode;

    fn gbk(bytes: &[u8]) -> String {
        decode(bytes, Charset::Gbk).0
    }

    fn mo(ext: &str, msg: &str) -> Mo {
        Mo {
            entid: "8000123".into(),
            mob: "13916610888".into(),
            ext: ext.into(),
            msg: msg.into(),
            replytime: "2007-12-07 18:23:08".into(),
        }
    }

    #[test]
    fn a_text_send_reply_is_the_seeds_three_lines() {
        let r = SendReply { code: 0, sendid: Some("623090994".into()), pay_type: 1, balance: 198 };
        assert_eq!(r.text("\n"), b"0\n623090994\n198\n");
        let refused = SendReply { code: 9, sendid: None, pay_type: 0, balance: 0 };
        assert_eq!(refused.text("\r\n"), b"9\r\n\r\n0\r\n");
    }

    #[test]
    fn an_xml_send_reply_is_the_seeds_example_in_gbk() {
        let r = SendReply { code: 0, sendid: Some("1297154018".into()), pay_type: 1, balance: 48 };
        let bytes = r.xml("\n");
        assert!(bytes.windows(4).any(|w| w == [0xB3, 0xC9, 0xB9, 0xA6]), "成功 in GBK");
        let text = gbk(&bytes);
        assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"GBK\" ?>\n<qmsg>\n  <version>1.9</version>\n"));
        assert!(text.contains("<statCode>0</statCode>\n  <statMsg>成功</statMsg>\n  <sendId>1297154018</sendId>"));
        assert!(text.ends_with("<payType>1</payType>\n  <balance>48</balance>\n</qmsg>\n"));
        let refused = gbk(&SendReply { code: 9, sendid: None, pay_type: 0, balance: 0 }.xml("\n"));
        assert!(refused.contains("<statMsg>用户余额不足,请联系管理员</statMsg>\n  <payType>0</payType>"));
        assert!(!refused.contains("sendId"));
    }

    #[test]
    fn a_message_with_commas_survives_the_text_format() {
        let r =
            GetReply {
                code: 0, pay_type: 1, balance: 198, mos: vec![mo("00016", "你好,世界, ok"), mo("", "a\nb")]
            };
        let text = gbk(&r.get_text("\n"));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "0");
        assert_eq!(lines[1], "# 机构账户余额是(The organization's balance is):198");
        assert_eq!(lines[2], "# extno,mobile,replytime,msg");
        let fields: Vec<&str> = lines[3].splitn(4, ',').collect();
        assert_eq!(fields, ["00016", "13916610888", "2007-12-07 18:23:08", "你好,世界, ok"]);
        assert_eq!(lines[4], ",13916610888,2007-12-07 18:23:08,a b");
        let refused = GetReply { code: 5, pay_type: 0, balance: 0, mos: vec![] };
        assert_eq!(refused.get_text("\n"), b"5\n");
    }

    #[test]
    fn an_xml_get_reply_lists_each_mo_escaped() {
        let r = GetReply { code: 0, pay_type: 1, balance: 198, mos: vec![mo("000", "你好"), mo("78988", "a<b&c")] };
        let text = gbk(&r.xml("\n"));
        assert_eq!(text.matches("<MO>").count(), 2);
        assert!(
            text.contains("  <statMsg />\n  <remark />\n  <payType>1</payType>\n  <balance>198</balance>\n  <MO>\n")
        );
        assert!(text.contains("<destId>000</destId>\n    <msgContent>你好</msgContent>"));
        assert!(text.contains("<msgContent>a&lt;b&amp;c</msgContent>"));
        let empty = gbk(&GetReply { code: 0, pay_type: 1, balance: 198, mos: vec![] }.xml("\n"));
        assert!(empty.ends_with("<balance>198</balance>\n</qmsg>\n") && !empty.contains("<MO>"));
    }
}
