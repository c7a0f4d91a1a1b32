//! Reads of one module's library (A.6): every statement is `WHERE e.module_id =
//! caller.module_id`. `source_ref` and a moderation reason go to the owner structure
//! only; a withdrawn or hidden entry keeps its metadata and gives no content.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{
    Caller, ContentKind, Entry, FileInfo, LibraryError, Licence, MAX_PAGE, Moderation, TagCount,
    VersionContent, VersionInfo,
};
use crate::tenancy::StructureKind;

/// The columns an [`Entry`] is read from, aliased (`e` the entry, `s` its owner, `v` its
/// current version: see [`ENTRY_JOINS`]).
pub(super) const ENTRY_COLUMNS: &str = "e.id AS entry_id, e.module_id AS module_id, \
     e.owner_structure_id AS owner_id, e.source_ref AS source_ref, \
     e.current_version AS current_version, e.title AS title, e.description AS description, \
     e.tags AS tags, e.licence AS licence, e.kind AS entry_kind, \
     e.first_published_at AS first_published_at, e.updated_at AS updated_at, \
     e.withdrawn_at AS withdrawn_at, e.hidden_at AS hidden_at, \
     e.hidden_reason AS hidden_reason, s.name AS source_name, s.kind AS source_kind, \
     v.file_name AS file_name, v.content_type AS content_type, v.size AS file_size, \
     v.sha256 AS sha256";

/// Joins after `library_entries e`: the owner structure and the current version.
pub(super) const ENTRY_JOINS: &str = "JOIN structures s ON s.id = e.owner_structure_id \
     JOIN library_versions v ON v.entry_id = e.id AND v.number = e.current_version";

