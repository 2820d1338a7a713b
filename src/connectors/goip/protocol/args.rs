//! Cloud command arguments for a gateway, pure: `sms.send` into `send-sms` tasks and
//! body, `device.command` into a `goip_send_cmd` call, `device.stats` into a stat call.
//! Every error says which argument is wrong (the command answers `bad_args`).

use super::ports::PortList;
use super::request::Call;
use serde_json::{Map, Value, json};

/// Tasks one `sms.send` may carry, at most.
pub const MAX_TASKS: usize = 64;
/// Recipients of one task, at most.
pub const MAX_RECIPIENTS: usize = 1000;
/// MMS attachments: at most this many, this many bytes in all (spec section 4).
pub const MAX_ATTACHMENTS: usize = 5;
pub const MAX_ATTACHMENT_BYTES: usize = 100 * 1024;

/// One SMS (or MMS) task as the cloud asked for it.
#[derive(Debug, Clone, PartialEq)]
pub struct SmsTask {
    pub to: Vec<String>,
    pub text: String,
    /// The port selection (`from`), normalised; None lets the device choose.
    pub ports: Option<String>,
    /// 0 auto, 1 UCS2, 2 7-bit.
    pub coding: u8,
    pub mms: Option<Mms>,
    /// Device task fields passed through as given (`smc`, `intvl`, `tmo`, …).
    pub options: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Mms {
    pub title: String,
    /// `type|base64;type|base64`, as the device takes it.
    pub attachments: String,
}

/// Where and how the device reports back, set on every send.
#[derive(Debug, Clone, PartialEq)]
pub struct Callbacks {
    pub sr_url: String,
    pub sr_cnt: u32,
    pub sr_prd: u32,
    pub sms_url: String,
    pub sms_cnt: u32,
    pub sms_prd: u32,
    /// Ask for success records (`sdr`) where the task's options do not say.
    pub success_records: bool,
}

/// Parses `sms.send` args: one task at the top level, or `{"tasks":[…]}`.
pub fn parse_send(args: &Value) -> Result<Vec<SmsTask>, String> {
    match args.get("tasks") {
        Some(Value::Array(list)) => {
            if list.is_empty() || list.len() > MAX_TASKS {
                return Err(format!("`tasks` must hold 1 to {MAX_TASKS} tasks"));
            }
            list.iter().enumerate().map(|(i, t)| parse_task(t).map_err(|e| format!("tasks[{i}]: {e}"))).collect()
        }
        Some(_) => Err("`tasks` must be an array".into()),
        None => parse_task(args).map(|t| vec![t]),
    }
}

fn parse_task(v: &Value) -> Result<SmsTask, String> {
    let Value::Object(map) = v else { return Err("a task must be an object".into()) };
    let to: Vec<String> = match map.get("to") {
        Some(Value::String(s)) => s.split(',').map(|n| n.trim().to_string()).collect(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|n| n.as_str().map(|s| s.trim().to_string()))
            .collect::<Option<_>>()
            .ok_or("`to` must hold strings")?,
        _ => return Err("`to` is required: a number or a list of numbers".into()),
    };
    if to.is_empty() || to.len() > MAX_RECIPIENTS {
        return Err(format!("`to` must hold 1 to {MAX_RECIPIENTS} numbers"));
    }
    if let Some(bad) = to.iter().find(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit() || b == b'+')) {
        return Err(format!("`to`: {bad:?} is not a phone number"));
    }
    let text = match map.get("text") {
        Some(Value::String(s)) => s.clone(),
        None => String::new(),
        Some(_) => return Err("`text` must be a string".into()),
    };
    let ports = match map.get("ports") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            Some(PortList::parse(s).ok_or_else(|| format!("`ports`: {s:?} is not a port list"))?.to_string())
        }
        Some(_) => return Err("`ports` must be a string like \"1-4,6\" or \"2B\"".into()),
    };
    let coding = match map.get("coding") {
        None => 0,
        Some(Value::String(s)) => match s.as_str() {
            "auto" => 0,
            "ucs2" => 1,
            "7bit" => 2,
            _ => return Err("`coding` must be auto, ucs2 or 7bit".into()),
        },
        Some(Value::Number(n)) if n.as_u64().is_some_and(|c| c <= 2) => n.as_u64().unwrap_or(0) as u8,
        Some(_) => return Err("`coding` must be auto, ucs2 or 7bit".into()),
    };
    let mms = map.get("mms").map(parse_mms).transpose()?;
    if text.is_empty() && mms.is_none() {
        return Err("`text` is required (or `mms`)".into());
    }
    let options = match map.get("options") {
        None => Map::new(),
        Some(Value::Object(o)) => o.clone(),
        Some(_) => return Err("`options` must be an object".into()),
    };
    Ok(SmsTask { to, text, ports, coding, mms, options })
}

