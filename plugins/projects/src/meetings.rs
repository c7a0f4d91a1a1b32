//! The meetings of a project's group, from the agenda module: it publishes
//! `meeting.saved` for every creation, change and cancellation of a group's meeting, and
//! this module keeps a copy (`group_meetings`, one record per meeting) to list the
//! upcoming and past meetings on the project page and to link a task to one of them.
//!
//! A copy rather than a question to the agenda at each page view: the project page
//! costs no second module call (its p95 target is 30 ms), and it still lists the
//! meetings when the agenda is slow or disabled. At-least-once delivery is harmless: an
//! event applies only when its (`saved_at`, `sequence`) is not older than the stored
//! one. Events of this topic from any other module than `agenda` are ignored (both
//! rules in [`crate::copies`], shared with the documents). What a member may see of a
//! meeting itself stays the agenda's decision: the project page shows a title and a
//! date, and links to the agenda's page.

use maillage_sdk::html::{Markup, html};
use maillage_sdk::records::{self, Query, StoreError};
use maillage_sdk::time;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::copies::{self, Copies, module_href};
use crate::model::{GROUP_MEETINGS, Loaded};

/// The topic this module subscribes to.
pub const MEETING_SAVED: &str = "meeting.saved";
/// The only publisher whose `meeting.saved` events count.
pub const AGENDA_MODULE: &str = "agenda";
/// The agenda's status of a cancelled meeting.
pub const CANCELLED: &str = "annulee";
/// Meetings listed on the project page, each way.
const LISTED: u32 = 5;
/// How far back the task form offers past meetings (seconds).
const LINKABLE_PAST: i64 = 60 * 86_400;

/// One meeting of a group, as kept.
#[derive(Debug, Clone, Deserialize)]
pub struct GroupMeeting {
    pub id: String,
    #[serde(default, deserialize_with = "records::or_default")]
    pub meeting: String,
    #[serde(default, deserialize_with = "records::or_default")]
    pub group_id: String,
    #[serde(default, deserialize_with = "records::or_default")]
    pub title: String,
    #[serde(default, deserialize_with = "records::or_default")]
    pub start_at: i64,
    #[serde(default, deserialize_with = "records::or_default")]
    pub zone: String,
    #[serde(default, deserialize_with = "records::or_default")]
    pub duration: i64,
    #[serde(default, deserialize_with = "records::or_default")]
    pub status: String,
    #[serde(default, deserialize_with = "records::or_default")]
    pub sequence: i64,
    #[serde(default, deserialize_with = "records::or_default")]
    pub saved_at: i64,
}

impl GroupMeeting {
    pub fn cancelled(&self) -> bool {
        self.status == CANCELLED
    }

    /// The agenda's page of the meeting.
    pub fn href(&self) -> String {
        module_href(AGENDA_MODULE, &format!("/r/{}", self.meeting))
    }

    /// « jeudi 3 décembre 2026 à 18:30 » in the meeting's zone (the structure's if none).
    pub fn when(&self) -> String {
        let zone = if self.zone.is_empty() {
            maillage_sdk::context().time_zone
        } else {
            self.zone.clone()
        };
        time::instant_fr(
            time::from_seconds(self.start_at),
            &time::zone_or_default(&zone),
        )
    }
}

/// The payload, as the agenda publishes it.
#[derive(Debug, Deserialize)]
struct Payload {
    meeting: Value,
    group_id: Value,
    #[serde(default)]
    title: String,
    start_at: i64,
    #[serde(default)]
    zone: String,
    #[serde(default)]
    duration: i64,
    #[serde(default)]
    status: String,
    #[serde(default)]
    sequence: i64,
    #[serde(default)]
    saved_at: i64,
}

/// The record one event asks to keep, or why it is ignored.
fn record_of(payload: &str) -> Result<Value, String> {
    let p: Payload = serde_json::from_str(payload).map_err(|e| format!("bad payload: {e}"))?;
    let meeting = copies::record_id(&p.meeting, "meeting")?;
    let group_id = copies::group_id(&p.group_id)?;
    let title: String = p.title.chars().take(200).collect();
    Ok(json!({
        "meeting": meeting,
        "group_id": group_id,
        "title": title,
        "start_at": p.start_at,
        "zone": if time::is_valid_zone(&p.zone) { p.zone } else { String::new() },
        "duration": p.duration.clamp(0, 24 * 60),
        "status": p.status,
        "sequence": p.sequence,
        "saved_at": p.saved_at,
    }))
}

/// The copy of the agenda's meetings of groups.
const MEETINGS: Copies = Copies {
    topic: MEETING_SAVED,
    publisher: AGENDA_MODULE,
    collection: GROUP_MEETINGS,
    key: "meeting",
    record_of,
};

