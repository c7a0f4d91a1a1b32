//! Structures (CPTS, MSP) and the modules each one enables, at which version.

use serde::Serialize;
use sqlx::Row;

use crate::storage::{Db, Result, StorageError, now_secs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StructureKind {
    Cpts,
    Msp,
}

impl StructureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StructureKind::Cpts => "cpts",
            StructureKind::Msp => "msp",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "cpts" => Some(StructureKind::Cpts),
            "msp" => Some(StructureKind::Msp),
            _ => None,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            StructureKind::Cpts => "CPTS",
            StructureKind::Msp => "MSP",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Structure {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub kind: StructureKind,
    pub time_zone: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnabledModule {
    pub plugin_id: String,
    pub version: String,
}

/// Slugs appear in URLs: lowercase ASCII letters, digits and dashes.
pub fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 64
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
}

fn structure_from_row(row: &sqlx::sqlite::SqliteRow) -> Structure {
    Structure {
        id: row.get("id"),
        slug: row.get("slug"),
        name: row.get("name"),
        kind: StructureKind::parse(row.get::<&str, _>("kind")).unwrap_or(StructureKind::Cpts),
        time_zone: row.get("time_zone"),
    }
}

impl Db {
    pub async fn create_structure(
        &self,
        slug: &str,
        name: &str,
        kind: StructureKind,
        time_zone: &str,
    ) -> Result<Structure> {
        if !valid_slug(slug) {
            return Err(StorageError::Invalid(format!(
                "invalid structure slug {slug:?}"
            )));
        }
        let id = sqlx::query("INSERT INTO structures (slug, name, kind, time_zone, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id")
            .bind(slug)
            .bind(name)
            .bind(kind.as_str())
            .bind(time_zone)
            .bind(now_secs())
            .fetch_one(self.pool())
            .await?
            .get(0);
        Ok(Structure {
            id,
            slug: slug.into(),
            name: name.into(),
            kind,
            time_zone: time_zone.into(),
        })
    }

    pub async fn structure_by_slug(&self, slug: &str) -> Result<Option<Structure>> {
        let row =
            sqlx::query("SELECT id, slug, name, kind, time_zone FROM structures WHERE slug = ?")
                .bind(slug)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.as_ref().map(structure_from_row))
    }

    pub async fn structures(&self) -> Result<Vec<Structure>> {
        let rows =
            sqlx::query("SELECT id, slug, name, kind, time_zone FROM structures ORDER BY name")
                .fetch_all(self.pool())
                .await?;
        Ok(rows.iter().map(structure_from_row).collect())
    }

    /// Enables a module (an installed plugin version) for a structure, or changes its version.
    pub async fn enable_module(
        &self,
        structure_id: i64,
        plugin_id: &str,
        version: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO structure_modules (structure_id, plugin_id, version, enabled_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (structure_id, plugin_id) DO UPDATE SET version = excluded.version, enabled_at = excluded.enabled_at",
        )
        .bind(structure_id)
        .bind(plugin_id)
        .bind(version)
        .bind(now_secs())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn disable_module(&self, structure_id: i64, plugin_id: &str) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM structure_modules WHERE structure_id = ? AND plugin_id = ?")
                .bind(structure_id)
                .bind(plugin_id)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn enabled_modules(&self, structure_id: i64) -> Result<Vec<EnabledModule>> {
        let rows = sqlx::query("SELECT plugin_id, version FROM structure_modules WHERE structure_id = ? ORDER BY plugin_id")
            .bind(structure_id)
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| EnabledModule {
                plugin_id: r.get(0),
                version: r.get(1),
            })
            .collect())
    }

    pub async fn enabled_module(
        &self,
        structure_id: i64,
        plugin_id: &str,
    ) -> Result<Option<EnabledModule>> {
        let row = sqlx::query("SELECT plugin_id, version FROM structure_modules WHERE structure_id = ? AND plugin_id = ?")
            .bind(structure_id)
            .bind(plugin_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| EnabledModule {
            plugin_id: r.get(0),
            version: r.get(1),
        }))
    }
}
