//! iCalendar (RFC 5545) for invitations, updates, cancellations (iTIP, RFC 5546) and
//! published feeds, as calendar clients (Outlook, Google, Apple, Thunderbird) read them.
//!
//! A [`Calendar`] holds [`Event`]s, each at an instant in a named IANA zone; writing it
//! adds one `VTIMEZONE` per zone, built from the zone's real transitions around the
//! events' dates (jiff's IANA database): a `STANDARD` / `DAYLIGHT` block per offset
//! change in effect, or a single `STANDARD` block for zones with a fixed offset
//! (America/Cayenne, Indian/Reunion). Text is escaped (`\\`, `;`, `,`, line breaks),
//! lines are folded at 75 octets (never inside a UTF-8 character) and end with CRLF.
//!
//! ```ignore
//! use maillage_sdk::ics::{Calendar, Event, Length, Method};
//! let mut event = Event::new("42@maillage", start, zone, Length::Minutes(90), "Réunion BPCO");
//! event.sequence = 1;
//! let text = Calendar::new(Method::Request).with_event(event).to_ics();
//! ```
//!
//! Invitations and updates are [`Method::Request`] with the same `UID` and a higher
//! `SEQUENCE`; a cancellation is [`Method::Cancel`] with [`Status::Cancelled`] and the
//! sequence bumped once more; a subscribed feed is [`Calendar::feed`] (`METHOD:PUBLISH`,
//! `REFRESH-INTERVAL` and `X-PUBLISHED-TTL`).

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// Longest content line, in octets, before folding (RFC 5545 §3.1).
pub const LINE_OCTETS: usize = 75;
/// `PRODID` of the calendars Maillage writes.
pub const PRODUCT: &str = "-//Maillage//Agenda//FR";
/// At most this many offset changes are written for one zone.
const MAX_OBSERVANCES: usize = 400;
/// A zone with no offset change this close to the events is written as fixed.
const FIXED_MARGIN_SECS: i64 = 366 * 86_400;

/// The iTIP method of a calendar object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// An invitation, or an update of it (same UID, higher SEQUENCE).
    Request,
    /// A cancellation (same UID, higher SEQUENCE, `STATUS:CANCELLED`).
    Cancel,
    /// A published calendar: a download or a subscribed feed.
    Publish,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
            Method::Publish => "PUBLISH",
        }
    }

    /// The MIME type of a mail attachment or a download of this method.
    pub fn content_type(self) -> &'static str {
        match self {
            Method::Request => "text/calendar; charset=utf-8; method=REQUEST",
            Method::Cancel => "text/calendar; charset=utf-8; method=CANCEL",
            Method::Publish => "text/calendar; charset=utf-8; method=PUBLISH",
        }
    }
}

/// `STATUS` of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Confirmed,
    Tentative,
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Confirmed => "CONFIRMED",
            Status::Tentative => "TENTATIVE",
            Status::Cancelled => "CANCELLED",
        }
    }
}

/// How long an event lasts: written as `DURATION` or as `DTEND` in the event's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    /// `DURATION:PT1H30M`.
    Minutes(i64),
    /// `DTEND;TZID=…:…`.
    EndsAt(Timestamp),
}

/// Someone with a name and an address (`ORGANIZER`, `ATTENDEE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub email: String,
}

/// `PARTSTAT` of an attendee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartStat {
    NeedsAction,
    Accepted,
    Declined,
}

impl PartStat {
    pub fn as_str(self) -> &'static str {
        match self {
            PartStat::NeedsAction => "NEEDS-ACTION",
            PartStat::Accepted => "ACCEPTED",
            PartStat::Declined => "DECLINED",
        }
    }
}

/// An `ATTENDEE` line. Optional: a mail to several people should not list the others'
/// addresses unless the organiser chose so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    pub person: Person,
    pub partstat: PartStat,
    /// Whether a reply is expected (`RSVP=TRUE`).
    pub rsvp: bool,
}

