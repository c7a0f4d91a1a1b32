//! Platform operation (platform operators only): installed plugin packages, uploading a
//! new package (validated: manifest and WIT version), creating structures, and the
//! moderation of the national library (docs/cloud-library-design.md A.10):
//! `/plateforme/bibliotheque` lists every module's entries (filters `q`, `module`,
//! `etat`), `/plateforme/bibliotheque/{entry}` shows one with every version (Markdown as
//! its source, files as attachments), `…/masquer` hides it with a reason (audited in
//! both logs, the owner's coordinators told by mail) and `…/retablir` shows it again.

use crate::plugins::registry::{InstalledPackage, RegistryError};
use crate::storage::StorageError;
use axum::body::Body;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

use super::access::Viewer;
use super::files::{Disposition, file_response};
use super::{AppState, Ctx, forbidden, internal_error, not_found, see_other};
use crate::audit::{AuditRecord, audit_and_commit};
use crate::identity::invitations::{self, Invitation};
use crate::library::{self, Caller, LibraryError, OperatorFilter, OperatorRow};
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
        nav aria-label="Sections de la plateforme" {
            ul.subnav {
                li { a href="/plateforme/bibliotheque" { "Bibliothèque nationale : modération" } }
            }
        }
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

/// Most entries the operators' list shows at once (the most recent first).
const LIBRARY_LIST_LIMIT: u32 = 200;

/// The list's `etat` filter: (value, label).
const LIBRARY_STATES: [(&str, &str); 4] = [
    ("tous", "Tous"),
    ("visibles", "Visibles"),
    ("masques", "Masqués"),
    ("retires", "Retirés"),
];

#[derive(serde::Deserialize, Default)]
pub struct LibraryQuery {
    q: Option<String>,
    module: Option<String>,
    etat: Option<String>,
}

/// The zone an operator reads dates in: theirs, else the mainland's.
fn operator_zone(viewer: &Viewer) -> &str {
    viewer
        .account
        .time_zone
        .as_deref()
        .unwrap_or("Europe/Paris")
}

fn entry_state(row: &OperatorRow) -> &'static str {
    match (row.withdrawn_at.is_some(), row.hidden_at.is_some()) {
        (false, false) => "Visible",
        (false, true) => "Masqué",
        (true, false) => "Retiré",
        (true, true) => "Retiré, masqué",
    }
}

/// `GET /plateforme/bibliotheque`: every module's entries, filtered by words of the
/// title or the tags (`q`), `module` and `etat` (`visibles`, `masques`, `retires`,
/// `tous`).
pub async fn library_list(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<LibraryQuery>,
) -> Response {
    let viewer = match operator(&ctx) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let words = query.q.as_deref().unwrap_or("").trim().to_string();
    let module = query
        .module
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_string);
    let etat = query
        .etat
        .as_deref()
        .filter(|e| ["visibles", "masques", "retires"].contains(e))
        .unwrap_or("tous");
    let (hidden, withdrawn) = match etat {
        "visibles" => (Some(false), Some(false)),
        "masques" => (Some(true), None),
        "retires" => (None, Some(true)),
        _ => (None, None),
    };
    let filter = OperatorFilter {
        words: words.clone(),
        module: module.clone(),
        hidden,
        withdrawn,
        limit: LIBRARY_LIST_LIMIT,
    };
    let rows = match library::list_all(&state.db, &filter).await {
        Ok(rows) => rows,
        Err(e) => return internal_error("listing library entries failed", e),
    };
    let modules = match library::library_modules(&state.db).await {
        Ok(m) => m,
        Err(e) => return internal_error("listing library modules failed", e),
    };
    let mut module_options: Vec<(&str, &str)> = vec![("", "Tous les modules")];
    module_options.extend(modules.iter().map(|m| (m.as_str(), m.as_str())));
    let zone = operator_zone(viewer);
    let truncated = rows.len() >= LIBRARY_LIST_LIMIT as usize;
    let count = match rows.len() {
        0 => "Aucun document.".to_string(),
        1 => "1 document".to_string(),
        n => format!("{n} documents"),
    };
    let body = html! {
        h1 { "Bibliothèque nationale" }
        p { a href="/plateforme/" { "Administration de la plateforme" } }
        p.muted {
            "Les documents publiés par les structures, tous modules confondus. Un document \
             masqué n’est plus visible des autres structures ; sa structure voit votre motif."
        }
        form method="get" action="/plateforme/bibliotheque" class="stack" role="search" {
            (field("q", "Mots du titre ou des mots-clés", "search", &words, Input::new()))
            (select("module", "Module", &module_options, module.as_deref().unwrap_or("")))
            (select("etat", "État", &LIBRARY_STATES, etat))
            button type="submit" { "Filtrer" }
        }
        p { (count) }
        @if truncated {
            p.muted { "Seuls les 200 plus récents sont affichés : précisez votre recherche." }
        }
        div.table-scroll {
            table.list {
                thead {
                    tr {
                        th { "Titre" }
                        th { "Structure source" }
                        th { "Module" }
                        th { "Version" }
                        th { "Publié le" }
                        th { "État" }
                    }
                }
                tbody {
                    @for row in &rows {
                        tr {
                            td { a href={ "/plateforme/bibliotheque/" (row.id) } { (row.title) } }
                            td { (row.source_name) }
                            td { (row.module_id) }
                            td { (row.version) }
                            td { (super::library::local_date(row.published_at, zone)) }
                            td { (entry_state(row)) }
                        }
                    }
                }
            }
        }
    };
    Html(web::page("Bibliothèque nationale", &ctx.shell(None), body).into_string()).into_response()
}

