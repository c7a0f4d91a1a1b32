//! A whole installation at once: `maillage backup --to DIR` (a consistent copy of an
//! SQLite installation while it serves), `maillage restore --from DIR`, and
//! `maillage migrate --to postgres://…` (an SQLite installation copied into PostgreSQL).
//!
//! A backup is the database taken with SQLite's `VACUUM INTO` (one read transaction: a
//! snapshot of every committed write, taken without stopping writers in WAL mode), then
//! the blob and package folders. Files are copied after the snapshot, and a blob's object
//! is written before its row commits, so every blob the copied database names is copied.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use futures_util::TryStreamExt;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Executor, Row};

use crate::config::Config;
use crate::storage::Db;
use crate::storage::collections::CollectionDef;

/// The database file inside a backup folder.
pub const BACKUP_DATABASE: &str = "maillage.sqlite3";
/// Written last: a folder without it is not a complete backup.
pub const BACKUP_MANIFEST: &str = "maillage-backup.json";
/// The blob folder (local blob store) inside a backup folder.
pub const BACKUP_BLOBS: &str = "blobs";
/// The plugin packages inside a backup folder.
pub const BACKUP_PACKAGES: &str = "plugins";

/// What `maillage backup` says when the installation runs on PostgreSQL.
pub const POSTGRES_BACKUP_HELP: &str = "maillage backup copies SQLite installations only; this one uses PostgreSQL (DATABASE_URL). Back it up with the server's tools:
  1. the database: pg_dump --format=custom --file=maillage.dump \"$DATABASE_URL\" (add --schema=NAME when MAILLAGE_DATABASE_SCHEMA is set); restore it with pg_restore --dbname=… maillage.dump into an empty database;
  2. the files: with MAILLAGE_S3_BUCKET, the bucket (enable versioning, or copy it: aws s3 sync s3://BUCKET ./maillage-bucket); without a bucket, the data folder's blobs/ and plugins/ folders.
See docs/deploy.md, section Backups.";

/// The SQLite file of an installation, or None when it runs on PostgreSQL.
fn sqlite_path(config: &Config) -> anyhow::Result<Option<PathBuf>> {
    match config.database_url.as_deref() {
        None => Ok(Some(config.database_path())),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => Ok(None),
        Some(url) => match url.strip_prefix("sqlite://") {
            Some(path) => Ok(Some(PathBuf::from(path))),
            None => bail!("DATABASE_URL must start with postgres:// or sqlite://"),
        },
    }
}

fn is_empty_dir(dir: &Path) -> anyhow::Result<bool> {
    if !dir.exists() {
        return Ok(true);
    }
    let mut entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    Ok(entries.next().is_none())
}

fn sync_file(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}

/// Copies the regular files under `from` into `to` (created), fsyncing each. Skips the
/// blob store's files being written (`…#n`) and temporary files (`….tmp`); a file deleted
/// while the copy runs is skipped too. Returns how many files were copied.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<u64> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    if !from.exists() {
        return Ok(0);
    }
    let mut copied = 0;
    let entries =
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?;
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", from.display())),
        };
        let name = entry.file_name();
        let text = name.to_string_lossy();
        if text.contains('#') || text.ends_with(".tmp") {
            continue;
        }
        let source = entry.path();
        let target = to.join(&name);
        let kind = match entry.file_type() {
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", source.display())),
        };
        if kind.is_dir() {
            copied += copy_tree(&source, &target)?;
        } else if kind.is_file() {
            match std::fs::copy(&source, &target) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("cannot copy {} to {}", source.display(), target.display())
                    });
                }
            }
            sync_file(&target).with_context(|| format!("cannot sync {}", target.display()))?;
            copied += 1;
        }
    }
    Ok(copied)
}

/// `copy_tree` off the async runtime.
async fn copy_tree_blocking(from: PathBuf, to: PathBuf) -> anyhow::Result<u64> {
    tokio::task::spawn_blocking(move || copy_tree(&from, &to))
        .await
        .context("the copy task failed")?
}

