//! Tasks of a project: create (assignees, due date, action, recurrence), their page,
//! edit, mark done (the next occurrence of a recurring task) and reopen, delete;
//! « Mes tâches » across projects and its dashboard widget.

use maillage_sdk::form::Form;
use maillage_sdk::groups::GroupMember;
use maillage_sdk::html::{Markup, alert, csrf_field, href, html};
use maillage_sdk::mail::{self, Message};
use maillage_sdk::records::{self, Query, StoreError};
use maillage_sdk::time::jiff::civil::Date;
use maillage_sdk::{Response, audit, fr, time};
use serde_json::json;

use crate::meetings::{self, GroupMeeting};
use crate::model::{
    self, ASSIGNEES, Action, Assignee, DONE, Loaded, MAX_ASSIGNEES, MAX_DESCRIPTION, MAX_TITLE,
    NO_DUE, TASKS, TODO, Task, Viewer,
};
use crate::projects::loaded;
use crate::recurrence::{self, Rule};
use crate::timelog;
use crate::ui::{self, Cell, Export, FileKind, PageResult, hours_cell};

/// What the task form carries.
#[derive(Debug, Clone, Default)]
struct TaskInput {
    title: String,
    description: String,
    assignees: Vec<String>,
    due: String,
    action: String,
    recurrence: String,
    /// The agenda's id of a meeting of the group (`reunion`), or empty.
    meeting: String,
}

impl TaskInput {
    fn from_form(form: &Form) -> TaskInput {
        let mut assignees: Vec<String> = Vec::new();
        for a in form.all("assigne") {
            if !a.is_empty() && !assignees.contains(&a) {
                assignees.push(a);
            }
        }
        TaskInput {
            title: form.get("titre"),
            description: form.get("description"),
            assignees,
            due: form.get("echeance"),
            action: form.get("action"),
            recurrence: form.get("recurrence"),
            meeting: form.get("reunion"),
        }
    }
}

/// The checked task: fields, assignees (id, name), rule.
struct Checked {
    title: String,
    description: String,
    due: Option<String>,
    action: Option<String>,
    rule: Option<Rule>,
    assignees: Vec<(String, String)>,
    /// (agenda id, title) of the meeting the task is linked to.
    meeting: Option<(String, String)>,
}

fn check(l: &Loaded, input: &TaskInput, members: &[GroupMember]) -> Result<Checked, String> {
    if input.title.is_empty() || !ui::fits(&input.title, MAX_TITLE) {
        return Err(format!(
            "Le titre de la tâche est obligatoire (au plus {MAX_TITLE} caractères)."
        ));
    }
    if !ui::fits(&input.description, MAX_DESCRIPTION) {
        return Err(format!(
            "La description fait au plus {MAX_DESCRIPTION} caractères."
        ));
    }
    if input.assignees.len() > MAX_ASSIGNEES {
        return Err(format!(
            "Une tâche a au plus {MAX_ASSIGNEES} personnes assignées."
        ));
    }
    let mut assignees = Vec::new();
    for id in &input.assignees {
        match members.iter().find(|m| &m.user_id == id) {
            Some(m) => assignees.push((m.user_id.clone(), m.display_name.clone())),
            None => {
                let name = maillage_sdk::members()
                    .into_iter()
                    .find(|m| &m.user_id == id)
                    .map(|m| m.display_name)
                    .unwrap_or_else(|| "La personne choisie".into());
                return Err(format!("{name} ne fait pas partie du groupe de travail."));
            }
        }
    }
    let due = ui::optional_date(&input.due).map_err(|_| "L’échéance est invalide.".to_string())?;
    let rule = Rule::parse(&input.recurrence).map_err(|_| "Récurrence inconnue.".to_string())?;
    if rule.is_some() && due.is_none() {
        return Err("Une tâche récurrente a besoin d’une échéance.".into());
    }
    let action = if input.action.is_empty() {
        None
    } else {
        match model::action_in(&l.project, &input.action) {
            Ok(Some(a)) => Some(a.id),
            _ => return Err("Cette action n’est pas une action du projet.".into()),
        }
    };
    let meeting = if input.meeting.is_empty() {
        None
    } else {
        match meetings::find(&l.group.id, &input.meeting) {
            Ok(Some(m)) if !m.cancelled() => Some((m.meeting, m.title)),
            _ => return Err("Cette réunion n’est pas une réunion du groupe.".into()),
        }
    };
    Ok(Checked {
        title: input.title.clone(),
        description: input.description.clone(),
        due,
        action,
        rule,
        assignees,
        meeting,
    })
}

fn due_sort(due: Option<&str>) -> String {
    due.unwrap_or(NO_DUE).to_string()
}