/// One entry for the operators: its metadata as its owner sees it, every version with
/// its Markdown source or its file, and the form to hide it (or show it again).
async fn library_entry_response(
    state: &AppState,
    ctx: &Ctx,
    viewer: &Viewer,
    entry_id: i64,
    status: StatusCode,
    message: Markup,
    motif: &str,
) -> Response {
    let row = match library::operator_entry(&state.db, entry_id).await {
        Ok(Some(row)) => row,
        Ok(None) => return not_found(),
        Err(e) => return internal_error("library entry lookup failed", e),
    };
    let versions = match library::operator_versions(&state.db, entry_id).await {
        Ok(v) => v,
        Err(LibraryError::NotFound) => Vec::new(),
        Err(e) => return internal_error("library versions lookup failed", e),
    };
    let details = {
        let mut conn = match state.db.pool().acquire().await {
            Ok(c) => c,
            Err(e) => return internal_error("no database connection for a library entry", e),
        };
        // As its owner structure reads it: the module's reference and the reason too.
        let owner = Caller::reader(row.owner_structure_id, &row.module_id);
        match library::get(&mut conn, &owner, entry_id).await {
            Ok(d) => d,
            Err(e) => return internal_error("library entry lookup failed", e),
        }
    };
    let zone = operator_zone(viewer);
    let base = format!("/plateforme/bibliotheque/{entry_id}");
    let csrf = web::csrf_field(&ctx.csrf);
    let body = html! {
        h1 { (row.title) }
        p { a href="/plateforme/bibliotheque" { "Bibliothèque nationale" } }
        (message)
        dl {
            dt { "Structure source" }
            dd {
                (row.source_name)
                @if let Some(d) = &details { " (" (d.source_kind) ")" }
                " · /" (row.source_slug) "/"
            }
            dt { "Module" }
            dd { (row.module_id) }
            dt { "Version actuelle" }
            dd { (row.version) }
            dt { "Première publication" }
            dd { (web::local_timestamp(row.first_published_at, zone)) }
            dt { "Version actuelle publiée le" }
            dd { (web::local_timestamp(row.published_at, zone)) }
            @if let Some(d) = &details {
                dt { "Licence" }
                dd { (d.licence.label()) }
                dt { "Mots-clés" }
                dd {
                    @if d.tags.is_empty() { "—" } @else { (d.tags.join(", ")) }
                }
                dt { "Description" }
                dd {
                    @if d.description.is_empty() { "—" } @else { (d.description) }
                }
                dt { "Référence dans le module" }
                dd { (d.source_ref.as_deref().filter(|r| !r.is_empty()).unwrap_or("—")) }
            }
            dt { "État" }
            dd { (entry_state(&row)) }
        }
        @if let Some(at) = row.withdrawn_at {
            p { "Retiré par sa structure le " (web::local_timestamp(at, zone)) "." }
        }
        @if let Some(at) = row.hidden_at {
            div.alert.warning {
                p { "Masqué le " (web::local_timestamp(at, zone)) "." }
                p { "Motif : " (row.hidden_reason.as_deref().unwrap_or("")) }
            }
            form method="post" action={ (base) "/retablir" } class="stack" {
                (csrf)
                button type="submit" { "Rétablir" }
            }
        } @else {
            h2 { "Masquer ce document" }
            form method="post" action={ (base) "/masquer" } class="stack" {
                (csrf)
                label for="motif" { "Motif (10 à 1 000 caractères)" }
                textarea id="motif" name="motif" rows="4" minlength="10" maxlength="1000" required {
                    (motif)
                }
                p.muted {
                    "Les membres des autres structures ne le verront plus. Les coordinateurs de "
                    (row.source_name)
                    " reçoivent un courriel avec le titre et ce motif."
                }
                button type="submit" class="danger" { "Masquer" }
            }
        }
        h2 { "Versions" }
        @for v in &versions {
            section {
                h3 { "Version " (v.number) " — " (web::local_timestamp(v.published_at, zone)) }
                @if v.title != row.title {
                    p { "Titre : " (v.title) }
                }
                @if !v.note.is_empty() {
                    p { "Note de version : " (v.note) }
                }
                @if v.purged {
                    p.muted { "Contenu effacé (purge légale)." }
                }
                @if let Some(text) = &v.text {
                    p.muted { (text.chars().count()) " caractères" }
                    pre.source tabindex="0" { (text) }
                }
                @if let Some(file) = &v.file {
                    @if !v.purged {
                        p {
                            (file.name) " · " (file.content_type) " · "
                            (super::library::french_size(file.size)) " · "
                            a href={ (base) "/" (v.number) "/fichier" } { "Télécharger" }
                        }
                    }
                }
            }
        }
    };
    (
        status,
        Html(web::page("Bibliothèque nationale", &ctx.shell(None), body).into_string()),
    )
        .into_response()
}