/// One `VEVENT`.
#[derive(Debug, Clone)]
pub struct Event {
    /// Stable across updates and the cancellation, e.g. "{id}@maillage".
    pub uid: String,
    /// Bumped by the organiser on every significant change and on cancellation.
    pub sequence: u32,
    /// When this version of the object was written (`DTSTAMP`, UTC).
    pub stamp: Timestamp,
    pub start: Timestamp,
    /// The zone the event is planned in; its `VTIMEZONE` is written with the calendar.
    pub zone: TimeZone,
    pub length: Length,
    pub summary: String,
    /// Empty: no `LOCATION`.
    pub location: String,
    /// Empty: no `DESCRIPTION`.
    pub description: String,
    pub url: Option<String>,
    pub organizer: Option<Person>,
    pub attendees: Vec<Attendee>,
    pub status: Status,
}

impl Event {
    /// A confirmed event at `start` in `zone`, sequence 0, stamped now.
    pub fn new(
        uid: &str,
        start: Timestamp,
        zone: TimeZone,
        length: Length,
        summary: &str,
    ) -> Event {
        Event {
            uid: uid.to_string(),
            sequence: 0,
            stamp: Timestamp::now(),
            start,
            zone,
            length,
            summary: summary.to_string(),
            location: String::new(),
            description: String::new(),
            url: None,
            organizer: None,
            attendees: Vec::new(),
            status: Status::Confirmed,
        }
    }

    /// The instant it ends.
    pub fn end(&self) -> Timestamp {
        match self.length {
            Length::EndsAt(end) => end,
            Length::Minutes(minutes) => {
                let seconds = self
                    .start
                    .as_second()
                    .saturating_add(minutes.saturating_mul(60));
                Timestamp::from_second(seconds).unwrap_or(self.start)
            }
        }
    }
}

/// A `VCALENDAR`.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub method: Method,
    /// `X-WR-CALNAME`: the name clients show for a subscribed feed.
    pub name: Option<String>,
    /// For feeds: how often clients should fetch it again, in minutes
    /// (`REFRESH-INTERVAL` and `X-PUBLISHED-TTL`).
    pub refresh_minutes: Option<u32>,
    pub events: Vec<Event>,
}

impl Calendar {
    pub fn new(method: Method) -> Calendar {
        Calendar {
            method,
            name: None,
            refresh_minutes: None,
            events: Vec::new(),
        }
    }

    /// A subscribed feed: `METHOD:PUBLISH`, a name, fetched again every hour.
    pub fn feed(name: &str) -> Calendar {
        Calendar {
            method: Method::Publish,
            name: Some(name.to_string()),
            refresh_minutes: Some(60),
            events: Vec::new(),
        }
    }

    pub fn with_event(mut self, event: Event) -> Calendar {
        self.events.push(event);
        self
    }

    /// The calendar as RFC 5545 text (CRLF line ends, folded lines).
    pub fn to_ics(&self) -> String {
        let mut w = Writer::default();
        w.line("BEGIN:VCALENDAR");
        w.line("VERSION:2.0");
        w.line(&format!("PRODID:{PRODUCT}"));
        w.line("CALSCALE:GREGORIAN");
        w.line(&format!("METHOD:{}", self.method.as_str()));
        if let Some(name) = &self.name {
            w.line(&format!("X-WR-CALNAME:{}", escape_text(name)));
        }
        if let Some(minutes) = self.refresh_minutes {
            let every = duration(i64::from(minutes.max(1)));
            w.line(&format!("REFRESH-INTERVAL;VALUE=DURATION:{every}"));
            w.line(&format!("X-PUBLISHED-TTL:{every}"));
        }
        // One VTIMEZONE per named zone, covering every event in it.
        let mut zones: Vec<(String, TimeZone, Timestamp, Timestamp)> = Vec::new();
        for event in &self.events {
            let Some(name) = event.zone.iana_name() else {
                continue;
            };
            let (from, to) = (event.start.min(event.end()), event.start.max(event.end()));
            match zones.iter_mut().find(|(n, ..)| n == name) {
                Some(zone) => {
                    zone.2 = zone.2.min(from);
                    zone.3 = zone.3.max(to);
                }
                None => zones.push((name.to_string(), event.zone.clone(), from, to)),
            }
        }
        for (name, tz, from, to) in &zones {
            write_vtimezone(&mut w, name, tz, *from, *to);
        }
        for event in &self.events {
            write_event(&mut w, event);
        }
        w.line("END:VCALENDAR");
        w.out
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.to_ics().into_bytes()
    }
}

