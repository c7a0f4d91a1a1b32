//! What the structure knows of its members (the « Fiche membre »): profession,
//! exercise mode, employer convention and adhesion periods, set by its admins or
//! suggested by a module (`people.suggest`, WIT 0.2.3); and the roles modules declare
//! (`roles.declared`), granted per member by the admins.
//!
//! Every function takes a connection so that it runs in the caller's transaction: the
//! admin pages write a change with its audit entry, the plugin runtime on its call's
//! connection. Host SQL in the portable subset (SQLite and PostgreSQL through sqlx Any).

use std::collections::HashMap;

use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::storage::{Result, StorageError, flag};

/// `source` of the adhesion periods an admin entered: a module never changes them.
pub const ADMIN_SOURCE: &str = "admin";

/// Longest profession label, in characters.
pub const MAX_PROFESSION_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ExerciseMode {
    Liberal,
    Salarie,
    Autre,
    Inconnu,
}

impl ExerciseMode {
    pub const ALL: [ExerciseMode; 4] = [
        ExerciseMode::Liberal,
        ExerciseMode::Salarie,
        ExerciseMode::Autre,
        ExerciseMode::Inconnu,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExerciseMode::Liberal => "liberal",
            ExerciseMode::Salarie => "salarie",
            ExerciseMode::Autre => "autre",
            ExerciseMode::Inconnu => "inconnu",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "liberal" => Some(ExerciseMode::Liberal),
            "salarie" => Some(ExerciseMode::Salarie),
            "autre" => Some(ExerciseMode::Autre),
            "inconnu" => Some(ExerciseMode::Inconnu),
            _ => None,
        }
    }

    pub fn label_fr(self) -> &'static str {
        match self {
            ExerciseMode::Liberal => "Libéral",
            ExerciseMode::Salarie => "Salarié",
            ExerciseMode::Autre => "Autre",
            ExerciseMode::Inconnu => "Non renseigné",
        }
    }
}

/// A period of adhesion, dates "YYYY-MM-DD" both included; `end` None while it lasts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Adhesion {
    pub id: i64,
    pub start: String,
    pub end: Option<String>,
    /// "admin", or "module:{id}" for a module's suggestion.
    pub source: String,
}

impl Adhesion {
    /// Whether `date` ("YYYY-MM-DD") falls in the period.
    pub fn covers(&self, date: &str) -> bool {
        self.start.as_str() <= date && self.end.as_deref().is_none_or(|end| date <= end)
    }
}

/// What the structure knows of one of its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberFacts {
    pub account_id: i64,
    pub display_name: String,
    /// The admin's, else the suggested one.
    pub profession: Option<String>,
    pub admin_profession: Option<String>,
    pub suggested_profession: Option<String>,
    /// The source of the suggestion, e.g. "module:annuaire".
    pub suggested_by: Option<String>,
    pub exercise_mode: ExerciseMode,
    pub employer_convention: bool,
    /// Oldest first.
    pub adhesions: Vec<Adhesion>,
}

impl MemberFacts {
    /// Whether one of the adhesion periods contains `date` ("YYYY-MM-DD").
    pub fn adherent_on(&self, date: &str) -> bool {
        self.adhesions.iter().any(|a| a.covers(date))
    }
}

/// A calendar date written "YYYY-MM-DD" (the only form stored: periods are compared as
/// text), checked by jiff (real month lengths, leap years).
pub fn valid_date(text: &str) -> bool {
    text.len() == 10
        && text
            .parse::<jiff::civil::Date>()
            .is_ok_and(|d| d.to_string() == text)
}

/// Today in the IANA zone `zone` (the structure's), "YYYY-MM-DD"; UTC if unknown.
pub fn today_in(zone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::now()
        .to_zoned_datetime(tz)
        .date()
        .to_string()
}

/// A profession as stored: trimmed, None when empty; refused when too long or with
/// control characters.
fn normalised_profession(profession: Option<&str>) -> Result<Option<String>> {
    let Some(text) = profession.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_PROFESSION_CHARS || text.chars().any(char::is_control) {
        return Err(StorageError::Invalid(format!(
            "profession must be at most {MAX_PROFESSION_CHARS} printable characters"
        )));
    }
    Ok(Some(text.to_string()))
}

