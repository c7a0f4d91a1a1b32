//! Group pages: the list, a group with its members and join requests, and the actions
//! of référents and coordinators (add or change members, decide requests, archive).

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

use super::access::MemberCtx;
use super::form::FormData;
use super::modules::enabled_plugins;
use super::{AppState, Ctx, forbidden, internal_error, not_found, see_other};
use crate::audit::{AuditRecord, audit_in};
use crate::groups::{Group, GroupError, GroupRole, can_manage, can_read};
use crate::tenancy::Role;
use crate::web::{self, Input, alert, csrf_field, field, notice, select};
use maud::{Markup, html};

async fn page(
    state: &AppState,
    member: &MemberCtx,
    title: &str,
    status: StatusCode,
    body: Markup,
) -> Response {
    let enabled = match enabled_plugins(state, &member.membership.structure).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    (
        status,
        Html(
            web::page(
                title,
                &member.shell(&enabled.manifests, Some("groupes")),
                body,
            )
            .into_string(),
        ),
    )
        .into_response()
}

#[derive(serde::Deserialize, Default)]
pub struct Flash {
    ok: Option<String>,
}

fn group_line(base: &str, g: &Group) -> Markup {
    html! {
        li {
            a href={ (base) "/groupes/" (g.id) } { (g.name) }
            " "
            @if g.open {
                span.badge { "Ouvert" }
            } @else {
                span.badge { "Fermé" }
            }
            @if g.archived {
                " "
                span.badge { "Archivé" }
            }
            @if let Some(role) = g.my_role {
                " "
                span.badge { (role.label()) }
            }
            p.muted { (g.description) }
        }
    }
}

async fn list_response(
    state: &AppState,
    member: &MemberCtx,
    status: StatusCode,
    message: Markup,
) -> Response {
    let groups = match state
        .db
        .groups(member.structure_id(), member.account().id)
        .await
    {
        Ok(g) => g,
        Err(e) => return internal_error("listing groups failed", e),
    };
    let base = member.base();
    let visible: Vec<&Group> = groups
        .iter()
        .filter(|g| can_read(g, &member.membership))
        .collect();
    let body = html! {
        h1 { "Groupes de travail et projets" }
        (message)
        ul.cards {
            @for g in &visible {
                (group_line(&base, g))
            }
            @if visible.is_empty() {
                li.empty { "Aucun groupe pour le moment." }
            }
        }
        @if member.membership.role >= Role::Coordinator {
            h2 { "Créer un groupe" }
            form method="post" action={ (base) "/groupes/" } class="stack" {
                (csrf_field(&member.csrf))
                (field("nom", "Nom du groupe", "text", "", Input::new().required().maxlength(120)))
                label for="description" { "Description" }
                textarea id="description" name="description" rows="3" {}
                fieldset.choice {
                    legend { "Visibilité" }
                    label.check {
                        input type="radio" name="visibilite" value="ouvert" checked;
                        " Ouvert : tous les membres de la structure peuvent le consulter"
                    }
                    label.check {
                        input type="radio" name="visibilite" value="ferme";
                        " Fermé : réservé aux membres du groupe"
                    }
                }
                button type="submit" { "Créer le groupe" }
            }
        }
    };
    page(state, member, "Groupes", status, body).await
}

pub async fn list(State(state): State<AppState>, Path(slug): Path<String>, ctx: Ctx) -> Response {
    match ctx.member_of(&slug, Role::Member) {
        Ok(member) => list_response(&state, &member, StatusCode::OK, Markup::default()).await,
        Err(r) => r,
    }
}

pub async fn create(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ctx: Ctx,
    form: FormData,
) -> Response {
    let member = match ctx.member_of(&slug, Role::Coordinator) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let name = form.get("nom");
    if name.is_empty() || name.chars().count() > 120 {
        return list_response(
            &state,
            &member,
            StatusCode::UNPROCESSABLE_ENTITY,
            alert("Le nom du groupe est obligatoire (120 caractères au plus)."),
        )
        .await;
    }
    let open = form.get("visibilite") != "ferme";
    // The group and its audit entry commit together.
    let created: Result<i64, crate::storage::StorageError> = async {
        let mut tx = state.db.begin_write().await?;
        let id = state
            .db
            .create_group_in(
                &mut tx,
                member.structure_id(),
                name,
                form.get("description"),
                open,
                member.account().id,
            )
            .await?;
        let record = AuditRecord {
            actor: Some(member.account()),
            structure_id: Some(member.structure_id()),
            action: "group.create",
            target: name,
            before: None,
            after: Some(json!({"id": id, "open": open})),
        };
        audit_in(&mut tx, record).await?;
        tx.commit().await?;
        Ok(id)
    }
    .await;
    match created {
        Ok(id) => see_other(&format!("{}/groupes/{id}", member.base())),
        Err(crate::storage::StorageError::Conflict(_)) => {
            list_response(
                &state,
                &member,
                StatusCode::UNPROCESSABLE_ENTITY,
                alert("Un groupe porte déjà ce nom."),
            )
            .await
        }
        Err(e) => internal_error("creating group failed", e),
    }
}

