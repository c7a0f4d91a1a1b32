//! Instants, IANA time zones and French dates, with the real rules of each zone:
//! [`jiff`], with the IANA database compiled into the component (a wasm guest has no
//! system zoneinfo), re-exported here so that plugins use the SDK's copy.
//!
//! Instants are stored as Unix seconds ([`Timestamp::as_second`]). What members type is
//! a local time in a named zone ("2026-12-03T20:00" in "Europe/Paris"); [`to_instant`]
//! refuses the local times skipped when clocks go forward and takes the earlier of the
//! two instants of the hour repeated when they go back. A whole day ("2026-12-03") is a
//! floating [`Date`], in no zone.
//!
//! French formatting: [`instant_fr`] « jeudi 3 décembre 2026, 20:00 », [`date_fr`]
//! « jeudi 3 décembre 2026 », [`instant_in_other_zone_fr`] « 16:00 (America/Cayenne) ».

use std::fmt;

pub use jiff;
use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};

use crate::fr;

/// The zone used when a stored zone name is missing or unknown.
pub const DEFAULT_ZONE: &str = "Europe/Paris";

/// Why a local date, time or zone was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeError {
    /// Not "YYYY-MM-DDTHH:MM" (or "YYYY-MM-DD"), or no such calendar date.
    Malformed(String),
    /// Not a zone of the IANA database, e.g. "Europe/Pariss".
    UnknownZone(String),
    /// A local time that does not happen in that zone: skipped when the clocks went
    /// forward (2026-03-29T02:30 in Europe/Paris).
    Nonexistent { local: String, zone: String },
}

impl TimeError {
    /// The message for members, in French.
    pub fn french(&self) -> String {
        match self {
            TimeError::Malformed(text) => format!("« {text} » n’est pas une date valide."),
            TimeError::UnknownZone(zone) => {
                format!("Le fuseau horaire « {zone} » est inconnu.")
            }
            TimeError::Nonexistent { local, zone } => format!(
                "L’heure « {local} » n’existe pas dans le fuseau {zone} : elle est sautée lors du changement d’heure."
            ),
        }
    }
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeError::Malformed(text) => write!(f, "not a valid local date or time: {text:?}"),
            TimeError::UnknownZone(zone) => write!(f, "unknown time zone {zone:?}"),
            TimeError::Nonexistent { local, zone } => write!(
                f,
                "{local} does not exist in {zone} (skipped by an offset change)"
            ),
        }
    }
}

impl std::error::Error for TimeError {}

/// The zone of that IANA name (case is forgiven: "europe/paris" is Europe/Paris).
pub fn zone(name: &str) -> Result<TimeZone, TimeError> {
    let name = name.trim();
    let unknown = || TimeError::UnknownZone(name.to_string());
    if name.is_empty() || name.len() > 64 {
        return Err(unknown());
    }
    let tz = TimeZone::get(name).map_err(|_| unknown())?;
    if tz.is_unknown() || tz.iana_name().is_none() {
        return Err(unknown());
    }
    Ok(tz)
}

/// Whether `name` is a zone of the IANA database.
pub fn is_valid_zone(name: &str) -> bool {
    zone(name).is_ok()
}

/// The zone of that name, or [`DEFAULT_ZONE`] when it is not a known zone (the host
/// checks the zones it stores; this keeps a page up if one ever is not).
pub fn zone_or_default(name: &str) -> TimeZone {
    zone(name)
        .or_else(|_| zone(DEFAULT_ZONE))
        .unwrap_or(TimeZone::UTC)
}

/// The zone's canonical IANA name, e.g. "Europe/Paris".
pub fn zone_name(tz: &TimeZone) -> &str {
    tz.iana_name().unwrap_or("UTC")
}

/// Parses a local date and time as an `<input type="datetime-local">` sends it,
/// "2026-12-03T20:00" (seconds, if any, are ignored).
pub fn parse_local(text: &str) -> Result<DateTime, TimeError> {
    let text = text.trim();
    let malformed = || TimeError::Malformed(text.to_string());
    let local = fr::LocalDateTime::parse(text).ok_or_else(malformed)?;
    DateTime::new(
        i16::try_from(local.year).map_err(|_| malformed())?,
        i8::try_from(local.month).map_err(|_| malformed())?,
        i8::try_from(local.day).map_err(|_| malformed())?,
        i8::try_from(local.hour).map_err(|_| malformed())?,
        i8::try_from(local.minute).map_err(|_| malformed())?,
        0,
        0,
    )
    .map_err(|_| malformed())
}

/// Parses a date as an `<input type="date">` sends it, "2026-12-03".
pub fn parse_date(text: &str) -> Result<Date, TimeError> {
    let text = text.trim();
    let malformed = || TimeError::Malformed(text.to_string());
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shaped {
        return Err(malformed());
    }
    let year: i16 = text[0..4].parse().map_err(|_| malformed())?;
    let month: i8 = text[5..7].parse().map_err(|_| malformed())?;
    let day: i8 = text[8..10].parse().map_err(|_| malformed())?;
    if year < 1900 {
        return Err(malformed());
    }
    Date::new(year, month, day).map_err(|_| malformed())
}

