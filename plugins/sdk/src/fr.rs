//! French formatting of dates, durations and sizes, shared by every plugin that shows
//! them. Instants in a time zone are in [`crate::time`], which builds on these names.

/// Day names, Sunday first (as [`weekday_name`] counts).
pub const WEEKDAYS: [&str; 7] = [
    "dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi",
];
/// Month names, January first.
pub const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// A local date-time as typed in an `<input type="datetime-local">`: "2026-12-03T20:00".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocalDateTime {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
}

impl LocalDateTime {
    /// Parses "YYYY-MM-DDTHH:MM" (seconds, if present, are ignored). None if invalid.
    pub fn parse(text: &str) -> Option<Self> {
        let (date, time) = text.trim().split_once('T')?;
        let mut d = date.split('-');
        let year: i32 = d.next()?.parse().ok()?;
        let month: u32 = d.next()?.parse().ok()?;
        let day: u32 = d.next()?.parse().ok()?;
        let mut t = time.split(':');
        let hour: u32 = t.next()?.parse().ok()?;
        let minute: u32 = t.next()?.parse().ok()?;
        let valid = (1900..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month)
            && hour < 24
            && minute < 60;
        valid.then_some(LocalDateTime {
            year,
            month,
            day,
            hour,
            minute,
        })
    }

    /// Back to the `datetime-local` form: "2026-12-03T20:00".
    pub fn to_input(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute
        )
    }

    /// "jeudi 3 décembre 2026"
    pub fn date_fr(&self) -> String {
        long_date(
            weekday(self.year, self.month, self.day),
            self.day,
            self.month,
            self.year,
        )
    }

    /// "20 h 00"
    pub fn time_fr(&self) -> String {
        format!("{} h {:02}", self.hour, self.minute)
    }
}

/// "jeudi", from the day of the week counted from Sunday (0) to Saturday (6).
pub fn weekday_name(from_sunday: usize) -> &'static str {
    WEEKDAYS[from_sunday % 7]
}

/// "décembre", from the month number (1 to 12); "" for anything else.
pub fn month_name(month: u32) -> &'static str {
    match month {
        1..=12 => MONTHS[(month - 1) as usize],
        _ => "",
    }
}

/// "jeudi 3 décembre 2026", "mardi 1er décembre 2026": the weekday counted from Sunday
/// (0), then the day of the month, the month (1 to 12) and the year.
pub fn long_date(weekday_from_sunday: usize, day: u32, month: u32, year: i32) -> String {
    let weekday = weekday_name(weekday_from_sunday);
    let month = month_name(month);
    if day == 1 {
        format!("{weekday} 1er {month} {year}")
    } else {
        format!("{weekday} {day} {month} {year}")
    }
}

/// A duration in minutes the French way: "45 min", "2 h", "1 h 30".
pub fn duration(minutes: i64) -> String {
    let (hours, rest) = (minutes / 60, minutes % 60);
    match (hours, rest) {
        (0, _) => format!("{minutes} min"),
        (_, 0) => format!("{hours} h"),
        _ => format!("{hours} h {rest:02}"),
    }
}

/// Minutes as decimal French hours: 90 → "1,5", 60 → "1", 50 → "0,83", -30 → "-0,5".
pub fn hours(minutes: i64) -> String {
    let sign = if minutes < 0 { "-" } else { "" };
    let abs = minutes.unsigned_abs();
    // Hundredths of an hour, rounded.
    let hundredths = (abs * 100 + 30) / 60;
    let (whole, fraction) = (hundredths / 100, hundredths % 100);
    if fraction == 0 {
        format!("{sign}{whole}")
    } else if fraction % 10 == 0 {
        format!("{sign}{whole},{}", fraction / 10)
    } else {
        format!("{sign}{whole},{fraction:02}")
    }
}

