//! Time spent on tasks: entries with the date the work was done, for oneself or, by a
//! référent or a coordinator, for someone else (traced: audit, mail, « saisi par »);
//! the totals per project, person, task and month; exports; and the `task.time-logged`
//! event every change publishes (the indemnity module's « Mon compte », reports).

use std::collections::{BTreeMap, HashMap};

use maillage_sdk::form::Form;
use maillage_sdk::fr::{self, DurationError};
use maillage_sdk::groups::GroupRole;
use maillage_sdk::html::{Markup, alert, csrf_field, href, html};
use maillage_sdk::mail::{self, Message};
use maillage_sdk::records::{self, Query, StoreError};
use maillage_sdk::{Response, audit, time};
use serde_json::json;

use crate::model::{
    self, Assignee, DAY_MINUTES, ENTRIES, Entry, Loaded, MAX_NOTE, PROJECTS, Project, TASKS, Task,
    Viewer,
};
use crate::projects::loaded;
use crate::ui::{self, Cell, Export, FileKind, PageResult, hours_cell};

pub const TIME_LOGGED: &str = "task.time-logged";

/// What the time form carries.
#[derive(Debug, Clone, Default)]
pub struct TimeInput {
    pub date: String,
    pub duration: String,
    pub note: String,
    pub person: String,
}

impl TimeInput {
    fn from_form(form: &Form) -> TimeInput {
        TimeInput {
            date: form.get("date"),
            duration: form.get("duree"),
            note: form.get("note"),
            person: form.get("personne"),
        }
    }
}

fn duration_error(e: DurationError, typed: &str) -> String {
    match e {
        DurationError::Unreadable => {
            "Durée illisible : écrivez par exemple 1 h 30, 45 min ou 1,5.".into()
        }
        DurationError::NotPositive => "La durée doit être positive.".into(),
        DurationError::TooLong => {
            let bare = typed.trim().chars().all(|c| c.is_ascii_digit());
            if bare {
                format!(
                    "Une saisie ne peut dépasser 24 h (pour {} minutes, écrivez {} min).",
                    typed.trim(),
                    typed.trim()
                )
            } else {
                "Une saisie ne peut dépasser 24 h.".into()
            }
        }
    }
}

/// The date worked, checked: not before 2000, not after today (the member's zone).
fn check_date(text: &str) -> Result<String, String> {
    let today = ui::my_today();
    let date = match ui::optional_date(text) {
        Ok(Some(d)) => d,
        Ok(None) => today.clone(),
        Err(_) => return Err("La date du travail est invalide.".into()),
    };
    if date > today {
        return Err("La date du travail ne peut pas être dans le futur.".into());
    }
    Ok(date)
}

/// Minutes the person already has on `date`, across every project, but `except`.
fn day_total(person: &str, date: &str, except: Option<&str>) -> Result<i64, StoreError> {
    let rows: Vec<Entry> = Query::new()
        .filter("person = {:p} && date = {:d}")
        .param("p", person)
        .param("d", date)
        .fields(&["task", "project", "group_id", "person", "date", "minutes"])
        .fetch_all(ENTRIES, 1000)?;
    Ok(rows
        .iter()
        .filter(|e| Some(e.id.as_str()) != except)
        .map(|e| e.minutes)
        .sum())
}

/// The event of one change of an entry, in the call's transaction.
fn publish(entry: &Entry, project: &Project, task_title: &str, change: &str) {
    let payload = json!({
        "entry": entry.id,
        "revision": entry.revision,
        "change": change,
        "project": project.id,
        "group_id": project.group_id,
        "group_name": project.name,
        "numero": project.numero(),
        "mission": project.mission,
        "project_start": project.start_date,
        "task": entry.task,
        "task_title": task_title,
        "person": entry.person,
        "person_name": entry.person_name,
        "date": entry.date,
        "minutes": if change == "deleted" { 0 } else { entry.minutes },
        "entered_by": entry.entered_by,
        "entered_by_name": entry.entered_by_name,
        "on_behalf": entry.on_behalf,
        "at": time::now_seconds(),
    });
    if let Err(e) = maillage_sdk::publish(TIME_LOGGED, &payload) {
        maillage_sdk::log::warn(&format!("task.time-logged not published: {e}"));
    }
}

/// Recomputes the task's total from its entries.
fn refresh_task_minutes(task_id: &str) -> Result<(), StoreError> {
    let total: i64 = Query::new()
        .filter("task = {:t}")
        .param("t", task_id)
        .aggregate(ENTRIES, None, Some("minutes"))?
        .first()
        .map(|g| g.sum)
        .unwrap_or(0);
    records::update::<serde_json::Value>(TASKS, task_id, &json!({ "minutes": total }))?;
    Ok(())
}

fn mail_person(l: &Loaded, entry: &Entry, task: &Task, what: &str) {
    let link = format!(
        "{}{}{}#temps-tache",
        maillage_sdk::public_url(),
        maillage_sdk::context().base_path,
        task.path()
    );
    let text = format!(
        "Bonjour,\n\n{} {what} du temps pour vous dans le projet « {} » :\n\
         tâche : {}\ndate du travail : {}\ndurée : {}\n\n\
         Pour la modifier ou la supprimer : {}\n",
        l.my_name(),
        l.project.name,
        task.title,
        fr::date_short(&entry.date),
        fr::duration(entry.minutes),
        link
    );
    let message = Message {
        to: vec![entry.person.clone()],
        external: Vec::new(),
        subject: format!("{} a saisi du temps pour vous", l.my_name()),
        text,
        html: None,
        attachments: Vec::new(),
    };
    if let Err(e) = mail::send(&message) {
        maillage_sdk::log::warn(&format!("time mail not sent: {e}"));
    }
}

