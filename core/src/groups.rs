//! Groups (projects, working groups) of a structure: members with a group role,
//! open or closed visibility, join requests, archiving. Polls, meetings, documents and
//! indemnities refer to them, so they live in the host and reach plugins through WIT.

use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::storage::{Backend, Db, Result, StorageError, now_secs};
use crate::tenancy::{Membership, Role};

/// At most this many référents per group; at least one while the group has members.
pub const MAX_REFERENTS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum GroupRole {
    Referent,
    Active,
    Guest,
}

impl GroupRole {
    pub const ALL: [GroupRole; 3] = [GroupRole::Referent, GroupRole::Active, GroupRole::Guest];
    pub fn as_str(self) -> &'static str {
        match self {
            GroupRole::Referent => "referent",
            GroupRole::Active => "active",
            GroupRole::Guest => "guest",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "referent" => Some(GroupRole::Referent),
            "active" => Some(GroupRole::Active),
            "guest" => Some(GroupRole::Guest),
            _ => None,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            GroupRole::Referent => "Référent",
            GroupRole::Active => "Membre actif",
            GroupRole::Guest => "Invité externe",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub id: i64,
    pub structure_id: i64,
    pub name: String,
    pub description: String,
    /// Open: every member of the structure may read it. Closed: its members only.
    pub open: bool,
    pub archived: bool,
    /// The viewer's role in it, when listed for a viewer.
    pub my_role: Option<GroupRole>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupMember {
    pub account_id: i64,
    pub display_name: String,
    pub role: GroupRole,
}

#[derive(Debug, Clone, Serialize)]
pub struct JoinRequest {
    pub id: i64,
    pub account_id: i64,
    pub display_name: String,
    pub message: String,
    /// Unix seconds.
    pub created_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("a group needs at least one référent")]
    LastReferent,
    #[error("a group has at most {MAX_REFERENTS} référents")]
    TooManyReferents,
    #[error("the person is not a member of this structure")]
    NotAStructureMember,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sqlx::Error> for GroupError {
    fn from(e: sqlx::Error) -> Self {
        GroupError::Storage(e.into())
    }
}

impl GroupError {
    /// What to tell the user, in French.
    pub fn french(&self) -> String {
        match self {
            GroupError::LastReferent => "Un groupe doit garder au moins un référent.".into(),
            GroupError::TooManyReferents => {
                format!("Un groupe compte au plus {MAX_REFERENTS} référents.")
            }
            GroupError::NotAStructureMember => {
                "Cette personne ne fait pas partie de la structure.".into()
            }
            GroupError::Storage(_) => "Une erreur inattendue s’est produite.".into(),
        }
    }
}

/// May this member of the structure read the group?
pub fn can_read(group: &Group, viewer: &Membership) -> bool {
    group.open || group.my_role.is_some() || viewer.role >= Role::Coordinator
}

/// May this member manage the group (members, requests, archive)?
pub fn can_manage(group: &Group, viewer: &Membership) -> bool {
    can_manage_as(group, viewer.role >= Role::Coordinator)
}

/// [`can_manage`] for someone known by their group role (in `group.my_role`) and
/// whether they coordinate the structure (a module's call, WIT `group-admin`).
pub fn can_manage_as(group: &Group, coordinator: bool) -> bool {
    group.my_role == Some(GroupRole::Referent) || coordinator
}

const GROUP_COLUMNS: &str =
    "g.id, g.structure_id, g.name, g.description, g.open, g.archived, gm.role AS my_role";

fn group_from_row(row: &sqlx::any::AnyRow) -> Group {
    Group {
        id: row.get("id"),
        structure_id: row.get("structure_id"),
        name: row.get("name"),
        description: row.get("description"),
        open: crate::storage::flag(row, "open"),
        archived: crate::storage::flag(row, "archived"),
        my_role: row
            .get::<Option<&str>, _>("my_role")
            .and_then(GroupRole::parse),
    }
}

impl Db {
    /// Creates a group with its creator as first référent.
    pub async fn create_group(
        &self,
        structure_id: i64,
        name: &str,
        description: &str,
        open: bool,
        creator: i64,
    ) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let id = self
            .create_group_in(&mut tx, structure_id, name, description, open, creator)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// [`Db::create_group`] in the caller's transaction (with its audit entry). A name
    /// another group of the structure has is [`StorageError::Conflict`], without
    /// aborting the transaction (PostgreSQL would abort it on a unique violation).
    pub async fn create_group_in(
        &self,
        conn: &mut AnyConnection,
        structure_id: i64,
        name: &str,
        description: &str,
        open: bool,
        creator: i64,
    ) -> Result<i64> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 120 {
            return Err(StorageError::Invalid(
                "group name must be 1..=120 characters".into(),
            ));
        }
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO work_groups (structure_id, name, description, open, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (structure_id, name) DO NOTHING RETURNING id",
        )
        .bind(structure_id)
        .bind(name)
        .bind(description.trim())
        .bind(open)
        .bind(now_secs())
        .fetch_optional(&mut *conn)
        .await?;
        let Some(id) = id else {
            return Err(StorageError::Conflict(
                "another group of this structure has this name".into(),
            ));
        };
        sqlx::query(
            "INSERT INTO group_members (group_id, account_id, role) VALUES ($1, $2, 'referent')",
        )
        .bind(id)
        .bind(creator)
        .execute(&mut *conn)
        .await?;
        Ok(id)
    }

    /// Groups of a structure as seen by `viewer` (their role in each), by name.
    pub async fn groups(&self, structure_id: i64, viewer: i64) -> Result<Vec<Group>> {
        let mut conn = self.pool().acquire().await?;
        self.groups_in(&mut conn, structure_id, viewer).await
    }

    /// [`Db::groups`] on the caller's connection (a call's transaction sees its writes).
    pub async fn groups_in(
        &self,
        conn: &mut AnyConnection,
        structure_id: i64,
        viewer: i64,
    ) -> Result<Vec<Group>> {
        let rows = sqlx::query(&format!(
            "SELECT {GROUP_COLUMNS} FROM work_groups g LEFT JOIN group_members gm ON gm.group_id = g.id AND gm.account_id = $1
             WHERE g.structure_id = $2 ORDER BY g.archived, g.name"
        ))
        .bind(viewer)
        .bind(structure_id)
        .fetch_all(&mut *conn)
        .await?;
        Ok(rows.iter().map(group_from_row).collect())
    }

    /// One group of a structure; None if it belongs to another structure.
    pub async fn group(
        &self,
        structure_id: i64,
        group_id: i64,
        viewer: i64,
    ) -> Result<Option<Group>> {
        let mut conn = self.pool().acquire().await?;
        self.group_in(&mut conn, structure_id, group_id, viewer)
            .await
    }

    /// [`Db::group`] on the caller's connection.
    pub async fn group_in(
        &self,
        conn: &mut AnyConnection,
        structure_id: i64,
        group_id: i64,
        viewer: i64,
    ) -> Result<Option<Group>> {
        let row = sqlx::query(&format!(
            "SELECT {GROUP_COLUMNS} FROM work_groups g LEFT JOIN group_members gm ON gm.group_id = g.id AND gm.account_id = $1
             WHERE g.structure_id = $2 AND g.id = $3"
        ))
        .bind(viewer)
        .bind(structure_id)
        .bind(group_id)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(row.as_ref().map(group_from_row))
    }

    pub async fn group_members(&self, group_id: i64) -> Result<Vec<GroupMember>> {
        let mut conn = self.pool().acquire().await?;
        self.group_members_in(&mut conn, group_id).await
    }

    /// [`Db::group_members`] on the caller's connection.
    pub async fn group_members_in(
        &self,
        conn: &mut AnyConnection,
        group_id: i64,
    ) -> Result<Vec<GroupMember>> {
        let rows = sqlx::query(
            "SELECT a.id, a.display_name, gm.role FROM group_members gm JOIN accounts a ON a.id = gm.account_id
             WHERE gm.group_id = $1 ORDER BY CASE gm.role WHEN 'referent' THEN 0 WHEN 'active' THEN 1 ELSE 2 END, a.display_name",
        )
        .bind(group_id)
        .fetch_all(&mut *conn)
        .await?;
        Ok(rows
            .iter()
            .map(|r| GroupMember {
                account_id: r.get(0),
                display_name: r.get(1),
                role: GroupRole::parse(r.get::<&str, _>(2)).unwrap_or(GroupRole::Active),
            })
            .collect())
    }

    /// Serialises the changes of one group's members until the caller's transaction
    /// ends: on PostgreSQL the group's row is locked (`FOR NO KEY UPDATE`, which inserts
    /// referring to the group do not wait for); on SQLite the write transaction
    /// (`Db::begin_write`, `BEGIN IMMEDIATE`) already holds the database's write lock.
    /// So the référent count read after it cannot change before the write.
    async fn lock_group_in(&self, conn: &mut AnyConnection, group_id: i64) -> Result<()> {
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT id FROM work_groups WHERE id = $1 FOR NO KEY UPDATE")
                .bind(group_id)
                .fetch_optional(&mut *conn)
                .await?;
        }
        Ok(())
    }