/// A size in bytes in French units (base 1024): « 0 octet », « 12 octets », « 1 Ko »,
/// « 1,5 Ko », « 3 Mo », « 1,2 Go »; one decimal at most, none when it is zero, and the
/// next unit once the rounded figure reaches 1024 (« 1 Mo », never « 1024 Ko »).
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["Ko", "Mo", "Go", "To"];
    if bytes < 1024 {
        return if bytes <= 1 {
            format!("{bytes} octet")
        } else {
            format!("{bytes} octets")
        };
    }
    let bytes = u128::from(bytes);
    let tenths_of = |divisor: u128| (bytes * 10 + divisor / 2) / divisor;
    let (mut unit, mut divisor) = (0, 1024_u128);
    let mut tenths = tenths_of(divisor);
    while tenths >= 10_240 && unit + 1 < UNITS.len() {
        unit += 1;
        divisor *= 1024;
        tenths = tenths_of(divisor);
    }
    let (whole, decimal) = (tenths / 10, tenths % 10);
    if decimal == 0 {
        format!("{whole} {}", UNITS[unit])
    } else {
        format!("{whole},{decimal} {}", UNITS[unit])
    }
}

/// "2026-12-03" → "03/12/2026"; as is when not a date.
pub fn date_short(date: &str) -> String {
    let b = date.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        format!("{}/{}/{}", &date[8..10], &date[5..7], &date[0..4])
    } else {
        date.to_string()
    }
}

/// Why a typed duration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationError {
    /// Empty or not a duration.
    Unreadable,
    /// Zero or negative.
    NotPositive,
    /// More than the maximum asked.
    TooLong,
}

