//! WaveFax constants from the digest (`shared/specs/wavefax-http.md`): the server's error
//! codes with their messages, and the `YYYYMMDDTHHNNSS` time format.

pub const INVALID_TOKEN: i64 = 251_658_242;
pub const EXPIRED_TOKEN: i64 = 251_658_244;
pub const PERMISSION_DENIED: i64 = 251_658_248;
pub const DATABASE_ERROR: i64 = 251_658_249;
pub const INTERNAL_ERROR: i64 = 251_658_256;
pub const BAD_FAX_ID: i64 = 251_658_308;
pub const BAD_NUMBER: i64 = 251_658_336;
pub const BAD_FILE_ID: i64 = 251_658_345;
pub const NO_USER: i64 = 251_658_512;
pub const WRONG_PASSWORD: i64 = 251_658_513;
pub const USER_DISABLED: i64 = 251_658_515;
pub const DOMAIN_LOGIN_FAILED: i64 = 251_658_516;
pub const BAD_USER_INFO: i64 = 251_658_753;
pub const BAD_USER_ID: i64 = 251_658_755;
pub const NO_SUCH_FILE: i64 = 251_658_771;
pub const CANNOT_FETCH_FILE: i64 = 251_658_772;

/// The digest's message for a code ("Error codes").
pub fn message(code: i64) -> &'static str {
    match code {
        0 => "ok",
        INVALID_TOKEN => "invalid sessionToken",
        EXPIRED_TOKEN => "sessionToken expired",
        PERMISSION_DENIED => "permission denied",
        DATABASE_ERROR => "database error",
        INTERNAL_ERROR => "internal server error",
        BAD_FAX_ID => "invalid fax id",
        BAD_NUMBER => "bad fax number format",
        BAD_FILE_ID => "invalid file id",
        NO_USER => "no such user",
        WRONG_PASSWORD => "wrong password",
        USER_DISABLED => "user disabled",
        DOMAIN_LOGIN_FAILED => "domain login failed",
        BAD_USER_INFO => "bad user info",
        BAD_USER_ID => "invalid user id",
        NO_SUCH_FILE => "no such file id",
        CANNOT_FETCH_FILE => "cannot fetch file",
        _ => "unknown error",
    }
}

/// `YYYYMMDDTHHNNSS` of a Unix time, in UTC (the simulated server's local zone).
pub fn format_time(unix_secs: i64) -> String {
    let (days, secs) = (unix_secs.div_euclid(86_400), unix_secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}", secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_formatted_like_the_seed_example() {
        assert_eq!(format_time(0), "19700101T000000");
        // 2014-12-21 11:11:11 UTC, the seed's `20141221T111111`.
        assert_eq!(format_time(1_419_160_271), "20141221T111111");
        assert_eq!(format_time(951_782_400), "20000229T000000");
        assert_eq!(format_time(4_102_444_799), "20991231T235959");
        assert_eq!(message(BAD_NUMBER), "bad fax number format");
    }
}
