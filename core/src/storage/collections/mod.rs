//! Collections: typed tables that plugins declare in their manifest. The host creates and
//! migrates them (additive changes at install; destructive ones only when confirmed),
//! and runs every record operation with the structure injected (invariant 2).
//!
//! One table per (plugin, collection), shared by all structures: `structure_id` leads
//! the primary key and every index. Field `x` is column `f_x`; a datetime also has
//! `f_x__at` (Unix seconds) for sorting and comparisons; full-text fields are folded
//! into `search_text`. SQL is built with sea-query for both dialects.

pub mod filter;
mod records;
mod values;

use std::collections::BTreeMap;

use sea_query::{
    ColumnDef, Index, PostgresQueryBuilder, SchemaStatementBuilder, SqliteQueryBuilder, Table,
};
use serde::{Deserialize, Serialize};
use sqlx::{Executor, Row};

pub use records::{Bucket, Page, QuerySpec, Records};
pub use values::fold;

use super::{Backend, Db, Result, StorageError, now_secs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldType {
    Text,
    Integer,
    Money,
    Boolean,
    Date,
    Datetime,
    Json,
    UserRef,
    GroupRef,
    RecordRef,
}

impl FieldType {
    /// Types stored in a TEXT column.
    fn is_textual(self) -> bool {
        matches!(
            self,
            FieldType::Text
                | FieldType::Date
                | FieldType::Datetime
                | FieldType::Json
                | FieldType::UserRef
                | FieldType::GroupRef
                | FieldType::RecordRef
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDef {
    pub name: String,
    pub kind: FieldType,
    #[serde(default)]
    pub required: bool,
    /// JSON literal used when an insert omits the field.
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub full_text: bool,
    #[serde(default)]
    pub references: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexDef {
    pub fields: Vec<String>,
    #[serde(default)]
    pub unique: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionDef {
    pub name: String,
    pub fields: Vec<FieldDef>,
    #[serde(default)]
    pub indexes: Vec<IndexDef>,
}

/// Every record has these; fields may not use the names.
pub const SYSTEM_FIELDS: [&str; 3] = ["id", "created_at", "updated_at"];
const MAX_COLLECTIONS: usize = 64;
const MAX_FIELDS: usize = 64;
/// PostgreSQL truncates identifiers beyond 63 bytes; refuse instead.
const MAX_IDENTIFIER: usize = 63;

fn valid_identifier(name: &str) -> bool {
    (1..=40).contains(&name.len())
        && name.as_bytes()[0].is_ascii_lowercase()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.contains("__")
}

impl FieldDef {
    /// A field with no constraint; adjust with struct update syntax.
    pub fn new(name: &str, kind: FieldType) -> FieldDef {
        FieldDef {
            name: name.into(),
            kind,
            required: false,
            default: None,
            full_text: false,
            references: None,
        }
    }
}

impl CollectionDef {
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    fn has_full_text(&self) -> bool {
        self.fields.iter().any(|f| f.full_text)
    }
}

/// Checks a plugin's declared collections; the message names what is wrong.
pub fn validate(plugin_id: &str, collections: &[CollectionDef]) -> std::result::Result<(), String> {
    if collections.len() > MAX_COLLECTIONS {
        return Err(format!("at most {MAX_COLLECTIONS} collections"));
    }
    let mut seen = Vec::new();
    for c in collections {
        if !valid_identifier(&c.name) {
            return Err(format!(
                "collection name {:?}: lowercase letters, digits and single '_', starting with a letter, at most 40",
                c.name
            ));
        }
        if seen.contains(&&c.name) {
            return Err(format!("collection {:?} is declared twice", c.name));
        }
        seen.push(&c.name);
        let table = table_name(plugin_id, &c.name);
        if table.len() > MAX_IDENTIFIER - 12 {
            return Err(format!(
                "plugin id and collection name {:?} are too long together",
                c.name
            ));
        }
        if c.fields.is_empty() || c.fields.len() > MAX_FIELDS {
            return Err(format!(
                "collection {:?} needs 1..={MAX_FIELDS} fields",
                c.name
            ));
        }
        let mut names = Vec::new();
        for f in &c.fields {
            if !valid_identifier(&f.name) || SYSTEM_FIELDS.contains(&f.name.as_str()) {
                return Err(format!(
                    "field {}.{}: lowercase identifier, not id/created_at/updated_at",
                    c.name, f.name
                ));
            }
            if names.contains(&&f.name) {
                return Err(format!("field {}.{} is declared twice", c.name, f.name));
            }
            names.push(&f.name);
            match (f.kind, &f.references) {
                (FieldType::RecordRef, Some(target))
                    if !collections.iter().any(|o| &o.name == target) =>
                {
                    return Err(format!(
                        "field {}.{} references unknown collection {target:?}",
                        c.name, f.name
                    ));
                }
                (FieldType::RecordRef, None) => {
                    return Err(format!(
                        "field {}.{} is a record-ref without `references`",
                        c.name, f.name
                    ));
                }
                (FieldType::RecordRef, Some(_)) => {}
                (_, Some(_)) => {
                    return Err(format!(
                        "field {}.{}: only record-ref fields take `references`",
                        c.name, f.name
                    ));
                }
                _ => {}
            }
            if f.full_text && f.kind != FieldType::Text {
                return Err(format!(
                    "field {}.{}: only text fields can be full-text",
                    c.name, f.name
                ));
            }
            if let Some(default) = &f.default {
                values::check_default(f, default)
                    .map_err(|e| format!("default of {}.{}: {e}", c.name, f.name))?;
            }
        }
        for index in &c.indexes {
            // Up to 16 fields, so that an index can cover a ranked search (see
            // `Records::rank`); PostgreSQL allows 32 columns with `structure_id`.
            if index.fields.is_empty() || index.fields.len() > 16 {
                return Err(format!("an index of {:?} needs 1..=16 fields", c.name));
            }
            for name in &index.fields {
                if name == "created_at" || name == "updated_at" || name == "id" {
                    continue;
                }
                match c.field(name) {
                    Some(f) if f.kind != FieldType::Json => {}
                    Some(_) => {
                        return Err(format!("field {}.{name} is JSON: not indexable", c.name));
                    }
                    None => {
                        return Err(format!(
                            "index of {:?} names unknown field {name:?}",
                            c.name
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

pub fn table_name(plugin_id: &str, collection: &str) -> String {
    format!("c_{}__{}", plugin_id.replace('-', "_"), collection)
}

fn column(field: &str) -> String {
    format!("f_{field}")
}

fn instant_column(field: &str) -> String {
    format!("f_{field}__at")
}

/// A short, stable index name: the table plus a hash of the indexed fields.
fn index_name(table: &str, index: &IndexDef) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{}:{}", index.unique, index.fields.join(",")));
    let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("{table}__i{hex}")
}

/// One collection of one plugin, as the record operations need it.
#[derive(Debug, Clone)]
pub struct Collection {
    pub def: CollectionDef,
    pub table: String,
}

/// The collections a loaded plugin declared, by name.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    collections: BTreeMap<String, Collection>,
}

impl Schema {
    pub fn new(plugin_id: &str, defs: &[CollectionDef]) -> Schema {
        Schema {
            collections: defs
                .iter()
                .map(|d| {
                    (
                        d.name.clone(),
                        Collection {
                            def: d.clone(),
                            table: table_name(plugin_id, &d.name),
                        },
                    )
                })
                .collect(),
        }
    }

    pub fn collection(&self, name: &str) -> Result<&Collection> {
        self.collections
            .get(name)
            .ok_or_else(|| StorageError::Invalid(format!("unknown collection {name:?}")))
    }
}

impl crate::storage::Db {
    /// Refreshes the planner's statistics of a plugin's tables, after a bulk write (an
    /// import): PostgreSQL also marks the pages all-visible, so that a covering index
    /// is read alone. Outside any transaction (VACUUM cannot run in one).
    pub async fn refresh_statistics(&self, schema: &Schema) -> Result<()> {
        for collection in schema.collections.values() {
            // Table names come from the validated schema: [a-z0-9_] only.
            let statement = match self.backend() {
                crate::storage::Backend::Sqlite => format!("ANALYZE \"{}\"", collection.table),
                crate::storage::Backend::Postgres => {
                    format!("VACUUM (ANALYZE) \"{}\"", collection.table)
                }
            };
            sqlx::query(&statement).execute(self.pool()).await?;
        }
        Ok(())
    }
}

/// What installing a plugin version does to its tables.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaPlan {
    /// Applied without asking: new collections, fields and indexes.
    pub additive: Vec<String>,
    /// Lose data: removed collections or fields, changed field types.
    pub destructive: Vec<String>,
}

enum Step {
    CreateCollection(CollectionDef),
    AddField(String, FieldDef),
    DropField(String, FieldDef),
    AddIndex(String, IndexDef),
    DropIndex(String, IndexDef),
    DropCollection(String),
    /// Full-text fields changed: recompute `search_text` for every row.
    Reindex(CollectionDef),
}

fn plan_steps(
    applied: &BTreeMap<String, CollectionDef>,
    declared: &[CollectionDef],
) -> (Vec<Step>, SchemaPlan) {
    let mut steps = Vec::new();
    let mut plan = SchemaPlan::default();
    for new in declared {
        let Some(old) = applied.get(&new.name) else {
            plan.additive.push(format!("new collection {}", new.name));
            steps.push(Step::CreateCollection(new.clone()));
            continue;
        };
        for old_index in &old.indexes {
            if !new.indexes.contains(old_index) {
                steps.push(Step::DropIndex(new.name.clone(), old_index.clone()));
            }
        }
        for f in &new.fields {
            match old.field(&f.name) {
                None => {
                    plan.additive
                        .push(format!("new field {}.{}", new.name, f.name));
                    steps.push(Step::AddField(new.name.clone(), f.clone()));
                }
                Some(o) if o.kind != f.kind || o.references != f.references => {
                    plan.destructive.push(format!(
                        "field {}.{} changes type: its values are erased",
                        new.name, f.name
                    ));
                    steps.push(Step::DropField(new.name.clone(), o.clone()));
                    steps.push(Step::AddField(new.name.clone(), f.clone()));
                }
                Some(_) => {}
            }
        }
        for o in &old.fields {
            if new.field(&o.name).is_none() {
                plan.destructive.push(format!(
                    "field {}.{} is removed with its values",
                    new.name, o.name
                ));
                steps.push(Step::DropField(new.name.clone(), o.clone()));
            }
        }
        for index in &new.indexes {
            if !old.indexes.contains(index) {
                plan.additive.push(format!(
                    "new {} on {}({})",
                    if index.unique { "unique key" } else { "index" },
                    new.name,
                    index.fields.join(", ")
                ));
                steps.push(Step::AddIndex(new.name.clone(), index.clone()));
            }
        }
        let full_text = |c: &CollectionDef| -> Vec<String> {
            c.fields
                .iter()
                .filter(|f| f.full_text)
                .map(|f| f.name.clone())
                .collect()
        };
        if full_text(old) != full_text(new) {
            plan.additive
                .push(format!("full-text fields of {} are re-indexed", new.name));
            steps.push(Step::Reindex(new.clone()));
        }
    }
    for name in applied.keys() {
        if !declared.iter().any(|d| &d.name == name) {
            plan.destructive
                .push(format!("collection {name} is removed with all its records"));
            steps.push(Step::DropCollection(name.clone()));
        }
    }
    (steps, plan)
}

fn ddl<T: SchemaStatementBuilder>(backend: Backend, statement: &T) -> String {
    match backend {
        Backend::Sqlite => statement.build(SqliteQueryBuilder),
        Backend::Postgres => statement.build(PostgresQueryBuilder),
    }
}

fn field_columns(backend: Backend, f: &FieldDef) -> Vec<ColumnDef> {
    let mut main = ColumnDef::new(column(&f.name));
    match (f.kind, backend) {
        (FieldType::Integer | FieldType::Money, _) => main.big_integer(),
        (FieldType::Boolean, Backend::Postgres) => main.boolean(),
        // sqlx's Any driver cannot read SQLite's BOOLEAN affinity: 0/1 integers.
        (FieldType::Boolean, Backend::Sqlite) => main.integer(),
        _ => main.text(),
    };
    let mut columns = vec![main];
    if f.kind == FieldType::Datetime {
        columns.push(
            ColumnDef::new(instant_column(&f.name))
                .big_integer()
                .to_owned(),
        );
    }
    let _ = backend;
    columns
}

/// The column an index uses for a field: timestamps as is, a datetime's instant.
fn index_column(def: &CollectionDef, name: &str) -> String {
    match def.field(name) {
        Some(f) if f.kind == FieldType::Datetime => instant_column(name),
        Some(_) => column(name),
        None => name.to_string(),
    }
}

fn index_statement(
    def: &CollectionDef,
    table: &str,
    index: &IndexDef,
) -> sea_query::IndexCreateStatement {
    let mut statement = Index::create();
    statement
        .name(index_name(table, index))
        .table(table.to_string())
        .col("structure_id".to_string());
    for field in &index.fields {
        statement.col(index_column(def, field));
    }
    if index.unique {
        statement.unique();
    }
    statement
}

impl Db {
    /// The collections of `plugin_id` as last applied.
    async fn applied_collections(
        &self,
        plugin_id: &str,
    ) -> Result<(BTreeMap<String, CollectionDef>, Option<String>)> {
        let rows = sqlx::query(
            "SELECT collection, schema, plugin_version FROM plugin_collections WHERE plugin_id = $1",
        )
        .bind(plugin_id)
        .fetch_all(self.pool())
        .await?;
        let mut applied = BTreeMap::new();
        let mut version = None;
        for row in rows {
            let def: CollectionDef = serde_json::from_str(row.get::<&str, _>(1))
                .map_err(|e| StorageError::Invalid(format!("stored schema unreadable: {e}")))?;
            applied.insert(row.get::<String, _>(0), def);
            version = Some(row.get::<String, _>(2));
        }
        Ok((applied, version))
    }

    /// What applying these declarations would change (nothing is written).
    pub async fn plan_collections(
        &self,
        plugin_id: &str,
        version: &semver::Version,
        declared: &[CollectionDef],
    ) -> Result<SchemaPlan> {
        let (applied, applied_version) = self.applied_collections(plugin_id).await?;
        if older_than_applied(version, applied_version.as_deref()) {
            return Ok(SchemaPlan::default());
        }
        Ok(plan_steps(&applied, declared).1)
    }

    /// Creates or migrates the plugin's tables to `declared`, in one transaction.
    /// Destructive steps need `confirm_destructive`; otherwise nothing changes and the
    /// error lists them. An older version than the one applied leaves the schema alone
    /// (the newer schema only added to it, or its destruction was confirmed).
    pub async fn apply_collections(
        &self,
        plugin_id: &str,
        version: &semver::Version,
        declared: &[CollectionDef],
        confirm_destructive: bool,
    ) -> Result<SchemaPlan> {
        validate(plugin_id, declared).map_err(StorageError::Invalid)?;
        let (applied, applied_version) = self.applied_collections(plugin_id).await?;
        if older_than_applied(version, applied_version.as_deref()) {
            return Ok(SchemaPlan::default());
        }
        let (steps, plan) = plan_steps(&applied, declared);
        if !plan.destructive.is_empty() && !confirm_destructive {
            return Err(StorageError::Destructive(plan.destructive));
        }
        let backend = self.backend();
        let mut tx = self.pool().begin().await?;
        for step in steps {
            match step {
                Step::CreateCollection(def) => {
                    let table = table_name(plugin_id, &def.name);
                    let mut create = Table::create();
                    create
                        .table(table.clone())
                        .col(
                            ColumnDef::new("structure_id".to_string())
                                .big_integer()
                                .not_null(),
                        )
                        .col(ColumnDef::new("id".to_string()).text().not_null())
                        .col(
                            ColumnDef::new("created_at".to_string())
                                .big_integer()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new("updated_at".to_string())
                                .big_integer()
                                .not_null(),
                        )
                        .col(ColumnDef::new("search_text".to_string()).text())
                        .primary_key(
                            Index::create()
                                .col("structure_id".to_string())
                                .col("id".to_string()),
                        );
                    for f in &def.fields {
                        for c in field_columns(backend, f) {
                            create.col(c);
                        }
                    }
                    tx.execute(ddl(backend, &create).as_str()).await?;
                    for index in &def.indexes {
                        tx.execute(ddl(backend, &index_statement(&def, &table, index)).as_str())
                            .await?;
                    }
                }
                Step::AddField(collection, f) => {
                    let table = table_name(plugin_id, &collection);
                    for c in field_columns(backend, &f) {
                        let alter = Table::alter().table(table.clone()).add_column(c).to_owned();
                        tx.execute(ddl(backend, &alter).as_str()).await?;
                    }
                    // Existing rows get the default, as new inserts would.
                    if let Some(default) = &f.default {
                        records::backfill_default(&mut tx, backend, &table, &f, default).await?;
                    }
                }
                Step::DropField(collection, f) => {
                    let table = table_name(plugin_id, &collection);
                    // SQLite cannot drop an indexed column: drop its indexes first.
                    if let Some(old) = applied.get(&collection) {
                        for index in old.indexes.iter().filter(|i| i.fields.contains(&f.name)) {
                            let name = index_name(&table, index);
                            tx.execute(format!("DROP INDEX IF EXISTS {name}").as_str())
                                .await?;
                        }
                    }
                    let mut columns = vec![column(&f.name)];
                    if f.kind == FieldType::Datetime {
                        columns.push(instant_column(&f.name));
                    }
                    for c in columns {
                        let alter = Table::alter()
                            .table(table.clone())
                            .drop_column(c)
                            .to_owned();
                        tx.execute(ddl(backend, &alter).as_str()).await?;
                    }
                }
                Step::AddIndex(collection, index) => {
                    let table = table_name(plugin_id, &collection);
                    let def = declared
                        .iter()
                        .find(|d| d.name == collection)
                        .expect("planned from the declarations");
                    tx.execute(ddl(backend, &index_statement(def, &table, &index)).as_str())
                        .await
                        .map_err(|e| match &e {
                            sqlx::Error::Database(d) if d.is_unique_violation() => {
                                StorageError::Invalid(format!(
                                    "cannot add the unique key ({}) to {collection}: existing records share values",
                                    index.fields.join(", ")
                                ))
                            }
                            _ => e.into(),
                        })?;
                }
                Step::DropIndex(collection, index) => {
                    let name = index_name(&table_name(plugin_id, &collection), &index);
                    tx.execute(format!("DROP INDEX IF EXISTS {name}").as_str())
                        .await?;
                }
                Step::DropCollection(collection) => {
                    let drop = Table::drop()
                        .table(table_name(plugin_id, &collection))
                        .to_owned();
                    tx.execute(ddl(backend, &drop).as_str()).await?;
                    sqlx::query(
                        "DELETE FROM plugin_collections WHERE plugin_id = $1 AND collection = $2",
                    )
                    .bind(plugin_id)
                    .bind(&collection)
                    .execute(&mut *tx)
                    .await?;
                }
                Step::Reindex(def) => {
                    let collection = Collection {
                        table: table_name(plugin_id, &def.name),
                        def,
                    };
                    records::reindex_search(&mut tx, backend, &collection).await?;
                }
            }
        }
        for def in declared {
            sqlx::query(
                "INSERT INTO plugin_collections (plugin_id, collection, table_name, schema, plugin_version, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (plugin_id, collection) DO UPDATE SET schema = excluded.schema,
                   plugin_version = excluded.plugin_version, updated_at = excluded.updated_at",
            )
            .bind(plugin_id)
            .bind(&def.name)
            .bind(table_name(plugin_id, &def.name))
            .bind(serde_json::to_string(def).unwrap_or_default())
            .bind(version.to_string())
            .bind(now_secs())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(plan)
    }
}

fn older_than_applied(version: &semver::Version, applied: Option<&str>) -> bool {
    applied
        .and_then(|a| semver::Version::parse(a).ok())
        .is_some_and(|a| version < &a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_are_checked() {
        let good = CollectionDef {
            name: "polls".into(),
            fields: vec![FieldDef::new("title", FieldType::Text)],
            indexes: vec![],
        };
        assert!(validate("polls", std::slice::from_ref(&good)).is_ok());
        let mut bad = good.clone();
        bad.fields.push(FieldDef::new("id", FieldType::Text));
        assert!(validate("polls", &[bad]).unwrap_err().contains("id"));
        let mut dangling = good.clone();
        dangling.fields.push(FieldDef {
            references: Some("nowhere".into()),
            ..FieldDef::new("parent", FieldType::RecordRef)
        });
        assert!(
            validate("polls", &[dangling])
                .unwrap_err()
                .contains("nowhere")
        );
        let mut bad_index = good.clone();
        bad_index.indexes.push(IndexDef {
            fields: vec!["missing".into()],
            unique: true,
        });
        assert!(validate("polls", &[bad_index]).is_err());
        let upper = CollectionDef {
            name: "Polls".into(),
            ..good
        };
        assert!(validate("polls", &[upper]).is_err());
    }

    #[test]
    fn plans_tell_additive_from_destructive() {
        let v1 = CollectionDef {
            name: "polls".into(),
            fields: vec![
                FieldDef::new("title", FieldType::Text),
                FieldDef::new("votes", FieldType::Integer),
            ],
            indexes: vec![],
        };
        let mut applied = BTreeMap::new();
        applied.insert("polls".to_string(), v1.clone());
        let mut v2 = v1.clone();
        v2.fields.push(FieldDef::new("closes_on", FieldType::Date));
        let (_, plan) = plan_steps(&applied, std::slice::from_ref(&v2));
        assert_eq!(plan.additive, vec!["new field polls.closes_on"]);
        assert!(plan.destructive.is_empty());
        let mut v3 = v1.clone();
        v3.fields[1].kind = FieldType::Text;
        let (_, plan) = plan_steps(&applied, &[v3]);
        assert_eq!(plan.destructive.len(), 1);
        let (_, plan) = plan_steps(&applied, &[]);
        assert!(plan.destructive[0].contains("collection polls is removed"));
    }
}
