//! The simulated gateway's state, pure (clock passed in): ports and SIM slots, the task
//! queue and its sending, received SMS with the boot id (`ssrc`), and the device-side
//! batching of status reports and SMS pushes. Pushes come out as [`Outgoing`] values
//! for the I/O part to deliver.

use crate::connectors::goip::protocol::ports::{Port, PortList};
use base64::Engine;
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

#[derive(Debug, Clone)]
struct PortState {
    active_slot: u8,
    /// State code per slot (index 0 = slot A).
    codes: Vec<u16>,
    locked: bool,
}

#[derive(Debug, Clone)]
pub struct Task {
    pub tid: u64,
    pub to: Vec<String>,
    pub sms: String,
    pub from: Option<PortList>,
    pub paused: bool,
    pub next: usize,
    pub sent: u64,
    pub failed: u64,
    pub sr_url: String,
    pub sr_cnt: u64,
    pub sr_prd_ms: u64,
    pub delivery_reports: bool,
    /// Records since the last report: `sdr` and `fdr` arrays.
    sdr: Vec<Value>,
    fdr: Vec<Value>,
    last_report_ms: u64,
    pub raw: Value,
}

impl Task {
    fn finished(&self) -> bool {
        self.next >= self.to.len()
    }
}

/// The whole device.
#[derive(Debug)]
pub struct Gateway {
    pub rules: Rules,
    pub ssrc: String,
    ports: Vec<PortState>,
    pub tasks: BTreeMap<u64, Task>,
    /// Received SMS and reports: `[kind, port, ts, from, to, base64]`, `sms_id` = index + 1.
    pub inbox: Vec<Value>,
    pub sms_url: String,
    pub sms_cnt: usize,
    pub sms_prd_ms: u64,
    sms_pending: Vec<Value>,
    sms_pending_since: u64,
    pub status_url: String,
    pub status_period: u64,
    pub params: BTreeMap<String, String>,
    rr: usize,
    /// Sent and failed per port, since start.
    counts: BTreeMap<u16, (u64, u64)>,
}

