//! Building the WaveFax server's requests (every call of the spec), pure: method, the
//! `/wspubcore?call=…` target with URL-encoded values, and for `putfile` the raw body and
//! its `Content-Disposition`. Times are `YYYYMMDDTHHNNSS` in the server's local time
//! (the offset is configured; the clock is passed in).

/// The `pattern` of a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    Fax,
    Mail,
    FaxMail,
}

impl Pattern {
    pub fn parse(s: &str) -> Option<Pattern> {
        match s {
            "fax" => Some(Pattern::Fax),
            "mail" => Some(Pattern::Mail),
            "fax-mail" => Some(Pattern::FaxMail),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Pattern::Fax => "fax",
            Pattern::Mail => "mail",
            Pattern::FaxMail => "fax-mail",
        }
    }
}

/// The optional parameters of `submitfax` and `submitfaxmerge`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubmitOptions {
    pub recipient: String,
    pub subject: String,
    /// `YYYYMMDDTHHNNSS`.
    pub schedule_time: Option<String>,
    /// Electronic stamp: name, position and pages.
    pub stamp: Option<(String, u32, u32, String)>,
    pub pattern: Option<Pattern>,
    /// `a@x; b@y`; required with mail patterns.
    pub mail_address: Option<String>,
    /// `Convert=N` when false (default `Y`).
    pub convert: bool,
}

/// The calls of the spec.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Login { user: String, domain: bool, password: String },
    AdminLogin { user: String, password: String },
    Logoff,
    PutFile { filename: String, data: Vec<u8> },
    SubmitFax { faxnum: String, fileid: String, opts: SubmitOptions },
    SubmitFaxMerge { faxnum: String, fileids: Vec<String>, opts: SubmitOptions },
    ResendFax { faxid: String, faxnum: Option<String> },
    CancelFax { faxid: String },
    GetOutFax { faxid: String },
    GetOutFaxIds { start: String, end: String },
    DeleteOutFax { faxid: String },
    GetInFaxIds { start: String, end: String, folder: Option<String> },
    GetInFaxCount { start: String, end: String, folder: Option<String> },
    GetInFax { faxid: String },
    GetFaxFile { fileid: String, pdf: bool },
    DeleteInFax { faxid: String },
}

/// A request to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub post: bool,
    /// `/wspubcore?call=…`.
    pub target: String,
    pub body: Option<Vec<u8>>,
    pub content_disposition: Option<String>,
}

impl Call {
    /// The call's name, as the `call` parameter.
    pub fn name(&self) -> &'static str {
        match self {
            Call::Login { .. } => "login",
            Call::AdminLogin { .. } => "adminlogin",
            Call::Logoff => "logoff",
            Call::PutFile { .. } => "putfile",
            Call::SubmitFax { .. } => "submitfax",
            Call::SubmitFaxMerge { .. } => "submitfaxmerge",
            Call::ResendFax { .. } => "resendfax",
            Call::CancelFax { .. } => "cancelfax",
            Call::GetOutFax { .. } => "getoutfax",
            Call::GetOutFaxIds { .. } => "getoutfaxids",
            Call::DeleteOutFax { .. } => "deleteoutfax",
            Call::GetInFaxIds { .. } => "getinfaxids",
            Call::GetInFaxCount { .. } => "getinfaxcount",
            Call::GetInFax { .. } => "getinfax",
            Call::GetFaxFile { .. } => "getfaxfile",
            Call::DeleteInFax { .. } => "deleteinfax",
        }
    }

    /// Login calls carry credentials instead of a session token.
    pub fn is_login(&self) -> bool {
        matches!(self, Call::Login { .. } | Call::AdminLogin { .. })
    }
}

