//! Host side of `maillage:plugin/group-admin` (WIT 0.2.6): a module changes the
//! structure's groups as the acting member, under the rules of the host's own group
//! pages (`http::groups`: référents and coordinators manage, 1–3 référents, members of
//! the structure only), on the call's transaction, with the same audit entries.

use serde_json::json;
use sqlx::AnyConnection;

use super::Capability;
use super::host::{Acting, HostState};
use super::v0_2::maillage::plugin::{group_admin, groups};
use crate::audit::{AuditRecord, audit_in};
use crate::groups::{Group, GroupError, GroupRole, can_manage_as};
use crate::storage::{Db, StorageError};

type Answer<T> = wasmtime::Result<Result<T, group_admin::GroupError>>;

/// The most characters of a join request's message.
const MAX_MESSAGE: usize = 1000;

fn unavailable(what: &str, error: impl std::fmt::Display) -> group_admin::GroupError {
    tracing::error!(error = %error, "group-admin: {what} failed");
    group_admin::GroupError::Unavailable(format!("{what} failed"))
}

fn from_group_error(error: GroupError) -> group_admin::GroupError {
    match error {
        GroupError::LastReferent => group_admin::GroupError::LastReferent,
        GroupError::TooManyReferents => group_admin::GroupError::TooManyReferents,
        GroupError::NotAStructureMember => group_admin::GroupError::NotAMember,
        GroupError::Storage(e) => unavailable("changing the group", e),
    }
}

fn role_from_wit(role: groups::GroupRole) -> GroupRole {
    match role {
        groups::GroupRole::Referent => GroupRole::Referent,
        groups::GroupRole::Active => GroupRole::Active,
        groups::GroupRole::Guest => GroupRole::Guest,
    }
}

fn wit_group(g: &Group) -> groups::Group {
    groups::Group {
        id: g.id.to_string(),
        name: g.name.clone(),
        open: g.open,
        archived: g.archived,
        my_role: g.my_role.map(|r| match r {
            GroupRole::Referent => groups::GroupRole::Referent,
            GroupRole::Active => groups::GroupRole::Active,
            GroupRole::Guest => groups::GroupRole::Guest,
        }),
    }
}

/// A user id as the WIT gives it (an account id), if well formed.
fn account_id(user_id: &str) -> Option<i64> {
    user_id.parse().ok().filter(|id| *id > 0)
}

/// Why a group is read: before a change, on the call's transaction (the checks and the
/// change see the same rows); for a listing, on the read connection, so that a page
/// listing join requests begins no write transaction.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Change,
    Read,
}

impl HostState {
    /// The acting member (a call with a user), with both capabilities checked.
    fn group_actor(&mut self) -> wasmtime::Result<Option<Acting>> {
        self.require(Capability::GroupsWrite)?;
        Ok(self.acting()?.filter(|a| a.account_id != 0))
    }

    /// The group as the acting member reads it (see [`Purpose`]).
    async fn group_for(
        &mut self,
        acting: &Acting,
        group_id: &str,
        purpose: Purpose,
    ) -> Result<Group, group_admin::GroupError> {
        let Ok(id) = group_id.parse::<i64>() else {
            return Err(group_admin::GroupError::NotFound);
        };
        let db = self.db.clone();
        let conn = match purpose {
            Purpose::Change => self.writer().await,
            Purpose::Read => self.reader().await,
        }
        .map_err(|e| unavailable("reading the group", e))?;
        match db
            .group_in(conn, acting.structure_id, id, acting.account_id)
            .await
        {
            Ok(Some(g)) if g.open || g.my_role.is_some() || acting.coordinator => Ok(g),
            Ok(_) => Err(group_admin::GroupError::NotFound),
            Err(e) => Err(unavailable("reading the group", e)),
        }
    }

    /// The group, if the acting member manages it (référent or coordinator).
    async fn managed_group(
        &mut self,
        acting: &Acting,
        group_id: &str,
        purpose: Purpose,
    ) -> Result<Group, group_admin::GroupError> {
        let group = self.group_for(acting, group_id, purpose).await?;
        if can_manage_as(&group, acting.coordinator) {
            Ok(group)
        } else {
            Err(group_admin::GroupError::Denied)
        }
    }

    /// Writes the host's audit entry for a group change, as the acting member, in the
    /// call's transaction.
    async fn audit_group(
        &mut self,
        acting: &Acting,
        action: &str,
        target: &str,
        after: serde_json::Value,
    ) -> Result<(), group_admin::GroupError> {
        let db = self.db.clone();
        let actor = db
            .account(acting.account_id)
            .await
            .map_err(|e| unavailable("reading the actor", e))?;
        let conn = self
            .writer()
            .await
            .map_err(|e| unavailable("auditing", e))?;
        let record = AuditRecord {
            actor: actor.as_ref(),
            structure_id: Some(acting.structure_id),
            action,
            target,
            before: None,
            after: Some(after),
        };
        audit_in(conn, record)
            .await
            .map_err(|e| unavailable("auditing", e))
    }