#[derive(Debug, Clone)]
pub struct BackupSummary {
    pub database_bytes: u64,
    pub blob_files: u64,
    pub package_files: u64,
    /// Blobs live in an S3 bucket: not in the backup folder.
    pub blobs_in_bucket: bool,
}

/// `maillage backup --to DIR`: a consistent copy of a running SQLite installation.
pub async fn backup(config: &Config, to: &Path) -> anyhow::Result<BackupSummary> {
    let Some(database) = sqlite_path(config)? else {
        bail!("{POSTGRES_BACKUP_HELP}");
    };
    if !database.is_file() {
        bail!(
            "no SQLite database at {}: nothing to back up",
            database.display()
        );
    }
    if !is_empty_dir(to)? {
        bail!(
            "{} is not empty: back up into a new or empty folder",
            to.display()
        );
    }
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let copy = std::path::absolute(to.join(BACKUP_DATABASE))?;
    let Some(copy_text) = copy.to_str() else {
        bail!("the backup folder's path must be UTF-8: {}", copy.display());
    };

    // The snapshot: one read transaction on a connection of its own (WAL: writers go on).
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=rw", database.display());
    let mut conn = <AnyConnection as sqlx::Connection>::connect(&url)
        .await
        .with_context(|| format!("cannot open {}", database.display()))?;
    conn.execute("PRAGMA busy_timeout = 5000").await?;
    let statement = format!("VACUUM INTO '{}'", copy_text.replace('\'', "''"));
    conn.execute(statement.as_str())
        .await
        .with_context(|| format!("VACUUM INTO {} failed", copy.display()))?;
    <AnyConnection as sqlx::Connection>::close(conn).await?;
    // VACUUM INTO does not fsync its output.
    sync_file(&copy).with_context(|| format!("cannot sync {}", copy.display()))?;
    let database_bytes = std::fs::metadata(&copy)?.len();

    // Then the files: every object a row of the snapshot names was written before it.
    let blobs_in_bucket = config.s3_bucket.is_some();
    let blob_files = if blobs_in_bucket {
        0
    } else {
        copy_tree_blocking(config.blob_dir(), to.join(BACKUP_BLOBS)).await?
    };
    let package_files = copy_tree_blocking(config.package_dir(), to.join(BACKUP_PACKAGES)).await?;

    let blobs_entry = if blobs_in_bucket {
        serde_json::Value::Null
    } else {
        serde_json::Value::from(BACKUP_BLOBS)
    };
    let manifest = serde_json::json!({
        "format": 1,
        "maillage": env!("CARGO_PKG_VERSION"),
        "created_at": crate::storage::now_secs(),
        "database": BACKUP_DATABASE,
        "blobs": blobs_entry,
        "packages": BACKUP_PACKAGES,
    });
    let manifest_path = to.join(BACKUP_MANIFEST);
    std::fs::write(&manifest_path, format!("{manifest:#}\n"))?;
    sync_file(&manifest_path)?;
    if let Ok(dir) = std::fs::File::open(to) {
        let _ = dir.sync_all();
    }
    Ok(BackupSummary {
        database_bytes,
        blob_files,
        package_files,
        blobs_in_bucket,
    })
}

#[derive(Debug, Clone)]
pub struct RestoreSummary {
    pub blob_files: u64,
    pub package_files: u64,
    /// Blobs are configured in an S3 bucket: the backup's blob folder was not copied.
    pub blobs_in_bucket: bool,
}

