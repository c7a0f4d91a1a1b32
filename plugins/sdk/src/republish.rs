//! Publishing a module's event again for every record it covers, for a module enabled
//! after the records were saved (the host fans an event out only to the modules enabled
//! at the moment it is published): a coordinator's « Republier … aux autres modules ».
//! Each record's event goes through the very function the module's saves call, so it
//! carries what a save of that record would publish now; receivers that keep the newest
//! (`saved_at`, `sequence`) copy make a repeat harmless.
//!
//! In batches, so that no call nears its deadline or its memory: the request's call
//! ([`start`]) publishes the first page of [`BATCH`] records (the host's largest page),
//! its events written in the call's transaction; when more remain it schedules the
//! module's own timer `topic` (capability "timers") with the next page's cursor
//! (`{"apres": cursor}`, due at once), and each timer call ([`resume`]) does the next
//! page the same way and schedules the one after.
//!
//! The module gives the page (a closure over one [`crate::records::Query::fetch`] with
//! `.limit(BATCH).after(cursor)` and a stable sort, e.g. `created_at`) and the
//! publication of one record; it keeps its permission check, its audit entry and its
//! French:
//!
//! ```ignore
//! fn page(cursor: Option<String>) -> Result<(Vec<Meeting>, Option<String>), StoreError> {
//!     Query::new().sort("created_at").limit(republish::BATCH).after(cursor).fetch(MEETINGS)
//! }
//! // POST /republier (coordinators):
//! let batch = match republish::start(TOPIC, page, |m| { publish_saved(m); Ok(()) }) {
//!     Ok(batch) => batch,
//!     Err(republish::Error::Module(e)) => return Err(e),
//!     Err(republish::Error::Timer(e)) => return Ok(503 …),
//! };
//! let total = batch.total(|| Query::new().count(MEETINGS))?;
//! // on_event, topic TOPIC:
//! republish::resume(TOPIC, &event.payload, page, |m| { publish_saved(m); Ok(()) })?;
//! ```

use std::fmt;

use crate::{log, time, timers};

/// Records published per call: one page of the host's (500 records at most a query).
pub const BATCH: u32 = 500;

/// The field of the timer's payload that holds the next page's cursor.
const CURSOR: &str = "apres";

/// One batch done: how many records were published, and the cursor of the next page
/// when more remain (its timer is then scheduled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub published: usize,
    pub next: Option<String>,
}

impl Batch {
    /// How many records the whole republication covers: this batch's when it was the
    /// last, else `count()` (every record the pages go through; the later batches
    /// follow on the timer).
    pub fn total<E>(&self, count: impl FnOnce() -> Result<i64, E>) -> Result<i64, E> {
        match self.next {
            None => Ok(i64::try_from(self.published).unwrap_or(i64::MAX)),
            Some(_) => count(),
        }
    }
}

/// Why a batch was not done.
#[derive(Debug)]
pub enum Error<E> {
    /// The module's page or publication failed (a store error, say): answer it as the
    /// module answers its store errors (503, the call rolled back).
    Module(E),
    /// The timer of the next batch could not be scheduled: answer a server error, so
    /// that the call's writes (this batch's events) are dropped and nothing is half done.
    Timer(String),
}

impl<E: fmt::Display> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Module(e) => write!(f, "{e}"),
            Error::Timer(e) => write!(f, "the next batch was not scheduled: {e}"),
        }
    }
}

/// Publishes the page after `cursor` (from the first when none).
fn publish_page<T, E>(
    cursor: Option<String>,
    fetch: impl FnOnce(Option<String>) -> Result<(Vec<T>, Option<String>), E>,
    mut publish: impl FnMut(&T) -> Result<(), E>,
) -> Result<Batch, E> {
    let (records, next) = fetch(cursor)?;
    for record in &records {
        publish(record)?;
    }
    Ok(Batch {
        published: records.len(),
        next,
    })
}

/// Schedules the batch after `cursor` on the module's timer `topic`, in the call's
/// transaction, due at once.
fn schedule_next(topic: &str, cursor: &str) -> Result<String, String> {
    let mut payload = serde_json::Map::new();
    payload.insert(CURSOR.to_string(), serde_json::Value::from(cursor));
    timers::schedule(
        topic,
        &serde_json::Value::Object(payload),
        time::now_seconds(),
    )
}