/// Stores the assignees of `task` and their copies of it.
fn insert_assignees(
    l: &Loaded,
    task: &Task,
    assignees: &[(String, String)],
) -> Result<(), StoreError> {
    let rows: Vec<serde_json::Value> = assignees
        .iter()
        .map(|(id, name)| {
            json!({
                "task": task.id,
                "user": id,
                "user_name": name,
                "project": l.project.id,
                "group_id": l.project.group_id,
                "project_name": l.project.name,
                "title": task.title,
                "due_sort": task.due_sort,
                "status": task.status,
                "recurring": task.rule().is_some(),
            })
        })
        .collect();
    records::insert_many(ASSIGNEES, &rows)?;
    Ok(())
}

/// Keeps the assignees' copies in step with the task.
fn sync_copies(task: &Task, project_name: &str) -> Result<(), StoreError> {
    for a in model::assignees_of(&task.id)? {
        records::update::<serde_json::Value>(
            ASSIGNEES,
            &a.id,
            &json!({
                "title": task.title,
                "due_sort": task.due_sort,
                "status": task.status,
                "recurring": task.rule().is_some(),
                "project_name": project_name,
            }),
        )?;
    }
    Ok(())
}

fn mail_assigned(l: &Loaded, task: &Task, to: Vec<String>) {
    if to.is_empty() {
        return;
    }
    let link = format!(
        "{}{}{}",
        maillage_sdk::public_url(),
        maillage_sdk::context().base_path,
        task.path()
    );
    let due = task
        .due_date
        .as_deref()
        .map(|d| format!("Échéance : {}\n", fr::date_short(d)))
        .unwrap_or_default();
    let text = format!(
        "Bonjour,\n\n{} vous a confié une tâche dans le projet « {} » : {}\n{}\nPour la voir : {}\n",
        l.my_name(),
        l.project.name,
        task.title,
        due,
        link
    );
    let message = Message {
        to,
        external: Vec::new(),
        subject: format!("Nouvelle tâche : {}", task.title),
        text,
        html: None,
        attachments: Vec::new(),
    };
    if let Err(e) = mail::send(&message) {
        maillage_sdk::log::warn(&format!("task mail not sent: {e}"));
    }
}

/// The project of a write route, if the viewer may read it and it is not archived
/// (else 409); who may write is each handler's check.
fn writable(group_id: &str) -> Result<Result<Loaded, Response>, StoreError> {
    Ok(match loaded(group_id)? {
        Ok(l) if l.archived() => Err(ui::refused(409, ui::ARCHIVED)),
        other => other,
    })
}

/// The task a route names in a project that is not archived (else 409); 404 for a task
/// of another project or an unknown one.
fn writable_task(
    group_id: &str,
    task_id: &str,
) -> Result<Result<(Loaded, Task), Response>, StoreError> {
    let l = match writable(group_id)? {
        Ok(l) => l,
        Err(r) => return Ok(Err(r)),
    };
    Ok(match task_of(&l, task_id)? {
        Some(task) => Ok((l, task)),
        None => Err(Response::not_found()),
    })
}

/// `POST /p/{g}/taches`.
pub fn create(group_id: &str, form: &Form) -> PageResult {
    let l = match writable(group_id)? {
        Ok(l) => l,
        Err(r) => return Ok(r),
    };
    if !l.contributes() {
        return ui::forbidden(
            "Seuls les membres actifs et les référents du projet créent des tâches.",
        );
    }
    let members = l.members();
    let input = TaskInput::from_form(form);
    let checked = match check(&l, &input, &members) {
        Ok(c) => c,
        Err(e) => return Ok(task_form_page(&l, None, &input, &members, Some(&e))),
    };
    let (unit, every) = checked
        .rule
        .map(Rule::stored)
        .map_or((None, None), |(u, e)| (Some(u), Some(e)));
    let anchor = checked
        .due
        .as_deref()
        .and_then(|d| d.get(8..10))
        .and_then(|d| d.parse::<i64>().ok());
    let record = json!({
        "project": l.project.id,
        "group_id": l.project.group_id,
        "action": checked.action,
        "title": checked.title,
        "description": checked.description,
        "due_date": checked.due,
        "due_sort": due_sort(checked.due.as_deref()),
        "status": TODO,
        "recurrence_unit": unit,
        "recurrence_every": every,
        "recurrence_anchor": if checked.rule.is_some() { anchor } else { None },
        "occurrence": 1,
        "meeting": checked.meeting.as_ref().map(|m| m.0.clone()),
        "meeting_title": checked.meeting.as_ref().map(|m| m.1.clone()).unwrap_or_default(),
        "created_by": l.me(),
        "created_by_name": l.my_name(),
        "minutes": 0,
    });
    let task: Task = records::insert(TASKS, &record)?;
    // The first of its series names it.
    let task: Task =
        records::update(TASKS, &task.id, &json!({ "series": task.id }))?.unwrap_or(task);
    insert_assignees(&l, &task, &checked.assignees)?;
    let others: Vec<String> = checked
        .assignees
        .iter()
        .map(|(id, _)| id.clone())
        .filter(|id| Some(id.as_str()) != l.me())
        .collect();
    mail_assigned(&l, &task, others);
    Ok(Response::see_other(&format!(
        "{}?ok=tache#taches",
        l.project.path()
    )))
}

