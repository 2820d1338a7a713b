//! The platform's callbacks (seed §5): the CDR ("话单回调", §5.1) and the call start ("始呼
//! 回调", §5.3), form-urlencoded or JSON ("json 格式需联系运维配置"); the call results (§5.2);
//! `userData` ("建议 base64 编码"), decoded when it is base64 of UTF-8.

use crate::connectors::callbacks::Fields;
use base64::Engine;
use serde_json::{Map, Value, json};

/// The fields the agent reads; the rest ("其它参数 … 具体业务相关") go under `extra`.
pub const CDR_FIELDS: &[&str] = &[
    "devid",
    "appid",
    "taskid",
    "subid",
    "caller",
    "rcaller",
    "callee",
    "result",
    "beginTime",
    "ringTime",
    "answerTime",
    "releaseTime",
    "duration",
    "recording",
    "userData",
    "releasedir",
];
pub const START_FIELDS: &[&str] =
    &["devid", "appid", "taskid", "subid", "caller", "rcaller", "callee", "callTime", "smsContent", "userData"];

/// What a call's `result` means (seed §5.2, the whole table). `None` for a code the seed
/// does not list ("其他 因后端运营商而变动": depends on the carrier).
pub fn result_meaning(result: &str) -> Option<&'static str> {
    Some(match result.trim() {
        "answered" => "answered",                                         // 呼叫成功
        "1" => "unallocated number",                                      // 未分配的号码
        "2" => "no route to the specified transit network",               // 无路由到指定的转接网
        "3" => "no route to destination",                                 // 无路由到目的地
        "4" => "send special information tone",                           // 发送专用信息音
        "16" => "normal call clearing",                                   // 正常的呼叫拆线
        "17" => "user busy",                                              // 用户忙
        "18" => "no user responding",                                     // 用户未响应
        "19" => "no answer",                                              // 用户未应答
        "20" => "subscriber absent",                                      // 用户缺席
        "21" => "call rejected",                                          // 呼叫拒收
        "22" => "number changed",                                         // 号码改变
        "27" => "destination out of order",                               // 目的地不可达
        "28" => "invalid number format",                                  // 无效的号码格式
        "29" => "facility rejected",                                      // 性能拒绝
        "31" => "normal, unspecified",                                    // 正常—未指定
        "34" => "no circuit available",                                   // 无电路/通路可用
        "42" => "switching equipment congestion",                         // 交换设备拥塞
        "50" => "requested facility not subscribed",                      // 所请求的性能未预定
        "53" => "outgoing calls barred within CUG",                       // CUG 中限制去呼叫
        "55" => "incoming calls barred within CUG",                       // CUG 中限制来呼叫
        "57" => "bearer capability not authorised",                       // 承载能力无权
        "58" => "bearer capability not presently available",              // 承载能力目前不可用
        "65" => "bearer capability not implemented",                      // 承载能力未实现
        "69" => "requested facility not implemented",                     // 所请求的性能未实现
        "87" => "called user not member of CUG",                          // 被叫用户不是 CUG 的成员
        "88" => "incompatible destination",                               // 不兼容的目的地
        "90" => "non-existent CUG",                                       // 不存在的 CUG
        "91" => "invalid transit network selection",                      // 无效的转接网选择
        "95" => "invalid message, unspecified",                           // 无效的消息, 未指定
        "97" => "message type non-existent or not implemented",           // 消息类型不存在或未实现
        "99" => "parameter non-existent or not implemented",              // 参数不存在或未实现
        "102" => "recovery on timer expiry",                              // 定时器终了时恢复
        "103" => "parameter non-existent or not implemented, passed on",  // 参数不存在或未实现—传递
        "110" => "message with unrecognised parameter, discarded",        // 消息带有未被识别的参数—舍弃
        "111" => "protocol error, unspecified",                           // 协议错误, 未指定
        "127" => "interworking, unspecified",                             // 互通, 未指定
        "202" => "user busy: MSRN not obtained, platform hung up",        // 用户忙, MSRN 获取失败, 平台挂机
        "203" => "user deactivated, platform hung up",                    // 用户去活, 平台挂机
        "204" => "user powered off at the platform, platform hung up",    // 用户在平台侧关机，平台挂机
        "205" => "user not subscribed, platform hung up",                 // 用户未开户，平台挂机
        "206" => "the small number may not call, platform hung up",       // 小号不允许呼叫，平台挂机
        "207" => "main number called its small number, platform hung up", // 主号拨打小号，平台挂机
        "209" => "caller reached the small number with the original callee, platform hung up", // 主叫打小号带原始被叫，平台挂机
        _ => return None,
    })
}

/// `userData` as text when it is base64 of UTF-8; `None` otherwise (kept raw beside).
pub fn user_data_text(raw: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(raw.trim()).ok()?;
    String::from_utf8(bytes).ok().filter(|s| !s.is_empty())
}

/// The account a callback names must be this one ("devid/appid must match").
pub fn check_account(f: &Fields, devid: &str, appid: &str) -> Result<(), String> {
    if f.get("devid") != Some(devid) || f.get("appid") != Some(appid) {
        return Err(format!(
            "devid/appid {:?}/{:?} are not this account's",
            f.get("devid").unwrap_or(""),
            f.get("appid").unwrap_or("")
        ));
    }
    Ok(())
}

