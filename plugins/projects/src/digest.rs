//! The daily digest of the project threads (docs/projects-contract.md, « Threads »,
//! « Timers »). The timer [`TOPIC`] fires at `digest_hour` in the structure's zone each
//! day while at least one member opted in (« Mes notifications », [`crate::preferences`]);
//! each of them with unread messages of the last 24 hours in the current projects whose
//! group they belong to gets one mail « Discussions de vos projets : N nouveaux
//! messages »: per project its name, the count, the authors' names and the link to
//! `/p/{g}#non-lus` — never a message's text (it may hold health data) —, the link to
//! stop it and the health-data warning. Nothing unread, no mail.
//!
//! The timer fires without an acting member: `groups.visible-groups` and
//! `groups.members` then give every group. Members are taken [`BATCH`] at a time by
//! account id (payload `{"day", "after"}`); more left, the next batch is scheduled at
//! once; after the last, the next day's digest. `digest_sends` (unique day, user) keeps
//! a redelivered timer from mailing anyone twice; the settings `digest_day` and
//! `digest_batch` keep it from scheduling twice.

use std::collections::{HashMap, HashSet};

use maillage_sdk::groups::{self, Group};
use maillage_sdk::html::html;
use maillage_sdk::mail::{self, Message as Mail};
use maillage_sdk::records::{self, Query, StoreError, or_default};
use maillage_sdk::thread::{self, Cursor};
use maillage_sdk::time::jiff::Timestamp;
use maillage_sdk::time::jiff::civil::Date;
use maillage_sdk::time::jiff::tz::TimeZone;
use maillage_sdk::{Event, log, time, timers};
use serde::Deserialize;
use serde_json::json;

use crate::discussion::HEALTH_WARNING;
use crate::model::{self, DIGEST_SENDS, PREFERENCES, Project};
use crate::settings::{self, DIGEST_BATCH, DIGEST_DAY, DIGEST_TIMER};

/// The digest timer's topic (the module's own).
pub const TOPIC: &str = "projets.resume";
/// Opted-in members one delivery handles; the others in the next, scheduled at once.
pub const BATCH: usize = 200;
/// Messages of the window read at most.
const MESSAGES_MAX: usize = 5000;
/// The digest covers the messages of the last 24 hours.
const WINDOW_SECONDS: i64 = 24 * 3600;
/// The host takes at most 1000 values in a list.
const IN_LIST: usize = 500;

/// What a digest timer carries: the day it is for, and the account id the batch starts
/// after (none for the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    pub day: Date,
    pub after: Option<String>,
}

impl Payload {
    /// `{"day": "YYYY-MM-DD", "after": "42" | null}`; none when malformed.
    pub fn parse(text: &str) -> Option<Payload> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        let day = time::parse_date(value.get("day")?.as_str()?).ok()?;
        let after = match value.get("after") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(id)) if records::valid_ref(id) => Some(id.clone()),
            Some(_) => return None,
        };
        Some(Payload { day, after })
    }

    pub fn to_json(&self) -> serde_json::Value {
        json!({ "day": time::date_input(self.day), "after": self.after })
    }
}

/// The first `hour`:00 in `tz` after `now` on day `not_before` or later, with its local
/// day. An hour the clocks skip (going forward) is the instant they jump to, an hour
/// they repeat (going back) its first occurrence: jiff's « compatible » rule. None for
/// an hour out of 0–23.
pub fn next_digest(
    now: Timestamp,
    hour: u8,
    tz: &TimeZone,
    not_before: Option<Date>,
) -> Option<(Date, Timestamp)> {
    let hour = i8::try_from(hour).ok().filter(|h| (0..=23).contains(h))?;
    let today = time::local(now, tz).date();
    let mut day = not_before.filter(|d| *d > today).unwrap_or(today);
    // Today's hour may be past; tomorrow's never is (a day lasts 23 hours at least).
    for _ in 0..3 {
        let at = tz.to_timestamp(day.at(hour, 0, 0, 0)).ok()?;
        if at > now {
            return Some((day, at));
        }
        day = day.tomorrow().ok()?;
    }
    None
}

fn structure_zone() -> TimeZone {
    time::zone_or_default(&maillage_sdk::context().time_zone)
}

fn stored_day(key: &str) -> Result<Option<Date>, StoreError> {
    Ok(settings::get(key)?.and_then(|d| time::parse_date(&d).ok()))
}

