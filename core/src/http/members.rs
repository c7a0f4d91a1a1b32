//! « Fiche membre » (admins only): what the structure knows of one member (profession,
//! exercise mode, employer convention, adhesion periods) and the roles they hold in the
//! structure's modules. Every change is written with its audit entry in one transaction.

use std::collections::{BTreeSet, HashMap};

use axum::extract::{Path, Query, State};
use axum::response::Response;
use http::StatusCode;
use maud::{Markup, html};
use serde_json::json;

use super::admin::{Admin, target_member};
use super::form::FormData;
use super::{AppState, internal_error, not_found, see_other};
use crate::audit::{audit_and_commit, audit_in};
use crate::people::{
    self, ADMIN_SOURCE, Adhesion, ExerciseMode, MAX_PROFESSION_CHARS, MemberFacts,
};
use crate::plugins::{Manifest, RoleDef};
use crate::storage::{StorageError, now_secs};
use crate::tenancy::Member;
use crate::web::{Input, alert, csrf_field, field, notice, select};

/// Labels of the module roles each member holds, by account: only roles that an
/// enabled module still declares (members list).
pub(super) async fn role_labels(
    state: &AppState,
    a: &Admin,
) -> Result<HashMap<i64, Vec<String>>, StorageError> {
    let mut conn = state.db.pool().acquire().await?;
    let held = people::all_module_roles(&mut conn, a.member.structure_id()).await?;
    let declared = declared_roles(a);
    let mut labels: HashMap<i64, Vec<String>> = HashMap::new();
    for (account, plugin, role) in held {
        if let Some((_, def)) = declared
            .iter()
            .find(|(m, r)| m.id == plugin && r.id == role)
        {
            labels.entry(account).or_default().push(def.label.clone());
        }
    }
    Ok(labels)
}

/// Roles declared by the structure's enabled modules, with their module.
fn declared_roles(a: &Admin) -> Vec<(&Manifest, &RoleDef)> {
    a.enabled
        .manifests
        .iter()
        .flat_map(|m| m.roles.iter().map(move |r| (m, r)))
        .collect()
}

/// The checkbox value of a module role.
fn role_value(plugin_id: &str, role_id: &str) -> String {
    format!("{plugin_id}:{role_id}")
}

#[derive(serde::Deserialize, Default)]
pub struct Flash {
    ok: Option<String>,
}

fn flash_message(flash: &Flash) -> Markup {
    match flash.ok.as_deref() {
        Some("fiche") => notice("La fiche a été enregistrée."),
        Some("adhesion") => notice("La période d’adhésion a été ajoutée."),
        Some("adhesion-supprimee") => notice("La période d’adhésion a été supprimée."),
        Some("roles") => notice("Les rôles dans les modules ont été enregistrés."),
        _ => Markup::default(),
    }
}

/// What was typed in the form that failed, shown again with its error.
enum Draft<'a> {
    Unchanged,
    Facts {
        profession: &'a str,
        mode: &'a str,
        convention: bool,
    },
    Adhesion {
        start: &'a str,
        end: &'a str,
    },
}

/// Who suggested a profession or entered a period, for people to read.
fn source_label(a: &Admin, source: &str) -> String {
    if source == ADMIN_SOURCE {
        return "Saisie par un administrateur".into();
    }
    let module = source.strip_prefix("module:").unwrap_or(source);
    a.enabled
        .manifests
        .iter()
        .find(|m| m.id == module)
        .map(|m| m.name.clone())
        .unwrap_or_else(|| module.to_string())
}

/// « Proposé par l’annuaire : Infirmier ».
fn suggestion_text(a: &Admin, source: Option<&str>, profession: &str) -> String {
    match source {
        Some("module:annuaire") | None => format!("Proposé par l’annuaire : {profession}"),
        Some(other) => format!(
            "Proposé par le module « {} » : {profession}",
            source_label(a, other)
        ),
    }
}

/// "2026-03-15" → "15/03/2026".
fn french_date(date: &str) -> String {
    date.parse::<jiff::civil::Date>()
        .map(|d| d.strftime("%d/%m/%Y").to_string())
        .unwrap_or_else(|_| date.to_string())
}

fn page_url(a: &Admin, account_id: i64) -> String {
    format!("{}/admin/membres/{account_id}", a.member.base())
}

