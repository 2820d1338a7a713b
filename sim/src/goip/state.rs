//! The simulated gateway's state, pure (the clock is passed in): ports and SIM slots,
//! the task queue and its sending, received SMS with the boot id (`ssrc`), statistics,
//! and the device-side batching of status reports and SMS pushes. Pushes come out as
//! [`Outgoing`] values for the I/O part to deliver.

use super::ports::{Port, PortItem, PortList, number_list};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A push to deliver: the URL and the JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub url: String,
    pub body: Value,
}

/// How the simulated device behaves.
#[derive(Debug, Clone)]
pub struct Rules {
    pub max_ports: u16,
    pub max_slots: u8,
    /// A recipient number ending with this fails with `6 Timeout`.
    pub fail_suffix: String,
}

/// The per-task codes of digest section 4 with their texts.
pub fn task_code_name(code: u16) -> &'static str {
    const NAMES: [&str; 21] = [
        "OK",
        "Invalid User",
        "Invalid Port",
        "USSD Expected",
        "Pending USSD",
        "SIM Unregistered",
        "Timeout",
        "Server Error",
        "SMS expected",
        "TO expected",
        "Pending Transaction",
        "TID Expected",
        "FROM Expected",
        "Duplicated TaskId",
        "Unauthorized",
        "Invalid CMD",
        "Too Many Task",
        "MMS Title expected",
        "Too Many MMS Attachments",
        "MMS Attachments expected",
        "MMS attachments cache over limit",
    ];
    NAMES.get(usize::from(code)).copied().unwrap_or("Unknown")
}

/// Seed 6.3.2.2 / 7.2.2: the report and SMS pushes carry `version=1.1` (digest: "pushed
/// by the device to `sr_url`, `?version=1.1`").
fn with_version(url: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}version=1.1")
}

#[derive(Debug, Clone)]
struct PortState {
    active_slot: u8,
    /// State code per slot (index 0 = slot A).
    codes: Vec<u16>,
    locked: bool,
    /// The last `port-status` sequence number ("端口内1开始自增").
    seq: u64,
}

#[derive(Debug, Clone)]
pub struct Task {
    pub tid: u64,
    pub to: Vec<String>,
    pub sms: String,
    pub from: Option<PortList>,
    pub paused: bool,
    /// What to send: (recipient index, number, a fixed port or `None` = spread).
    sends: Vec<(usize, String, Option<u16>)>,
    pub next: usize,
    pub sent: u64,
    pub failed: u64,
    sr_url: String,
    sr_cnt: u64,
    sr_prd_ms: u64,
    delivery_reports: bool,
    /// Records since the last report.
    sdr: Vec<Value>,
    fdr: Vec<Value>,
    last_report_ms: u64,
}

impl Task {
    pub fn finished(&self) -> bool {
        self.next >= self.sends.len()
    }
}

/// The whole device.
#[derive(Debug)]
pub struct Gateway {
    pub rules: Rules,
    pub ssrc: String,
    ports: Vec<PortState>,
    pub tasks: BTreeMap<u64, Task>,
    /// Received SMS and reports: `[kind, port, ts, from, to, text]`, `sms_id` = index + 1.
    pub inbox: Vec<Value>,
    pub sms_url: String,
    pub sms_cnt: usize,
    pub sms_prd_ms: u64,
    sms_pending: Vec<Value>,
    sms_pending_since: u64,
    pub status_url: String,
    pub status_period: u64,
    /// When the last `dev-status` went out (for the period).
    pub status_last_ms: u64,
    /// The last `dev-status` sequence number ("从1开始自增").
    dev_seq: u64,
    pub params: BTreeMap<String, String>,
    rr: usize,
    /// Sent and failed per (port, slot), since start.
    counts: BTreeMap<(u16, u8), (u64, u64)>,
}