    /// Runs `change` on the call's transaction with the database handle, inside a
    /// savepoint: a change refused half-way (a join request approved for someone who
    /// left the structure) leaves nothing behind, while the module's call goes on and
    /// may still commit its other writes.
    async fn on_writer<T>(
        &mut self,
        what: &str,
        change: impl AsyncFnOnce(&Db, &mut AnyConnection) -> Result<T, group_admin::GroupError>,
    ) -> Result<T, group_admin::GroupError> {
        let db = self.db.clone();
        let conn = self.writer().await.map_err(|e| unavailable(what, e))?;
        sqlx::query("SAVEPOINT group_admin")
            .execute(&mut *conn)
            .await
            .map_err(|e| unavailable(what, e))?;
        let result = change(&db, &mut *conn).await;
        let end = if result.is_ok() {
            "RELEASE SAVEPOINT group_admin"
        } else {
            "ROLLBACK TO SAVEPOINT group_admin"
        };
        sqlx::query(end)
            .execute(&mut *conn)
            .await
            .map_err(|e| unavailable(what, e))?;
        if result.is_err() {
            // ROLLBACK TO keeps the savepoint open: release it too.
            sqlx::query("RELEASE SAVEPOINT group_admin")
                .execute(&mut *conn)
                .await
                .map_err(|e| unavailable(what, e))?;
        }
        result
    }
}

/// Runs the body with the acting member, answering `denied` for a call without one.
macro_rules! as_member {
    ($state:ident, $acting:ident => $body:expr) => {{
        let Some($acting) = $state.group_actor()? else {
            return Ok(Err(group_admin::GroupError::Denied));
        };
        let result: Result<_, group_admin::GroupError> = async { $body }.await;
        Ok(result)
    }};
}

impl group_admin::Host for HostState {
    async fn create(
        &mut self,
        name: String,
        description: String,
        open: bool,
    ) -> Answer<groups::Group> {
        as_member!(self, acting => {
            let name = name.trim().to_string();
            if name.is_empty() || name.chars().count() > 120 {
                return Err(group_admin::GroupError::Invalid(
                    "Le nom du groupe est obligatoire (120 caractères au plus).".into(),
                ));
            }
            let (structure, creator) = (acting.structure_id, acting.account_id);
            let id = self
                .on_writer("creating the group", async |db, conn| {
                    match db
                        .create_group_in(conn, structure, &name, &description, open, creator)
                        .await
                    {
                        Ok(id) => Ok(id),
                        Err(StorageError::Conflict(_)) => Err(group_admin::GroupError::NameTaken),
                        Err(e) => Err(unavailable("creating the group", e)),
                    }
                })
                .await?;
            self.audit_group(&acting, "group.create", &name, json!({"id": id, "open": open}))
                .await?;
            let group = self.group_for(&acting, &id.to_string(), Purpose::Change).await?;
            Ok(wit_group(&group))
        })
    }

    async fn update(
        &mut self,
        group_id: String,
        name: String,
        description: String,
        open: bool,
    ) -> Answer<groups::Group> {
        as_member!(self, acting => {
            let group = self.managed_group(&acting, &group_id, Purpose::Change).await?;
            let name = name.trim().to_string();
            if name.is_empty() || name.chars().count() > 120 {
                return Err(group_admin::GroupError::Invalid(
                    "Le nom du groupe est obligatoire (120 caractères au plus).".into(),
                ));
            }
            let changed = self
                .on_writer("renaming the group", async |db, conn| {
                    db.update_group_in(conn, &group, &name, &description, open)
                        .await
                        .map_err(|e| unavailable("renaming the group", e))
                })
                .await?;
            if !changed {
                return Err(group_admin::GroupError::NameTaken);
            }
            let after = json!({"id": group.id, "name": name, "open": open});
            self.audit_group(&acting, "group.update", &group.name, after).await?;
            let group = self.group_for(&acting, &group_id, Purpose::Change).await?;
            Ok(wit_group(&group))
        })
    }

    async fn set_archived(&mut self, group_id: String, archived: bool) -> Answer<()> {
        as_member!(self, acting => {
            let group = self.managed_group(&acting, &group_id, Purpose::Change).await?;
            self.on_writer("archiving the group", async |db, conn| {
                db.set_group_archived_in(conn, &group, archived)
                    .await
                    .map_err(|e| unavailable("archiving the group", e))
            })
            .await?;
            self.audit_group(&acting, "group.archive", &group.name, json!({"archived": archived}))
                .await
        })
    }