fn task_form(
    l: &Loaded,
    editing: Option<&Task>,
    input: &TaskInput,
    members: &[GroupMember],
    actions: &[Action],
    meetings: &[GroupMeeting],
) -> Markup {
    let action_path = match editing {
        Some(t) => format!("{}/modifier", t.path()),
        None => format!("{}/taches", l.project.path()),
    };
    let me = l.me().unwrap_or("");
    html! {
        form class="tache stack" method="post" action=(href(&action_path)) {
            (csrf_field())
            label for="tache-titre" { "Titre" }
            input id="tache-titre" name="titre" required maxlength=(MAX_TITLE) value=(input.title);
            label for="tache-description" { "Description (facultative)" }
            textarea id="tache-description" name="description" rows="3" maxlength=(MAX_DESCRIPTION) { (input.description) }
            fieldset {
                legend { "Assignée à" }
                @for m in members.iter().filter(|m| m.user_id == me).chain(members.iter().filter(|m| m.user_id != me)) {
                    label {
                        input type="checkbox" name="assigne" value=(m.user_id) checked[input.assignees.contains(&m.user_id)];
                        " " @if m.user_id == me { "Moi" } @else { (m.display_name) }
                    }
                }
            }
            label for="tache-echeance" { "Échéance (facultative)" }
            input id="tache-echeance" type="date" name="echeance" value=(input.due);
            @if !actions.is_empty() {
                label for="tache-action" { "Action du projet (facultative)" }
                select id="tache-action" name="action" {
                    option value="" { "Aucune" }
                    @for a in actions {
                        option value=(a.id) selected[a.id == input.action] { @if !a.numero.is_empty() { (a.numero) " " } (a.title) }
                    }
                }
            }
            @if !meetings.is_empty() {
                label for="tache-reunion" { "Réunion liée (facultative)" }
                select id="tache-reunion" name="reunion" {
                    option value="" { "Aucune" }
                    @for m in meetings {
                        option value=(m.meeting) selected[m.meeting == input.meeting] { (m.title) " · " (m.when()) }
                    }
                }
            }
            label for="tache-recurrence" { "Récurrence" }
            select id="tache-recurrence" name="recurrence" {
                @for (code, label) in recurrence::CHOICES {
                    option value=(code) selected[input.recurrence == code || (input.recurrence.is_empty() && code == "aucune")] { (label) }
                }
            }
            p class="muted" { "Une tâche récurrente est recréée, avec l’échéance suivante, quand elle est faite." }
            button type="submit" { (if editing.is_some() { "Enregistrer" } else { "Ajouter la tâche" }) }
        }
    }
}

fn task_form_page(
    l: &Loaded,
    editing: Option<&Task>,
    input: &TaskInput,
    members: &[GroupMember],
    error: Option<&str>,
) -> Response {
    let actions = model::actions_of(&l.project).unwrap_or_default();
    let meetings = meetings::linkable(&l.group.id).unwrap_or_default();
    let title = if editing.is_some() {
        "Modifier la tâche"
    } else {
        "Nouvelle tâche"
    };
    let body = html! {
        (ui::head())
        h1 { (title) }
        p class="muted" { "Projet : " a href=(href(&l.project.path())) { (l.project.title()) } }
        (alert(error))
        (task_form(l, editing, input, members, &actions, &meetings))
    };
    let response = Response::page(title, body);
    if error.is_some() {
        response.with_status(422)
    } else {
        response
    }
}

/// The project page's « Tâches » section.
pub fn section(
    l: &Loaded,
    actions: &[Action],
    members: &[GroupMember],
) -> Result<Markup, StoreError> {
    let open: Vec<Task> = Query::new()
        .filter("project = {:p} && status = {:s}")
        .param("p", &l.project.id)
        .param("s", TODO)
        .sort("due_sort,created_at")
        .fetch_all(TASKS, model::PAGE_MAX)?;
    let (done, _) = Query::new()
        .filter("project = {:p} && status = {:s}")
        .param("p", &l.project.id)
        .param("s", DONE)
        .sort("-done_at")
        .limit(20)
        .fetch::<Task>(TASKS)?;
    let ids: Vec<String> = open
        .iter()
        .chain(done.iter())
        .map(|t| t.id.clone())
        .collect();
    let assignees = assignees_of_tasks(&ids)?;
    let today = ui::today();
    let input = TaskInput {
        assignees: l.me().map(|m| vec![m.to_string()]).unwrap_or_default(),
        ..TaskInput::default()
    };
    let meetings = if l.contributes() && !l.archived() {
        meetings::linkable(&l.group.id)?
    } else {
        Vec::new()
    };
    Ok(html! {
        section id="taches" {
            h2 { "Tâches" }
            @if open.is_empty() { p class="empty" { "Aucune tâche ouverte." } }
            @else { (task_table(&open, &assignees, &today)) }
            @if !done.is_empty() {
                h3 { "Tâches faites" }
                (task_table(&done, &assignees, &today))
            }
            @if l.contributes() && !l.archived() {
                details class="nouvelle-tache" {
                    summary { "Ajouter une tâche" }
                    (task_form(l, None, &input, members, actions, &meetings))
                }
            }
        }
    })
}

