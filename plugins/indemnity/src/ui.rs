//! Small pieces shared by the module's pages.

use maillage_sdk::Response;
use maillage_sdk::form::Form;
use maillage_sdk::html::{Markup, href, html, stylesheet};
use maillage_sdk::records::StoreError;

use crate::model;
use crate::money;

pub type PageResult = Result<Response, StoreError>;

/// The module's stylesheet, at the top of every page.
pub fn head() -> Markup {
    html! { (stylesheet("indemnites.css")) }
}

/// A query-string parameter, decoded and trimmed; empty when absent.
pub fn param(query: &str, name: &str) -> String {
    Form::parse(query.as_bytes()).get(name)
}

/// The confirmation a redirect asked for with `?ok=…`.
pub fn notice(query: &str) -> Option<&'static str> {
    Some(match param(query, "ok").as_str() {
        "approuve" => "Les lignes sont approuvées.",
        "paye" => "La ligne est marquée payée.",
        "decision" => "La décision est enregistrée.",
        "note" => "La note de frais est jointe à la ligne.",
        "bareme" => "Le barème est enregistré.",
        "plafond" => "Le plafond est enregistré.",
        "budget" => "Le budget est enregistré.",
        "depense" => "La dépense est enregistrée.",
        "depense-supprimee" => "La dépense est supprimée.",
        _ => return None,
    })
}

/// The confirmation a redirect asked for, as a notice (nothing when none).
pub fn notice_block(query: &str) -> Markup {
    maillage_sdk::html::notice(notice(query))
}

/// The page's title and its links to the module's other pages (`(path, text)`, path
/// relative to the module): `div.toolbar > h1 + span.links`.
pub fn toolbar(title: &str, links: &[(&str, &str)]) -> Markup {
    html! {
        div class="toolbar" {
            h1 { (title) }
            span class="links" {
                @for (i, (path, text)) in links.iter().enumerate() {
                    @if i > 0 { " · " }
                    a href=(href(path)) { (text) }
                }
            }
        }
    }
}

/// Several errors of one form.
pub fn alerts(errors: &[String]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div class="alert" role="alert" {
                @if errors.len() == 1 {
                    p { (errors[0]) }
                } @else {
                    p { "Le formulaire contient des erreurs : rien n’a été enregistré." }
                    ul {
                        @for e in errors { li { (e) } }
                    }
                }
            }
        }
    }
}

/// 403 for the treasurer's pages and actions.
pub fn treasurer_only() -> Response {
    Response::error(
        403,
        "Cette page est réservée au trésorier : demandez à un administrateur de la structure de vous attribuer le rôle « Trésorier ».",
    )
}

/// 422 with a French message, nothing stored.
pub fn unprocessable(message: &str) -> Response {
    Response::error(422, message)
}

pub fn conflict(message: &str) -> Response {
    Response::error(409, message)
}

/// The status of a line as a badge: `span.statut[data-statut=…]`.
pub fn status_badge(status: &str) -> Markup {
    html! {
        span class={ "statut statut-" (status) } data-statut=(status) { (model::status_label(status)) }
    }
}

/// An amount in a table cell: `td.montant[data-cents=…]`.
pub fn amount_cell(cents: i64) -> Markup {
    html! { td class="montant" data-cents=(cents) { (money::euros(cents)) } }
}

/// Hours in a table cell: `td.heures[data-minutes=…]`.
pub fn hours_cell(minutes: i64) -> Markup {
    html! { td class="heures" data-minutes=(minutes) { (money::hours(minutes)) } }
}

/// A project's time in « Mon compte »: meetings and tasks,
/// `td.heures[data-minutes={total}][data-minutes-reunions=…][data-minutes-taches=…]`.
pub fn project_hours_cell(meetings: i64, tasks: i64) -> Markup {
    let total = meetings + tasks;
    html! {
        td class="heures" data-minutes=(total) data-minutes-reunions=(meetings) data-minutes-taches=(tasks) {
            (money::hours(total))
        }
    }
}

/// A year typed in a query or a form (2000 to 2100).
pub fn parse_year(text: &str) -> Option<i32> {
    text.trim()
        .parse::<i32>()
        .ok()
        .filter(|y| (2000..=2100).contains(y))
}

/// A date typed in a query or form, "YYYY-MM-DD"; empty is none; malformed is an error.
pub fn optional_date(text: &str, label: &str) -> Result<Option<String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match maillage_sdk::time::parse_date(text) {
        Ok(date) => Ok(Some(maillage_sdk::time::date_input(date))),
        Err(_) => Err(format!(
            "{label} : « {text} » n’est pas une date valide (AAAA-MM-JJ)."
        )),
    }
}

/// A date a form must carry, "YYYY-MM-DD": the date, or none with the French error
/// pushed to `errors` (`missing` when empty).
pub fn required_date(
    text: &str,
    label: &str,
    missing: &str,
    errors: &mut Vec<String>,
) -> Option<String> {
    match optional_date(text, label) {
        Ok(Some(date)) => Some(date),
        Ok(None) => {
            errors.push(missing.into());
            None
        }
        Err(message) => {
            errors.push(message);
            None
        }
    }
}

/// « jeudi 3 décembre 2026 » for a stored "YYYY-MM-DD" (as is when malformed).
pub fn date_long(date: &str) -> String {
    match maillage_sdk::time::parse_date(date) {
        Ok(d) => maillage_sdk::time::date_fr(d),
        Err(_) => date.to_string(),
    }
}

/// « 3 décembre 2026 à 20:00 » for Unix seconds in the structure's zone.
pub fn instant_text(seconds: i64) -> String {
    use maillage_sdk::time;
    let tz = time::zone_or_default(&maillage_sdk::context().time_zone);
    time::instant_fr(time::from_seconds(seconds), &tz)
}

/// A query string of the given pairs, encoded, without the empty ones.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", maillage_sdk::form::encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}
