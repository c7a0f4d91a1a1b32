//! « Temps passé » on the tasks of the projects module (module id `projets`): it
//! publishes `task.time-logged` once per creation, edit or deletion of a time entry
//! (docs/projects-contract.md), and this module keeps the facts in `temps`, one record
//! per entry, to add them to the meetings' time in « Mon compte ».
//!
//! At-least-once delivery is harmless: an event applies only when its revision is higher
//! than the stored one, so a redelivery, a republish (same revision) and an older event
//! arriving late change nothing; a deleted entry stays as a tombstone (`deleted`,
//! minutes 0) with its revision, so a late `updated` does not bring it back. Events of
//! this topic from any other module than `projets` are ignored.

use maillage_sdk::records::{self, Query, StoreError};
use maillage_sdk::{log, time};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::model::{MAX_LINES, TASK_TIME, TaskTime};
use crate::money;
use maillage_sdk::records::id_text;

/// The topic this module subscribes to.
pub const TIME_LOGGED: &str = "task.time-logged";
/// The only publisher whose `task.time-logged` events count.
pub const PROJECTS_MODULE: &str = "projets";
/// `change` of a deleted entry.
pub const DELETED: &str = "deleted";
/// Most minutes one entry holds (the projects module refuses more than 24 h).
pub const MAX_ENTRY_MINUTES: i64 = 1440;

/// The payload, as the projects module publishes it (the fields this module keeps).
#[derive(Debug, Deserialize)]
struct Payload {
    #[serde(default)]
    entry: Option<Value>,
    #[serde(default)]
    revision: Option<i64>,
    #[serde(default)]
    change: Option<String>,
    #[serde(default)]
    group_id: Option<Value>,
    #[serde(default)]
    group_name: Option<String>,
    #[serde(default)]
    project_start: Option<String>,
    #[serde(default)]
    task_title: Option<String>,
    #[serde(default)]
    person: Option<Value>,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    minutes: Option<i64>,
    #[serde(default)]
    entered_by_name: Option<String>,
}

/// What one event asks to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    /// The projects module's entry id.
    pub entry: String,
    pub revision: i64,
    /// The record of `temps`, every field set.
    pub record: Value,
}

/// A text of the payload, trimmed and cut to `max` characters.
fn clean(text: Option<&str>, max: usize) -> String {
    text.unwrap_or_default().trim().chars().take(max).collect()
}

/// A "YYYY-MM-DD" date of the payload, normalised; none when absent or malformed.
fn date_of(text: Option<&str>) -> Option<String> {
    text.and_then(|d| time::parse_date(d).ok())
        .map(time::date_input)
}

/// Reads an event's payload into the record it writes, or says why it is refused
/// (no valid entry id, revision, person, date worked, or minutes out of 0–1440).
pub fn parse(payload: &str) -> Result<Logged, String> {
    let p: Payload =
        serde_json::from_str(payload).map_err(|e| format!("{TIME_LOGGED} payload: {e}"))?;
    let Some(entry) = p
        .entry
        .as_ref()
        .and_then(id_text)
        .filter(|e| records::valid_id(e))
    else {
        return Err(format!("{TIME_LOGGED} without a valid entry id"));
    };
    let revision = match p.revision {
        Some(r) if r >= 1 => r,
        other => {
            return Err(format!(
                "{TIME_LOGGED}: entry {entry} has no valid revision ({other:?})"
            ));
        }
    };
    let Some(person) = p
        .person
        .as_ref()
        .and_then(id_text)
        .filter(|a| records::valid_ref(a))
    else {
        return Err(format!("{TIME_LOGGED}: entry {entry} has no valid person"));
    };
    let Some(date) = date_of(p.date.as_deref()) else {
        return Err(format!(
            "{TIME_LOGGED}: entry {entry} has no valid date worked ({:?})",
            p.date
        ));
    };
    // Anything but a deletion carries the entry's current state.
    let deleted = p.change.as_deref() == Some(DELETED);
    let minutes = if deleted {
        0
    } else {
        match p.minutes {
            Some(m) if (0..=MAX_ENTRY_MINUTES).contains(&m) => m,
            other => {
                return Err(format!(
                    "{TIME_LOGGED}: entry {entry} has no valid minutes ({other:?})"
                ));
            }
        }
    };
    let group_id = p
        .group_id
        .as_ref()
        .and_then(id_text)
        .filter(|g| records::valid_ref(g));
    let record = json!({
        "entry": entry,
        "revision": revision,
        "deleted": deleted,
        "group_id": group_id,
        "group_name": clean(p.group_name.as_deref(), 200),
        "person": person,
        "date": date,
        "year": money::year_of(&date).unwrap_or(0),
        "minutes": minutes,
        "task_title": clean(p.task_title.as_deref(), 200),
        "entered_by_name": clean(p.entered_by_name.as_deref(), 200),
        "project_start": date_of(p.project_start.as_deref()),
    });
    Ok(Logged {
        entry,
        revision,
        record,
    })
}

/// Whether an event of revision `incoming` changes an entry stored at revision `stored`
/// (none: not stored yet). Only a newer revision does: a redelivery or a republish
/// (same revision) and an older event arriving late are ignored, and a tombstone keeps
/// a deleted entry deleted.
pub fn applies(stored: Option<i64>, incoming: i64) -> bool {
    stored.is_none_or(|revision| incoming > revision)
}