fn assignees_of_tasks(ids: &[String]) -> Result<Vec<Assignee>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        out.extend(
            Query::new()
                .filter("task in {:ids}")
                .param("ids", chunk)
                .sort("user_name")
                .fetch_all::<Assignee>(ASSIGNEES, 20 * 500)?,
        );
    }
    Ok(out)
}

fn due_cell(task_due: Option<&str>, done: bool, today: &str) -> Markup {
    html! {
        @match task_due {
            Some(d) => td class="echeance" data-date=(d) {
                (fr::date_short(d))
                @if !done && d < today { " " span class="en-retard" { "En retard" } }
            },
            None => td class="echeance" { span class="muted" { "Sans échéance" } },
        }
    }
}

fn task_table(tasks: &[Task], assignees: &[Assignee], today: &str) -> Markup {
    html! {
        table class="taches" {
            thead { tr { th { "Tâche" } th { "Assignée à" } th { "Échéance" } th { "Temps passé (h)" } } }
            tbody {
                @for t in tasks {
                    tr data-tache=(t.id) data-statut=(t.status) {
                        td {
                            a href=(href(&t.path())) { (t.title) }
                            @if let Some(rule) = t.rule() { " " span class="recurrence" { (rule.label()) } }
                        }
                        td { (assignees.iter().filter(|a| a.task == t.id).map(|a| a.user_name.as_str()).collect::<Vec<_>>().join(", ")) }
                        (due_cell(t.due_date.as_deref(), t.is_done(), today))
                        (hours_cell(t.minutes))
                    }
                }
            }
        }
    }
}

/// The task a route names in the project the viewer may read.
fn task_of(l: &Loaded, task_id: &str) -> Result<Option<Task>, StoreError> {
    model::task_in(&l.project, task_id)
}

/// `GET /p/{g}/taches/{t}`.
pub fn page(group_id: &str, task_id: &str, query: &str) -> PageResult {
    let l = match loaded(group_id)? {
        Ok(l) => l,
        Err(r) => return Ok(r),
    };
    let Some(task) = task_of(&l, task_id)? else {
        return Ok(Response::not_found());
    };
    task_page(&l, &task, query, None, None)
}

/// The task's page, with an error on the time form (422) when `time_error`.
pub fn task_page(
    l: &Loaded,
    task: &Task,
    query: &str,
    time_error: Option<&str>,
    typed: Option<&timelog::TimeInput>,
) -> PageResult {
    let assignees = model::assignees_of(&task.id)?;
    let action = match &task.action {
        Some(a) => model::action_in(&l.project, a)?,
        None => None,
    };
    let next = match (task.rule(), task.due_date.as_deref()) {
        (Some(rule), Some(due)) => time::parse_date(due).ok().and_then(|d| {
            recurrence::next_due(rule, d, task.recurrence_anchor.unwrap_or(1) as i8, d)
        }),
        _ => None,
    };
    let completes = l.completes(task)? && !l.archived();
    let linked = match &task.meeting {
        Some(m) => meetings::find(&l.group.id, m)?,
        None => None,
    };
    let body = html! {
        (ui::head())
        p class="muted" { "Projet : " a href=(href(&l.project.path())) { (l.project.title()) } }
        h1 { "Tâche : " (task.title) }
        (ui::notice(query))
        dl class="tache" {
            dt { "État" }
            dd data-statut=(task.status) { (if task.is_done() { "Faite" } else { "À faire" })
                @if task.is_done() && !task.done_by_name.is_empty() { " (par " (task.done_by_name) ")" } }
            dt { "Échéance" }
            dd { @match &task.due_date { Some(d) => span data-date=(d) { (fr::date_short(d)) }, None => "Sans échéance" } }
            dt { "Assignée à" }
            dd { @if assignees.is_empty() { "Personne" } @else { (assignees.iter().map(|a| a.user_name.as_str()).collect::<Vec<_>>().join(", ")) } }
            @if let Some(a) = &action {
                dt { "Action" }
                dd { @if !a.numero.is_empty() { (a.numero) " " } (a.title) }
            }
            @if let Some(m) = &linked {
                dt { "Réunion" }
                dd class="reunion" data-reunion=(m.meeting) { a href=(m.href()) { (m.title) } " · " (m.when()) }
            }
            @if let Some(rule) = task.rule() {
                dt { "Récurrence" }
                dd { span class="recurrence" { (rule.label()) }
                    @if let Some(n) = next { " · Prochaine échéance après celle-ci : " (fr::date_short(&time::date_input(n))) } }
            }
            @if !task.description.is_empty() {
                dt { "Description" }
                dd { (ui::lines(&task.description)) }
            }
            dt { "Créée par" }
            dd { (task.created_by_name) }
        }
        @if completes {
            @if task.is_done() {
                form class="rouvrir" method="post" action=(href(&format!("{}/rouvrir", task.path()))) {
                    (csrf_field())
                    button type="submit" { "Rouvrir la tâche" }
                }
            } @else {
                form class="faite" method="post" action=(href(&format!("{}/faite", task.path()))) {
                    (csrf_field())
                    button type="submit" { "Marquer comme faite" }
                }
            }
        }
        @if l.edits_task(task) && !l.archived() {
            p {
                a href=(href(&format!("{}/modifier", task.path()))) { "Modifier la tâche" }
            }
            form method="post" action=(href(&format!("{}/supprimer", task.path()))) {
                (csrf_field())
                button type="submit" class="link" data-confirm="Supprimer cette tâche ?" { "Supprimer la tâche" }
            }
        }
        (timelog::task_section(l, task, &assignees, time_error, typed)?)
    };
    let response = Response::page(&format!("Tâche : {}", task.title), body);
    Ok(if time_error.is_some() {
        response.with_status(422)
    } else {
        response
    })
}