fn anyone_opted_in() -> Result<bool, StoreError> {
    Ok(Query::new().filter("digest = true").count(PREFERENCES)? > 0)
}

/// Schedules the digest at the next `digest_hour` (on `not_before` or a later day),
/// unless nobody opted in or a timer is already there for that day or a later one
/// (`digest_day`). A refusal of the host is logged: the next opt-in tries again.
fn schedule_next(not_before: Option<Date>) -> Result<(), StoreError> {
    if !anyone_opted_in()? {
        return Ok(());
    }
    let hour = settings::digest_hour()?;
    let Some((day, at)) = next_digest(time::now(), hour, &structure_zone(), not_before) else {
        return Ok(());
    };
    if stored_day(DIGEST_DAY)?.is_some_and(|pending| pending >= day) {
        return Ok(());
    }
    let payload = Payload { day, after: None };
    match timers::schedule(TOPIC, &payload.to_json(), at.as_second()) {
        Ok(id) => {
            settings::set(DIGEST_TIMER, &id)?;
            settings::set(DIGEST_DAY, &time::date_input(day))?;
        }
        Err(e) => log::warn(&format!(
            "projets: digest of {} not scheduled: {e}",
            time::date_input(day)
        )),
    }
    Ok(())
}

/// After a member turned the digest on: the next digest, if none is pending.
pub fn ensure_scheduled() -> Result<(), StoreError> {
    schedule_next(None)
}

/// After `/reglages` changed `digest_hour`: the pending digest is cancelled and
/// scheduled again at the new hour, for its day or a later one.
pub fn reschedule() -> Result<(), StoreError> {
    let pending_day = stored_day(DIGEST_DAY)?;
    if let Some(timer) = settings::get(DIGEST_TIMER)?.filter(|t| !t.is_empty()) {
        match timers::cancel(&timer) {
            Ok(true) => {
                settings::set(DIGEST_TIMER, "")?;
                settings::set(DIGEST_DAY, "")?;
                return schedule_next(pending_day);
            }
            // Fired already: its delivery schedules the next one at the new hour.
            Ok(false) => {}
            Err(e) => log::warn(&format!("projets: digest timer {timer} not cancelled: {e}")),
        }
    }
    schedule_next(None)
}

/// `on_event` for [`TOPIC`]: one batch of the day's digest. A malformed payload, or an
/// event not from this module's own timer, is ignored; a store failure is an error
/// (the host retries, the writes and mails of the attempt rolled back).
pub fn on_event(event: &Event) -> Result<(), String> {
    if event.source != crate::MODULE_ID {
        return Ok(());
    }
    let Some(payload) = Payload::parse(&event.payload) else {
        log::warn(&format!(
            "projets: digest timer with an unreadable payload ignored: {}",
            event.payload
        ));
        return Ok(());
    };
    run(&payload).map_err(|e| {
        format!(
            "digest of {}: store failure: {e}",
            time::date_input(payload.day)
        )
    })
}

#[derive(Deserialize)]
struct UserRow {
    user: String,
}

fn run(payload: &Payload) -> Result<(), StoreError> {
    let query = match &payload.after {
        Some(after) => Query::new()
            .filter("digest = true && user > {:a}")
            .param("a", after),
        None => Query::new().filter("digest = true"),
    };
    let (mut opted, _) = query
        .sort("user")
        .limit(u32::try_from(BATCH + 1).unwrap_or(u32::MAX))
        .fields(&["user"])
        .fetch::<UserRow>(PREFERENCES)?;
    let more = opted.len() > BATCH;
    opted.truncate(BATCH);
    let batch: Vec<String> = opted.into_iter().map(|r| r.user).collect();
    let day = time::date_input(payload.day);
    if !batch.is_empty() {
        mail_batch(&day, &batch)?;
    }
    match batch.last() {
        Some(last) if more => continue_after(payload.day, last),
        _ => schedule_next(payload.day.tomorrow().ok()),
    }
}

/// Schedules the batch after `last`, now, once.
fn continue_after(day: Date, last: &str) -> Result<(), StoreError> {
    let mark = format!("{}.{last}", time::date_input(day));
    if settings::get(DIGEST_BATCH)?.as_deref() == Some(mark.as_str()) {
        // A redelivered batch: the next one is on its way already.
        return Ok(());
    }
    let next = Payload {
        day,
        after: Some(last.to_string()),
    };
    match timers::schedule(TOPIC, &next.to_json(), time::now_seconds()) {
        Ok(_) => settings::set(DIGEST_BATCH, &mark),
        Err(e) => Err(StoreError::Unavailable(format!(
            "next digest batch not scheduled: {e}"
        ))),
    }
}