/// A whole number field (epoch seconds, a duration), kept as text when it is not one.
fn num(f: &Fields, key: &str) -> Value {
    match f.get(key) {
        None | Some("") => Value::Null,
        Some(v) => v.trim().parse::<i64>().map_or_else(|_| json!(v), |n| json!(n)),
    }
}

fn user_data(f: &Fields, data: &mut Map<String, Value>) {
    let raw = f.get("userData").unwrap_or("");
    data.insert("user_data".into(), json!(raw));
    data.insert("user_data_text".into(), user_data_text(raw).map_or(Value::Null, Value::String));
}

/// A CDR's event data, or why it is not one.
pub fn cdr(f: &Fields) -> Result<Map<String, Value>, String> {
    for key in ["taskid", "subid", "caller", "callee", "result", "beginTime"] {
        f.need(key)?;
    }
    let result = f.get("result").unwrap_or("");
    let mut d = Map::new();
    for key in ["taskid", "subid", "caller", "rcaller", "callee", "recording", "releasedir"] {
        d.insert(key.into(), f.get(key).map_or(Value::Null, |v| json!(v)));
    }
    d.insert("result".into(), json!(result));
    d.insert("answered".into(), json!(result.trim() == "answered"));
    d.insert("result_meaning".into(), result_meaning(result).map_or(json!("depends on the carrier"), |m| json!(m)));
    for (key, name) in [
        ("beginTime", "begin_time"),
        ("ringTime", "ring_time"),
        ("answerTime", "answer_time"),
        ("releaseTime", "release_time"),
        ("duration", "duration"),
    ] {
        d.insert(name.into(), num(f, key));
    }
    user_data(f, &mut d);
    Ok(d)
}

/// A call start's event data, or why it is not one.
pub fn call_start(f: &Fields) -> Result<Map<String, Value>, String> {
    for key in ["taskid", "subid", "caller", "callee", "callTime"] {
        f.need(key)?;
    }
    let mut d = Map::new();
    for key in ["taskid", "subid", "caller", "rcaller", "callee"] {
        d.insert(key.into(), f.get(key).map_or(Value::Null, |v| json!(v)));
    }
    d.insert("call_time".into(), num(f, "callTime"));
    d.insert("sms_content".into(), f.get("smsContent").map_or(Value::Null, |v| json!(v)));
    user_data(f, &mut d);
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::callbacks::decode;

    const CDR: &str = "devid=10000000&appid=app1&taskid=T1&subid=S1&caller=13800000001&rcaller=17000000001\
                       &callee=13900000002&result=17&beginTime=1700000000&duration=0&userData=b3JkZXI9Nw%3D%3D&region=gd";

    #[test]
    fn a_form_cdr_and_the_same_in_json_give_the_same_data() {
        let form = decode(CDR, Some("application/x-www-form-urlencoded"), b"").expect("form");
        let json_body = serde_json::to_vec(&form.values).expect("json");
        let json = decode("", Some("application/json"), &json_body).expect("json");
        assert_eq!(cdr(&form).expect("cdr"), cdr(&json).expect("cdr"));
        let d = cdr(&form).expect("cdr");
        assert_eq!((d["result_meaning"].as_str(), d["answered"].as_bool()), (Some("user busy"), Some(false)));
        assert_eq!((d["begin_time"].as_i64(), d["user_data_text"].as_str()), (Some(1_700_000_000), Some("order=7")));
        assert_eq!(form.extra(CDR_FIELDS).get("region").and_then(Value::as_str), Some("gd"), "extras kept");
    }

    #[test]
    fn every_result_of_the_seeds_table_has_a_meaning() {
        let codes = [
            "answered", "1", "2", "3", "4", "16", "17", "18", "19", "20", "21", "22", "27", "28", "29", "31", "34",
            "42", "50", "53", "55", "57", "58", "65", "69", "87", "88", "90", "91", "95", "97", "99", "102", "103",
            "110", "111", "127", "202", "203", "204", "205", "206", "207", "209",
        ];
        assert!(codes.iter().all(|c| result_meaning(c).is_some()));
        assert_eq!(result_meaning("208"), None, "not in the seed: the carrier's");
    }

    #[test]
    fn user_data_is_decoded_only_when_it_is_base64_of_text() {
        assert_eq!(user_data_text("5L2g5aW9").as_deref(), Some("你好"));
        assert_eq!(user_data_text("order=7"), None);
        assert_eq!(user_data_text("//8="), None, "bytes, not UTF-8");
    }

    #[test]
    fn a_callback_of_another_account_or_without_its_key_fields_is_refused() {
        let f = decode(CDR, None, b"").expect("fields");
        assert!(check_account(&f, "10000000", "app1").is_ok());
        assert!(check_account(&f, "10000000", "app2").is_err());
        assert!(cdr(&decode("taskid=T", None, b"").expect("fields")).is_err());
        assert!(call_start(&decode("taskid=T&subid=S&caller=1&callee=2&callTime=9", None, b"").expect("f")).is_ok());
    }
}