/// The parameters the seed lists for a submit. Seed 1.1.1.7 (submitfax): `recipient`,
/// `subject`, `scheduletime`, stamp, `pattern`, `mailaddress`, `Convert`; seed 1.1.1.8
/// (submitfaxmerge) lists the same **without** `recipient` and `scheduletime`, so a merge
/// sends neither. `Convert` is "非必输项 … 默认为Y" (optional, Y by default): sent only as `N`.
fn submit_params(p: &mut Vec<(String, String)>, o: &SubmitOptions, merge: bool) {
    if !merge {
        p.push(("recipient".into(), o.recipient.clone()));
    }
    p.push(("subject".into(), o.subject.clone()));
    if let Some(t) = o.schedule_time.as_ref().filter(|_| !merge) {
        p.push(("scheduletime".into(), t.clone()));
    }
    if let Some((name, x, y, pages)) = &o.stamp {
        p.push(("stampname".into(), name.clone()));
        p.push(("decx".into(), x.to_string()));
        p.push(("decy".into(), y.to_string()));
        p.push(("pages".into(), pages.clone()));
    }
    if let Some(pattern) = o.pattern {
        p.push(("pattern".into(), pattern.as_str().into()));
    }
    if let Some(m) = &o.mail_address {
        p.push(("mailaddress".into(), m.clone()));
    }
    if !o.convert {
        p.push(("Convert".into(), "N".into()));
    }
}

fn time_window(p: &mut Vec<(String, String)>, start: &str, end: &str, folder: &Option<String>) {
    p.push(("timestart".into(), start.to_string()));
    p.push(("timeend".into(), end.to_string()));
    if let Some(f) = folder {
        p.push(("folderid".into(), f.clone()));
    }
}

/// `putfile`'s `Content-Disposition` (the server picks the document type from the name's
/// extension): the name up to any line break (a CR/LF never splits the header or hides the
/// extension), an ASCII fallback in `filename`, and the UTF-8 name as RFC 6266/5987
/// `filename*=UTF-8''…` when it is not plain ASCII.
pub fn content_disposition(filename: &str) -> String {
    let line = filename.split(['\r', '\n']).next().unwrap_or_default();
    let name: String = line.chars().filter(|c| !c.is_control()).collect();
    let ascii: String = name.chars().map(|c| if c.is_ascii() && !matches!(c, '"' | '\\') { c } else { '_' }).collect();
    if ascii == name {
        format!("attachment; filename=\"{ascii}\"")
    } else {
        format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{}", crate::http::url::encode(&name))
    }
}

/// Builds `call`; `token` is the session token for every call but the logins.
pub fn build(call: &Call, token: &str) -> Request {
    let mut p: Vec<(String, String)> = vec![("call".into(), call.name().into())];
    let kv = |k: &str, v: &str| (k.to_string(), v.to_string());
    if !call.is_login() {
        p.push(kv("sessiontoken", token));
    }
    let (mut post, mut body, mut disposition) = (false, None, None);
    match call {
        Call::Login { user, domain, password } => {
            post = true;
            p.push(kv(if *domain { "userdomain" } else { "user" }, user));
            p.push(kv("passwd", password));
        }
        Call::AdminLogin { user, password } => {
            post = true;
            p.push(kv("user", user));
            p.push(kv("passwd", password));
        }
        Call::Logoff => post = true,
        Call::PutFile { filename, data } => {
            post = true;
            body = Some(data.clone());
            disposition = Some(content_disposition(filename));
        }
        Call::SubmitFax { faxnum, fileid, opts } => {
            post = true;
            p.push(kv("faxnum", faxnum));
            p.push(kv("fileid", fileid));
            submit_params(&mut p, opts, false);
        }
        Call::SubmitFaxMerge { faxnum, fileids, opts } => {
            p.push(kv("faxnum", faxnum));
            for (i, id) in fileids.iter().enumerate() {
                p.push((format!("fileid{}", i + 1), id.clone()));
            }
            submit_params(&mut p, opts, true);
        }
        Call::ResendFax { faxid, faxnum } => {
            p.push(kv("faxid", faxid));
            if let Some(n) = faxnum {
                p.push(kv("faxnum", n));
            }
        }
        Call::CancelFax { faxid }
        | Call::GetOutFax { faxid }
        | Call::DeleteOutFax { faxid }
        | Call::GetInFax { faxid } => p.push(kv("faxid", faxid)),
        Call::DeleteInFax { faxid } => {
            p.push(kv("faxid", faxid));
            p.push(kv("recycle", "false"));
        }
        Call::GetOutFaxIds { start, end } => time_window(&mut p, start, end, &None),
        Call::GetInFaxIds { start, end, folder } | Call::GetInFaxCount { start, end, folder } => {
            time_window(&mut p, start, end, folder)
        }
        Call::GetFaxFile { fileid, pdf } => {
            p.push(kv("fileid", fileid));
            p.push(kv("pdf", if *pdf { "1" } else { "0" }));
        }
    }
    let query = crate::http::url::query_string(&p);
    Request { post, target: format!("/wspubcore?{query}"), body, content_disposition: disposition }
}