/// The cursor a timer's payload carries; why not when it carries none.
fn cursor_of(payload: &str) -> Result<String, String> {
    let value: serde_json::Value =
        serde_json::from_str(payload).map_err(|e| format!("not JSON: {e}"))?;
    match value.get(CURSOR).and_then(|c| c.as_str()) {
        Some(cursor) if !cursor.is_empty() => Ok(cursor.to_string()),
        _ => Err(format!("no \"{CURSOR}\" cursor")),
    }
}

/// The request's call: the first page, and when more remain the timer `topic` of the
/// next one.
pub fn start<T, E>(
    topic: &str,
    fetch: impl FnOnce(Option<String>) -> Result<(Vec<T>, Option<String>), E>,
    publish: impl FnMut(&T) -> Result<(), E>,
) -> Result<Batch, Error<E>> {
    let batch = publish_page(None, fetch, publish).map_err(Error::Module)?;
    if let Some(next) = &batch.next {
        schedule_next(topic, next).map_err(Error::Timer)?;
    }
    Ok(batch)
}

/// A call of the timer `topic` (its event's `payload`): the page after the payload's
/// cursor, and the timer of the one after it. `Ok(None)` for a payload without a
/// cursor (logged, dropped: retrying would not help). An error, returned as the event's,
/// rolls the batch back and the host delivers the timer again; a timer delivered twice
/// repeats its batch and the ones after it, harmlessly.
pub fn resume<T, E: fmt::Display>(
    topic: &str,
    payload: &str,
    fetch: impl FnOnce(Option<String>) -> Result<(Vec<T>, Option<String>), E>,
    publish: impl FnMut(&T) -> Result<(), E>,
) -> Result<Option<Batch>, String> {
    let cursor = match cursor_of(payload) {
        Ok(cursor) => cursor,
        Err(why) => {
            log::warn(&format!("{topic}: republication payload ignored: {why}"));
            return Ok(None);
        }
    };
    let batch = publish_page(Some(cursor), fetch, publish).map_err(|e| format!("{e}"))?;
    if let Some(next) = &batch.next {
        schedule_next(topic, next)?;
    }
    Ok(Some(batch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timers_payload_gives_its_cursor() {
        assert_eq!(cursor_of(r#"{"apres":"c1"}"#), Ok("c1".to_string()));
        assert!(cursor_of("not json").is_err());
        assert!(cursor_of("{}").is_err());
        assert!(cursor_of(r#"{"apres":""}"#).is_err());
        assert!(cursor_of(r#"{"apres":12}"#).is_err());
    }

    #[test]
    fn a_page_is_published_record_by_record() {
        let mut seen = Vec::new();
        let batch = publish_page(
            Some("c0".to_string()),
            |cursor| {
                assert_eq!(cursor.as_deref(), Some("c0"));
                Ok::<_, String>((vec![1, 2, 3], Some("c3".to_string())))
            },
            |n: &i32| {
                seen.push(*n);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, [1, 2, 3]);
        assert_eq!(
            batch,
            Batch {
                published: 3,
                next: Some("c3".to_string())
            }
        );
        // A publication that fails stops the page with its error.
        let failed = publish_page(
            None,
            |_| Ok::<_, String>((vec![1, 2], None)),
            |n: &i32| {
                if *n == 2 {
                    Err("two".to_string())
                } else {
                    Ok(())
                }
            },
        );
        assert_eq!(failed, Err("two".to_string()));
    }

    #[test]
    fn the_total_is_the_batch_when_it_was_the_last() {
        let last = Batch {
            published: 7,
            next: None,
        };
        assert_eq!(
            last.total(|| -> Result<i64, ()> { panic!("not counted") }),
            Ok(7)
        );
        let first = Batch {
            published: 500,
            next: Some("c".to_string()),
        };
        assert_eq!(first.total(|| Ok::<_, ()>(1234)), Ok(1234));
    }
}