fn parse_mms(v: &Value) -> Result<Mms, String> {
    let title = v.get("title").and_then(Value::as_str).unwrap_or_default();
    if title.is_empty() {
        return Err("`mms.title` is required".into());
    }
    let list = v.get("attachments").and_then(Value::as_array).ok_or("`mms.attachments` must be a list")?;
    if list.is_empty() || list.len() > MAX_ATTACHMENTS {
        return Err(format!("`mms.attachments` must hold 1 to {MAX_ATTACHMENTS} files"));
    }
    let mut parts = Vec::new();
    let mut total = 0;
    for (i, a) in list.iter().enumerate() {
        let kind = a.get("type").and_then(Value::as_str).filter(|t| !t.is_empty() && !t.contains(['|', ';']));
        let data = a.get("data").and_then(Value::as_str);
        let (Some(kind), Some(data)) = (kind, data) else {
            return Err(format!("`mms.attachments[{i}]` needs `type` (jpg, txt, …) and base64 `data`"));
        };
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| format!("`mms.attachments[{i}].data` is not base64: {e}"))?;
        total += bytes.len();
        parts.push(format!("{kind}|{data}"));
    }
    if total > MAX_ATTACHMENT_BYTES {
        return Err(format!("`mms.attachments` are {total} bytes, more than {MAX_ATTACHMENT_BYTES}"));
    }
    Ok(Mms { title: title.to_string(), attachments: parts.join(";") })
}

/// The `send-sms` body for tasks with their tids.
pub fn send_body(tasks: &[(u64, &SmsTask)], cb: &Callbacks) -> Value {
    let list: Vec<Value> = tasks
        .iter()
        .map(|(tid, t)| {
            let mut m = t.options.clone();
            if cb.success_records {
                m.entry("sdr").or_insert(json!(1));
            }
            m.insert("tid".into(), json!(tid));
            m.insert("to".into(), json!(t.to.join(",")));
            m.insert("sms".into(), json!(t.text));
            m.insert("chs".into(), json!("utf8"));
            m.insert("coding".into(), json!(t.coding));
            if let Some(p) = &t.ports {
                m.insert("from".into(), json!(p));
            }
            if let Some(mms) = &t.mms {
                m.insert("smstype".into(), json!(1));
                m.insert("smstitle".into(), json!(mms.title));
                m.insert("attachments".into(), json!(mms.attachments));
            } else {
                m.insert("smstype".into(), json!(0));
            }
            Value::Object(m)
        })
        .collect();
    json!({
        "type": "send-sms",
        "task_num": list.len(),
        "sr_url": cb.sr_url, "sr_cnt": cb.sr_cnt, "sr_prd": cb.sr_prd,
        "sms_url": cb.sms_url, "sms_cnt": cb.sms_cnt, "sms_prd": cb.sms_prd,
        "tasks": list,
    })
}

/// Ops that take a port list.
const PORT_OPS: [&str; 4] = ["lock", "unlock", "switch", "reset"];
/// Ops on the whole device.
const DEVICE_OPS: [&str; 4] = ["save", "reboot", "ledon", "ledoff"];