impl Gateway {
    pub fn new(rules: Rules, ssrc: String) -> Gateway {
        let slots = usize::from(rules.max_slots);
        let ports = (0..rules.max_ports)
            .map(|_| PortState { active_slot: 1, codes: vec![3; slots], locked: false, seq: 0 })
            .collect();
        Gateway {
            rules,
            ssrc,
            ports,
            tasks: BTreeMap::new(),
            inbox: Vec::new(),
            sms_url: String::new(),
            sms_cnt: 1,
            sms_prd_ms: 30_000,
            sms_pending: Vec::new(),
            sms_pending_since: 0,
            status_url: String::new(),
            status_period: 0,
            status_last_ms: 0,
            dev_seq: 0,
            params: BTreeMap::new(),
            rr: 0,
            counts: BTreeMap::new(),
        }
    }

    /// A reboot: a new `ssrc`, tasks gone; stored messages are renumbered from 1.
    pub fn reboot(&mut self, ssrc: String) {
        self.ssrc = ssrc;
        self.tasks.clear();
        self.sms_pending.clear();
    }

    fn port_state(&self, port: u16) -> Option<&PortState> {
        self.ports.get(usize::from(port).checked_sub(1)?)
    }

    /// The active slot and the state code of a port (12 when the user locked it).
    fn port_code(&self, port: u16) -> (u8, u16) {
        match self.port_state(port) {
            Some(p) if p.locked => (p.active_slot, 12),
            Some(p) => (p.active_slot, p.codes.get(usize::from(p.active_slot) - 1).copied().unwrap_or(0)),
            None => (1, 0),
        }
    }

    /// One port's status as `port-status` and `dev-status` carry it.
    fn port_status(&self, port: u16) -> Value {
        let (slot, code) = self.port_code(port);
        let st = match code {
            3 => "3 OK".to_string(),
            12 => "12 User Locked".to_string(),
            c => c.to_string(),
        };
        json!({"port": Port { port, slot }.to_string(), "st": st, "bal": "100.00", "opr": "46000 China Mobile",
            "sn": format!("1380000{port:04}"), "imei": format!("8600000000{port:05}"), "sig": 20, "led": 1})
    }

    /// A `dev-status` (with the seed's example spelling `max-slot`); each one takes the
    /// next sequence number.
    pub fn dev_status(&mut self, now_ms: u64) -> Value {
        self.dev_seq += 1;
        self.status_last_ms = now_ms;
        let status: Vec<Value> = (1..=self.rules.max_ports).map(|p| self.port_status(p)).collect();
        json!({"type": "dev-status", "seq": self.dev_seq, "expires": self.status_period,
            "mac": "00-30-f1-01-02-03", "ip": "127.0.0.1", "ver": "telbridge-sim",
            "max-ports": self.rules.max_ports, "max-slot": self.rules.max_slots, "status": status})
    }

    /// A `dev-status` push when subscribed and the period has passed (or `force`).
    pub fn status_due(&mut self, now_ms: u64, force: bool) -> Option<Outgoing> {
        if self.status_url.is_empty() {
            return None;
        }
        let due = self.status_period > 0 && now_ms.saturating_sub(self.status_last_ms) >= self.status_period * 1000;
        (force || due).then(|| Outgoing { url: self.status_url.clone(), body: self.dev_status(now_ms) })
    }

    fn port_push(&mut self, port: u16) -> Option<Outgoing> {
        if self.status_url.is_empty() {
            return None;
        }
        let mut body = self.port_status(port);
        let p = self.ports.get_mut(usize::from(port).checked_sub(1)?)?;
        p.seq += 1;
        body["type"] = json!("port-status");
        body["seq"] = json!(p.seq);
        Some(Outgoing { url: self.status_url.clone(), body })
    }

    /// The ports of this device that `list` names (any slot).
    fn ports_in(&self, list: &PortList) -> Vec<u16> {
        (1..=self.rules.max_ports)
            .filter(|p| (1..=self.rules.max_slots).any(|s| list.contains(Port { port: *p, slot: s })))
            .collect()
    }

