//! The privacy-number platform's two tables, copied from the seed (`002_…`): the error
//! codes of its replies (section 1, lines 39-62) and the CDR `result` values (section 5.2,
//! lines 261-307), with the sim's reading of which error codes are worth a retry.

pub const OK: u32 = 0;
pub const SERVICE_ERROR: u32 = 1000;
pub const URL_MISMATCH: u32 = 1001;
pub const BAD_PARAMS: u32 = 1002;
pub const DUPLICATE: u32 = 1004;
pub const ACCOUNT_DISABLED: u32 = 1102;
pub const NO_BALANCE: u32 = 1110;
pub const NO_RESOURCE: u32 = 1300;
pub const RESOURCE_CONFLICT: u32 = 1302;

/// Seed section 1 ("自定义错误码定义", lines 39-62): code and description, in its order.
pub const ERRORS: &[(u32, &str)] = &[
    (0, "成功"),
    (1000, "访问服务异常"),
    (1001, "URL 映射不匹配"),
    (1002, "访问参数错误"),
    (1003, "验证码不正确"),
    (1004, "重复提交"),
    (1100, "账号不存在"),
    (1101, "账号认证失败"),
    (1102, "账号已停用"),
    (1103, "账号权限未开通"),
    (1104, "ACL 限制"),
    (1105, "Rate 限制、流控"),
    (1110, "账号余额不足"),
    (1200, "任务不存在"),
    (1201, "任务冲突或重复"),
    (1300, "资源不存在"),
    (1301, "资源不足"),
    (1302, "资源配置冲突"),
    (1400, "任务发起失败"),
    (1401, "任务发起超时"),
    (1500, "系统临时故障"),
    (1501, "系统维护"),
    (1502, "系统操作失败"),
];

/// The seed's description of an error code ("未知错误" for one it does not list).
pub fn describe(code: u32) -> &'static str {
    ERRORS.iter().find(|(c, _)| *c == code).map_or("未知错误", |(_, d)| d)
}

/// Whether the same request (same `reqid`) is worth sending again later. The seed says
/// nothing about retries; by their meanings only "Rate 限制、流控" (1105), "系统临时故障"
/// (1500) and "系统维护" (1501) are passing conditions.
pub fn retryable(code: u32) -> bool {
    matches!(code, 1105 | 1500 | 1501)
}

/// Seed section 5.2 ("呼叫结果 (result) 取值", lines 261-306): every value and its meaning,
/// in the seed's order. Line 307 "其他 因后端运营商而变动" (others vary with the carrier):
/// values outside the table can arrive too.
pub const RESULTS: &[(&str, &str)] = &[
    ("answered", "呼叫成功"),
    ("1", "未分配的号码 (被叫手机号码为空号)"),
    ("2", "无路由到指定的转接网"),
    ("3", "无路由到目的地"),
    ("4", "发送专用信息音"),
    ("16", "正常的呼叫拆线"),
    ("17", "用户忙"),
    ("18", "用户未响应"),
    ("19", "用户未应答"),
    ("20", "用户缺席"),
    ("21", "呼叫拒收"),
    ("22", "号码改变"),
    ("27", "目的地不可达"),
    ("28", "无效的号码格式 (地址不全)"),
    ("29", "性能拒绝"),
    ("31", "正常—未指定"),
    ("34", "无电路/通路可用"),
    ("42", "交换设备拥塞"),
    ("50", "所请求的性能未预定"),
    ("53", "CUG 中限制去呼叫"),
    ("55", "CUG 中限制来呼叫"),
    ("57", "承载能力无权 (被叫手机号码未开通呼叫权限)"),
    ("58", "承载能力目前不可用"),
    ("65", "承载能力未实现"),
    ("69", "所请求的性能未实现"),
    ("87", "被叫用户不是 CUG 的成员"),
    ("88", "不兼容的目的地"),
    ("90", "不存在的 CUG"),
    ("91", "无效的转接网选择"),
    ("95", "无效的消息, 未指定"),
    ("97", "消息类型不存在或未实现"),
    ("99", "参数不存在或未实现"),
    ("102", "定时器终了时恢复"),
    ("103", "参数不存在或未实现—传递"),
    ("110", "消息带有未被识别的参数—舍弃"),
    ("111", "协议错误, 未指定"),
    ("127", "互通, 未指定"),
    ("202", "用户忙, MSRN 获取失败, 平台挂机"),
    ("203", "用户去活, 平台挂机"),
    ("204", "用户在平台侧关机，平台挂机"),
    ("205", "用户未开户，平台挂机"),
    ("206", "小号不允许呼叫，平台挂机"),
    ("207", "主号拨打小号，平台挂机"),
    ("209", "主叫打小号带原始被叫，平台挂机"),
];

/// The seed's meaning of a CDR result, `None` for a value outside the table.
pub fn result_meaning(result: &str) -> Option<&'static str> {
    RESULTS.iter().find(|(r, _)| *r == result).map(|(_, m)| *m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_table_has_the_seeds_23_codes_and_three_are_retryable() {
        assert_eq!(ERRORS.len(), 23);
        assert_eq!(describe(1004), "重复提交");
        assert_eq!(describe(4242), "未知错误");
        let retry: Vec<u32> = ERRORS.iter().map(|(c, _)| *c).filter(|c| retryable(*c)).collect();
        assert_eq!(retry, [1105, 1500, 1501]);
    }

    #[test]
    fn the_result_table_has_the_seeds_44_values_from_answered_to_209() {
        assert_eq!(RESULTS.len(), 44);
        assert_eq!(result_meaning("17"), Some("用户忙"));
        assert_eq!(result_meaning("209"), Some("主叫打小号带原始被叫，平台挂机"));
        assert_eq!(result_meaning("208"), None, "the seed skips 208");
    }
}