/// `GET /p/{g}/taches/{t}/modifier`.
pub fn edit_page(group_id: &str, task_id: &str) -> PageResult {
    let (l, task) = match writable_task(group_id, task_id)? {
        Ok(found) => found,
        Err(r) => return Ok(r),
    };
    if !l.edits_task(&task) {
        return ui::forbidden(
            "Seuls l’auteur de la tâche, les référents et les coordinateurs la modifient.",
        );
    }
    let input = TaskInput {
        title: task.title.clone(),
        description: task.description.clone(),
        assignees: model::assignees_of(&task.id)?
            .into_iter()
            .map(|a| a.user)
            .collect(),
        due: task.due_date.clone().unwrap_or_default(),
        action: task.action.clone().unwrap_or_default(),
        meeting: task.meeting.clone().unwrap_or_default(),
        recurrence: task
            .rule()
            .map(|r| r.code().to_string())
            .unwrap_or_else(|| "aucune".into()),
    };
    Ok(task_form_page(&l, Some(&task), &input, &l.members(), None))
}

/// `POST /p/{g}/taches/{t}/modifier`.
pub fn update(group_id: &str, task_id: &str, form: &Form) -> PageResult {
    let (l, task) = match writable_task(group_id, task_id)? {
        Ok(found) => found,
        Err(r) => return Ok(r),
    };
    if !l.edits_task(&task) {
        return ui::forbidden(
            "Seuls l’auteur de la tâche, les référents et les coordinateurs la modifient.",
        );
    }
    let members = l.members();
    let input = TaskInput::from_form(form);
    let checked = match check(&l, &input, &members) {
        Ok(c) => c,
        Err(e) => return Ok(task_form_page(&l, Some(&task), &input, &members, Some(&e))),
    };
    let (unit, every) = checked
        .rule
        .map(Rule::stored)
        .map_or((None, None), |(u, e)| (Some(u), Some(e)));
    let anchor = task
        .recurrence_anchor
        .filter(|_| task.rule().is_some())
        .or_else(|| {
            checked
                .due
                .as_deref()
                .and_then(|d| d.get(8..10))
                .and_then(|d| d.parse::<i64>().ok())
        });
    let Some(saved) = records::update::<Task>(
        TASKS,
        &task.id,
        &json!({
            "title": checked.title,
            "description": checked.description,
            "due_date": checked.due,
            "due_sort": due_sort(checked.due.as_deref()),
            "action": checked.action,
            "recurrence_unit": unit,
            "recurrence_every": every,
            "recurrence_anchor": if checked.rule.is_some() { anchor } else { None },
            "meeting": checked.meeting.as_ref().map(|m| m.0.clone()),
            "meeting_title": checked.meeting.as_ref().map(|m| m.1.clone()).unwrap_or_default(),
        }),
    )?
    else {
        return Ok(Response::not_found());
    };
    // Assignees: removed ones go, new ones are added (and mailed).
    let before = model::assignees_of(&task.id)?;
    for a in before
        .iter()
        .filter(|a| !checked.assignees.iter().any(|(id, _)| *id == a.user))
    {
        records::delete(ASSIGNEES, &a.id)?;
    }
    let added: Vec<(String, String)> = checked
        .assignees
        .iter()
        .filter(|(id, _)| !before.iter().any(|a| a.user == *id))
        .cloned()
        .collect();
    insert_assignees(&l, &saved, &added)?;
    sync_copies(&saved, &l.project.name)?;
    mail_assigned(
        &l,
        &saved,
        added
            .into_iter()
            .map(|(id, _)| id)
            .filter(|id| Some(id.as_str()) != l.me())
            .collect(),
    );
    Ok(Response::see_other(&format!(
        "{}?ok=tache-modifiee",
        saved.path()
    )))
}

