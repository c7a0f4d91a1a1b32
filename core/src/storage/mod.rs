//! Storage: the database (SQLite embedded by default), plugin documents scoped per
//! (structure, plugin), and the durable event outbox.

mod migrations;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, StorageError>;

/// Where a plugin's data lives: set by the host, never by the plugin (invariant 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginScope {
    pub structure_id: i64,
    pub plugin_id: String,
}

#[derive(Debug, Clone)]
pub struct Db {
    pool: SqlitePool,
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

const MAX_NAME_LEN: usize = 128;
const MAX_VALUE_LEN: usize = 1 << 20;

/// Collection names and document ids: printable, no control characters, bounded.
fn check_name(kind: &str, value: &str) -> Result<()> {
    if value.is_empty() || value.len() > MAX_NAME_LEN || value.chars().any(char::is_control) {
        return Err(StorageError::Invalid(format!(
            "{kind} must be 1..={MAX_NAME_LEN} printable bytes"
        )));
    }
    Ok(())
}

impl Db {
    /// Opens (creating if needed) the SQLite file and applies migrations.
    /// WAL + synchronous=FULL: an acknowledged write survives a crash (invariant 6).
    pub async fn open_sqlite(path: &Path) -> Result<Db> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                StorageError::Invalid(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        migrations::migrator().run(&pool).await?;
        Ok(Db { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn doc_get(
        &self,
        scope: &PluginScope,
        collection: &str,
        id: &str,
    ) -> Result<Option<String>> {
        doc_get(&self.pool, scope, collection, id).await
    }

    pub async fn doc_put(
        &self,
        scope: &PluginScope,
        collection: &str,
        id: &str,
        value: &str,
    ) -> Result<()> {
        doc_put(&self.pool, scope, collection, id, value).await
    }

    pub async fn doc_scan(
        &self,
        scope: &PluginScope,
        collection: &str,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<(String, String)>> {
        doc_scan(&self.pool, scope, collection, prefix, limit).await
    }

    /// Events of a structure, oldest first (admin views and tests).
    pub async fn events(&self, structure_id: i64) -> Result<Vec<StoredEvent>> {
        let rows = sqlx::query(
            "SELECT idempotency_key, source_plugin, topic, payload FROM event_outbox WHERE structure_id = ? ORDER BY id",
        )
        .bind(structure_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| StoredEvent {
                idempotency_key: r.get(0),
                source: r.get(1),
                topic: r.get(2),
                payload: r.get(3),
            })
            .collect())
    }
}

// Plugin documents and events, on any executor: the pool, or the transaction that
// holds all the writes of one plugin call.

pub async fn doc_get<'c>(
    db: impl sqlx::SqliteExecutor<'c>,
    scope: &PluginScope,
    collection: &str,
    id: &str,
) -> Result<Option<String>> {
    check_name("collection", collection)?;
    check_name("id", id)?;
    let row = sqlx::query(
            "SELECT value FROM plugin_documents WHERE structure_id = ? AND plugin_id = ? AND collection = ? AND doc_id = ?",
        )
        .bind(scope.structure_id)
        .bind(&scope.plugin_id)
        .bind(collection)
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|r| r.get::<String, _>(0)))
}

pub async fn doc_put<'c>(
    db: impl sqlx::SqliteExecutor<'c>,
    scope: &PluginScope,
    collection: &str,
    id: &str,
    value: &str,
) -> Result<()> {
    check_name("collection", collection)?;
    check_name("id", id)?;
    if value.len() > MAX_VALUE_LEN {
        return Err(StorageError::Invalid(format!(
            "value larger than {MAX_VALUE_LEN} bytes"
        )));
    }
    serde_json::from_str::<serde_json::Value>(value)
        .map_err(|e| StorageError::Invalid(format!("value is not JSON: {e}")))?;
    sqlx::query(
            "INSERT INTO plugin_documents (structure_id, plugin_id, collection, doc_id, value, updated_at)
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (structure_id, plugin_id, collection, doc_id)
             DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(scope.structure_id)
        .bind(&scope.plugin_id)
        .bind(collection)
        .bind(id)
        .bind(value)
        .bind(now_secs())
        .execute(db)
        .await?;
    Ok(())
}

pub async fn doc_delete<'c>(
    db: impl sqlx::SqliteExecutor<'c>,
    scope: &PluginScope,
    collection: &str,
    id: &str,
) -> Result<bool> {
    check_name("collection", collection)?;
    check_name("id", id)?;
    let done = sqlx::query(
            "DELETE FROM plugin_documents WHERE structure_id = ? AND plugin_id = ? AND collection = ? AND doc_id = ?",
        )
        .bind(scope.structure_id)
        .bind(&scope.plugin_id)
        .bind(collection)
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Documents whose id starts with `prefix`, ordered by id.
pub async fn doc_scan<'c>(
    db: impl sqlx::SqliteExecutor<'c>,
    scope: &PluginScope,
    collection: &str,
    prefix: &str,
    limit: u32,
) -> Result<Vec<(String, String)>> {
    check_name("collection", collection)?;
    if prefix.len() > MAX_NAME_LEN {
        return Err(StorageError::Invalid("prefix too long".into()));
    }
    // Range scan instead of LIKE: no escaping of '%' and '_', and it uses the primary key.
    let rows = sqlx::query(
            "SELECT doc_id, value FROM plugin_documents
             WHERE structure_id = ? AND plugin_id = ? AND collection = ? AND doc_id >= ? AND substr(doc_id, 1, ?) = ?
             ORDER BY doc_id LIMIT ?",
        )
        .bind(scope.structure_id)
        .bind(&scope.plugin_id)
        .bind(collection)
        .bind(prefix)
        .bind(prefix.chars().count() as i64)
        .bind(prefix)
        .bind(limit.min(10_000) as i64)
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Appends an event to the durable outbox; returns its idempotency key.
pub async fn publish_event<'c>(
    db: impl sqlx::SqliteExecutor<'c>,
    scope: &PluginScope,
    topic: &str,
    payload: &str,
) -> Result<String> {
    check_name("topic", topic)?;
    serde_json::from_str::<serde_json::Value>(payload)
        .map_err(|e| StorageError::Invalid(format!("payload is not JSON: {e}")))?;
    let key = new_key();
    sqlx::query(
            "INSERT INTO event_outbox (idempotency_key, structure_id, source_plugin, topic, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&key)
        .bind(scope.structure_id)
        .bind(&scope.plugin_id)
        .bind(topic)
        .bind(payload)
        .bind(now_secs())
        .execute(db)
        .await?;
    Ok(key)
}

#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub idempotency_key: String,
    pub source: String,
    pub topic: String,
    pub payload: String,
}

/// Retry delay after `attempts` failures: `first` seconds, doubling, at most `cap`.
pub fn backoff_secs(first: i64, cap: i64, attempts: i64) -> i64 {
    let exponent = (attempts.max(1) - 1).min(16) as u32;
    (first << exponent).min(cap)
}

/// A unique key from time and a process-wide counter.
pub fn new_key() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{nanos:x}-{:x}-{:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
