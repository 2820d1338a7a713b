//! The simulated platform's state, pure (no I/O, the clock passed in): the one account and
//! its balance, the `sendSms` rules (credentials, limits, balance, a forced status code),
//! every MT accepted — a repeated `sendid` sends again — and the MO queue that `getSms`
//! empties.

use super::codec::{Params, gbk_len};
use std::collections::VecDeque;

pub const OK: u32 = 0;
pub const BAD_PARAMS: u32 = 1;
pub const BAD_LOGIN: u32 = 5;
pub const NO_BALANCE: u32 = 9;

/// How the request came: the limits differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Get,
    Post,
}

impl Via {
    pub fn name(self) -> &'static str {
        match self {
            Via::Get => "GET",
            Via::Post => "POST",
        }
    }

    /// (numbers, msg bytes) at most. Seed lines 90-91: "如果采用 GET 方式，手机号码个数不得超过 50 个；如果采用
    /// POST 方式，手机号码个数不得超过 300 个" and "GET 方式，长度不超过 300 个字节 … POST 方式，
    /// 长度不超过 1000 个字节".
    pub fn limits(self) -> (usize, usize) {
        match self {
            Via::Get => (50, 300),
            Via::Post => (300, 1000),
        }
    }
}

/// One accepted `sendSms`: one MT per number.
#[derive(Debug, Clone)]
pub struct Sent {
    pub via: Via,
    pub sendid: String,
    pub mobs: Vec<String>,
    pub msg: String,
    pub extno: Option<String>,
    /// Some parameter bytes were not valid in the charset of their part of the request.
    pub decode_errors: bool,
}

/// A received message (MO) waiting for `getSms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mo {
    pub entid: String,
    pub mob: String,
    /// `extno` of the text reply, `destId` of the XML one, `ext` of the push.
    pub ext: String,
    pub msg: String,
    /// `YYYY-MM-DD HH:MM:SS`.
    pub replytime: String,
}

/// A `sendSms` outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOutcome {
    pub code: u32,
    /// The id, when sent.
    pub sendid: Option<String>,
    /// Why it was refused (for `/sim/state`).
    pub why: String,
}

/// The platform with its one account.
#[derive(Debug, Clone)]
pub struct Platform {
    pub entid: String,
    pub uid: String,
    pub pwd: String,
    pub pay_type: u32,
    /// Messages left; one MT to one number costs 1.
    pub balance: u64,
    /// Every `sendSms` answers this code (nothing is sent) when set and not 0.
    pub forced: Option<u32>,
    pub sent: Vec<Sent>,
    pub mos: VecDeque<Mo>,
    next_sendid: u64,
}

fn refuse(code: u32, why: &str) -> SendOutcome {
    SendOutcome { code, sendid: None, why: why.to_string() }
}

/// Seed: "手机号码格式错误" is a parameter error; a number is taken as 5 to 20 digits (the
/// seed gives no format; its examples are 11-digit mainland mobiles).
pub fn valid_mobile(m: &str) -> bool {
    (5..=20).contains(&m.len()) && m.bytes().all(|b| b.is_ascii_digit())
}

impl Platform {
    /// A platform whose generated send ids start after `first_sendid`.
    pub fn new(entid: &str, uid: &str, pwd: &str, balance: u64, first_sendid: u64) -> Platform {
        Platform {
            entid: entid.into(),
            uid: uid.into(),
            pwd: pwd.into(),
            pay_type: 1,
            balance,
            forced: None,
            sent: Vec::new(),
            mos: VecDeque::new(),
            next_sendid: first_sendid,
        }
    }

    /// The credentials: missing or a malformed `entid` (seed: "机构编号，7 位数。必填") is a
    /// parameter error (1), a mismatch 5.
    pub fn login(&self, p: &Params) -> Result<(), (u32, &'static str)> {
        let (Some(entid), Some(uid), Some(pwd)) = (p.non_empty("entid"), p.non_empty("uid"), p.non_empty("pwd")) else {
            return Err((BAD_PARAMS, "entid, uid and pwd are required"));
        };
        if entid.len() != 7 || !entid.bytes().all(|b| b.is_ascii_digit()) {
            return Err((BAD_PARAMS, "entid is not 7 digits"));
        }
        if (entid, uid, pwd) != (self.entid.as_str(), self.uid.as_str(), self.pwd.as_str()) {
            return Err((BAD_LOGIN, "entid/uid/pwd do not match"));
        }
        Ok(())
    }

