//! Module timers (`maillage:plugin/timers`, WIT 0.2.2): an event for a module itself at
//! an instant. Scheduled and cancelled in the plugin call's transaction (a timer exists
//! only if the call's writes are kept); durable in the `timers` table, so a restart or a
//! kill -9 loses none. When due, a timer moves into the event outbox with one delivery,
//! to its own module only, and from there follows the event path: at least once, with
//! retries and dead letters. The event's idempotency key is the timer id.

use sqlx::{AnyConnection, Row};

use crate::storage::{
    Backend, Db, PluginScope, Result, StorageError, check_name, new_key, now_secs,
};

/// Pending timers one module may hold in one structure.
pub const MAX_PENDING_PER_MODULE: i64 = 10_000;
/// How far ahead a timer may be set (about ten years).
const MAX_AHEAD_SECS: i64 = 10 * 366 * 86_400;
/// Largest payload, in bytes.
const MAX_PAYLOAD: usize = 16 << 10;
/// Timers moved per round.
const BATCH: i64 = 500;

/// Schedules a timer for the scope's module and structure; returns its id.
pub async fn schedule(
    conn: &mut AnyConnection,
    scope: &PluginScope,
    topic: &str,
    payload: &str,
    at: i64,
) -> Result<String> {
    check_name("topic", topic)?;
    if payload.len() > MAX_PAYLOAD {
        return Err(StorageError::Invalid(format!(
            "timer payload over {MAX_PAYLOAD} bytes"
        )));
    }
    serde_json::from_str::<serde_json::Value>(payload)
        .map_err(|e| StorageError::Invalid(format!("timer payload is not JSON: {e}")))?;
    let now = now_secs();
    if at > now + MAX_AHEAD_SECS || at < 0 {
        return Err(StorageError::Invalid(format!(
            "timer instant {at} is out of range"
        )));
    }
    let pending: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM timers WHERE structure_id = $1 AND plugin_id = $2 AND status = 'pending'",
    )
    .bind(scope.structure_id)
    .bind(&scope.plugin_id)
    .fetch_one(&mut *conn)
    .await?;
    if pending >= MAX_PENDING_PER_MODULE {
        return Err(StorageError::Invalid(format!(
            "{pending} timers already pending for this module (at most {MAX_PENDING_PER_MODULE})"
        )));
    }
    let id = format!("t-{}", new_key());
    sqlx::query(
        "INSERT INTO timers (id, structure_id, plugin_id, topic, payload, due_at, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)",
    )
    .bind(&id)
    .bind(scope.structure_id)
    .bind(&scope.plugin_id)
    .bind(topic)
    .bind(payload)
    .bind(at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Cancels a pending timer of the scope's module and structure; false when there is no
/// such pending timer (unknown, another module's or structure's, fired, cancelled).
pub async fn cancel(conn: &mut AnyConnection, scope: &PluginScope, id: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE timers SET status = 'cancelled' WHERE id = $1 AND structure_id = $2 AND plugin_id = $3 AND status = 'pending'",
    )
    .bind(id)
    .bind(scope.structure_id)
    .bind(&scope.plugin_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Moves every timer due at `now` into the event outbox (one delivery, to its module),
/// in one transaction per batch: a timer fires exactly once even with several hosts
/// (rows are locked with SKIP LOCKED on PostgreSQL; the outbox key is the timer id).
/// Returns how many fired. Tests pass a future `now` to advance the clock.
pub async fn fire_due(db: &Db, now: i64) -> Result<usize> {
    let mut fired = 0;
    loop {
        let mut tx = db.begin_write().await?;
        let lock = match db.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let due = sqlx::query(&format!(
            "SELECT id, structure_id, plugin_id, topic, payload FROM timers
             WHERE status = 'pending' AND due_at <= $1 ORDER BY due_at, id LIMIT $2{lock}"
        ))
        .bind(now)
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        if due.is_empty() {
            return Ok(fired);
        }
        let count = due.len();
        for row in due {
            let id: String = row.get("id");
            let plugin_id: String = row.get("plugin_id");
            let event_id: i64 = sqlx::query_scalar(
                "INSERT INTO event_outbox (idempotency_key, structure_id, source_plugin, topic, payload, created_at, fanned_out)
                 VALUES ($1, $2, $3, $4, $5, $6, TRUE) RETURNING id",
            )
            .bind(&id)
            .bind(row.get::<i64, _>("structure_id"))
            .bind(&plugin_id)
            .bind(row.get::<String, _>("topic"))
            .bind(row.get::<String, _>("payload"))
            .bind(now_secs())
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO event_deliveries (event_id, plugin_id, status, next_attempt_at) VALUES ($1, $2, 'pending', $3)",
            )
            .bind(event_id)
            .bind(&plugin_id)
            .bind(now_secs())
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE timers SET status = 'fired', fired_at = $1 WHERE id = $2")
                .bind(now_secs())
                .bind(&id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        fired += count;
        if (count as i64) < BATCH {
            return Ok(fired);
        }
    }
}

/// Pending timers of a module in a structure (admin and tests).
pub async fn pending(db: &Db, structure_id: i64, plugin_id: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM timers WHERE structure_id = $1 AND plugin_id = $2 AND status = 'pending'",
    )
    .bind(structure_id)
    .bind(plugin_id)
    .fetch_one(db.pool())
    .await?)
}
