//! The simulated WaveFax server's state, pure (clock passed in): session tokens that
//! expire, uploaded files, outbound jobs that advance through the states (success, or
//! failure by rule), and an inbox of received faxes with their files.

use crate::connectors::wavefax::protocol::codes;
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub use crate::connectors::wavefax::protocol::codes::{BAD_FAX_ID, BAD_FILE_ID, BAD_NUMBER, NO_USER, WRONG_PASSWORD};

/// The server's "database error" code.
pub const DATABASE_ERROR: i64 = 251_658_249;

/// An outbound job.
#[derive(Debug, Clone)]
pub struct OutJob {
    pub faxnum: String,
    pub recipient: String,
    pub fileids: Vec<String>,
    pub subject: String,
    pub status: u64,
    pub errcode: u64,
    pub pages: u64,
    pub mail: bool,
    /// `YYYYMMDDTHHNNSS` of the submission (for `getoutfaxids` windows).
    pub submitted: String,
}

/// A received fax.
#[derive(Debug, Clone)]
pub struct InFax {
    pub callerid: String,
    pub calleeid: String,
    pub fileid: String,
    pub rcvtime: String,
    pub pages: u64,
    /// `getfaxfile` fails for it with a database error (a fax the server cannot read).
    pub broken: bool,
}

/// The whole server.
#[derive(Debug, Default)]
pub struct FaxServer {
    pub user: String,
    pub password: String,
    pub token_ttl_ms: u64,
    tokens: BTreeMap<String, u64>,
    pub files: BTreeMap<String, (String, Vec<u8>)>,
    pub out: BTreeMap<u64, OutJob>,
    pub inbox: BTreeMap<u64, InFax>,
    next_id: u64,
    /// Login attempts, for tests that check the client does not hammer a wrong password.
    pub logins: u64,
    /// Calls answered, by name (tests check that a fax was submitted once).
    pub calls: BTreeMap<String, u64>,
}