/// The instant of a local date and time in `tz`. A local time skipped by a change of
/// offset (clocks going forward) is refused; one that happens twice (clocks going
/// back) is its earlier instant.
pub fn to_instant(local: DateTime, tz: &TimeZone) -> Result<Timestamp, TimeError> {
    let ambiguous = tz.to_ambiguous_timestamp(local);
    if matches!(ambiguous.offset(), AmbiguousOffset::Gap { .. }) {
        return Err(TimeError::Nonexistent {
            local: local_input(local),
            zone: zone_name(tz).to_string(),
        });
    }
    ambiguous
        .earlier()
        .map_err(|_| TimeError::Malformed(local_input(local)))
}

/// "2026-12-03T20:00" in the zone named `zone_id` → its instant (see [`to_instant`]).
pub fn local_to_instant(text: &str, zone_id: &str) -> Result<Timestamp, TimeError> {
    let tz = zone(zone_id)?;
    to_instant(parse_local(text)?, &tz)
}

/// Now (the WASI wall clock in a component).
pub fn now() -> Timestamp {
    Timestamp::now()
}

/// Now, in Unix seconds.
pub fn now_seconds() -> i64 {
    now().as_second()
}

/// The instant of Unix seconds, clamped to the range jiff supports.
pub fn from_seconds(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).unwrap_or(if seconds < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// The local date and time of an instant in `tz`.
pub fn local(at: Timestamp, tz: &TimeZone) -> DateTime {
    tz.to_datetime(at)
}

/// "2026-12-03T20:00", as `<input type="datetime-local">` shows it.
pub fn local_input(local: DateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        local.year(),
        local.month(),
        local.day(),
        local.hour(),
        local.minute()
    )
}

/// The instant as a `datetime-local` value in `tz`: "2026-12-03T20:00".
pub fn instant_input(at: Timestamp, tz: &TimeZone) -> String {
    local_input(local(at, tz))
}

/// "2026-12-03", as `<input type="date">` shows it.
pub fn date_input(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
}

/// « jeudi 3 décembre 2026 » (« mardi 1er décembre 2026 »).
pub fn date_fr(date: Date) -> String {
    fr::long_date(
        date.weekday().to_sunday_zero_offset() as usize,
        date.day() as u32,
        date.month() as u32,
        i32::from(date.year()),
    )
}

/// « 20:00 », « 08:30 ».
pub fn time_fr(local: DateTime) -> String {
    format!("{:02}:{:02}", local.hour(), local.minute())
}

/// « jeudi 3 décembre 2026, 20:00 ».
pub fn datetime_fr(local: DateTime) -> String {
    format!("{}, {}", date_fr(local.date()), time_fr(local))
}

/// The instant in `tz`, in French: « jeudi 3 décembre 2026, 20:00 ».
pub fn instant_fr(at: Timestamp, tz: &TimeZone) -> String {
    datetime_fr(local(at, tz))
}

