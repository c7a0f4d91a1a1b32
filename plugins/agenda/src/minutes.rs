//! The compte-rendu of a meeting: a text edited in the browser, every save kept as a
//! new version (the history), and the decisions and tasks it lists: lines starting
//! with « Décision : », « Tâche : », « À faire : » or « [ ] ».

use maillage_sdk::form::Form;
use maillage_sdk::html::{Markup, alert, csrf_field, href, html};
use maillage_sdk::records::{self, Query, StoreError, or_default};
use maillage_sdk::text::fold;
use maillage_sdk::{Response, time};
use serde::Deserialize;
use serde_json::json;

use crate::model::{self, Loaded, MINUTES, Meeting, Viewer};
use crate::ui::{self, PageResult};

/// Longest compte-rendu, in characters (the form's limit).
pub const MAX_MINUTES: usize = 30_000;
/// Longest compte-rendu, in bytes (what a text field holds).
const MAX_MINUTES_BYTES: usize = 60_000;

#[derive(Debug, Clone, Deserialize)]
pub struct Version {
    #[serde(default, deserialize_with = "or_default")]
    pub version: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub text: String,
    #[serde(default, deserialize_with = "or_default")]
    pub by_name: String,
    #[serde(default)]
    pub created_at: i64,
}

/// What a line of the compte-rendu lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Decision,
    Task,
}

/// The decisions and the tasks a compte-rendu lists, in order.
pub fn items(text: &str) -> Vec<(Item, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim().trim_start_matches(['-', '*', '•']).trim_start();
        let found = if let Some(rest) = line
            .strip_prefix("[ ]")
            .or_else(|| line.strip_prefix("[x]"))
            .or_else(|| line.strip_prefix("[X]"))
        {
            Some((Item::Task, rest.trim()))
        } else if let Some((head, rest)) = line.split_once(':') {
            match fold(head).as_str() {
                "decision" => Some((Item::Decision, rest.trim())),
                "tache" | "a faire" | "action" => Some((Item::Task, rest.trim())),
                _ => None,
            }
        } else {
            None
        };
        if let Some((item, text)) = found
            && !text.is_empty()
        {
            out.push((item, text.to_string()));
        }
    }
    out
}

/// Every version, newest first.
pub fn versions(meeting_id: &str) -> Result<Vec<Version>, StoreError> {
    let query = Query::new()
        .filter("meeting = {:m}")
        .param("m", meeting_id)
        .sort("-version");
    query.fetch_all(MINUTES, 1000)
}

fn items_list(text: &str) -> Markup {
    let found = items(text);
    let decisions: Vec<&String> = found
        .iter()
        .filter(|(i, _)| *i == Item::Decision)
        .map(|(_, t)| t)
        .collect();
    let tasks: Vec<&String> = found
        .iter()
        .filter(|(i, _)| *i == Item::Task)
        .map(|(_, t)| t)
        .collect();
    html! {
        @if !decisions.is_empty() {
            h3 { "Décisions" }
            ul class="decisions" { @for d in &decisions { li { (d) } } }
        }
        @if !tasks.is_empty() {
            h3 { "Tâches" }
            ul class="tasks" { @for t in &tasks { li { (t) } } }
        }
    }
}

/// The decisions and tasks of the latest version, for the meeting's page.
pub fn summary(meeting_id: &str) -> Result<Markup, StoreError> {
    let latest = Query::new()
        .filter("meeting = {:m}")
        .param("m", meeting_id)
        .sort("-version")
        .first::<Version>(MINUTES)?;
    Ok(html! {
        @if let Some(latest) = latest {
            section id="decisions" aria-labelledby="decisions-titre" {
                h2 id="decisions-titre" { "Décisions et tâches" }
                @if items(&latest.text).is_empty() {
                    p class="muted" { "Le compte-rendu ne liste ni décision ni tâche." }
                } @else {
                    (items_list(&latest.text))
                }
            }
        }
    })
}

fn may_edit(viewer: &Viewer, loaded: &Loaded) -> bool {
    viewer.manages(&loaded.meeting) || loaded.mine.is_some()
}

