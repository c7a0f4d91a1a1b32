//! French formatting of dates, shared by every plugin that shows them. Instants in a
//! time zone are in [`crate::time`], which builds on these names.

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
}