/// `YYYYMMDDTHHNNSS` for `epoch_secs` at `offset_minutes` from UTC (the server's zone).
pub fn format_time(epoch_secs: i64, offset_minutes: i32) -> String {
    let local = epoch_secs + i64::from(offset_minutes) * 60;
    let ms = u64::try_from(local).unwrap_or(0) * 1000;
    // `YYYY-MM-DDTHH:MM:SS.mmmZ` → `YYYYMMDDTHHMMSS`.
    let iso = crate::event::format_rfc3339_ms(ms);
    iso[..19].chars().filter(|c| *c != '-' && *c != ':').collect()
}

/// Reads `YYYYMMDDTHHNNSS` as seconds on the server's local clock (the inverse of
/// [`format_time`] with offset 0). Also takes a space or nothing instead of `T`, and
/// `YYYY-MM-DD HH:MM:SS`, which some servers write.
pub fn parse_time(s: &str) -> Option<i64> {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 14 || s.len() > 19 {
        return None;
    }
    let n = |a: usize, b: usize| digits[a..b].parse::<u32>().ok();
    let (y, mo, d, h, mi, sec) = (n(0, 4)?, n(4, 6)?, n(6, 8)?, n(8, 10)?, n(10, 12)?, n(12, 14)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&mo) || d < 1 || d > month_days[mo as usize - 1] || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let days = crate::event::days_from_civil(i64::from(y), mo, d);
    Some(days * 86_400 + i64::from(h * 3600 + mi * 60 + sec))
}

