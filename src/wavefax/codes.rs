//! The WaveFax server's code tables (spec "Outbound fax" and "Error codes"), pure: an
//! outbound fax's state and failure reason, and the server's error codes with meanings.

use serde::Serialize;

/// The state of an outbound fax (`getoutfax` `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutState {
    WaitingConversion,
    WaitingApproval,
    Converting,
    WaitingToSend,
    Paused,
    Scheduled,
    Dialling,
    Sending,
    Failed,
    Succeeded,
}

/// Every state by its code, with the snake-case name events use.
const STATES: [(OutState, &str); 10] = [
    (OutState::WaitingConversion, "waiting_conversion"),
    (OutState::WaitingApproval, "waiting_approval"),
    (OutState::Converting, "converting"),
    (OutState::WaitingToSend, "waiting_to_send"),
    (OutState::Paused, "paused"),
    (OutState::Scheduled, "scheduled"),
    (OutState::Dialling, "dialling"),
    (OutState::Sending, "sending"),
    (OutState::Failed, "failed"),
    (OutState::Succeeded, "succeeded"),
];

impl OutState {
    pub fn from_code(code: u64) -> Option<OutState> {
        STATES.get(usize::try_from(code).ok()?).map(|(s, _)| *s)
    }

    /// 8 and 9: the server will not change it any more.
    pub fn is_final(self) -> bool {
        matches!(self, OutState::Failed | OutState::Succeeded)
    }

    /// The snake-case name used in events (`waiting_to_send`, `succeeded`, …).
    pub fn name(self) -> &'static str {
        STATES.iter().find(|(s, _)| *s == self).map_or("unknown", |(_, n)| n)
    }
}

/// The meaning of an outbound fax's `errcode`.
pub fn fax_error_name(code: u64) -> &'static str {
    const NAMES: [&str; 14] = [
        "none",
        "conversion failed",
        "approval rejected",
        "dial failed",
        "busy",
        "remote hung up",
        "dial timeout",
        "unsupported modem",
        "fax negotiation failed",
        "line noise",
        "port error",
        "cancelled by user",
        "quota reached",
        "unknown",
    ];
    usize::try_from(code).ok().and_then(|c| NAMES.get(c)).copied().unwrap_or("unknown")
}

/// Session errors after which the driver logs in again and retries once.
pub const INVALID_TOKEN: i64 = 251_658_242;
pub const EXPIRED_TOKEN: i64 = 251_658_244;

pub const NO_USER: i64 = 251_658_512;
pub const WRONG_PASSWORD: i64 = 251_658_513;
pub const BAD_FAX_ID: i64 = 251_658_308;
pub const BAD_NUMBER: i64 = 251_658_336;
pub const BAD_FILE_ID: i64 = 251_658_345;
pub const NO_SUCH_FILE: i64 = 251_658_771;
pub const CANNOT_FETCH_FILE: i64 = 251_658_772;

/// Login failures that retrying cannot mend (wrong credentials, disabled user).
pub fn is_credential_error(code: i64) -> bool {
    matches!(code, 251_658_512 | 251_658_513 | 251_658_515 | 251_658_516 | 251_658_753 | 251_658_755)
}

/// The meaning of a server error code.
pub fn server_error_name(code: i64) -> &'static str {
    match code {
        0 => "ok",
        INVALID_TOKEN => "invalid sessionToken",
        EXPIRED_TOKEN => "sessionToken expired",
        251_658_248 => "permission denied",
        251_658_249 => "database error",
        251_658_256 => "internal server error",
        251_658_308 => "invalid fax id",
        251_658_336 => "bad fax number format",
        251_658_345 => "invalid file id",
        251_658_512 => "no such user",
        251_658_513 => "wrong password",
        251_658_515 => "user disabled",
        251_658_516 => "domain login failed",
        251_658_753 => "bad user info",
        251_658_755 => "invalid user id",
        251_658_771 => "no such file id",
        251_658_772 => "cannot fetch file",
        _ => "unknown error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_states_map_their_codes_and_only_8_and_9_are_final() {
        assert_eq!(OutState::from_code(0), Some(OutState::WaitingConversion));
        assert_eq!(OutState::from_code(7).map(OutState::name), Some("sending"));
        assert_eq!(OutState::from_code(10), None);
        let finals: Vec<u64> = (0..10).filter(|c| OutState::from_code(*c).is_some_and(OutState::is_final)).collect();
        assert_eq!(finals, [8, 9]);
    }

    #[test]
    fn error_codes_have_their_meanings() {
        assert_eq!(fax_error_name(4), "busy");
        assert_eq!(fax_error_name(99), "unknown");
        assert_eq!(server_error_name(251_658_336), "bad fax number format");
        assert!(is_credential_error(251_658_513));
        assert!(!is_credential_error(EXPIRED_TOKEN));
    }
}