    async fn set_member(
        &mut self,
        group_id: String,
        user_id: String,
        role: groups::GroupRole,
    ) -> Answer<()> {
        as_member!(self, acting => {
            let group = self.managed_group(&acting, &group_id, Purpose::Change).await?;
            let person = account_id(&user_id).ok_or(group_admin::GroupError::NotAMember)?;
            let role = role_from_wit(role);
            self.on_writer("changing a member", async |db, conn| {
                db.set_group_member_in(conn, &group, person, role)
                    .await
                    .map_err(from_group_error)
            })
            .await?;
            let after = json!({"account": person, "role": role.as_str()});
            self.audit_group(&acting, "group.member", &group.name, after).await
        })
    }

    async fn remove_member(&mut self, group_id: String, user_id: String) -> Answer<bool> {
        as_member!(self, acting => {
            let person = account_id(&user_id).ok_or(group_admin::GroupError::NotFound)?;
            let group = self.group_for(&acting, &group_id, Purpose::Change).await?;
            // A member may leave; removing someone else is for those who manage it.
            if person != acting.account_id && !can_manage_as(&group, acting.coordinator) {
                return Err(group_admin::GroupError::Denied);
            }
            let removed = self
                .on_writer("removing a member", async |db, conn| {
                    db.remove_group_member_in(conn, &group, person)
                        .await
                        .map_err(from_group_error)
                })
                .await?;
            if removed {
                let after = json!({"account": person, "removed": true});
                self.audit_group(&acting, "group.remove", &group.name, after).await?;
            }
            Ok(removed)
        })
    }

    async fn request_join(&mut self, group_id: String, message: String) -> Answer<()> {
        as_member!(self, acting => {
            let group = self.group_for(&acting, &group_id, Purpose::Change).await?;
            if group.my_role.is_some() {
                return Err(group_admin::GroupError::AlreadyMember);
            }
            if group.archived {
                return Err(group_admin::GroupError::Archived);
            }
            if message.chars().count() > MAX_MESSAGE {
                return Err(group_admin::GroupError::Invalid(format!(
                    "Le message compte au plus {MAX_MESSAGE} caractères."
                )));
            }
            let person = acting.account_id;
            self.on_writer("asking to join", async |db, conn| {
                db.request_join_in(conn, &group, person, &message)
                    .await
                    .map_err(|e| unavailable("asking to join", e))
            })
            .await
        })
    }

    async fn my_join_requests(&mut self) -> wasmtime::Result<Vec<String>> {
        let Some(acting) = self.group_actor()? else {
            return Ok(Vec::new());
        };
        let db = self.db.clone();
        let conn = self
            .reader()
            .await
            .map_err(|e| wasmtime::format_err!("listing join requests failed: {e}"))?;
        let ids = db
            .my_pending_requests_in(conn, acting.structure_id, acting.account_id)
            .await
            .map_err(|e| wasmtime::format_err!("listing join requests failed: {e}"))?;
        Ok(ids.iter().map(i64::to_string).collect())
    }

    async fn join_requests(&mut self, group_id: String) -> Answer<Vec<group_admin::JoinRequest>> {
        as_member!(self, acting => {
            let group = self.managed_group(&acting, &group_id, Purpose::Read).await?;
            let db = self.db.clone();
            let conn = self
                .reader()
                .await
                .map_err(|e| unavailable("listing join requests", e))?;
            let requests = db
                .pending_requests_in(conn, group.id)
                .await
                .map_err(|e| unavailable("listing join requests", e))?;
            Ok(requests
                .into_iter()
                .map(|r| group_admin::JoinRequest {
                    id: r.id.to_string(),
                    user_id: r.account_id.to_string(),
                    display_name: r.display_name,
                    message: r.message,
                    created_at: r.created_at,
                })
                .collect())
        })
    }

    async fn decide_request(
        &mut self,
        group_id: String,
        request_id: String,
        approve: bool,
    ) -> Answer<Option<String>> {
        as_member!(self, acting => {
            let group = self.managed_group(&acting, &group_id, Purpose::Change).await?;
            let Ok(request) = request_id.parse::<i64>() else {
                return Ok(None);
            };
            let decider = acting.account_id;
            let requester = self
                .on_writer("deciding a join request", async |db, conn| {
                    db.decide_request_in(conn, &group, request, approve, decider)
                        .await
                        .map_err(from_group_error)
                })
                .await?;
            let Some(requester) = requester else {
                return Ok(None);
            };
            let action = if approve { "group.request.approve" } else { "group.request.refuse" };
            self.audit_group(&acting, action, &group.name, json!({"account": requester}))
                .await?;
            Ok(Some(requester.to_string()))
        })
    }
}