    /// One command op; the port-status pushes it causes, or the error code and reason.
    pub fn command(&mut self, op: &str, ports: Option<&str>) -> Result<Vec<Outgoing>, (u16, &'static str)> {
        const BAD_PORT: (u16, &str) = (2, "Invalid Port");
        let list = ports.map(|p| PortList::parse(p).ok_or(BAD_PORT)).transpose()?;
        let needs_ports = || list.clone().ok_or(BAD_PORT);
        let mut touched = Vec::new();
        match op {
            "lock" | "unlock" => {
                // Seed: "op=lock unlock 时, 如果不指定 SIM slot 号, 将锁定/解锁整个端口".
                for p in self.ports_in(&needs_ports()?) {
                    if let Some(ps) = self.ports.get_mut(usize::from(p) - 1) {
                        ps.locked = op == "lock";
                    }
                    touched.push(p);
                }
            }
            "switch" => {
                let PortList::Items(items) = needs_ports()? else { return Err(BAD_PORT) };
                for item in items {
                    let PortItem::Slot(port) = item else { return Err(BAD_PORT) };
                    if port.port > self.rules.max_ports || port.slot > self.rules.max_slots {
                        return Err(BAD_PORT);
                    }
                    if let Some(ps) = self.ports.get_mut(usize::from(port.port) - 1) {
                        ps.active_slot = port.slot;
                    }
                    touched.push(port.port);
                }
            }
            "reset" => {
                // Digest: "reset (module; port number only)".
                let list = needs_ports()?;
                if !list.ports_only() {
                    return Err(BAD_PORT);
                }
                touched = self.ports_in(&list);
            }
            "save" | "reboot" | "ledon" | "ledoff" => {}
            _ => return Err((15, "Invalid CMD")),
        }
        Ok(touched.into_iter().filter_map(|p| self.port_push(p)).collect())
    }

    /// Accepts one `send-sms` task; the per-task status code.
    pub fn add_task(&mut self, t: &Value, defaults: &Value, now_ms: u64) -> (u64, u16) {
        let Some(tid) = t.get("tid").and_then(Value::as_u64) else { return (0, 11) };
        if self.tasks.contains_key(&tid) {
            return (tid, 13);
        }
        let text = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or("");
        let to: Vec<String> =
            text("to").split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
        if to.is_empty() {
            return (tid, 9);
        }
        let mms = t.get("smstype").and_then(Value::as_u64) == Some(1);
        let mut sms = text("sms").to_string();
        if text("chs") == "base64" {
            sms = B64.decode(&sms).ok().and_then(|b| String::from_utf8(b).ok()).unwrap_or_default();
        }
        if mms && text("smstitle").is_empty() {
            return (tid, 17);
        }
        if mms && text("attachments").is_empty() {
            return (tid, 19);
        }
        if !mms && sms.is_empty() {
            return (tid, 8);
        }
        let from = match Some(text("from")).filter(|s| !s.is_empty()) {
            Some(f) => match PortList::parse(f) {
                Some(l) if !self.ports_in(&l).is_empty() => Some(l),
                _ => return (tid, 2),
            },
            None => None,
        };
        // Digest: "`from` + one recipient → sent from *every* listed port; `from` + many
        // recipients → device spreads them over the listed ports".
        let sends = match &from {
            Some(list) if to.len() == 1 => {
                self.ports_in(list).into_iter().map(|p| (0, to[0].clone(), Some(p))).collect()
            }
            _ => to.iter().enumerate().map(|(i, n)| (i, n.clone(), None)).collect(),
        };
        let pick = |k: &str| t.get(k).or_else(|| defaults.get(k)).cloned().unwrap_or(Value::Null);
        let task = Task {
            tid,
            to,
            sms,
            from,
            paused: false,
            sends,
            next: 0,
            sent: 0,
            failed: 0,
            sr_url: pick("sr_url").as_str().unwrap_or("").to_string(),
            sr_cnt: pick("sr_cnt").as_u64().unwrap_or(100).max(1),
            sr_prd_ms: pick("sr_prd").as_u64().unwrap_or(30) * 1000,
            delivery_reports: t.get("dr").and_then(Value::as_u64) == Some(1),
            sdr: Vec::new(),
            fdr: Vec::new(),
            last_report_ms: now_ms,
        };
        self.tasks.insert(tid, task);
        (tid, 0)
    }

