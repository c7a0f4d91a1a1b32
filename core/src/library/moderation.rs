//! Changing published entries: the owner's withdrawal (final), the operators' hiding and
//! unhiding (audited in the platform log and in the owner's journal), and the search
//! text rebuilt after `maillage migrate`.

use serde_json::json;
use sqlx::{AnyConnection, Row};

use super::search::write_search_row;
use super::{Caller, LibraryError, MAX_REASON_CHARS, MIN_REASON_CHARS, backend_of, multi_line};
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
    /// Whose coordinators are told (a mail, by the caller).
    pub owner_structure_id: i64,
    pub title: String,
    /// False when there was nothing to do (unhiding an entry that is not hidden).
    pub changed: bool,
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

/// Hides an entry with `reason` ([`MIN_REASON_CHARS`] to [`MAX_REASON_CHARS`]
/// characters, else `Invalid`), as a platform operator (the caller checked it; none: the
/// command line), in one write transaction with the audit entries `library.hide` in the
/// platform log and the owner's journal. Hiding a hidden entry replaces its reason. Its
/// readers no longer find it nor read its content; its owner sees the reason. The mail
/// to the owner's coordinators is the caller's.
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
    tx.commit().await?;
    Ok(Moderated {
        entry_id,
        module_id: entry.module_id,
        owner_structure_id: entry.owner_structure_id,
        title: entry.title,
        changed: true,
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
    })
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