/// Reads a time given by the cloud: `YYYYMMDDTHHNNSS` (already the server's local time)
/// or RFC 3339 with `Z` or an offset (converted to the server's zone).
pub fn server_time(s: &str, offset_minutes: i32) -> Option<String> {
    if !s.contains('-') {
        return parse_time(s).map(|t| format_time(t, 0));
    }
    let (main, zone_minutes) = if let Some(m) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        (m, 0)
    } else {
        let i = s.rfind(['+', '-']).filter(|i| *i > 10)?;
        let (h, m) = s[i + 1..].split_once(':')?;
        let minutes = h.parse::<i32>().ok()? * 60 + m.parse::<i32>().ok()?;
        (&s[..i], if &s[i..=i] == "-" { -minutes } else { minutes })
    };
    let main = main.split('.').next()?;
    let utc = parse_time(main)? - i64::from(zone_minutes) * 60;
    Some(format_time(utc, offset_minutes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fax_numbers_and_texts_are_url_encoded() {
        let opts =
            SubmitOptions { recipient: "Li Lei".into(), subject: "报价".into(), convert: true, ..Default::default() };
        let r = build(&Call::SubmitFax { faxnum: "+86(20)87057352".into(), fileid: "F1".into(), opts }, "WSSESS1");
        assert_eq!(
            r.target,
            "/wspubcore?call=submitfax&sessiontoken=WSSESS1&faxnum=%2B86%2820%2987057352&fileid=F1&recipient=Li%20Lei\
             &subject=%E6%8A%A5%E4%BB%B7",
            "Convert is optional (Y by default): not sent"
        );
        assert!(r.post);
    }

    #[test]
    fn a_merge_lists_its_files_and_mail_options_and_nothing_the_seed_does_not_list() {
        let opts = SubmitOptions {
            recipient: "Li Lei".into(),
            convert: false,
            pattern: Some(Pattern::FaxMail),
            mail_address: Some("a@x; b@y".into()),
            schedule_time: Some("20261122T093000".into()),
            ..Default::default()
        };
        let r = build(
            &Call::SubmitFaxMerge { faxnum: "+852 22222222".into(), fileids: vec!["a".into(), "b".into()], opts },
            "T",
        );
        assert!(r.target.contains("&faxnum=%2B852%2022222222&fileid1=a&fileid2=b&"), "{}", r.target);
        assert!(r.target.contains("&pattern=fax-mail&mailaddress=a%40x%3B%20b%40y&Convert=N"), "{}", r.target);
        assert!(
            !r.target.contains("scheduletime") && !r.target.contains("recipient"),
            "seed 1.1.1.8 lists neither for a merge: {}",
            r.target
        );
        assert!(!r.post, "submitfaxmerge is a GET");
    }

    #[test]
    fn login_uses_credentials_and_putfile_names_the_file() {
        let r = build(&Call::Login { user: "corp\\ops".into(), domain: true, password: "p&w".into() }, "");
        assert_eq!(r.target, "/wspubcore?call=login&userdomain=corp%5Cops&passwd=p%26w");
        let r = build(&Call::PutFile { filename: "a\"b.pdf".into(), data: vec![1, 2] }, "T");
        assert_eq!(
            r.content_disposition.as_deref(),
            Some("attachment; filename=\"a_b.pdf\"; filename*=UTF-8''a%22b.pdf")
        );
        assert_eq!(r.body, Some(vec![1, 2]));
        let r = build(&Call::DeleteInFax { faxid: "9".into() }, "T");
        assert!(r.target.ends_with("faxid=9&recycle=false"));
    }

    #[test]
    fn a_non_ascii_or_line_broken_file_name_keeps_its_extension_and_cannot_split_the_header() {
        assert_eq!(
            content_disposition("报价 单.pdf"),
            "attachment; filename=\"__ _.pdf\"; filename*=UTF-8''%E6%8A%A5%E4%BB%B7%20%E5%8D%95.pdf"
        );
        assert_eq!(content_disposition("scan.tif\r\nX-Evil: 1"), "attachment; filename=\"scan.tif\"");
        assert_eq!(content_disposition("plain.pdf"), "attachment; filename=\"plain.pdf\"");
    }

    #[test]
    fn times_are_written_in_the_servers_zone() {
        // 2014-12-21 03:11:11 UTC is 11:11:11 in UTC+8.
        assert_eq!(format_time(1_419_131_471, 480), "20141221T111111");
        assert_eq!(format_time(1_419_131_471, 0), "20141221T031111");
    }

    #[test]
    fn server_times_read_back_and_cloud_times_convert_to_the_servers_zone() {
        assert_eq!(parse_time("20141221T031111"), Some(1_419_131_471));
        assert_eq!(parse_time("2014-12-21 03:11:11"), Some(1_419_131_471));
        assert_eq!(parse_time("20000229T000000").map(|t| format_time(t, 0)).as_deref(), Some("20000229T000000"));
        assert_eq!(parse_time("20141321T031111"), None);
        assert_eq!(parse_time("soon"), None);
        assert_eq!(server_time("2014-12-21T03:11:11Z", 480).as_deref(), Some("20141221T111111"));
        assert_eq!(server_time("2014-12-21T11:11:11+08:00", 480).as_deref(), Some("20141221T111111"));
        assert_eq!(server_time("2014-12-20T22:11:11.5-05:00", 0).as_deref(), Some("20141221T031111"));
        assert_eq!(server_time("20141221T111111", 480).as_deref(), Some("20141221T111111"));
        assert_eq!(server_time("2014-12-21", 0), None);
    }
}
