//! Received SMS, delivery reports and send-task status reports (spec sections 4, 5, 6),
//! pure: parsing the device's arrays and accumulating per-task delivery records.

use super::crypto::md5_hex;
use super::ports::Port;
use super::push::{OddRow, PushError, bad};
use crate::connectors::lenient::{text_of, u64_of};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One entry of `recv-sms` (push) or `goip_get_sms` `data` (poll).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReceivedSms {
    /// A delivery report (`[0] == 1`) rather than an SMS.
    pub is_report: bool,
    /// The port in its primary form (`"1A"`), and as the device wrote it.
    pub port: Port,
    pub port_raw: String,
    /// The device's timestamp (UTC seconds).
    pub device_ts: u64,
    /// SMS: the sender; report: the SMSC.
    pub from: String,
    /// SMS: the recipient (our SIM); report: the original recipient.
    pub to: String,
    /// The decoded UTF-8 text (SMS) or `"code scts"` (report); None if it did not decode.
    pub text: Option<String>,
    /// The field as the device sent it (base64).
    pub raw: String,
    /// Why `text` is None.
    pub decode_error: Option<String>,
    /// Report only: the delivery code (0 = delivered) and the SMSC timestamp.
    pub report_code: Option<i64>,
    pub report_scts: Option<String>,
    /// Fields after the sixth (newer firmware), kept as sent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rest: Vec<Value>,
}

impl ReceivedSms {
    /// The same message seen by push and by poll gets the same key on one device. A
    /// report's key names its original recipient too (`from` is the SMSC: two reports of
    /// one second with the same code and SMSC time are for different recipients).
    pub fn dedup_key(&self, device: &str) -> String {
        let digest = md5_hex(&[&self.raw]);
        let (port, ts, from) = (&self.port, self.device_ts, &self.from);
        if self.is_report {
            return format!("goip:{device}:{port}:{ts}:{from}:1:{}:{digest}", self.to);
        }
        format!("goip:{device}:{port}:{ts}:{from}:0:{digest}")
    }
}

/// A normal SMS's content: base64 of UTF-8 (section 7.2.3).
fn decode_text(raw: &str) -> (Option<String>, Option<String>) {
    match base64::engine::general_purpose::STANDARD.decode(raw.trim()) {
        Err(e) => (None, Some(format!("not base64: {e}"))),
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => (Some(t), None),
            Err(e) => (None, Some(format!("not UTF-8: {e}"))),
        },
    }
}

/// A delivery report's content. Seed 004 section 7.2.3: "送达报告: “code scts” … utf-8 /
/// 普通短信: utf-8 的 BASE64 编码" — a report is plain `"code scts"`, only a normal SMS is
/// base64. Some firmware base64-encodes reports too: a text that does not start with a
/// number but decodes to one that does is taken decoded.
fn report_text(raw: &str) -> String {
    let starts_with_code = |t: &str| t.trim_start().split(' ').next().is_some_and(|c| c.parse::<i64>().is_ok());
    if starts_with_code(raw) {
        return raw.to_string();
    }
    match decode_text(raw) {
        (Some(t), _) if starts_with_code(&t) => t,
        _ => raw.to_string(),
    }
}

/// Parses one `[kind, port, ts, from, to, content]` array.
pub fn parse_received(v: &Value) -> Result<ReceivedSms, PushError> {
    let Value::Array(a) = v else { return Err(bad("sms", "each entry must be an array")) };
    if a.len() < 6 {
        return Err(bad("sms", format!("an entry has {} fields, 6 expected", a.len())));
    }
    let is_report = match u64_of(&a[0]) {
        Some(0) => false,
        Some(1) => true,
        _ => return Err(bad("sms", format!("kind {} is neither 0 nor 1", a[0]))),
    };
    let port_raw = text_of(&a[1]).unwrap_or_default();
    let port = Port::parse(&port_raw).ok_or_else(|| bad("sms", format!("{} is not a port", a[1])))?;
    let device_ts = u64_of(&a[2]).ok_or_else(|| bad("sms", format!("{} is not a timestamp", a[2])))?;
    let from = text_of(&a[3]).unwrap_or_default();
    let to = text_of(&a[4]).unwrap_or_default();
    let raw = text_of(&a[5]).unwrap_or_default();
    let (text, decode_error) = if is_report { (Some(report_text(&raw)), None) } else { decode_text(&raw) };
    let (mut report_code, mut report_scts) = (None, None);
    if is_report && let Some(t) = &text {
        let (code, scts) = t.trim().split_once(' ').unwrap_or((t.trim(), ""));
        report_code = code.parse().ok();
        report_scts = Some(scts.trim().to_string()).filter(|s| !s.is_empty());
    }
    Ok(ReceivedSms {
        is_report,
        port,
        port_raw,
        device_ts,
        from,
        to,
        text,
        raw,
        decode_error,
        report_code,
        report_scts,
        rest: a[6..].to_vec(),
    })
}

