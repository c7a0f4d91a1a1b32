//! Seeding a module's library in bulk, for `maillage bench cloud`
//! (docs/cloud-library-design.md, C.3). Entries are written as a confirmation publishes
//! them, by the same code: the entry, its version 1, its tag rows and its search row
//! (`publish::insert_entry` and `publish::write_version`: the title and the tags folded
//! by `head_folded`, the Markdown by `storage::collections::fold`, then the FTS5 row or
//! the `tsvector`), tags cleaned as `propose` cleans them. What a confirmation adds is
//! left out: no proposal, no copy of a file, no audit entry; and many entries share one
//! write transaction. Never called by the server.

use super::propose::cleaned_tags;
use super::publish::{VersionRow, insert_entry, write_version};
use super::{FileInfo, LibraryError, Licence, head_folded};
use crate::storage::Db;

/// One entry to seed: what its version 1 publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedEntry {
    /// The structure that publishes it.
    pub owner_structure_id: i64,
    /// An account of that structure: the version's publisher.
    pub published_by: i64,
    /// The module's reference (given back to the owner only).
    pub source_ref: String,
    pub title: String,
    pub description: String,
    /// As a module gives them: cleaned as `propose` cleans them.
    pub tags: Vec<String>,
    pub licence: Licence,
    pub content: SeedContent,
    /// Unix seconds: its publication, the order of the listings.
    pub published_at: i64,
}

/// What a seeded version holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedContent {
    Markdown(String),
    /// A file's metadata only: no object is stored. Searches and listings need none; its
    /// download answers 404.
    File(FileInfo),
}

/// Publishes `entries` in `module_id`'s library in one write transaction (planned for
/// bulk) and returns their ids, in order. The fields are not checked as a proposal's
/// are (lengths, the Markdown's limits): the caller gives plausible entries. `Invalid`
/// for tags that `propose` would refuse.
pub async fn seed_for_bench(
    db: &Db,
    module_id: &str,
    entries: &[SeedEntry],
) -> Result<Vec<i64>, LibraryError> {
    let mut tx = db.begin_write().await?;
    db.plan_for_bulk(&mut tx).await?;
    let mut ids = Vec::with_capacity(entries.len());
    for entry in entries {
        let tags = cleaned_tags(&entry.tags)?;
        let tags_json =
            serde_json::to_string(&tags).map_err(|e| LibraryError::Unavailable(e.to_string()))?;
        let head = head_folded(&entry.title, &tags);
        let (markdown, file) = match &entry.content {
            SeedContent::Markdown(text) => (Some(text.as_str()), None),
            SeedContent::File(info) => (None, Some(info)),
        };
        let version = VersionRow {
            title: &entry.title,
            description: &entry.description,
            tags: &tags,
            tags_json: &tags_json,
            head: &head,
            licence: entry.licence.as_str(),
            note: "",
            markdown,
            file,
            object_key: None,
            published_at: entry.published_at,
            published_by: entry.published_by,
        };
        let id = insert_entry(
            &mut tx,
            module_id,
            entry.owner_structure_id,
            &entry.source_ref,
            &version,
        )
        .await?;
        write_version(&mut tx, module_id, id, 1, &version, false).await?;
        ids.push(id);
    }
    tx.commit().await?;
    Ok(ids)
}
