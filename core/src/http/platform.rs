//! Platform operation (platform operators only): installed plugin packages, uploading a
//! new package (validated: manifest and WIT version), creating structures.

use crate::plugins::registry::{InstalledPackage, RegistryError};
use crate::storage::StorageError;
use axum::extract::{Multipart, Query, State};
use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

use super::access::Viewer;
use super::{AppState, Ctx, forbidden, internal_error, see_other};
use crate::audit::{AuditRecord, audit_and_commit};
use crate::identity::invitations::{self, Invitation};
use crate::tenancy::{Role, StructureKind, TIME_ZONES, parse_territory, valid_slug};
use crate::web::{self, Input, alert, field, notice, select};
use maud::{Markup, html};

use super::form::FormData;

fn operator(ctx: &Ctx) -> Result<&Viewer, Response> {
    match &ctx.viewer {
        None => Err(ctx.login_redirect()),
        Some(v) if v.account.platform_operator => Ok(v),
        Some(_) => Err(forbidden()),
    }
}

#[derive(serde::Deserialize, Default)]
pub struct Flash {
    ok: Option<String>,
}

async fn overview_response(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    message: Markup,
) -> Response {
    let packages = match state.registry.installed().await {
        Ok(p) => p,
        Err(e) => return internal_error("listing packages failed", e),
    };
    let structures = match state.db.structures().await {
        Ok(s) => s,
        Err(e) => return internal_error("listing structures failed", e),
    };
    let rule_sets = match state.registry.rule_sets().installed().await {
        Ok(r) => r,
        Err(e) => return internal_error("listing rule sets failed", e),
    };
    let structure_names: std::collections::HashMap<i64, String> =
        structures.iter().map(|s| (s.id, s.name.clone())).collect();
    let entries = match state.db.audit_entries(None, 100).await {
        Ok(e) => e,
        Err(e) => return internal_error("audit log failed", e),
    };
    let csrf = web::csrf_field(&ctx.csrf);
    let mut package_rows: Vec<(&InstalledPackage, String)> = Vec::with_capacity(packages.len());
    for p in &packages {
        let caps = match state.registry.get(&p.plugin_id, &p.version).await {
            Ok(plugin) => plugin
                .manifest()
                .capabilities
                .iter()
                .map(|c| c.describe_fr())
                .collect::<Vec<_>>()
                .join(", "),
            Err(_) => "ne se charge pas".into(),
        };
        package_rows.push((p, caps));
    }
    let kinds = [("cpts", "CPTS"), ("msp", "MSP")];
    let body = html! {
        h1 { "Administration de la plateforme" }
        (message)
        h2 { "Modules installés" }
        div.table-scroll {
            table.list {
                thead {
                    tr { th { "Module" } th { "Version" } th { "WIT" } th { "Autorisations demandées" } }
                }
                tbody {
                    @for (p, caps) in &package_rows {
                        tr {
                            td { (p.plugin_id) }
                            td { (p.version) }
                            td { (p.wit_version) }
                            td { (caps) }
                        }
                    }
                }
            }
        }
        h2 { "Barèmes d’indemnisation installés" }
        div.table-scroll {
            table.list.rule-sets {
                thead {
                    tr { th { "Barème" } th { "Identifiant" } th { "Version" } th { "Proposé à" } }
                }
                tbody {
                    @for r in &rule_sets {
                        tr {
                            td { (r.name) }
                            td { (r.id) }
                            td { (r.version) }
                            td {
                                @match r.structure_id {
                                    None => "Toutes les structures",
                                    Some(id) => (structure_names.get(&id).cloned().unwrap_or_else(|| id.to_string())),
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Installer un module" }
        form method="post" action={ "/plateforme/paquets?csrf=" (ctx.csrf) } enctype="multipart/form-data" class="stack" {
            label for="paquet" { "Paquet du module ou du barème d’indemnisation (fichier .wasm)" }
            input id="paquet" name="paquet" type="file" accept=".wasm,application/wasm" required;
            label.check {
                input type="checkbox" name="confirmer" value="oui";
                " Je confirme les changements qui effacent des données (champs ou collections retirés)"
            }
            button type="submit" { "Installer" }
        }
        h2 { "Structures (" (structures.len()) ")" }
        ul {
            @for s in &structures {
                li {
                    (s.name)
                    " "
                    span.muted { (s.kind.label()) " · /" (s.slug) "/" }
                }
            }
        }
        h3 { "Créer une structure" }
        form method="post" action="/plateforme/structures" class="stack" {
            (csrf)
            (field("nom", "Nom", "text", "", Input::new().required()))
            (field(
                "slug",
                "Adresse courte (lettres minuscules, chiffres, tirets)",
                "text",
                "",
                Input::new().required().pattern("[a-z0-9][a-z0-9-]*"),
            ))
            (select("type", "Type", &kinds, "cpts"))
            (select("fuseau", "Fuseau horaire", TIME_ZONES, "Europe/Paris"))
            (field("territoire", "Territoire (codes postaux)", "text", "", Input::new()))
            (field("admin_nom", "Nom de l’administrateur", "text", "", Input::new().required()))
            (field(
                "admin_courriel",
                "Adresse électronique de l’administrateur",
                "email",
                "",
                Input::new().required(),
            ))
            button type="submit" { "Créer la structure et inviter son administrateur" }
        }
        h2 { "Journal de la plateforme" }
        (super::admin::audit_table(&entries, "Europe/Paris"))
    };
    (
        status,
        Html(web::page("Plateforme", &ctx.shell(None), body).into_string()),
    )
        .into_response()
}

pub async fn overview(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(flash): Query<Flash>,
) -> Response {
    if let Err(r) = operator(&ctx) {
        return r;
    }
    let message = match flash.ok.as_deref() {
        Some("paquet") => notice(
            "Le module a été installé. Les administrateurs des structures peuvent maintenant l’activer.",
        ),
        Some("structure") => notice("La structure a été créée et son administrateur invité."),
        Some("bareme") => notice(
            "Le barème d’indemnisation a été installé. Les structures peuvent maintenant le choisir dans le module Indemnités.",
        ),
        _ => Markup::default(),
    };
    overview_response(&state, &ctx, StatusCode::OK, message).await
}

pub async fn upload_package(
    State(state): State<AppState>,
    ctx: Ctx,
    mut multipart: Multipart,
) -> Response {
    let viewer = match operator(&ctx) {
        Ok(v) => v.clone(),
        Err(r) => return r,
    };
    let mut wasm = None;
    let mut confirmed = false;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("confirmer") => {
                confirmed = field.text().await.is_ok_and(|v| v == "oui");
            }
            Ok(Some(field)) if field.name() == Some("paquet") => match field.bytes().await {
                Ok(bytes) => wasm = Some(bytes),
                Err(_) => {
                    return overview_response(
                        &state,
                        &ctx,
                        StatusCode::BAD_REQUEST,
                        alert("Le fichier n’a pas pu être lu."),
                    )
                    .await;
                }
            },
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(_) => {
                return overview_response(
                    &state,
                    &ctx,
                    StatusCode::BAD_REQUEST,
                    alert("L’envoi du fichier a échoué."),
                )
                .await;
            }
        }
    }
    let Some(wasm) = wasm.filter(|w| !w.is_empty()) else {
        return overview_response(
            &state,
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            alert("Choisissez un fichier .wasm."),
        )
        .await;
    };
    if state.registry.runtime().is_rule_set(&wasm) {
        return install_rule_set(&state, &ctx, &viewer, &wasm).await;
    }
    // The package's row and its audit entry commit together.
    match state
        .registry
        .install_as(&wasm, confirmed, Some(&viewer.account))
        .await
    {
        Ok(_) => see_other("/plateforme/?ok=paquet"),
        Err(RegistryError::Storage(StorageError::Destructive(steps))) => {
            let message = html! {
                div.alert role="alert" {
                    p { "Cette version efface des données :" }
                    ul {
                        @for step in &steps {
                            li { (step) }
                        }
                    }
                    p {
                        "Rien n’a été modifié. Pour l’installer malgré tout, envoyez de nouveau le paquet en cochant la confirmation."
                    }
                }
            };
            overview_response(&state, &ctx, StatusCode::CONFLICT, message).await
        }
        Err(e) => {
            tracing::warn!(error = %e, "plugin package refused");
            // The English cause is technical but precise; the operator needs it verbatim.
            overview_response(
                &state,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                alert(&format!("Ce paquet a été refusé : {e}")),
            )
            .await
        }
    }
}

/// An indemnity rule set uploaded by the operator: offered to every structure.
async fn install_rule_set(state: &AppState, ctx: &Ctx, viewer: &Viewer, wasm: &[u8]) -> Response {
    match state
        .registry
        .rule_sets()
        .install_as(wasm, None, Some(&viewer.account))
        .await
    {
        Ok(_) => see_other("/plateforme/?ok=bareme"),
        Err(e) => {
            tracing::warn!(error = %e, "rule set refused");
            overview_response(
                state,
                ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                alert(&format!("Ce barème a été refusé : {e}")),
            )
            .await
        }
    }
}

pub async fn create_structure(State(state): State<AppState>, ctx: Ctx, form: FormData) -> Response {
    let viewer = match operator(&ctx) {
        Ok(v) => v.clone(),
        Err(r) => return r,
    };
    let (name, slug, tz, territory) = (
        form.get("nom"),
        form.get("slug"),
        form.get("fuseau"),
        form.get("territoire"),
    );
    let kind = StructureKind::parse(form.get("type"));
    let error = if name.is_empty() {
        Some("Le nom est obligatoire.")
    } else if !valid_slug(slug) {
        Some(
            "L’adresse courte doit être faite de lettres minuscules, de chiffres et de tirets, et ne pas être un mot réservé.",
        )
    } else if kind.is_none() {
        Some("Type de structure inconnu.")
    } else if !TIME_ZONES.iter().any(|(z, _)| *z == tz) {
        Some("Fuseau horaire inconnu.")
    } else if parse_territory(territory).is_none() {
        Some("Le territoire doit être une liste de codes postaux à cinq chiffres.")
    } else {
        None
    };
    if let Some(error) = error {
        return overview_response(&state, &ctx, StatusCode::UNPROCESSABLE_ENTITY, alert(error))
            .await;
    }
    // The structure, its territory, its admin's invitation (account, membership, link,
    // queued mail) and the audit entry in one write transaction: all or nothing. An
    // invitation refused (a wrong address) writes nothing of its own: the structure is
    // still created as before, and now audited too.
    enum Outcome {
        Created,
        SlugTaken,
        AdminNotInvited(invitations::InviteError),
    }
    let admin_email = form.get("admin_courriel");
    let done: Result<Outcome, StorageError> = async {
        let mut tx = state.db.begin_write().await?;
        let structure = match state
            .db
            .create_structure_in(&mut tx, slug, name, kind.unwrap_or(StructureKind::Cpts), tz)
            .await
        {
            Ok(s) => s,
            Err(StorageError::Database(sqlx::Error::Database(e))) if e.is_unique_violation() => {
                return Ok(Outcome::SlugTaken);
            }
            Err(e) => return Err(e),
        };
        state
            .db
            .set_territory_in(&mut tx, structure.id, territory)
            .await?;
        let invitation = Invitation {
            structure: &structure,
            email: admin_email,
            display_name: form.get("admin_nom"),
            role: Role::Admin,
            invited_by: Some(&viewer.account),
        };
        let refused =
            match invitations::invite_in(&mut tx, &state.db, &state.public_url, invitation).await {
                Ok(_) => None,
                Err(invitations::InviteError::Storage(e)) => return Err(e),
                Err(e) => Some(e),
            };
        let record = AuditRecord {
            actor: Some(&viewer.account),
            structure_id: None,
            action: "structure.create",
            target: slug,
            before: None,
            after: Some(json!({
                "name": name,
                "time_zone": tz,
                "admin": refused.is_none().then_some(admin_email),
            })),
        };
        audit_and_commit(tx, record).await?;
        Ok(match refused {
            None => Outcome::Created,
            Some(e) => Outcome::AdminNotInvited(e),
        })
    }
    .await;
    match done {
        Ok(Outcome::Created) => {}
        Ok(Outcome::SlugTaken) => {
            return overview_response(
                &state,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                alert("Cette adresse courte est déjà prise."),
            )
            .await;
        }
        Ok(Outcome::AdminNotInvited(e)) => {
            tracing::warn!(error = %e, "structure created but its admin could not be invited");
            return overview_response(
                &state,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                alert(&format!(
                    "La structure a été créée, mais l’invitation de son administrateur a échoué : {}",
                    e.french()
                )),
            )
            .await;
        }
        Err(e) => return internal_error("creating structure failed", e),
    }
    state.mailer.wake();
    see_other("/plateforme/?ok=structure")
}