    /// The balance a reply shows: seed "仅在用户的登陆信息正确时, 该值才正确" (only right when the
    /// login is); 0 after a failed login.
    pub fn shown(&self, code: u32) -> (u32, u64) {
        if code == BAD_LOGIN { (0, 0) } else { (self.pay_type, self.balance) }
    }

    /// One `sendSms`. Accepted: the balance pays one per number and the MT is recorded even
    /// when its `sendid` was used before — digest: "The seed promises no de-duplication on
    /// it: a repeated call with the same `sendid` must be assumed to send again".
    pub fn send(&mut self, via: Via, p: &Params) -> SendOutcome {
        if let Some(code) = self.forced.filter(|c| *c != OK) {
            return refuse(code, "forced by --status-code");
        }
        if let Err((code, why)) = self.login(p) {
            return refuse(code, why);
        }
        let (max_mobs, max_bytes) = via.limits();
        let Some(mobs) = p.non_empty("mobs") else { return refuse(BAD_PARAMS, "mobs is required") };
        let mobs: Vec<String> = mobs.split(',').map(str::to_string).collect();
        if mobs.len() > max_mobs {
            return refuse(BAD_PARAMS, &format!("{} numbers, more than {max_mobs} by {}", mobs.len(), via.name()));
        }
        if let Some(bad) = mobs.iter().find(|m| !valid_mobile(m)) {
            return refuse(BAD_PARAMS, &format!("bad number {bad:?}"));
        }
        let Some(msg) = p.non_empty("msg") else { return refuse(BAD_PARAMS, "msg is required") };
        let len = gbk_len(msg);
        if len > max_bytes {
            return refuse(BAD_PARAMS, &format!("msg is {len} bytes, more than {max_bytes} by {}", via.name()));
        }
        let cost = mobs.len() as u64;
        if self.balance < cost {
            return refuse(NO_BALANCE, &format!("balance {} < {cost}", self.balance));
        }
        // Seed: "如果调用者不传 sendid 值，则快信通平台会随机生成一个" (generated when not given).
        let sendid = match p.non_empty("sendid") {
            Some(id) => id.to_string(),
            None => {
                self.next_sendid += 1;
                self.next_sendid.to_string()
            }
        };
        self.balance -= cost;
        self.sent.push(Sent {
            via,
            sendid: sendid.clone(),
            mobs,
            msg: msg.to_string(),
            extno: p.get("extno").map(str::to_string),
            decode_errors: p.decode_errors,
        });
        SendOutcome { code: OK, sendid: Some(sendid), why: String::new() }
    }

    /// One `getSms`: every queued MO, each returned once — digest: "Messages are returned
    /// once (the platform marks them read)". The one account is its organisation's admin, so
    /// `getall=yes` and `getall=no` see the same messages. The credentials are required as for
    /// `sendSms`: the seed marks only `entid` "必填" here (line 173; lines 174-175 "| uid | 用户名 |",
    /// "| pwd | 密码 |"), but its getSms codes include "5 | 用户名和密码不匹配" (line 204), so they
    /// are checked.
    pub fn take_mos(&mut self, p: &Params) -> Result<Vec<Mo>, u32> {
        self.login(p).map_err(|(code, _)| code)?;
        Ok(self.mos.drain(..).collect())
    }