/// Parses `device.command` args into a `goip_send_cmd` call:
/// `{"op":"lock","ports":"1A"}`, `{"ops":[…]}` (multiple), `{"op":"get","params":["sms_url"]}`,
/// `{"op":"set","params":{"sms_url":"…"}}`, `{"op":"reboot"}`.
pub fn parse_device_command(args: &Value) -> Result<Call, String> {
    if let Some(ops) = args.get("ops") {
        let list = ops.as_array().filter(|l| !l.is_empty()).ok_or("`ops` must be a non-empty list")?;
        let ops = list
            .iter()
            .enumerate()
            .map(|(i, o)| port_op(o, true).map_err(|e| format!("ops[{i}]: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Call::SendCmd { body: Some(json!({"type":"command","op":"multiple","ops":ops})), params: vec![] });
    }
    let op = args.get("op").and_then(Value::as_str).ok_or("`op` is required")?;
    let mut body = match op {
        "get" | "set" => Value::Null,
        _ => {
            let mut b = port_op(args, false)?;
            b.as_object_mut().map(|m| m.insert("type".into(), json!("command")));
            b
        }
    };
    if let Some(v) = args.get("auto_fail_sim_switch").filter(|_| !body.is_null()) {
        let flag = match v {
            Value::Bool(b) => *b,
            Value::String(s) if s == "0" || s == "1" => s == "1",
            Value::Number(n) if n.as_u64().is_some_and(|n| n <= 1) => n.as_u64() == Some(1),
            _ => return Err("`auto_fail_sim_switch` must be true/false or \"0\"/\"1\"".into()),
        };
        body["auto_fail_sim_switch"] = json!(if flag { "1" } else { "0" });
    }
    let params = match (op, args.get("params")) {
        ("get", Some(Value::Array(names))) if !names.is_empty() => names
            .iter()
            .map(|n| n.as_str().filter(|s| is_param_name(s)).map(|s| (s.to_string(), String::new())))
            .collect::<Option<Vec<_>>>()
            .ok_or("`params` must list parameter names like \"sms_url\" or \"sim_imei(3)\"")?,
        ("set", Some(Value::Object(map))) if !map.is_empty() => map
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                };
                v.filter(|_| is_param_name(k)).map(|v| (k.clone(), v))
            })
            .collect::<Option<Vec<_>>>()
            .ok_or("`params` must map parameter names to strings or numbers")?,
        ("get", _) => return Err("`params` must be a non-empty list of names for op=get".into()),
        ("set", _) => return Err("`params` must be a non-empty object for op=set".into()),
        _ => vec![],
    };
    if !params.is_empty() {
        let mut p = vec![("op".to_string(), op.to_string())];
        p.extend(params);
        return Ok(Call::SendCmd { body: None, params: p });
    }
    Ok(Call::SendCmd { body: Some(body), params: vec![] })
}

fn is_param_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'(' | b')' | b'-'))
}

/// One `{"op","ports"}`; inside `multiple` only the port ops are allowed.
fn port_op(v: &Value, in_multiple: bool) -> Result<Value, String> {
    let op = v.get("op").and_then(Value::as_str).ok_or("`op` is required")?;
    if PORT_OPS.contains(&op) {
        let ports = v.get("ports").and_then(Value::as_str).ok_or_else(|| format!("`ports` is required for {op}"))?;
        let list = PortList::parse(ports).ok_or_else(|| format!("`ports`: {ports:?} is not a port list"))?;
        return Ok(json!({"op": op, "ports": list.to_string()}));
    }
    if !in_multiple && DEVICE_OPS.contains(&op) {
        let mut b = json!({"op": op});
        if let Some(p) = v.get("ports").and_then(Value::as_str) {
            let list = PortList::parse(p).ok_or_else(|| format!("`ports`: {p:?} is not a port list"))?;
            b["ports"] = json!(list.to_string());
        }
        return Ok(b);
    }
    let allowed = if in_multiple { PORT_OPS.join(", ") } else { [&PORT_OPS[..], &DEVICE_OPS[..]].concat().join(", ") };
    Err(format!("`op` {op:?} is not one of {allowed}, get, set"))
}