/// The group if the viewer may read it; 404 otherwise (closed groups do not exist for outsiders).
async fn readable_group(
    state: &AppState,
    member: &MemberCtx,
    group_id: i64,
) -> Result<Group, Response> {
    match state
        .db
        .group(member.structure_id(), group_id, member.account().id)
        .await
    {
        Ok(Some(g)) if can_read(&g, &member.membership) => Ok(g),
        Ok(_) => Err(not_found()),
        Err(e) => Err(internal_error("group lookup failed", e)),
    }
}

async fn show_response(
    state: &AppState,
    member: &MemberCtx,
    group: &Group,
    status: StatusCode,
    message: Markup,
) -> Response {
    let members = match state.db.group_members(group.id).await {
        Ok(m) => m,
        Err(e) => return internal_error("group members failed", e),
    };
    let base = format!("{}/groupes/{}", member.base(), group.id);
    let csrf = csrf_field(&member.csrf);
    let manage = can_manage(group, &member.membership);
    let role_options: Vec<(&str, &str)> = GroupRole::ALL
        .iter()
        .map(|r| (r.as_str(), r.label()))
        .collect();
    // What only référents and coordinators see: requests, adding members, archiving.
    let management = if manage {
        let requests = match state.db.pending_requests(group.id).await {
            Ok(r) => r,
            Err(e) => return internal_error("join requests failed", e),
        };
        let people = match state.db.members(member.structure_id()).await {
            Ok(p) => p,
            Err(e) => return internal_error("listing members failed", e),
        };
        let ids: Vec<String> = people.iter().map(|p| p.account_id.to_string()).collect();
        let options: Vec<(&str, &str)> = people
            .iter()
            .zip(&ids)
            .map(|(p, id)| (id.as_str(), p.display_name.as_str()))
            .collect();
        let (label, value) = if group.archived {
            ("Désarchiver le groupe", "0")
        } else {
            ("Archiver le groupe", "1")
        };
        html! {
            h2 { "Demandes en attente" }
            ul {
                @for r in &requests {
                    li {
                        (r.display_name)
                        " "
                        @if !r.message.is_empty() {
                            "« " (r.message) " »"
                        }
                        form method="post" action={ (base) "/demandes/" (r.id) "/accepter" } class="inline" {
                            (csrf)
                            button type="submit" class="small" { "Accepter" }
                        }
                        " "
                        form method="post" action={ (base) "/demandes/" (r.id) "/refuser" } class="inline" {
                            (csrf)
                            button type="submit" class="small danger" { "Refuser" }
                        }
                    }
                }
                @if requests.is_empty() {
                    li.empty { "Aucune demande." }
                }
            }
            h2 { "Ajouter ou changer le rôle d’un membre" }
            form method="post" action={ (base) "/membre" } class="stack" {
                (csrf)
                (select("personne", "Personne", &options, ""))
                (select("role", "Rôle dans le groupe", &role_options, "active"))
                button type="submit" { "Enregistrer" }
            }
            form method="post" action={ (base) "/archiver" } {
                (csrf)
                input type="hidden" name="archive" value=(value);
                button type="submit" class="secondary" { (label) }
            }
        }
    } else {
        Markup::default()
    };
    let body = html! {
        p { a href={ (member.base()) "/groupes/" } { "← Tous les groupes" } }
        h1 { (group.name) }
        (message)
        p { (group.description) }
        p {
            @if group.open {
                "Groupe ouvert : tous les membres de la structure peuvent le consulter."
            } @else {
                "Groupe fermé : réservé à ses membres."
            }
            @if group.archived {
                " Ce groupe est archivé."
            }
        }
        h2 { "Membres (" (members.len()) ")" }
        ul {
            @for m in &members {
                li {
                    (m.display_name) " — " (m.role.label())
                    @if manage {
                        " "
                        form method="post" action={ (base) "/retirer" } class="inline" {
                            (csrf)
                            input type="hidden" name="personne" value=(m.account_id);
                            button type="submit" class="link" { "Retirer" }
                        }
                    }
                }
            }
        }
        @if group.my_role.is_none() && !group.archived {
            h2 { "Rejoindre ce groupe" }
            form method="post" action={ (base) "/demande" } class="stack" {
                (csrf)
                label for="message" { "Message aux référents (facultatif)" }
                textarea id="message" name="message" rows="2" {}
                button type="submit" { "Demander à rejoindre" }
            }
        }
        (management)
    };
    page(state, member, &group.name, status, body).await
}

pub async fn show(
    State(state): State<AppState>,
    Path((slug, group_id)): Path<(String, i64)>,
    ctx: Ctx,
    Query(flash): Query<Flash>,
) -> Response {
    let member = match ctx.member_of(&slug, Role::Member) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let group = match readable_group(&state, &member, group_id).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let message = match flash.ok.as_deref() {
        Some("demande") => notice("Votre demande a été transmise aux référents du groupe."),
        Some("membre") => notice("Le groupe a été mis à jour."),
        _ => Markup::default(),
    };
    show_response(&state, &member, &group, StatusCode::OK, message).await
}

