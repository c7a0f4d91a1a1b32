//! From a closed date poll to a meeting: on `poll.closed` (payload in
//! docs/polls-contract.md) the module creates the meeting with the poll's invitees and
//! mails them the invitation. Idempotent: the meeting keeps the poll's id under a
//! unique key, so a re-delivered event finds it and does nothing.

use maillage_sdk::records::{Query, StoreError, id_text};
use maillage_sdk::time;
use serde::Deserialize;

use crate::calendar::{self, Notice};
use crate::meeting::{self, NewInvitee, NewMeeting, add_invitee};
use crate::model::{MEETINGS, Meeting};

/// The topic this module subscribes to.
pub const POLL_CLOSED: &str = "poll.closed";
/// The start of a meeting made from a whole-day slot, in the structure's zone.
const WHOLE_DAY_START: &str = "09:00";

#[derive(Debug, Deserialize)]
struct Slot {
    #[serde(default)]
    whole_day: bool,
    #[serde(default)]
    start: Option<i64>,
    #[serde(default)]
    zone: Option<String>,
    #[serde(default)]
    date: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PollClosed {
    poll: serde_json::Value,
    #[serde(default)]
    title: String,
    slot: Slot,
    #[serde(default)]
    duration_minutes: Option<i64>,
    #[serde(default)]
    place: Option<String>,
    #[serde(default)]
    video: Option<String>,
    #[serde(default)]
    group_id: Option<serde_json::Value>,
    #[serde(default)]
    invitees: Vec<serde_json::Value>,
    #[serde(default)]
    organiser: Option<serde_json::Value>,
}

fn trimmed(text: Option<String>, max: usize) -> String {
    let text = text.unwrap_or_default();
    let text = text.trim();
    text.chars().take(max).collect()
}

/// The start (Unix seconds) and zone of the chosen slot.
fn start_of(slot: &Slot) -> Result<(i64, String), String> {
    let structure_zone = maillage_sdk::context().time_zone;
    if !slot.whole_day
        && let Some(start) = slot.start
    {
        let zone = slot
            .zone
            .clone()
            .filter(|z| time::is_valid_zone(z))
            .unwrap_or(structure_zone);
        return Ok((start, zone));
    }
    let date = slot
        .date
        .as_deref()
        .ok_or("poll.closed: the slot has neither a start nor a date")?;
    let at = time::local_to_instant(&format!("{date}T{WHOLE_DAY_START}"), &structure_zone)
        .map_err(|e| format!("poll.closed: slot date {date:?}: {e}"))?;
    Ok((at.as_second(), structure_zone))
}

pub fn on_poll_closed(payload: &str) -> Result<(), String> {
    let event: PollClosed =
        serde_json::from_str(payload).map_err(|e| format!("poll.closed payload: {e}"))?;
    let Some(poll) = id_text(&event.poll) else {
        return Err("poll.closed without a poll id".into());
    };
    let store = |e: StoreError| format!("{e}");
    let existing = Query::new()
        .filter("from_poll = {:p}")
        .param("p", &poll)
        .first::<Meeting>(MEETINGS)
        .map_err(store)?;
    if existing.is_some() {
        return Ok(());
    }
    let (start_at, zone) = start_of(&event.slot)?;
    let members = maillage_sdk::members();
    let name_of = |id: &str| {
        members
            .iter()
            .find(|m| m.user_id == id)
            .map(|m| m.display_name.clone())
    };
    let organiser = event
        .organiser
        .as_ref()
        .and_then(id_text)
        .and_then(|id| name_of(id.as_str()).map(|name| (id, name)));
    let mut invitees: Vec<NewInvitee> = Vec::new();
    if let Some((id, name)) = &organiser {
        add_invitee(&mut invitees, NewInvitee::member(id, name));
    }
    // The poll's invitees who are still members of the structure.
    for id in event.invitees.iter().filter_map(id_text) {
        if let Some(name) = name_of(id.as_str()) {
            add_invitee(&mut invitees, NewInvitee::member(&id, &name));
        }
    }
    let group_id = event.group_id.as_ref().and_then(id_text);
    let title = {
        let t = trimmed(Some(event.title.clone()), crate::model::MAX_TITLE);
        if t.is_empty() {
            "Réunion".to_string()
        } else {
            t
        }
    };
    let video = trimmed(event.video, crate::model::MAX_VIDEO);
    let spec = NewMeeting {
        agenda: format!("Date retenue par le sondage « {title} »."),
        title,
        kind: if group_id.is_some() {
            "groupe-de-travail".into()
        } else {
            "pleniere".into()
        },
        group_id,
        group_name: String::new(),
        start_at,
        zone,
        duration: event.duration_minutes.unwrap_or(60).clamp(5, 1440),
        place: trimmed(event.place, crate::model::MAX_PLACE),
        video: if video.starts_with("https://") || video.starts_with("http://") {
            video
        } else {
            String::new()
        },
        organiser,
        from_poll: Some(poll.clone()),
        invitees,
    };
    let meeting = meeting::store(&spec, time::now_seconds()).map_err(store)?;
    let to: Vec<String> = spec
        .invitees
        .iter()
        .filter_map(|i| i.user.clone())
        .collect();
    calendar::send(&meeting, Notice::Invitation, &to);
    maillage_sdk::log::info(&format!(
        "agenda: meeting {} created from poll {poll} with {} invitee(s)",
        meeting.id,
        spec.invitees.len()
    ));
    Ok(())
}
