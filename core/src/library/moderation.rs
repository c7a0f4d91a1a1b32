//! Changing published entries: the owner's withdrawal (final), the operators' hiding and
//! unhiding (audited in the platform log and in the owner's journal, the owner's
//! coordinators told by mail), the operators' host-wide listing and reading (every
//! module, hidden and withdrawn entries included), and the search text rebuilt after
//! `maillage migrate`.

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::read::content_kind;
use super::search::{search_words, write_search_row};
use super::{
    Caller, FileInfo, LibraryError, LibraryFile, MAX_REASON_CHARS, MIN_REASON_CHARS, backend_of,
    multi_line,
};
use crate::audit::{AuditRecord, audit_in};
use crate::identity::Account;
use crate::storage::collections::fold;
use crate::storage::{Backend, Db, now_secs};

/// Withdraws an entry of the caller's structure and module, on `conn` (the plugin
/// call's transaction), audited `library.withdraw` in the owner's journal as the acting
/// member. Final: its versions stay listed, their content is no longer given, its search
/// row stays (for `include_withdrawn`). Withdrawing a withdrawn entry changes nothing.
/// `Denied` unless the caller may publish; `NotFound` for another structure's or
/// module's entry.
pub async fn withdraw(
    conn: &mut AnyConnection,
    caller: &Caller,
    entry_id: i64,
) -> Result<(), LibraryError> {
    let account_id = caller.publisher()?;
    let now = now_secs();
    let row = sqlx::query(
        "UPDATE library_entries SET withdrawn_at = $1, withdrawn_by = $2
         WHERE id = $3 AND module_id = $4 AND owner_structure_id = $5 AND withdrawn_at IS NULL
         RETURNING title, current_version",
    )
    .bind(now)
    .bind(account_id)
    .bind(entry_id)
    .bind(&caller.module_id)
    .bind(caller.structure_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM library_entries
             WHERE id = $1 AND module_id = $2 AND owner_structure_id = $3",
        )
        .bind(entry_id)
        .bind(&caller.module_id)
        .bind(caller.structure_id)
        .fetch_optional(&mut *conn)
        .await?;
        return match exists {
            Some(_) => Ok(()),
            None => Err(LibraryError::NotFound),
        };
    };
    let title: String = row.try_get("title")?;
    let version: i64 = row.try_get("current_version")?;
    let actor = crate::identity::account_in(conn, account_id).await?;
    let target = format!("{}/{entry_id} « {title} »", caller.module_id);
    let record = AuditRecord {
        actor: actor.as_ref(),
        structure_id: Some(caller.structure_id),
        action: "library.withdraw",
        target: &target,
        before: None,
        after: Some(json!({"withdrawn_at": now, "version": version})),
    };
    audit_in(conn, record).await?;
    Ok(())
}

/// An entry an operator hid or unhid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moderated {
    pub entry_id: i64,
    pub module_id: String,
    /// The owner structure, whose coordinators a hiding tells by mail.
    pub owner_structure_id: i64,
    pub title: String,
    /// False when there was nothing to do (unhiding an entry that is not hidden).
    pub changed: bool,
    /// Mails queued to the owner's coordinators and admins (hiding only).
    pub told: usize,
}

/// An entry as moderation reads it, locked for the transaction.
struct Moderating {
    owner_structure_id: i64,
    module_id: String,
    title: String,
    hidden_reason: Option<String>,
    hidden: bool,
}

async fn lock_entry(conn: &mut AnyConnection, entry_id: i64) -> Result<Moderating, LibraryError> {
    let lock = if backend_of(conn) == Backend::Postgres {
        " FOR NO KEY UPDATE"
    } else {
        ""
    };
    let row = sqlx::query(&format!(
        "SELECT owner_structure_id, module_id, title, hidden_at, hidden_reason
         FROM library_entries WHERE id = $1{lock}"
    ))
    .bind(entry_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Err(LibraryError::NotFound);
    };
    Ok(Moderating {
        owner_structure_id: row.try_get("owner_structure_id")?,
        module_id: row.try_get("module_id")?,
        title: row.try_get("title")?,
        hidden_reason: row.try_get("hidden_reason")?,
        hidden: row.try_get::<Option<i64>, _>("hidden_at")?.is_some(),
    })
}