/// The instant as seen from a second zone, next to its display in `main`, with the
/// zone's name: « 16:00 (America/Cayenne) » when it is the same date there, else
/// « mercredi 2 décembre 2026, 22:00 (America/Cayenne) ».
pub fn instant_in_other_zone_fr(at: Timestamp, main: &TimeZone, other: &TimeZone) -> String {
    let here = local(at, main);
    let there = local(at, other);
    let when = if here.date() == there.date() {
        time_fr(there)
    } else {
        datetime_fr(there)
    };
    format!("{when} ({})", zone_name(other))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz(name: &str) -> TimeZone {
        zone(name).expect(name)
    }

    #[test]
    fn converts_between_paris_cayenne_and_reunion() {
        let paris = tz("Europe/Paris");
        let cayenne = tz("America/Cayenne");
        let reunion = tz("Indian/Reunion");
        // 20:00 in Paris in December (UTC+1) is 19:00 UTC.
        let at = local_to_instant("2026-12-03T20:00", "Europe/Paris").unwrap();
        assert_eq!(at.as_second(), 1_796_324_400);
        assert_eq!(instant_fr(at, &paris), "jeudi 3 décembre 2026, 20:00");
        assert_eq!(instant_fr(at, &cayenne), "jeudi 3 décembre 2026, 16:00");
        assert_eq!(instant_fr(at, &reunion), "jeudi 3 décembre 2026, 23:00");
        assert_eq!(
            instant_in_other_zone_fr(at, &paris, &cayenne),
            "16:00 (America/Cayenne)"
        );
        assert_eq!(
            instant_in_other_zone_fr(at, &paris, &reunion),
            "23:00 (Indian/Reunion)"
        );
        // And back: 16:00 typed in Cayenne is the same instant.
        let from_cayenne = local_to_instant("2026-12-03T16:00", "America/Cayenne").unwrap();
        assert_eq!(from_cayenne, at);
        assert_eq!(instant_input(at, &reunion), "2026-12-03T23:00");
        // Across midnight the other zone shows its own date.
        let late = local_to_instant("2026-12-03T02:00", "Europe/Paris").unwrap();
        assert_eq!(
            instant_in_other_zone_fr(late, &paris, &cayenne),
            "mercredi 2 décembre 2026, 22:00 (America/Cayenne)"
        );
        // Summer time in Paris (UTC+2), none in Cayenne or Réunion.
        let summer = local_to_instant("2026-07-14T10:00", "Europe/Paris").unwrap();
        assert_eq!(summer.as_second(), 1_784_016_000);
        assert_eq!(instant_fr(summer, &cayenne), "mardi 14 juillet 2026, 05:00");
        assert_eq!(instant_fr(summer, &reunion), "mardi 14 juillet 2026, 12:00");
    }

    #[test]
    fn refuses_skipped_times_and_takes_the_earlier_repeated_one() {
        let paris = tz("Europe/Paris");
        // 2026-03-29: Paris goes from 02:00 to 03:00, so 02:30 never happens.
        let gap = local_to_instant("2026-03-29T02:30", "Europe/Paris");
        assert_eq!(
            gap,
            Err(TimeError::Nonexistent {
                local: "2026-03-29T02:30".into(),
                zone: "Europe/Paris".into()
            })
        );
        assert!(gap.unwrap_err().french().contains("n’existe pas"));
        let before = local_to_instant("2026-03-29T01:30", "Europe/Paris").unwrap();
        assert_eq!(before.as_second(), 1_774_744_200);
        assert_eq!(instant_fr(before, &paris), "dimanche 29 mars 2026, 01:30");
        // 2026-10-25: Paris goes from 03:00 back to 02:00, so 02:30 happens twice;
        // the earlier one, in summer time (UTC+2), is 00:30 UTC.
        let fold = local_to_instant("2026-10-25T02:30", "Europe/Paris").unwrap();
        assert_eq!(fold.as_second(), 1_792_888_200);
        assert_eq!(instant_fr(fold, &paris), "dimanche 25 octobre 2026, 02:30");
        let hour_later = from_seconds(fold.as_second() + 3600);
        assert_eq!(
            instant_fr(hour_later, &paris),
            "dimanche 25 octobre 2026, 02:30"
        );
    }

    #[test]
    fn checks_zones_dates_and_times() {
        assert!(is_valid_zone("Europe/Paris"));
        assert!(is_valid_zone("America/Cayenne"));
        assert!(is_valid_zone("Pacific/Noumea"));
        assert_eq!(zone_name(&tz("europe/paris")), "Europe/Paris");
        assert!(!is_valid_zone("Europe/Pariss"));
        assert!(!is_valid_zone(""));
        assert!(!is_valid_zone("../../etc/passwd"));
        assert_eq!(
            zone("Mars/Olympus").unwrap_err(),
            TimeError::UnknownZone("Mars/Olympus".into())
        );
        assert_eq!(zone_name(&zone_or_default("nowhere")), DEFAULT_ZONE);

        assert!(parse_local("2026-02-30T10:00").is_err());
        assert!(parse_local("2026-12-03").is_err());
        assert!(parse_local("n'importe quoi").is_err());
        assert_eq!(
            local_input(parse_local("2026-12-03T20:00").unwrap()),
            "2026-12-03T20:00"
        );
        let date = parse_date("2026-12-03").unwrap();
        assert_eq!(date_fr(date), "jeudi 3 décembre 2026");
        assert_eq!(date_input(date), "2026-12-03");
        assert_eq!(
            date_fr(parse_date("2026-12-01").unwrap()),
            "mardi 1er décembre 2026"
        );
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-1-01",
            "26-12-03",
            "2026-12-03T20:00",
            "2026/12/03",
            "+026-12-03",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        assert_eq!(
            date_fr(parse_date("2028-02-29").unwrap()),
            "mardi 29 février 2028"
        );
    }

    #[test]
    fn names_every_weekday_and_month_in_french() {
        let days: Vec<String> = (1..=7)
            .map(|d| date_fr(parse_date(&format!("2026-06-{d:02}")).unwrap()))
            .collect();
        assert_eq!(
            days,
            [
                "lundi 1er juin 2026",
                "mardi 2 juin 2026",
                "mercredi 3 juin 2026",
                "jeudi 4 juin 2026",
                "vendredi 5 juin 2026",
                "samedi 6 juin 2026",
                "dimanche 7 juin 2026"
            ]
        );
        let months: Vec<String> = (1..=12)
            .map(|m| date_fr(parse_date(&format!("2026-{m:02}-15")).unwrap()))
            .collect();
        assert_eq!(months[0], "jeudi 15 janvier 2026");
        assert_eq!(months[1], "dimanche 15 février 2026");
        assert_eq!(months[7], "samedi 15 août 2026");
        assert_eq!(months[11], "mardi 15 décembre 2026");
    }
}