/// A message of the window, as the digest reads it (no text).
#[derive(Debug, Clone, Deserialize)]
pub struct Posted {
    pub id: String,
    pub subject: String,
    pub author: String,
    #[serde(default, deserialize_with = "or_default")]
    pub author_name: String,
    #[serde(default)]
    pub created_at: i64,
}

/// One project of a member's digest: its thread's subject, how many messages are new
/// to them, by whom (each name once, in order of their first message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    pub subject: String,
    pub count: i64,
    pub authors: Vec<String>,
}

/// What is new to `user` in `messages` (thread order): the messages of others in the
/// threads of the groups `user` belongs to (`members`, by subject), after their read
/// marker (`markers`, by subject then user; none: every message of others), per
/// subject in the order of their first new message.
pub fn unread_for(
    user: &str,
    messages: &[Posted],
    members: &HashMap<String, HashSet<String>>,
    markers: &HashMap<String, HashMap<String, Cursor>>,
) -> Vec<Unread> {
    let mut out: Vec<Unread> = Vec::new();
    for m in messages {
        if m.author == user || !members.get(&m.subject).is_some_and(|g| g.contains(user)) {
            continue;
        }
        let marker = markers
            .get(&m.subject)
            .and_then(|by_user| by_user.get(user));
        if marker.is_some_and(|c| (m.created_at, m.id.as_str()) <= (c.at, c.id.as_str())) {
            continue;
        }
        let at = match out.iter().position(|u| u.subject == m.subject) {
            Some(i) => i,
            None => {
                out.push(Unread {
                    subject: m.subject.clone(),
                    count: 0,
                    authors: Vec::new(),
                });
                out.len() - 1
            }
        };
        let line = &mut out[at];
        line.count += 1;
        if !m.author_name.is_empty() && !line.authors.contains(&m.author_name) {
            line.authors.push(m.author_name.clone());
        }
    }
    out
}

/// One project as the mail lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// « 1.2 Soins non programmés ».
    pub title: String,
    /// Absolute link to `/p/{g}#non-lus`.
    pub link: String,
    pub count: i64,
    pub authors: Vec<String>,
}

/// « 1 nouveau message », « 3 nouveaux messages ».
pub fn new_messages(count: i64) -> String {
    if count == 1 {
        "1 nouveau message".to_string()
    } else {
        format!("{count} nouveaux messages")
    }
}

/// The digest mail: subject, text and HTML. Names, counts and links only: no message's
/// text.
pub fn compose(lines: &[Line], preferences_link: &str) -> (String, String, String) {
    let total: i64 = lines.iter().map(|l| l.count).sum();
    let subject = format!("Discussions de vos projets : {}", new_messages(total));
    let intro =
        "Des messages des dernières 24 heures vous attendent dans les discussions de vos projets :";
    let stop = "Pour ne plus recevoir ce résumé :";
    let mut text = format!("Bonjour,\n\n{intro}\n\n");
    for l in lines {
        text.push_str(&format!(
            "- {} : {} ({})\n  {}\n",
            l.title,
            new_messages(l.count),
            l.authors.join(", "),
            l.link
        ));
    }
    text.push_str(&format!(
        "\nLe texte des messages n’est jamais envoyé par courriel : lisez-les sur la page de chaque projet.\n\n{stop} {preferences_link}\n\n{HEALTH_WARNING}\n"
    ));
    let html = html! {
        p { "Bonjour," }
        p { (intro) }
        ul {
            @for l in lines {
                li {
                    a href=(l.link) { (l.title) }
                    " : " (new_messages(l.count)) " (" (l.authors.join(", ")) ")"
                }
            }
        }
        p { "Le texte des messages n’est jamais envoyé par courriel : lisez-les sur la page de chaque projet." }
        p { (stop) " " a href=(preferences_link) { "Mes notifications" } }
        p { (HEALTH_WARNING) }
    };
    (subject, text, html.into_string())
}

#[derive(Deserialize)]
struct Marker {
    subject: String,
    user: String,
    #[serde(default)]
    last_at: Option<i64>,
    #[serde(default)]
    last_id: Option<String>,
}