    /// (account, role) of the group's members, read in the caller's transaction.
    async fn group_roles_in(
        &self,
        conn: &mut AnyConnection,
        group_id: i64,
    ) -> Result<Vec<(i64, GroupRole)>> {
        let rows = sqlx::query("SELECT account_id, role FROM group_members WHERE group_id = $1")
            .bind(group_id)
            .fetch_all(&mut *conn)
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get::<i64, _>(0),
                    GroupRole::parse(r.get::<&str, _>(1)).unwrap_or(GroupRole::Active),
                )
            })
            .collect())
    }

    /// Adds a person to a group or changes their group role, keeping 1–3 référents.
    pub async fn set_group_member(
        &self,
        group: &Group,
        account_id: i64,
        role: GroupRole,
    ) -> std::result::Result<(), GroupError> {
        let mut tx = self.begin_write().await?;
        self.set_group_member_in(&mut tx, group, account_id, role)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// [`Db::set_group_member`] in the caller's write transaction (`Db::begin_write`):
    /// the count of référents and the write cannot be interleaved with another change
    /// of the group (see `lock_group_in`).
    pub async fn set_group_member_in(
        &self,
        conn: &mut AnyConnection,
        group: &Group,
        account_id: i64,
        role: GroupRole,
    ) -> std::result::Result<(), GroupError> {
        self.lock_group_in(conn, group.id).await?;
        let is_structure_member =
            sqlx::query("SELECT 1 FROM memberships WHERE structure_id = $1 AND account_id = $2")
                .bind(group.structure_id)
                .bind(account_id)
                .fetch_optional(&mut *conn)
                .await?
                .is_some();
        if !is_structure_member {
            return Err(GroupError::NotAStructureMember);
        }
        let members = self.group_roles_in(conn, group.id).await?;
        let current = members
            .iter()
            .find(|(id, _)| *id == account_id)
            .map(|(_, r)| *r);
        let referents = members
            .iter()
            .filter(|(_, r)| *r == GroupRole::Referent)
            .count();
        if role == GroupRole::Referent
            && current != Some(GroupRole::Referent)
            && referents >= MAX_REFERENTS
        {
            return Err(GroupError::TooManyReferents);
        }
        if current == Some(GroupRole::Referent) && role != GroupRole::Referent && referents <= 1 {
            return Err(GroupError::LastReferent);
        }
        sqlx::query(
            "INSERT INTO group_members (group_id, account_id, role) VALUES ($1, $2, $3)
             ON CONFLICT (group_id, account_id) DO UPDATE SET role = excluded.role",
        )
        .bind(group.id)
        .bind(account_id)
        .bind(role.as_str())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    pub async fn remove_group_member(
        &self,
        group: &Group,
        account_id: i64,
    ) -> std::result::Result<bool, GroupError> {
        let mut tx = self.begin_write().await?;
        let removed = self
            .remove_group_member_in(&mut tx, group, account_id)
            .await?;
        tx.commit().await?;
        Ok(removed)
    }

    /// [`Db::remove_group_member`] in the caller's write transaction (`Db::begin_write`).
    pub async fn remove_group_member_in(
        &self,
        conn: &mut AnyConnection,
        group: &Group,
        account_id: i64,
    ) -> std::result::Result<bool, GroupError> {
        self.lock_group_in(conn, group.id).await?;
        let members = self.group_roles_in(conn, group.id).await?;
        let referents = members
            .iter()
            .filter(|(_, r)| *r == GroupRole::Referent)
            .count();
        let is_referent = members
            .iter()
            .any(|(id, r)| *id == account_id && *r == GroupRole::Referent);
        if is_referent && referents <= 1 {
            return Err(GroupError::LastReferent);
        }
        let done = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND account_id = $2")
            .bind(group.id)
            .bind(account_id)
            .execute(&mut *conn)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Renames a group, changes its description and visibility, in the caller's
    /// transaction. False (nothing changed) when another group of the structure has the
    /// name: checked first, so that PostgreSQL does not abort the transaction on the
    /// unique index.
    pub async fn update_group_in(
        &self,
        conn: &mut AnyConnection,
        group: &Group,
        name: &str,
        description: &str,
        open: bool,
    ) -> Result<bool> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 120 {
            return Err(StorageError::Invalid(
                "group name must be 1..=120 characters".into(),
            ));
        }
        let taken = sqlx::query(
            "SELECT 1 FROM work_groups WHERE structure_id = $1 AND name = $2 AND id <> $3",
        )
        .bind(group.structure_id)
        .bind(name)
        .bind(group.id)
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
        if taken {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE work_groups SET name = $1, description = $2, open = $3 WHERE id = $4 AND structure_id = $5",
        )
        .bind(name)
        .bind(description.trim())
        .bind(open)
        .bind(group.id)
        .bind(group.structure_id)
        .execute(&mut *conn)
        .await?;
        Ok(true)
    }

    pub async fn set_group_archived(&self, group: &Group, archived: bool) -> Result<()> {
        let mut conn = self.pool().acquire().await?;
        self.set_group_archived_in(&mut conn, group, archived).await
    }

    /// [`Db::set_group_archived`] in the caller's transaction (with its audit entry).
    pub async fn set_group_archived_in(
        &self,
        conn: &mut AnyConnection,
        group: &Group,
        archived: bool,
    ) -> Result<()> {
        sqlx::query("UPDATE work_groups SET archived = $1 WHERE id = $2 AND structure_id = $3")
            .bind(archived)
            .bind(group.id)
            .bind(group.structure_id)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Records a request to join; a second pending request of the same person is a no-op.
    pub async fn request_join(&self, group: &Group, account_id: i64, message: &str) -> Result<()> {
        let mut conn = self.pool().acquire().await?;
        self.request_join_in(&mut conn, group, account_id, message)
            .await
    }

    /// [`Db::request_join`] in the caller's transaction.
    pub async fn request_join_in(
        &self,
        conn: &mut AnyConnection,
        group: &Group,
        account_id: i64,
        message: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO group_join_requests (group_id, account_id, message, status, created_at) VALUES ($1, $2, $3, 'pending', $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(group.id)
        .bind(account_id)
        .bind(message.trim())
        .bind(now_secs())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Ids of the groups of the structure where the account has a pending request.
    pub async fn my_pending_requests_in(
        &self,
        conn: &mut AnyConnection,
        structure_id: i64,
        account_id: i64,
    ) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT r.group_id FROM group_join_requests r JOIN work_groups g ON g.id = r.group_id
             WHERE g.structure_id = $1 AND r.account_id = $2 AND r.status = 'pending' ORDER BY r.group_id",
        )
        .bind(structure_id)
        .bind(account_id)
        .fetch_all(&mut *conn)
        .await?)
    }

    pub async fn pending_requests(&self, group_id: i64) -> Result<Vec<JoinRequest>> {
        let mut conn = self.pool().acquire().await?;
        self.pending_requests_in(&mut conn, group_id).await
    }

    /// [`Db::pending_requests`] on the caller's connection, oldest first.
    pub async fn pending_requests_in(
        &self,
        conn: &mut AnyConnection,
        group_id: i64,
    ) -> Result<Vec<JoinRequest>> {
        let rows = sqlx::query(
            "SELECT r.id, r.account_id, a.display_name, r.message, r.created_at FROM group_join_requests r JOIN accounts a ON a.id = r.account_id
             WHERE r.group_id = $1 AND r.status = 'pending' ORDER BY r.created_at, r.id",
        )
        .bind(group_id)
        .fetch_all(&mut *conn)
        .await?;
        Ok(rows
            .iter()
            .map(|r| JoinRequest {
                id: r.get(0),
                account_id: r.get(1),
                display_name: r.get(2),
                message: r.get(3),
                created_at: r.get(4),
            })
            .collect())
    }

    /// Approves (the person becomes a membre actif) or refuses a pending request.
    /// Returns the requester, or None if no such pending request exists in this group.
    pub async fn decide_request(
        &self,
        group: &Group,
        request_id: i64,
        approve: bool,
        decided_by: i64,
    ) -> std::result::Result<Option<i64>, GroupError> {
        let mut tx = self.begin_write().await?;
        let requester = self
            .decide_request_in(&mut tx, group, request_id, approve, decided_by)
            .await?;
        tx.commit().await?;
        Ok(requester)
    }

    /// [`Db::decide_request`] in the caller's write transaction (`Db::begin_write`): the
    /// decision and the membership it creates commit together, or neither does (a
    /// requester who left the structure meanwhile keeps a pending request).
    pub async fn decide_request_in(
        &self,
        conn: &mut AnyConnection,
        group: &Group,
        request_id: i64,
        approve: bool,
        decided_by: i64,
    ) -> std::result::Result<Option<i64>, GroupError> {
        let requester: Option<i64> = sqlx::query_scalar(
            "UPDATE group_join_requests SET status = $1, decided_by = $2 WHERE id = $3 AND group_id = $4 AND status = 'pending' RETURNING account_id",
        )
        .bind(if approve { "approved" } else { "refused" })
        .bind(decided_by)
        .bind(request_id)
        .bind(group.id)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(account_id) = requester
            && approve
        {
            // Someone added to the group meanwhile keeps the role they were given.
            self.lock_group_in(conn, group.id).await?;
            let already = self
                .group_roles_in(conn, group.id)
                .await?
                .iter()
                .any(|(id, _)| *id == account_id);
            if !already {
                self.set_group_member_in(conn, group, account_id, GroupRole::Active)
                    .await?;
            }
        }
        Ok(requester)
    }
}