/// The same audit entry in the platform log (no structure) and in the owner's journal.
async fn audit_both(
    conn: &mut AnyConnection,
    operator: Option<&Account>,
    entry_id: i64,
    entry: &Moderating,
    action: &str,
    before: serde_json::Value,
    after: serde_json::Value,
) -> Result<(), LibraryError> {
    let target = format!("{}/{entry_id} « {} »", entry.module_id, entry.title);
    for structure_id in [None, Some(entry.owner_structure_id)] {
        let record = AuditRecord {
            actor: operator,
            structure_id,
            action,
            target: &target,
            before: Some(before.clone()),
            after: Some(after.clone()),
        };
        audit_in(conn, record).await?;
    }
    Ok(())
}

/// Subject of the mail to the owner's coordinators when an entry is hidden.
pub const HIDDEN_MAIL_SUBJECT: &str =
    "Un document de votre structure a été masqué dans la bibliothèque nationale";

/// The mail's text: the title and the reason, never the content.
fn hidden_mail_body(title: &str, reason: &str) -> String {
    format!(
        "Bonjour,\n\n\
         L’équipe de la plateforme a masqué le document « {title} », publié par votre \
         structure dans la bibliothèque nationale. Les membres des autres structures ne le \
         trouvent plus et ne peuvent plus le lire ; votre structure le voit toujours, avec \
         ce motif.\n\n\
         Motif : {reason}\n\n\
         Si vous pensez qu’il s’agit d’une erreur, adressez-vous à l’équipe de la \
         plateforme.\n"
    )
}

/// Queues the mail about a hidden entry to the owner's coordinators and admins (those
/// with an active account), on `conn` (the hiding's transaction): how many.
async fn tell_owner(
    db: &Db,
    conn: &mut AnyConnection,
    owner_structure_id: i64,
    title: &str,
    reason: &str,
) -> Result<usize, LibraryError> {
    let addresses: Vec<String> = sqlx::query_scalar(
        "SELECT a.email FROM memberships m JOIN accounts a ON a.id = m.account_id
         WHERE m.structure_id = $1 AND m.role IN ('coordinator', 'admin')
           AND a.password_hash IS NOT NULL
         ORDER BY a.id",
    )
    .bind(owner_structure_id)
    .fetch_all(&mut *conn)
    .await?;
    let body = hidden_mail_body(title, reason);
    for address in &addresses {
        db.enqueue_mail_in(
            conn,
            Some(owner_structure_id),
            address,
            HIDDEN_MAIL_SUBJECT,
            &body,
        )
        .await?;
    }
    Ok(addresses.len())
}

/// Hides an entry with `reason` ([`MIN_REASON_CHARS`] to [`MAX_REASON_CHARS`]
/// characters, else `Invalid`), as a platform operator (the caller checked it; none: the
/// command line), in one write transaction with the audit entries `library.hide` in the
/// platform log and the owner's journal, and a mail ([`HIDDEN_MAIL_SUBJECT`], the title
/// and the reason) queued to each of the owner's coordinators and admins: the caller
/// wakes the mailer. Hiding a hidden entry replaces its reason. Its readers no longer
/// find it nor read its content; its owner sees the reason.
pub async fn hide(
    db: &Db,
    operator: Option<&Account>,
    entry_id: i64,
    reason: &str,
) -> Result<Moderated, LibraryError> {
    let reason = reason.trim();
    let chars = reason.chars().count();
    if !(MIN_REASON_CHARS..=MAX_REASON_CHARS).contains(&chars) || !multi_line(reason) {
        return Err(LibraryError::Invalid(
            "Indiquez le motif (10 à 1 000 caractères).".into(),
        ));
    }
    let mut tx = db.begin_write().await?;
    let entry = lock_entry(&mut tx, entry_id).await?;
    sqlx::query(
        "UPDATE library_entries
         SET hidden_at = COALESCE(hidden_at, $1), hidden_by = $2, hidden_reason = $3
         WHERE id = $4",
    )
    .bind(now_secs())
    .bind(operator.map(|a| a.id))
    .bind(reason)
    .bind(entry_id)
    .execute(&mut *tx)
    .await?;
    audit_both(
        &mut tx,
        operator,
        entry_id,
        &entry,
        "library.hide",
        json!({"hidden": entry.hidden, "reason": entry.hidden_reason}),
        json!({"hidden": true, "reason": reason}),
    )
    .await?;
    let told = tell_owner(db, &mut tx, entry.owner_structure_id, &entry.title, reason).await?;
    tx.commit().await?;
    Ok(Moderated {
        entry_id,
        module_id: entry.module_id,
        owner_structure_id: entry.owner_structure_id,
        title: entry.title,
        changed: true,
        told,
    })
}