/// POST /{structure}/groupes/{group}/{demande|membre|retirer|archiver}
pub async fn act(
    State(state): State<AppState>,
    Path((slug, group_id, action)): Path<(String, i64, String)>,
    ctx: Ctx,
    form: FormData,
) -> Response {
    let member = match ctx.member_of(&slug, Role::Member) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let group = match readable_group(&state, &member, group_id).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let back = format!("{}/groupes/{}", member.base(), group.id);
    if action == "demande" {
        if group.my_role.is_some() || group.archived {
            return see_other(&back);
        }
        return match state
            .db
            .request_join(&group, member.account().id, form.get("message"))
            .await
        {
            Ok(()) => see_other(&format!("{back}?ok=demande")),
            Err(e) => internal_error("join request failed", e),
        };
    }
    if !can_manage(&group, &member.membership) {
        return forbidden();
    }
    let person: Option<i64> = form.get("personne").parse().ok();
    enum Change {
        Member(i64, GroupRole),
        Remove(i64),
        Archive(bool),
    }
    let change = match (action.as_str(), person) {
        ("membre", Some(person)) => {
            let Some(role) = GroupRole::parse(form.get("role")) else {
                return show_response(
                    &state,
                    &member,
                    &group,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    alert("Rôle inconnu."),
                )
                .await;
            };
            Change::Member(person, role)
        }
        ("retirer", Some(person)) => Change::Remove(person),
        ("archiver", _) => Change::Archive(form.get("archive") == "1"),
        _ => return not_found(),
    };
    // The change, its checks (1–3 référents) and its audit entry in one write transaction.
    let result: Result<(), GroupError> = async {
        let mut tx = state.db.begin_write().await?;
        let (after, audit_action) = match change {
            Change::Member(person, role) => {
                state
                    .db
                    .set_group_member_in(&mut tx, &group, person, role)
                    .await?;
                (
                    json!({"account": person, "role": role.as_str()}),
                    "group.member",
                )
            }
            Change::Remove(person) => {
                state
                    .db
                    .remove_group_member_in(&mut tx, &group, person)
                    .await?;
                (json!({"account": person, "removed": true}), "group.remove")
            }
            Change::Archive(archived) => {
                state
                    .db
                    .set_group_archived_in(&mut tx, &group, archived)
                    .await?;
                (json!({"archived": archived}), "group.archive")
            }
        };
        let record = AuditRecord {
            actor: Some(member.account()),
            structure_id: Some(member.structure_id()),
            action: audit_action,
            target: &group.name,
            before: None,
            after: Some(after),
        };
        audit_in(&mut tx, record).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => see_other(&format!("{back}?ok=membre")),
        Err(GroupError::Storage(e)) => internal_error("group change failed", e),
        Err(e) => {
            show_response(
                &state,
                &member,
                &group,
                StatusCode::UNPROCESSABLE_ENTITY,
                alert(&e.french()),
            )
            .await
        }
    }
}

/// POST /{structure}/groupes/{group}/demandes/{request}/{accepter|refuser}
pub async fn decide(
    State(state): State<AppState>,
    Path((slug, group_id, request_id, decision)): Path<(String, i64, i64, String)>,
    ctx: Ctx,
) -> Response {
    let member = match ctx.member_of(&slug, Role::Member) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let group = match readable_group(&state, &member, group_id).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    if !can_manage(&group, &member.membership) {
        return forbidden();
    }
    let approve = match decision.as_str() {
        "accepter" => true,
        "refuser" => false,
        _ => return not_found(),
    };
    // The decision, the membership it creates and the audit entry commit together.
    let decided: Result<Option<i64>, GroupError> = async {
        let mut tx = state.db.begin_write().await?;
        let Some(requester) = state
            .db
            .decide_request_in(&mut tx, &group, request_id, approve, member.account().id)
            .await?
        else {
            return Ok(None);
        };
        let record = AuditRecord {
            actor: Some(member.account()),
            structure_id: Some(member.structure_id()),
            action: if approve {
                "group.request.approve"
            } else {
                "group.request.refuse"
            },
            target: &group.name,
            before: None,
            after: Some(json!({"account": requester})),
        };
        audit_in(&mut tx, record).await?;
        tx.commit().await?;
        Ok(Some(requester))
    }
    .await;
    match decided {
        Ok(Some(_)) => see_other(&format!("{}/groupes/{}?ok=membre", member.base(), group.id)),
        Ok(None) => not_found(),
        Err(GroupError::Storage(e)) => internal_error("deciding request failed", e),
        Err(e) => {
            show_response(
                &state,
                &member,
                &group,
                StatusCode::UNPROCESSABLE_ENTITY,
                alert(&e.french()),
            )
            .await
        }
    }
}
