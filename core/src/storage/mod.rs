//! Storage: the database (SQLite embedded by default), plugin documents scoped per
//! (structure, plugin), and the durable event outbox.

pub mod blobs;
pub mod collections;
mod migrations;

use std::path::Path;

use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyExecutor, Executor};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Invalid(String),
    #[error("blob store error: {0}")]
    Blob(String),
    /// A file over the blob size limit (in bytes).
    #[error("file larger than the limit of {0} bytes")]
    TooLarge(u64),
    /// A unique key or a record reference is violated.
    #[error("{0}")]
    Conflict(String),
    /// Installing would erase data; the operator must confirm.
    #[error("destructive schema change needs confirmation: {}", .0.join("; "))]
    Destructive(Vec<String>),
}

pub type Result<T> = std::result::Result<T, StorageError>;

/// Where a plugin's data lives: set by the host, never by the plugin (invariant 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginScope {
    pub structure_id: i64,
    pub plugin_id: String,
}

/// Which SQL dialect the pool speaks. Host queries are written once in the common
/// subset (`$n` placeholders, `ON CONFLICT`, `RETURNING`); the few differences branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// When SQLite's planner statistics were last refreshed (see
    /// [`Db::refresh_planner_statistics`]).
    statistics: StatisticsClock,
}

