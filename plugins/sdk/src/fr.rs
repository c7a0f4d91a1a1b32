//! French formatting of dates, shared by every plugin that shows them.

const WEEKDAYS: [&str; 7] = [
    "dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi",
];
const MONTHS: [&str; 12] = [
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
        format!(
            "{} {} {} {}",
            WEEKDAYS[weekday(self.year, self.month, self.day)],
            self.day,
            MONTHS[(self.month - 1) as usize],
            self.year
        )
    }

    /// "20 h 00"
    pub fn time_fr(&self) -> String {
        format!("{} h {:02}", self.hour, self.minute)
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
    }
}