/// `POST /p/{g}/taches/{t}/faite`.
pub fn done(group_id: &str, task_id: &str) -> PageResult {
    let (l, task) = match writable_task(group_id, task_id)? {
        Ok(found) => found,
        Err(r) => return Ok(r),
    };
    if !l.completes(&task)? {
        return ui::forbidden(
            "Seuls les personnes assignées, l’auteur de la tâche, les référents et les coordinateurs la marquent comme faite.",
        );
    }
    if task.is_done() {
        return Ok(ui::refused(409, "Cette tâche est déjà faite."));
    }
    let Some(saved) = records::update::<Task>(
        TASKS,
        &task.id,
        &json!({
            "status": DONE,
            "done_at": time::now_seconds(),
            "done_by": l.me(),
            "done_by_name": l.my_name(),
        }),
    )?
    else {
        return Ok(Response::not_found());
    };
    sync_copies(&saved, &l.project.name)?;
    let next = next_occurrence(&l, &saved)?;
    let ok = if next.is_some() {
        "faite-suivante"
    } else {
        "faite"
    };
    Ok(Response::see_other(&format!("{}?ok={ok}", saved.path())))
}

/// For a recurring task just done: its next occurrence, unless it exists already.
fn next_occurrence(l: &Loaded, task: &Task) -> Result<Option<Task>, StoreError> {
    let (Some(rule), Some(due)) = (task.rule(), task.due_date.as_deref()) else {
        return Ok(None);
    };
    let series = task.series.clone().unwrap_or_else(|| task.id.clone());
    let occurrence = task.occurrence.max(1) + 1;
    let exists = Query::new()
        .filter("series = {:s} && occurrence = {:o}")
        .param("s", &series)
        .param("o", occurrence)
        .count(TASKS)?;
    if exists > 0 {
        return Ok(None);
    }
    let Ok(due) = time::parse_date(due) else {
        return Ok(None);
    };
    let done: Date = time::parse_date(&ui::today()).unwrap_or(due);
    let anchor = task
        .recurrence_anchor
        .unwrap_or(i64::from(due.day()))
        .clamp(1, 31) as i8;
    let Some(next) = recurrence::next_due(rule, due, anchor, done) else {
        return Ok(None);
    };
    let next_due = time::date_input(next);
    let record = json!({
        "project": task.project,
        "group_id": task.group_id,
        "action": task.action,
        "title": task.title,
        "description": task.description,
        "due_date": next_due,
        "due_sort": next_due,
        "status": TODO,
        "recurrence_unit": task.recurrence_unit,
        "recurrence_every": task.recurrence_every,
        "recurrence_anchor": anchor,
        "series": series,
        "occurrence": occurrence,
        "created_by": task.created_by,
        "created_by_name": task.created_by_name,
        "minutes": 0,
    });
    let created: Task = records::insert(TASKS, &record)?;
    let assignees: Vec<(String, String)> = model::assignees_of(&task.id)?
        .into_iter()
        .map(|a| (a.user, a.user_name))
        .collect();
    insert_assignees(l, &created, &assignees)?;
    Ok(Some(created))
}

/// `POST /p/{g}/taches/{t}/rouvrir`.
pub fn reopen(group_id: &str, task_id: &str) -> PageResult {
    let (l, task) = match writable_task(group_id, task_id)? {
        Ok(found) => found,
        Err(r) => return Ok(r),
    };
    if !l.completes(&task)? {
        return ui::forbidden(
            "Seuls les personnes assignées, l’auteur de la tâche, les référents et les coordinateurs la rouvrent.",
        );
    }
    if !task.is_done() {
        return Ok(ui::refused(409, "Cette tâche n’est pas faite."));
    }
    let Some(saved) = records::update::<Task>(
        TASKS,
        &task.id,
        &json!({ "status": TODO, "done_at": null, "done_by": null, "done_by_name": "" }),
    )?
    else {
        return Ok(Response::not_found());
    };
    sync_copies(&saved, &l.project.name)?;
    Ok(Response::see_other(&format!(
        "{}?ok=rouverte",
        saved.path()
    )))
}

/// `POST /p/{g}/taches/{t}/supprimer`.
pub fn delete(group_id: &str, task_id: &str) -> PageResult {
    let (l, task) = match writable_task(group_id, task_id)? {
        Ok(found) => found,
        Err(r) => return Ok(r),
    };
    if !l.edits_task(&task) {
        return ui::forbidden(
            "Seuls l’auteur de la tâche, les référents et les coordinateurs la suppriment.",
        );
    }
    let entries = Query::new()
        .filter("task = {:t}")
        .param("t", &task.id)
        .count(model::ENTRIES)?;
    if entries > 0 {
        return Ok(ui::refused(
            409,
            "Du temps a été saisi sur cette tâche : elle ne peut pas être supprimée.",
        ));
    }
    for a in model::assignees_of(&task.id)? {
        records::delete(ASSIGNEES, &a.id)?;
    }
    records::delete(TASKS, &task.id)?;
    let _ = audit::write(
        "tache.supprimer",
        &task.title,
        &json!({ "task": task.id, "project": l.project.title() }),
    );
    Ok(Response::see_other(&format!(
        "{}?ok=tache-supprimee#taches",
        l.project.path()
    )))
}