/// Milliseconds since the process began, at the last statistics refresh (0: none yet).
/// A SQLite connection loads the statistics when it reads the schema, once: one opened
/// before the refresh is closed when next acquired, and the pool opens a fresh one.
#[derive(Debug, Clone, Default)]
struct StatisticsClock(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl StatisticsClock {
    fn now_ms() -> u64 {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        let start = START.get_or_init(std::time::Instant::now);
        u64::try_from(start.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    fn mark(&self) {
        self.0
            .store(Self::now_ms(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether a connection of this age was opened after the last refresh.
    fn current(&self, age: std::time::Duration) -> bool {
        let refreshed = self.0.load(std::sync::atomic::Ordering::Relaxed);
        let age = u64::try_from(age.as_millis()).unwrap_or(u64::MAX);
        refreshed == 0 || Self::now_ms().saturating_sub(age) >= refreshed
    }
}

/// Reads a flag column: BOOLEAN on PostgreSQL, an integer 0/1 on SQLite.
pub fn flag(row: &AnyRow, column: &str) -> bool {
    match row.try_get::<bool, _>(column) {
        Ok(b) => b,
        Err(_) => row
            .try_get::<i64, _>(column)
            .map(|v| v != 0)
            .unwrap_or(false),
    }
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
pub(crate) fn check_name(kind: &str, value: &str) -> Result<()> {
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
        sqlx::any::install_default_drivers();
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let statistics = StatisticsClock::default();
        let clock = statistics.clone();
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .before_acquire(move |_, meta| {
                let current = clock.current(meta.age);
                Box::pin(async move { Ok(current) })
            })
            .after_connect(|conn, _| {
                Box::pin(async move {
                    // Reads map the file (no read() per page) and keep a larger cache:
                    // a directory search scans a territory's index.
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                         PRAGMA mmap_size = 268435456; PRAGMA cache_size = -32768;",
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        Db::migrated(pool, Backend::Sqlite, statistics).await
    }

    /// Connects to PostgreSQL and applies migrations. With `schema`, every connection
    /// works in that schema (created if missing): several installations, or one test
    /// each, can share a database.
    pub async fn open_postgres(url: &str, schema: Option<&str>) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let schema = schema.map(str::to_string);
        if let Some(name) = &schema {
            if !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                || name.is_empty()
                || name.len() > 63
            {
                return Err(StorageError::Invalid(format!(
                    "schema name {name:?} must be lowercase letters, digits and '_'"
                )));
            }
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(url).await?;
            conn.execute(format!("CREATE SCHEMA IF NOT EXISTS {name}").as_str())
                .await?;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            .after_connect(move |conn, _| {
                let schema = schema.clone();
                Box::pin(async move {
                    if let Some(name) = schema {
                        conn.execute(format!("SET search_path TO {name}").as_str())
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        Db::migrated(pool, Backend::Postgres, StatisticsClock::default()).await
    }

    /// Prepares a transaction that writes in bulk. sqlx keeps statements prepared per
    /// connection, and PostgreSQL settles on a generic plan after five runs: planned
    /// while a table was small (a sequential scan for a lookup) and kept while one
    /// transaction fills it, it made a 2M-line import quadratic. So such a transaction
    /// plans every statement; other calls keep their cached plans.
    pub async fn plan_for_bulk(&self, conn: &mut sqlx::AnyConnection) -> Result<()> {
        if self.backend == Backend::Postgres {
            conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
                .await?;
        }
        Ok(())
    }

    async fn migrated(pool: AnyPool, backend: Backend, statistics: StatisticsClock) -> Result<Db> {
        migrations::migrator(backend).run(&pool).await?;
        let db = Db {
            pool,
            backend,
            statistics,
        };
        db.refresh_planner_statistics().await?;
        Ok(db)
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Keeps SQLite's planner statistics current: `ANALYZE`, each index sampled
    /// (`analysis_limit`), so a few milliseconds whatever the size. Without statistics
    /// SQLite serves `WHERE indexed = ? ORDER BY id LIMIT n` by walking the primary key
    /// (the whole table) instead of the index: a project page's queries went from
    /// tenths of a millisecond to several each. (`PRAGMA optimize` skips tables that
    /// were analyzed while empty, hence a plain sampled `ANALYZE`.) A connection reads
    /// the statistics once, so those opened before are replaced as they are next
    /// acquired ([`StatisticsClock`]). Run at start and periodically (see `serve`). PostgreSQL's autovacuum does this on its own: a
    /// no-op there.
    pub async fn refresh_planner_statistics(&self) -> Result<()> {
        if self.backend == Backend::Sqlite {
            sqlx::raw_sql("PRAGMA analysis_limit = 1000; ANALYZE;")
                .execute(&self.pool)
                .await?;
            self.statistics.mark();
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a deferred one that reads, then writes after another
    /// connection committed, fails with "database is locked" without waiting, whereas
    /// this one waits its turn (`busy_timeout`). PostgreSQL: a plain `BEGIN`.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool().begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool().begin().await?,
        })
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
            "SELECT idempotency_key, source_plugin, topic, payload FROM event_outbox WHERE structure_id = $1 ORDER BY id",
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
    db: impl AnyExecutor<'c>,
    scope: &PluginScope,
    collection: &str,
    id: &str,
) -> Result<Option<String>> {
    check_name("collection", collection)?;
    check_name("id", id)?;
    let row = sqlx::query(
            "SELECT value FROM plugin_documents WHERE structure_id = $1 AND plugin_id = $2 AND collection = $3 AND doc_id = $4",
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
    db: impl AnyExecutor<'c>,
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
             VALUES ($1, $2, $3, $4, $5, $6)
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
    db: impl AnyExecutor<'c>,
    scope: &PluginScope,
    collection: &str,
    id: &str,
) -> Result<bool> {
    check_name("collection", collection)?;
    check_name("id", id)?;
    let done = sqlx::query(
            "DELETE FROM plugin_documents WHERE structure_id = $1 AND plugin_id = $2 AND collection = $3 AND doc_id = $4",
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
    db: impl AnyExecutor<'c>,
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
             WHERE structure_id = $1 AND plugin_id = $2 AND collection = $3 AND doc_id >= $4 AND substr(doc_id, 1, CAST($5 AS INTEGER)) = $6
             ORDER BY doc_id LIMIT $7",
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
    db: impl AnyExecutor<'c>,
    scope: &PluginScope,
    topic: &str,
    payload: &str,
) -> Result<String> {
    check_name("topic", topic)?;
    serde_json::from_str::<serde_json::Value>(payload)
        .map_err(|e| StorageError::Invalid(format!("payload is not JSON: {e}")))?;
    let key = new_key();
    sqlx::query(
            "INSERT INTO event_outbox (idempotency_key, structure_id, source_plugin, topic, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
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
