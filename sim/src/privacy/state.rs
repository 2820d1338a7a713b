//! The simulated platform, pure (no I/O; the clock and new ids are passed in): the one
//! account, the AXB and XA bindings with their TTLs, every `reqid` taken, and the seed's
//! parameter checks for the four binding calls (sections 4.1-4.4) with its error codes.

use super::codes::{ACCOUNT_DISABLED, BAD_PARAMS, DUPLICATE, NO_BALANCE, NO_RESOURCE, OK, RESOURCE_CONFLICT, describe};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// Request parameters, decoded.
pub type Params = BTreeMap<String, String>;

/// Seed lines 139-140 and 196: "a 方真实号码 (最长 24 字节)", "b 方真实号码 (最长 24 字节)".
pub const MAX_NUMBER_BYTES: usize = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Axb,
    Xa,
}

/// One binding, as made (kept after release or expiry, for `/sim/state`).
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub kind: Kind,
    pub x: String,
    pub anum: String,
    /// AXB only.
    pub bnum: Option<String>,
    pub reqid: String,
    /// AXB: the `subid` of the reply. XA: the platform's own id, seen only in callbacks
    /// (the XA reply has no `subid`, seed lines 206-208, but the CDR's `subid` is "是", line 244).
    pub subid: String,
    pub ttl: u64,
    pub created_ms: i64,
    /// `None`: forever (XA `ttl = 0`, seed line 201 "缺省 0 表示一直有效").
    pub expires_ms: Option<i64>,
    pub record: bool,
    /// AXB `"a,b"` (line 144), XA `"0"`/`"1"` (line 200).
    pub display: String,
    pub anucode: Option<String>,
    pub ansanu: Option<String>,
    /// Exactly as bound, echoed in the callbacks (lines 147, 202 "CDR 回执时返回").
    pub user_data: Option<String>,
    pub released: bool,
}

impl Binding {
    pub fn active(&self, now_ms: i64) -> bool {
        !self.released && self.expires_ms.is_none_or(|e| now_ms < e)
    }

    pub fn to_json(&self, now_ms: i64) -> Value {
        let mut v = json!({
            "kind": match self.kind { Kind::Axb => "axb", Kind::Xa => "xa" },
            "x": self.x, "anum": self.anum, "reqid": self.reqid, "subid": self.subid, "ttl": self.ttl,
            "expires_ms": self.expires_ms, "userData": self.user_data, "released": self.released,
            "expired": !self.released && !self.active(now_ms), "record": self.record, "display": self.display,
        });
        if let Some(b) = &self.bnum {
            v["bnum"] = json!(b);
        }
        v
    }
}

/// The answer to one call: `error`, `reason` and, for an AXB bind, `subid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub code: u32,
    pub reason: String,
    pub subid: Option<String>,
}

impl Outcome {
    fn ok(subid: Option<String>) -> Outcome {
        Outcome { code: OK, reason: describe(OK).into(), subid }
    }

    pub fn refuse(code: u32, why: &str) -> Outcome {
        Outcome { code, reason: format!("{}: {why}", describe(code)), subid: None }
    }

    /// The JSON reply body.
    pub fn to_json(&self) -> Value {
        let mut v = json!({"error": self.code, "reason": self.reason});
        if let Some(s) = &self.subid {
            v["subid"] = json!(s);
        }
        v
    }
}

/// The one account (seed 3.1).
#[derive(Debug, Clone)]
pub struct Account {
    pub devid: String,
    pub authkey: String,
    pub appid: String,
    /// Yuan (line 118).
    pub balance: f64,
    pub overdraft: f64,
    /// 0 trial, 1 active, 2 suspended, 3 closed (line 116).
    pub state: u32,
    pub create_ms: i64,
    pub update_ms: i64,
}

/// The platform.
#[derive(Debug, Clone)]
pub struct Platform {
    pub account: Account,
    pub bindings: Vec<Binding>,
    /// Every `reqid` of a bind that was made → its binding.
    reqids: HashMap<String, usize>,
    /// Answer a repeated `reqid` with the first binding's `subid` (off: the seed's reply
    /// table marks `subid` optional, line 154, and promises nothing for 1004).
    pub subid_on_duplicate: bool,
}

fn required<'a>(p: &'a Params, name: &str) -> Result<&'a str, Outcome> {
    p.get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Outcome::refuse(BAD_PARAMS, &format!("{name} is required")))
}

fn optional<'a>(p: &'a Params, name: &str) -> Option<&'a str> {
    p.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

fn number<'a>(p: &'a Params, name: &str) -> Result<&'a str, Outcome> {
    let v = required(p, name)?;
    if v.len() > MAX_NUMBER_BYTES {
        return Err(Outcome::refuse(BAD_PARAMS, &format!("{name} is longer than {MAX_NUMBER_BYTES} bytes")));
    }
    Ok(v)
}

