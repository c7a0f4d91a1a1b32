//! Small pieces shared by the module's pages.

use maillage_sdk::form::Form;
use maillage_sdk::groups::GroupRole;
use maillage_sdk::html::{Markup, href, html, stylesheet};
use maillage_sdk::records::StoreError;
use maillage_sdk::{Response, fr, time};

pub type PageResult = Result<Response, StoreError>;

pub const ARCHIVED: &str = "Ce projet est archivé : ses documents ne sont plus modifiables.";

/// The module's stylesheet, at the top of every page.
pub fn head() -> Markup {
    stylesheet("documents.css")
}

/// A query-string parameter, decoded; empty when absent.
pub fn param(query: &str, name: &str) -> String {
    Form::parse(query.as_bytes()).get(name)
}

/// The confirmation a redirect asked for with `?ok=…` (and `n`, a count, for
/// `republie`), or the host's return from its library confirmation page
/// (`?bibliotheque=publiee&entree={id}`, `?bibliotheque=annulee`).
pub fn notice(query: &str) -> Markup {
    let library = match param(query, "bibliotheque").as_str() {
        "publiee" => "Document publié dans la bibliothèque nationale.",
        "annulee" => "Publication annulée.",
        _ => "",
    };
    if !library.is_empty() {
        return maillage_sdk::html::notice(Some(library));
    }
    let ok = param(query, "ok");
    if ok == "republie" {
        let count = param(query, "n").parse::<i64>().unwrap_or(0).max(0);
        let text = crate::republish::confirmation(count);
        return maillage_sdk::html::notice(Some(text.as_str()));
    }
    let text = match ok.as_str() {
        "ajout" => "Les documents sont ajoutés.",
        "dossier" => "Le dossier est créé.",
        "version" => "La nouvelle version est déposée : elle est désormais la version actuelle.",
        "restauree" => {
            "La version est restaurée : une nouvelle version en est faite, l’historique est conservé."
        }
        "nommee" => "La version est nommée.",
        "denommee" => "La version n’est plus nommée.",
        "commentaire" => "Les commentaires sont à jour.",
        // Markdown texts (`crate::texts`; `fusion` names a revision: `texts::banner`).
        "cree" => "Texte créé.",
        "enregistre" => "Modifications enregistrées.",
        "inchange" => "Aucune modification à enregistrer.",
        "restaure" => "Version restaurée.",
        // The national library (`crate::publish`).
        "retire" => "Document retiré de la bibliothèque nationale.",
        _ => "",
    };
    maillage_sdk::html::notice((!text.is_empty()).then_some(text))
}

/// A refused form or action: the status and the French reason, with a link back to
/// `back` (a module-relative path).
pub fn refused(status: u16, message: &str, back: &str) -> Response {
    Response::page(
        "Action impossible",
        html! {
            (head())
            div class="alert" role="alert" { p { (message) } }
            p { a href=(href(back)) { "Revenir à la page précédente" } }
        },
    )
    .with_status(status)
}

/// The trail above a page: links, then the page itself.
pub fn breadcrumb(links: &[(&str, String)], here: &str) -> Markup {
    html! {
        nav class="fil-ariane" aria-label="Fil d’Ariane" {
            ol {
                @for (label, path) in links {
                    li { a href=(href(path)) { (label) } }
                }
                li aria-current="page" { (here) }
            }
        }
    }
}

/// « 03/12/2026 à 20:05 » in the structure's zone.
pub fn when(seconds: i64) -> String {
    let zone = time::zone_or_default(&maillage_sdk::context().time_zone);
    let local = time::local(time::from_seconds(seconds), &zone);
    format!(
        "{} à {}",
        fr::date_short(&time::date_input(local.date())),
        time::time_fr(local)
    )
}

/// « 03/12/2026 » in the structure's zone.
pub fn day(seconds: i64) -> String {
    let zone = time::zone_or_default(&maillage_sdk::context().time_zone);
    let local = time::local(time::from_seconds(seconds), &zone);
    fr::date_short(&time::date_input(local.date()))
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

/// « aucun document », « 1 document », « 3 documents »: `count(n, "aucun document",
/// "document", "documents")`.
pub fn count(n: i64, none: &str, one: &str, many: &str) -> String {
    match n {
        0 => none.to_string(),
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}
