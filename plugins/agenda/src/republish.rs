//! « Republier les réunions aux autres modules » (coordinators): [`MEETING_SAVED`] again
//! for every meeting of a group, past and future, cancelled ones as cancelled, each with
//! the payload [`publish_saved`] sends for it now. For a subscriber enabled after the
//! meetings were saved (the host fans an event out only to the modules enabled at that
//! moment): the projects module's project page then lists them. Receivers keep the copy
//! with the greatest (`saved_at`, `sequence`), so a repeat changes nothing.
//!
//! In batches (`maillage_sdk::republish`): one page of [`BATCH`] meetings per call (the
//! host's largest page), its events written in the call's transaction; when more remain,
//! the call schedules this module's timer [`REPUBLISH_TOPIC`] with the next page's
//! cursor, and each timer call does the next batch the same way, so that no call nears
//! its deadline or its memory.
//!
//! [`MEETING_SAVED`]: crate::meeting::MEETING_SAVED

use maillage_sdk::records::{Query, StoreError};
use maillage_sdk::republish::{self, BATCH};
use maillage_sdk::{Response, log};
use serde_json::json;

use crate::meeting::publish_saved;
use crate::model::{MEETINGS, Meeting, Viewer};
use crate::ui::PageResult;

/// The timer topic of a republication's next batch (this module's own).
pub const REPUBLISH_TOPIC: &str = "agenda.republier";
/// The meetings that publish [`crate::meeting::MEETING_SAVED`]: a group's.
const OF_A_GROUP: &str = "group_id != null";
/// What the payload is built from (the id comes anyway): the rest of the record (the
/// agenda, up to 10 000 characters) is not read.
const FIELDS: [&str; 7] = [
    "group_id", "title", "start_at", "zone", "duration", "status", "sequence",
];

/// The page of meetings after `cursor` (from the first when none), oldest created first.
fn page(cursor: Option<String>) -> Result<(Vec<Meeting>, Option<String>), StoreError> {
    Query::new()
        .filter(OF_A_GROUP)
        .sort("created_at")
        .limit(BATCH)
        .after(cursor)
        .fields(&FIELDS)
        .fetch::<Meeting>(MEETINGS)
}

/// One meeting's [`crate::meeting::MEETING_SAVED`], as a save publishes it.
fn publish(meeting: &Meeting) -> Result<(), StoreError> {
    publish_saved(meeting);
    Ok(())
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
    let batch = match republish::start(REPUBLISH_TOPIC, page, publish) {
        Ok(batch) => batch,
        Err(republish::Error::Module(e)) => return Err(e),
        Err(republish::Error::Timer(e)) => {
            log::error(&format!("agenda: republication not continued: {e}"));
            // A server error: the call's writes (this batch's events) are dropped.
            return Ok(Response::error(
                503,
                "La republication des réunions n’a pas pu être lancée ; veuillez réessayer dans un instant.",
            ));
        }
    };
    let total = batch.total(|| Query::new().filter(OF_A_GROUP).count(MEETINGS))?;
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
    if let Some(batch) = republish::resume(REPUBLISH_TOPIC, payload, page, publish)? {
        log::info(&format!(
            "agenda: {} meetings republished (batch)",
            batch.published
        ));
    }
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