/// `task.time-logged` from `source`.
pub fn on_time_logged(source: &str, payload: &str) -> Result<(), String> {
    if source != PROJECTS_MODULE {
        log::warn(&format!(
            "indemnites: {TIME_LOGGED} from module {source:?} ignored (only {PROJECTS_MODULE:?} publishes it)"
        ));
        return Ok(());
    }
    let store = |e: StoreError| format!("{TIME_LOGGED}: {e}");
    let logged = parse(payload)?;
    let stored = Query::new()
        .filter("entry = {:e}")
        .param("e", &logged.entry)
        .first::<TaskTime>(TASK_TIME)
        .map_err(store)?;
    let stored_revision = stored.map(|s| s.revision);
    if !applies(stored_revision, logged.revision) {
        log::info(&format!(
            "indemnites: time entry {} revision {} ignored (revision {} already kept)",
            logged.entry,
            logged.revision,
            stored_revision.unwrap_or_default()
        ));
        return Ok(());
    }
    records::upsert::<_, Value>(TASK_TIME, &["entry"], &logged.record).map_err(store)?;
    Ok(())
}

/// The acting member's time on tasks (deleted entries left out), by date worked.
pub fn my_task_time(me: &str) -> Result<Vec<TaskTime>, StoreError> {
    let query = Query::new()
        .filter("person = {:p} && deleted = false")
        .param("p", me)
        .sort("date,created_at");
    query.fetch_all(TASK_TIME, MAX_LINES)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(revision: i64, change: &str, minutes: i64) -> String {
        json!({
            "entry": "01935f00aa", "revision": revision, "change": change,
            "project": "01934a", "group_id": "12", "group_name": " Soins non programmés ",
            "numero": "1.2", "mission": "1", "project_start": "2020-11-16",
            "task": "01935e", "task_title": "Rédiger la fiche réflexe",
            "person": "34", "person_name": "Marc Médecin",
            "date": "2026-03-12", "minutes": minutes,
            "entered_by": "7", "entered_by_name": "Camille Coordinatrice", "on_behalf": true,
            "at": 1773331200
        })
        .to_string()
    }

    #[test]
    fn reads_the_payload_into_a_record() {
        let logged = parse(&payload(2, "updated", 90)).expect("a valid event");
        assert_eq!(logged.entry, "01935f00aa");
        assert_eq!(logged.revision, 2);
        let r = &logged.record;
        assert_eq!(r["deleted"], json!(false));
        assert_eq!(r["group_id"], json!("12"));
        assert_eq!(r["group_name"], json!("Soins non programmés"));
        assert_eq!(r["person"], json!("34"));
        assert_eq!(r["date"], json!("2026-03-12"));
        assert_eq!(r["year"], json!(2026));
        assert_eq!(r["minutes"], json!(90));
        assert_eq!(r["task_title"], json!("Rédiger la fiche réflexe"));
        assert_eq!(r["entered_by_name"], json!("Camille Coordinatrice"));
        assert_eq!(r["project_start"], json!("2020-11-16"));
        // The note and the other facts are not kept.
        assert!(r.get("person_name").is_none());
    }

    #[test]
    fn a_deletion_is_a_tombstone_with_no_minutes() {
        let logged = parse(&payload(3, "deleted", 90)).expect("a valid event");
        assert_eq!(logged.revision, 3);
        assert_eq!(logged.record["deleted"], json!(true));
        assert_eq!(logged.record["minutes"], json!(0));
    }

    #[test]
    fn refuses_malformed_payloads() {
        assert!(parse("not json").is_err());
        assert!(parse(&payload(0, "created", 90)).is_err());
        assert!(parse(&payload(1, "created", -5)).is_err());
        assert!(parse(&payload(1, "created", 1441)).is_err());
        let mut bad: Value = serde_json::from_str(&payload(1, "created", 90)).unwrap();
        bad["date"] = json!("12/03/2026");
        assert!(parse(&bad.to_string()).is_err());
        let mut bad: Value = serde_json::from_str(&payload(1, "created", 90)).unwrap();
        bad["person"] = json!(null);
        assert!(parse(&bad.to_string()).is_err());
        let mut bad: Value = serde_json::from_str(&payload(1, "created", 90)).unwrap();
        bad["entry"] = json!("../x");
        assert!(parse(&bad.to_string()).is_err());
        // Numbers for ids are read as text; an unknown start date is left out.
        let mut numbers: Value = serde_json::from_str(&payload(1, "created", 90)).unwrap();
        numbers["person"] = json!(34);
        numbers["group_id"] = json!(12);
        numbers["project_start"] = json!("");
        let logged = parse(&numbers.to_string()).expect("ids as numbers");
        assert_eq!(logged.record["person"], json!("34"));
        assert_eq!(logged.record["group_id"], json!("12"));
        assert_eq!(logged.record["project_start"], json!(null));
    }

    #[test]
    fn only_a_newer_revision_applies() {
        // Not stored yet: created, or any first event (delivered out of order).
        assert!(applies(None, 1));
        assert!(applies(None, 3));
        // Edited, then deleted.
        assert!(applies(Some(1), 2));
        assert!(applies(Some(2), 3));
        // Delivered twice, or republished: nothing changes.
        assert!(!applies(Some(2), 2));
        // A late `updated` (2) after the deletion (3, the tombstone's): ignored.
        assert!(!applies(Some(3), 2));
    }
}
