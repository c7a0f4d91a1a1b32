//! « Republier les documents aux autres modules » (coordinators): [`DOCUMENT_SAVED`]
//! again for every document, each with the payload a save of it would publish now
//! ([`model::publish_saved_in`], the function every save calls: current name, folder,
//! version, size, type, author and `sequence`; `saved_at` = now). For a subscriber
//! enabled after the documents were saved (the host fans an event out only to the
//! modules enabled at that moment): the projects module's project page then lists them.
//! Receivers keep the copy with the greatest (`saved_at`, `sequence`), so a repeat
//! changes nothing.
//!
//! In batches (`maillage_sdk::republish`): one page of [`BATCH`] documents per call
//! (the host's largest page), its events written in the call's transaction; when more
//! remain, the call schedules this module's timer [`REPUBLISH_TOPIC`] with the next
//! page's cursor, and each timer call does the next batch the same way, so that no call
//! nears its deadline or its memory.
//!
//! [`DOCUMENT_SAVED`]: crate::model::DOCUMENT_SAVED

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use maillage_sdk::records::{Query, StoreError};
use maillage_sdk::republish::{self, BATCH};
use maillage_sdk::{Response, log};
use serde_json::json;

use crate::model::{self, DOCUMENTS, Document, Viewer};
use crate::ui::PageResult;

/// The timer topic of a republication's next batch (this module's own).
pub const REPUBLISH_TOPIC: &str = "documents.republier";

const ONLY_COORDINATORS: &str =
    "Seuls les coordinateurs republient les documents aux autres modules.";
const NOT_STARTED: &str =
    "La republication des documents n’a pas pu être lancée ; veuillez réessayer dans un instant.";

/// The page of documents after `cursor` (from the first when none), oldest created
/// first.
fn page(cursor: Option<String>) -> Result<(Vec<Document>, Option<String>), StoreError> {
    Query::new()
        .sort("created_at")
        .limit(BATCH)
        .after(cursor)
        .fetch::<Document>(DOCUMENTS)
}

/// Publishes one document's `document.saved` as a save does ([`model::publish_saved_in`]),
/// the label of each folder (« Dossier / Sous-dossier », [`model::folder_label`]) read
/// once per batch rather than once per document.
fn publisher() -> impl FnMut(&Document) -> Result<(), StoreError> {
    let mut labels: HashMap<(String, String), String> = HashMap::new();
    move |document: &Document| -> Result<(), StoreError> {
        let key = (document.group_id.clone(), document.folder.clone());
        let folder = match labels.entry(key) {
            Entry::Occupied(known) => known.get().clone(),
            Entry::Vacant(new) => new
                .insert(model::folder_label(&document.group_id, &document.folder)?)
                .clone(),
        };
        model::publish_saved_in(document, &folder);
        Ok(())
    }
}

/// « 3 documents republiés aux autres modules. » (singular for 0 and 1).
pub fn confirmation(count: i64) -> String {
    if count <= 1 {
        format!("{count} document republié aux autres modules.")
    } else {
        format!("{count} documents republiés aux autres modules.")
    }
}

/// `POST /republier` (coordinators): the first batch now, the others on the timer; 303
/// to « Documents » with the number of documents (`/?ok=republie&n=…`). Audit
/// `republier` (`documents.republier` in the journal).
pub fn republish() -> PageResult {
    let viewer = Viewer::current();
    if !viewer.coordinator {
        return Ok(Response::error(403, ONLY_COORDINATORS));
    }
    let batch = match republish::start(REPUBLISH_TOPIC, page, publisher()) {
        Ok(batch) => batch,
        Err(republish::Error::Module(e)) => return Err(e),
        Err(republish::Error::Timer(e)) => {
            log::error(&format!("documents: republication not continued: {e}"));
            // A server error: the call's writes (this batch's events) are dropped.
            return Ok(Response::error(503, NOT_STARTED));
        }
    };
    let total = batch.total(|| Query::new().count(DOCUMENTS))?;
    if let Err(e) =
        maillage_sdk::audit::write("republier", "documents", &json!({ "documents": total }))
    {
        log::error(&format!("documents: republication not audited: {e}"));
    }
    Ok(Response::see_other(&format!("/?ok=republie&n={total}")))
}

/// The timer [`REPUBLISH_TOPIC`]: the next batch, and the one after it scheduled. A
/// failure rolls the batch back and the host delivers the timer again.
pub fn on_republish(payload: &str) -> Result<(), String> {
    if let Some(batch) = republish::resume(REPUBLISH_TOPIC, payload, page, publisher())? {
        log::info(&format!(
            "documents: {} documents republished (batch)",
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
        assert_eq!(confirmation(0), "0 document republié aux autres modules.");
        assert_eq!(confirmation(1), "1 document republié aux autres modules.");
        assert_eq!(
            confirmation(12),
            "12 documents republiés aux autres modules."
        );
    }
}