/// `GET /plateforme/bibliotheque/{entry}`.
pub async fn library_entry(
    State(state): State<AppState>,
    Path(entry): Path<String>,
    ctx: Ctx,
    Query(flash): Query<Flash>,
) -> Response {
    let viewer = match operator(&ctx) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(entry_id) = library::parse_entry_id(&entry) else {
        return not_found();
    };
    let message = match flash.ok.as_deref() {
        Some("masque") => notice(
            "Le document est masqué. Les coordinateurs de sa structure ont été prévenus par courriel.",
        ),
        Some("retabli") => notice("Le document est de nouveau visible dans la bibliothèque."),
        _ => Markup::default(),
    };
    library_entry_response(&state, &ctx, viewer, entry_id, StatusCode::OK, message, "").await
}

/// `POST /plateforme/bibliotheque/{entry}/masquer` (`csrf`, `motif`).
pub async fn library_hide(
    State(state): State<AppState>,
    Path(entry): Path<String>,
    ctx: Ctx,
    form: FormData,
) -> Response {
    let viewer = match operator(&ctx) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(entry_id) = library::parse_entry_id(&entry) else {
        return not_found();
    };
    let motif = form.get("motif");
    match library::hide(&state.db, Some(&viewer.account), entry_id, motif).await {
        Ok(hidden) => {
            tracing::info!(
                entry = entry_id,
                module = %hidden.module_id,
                mails = hidden.told as u64,
                "library entry hidden"
            );
            state.mailer.wake();
            see_other(&format!("/plateforme/bibliotheque/{entry_id}?ok=masque"))
        }
        Err(LibraryError::Invalid(reason)) => {
            library_entry_response(
                &state,
                &ctx,
                viewer,
                entry_id,
                StatusCode::UNPROCESSABLE_ENTITY,
                alert(&reason),
                motif,
            )
            .await
        }
        Err(LibraryError::NotFound) => not_found(),
        Err(e) => internal_error("hiding a library entry failed", e),
    }
}

/// `POST /plateforme/bibliotheque/{entry}/retablir` (`csrf`).
pub async fn library_unhide(
    State(state): State<AppState>,
    Path(entry): Path<String>,
    ctx: Ctx,
) -> Response {
    let viewer = match operator(&ctx) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(entry_id) = library::parse_entry_id(&entry) else {
        return not_found();
    };
    match library::unhide(&state.db, Some(&viewer.account), entry_id).await {
        Ok(_) => see_other(&format!("/plateforme/bibliotheque/{entry_id}?ok=retabli")),
        Err(LibraryError::NotFound) => not_found(),
        Err(e) => internal_error("unhiding a library entry failed", e),
    }
}

/// `GET /plateforme/bibliotheque/{entry}/{number}/fichier`: a version's file, hidden or
/// withdrawn entries included, as an attachment, never cached.
pub async fn library_file(
    State(state): State<AppState>,
    Path((entry, number)): Path<(String, String)>,
    ctx: Ctx,
) -> Response {
    if let Err(r) = operator(&ctx) {
        return r;
    }
    let (Some(entry_id), Some(number)) = (
        library::parse_entry_id(&entry),
        number.parse::<u32>().ok().filter(|n| *n > 0),
    ) else {
        return not_found();
    };
    let file = match library::operator_file(&state.db, entry_id, number).await {
        Ok(file) => file,
        Err(LibraryError::NotFound) => return not_found(),
        Err(e) => return internal_error("library file lookup failed", e),
    };
    match state.blobs.library_stream(&file.object_key).await {
        Ok(Some(stream)) => file_response(
            Body::from_stream(stream),
            &file.info.name,
            &file.info.content_type,
            file.info.size,
            Disposition::Attachment,
            "private, no-store",
        ),
        Ok(None) => not_found(),
        Err(e) => internal_error("library download failed", e),
    }
}