fn page_of(
    meeting: &Meeting,
    editable: bool,
    versions: &[Version],
    shown: Option<i64>,
    draft: Option<&str>,
    query: &str,
    error: Option<&str>,
) -> Response {
    let tz = meeting.tz();
    let latest = versions.first();
    let current = draft
        .map(str::to_string)
        .or_else(|| latest.map(|v| v.text.clone()))
        .unwrap_or_default();
    let base = latest.map(|v| v.version).unwrap_or(0);
    let old = shown.and_then(|n| {
        versions
            .iter()
            .find(|v| v.version == n && Some(n) != latest.map(|l| l.version))
    });
    let path = meeting.path();
    let when = |at: i64| time::instant_fr(time::from_seconds(at), &tz);
    let body = html! {
        (ui::head())
        p { a href=(href(&path)) { "← " (meeting.title) } }
        h1 { "Compte-rendu" }
        p { strong { (meeting.title) } " — " (meeting.when_with_zone()) }
        (ui::notice_block(query))
        (alert(error))
        @if let Some(old) = old {
            section class="old-version" {
                h2 { "Version " (old.version) " — " (old.by_name) ", " (when(old.created_at)) }
                p { (ui::lines(&old.text)) }
                p { a href=(href(&format!("{path}/compte-rendu"))) { "Revenir à la version actuelle" } }
            }
        }
        @if editable {
            form method="post" action=(href(&format!("{path}/compte-rendu"))) class="stack minutes-form" {
                (csrf_field())
                input type="hidden" name="version" value=(base);
                label for="texte" { "Texte du compte-rendu" }
                textarea id="texte" name="texte" rows="16" maxlength=(MAX_MINUTES) { (current) }
                p class="muted" {
                    "Les lignes qui commencent par « Décision : » ou « Tâche : » sont reprises "
                    "dans la liste des décisions et des tâches."
                }
                button type="submit" { "Enregistrer le compte-rendu" }
            }
        } @else if let Some(latest) = latest {
            p { (ui::lines(&latest.text)) }
        } @else {
            p class="empty" { "Pas encore de compte-rendu." }
        }
        @if !current.is_empty() {
            h2 { "Décisions et tâches" }
            (items_list(&current))
        }
        @if !versions.is_empty() {
            h2 { "Historique" }
            ol class="history" reversed {
                @for v in versions {
                    li {
                        a href=(href(&format!("{path}/compte-rendu?version={}", v.version))) {
                            "Version " (v.version)
                        }
                        " — " (v.by_name) ", " (when(v.created_at))
                    }
                }
            }
        }
    };
    Response::page("Compte-rendu", body)
}

/// `GET /r/{id}/compte-rendu[?version=n]`.
pub fn page(id: &str, query: &str) -> PageResult {
    let viewer = Viewer::current();
    let Some(loaded) = model::load(id, &viewer)? else {
        return Ok(Response::not_found());
    };
    let all = versions(id)?;
    let shown = ui::param(query, "version").parse::<i64>().ok();
    Ok(page_of(
        &loaded.meeting,
        may_edit(&viewer, &loaded),
        &all,
        shown,
        None,
        query,
        None,
    ))
}

/// `POST /r/{id}/compte-rendu`: `texte`, and `version`, the version it was written
/// from (a newer one saved meanwhile is not overwritten).
pub fn save(id: &str, form: &Form) -> PageResult {
    let viewer = Viewer::current();
    let Some(loaded) = model::load(id, &viewer)? else {
        return Ok(Response::not_found());
    };
    if !may_edit(&viewer, &loaded) {
        return Ok(Response::error(
            403,
            "Seuls les invités, l’organisateur, les référents et les coordinateurs rédigent le compte-rendu.",
        ));
    }
    let all = versions(id)?;
    let latest = all.first().map(|v| v.version).unwrap_or(0);
    let text = form.get("texte");
    let refuse = |status: u16, message: &str| {
        page_of(
            &loaded.meeting,
            true,
            &all,
            None,
            Some(text.as_str()),
            "",
            Some(message),
        )
        .with_status(status)
    };
    if text.chars().count() > MAX_MINUTES || text.len() > MAX_MINUTES_BYTES {
        return Ok(refuse(
            422,
            "Le compte-rendu ne doit pas dépasser 30 000 caractères.",
        ));
    }
    if form.get("version").parse::<i64>().ok() != Some(latest) {
        return Ok(refuse(
            409,
            "Le compte-rendu a été modifié entre-temps : relisez la dernière version avant d’enregistrer le vôtre (votre texte est ci-dessous).",
        ));
    }
    if all.first().is_some_and(|v| v.text == text) {
        return Ok(Response::see_other(&format!(
            "{}/compte-rendu",
            loaded.meeting.path()
        )));
    }
    records::insert::<_, serde_json::Value>(
        MINUTES,
        &json!({
            "meeting": id,
            "version": latest + 1,
            "text": text,
            "by_user": viewer.id(),
            "by_name": viewer.name(),
        }),
    )?;
    Ok(Response::see_other(&format!(
        "{}/compte-rendu?ok=compte-rendu",
        loaded.meeting.path()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_decisions_and_tasks() {
        let text = "Présents : 8\n\
                    Décision : le groupe se réunit chaque mois\n\
                    - Tâche : Anne écrit au pharmacien\n\
                    * À faire : réserver la salle\n\
                    [ ] envoyer le compte-rendu\n\
                    DECISION: budget validé\n\
                    Décision :\n\
                    Remarque : rien";
        assert_eq!(
            items(text),
            [
                (
                    Item::Decision,
                    "le groupe se réunit chaque mois".to_string()
                ),
                (Item::Task, "Anne écrit au pharmacien".to_string()),
                (Item::Task, "réserver la salle".to_string()),
                (Item::Task, "envoyer le compte-rendu".to_string()),
                (Item::Decision, "budget validé".to_string()),
            ]
        );
        assert!(items("").is_empty());
    }
}
