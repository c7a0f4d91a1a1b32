//! The audit log: who did what, when, to what, with the state before and after.
//! Every admin action of the host writes one entry (structure-scoped or platform-wide).

use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::identity::Account;
use crate::storage::{Db, Result, now_secs};

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// One action to record. `before`/`after` are JSON snapshots of what changed.
pub struct AuditRecord<'a> {
    pub actor: Option<&'a Account>,
    pub structure_id: Option<i64>,
    pub action: &'a str,
    pub target: &'a str,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Records `record` in `tx`, the write transaction that made the change, and commits it.
pub async fn audit_and_commit(
    mut tx: sqlx::Transaction<'static, sqlx::Any>,
    record: AuditRecord<'_>,
) -> Result<()> {
    audit_in(&mut tx, record).await?;
    tx.commit().await?;
    Ok(())
}

/// Records `record` on `conn`: the transaction that made the change, so that the action
/// and its entry commit together or not at all (a failed audit write undoes the action).
pub async fn audit_in(conn: &mut AnyConnection, record: AuditRecord<'_>) -> Result<()> {
    let actor_label = record
        .actor
        .map(|a| format!("{} <{}>", a.display_name, a.email))
        .unwrap_or_else(|| "système (CLI)".into());
    sqlx::query(
        "INSERT INTO audit_log (at, actor_id, actor_label, structure_id, action, target, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(now_secs())
    .bind(record.actor.map(|a| a.id))
    .bind(actor_label)
    .bind(record.structure_id)
    .bind(record.action)
    .bind(record.target)
    .bind(record.before.map(|v| v.to_string()))
    .bind(record.after.map(|v| v.to_string()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Db {
    /// Records an action on its own (autocommit). An action that writes should use
    /// [`audit_in`] in its own transaction instead.
    pub async fn audit(&self, record: AuditRecord<'_>) -> Result<()> {
        let mut conn = self.pool().acquire().await?;
        audit_in(&mut conn, record).await
    }

    /// Newest first; `structure_id` None lists the platform-wide entries.
    pub async fn audit_entries(
        &self,
        structure_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, actor_label, action, target, before, after FROM audit_log
             WHERE structure_id IS NOT DISTINCT FROM $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(structure_id)
        .bind(limit as i64)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| AuditEntry {
                id: r.get(0),
                at: r.get(1),
                actor: r.get(2),
                action: r.get(3),
                target: r.get(4),
                before: r.get(5),
                after: r.get(6),
            })
            .collect())
    }
}
