//! sendSms and getSms status codes (seed §2.3.1: "第一行为状态值，其含义如下").

/// A statCode and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatCode(pub i64);

impl StatCode {
    pub const OK: StatCode = StatCode(0);

    pub fn is_ok(self) -> bool {
        self.0 == 0
    }

    /// The seed's meaning, in English (its own words in the comments).
    pub fn meaning(self) -> &'static str {
        match self.0 {
            0 => "submitted",            // 成功提交
            1 => "bad parameters",       // 输入参数错误，如缺少参数、手机号码格式错误等
            2 => "database error",       // 数据库错误
            5 => "wrong uid/pwd",        // 用户名和密码不匹配
            8 => "account locked",       // 账号被锁定
            9 => "insufficient balance", // 余额不足
            10 => "account expired",     // 账号已过期
            11 => "forbidden words",     // 短信内容包含非法字词
            _ => "unknown status code",
        }
    }

    /// A machine name for command errors and events.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "ok",
            1 => "bad_parameters",
            2 => "database_error",
            5 => "bad_credentials",
            8 => "account_locked",
            9 => "insufficient_balance",
            10 => "account_expired",
            11 => "forbidden_words",
            _ => "unknown",
        }
    }

    /// The account cannot send until someone acts: `account.down`.
    pub fn account_down(self) -> bool {
        matches!(self.0, 5 | 8 | 9 | 10)
    }

    /// The service's own trouble: worth another try later (nothing was sent).
    pub fn transient(self) -> bool {
        self.0 == 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_of_the_seed_has_a_meaning_and_only_account_codes_take_the_account_down() {
        for code in [0, 1, 2, 5, 8, 9, 10, 11] {
            assert_ne!(StatCode(code).meaning(), "unknown status code", "{code}");
        }
        let down: Vec<i64> = (0..12).filter(|c| StatCode(*c).account_down()).collect();
        assert_eq!(down, vec![5, 8, 9, 10]);
        assert_eq!(StatCode(42).name(), "unknown");
    }
}
