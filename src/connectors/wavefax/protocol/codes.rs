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
    /// A status outside the document's 0–9 (a newer server): kept as it came, not final,
    /// so the fax stays tracked.
    Unknown,
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

/// Why an outbound fax failed (`getoutfax` `errcode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaxError {
    None,
    ConversionFailed,
    ApprovalRejected,
    DialFailed,
    Busy,
    RemoteHungUp,
    DialTimeout,
    UnsupportedModem,
    NegotiationFailed,
    LineNoise,
    PortError,
    CancelledByUser,
    QuotaReached,
    Unknown,
}

/// Every fax error by its code, with its meaning.
const FAX_ERRORS: [(FaxError, &str); 14] = [
    (FaxError::None, "none"),
    (FaxError::ConversionFailed, "conversion failed"),
    (FaxError::ApprovalRejected, "approval rejected"),
    (FaxError::DialFailed, "dial failed"),
    (FaxError::Busy, "busy"),
    (FaxError::RemoteHungUp, "remote hung up"),
    (FaxError::DialTimeout, "dial timeout"),
    (FaxError::UnsupportedModem, "unsupported modem"),
    (FaxError::NegotiationFailed, "fax negotiation failed"),
    (FaxError::LineNoise, "line noise"),
    (FaxError::PortError, "port error"),
    (FaxError::CancelledByUser, "cancelled by user"),
    (FaxError::QuotaReached, "quota reached"),
    (FaxError::Unknown, "unknown"),
];

impl FaxError {
    /// The error of `errcode`; codes the spec does not list are `Unknown`.
    pub fn from_code(code: u64) -> FaxError {
        usize::try_from(code).ok().and_then(|c| FAX_ERRORS.get(c)).map_or(FaxError::Unknown, |(e, _)| *e)
    }

    pub fn meaning(self) -> &'static str {
        FAX_ERRORS.iter().find(|(e, _)| *e == self).map_or("unknown", |(_, m)| m)
    }
}

/// Session errors after which the driver logs in again and retries once.
pub const INVALID_TOKEN: i64 = 251_658_242;
pub const EXPIRED_TOKEN: i64 = 251_658_244;

pub const NO_USER: i64 = 251_658_512;
pub const WRONG_PASSWORD: i64 = 251_658_513;
pub const BAD_FAX_ID: i64 = 251_658_308;
pub const PERMISSION_DENIED: i64 = 251_658_248;
pub const BAD_NUMBER: i64 = 251_658_336;
pub const BAD_FILE_ID: i64 = 251_658_345;
pub const NO_SUCH_FILE: i64 = 251_658_771;
pub const CANNOT_FETCH_FILE: i64 = 251_658_772;

/// Login failures that retrying cannot mend (wrong credentials, disabled user).
pub fn is_credential_error(code: i64) -> bool {
    use ServerCode::*;
    matches!(
        ServerCode::from_code(code),
        Some(NoSuchUser | WrongPassword | UserDisabled | DomainLoginFailed | BadUserInfo | InvalidUserId)
    )
}

/// The server's answer codes (spec "Error codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerCode {
    Ok,
    InvalidToken,
    ExpiredToken,
    PermissionDenied,
    DatabaseError,
    InternalError,
    InvalidFaxId,
    BadFaxNumber,
    InvalidFileId,
    NoSuchUser,
    WrongPassword,
    UserDisabled,
    DomainLoginFailed,
    BadUserInfo,
    InvalidUserId,
    NoSuchFileId,
    CannotFetchFile,
}

/// Every server code with its number and meaning.
const SERVER_CODES: [(ServerCode, i64, &str); 17] = [
    (ServerCode::Ok, 0, "ok"),
    (ServerCode::InvalidToken, INVALID_TOKEN, "invalid sessionToken"),
    (ServerCode::ExpiredToken, EXPIRED_TOKEN, "sessionToken expired"),
    (ServerCode::PermissionDenied, 251_658_248, "permission denied"),
    (ServerCode::DatabaseError, 251_658_249, "database error"),
    (ServerCode::InternalError, 251_658_256, "internal server error"),
    (ServerCode::InvalidFaxId, BAD_FAX_ID, "invalid fax id"),
    (ServerCode::BadFaxNumber, BAD_NUMBER, "bad fax number format"),
    (ServerCode::InvalidFileId, BAD_FILE_ID, "invalid file id"),
    (ServerCode::NoSuchUser, NO_USER, "no such user"),
    (ServerCode::WrongPassword, WRONG_PASSWORD, "wrong password"),
    (ServerCode::UserDisabled, 251_658_515, "user disabled"),
    (ServerCode::DomainLoginFailed, 251_658_516, "domain login failed"),
    (ServerCode::BadUserInfo, 251_658_753, "bad user info"),
    (ServerCode::InvalidUserId, 251_658_755, "invalid user id"),
    (ServerCode::NoSuchFileId, NO_SUCH_FILE, "no such file id"),
    (ServerCode::CannotFetchFile, CANNOT_FETCH_FILE, "cannot fetch file"),
];

impl ServerCode {
    /// The code's variant; `None` for a number the spec does not list.
    pub fn from_code(code: i64) -> Option<ServerCode> {
        SERVER_CODES.iter().find(|(_, n, _)| *n == code).map(|(c, _, _)| *c)
    }

    pub fn code(self) -> i64 {
        SERVER_CODES.iter().find(|(c, _, _)| *c == self).map_or(-1, |(_, n, _)| *n)
    }

    pub fn meaning(self) -> &'static str {
        SERVER_CODES.iter().find(|(c, _, _)| *c == self).map_or("unknown error", |(_, _, m)| m)
    }
}

/// The meaning of a server error code.
pub fn server_error_name(code: i64) -> &'static str {
    ServerCode::from_code(code).map_or("unknown error", ServerCode::meaning)
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
    fn every_code_of_the_spec_is_a_variant_that_round_trips() {
        for code in 0..14 {
            assert_eq!(FAX_ERRORS[code as usize].0, FaxError::from_code(code));
        }
        assert_eq!(
            (FaxError::from_code(11), FaxError::from_code(11).meaning()),
            (FaxError::CancelledByUser, "cancelled by user")
        );
        for (variant, number, _) in SERVER_CODES {
            assert_eq!(ServerCode::from_code(number), Some(variant));
            assert_eq!(variant.code(), number);
        }
        assert_eq!(ServerCode::from_code(251_658_772), Some(ServerCode::CannotFetchFile));
        assert_eq!(ServerCode::from_code(42), None);
        assert_eq!(serde_json::to_value(FaxError::RemoteHungUp).ok(), Some(serde_json::json!("remote_hung_up")));
    }

    #[test]
    fn error_codes_have_their_meanings() {
        assert_eq!(FaxError::from_code(4).meaning(), "busy");
        assert_eq!(FaxError::from_code(99).meaning(), "unknown");
        assert_eq!(server_error_name(251_658_336), "bad fax number format");
        assert!(is_credential_error(251_658_513));
        assert!(!is_credential_error(EXPIRED_TOKEN));
    }
}