fn check_date(what: &str, date: &str) -> Result<()> {
    if valid_date(date) {
        Ok(())
    } else {
        Err(StorageError::Invalid(format!(
            "{what} {date:?} is not a date YYYY-MM-DD"
        )))
    }
}

/// The structure's people with their facts (none yet: the defaults).
const FACTS_SELECT: &str =
    "SELECT a.id AS account_id, a.display_name, f.profession, f.exercise_mode,
        f.employer_convention, f.suggested_profession, f.suggested_by
     FROM memberships m JOIN accounts a ON a.id = m.account_id
     LEFT JOIN member_facts f ON f.structure_id = m.structure_id AND f.account_id = m.account_id
     WHERE m.structure_id = $1";

/// Active members: invitation accepted (as `tenancy::Member::active`).
const ACTIVE: &str = "AND a.password_hash IS NOT NULL";

fn facts_from_row(row: &sqlx::any::AnyRow) -> MemberFacts {
    let admin_profession: Option<String> = row.get("profession");
    let suggested_profession: Option<String> = row.get("suggested_profession");
    let mode: Option<String> = row.get("exercise_mode");
    MemberFacts {
        account_id: row.get("account_id"),
        display_name: row.get("display_name"),
        profession: admin_profession
            .clone()
            .or_else(|| suggested_profession.clone()),
        admin_profession,
        suggested_profession,
        suggested_by: row.get("suggested_by"),
        exercise_mode: mode
            .as_deref()
            .and_then(ExerciseMode::parse)
            .unwrap_or(ExerciseMode::Inconnu),
        // NULL (no row yet) reads as false.
        employer_convention: flag(row, "employer_convention"),
        adhesions: Vec::new(),
    }
}

fn adhesion_from_row(row: &sqlx::any::AnyRow) -> Adhesion {
    Adhesion {
        id: row.get("id"),
        start: row.get("start_date"),
        end: row.get("end_date"),
        source: row.get("source"),
    }
}

const ADHESION_COLUMNS: &str = "id, account_id, start_date, end_date, source";

/// The member's facts; None when `account_id` is not an active member of the structure.
pub async fn facts(
    conn: &mut AnyConnection,
    structure_id: i64,
    account_id: i64,
) -> Result<Option<MemberFacts>> {
    one_facts(conn, structure_id, account_id, ACTIVE).await
}

/// The facts of anyone in the structure, invitation accepted or not (the admins fill
/// the fiche of a person they just invited); None when not in the structure.
pub async fn facts_of_any_member(
    conn: &mut AnyConnection,
    structure_id: i64,
    account_id: i64,
) -> Result<Option<MemberFacts>> {
    one_facts(conn, structure_id, account_id, "").await
}

async fn one_facts(
    conn: &mut AnyConnection,
    structure_id: i64,
    account_id: i64,
    condition: &str,
) -> Result<Option<MemberFacts>> {
    let row = sqlx::query(&format!("{FACTS_SELECT} {condition} AND m.account_id = $2"))
        .bind(structure_id)
        .bind(account_id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut facts = facts_from_row(&row);
    facts.adhesions = adhesions(conn, structure_id, account_id).await?;
    Ok(Some(facts))
}

/// The member's adhesion periods, oldest first.
async fn adhesions(
    conn: &mut AnyConnection,
    structure_id: i64,
    account_id: i64,
) -> Result<Vec<Adhesion>> {
    let rows = sqlx::query(&format!(
        "SELECT {ADHESION_COLUMNS} FROM member_adhesions WHERE structure_id = $1 AND account_id = $2
         ORDER BY start_date, id"
    ))
    .bind(structure_id)
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(adhesion_from_row).collect())
}