/// Shows a hidden entry again, audited `library.unhide` in both logs like [`hide`]. An
/// entry that is not hidden is left as it is (`changed` false, nothing audited).
pub async fn unhide(
    db: &Db,
    operator: Option<&Account>,
    entry_id: i64,
) -> Result<Moderated, LibraryError> {
    let mut tx = db.begin_write().await?;
    let entry = lock_entry(&mut tx, entry_id).await?;
    if entry.hidden {
        sqlx::query(
            "UPDATE library_entries SET hidden_at = NULL, hidden_by = NULL, hidden_reason = NULL
             WHERE id = $1",
        )
        .bind(entry_id)
        .execute(&mut *tx)
        .await?;
        audit_both(
            &mut tx,
            operator,
            entry_id,
            &entry,
            "library.unhide",
            json!({"hidden": true, "reason": entry.hidden_reason}),
            json!({"hidden": false}),
        )
        .await?;
        tx.commit().await?;
    }
    Ok(Moderated {
        entry_id,
        module_id: entry.module_id,
        owner_structure_id: entry.owner_structure_id,
        title: entry.title,
        changed: entry.hidden,
        told: 0,
    })
}

/// Which entries an operator lists: `None` for either state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OperatorFilter {
    /// Words that must each begin a word of the title or the tags (folded, as a search).
    pub words: String,
    /// Only this module's entries.
    pub module: Option<String>,
    /// Some(true): only hidden entries; Some(false): only those not hidden.
    pub hidden: Option<bool>,
    /// Some(true): only withdrawn entries; Some(false): only those not withdrawn.
    pub withdrawn: Option<bool>,
    /// At most this many (1 to [`MAX_OPERATOR_ROWS`]; 0: that maximum).
    pub limit: u32,
}

/// Most entries one operator listing gives.
pub const MAX_OPERATOR_ROWS: u32 = 500;

/// An entry as the platform's operators list it, whatever its module and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorRow {
    pub id: i64,
    pub module_id: String,
    pub owner_structure_id: i64,
    pub source_name: String,
    pub source_slug: String,
    pub title: String,
    /// Number of the current version.
    pub version: u32,
    /// Unix seconds: the first version's publication.
    pub first_published_at: i64,
    /// Unix seconds: the current version's publication.
    pub published_at: i64,
    pub withdrawn_at: Option<i64>,
    pub hidden_at: Option<i64>,
    pub hidden_reason: Option<String>,
}

const OPERATOR_COLUMNS: &str = "e.id AS entry_id, e.module_id AS module_id, \
     e.owner_structure_id AS owner_id, s.name AS source_name, s.slug AS source_slug, \
     e.title AS title, e.current_version AS current_version, \
     e.first_published_at AS first_published_at, e.updated_at AS updated_at, \
     e.withdrawn_at AS withdrawn_at, e.hidden_at AS hidden_at, \
     e.hidden_reason AS hidden_reason";