/// A duration as people type it, in minutes: "1:30", "1h30", "1 h 30", "1h", "2 h",
/// "45 min", "90 min", or decimal hours "1,5", "1.5", "0,25" (a bare number is hours,
/// rounded to the nearest minute). Refused when empty or unreadable, zero or negative,
/// or over `max_minutes`.
pub fn parse_duration(text: &str, max_minutes: i64) -> Result<i64, DurationError> {
    let cleaned: String = text
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
        .collect();
    if cleaned.is_empty() {
        return Err(DurationError::Unreadable);
    }
    let (negative, body) = match cleaned.strip_prefix(['-', '−']) {
        Some(rest) => (true, rest.to_string()),
        None => (false, cleaned.clone()),
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit());
    let minutes: i64 = if let Some(m) = body
        .strip_suffix("minutes")
        .or_else(|| body.strip_suffix("min"))
        .or_else(|| body.strip_suffix("mn"))
    {
        if !digits(m) {
            return Err(DurationError::Unreadable);
        }
        m.parse().map_err(|_| DurationError::Unreadable)?
    } else if let Some((h, m)) = body.split_once([':', 'h']) {
        if !digits(h) {
            return Err(DurationError::Unreadable);
        }
        let m = m.strip_suffix("min").unwrap_or(m);
        let m: i64 = if m.is_empty() {
            0
        } else if digits(m) && m.len() <= 2 {
            m.parse().map_err(|_| DurationError::Unreadable)?
        } else {
            return Err(DurationError::Unreadable);
        };
        if m >= 60 {
            return Err(DurationError::Unreadable);
        }
        h.parse::<i64>().map_err(|_| DurationError::Unreadable)? * 60 + m
    } else {
        // Decimal hours, at most two decimals.
        let (whole, fraction) = body.split_once([',', '.']).unwrap_or((body.as_str(), ""));
        let ok = (whole.is_empty() || digits(whole))
            && (fraction.is_empty() || (digits(fraction) && fraction.len() <= 2))
            && !(whole.is_empty() && fraction.is_empty());
        if !ok {
            return Err(DurationError::Unreadable);
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| DurationError::Unreadable)?
        };
        let hundredths: i64 = match fraction.len() {
            0 => 0,
            1 => {
                fraction
                    .parse::<i64>()
                    .map_err(|_| DurationError::Unreadable)?
                    * 10
            }
            _ => fraction.parse().map_err(|_| DurationError::Unreadable)?,
        };
        ((whole * 100 + hundredths) * 60 + 50) / 100
    };
    if negative || minutes <= 0 {
        return Err(DurationError::NotPositive);
    }
    if minutes > max_minutes {
        return Err(DurationError::TooLong);
    }
    Ok(minutes)
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Day of week, 0 = Sunday (Sakamoto's method).
fn weekday(year: i32, month: u32, day: u32) -> usize {
    const T: [i32; 12] = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
    let y = if month < 3 { year - 1 } else { year };
    ((y + y / 4 - y / 100 + y / 400 + T[(month - 1) as usize] + day as i32).rem_euclid(7)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_french_dates() {
        let d = LocalDateTime::parse("2026-12-03T20:00").unwrap();
        assert_eq!(d.date_fr(), "jeudi 3 décembre 2026");
        assert_eq!(d.time_fr(), "20 h 00");
        assert!(LocalDateTime::parse("2026-02-30T10:00").is_none());
        assert!(LocalDateTime::parse("n'importe quoi").is_none());
        let first = LocalDateTime::parse("2026-12-01T08:05").unwrap();
        assert_eq!(first.date_fr(), "mardi 1er décembre 2026");
    }

    #[test]
    fn names_weekdays_months_and_durations() {
        assert_eq!(weekday_name(0), "dimanche");
        assert_eq!(weekday_name(6), "samedi");
        assert_eq!(month_name(2), "février");
        assert_eq!(month_name(8), "août");
        assert_eq!(month_name(12), "décembre");
        assert_eq!(month_name(13), "");
        assert_eq!(long_date(4, 3, 12, 2026), "jeudi 3 décembre 2026");
        assert_eq!(duration(45), "45 min");
        assert_eq!(duration(60), "1 h");
        assert_eq!(duration(90), "1 h 30");
        assert_eq!(duration(125), "2 h 05");
    }

    #[test]
    fn reads_durations_as_people_type_them() {
        for (typed, minutes) in [
            ("1:30", 90),
            ("1h30", 90),
            ("1 h 30", 90),
            ("1H30", 90),
            ("1h", 60),
            ("2 h", 120),
            ("45 min", 45),
            ("45min", 45),
            ("90 min", 90),
            ("1,5", 90),
            ("1.5", 90),
            ("0,25", 15),
            ("0,75", 45),
            ("6", 360),
            ("24 h", 1440),
        ] {
            assert_eq!(parse_duration(typed, 1440), Ok(minutes), "{typed}");
        }
        for typed in [
            "",
            "abc",
            "1h75",
            "1,234",
            "h",
            "1:2:3",
            "min",
            "1 h 30 min 5",
        ] {
            assert_eq!(
                parse_duration(typed, 1440),
                Err(DurationError::Unreadable),
                "{typed}"
            );
        }
        for typed in ["0", "-1", "0 min", "-1h30", "0:00"] {
            assert_eq!(
                parse_duration(typed, 1440),
                Err(DurationError::NotPositive),
                "{typed}"
            );
        }
        for typed in ["25 h", "90", "1441 min", "24:01"] {
            assert_eq!(
                parse_duration(typed, 1440),
                Err(DurationError::TooLong),
                "{typed}"
            );
        }
    }

    #[test]
    fn writes_hours_and_short_dates_the_french_way() {
        assert_eq!(hours(90), "1,5");
        assert_eq!(hours(60), "1");
        assert_eq!(hours(50), "0,83");
        assert_eq!(hours(-30), "-0,5");
        assert_eq!(hours(0), "0");
        assert_eq!(date_short("2026-12-03"), "03/12/2026");
        assert_eq!(date_short("n/a"), "n/a");
    }

    #[test]
    fn writes_sizes_in_french_units() {
        assert_eq!(size(0), "0 octet");
        assert_eq!(size(1), "1 octet");
        assert_eq!(size(12), "12 octets");
        assert_eq!(size(1023), "1023 octets");
        assert_eq!(size(1024), "1 Ko");
        assert_eq!(size(1536), "1,5 Ko");
        assert_eq!(size(3 << 20), "3 Mo");
        assert_eq!(size((5 << 20) + (1 << 19)), "5,5 Mo");
        assert_eq!(size((1 << 20) - 10), "1 Mo");
        assert_eq!(size(1 << 30), "1 Go");
        assert_eq!(size(3 << 40), "3 To");
        assert_eq!(size(u64::MAX), "16777216 To");
    }
}
