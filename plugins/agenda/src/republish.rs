//! « Republier les réunions aux autres modules » (coordinators): [`MEETING_SAVED`] again
//! for every meeting of a group, past and future, cancelled ones as cancelled, each with
//! the payload [`publish_saved`] sends for it now. For a subscriber enabled after the
//! meetings were saved (the host fans an event out only to the modules enabled at that
//! moment): the projects module's project page then lists them. Receivers keep the copy
//! with the greatest (`saved_at`, `sequence`), so a repeat changes nothing.
//!
//! In batches: one page of [`BATCH`] meetings per call (the host's largest page), its
//! events written in the call's transaction; when more remain, the call schedules this
//! module's timer [`REPUBLISH_TOPIC`] with the next page's cursor, and each timer call
//! does the next batch the same way, so that no call nears its deadline or its memory.
//!
//! [`MEETING_SAVED`]: crate::meeting::MEETING_SAVED

use maillage_sdk::records::{Query, StoreError};
use maillage_sdk::{Response, log, time, timers};
use serde_json::json;

use crate::meeting::publish_saved;
use crate::model::{MEETINGS, Meeting, Viewer};
use crate::ui::PageResult;

/// The timer topic of a republication's next batch (this module's own).
pub const REPUBLISH_TOPIC: &str = "agenda.republier";
/// Meetings republished per call: one page of the host's (500 records at most a query).
pub const BATCH: u32 = 500;
/// The meetings that publish [`crate::meeting::MEETING_SAVED`]: a group's.
const OF_A_GROUP: &str = "group_id != null";
/// What the payload is built from (the id comes anyway): the rest of the record (the
/// agenda, up to 10 000 characters) is not read.
const FIELDS: [&str; 7] = [
    "group_id", "title", "start_at", "zone", "duration", "status", "sequence",
];

/// One batch done: how many meetings, and the cursor of the next page if any.
struct Batch {
    published: usize,
    next: Option<String>,
}

/// Publishes the page of meetings after `cursor` (from the first when none), oldest
/// created first.
fn publish_batch(cursor: Option<String>) -> Result<Batch, StoreError> {
    let (meetings, next) = Query::new()
        .filter(OF_A_GROUP)
        .sort("created_at")
        .limit(BATCH)
        .after(cursor)
        .fields(&FIELDS)
        .fetch::<Meeting>(MEETINGS)?;
    for meeting in &meetings {
        publish_saved(meeting);
    }
    Ok(Batch {
        published: meetings.len(),
        next,
    })
}

/// Schedules the batch after `cursor`, in the call's transaction, due at once.
fn schedule_next(cursor: &str) -> Result<String, String> {
    timers::schedule(
        REPUBLISH_TOPIC,
        &json!({ "apres": cursor }),
        time::now_seconds(),
    )
}

/// « 3 réunions republiées aux autres modules. » (singular for 0 and 1).
pub fn confirmation(count: i64) -> String {
    if count <= 1 {
        format!("{count} réunion republiée aux autres modules.")
    } else {
        format!("{count} réunions republiées aux autres modules.")
    }
}

/// `POST /republier` (coordinators): the first batch now, the others on the timer; 303
/// to the list with the number of meetings (`?ok=republie&n=…`). Audit
/// `reunions.republier`.
pub fn republish() -> PageResult {
    let viewer = Viewer::current();
    if !viewer.coordinator {
        return Ok(Response::error(
            403,
            "Seuls les coordinateurs republient les réunions aux autres modules.",
        ));
    }
    let batch = publish_batch(None)?;
    let total = match &batch.next {
        None => batch.published as i64,
        Some(next) => {
            if let Err(e) = schedule_next(next) {
                log::error(&format!("agenda: republication not continued: {e}"));
                // A server error: the call's writes (this batch's events) are dropped.
                return Ok(Response::error(
                    503,
                    "La republication des réunions n’a pas pu être lancée ; veuillez réessayer dans un instant.",
                ));
            }
            Query::new().filter(OF_A_GROUP).count(MEETINGS)?
        }
    };
    if let Err(e) = maillage_sdk::audit::write(
        "reunions.republier",
        "reunions",
        &json!({ "meetings": total }),
    ) {
        log::error(&format!("agenda: republication not audited: {e}"));
    }
    Ok(Response::see_other(&format!("/?ok=republie&n={total}")))
}

/// The timer [`REPUBLISH_TOPIC`]: the next batch, and the one after it scheduled. A
/// failure rolls the batch back and the host delivers the timer again.
pub fn on_republish(payload: &str) -> Result<(), String> {
    let payload: serde_json::Value = match serde_json::from_str(payload) {
        Ok(v) => v,
        Err(e) => {
            log::warn(&format!("agenda: republication payload ignored: {e}"));
            return Ok(());
        }
    };
    let Some(cursor) = payload["apres"].as_str() else {
        log::warn("agenda: republication payload without a cursor ignored");
        return Ok(());
    };
    let batch = publish_batch(Some(cursor.to_string())).map_err(|e| format!("{e}"))?;
    if let Some(next) = &batch.next {
        schedule_next(next)?;
    }
    log::info(&format!(
        "agenda: {} meetings republished (batch)",
        batch.published
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::confirmation;

    #[test]
    fn the_confirmation_agrees_with_its_count() {
        assert_eq!(confirmation(0), "0 réunion republiée aux autres modules.");
        assert_eq!(confirmation(1), "1 réunion republiée aux autres modules.");
        assert_eq!(
            confirmation(12),
            "12 réunions republiées aux autres modules."
        );
    }
}