/// Every active member's facts, by display name (two queries, merged).
pub async fn all_facts(conn: &mut AnyConnection, structure_id: i64) -> Result<Vec<MemberFacts>> {
    let rows = sqlx::query(&format!(
        "{FACTS_SELECT} {ACTIVE} ORDER BY a.display_name, a.id"
    ))
    .bind(structure_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut members: Vec<MemberFacts> = rows.iter().map(facts_from_row).collect();
    let rows = sqlx::query(&format!(
        "SELECT {ADHESION_COLUMNS} FROM member_adhesions WHERE structure_id = $1
         ORDER BY account_id, start_date, id"
    ))
    .bind(structure_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_account: HashMap<i64, Vec<Adhesion>> = HashMap::new();
    for row in &rows {
        by_account
            .entry(row.get("account_id"))
            .or_default()
            .push(adhesion_from_row(row));
    }
    for member in &mut members {
        if let Some(list) = by_account.remove(&member.account_id) {
            member.adhesions = list;
        }
    }
    Ok(members)
}

async fn is_active_member(
    conn: &mut AnyConnection,
    structure_id: i64,
    account_id: i64,
) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT m.account_id FROM memberships m JOIN accounts a ON a.id = m.account_id
         WHERE m.structure_id = $1 AND m.account_id = $2 AND a.password_hash IS NOT NULL",
    )
    .bind(structure_id)
    .bind(account_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.is_some())
}