    /// Sends the next recipient of the first running task; returns the pushes now due
    /// (status reports by `sr_cnt`/`sr_prd` or at the end, delivery reports, SMS).
    pub fn tick(&mut self, now_ms: u64) -> Vec<Outgoing> {
        let mut out = Vec::new();
        if let Some(tid) = self.tasks.values().find(|t| !t.paused && !t.finished()).map(|t| t.tid) {
            self.send_one(tid, now_ms, &mut out);
        }
        for task in self.tasks.values_mut() {
            let pending = task.sdr.len() + task.fdr.len();
            let due = pending as u64 >= task.sr_cnt
                || (pending > 0 && now_ms.saturating_sub(task.last_report_ms) >= task.sr_prd_ms)
                || (pending > 0 && task.finished());
            if due && !task.sr_url.is_empty() {
                task.last_report_ms = now_ms;
                let unsent = (task.sends.len() - task.next) as u64;
                let sending = u64::from(!task.finished() && !task.paused);
                let rpt = json!({"tid": task.tid, "sending": sending, "sent": task.sent, "failed": task.failed,
                    "unsent": unsent.saturating_sub(sending), "sdr": std::mem::take(&mut task.sdr),
                    "fdr": std::mem::take(&mut task.fdr)});
                let body = json!({"type": "status-report", "rpt_num": 1, "rpts": [rpt]});
                out.push(Outgoing { url: with_version(&task.sr_url), body });
            }
        }
        out.extend(self.flush_sms(now_ms));
        out
    }

    fn send_one(&mut self, tid: u64, now_ms: u64, out: &mut Vec<Outgoing>) {
        let Some(task) = self.tasks.get(&tid) else { return };
        let Some((index, number, fixed)) = task.sends.get(task.next).cloned() else { return };
        let port = match fixed {
            Some(p) => p,
            None => {
                let ports = match &task.from {
                    Some(list) => self.ports_in(list),
                    None => (1..=self.rules.max_ports).collect(),
                };
                self.rr += 1;
                ports.get(self.rr % ports.len().max(1)).copied().unwrap_or(1)
            }
        };
        let (slot, code) = self.port_code(port);
        let port_name = Port { port, slot }.to_string();
        let ts = now_ms / 1000;
        let suffix = &self.rules.fail_suffix;
        let failure = match code {
            3 if !suffix.is_empty() && number.ends_with(suffix.as_str()) => Some(("6 Timeout", "no answer from SMSC")),
            3 => None,
            _ => Some(("5 SIM Unregistered", "")),
        };
        let count = self.counts.entry((port, slot)).or_default();
        let Some(task) = self.tasks.get_mut(&tid) else { return };
        task.next += 1;
        if let Some((reason, operator)) = failure {
            count.1 += 1;
            task.failed += 1;
            task.fdr.push(json!([index, number, port_name, ts, reason, operator]));
        } else {
            count.0 += 1;
            task.sent += 1;
            task.sdr.push(json!([index, number, port_name, ts]));
            if task.delivery_reports {
                // Seed 7.2.3 "[5] 送达报告: “code scts”, code 为 0 表示成功送达, utf-8 /
                // 普通短信: utf-8 的 BASE64 编码": a report's text is plain, not base64.
                let entry = json!([1, port_name, ts, "+8613800100500", number, format!("0 {ts}")]);
                self.store_sms(entry, now_ms, out);
            }
        }
    }

    /// A message arrives on `port`: stored for polling and queued for the SMS push.
    pub fn receive(&mut self, port: &str, from: &str, text: &str, now_ms: u64) -> Vec<Outgoing> {
        let to = Port::parse(port).map(|p| format!("1380000{:04}", p.port)).unwrap_or_default();
        let entry = json!([0, port, now_ms / 1000, from, to, B64.encode(text)]);
        let mut out = Vec::new();
        self.store_sms(entry, now_ms, &mut out);
        out
    }