/// Accumulates folded content lines.
#[derive(Default)]
struct Writer {
    out: String,
}

impl Writer {
    fn line(&mut self, content: &str) {
        fold_into(&mut self.out, content);
    }
}

/// Appends `line` folded at [`LINE_OCTETS`] octets (continuation lines start with one
/// space, which counts), never splitting a UTF-8 character, then CRLF.
pub fn fold_into(out: &mut String, line: &str) {
    let mut used = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if used + n > LINE_OCTETS {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += n;
    }
    out.push_str("\r\n");
}

/// One content line, folded.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    fold_into(&mut out, line);
    out
}

/// A TEXT value: `\`, `;` and `,` escaped, every line break as `\n`, other control
/// characters (but tab) dropped.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value, quoted: double quotes and control characters cannot appear in
/// one, so they are replaced by `'` and dropped.
fn param_value(text: &str) -> String {
    let clean: String = text
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if c == '"' { '\'' } else { c })
        .collect();
    format!("\"{clean}\"")
}

/// A URI or cal-address value: no control character, space or quote.
fn uri_value(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() && !c.is_whitespace() && *c != '"')
        .collect()
}

fn civil(local: DateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}",
        local.year(),
        local.month(),
        local.day(),
        local.hour(),
        local.minute(),
        local.second()
    )
}

/// `20261203T190000Z`.
pub fn utc(at: Timestamp) -> String {
    format!("{}Z", civil(TimeZone::UTC.to_datetime(at)))
}

/// `20261203T200000`: the local time of `at` in `tz`.
pub fn local(at: Timestamp, tz: &TimeZone) -> String {
    civil(tz.to_datetime(at))
}

/// An RFC 5545 duration: `PT45M`, `PT1H30M`, `P1D`, `P1DT2H`.
pub fn duration(minutes: i64) -> String {
    let minutes = minutes.max(0);
    let (days, hours, rest) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    let mut out = String::from("P");
    if days > 0 {
        out.push_str(&format!("{days}D"));
    }
    if hours > 0 || rest > 0 || days == 0 {
        out.push('T');
        if hours > 0 {
            out.push_str(&format!("{hours}H"));
        }
        if rest > 0 || hours == 0 {
            out.push_str(&format!("{rest}M"));
        }
    }
    out
}

/// A UTC offset: `+0100`, `-0300`, `+051030` when it has seconds.
pub fn offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m, rest) = (s / 3600, s / 60 % 60, s % 60);
    if rest == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{rest:02}")
    }
}

/// One observance of a `VTIMEZONE`: from its onset on, `to` is the zone's offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observance {
    pub daylight: bool,
    /// Local time of the onset, in the offset in effect before it (`DTSTART`).
    pub onset: String,
    pub from: i32,
    pub to: i32,
    pub name: String,
}