/// `POST /p/{g}/taches/{t}/temps`.
pub fn log(group_id: &str, task_id: &str, form: &Form) -> PageResult {
    let l = match loaded(group_id)? {
        Ok(l) => l,
        Err(r) => return Ok(r),
    };
    let Some(task) = model::task_in(&l.project, task_id)? else {
        return Ok(Response::not_found());
    };
    if l.archived() {
        return Ok(ui::refused(409, ui::ARCHIVED));
    }
    let Some(me) = l.me().map(str::to_string) else {
        return ui::forbidden("Veuillez vous connecter.");
    };
    let may_log = l.contributes() || (l.role == Some(GroupRole::Guest) && l.assigned(&task.id)?);
    if !may_log {
        return ui::forbidden("Seuls les membres du projet saisissent du temps sur ses tâches.");
    }
    let input = TimeInput::from_form(form);
    let person = if input.person.is_empty() {
        me.clone()
    } else {
        input.person.clone()
    };
    if person != me && !l.manages() {
        return ui::forbidden(
            "Seuls les référents du projet et les coordinateurs saisissent du temps pour quelqu’un d’autre.",
        );
    }
    let refuse = |e: String| crate::tasks::task_page(&l, &task, "", Some(&e), Some(&input));
    let members = l.members();
    let Some(person_member) = members.iter().find(|m| m.user_id == person) else {
        let name = maillage_sdk::members()
            .into_iter()
            .find(|m| m.user_id == person)
            .map(|m| m.display_name)
            .unwrap_or_else(|| "La personne choisie".into());
        return refuse(format!("{name} ne fait pas partie du groupe de travail."));
    };
    let person_name = person_member.display_name.clone();
    let date = match check_date(&input.date) {
        Ok(d) => d,
        Err(e) => return refuse(e),
    };
    let minutes = match fr::parse_duration(&input.duration, DAY_MINUTES) {
        Ok(m) => m,
        Err(e) => return refuse(duration_error(e, &input.duration)),
    };
    if !ui::fits(&input.note, MAX_NOTE) {
        return refuse(format!("La note fait au plus {MAX_NOTE} caractères."));
    }
    if day_total(&person, &date, None)? + minutes > DAY_MINUTES {
        return refuse(format!(
            "Le total saisi pour {person_name} le {} dépasserait 24 h.",
            fr::date_short(&date)
        ));
    }
    let on_behalf = person != me;
    let record = json!({
        "task": task.id,
        "project": l.project.id,
        "group_id": l.project.group_id,
        "mission": l.project.mission,
        "person": person,
        "person_name": person_name,
        "date": date,
        "year": date.get(0..4).and_then(|y| y.parse::<i64>().ok()),
        "month": date.get(0..7),
        "project_person": format!("{}:{}", l.project.id, person),
        "minutes": minutes,
        "note": input.note,
        "entered_by": me,
        "entered_by_name": l.my_name(),
        "on_behalf": on_behalf,
        "revision": 1,
    });
    let entry: Entry = records::insert(ENTRIES, &record)?;
    refresh_task_minutes(&task.id)?;
    publish(&entry, &l.project, &task.title, "created");
    if on_behalf {
        let _ = audit::write(
            "temps.saisir-pour",
            &format!("{person_name} — {} ({})", task.title, entry.id),
            &json!({ "date": entry.date, "minutes": entry.minutes, "note": entry.note }),
        );
        mail_person(&l, &entry, &task, "a saisi");
    }
    Ok(Response::see_other(&format!(
        "{}?ok=temps#temps-tache",
        task.path()
    )))
}