    fn store_sms(&mut self, entry: Value, now_ms: u64, out: &mut Vec<Outgoing>) {
        self.inbox.push(entry.clone());
        if self.sms_url.is_empty() {
            return;
        }
        if self.sms_pending.is_empty() {
            self.sms_pending_since = now_ms;
        }
        self.sms_pending.push(entry);
        out.extend(self.flush_sms(now_ms));
    }

    fn flush_sms(&mut self, now_ms: u64) -> Option<Outgoing> {
        let n = self.sms_pending.len();
        let due = n > 0 && (n >= self.sms_cnt || now_ms.saturating_sub(self.sms_pending_since) >= self.sms_prd_ms);
        if !due || self.sms_url.is_empty() {
            return None;
        }
        let list = std::mem::take(&mut self.sms_pending);
        Some(Outgoing {
            url: with_version(&self.sms_url),
            body: json!({"type": "recv-sms", "sms_num": n, "sms": list}),
        })
    }

    /// A `goip_get_sms` page from `sms_id` (1-based), `num` messages (0 = all).
    pub fn sms_page(&self, sms_id: u64, num: usize) -> Value {
        let start = usize::try_from(sms_id.max(1) - 1).unwrap_or(usize::MAX).min(self.inbox.len());
        let end = if num == 0 { self.inbox.len() } else { start.saturating_add(num).min(self.inbox.len()) };
        let data = &self.inbox[start..end];
        json!({"code": 0, "reason": "OK", "ssrc": self.ssrc, "sms_num": data.len(), "next_sms": end + 1, "data": data})
    }

    /// The (port, slot) pairs a statistics query names: `ports` (default all) and `slots`
    /// (default: the current SIM of each port; `all`; or a list). `None` if unparsable.
    fn stat_rows(&self, ports: Option<&str>, slots: Option<&str>) -> Option<Vec<(u16, u8)>> {
        let ports = number_list(ports.unwrap_or("all"))?;
        let slots = match slots {
            Some(s) => Some(number_list(s)?),
            None => None,
        };
        let in_list = |l: &[(u16, u16)], n: u16| l.iter().any(|(a, b)| (*a..=*b).contains(&n));
        let mut rows = Vec::new();
        for port in (1..=self.rules.max_ports).filter(|p| in_list(&ports, *p)) {
            match &slots {
                None => rows.push((port, self.port_code(port).0)),
                Some(l) => {
                    rows.extend((1..=self.rules.max_slots).filter(|s| in_list(l, u16::from(*s))).map(|s| (port, s)))
                }
            }
        }
        Some(rows)
    }

    /// `goip_get_sms_stat` (the seed's capitalised field names).
    pub fn sms_stats(&self, ports: Option<&str>, slots: Option<&str>) -> Option<Value> {
        let mut stats = Vec::new();
        for (port, slot) in self.stat_rows(ports, slots)? {
            let here = |e: &&Value| e[0] == 0 && e[1].as_str().and_then(Port::parse) == Some(Port { port, slot });
            let received = self.inbox.iter().filter(here).count();
            let (sent, failed) = self.counts.get(&(port, slot)).copied().unwrap_or_default();
            stats.push(json!({"port": port, "slot": slot, "Received": received, "Sent": sent + failed,
                "Sent_ok": sent, "Sent_failed": failed, "con_failed": 0, "unsent": 0, "sending": 0}));
        }
        Some(json!({"code": 200, "reason": "OK", "count": stats.len(), "stats": stats}))
    }

    /// `goip_get_call_stat`: this gateway never calls, so every counter is zero.
    pub fn call_stats(&self, ports: Option<&str>, slots: Option<&str>) -> Option<Value> {
        let stats: Vec<Value> = self
            .stat_rows(ports, slots)?
            .into_iter()
            .map(|(port, slot)| {
                json!({"port": port, "slot": slot, "calls": 0, "alerted": 0, "connected": 0, "con_failed": 0,
                    "nc": "0/0", "pdd": 0, "acd": 0, "asr": 0, "tcd": 0, "act_tcd": 0})
            })
            .collect();
        Some(json!({"code": 200, "reason": "OK", "count": stats.len(), "stats": stats}))
    }
}
