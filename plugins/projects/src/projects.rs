//! The projet de santé: its missions, the list of projects, a project's page, creating
//! and editing a project, its actions.

use std::collections::HashMap;

use maillage_sdk::form::Form;
use maillage_sdk::groups::GroupRole;
use maillage_sdk::html::{Markup, alert, csrf_field, href, html};
use maillage_sdk::records::{self, Query, StoreError};
use maillage_sdk::{Response, audit, fr};
use serde_json::json;

use crate::model::{
    self, ACTION_STATUSES, ACTIONS, Action, DEFAULT_MISSIONS, Loaded, Lookup, MAX_DESCRIPTION,
    MAX_MISSION_LABEL, MAX_NUMERO, MAX_TEXT, MAX_TITLE, MISSIONS, Mission, PROJECTS, Project,
    TASKS, TODO, Viewer,
};
use crate::ui::{self, Cell, Export, FileKind, PageResult};
use crate::{tasks, timelog};

pub const PROJECT_SAVED: &str = "project.saved";
pub const MISSIONS_SAVED: &str = "missions.saved";

/// The list's filters (`GET /`, `/mes-projets`, `/export.csv`, `/export.xlsx`).
#[derive(Debug, Clone, PartialEq)]
pub struct Filters {
    pub mine: bool,
    /// "en-cours", "archives", "tous".
    pub state: String,
    pub mission: String,
    pub q: String,
}

impl Filters {
    pub fn parse(query: &str, mine_path: bool) -> Result<Filters, String> {
        let vue = ui::param(query, "vue");
        let mine = match vue.as_str() {
            "" => mine_path,
            "tous" => false,
            "mes-projets" => true,
            _ => {
                return Err(
                    "Vue inconnue : choisissez « Tous les projets » ou « Mes projets ».".into(),
                );
            }
        };
        let state = match ui::param(query, "etat").as_str() {
            "" | "en-cours" => "en-cours".to_string(),
            "archives" => "archives".into(),
            "tous" => "tous".into(),
            _ => {
                return Err(
                    "État inconnu : choisissez « En cours », « Archivés » ou « Tous ».".into(),
                );
            }
        };
        let mission = ui::param(query, "mission");
        if !mission.is_empty() && !DEFAULT_MISSIONS.iter().any(|(c, _)| *c == mission) {
            return Err("Mission inconnue.".into());
        }
        Ok(Filters {
            mine,
            state,
            mission,
            q: ui::param(query, "q"),
        })
    }

    fn query_string(&self) -> String {
        let mut parts = vec![
            format!("vue={}", if self.mine { "mes-projets" } else { "tous" }),
            format!("etat={}", self.state),
        ];
        if !self.mission.is_empty() {
            parts.push(format!("mission={}", self.mission));
        }
        if !self.q.is_empty() {
            parts.push(format!("q={}", maillage_sdk::form::encode(&self.q)));
        }
        parts.join("&")
    }
}

/// One project of the list, as the viewer sees it.
pub struct Row {
    pub project: Project,
    pub open: bool,
    pub archived: bool,
    pub role: Option<GroupRole>,
    pub referents: Vec<String>,
    pub members: usize,
    pub open_tasks: i64,
    pub minutes: i64,
}

fn counts_by_project(groups: Vec<records::Group>) -> HashMap<String, (i64, i64)> {
    groups
        .into_iter()
        .filter_map(|g| Some((g.key.as_str()?.to_string(), (g.count, g.sum))))
        .collect()
}

/// The projects the viewer may read, with the filters, in mission and numéro order.
pub fn rows(viewer: &Viewer, filters: &Filters) -> Result<Vec<Row>, StoreError> {
    let projects: Vec<Project> = if filters.q.is_empty() {
        model::all_projects()?
    } else {
        Query::new()
            .search(&filters.q)
            .sort("mission,numero,name")
            .fetch_all(PROJECTS, model::PAGE_MAX)?
    };
    let open_tasks = counts_by_project(
        Query::new()
            .filter("status = {:s}")
            .param("s", TODO)
            .aggregate(TASKS, Some("project"), None)?,
    );
    let minutes = counts_by_project(Query::new().aggregate(
        model::ENTRIES,
        Some("project"),
        Some("minutes"),
    )?);
    let mut out = Vec::new();
    for project in projects {
        let Some(group) = viewer.group(&project.group_id) else {
            continue;
        };
        if filters.mine && group.my_role.is_none() {
            continue;
        }
        match filters.state.as_str() {
            "en-cours" if group.archived => continue,
            "archives" if !group.archived => continue,
            _ => {}
        }
        if !filters.mission.is_empty() && project.mission != filters.mission {
            continue;
        }
        let members = maillage_sdk::groups::members(&group.id).unwrap_or_default();
        out.push(Row {
            open: group.open,
            archived: group.archived,
            role: group.my_role,
            referents: members
                .iter()
                .filter(|m| m.role == GroupRole::Referent)
                .map(|m| m.display_name.clone())
                .collect(),
            members: members.len(),
            open_tasks: open_tasks.get(&project.id).map(|c| c.0).unwrap_or(0),
            minutes: minutes.get(&project.id).map(|c| c.1).unwrap_or(0),
            project: Project {
                name: group.name.clone(),
                ..project
            },
        });
    }
    out.sort_by(|a, b| {
        (
            a.project.mission.as_str(),
            numero_key(a.project.numero()),
            a.project.name.as_str(),
        )
            .cmp(&(
                b.project.mission.as_str(),
                numero_key(b.project.numero()),
                b.project.name.as_str(),
            ))
    });
    Ok(out)
}

