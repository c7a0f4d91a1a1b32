//! Structure administration (admins only): members and invitations, roles, modules
//! with their versions and granted capabilities, the structure's settings, the audit
//! log and the mail outbox. Every change is written to the audit log.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;
use serde_json::json;

use super::access::MemberCtx;
use super::form::FormData;
use super::modules::{Enabled, enabled_plugins};
use super::{AppState, Ctx, internal_error, not_found, see_other};
use crate::audit::{AuditRecord, audit_and_commit, audit_in};
use crate::identity::invitations::{self, Invitation};
use crate::plugins::Capability;
use crate::storage::StorageError;
use crate::tenancy::{Member, Role, TIME_ZONES, parse_territory};
use crate::web::{self, Input, alert, csrf_field, field, notice, select, select_as};
use maud::{Markup, html};

pub struct Admin {
    pub(super) member: MemberCtx,
    pub(super) enabled: Enabled,
}

/// Extractor: an admin of the structure named by the first path segment (anonymous:
/// login page; not a member: 404; not an admin: 403).
impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Admin, Response> {
        let slug = parts
            .uri
            .path()
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("")
            .to_string();
        let member = Ctx::from_request_parts(parts, state)
            .await?
            .member_of(&slug, Role::Admin)?;
        let enabled = enabled_plugins(state, &member.membership.structure).await?;
        Ok(Admin { member, enabled })
    }
}

const SECTIONS: &[(&str, &str)] = &[
    ("", "Membres"),
    ("modules", "Modules"),
    ("structure", "Structure"),
    ("journal", "Journal"),
    ("courriels", "Courriels"),
    ("evenements", "Événements"),
];

impl Admin {
    pub(super) fn page(
        &self,
        title: &str,
        section: &str,
        status: StatusCode,
        content: Markup,
    ) -> Response {
        let base = self.member.base();
        let body = html! {
            h1 { "Administration — " (self.member.membership.structure.name) }
            nav aria-label="Administration" {
                ul.subnav {
                    @for (path, label) in SECTIONS {
                        li {
                            a href={ (base) "/admin/" (path) } aria-current=[(*path == section).then_some("page")] {
                                (label)
                            }
                        }
                    }
                }
            }
            (content)
        };
        let shell = self.member.shell(&self.enabled.manifests, Some("admin"));
        (status, Html(web::page(title, &shell, body).into_string())).into_response()
    }

    pub(super) fn audit<'a>(
        &'a self,
        action: &'a str,
        target: &'a str,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> AuditRecord<'a> {
        AuditRecord {
            actor: Some(self.member.account()),
            structure_id: Some(self.member.structure_id()),
            action,
            target,
            before,
            after,
        }
    }
}

#[derive(serde::Deserialize, Default)]
pub struct Flash {
    ok: Option<String>,
}

fn flash_message(flash: &Flash) -> Markup {
    match flash.ok.as_deref() {
        Some("invitation") => notice("L’invitation a été envoyée."),
        Some("membre") => notice("Le membre a été mis à jour."),
        Some("retire") => notice("La personne a été retirée de la structure."),
        Some("relance") => notice("Un nouveau lien d’invitation a été envoyé."),
        Some("module") => notice("Le module a été mis à jour."),
        Some("structure") => notice("La structure a été mise à jour."),
        Some("courriel") => notice("Le courriel sera renvoyé."),
        Some("evenement") => notice("L’événement sera remis au module."),
        _ => Markup::default(),
    }
}

fn role_options() -> Vec<(&'static str, &'static str)> {
    Role::ALL.iter().map(|r| (r.as_str(), r.label())).collect()
}