fn seconds(at: i64) -> Timestamp {
    Timestamp::from_second(at).unwrap_or(if at < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// The observances a client needs to place any instant between `from` and `to` in
/// `tz`: the one in effect at `from`, every change up to `to` and the next one after it;
/// a single `STANDARD` observance for a zone whose offset does not change within a year
/// of those dates.
pub fn observances(tz: &TimeZone, from: Timestamp, to: Timestamp) -> Vec<Observance> {
    let (from_s, to_s) = (from.as_second(), to.as_second().max(from.as_second()));
    let previous = tz.preceding(seconds(from_s.saturating_add(1))).next();
    let mut changes = Vec::new();
    for transition in tz.following(from) {
        let beyond = transition.timestamp().as_second() > to_s;
        changes.push(transition);
        if beyond || changes.len() >= MAX_OBSERVANCES {
            break;
        }
    }
    let near = |t: &jiff::tz::TimeZoneTransition<'_>| {
        let at = t.timestamp().as_second();
        at >= from_s.saturating_sub(FIXED_MARGIN_SECS)
            && at <= to_s.saturating_add(FIXED_MARGIN_SECS)
    };
    let fixed = !previous.as_ref().is_some_and(near) && !changes.iter().any(near);
    if fixed {
        let info = tz.to_offset_info(from);
        let now = info.offset().seconds();
        return vec![Observance {
            daylight: false,
            onset: "19700101T000000".into(),
            from: now,
            to: now,
            name: info.abbreviation().to_string(),
        }];
    }
    let mut list = Vec::new();
    if previous.is_none() {
        // The zone's offset at `from` has no onset in the database: since ever.
        let info = tz.to_offset_info(from);
        let now = info.offset().seconds();
        list.push(Observance {
            daylight: info.dst().is_dst(),
            onset: "19700101T000000".into(),
            from: now,
            to: now,
            name: info.abbreviation().to_string(),
        });
    }
    for transition in previous.iter().chain(changes.iter()) {
        let at = transition.timestamp().as_second();
        let before = tz.to_offset(seconds(at.saturating_sub(1))).seconds();
        let onset = civil(TimeZone::UTC.to_datetime(seconds(at.saturating_add(i64::from(before)))));
        list.push(Observance {
            daylight: transition.dst().is_dst(),
            onset,
            from: before,
            to: transition.offset().seconds(),
            name: transition.abbreviation().to_string(),
        });
    }
    list
}

fn write_vtimezone(w: &mut Writer, name: &str, tz: &TimeZone, from: Timestamp, to: Timestamp) {
    w.line("BEGIN:VTIMEZONE");
    w.line(&format!("TZID:{name}"));
    w.line(&format!("X-LIC-LOCATION:{name}"));
    for o in observances(tz, from, to) {
        let block = if o.daylight { "DAYLIGHT" } else { "STANDARD" };
        w.line(&format!("BEGIN:{block}"));
        w.line(&format!("DTSTART:{}", o.onset));
        w.line(&format!("TZOFFSETFROM:{}", offset(o.from)));
        w.line(&format!("TZOFFSETTO:{}", offset(o.to)));
        if !o.name.is_empty() {
            w.line(&format!("TZNAME:{}", escape_text(&o.name)));
        }
        w.line(&format!("END:{block}"));
    }
    w.line("END:VTIMEZONE");
}

/// `DTSTART;TZID=Europe/Paris:20261203T200000`, or in UTC for a zone with no name.
fn datetime_line(property: &str, at: Timestamp, tz: &TimeZone) -> String {
    match tz.iana_name() {
        Some(name) => format!("{property};TZID={name}:{}", local(at, tz)),
        None => format!("{property}:{}", utc(at)),
    }
}

fn write_event(w: &mut Writer, e: &Event) {
    w.line("BEGIN:VEVENT");
    w.line(&format!("UID:{}", escape_text(&e.uid)));
    w.line(&format!("SEQUENCE:{}", e.sequence));
    w.line(&format!("DTSTAMP:{}", utc(e.stamp)));
    w.line(&datetime_line("DTSTART", e.start, &e.zone));
    match e.length {
        Length::Minutes(minutes) => w.line(&format!("DURATION:{}", duration(minutes))),
        Length::EndsAt(end) => w.line(&datetime_line("DTEND", end, &e.zone)),
    }
    w.line(&format!("SUMMARY:{}", escape_text(&e.summary)));
    if !e.location.trim().is_empty() {
        w.line(&format!("LOCATION:{}", escape_text(&e.location)));
    }
    if !e.description.trim().is_empty() {
        w.line(&format!("DESCRIPTION:{}", escape_text(&e.description)));
    }
    if let Some(url) = &e.url {
        w.line(&format!("URL:{}", uri_value(url)));
    }
    if let Some(organizer) = &e.organizer {
        w.line(&format!(
            "ORGANIZER;CN={}:mailto:{}",
            param_value(&organizer.name),
            uri_value(&organizer.email)
        ));
    }
    for a in &e.attendees {
        w.line(&format!(
            "ATTENDEE;CN={};ROLE=REQ-PARTICIPANT;PARTSTAT={};RSVP={}:mailto:{}",
            param_value(&a.person.name),
            a.partstat.as_str(),
            if a.rsvp { "TRUE" } else { "FALSE" },
            uri_value(&a.person.email)
        ));
    }
    w.line(&format!("STATUS:{}", e.status.as_str()));
    w.line(if e.status == Status::Cancelled {
        "TRANSP:TRANSPARENT"
    } else {
        "TRANSP:OPAQUE"
    });
    w.line("END:VEVENT");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).expect(name)
    }

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).unwrap()
    }

    /// 2030-12-05 20:00 in Paris (UTC+1) is 19:00 UTC.
    const PARIS_DECEMBER: i64 = 1_922_727_600;

    fn lines(text: &str) -> Vec<&str> {
        text.split("\r\n").collect()
    }

    fn unfold(text: &str) -> String {
        text.replace("\r\n ", "")
    }

    #[test]
    fn writes_a_request_with_its_timezone_and_crlf_lines() {
        let mut event = Event::new(
            "abc@maillage",
            at(PARIS_DECEMBER),
            tz("Europe/Paris"),
            Length::Minutes(90),
            "Réunion BPCO, groupe 1; suite",
        );
        event.sequence = 2;
        event.stamp = at(1_796_000_000);
        event.location = "Salle 2\\Étage 1".into();
        event.description = "Ordre du jour :\n1. Accueil\r\n2. Suite".into();
        event.organizer = Some(Person {
            name: "CPTS \"A\"".into(),
            email: "ne-pas-repondre@exemple.fr".into(),
        });
        let text = Calendar::new(Method::Request).with_event(event).to_ics();
        assert!(text.ends_with("END:VCALENDAR\r\n"));
        assert!(
            !text.replace("\r\n", "").contains('\n'),
            "bare LF in {text}"
        );
        let all = lines(&text);
        for line in [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "METHOD:REQUEST",
            "TZID:Europe/Paris",
            "UID:abc@maillage",
            "SEQUENCE:2",
            "DTSTAMP:20261130T005320Z",
            "DTSTART;TZID=Europe/Paris:20301205T200000",
            "DURATION:PT1H30M",
            "SUMMARY:Réunion BPCO\\, groupe 1\\; suite",
            "LOCATION:Salle 2\\\\Étage 1",
            "DESCRIPTION:Ordre du jour :\\n1. Accueil\\n2. Suite",
            "ORGANIZER;CN=\"CPTS 'A'\":mailto:ne-pas-repondre@exemple.fr",
            "STATUS:CONFIRMED",
        ] {
            assert!(all.contains(&line), "missing {line:?} in\n{text}");
        }
        // Paris in December: the CET observance since October, and the next change.
        let zone =
            &text[text.find("BEGIN:VTIMEZONE").unwrap()..text.find("END:VTIMEZONE").unwrap()];
        assert!(
            zone.contains(
                "BEGIN:STANDARD\r\nDTSTART:20301027T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nEND:STANDARD"
            ),
            "{zone}"
        );
        assert!(
            zone.contains(
                "BEGIN:DAYLIGHT\r\nDTSTART:20310330T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nEND:DAYLIGHT"
            ),
            "{zone}"
        );
    }

    #[test]
    fn fixed_offset_zones_get_one_standard_block() {
        for (name, offset, abbreviation) in [
            ("America/Cayenne", "-0300", "-03"),
            ("Indian/Reunion", "+0400", "+04"),
        ] {
            let event = Event::new(
                "x@maillage",
                at(PARIS_DECEMBER),
                tz(name),
                Length::EndsAt(at(PARIS_DECEMBER + 3600)),
                "Réunion",
            );
            let text = Calendar::new(Method::Publish).with_event(event).to_ics();
            let zone =
                &text[text.find("BEGIN:VTIMEZONE").unwrap()..text.find("END:VTIMEZONE").unwrap()];
            assert_eq!(zone.matches("BEGIN:STANDARD").count(), 1, "{zone}");
            assert!(!zone.contains("DAYLIGHT"), "{zone}");
            assert!(
                zone.contains(&format!(
                    "DTSTART:19700101T000000\r\nTZOFFSETFROM:{offset}\r\nTZOFFSETTO:{offset}\r\nTZNAME:{abbreviation}\r\n"
                )),
                "{zone}"
            );
            let local = tz(name).to_datetime(at(PARIS_DECEMBER));
            let expected = format!("DTSTART;TZID={name}:20301205T{:02}0000", local.hour());
            assert!(lines(&text).contains(&expected.as_str()), "{text}");
            assert!(
                lines(&text)
                    .iter()
                    .any(|l| l.starts_with(&format!("DTEND;TZID={name}:")))
            );
        }
    }

    #[test]
    fn a_cancellation_and_a_feed() {
        let mut event = Event::new(
            "abc@maillage",
            at(PARIS_DECEMBER),
            tz("Europe/Paris"),
            Length::Minutes(60),
            "Réunion",
        );
        event.sequence = 3;
        event.status = Status::Cancelled;
        let cancel = Calendar::new(Method::Cancel)
            .with_event(event.clone())
            .to_ics();
        assert!(lines(&cancel).contains(&"METHOD:CANCEL"));
        assert!(lines(&cancel).contains(&"STATUS:CANCELLED"));
        assert!(lines(&cancel).contains(&"SEQUENCE:3"));
        assert_eq!(
            Method::Cancel.content_type(),
            "text/calendar; charset=utf-8; method=CANCEL"
        );

        let mut summer = event.clone();
        summer.uid = "summer@maillage".into();
        summer.status = Status::Confirmed;
        summer.start = at(PARIS_DECEMBER - 150 * 86_400);
        let feed = Calendar::feed("Mes réunions, CPTS")
            .with_event(event)
            .with_event(summer)
            .to_ics();
        let all = lines(&feed);
        assert!(all.contains(&"METHOD:PUBLISH"));
        assert!(all.contains(&"X-WR-CALNAME:Mes réunions\\, CPTS"));
        assert!(all.contains(&"REFRESH-INTERVAL;VALUE=DURATION:PT1H"));
        assert!(all.contains(&"X-PUBLISHED-TTL:PT1H"));
        assert_eq!(feed.matches("BEGIN:VTIMEZONE").count(), 1, "one zone, once");
        assert_eq!(feed.matches("BEGIN:VEVENT").count(), 2);
        // July to December: summer time, the October change and the next March.
        assert!(feed.contains("DTSTART:20300331T020000"), "{feed}");
        assert!(feed.contains("DTSTART:20301027T030000"), "{feed}");
    }

    #[test]
    fn folds_at_75_octets_without_splitting_characters() {
        let long = format!("DESCRIPTION:{}", "é".repeat(100));
        let folded = fold(&long);
        for line in folded.trim_end_matches("\r\n").split("\r\n") {
            assert!(line.len() <= LINE_OCTETS, "{} octets: {line}", line.len());
        }
        assert!(folded.contains("\r\n "));
        assert_eq!(unfold(&folded), format!("{long}\r\n"));
        assert_eq!(fold("SHORT:x"), "SHORT:x\r\n");
        let exactly = format!("X:{}", "a".repeat(73));
        assert_eq!(fold(&exactly), format!("{exactly}\r\n"));
        let one_more = format!("X:{}", "a".repeat(74));
        assert_eq!(fold(&one_more), format!("X:{}\r\n a\r\n", "a".repeat(73)));
    }

    #[test]
    fn escapes_text_and_writes_durations_and_offsets() {
        assert_eq!(escape_text("a,b;c\\d"), "a\\,b\\;c\\\\d");
        assert_eq!(escape_text("l1\r\nl2\rl3\nl4"), "l1\\nl2\\nl3\\nl4");
        assert_eq!(escape_text("bip\u{7}"), "bip");
        assert_eq!(duration(45), "PT45M");
        assert_eq!(duration(60), "PT1H");
        assert_eq!(duration(90), "PT1H30M");
        assert_eq!(duration(1440), "P1D");
        assert_eq!(duration(1560), "P1DT2H");
        assert_eq!(duration(0), "PT0M");
        assert_eq!(offset(3600), "+0100");
        assert_eq!(offset(-10_800), "-0300");
        assert_eq!(offset(-12_600), "-0330");
        assert_eq!(offset(561), "+000921");
        assert_eq!(utc(at(PARIS_DECEMBER)), "20301205T190000Z");
        assert_eq!(
            local(at(PARIS_DECEMBER), &tz("Europe/Paris")),
            "20301205T200000"
        );
    }
}