/// Numéros in natural order: "1.2" before "1.10".
fn numero_key(numero: &str) -> Vec<(u64, String)> {
    numero
        .split(['.', ' ', '-', '/'])
        .map(|part| (part.parse::<u64>().unwrap_or(u64::MAX), part.to_string()))
        .collect()
}

/// Coordinators always; members unless the coordinators reserved it (`/reglages`).
fn may_create(viewer: &Viewer) -> Result<bool, StoreError> {
    Ok(viewer.user.is_some() && crate::settings::creation_policy()?.permits(viewer.coordinator))
}

/// `GET /` and `GET /mes-projets`.
pub fn list(query: &str, mine_path: bool) -> PageResult {
    let filters = match Filters::parse(query, mine_path) {
        Ok(f) => f,
        Err(e) => return Ok(ui::refused(422, &e)),
    };
    let viewer = Viewer::current();
    let rows = rows(&viewer, &filters)?;
    let missions = model::missions()?;
    // « Mes projets »: the messages each project's thread holds that I have not read.
    let mut unread: HashMap<String, i64> = HashMap::new();
    if let Some(me) = viewer.id().filter(|_| filters.mine) {
        for row in rows.iter().filter(|r| r.role.is_some()) {
            let count = crate::discussion::unread(&row.project, me)?;
            unread.insert(row.project.group_id.clone(), count);
        }
    }
    let title = if filters.mine {
        "Mes projets"
    } else {
        "Projets"
    };
    let can_create = may_create(&viewer)?;
    let body = html! {
        (ui::head())
        div class="toolbar" {
            h1 { (title) }
            @if can_create {
                a class="button" href=(href("/nouveau")) { "Nouveau projet" }
            }
            (ui::export_links("/export", &format!("?{}", filters.query_string())))
            @if filters.mine && viewer.user.is_some() { a class="button" href=(href("/preferences")) { "Mes notifications" } }
            @if viewer.coordinator { a class="button" href=(href("/reglages")) { "Réglages" } }
        }
        (ui::notice(query))
        form class="filtres" method="get" action=(href("/")) {
            label for="vue" { "Afficher" }
            select id="vue" name="vue" {
                option value="tous" selected[!filters.mine] { "Tous les projets" }
                option value="mes-projets" selected[filters.mine] { "Mes projets" }
            }
            label for="etat" { "État" }
            select id="etat" name="etat" {
                option value="en-cours" selected[filters.state == "en-cours"] { "En cours" }
                option value="archives" selected[filters.state == "archives"] { "Archivés" }
                option value="tous" selected[filters.state == "tous"] { "Tous" }
            }
            label for="mission" { "Mission" }
            select id="mission" name="mission" {
                option value="" { "Toutes" }
                @for m in &missions {
                    option value=(m.code) selected[filters.mission == m.code] { (m.title()) }
                }
            }
            label for="q" { "Rechercher" }
            input id="q" type="search" name="q" value=(filters.q);
            button type="submit" { "Filtrer" }
        }
        @if rows.is_empty() {
            p class="empty" { "Aucun projet ne correspond." }
        }
        @for mission in &missions {
            @let of_mission: Vec<&Row> = rows.iter().filter(|r| r.project.mission == mission.code).collect();
            @if !of_mission.is_empty() {
                section class="mission" data-mission=(mission.code) {
                    h2 { (mission.title()) }
                    ul class="projets cards" {
                        @for row in of_mission {
                            (project_item(row, unread.get(&row.project.group_id).copied()))
                        }
                    }
                }
            }
        }
    };
    Ok(Response::page(title, body))
}

/// One project of the list; with `unread`, its thread's unread count (« Mes projets »).
fn project_item(row: &Row, unread: Option<i64>) -> Markup {
    let p = &row.project;
    html! {
        li class="projet" data-groupe=(p.group_id) data-etat=(if row.archived { "archive" } else { "en-cours" }) {
            h3 {
                @if !p.numero().is_empty() {
                    span class="numero" { (p.numero()) } " "
                }
                a href=(href(&p.path())) { (p.name) }
            }
            p class="badges" {
                span class="badge" { (if row.open { "Ouvert" } else { "Fermé" }) }
                @if row.archived {
                    " " span class="badge archive" { "Archivé" }
                }
                @if let Some(role) = row.role {
                    " " span class="badge role" data-role=(ui::role_code(role)) { (ui::role_label(role)) }
                }
            }
            @if !row.referents.is_empty() {
                p class="muted referents" { "Référents : " (row.referents.join(", ")) }
            }
            p class="muted" {
                span class="taches-ouvertes" data-count=(row.open_tasks) {
                    (row.open_tasks) @if row.open_tasks == 1 { " tâche ouverte" } @else { " tâches ouvertes" }
                }
                " · "
                span class="temps" data-minutes=(row.minutes) { (fr::hours(row.minutes)) " h passées" }
                @if let Some(count) = unread {
                    " · "
                    (crate::discussion::unread_badge(count))
                }
            }
        }
    }
}