/// The server's number rule: `+86(20)87057352`, `+852 22222222`, optional `E…`, or digits.
pub fn valid_number(n: &str) -> bool {
    let main = n.split_once('E').map_or(n, |(m, e)| if e.bytes().all(|b| b.is_ascii_digit()) { m } else { "x" });
    if main.bytes().all(|b| b.is_ascii_digit()) {
        return !main.is_empty();
    }
    if let Some(rest) = main.strip_prefix("+86(") {
        let Some((area, local)) = rest.split_once(')') else { return false };
        return !area.is_empty()
            && area.bytes().all(|b| b.is_ascii_digit())
            && local.bytes().all(|b| b.is_ascii_digit());
    }
    match main.strip_prefix('+').and_then(|r| r.split_once(' ')) {
        // Mainland numbers take the bracket form; only mobiles are written `+86 1…`.
        Some(("86", national)) => {
            national.len() == 11 && national.starts_with('1') && national.bytes().all(|b| b.is_ascii_digit())
        }
        Some((cc, national)) => {
            !cc.is_empty() && cc.bytes().all(|b| b.is_ascii_digit()) && national.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

impl FaxServer {
    pub fn new(user: &str, password: &str, token_ttl_ms: u64) -> FaxServer {
        FaxServer { user: user.into(), password: password.into(), token_ttl_ms, next_id: 1000, ..Default::default() }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn login(&mut self, user: &str, password: &str, now_ms: u64) -> Result<String, i64> {
        self.logins += 1;
        if user != self.user {
            return Err(NO_USER);
        }
        if password != self.password {
            return Err(WRONG_PASSWORD);
        }
        let token = format!("WSSESS{}", self.id());
        self.tokens.insert(token.clone(), now_ms + self.token_ttl_ms);
        Ok(token)
    }

    /// Checks a token: unknown or expired.
    pub fn check(&mut self, token: &str, now_ms: u64) -> Result<(), i64> {
        match self.tokens.get(token) {
            None => Err(codes::INVALID_TOKEN),
            Some(until) if *until < now_ms => Err(codes::EXPIRED_TOKEN),
            Some(_) => Ok(()),
        }
    }

    /// Every token expires now (a test's "session timeout").
    pub fn expire_tokens(&mut self) {
        for until in self.tokens.values_mut() {
            *until = 0;
        }
    }

    pub fn put_file(&mut self, name: &str, data: Vec<u8>) -> String {
        let id = format!("F{}", self.id());
        self.files.insert(id.clone(), (name.to_string(), data));
        id
    }

    /// A submission: one job per fax number, one per mail address (fax ids first).
    pub fn submit(
        &mut self,
        faxnum: &str,
        fileids: Vec<String>,
        params: &BTreeMap<String, String>,
        now: &str,
    ) -> Result<Vec<u64>, i64> {
        if fileids.is_empty() || fileids.iter().any(|f| !self.files.contains_key(f)) {
            return Err(BAD_FILE_ID);
        }
        let pattern = params.get("pattern").map_or("fax", String::as_str);
        let mails: Vec<String> = params
            .get("mailaddress")
            .map(|m| m.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
            .unwrap_or_default();
        let mut ids = Vec::new();
        let job = |faxnum: &str, recipient: &str, mail: bool| OutJob {
            faxnum: faxnum.to_string(),
            recipient: recipient.to_string(),
            fileids: fileids.clone(),
            subject: params.get("subject").cloned().unwrap_or_default(),
            status: 0,
            errcode: 0,
            pages: fileids.len() as u64,
            mail,
            submitted: now.to_string(),
        };
        if pattern != "mail" {
            if !valid_number(faxnum) {
                return Err(BAD_NUMBER);
            }
            let j = job(faxnum, params.get("recipient").map_or("", String::as_str), false);
            let id = self.id();
            self.out.insert(id, j);
            ids.push(id);
        }
        for m in &mails {
            let j = job("+86(10)99999999", m, true);
            let id = self.id();
            self.out.insert(id, j);
            ids.push(id);
        }
        if ids.is_empty() {
            return Err(BAD_NUMBER);
        }
        Ok(ids)
    }

    /// One step of every unfinished job: 0 → 2 → 3 → 5 → 6 → 7 → 9, or 8 by rule: a number
    /// ending in 444 is busy (errcode 4), in 555 times out dialling (6).
    pub fn tick(&mut self) {
        for job in self.out.values_mut() {
            job.status = match job.status {
                0 => 2,
                2 => 3,
                3 => 5,
                5 => 6,
                6 if job.faxnum.ends_with("444") => {
                    job.errcode = 4;
                    8
                }
                6 if job.faxnum.ends_with("555") => {
                    job.errcode = 6;
                    8
                }
                6 => 7,
                7 => 9,
                s => s,
            };
        }
    }

    pub fn out_fax(&self, id: u64) -> Result<Value, i64> {
        let j = self.out.get(&id).ok_or(BAD_FAX_ID)?;
        let done = j.status >= 8;
        Ok(json!({"code": 0, "status": j.status, "errcode": j.errcode, "faxnum": j.faxnum, "recipient": j.recipient,
            "fileid": j.fileids.join(","), "subject": j.subject, "scheduletime": "", "senttime": if done { "20261122T100000" } else { "" },
            "duration": if j.status == 9 { 30 * j.pages } else { 0 }, "sentpages": if j.status == 9 { j.pages } else { 0 },
            "portname": if j.mail { "" } else { "COM1" }}))
    }

    /// Resend a finished fax, to a new number when given (a new job id then).
    pub fn resend(&mut self, id: u64, faxnum: Option<&str>) -> Result<Option<u64>, i64> {
        let job = self.out.get(&id).ok_or(BAD_FAX_ID)?.clone();
        if job.status < 8 {
            return Err(BAD_FAX_ID);
        }
        match faxnum {
            Some(n) if !valid_number(n) => Err(BAD_NUMBER),
            Some(n) => {
                let new = self.id();
                self.out.insert(new, OutJob { faxnum: n.to_string(), status: 0, errcode: 0, ..job });
                Ok(Some(new))
            }
            None => {
                let j = self.out.get_mut(&id).ok_or(BAD_FAX_ID)?;
                (j.status, j.errcode) = (0, 0);
                Ok(None)
            }
        }
    }

    pub fn cancel(&mut self, id: u64) -> Result<(), i64> {
        let j = self.out.get_mut(&id).ok_or(BAD_FAX_ID)?;
        if j.status >= 8 {
            return Err(BAD_FAX_ID);
        }
        (j.status, j.errcode) = (8, 11);
        Ok(())
    }

    /// A fax arrives: its file is stored and it is listed in the inbox.
    pub fn receive(&mut self, callerid: &str, calleeid: &str, data: Vec<u8>, rcvtime: String, pages: u64) -> u64 {
        let fileid = self.put_file("in.tif", data);
        let id = self.id();
        let fax = InFax { callerid: callerid.into(), calleeid: calleeid.into(), fileid, rcvtime, pages, broken: false };
        self.inbox.insert(id, fax);
        id
    }

    /// `getfaxfile` for `fileid`: its URL, or the server's error.
    pub fn fax_file(&self, fileid: &str, pdf: bool) -> Result<String, i64> {
        if self.inbox.values().any(|f| f.fileid == fileid && f.broken) {
            return Err(DATABASE_ERROR);
        }
        if !self.files.contains_key(fileid) {
            return Err(BAD_FILE_ID);
        }
        Ok(format!("/files/{fileid}.{}", if pdf { "pdf" } else { "tif" }))
    }

    /// Outbound ids submitted in `[start, end]`.
    pub fn out_ids(&self, start: &str, end: &str) -> Vec<u64> {
        self.out
            .iter()
            .filter(|(_, j)| j.submitted.as_str() >= start && j.submitted.as_str() <= end)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Inbox ids received in `[start, end]`; without `start`, only the last two (the seed's rule).
    pub fn in_ids(&self, start: Option<&str>, end: Option<&str>) -> Vec<u64> {
        match start {
            None => self.inbox.keys().rev().take(2).rev().copied().collect(),
            Some(s) => self
                .inbox
                .iter()
                .filter(|(_, f)| f.rcvtime.as_str() >= s && end.is_none_or(|e| f.rcvtime.as_str() <= e))
                .map(|(id, _)| *id)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_and_jobs_advance_to_success_or_busy() {
        let mut s = FaxServer::new("ops", "pw", 1000);
        assert_eq!(s.login("ops", "bad", 0), Err(WRONG_PASSWORD));
        let t = s.login("ops", "pw", 0).expect("login");
        assert_eq!(s.check(&t, 500), Ok(()));
        assert_eq!(s.check(&t, 2000), Err(codes::EXPIRED_TOKEN));
        assert_eq!(s.check("nope", 0), Err(codes::INVALID_TOKEN));
        let f = s.put_file("a.pdf", vec![1]);
        let now = "20261124T100000";
        let ok = s.submit("+86(20)87057352", vec![f.clone()], &BTreeMap::new(), now).expect("ok")[0];
        let busy = s.submit("+852 22222444", vec![f.clone()], &BTreeMap::new(), now).expect("busy")[0];
        assert_eq!(s.submit("+86 20", vec![f], &BTreeMap::new(), now), Err(BAD_NUMBER));
        assert_eq!(s.out_ids("20261124T095959", "20261124T100001"), [ok, busy]);
        assert!(s.out_ids("20261124T100001", "20261124T110000").is_empty());
        for _ in 0..8 {
            s.tick();
        }
        assert_eq!(s.out_fax(ok).expect("ok")["status"], 9);
        assert_eq!((s.out_fax(busy).expect("busy")["status"].as_u64(), s.out[&busy].errcode), (Some(8), 4));
    }

    #[test]
    fn without_a_start_time_only_the_last_two_inbox_ids_are_listed() {
        let mut s = FaxServer::new("ops", "pw", 1000);
        let ids: Vec<u64> = (0..3).map(|i| s.receive("1", "2", vec![i], format!("20261122T10000{i}"), 1)).collect();
        assert_eq!(s.in_ids(None, None), ids[1..]);
        assert_eq!(s.in_ids(Some("20261122T100000"), Some("20261122T100001")), ids[..2]);
    }
}