/// `module_roles`: labels of the module roles each member holds, by account.
fn members_content(
    a: &Admin,
    members: &[Member],
    module_roles: &HashMap<i64, Vec<String>>,
    message: Markup,
) -> Markup {
    let base = a.member.base();
    let csrf = csrf_field(&a.member.csrf);
    let roles = role_options();
    html! {
        (message)
        h2 { "Inviter une personne" }
        form method="post" action={ (base) "/admin/invitations" } class="stack" {
            (csrf)
            (field("nom", "Nom et prénom", "text", "", Input::new().required().autocomplete("off")))
            (field(
                "courriel",
                "Adresse électronique",
                "email",
                "",
                Input::new().required().autocomplete("off"),
            ))
            (select("role", "Rôle", &roles, "member"))
            button type="submit" { "Envoyer l’invitation" }
        }
        h2 { "Membres (" (members.len()) ")" }
        div.table-scroll {
            table.list {
                thead {
                    tr { th { "Nom" } th { "Adresse électronique" } th { "Rôle" } th { "Actions" } }
                }
                tbody {
                    @for m in members {
                        @let id = m.account_id;
                        tr {
                            td {
                                (m.display_name)
                                @if !m.active {
                                    " "
                                    span.badge { "Invitation en attente" }
                                }
                                @if let Some(labels) = module_roles.get(&id) {
                                    br;
                                    span.sr { "Rôles dans les modules : " }
                                    @for label in labels {
                                        span.badge { (label) }
                                        " "
                                    }
                                }
                            }
                            td { (m.email) }
                            td {
                                form method="post" action={ (base) "/admin/membres/" (id) } class="stack" {
                                    (csrf)
                                    (select_as(&format!("role-{id}"), "role", "Rôle", &roles, m.role.as_str()))
                                    button type="submit" class="small" { "Enregistrer" }
                                }
                            }
                            td {
                                p {
                                    a href={ (base) "/admin/membres/" (id) } {
                                        "Fiche membre"
                                        span.sr { " de " (m.display_name) }
                                    }
                                }
                                @if !m.active {
                                    form method="post" action={ (base) "/admin/membres/" (id) "/relancer" } {
                                        (csrf)
                                        button type="submit" class="small secondary" { "Renvoyer l’invitation" }
                                    }
                                }
                                form method="post" action={ (base) "/admin/membres/" (id) "/retirer" } {
                                    (csrf)
                                    button type="submit" class="small danger" { "Retirer de la structure" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn members_response(
    state: &AppState,
    a: &Admin,
    status: StatusCode,
    message: Markup,
) -> Response {
    let members = match state.db.members(a.member.structure_id()).await {
        Ok(m) => m,
        Err(e) => return internal_error("listing members failed", e),
    };
    let module_roles = match super::members::role_labels(state, a).await {
        Ok(r) => r,
        Err(e) => return internal_error("listing module roles failed", e),
    };
    a.page(
        "Membres",
        "",
        status,
        members_content(a, &members, &module_roles, message),
    )
}

pub async fn members(
    State(state): State<AppState>,
    a: Admin,
    Query(flash): Query<Flash>,
) -> Response {
    members_response(&state, &a, StatusCode::OK, flash_message(&flash)).await
}

pub async fn invite(State(state): State<AppState>, a: Admin, form: FormData) -> Response {
    let Some(role) = Role::parse(form.get("role")) else {
        return members_response(
            &state,
            &a,
            StatusCode::UNPROCESSABLE_ENTITY,
            alert("Rôle inconnu."),
        )
        .await;
    };
    let invitation = Invitation {
        structure: &a.member.membership.structure,
        email: form.get("courriel"),
        display_name: form.get("nom"),
        role,
        invited_by: Some(a.member.account()),
    };
    // The account, membership or offer, the queued mail and the audit entry in one
    // write transaction; a refusal writes nothing (the transaction is dropped).
    let invited: Result<(), invitations::InviteError> = async {
        let mut tx = state.db.begin_write().await?;
        let (account, _) =
            invitations::invite_in(&mut tx, &state.db, &state.public_url, invitation).await?;
        let after = json!({"email": account.email, "role": role.as_str()});
        audit_in(
            &mut tx,
            a.audit("member.invite", &account.email, None, Some(after)),
        )
        .await?;
        tx.commit().await.map_err(StorageError::from)?;
        Ok(())
    }
    .await;
    match invited {
        Ok(()) => {
            state.mailer.wake();
            see_other(&format!("{}/admin/?ok=invitation", a.member.base()))
        }
        Err(invitations::InviteError::Storage(e)) => internal_error("invitation failed", e),
        Err(e) => {
            members_response(
                &state,
                &a,
                StatusCode::UNPROCESSABLE_ENTITY,
                alert(e.french()),
            )
            .await
        }
    }
}

fn member_json(m: &Member) -> serde_json::Value {
    json!({"email": m.email, "role": m.role.as_str()})
}

pub(super) async fn target_member(
    state: &AppState,
    a: &Admin,
    account_id: i64,
) -> Result<Member, Response> {
    match state.db.member(a.member.structure_id(), account_id).await {
        Ok(Some(m)) => Ok(m),
        Ok(None) => Err(not_found()),
        Err(e) => Err(internal_error("member lookup failed", e)),
    }
}

pub async fn update_member(
    State(state): State<AppState>,
    Path((_, account_id)): Path<(String, i64)>,
    a: Admin,
    form: FormData,
) -> Response {
    let target = match target_member(&state, &a, account_id).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let Some(role) = Role::parse(form.get("role")) else {
        return members_response(
            &state,
            &a,
            StatusCode::UNPROCESSABLE_ENTITY,
            alert("Rôle inconnu."),
        )
        .await;
    };
    let after = json!({"email": target.email, "role": role.as_str()});
    let structure_id = a.member.structure_id();
    // The last-admin check, the change and its audit entry in one write transaction.
    let changed: Result<bool, StorageError> = async {
        let mut tx = state.db.begin_write().await?;
        if !state
            .db
            .keeps_an_admin_in(&mut tx, structure_id, account_id, Some(role))
            .await?
        {
            return Ok(false);
        }
        state
            .db
            .set_membership_in(&mut tx, structure_id, account_id, role)
            .await?;
        let record = a.audit(
            "member.role",
            &target.email,
            Some(member_json(&target)),
            Some(after),
        );
        audit_and_commit(tx, record).await?;
        Ok(true)
    }
    .await;
    match changed {
        Ok(true) => see_other(&format!("{}/admin/?ok=membre", a.member.base())),
        Ok(false) => {
            members_response(
                &state,
                &a,
                StatusCode::UNPROCESSABLE_ENTITY,
                alert("La structure doit garder au moins un administrateur."),
            )
            .await
        }
        Err(e) => internal_error("role change failed", e),
    }
}

pub async fn member_action(
    State(state): State<AppState>,
    Path((_, account_id, action)): Path<(String, i64, String)>,
    a: Admin,
) -> Response {
    let target = match target_member(&state, &a, account_id).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    match action.as_str() {
        "retirer" => {
            let structure_id = a.member.structure_id();
            let removed: Result<bool, StorageError> = async {
                let mut tx = state.db.begin_write().await?;
                if !state
                    .db
                    .keeps_an_admin_in(&mut tx, structure_id, account_id, None)
                    .await?
                {
                    return Ok(false);
                }
                state
                    .db
                    .remove_membership_in(&mut tx, structure_id, account_id)
                    .await?;
                let record = a.audit(
                    "member.remove",
                    &target.email,
                    Some(member_json(&target)),
                    None,
                );
                audit_and_commit(tx, record).await?;
                Ok(true)
            }
            .await;
            match removed {
                Ok(true) => see_other(&format!("{}/admin/?ok=retire", a.member.base())),
                Ok(false) => {
                    members_response(
                        &state,
                        &a,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        alert("La structure doit garder au moins un administrateur."),
                    )
                    .await
                }
                Err(e) => internal_error("removing member failed", e),
            }
        }
        "relancer" if !target.active => {
            let account = match state.db.account(account_id).await {
                Ok(Some(acc)) => acc,
                Ok(None) => return not_found(),
                Err(e) => return internal_error("account lookup failed", e),
            };
            // The new link, its mail and the audit entry in one write transaction.
            let resent: Result<(), StorageError> = async {
                let mut tx = state.db.begin_write().await?;
                invitations::resend_in(
                    &mut tx,
                    &state.db,
                    &state.public_url,
                    &a.member.membership.structure,
                    &account,
                )
                .await?;
                audit_and_commit(tx, a.audit("member.reinvite", &target.email, None, None)).await?;
                Ok(())
            }
            .await;
            if let Err(e) = resent {
                return internal_error("resending invitation failed", e);
            }
            state.mailer.wake();
            see_other(&format!("{}/admin/?ok=relance", a.member.base()))
        }
        _ => not_found(),
    }
}

pub async fn modules(
    State(state): State<AppState>,
    a: Admin,
    Query(flash): Query<Flash>,
) -> Response {
    modules_response(&state, &a, StatusCode::OK, flash_message(&flash)).await
}

async fn modules_response(
    state: &AppState,
    a: &Admin,
    status: StatusCode,
    message: Markup,
) -> Response {
    let installed = match state.registry.installed().await {
        Ok(i) => i,
        Err(e) => return internal_error("listing packages failed", e),
    };
    let enabled = match state.db.enabled_modules(a.member.structure_id()).await {
        Ok(e) => e,
        Err(e) => return internal_error("listing modules failed", e),
    };
    let base = a.member.base();
    let csrf = csrf_field(&a.member.csrf);
    let mut ids: Vec<&str> = installed.iter().map(|p| p.plugin_id.as_str()).collect();
    ids.dedup();
    let mut sections: Vec<Markup> = Vec::with_capacity(ids.len());
    for &id in &ids {
        let versions: Vec<&str> = installed
            .iter()
            .filter(|p| p.plugin_id == id)
            .map(|p| p.version.as_str())
            .collect();
        let current = enabled.iter().find(|m| m.plugin_id == id);
        let shown_version = current
            .map(|m| m.version.as_str())
            .unwrap_or_else(|| versions.last().copied().unwrap_or(""));
        let plugin = match state.registry.get(id, shown_version).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(plugin = id, error = %e, "installed package failed to load");
                sections.push(html! {
                    section.widget {
                        h2 { (id) }
                        (alert("Ce module ne peut pas être chargé. Prévenez l’opérateur de la plateforme."))
                    }
                });
                continue;
            }
        };
        let m = plugin.manifest();
        let options: Vec<(&str, &str)> = versions.iter().map(|v| (*v, *v)).collect();
        sections.push(html! {
            section.widget id={ "module-" (id) } {
                h2 {
                    (m.name) " "
                    @if let Some(c) = current {
                        span.badge { "Activé — version " (c.version) }
                    } @else {
                        span.badge { "Désactivé" }
                    }
                }
                form method="post" action={ (base) "/admin/modules/" (id) } class="stack" {
                    (csrf)
                    (select_as(&format!("version-{id}"), "version", "Version", &options, shown_version))
                    fieldset {
                        legend { "Autorisations demandées" }
                        @if m.capabilities.is_empty() {
                            p.muted { "Aucune autorisation particulière." }
                        }
                        @for cap in &m.capabilities {
                            @let name = cap.to_string();
                            @let granted = current.is_none_or(|c| c.granted.contains(&name));
                            label.check {
                                input type="checkbox" name="autorisation" value=(name) checked[granted];
                                " " (cap.describe_fr())
                            }
                        }
                    }
                    button type="submit" name="action" value="activer" {
                        @if current.is_some() { "Enregistrer" } @else { "Activer" }
                    }
                    @if current.is_some() {
                        button type="submit" name="action" value="desactiver" class="danger" { "Désactiver" }
                    }
                }
            }
        });
    }
    let html = html! {
        (message)
        p {
            "Les modules sont installés sur la plateforme par son opérateur. Activez ceux dont votre structure a besoin et accordez-leur les autorisations qu’ils demandent."
        }
        @if ids.is_empty() {
            p.empty { "Aucun module n’est installé sur la plateforme." }
        }
        @for section in &sections {
            (section)
        }
    };
    a.page("Modules", "modules", status, html)
}

pub async fn update_module(
    State(state): State<AppState>,
    Path((_, plugin_id)): Path<(String, String)>,
    a: Admin,
    form: FormData,
) -> Response {
    let structure_id = a.member.structure_id();
    let before = match state.db.enabled_module(structure_id, &plugin_id).await {
        Ok(b) => b,
        Err(e) => return internal_error("module lookup failed", e),
    };
    let before_json = before
        .as_ref()
        .map(|b| json!({"version": b.version, "granted": b.granted}));
    match form.get("action") {
        "desactiver" => {
            if before.is_none() {
                return not_found();
            }
            let disabled: Result<(), StorageError> = async {
                let mut tx = state.db.begin_write().await?;
                state
                    .db
                    .disable_module_in(&mut tx, structure_id, &plugin_id)
                    .await?;
                audit_in(
                    &mut tx,
                    a.audit("module.disable", &plugin_id, before_json, None),
                )
                .await?;
                tx.commit().await?;
                Ok(())
            }
            .await;
            if let Err(e) = disabled {
                return internal_error("disabling module failed", e);
            }
        }
        "activer" => {
            let version = form.get("version");
            // Only an installed version of this very plugin can be picked.
            let plugin = match state.registry.get(&plugin_id, version).await {
                Ok(p) => p,
                Err(_) => {
                    return modules_response(
                        &state,
                        &a,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        alert("Cette version du module n’est pas installée."),
                    )
                    .await;
                }
            };
            let asked = form.all("autorisation");
            if let Some(unknown) = asked.iter().find(|c| {
                !Capability::parse(c).is_some_and(|c| plugin.manifest().capabilities.contains(&c))
            }) {
                return modules_response(
                    &state,
                    &a,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    alert(&format!("Autorisation inconnue pour ce module : {unknown}")),
                )
                .await;
            }
            let granted: Vec<String> = asked.iter().map(|c| c.to_string()).collect();
            let action = if before.is_some() {
                "module.update"
            } else {
                "module.enable"
            };
            let after = json!({"version": version, "granted": granted});
            let enabled: Result<(), StorageError> = async {
                let mut tx = state.db.begin_write().await?;
                state
                    .db
                    .enable_module_in(&mut tx, structure_id, &plugin_id, version, &granted)
                    .await?;
                audit_in(
                    &mut tx,
                    a.audit(action, &plugin_id, before_json, Some(after)),
                )
                .await?;
                tx.commit().await?;
                Ok(())
            }
            .await;
            if let Err(e) = enabled {
                return internal_error("enabling module failed", e);
            }
        }
        _ => {
            return modules_response(
                &state,
                &a,
                StatusCode::UNPROCESSABLE_ENTITY,
                alert("Action inconnue."),
            )
            .await;
        }
    }
    see_other(&format!("{}/admin/modules?ok=module", a.member.base()))
}

fn structure_form(a: &Admin, name: &str, tz: &str, territory: &str, message: Markup) -> Markup {
    let s = &a.member.membership.structure;
    html! {
        (message)
        form method="post" action={ (a.member.base()) "/admin/structure" } class="stack" {
            (csrf_field(&a.member.csrf))
            p { "Type : " (s.kind.label()) }
            (field("nom", "Nom de la structure", "text", name, Input::new().required()))
            (select("fuseau", "Fuseau horaire", TIME_ZONES, tz))
            (field(
                "territoire",
                "Territoire (codes postaux, séparés par des virgules)",
                "text",
                territory,
                Input::new().inputmode("numeric"),
            ))
            button type="submit" { "Enregistrer" }
        }
    }
}

pub async fn structure_page(a: Admin, Query(flash): Query<Flash>) -> Response {
    let s = &a.member.membership.structure;
    a.page(
        "Structure",
        "structure",
        StatusCode::OK,
        structure_form(
            &a,
            &s.name,
            &s.time_zone,
            &s.territory,
            flash_message(&flash),
        ),
    )
}

pub async fn update_structure(State(state): State<AppState>, a: Admin, form: FormData) -> Response {
    let (name, tz, territory) = (form.get("nom"), form.get("fuseau"), form.get("territoire"));
    let error = if name.is_empty() {
        Some("Le nom est obligatoire.")
    } else if !TIME_ZONES.iter().any(|(z, _)| *z == tz) {
        Some("Fuseau horaire inconnu.")
    } else if parse_territory(territory).is_none() {
        Some("Le territoire doit être une liste de codes postaux à cinq chiffres.")
    } else {
        None
    };
    if let Some(error) = error {
        return a.page(
            "Structure",
            "structure",
            StatusCode::UNPROCESSABLE_ENTITY,
            structure_form(&a, name, tz, territory, alert(error)),
        );
    }
    let s = &a.member.membership.structure;
    let before = json!({"name": s.name, "time_zone": s.time_zone, "territory": s.territory});
    let after = json!({"name": name, "time_zone": tz, "territory": parse_territory(territory)});
    let updated: Result<(), StorageError> = async {
        let mut tx = state.db.begin_write().await?;
        state
            .db
            .update_structure_in(&mut tx, s.id, name, tz, territory)
            .await?;
        audit_in(
            &mut tx,
            a.audit("structure.update", &s.slug, Some(before), Some(after)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    if let Err(e) = updated {
        return internal_error("structure update failed", e);
    }
    see_other(&format!("{}/admin/structure?ok=structure", a.member.base()))
}

pub async fn audit_log(State(state): State<AppState>, a: Admin) -> Response {
    let entries = match state
        .db
        .audit_entries(Some(a.member.structure_id()), 200)
        .await
    {
        Ok(e) => e,
        Err(e) => return internal_error("audit log failed", e),
    };
    a.page(
        "Journal",
        "journal",
        StatusCode::OK,
        audit_table(&entries, &a.member.membership.structure.time_zone),
    )
}

/// The audit entries as a table (structure and platform pages).
pub fn audit_table(entries: &[crate::audit::AuditEntry], zone: &str) -> Markup {
    html! {
        div.table-scroll {
            table.list {
                thead {
                    tr {
                        th { "Date" } th { "Par" } th { "Action" } th { "Objet" } th { "Avant" } th { "Après" }
                    }
                }
                tbody {
                    @for e in entries {
                        tr {
                            td { (web::local_timestamp(e.at, zone)) }
                            td { (e.actor) }
                            td { code { (e.action) } }
                            td { (e.target) }
                            td { code { (e.before.as_deref().unwrap_or("—")) } }
                            td { code { (e.after.as_deref().unwrap_or("—")) } }
                        }
                    }
                    @if entries.is_empty() {
                        tr { td colspan="6" class="empty" { "Aucune action enregistrée." } }
                    }
                }
            }
        }
    }
}

pub async fn outbox(
    State(state): State<AppState>,
    a: Admin,
    Query(flash): Query<Flash>,
) -> Response {
    let mails = match state.db.outbox(Some(a.member.structure_id()), 200).await {
        Ok(m) => m,
        Err(e) => return internal_error("outbox failed", e),
    };
    let base = a.member.base();
    let csrf = csrf_field(&a.member.csrf);
    // Bodies are not shown: they carry single-use links meant for their recipient only.
    let html = html! {
        (flash_message(&flash))
        div.table-scroll {
            table.list {
                thead {
                    tr {
                        th { "Créé le" } th { "Destinataire" } th { "Objet" } th { "État" }
                        th { "Tentatives" } th { "Dernière erreur" } th {}
                    }
                }
                tbody {
                    @for m in &mails {
                        @let status = match m.status.as_str() {
                            "sent" => "Envoyé",
                            "failed" => "Échec",
                            _ => "En attente",
                        };
                        tr {
                            td { (web::local_timestamp(m.created_at, &a.member.membership.structure.time_zone)) }
                            td { (m.to) }
                            td { (m.subject) }
                            td { (status) }
                            td { (m.attempts) }
                            td { (m.last_error.as_deref().unwrap_or("")) }
                            td {
                                @if m.status != "sent" {
                                    form method="post" action={ (base) "/admin/courriels/" (m.id) "/relancer" } {
                                        (csrf)
                                        button type="submit" class="small secondary" { "Renvoyer" }
                                    }
                                }
                            }
                        }
                    }
                    @if mails.is_empty() {
                        tr { td colspan="7" class="empty" { "Aucun courriel." } }
                    }
                }
            }
        }
    };
    a.page("Courriels", "courriels", StatusCode::OK, html)
}

pub async fn retry_mail(
    State(state): State<AppState>,
    Path((_, mail_id)): Path<(String, i64)>,
    a: Admin,
) -> Response {
    // Back in the queue and audited in one write transaction.
    let target = mail_id.to_string();
    let retried: Result<bool, StorageError> = async {
        let mut tx = state.db.begin_write().await?;
        if !state
            .db
            .retry_mail_in(&mut tx, a.member.structure_id(), mail_id)
            .await?
        {
            return Ok(false);
        }
        audit_and_commit(tx, a.audit("mail.retry", &target, None, None)).await?;
        Ok(true)
    }
    .await;
    match retried {
        Ok(true) => {}
        Ok(false) => return not_found(),
        Err(e) => return internal_error("retrying mail failed", e),
    }
    state.mailer.wake();
    see_other(&format!("{}/admin/courriels?ok=courriel", a.member.base()))
}

/// Event deliveries that fail or were given up (the dead-letter list), with "retry".
pub async fn events(
    a: Admin,
    State(state): State<AppState>,
    Query(flash): Query<Flash>,
) -> Response {
    let deliveries = match crate::events::failing_deliveries(&state, a.member.structure_id()).await
    {
        Ok(d) => d,
        Err(e) => return internal_error("listing deliveries failed", e),
    };
    let base = a.member.base();
    let csrf = csrf_field(&a.member.csrf);
    let html = html! {
        (flash_message(&flash))
        p {
            "Les événements publiés par un module sont remis aux modules abonnés. Voici les remises en échec : « Abandonné » après "
            (crate::events::MAX_ATTEMPTS)
            " tentatives."
        }
        div.table-scroll {
            table.list {
                thead {
                    tr {
                        th { "Publié le" } th { "Sujet" } th { "Module destinataire" } th { "État" }
                        th { "Tentatives" } th { "Dernière erreur" } th {}
                    }
                }
                tbody {
                    @for d in &deliveries {
                        tr {
                            td { (web::local_timestamp(d.created_at, &a.member.membership.structure.time_zone)) }
                            td { code { (d.topic) } }
                            td { (d.plugin_id) }
                            td {
                                @if d.status == "dead" { "Abandonné" } @else { "Nouvel essai prévu" }
                            }
                            td { (d.attempts) }
                            td { (d.last_error.as_deref().unwrap_or("")) }
                            td {
                                form method="post" action={ (base) "/admin/evenements/" (d.event_id) "/" (d.plugin_id) "/relancer" } {
                                    (csrf)
                                    button type="submit" class="small secondary" { "Relancer" }
                                }
                            }
                        }
                    }
                    @if deliveries.is_empty() {
                        tr { td colspan="7" class="empty" { "Aucune remise en échec." } }
                    }
                }
            }
        }
    };
    a.page("Événements", "evenements", StatusCode::OK, html)
}

pub async fn retry_event(
    Path((_, event_id, plugin_id)): Path<(String, i64, String)>,
    a: Admin,
    State(state): State<AppState>,
) -> Response {
    // Back in the queue and audited in one write transaction.
    let target = format!("{event_id}/{plugin_id}");
    let retried: Result<bool, StorageError> = async {
        let mut tx = state.db.begin_write().await?;
        if !crate::events::retry_in(&mut tx, a.member.structure_id(), event_id, &plugin_id).await? {
            return Ok(false);
        }
        audit_and_commit(tx, a.audit("event.retry", &target, None, None)).await?;
        Ok(true)
    }
    .await;
    match retried {
        Ok(true) => {}
        Ok(false) => return not_found(),
        Err(e) => return internal_error("retrying delivery failed", e),
    }
    see_other(&format!(
        "{}/admin/evenements?ok=evenement",
        a.member.base()
    ))
}