    /// An MO arrives.
    pub fn receive(&mut self, mob: &str, msg: &str, ext: &str, replytime: &str) -> Mo {
        let mo = Mo {
            entid: self.entid.clone(),
            mob: mob.into(),
            ext: ext.into(),
            msg: msg.into(),
            replytime: replytime.into(),
        };
        self.mos.push_back(mo.clone());
        mo
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qmsg::codec::Charset;

    fn platform() -> Platform {
        Platform::new("1234567", "u1", "p1", 100, 1000)
    }

    fn q(extra: &str) -> Params {
        Params::parse(&format!("entid=1234567&uid=u1&pwd=p1&{extra}"), Charset::Utf8)
    }

    #[test]
    fn a_repeated_sendid_sends_twice() {
        let mut p = platform();
        for _ in 0..2 {
            let out = p.send(Via::Get, &q("mobs=13800210021,13800210022&msg=hi&sendid=77"));
            assert_eq!((out.code, out.sendid.as_deref()), (OK, Some("77")));
        }
        assert_eq!(p.sent.len(), 2);
        assert_eq!(p.balance, 96);
        let generated = p.send(Via::Post, &q("mobs=13800210021&msg=hi"));
        assert_eq!(generated.sendid.as_deref(), Some("1001"));
    }

    #[test]
    fn credentials_are_checked_before_anything_else() {
        let mut p = platform();
        let wrong = Params::parse("entid=1234567&uid=u1&pwd=nope&mobs=1&msg=", Charset::Gbk);
        assert_eq!(p.send(Via::Get, &wrong).code, BAD_LOGIN);
        let missing = Params::parse("entid=1234567&uid=u1&mobs=13800210021&msg=x", Charset::Gbk);
        assert_eq!(p.send(Via::Get, &missing).code, BAD_PARAMS);
        let short = Params::parse("entid=123456&uid=u1&pwd=p1&mobs=13800210021&msg=x", Charset::Gbk);
        assert_eq!(p.send(Via::Get, &short).code, BAD_PARAMS);
        assert_eq!(p.shown(BAD_LOGIN), (0, 0));
        assert!(p.sent.is_empty());
    }

    #[test]
    fn limits_depend_on_the_method_and_count_chinese_as_two_bytes() {
        let mut p = platform();
        let at = |n: usize| format!("msg={}&mobs=13800210021", "%E6%B1%89".repeat(n)); // 汉
        assert_eq!(p.send(Via::Get, &q(&at(150))).code, OK);
        assert_eq!(p.send(Via::Get, &q(&at(151))).code, BAD_PARAMS);
        assert_eq!(p.send(Via::Post, &q(&at(500))).code, OK);
        assert_eq!(p.send(Via::Post, &q(&at(501))).code, BAD_PARAMS);
        let mobs = |n: usize| vec!["13800210021"; n].join(",");
        assert_eq!(p.send(Via::Get, &q(&format!("msg=x&mobs={}", mobs(50)))).code, OK);
        assert_eq!(p.send(Via::Get, &q(&format!("msg=x&mobs={}", mobs(51)))).code, BAD_PARAMS);
        assert_eq!(p.send(Via::Post, &q(&format!("msg=x&mobs={}", mobs(51)))).code, NO_BALANCE);
        p.balance = 1000;
        assert_eq!(p.send(Via::Post, &q(&format!("msg=x&mobs={}", mobs(300)))).code, OK);
        assert_eq!(p.send(Via::Post, &q(&format!("msg=x&mobs={}", mobs(301)))).code, BAD_PARAMS);
        assert_eq!(p.send(Via::Post, &q("msg=x&mobs=1380021002a")).code, BAD_PARAMS);
        assert_eq!(p.send(Via::Post, &q("msg=x&mobs=13800210021,")).code, BAD_PARAMS);
        assert_eq!(p.send(Via::Post, &q("msg=&mobs=13800210021")).code, BAD_PARAMS);
    }

    #[test]
    fn a_low_balance_or_a_forced_code_sends_nothing() {
        let mut p = platform();
        p.balance = 1;
        assert_eq!(p.send(Via::Get, &q("mobs=13800210021,13800210022&msg=x")).code, NO_BALANCE);
        p.forced = Some(11);
        assert_eq!(p.send(Via::Get, &q("mobs=13800210021&msg=x")).code, 11);
        p.forced = Some(0);
        assert_eq!(p.send(Via::Get, &q("mobs=13800210021&msg=x")).code, OK);
        assert_eq!((p.sent.len(), p.balance), (1, 0));
    }

    #[test]
    fn an_mo_is_returned_by_get_sms_only_once() {
        let mut p = platform();
        p.receive("13916610888", "d44444444444", "00016", "2007-12-07 18:23:08");
        assert_eq!(p.take_mos(&q("")).map(|m| m.len()), Ok(1));
        assert_eq!(p.take_mos(&q("getall=yes")).map(|m| m.len()), Ok(0));
        p.receive("13916610888", "again", "", "2007-12-07 18:23:09");
        let wrong = Params::parse("entid=1234567&uid=u1&pwd=x", Charset::Gbk);
        assert_eq!(p.take_mos(&wrong), Err(BAD_LOGIN));
        assert_eq!(p.mos.len(), 1, "a refused poll takes nothing");
    }
}