/// Every row of a `recv-sms` push or a `goip_get_sms` page, each standing alone: the
/// messages read, and the rows that could not be (kept as sent).
pub fn parse_rows(items: &[Value]) -> (Vec<ReceivedSms>, Vec<OddRow>) {
    let (mut good, mut odd) = (Vec::new(), Vec::new());
    for item in items {
        match parse_received(item) {
            Ok(m) => good.push(m),
            Err(e) => odd.push(OddRow::new("sms", item.clone(), &e)),
        }
    }
    (good, odd)
}

/// A delivered (`sdr`) or failed (`fdr`) recipient of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub index: u64,
    pub number: String,
    /// The port in its primary form (`"1A"`; as sent when it is no port name the agent
    /// knows), and as the device wrote it (`"1.01"`).
    pub port: String,
    #[serde(default)]
    pub port_raw: String,
    pub ts: u64,
    pub ok: bool,
    /// fdr only: the program's `"code text"` and the operator's reason.
    pub reason: Option<String>,
    pub operator_reason: Option<String>,
}

/// One task's entry of a `status-report`.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskReport {
    pub tid: u64,
    pub sending: u64,
    pub sent: u64,
    pub failed: u64,
    pub unsent: u64,
    /// Only the records since the previous report.
    pub records: Vec<Delivery>,
    /// Records that could not be read, kept as sent (relayed, never dropped).
    pub odd: Vec<OddRow>,
    pub extra: Map<String, Value>,
}

/// A `status-report` push: every task's entry stands alone.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    pub reports: Vec<TaskReport>,
    /// Entries that could not be read, kept as sent.
    pub odd: Vec<OddRow>,
    /// The push's other fields, kept in every task's `extra` (its own win).
    pub extra: Map<String, Value>,
}

pub(crate) fn parse_status_report(mut map: Map<String, Value>) -> Result<StatusReport, PushError> {
    let Some(Value::Array(rpts)) = map.remove("rpts") else { return Err(PushError::Missing("rpts")) };
    // The count of this push's entries, not a field of each task (seed 004: "rpt_num 字符串
    // 报告数").
    map.remove("rpt_num");
    let (mut reports, mut odd) = (Vec::new(), Vec::new());
    for entry in rpts {
        match parse_task_report(entry.clone()) {
            Ok(r) => reports.push(r),
            Err(e) => odd.push(OddRow::new("rpts", entry, &e)),
        }
    }
    Ok(StatusReport { reports, odd, extra: map })
}

fn parse_task_report(v: Value) -> Result<TaskReport, PushError> {
    let Value::Object(mut m) = v else { return Err(bad("rpts", "each entry must be an object")) };
    let tid = m.remove("tid").as_ref().and_then(u64_of).ok_or(PushError::Missing("tid"))?;
    let mut count = |k: &str| m.remove(k).as_ref().and_then(u64_of).unwrap_or(0);
    let (sending, sent, failed, unsent) = (count("sending"), count("sent"), count("failed"), count("unsent"));
    let (mut records, mut odd) = (Vec::new(), Vec::new());
    for (field, ok) in [("sdr", true), ("fdr", false)] {
        match m.remove(field) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for item in items {
                    match parse_delivery(&item, ok) {
                        Some(d) => records.push(d),
                        None => odd.push(OddRow { part: field, row: item, reason: "not a delivery record".into() }),
                    }
                }
            }
            Some(other) => odd.push(OddRow { part: field, row: other, reason: "must be an array".into() }),
        }
    }
    Ok(TaskReport { tid, sending, sent, failed, unsent, records, odd, extra: m })
}