fn remove_if_present(path: &Path) -> anyhow::Result<()> {
    let done = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match done {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
}

/// `maillage restore --from DIR`: puts a backup back into the configured data folder.
/// The server must be stopped. A data folder that is not empty is refused unless
/// `force`, which replaces its database, blobs and packages.
pub async fn restore(config: &Config, from: &Path, force: bool) -> anyhow::Result<RestoreSummary> {
    let Some(database) = sqlite_path(config)? else {
        bail!(
            "maillage restore puts back SQLite backups; this installation uses PostgreSQL: restore its pg_dump with pg_restore (docs/deploy.md, section Backups)"
        );
    };
    if !from.join(BACKUP_MANIFEST).is_file() || !from.join(BACKUP_DATABASE).is_file() {
        bail!(
            "{} is not a complete Maillage backup (no {BACKUP_MANIFEST} or {BACKUP_DATABASE})",
            from.display()
        );
    }
    let data = &config.data_dir;
    if !is_empty_dir(data)? && !force {
        bail!(
            "the data folder {} is not empty: restore into an empty folder, or stop the server and pass --force to replace its database, blobs and packages",
            data.display()
        );
    }
    std::fs::create_dir_all(data).with_context(|| format!("cannot create {}", data.display()))?;
    if let Some(parent) = database.parent() {
        std::fs::create_dir_all(parent)?;
    }

    // The database: copied beside its place, synced, then renamed over it. The old
    // WAL and shared-memory files go first: SQLite would replay them onto the new file.
    let mut staged = database.clone().into_os_string();
    staged.push(".restoring");
    let staged = PathBuf::from(staged);
    std::fs::copy(from.join(BACKUP_DATABASE), &staged)
        .with_context(|| format!("cannot copy the database to {}", staged.display()))?;
    sync_file(&staged)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = database.clone().into_os_string();
        side.push(suffix);
        remove_if_present(Path::new(&side))?;
    }
    std::fs::rename(&staged, &database)
        .with_context(|| format!("cannot move the database to {}", database.display()))?;

    let blobs_in_bucket = config.s3_bucket.is_some();
    let blob_files = if blobs_in_bucket {
        0
    } else {
        remove_if_present(&config.blob_dir())?;
        copy_tree_blocking(from.join(BACKUP_BLOBS), config.blob_dir()).await?
    };
    remove_if_present(&config.package_dir())?;
    let package_files =
        copy_tree_blocking(from.join(BACKUP_PACKAGES), config.package_dir()).await?;
    if let Ok(dir) = std::fs::File::open(data) {
        let _ = dir.sync_all();
    }
    Ok(RestoreSummary {
        blob_files,
        package_files,
        blobs_in_bucket,
    })
}

#[derive(Debug, Clone)]
pub struct MigrationSummary {
    /// Each table copied with its row count, in the order they were copied.
    pub tables: Vec<(String, u64)>,
    /// Plugins whose collections were created in PostgreSQL.
    pub plugins: Vec<String>,
}

/// Table and column names spliced into the copy's SQL: what the migrations and the
/// collections layer create, nothing else.
fn check_identifier(name: &str) -> anyhow::Result<()> {
    if name.is_empty()
        || name.len() > 63
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        bail!("unexpected table or column name {name:?}");
    }
    Ok(())
}

/// Tables ordered so that each comes after the tables it refers to (cycles, which the
/// schema has none of, are appended in name order).
fn dependency_order(parents: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut placed: BTreeSet<String> = BTreeSet::new();
    let mut order = Vec::with_capacity(parents.len());
    while order.len() < parents.len() {
        let ready: Vec<String> = parents
            .iter()
            .filter(|(table, refs)| {
                !placed.contains(*table) && refs.iter().all(|r| placed.contains(r))
            })
            .map(|(table, _)| table.clone())
            .collect();
        if ready.is_empty() {
            for table in parents.keys() {
                if !placed.contains(table) {
                    order.push(table.clone());
                }
            }
            break;
        }
        for table in ready {
            placed.insert(table.clone());
            order.push(table);
        }
    }
    order
}

/// How a PostgreSQL column wants its values bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Bool,
    Float,
    Text,
    Bytes,
}

impl Kind {
    fn of(data_type: &str) -> Kind {
        match data_type {
            "boolean" => Kind::Bool,
            "bigint" | "integer" | "smallint" => Kind::Int,
            "double precision" | "real" | "numeric" => Kind::Float,
            "bytea" => Kind::Bytes,
            _ => Kind::Text,
        }
    }
}

