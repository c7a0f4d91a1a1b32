//! Structures (CPTS, MSP), who belongs to them with which role, and the modules each
//! one enables, at which version, with which granted capabilities.

use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::storage::{Backend, Db, Result, StorageError, now_secs};

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
    /// Postal codes of the territory, comma-separated.
    pub territory: String,
}

impl Structure {
    /// The territory's postal codes, one per item.
    pub fn territory_codes(&self) -> Vec<String> {
        self.territory
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EnabledModule {
    pub plugin_id: String,
    pub version: String,
    /// Capabilities the structure's admin granted (a subset of what the manifest asks).
    pub granted: Vec<String>,
}

/// Role of a person in a structure. Each role includes the rights of those below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Role {
    Member,
    Coordinator,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Coordinator, Role::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Coordinator => "coordinator",
            Role::Member => "member",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "admin" => Some(Role::Admin),
            "coordinator" => Some(Role::Coordinator),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Administrateur",
            Role::Coordinator => "Coordinateur",
            Role::Member => "Membre",
        }
    }
}

/// One person's place in one structure.
#[derive(Debug, Clone, Serialize)]
pub struct Membership {
    pub structure: Structure,
    pub role: Role,
}

impl Membership {
    /// Role names handed to plugins: cumulative (a module's own roles are added by the
    /// runtime, from `module_roles`).
    pub fn role_names(&self) -> Vec<String> {
        Role::ALL
            .iter()
            .filter(|r| **r <= self.role)
            .map(|r| r.as_str().to_string())
            .collect()
    }
}

/// A member as listed on the admin page.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub account_id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// False while the invitation has not been accepted.
    pub active: bool,
}

/// Time zones of French structures, mainland and overseas.
pub const TIME_ZONES: &[(&str, &str)] = &[
    ("Europe/Paris", "Métropole (Europe/Paris)"),
    ("America/Cayenne", "Guyane (America/Cayenne)"),
    ("America/Martinique", "Martinique (America/Martinique)"),
    ("America/Guadeloupe", "Guadeloupe (America/Guadeloupe)"),
    ("Indian/Reunion", "La Réunion (Indian/Reunion)"),
    ("Indian/Mayotte", "Mayotte (Indian/Mayotte)"),
    (
        "America/Miquelon",
        "Saint-Pierre-et-Miquelon (America/Miquelon)",
    ),
    ("Pacific/Noumea", "Nouvelle-Calédonie (Pacific/Noumea)"),
    ("Pacific/Tahiti", "Polynésie française (Pacific/Tahiti)"),
    ("Pacific/Wallis", "Wallis-et-Futuna (Pacific/Wallis)"),
];

/// First path segments the host owns; a structure cannot take them as its slug.
pub const RESERVED_SLUGS: &[&str] = &[
    "static",
    "healthz",
    "connexion",
    "deconnexion",
    "compte",
    "mot-de-passe",
    "mot-de-passe-oublie",
    "plateforme",
    "assets",
    "hors-ligne",
    "csp-rapport",
    "flux",
    "metrics",
    "readyz",
];

/// Slugs appear in URLs: lowercase ASCII letters, digits and dashes.
pub fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 64
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !RESERVED_SLUGS.contains(&slug)
}

/// Postal codes: five digits each, comma- or space-separated; returns them normalised.
pub fn parse_territory(text: &str) -> Option<String> {
    let codes: Vec<&str> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|c| !c.is_empty())
        .collect();
    codes
        .iter()
        .all(|c| c.len() == 5 && c.bytes().all(|b| b.is_ascii_digit()))
        .then(|| codes.join(", "))
}

const STRUCTURE_COLUMNS: &str = "s.id, s.slug, s.name, s.kind, s.time_zone, s.territory";

fn structure_from_row(row: &sqlx::any::AnyRow) -> Structure {
    Structure {
        id: row.get("id"),
        slug: row.get("slug"),
        name: row.get("name"),
        kind: StructureKind::parse(row.get::<&str, _>("kind")).unwrap_or(StructureKind::Cpts),
        time_zone: row.get("time_zone"),
        territory: row.get("territory"),
    }
}