/// A module's suggestion for an active member (`source`, e.g. "module:annuaire").
///
/// `profession`: Some stores it as the suggestion (used while the admins set none);
/// None withdraws this source's own suggestion, if it made the current one.
/// `adherent`: Some(true) starts an adhesion today with this source unless a period
/// already covers today (this source's period ended today is reopened instead);
/// Some(false) ends today the open periods of this source (never the admins');
/// None leaves the periods alone. `today` is "YYYY-MM-DD" in the structure's zone.
#[allow(clippy::too_many_arguments)]
pub async fn suggest(
    conn: &mut AnyConnection,
    structure_id: i64,
    account_id: i64,
    source: &str,
    profession: Option<&str>,
    adherent: Option<bool>,
    today: &str,
    now: i64,
) -> Result<()> {
    if source.is_empty() || source == ADMIN_SOURCE || source.len() > 80 {
        return Err(StorageError::Invalid(format!(
            "invalid suggestion source {source:?}"
        )));
    }
    check_date("today", today)?;
    let profession = normalised_profession(profession)?;
    if !is_active_member(conn, structure_id, account_id).await? {
        return Err(StorageError::Invalid(format!(
            "account {account_id} is not an active member of the structure"
        )));
    }
    match &profession {
        Some(text) => {
            sqlx::query(
                "INSERT INTO member_facts (structure_id, account_id, suggested_profession, suggested_by, updated_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (structure_id, account_id) DO UPDATE SET suggested_profession = excluded.suggested_profession,
                   suggested_by = excluded.suggested_by, updated_at = excluded.updated_at",
            )
            .bind(structure_id)
            .bind(account_id)
            .bind(text.as_str())
            .bind(source)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        }
        None => {
            sqlx::query(
                "UPDATE member_facts SET suggested_profession = NULL, suggested_by = NULL, updated_at = $4
                 WHERE structure_id = $1 AND account_id = $2 AND suggested_by = $3",
            )
            .bind(structure_id)
            .bind(account_id)
            .bind(source)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        }
    }
    match adherent {
        None => {}
        Some(true) => {
            let rows = sqlx::query(&format!(
                "SELECT {ADHESION_COLUMNS} FROM member_adhesions
                 WHERE structure_id = $1 AND account_id = $2 AND start_date <= $3
                   AND (end_date IS NULL OR end_date >= $3)"
            ))
            .bind(structure_id)
            .bind(account_id)
            .bind(today)
            .fetch_all(&mut *conn)
            .await?;
            let covering: Vec<Adhesion> = rows.iter().map(adhesion_from_row).collect();
            let lasts = covering
                .iter()
                .any(|a| a.end.as_deref().is_none_or(|end| end > today));
            if covering.is_empty() {
                sqlx::query(
                    "INSERT INTO member_adhesions (structure_id, account_id, start_date, end_date, source, created_at)
                     VALUES ($1, $2, $3, NULL, $4, $5)",
                )
                .bind(structure_id)
                .bind(account_id)
                .bind(today)
                .bind(source)
                .bind(now)
                .execute(&mut *conn)
                .await?;
            } else if !lasts && let Some(ended) = covering.iter().find(|a| a.source == source) {
                // Ended today by this very source, adherent again: the period goes on.
                sqlx::query(
                    "UPDATE member_adhesions SET end_date = NULL WHERE id = $1 AND structure_id = $2",
                )
                .bind(ended.id)
                .bind(structure_id)
                .execute(&mut *conn)
                .await?;
            }
        }
        Some(false) => {
            // A period of this source not begun yet (a clock set back) is dropped: it
            // cannot end before it starts; the others end today.
            for statement in [
                "DELETE FROM member_adhesions
                 WHERE structure_id = $1 AND account_id = $2 AND source = $3 AND start_date > $4",
                "UPDATE member_adhesions SET end_date = $4
                 WHERE structure_id = $1 AND account_id = $2 AND source = $3
                   AND (end_date IS NULL OR end_date > $4)",
            ] {
                sqlx::query(statement)
                    .bind(structure_id)
                    .bind(account_id)
                    .bind(source)
                    .bind(today)
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }
    Ok(())
}

/// What the admins set on the fiche (the suggestion is kept, shown beside).
/// `profession` None or blank: none set by the admins (the suggestion applies).
pub async fn set_facts(
    conn: &mut AnyConnection,
    structure_id: i64,
    account_id: i64,
    profession: Option<&str>,
    mode: ExerciseMode,
    convention: bool,
    now: i64,
) -> Result<()> {
    let profession = normalised_profession(profession)?;
    sqlx::query(
        "INSERT INTO member_facts (structure_id, account_id, profession, exercise_mode, employer_convention, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (structure_id, account_id) DO UPDATE SET profession = excluded.profession,
           exercise_mode = excluded.exercise_mode, employer_convention = excluded.employer_convention,
           updated_at = excluded.updated_at",
    )
    .bind(structure_id)
    .bind(account_id)
    .bind(profession)
    .bind(mode.as_str())
    .bind(convention)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// An adhesion period entered by an admin (source "admin"); returns its id.
pub async fn add_adhesion(
    conn: &mut AnyConnection,
    structure_id: i64,
    account_id: i64,
    start: &str,
    end: Option<&str>,
    now: i64,
) -> Result<i64> {
    check_date("start", start)?;
    if let Some(end) = end {
        check_date("end", end)?;
        if end < start {
            return Err(StorageError::Invalid(format!(
                "adhesion ends ({end}) before it starts ({start})"
            )));
        }
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO member_adhesions (structure_id, account_id, start_date, end_date, source, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(structure_id)
    .bind(account_id)
    .bind(start)
    .bind(end.map(str::to_string))
    .bind(ADMIN_SOURCE)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// Removes an adhesion period of the structure; false when it has no such period.
pub async fn remove_adhesion(
    conn: &mut AnyConnection,
    structure_id: i64,
    adhesion_id: i64,
) -> Result<bool> {
    let done = sqlx::query("DELETE FROM member_adhesions WHERE id = $1 AND structure_id = $2")
        .bind(adhesion_id)
        .bind(structure_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The roles of `plugin_id` the member holds in the structure, by id.
pub async fn module_roles(
    conn: &mut AnyConnection,
    structure_id: i64,
    account_id: i64,
    plugin_id: &str,
) -> Result<Vec<String>> {
    let roles: Vec<String> = sqlx::query_scalar(
        "SELECT r.role FROM module_roles r
         JOIN memberships m ON m.structure_id = r.structure_id AND m.account_id = r.account_id
         WHERE r.structure_id = $1 AND r.account_id = $2 AND r.plugin_id = $3 ORDER BY r.role",
    )
    .bind(structure_id)
    .bind(account_id)
    .bind(plugin_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(roles)
}

/// Every module role held in the structure: (account, plugin, role), in that order.
pub async fn all_module_roles(
    conn: &mut AnyConnection,
    structure_id: i64,
) -> Result<Vec<(i64, String, String)>> {
    let rows = sqlx::query(
        "SELECT r.account_id, r.plugin_id, r.role FROM module_roles r
         JOIN memberships m ON m.structure_id = r.structure_id AND m.account_id = r.account_id
         WHERE r.structure_id = $1 ORDER BY r.account_id, r.plugin_id, r.role",
    )
    .bind(structure_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// Grants a module role outside any page (the demo, the benchmarks, the command line):
/// on its own connection, the holder standing as the granter.
pub async fn grant_module_role(
    db: &crate::storage::Db,
    structure_id: i64,
    account_id: i64,
    plugin_id: &str,
    role: &str,
) -> Result<bool> {
    let mut conn = db.pool().acquire().await?;
    set_module_role(
        &mut conn,
        structure_id,
        account_id,
        plugin_id,
        role,
        true,
        account_id,
        crate::storage::now_secs(),
    )
    .await
}

/// Grants (or withdraws) a module role; true when that changed something.
#[allow(clippy::too_many_arguments)]
pub async fn set_module_role(
    conn: &mut AnyConnection,
    structure_id: i64,
    account_id: i64,
    plugin_id: &str,
    role: &str,
    granted: bool,
    granted_by: i64,
    now: i64,
) -> Result<bool> {
    let done = if granted {
        sqlx::query(
            "INSERT INTO module_roles (structure_id, account_id, plugin_id, role, granted_by, granted_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (structure_id, account_id, plugin_id, role) DO NOTHING",
        )
        .bind(structure_id)
        .bind(account_id)
        .bind(plugin_id)
        .bind(role)
        .bind(granted_by)
        .bind(now)
        .execute(&mut *conn)
        .await?
    } else {
        sqlx::query(
            "DELETE FROM module_roles WHERE structure_id = $1 AND account_id = $2 AND plugin_id = $3 AND role = $4",
        )
        .bind(structure_id)
        .bind(account_id)
        .bind(plugin_id)
        .bind(role)
        .execute(&mut *conn)
        .await?
    };
    Ok(done.rows_affected() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_real_calendar_days_written_in_full() {
        assert!(valid_date("2026-03-15"));
        assert!(valid_date("2024-02-29"));
        assert!(!valid_date("2025-02-29"));
        assert!(!valid_date("2026-13-01"));
        assert!(!valid_date("2026-3-15"));
        assert!(!valid_date("20260315"));
        assert!(!valid_date(" 2026-03-15"));
        assert!(!valid_date(""));
    }

    #[test]
    fn exercise_modes_round_trip() {
        for mode in ExerciseMode::ALL {
            assert_eq!(ExerciseMode::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(ExerciseMode::parse("Libéral"), None);
        assert_eq!(ExerciseMode::Inconnu.label_fr(), "Non renseigné");
    }

    #[test]
    fn periods_include_both_ends_and_open_ones_last() {
        let a = Adhesion {
            id: 1,
            start: "2024-01-01".into(),
            end: Some("2024-12-31".into()),
            source: ADMIN_SOURCE.into(),
        };
        assert!(a.covers("2024-01-01") && a.covers("2024-12-31"));
        assert!(!a.covers("2023-12-31") && !a.covers("2025-01-01"));
        let open = Adhesion { end: None, ..a };
        assert!(open.covers("2030-06-01"));
    }

    #[test]
    fn professions_are_trimmed_and_bounded() {
        assert_eq!(normalised_profession(Some("  ")).unwrap(), None);
        assert_eq!(
            normalised_profession(Some(" Infirmier "))
                .unwrap()
                .as_deref(),
            Some("Infirmier")
        );
        assert!(normalised_profession(Some("x".repeat(201).as_str())).is_err());
        assert!(normalised_profession(Some("a\nb")).is_err());
    }
}