fn version_number(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

/// The kind of a row whose kind column is `kind_column`, with the file columns
/// `file_name`, `content_type`, `file_size`, `sha256`.
pub(super) fn content_kind(row: &AnyRow, kind_column: &str) -> Result<ContentKind, LibraryError> {
    let kind: String = row.try_get(kind_column)?;
    if kind != "file" {
        return Ok(ContentKind::Markdown);
    }
    Ok(ContentKind::File(FileInfo {
        name: row
            .try_get::<Option<String>, _>("file_name")?
            .unwrap_or_default(),
        content_type: row
            .try_get::<Option<String>, _>("content_type")?
            .unwrap_or_default(),
        size: row
            .try_get::<Option<i64>, _>("file_size")?
            .unwrap_or(0)
            .max(0) as u64,
        sha256: row
            .try_get::<Option<String>, _>("sha256")?
            .unwrap_or_default(),
    }))
}

/// An entry read with [`ENTRY_COLUMNS`], as the structure `viewer` sees it.
pub(super) fn entry_from_row(row: &AnyRow, viewer: i64) -> Result<Entry, LibraryError> {
    let mine = row.try_get::<i64, _>("owner_id")? == viewer;
    let tags: String = row.try_get("tags")?;
    let licence: String = row.try_get("licence")?;
    let licence = Licence::parse(&licence)
        .ok_or_else(|| LibraryError::Unavailable(format!("stored licence {licence:?}")))?;
    let source_kind: String = row.try_get("source_kind")?;
    let hidden_at: Option<i64> = row.try_get("hidden_at")?;
    let reason: Option<String> = row.try_get("hidden_reason")?;
    let source_ref: String = row.try_get("source_ref")?;
    Ok(Entry {
        id: row.try_get("entry_id")?,
        module_id: row.try_get("module_id")?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        licence,
        kind: content_kind(row, "entry_kind")?,
        version: version_number(row.try_get("current_version")?),
        source_name: row.try_get("source_name")?,
        source_kind: StructureKind::parse(&source_kind)
            .map(|k| k.label().to_string())
            .unwrap_or_else(|| source_kind.to_uppercase()),
        mine,
        source_ref: mine.then_some(source_ref),
        first_published_at: row.try_get("first_published_at")?,
        published_at: row.try_get("updated_at")?,
        withdrawn_at: row.try_get("withdrawn_at")?,
        hidden: hidden_at.map(|at| Moderation {
            hidden_at: at,
            reason: if mine {
                reason.unwrap_or_default()
            } else {
                String::new()
            },
        }),
    })
}

/// What a content read needs of an entry of `module_id`.
struct EntryState {
    current_version: i64,
    withdrawn_at: Option<i64>,
    hidden_at: Option<i64>,
}

async fn entry_state(
    conn: &mut AnyConnection,
    module_id: &str,
    entry_id: i64,
) -> Result<Option<EntryState>, LibraryError> {
    let row = sqlx::query(
        "SELECT e.current_version AS current_version, e.withdrawn_at AS withdrawn_at,
                e.hidden_at AS hidden_at
         FROM library_entries e WHERE e.id = $1 AND e.module_id = $2",
    )
    .bind(entry_id)
    .bind(module_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(EntryState {
        current_version: row.try_get("current_version")?,
        withdrawn_at: row.try_get("withdrawn_at")?,
        hidden_at: row.try_get("hidden_at")?,
    }))
}

/// The entry of `module_id` whose content may be given: `NotFound`, `Withdrawn(at)` or
/// `Hidden` otherwise, whoever asks.
async fn readable_entry(
    conn: &mut AnyConnection,
    module_id: &str,
    entry_id: i64,
) -> Result<EntryState, LibraryError> {
    let Some(state) = entry_state(conn, module_id, entry_id).await? else {
        return Err(LibraryError::NotFound);
    };
    if let Some(at) = state.withdrawn_at {
        return Err(LibraryError::Withdrawn(at));
    }
    if state.hidden_at.is_some() {
        return Err(LibraryError::Hidden);
    }
    Ok(state)
}

/// One entry of the caller's module (withdrawn and hidden ones included, as metadata);
/// none if there is none, or it is another module's.
pub async fn get(
    conn: &mut AnyConnection,
    caller: &Caller,
    entry_id: i64,
) -> Result<Option<Entry>, LibraryError> {
    let row = sqlx::query(&format!(
        "SELECT {ENTRY_COLUMNS} FROM library_entries e {ENTRY_JOINS}
         WHERE e.id = $1 AND e.module_id = $2"
    ))
    .bind(entry_id)
    .bind(&caller.module_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| entry_from_row(&r, caller.structure_id))
        .transpose()
}

/// Every version of an entry of the caller's module, newest first (also for a
/// withdrawn or hidden entry); `NotFound` for another module's.
pub async fn versions(
    conn: &mut AnyConnection,
    caller: &Caller,
    entry_id: i64,
) -> Result<Vec<VersionInfo>, LibraryError> {
    let rows = sqlx::query(
        "SELECT v.number AS number, v.title AS title, v.note AS note, v.kind AS version_kind,
                v.file_name AS file_name, v.content_type AS content_type, v.size AS file_size,
                v.sha256 AS sha256, v.published_at AS published_at, v.purged_at AS purged_at
         FROM library_versions v JOIN library_entries e ON e.id = v.entry_id
         WHERE v.entry_id = $1 AND e.module_id = $2
         ORDER BY v.number DESC",
    )
    .bind(entry_id)
    .bind(&caller.module_id)
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        // Every entry has a first version.
        return Err(LibraryError::NotFound);
    }
    rows.iter()
        .map(|row| -> Result<VersionInfo, LibraryError> {
            Ok(VersionInfo {
                number: version_number(row.try_get("number")?),
                title: row.try_get("title")?,
                note: row.try_get("note")?,
                kind: content_kind(row, "version_kind")?,
                published_at: row.try_get("published_at")?,
                purged: row.try_get::<Option<i64>, _>("purged_at")?.is_some(),
            })
        })
        .collect()
}

/// The content of a version of an entry of the caller's module (none: the current
/// one). `Withdrawn`/`Hidden` for such an entry, whoever asks; `NotFound` for an
/// unknown or purged version, or another module's entry.
pub async fn read(
    conn: &mut AnyConnection,
    caller: &Caller,
    entry_id: i64,
    version: Option<u32>,
) -> Result<VersionContent, LibraryError> {
    let state = readable_entry(conn, &caller.module_id, entry_id).await?;
    let number = version.map_or(state.current_version, i64::from);
    let row = sqlx::query(
        "SELECT v.kind AS version_kind, v.body AS body, v.file_name AS file_name,
                v.content_type AS content_type, v.size AS file_size, v.sha256 AS sha256,
                v.purged_at AS purged_at
         FROM library_versions v WHERE v.entry_id = $1 AND v.number = $2",
    )
    .bind(entry_id)
    .bind(number)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Err(LibraryError::NotFound);
    };
    if row.try_get::<Option<i64>, _>("purged_at")?.is_some() {
        return Err(LibraryError::NotFound);
    }
    let number = version_number(number);
    Ok(match content_kind(&row, "version_kind")? {
        ContentKind::Markdown => VersionContent {
            number,
            text: Some(
                row.try_get::<Option<String>, _>("body")?
                    .unwrap_or_default(),
            ),
            file: None,
        },
        ContentKind::File(info) => VersionContent {
            number,
            text: None,
            file: Some(info),
        },
    })
}