/// The task page's « Temps passé » section: its entries and the form.
pub fn task_section(
    l: &Loaded,
    task: &Task,
    assignees: &[Assignee],
    error: Option<&str>,
    typed: Option<&TimeInput>,
) -> Result<Markup, StoreError> {
    let entries = model::entries_of_task(&task.id)?;
    let total: i64 = entries.iter().map(|e| e.minutes).sum();
    let may_log = !l.archived()
        && (l.contributes()
            || (l.role == Some(GroupRole::Guest)
                && assignees.iter().any(|a| Some(a.user.as_str()) == l.me())));
    let members = if l.manages() { l.members() } else { Vec::new() };
    let input = typed.cloned().unwrap_or_else(|| TimeInput {
        date: ui::my_today(),
        ..TimeInput::default()
    });
    let zone = time::zone_or_default(&maillage_sdk::context().time_zone);
    Ok(html! {
        section id="temps-tache" {
            h2 { "Temps passé : " (fr::duration(total)) }
            @if entries.is_empty() { p class="empty" { "Aucun temps saisi sur cette tâche." } }
            @else {
                table class="saisies" {
                    thead { tr { th { "Date du travail" } th { "Personne" } th { "Durée" } th { "Note" } th {} } }
                    tbody {
                        @for e in &entries {
                            tr data-saisie=(e.id) data-personne=(e.person) {
                                (ui::date_cell("date", &e.date))
                                td { (e.person_name) }
                                td { (ui::duration(e.minutes)) }
                                td {
                                    (e.note)
                                    @if e.on_behalf {
                                        " " span class="saisi-par" { "saisi par " (e.entered_by_name) " le " (time::date_fr(time::local(time::from_seconds(e.created_at), &zone).date())) }
                                    }
                                    @if e.updated_by.is_some() && e.updated_by.as_deref() != Some(e.person.as_str()) {
                                        " " span class="modifie-par" { "modifié par " (e.updated_by_name) }
                                    }
                                }
                                td {
                                    @if l.edits_entry(e) && !l.archived() {
                                        a href=(href(&format!("{}/temps/{}/modifier", l.project.path(), e.id))) { "Modifier" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if may_log {
                (alert(error))
                form class="temps stack" method="post" action=(href(&format!("{}/temps", task.path()))) {
                    (csrf_field())
                    @if l.manages() {
                        label for="temps-personne" { "Pour" }
                        select id="temps-personne" name="personne" {
                            @for m in &members {
                                option value=(m.user_id) selected[m.user_id == input.person || (input.person.is_empty() && Some(m.user_id.as_str()) == l.me())] { (m.display_name) }
                            }
                        }
                    }
                    label for="temps-date" { "Date du travail" }
                    input id="temps-date" type="date" name="date" required value=(input.date) max=(ui::my_today());
                    label for="temps-duree" { "Durée (par exemple 1 h 30, 45 min ou 1,5)" }
                    input id="temps-duree" name="duree" required value=(input.duration);
                    label for="temps-note" { "Note (facultative)" }
                    input id="temps-note" name="note" maxlength=(MAX_NOTE) value=(input.note);
                    p class="muted" { "Le temps des réunions émargées est déjà compté : ne le saisissez pas ici." }
                    button type="submit" { "Enregistrer le temps" }
                }
            }
        }
    })
}

/// The entry a route names, the project and its task, the viewer allowed to change it.
fn editable(
    group_id: &str,
    entry_id: &str,
) -> Result<Result<(Loaded, Entry, Task), Response>, StoreError> {
    let l = match loaded(group_id)? {
        Ok(l) => l,
        Err(r) => return Ok(Err(r)),
    };
    let Some(entry) = model::entry_in(&l.project, entry_id)? else {
        return Ok(Err(Response::not_found()));
    };
    let Some(task) = records::get::<Task>(TASKS, &entry.task)? else {
        return Ok(Err(Response::not_found()));
    };
    if !l.edits_entry(&entry) {
        return Ok(Err(ui::refused(
            403,
            "Vous ne pouvez modifier que vos propres saisies de temps.",
        )));
    }
    if l.archived() && !l.coordinator {
        return Ok(Err(ui::refused(409, ui::ARCHIVED)));
    }
    Ok(Ok((l, entry, task)))
}

fn edit_form(
    l: &Loaded,
    entry: &Entry,
    task: &Task,
    input: &TimeInput,
    error: Option<&str>,
) -> Response {
    let base = format!("{}/temps/{}", l.project.path(), entry.id);
    let body = html! {
        (ui::head())
        h1 { "Modifier une saisie de temps" }
        p class="muted" { "Projet : " a href=(href(&l.project.path())) { (l.project.title()) } " · Tâche : " a href=(href(&task.path())) { (task.title) } " · Pour : " (entry.person_name) }
        (alert(error))
        form class="temps stack" method="post" action=(href(&format!("{base}/modifier"))) {
            (csrf_field())
            label for="temps-date" { "Date du travail" }
            input id="temps-date" type="date" name="date" required value=(input.date);
            label for="temps-duree" { "Durée" }
            input id="temps-duree" name="duree" required value=(input.duration);
            label for="temps-note" { "Note (facultative)" }
            input id="temps-note" name="note" maxlength=(MAX_NOTE) value=(input.note);
            button type="submit" { "Enregistrer" }
        }
        form method="post" action=(href(&format!("{base}/supprimer"))) {
            (csrf_field())
            button type="submit" class="link" data-confirm="Supprimer cette saisie ?" { "Supprimer la saisie" }
        }
    };
    let response = Response::page("Modifier une saisie de temps", body);
    if error.is_some() {
        response.with_status(422)
    } else {
        response
    }
}

/// `GET /p/{g}/temps/{e}/modifier`.
pub fn edit_page(group_id: &str, entry_id: &str) -> PageResult {
    let (l, entry, task) = match editable(group_id, entry_id)? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let input = TimeInput {
        date: entry.date.clone(),
        duration: fr::duration(entry.minutes),
        note: entry.note.clone(),
        person: entry.person.clone(),
    };
    Ok(edit_form(&l, &entry, &task, &input, None))
}

fn trace_change(l: &Loaded, before: &Entry, after: Option<&Entry>, task: &Task) {
    if l.me() == Some(before.person.as_str()) {
        return;
    }
    let (action, details) = match after {
        Some(a) => (
            "temps.modifier",
            json!({ "avant": { "date": before.date, "minutes": before.minutes, "note": before.note },
                    "apres": { "date": a.date, "minutes": a.minutes, "note": a.note } }),
        ),
        None => (
            "temps.supprimer",
            json!({ "date": before.date, "minutes": before.minutes, "note": before.note }),
        ),
    };
    let _ = audit::write(
        action,
        &format!("{} — {} ({})", before.person_name, task.title, before.id),
        &details,
    );
    mail_person(
        l,
        after.unwrap_or(before),
        task,
        if after.is_some() {
            "a modifié"
        } else {
            "a supprimé"
        },
    );
}

/// `POST /p/{g}/temps/{e}/modifier`.
pub fn update(group_id: &str, entry_id: &str, form: &Form) -> PageResult {
    let (l, entry, task) = match editable(group_id, entry_id)? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let input = TimeInput::from_form(form);
    let date = match check_date(&input.date) {
        Ok(d) => d,
        Err(e) => return Ok(edit_form(&l, &entry, &task, &input, Some(&e))),
    };
    let minutes = match fr::parse_duration(&input.duration, DAY_MINUTES) {
        Ok(m) => m,
        Err(e) => {
            return Ok(edit_form(
                &l,
                &entry,
                &task,
                &input,
                Some(&duration_error(e, &input.duration)),
            ));
        }
    };
    if !ui::fits(&input.note, MAX_NOTE) {
        return Ok(edit_form(
            &l,
            &entry,
            &task,
            &input,
            Some(&format!("La note fait au plus {MAX_NOTE} caractères.")),
        ));
    }
    if day_total(&entry.person, &date, Some(&entry.id))? + minutes > DAY_MINUTES {
        let e = format!(
            "Le total saisi pour {} le {} dépasserait 24 h.",
            entry.person_name,
            fr::date_short(&date)
        );
        return Ok(edit_form(&l, &entry, &task, &input, Some(&e)));
    }
    let Some(saved) = records::update::<Entry>(
        ENTRIES,
        &entry.id,
        &json!({
            "date": date,
            "year": date.get(0..4).and_then(|y| y.parse::<i64>().ok()),
            "month": date.get(0..7),
            "minutes": minutes,
            "note": input.note,
            "updated_by": l.me(),
            "updated_by_name": l.my_name(),
            "revision": entry.revision + 1,
        }),
    )?
    else {
        return Ok(Response::not_found());
    };
    refresh_task_minutes(&task.id)?;
    publish(&saved, &l.project, &task.title, "updated");
    trace_change(&l, &entry, Some(&saved), &task);
    Ok(Response::see_other(&format!(
        "{}?ok=temps-modifie#temps-tache",
        task.path()
    )))
}

/// `POST /p/{g}/temps/{e}/supprimer`.
pub fn delete(group_id: &str, entry_id: &str) -> PageResult {
    let (l, entry, task) = match editable(group_id, entry_id)? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    records::delete(ENTRIES, &entry.id)?;
    refresh_task_minutes(&task.id)?;
    let gone = Entry {
        revision: entry.revision + 1,
        ..entry.clone()
    };
    publish(&gone, &l.project, &task.title, "deleted");
    trace_change(&l, &entry, None, &task);
    Ok(Response::see_other(&format!(
        "{}?ok=temps-supprime#temps-tache",
        task.path()
    )))
}

/// Minutes per key of `group_by` for the entries matching `filter`.
fn totals(
    filter: &str,
    params: &[(&str, &str)],
    group_by: &str,
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut q = Query::new().filter(filter);
    for (k, v) in params {
        q = q.param(k, v);
    }
    Ok(q.aggregate(ENTRIES, Some(group_by), Some("minutes"))?
        .into_iter()
        .map(|g| {
            (
                g.key.as_str().map(str::to_string).unwrap_or_default(),
                g.sum,
            )
        })
        .collect())
}

/// The project page's « Temps passé » section.
pub fn section(l: &Loaded) -> Result<Markup, StoreError> {
    let per_person = totals("project = {:p}", &[("p", &l.project.id)], "person")?;
    let total: i64 = per_person.iter().map(|(_, m)| m).sum();
    let names = person_names(&l.project.id, &per_person)?;
    Ok(html! {
        section id="temps" {
            h2 { "Temps passé" }
            p { "Temps passé sur le projet : " span class="total-temps" data-minutes=(total) { (fr::hours(total)) " h" } }
            @if l.inside() && !per_person.is_empty() {
                table class="temps-personnes" {
                    thead { tr { th { "Personne" } th { "Temps passé (h)" } } }
                    tbody {
                        @for (person, minutes) in &per_person {
                            tr data-personne=(person) {
                                td { (names.get(person).cloned().unwrap_or_default()) }
                                (hours_cell(*minutes))
                            }
                        }
                    }
                }
                p { a href=(href(&format!("{}/temps", l.project.path()))) { "Détail et export" } }
            }
        }
    })
}

/// Account id → name of the people in `per_person`, each from one of their entries of
/// the project (the `project_person` index), not from a scan of every entry.
fn person_names(
    project_id: &str,
    per_person: &[(String, i64)],
) -> Result<BTreeMap<String, String>, StoreError> {
    let mut names = BTreeMap::new();
    for (person, _) in per_person {
        let entry = Query::new()
            .filter("project_person = {:pp}")
            .param("pp", format!("{project_id}:{person}"))
            .fields(&[
                "task",
                "project",
                "group_id",
                "person",
                "person_name",
                "date",
            ])
            .first::<Entry>(ENTRIES)?;
        if let Some(e) = entry {
            names.insert(e.person, e.person_name);
        }
    }
    Ok(names)
}

/// The filters of the time pages: period and grouping.
struct Period {
    from: Option<String>,
    to: Option<String>,
    by: String,
}

fn period(query: &str, groupings: &[&str]) -> Result<Period, String> {
    let from = ui::optional_date(&ui::param(query, "du"))
        .map_err(|_| "La date « du » est invalide.".to_string())?;
    let to = ui::optional_date(&ui::param(query, "au"))
        .map_err(|_| "La date « au » est invalide.".to_string())?;
    if let (Some(f), Some(t)) = (&from, &to)
        && f > t
    {
        return Err("La date « du » est après la date « au ».".into());
    }
    let by = ui::param(query, "par");
    let by = if by.is_empty() {
        groupings[0].to_string()
    } else {
        by
    };
    if !groupings.contains(&by.as_str()) {
        return Err("Regroupement inconnu.".into());
    }
    Ok(Period { from, to, by })
}

fn period_filter(base: &str, p: &Period) -> String {
    let mut filter = base.to_string();
    if p.from.is_some() {
        filter.push_str(" && date >= {:du}");
    }
    if p.to.is_some() {
        filter.push_str(" && date <= {:au}");
    }
    filter
}

fn period_query(mut q: Query, p: &Period) -> Query {
    if let Some(f) = &p.from {
        q = q.param("du", f);
    }
    if let Some(t) = &p.to {
        q = q.param("au", t);
    }
    q
}

/// The entries `base` selects (a filter over `q`'s params) in the period, by date worked.
fn period_entries(q: Query, base: &str, p: &Period) -> Result<Vec<Entry>, StoreError> {
    period_query(q.filter(&period_filter(base, p)), p)
        .sort("date,created_at")
        .fetch_all(ENTRIES, 100_000)
}

fn project_entries(project: &Project, p: &Period) -> Result<Vec<Entry>, StoreError> {
    period_entries(Query::new().param("p", &project.id), "project = {:p}", p)
}

/// `GET /p/{g}/temps`.
pub fn project_page(group_id: &str, query: &str) -> PageResult {
    let l = match loaded(group_id)? {
        Ok(l) => l,
        Err(r) => return Ok(r),
    };
    if !l.inside() {
        return ui::forbidden("Le détail du temps passé est réservé aux membres du projet.");
    }
    let p = match period(query, &["personne", "tache", "mois"]) {
        Ok(p) => p,
        Err(e) => return Ok(ui::refused(422, &e)),
    };
    let entries = project_entries(&l.project, &p)?;
    let mut rows: BTreeMap<String, (String, i64)> = BTreeMap::new();
    let titles = task_titles(&entries)?;
    for e in &entries {
        let (key, label) = match p.by.as_str() {
            "tache" => (
                e.task.clone(),
                titles.get(&e.task).cloned().unwrap_or_default(),
            ),
            "mois" => (e.date[0..7].to_string(), month_label(&e.date)),
            _ => (e.person.clone(), e.person_name.clone()),
        };
        let row = rows.entry(key).or_insert((label, 0));
        row.1 += e.minutes;
    }
    let total: i64 = entries.iter().map(|e| e.minutes).sum();
    let suffix = export_query(&p);
    let body = html! {
        (ui::head())
        p class="muted" { a href=(href(&l.project.path())) { (l.project.title()) } }
        div class="toolbar" {
            h1 { "Temps passé — " (l.project.name) }
            (ui::export_links(&format!("{}/temps", l.project.path()), &suffix))
        }
        form class="filtres" method="get" action=(href(&format!("{}/temps", l.project.path()))) {
            label for="du" { "Du" }
            input id="du" type="date" name="du" value=(p.from.clone().unwrap_or_default());
            label for="au" { "Au" }
            input id="au" type="date" name="au" value=(p.to.clone().unwrap_or_default());
            label for="par" { "Par" }
            select id="par" name="par" {
                option value="personne" selected[p.by == "personne"] { "Personne" }
                option value="tache" selected[p.by == "tache"] { "Tâche" }
                option value="mois" selected[p.by == "mois"] { "Mois" }
            }
            button type="submit" { "Afficher" }
        }
        table class="temps" data-par=(p.by) {
            thead { tr { th { (match p.by.as_str() { "tache" => "Tâche", "mois" => "Mois", _ => "Personne" }) } th { "Temps passé (h)" } } }
            tbody {
                @for (key, (label, minutes)) in &rows {
                    tr data-cle=(key) { td { (label) } (hours_cell(*minutes)) }
                }
            }
            tfoot { tr class="total" { th { "Total" } (hours_cell(total)) } }
        }
    };
    Ok(Response::page(
        &format!("Temps passé — {}", l.project.name),
        body,
    ))
}

/// The page's own query for its export links: `?du=…&au=…&par=…`.
fn export_query(p: &Period) -> String {
    let mut parts = Vec::new();
    if let Some(f) = &p.from {
        parts.push(format!("du={f}"));
    }
    if let Some(t) = &p.to {
        parts.push(format!("au={t}"));
    }
    parts.push(format!("par={}", p.by));
    format!("?{}", parts.join("&"))
}

/// « décembre 2026 » of a "YYYY-MM-DD" date.
fn month_label(date: &str) -> String {
    let month: u32 = date.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(0);
    format!("{} {}", fr::month_name(month), date.get(0..4).unwrap_or(""))
}

/// The columns of every time export: one row per entry.
const ENTRY_COLUMNS: [&str; 11] = [
    "Date du travail",
    "Projet",
    "Numéro",
    "Mission",
    "Tâche",
    "Personne",
    "Durée (h)",
    "Note",
    "Saisi par",
    "Saisi le",
    "Pour autrui",
];

/// A time export (a project's, mine, the structure's): one row per entry of `entries`
/// in their order, with its project (`project_of` its id; entries of an unknown project
/// are left out) and its task's title, then the total.
fn entries_export<'a>(
    sheet: &'static str,
    file_stem: &str,
    entries: &[Entry],
    project_of: impl Fn(&str) -> Option<&'a Project>,
    titles: &HashMap<String, String>,
) -> Export {
    let zone = time::zone_or_default(&maillage_sdk::context().time_zone);
    let mut export = Export::new(sheet, file_stem, &ENTRY_COLUMNS);
    for e in entries {
        let Some(project) = project_of(e.project.as_str()) else {
            continue;
        };
        let entered = time::local(time::from_seconds(e.created_at), &zone).date();
        export.row(vec![
            Cell::Date(e.date.clone()),
            Cell::text(project.name.as_str()),
            Cell::text(project.numero()),
            Cell::text(project.mission.as_str()),
            Cell::text(titles.get(&e.task).cloned().unwrap_or_default()),
            Cell::text(e.person_name.as_str()),
            Cell::Hours(e.minutes),
            Cell::text(e.note.as_str()),
            Cell::text(e.entered_by_name.as_str()),
            Cell::Date(time::date_input(entered)),
            Cell::yes_no(e.on_behalf),
        ]);
    }
    export.with_total()
}

/// Task id → title, for the tasks of `entries`.
fn task_titles(entries: &[Entry]) -> Result<HashMap<String, String>, StoreError> {
    let mut ids: Vec<String> = entries.iter().map(|e| e.task.clone()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut titles = HashMap::new();
    for chunk in ids.chunks(500) {
        let tasks: Vec<Task> = Query::new()
            .filter("id in {:ids}")
            .param("ids", chunk)
            .fields(&["project", "group_id", "title"])
            .fetch_all(TASKS, 1000)?;
        titles.extend(tasks.into_iter().map(|t| (t.id, t.title)));
    }
    Ok(titles)
}

/// `temps-{numéro}` (or `temps-{g}`), the project's export files without extension.
fn export_stem(l: &Loaded) -> String {
    let stem: String = if l.project.numero().is_empty() {
        l.project.group_id.clone()
    } else {
        l.project
            .numero()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    format!("temps-{stem}")
}

fn export_allowed(
    group_id: &str,
    query: &str,
) -> Result<Result<(Loaded, Period), Response>, StoreError> {
    let l = match loaded(group_id)? {
        Ok(l) => l,
        Err(r) => return Ok(Err(r)),
    };
    if !l.inside() {
        return Ok(Err(ui::refused(
            403,
            "Le détail du temps passé est réservé aux membres du projet.",
        )));
    }
    match period(query, &["personne", "tache", "mois", "saisie"]) {
        Ok(p) => Ok(Ok((l, p))),
        Err(e) => Ok(Err(ui::refused(422, &e))),
    }
}

/// `GET /p/{g}/temps.csv`, `.xlsx`: one row per entry of the period by date worked,
/// whatever `par`, then the total.
pub fn project_export(group_id: &str, query: &str, kind: FileKind) -> PageResult {
    let (l, p) = match export_allowed(group_id, query)? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let entries = project_entries(&l.project, &p)?;
    let titles = task_titles(&entries)?;
    let stem = export_stem(&l);
    let export = entries_export(
        "Temps passé",
        &stem,
        &entries,
        |_| Some(&l.project),
        &titles,
    );
    Ok(export.respond(kind))
}

/// « Mon temps passé » for the year asked (every year when none): my total per
/// project (by start date, then name) and my entries, by project in that order, then
/// by date worked.
struct MyTime {
    year: Option<i64>,
    per_project: Vec<(Project, i64)>,
    entries: Vec<Entry>,
}

impl MyTime {
    fn project(&self, id: &str) -> Option<&Project> {
        self.per_project
            .iter()
            .find(|(p, _)| p.id == id)
            .map(|(p, _)| p)
    }
}

fn my_time(query: &str) -> Result<Result<MyTime, Response>, StoreError> {
    let viewer = Viewer::current();
    let Some(me) = viewer.id().map(str::to_string) else {
        return Ok(Err(ui::refused(403, "Veuillez vous connecter.")));
    };
    let year = ui::param(query, "annee");
    let year: Option<i64> = if year.is_empty() {
        None
    } else {
        match year.parse::<i64>() {
            Ok(y) if (2000..=2100).contains(&y) => Some(y),
            _ => {
                return Ok(Err(ui::refused(
                    422,
                    "L’année doit être comprise entre 2000 et 2100.",
                )));
            }
        }
    };
    let mut q = Query::new()
        .filter(if year.is_some() {
            "person = {:me} && year = {:y}"
        } else {
            "person = {:me}"
        })
        .param("me", &me);
    if let Some(y) = year {
        q = q.param("y", y);
    }
    let mut entries: Vec<Entry> = q.sort("date,created_at").fetch_all(ENTRIES, 100_000)?;
    let projects = model::all_projects()?;
    let mut per_project: Vec<(Project, i64)> = Vec::new();
    for e in &entries {
        match per_project.iter_mut().find(|(p, _)| p.id == e.project) {
            Some(row) => row.1 += e.minutes,
            None => {
                if let Some(p) = projects.iter().find(|p| p.id == e.project) {
                    per_project.push((p.clone(), e.minutes));
                }
            }
        }
    }
    per_project.sort_by(|a, b| {
        a.0.start_date
            .cmp(&b.0.start_date)
            .then_with(|| a.0.name.cmp(&b.0.name))
    });
    let position = |id: &str| per_project.iter().position(|(p, _)| p.id == id);
    entries.retain(|e| position(e.project.as_str()).is_some());
    entries.sort_by_key(|e| position(e.project.as_str()));
    Ok(Ok(MyTime {
        year,
        per_project,
        entries,
    }))
}

/// `GET /mon-temps`: my time per project, then my entries.
pub fn mine(query: &str) -> PageResult {
    let t = match my_time(query)? {
        Ok(t) => t,
        Err(r) => return Ok(r),
    };
    let titles = task_titles(&t.entries)?;
    let total: i64 = t.entries.iter().map(|e| e.minutes).sum();
    let suffix = t.year.map(|y| format!("?annee={y}")).unwrap_or_default();
    let body = html! {
        (ui::head())
        div class="toolbar" {
            h1 { "Mon temps passé" }
            (ui::export_links("/mon-temps", &suffix))
        }
        form class="filtres" method="get" action=(href("/mon-temps")) {
            label for="annee" { "Année" }
            input id="annee" name="annee" inputmode="numeric" value=(t.year.map(|y| y.to_string()).unwrap_or_default());
            button type="submit" { "Afficher" }
        }
        @if t.per_project.is_empty() { p class="empty" { "Aucun temps saisi." } }
        @else {
            table class="mon-temps" {
                thead { tr { th { "Nom du projet" } th { "Date de début" } th { "Temps passé (h)" } } }
                tbody {
                    @for (p, minutes) in &t.per_project {
                        tr class="projet" data-groupe=(p.group_id) {
                            td { a href=(href(&p.path())) { (p.title()) } }
                            (ui::date_cell("debut", &p.start_date))
                            (hours_cell(*minutes))
                        }
                    }
                }
                tfoot { tr class="total" { th { "Total" } td {} (hours_cell(total)) } }
            }
            h2 { "Mes saisies" }
            table class="mes-saisies" {
                thead { tr { th { "Date du travail" } th { "Projet" } th { "Tâche" } th { "Durée" } th { "Note" } } }
                tbody {
                    @for e in &t.entries {
                        tr data-saisie=(e.id) data-groupe=(e.group_id) {
                            (ui::date_cell("date", &e.date))
                            td { @if let Some(p) = t.project(&e.project) { (p.title()) } }
                            td { a href=(href(&format!("/p/{}/taches/{}#temps-tache", e.group_id, e.task))) { (titles.get(&e.task).cloned().unwrap_or_default()) } }
                            td { (ui::duration(e.minutes)) }
                            td { (e.note) }
                        }
                    }
                }
            }
        }
    };
    Ok(Response::page("Mon temps passé", body))
}

/// `GET /mon-temps.csv`, `.xlsx`: my entries as the page lists them, then the total.
pub fn mine_export(query: &str, kind: FileKind) -> PageResult {
    let t = match my_time(query)? {
        Ok(t) => t,
        Err(r) => return Ok(r),
    };
    let titles = task_titles(&t.entries)?;
    let export = entries_export(
        "Mon temps passé",
        "mon-temps",
        &t.entries,
        |id| t.project(id),
        &titles,
    );
    Ok(export.respond(kind))
}

/// The entries' field the structure's report groups by (`par`).
fn report_field(by: &str) -> &'static str {
    match by {
        "personne" => "person",
        "mission" => "mission",
        _ => "project",
    }
}

/// An entry's value of `field` (see [`report_field`]).
fn entry_key<'e>(e: &'e Entry, field: &str) -> &'e str {
    match field {
        "person" => e.person.as_str(),
        "mission" => e.mission.as_str(),
        _ => e.project.as_str(),
    }
}

/// The names of the structure report's rows: projects, members, missions.
struct Labels {
    projects: HashMap<String, Project>,
    people: HashMap<String, String>,
    missions: HashMap<String, String>,
}

impl Labels {
    fn load() -> Result<Labels, StoreError> {
        let projects: Vec<Project> = Query::new().fetch_all(PROJECTS, model::PAGE_MAX)?;
        Ok(Labels {
            projects: projects.into_iter().map(|p| (p.id.clone(), p)).collect(),
            people: maillage_sdk::members()
                .into_iter()
                .map(|m| (m.user_id, m.display_name))
                .collect(),
            missions: model::missions()?
                .into_iter()
                .map(|m| (m.code.clone(), m.title()))
                .collect(),
        })
    }

    /// The name of `key`, a value of `field`; the key itself when unknown.
    fn of(&self, field: &str, key: &str) -> String {
        let found = match field {
            "person" => self.people.get(key).cloned(),
            "mission" => self.missions.get(key).cloned(),
            _ => self.projects.get(key).map(Project::title),
        };
        found.unwrap_or_else(|| key.to_string())
    }
}

/// The structure's report and its exports: coordinators only, the page's filters.
fn report_allowed(query: &str) -> Result<Period, Response> {
    if !Viewer::current().coordinator {
        return Err(ui::refused(
            403,
            "Le temps passé de toute la structure est réservé aux coordinateurs.",
        ));
    }
    period(query, &["projet", "personne", "mission"]).map_err(|e| ui::refused(422, &e))
}

/// `GET /temps` (coordinators): the structure's time per project, person or mission.
pub fn structure_page(query: &str) -> PageResult {
    let p = match report_allowed(query) {
        Ok(p) => p,
        Err(r) => return Ok(r),
    };
    let field = report_field(&p.by);
    let q = period_query(Query::new().filter(&period_filter("minutes > 0", &p)), &p);
    let groups = q.aggregate(ENTRIES, Some(field), Some("minutes"))?;
    let labels = Labels::load()?;
    let mut rows: Vec<(String, String, i64)> = groups
        .into_iter()
        .map(|g| {
            let key = g.key.as_str().unwrap_or_default().to_string();
            let label = labels.of(field, &key);
            (key, label, g.sum)
        })
        .collect();
    rows.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
    let total: i64 = rows.iter().map(|r| r.2).sum();
    let suffix = export_query(&p);
    let body = html! {
        (ui::head())
        div class="toolbar" {
            h1 { "Temps passé par projet" }
            (ui::export_links("/temps", &suffix))
        }
        (ui::notice(query))
        form class="filtres" method="get" action=(href("/temps")) {
            label for="du" { "Du" }
            input id="du" type="date" name="du" value=(p.from.clone().unwrap_or_default());
            label for="au" { "Au" }
            input id="au" type="date" name="au" value=(p.to.clone().unwrap_or_default());
            label for="par" { "Par" }
            select id="par" name="par" {
                option value="projet" selected[p.by == "projet"] { "Projet" }
                option value="personne" selected[p.by == "personne"] { "Personne" }
                option value="mission" selected[p.by == "mission"] { "Mission" }
            }
            button type="submit" { "Afficher" }
        }
        table class="temps" data-par=(p.by) {
            thead { tr { th { "" } th { "Temps passé (h)" } } }
            tbody {
                @for (key, label, minutes) in &rows {
                    tr data-cle=(key) { td { (label) } (hours_cell(*minutes)) }
                }
            }
            tfoot { tr class="total" { th { "Total" } (hours_cell(total)) } }
        }
        form method="post" action=(href("/temps/republier")) {
            (csrf_field())
            p class="muted" { "Un module activé après coup (les indemnités, par exemple) peut recevoir à nouveau tout le temps saisi." }
            button type="submit" { "Republier le temps passé" }
        }
    };
    Ok(Response::page("Temps passé par projet", body))
}

/// `GET /temps.csv`, `.xlsx` (coordinators): every entry of the period in the page's
/// order (its rows by name, each row's entries by date worked), then the total.
pub fn structure_export(query: &str, kind: FileKind) -> PageResult {
    let p = match report_allowed(query) {
        Ok(p) => p,
        Err(r) => return Ok(r),
    };
    let field = report_field(&p.by);
    let mut entries = period_entries(Query::new(), "minutes > 0", &p)?;
    let labels = Labels::load()?;
    entries.sort_by_cached_key(|e| {
        let key = entry_key(e, field);
        (
            labels.of(field, key),
            key.to_string(),
            e.date.clone(),
            e.created_at,
            e.id.clone(),
        )
    });
    let titles = task_titles(&entries)?;
    let export = entries_export(
        "Temps passé par projet",
        "temps",
        &entries,
        |id| labels.projects.get(id),
        &titles,
    );
    Ok(export.respond(kind))
}

/// `POST /temps/republier` (coordinators): every entry's event again, same revision.
pub fn republish() -> PageResult {
    let viewer = Viewer::current();
    if !viewer.coordinator {
        return ui::forbidden("Seuls les coordinateurs republient le temps passé.");
    }
    let projects: Vec<Project> = Query::new().fetch_all(PROJECTS, model::PAGE_MAX)?;
    let entries: Vec<Entry> = Query::new()
        .sort("created_at")
        .fetch_all(ENTRIES, 100_000)?;
    let tasks: Vec<Task> = Query::new()
        .fields(&["project", "group_id", "title"])
        .fetch_all(TASKS, 100_000)?;
    let mut count = 0;
    for e in &entries {
        let Some(project) = projects.iter().find(|p| p.id == e.project) else {
            continue;
        };
        let title = tasks
            .iter()
            .find(|t| t.id == e.task)
            .map(|t| t.title.as_str())
            .unwrap_or("");
        publish(e, project, title, "updated");
        count += 1;
    }
    let _ = audit::write("temps.republier", "temps", &json!({ "entries": count }));
    Ok(Response::see_other("/temps?ok=republie"))
}