impl Gateway {
    pub fn new(rules: Rules, ssrc: String) -> Gateway {
        let ports = (0..rules.max_ports)
            .map(|_| PortState { active_slot: 1, codes: vec![3; usize::from(rules.max_slots)], locked: false })
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

    fn port_code(&self, port: u16) -> (u8, u16) {
        let p = &self.ports[usize::from(port - 1)];
        let code = if p.locked { 12 } else { p.codes[usize::from(p.active_slot - 1)] };
        (p.active_slot, code)
    }

    /// One port's status as `port-status` and `dev-status` carry it.
    pub fn port_status(&self, port: u16) -> Value {
        let (slot, code) = self.port_code(port);
        let text = match code {
            3 => "3 OK".to_string(),
            12 => "12 User Locked".to_string(),
            c => c.to_string(),
        };
        json!({"port": Port { port, slot }.to_string(), "st": text, "bal": "100.00", "opr": "46000 China Mobile",
            "sn": format!("1380000{port:04}"), "imei": format!("8600000000{port:05}"), "sig": 20, "led": 1})
    }

    pub fn dev_status(&self) -> Value {
        let status: Vec<Value> = (1..=self.rules.max_ports).map(|p| self.port_status(p)).collect();
        json!({"type": "dev-status", "seq": 1, "expires": self.status_period, "mac": "00-30-f1-01-02-03",
            "ip": "127.0.0.1", "ver": "telbridge-sim", "max-ports": self.rules.max_ports,
            "max-slot": self.rules.max_slots, "status": status})
    }

    fn port_push(&self, port: u16) -> Option<Outgoing> {
        if self.status_url.is_empty() {
            return None;
        }
        let mut body = self.port_status(port);
        body["type"] = json!("port-status");
        body["seq"] = json!(1);
        Some(Outgoing { url: self.status_url.clone(), body })
    }

    fn ports_in(&self, list: &PortList) -> Vec<u16> {
        (1..=self.rules.max_ports)
            .filter(|p| (1..=self.rules.max_slots).any(|s| list.contains(Port { port: *p, slot: s })))
            .collect()
    }

    /// One command op; returns the port-status pushes it causes, or the error code.
    pub fn command(&mut self, op: &str, ports: Option<&str>) -> Result<Vec<Outgoing>, (u16, &'static str)> {
        let list = match ports {
            Some(p) => Some(PortList::parse(p).ok_or((2, "Invalid Port"))?),
            None => None,
        };
        let needs_ports = || list.clone().ok_or((2, "Invalid Port"));
        let mut touched = Vec::new();
        match op {
            "lock" | "unlock" => {
                for p in self.ports_in(&needs_ports()?) {
                    self.ports[usize::from(p - 1)].locked = op == "lock";
                    touched.push(p);
                }
            }
            "switch" => {
                let PortList::Items(items) = needs_ports()? else { return Err((2, "Invalid Port")) };
                for item in items {
                    let crate::connectors::goip::protocol::ports::PortItem::Slot(port) = item else {
                        return Err((2, "Invalid Port"));
                    };
                    if port.port == 0 || port.port > self.rules.max_ports || port.slot > self.rules.max_slots {
                        return Err((2, "Invalid Port"));
                    }
                    self.ports[usize::from(port.port - 1)].active_slot = port.slot;
                    touched.push(port.port);
                }
            }
            "reset" => touched = self.ports_in(&needs_ports()?),
            "save" | "reboot" | "ledon" | "ledoff" => {}
            _ => return Err((15, "Invalid CMD")),
        }
        Ok(touched.into_iter().filter_map(|p| self.port_push(p)).collect())
    }

    /// Accepts one `send-sms` task; the per-task status code.
    pub fn add_task(&mut self, t: &Value, defaults: &Value, now_ms: u64) -> (u64, u16) {
        let tid = t.get("tid").and_then(Value::as_u64);
        let Some(tid) = tid else { return (0, 11) };
        if self.tasks.contains_key(&tid) {
            return (tid, 13);
        }
        let to: Vec<String> = t
            .get("to")
            .and_then(Value::as_str)
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if to.is_empty() {
            return (tid, 9);
        }
        let mms = t.get("smstype").and_then(Value::as_u64) == Some(1);
        let mut sms = t.get("sms").and_then(Value::as_str).unwrap_or("").to_string();
        if t.get("chs").and_then(Value::as_str) == Some("base64") {
            let decoded =
                base64::engine::general_purpose::STANDARD.decode(&sms).ok().and_then(|b| String::from_utf8(b).ok());
            sms = decoded.unwrap_or_default();
        }
        if mms && t.get("smstitle").and_then(Value::as_str).unwrap_or("").is_empty() {
            return (tid, 17);
        }
        if mms && t.get("attachments").and_then(Value::as_str).unwrap_or("").is_empty() {
            return (tid, 19);
        }
        if !mms && sms.is_empty() {
            return (tid, 8);
        }
        let from = match t.get("from").and_then(Value::as_str).filter(|s| !s.is_empty()) {
            Some(f) => match PortList::parse(f) {
                Some(l) if !self.ports_in(&l).is_empty() => Some(l),
                _ => return (tid, 2),
            },
            None => None,
        };
        let pick = |k: &str| t.get(k).or_else(|| defaults.get(k)).cloned().unwrap_or(Value::Null);
        let task = Task {
            tid,
            to,
            sms,
            from,
            paused: false,
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
            raw: t.clone(),
        };
        self.tasks.insert(tid, task);
        (tid, 0)
    }

    /// Sends the next recipient of the first running task; returns the pushes now due
    /// (status reports by `sr_cnt`/`sr_prd` or at the end, delivery reports, SMS).
    pub fn tick(&mut self, now_ms: u64) -> Vec<Outgoing> {
        let mut out = Vec::new();
        let running = self.tasks.values().find(|t| !t.paused && !t.finished()).map(|t| t.tid);
        if let Some(tid) = running {
            let ports: Vec<u16> = match &self.tasks[&tid].from {
                Some(list) => self.ports_in(list),
                None => (1..=self.rules.max_ports).collect(),
            };
            self.rr += 1;
            let port = ports[self.rr % ports.len()];
            let (slot, code) = self.port_code(port);
            let port_name = Port { port, slot }.to_string();
            let fail_suffix = self.rules.fail_suffix.clone();
            let task = self.tasks.get_mut(&tid).expect("running task");
            let index = task.next;
            let number = task.to[index].clone();
            task.next += 1;
            let ts = now_ms / 1000;
            let failure = match code {
                3 if !fail_suffix.is_empty() && number.ends_with(&fail_suffix) => {
                    Some(("6 Timeout", "no answer from SMSC"))
                }
                3 => None,
                _ => Some(("5 SIM Unregistered", "")),
            };
            let count = self.counts.entry(port).or_default();
            if let Some((reason, operator)) = failure {
                count.1 += 1;
                task.failed += 1;
                task.fdr.push(json!([index, number, port_name, ts, reason, operator]));
            } else {
                count.0 += 1;
                task.sent += 1;
                task.sdr.push(json!([index, number, port_name, ts]));
                if task.delivery_reports {
                    let text = base64::engine::general_purpose::STANDARD.encode(format!("0 {ts}"));
                    let entry = json!([1, port_name, ts, "+8613800100500", number, text]);
                    self.store_sms(entry, now_ms, &mut out);
                }
            }
        }
        for task in self.tasks.values_mut() {
            let pending = task.sdr.len() + task.fdr.len();
            let due = pending as u64 >= task.sr_cnt
                || (pending > 0 && now_ms.saturating_sub(task.last_report_ms) >= task.sr_prd_ms)
                || (pending > 0 && task.finished());
            if due && !task.sr_url.is_empty() {
                task.last_report_ms = now_ms;
                let unsent = (task.to.len() - task.next) as u64;
                let sending = u64::from(!task.finished() && !task.paused);
                let rpt = json!({"tid": task.tid, "sending": sending, "sent": task.sent, "failed": task.failed,
                    "unsent": unsent.saturating_sub(sending), "sdr": std::mem::take(&mut task.sdr),
                    "fdr": std::mem::take(&mut task.fdr)});
                out.push(Outgoing {
                    url: task.sr_url.clone(),
                    body: json!({"type": "status-report", "rpt_num": 1, "rpts": [rpt]}),
                });
            }
        }
        out.extend(self.flush_sms(now_ms, false));
        out
    }

    /// A message arrives on `port`: stored for polling and queued for the SMS push.
    pub fn receive(&mut self, port: &str, from: &str, text: &str, now_ms: u64) -> Vec<Outgoing> {
        let to = Port::parse(port).map(|p| format!("1380000{:04}", p.port)).unwrap_or_default();
        let b64 = base64::engine::general_purpose::STANDARD.encode(text);
        let entry = json!([0, port, now_ms / 1000, from, to, b64]);
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
        out.extend(self.flush_sms(now_ms, false));
    }

    fn flush_sms(&mut self, now_ms: u64, force: bool) -> Vec<Outgoing> {
        let n = self.sms_pending.len();
        let due =
            n > 0 && (force || n >= self.sms_cnt || now_ms.saturating_sub(self.sms_pending_since) >= self.sms_prd_ms);
        if !due || self.sms_url.is_empty() {
            return Vec::new();
        }
        let list = std::mem::take(&mut self.sms_pending);
        vec![Outgoing { url: self.sms_url.clone(), body: json!({"type": "recv-sms", "sms_num": n, "sms": list}) }]
    }

    /// A `goip_get_sms` page from `sms_id` (1-based), `num` messages (0 = all).
    pub fn sms_page(&self, sms_id: u64, num: usize) -> Value {
        let start = usize::try_from(sms_id.max(1) - 1).unwrap_or(usize::MAX).min(self.inbox.len());
        let end = if num == 0 { self.inbox.len() } else { (start + num).min(self.inbox.len()) };
        let data = &self.inbox[start..end];
        json!({"code": 0, "reason": "OK", "ssrc": self.ssrc, "sms_num": data.len(), "next_sms": end + 1, "data": data})
    }

    /// Counters per port and slot for `goip_get_sms_stat` (the seed's capitalised names).
    pub fn sms_stats(&self) -> Value {
        let mut stats = Vec::new();
        for port in 1..=self.rules.max_ports {
            let name = |p: &str| Port::parse(p).is_some_and(|x| x.port == port);
            let received = self.inbox.iter().filter(|e| e[1].as_str().is_some_and(name)).count();
            let (sent, failed) = self.counts.get(&port).copied().unwrap_or_default();
            stats.push(json!({"port": port, "slot": self.ports[usize::from(port - 1)].active_slot,
                "Received": received, "Sent": sent + failed, "Sent_ok": sent, "Sent_failed": failed,
                "con_failed": 0, "unsent": 0, "sending": 0}));
        }
        json!({"code": 200, "reason": "OK", "count": stats.len(), "stats": stats})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gateway() -> Gateway {
        let mut g = Gateway::new(Rules { max_ports: 4, max_slots: 2, fail_suffix: "666".into() }, "s1".into());
        g.status_url = "http://a/status".into();
        g
    }

    #[test]
    fn status_reports_are_batched_by_count_and_carry_only_new_records() {
        let mut g = gateway();
        let task = json!({"tid": 7, "to": "1,2,3666", "sms": "x"});
        assert_eq!(g.add_task(&task, &json!({"sr_url": "http://a/sr", "sr_cnt": 2, "sr_prd": 60}), 0), (7, 0));
        assert_eq!(g.add_task(&task, &json!({}), 0), (7, 13), "a tid is unique on the device");
        assert!(g.tick(1_000).is_empty(), "one record < sr_cnt");
        let first = g.tick(2_000);
        assert_eq!(first[0].body["rpts"][0]["sdr"].as_array().map(Vec::len), Some(2));
        let last = g.tick(3_000);
        let rpt = &last[0].body["rpts"][0];
        assert_eq!((rpt["sdr"].as_array().map(Vec::len), rpt["fdr"][0][4].as_str()), (Some(0), Some("6 Timeout")));
        assert_eq!((rpt["sent"].as_u64(), rpt["failed"].as_u64(), rpt["unsent"].as_u64()), (Some(2), Some(1), Some(0)));
    }

    #[test]
    fn a_switch_pushes_the_new_slot_and_a_reboot_changes_the_ssrc() {
        let mut g = gateway();
        let out = g.command("switch", Some("3B")).expect("switch");
        assert_eq!(out[0].body["port"], "3B");
        assert_eq!(g.command("lock", None), Err((2, "Invalid Port")));
        assert_eq!(g.command("fly", None), Err((15, "Invalid CMD")));
        g.receive("1A", "10010", "hi", 5_000);
        assert_eq!(g.sms_page(1, 0)["next_sms"], 2);
        g.reboot("s2".into());
        assert_eq!((g.sms_page(1, 0)["ssrc"].as_str(), g.sms_page(2, 0)["sms_num"].as_u64()), (Some("s2"), Some(0)));
    }
}