fn fiche_content(
    a: &Admin,
    target: &Member,
    facts: &MemberFacts,
    held: &BTreeSet<String>,
    draft: &Draft<'_>,
    message: Markup,
) -> Markup {
    let url = page_url(a, target.account_id);
    let csrf = csrf_field(&a.member.csrf);
    let (profession, mode, convention) = match draft {
        Draft::Facts {
            profession,
            mode,
            convention,
        } => (*profession, *mode, *convention),
        _ => (
            facts.admin_profession.as_deref().unwrap_or(""),
            facts.exercise_mode.as_str(),
            facts.employer_convention,
        ),
    };
    let (start, end) = match draft {
        Draft::Adhesion { start, end } => (*start, *end),
        _ => ("", ""),
    };
    let suggestion = facts
        .suggested_profession
        .as_deref()
        .map(|p| suggestion_text(a, facts.suggested_by.as_deref(), p));
    let mut profession_input = Input::new()
        .maxlength(MAX_PROFESSION_CHARS as u32)
        .autocomplete("off");
    if let Some(text) = &suggestion {
        profession_input = profession_input.placeholder(text);
    }
    let modes: Vec<(&str, &str)> = ExerciseMode::ALL
        .iter()
        .map(|m| (m.as_str(), m.label_fr()))
        .collect();
    let today = people::today_in(&a.member.membership.structure.time_zone);
    let declared = declared_roles(a);
    let modules: Vec<&Manifest> = a
        .enabled
        .manifests
        .iter()
        .filter(|m| !m.roles.is_empty())
        .collect();
    html! {
        p { a href={ (a.member.base()) "/admin/" } { "← Retour à la liste des membres" } }
        h2 { "Fiche membre — " (target.display_name) }
        p.muted {
            (target.email)
            @if !target.active {
                " "
                span.badge { "Invitation en attente" }
            }
        }
        (message)
        section.widget {
            h3 { "Profession et mode d’exercice" }
            form method="post" action={ (url) "/fiche" } class="stack" {
                (csrf)
                (field("profession", "Profession", "text", profession, profession_input))
                @if let Some(text) = &suggestion {
                    p.muted { (text) ". Laissez le champ vide pour utiliser cette proposition." }
                }
                (select("exercice", "Mode d’exercice", &modes, mode))
                label.check {
                    input type="checkbox" name="convention" value="1" checked[convention];
                    " Convention signée avec l’employeur (salariés)"
                }
                button type="submit" { "Enregistrer la fiche" }
            }
        }
        section.widget {
            h3 { "Périodes d’adhésion" }
            p {
                @if facts.adherent_on(&today) {
                    span.badge { "Adhésion en cours" }
                } @else {
                    span.badge { "Pas d’adhésion en cours" }
                }
            }
            div.table-scroll {
                table.list {
                    thead {
                        tr { th { "Début" } th { "Fin" } th { "Origine" } th { "Actions" } }
                    }
                    tbody {
                        @for period in &facts.adhesions {
                            tr {
                                td { (french_date(&period.start)) }
                                td {
                                    @if let Some(end) = &period.end {
                                        (french_date(end))
                                    } @else {
                                        "En cours"
                                    }
                                }
                                td { (source_label(a, &period.source)) }
                                td {
                                    form method="post" action={ (url) "/adhesions/" (period.id) "/supprimer" } {
                                        (csrf)
                                        button type="submit" class="small danger" {
                                            "Supprimer"
                                            span.sr { " la période commençant le " (french_date(&period.start)) }
                                        }
                                    }
                                }
                            }
                        }
                        @if facts.adhesions.is_empty() {
                            tr { td colspan="4" class="empty" { "Aucune période d’adhésion enregistrée." } }
                        }
                    }
                }
            }
            h4 { "Ajouter une période" }
            form method="post" action={ (url) "/adhesions" } class="stack" {
                (csrf)
                (field("debut", "Début", "date", start, Input::new().required()))
                (field("fin", "Fin (laissez vide si l’adhésion est en cours)", "date", end, Input::new()))
                button type="submit" { "Ajouter la période" }
            }
        }
        section.widget {
            h3 { "Rôles dans les modules" }
            @if declared.is_empty() {
                p.muted { "Aucun module activé pour la structure ne déclare de rôle." }
            } @else {
                form method="post" action={ (url) "/roles" } class="stack" {
                    (csrf)
                    @for m in &modules {
                        fieldset {
                            legend { (m.name) }
                            @for r in &m.roles {
                                @let value = role_value(&m.id, &r.id);
                                label.check {
                                    input type="checkbox" name="role" value=(value) checked[held.contains(&value)];
                                    span {
                                        strong { (r.label) }
                                        @if !r.description.is_empty() {
                                            " — " span.muted { (r.description) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    button type="submit" { "Enregistrer les rôles" }
                }
            }
        }
    }
}

/// The member's module roles as checkbox values (`plugin:role`).
async fn held_roles(
    conn: &mut sqlx::AnyConnection,
    structure_id: i64,
    account_id: i64,
) -> Result<BTreeSet<String>, StorageError> {
    Ok(people::all_module_roles(conn, structure_id)
        .await?
        .into_iter()
        .filter(|(account, _, _)| *account == account_id)
        .map(|(_, plugin, role)| role_value(&plugin, &role))
        .collect())
}

async fn fiche_response(
    state: &AppState,
    a: &Admin,
    account_id: i64,
    status: StatusCode,
    message: Markup,
    draft: Draft<'_>,
) -> Response {
    let target = match target_member(state, a, account_id).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let structure_id = a.member.structure_id();
    let loaded: Result<Option<(MemberFacts, BTreeSet<String>)>, StorageError> = async {
        let mut conn = state.db.pool().acquire().await?;
        let Some(facts) = people::facts_of_any_member(&mut conn, structure_id, account_id).await?
        else {
            return Ok(None);
        };
        let held = held_roles(&mut conn, structure_id, account_id).await?;
        Ok(Some((facts, held)))
    }
    .await;
    match loaded {
        Ok(Some((facts, held))) => a.page(
            "Fiche membre",
            "",
            status,
            fiche_content(a, &target, &facts, &held, &draft, message),
        ),
        Ok(None) => not_found(),
        Err(e) => internal_error("reading member facts failed", e),
    }
}

/// The fiche again with `message` and the form as it was sent, as a 422: refused.
async fn refused(
    state: &AppState,
    a: &Admin,
    account_id: i64,
    message: Markup,
    draft: Draft<'_>,
) -> Response {
    fiche_response(
        state,
        a,
        account_id,
        StatusCode::UNPROCESSABLE_ENTITY,
        message,
        draft,
    )
    .await
}

/// Back to the member's fiche after a change, with its `ok` notice.
fn back_to_fiche(a: &Admin, account_id: i64, ok: &str) -> Response {
    see_other(&format!("{}?ok={ok}", page_url(a, account_id)))
}

pub async fn page(
    State(state): State<AppState>,
    Path((_, account_id)): Path<(String, i64)>,
    a: Admin,
    Query(flash): Query<Flash>,
) -> Response {
    fiche_response(
        &state,
        &a,
        account_id,
        StatusCode::OK,
        flash_message(&flash),
        Draft::Unchanged,
    )
    .await
}

fn facts_json(facts: &MemberFacts) -> serde_json::Value {
    json!({
        "profession": facts.admin_profession,
        "exercise_mode": facts.exercise_mode.as_str(),
        "employer_convention": facts.employer_convention,
    })
}

fn adhesion_json(adhesion: &Adhesion) -> serde_json::Value {
    json!({"id": adhesion.id, "start": adhesion.start, "end": adhesion.end, "source": adhesion.source})
}

pub async fn save_facts(
    State(state): State<AppState>,
    Path((_, account_id)): Path<(String, i64)>,
    a: Admin,
    form: FormData,
) -> Response {
    let target = match target_member(&state, &a, account_id).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let profession = form.get("profession");
    let convention = form.checked("convention");
    let draft = Draft::Facts {
        profession,
        mode: form.get("exercice"),
        convention,
    };
    let mode = ExerciseMode::parse(form.get("exercice"));
    let error = if mode.is_none() {
        Some("Mode d’exercice inconnu.".to_string())
    } else if profession.chars().count() > MAX_PROFESSION_CHARS {
        Some(format!(
            "La profession ne doit pas dépasser {MAX_PROFESSION_CHARS} caractères."
        ))
    } else if profession.chars().any(char::is_control) {
        Some("La profession contient des caractères non autorisés.".to_string())
    } else {
        None
    };
    if let Some(error) = error {
        return refused(&state, &a, account_id, alert(&error), draft).await;
    }
    let mode = mode.unwrap_or(ExerciseMode::Inconnu);
    let structure_id = a.member.structure_id();
    let saved: Result<bool, StorageError> = async {
        let mut tx = state.db.begin_write().await?;
        let Some(before) = people::facts_of_any_member(&mut tx, structure_id, account_id).await?
        else {
            return Ok(false);
        };
        people::set_facts(
            &mut tx,
            structure_id,
            account_id,
            Some(profession),
            mode,
            convention,
            now_secs(),
        )
        .await?;
        let after = json!({
            "profession": (!profession.is_empty()).then_some(profession),
            "exercise_mode": mode.as_str(),
            "employer_convention": convention,
        });
        let record = a.audit(
            "member.facts",
            &target.email,
            Some(facts_json(&before)),
            Some(after),
        );
        audit_and_commit(tx, record).await?;
        Ok(true)
    }
    .await;
    match saved {
        Ok(true) => back_to_fiche(&a, account_id, "fiche"),
        Ok(false) => not_found(),
        Err(e) => internal_error("saving member facts failed", e),
    }
}

pub async fn add_adhesion(
    State(state): State<AppState>,
    Path((_, account_id)): Path<(String, i64)>,
    a: Admin,
    form: FormData,
) -> Response {
    let target = match target_member(&state, &a, account_id).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (start, end) = (form.get("debut"), form.get("fin"));
    let error = if start.is_empty() {
        Some("La date de début est obligatoire.")
    } else if !people::valid_date(start) {
        Some("La date de début doit être une date valide (AAAA-MM-JJ).")
    } else if !end.is_empty() && !people::valid_date(end) {
        Some("La date de fin doit être une date valide (AAAA-MM-JJ).")
    } else if !end.is_empty() && end < start {
        Some("La date de fin ne peut pas précéder la date de début.")
    } else {
        None
    };
    if let Some(error) = error {
        return refused(
            &state,
            &a,
            account_id,
            alert(error),
            Draft::Adhesion { start, end },
        )
        .await;
    }
    let end = (!end.is_empty()).then_some(end);
    let structure_id = a.member.structure_id();
    let added: Result<(), StorageError> = async {
        let mut tx = state.db.begin_write().await?;
        let id =
            people::add_adhesion(&mut tx, structure_id, account_id, start, end, now_secs()).await?;
        let after = json!({"id": id, "start": start, "end": end, "source": ADMIN_SOURCE});
        audit_and_commit(
            tx,
            a.audit("member.adhesion.add", &target.email, None, Some(after)),
        )
        .await?;
        Ok(())
    }
    .await;
    match added {
        Ok(()) => back_to_fiche(&a, account_id, "adhesion"),
        Err(e) => internal_error("adding an adhesion failed", e),
    }
}

pub async fn remove_adhesion(
    State(state): State<AppState>,
    Path((_, account_id, adhesion_id)): Path<(String, i64, i64)>,
    a: Admin,
) -> Response {
    let target = match target_member(&state, &a, account_id).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let structure_id = a.member.structure_id();
    let removed: Result<bool, StorageError> = async {
        let mut tx = state.db.begin_write().await?;
        // The period must be this member's, in this structure.
        let Some(period) = people::facts_of_any_member(&mut tx, structure_id, account_id)
            .await?
            .and_then(|f| f.adhesions.into_iter().find(|p| p.id == adhesion_id))
        else {
            return Ok(false);
        };
        if !people::remove_adhesion(&mut tx, structure_id, adhesion_id).await? {
            return Ok(false);
        }
        audit_and_commit(
            tx,
            a.audit(
                "member.adhesion.remove",
                &target.email,
                Some(adhesion_json(&period)),
                None,
            ),
        )
        .await?;
        Ok(true)
    }
    .await;
    match removed {
        Ok(true) => back_to_fiche(&a, account_id, "adhesion-supprimee"),
        Ok(false) => not_found(),
        Err(e) => internal_error("removing an adhesion failed", e),
    }
}

pub async fn save_roles(
    State(state): State<AppState>,
    Path((_, account_id)): Path<(String, i64)>,
    a: Admin,
    form: FormData,
) -> Response {
    let target = match target_member(&state, &a, account_id).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let declared: Vec<(String, String)> = declared_roles(&a)
        .into_iter()
        .map(|(m, r)| (m.id.clone(), r.id.clone()))
        .collect();
    let declared_values: BTreeSet<String> =
        declared.iter().map(|(p, r)| role_value(p, r)).collect();
    let checked: BTreeSet<String> = form.all("role").into_iter().map(str::to_string).collect();
    if let Some(unknown) = checked.iter().find(|v| !declared_values.contains(*v)) {
        return refused(
            &state,
            &a,
            account_id,
            alert(&format!(
                "Rôle inconnu pour les modules activés de la structure : {unknown}"
            )),
            Draft::Unchanged,
        )
        .await;
    }
    let structure_id = a.member.structure_id();
    let actor = a.member.account().id;
    let saved: Result<(), StorageError> = async {
        let mut tx = state.db.begin_write().await?;
        let held: BTreeSet<String> = held_roles(&mut tx, structure_id, account_id)
            .await?
            .into_iter()
            .filter(|v| declared_values.contains(v))
            .collect();
        let now = now_secs();
        let mut changed = false;
        for (plugin, role) in &declared {
            let granted = checked.contains(&role_value(plugin, role));
            changed |= people::set_module_role(
                &mut tx,
                structure_id,
                account_id,
                plugin,
                role,
                granted,
                actor,
                now,
            )
            .await?;
        }
        if changed {
            let before: Vec<&String> = held.iter().collect();
            let after: Vec<&String> = checked.iter().collect();
            audit_in(
                &mut tx,
                a.audit(
                    "member.module-role",
                    &target.email,
                    Some(json!({ "roles": before })),
                    Some(json!({ "roles": after })),
                ),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
    .await;
    match saved {
        Ok(()) => back_to_fiche(&a, account_id, "roles"),
        Err(e) => internal_error("saving module roles failed", e),
    }
}