/// The tags of the caller's module's visible entries (neither withdrawn nor hidden),
/// most used first; at most `limit` (capped at [`MAX_PAGE`]).
pub async fn tags(
    conn: &mut AnyConnection,
    caller: &Caller,
    limit: u32,
) -> Result<Vec<TagCount>, LibraryError> {
    let limit = limit.min(MAX_PAGE);
    if limit == 0 {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT t.tag AS tag, MIN(t.label) AS label, COUNT(*) AS uses
         FROM library_entry_tags t JOIN library_entries e ON e.id = t.entry_id
         WHERE t.module_id = $1 AND e.module_id = $1
           AND e.withdrawn_at IS NULL AND e.hidden_at IS NULL
         GROUP BY t.tag
         ORDER BY COUNT(*) DESC, t.tag
         LIMIT $2",
    )
    .bind(&caller.module_id)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| -> Result<TagCount, LibraryError> {
            Ok(TagCount {
                tag: row.try_get("tag")?,
                label: row.try_get("label")?,
                count: u32::try_from(row.try_get::<i64, _>("uses")?).unwrap_or(u32::MAX),
            })
        })
        .collect()
}

/// Most entries `mine_for` lists.
const MAX_MINE_FOR: i64 = 100;

/// The caller's structure's entries of the caller's module proposed with `source_ref`,
/// newest first, withdrawn and hidden ones included.
pub async fn mine_for(
    conn: &mut AnyConnection,
    caller: &Caller,
    source_ref: &str,
) -> Result<Vec<Entry>, LibraryError> {
    let rows = sqlx::query(&format!(
        "SELECT {ENTRY_COLUMNS} FROM library_entries e {ENTRY_JOINS}
         WHERE e.owner_structure_id = $1 AND e.module_id = $2 AND e.source_ref = $3
         ORDER BY e.updated_at DESC, e.id DESC
         LIMIT $4"
    ))
    .bind(caller.structure_id)
    .bind(&caller.module_id)
    .bind(source_ref.trim())
    .bind(MAX_MINE_FOR)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| entry_from_row(row, caller.structure_id))
        .collect()
}

/// A published file's object, for the host's download route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryFile {
    /// `library/{module}/{random}`: see `BlobStore::library_stream`.
    pub object_key: String,
    pub info: FileInfo,
}

/// The object of version `number` of an entry of `module_id`, for a member of any
/// structure where that module is enabled with "library" (the route checks that).
/// `Withdrawn`/`Hidden` for such an entry (410); `NotFound` for another module's entry,
/// an unknown, purged or Markdown version (404).
pub async fn file_object(
    conn: &mut AnyConnection,
    module_id: &str,
    entry_id: i64,
    number: u32,
) -> Result<LibraryFile, LibraryError> {
    readable_entry(conn, module_id, entry_id).await?;
    let row = sqlx::query(
        "SELECT v.kind AS version_kind, v.file_name AS file_name,
                v.content_type AS content_type, v.size AS file_size, v.sha256 AS sha256,
                v.object_key AS object_key, v.purged_at AS purged_at
         FROM library_versions v WHERE v.entry_id = $1 AND v.number = $2",
    )
    .bind(entry_id)
    .bind(i64::from(number))
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Err(LibraryError::NotFound);
    };
    let purged = row.try_get::<Option<i64>, _>("purged_at")?.is_some();
    let object_key: Option<String> = row.try_get("object_key")?;
    match (content_kind(&row, "version_kind")?, object_key) {
        (ContentKind::File(info), Some(object_key)) if !purged => {
            Ok(LibraryFile { object_key, info })
        }
        _ => Err(LibraryError::NotFound),
    }
}