fn integer(name: &str, v: &str) -> Result<u64, Outcome> {
    v.parse::<u64>().map_err(|_| Outcome::refuse(BAD_PARAMS, &format!("{name} is not a non-negative integer")))
}

/// Seed lines 143 and 199: "record … 0 不录音, 1 录音, 缺省 0".
fn record(p: &Params) -> Result<bool, Outcome> {
    match optional(p, "record") {
        None | Some("0") => Ok(false),
        Some("1") => Ok(true),
        Some(_) => Err(Outcome::refuse(BAD_PARAMS, "record is 0 or 1")),
    }
}

impl Platform {
    pub fn new(account: Account) -> Platform {
        Platform { account, bindings: Vec::new(), reqids: HashMap::new(), subid_on_duplicate: false }
    }

    fn appid(&self, p: &Params) -> Result<(), Outcome> {
        // The seed has no code for an unknown appid; a parameter error (1002) is the sim's pick.
        if required(p, "appid")? != self.account.appid {
            return Err(Outcome::refuse(BAD_PARAMS, "appid does not match the account"));
        }
        Ok(())
    }

    /// The account may bind: not suspended or closed (1102), money left (1110).
    fn may_bind(&self) -> Result<(), Outcome> {
        if self.account.state >= 2 {
            return Err(Outcome::refuse(ACCOUNT_DISABLED, &format!("account state {}", self.account.state)));
        }
        if self.account.balance + self.account.overdraft <= 0.0 {
            return Err(Outcome::refuse(NO_BALANCE, "balance and overdraft used up"));
        }
        Ok(())
    }

    /// A `reqid` seen before answers 1004 (lines 141, 197: kept the same on a retry).
    fn fresh_reqid(&self, reqid: &str) -> Result<(), Outcome> {
        let Some(&i) = self.reqids.get(reqid) else { return Ok(()) };
        let mut out = Outcome::refuse(DUPLICATE, "reqid already used");
        let first = &self.bindings[i];
        if self.subid_on_duplicate && first.kind == Kind::Axb {
            out.subid = Some(first.subid.clone());
        }
        Err(out)
    }

    fn add(&mut self, b: Binding) {
        self.reqids.insert(b.reqid.clone(), self.bindings.len());
        self.account.update_ms = b.created_ms;
        self.bindings.push(b);
    }

    /// Seed 4.1: `PUT /igw/service/uc/interline/{x}`.
    pub fn bind_axb(&mut self, x: &str, p: &Params, now_ms: i64, subid: String) -> Outcome {
        self.try_bind_axb(x, p, now_ms, subid).unwrap_or_else(|e| e)
    }

    fn try_bind_axb(&mut self, x: &str, p: &Params, now_ms: i64, subid: String) -> Result<Outcome, Outcome> {
        self.appid(p)?;
        let (anum, bnum, reqid) = (number(p, "anum")?, number(p, "bnum")?, required(p, "reqid")?);
        // Line 142: "ttl 是 integer 有效期, 秒为单位" — required; 0 means forever only for XA
        // (line 201), so an AXB needs at least one second.
        let ttl = integer("ttl", required(p, "ttl")?)?;
        if ttl == 0 {
            return Err(Outcome::refuse(BAD_PARAMS, "ttl must be at least 1 second"));
        }
        let record = record(p)?;
        let display = optional(p, "display").unwrap_or("0,0");
        if !matches!(display, "0,0" | "0,1" | "1,0" | "1,1") {
            return Err(Outcome::refuse(BAD_PARAMS, "display is one of 0,0 0,1 1,0 1,1"));
        }
        self.fresh_reqid(reqid)?;
        self.may_bind()?;
        let clash = self.bindings.iter().filter(|b| b.x == x && b.active(now_ms)).find(|b| {
            b.kind == Kind::Xa
                || [Some(anum), Some(bnum)].iter().any(|n| *n == Some(b.anum.as_str()) || *n == b.bnum.as_deref())
        });
        if let Some(b) = clash {
            return Err(Outcome::refuse(
                RESOURCE_CONFLICT,
                &format!("{x} already binds {} (reqid {})", b.anum, b.reqid),
            ));
        }
        self.add(Binding {
            kind: Kind::Axb,
            x: x.into(),
            anum: anum.into(),
            bnum: Some(bnum.into()),
            reqid: reqid.into(),
            subid: subid.clone(),
            ttl,
            created_ms: now_ms,
            expires_ms: Some(now_ms.saturating_add(i64::try_from(ttl.saturating_mul(1000)).unwrap_or(i64::MAX))),
            record,
            display: display.into(),
            anucode: optional(p, "anucode").map(str::to_string),
            ansanu: optional(p, "ansanu").map(str::to_string),
            user_data: p.get("userData").cloned(),
            released: false,
        });
        Ok(Outcome::ok(Some(subid)))
    }

