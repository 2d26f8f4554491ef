//! Graph API timestamps (`2017-05-19T23:27:28+0000`) to and from unix seconds.
//!
//! Meta writes ISO 8601 with a `+hhmm` offset (no colon), which general-purpose parsers often
//! refuse; the conversion is small enough to keep here rather than pull in a date crate.

/// Parses `YYYY-MM-DDTHH:MM:SS` followed by `Z`, `+hhmm`, `+hh:mm` (or `-`) into unix seconds.
pub fn parse_graph_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || (b[10] != b'T' && b[10] != b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    // Fractional seconds are dropped.
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = &frac[digits..];
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = rest[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let hh: i64 = digits[0..2].parse().ok()?;
            let mm: i64 = digits[2..4].parse().ok()?;
            sign * (hh * 3600 + mm * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + min * 60 + sec - offset)
}

/// Formats unix seconds the way the Graph API does: `2017-05-19T23:27:28+0000`.
pub fn format_graph_timestamp(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+0000",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_meta_format() {
        assert_eq!(parse_graph_timestamp("1970-01-01T00:00:00+0000"), Some(0));
        assert_eq!(
            parse_graph_timestamp("2017-05-19T23:27:28+0000"),
            Some(1_495_236_448)
        );
        assert_eq!(
            parse_graph_timestamp("2017-05-20T01:27:28+02:00"),
            Some(1_495_236_448)
        );
        assert_eq!(
            parse_graph_timestamp("2017-05-19T23:27:28.123Z"),
            Some(1_495_236_448)
        );
        assert_eq!(parse_graph_timestamp("yesterday"), None);
        assert_eq!(parse_graph_timestamp("2017-13-19T23:27:28+0000"), None);
    }

    #[test]
    fn round_trips() {
        for t in [0, 1_495_236_448, 1_709_251_199, 4_102_444_800, -86_401] {
            assert_eq!(parse_graph_timestamp(&format_graph_timestamp(t)), Some(t));
        }
        assert_eq!(
            format_graph_timestamp(1_495_236_448),
            "2017-05-19T23:27:28+0000"
        );
    }
}