/// My open (or done) tasks in projects I may read, due soon first.
fn my_tasks(viewer: &Viewer, state: &str, limit: usize) -> Result<Vec<Assignee>, StoreError> {
    let Some(me) = viewer.id() else {
        return Ok(Vec::new());
    };
    let query = match state {
        "toutes" => Query::new().filter("user = {:u}").param("u", me),
        s => Query::new()
            .filter("user = {:u} && status = {:s}")
            .param("u", me)
            .param("s", if s == "faites" { DONE } else { TODO }),
    };
    let rows: Vec<Assignee> = query.sort("due_sort,title").fetch_all(ASSIGNEES, limit)?;
    Ok(rows
        .into_iter()
        .filter(|a| viewer.group(&a.group_id).is_some())
        .take(limit)
        .collect())
}

fn state_filter(query: &str) -> Result<&'static str, Response> {
    match ui::param(query, "etat").as_str() {
        "" | "a-faire" => Ok("a-faire"),
        "faites" => Ok("faites"),
        "toutes" => Ok("toutes"),
        _ => Err(ui::refused(
            422,
            "État inconnu : choisissez « À faire », « Faites » ou « Toutes ».",
        )),
    }
}

/// The sections of « Mes tâches » in the page's order, each of `rows` in exactly one:
/// overdue, this week (until Sunday), later, without a due date, done in the past.
fn my_sections<'a>(
    rows: &'a [Assignee],
    state: &str,
    today: &str,
) -> [(&'static str, Vec<&'a Assignee>); 5] {
    let week_end = week_end(today);
    let week_end = week_end.as_str();
    [
        (
            "En retard",
            rows.iter()
                .filter(|a| a.status == TODO && a.due_sort.as_str() < today)
                .collect(),
        ),
        (
            "Cette semaine",
            rows.iter()
                .filter(|a| {
                    a.due_sort.as_str() >= today
                        && a.due_sort.as_str() <= week_end
                        && (a.status == TODO || state != "a-faire")
                })
                .collect(),
        ),
        (
            "Plus tard",
            rows.iter()
                .filter(|a| a.due_sort.as_str() > week_end && a.due_sort != NO_DUE)
                .collect(),
        ),
        (
            "Sans échéance",
            rows.iter().filter(|a| a.due_sort == NO_DUE).collect(),
        ),
        (
            "Faites",
            rows.iter()
                .filter(|a| a.status == DONE && a.due_sort.as_str() < today)
                .collect(),
        ),
    ]
}