fn parse_delivery(v: &Value, ok: bool) -> Option<Delivery> {
    let a = v.as_array()?;
    let port_raw = text_of(a.get(2)?).unwrap_or_default();
    Some(Delivery {
        index: u64_of(a.first()?)?,
        number: text_of(a.get(1)?)?,
        port: Port::parse(&port_raw).map_or_else(|| port_raw.clone(), |p| p.to_string()),
        port_raw,
        ts: a.get(3).and_then(u64_of).unwrap_or(0),
        ok,
        reason: a.get(4).and_then(text_of),
        operator_reason: a.get(5).and_then(text_of),
    })
}

/// A task's delivery records accumulated across reports (they arrive as deltas).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskProgress {
    pub tid: u64,
    pub sending: u64,
    pub sent: u64,
    pub failed: u64,
    pub unsent: u64,
    /// By recipient index; a later record for the same recipient replaces the earlier one.
    pub records: BTreeMap<u64, Delivery>,
}

impl TaskProgress {
    /// Folds a report in: counters are cumulative on the device, records are deltas.
    pub fn apply(&mut self, report: &TaskReport) {
        self.tid = report.tid;
        (self.sending, self.sent, self.failed, self.unsent) =
            (report.sending, report.sent, report.failed, report.unsent);
        for r in &report.records {
            self.records.insert(r.index, r.clone());
        }
    }

    /// The device has nothing left to send for this task.
    pub fn finished(&self) -> bool {
        self.sending == 0 && self.unsent == 0
    }
}

#[cfg(test)]
mod tests {
    use super::super::push::{Push, parse_push};
    use super::*;