fn operator_row(row: &AnyRow) -> Result<OperatorRow, LibraryError> {
    Ok(OperatorRow {
        id: row.try_get("entry_id")?,
        module_id: row.try_get("module_id")?,
        owner_structure_id: row.try_get("owner_id")?,
        source_name: row.try_get("source_name")?,
        source_slug: row.try_get("source_slug")?,
        title: row.try_get("title")?,
        version: u32::try_from(row.try_get::<i64, _>("current_version")?).unwrap_or(0),
        first_published_at: row.try_get("first_published_at")?,
        published_at: row.try_get("updated_at")?,
        withdrawn_at: row.try_get("withdrawn_at")?,
        hidden_at: row.try_get("hidden_at")?,
        hidden_reason: row.try_get("hidden_reason")?,
    })
}

/// Every module's entries matching `filter`, the most recent version first: for the
/// platform's operators (the caller checked it) and the command line. The words match
/// word prefixes of the title and the tags (`head_folded`), not the text.
pub async fn list_all(db: &Db, filter: &OperatorFilter) -> Result<Vec<OperatorRow>, LibraryError> {
    let words = search_words(&filter.words);
    let mut texts: Vec<String> = Vec::new();
    let mut conditions: Vec<String> = Vec::new();
    for word in &words {
        // Folded words hold only letters and digits: no LIKE wildcard to escape.
        texts.push(format!("% {word}%"));
        conditions.push(format!("e.head_folded LIKE ${}", texts.len()));
    }
    if let Some(module) = filter
        .module
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        texts.push(module.to_string());
        conditions.push(format!("e.module_id = ${}", texts.len()));
    }
    match filter.hidden {
        Some(true) => conditions.push("e.hidden_at IS NOT NULL".into()),
        Some(false) => conditions.push("e.hidden_at IS NULL".into()),
        None => {}
    }
    match filter.withdrawn {
        Some(true) => conditions.push("e.withdrawn_at IS NOT NULL".into()),
        Some(false) => conditions.push("e.withdrawn_at IS NULL".into()),
        None => {}
    }
    let limit = match filter.limit {
        0 => MAX_OPERATOR_ROWS,
        n => n.min(MAX_OPERATOR_ROWS),
    };
    let filter_sql = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT {OPERATOR_COLUMNS} FROM library_entries e
         JOIN structures s ON s.id = e.owner_structure_id
         {filter_sql}
         ORDER BY e.updated_at DESC, e.id DESC
         LIMIT ${}",
        texts.len() + 1
    );
    let mut query = sqlx::query(&sql);
    for text in texts {
        query = query.bind(text);
    }
    let rows = query.bind(i64::from(limit)).fetch_all(db.pool()).await?;
    rows.iter().map(operator_row).collect()
}

/// The module ids that have entries, for the operators' filter.
pub async fn library_modules(db: &Db) -> Result<Vec<String>, LibraryError> {
    let modules: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT module_id FROM library_entries ORDER BY module_id")
            .fetch_all(db.pool())
            .await?;
    Ok(modules)
}

/// One entry as the operators list it, whatever its module and state.
pub async fn operator_entry(db: &Db, entry_id: i64) -> Result<Option<OperatorRow>, LibraryError> {
    let row = sqlx::query(&format!(
        "SELECT {OPERATOR_COLUMNS} FROM library_entries e
         JOIN structures s ON s.id = e.owner_structure_id
         WHERE e.id = $1"
    ))
    .bind(entry_id)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(operator_row).transpose()
}

/// A version with its content, as the operators read it (hidden and withdrawn entries
/// included: they moderate them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorVersion {
    pub number: u32,
    pub title: String,
    pub note: String,
    /// Unix seconds.
    pub published_at: i64,
    /// Its content was erased (legal purge): neither text nor object is left.
    pub purged: bool,
    /// The Markdown text (none for a file or a purged version).
    pub text: Option<String>,
    /// The file's description (none for a Markdown text).
    pub file: Option<FileInfo>,
}

