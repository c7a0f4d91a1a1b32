//! Small pieces shared by the module's pages.

use maillage_sdk::form::Form;
use maillage_sdk::groups::GroupRole;
use maillage_sdk::html::{Markup, html, stylesheet};
use maillage_sdk::records::StoreError;
use maillage_sdk::{Response, fr, time};

pub type PageResult = Result<Response, StoreError>;

/// The module's stylesheet, at the top of every page.
pub fn head() -> Markup {
    stylesheet("projets.css")
}

/// A query-string parameter, decoded; empty when absent.
pub fn param(query: &str, name: &str) -> String {
    Form::parse(query.as_bytes()).get(name)
}

/// The confirmation a redirect asked for with `?ok=…`.
pub fn notice(query: &str) -> Markup {
    let text = match param(query, "ok").as_str() {
        "cree" => "Le projet est créé.",
        "modifie" => "Le projet est modifié.",
        "missions" => "Les missions du projet de santé sont enregistrées.",
        "action" => "L’action est enregistrée.",
        "action-supprimee" => "L’action est supprimée.",
        "tache" => "La tâche est créée.",
        "tache-modifiee" => "La tâche est modifiée.",
        "tache-supprimee" => "La tâche est supprimée.",
        "faite" => "Tâche faite.",
        "faite-suivante" => "Tâche faite. La prochaine occurrence est créée.",
        "rouverte" => "La tâche est rouverte.",
        "temps" => "Le temps passé est enregistré.",
        "temps-modifie" => "La saisie de temps est modifiée.",
        "temps-supprime" => "La saisie de temps est supprimée.",
        "message" => "La discussion est à jour.",
        "republie" => "Le temps passé est republié aux autres modules.",
        "courriel" => "Votre message est envoyé par courriel.",
        "annonce" => "L’annonce est enregistrée.",
        "annonce-supprimee" => "L’annonce est supprimée.",
        "envoyee" => "L’annonce est envoyée par courriel aux membres de la structure.",
        "demande" => "Votre demande est envoyée aux référents du projet.",
        "demande-accepte" => "La demande est acceptée : la personne est membre actif du projet.",
        "demande-refuse" => "La demande est refusée.",
        "membres" => "Les membres du projet sont à jour.",
        "quitte" => "Vous avez quitté le projet.",
        "archive" => "Le projet est archivé.",
        "desarchive" => "Le projet est de nouveau en cours.",
        _ => "",
    };
    maillage_sdk::html::notice((!text.is_empty()).then_some(text))
}

/// A refused form or action: the status and the French reason, in the layout.
pub fn refused(status: u16, message: &str) -> Response {
    Response::error(status, message)
}

pub fn forbidden(message: &str) -> PageResult {
    Ok(refused(403, message))
}

pub const ARCHIVED: &str = "Ce projet est archivé : il n’est plus modifiable.";

/// Hours in a table cell: `td.heures[data-minutes=…]`, « 1,5 ».
pub fn hours_cell(minutes: i64) -> Markup {
    html! { td class="heures" data-minutes=(minutes) { (fr::hours(minutes)) } }
}

/// One entry's duration: `span.duree[data-minutes]`, « 1 h 30 ».
pub fn duration(minutes: i64) -> Markup {
    html! { span class="duree" data-minutes=(minutes) { (fr::duration(minutes)) } }
}

/// A date in a table: `td[data-date]` « 03/12/2026 ».
pub fn date_cell(class: &str, date: &str) -> Markup {
    html! { td class=(class) data-date=(date) { (fr::date_short(date)) } }
}

pub fn role_label(role: GroupRole) -> &'static str {
    match role {
        GroupRole::Referent => "Référent",
        GroupRole::Active => "Membre actif",
        GroupRole::Guest => "Invité externe",
    }
}

pub fn role_code(role: GroupRole) -> &'static str {
    match role {
        GroupRole::Referent => "referent",
        GroupRole::Active => "active",
        GroupRole::Guest => "guest",
    }
}

/// Text with its line breaks kept, each line escaped.
pub fn lines(text: &str) -> Markup {
    html! {
        @for (i, line) in text.lines().enumerate() {
            @if i > 0 {
                br;
            }
            (line)
        }
    }
}

/// Today in the structure's zone, "2026-12-03".
pub fn today() -> String {
    let zone = time::zone_or_default(&maillage_sdk::context().time_zone);
    time::date_input(time::local(time::now(), &zone).date())
}

/// Today in the acting member's own zone when they chose one, else the structure's.
pub fn my_today() -> String {
    let zone = maillage_sdk::user_time_zone()
        .and_then(|z| time::zone(&z).ok())
        .unwrap_or_else(|| time::zone_or_default(&maillage_sdk::context().time_zone));
    time::date_input(time::local(time::now(), &zone).date())
}

/// A value typed in a form or a query that cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid;

/// A date typed in a form or a query, "YYYY-MM-DD", from 2000 on; empty is none.
pub fn optional_date(text: &str) -> Result<Option<String>, Invalid> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match time::parse_date(text) {
        Ok(d) if d.year() >= 2000 && d.year() <= 2100 => Ok(Some(time::date_input(d))),
        _ => Err(Invalid),
    }
}

/// Whether the text is at most `max` characters.
pub fn fits(text: &str, max: usize) -> bool {
    text.chars().count() <= max
}