/// The read markers of `users` on `subjects`: by subject, then user.
fn read_markers(
    subjects: &[String],
    users: &[&String],
) -> Result<HashMap<String, HashMap<String, Cursor>>, StoreError> {
    let mut out: HashMap<String, HashMap<String, Cursor>> = HashMap::new();
    for chunk in subjects.chunks(IN_LIST) {
        let rows: Vec<Marker> = Query::new()
            .filter("subject in {:s} && user in {:u}")
            .param("s", chunk)
            .param("u", users)
            .fetch_all(thread::READS, chunk.len() * users.len())?;
        for r in rows {
            out.entry(r.subject).or_default().insert(
                r.user,
                Cursor {
                    at: r.last_at.unwrap_or(0),
                    id: r.last_id.unwrap_or_default(),
                },
            );
        }
    }
    Ok(out)
}

/// The digest of day `day` for the opted-in members `batch`: those still members of the
/// structure and not mailed for that day yet, with something new.
fn mail_batch(day: &str, batch: &[String]) -> Result<(), StoreError> {
    // Mail goes to active members only (the host refuses the others).
    let active: HashSet<String> = maillage_sdk::members()
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    let sent: HashSet<String> = Query::new()
        .filter("day = {:d} && user in {:u}")
        .param("d", day)
        .param("u", batch)
        .fields(&["user"])
        .fetch_all::<UserRow>(DIGEST_SENDS, batch.len())?
        .into_iter()
        .map(|r| r.user)
        .collect();
    let users: Vec<&String> = batch
        .iter()
        .filter(|u| active.contains(*u) && !sent.contains(*u))
        .collect();
    if users.is_empty() {
        return Ok(());
    }
    // Current projects (groups not archived), by thread subject, named as their group.
    let current: HashMap<String, Group> = groups::visible_groups()
        .into_iter()
        .filter(|g| !g.archived)
        .map(|g| (g.id.clone(), g))
        .collect();
    let projects: HashMap<String, Project> = model::all_projects()?
        .into_iter()
        .filter_map(|p| {
            let group = current.get(&p.group_id)?;
            let project = Project {
                name: group.name.clone(),
                ..p
            };
            Some((crate::projects::thread_subject(&project), project))
        })
        .collect();
    let since = time::now_seconds() - WINDOW_SECONDS;
    let messages: Vec<Posted> = Query::new()
        .filter("created_at >= {:t}")
        .param("t", since)
        .sort("created_at")
        .fields(&["subject", "author", "author_name", "created_at"])
        .fetch_all::<Posted>(thread::COLLECTION, MESSAGES_MAX)?
        .into_iter()
        .filter(|m| projects.contains_key(&m.subject))
        .collect();
    if messages.is_empty() {
        return Ok(());
    }
    let mut subjects: Vec<String> = messages.iter().map(|m| m.subject.clone()).collect();
    subjects.sort();
    subjects.dedup();
    let mut members: HashMap<String, HashSet<String>> = HashMap::new();
    for subject in &subjects {
        let group_id = projects.get(subject).map(|p| p.group_id.as_str());
        let of_group = group_id.and_then(groups::members).unwrap_or_default();
        members.insert(
            subject.clone(),
            of_group.into_iter().map(|m| m.user_id).collect(),
        );
    }
    let markers = read_markers(&subjects, &users)?;
    let base = format!(
        "{}{}",
        maillage_sdk::public_url(),
        maillage_sdk::context().base_path
    );
    let preferences_link = format!("{base}/preferences");
    for user in users {
        let unread = unread_for(user, &messages, &members, &markers);
        let mut lines: Vec<Line> = unread
            .into_iter()
            .filter_map(|u| {
                let project = projects.get(&u.subject)?;
                Some(Line {
                    title: project.title(),
                    link: format!("{base}{}#non-lus", project.path()),
                    count: u.count,
                    authors: u.authors,
                })
            })
            .collect();
        if lines.is_empty() {
            continue;
        }
        lines.sort_by_cached_key(|l| maillage_sdk::text::fold(&l.title));
        let total: i64 = lines.iter().map(|l| l.count).sum();
        let (subject, text, html) = compose(&lines, &preferences_link);
        let message = Mail {
            to: vec![user.clone()],
            external: Vec::new(),
            subject,
            text,
            html: Some(html),
            attachments: Vec::new(),
        };
        if let Err(e) = mail::send(&message) {
            log::warn(&format!(
                "projets: digest of {day} not mailed to {user}: {e}"
            ));
            continue;
        }
        records::insert::<_, serde_json::Value>(
            DIGEST_SENDS,
            &json!({ "day": day, "user": user, "messages": total }),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz(name: &str) -> TimeZone {
        time::zone(name).expect(name)
    }

    fn at(seconds: i64) -> Timestamp {
        time::from_seconds(seconds)
    }

    fn date(text: &str) -> Date {
        time::parse_date(text).expect(text)
    }

    /// (day, Unix seconds) of the next digest.
    fn next(now: i64, hour: u8, zone: &str, not_before: Option<&str>) -> (String, i64) {
        let (day, instant) =
            next_digest(at(now), hour, &tz(zone), not_before.map(date)).expect("a next digest");
        (time::date_input(day), instant.as_second())
    }

    #[test]
    fn the_next_digest_keeps_its_local_hour_across_daylight_saving_changes() {
        // Paris, 2026-03-28 08:00 (UTC+1): the next 07:00 is on the 29th, in summer time
        // (UTC+2): 05:00 UTC, 22 hours later.
        assert_eq!(
            next(1_774_681_200, 7, "Europe/Paris", None),
            ("2026-03-29".into(), 1_774_760_400)
        );
        // 06:00 in Paris: today's 07:00 is still ahead, unless a later day is asked.
        assert_eq!(
            next(1_774_674_000, 7, "Europe/Paris", None),
            ("2026-03-28".into(), 1_774_677_600)
        );
        assert_eq!(
            next(1_774_674_000, 7, "Europe/Paris", Some("2026-03-29")),
            ("2026-03-29".into(), 1_774_760_400)
        );
        // A day not after today changes nothing.
        assert_eq!(
            next(1_774_674_000, 7, "Europe/Paris", Some("2026-03-01")),
            ("2026-03-28".into(), 1_774_677_600)
        );
        // 2026-03-29 02:00 does not happen in Paris: the digest goes at 03:00 (01:00 UTC).
        assert_eq!(
            next(1_774_699_200, 2, "Europe/Paris", None),
            ("2026-03-29".into(), 1_774_746_000)
        );
        // Paris, 2026-10-24 at 07:00 (UTC+2): today's is not ahead any more; the 25th at
        // 07:00 is in winter time (UTC+1): 06:00 UTC, 25 hours later.
        assert_eq!(
            next(1_792_818_000, 7, "Europe/Paris", None),
            ("2026-10-25".into(), 1_792_908_000)
        );
        // 2026-10-25 02:00 happens twice in Paris: the first one (00:00 UTC).
        assert_eq!(
            next(1_792_843_200, 2, "Europe/Paris", None),
            ("2026-10-25".into(), 1_792_886_400)
        );
    }

    #[test]
    fn the_next_digest_is_in_the_structures_own_zone() {
        // Cayenne (UTC-3, no summer time), 2026-03-28 09:00: the 29th at 07:00 is 10:00 UTC.
        assert_eq!(
            next(1_774_699_200, 7, "America/Cayenne", None),
            ("2026-03-29".into(), 1_774_778_400)
        );
        // 2026-03-29 01:00 UTC is still the 28th in Cayenne (22:00): its 23:00 is the
        // 28th's, 02:00 UTC on the 29th.
        assert_eq!(
            next(1_774_746_000, 23, "America/Cayenne", None),
            ("2026-03-28".into(), 1_774_749_600)
        );
        // The same instant in Paris is the 29th at 03:00 (summer time): its 23:00 is
        // the 29th's.
        assert_eq!(
            next(1_774_746_000, 23, "Europe/Paris", None).0,
            "2026-03-29"
        );
        assert!(next_digest(at(1_774_746_000), 24, &tz("Europe/Paris"), None).is_none());
    }

    #[test]
    fn payloads_are_read_back_and_malformed_ones_refused() {
        let first = Payload {
            day: date("2026-03-29"),
            after: None,
        };
        assert_eq!(Payload::parse(&first.to_json().to_string()), Some(first));
        let next = Payload {
            day: date("2026-03-29"),
            after: Some("42".into()),
        };
        assert_eq!(Payload::parse(&next.to_json().to_string()), Some(next));
        assert_eq!(
            Payload::parse(r#"{"day": "2026-03-29"}"#).map(|p| p.after),
            Some(None)
        );
        for bad in [
            "",
            "null",
            r#"{"after": null}"#,
            r#"{"day": "29/03/2026", "after": null}"#,
            r#"{"day": "2026-03-29", "after": "x1"}"#,
            r#"{"day": "2026-03-29", "after": 42}"#,
        ] {
            assert_eq!(Payload::parse(bad), None, "{bad}");
        }
    }

    fn posted(id: &str, subject: &str, author: &str, name: &str, created_at: i64) -> Posted {
        Posted {
            id: id.into(),
            subject: subject.into(),
            author: author.into(),
            author_name: name.into(),
            created_at,
        }
    }

    #[test]
    fn what_is_new_is_others_messages_after_the_marker_in_ones_groups() {
        let messages = vec![
            posted("a1", "projet:1", "2", "Rémi", 100),
            posted("a2", "projet:1", "3", "Anne", 100),
            posted("a3", "projet:1", "2", "Rémi", 101),
            posted("b1", "projet:2", "2", "Rémi", 102),
            posted("c1", "projet:3", "4", "Gustave", 103),
            posted("a4", "projet:1", "4", "Gustave", 104),
        ];
        let members: HashMap<String, HashSet<String>> = [
            ("projet:1", vec!["2", "3", "4"]),
            ("projet:2", vec!["2", "3"]),
            ("projet:3", vec!["4"]),
        ]
        .into_iter()
        .map(|(s, m)| (s.to_string(), m.into_iter().map(String::from).collect()))
        .collect();
        // Anne read projet:1 up to a1 (same second as her own a2): a3 and a4 are new.
        let mut markers: HashMap<String, HashMap<String, Cursor>> = HashMap::new();
        markers.entry("projet:1".into()).or_default().insert(
            "3".into(),
            Cursor {
                at: 100,
                id: "a1".into(),
            },
        );
        let anne = unread_for("3", &messages, &members, &markers);
        assert_eq!(
            anne,
            vec![
                Unread {
                    subject: "projet:1".into(),
                    count: 2,
                    authors: vec!["Rémi".into(), "Gustave".into()],
                },
                Unread {
                    subject: "projet:2".into(),
                    count: 1,
                    authors: vec!["Rémi".into()],
                },
            ]
        );
        // Rémi: no marker, every message of others in his groups; not projet:3's.
        let remi = unread_for("2", &messages, &members, &markers);
        assert_eq!(remi.len(), 1);
        assert_eq!(remi[0].count, 2);
        assert_eq!(remi[0].authors, ["Anne", "Gustave"]);
        // Read up to the newest: nothing.
        markers.entry("projet:1".into()).or_default().insert(
            "2".into(),
            Cursor {
                at: 104,
                id: "a4".into(),
            },
        );
        assert!(unread_for("2", &messages, &members, &markers).is_empty());
        // Someone in no group of these threads: nothing.
        assert!(unread_for("9", &messages, &members, &markers).is_empty());
    }

    #[test]
    fn the_mail_names_projects_counts_and_authors_never_a_text() {
        let lines = vec![
            Line {
                title: "1.2 Soins non programmés".into(),
                link: "https://m.test/cpts-a/projets/p/12#non-lus".into(),
                count: 2,
                authors: vec!["Rémi Référent".into(), "Gustave <b>Invité</b>".into()],
            },
            Line {
                title: "Prévention".into(),
                link: "https://m.test/cpts-a/projets/p/13#non-lus".into(),
                count: 1,
                authors: vec!["Anne Active".into()],
            },
        ];
        let (subject, text, html) = compose(&lines, "https://m.test/cpts-a/projets/preferences");
        assert_eq!(subject, "Discussions de vos projets : 3 nouveaux messages");
        assert!(text.contains(
            "- 1.2 Soins non programmés : 2 nouveaux messages (Rémi Référent, Gustave <b>Invité</b>)\n  https://m.test/cpts-a/projets/p/12#non-lus"
        ));
        assert!(text.contains("- Prévention : 1 nouveau message (Anne Active)"));
        assert!(text.contains(
            "Pour ne plus recevoir ce résumé : https://m.test/cpts-a/projets/preferences"
        ));
        assert!(text.trim_end().ends_with(HEALTH_WARNING));
        assert!(html.contains(r#"<a href="https://m.test/cpts-a/projets/p/12#non-lus">"#));
        assert!(html.contains("Gustave &lt;b&gt;Invité&lt;/b&gt;"), "{html}");
        assert!(html.contains(HEALTH_WARNING));
        let (subject, _, _) = compose(&lines[1..], "x");
        assert_eq!(subject, "Discussions de vos projets : 1 nouveau message");
    }
}
