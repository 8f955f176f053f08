//! UTC calendar dates from Unix seconds, without a date library: block
//! times for people and for JSON.
//!
//! Block timestamps are unsigned 32-bit seconds since 1970, so every value
//! falls between 1970 and 2106 and the proleptic Gregorian calendar is
//! exact for all of them.

/// Year, month (1 to 12) and day (1 to 31) of the day `days` after
/// 1970-01-01.
///
/// Howard Hinnant's `civil_from_days`
/// (<https://howardhinnant.github.io/date_algorithms.html#civil_from_days>),
/// specialised to non-negative day counts.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01, so that leap days end each year.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097; // day of era, 0 to 146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0 to 399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // 0 to 365, from March 1st
    let mp = (5 * doy + 2) / 153; // 0 to 11, from March
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

fn parts(secs: u32) -> (u64, u64, u64, u64, u64, u64) {
    let secs = u64::from(secs);
    let (y, mo, d) = civil_from_days(secs / 86_400);
    let s = secs % 86_400;
    (y, mo, d, s / 3600, s / 60 % 60, s % 60)
}

/// `2011-02-02 23:26:42 UTC`, for people.
pub fn human(secs: u32) -> String {
    let (y, mo, d, h, mi, s) = parts(secs);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} UTC")
}

/// `2 Feb 2011, 23:26 UTC`: a date and time as people read them, to the
/// minute (block times are accurate to hours, not seconds).
pub fn plain(secs: u32) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, mo, d, h, mi, _) = parts(secs);
    let month = MONTHS[(mo as usize + 11) % 12];
    format!("{d} {month} {y}, {h:02}:{mi:02} UTC")
}

/// `2011-02-02T23:26:42Z` (RFC 3339), for machines.
pub fn rfc3339(secs: u32) -> String {
    let (y, mo, d, h, mi, s) = parts(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(human(0), "1970-01-01 00:00:00 UTC");
        // Bitcoin's genesis block.
        assert_eq!(human(1_231_006_505), "2009-01-03 18:15:05 UTC");
        assert_eq!(rfc3339(1_231_006_505), "2009-01-03T18:15:05Z");
        assert_eq!(plain(1_231_006_505), "3 Jan 2009, 18:15 UTC");
        assert_eq!(plain(0), "1 Jan 1970, 00:00 UTC");
        assert_eq!(plain(u32::MAX), "7 Feb 2106, 06:28 UTC");
        assert_eq!(plain(1_733_097_600 + 86_400 * 30), "1 Jan 2025, 00:00 UTC");
        // Leap days, including the 400-year rule in 2000.
        assert_eq!(human(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(human(951_868_799), "2000-02-29 23:59:59 UTC");
        assert_eq!(human(951_868_800), "2000-03-01 00:00:00 UTC");
        assert_eq!(human(1_709_164_800), "2024-02-29 00:00:00 UTC");
        assert_eq!(human(1_704_067_199), "2023-12-31 23:59:59 UTC");
        // 2100 is not a leap year.
        assert_eq!(human(4_107_456_000), "2100-02-28 00:00:00 UTC");
        assert_eq!(human(4_107_542_400), "2100-03-01 00:00:00 UTC");
        // The last second a block timestamp can name.
        assert_eq!(human(u32::MAX), "2106-02-07 06:28:15 UTC");
    }

    #[test]
    fn every_day_follows_the_one_before() {
        // Walks day by day from 1970 to 2106 and checks the calendar rolls
        // over exactly as it should.
        let mut prev = civil_from_days(0);
        for days in 1..=(u64::from(u32::MAX) / 86_400) {
            let (y, m, d) = civil_from_days(days);
            let (py, pm, pd) = prev;
            let leap = py % 4 == 0 && (py % 100 != 0 || py % 400 == 0);
            let month_len = match pm {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            let expected = if pd < month_len {
                (py, pm, pd + 1)
            } else if pm < 12 {
                (py, pm + 1, 1)
            } else {
                (py + 1, 1, 1)
            };
            assert_eq!((y, m, d), expected, "day {days}");
            prev = (y, m, d);
        }
    }
}
