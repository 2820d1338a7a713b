//! The simulated WaveFax server's state, pure (the clock is passed in): session tokens
//! that expire, uploaded files, outbound jobs that advance through the states (success,
//! or failure by rule), and an inbox of received faxes with their files.

use super::codes::{
    BAD_FAX_ID, BAD_FILE_ID, BAD_NUMBER, CANNOT_FETCH_FILE, DATABASE_ERROR, EXPIRED_TOKEN, INTERNAL_ERROR,
    INVALID_TOKEN, NO_USER, WRONG_PASSWORD,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;

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
    /// `scheduletime` as submitted (`YYYYMMDDTHHNNSS`, empty: none): the job waits in state
    /// 5 (scheduled) until then.
    pub schedule: String,
}

impl OutJob {
    /// States 8 and 9 are final.
    pub fn finished(&self) -> bool {
        self.status >= 8
    }
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
    /// `getfaxfile` answers "cannot fetch file" (251658772) this many more times, then
    /// serves it: a file the server could not get at for a moment.
    pub fetch_failures: u32,
}

/// The whole server.
#[derive(Debug, Default)]
pub struct FaxServer {
    pub user: String,
    pub password: String,
    pub token_ttl_ms: u64,
    /// Token → expiry (ms).
    tokens: BTreeMap<String, u64>,
    /// File id → (name, bytes).
    pub files: BTreeMap<String, (String, Vec<u8>)>,
    pub out: BTreeMap<u64, OutJob>,
    pub inbox: BTreeMap<u64, InFax>,
    next_id: u64,
    /// Login attempts.
    pub logins: u64,
    /// A merged job reports a file id of its own in `getoutfax` (the digest: "the seed says
    /// nothing about what `fileid` holds for a merged fax").
    pub rename_merged: bool,
    /// Calls answered, by name.
    pub calls: BTreeMap<String, u64>,
}

fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// The server's number rule: `+86(20)87057352` (mainland), `+852 22222222` (elsewhere), a
/// bare number (formatted by the server), each with an optional extension `E` + digits.
pub fn valid_number(n: &str) -> bool {
    let main = match n.split_once('E') {
        Some((m, ext)) if !ext.is_empty() && all_digits(ext) => m,
        Some(_) => return false,
        None => n,
    };
    if !main.is_empty() && all_digits(main) {
        return true;
    }
    if let Some(rest) = main.strip_prefix("+86(") {
        let Some((area, local)) = rest.split_once(')') else { return false };
        return !area.is_empty() && all_digits(area) && !local.is_empty() && all_digits(local);
    }
    match main.strip_prefix('+').and_then(|r| r.split_once(' ')) {
        // Mainland numbers take the bracket form; only mobiles are written `+86 1…`.
        Some(("86", national)) => national.len() == 11 && national.starts_with('1') && all_digits(national),
        Some((cc, national)) => !cc.is_empty() && all_digits(cc) && !national.is_empty() && all_digits(national),
        None => false,
    }
}

/// Seed: "参数timeend必须大于timestart" (timeend must be greater than timestart).
fn window_ok(start: &str, end: Option<&str>) -> bool {
    end.is_none_or(|e| e > start)
}

impl FaxServer {
    pub fn new(user: &str, password: &str, token_ttl_ms: u64) -> FaxServer {
        FaxServer { user: user.into(), password: password.into(), token_ttl_ms, next_id: 1000, ..Default::default() }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// A login (`user` or `userdomain`): a new token, or the server's error.
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

    /// Checks a token: unknown, or expired.
    pub fn check(&self, token: &str, now_ms: u64) -> Result<(), i64> {
        match self.tokens.get(token) {
            None => Err(INVALID_TOKEN),
            Some(until) if *until < now_ms => Err(EXPIRED_TOKEN),
            Some(_) => Ok(()),
        }
    }

    /// `logoff`: the token is gone.
    pub fn logoff(&mut self, token: &str) {
        self.tokens.remove(token);
    }

    /// Every token expires now.
    pub fn expire_tokens(&mut self) {
        self.tokens.values_mut().for_each(|until| *until = 0);
    }

    pub fn put_file(&mut self, name: &str, data: Vec<u8>) -> String {
        let id = format!("F{}", self.id());
        self.files.insert(id.clone(), (name.to_string(), data));
        id
    }

    /// A submission: one job for the fax number (unless `pattern=mail`), one per mail
    /// address (fax ids first; a mail job's faxnum is `+86(10)99999999`).
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
        let mails: Vec<&str> = params
            .get("mailaddress")
            .map(|m| m.split(';').map(str::trim).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
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
            schedule: params.get("scheduletime").cloned().unwrap_or_default(),
        };
        let mut jobs = Vec::new();
        if pattern != "mail" {
            if !valid_number(faxnum) {
                return Err(BAD_NUMBER);
            }
            jobs.push(job(faxnum, params.get("recipient").map_or("", String::as_str), false));
        }
        jobs.extend(mails.iter().map(|m| job("+86(10)99999999", m, true)));
        if jobs.is_empty() {
            return Err(BAD_NUMBER);
        }
        Ok(jobs
            .into_iter()
            .map(|j| {
                let id = self.id();
                self.out.insert(id, j);
                id
            })
            .collect())
    }