/// `meeting.saved` from `source`: keeps the newest copy of the meeting.
pub fn on_saved(source: &str, payload: &str) -> Result<(), String> {
    MEETINGS.on_event(source, payload)
}

/// The group's meetings from `from` (Unix seconds) on, soonest first, cancelled ones
/// included.
fn upcoming(group_id: &str, from: i64, limit: u32) -> Result<Vec<GroupMeeting>, StoreError> {
    Query::new()
        .filter("group_id = {:g} && start_at >= {:t}")
        .param("g", group_id)
        .param("t", from)
        .sort("start_at")
        .limit(limit)
        .fetch(GROUP_MEETINGS)
        .map(|(items, _)| items)
}

/// The group's meetings before `before`, latest first.
fn past(group_id: &str, before: i64, limit: u32) -> Result<Vec<GroupMeeting>, StoreError> {
    Query::new()
        .filter("group_id = {:g} && start_at < {:t}")
        .param("g", group_id)
        .param("t", before)
        .sort("-start_at")
        .limit(limit)
        .fetch(GROUP_MEETINGS)
        .map(|(items, _)| items)
}

/// One meeting of the group, by the agenda's id.
pub fn find(group_id: &str, meeting: &str) -> Result<Option<GroupMeeting>, StoreError> {
    if !records::valid_id(meeting) {
        return Ok(None);
    }
    Ok(Query::new()
        .filter("meeting = {:m}")
        .param("m", meeting)
        .first::<GroupMeeting>(GROUP_MEETINGS)?
        .filter(|m| m.group_id == group_id))
}

/// The meetings a task may be linked to: not cancelled, from two months ago on.
pub fn linkable(group_id: &str) -> Result<Vec<GroupMeeting>, StoreError> {
    let mut all = upcoming(group_id, time::now_seconds() - LINKABLE_PAST, 100)?;
    all.retain(|m| !m.cancelled());
    Ok(all)
}

/// One meeting in a list: `li[data-reunion]`, its title linking to the agenda.
fn item(m: &GroupMeeting) -> Markup {
    html! {
        li data-reunion=(m.meeting) data-debut=(m.start_at) class=[m.cancelled().then_some("annulee")] {
            a href=(m.href()) { (if m.title.is_empty() { "Réunion" } else { m.title.as_str() }) }
            " · " (m.when())
            @if m.cancelled() { " " span class="badge" { "Annulée" } }
        }
    }
}

/// The « Réunions » section of the project page: the next and the last meetings of its
/// group, and for contributors a link to plan one in the agenda.
pub fn section(l: &Loaded) -> Result<Markup, StoreError> {
    let now = time::now_seconds();
    let next = upcoming(&l.group.id, now, LISTED)?;
    let last = past(&l.group.id, now, LISTED)?;
    let plan = module_href(AGENDA_MODULE, &format!("/nouvelle?groupe={}", l.group.id));
    Ok(html! {
        section id="reunions" {
            h2 { "Réunions" }
            h3 { "À venir" }
            @if next.is_empty() {
                p class="empty" { "Aucune réunion prévue." }
            } @else {
                ul class="reunions a-venir" { @for m in &next { (item(m)) } }
            }
            h3 { "Passées" }
            @if last.is_empty() {
                p class="empty" { "Aucune réunion passée." }
            } @else {
                ul class="reunions passees" { @for m in &last { (item(m)) } }
            }
            @if l.contributes() && !l.archived() {
                a class="button" href=(plan) { "Planifier une réunion" }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_becomes_a_record_and_bad_ones_are_refused() {
        let r = record_of(
            r#"{"meeting":"01JABC","group_id":7,"title":"Comité","start_at":1800000000,"zone":"America/Cayenne","duration":90,"status":"prevue","sequence":2,"saved_at":1790000000}"#,
        )
        .unwrap();
        assert_eq!(r["meeting"], "01JABC");
        assert_eq!(r["group_id"], "7");
        assert_eq!(r["zone"], "America/Cayenne");
        assert_eq!(r["duration"], 90);
        let bad_zone =
            record_of(r#"{"meeting":"m1","group_id":"7","start_at":1,"zone":"Mars/Olympus"}"#)
                .unwrap();
        assert_eq!(bad_zone["zone"], "");
        for bad in [
            "not json",
            r#"{"group_id":"7","start_at":1}"#,
            r#"{"meeting":"m1","start_at":1}"#,
            r#"{"meeting":"a b","group_id":"7","start_at":1}"#,
        ] {
            assert!(record_of(bad).is_err(), "{bad}");
        }
    }
}
