//! Times of the call-center simulator. getCdrList's `answerTime` (and the sim's
//! `startTime`/`endTime` filters, and the `billing` notification's times) are
//! `yyyy-MM-dd HH:mm:ss`, the only shape the seed shows for a CDR time:
//! `"answerTime": "2018-09-10 14:39:20",` (getCdrList reply example). The seed's line for
//! the request's `startTime` is unreadable ("startTime TFARIE] XA I E] # AN S ER A 4R IE
//! D") and its example leaves it empty (`"startTime":"",`), so the sim reads the filters in
//! exactly the shape of the times it returns (no date-only, ISO `T` or epoch forms). The
//! zone is not stated; the vendor is a Chinese platform, so the sim writes and reads these
//! in Beijing time (UTC+8, no daylight saving).
//! getRecordsList's `startTime` is epoch seconds, as its example: `"startTime": "1505992923",`.

/// Beijing time's offset from UTC.
pub const ZONE_SECS: i64 = 8 * 3600;

/// Days since 1970-01-01 → (year, month, day) (H. Hinnant's algorithm).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `yyyy-MM-dd HH:mm:ss` in Beijing time of a Unix time in seconds.
pub fn datetime(unix_secs: i64) -> String {
    let local = unix_secs + ZONE_SECS;
    let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let (y, m, d) = civil(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// `yyyyMMdd` in Beijing time (the day folder of recording file names).
pub fn day(unix_secs: i64) -> String {
    let (y, m, d) = civil((unix_secs + ZONE_SECS).div_euclid(86_400));
    format!("{y:04}{m:02}{d:02}")
}

fn num(s: &str, len: usize) -> Option<i64> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

/// Reads `yyyy-MM-dd HH:mm:ss` (Beijing time) → Unix seconds; `None` for any other shape
/// or an impossible date.
pub fn parse_datetime(text: &str) -> Option<i64> {
    let (date, time) = text.trim().split_once(' ')?;
    let mut dp = date.split('-');
    let (y, m, d) = (num(dp.next()?, 4)?, num(dp.next()?, 2)?, num(dp.next()?, 2)?);
    let mut tp = time.trim().split(':');
    let (hh, mm, ss) = (num(tp.next()?, 2)?, num(tp.next()?, 2)?, num(tp.next()?, 2)?);
    if dp.next().is_some() || tp.next().is_some() || !(1..=12).contains(&m) || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    let days = days_from_civil(y, m, d);
    if d < 1 || civil(days) != (y, m, d) {
        return None;
    }
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss - ZONE_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_times_both_ways() {
        assert_eq!(datetime(0), "1970-01-01 08:00:00");
        // 2018-09-10 14:39:20 +08:00, the seed's example answerTime.
        assert_eq!(datetime(1_536_561_560), "2018-09-10 14:39:20");
        assert_eq!(parse_datetime("2018-09-10 14:39:20"), Some(1_536_561_560));
        assert_eq!(day(1_536_561_560), "20180910");
        assert_eq!(day(1_536_508_800 - 1), "20180909"); // 23:59:59 Beijing
        for t in [951_782_400, 4_102_444_799, 1_700_000_000] {
            assert_eq!(parse_datetime(&datetime(t)), Some(t));
        }
        for bad in [
            "2018-02-30 00:00:00",
            "2018-9-10 00:00:00",
            "2018-09-10",
            "1536561560",
            "2018-09-10T14:39:20",
            "2018-09-10 24:00:00",
            "",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }
}