    #[test]
    fn received_sms_and_delivery_reports_decode() {
        let body =
            br#"{"type":"recv-sms","sms_num":2,"fw":"v3","sms":[[0,"1B",1466506477,"10010","13265825775","5L2g5aW9IHdvcmxk"],
            [1,"2A","1466506480","+8613800","13686876620","MCAyNjExMjIwOTAwMCs="]]}"#;
        let Push::RecvSms(list, odd, extra) = parse_push(body).expect("parses") else { panic!("recv-sms") };
        assert!(odd.is_empty());
        assert_eq!(serde_json::Value::Object(extra), serde_json::json!({"fw": "v3"}), "kept, not dropped");
        assert!(list[0].rest.is_empty());
        assert_eq!(list[0].text.as_deref(), Some("你好 world"));
        assert_eq!((list[0].port.to_string(), list[0].from.as_str()), ("1B".to_string(), "10010"));
        assert!(list[1].is_report);
        assert_eq!((list[1].report_code, list[1].report_scts.as_deref()), (Some(0), Some("26112209000+")));
        assert_eq!(list[1].device_ts, 1466506480);
    }

    #[test]
    fn one_unreadable_row_never_costs_the_good_ones() {
        // Issue 10 item 2: a push of three messages with one odd row was refused whole.
        let body = br#"{"type":"recv-sms","sms_num":3,"sms":[[0,"1A",1,"a","b","aGk="],
            [0,"x?y",2,"a","b","aGk="],[0,"12.sp256.101",3,"a","b","aGk="]]}"#;
        let Push::RecvSms(good, odd, _) = parse_push(body).expect("parses") else { panic!("recv-sms") };
        assert_eq!(good.len(), 2);
        assert_eq!((good[1].port.to_string(), good[1].port_raw.as_str()), ("12.sp256.101".to_string(), "12.sp256.101"));
        assert_eq!((odd.len(), odd[0].part, odd[0].row[1].as_str()), (1, "sms", Some("x?y")));
        assert!(odd[0].reason.contains("not a port"), "{}", odd[0].reason);
    }

    #[test]
    fn status_report_records_stand_alone_and_name_ports_in_the_primary_form() {
        let body = br#"{"type":"status-report","rpt_num":2,"fw":"v3","rpts":[
            {"tid":7,"sending":0,"sent":1,"failed":1,"unsent":0,
             "sdr":[[0,"139","1.01",5]],"fdr":[[1,"138","2.02",6,"6 Timeout",""],"garbage"]},
            {"sent":1}]}"#;
        let Push::StatusReport(r) = parse_push(body).expect("parses") else { panic!("status-report") };
        assert_eq!((r.reports.len(), r.odd.len()), (1, 1), "the entry without a tid stands alone");
        let records = &r.reports[0].records;
        assert_eq!((records[0].port.as_str(), records[0].port_raw.as_str()), ("1A", "1.01"));
        assert_eq!(records[1].port, "2B");
        assert_eq!((r.reports[0].odd.len(), r.reports[0].odd[0].part), (1, "fdr"));
        assert_eq!(serde_json::Value::Object(r.extra), serde_json::json!({"fw": "v3"}), "kept, not dropped");
    }

    #[test]
    fn fields_after_the_sixth_of_a_received_row_are_kept_as_sent() {
        let r = parse_received(&serde_json::json!([0, "1A", 5, "10086", "139", "aGk=", 3, "x"])).expect("row");
        assert_eq!(
            (r.text.as_deref(), r.rest.clone()),
            (Some("hi"), vec![serde_json::json!(3), serde_json::json!("x")])
        );
        assert_eq!(serde_json::to_value(&r).expect("json")["rest"], serde_json::json!([3, "x"]));
    }

    #[test]
    fn a_delivery_report_is_read_as_plain_code_and_scts_as_the_seed_says() {
        // Seed 004 §7.2.3: a report's content is "code scts" in UTF-8, not base64.
        let r = parse_received(&serde_json::json!([1, "1A", 5, "10086", "139", "0 26112209000+"])).expect("plain");
        assert_eq!((r.report_code, r.report_scts.as_deref(), r.decode_error), (Some(0), Some("26112209000+"), None));
        let failed = parse_received(&serde_json::json!([1, "1A", 5, "10086", "139", "34 1700000000"])).expect("34");
        assert_eq!(failed.report_code, Some(34));
    }

    #[test]
    fn undecodable_text_keeps_the_raw_value_and_says_why() {
        let bad_b64 = parse_received(&serde_json::json!([0, "1A", 1, "a", "b", "%%%"])).expect("kept");
        assert_eq!((bad_b64.text.clone(), bad_b64.raw.as_str()), (None, "%%%"));
        assert!(bad_b64.decode_error.as_deref().is_some_and(|e| e.starts_with("not base64")));
        let bad_utf8 = parse_received(&serde_json::json!([0, "1A", 1, "a", "b", "//79"])).expect("kept");
        assert!(bad_utf8.decode_error.as_deref().is_some_and(|e| e.starts_with("not UTF-8")));
        assert!(parse_received(&serde_json::json!([0, "1A", 1])).is_err());
        assert!(parse_received(&serde_json::json!([3, "1A", 1, "a", "b", ""])).is_err());
    }

    #[test]
    fn the_same_message_by_push_and_poll_has_one_dedup_key() {
        let a = parse_received(&serde_json::json!([0, "1B", 5, "10010", "x", "aGk="])).expect("a");
        let b = parse_received(&serde_json::json!(["0", "1.02", "5", "10010", "x", "aGk="])).expect("b");
        assert_eq!(a.dedup_key("gw1"), b.dedup_key("gw1"));
        assert_ne!(a.dedup_key("gw1"), a.dedup_key("gw2"));
        let report = |to: &str| parse_received(&serde_json::json!([1, "1A", 5, "10086", to, "0 2611"])).expect("r");
        assert_ne!(report("139").dedup_key("gw1"), report("138").dedup_key("gw1"), "two recipients, two reports");
        assert_eq!(report("139").dedup_key("gw1"), report("139").dedup_key("gw1"));
    }

    #[test]
    fn status_reports_accumulate_deltas_until_the_task_is_finished() {
        let first =
            br#"{"type":"status-report","rpt_num":1,"rpts":[{"tid":1223,"sending":1,"sent":1,"failed":0,"unsent":1,
            "sdr":[[0,"13686876620","1A",1466506477]],"fdr":[]}]}"#;
        let second =
            br#"{"type":"status-report","rpt_num":1,"rpts":[{"tid":"1223","sending":0,"sent":1,"failed":1,"unsent":0,
            "sdr":[],"fdr":[[1,"13686876621","1B",1466506480,"6 Timeout","no answer"]],"vendor":"x"}]}"#;
        let mut progress = TaskProgress::default();
        for body in [&first[..], &second[..]] {
            let Push::StatusReport(r) = parse_push(body).expect("parses") else { panic!("status-report") };
            progress.apply(&r.reports[0]);
        }
        assert!(progress.finished());
        assert_eq!(progress.records.len(), 2, "deltas accumulated");
        assert!(progress.records[&0].ok);
        assert_eq!(progress.records[&1].reason.as_deref(), Some("6 Timeout"));
        assert_eq!((progress.sent, progress.failed), (1, 1));
    }
}
