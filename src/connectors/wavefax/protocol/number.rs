//! Fax numbers in the WaveFax server's format (spec "Fax number format"), pure.
//!
//! - Mainland China: `+86(20)87057352` (area code in brackets). Mobile numbers (`1…`)
//!   have no area code and are written `+86 13800000000` (our decision; the seed is silent).
//! - Other countries: `+852 22222222` (country code, a space, the national number).
//! - An extension is appended as `E` + digits.
//!
//! Input: E.164 (`+862087057352`, also `00` prefixed), or a national number with the
//! trunk `0` (`02087057352`) or a local number (`87057352`) completed with the configured
//! default country and area. An extension may follow as `x123`, `ext123`, `,123` or `E123`.
//! Spaces, dashes, dots and brackets in the input are ignored.

/// Why a number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fax number {number:?}: {reason}")]
pub struct NumberError {
    pub number: String,
    pub reason: &'static str,
}

/// Where local numbers are completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialing {
    /// Country calling code without `+`, e.g. `86`.
    pub country: String,
    /// Area code without the trunk `0`, e.g. `20`; may be empty.
    pub area: String,
}

/// ITU country calling codes of one and two digits; all others have three.
const SHORT_CODES: [&str; 44] = [
    "1", "7", "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48",
    "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81", "82", "84",
    "86", "90", "91", "92", "93", "94",
];
const MORE_SHORT_CODES: [&str; 2] = ["95", "98"];

fn country_len(digits: &str) -> usize {
    for len in 1..=2 {
        if digits.len() > len && SHORT_CODES.iter().chain(MORE_SHORT_CODES.iter()).any(|c| *c == &digits[..len]) {
            return len;
        }
    }
    3
}

/// Length of a Chinese area code at the start of `national` (no trunk 0): 10 and 20–29
/// have two digits, the others three.
fn china_area_len(national: &str) -> usize {
    if national.starts_with("10") || national.starts_with('2') { 2 } else { 3 }
}

/// Splits off an extension: `x123`, `ext123`, `,123`, `E123`.
fn split_extension(s: &str) -> (&str, Option<&str>) {
    let lower = s.to_ascii_lowercase();
    for sep in ["ext", "x", ",", "e"] {
        if let Some(i) = lower.rfind(sep) {
            let ext = &s[i + sep.len()..];
            if !ext.is_empty() && ext.bytes().all(|b| b.is_ascii_digit()) {
                return (&s[..i], Some(ext));
            }
        }
    }
    (s, None)
}

/// Formats `input` for the server.
pub fn format(input: &str, dialing: &Dialing) -> Result<String, NumberError> {
    let err = |reason| NumberError { number: input.to_string(), reason };
    let (main, ext) = split_extension(input.trim());
    let plus = main.trim_start().starts_with('+');
    let digits: String = main.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '+')).collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("only digits, +, spaces, dashes, brackets and an extension are allowed"));
    }
    let international = if plus {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_string()
    } else if let Some(rest) = digits.strip_prefix('0') {
        format!("{}{rest}", dialing.country)
    } else if dialing.country == "86" && digits.len() == 11 && digits.starts_with('1') {
        format!("86{digits}")
    } else {
        if dialing.area.is_empty() && dialing.country == "86" {
            return Err(err("a local number needs the default area code (wavefax.area_code)"));
        }
        format!("{}{}{digits}", dialing.country, dialing.area)
    };
    if !(7..=17).contains(&international.len()) {
        return Err(err("an international number has 7 to 17 digits"));
    }
    let cc = country_len(&international);
    let (country, national) = international.split_at(cc);
    let mut out = if country == "86" {
        if national.starts_with('1') && national.len() == 11 {
            format!("+86 {national}")
        } else {
            let (area, local) = national.split_at(china_area_len(national));
            format!("+86({area}){local}")
        }
    } else {
        format!("+{country} {national}")
    };
    if let Some(ext) = ext {
        out.push('E');
        out.push_str(ext);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guangzhou() -> Dialing {
        Dialing { country: "86".into(), area: "20".into() }
    }

    #[test]
    fn numbers_get_the_servers_format_from_every_input_form() {
        for (input, expected) in [
            ("+862087057352", "+86(20)87057352"),
            ("+86 (20) 8705-7352", "+86(20)87057352"),
            ("00862087057352", "+86(20)87057352"),
            ("02087057352", "+86(20)87057352"),
            ("87057352", "+86(20)87057352"),
            ("+8675583765566", "+86(755)83765566"),
            ("+861012345678", "+86(10)12345678"),
            ("13800000000", "+86 13800000000"),
            ("+85222222222", "+852 22222222"),
            ("+14155550100", "+1 4155550100"),
            ("+442071234567", "+44 2071234567"),
            ("+862087057352x123", "+86(20)87057352E123"),
            ("87057352,9", "+86(20)87057352E9"),
            ("+85222222222E42", "+852 22222222E42"),
        ] {
            assert_eq!(format(input, &guangzhou()).as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn bad_numbers_are_refused_with_the_reason() {
        assert!(format("12ab", &guangzhou()).is_err());
        assert!(format("", &guangzhou()).is_err());
        assert!(format("+1234", &guangzhou()).is_err());
        let no_area = Dialing { country: "86".into(), area: String::new() };
        assert!(format("87057352", &no_area).expect_err("local").reason.contains("area"));
    }
}