/// Every version of an entry, newest first, with its Markdown text: `NotFound` for an
/// unknown entry.
pub async fn operator_versions(
    db: &Db,
    entry_id: i64,
) -> Result<Vec<OperatorVersion>, LibraryError> {
    let rows = sqlx::query(
        "SELECT v.number AS number, v.title AS title, v.note AS note, v.kind AS version_kind,
                v.body AS body, v.file_name AS file_name, v.content_type AS content_type,
                v.size AS file_size, v.sha256 AS sha256, v.published_at AS published_at,
                v.purged_at AS purged_at
         FROM library_versions v WHERE v.entry_id = $1
         ORDER BY v.number DESC",
    )
    .bind(entry_id)
    .fetch_all(db.pool())
    .await?;
    if rows.is_empty() {
        return Err(LibraryError::NotFound);
    }
    rows.iter()
        .map(|row| -> Result<OperatorVersion, LibraryError> {
            let purged = row.try_get::<Option<i64>, _>("purged_at")?.is_some();
            let (text, file) = match content_kind(row, "version_kind")? {
                super::ContentKind::Markdown => {
                    let body: Option<String> = row.try_get("body")?;
                    (if purged { None } else { body }, None)
                }
                super::ContentKind::File(info) => (None, Some(info)),
            };
            Ok(OperatorVersion {
                number: u32::try_from(row.try_get::<i64, _>("number")?).unwrap_or(0),
                title: row.try_get("title")?,
                note: row.try_get("note")?,
                published_at: row.try_get("published_at")?,
                purged,
                text,
                file,
            })
        })
        .collect()
}

/// The object of a file version for the operators (hidden and withdrawn entries
/// included): `NotFound` for an unknown, Markdown or purged version.
pub async fn operator_file(
    db: &Db,
    entry_id: i64,
    number: u32,
) -> Result<LibraryFile, LibraryError> {
    let row = sqlx::query(
        "SELECT v.kind AS version_kind, v.file_name AS file_name,
                v.content_type AS content_type, v.size AS file_size, v.sha256 AS sha256,
                v.object_key AS object_key, v.purged_at AS purged_at
         FROM library_versions v WHERE v.entry_id = $1 AND v.number = $2",
    )
    .bind(entry_id)
    .bind(i64::from(number))
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        return Err(LibraryError::NotFound);
    };
    let purged = row.try_get::<Option<i64>, _>("purged_at")?.is_some();
    let object_key: Option<String> = row.try_get("object_key")?;
    match (content_kind(&row, "version_kind")?, object_key) {
        (super::ContentKind::File(info), Some(object_key)) if !purged => {
            Ok(LibraryFile { object_key, info })
        }
        _ => Err(LibraryError::NotFound),
    }
}

/// Entries whose search text one batch of [`rebuild_postgres_search`] recomputes.
const REBUILD_BATCH: i64 = 200;

/// Recomputes every entry's `search` from its current version, on `conn` (PostgreSQL:
/// `maillage migrate` copies the tables without it, SQLite's FTS5 table being skipped);
/// a no-op on SQLite. Returns how many entries it wrote.
pub async fn rebuild_postgres_search(conn: &mut AnyConnection) -> crate::storage::Result<u64> {
    if backend_of(conn) != Backend::Postgres {
        return Ok(0);
    }
    let mut after = 0i64;
    let mut written = 0u64;
    loop {
        let rows = sqlx::query(
            "SELECT e.id AS id, e.head_folded AS head_folded, v.body AS body
             FROM library_entries e
             JOIN library_versions v ON v.entry_id = e.id AND v.number = e.current_version
             WHERE e.id > $1 ORDER BY e.id LIMIT $2",
        )
        .bind(after)
        .bind(REBUILD_BATCH)
        .fetch_all(&mut *conn)
        .await?;
        if rows.is_empty() {
            return Ok(written);
        }
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            let head: String = row.try_get("head_folded")?;
            let body: Option<String> = row.try_get("body")?;
            let body = body.as_deref().map(fold).unwrap_or_default();
            write_search_row(conn, id, head.trim(), &body, true).await?;
            after = id;
            written += 1;
        }
    }
}