    /// Seed 4.2: `DELETE /igw/service/uc/interline?appid=…&subid=…`. A `subid` that is not
    /// an active AXB binding (never made, released, expired) is "资源不存在" (1300).
    pub fn release_axb(&mut self, p: &Params, now_ms: i64) -> Outcome {
        if let Err(e) = self.appid(p) {
            return e;
        }
        let subid = match required(p, "subid") {
            Ok(s) => s,
            Err(e) => return e,
        };
        match self.bindings.iter_mut().find(|b| b.kind == Kind::Axb && b.subid == subid && b.active(now_ms)) {
            Some(b) => {
                b.released = true;
                Outcome::ok(None)
            }
            None => Outcome::refuse(NO_RESOURCE, &format!("no binding {subid}")),
        }
    }

    /// Seed 4.3: `PUT /igw/service/uc/interline/{x}/transfer`.
    pub fn bind_xa(&mut self, x: &str, p: &Params, now_ms: i64, subid: String) -> Outcome {
        self.try_bind_xa(x, p, now_ms, subid).unwrap_or_else(|e| e)
    }

    fn try_bind_xa(&mut self, x: &str, p: &Params, now_ms: i64, subid: String) -> Result<Outcome, Outcome> {
        self.appid(p)?;
        let (anum, reqid) = (number(p, "anum")?, required(p, "reqid")?);
        let ttl = optional(p, "ttl").map_or(Ok(0), |v| integer("ttl", v))?;
        let record = record(p)?;
        // Line 200: "display 否 integer 0: 显示 x 号码 (缺省) 1: 显示真实来电号码".
        let display = optional(p, "display").unwrap_or("0");
        if !matches!(display, "0" | "1") {
            return Err(Outcome::refuse(BAD_PARAMS, "display is 0 or 1"));
        }
        self.fresh_reqid(reqid)?;
        self.may_bind()?;
        if let Some(b) = self.bindings.iter().find(|b| b.x == x && b.active(now_ms)) {
            return Err(Outcome::refuse(RESOURCE_CONFLICT, &format!("{x} is bound already (reqid {})", b.reqid)));
        }
        self.add(Binding {
            kind: Kind::Xa,
            x: x.into(),
            anum: anum.into(),
            bnum: None,
            reqid: reqid.into(),
            subid,
            ttl,
            created_ms: now_ms,
            expires_ms: (ttl > 0)
                .then(|| now_ms.saturating_add(i64::try_from(ttl.saturating_mul(1000)).unwrap_or(i64::MAX))),
            record,
            display: display.into(),
            anucode: optional(p, "anucode").map(str::to_string),
            ansanu: None,
            user_data: p.get("userData").cloned(),
            released: false,
        });
        // Lines 206-208: the XA reply is `error` and `reason` only.
        Ok(Outcome::ok(None))
    }

    /// Seed 4.4: `DELETE /igw/service/uc/interline/{x}/transfer?appid=…`; no active XA on
    /// `x` is 1300.
    pub fn release_xa(&mut self, x: &str, p: &Params, now_ms: i64) -> Outcome {
        if let Err(e) = self.appid(p) {
            return e;
        }
        match self.bindings.iter_mut().find(|b| b.kind == Kind::Xa && b.x == x && b.active(now_ms)) {
            Some(b) => {
                b.released = true;
                Outcome::ok(None)
            }
            None => Outcome::refuse(NO_RESOURCE, &format!("no transfer on {x}")),
        }
    }

    /// Where a call from `caller` to `x` goes: AXB A→B or B→A, XA anyone→A. The binding's
    /// index and the callee.
    pub fn route(&self, x: &str, caller: &str, now_ms: i64) -> Option<(usize, String)> {
        self.bindings.iter().enumerate().filter(|(_, b)| b.x == x && b.active(now_ms)).find_map(|(i, b)| match b.kind {
            Kind::Xa => Some((i, b.anum.clone())),
            Kind::Axb if caller == b.anum => b.bnum.clone().map(|callee| (i, callee)),
            Kind::Axb if Some(caller) == b.bnum.as_deref() => Some((i, b.anum.clone())),
            Kind::Axb => None,
        })
    }

    /// `GET /api/v1/account/status` (seed 3.1, lines 113-121).
    pub fn account_status(&self) -> Value {
        let a = &self.account;
        json!({"error": OK, "reason": describe(OK), "state": a.state, "role": "developer", "balance": a.balance,
            "overdraft": a.overdraft, "createTime": a.create_ms, "updateTime": a.update_ms})
    }
}

#[cfg(test)]
mod tests;