/// Parses `device.stats` args: `{"kind":"sms"|"call","ports":"all","slots":"all","period":0..3}`.
pub fn parse_stats(args: &Value) -> Result<Call, String> {
    let text = |k: &str| args.get(k).and_then(Value::as_str).unwrap_or("all").to_string();
    let (ports, slots) = (text("ports"), text("slots"));
    for (k, v) in [("ports", &ports), ("slots", &slots)] {
        if v != "all" && PortList::parse(v).is_none() {
            return Err(format!("`{k}`: {v:?} is not a list like \"all\" or \"1-3,4\""));
        }
    }
    let period = match args.get("period") {
        None => 3,
        Some(v) => v.as_u64().filter(|p| *p <= 3).ok_or("`period` must be 0 (last hour) to 3 (cumulative)")? as u8,
    };
    match args.get("kind").and_then(Value::as_str).unwrap_or("sms") {
        "sms" => Ok(Call::GetSmsStat { ports, slots, period }),
        "call" => Ok(Call::GetCallStat { ports, slots, period }),
        other => Err(format!("`kind` {other:?} must be sms or call")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn callbacks() -> Callbacks {
        Callbacks {
            sr_url: "http://a/sr".into(),
            sr_cnt: 10,
            sr_prd: 30,
            sms_url: "http://a/sms".into(),
            sms_cnt: 1,
            sms_prd: 30,
            success_records: true,
        }
    }

    #[test]
    fn a_single_send_becomes_one_task_with_the_documented_fields() {
        let tasks = parse_send(&json!({"to":["13686876620","+8613800"],"text":"hello","ports":"1-4,6","coding":"ucs2",
            "options":{"tmo":30}}))
        .expect("valid");
        let body = send_body(&[(1223, &tasks[0])], &callbacks());
        assert_eq!(body["type"], "send-sms");
        assert_eq!(body["task_num"], 1);
        let t = &body["tasks"][0];
        assert_eq!(
            (t["tid"].as_u64(), t["to"].as_str(), t["from"].as_str()),
            (Some(1223), Some("13686876620,+8613800"), Some("1-4,6"))
        );
        assert_eq!(
            (t["coding"].as_u64(), t["chs"].as_str(), t["tmo"].as_u64(), t["smstype"].as_u64()),
            (Some(1), Some("utf8"), Some(30), Some(0))
        );
        assert_eq!(body["sr_url"], "http://a/sr");
        assert_eq!(t["sdr"], 1, "success records asked for by default");
        let own = parse_send(&json!({"to":"1","text":"x","options":{"sdr":0}})).expect("valid");
        assert_eq!(send_body(&[(1, &own[0])], &callbacks())["tasks"][0]["sdr"], 0, "the command's own sdr wins");
        let off = Callbacks { success_records: false, ..callbacks() };
        assert!(send_body(&[(1, &tasks[0])], &off)["tasks"][0].get("sdr").is_none());
    }

    #[test]
    fn an_mms_carries_title_and_typed_attachments() {
        let tasks =
            parse_send(&json!({"tasks":[{"to":"1","mms":{"title":"T","attachments":[{"type":"txt","data":"aGk="}]}}]}))
                .expect("valid");
        let body = send_body(&[(5, &tasks[0])], &callbacks());
        assert_eq!(
            (body["tasks"][0]["smstype"].as_u64(), body["tasks"][0]["attachments"].as_str()),
            (Some(1), Some("txt|aGk="))
        );
    }

    #[test]
    fn bad_send_arguments_name_the_argument() {
        for (args, needle) in [
            (json!({"text":"x"}), "`to`"),
            (json!({"to":"12a","text":"x"}), "not a phone number"),
            (json!({"to":"1"}), "`text` is required"),
            (json!({"to":"1","text":"x","ports":"zz"}), "`ports`"),
            (json!({"to":"1","text":"x","coding":"latin1"}), "`coding`"),
            (json!({"tasks":[]}), "`tasks`"),
            (json!({"tasks":[{"to":"1","text":"x"},{"to":"1"}]}), "tasks[1]"),
            (json!({"to":"1","mms":{"title":"t","attachments":[{"type":"jpg","data":"***"}]}}), "not base64"),
        ] {
            let err = parse_send(&args).expect_err("refused");
            assert!(err.contains(needle), "{err} should contain {needle}");
        }
    }

    #[test]
    fn device_commands_become_send_cmd_calls() {
        let Call::SendCmd { body, params } = parse_device_command(&json!({"op":"switch","ports":"2.02"})).expect("ok")
        else {
            panic!()
        };
        assert_eq!(body, Some(json!({"type":"command","op":"switch","ports":"2B"})));
        assert!(params.is_empty());
        let Call::SendCmd { body, .. } =
            parse_device_command(&json!({"ops":[{"op":"lock","ports":"1A"},{"op":"switch","ports":"2B"}]}))
                .expect("ok")
        else {
            panic!()
        };
        let body = body.expect("a body");
        assert_eq!(body["op"], "multiple");
        assert_eq!(body["ops"][1], json!({"op":"switch","ports":"2B"}));
        let Call::SendCmd { params, body } =
            parse_device_command(&json!({"op":"set","params":{"sms_url":"http://x/"}})).expect("ok")
        else {
            panic!()
        };
        assert_eq!(params, vec![("op".into(), "set".into()), ("sms_url".into(), "http://x/".into())]);
        assert_eq!(body, None, "seed §5.1.3 lists no body op for set: the URL carries it");
        for (args, needle) in [
            (json!({"op":"lock"}), "`ports`"),
            (json!({"op":"explode"}), "not one of"),
            (json!({"ops":[{"op":"reboot"}]}), "ops[0]"),
            (json!({"op":"get"}), "`params`"),
        ] {
            let err = parse_device_command(&args).expect_err("refused");
            assert!(err.contains(needle), "{err} should contain {needle}");
        }
    }

    #[test]
    fn stats_arguments_choose_the_call_and_period() {
        assert_eq!(
            parse_stats(&json!({"kind":"call","ports":"1-3","period":0})),
            Ok(Call::GetCallStat { ports: "1-3".into(), slots: "all".into(), period: 0 })
        );
        assert!(parse_stats(&json!({"period":9})).is_err());
    }
}
