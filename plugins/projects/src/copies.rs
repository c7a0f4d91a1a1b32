//! What this module keeps of other modules' records, from their events, and the links
//! back to them: the agenda's meetings of groups ([`crate::meetings`], `meeting.saved`)
//! and the cloud's documents ([`crate::documents`], `document.saved`).
//!
//! Each is a copy of one record per id of the other module (a unique key field), kept
//! newest first: an event applies only when its (`saved_at`, `sequence`) is not older
//! than the copy's, so at-least-once and out-of-order delivery change nothing; events of
//! the topic from any other module than its publisher are ignored. A payload that cannot
//! be read, or names a group of no structure of ours, is logged and accepted: it would
//! not get better on redelivery.

use maillage_sdk::log;
use maillage_sdk::records::{self, Query, StoreError, id_text};
use serde::Deserialize;
use serde_json::Value;

/// One kind of copy: where it comes from, where it is kept, how a payload is read.
pub struct Copies {
    /// The topic this module subscribes to, e.g. `meeting.saved`.
    pub topic: &'static str,
    /// The module id of the only publisher whose events of the topic count.
    pub publisher: &'static str,
    /// The collection of the copies.
    pub collection: &'static str,
    /// The field holding the publisher's id of the record, unique in the collection.
    pub key: &'static str,
    /// The record one payload asks to keep (with `key`, `saved_at` and `sequence`), or
    /// why it is ignored.
    pub record_of: fn(&str) -> Result<Value, String>,
}

/// The order of a copy's versions, as stored.
#[derive(Debug, Deserialize)]
struct Stamp {
    #[serde(default, deserialize_with = "records::or_default")]
    saved_at: i64,
    #[serde(default, deserialize_with = "records::or_default")]
    sequence: i64,
}

/// Whether a version stamped (`saved_at`, `sequence`) replaces the one kept: not older
/// (an equal one rewrites the same record).
fn replaces(saved_at: i64, sequence: i64, kept: Option<&Stamp>) -> bool {
    kept.is_none_or(|k| (saved_at, sequence) >= (k.saved_at, k.sequence))
}

impl Copies {
    /// An event of the topic from `source`: keeps the newest copy of the record it
    /// names. Errs only when the store fails (the host delivers it again).
    pub fn on_event(&self, source: &str, payload: &str) -> Result<(), String> {
        let topic = self.topic;
        if source != self.publisher {
            log::warn(&format!(
                "{topic} from {source:?} ignored: only {:?}'s count",
                self.publisher
            ));
            return Ok(());
        }
        let record = match (self.record_of)(payload) {
            Ok(r) => r,
            Err(reason) => {
                // A malformed event will not get better on redelivery.
                log::warn(&format!("{topic} ignored: {reason}"));
                return Ok(());
            }
        };
        let id = record[self.key].as_str().unwrap_or_default().to_string();
        let kept: Option<Stamp> = Query::new()
            .filter(&format!("{} = {{:k}}", self.key))
            .param("k", &id)
            .fields(&["saved_at", "sequence"])
            .first(self.collection)
            .map_err(|e| format!("{e:?}"))?;
        let saved_at = record["saved_at"].as_i64().unwrap_or(0);
        let sequence = record["sequence"].as_i64().unwrap_or(0);
        if !replaces(saved_at, sequence, kept.as_ref()) {
            return Ok(());
        }
        match records::upsert::<_, Value>(self.collection, &[self.key], &record) {
            Ok(_) => Ok(()),
            // Another structure's group, or one deleted since: nothing to show it on.
            Err(StoreError::Invalid(reason)) => {
                log::warn(&format!("{topic} of {id} not kept: {reason}"));
                Ok(())
            }
            Err(e) => Err(format!("{e:?}")),
        }
    }
}

/// The publisher's id of a record in a payload (text or number), as a record id; `what`
/// names it in the reason of a refusal (« no meeting id », « malformed meeting id »).
pub fn record_id(value: &Value, what: &str) -> Result<String, String> {
    let id = id_text(value).ok_or_else(|| format!("no {what} id"))?;
    if !records::valid_id(&id) {
        return Err(format!("malformed {what} id"));
    }
    Ok(id)
}

/// The host's group id in a payload (text or number).
pub fn group_id(value: &Value) -> Result<String, String> {
    let id = id_text(value).ok_or("no group id")?;
    if !records::valid_ref(&id) {
        return Err("malformed group id".into());
    }
    Ok(id)
}

/// The URL of `path` in another module of the structure: this module's base path with
/// its segment replaced, e.g. `module_href("agenda", "/r/01J")` → "/cpts-demo/agenda/r/01J".
pub fn module_href(module: &str, path: &str) -> String {
    let ctx = maillage_sdk::context();
    let structure = match ctx.base_path.rsplit_once('/') {
        Some((structure, _)) if !structure.is_empty() => structure.to_string(),
        _ => format!("/{}", ctx.structure),
    };
    format!("{structure}/{module}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_version_replaces_the_kept_one_unless_older() {
        let kept = Stamp {
            saved_at: 100,
            sequence: 3,
        };
        assert!(replaces(1, 0, None));
        assert!(replaces(100, 3, Some(&kept)), "a repeat rewrites the same");
        assert!(replaces(100, 4, Some(&kept)));
        assert!(replaces(101, 0, Some(&kept)));
        assert!(!replaces(100, 2, Some(&kept)));
        assert!(!replaces(99, 9, Some(&kept)));
    }

    #[test]
    fn ids_of_payloads_are_checked() {
        assert_eq!(record_id(&json!("01JABC"), "meeting").unwrap(), "01JABC");
        assert_eq!(record_id(&json!(42), "document").unwrap(), "42");
        assert_eq!(
            record_id(&json!(null), "document").unwrap_err(),
            "no document id"
        );
        assert_eq!(
            record_id(&json!("a b"), "meeting").unwrap_err(),
            "malformed meeting id"
        );
        assert_eq!(group_id(&json!(7)).unwrap(), "7");
        assert_eq!(group_id(&json!(" 7 ")).unwrap(), "7");
        assert!(group_id(&json!("g7")).is_err());
        assert!(group_id(&json!("")).is_err());
    }
}