enum Value {
    Int(Option<i64>),
    Bool(Option<bool>),
    Float(Option<f64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

/// One SQLite value as the PostgreSQL column's type: SQLite's flags are 0/1 integers.
fn read_value(row: &AnyRow, i: usize, kind: Kind) -> anyhow::Result<Value> {
    let text = || row.try_get::<Option<String>, _>(i);
    Ok(match kind {
        Kind::Int => Value::Int(match row.try_get::<Option<i64>, _>(i) {
            Ok(v) => v,
            Err(_) => match text()? {
                None => None,
                Some(t) => Some(
                    t.trim()
                        .parse::<i64>()
                        .with_context(|| format!("{t:?} is not an integer"))?,
                ),
            },
        }),
        Kind::Bool => Value::Bool(match row.try_get::<Option<i64>, _>(i) {
            Ok(v) => v.map(|v| v != 0),
            Err(_) => match row.try_get::<Option<bool>, _>(i) {
                Ok(v) => v,
                Err(_) => text()?.map(|t| matches!(t.trim(), "1" | "t" | "true")),
            },
        }),
        Kind::Float => Value::Float(match row.try_get::<Option<f64>, _>(i) {
            Ok(v) => v,
            Err(_) => row.try_get::<Option<i64>, _>(i)?.map(|v| v as f64),
        }),
        Kind::Bytes => Value::Bytes(match row.try_get::<Option<Vec<u8>>, _>(i) {
            Ok(v) => v,
            Err(_) => text()?.map(String::into_bytes),
        }),
        Kind::Text => Value::Text(match text() {
            Ok(v) => v,
            Err(_) => match row.try_get::<Option<i64>, _>(i) {
                Ok(v) => v.map(|v| v.to_string()),
                Err(_) => row.try_get::<Option<f64>, _>(i)?.map(|v| v.to_string()),
            },
        }),
    })
}

/// Inserts `rows` rows of `width` values (taken from `values`) in one statement.
async fn insert_batch(
    conn: &mut AnyConnection,
    table: &str,
    columns: &str,
    width: usize,
    rows: usize,
    values: &mut Vec<Value>,
) -> anyhow::Result<()> {
    let mut sql = format!("INSERT INTO \"{table}\" ({columns}) VALUES ");
    let mut n = 0;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..width {
            n += 1;
            let _ = write!(sql, "{}${n}", if c == 0 { "" } else { ", " });
        }
        sql.push(')');
    }
    let mut query = sqlx::query(&sql);
    for value in values.drain(..) {
        query = match value {
            Value::Int(v) => query.bind(v),
            Value::Bool(v) => query.bind(v),
            Value::Float(v) => query.bind(v),
            Value::Text(v) => query.bind(v),
            Value::Bytes(v) => query.bind(v),
        };
    }
    query
        .execute(&mut *conn)
        .await
        .with_context(|| format!("inserting into {table} failed"))?;
    Ok(())
}

/// Copies every row of `table` from SQLite into the PostgreSQL transaction `conn`.
async fn copy_table(
    source: &Db,
    conn: &mut AnyConnection,
    table: &str,
    columns: &[(String, String)],
) -> anyhow::Result<u64> {
    let kinds: Vec<Kind> = columns.iter().map(|(_, t)| Kind::of(t)).collect();
    let names = columns
        .iter()
        .map(|(c, _)| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let width = columns.len();
    // PostgreSQL takes at most 65,535 parameters per statement.
    let per_batch = (60_000 / width).clamp(1, 500);
    let select = format!("SELECT {names} FROM \"{table}\"");
    let mut rows = sqlx::query(&select).fetch(source.pool());
    let mut values: Vec<Value> = Vec::with_capacity(per_batch * width);
    let mut pending = 0usize;
    let mut total = 0u64;
    while let Some(row) = rows
        .try_next()
        .await
        .with_context(|| format!("reading {table} failed"))?
    {
        for (i, kind) in kinds.iter().enumerate() {
            let value =
                read_value(&row, i, *kind).with_context(|| format!("{table}.{}", columns[i].0))?;
            values.push(value);
        }
        pending += 1;
        if pending == per_batch {
            insert_batch(conn, table, &names, width, pending, &mut values).await?;
            total += pending as u64;
            pending = 0;
        }
    }
    if pending > 0 {
        insert_batch(conn, table, &names, width, pending, &mut values).await?;
        total += pending as u64;
    }
    Ok(total)
}

/// (name, type) of a PostgreSQL table's columns in the connection's schema, in order.
async fn target_columns(
    conn: &mut AnyConnection,
    table: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    let mut columns = Vec::with_capacity(rows.len());
    for row in &rows {
        columns.push((row.try_get::<String, _>(0)?, row.try_get::<String, _>(1)?));
    }
    Ok(columns)
}

/// Columns only the PostgreSQL schema has, computed there rather than copied: (table,
/// column).
const POSTGRES_ONLY_COLUMNS: &[(&str, &str)] = &[("library_entries", "search")];

/// `maillage migrate --to postgres://…`: copies this SQLite installation into a fresh
/// PostgreSQL database (or schema). The target gets the normal migrations and, for each
/// plugin, its collections as last applied; then every table's rows, parents before
/// children, in one transaction; then identity sequences continue after the copied ids.
/// Blobs and packages stay where they are (the data folder, or the bucket).
pub async fn migrate(
    config: &Config,
    to: &str,
    schema: Option<&str>,
) -> anyhow::Result<MigrationSummary> {
    if !(to.starts_with("postgres://") || to.starts_with("postgresql://")) {
        bail!("--to must be a postgres:// URL");
    }
    if sqlite_path(config)?.is_none() {
        bail!(
            "this installation already uses PostgreSQL (DATABASE_URL): migrate copies an SQLite installation"
        );
    }
    let source = config
        .open_database()
        .await
        .context("cannot open the SQLite installation")?;
    let target = Db::open_postgres(to, schema)
        .await
        .context("cannot open the PostgreSQL database")?;
    for table in [
        "structures",
        "accounts",
        "plugin_packages",
        "plugin_collections",
    ] {
        let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(target.pool())
            .await?;
        if rows > 0 {
            bail!(
                "the PostgreSQL target is not empty ({table} has {rows} rows): migrate into a new database or schema (--to-schema)"
            );
        }
    }

    // Plugins' tables, created as their collections were last applied.
    let declared = sqlx::query(
        "SELECT plugin_id, schema, plugin_version FROM plugin_collections ORDER BY plugin_id, collection",
    )
    .fetch_all(source.pool())
    .await?;
    let mut plugins: BTreeMap<String, (Vec<CollectionDef>, semver::Version)> = BTreeMap::new();
    for row in &declared {
        let plugin: String = row.try_get(0)?;
        let def: CollectionDef = serde_json::from_str(row.try_get::<&str, _>(1)?)
            .with_context(|| format!("stored collection of {plugin} unreadable"))?;
        let version = semver::Version::parse(row.try_get::<&str, _>(2)?)
            .with_context(|| format!("stored version of {plugin} unreadable"))?;
        let entry = plugins
            .entry(plugin)
            .or_insert_with(|| (Vec::new(), version.clone()));
        if version > entry.1 {
            entry.1 = version;
        }
        entry.0.push(def);
    }
    for (plugin, (defs, version)) in &plugins {
        target
            .apply_collections(plugin, version, defs, false)
            .await
            .with_context(|| format!("creating the collections of {plugin} failed"))?;
    }

    // Every table but the migrations' bookkeeping, the collections just written and the
    // library's FTS5 table with its shadow tables (PostgreSQL searches a column instead,
    // recomputed below).
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
         AND name <> '_sqlx_migrations' AND name <> 'plugin_collections'
         AND name NOT LIKE 'library_fts%' ORDER BY name",
    )
    .fetch_all(source.pool())
    .await?;
    let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for table in &tables {
        check_identifier(table)?;
        let refs: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list('{table}')"
        ))
        .fetch_all(source.pool())
        .await?;
        parents.insert(
            table.clone(),
            refs.into_iter()
                .filter(|r| r != table && tables.contains(r))
                .collect(),
        );
    }

    let mut tx = target.pool().begin().await?;
    let mut copied = Vec::with_capacity(tables.len());
    for table in dependency_order(&parents) {
        let columns = target_columns(&mut tx, &table).await?;
        if columns.is_empty() {
            bail!(
                "table {table} has no counterpart in PostgreSQL (is this binary older than the installation?)"
            );
        }
        let columns: Vec<(String, String)> = columns
            .into_iter()
            .filter(|(column, _)| {
                !POSTGRES_ONLY_COLUMNS.contains(&(table.as_str(), column.as_str()))
            })
            .collect();
        let source_columns: BTreeSet<String> = sqlx::query_scalar::<_, String>(&format!(
            "SELECT name FROM pragma_table_info('{table}')"
        ))
        .fetch_all(source.pool())
        .await?
        .into_iter()
        .collect();
        let target_names: BTreeSet<String> = columns.iter().map(|(c, _)| c.clone()).collect();
        if source_columns != target_names {
            let only_sqlite: Vec<&String> = source_columns.difference(&target_names).collect();
            let only_postgres: Vec<&String> = target_names.difference(&source_columns).collect();
            bail!(
                "table {table} differs: columns only in SQLite {only_sqlite:?}, only in PostgreSQL {only_postgres:?}"
            );
        }
        for (column, _) in &columns {
            check_identifier(column)?;
        }
        let rows = copy_table(&source, &mut tx, &table, &columns).await?;
        copied.push((table, rows));
    }
    // The library's search text, which SQLite keeps in its FTS5 table.
    crate::library::rebuild_postgres_search(&mut tx)
        .await
        .context("recomputing the library's search text failed")?;
    // Identity columns: the next generated id follows the largest copied one.
    let identities = sqlx::query(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND is_identity = 'YES'",
    )
    .fetch_all(&mut *tx)
    .await?;
    for row in &identities {
        let table: String = row.try_get(0)?;
        let column: String = row.try_get(1)?;
        check_identifier(&table)?;
        check_identifier(&column)?;
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), (SELECT COALESCE(MAX(\"{column}\"), 0) FROM \"{table}\") + 1, false)"
        ))
        .bind(&table)
        .bind(&column)
        .execute(&mut *tx)
        .await
        .with_context(|| format!("resetting the sequence of {table}.{column} failed"))?;
    }
    tx.commit().await?;
    // Planner statistics for the copied tables (outside the transaction).
    for (table, _) in &copied {
        let _ = target
            .pool()
            .execute(format!("ANALYZE \"{table}\"").as_str())
            .await;
    }
    Ok(MigrationSummary {
        tables: copied,
        plugins: plugins.into_keys().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_are_copied_before_children() {
        let edges = [
            ("memberships", vec!["accounts", "structures"]),
            ("accounts", vec![]),
            ("audit_log", vec!["accounts", "structures"]),
            ("structures", vec![]),
            ("event_deliveries", vec!["event_outbox"]),
            ("event_outbox", vec!["structures"]),
            // 0007: people, module roles, rule sets.
            ("module_roles", vec!["accounts", "structures"]),
            ("member_facts", vec!["accounts", "structures"]),
            ("member_adhesions", vec!["accounts", "structures"]),
            ("rule_sets", vec!["structures"]),
            ("rule_set_assignments", vec!["accounts", "structures"]),
        ];
        let parents: BTreeMap<String, BTreeSet<String>> = edges
            .iter()
            .map(|(table, refs)| {
                (
                    table.to_string(),
                    refs.iter().map(|r| r.to_string()).collect(),
                )
            })
            .collect();
        let order = dependency_order(&parents);
        let at = |t: &str| order.iter().position(|o| o == t).unwrap();
        assert_eq!(order.len(), 11);
        assert!(at("accounts") < at("memberships") && at("structures") < at("memberships"));
        for child in [
            "module_roles",
            "member_facts",
            "member_adhesions",
            "rule_set_assignments",
        ] {
            assert!(at("accounts") < at(child) && at("structures") < at(child));
        }
        assert!(at("structures") < at("rule_sets"));
        assert!(
            at("structures") < at("event_outbox") && at("event_outbox") < at("event_deliveries")
        );
    }

    #[test]
    fn only_schema_names_are_spliced() {
        assert!(check_identifier("c_polls__polls").is_ok());
        assert!(check_identifier("f_when__at").is_ok());
        assert!(check_identifier("x\"; DROP TABLE accounts; --").is_err());
        assert!(check_identifier("").is_err());
    }
}