    /// One step of every unfinished job: 0 → 2 → 3 → 5 → 6 → 7 → 9, or 8 by rule: a number
    /// ending in 444 is busy (errcode 4), in 555 times out dialling (6). A scheduled job
    /// stays in 5 until its time (`now`, `YYYYMMDDTHHNNSS`).
    pub fn tick(&mut self, now: &str) {
        for job in self.out.values_mut() {
            job.status = match job.status {
                0 => 2,
                2 => 3,
                3 => 5,
                5 if job.schedule.as_str() > now => 5,
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

    /// `getoutfax`.
    pub fn out_fax(&self, id: u64) -> Result<Value, i64> {
        let j = self.out.get(&id).ok_or(BAD_FAX_ID)?;
        let ok = j.status == 9;
        let fileid = if self.rename_merged && j.fileids.len() > 1 { format!("M{id}") } else { j.fileids.join(",") };
        Ok(json!({"code": 0, "status": j.status, "errcode": j.errcode, "faxnum": j.faxnum,
            "recipient": j.recipient, "fileid": fileid, "subject": j.subject, "scheduletime": j.schedule,
            "senttime": if j.finished() { "20261122T100000" } else { "" },
            "duration": if ok { 30 * j.pages } else { 0 }, "sentpages": if ok { j.pages } else { 0 },
            "portname": if j.mail { "" } else { "COM1" }}))
    }

    /// `resendfax`: only a finished fax; to a new number when given (a new job id then).
    pub fn resend(&mut self, id: u64, faxnum: Option<&str>) -> Result<Option<u64>, i64> {
        let job = self.out.get(&id).ok_or(BAD_FAX_ID)?.clone();
        if !job.finished() {
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

    /// `cancelfax`: only an unfinished fax; it ends failed, cancelled by the user (11).
    pub fn cancel(&mut self, id: u64) -> Result<(), i64> {
        let j = self.out.get_mut(&id).ok_or(BAD_FAX_ID)?;
        if j.finished() {
            return Err(BAD_FAX_ID);
        }
        (j.status, j.errcode) = (8, 11);
        Ok(())
    }

    /// A fax arrives: its file is stored and it is listed in the inbox.
    pub fn receive(&mut self, callerid: &str, calleeid: &str, data: Vec<u8>, rcvtime: String, pages: u64) -> u64 {
        let fileid = self.put_file("in.tif", data);
        let id = self.id();
        let fax = InFax {
            callerid: callerid.into(),
            calleeid: calleeid.into(),
            fileid,
            rcvtime,
            pages,
            broken: false,
            fetch_failures: 0,
        };
        self.inbox.insert(id, fax);
        id
    }

    /// `getfaxfile`: the file's URL path, or the server's error.
    pub fn fax_file(&mut self, fileid: &str, pdf: bool) -> Result<String, i64> {
        if self.inbox.values().any(|f| f.fileid == fileid && f.broken) {
            return Err(DATABASE_ERROR);
        }
        if let Some(fax) = self.inbox.values_mut().find(|f| f.fileid == fileid && f.fetch_failures > 0) {
            fax.fetch_failures -= 1;
            return Err(CANNOT_FETCH_FILE);
        }
        if !self.files.contains_key(fileid) {
            return Err(BAD_FILE_ID);
        }
        Ok(format!("/files/{fileid}.{}", if pdf { "pdf" } else { "tif" }))
    }

    /// `getoutfaxids`: the **sent** (finished) jobs submitted in `[start, end]`. Seed:
    /// "根据时间范围获取已发送的传真ID列表" (the ids of sent faxes in a time range); digest:
    /// "do not rely on it listing jobs that are still queued or converting".
    pub fn out_ids(&self, start: &str, end: Option<&str>) -> Result<Vec<u64>, i64> {
        if !window_ok(start, end) {
            return Err(INTERNAL_ERROR);
        }
        Ok(self
            .out
            .iter()
            .filter(|(_, j)| {
                j.finished() && j.submitted.as_str() >= start && end.is_none_or(|e| j.submitted.as_str() <= e)
            })
            .map(|(id, _)| *id)
            .collect())
    }

    /// `getinfaxids`/`getinfaxcount`: inbox ids received in `[start, end]`; without `start`,
    /// only the last two (the seed's rule, `end` ignored).
    pub fn in_ids(&self, start: Option<&str>, end: Option<&str>) -> Result<Vec<u64>, i64> {
        let Some(start) = start else { return Ok(self.inbox.keys().rev().take(2).rev().copied().collect()) };
        if !window_ok(start, end) {
            return Err(INTERNAL_ERROR);
        }
        Ok(self
            .inbox
            .iter()
            .filter(|(_, f)| f.rcvtime.as_str() >= start && end.is_none_or(|e| f.rcvtime.as_str() <= e))
            .map(|(id, _)| *id)
            .collect())
    }
}
