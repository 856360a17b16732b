//! Time as labels write it: RFC 3339 in UTC to the second, and calendar months.
//!
//! Label lifetimes are set in months by scheme policies, so adding months must follow
//! the calendar (a label issued on 31 January for one month expires on 28 or 29
//! February), not a fixed number of days.

use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, UtcOffset};

/// `t` in UTC, whole seconds: how issue stamps a label.
pub fn to_label_time(t: OffsetDateTime) -> OffsetDateTime {
    let utc = t.to_offset(UtcOffset::UTC);
    utc.replace_nanosecond(0).unwrap_or(utc)
}

/// RFC 3339 text for messages; the Unix time when RFC 3339 cannot express it.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| format!("@{}", t.unix_timestamp()))
}

/// `t` plus `months` calendar months, the day clamped to the end of a shorter month.
/// None when the result is past what `time` represents.
pub fn add_months(t: OffsetDateTime, months: u32) -> Option<OffsetDateTime> {
    let month_index = i64::from(t.month() as u8 - 1) + i64::from(months);
    let year = i32::try_from(i64::from(t.year()) + month_index.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(month_index.rem_euclid(12) + 1).ok()?).ok()?;
    let day = t.day().min(month.length(year));
    let date = Date::from_calendar_date(year, month, day).ok()?;
    Some(t.replace_date(date))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn months_follow_the_calendar() {
        assert_eq!(
            add_months(datetime!(2026-01-31 12:00 UTC), 1),
            Some(datetime!(2026-02-28 12:00 UTC))
        );
        assert_eq!(
            add_months(datetime!(2027-11-30 00:00 UTC), 3),
            Some(datetime!(2028-02-29 00:00 UTC))
        );
        assert_eq!(
            add_months(datetime!(2026-06-15 08:30:05 UTC), 12),
            Some(datetime!(2027-06-15 08:30:05 UTC))
        );
    }

    #[test]
    fn label_time_is_utc_whole_seconds() {
        let t = datetime!(2026-03-01 01:02:03.456 +02:00);
        assert_eq!(to_label_time(t), datetime!(2026-02-28 23:02:03 UTC));
        assert_eq!(rfc3339(to_label_time(t)), "2026-02-28T23:02:03Z");
    }
}