/// `GET /export.csv`, `GET /export.xlsx`: the list as on screen, in its order.
pub fn export(query: &str, mine_path: bool, kind: FileKind) -> PageResult {
    let filters = match Filters::parse(query, mine_path) {
        Ok(f) => f,
        Err(e) => return Ok(ui::refused(422, &e)),
    };
    let viewer = Viewer::current();
    let rows = rows(&viewer, &filters)?;
    let missions = model::missions()?;
    let mut export = Export::new(
        "Projets",
        "projets",
        &[
            "Numéro",
            "Projet",
            "Mission",
            "État",
            "Visibilité",
            "Référents",
            "Membres",
            "Date de début",
            "Tâches ouvertes",
            "Temps passé (h)",
        ],
    );
    for row in &rows {
        let mission = missions
            .iter()
            .find(|m| m.code == row.project.mission)
            .map(Mission::title)
            .unwrap_or_default();
        export.row(vec![
            Cell::text(row.project.numero()),
            Cell::text(row.project.name.as_str()),
            Cell::text(mission),
            Cell::text(if row.archived { "Archivé" } else { "En cours" }),
            Cell::text(if row.open { "Ouvert" } else { "Fermé" }),
            Cell::text(row.referents.join(", ")),
            Cell::Count(row.members as i64),
            Cell::Date(row.project.start_date.clone()),
            Cell::Count(row.open_tasks),
            Cell::Hours(row.minutes),
        ]);
    }
    Ok(export.respond(kind))
}