fn granted_from_json(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

impl Db {
    pub async fn create_structure(
        &self,
        slug: &str,
        name: &str,
        kind: StructureKind,
        time_zone: &str,
    ) -> Result<Structure> {
        let mut conn = self.pool().acquire().await?;
        self.create_structure_in(&mut conn, slug, name, kind, time_zone)
            .await
    }

    /// [`Db::create_structure`] in the caller's transaction (with its audit entry).
    pub async fn create_structure_in(
        &self,
        conn: &mut AnyConnection,
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
        if !TIME_ZONES.iter().any(|(tz, _)| *tz == time_zone) {
            return Err(StorageError::Invalid(format!(
                "unsupported time zone {time_zone:?}"
            )));
        }
        let id = sqlx::query("INSERT INTO structures (slug, name, kind, time_zone, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(slug)
            .bind(name)
            .bind(kind.as_str())
            .bind(time_zone)
            .bind(now_secs())
            .fetch_one(&mut *conn)
            .await?
            .get(0);
        Ok(Structure {
            id,
            slug: slug.into(),
            name: name.into(),
            kind,
            time_zone: time_zone.into(),
            territory: String::new(),
        })
    }

    /// Changes what an admin may change: name, time zone, territory.
    pub async fn update_structure(
        &self,
        structure_id: i64,
        name: &str,
        time_zone: &str,
        territory: &str,
    ) -> Result<()> {
        let mut conn = self.pool().acquire().await?;
        self.update_structure_in(&mut conn, structure_id, name, time_zone, territory)
            .await
    }

    /// [`Db::update_structure`] in the caller's transaction (with its audit entry).
    pub async fn update_structure_in(
        &self,
        conn: &mut AnyConnection,
        structure_id: i64,
        name: &str,
        time_zone: &str,
        territory: &str,
    ) -> Result<()> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 120 {
            return Err(StorageError::Invalid(
                "structure name must be 1..=120 characters".into(),
            ));
        }
        if !TIME_ZONES.iter().any(|(tz, _)| *tz == time_zone) {
            return Err(StorageError::Invalid(format!(
                "unsupported time zone {time_zone:?}"
            )));
        }
        let territory = parse_territory(territory)
            .ok_or_else(|| StorageError::Invalid(format!("invalid postal codes {territory:?}")))?;
        sqlx::query(
            "UPDATE structures SET name = $1, time_zone = $2, territory = $3 WHERE id = $4",
        )
        .bind(name)
        .bind(time_zone)
        .bind(territory)
        .bind(structure_id)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    pub async fn set_territory(&self, structure_id: i64, territory: &str) -> Result<()> {
        let mut conn = self.pool().acquire().await?;
        self.set_territory_in(&mut conn, structure_id, territory)
            .await
    }

    /// [`Db::set_territory`] in the caller's transaction (with its audit entry).
    pub async fn set_territory_in(
        &self,
        conn: &mut AnyConnection,
        structure_id: i64,
        territory: &str,
    ) -> Result<()> {
        let normalised = parse_territory(territory)
            .ok_or_else(|| StorageError::Invalid(format!("invalid postal codes {territory:?}")))?;
        sqlx::query("UPDATE structures SET territory = $1 WHERE id = $2")
            .bind(normalised)
            .bind(structure_id)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    pub async fn structure(&self, id: i64) -> Result<Option<Structure>> {
        let row = sqlx::query(&format!(
            "SELECT {STRUCTURE_COLUMNS} FROM structures s WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(structure_from_row))
    }

    pub async fn structure_by_slug(&self, slug: &str) -> Result<Option<Structure>> {
        let row = sqlx::query(&format!(
            "SELECT {STRUCTURE_COLUMNS} FROM structures s WHERE slug = $1"
        ))
        .bind(slug)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(structure_from_row))
    }

    pub async fn structures(&self) -> Result<Vec<Structure>> {
        let rows = sqlx::query(&format!(
            "SELECT {STRUCTURE_COLUMNS} FROM structures s ORDER BY name"
        ))
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
        granted: &[String],
    ) -> Result<()> {
        let mut conn = self.pool().acquire().await?;
        self.enable_module_in(&mut conn, structure_id, plugin_id, version, granted)
            .await
    }

    /// [`Db::enable_module`] in the caller's transaction (with its audit entry).
    pub async fn enable_module_in(
        &self,
        conn: &mut AnyConnection,
        structure_id: i64,
        plugin_id: &str,
        version: &str,
        granted: &[String],
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO structure_modules (structure_id, plugin_id, version, enabled_at, granted) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (structure_id, plugin_id) DO UPDATE SET version = excluded.version, enabled_at = excluded.enabled_at, granted = excluded.granted",
        )
        .bind(structure_id)
        .bind(plugin_id)
        .bind(version)
        .bind(now_secs())
        .bind(serde_json::to_string(granted).unwrap_or_else(|_| "[]".into()))
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    pub async fn disable_module(&self, structure_id: i64, plugin_id: &str) -> Result<bool> {
        let mut conn = self.pool().acquire().await?;
        self.disable_module_in(&mut conn, structure_id, plugin_id)
            .await
    }

    /// [`Db::disable_module`] in the caller's transaction (with its audit entry).
    pub async fn disable_module_in(
        &self,
        conn: &mut AnyConnection,
        structure_id: i64,
        plugin_id: &str,
    ) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM structure_modules WHERE structure_id = $1 AND plugin_id = $2")
                .bind(structure_id)
                .bind(plugin_id)
                .execute(&mut *conn)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn enabled_modules(&self, structure_id: i64) -> Result<Vec<EnabledModule>> {
        let rows = sqlx::query("SELECT plugin_id, version, granted FROM structure_modules WHERE structure_id = $1 ORDER BY plugin_id")
            .bind(structure_id)
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| EnabledModule {
                plugin_id: r.get(0),
                version: r.get(1),
                granted: granted_from_json(r.get(2)),
            })
            .collect())
    }

    pub async fn enabled_module(
        &self,
        structure_id: i64,
        plugin_id: &str,
    ) -> Result<Option<EnabledModule>> {
        let row = sqlx::query("SELECT plugin_id, version, granted FROM structure_modules WHERE structure_id = $1 AND plugin_id = $2")
            .bind(structure_id)
            .bind(plugin_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| EnabledModule {
            plugin_id: r.get(0),
            version: r.get(1),
            granted: granted_from_json(r.get(2)),
        }))
    }

    /// Adds a person to a structure, or changes their role there.
    pub async fn set_membership(
        &self,
        structure_id: i64,
        account_id: i64,
        role: Role,
    ) -> Result<()> {
        let mut conn = self.pool().acquire().await?;
        self.set_membership_in(&mut conn, structure_id, account_id, role)
            .await
    }

    /// [`Db::set_membership`] in the caller's transaction (with its audit entry).
    pub async fn set_membership_in(
        &self,
        conn: &mut AnyConnection,
        structure_id: i64,
        account_id: i64,
        role: Role,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO memberships (structure_id, account_id, role, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (structure_id, account_id) DO UPDATE SET role = excluded.role",
        )
        .bind(structure_id)
        .bind(account_id)
        .bind(role.as_str())
        .bind(now_secs())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    pub async fn remove_membership(&self, structure_id: i64, account_id: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let removed = self
            .remove_membership_in(&mut tx, structure_id, account_id)
            .await?;
        tx.commit().await?;
        Ok(removed)
    }

    /// [`Db::remove_membership`] (and the person's group memberships and module roles
    /// there) in the caller's transaction.
    pub async fn remove_membership_in(
        &self,
        conn: &mut AnyConnection,
        structure_id: i64,
        account_id: i64,
    ) -> Result<bool> {
        sqlx::query("DELETE FROM group_members WHERE account_id = $1 AND group_id IN (SELECT id FROM work_groups WHERE structure_id = $2)")
            .bind(account_id)
            .bind(structure_id)
            .execute(&mut *conn)
            .await?;
        // Module roles go with the membership: a person invited again gets none back.
        // (The fiche and adhesion periods stay: they are the structure's history.)
        sqlx::query("DELETE FROM module_roles WHERE structure_id = $1 AND account_id = $2")
            .bind(structure_id)
            .bind(account_id)
            .execute(&mut *conn)
            .await?;
        let done =
            sqlx::query("DELETE FROM memberships WHERE structure_id = $1 AND account_id = $2")
                .bind(structure_id)
                .bind(account_id)
                .execute(&mut *conn)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Whether the structure still has an administrator once `account_id` gets
    /// `new_role` (None: leaves the structure). Call it in the write transaction that
    /// makes the change (`Db::begin_write`): the structure's row is locked there on
    /// PostgreSQL and SQLite's write lock is already held, so two admins demoting each
    /// other at the same time cannot both pass.
    pub async fn keeps_an_admin_in(
        &self,
        conn: &mut AnyConnection,
        structure_id: i64,
        account_id: i64,
        new_role: Option<Role>,
    ) -> Result<bool> {
        if self.backend() == Backend::Postgres {
            // NO KEY UPDATE: serialises these checks without blocking inserts that
            // merely reference the structure.
            sqlx::query("SELECT id FROM structures WHERE id = $1 FOR NO KEY UPDATE")
                .bind(structure_id)
                .fetch_optional(&mut *conn)
                .await?;
        }
        if new_role == Some(Role::Admin) {
            return Ok(true);
        }
        let current: Option<String> = sqlx::query_scalar(
            "SELECT role FROM memberships WHERE structure_id = $1 AND account_id = $2",
        )
        .bind(structure_id)
        .bind(account_id)
        .fetch_optional(&mut *conn)
        .await?;
        if current.as_deref() != Some(Role::Admin.as_str()) {
            return Ok(true);
        }
        let others: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM memberships WHERE structure_id = $1 AND role = 'admin' AND account_id <> $2",
        )
        .bind(structure_id)
        .bind(account_id)
        .fetch_one(&mut *conn)
        .await?;
        Ok(others > 0)
    }

    /// The structures a person belongs to, by name.
    pub async fn memberships(&self, account_id: i64) -> Result<Vec<Membership>> {
        let rows = sqlx::query(&format!(
            "SELECT {STRUCTURE_COLUMNS}, m.role FROM memberships m JOIN structures s ON s.id = m.structure_id
             WHERE m.account_id = $1 ORDER BY s.name"
        ))
        .bind(account_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(membership_from_row).collect())
    }

    /// A person's membership in the structure named by `slug`; None if not a member.
    pub async fn membership(&self, account_id: i64, slug: &str) -> Result<Option<Membership>> {
        let row = sqlx::query(&format!(
            "SELECT {STRUCTURE_COLUMNS}, m.role FROM memberships m JOIN structures s ON s.id = m.structure_id
             WHERE m.account_id = $1 AND s.slug = $2"
        ))
        .bind(account_id)
        .bind(slug)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(membership_from_row))
    }

    pub async fn members(&self, structure_id: i64) -> Result<Vec<Member>> {
        let rows = sqlx::query(
            "SELECT a.id, a.email, a.display_name, m.role, a.password_hash IS NOT NULL AS active
             FROM memberships m JOIN accounts a ON a.id = m.account_id WHERE m.structure_id = $1 ORDER BY a.display_name",
        )
        .bind(structure_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(member_from_row).collect())
    }

    pub async fn member(&self, structure_id: i64, account_id: i64) -> Result<Option<Member>> {
        let mut conn = self.pool().acquire().await?;
        self.member_in(&mut conn, structure_id, account_id).await
    }

    /// [`Db::member`] on the caller's connection (an action's transaction).
    pub async fn member_in(
        &self,
        conn: &mut AnyConnection,
        structure_id: i64,
        account_id: i64,
    ) -> Result<Option<Member>> {
        let row = sqlx::query(
            "SELECT a.id, a.email, a.display_name, m.role, a.password_hash IS NOT NULL AS active
             FROM memberships m JOIN accounts a ON a.id = m.account_id WHERE m.structure_id = $1 AND m.account_id = $2",
        )
        .bind(structure_id)
        .bind(account_id)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(row.as_ref().map(member_from_row))
    }
}

fn member_from_row(r: &sqlx::any::AnyRow) -> Member {
    Member {
        account_id: r.get(0),
        email: r.get(1),
        display_name: r.get(2),
        role: Role::parse(r.get::<&str, _>(3)).unwrap_or(Role::Member),
        active: crate::storage::flag(r, "active"),
    }
}

fn membership_from_row(row: &sqlx::any::AnyRow) -> Membership {
    Membership {
        structure: structure_from_row(row),
        role: Role::parse(row.get::<&str, _>("role")).unwrap_or(Role::Member),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn territories_are_five_digit_postal_codes() {
        assert_eq!(
            parse_territory("97300,97310  97351").as_deref(),
            Some("97300, 97310, 97351")
        );
        assert_eq!(parse_territory("").as_deref(), Some(""));
        assert!(parse_territory("9730").is_none());
        assert!(parse_territory("97300, Cayenne").is_none());
    }

    #[test]
    fn slugs_avoid_host_paths_and_roles_are_cumulative() {
        assert!(valid_slug("cpts-du-lac"));
        assert!(!valid_slug("connexion") && !valid_slug("plateforme") && !valid_slug("-x"));
        let m = Membership {
            structure: Structure {
                id: 1,
                slug: "s".into(),
                name: "S".into(),
                kind: StructureKind::Msp,
                time_zone: "Europe/Paris".into(),
                territory: String::new(),
            },
            role: Role::Coordinator,
        };
        assert_eq!(m.role_names(), ["coordinator", "member"]);
    }
}