/// `GET /mes-taches.csv`, `GET /mes-taches.xlsx`: the tasks of « Mes tâches » with the
/// same filter, in the page's order (its sections).
pub fn mine_export(query: &str, kind: FileKind) -> PageResult {
    let state = match state_filter(query) {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    let viewer = Viewer::current();
    let rows = my_tasks(&viewer, state, model::PAGE_MAX)?;
    let today = ui::today();
    let listed: Vec<&Assignee> = my_sections(&rows, state, &today)
        .into_iter()
        .flat_map(|(_, list)| list)
        .collect();
    let ids: Vec<String> = listed.iter().map(|a| a.task.clone()).collect();
    let assignees = assignees_of_tasks(&ids)?;
    let mut tasks: Vec<Task> = Vec::new();
    for chunk in ids.chunks(500) {
        tasks.extend(
            Query::new()
                .filter("id in {:ids}")
                .param("ids", chunk)
                .fetch_all::<Task>(TASKS, 1000)?,
        );
    }
    let mut export = Export::new(
        "Mes tâches",
        "mes-taches",
        &[
            "Échéance",
            "Tâche",
            "Projet",
            "Réunion",
            "Assignée à",
            "État",
            "Récurrence",
            "Temps passé (h)",
        ],
    );
    for a in &listed {
        let task = tasks.iter().find(|t| t.id == a.task);
        export.row(vec![
            Cell::Date(if a.due_sort == NO_DUE {
                String::new()
            } else {
                a.due_sort.clone()
            }),
            Cell::text(a.title.as_str()),
            Cell::text(a.project_name.as_str()),
            Cell::text(task.map(|t| t.meeting_title.clone()).unwrap_or_default()),
            Cell::text(
                assignees
                    .iter()
                    .filter(|x| x.task == a.task)
                    .map(|x| x.user_name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            Cell::text(if a.status == DONE {
                "Faite"
            } else {
                "À faire"
            }),
            Cell::text(
                task.and_then(Task::rule)
                    .map(|r| r.label().to_string())
                    .unwrap_or_default(),
            ),
            Cell::Hours(task.map(|t| t.minutes).unwrap_or(0)),
        ]);
    }
    Ok(export.respond(kind))
}

/// `GET /mes-taches`.
pub fn mine(query: &str) -> PageResult {
    let state = match state_filter(query) {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    let viewer = Viewer::current();
    let rows = my_tasks(&viewer, state, model::PAGE_MAX)?;
    let today = ui::today();
    let sections = my_sections(&rows, state, &today);
    let body = html! {
        (ui::head())
        div class="toolbar" {
            h1 { "Mes tâches" }
            (ui::export_links("/mes-taches", &format!("?etat={state}")))
        }
        (ui::notice(query))
        form class="filtres" method="get" action=(href("/mes-taches")) {
            label for="etat" { "Afficher" }
            select id="etat" name="etat" {
                option value="a-faire" selected[state == "a-faire"] { "À faire" }
                option value="faites" selected[state == "faites"] { "Faites" }
                option value="toutes" selected[state == "toutes"] { "Toutes" }
            }
            button type="submit" { "Filtrer" }
        }
        @if rows.is_empty() { p class="empty" { "Aucune tâche." } }
        @for (heading, list) in &sections {
            @if !list.is_empty() {
                section class="taches-groupe" {
                    h2 { (heading) }
                    (my_table(list, &today))
                }
            }
        }
    };
    Ok(Response::page("Mes tâches", body))
}

fn my_table(rows: &[&Assignee], today: &str) -> Markup {
    html! {
        table class="taches" {
            thead { tr { th { "Tâche" } th { "Projet" } th { "Échéance" } th {} } }
            tbody {
                @for a in rows {
                    @let path = format!("/p/{}/taches/{}", a.group_id, a.task);
                    tr data-tache=(a.task) data-statut=(a.status) {
                        td { a href=(href(&path)) { (a.title) } @if a.recurring { " " span class="recurrence" { "Récurrente" } } }
                        td { a href=(href(&format!("/p/{}", a.group_id))) { (a.project_name) } }
                        (due_cell((a.due_sort != NO_DUE).then_some(a.due_sort.as_str()), a.status == DONE, today))
                        td {
                            a href=(href(&format!("{path}#temps-tache"))) { "Saisir du temps" }
                        }
                    }
                }
            }
        }
    }
}

/// The Sunday ending the week of `today` ("YYYY-MM-DD").
fn week_end(today: &str) -> String {
    match time::parse_date(today) {
        Ok(d) => {
            let to_sunday = 7 - i64::from(d.weekday().to_monday_one_offset());
            d.checked_add(maillage_sdk::time::jiff::Span::new().days(to_sunday))
                .map(time::date_input)
                .unwrap_or_else(|_| today.to_string())
        }
        Err(_) => today.to_string(),
    }
}

/// `GET /widget/taches`: my open tasks, due soon first.
pub fn widget() -> PageResult {
    let viewer = Viewer::current();
    let rows = my_tasks(&viewer, "a-faire", 8)?;
    let today = ui::today();
    Ok(Response::fragment(html! {
        @if rows.is_empty() {
            p class="empty" { "Aucune tâche à faire." }
        } @else {
            ul class="widget-taches" {
                @for a in &rows {
                    li data-tache=(a.task) {
                        a href=(href(&format!("/p/{}/taches/{}", a.group_id, a.task))) { (a.title) }
                        " — " span class="muted" { (a.project_name) }
                        @if a.due_sort != NO_DUE {
                            " · " span data-date=(a.due_sort) class=(if a.due_sort.as_str() < today.as_str() { "en-retard" } else { "echeance" }) { (fr::date_short(&a.due_sort)) }
                        }
                    }
                }
            }
        }
        p { a href=(href("/mes-taches")) { "Toutes mes tâches" } }
    }))
}

/// `GET /widget/projets`: the projects I belong to.
pub fn projects_widget() -> PageResult {
    let viewer = Viewer::current();
    let filters = crate::projects::Filters {
        mine: true,
        state: "en-cours".into(),
        mission: String::new(),
        q: String::new(),
    };
    let rows = crate::projects::rows(&viewer, &filters)?;
    Ok(Response::fragment(html! {
        @if rows.is_empty() {
            p class="empty" { "Vous ne participez à aucun projet." }
        } @else {
            ul class="widget-projets" {
                @for r in &rows {
                    li data-groupe=(r.project.group_id) {
                        a href=(href(&r.project.path())) { (r.project.title()) }
                        " · " span class="taches-ouvertes" data-count=(r.open_tasks) { (r.open_tasks) " tâche(s) ouverte(s)" }
                    }
                }
            }
        }
        p { a href=(href("/mes-projets")) { "Tous mes projets" } }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_end_on_sunday() {
        // 2026-12-02 is a Wednesday.
        assert_eq!(week_end("2026-12-02"), "2026-12-06");
        assert_eq!(week_end("2026-12-06"), "2026-12-06");
        assert_eq!(week_end("2026-12-07"), "2026-12-13");
    }
}