/// `GET /projet-de-sante`.
pub fn health_project(query: &str) -> PageResult {
    let viewer = Viewer::current();
    let filters = Filters {
        mine: false,
        state: "tous".into(),
        mission: String::new(),
        q: String::new(),
    };
    let rows = rows(&viewer, &filters)?;
    let missions = model::missions()?;
    let actions: Vec<Action> = Query::new()
        .sort("position,numero,title")
        .fetch_all(ACTIONS, model::PAGE_MAX)?;
    let ordered: Vec<&Mission> = missions
        .iter()
        .filter(|m| m.active)
        .chain(missions.iter().filter(|m| !m.active))
        .collect();
    let body = html! {
        (ui::head())
        div class="toolbar" {
            h1 { "Projet de santé" }
            @if viewer.coordinator {
                a class="button" href=(href("/missions")) { "Modifier les missions" }
            }
        }
        (ui::notice(query))
        @for mission in ordered {
            @let of_mission: Vec<&Row> = rows.iter().filter(|r| r.project.mission == mission.code).collect();
            @if mission.active || !of_mission.is_empty() {
                section class="mission" data-mission=(mission.code) {
                    h2 {
                        (mission.title())
                        @if !mission.active { " (mission non retenue)" }
                    }
                    @if !mission.description.is_empty() {
                        p { (ui::lines(&mission.description)) }
                    }
                    @if of_mission.is_empty() {
                        p class="empty" { "Aucun projet pour cette mission." }
                    }
                    ul class="projets" {
                        @for row in of_mission {
                            li class="projet" data-groupe=(row.project.group_id) {
                                a href=(href(&row.project.path())) { (row.project.title()) }
                                @if row.archived { " " span class="badge archive" { "Archivé" } }
                                @let own: Vec<&Action> = actions.iter().filter(|a| a.project == row.project.id).collect();
                                @if !own.is_empty() {
                                    ul class="actions" {
                                        @for a in own {
                                            li data-action=(a.id) data-statut=(a.status) {
                                                @if !a.numero.is_empty() { (a.numero) " " }
                                                (a.title) " — " (model::action_status_label(&a.status))
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(Response::page("Projet de santé", body))
}

/// `GET /missions` (coordinators).
pub fn missions_page(query: &str) -> PageResult {
    let viewer = Viewer::current();
    if !viewer.coordinator {
        return ui::forbidden("Seuls les coordinateurs modifient les missions du projet de santé.");
    }
    let missions = model::missions()?;
    Ok(missions_form(&missions, None, query))
}

fn missions_form(missions: &[Mission], error: Option<&str>, query: &str) -> Response {
    let body = html! {
        (ui::head())
        h1 { "Missions du projet de santé" }
        (ui::notice(query))
        (alert(error))
        p class="muted" { "Les missions 1 à 4 sont obligatoires ; les missions 5 et 6 sont choisies par la structure." }
        form class="missions stack" method="post" action=(href("/missions")) {
            (csrf_field())
            @for m in missions {
                fieldset {
                    legend { "Mission " (m.code) }
                    label for={ "label-" (m.code) } { "Intitulé" }
                    input id={ "label-" (m.code) } name={ "label-" (m.code) } required maxlength=(MAX_MISSION_LABEL) value=(m.label);
                    label for={ "description-" (m.code) } { "Description" }
                    textarea id={ "description-" (m.code) } name={ "description-" (m.code) } rows="3" maxlength=(MAX_DESCRIPTION) { (m.description) }
                    @if !model::mandatory(&m.code) {
                        input type="hidden" name={ "active-" (m.code) } value="0";
                        label {
                            input type="checkbox" name={ "active-" (m.code) } value="1" checked[m.active];
                            " Mission retenue par la structure"
                        }
                    }
                }
            }
            button type="submit" { "Enregistrer" }
        }
    };
    let response = Response::page("Missions du projet de santé", body);
    if error.is_some() {
        response.with_status(422)
    } else {
        response
    }
}

/// `POST /missions`.
pub fn save_missions(form: &Form) -> PageResult {
    let viewer = Viewer::current();
    if !viewer.coordinator {
        return ui::forbidden("Seuls les coordinateurs modifient les missions du projet de santé.");
    }
    let mut typed: Vec<Mission> = Vec::new();
    for (code, default) in DEFAULT_MISSIONS {
        let label = form.get(&format!("label-{code}"));
        let description = form.get(&format!("description-{code}"));
        // The checkbox comes after the hidden "0": the last value wins.
        let active_values = form.all(&format!("active-{code}"));
        let active = match active_values.last().map(String::as_str) {
            None => true,
            Some("1") => true,
            Some(_) => false,
        };
        typed.push(Mission {
            code: code.into(),
            label: if label.is_empty()
                && !form
                    .fields
                    .iter()
                    .any(|(k, _)| k == &format!("label-{code}"))
            {
                default.into()
            } else {
                label
            },
            description,
            active,
        });
    }
    let error = if typed.iter().any(|m| model::mandatory(&m.code) && !m.active) {
        Some("Les missions 1 à 4 sont obligatoires.".to_string())
    } else if let Some(m) = typed.iter().find(|m| m.label.is_empty()) {
        Some(format!("L’intitulé de la mission {} est vide.", m.code))
    } else if let Some(m) = typed
        .iter()
        .find(|m| !ui::fits(&m.label, MAX_MISSION_LABEL))
    {
        Some(format!(
            "L’intitulé de la mission {} dépasse {MAX_MISSION_LABEL} caractères.",
            m.code
        ))
    } else {
        typed
            .iter()
            .find(|m| !ui::fits(&m.description, MAX_DESCRIPTION))
            .map(|m| format!("La description de la mission {} est trop longue.", m.code))
    };
    if let Some(error) = error {
        return Ok(missions_form(&typed, Some(&error), ""));
    }
    // Deactivating a mission that current projects still belong to.
    let projects = model::all_projects()?;
    for m in typed.iter().filter(|m| !m.active) {
        let current = projects
            .iter()
            .filter(|p| p.mission == m.code)
            .filter(|p| viewer.group(&p.group_id).is_some_and(|g| !g.archived))
            .count();
        if current > 0 {
            return Ok(ui::refused(
                409,
                &format!(
                    "{current} projet(s) relèvent encore de la mission {}.",
                    m.code
                ),
            ));
        }
    }
    for m in &typed {
        records::upsert::<_, serde_json::Value>(
            MISSIONS,
            &["code"],
            &json!({
                "code": m.code,
                "label": m.label,
                "description": m.description,
                "active": m.active,
            }),
        )?;
    }
    let payload = json!({
        "missions": typed.iter().map(|m| json!({"code": m.code, "label": m.label, "active": m.active})).collect::<Vec<_>>(),
        "at": maillage_sdk::time::now_seconds(),
    });
    if let Err(e) = maillage_sdk::publish(MISSIONS_SAVED, &payload) {
        maillage_sdk::log::warn(&format!("missions.saved not published: {e}"));
    }
    if let Err(e) = audit::write("mission.modifier", "missions", &payload) {
        maillage_sdk::log::warn(&format!("audit failed: {e}"));
    }
    Ok(Response::see_other("/missions?ok=missions"))
}

/// What the project form carries.
#[derive(Debug, Clone, Default)]
pub struct ProjectInput {
    pub group: String,
    pub numero: String,
    pub mission: String,
    pub description: String,
    pub objectives: String,
    pub start: String,
    pub end: String,
    pub coordinator: String,
    /// A new group's name (`nom`), when the project does not take an existing group.
    pub new_name: String,
    /// A new group's visibility (`visibilite` = `ouvert` | `ferme`).
    pub open: bool,
}

impl ProjectInput {
    fn from_form(form: &Form) -> ProjectInput {
        ProjectInput {
            group: form.get("groupe"),
            numero: form.get("numero"),
            mission: form.get("mission"),
            description: form.get("description"),
            objectives: form.get("objectifs"),
            start: form.get("date_debut"),
            end: form.get("date_fin"),
            coordinator: form.get("coordinateur"),
            new_name: form.get("nom").trim().to_string(),
            open: form.get("visibilite") != "ferme",
        }
    }

    fn from_project(p: &Project) -> ProjectInput {
        ProjectInput {
            group: p.group_id.clone(),
            numero: p.numero().to_string(),
            mission: p.mission.clone(),
            description: p.description.clone(),
            objectives: p.objectives.clone(),
            start: p.start_date.clone(),
            end: p.end_date.clone().unwrap_or_default(),
            coordinator: p.coordinator.clone().unwrap_or_default(),
            new_name: String::new(),
            open: true,
        }
    }
}

fn numero_ok(numero: &str) -> bool {
    ui::fits(numero, MAX_NUMERO)
        && numero
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | ' ' | '-'))
}

/// The checked record fields, or the French reason.
fn check(
    input: &ProjectInput,
    missions: &[Mission],
    own_id: Option<&str>,
) -> Result<serde_json::Value, String> {
    if !numero_ok(&input.numero) {
        return Err(format!(
            "Le numéro fait au plus {MAX_NUMERO} caractères : lettres, chiffres, points, tirets."
        ));
    }
    let mission = missions
        .iter()
        .find(|m| m.code == input.mission && m.active)
        .ok_or("Choisissez une mission du projet de santé.")?;
    if !ui::fits(&input.description, MAX_TEXT) || !ui::fits(&input.objectives, MAX_TEXT) {
        return Err(format!(
            "La description et les objectifs font au plus {MAX_TEXT} caractères."
        ));
    }
    let start = match ui::optional_date(&input.start) {
        Ok(Some(d)) => d,
        Ok(None) => ui::today(),
        Err(_) => return Err("La date de début est invalide.".into()),
    };
    let end =
        ui::optional_date(&input.end).map_err(|_| "La date de fin est invalide.".to_string())?;
    if end.as_deref().is_some_and(|e| e < start.as_str()) {
        return Err("La date de fin précède la date de début.".into());
    }
    let coordinator = if input.coordinator.is_empty() {
        None
    } else {
        let member = maillage_sdk::members()
            .into_iter()
            .find(|m| m.user_id == input.coordinator)
            .ok_or("Le coordinateur choisi ne fait pas partie de la structure.")?;
        Some((member.user_id, member.display_name))
    };
    if !input.numero.is_empty() {
        let taken = Query::new()
            .filter("numero = {:n}")
            .param("n", &input.numero)
            .first::<Project>(PROJECTS)
            .map_err(|_| "Le service est momentanément indisponible.".to_string())?;
        if let Some(other) = taken.filter(|p| Some(p.id.as_str()) != own_id) {
            return Err(format!(
                "Ce numéro est déjà celui du projet « {} ».",
                other.name
            ));
        }
    }
    Ok(json!({
        "numero": if input.numero.is_empty() { None } else { Some(&input.numero) },
        "mission": mission.code,
        "description": input.description,
        "objectives": input.objectives,
        "start_date": start,
        "end_date": end,
        "coordinator": coordinator.as_ref().map(|c| c.0.clone()),
        "coordinator_name": coordinator.map(|c| c.1).unwrap_or_default(),
    }))
}

/// The groups a coordinator may bind to a new project: visible, not bound yet.
fn unbound_groups(viewer: &Viewer) -> Result<Vec<maillage_sdk::groups::Group>, StoreError> {
    let bound: Vec<String> = model::all_projects()?
        .into_iter()
        .map(|p| p.group_id)
        .collect();
    Ok(viewer
        .groups
        .iter()
        .filter(|g| !g.archived && !bound.contains(&g.id))
        .cloned()
        .collect())
}

const ONLY_COORDINATORS: &str = "La création de projets est réservée aux coordinateurs.";

/// `GET /nouveau`.
pub fn new_page(query: &str) -> PageResult {
    let viewer = Viewer::current();
    if !may_create(&viewer)? {
        return ui::forbidden(ONLY_COORDINATORS);
    }
    let input = ProjectInput {
        group: ui::param(query, "groupe"),
        start: ui::today(),
        coordinator: viewer.id().unwrap_or_default().to_string(),
        open: true,
        ..ProjectInput::default()
    };
    project_form(&viewer, None, &input, None)
}

fn project_form(
    viewer: &Viewer,
    editing: Option<&Loaded>,
    input: &ProjectInput,
    error: Option<&str>,
) -> PageResult {
    let missions = model::missions()?;
    // Coordinators may also give a project to a group that exists without one.
    let groups = if editing.is_none() && viewer.coordinator {
        unbound_groups(viewer)?
    } else {
        Vec::new()
    };
    let members = maillage_sdk::members();
    let (title, action) = match editing {
        Some(l) => (
            "Modifier le projet".to_string(),
            format!("{}/modifier", l.project.path()),
        ),
        None => ("Nouveau projet".to_string(), "/nouveau".to_string()),
    };
    let body = html! {
        (ui::head())
        h1 { (title) }
        (alert(error))
        form class="projet stack" method="post" action=(href(&action)) {
            (csrf_field())
            @if editing.is_none() {
                fieldset class="groupe" {
                    legend { "Groupe de travail du projet" }
                    label for="nom" { "Nom du projet (un nouveau groupe de travail)" }
                    input id="nom" name="nom" maxlength="120" value=(input.new_name);
                    p class="muted" { "Vous en serez le premier référent." }
                    label for="visibilite" { "Visibilité" }
                    select id="visibilite" name="visibilite" {
                        option value="ouvert" selected[input.open] { "Ouvert : tous les membres de la structure le lisent et peuvent demander à le rejoindre" }
                        option value="ferme" selected[!input.open] { "Fermé : réservé à ses membres" }
                    }
                    @if !groups.is_empty() {
                        label for="groupe" { "Ou un groupe de travail existant, sans projet" }
                        select id="groupe" name="groupe" {
                            option value="" { "Aucun : créer le groupe ci-dessus" }
                            @for g in &groups {
                                option value=(g.id) selected[g.id == input.group] { (g.name) }
                            }
                        }
                    }
                }
            }
            label for="numero" { "Numéro (facultatif, par exemple 1.2)" }
            input id="numero" name="numero" maxlength=(MAX_NUMERO) value=(input.numero);
            label for="mission" { "Mission" }
            select id="mission" name="mission" required {
                @for m in missions.iter().filter(|m| m.active) {
                    option value=(m.code) selected[m.code == input.mission] { (m.title()) }
                }
            }
            label for="description" { "Description" }
            textarea id="description" name="description" rows="5" maxlength=(MAX_TEXT) { (input.description) }
            label for="objectifs" { "Objectifs (un par ligne)" }
            textarea id="objectifs" name="objectifs" rows="4" maxlength=(MAX_TEXT) { (input.objectives) }
            label for="date_debut" { "Date de début" }
            input id="date_debut" type="date" name="date_debut" value=(input.start);
            label for="date_fin" { "Date de fin (facultative)" }
            input id="date_fin" type="date" name="date_fin" value=(input.end);
            label for="coordinateur" { "Coordinateur ou coordinatrice du projet" }
            select id="coordinateur" name="coordinateur" {
                option value="" { "Aucun" }
                @for m in &members {
                    option value=(m.user_id) selected[m.user_id == input.coordinator] { (m.display_name) }
                }
            }
            button type="submit" { "Enregistrer" }
        }
    };
    let response = Response::page(&title, body);
    Ok(if error.is_some() {
        response.with_status(422)
    } else {
        response
    })
}

fn publish_saved(project: &Project, group_name: &str) {
    let payload = json!({
        "project": project.id,
        "group_id": project.group_id,
        "group_name": group_name,
        "numero": project.numero(),
        "mission": project.mission,
        "start_date": project.start_date,
        "revision": project.revision,
    });
    if let Err(e) = maillage_sdk::publish(PROJECT_SAVED, &payload) {
        maillage_sdk::log::warn(&format!("project.saved not published: {e}"));
    }
}

/// `POST /nouveau`.
pub fn create(form: &Form) -> PageResult {
    let viewer = Viewer::current();
    if !may_create(&viewer)? {
        return ui::forbidden(ONLY_COORDINATORS);
    }
    let input = ProjectInput::from_form(form);
    let existing = if input.group.is_empty() {
        None
    } else {
        // An existing group: coordinators only, one that has no project yet.
        let Some(group) = viewer
            .group(&input.group)
            .filter(|_| viewer.coordinator && records::valid_ref(&input.group))
            .cloned()
        else {
            return project_form(
                &viewer,
                None,
                &input,
                Some("Choisissez un groupe de travail."),
            );
        };
        if model::project_of_group(&group.id)?.is_some() {
            return Ok(ui::refused(409, "Ce groupe de travail a déjà son projet."));
        }
        Some(group)
    };
    if existing.is_none() && (input.new_name.is_empty() || !ui::fits(&input.new_name, 120)) {
        return project_form(
            &viewer,
            None,
            &input,
            Some("Donnez un nom au projet (120 caractères au plus)."),
        );
    }
    let missions = model::missions()?;
    let mut fields = match check(&input, &missions, None) {
        Ok(f) => f,
        Err(e) => return project_form(&viewer, None, &input, Some(&e)),
    };
    // Checked first, created last: a refused form creates no group.
    let group = match existing {
        Some(group) => group,
        None => {
            match maillage_sdk::group_admin::create(&input.new_name, &input.description, input.open)
            {
                Ok(group) => group,
                Err(e) => {
                    let reason = maillage_sdk::group_admin::french(&e);
                    return project_form(&viewer, None, &input, Some(&reason));
                }
            }
        }
    };
    fields["group_id"] = json!(group.id);
    fields["name"] = json!(group.name);
    fields["created_by"] = json!(viewer.id());
    fields["created_by_name"] = json!(viewer.name());
    fields["revision"] = json!(1);
    let project: Project = records::insert(PROJECTS, &fields)?;
    publish_saved(&project, &group.name);
    let _ = audit::write(
        "projet.creer",
        &project.title(),
        &json!({ "group_id": group.id }),
    );
    Ok(Response::see_other(&format!("{}?ok=cree", project.path())))
}

/// The project a route names, or the answer when there is none for the viewer: 404, or
/// for a coordinator a group with no project yet, the creation form.
pub fn loaded(group_id: &str) -> Result<Result<Loaded, Response>, StoreError> {
    let viewer = Viewer::current();
    Ok(match model::load(group_id, &viewer)? {
        Lookup::Found(l) => Ok(*l),
        Lookup::Unbound if viewer.coordinator => {
            Err(Response::see_other(&format!("/nouveau?groupe={group_id}")))
        }
        _ => Err(Response::not_found()),
    })
}

/// `GET /p/{g}`.
pub fn page(group_id: &str, query: &str) -> PageResult {
    let l = match loaded(group_id)? {
        Ok(l) => l,
        Err(r) => return Ok(r),
    };
    let p = &l.project;
    let missions = model::missions()?;
    let mission = missions.iter().find(|m| m.code == p.mission);
    let actions = model::actions_of(p)?;
    let members = l.members();
    let open_by_action = counts_by_project(
        Query::new()
            .filter("project = {:p} && status = {:s}")
            .param("p", &p.id)
            .param("s", TODO)
            .aggregate(TASKS, Some("action"), None)?,
    );
    let discussion = match crate::discussion::section(&l, query)? {
        Ok(discussion) => discussion,
        Err(refused) => return Ok(refused),
    };
    let members_section = crate::membership::section(&l, &members)?;
    let meetings_section = crate::meetings::section(&l)?;
    let body = html! {
        (ui::head())
        header class="projet" {
            @if !p.numero().is_empty() {
                span class="numero" { (p.numero()) }
            }
            h1 { (p.name) }
            p class="badges" {
                @if let Some(m) = mission {
                    a class="mission" data-mission=(m.code) href=(href(&format!("/?mission={}", m.code))) { (m.title()) }
                    " "
                }
                span class="badge" { (if l.group.open { "Ouvert" } else { "Fermé" }) }
                " "
                span class="badge" { (if l.archived() { "Archivé" } else { "En cours" }) }
                @if let Some(role) = l.role {
                    " " span class="badge role" data-role=(ui::role_code(role)) { (ui::role_label(role)) }
                }
            }
            p class="muted" {
                "Date de début : " (fr::date_short(&p.start_date))
                @if let Some(end) = &p.end_date { " · Date de fin : " (fr::date_short(end)) }
                @if !p.coordinator_name.is_empty() { " · Coordination : " (p.coordinator_name) }
            }
            @if l.manages() {
                p class="actions-projet" {
                    a class="button" href=(href(&format!("{}/modifier", p.path()))) { "Modifier" }
                    " "
                    @if !l.archived() {
                        a class="button ecrire" href=(href(&format!("{}/ecrire", p.path()))) { "Écrire au groupe" }
                        " "
                    }
                    (crate::membership::archive_button(&l))
                }
            }
        }
        (ui::notice(query))
        @if l.archived() {
            p class="notice archive" { (ui::ARCHIVED) }
        }
        (crate::membership::join_block(&l))
        section id="description" {
            h2 { "Description" }
            @if p.description.is_empty() { p class="empty" { "Pas encore de description." } }
            @else { p { (ui::lines(&p.description)) } }
        }
        section id="objectifs" {
            h2 { "Objectifs" }
            @let objectives: Vec<&str> = p.objectives.lines().map(str::trim).filter(|o| !o.is_empty()).collect();
            @if objectives.is_empty() { p class="empty" { "Pas encore d’objectifs." } }
            @else { ul { @for o in objectives { li { (o) } } } }
        }
        section id="actions" {
            h2 { "Actions" }
            @if actions.is_empty() { p class="empty" { "Aucune action pour le moment." } }
            @else {
                table class="actions" {
                    thead { tr { th { "N°" } th { "Action" } th { "Année" } th { "Statut" } th { "Tâches ouvertes" } @if l.manages() { th {} } } }
                    tbody {
                        @for a in &actions {
                            tr data-action=(a.id) data-statut=(a.status) {
                                td { (a.numero) }
                                td { (a.title) @if !a.description.is_empty() { br; span class="muted" { (a.description) } } }
                                td { @if let Some(y) = a.year { (y) } }
                                td { (model::action_status_label(&a.status)) }
                                td { (open_by_action.get(&a.id).map(|c| c.0).unwrap_or(0)) }
                                @if l.manages() {
                                    td { a href=(href(&format!("{}/actions/{}/modifier", p.path(), a.id))) { "Modifier" } }
                                }
                            }
                        }
                    }
                }
            }
            @if l.manages() && !l.archived() {
                a class="button" href=(href(&format!("{}/actions/nouvelle", p.path()))) { "Ajouter une action" }
            }
        }
        (members_section)
        (meetings_section)
        (crate::documents::section(&l)?)
        (tasks::section(&l, &actions, &members)?)
        (timelog::section(&l)?)
        (discussion)
    };
    Ok(Response::page(&p.title(), body))
}

/// The thread's subject of a project.
pub fn thread_subject(project: &Project) -> String {
    format!("projet:{}", project.group_id)
}

/// `GET /p/{g}/modifier`.
pub fn edit_page(group_id: &str) -> PageResult {
    let l = match loaded(group_id)? {
        Ok(l) => l,
        Err(r) => return Ok(r),
    };
    if !l.manages() {
        return ui::forbidden("Seuls les référents du projet et les coordinateurs le modifient.");
    }
    if l.archived() {
        return Ok(ui::refused(409, ui::ARCHIVED));
    }
    let viewer = Viewer::current();
    project_form(
        &viewer,
        Some(&l),
        &ProjectInput::from_project(&l.project),
        None,
    )
}

/// `POST /p/{g}/modifier`.
pub fn update(group_id: &str, form: &Form) -> PageResult {
    let l = match loaded(group_id)? {
        Ok(l) => l,
        Err(r) => return Ok(r),
    };
    if !l.manages() {
        return ui::forbidden("Seuls les référents du projet et les coordinateurs le modifient.");
    }
    if l.archived() {
        return Ok(ui::refused(409, ui::ARCHIVED));
    }
    let viewer = Viewer::current();
    let input = ProjectInput::from_form(form);
    let missions = model::missions()?;
    let mut fields = match check(&input, &missions, Some(&l.project.id)) {
        Ok(f) => f,
        Err(e) => return project_form(&viewer, Some(&l), &input, Some(&e)),
    };
    fields["revision"] = json!(l.project.revision + 1);
    let Some(saved) = records::update::<Project>(PROJECTS, &l.project.id, &fields)? else {
        return Ok(Response::not_found());
    };
    publish_saved(&saved, &l.group.name);
    let _ = audit::write(
        "projet.modifier",
        &saved.title(),
        &json!({
            "avant": { "numero": l.project.numero(), "mission": l.project.mission, "start_date": l.project.start_date },
            "apres": { "numero": saved.numero(), "mission": saved.mission, "start_date": saved.start_date },
        }),
    );
    Ok(Response::see_other(&format!("{}?ok=modifie", saved.path())))
}

// ---- Actions ----

#[derive(Debug, Clone, Default)]
struct ActionInput {
    numero: String,
    title: String,
    description: String,
    year: String,
    status: String,
    position: String,
}

impl ActionInput {
    fn from_form(form: &Form) -> ActionInput {
        ActionInput {
            numero: form.get("numero"),
            title: form.get("titre"),
            description: form.get("description"),
            year: form.get("annee"),
            status: form.get("statut"),
            position: form.get("position"),
        }
    }
    fn from_action(a: &Action) -> ActionInput {
        ActionInput {
            numero: a.numero.clone(),
            title: a.title.clone(),
            description: a.description.clone(),
            year: a.year.map(|y| y.to_string()).unwrap_or_default(),
            status: a.status.clone(),
            position: a.position.to_string(),
        }
    }
    fn check(&self) -> Result<serde_json::Value, String> {
        if !numero_ok(&self.numero) {
            return Err(format!("Le numéro fait au plus {MAX_NUMERO} caractères."));
        }
        if self.title.is_empty() || !ui::fits(&self.title, MAX_TITLE) {
            return Err(format!(
                "L’intitulé de l’action est obligatoire (au plus {MAX_TITLE} caractères)."
            ));
        }
        if !ui::fits(&self.description, MAX_DESCRIPTION) {
            return Err(format!(
                "La description fait au plus {MAX_DESCRIPTION} caractères."
            ));
        }
        let year = if self.year.is_empty() {
            None
        } else {
            match self.year.parse::<i64>() {
                Ok(y) if (2000..=2100).contains(&y) => Some(y),
                _ => return Err("L’année doit être comprise entre 2000 et 2100.".into()),
            }
        };
        let status = if self.status.is_empty() {
            "a_venir"
        } else {
            self.status.as_str()
        };
        if !ACTION_STATUSES.iter().any(|(c, _)| *c == status) {
            return Err("Statut d’action inconnu.".into());
        }
        let position: i64 = if self.position.is_empty() {
            0
        } else {
            self.position
                .parse()
                .map_err(|_| "La position doit être un nombre entier.".to_string())?
        };
        Ok(json!({
            "numero": self.numero,
            "title": self.title,
            "description": self.description,
            "year": year,
            "status": status,
            "position": position,
        }))
    }
}

fn action_form(
    l: &Loaded,
    editing: Option<&Action>,
    input: &ActionInput,
    error: Option<&str>,
) -> Response {
    let (title, action) = match editing {
        Some(a) => (
            "Modifier l’action",
            format!("{}/actions/{}/modifier", l.project.path(), a.id),
        ),
        None => (
            "Nouvelle action",
            format!("{}/actions/nouvelle", l.project.path()),
        ),
    };
    let body = html! {
        (ui::head())
        h1 { (title) }
        p class="muted" { "Projet : " a href=(href(&l.project.path())) { (l.project.title()) } }
        (alert(error))
        form class="action stack" method="post" action=(href(&action)) {
            (csrf_field())
            label for="numero" { "Numéro (facultatif)" }
            input id="numero" name="numero" maxlength=(MAX_NUMERO) value=(input.numero);
            label for="titre" { "Intitulé" }
            input id="titre" name="titre" required maxlength=(MAX_TITLE) value=(input.title);
            label for="description" { "Description" }
            textarea id="description" name="description" rows="4" maxlength=(MAX_DESCRIPTION) { (input.description) }
            label for="annee" { "Année (facultative)" }
            input id="annee" name="annee" inputmode="numeric" value=(input.year);
            label for="statut" { "Statut" }
            select id="statut" name="statut" {
                @for (code, label) in ACTION_STATUSES {
                    option value=(code) selected[input.status == code] { (label) }
                }
            }
            label for="position" { "Ordre d’affichage" }
            input id="position" name="position" inputmode="numeric" value=(input.position);
            button type="submit" { "Enregistrer" }
        }
        @if let Some(a) = editing {
            form method="post" action=(href(&format!("{}/actions/{}/supprimer", l.project.path(), a.id))) {
                (csrf_field())
                button type="submit" class="link" data-confirm="Supprimer cette action ?" { "Supprimer l’action" }
            }
        }
    };
    let response = Response::page(title, body);
    if error.is_some() {
        response.with_status(422)
    } else {
        response
    }
}

/// The project of an action route, managed by the viewer and not archived.
fn managed(group_id: &str) -> Result<Result<Loaded, Response>, StoreError> {
    Ok(match loaded(group_id)? {
        Ok(l) if !l.manages() => Err(ui::refused(
            403,
            "Seuls les référents du projet et les coordinateurs gèrent ses actions.",
        )),
        Ok(l) if l.archived() => Err(ui::refused(409, ui::ARCHIVED)),
        other => other,
    })
}

/// `GET /p/{g}/actions/nouvelle`, `GET /p/{g}/actions/{a}/modifier`.
pub fn action_page(group_id: &str, action_id: Option<&str>) -> PageResult {
    let l = match managed(group_id)? {
        Ok(l) => l,
        Err(r) => return Ok(r),
    };
    match action_id {
        None => Ok(action_form(
            &l,
            None,
            &ActionInput {
                status: "a_venir".into(),
                ..ActionInput::default()
            },
            None,
        )),
        Some(id) => match model::action_in(&l.project, id)? {
            Some(a) => Ok(action_form(
                &l,
                Some(&a),
                &ActionInput::from_action(&a),
                None,
            )),
            None => Ok(Response::not_found()),
        },
    }
}

/// `POST /p/{g}/actions/nouvelle`, `POST /p/{g}/actions/{a}/modifier`.
pub fn save_action(group_id: &str, action_id: Option<&str>, form: &Form) -> PageResult {
    let l = match managed(group_id)? {
        Ok(l) => l,
        Err(r) => return Ok(r),
    };
    let existing = match action_id {
        None => None,
        Some(id) => match model::action_in(&l.project, id)? {
            Some(a) => Some(a),
            None => return Ok(Response::not_found()),
        },
    };
    let input = ActionInput::from_form(form);
    let mut fields = match input.check() {
        Ok(f) => f,
        Err(e) => return Ok(action_form(&l, existing.as_ref(), &input, Some(&e))),
    };
    match existing {
        Some(a) => {
            records::update::<serde_json::Value>(ACTIONS, &a.id, &fields)?;
        }
        None => {
            fields["project"] = json!(l.project.id);
            records::insert::<_, serde_json::Value>(ACTIONS, &fields)?;
        }
    }
    Ok(Response::see_other(&format!(
        "{}?ok=action#actions",
        l.project.path()
    )))
}

/// `POST /p/{g}/actions/{a}/supprimer`.
pub fn delete_action(group_id: &str, action_id: &str) -> PageResult {
    let l = match managed(group_id)? {
        Ok(l) => l,
        Err(r) => return Ok(r),
    };
    let Some(a) = model::action_in(&l.project, action_id)? else {
        return Ok(Response::not_found());
    };
    let linked = Query::new()
        .filter("project = {:p} && action = {:a}")
        .param("p", &l.project.id)
        .param("a", &a.id)
        .count(TASKS)?;
    if linked > 0 {
        return Ok(ui::refused(
            409,
            &format!("{linked} tâche(s) sont rattachées à cette action."),
        ));
    }
    records::delete(ACTIONS, &a.id)?;
    Ok(Response::see_other(&format!(
        "{}?ok=action-supprimee#actions",
        l.project.path()
    )))
}
