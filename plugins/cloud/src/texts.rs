//! Collaborative Markdown texts (docs/cloud-contract.md, « Texts »; designed in
//! docs/cloud-library-design.md, part B): a document of kind `markdown` whose revisions
//! are records of `revisions`, written on the module's pages without JavaScript.
//!
//! Every save carries the revision the member opened (`base`). Saving from the head is
//! an edition; saving from an older revision merges the member's text with the head's by
//! lines (`maillage_sdk::merge::three_way`), the title as one line. A clean merge is saved
//! as a fusion; a conflict answers 409 with the conflict view, where the member corrects
//! the proposal (`conflit=1`, `marques=n`) or replaces the head with their own text
//! (`choix=mien`): nothing is saved until they do. The merge runs before any write; the
//! document's row is then locked ([`model::lock_text`]) and its head read again, merged
//! once more if it moved, and the new revision numbered `head + 1`.
//!
//! Texts are rendered by `maillage_sdk::markdown::render` (raw HTML shown as text, links
//! restricted); every other text on these pages goes through the escaping templates.

use maillage_sdk::form::Form;
use maillage_sdk::html::{Markup, alert, csrf_field, href, html};
use maillage_sdk::merge::{self, DiffLine, Merge, Region};
use maillage_sdk::records::StoreError;
use maillage_sdk::{Response, User, log, markdown};

use crate::comments;
use crate::model::{self, Document, How, NewRevision, Place, Revision};
use crate::pages;
use crate::ui::{self, PageResult};

/// Longest title, in characters.
pub const MAX_TITLE: usize = 200;
/// Longest « Résumé de la modification », in characters.
pub const MAX_SUMMARY: usize = 200;
/// Largest text, in bytes as stored: the JSON string the host keeps in `revisions.text`
/// (its JSON fields hold 256 KiB).
pub const MAX_TEXT_BYTES: usize = 256 * 1024;
/// The shortest conflict markers (`maillage_sdk::merge`).
const MIN_MARKERS: usize = 7;

const ONLY_MANAGERS_ADD: &str =
    "Seuls les référents et les coordinateurs ajoutent des documents à ce projet.";
const ONLY_MEMBERS_EDIT: &str = "Seuls les membres du projet modifient ses textes.";
pub const TITLE_MISSING: &str = "Indiquez le titre du texte.";
pub const TITLE_TOO_LONG: &str = "Le titre ne doit pas dépasser 200 caractères.";
pub const TEXT_TOO_LONG: &str = "Le texte dépasse la taille permise (256 Kio ou 5 000 lignes).";
pub const SUMMARY_TOO_LONG: &str =
    "Le résumé de la modification ne doit pas dépasser 200 caractères.";
pub const UNKNOWN_BASE: &str = "La version de départ est inconnue. Rechargez la page.";
pub const MARKERS_LEFT: &str = "Le texte contient encore des marques de conflit : gardez le texte voulu et supprimez les lignes « <<<<<<< », « ======= » et « >>>>>>> ».";
/// The unique (`document`, `number`) key fired (the lock makes it all but impossible):
/// answered 500, so that the call's writes roll back.
const RETRY: &str = "Le texte n’a pas pu être enregistré : une autre modification est arrivée au même instant. Réessayez.";

// ---------------------------------------------------------------------------------------
// Pure helpers (unit-tested natively).

/// A one-line field as typed: control characters dropped, trimmed.
pub fn one_line(raw: &str) -> String {
    let cleaned: String = raw.chars().filter(|c| !c.is_control()).collect();
    cleaned.trim().to_string()
}

/// A field's first value exactly as sent (`Form::get` trims, which would change a text).
pub fn raw_field(form: &Form, name: &str) -> String {
    form.fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// A title (already [`one_line`]): 1 to [`MAX_TITLE`] characters.
pub fn check_title(title: &str) -> Result<(), &'static str> {
    if title.is_empty() {
        Err(TITLE_MISSING)
    } else if title.chars().count() > MAX_TITLE {
        Err(TITLE_TOO_LONG)
    } else {
        Ok(())
    }
}

/// Whether a normalized text may be stored: at most `merge::MAX_LINES` lines and
/// [`MAX_TEXT_BYTES`] once written as the JSON string the host stores.
pub fn within_limits(text: &str) -> bool {
    text.len() <= MAX_TEXT_BYTES
        && text.lines().count() <= merge::MAX_LINES
        && serde_json::to_string(text).is_ok_and(|json| json.len() <= MAX_TEXT_BYTES)
}

/// The revision a save started from: a number from 1 to the head.
pub fn base_number(raw: &str, head: i64) -> Option<i64> {
    model::version_number(raw).filter(|base| *base <= head)
}

/// The conflict markers' length a form sent back (`marques`): at least 7.
pub fn marker_length(raw: &str) -> usize {
    raw.parse::<usize>()
        .ok()
        .filter(|n| *n <= 10_000)
        .unwrap_or(MIN_MARKERS)
        .max(MIN_MARKERS)
}

/// Marker lines no input can be taken for: longer by one than the longest run of `<`,
/// `|`, `=` or `>` starting a line of any of them, 7 at least (as `merge::three_way`
/// chooses them).
pub fn marker_length_for(texts: &[&str]) -> usize {
    let longest = texts
        .iter()
        .flat_map(|text| text.lines())
        .map(|line| match line.chars().next() {
            Some(c @ ('<' | '|' | '=' | '>')) => line.chars().take_while(|x| *x == c).count(),
            _ => 0,
        })
        .max()
        .unwrap_or(0);
    (longest + 1).max(MIN_MARKERS)
}

/// The title merged as one line: whichever side changed it, or the same change on both;
/// none when both changed it differently (a conflict).
pub fn merge_title(base: &str, theirs: &str, mine: &str) -> Option<String> {
    if mine == theirs || mine == base {
        Some(theirs.to_string())
    } else if theirs == base {
        Some(mine.to_string())
    } else {
        None
    }
}

/// An author's name as shown; « un membre » when none was kept.
pub fn author_label(name: &str) -> String {
    let name = name.trim();
    if name.is_empty() {
        "un membre".to_string()
    } else {
        name.to_string()
    }
}

/// « a », « a et b », « a, b et c ».
fn french_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} et {last}", rest.join(", ")),
    }
}

/// Who saved the revisions a member did not see, with their numbers, in order: « Anne
/// Martin (version 3) et Paul Durand (versions 4 et 5) », and how many people that is.
pub fn authors_phrase(revisions: &[(i64, &str)]) -> (String, usize) {
    let mut authors: Vec<(String, Vec<i64>)> = Vec::new();
    for (number, name) in revisions {
        let name = author_label(name);
        if let Some(i) = authors.iter().position(|(n, _)| *n == name) {
            authors[i].1.push(*number);
        } else {
            authors.push((name, vec![*number]));
        }
    }
    let parts: Vec<String> = authors
        .iter()
        .map(|(name, numbers)| {
            let list = french_list(&numbers.iter().map(|n| n.to_string()).collect::<Vec<_>>());
            if numbers.len() == 1 {
                format!("{name} (version {list})")
            } else {
                format!("{name} (versions {list})")
            }
        })
        .collect();
    (french_list(&parts), authors.len())
}

/// What the history says of how a revision came to be.
pub fn history_note(
    how: Option<How>,
    merged_with: Option<i64>,
    restored_from: Option<i64>,
) -> Option<String> {
    match (how, merged_with, restored_from) {
        (Some(How::Creation), _, _) => Some("création du texte".to_string()),
        (Some(How::Fusion), Some(k), _) => Some(format!("fusion avec la version {k}")),
        (Some(How::Replacement), Some(k), _) => Some(format!("a remplacé la version {k}")),
        (Some(How::Restoration), _, Some(k)) => Some(format!("restauration de la version {k}")),
        _ => None,
    }
}

/// The banner after a save merged with revision `with` by `author`.
pub fn fusion_notice(with: i64, author: &str) -> String {
    if author.trim().is_empty() {
        format!(
            "Vos modifications ont été fusionnées avec la version {with} : vérifiez le résultat."
        )
    } else {
        format!(
            "Vos modifications ont été fusionnées avec la version {with} ({}) : vérifiez le résultat.",
            author.trim()
        )
    }
}

/// A line of a diff as shown: without its line break.
fn line_text(line: &str) -> &str {
    line.strip_suffix('\n').unwrap_or(line)
}

/// What an edit form sent (`POST /d/{id}/modifier`), as typed: the title and summary on
/// one line, the text normalized (`merge::normalize`), the base unchecked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edit {
    pub title: String,
    pub text: String,
    pub summary: String,
    pub base: String,
    /// `conflit=1`: the proposal of a conflict view corrected, with `marques`' length.
    pub markers: Option<usize>,
    /// `choix=mien`: the member's whole text replaces the head.
    pub mine: bool,
}

impl Edit {
    pub fn parse(form: &Form) -> Edit {
        Edit {
            title: one_line(&form.get("titre")),
            text: merge::normalize(&raw_field(form, "texte")),
            summary: one_line(&form.get("resume")),
            base: form.get("base"),
            markers: (form.get("conflit") == "1").then(|| marker_length(&form.get("marques"))),
            mine: form.get("choix") == "mien",
        }
    }

    /// The first reason to refuse it (the base apart), as the 422 says it.
    pub fn problem(&self) -> Option<&'static str> {
        if let Err(error) = check_title(&self.title) {
            return Some(error);
        }
        if self.summary.chars().count() > MAX_SUMMARY {
            return Some(SUMMARY_TOO_LONG);
        }
        if !within_limits(&self.text) {
            return Some(TEXT_TOO_LONG);
        }
        if let Some(n) = self.markers
            && merge::has_markers(&self.text, n)
        {
            return Some(MARKERS_LEFT);
        }
        None
    }
}

// ---------------------------------------------------------------------------------------
// Access.

/// A Markdown text the acting member may read (a file document is not one: 404).
fn text_of(document_id: &str) -> Result<Option<(Document, Place)>, StoreError> {
    Ok(model::document(document_id)?.filter(|(document, _)| document.is_markdown()))
}

/// The acting member, if they may change the text: 403 for who is not a member of the
/// project (invités included), 409 on an archived project.
fn editor(document: &Document, place: &Place) -> Result<User, Response> {
    let back = document.path();
    let Some(user) = place.me.clone().filter(|_| place.contributes()) else {
        return Err(ui::refused(403, ONLY_MEMBERS_EDIT, &back));
    };
    if place.archived() {
        return Err(ui::refused(409, ui::ARCHIVED, &back));
    }
    Ok(user)
}

/// The trail to a text, the text itself included.
fn text_trail(document: &Document, place: &Place) -> Result<Vec<(String, String)>, StoreError> {
    let mut links = pages::document_trail(document, place)?;
    links.push((document.name.clone(), document.path()));
    Ok(links)
}

// ---------------------------------------------------------------------------------------
// Creating a text.

/// The « Nouveau texte » form of a project's folder page (managers, current project),
/// also shown again, filled in, with a 422's reason.
pub fn new_text_section(
    place: &Place,
    folder: &str,
    title: &str,
    text: &str,
    error: Option<&str>,
) -> Markup {
    html! {
        section class="ajout nouveau-texte" {
            h2 { "Nouveau texte" }
            (alert(error))
            form class="nouveau-texte stack" method="post"
                action=(href(&format!("{}/textes", place.path()))) {
                (csrf_field())
                input type="hidden" name="dossier" value=(folder);
                label for="titre-texte" { "Titre" }
                input id="titre-texte" type="text" name="titre" required maxlength=(MAX_TITLE) value=(title);
                label for="texte-nouveau" { "Texte (Markdown, facultatif)" }
                // The line break after the tag is dropped by the browser: the text keeps
                // its own first line, blank or not.
                textarea id="texte-nouveau" name="texte" rows="10" { "\n" (text) }
                p class="muted" {
                    "Titres, listes, liens et tableaux s’écrivent en Markdown. Les membres du "
                    "projet pourront modifier ce texte ; chaque version reste dans l’historique."
                }
                button type="submit" { "Créer le texte" }
            }
        }
    }
}

/// `POST /g/{g}/textes` (`titre`, `texte`, `dossier`): référents and coordinators create
/// a text, its revision 1.
pub fn create(group_id: &str, form: &Form) -> PageResult {
    let Some(place) = model::place(group_id) else {
        return Ok(Response::not_found());
    };
    let back = place.path();
    let Some(user) = place.me.clone().filter(|_| place.manages()) else {
        return Ok(ui::refused(403, ONLY_MANAGERS_ADD, &back));
    };
    if place.archived() {
        return Ok(ui::refused(409, ui::ARCHIVED, &back));
    }
    let folder_id = form.get("dossier");
    let folder = if folder_id.is_empty() {
        None
    } else {
        match model::folder_in(&place, &folder_id)? {
            Some(folder) => Some(folder),
            None => return Ok(Response::not_found()),
        }
    };
    let folder_id = folder.as_ref().map(|f| f.id.clone()).unwrap_or_default();
    let title = one_line(&form.get("titre"));
    let text = merge::normalize(&raw_field(form, "texte"));
    let problem = check_title(&title)
        .err()
        .or_else(|| (!within_limits(&text)).then_some(TEXT_TOO_LONG));
    if let Some(error) = problem {
        let mut links = pages::trail(&place, &[]);
        if let Some(folder) = &folder {
            links.extend(
                model::ancestry(folder)?
                    .into_iter()
                    .map(|f| (f.name.clone(), f.path())),
            );
        }
        let body = html! {
            (ui::head())
            (pages::breadcrumb(&links, "Nouveau texte"))
            h1 { "Nouveau texte" }
            (new_text_section(&place, &folder_id, &title, &text, Some(error)))
        };
        return Ok(Response::page("Nouveau texte", body).with_status(422));
    }
    let document = model::create_text(&place, &folder_id, &title, &text, &user)?;
    Ok(Response::see_other(&format!("{}?ok=cree", document.path())))
}

// ---------------------------------------------------------------------------------------
// Reading.

/// The confirmation after a redirect: `ui::notice`'s, or for `?ok=fusion&avec={h}` the
/// revision merged with and its author, and a link to what the merge changed.
fn banner(document: &Document, query: &str) -> Result<Markup, StoreError> {
    if ui::param(query, "ok") != "fusion" {
        return Ok(ui::notice(query));
    }
    let Some(with) = model::version_number(&ui::param(query, "avec")) else {
        return Ok(html! {});
    };
    let author = model::revision_of(&document.id, with)?
        .map(|r| r.author_name)
        .unwrap_or_default();
    let text = fusion_notice(with, &author);
    let merged = with + 1;
    let diff = format!("{}/v/{merged}/diff", document.path());
    Ok(html! {
        (maillage_sdk::html::notice(Some(text.as_str())))
        @if merged <= document.head_number() {
            p class="fusion" { a href=(href(&diff)) { "Voir les changements de la version " (merged) } }
        }
    })
}

/// `GET /d/{id}` of a text: its head rendered, the links to change it and to its
/// history, its comments.
pub fn page(document: &Document, place: &Place, query: &str) -> PageResult {
    let links = pages::document_trail(document, place)?;
    let head = document.head_number();
    let revision = model::revision_of(&document.id, head)?;
    let author = if document.head_by_name.is_empty() {
        revision
            .as_ref()
            .map(|r| r.author_name.clone())
            .unwrap_or_default()
    } else {
        document.head_by_name.clone()
    };
    let at = if document.head_at > 0 {
        document.head_at
    } else {
        revision
            .as_ref()
            .map(|r| r.created_at)
            .unwrap_or(document.last_at)
    };
    let text = revision.as_ref().map(|r| r.text.as_str()).unwrap_or("");
    let banner = banner(document, query)?;
    let thread = comments::section(document, place)?;
    let writable = place.contributes() && !place.archived();
    let body = html! {
        (ui::head())
        (pages::breadcrumb(&links, &document.name))
        header class="document texte" data-document=(document.id) data-version-actuelle=(head) {
            h1 { (document.name) }
            p class="muted version-texte" {
                "Version " (head) " — " (author_label(&author)) ", " (ui::when(at))
            }
        }
        (banner)
        @if place.archived() {
            p class="muted" { (ui::ARCHIVED) }
        }
        div class="actions-document" {
            @if writable {
                a class="button modifier" href=(href(&format!("{}/modifier", document.path()))) { "Modifier" }
            }
            a class="button secondary historique" href=(href(&format!("{}/historique", document.path()))) {
                "Historique"
            }
        }
        @if text.trim().is_empty() {
            p class="empty" { "Ce texte est encore vide." }
        }
        div class="markdown" { (markdown::render(text)) }
        (crate::publish::section(document))
        (thread)
    };
    Ok(Response::page(&document.name, body))
}

/// `GET /d/{id}/historique`: every revision, newest first.
pub fn history(document_id: &str) -> PageResult {
    let Some((document, place)) = text_of(document_id)? else {
        return Ok(Response::not_found());
    };
    let links = text_trail(&document, &place)?;
    let revisions = model::revisions_of(&document.id)?;
    let head = document.head_number();
    let body = html! {
        (ui::head())
        (pages::breadcrumb(&links, "Historique"))
        h1 { "Historique de « " (document.name) " »" }
        table class="revisions list" {
            thead {
                tr {
                    th { "Version" }
                    th { "Enregistrée le" }
                    th { "Par" }
                    th { "Résumé" }
                    th { "Voir" }
                }
            }
            tbody {
                @for r in &revisions {
                    @let path = format!("{}/v/{}", document.path(), r.number);
                    tr class=(if r.number == head { "revision actuelle" } else { "revision" })
                        data-revision=(r.number) data-how=(r.how) {
                        td class="numero" {
                            "Version " (r.number)
                            @if r.number == head {
                                " " span class="badge" { "actuelle" }
                            }
                        }
                        td class="quand" { (ui::when(r.created_at)) }
                        td class="par" { (author_label(&r.author_name)) }
                        td class="resume" {
                            @if !r.summary.is_empty() {
                                (r.summary)
                            }
                            @if let Some(note) = history_note(r.how(), r.merged_with, r.restored_from) {
                                @if !r.summary.is_empty() { br; }
                                span class="origine" { (note) }
                            }
                        }
                        td class="liens" {
                            a class="lire" href=(href(&path)) { "Lire" }
                            @if r.number > 1 {
                                " · "
                                a class="changements" href=(href(&format!("{path}/diff"))) { "Changements" }
                            }
                        }
                    }
                }
            }
        }
        p { a href=(href(&document.path())) { "Revenir au texte" } }
    };
    Ok(Response::page(
        &format!("Historique de « {} »", document.name),
        body,
    ))
}

/// `GET /d/{id}/v/{n}`: revision `n` rendered (404 for an unknown or malformed `n`).
pub fn revision_page(document_id: &str, number: &str) -> PageResult {
    let Some((document, place)) = text_of(document_id)? else {
        return Ok(Response::not_found());
    };
    let Some(n) = model::version_number(number) else {
        return Ok(Response::not_found());
    };
    let Some(revision) = model::revision_of(&document.id, n)? else {
        return Ok(Response::not_found());
    };
    let head = document.head_number();
    let mut links = text_trail(&document, &place)?;
    links.push((
        "Historique".to_string(),
        format!("{}/historique", document.path()),
    ));
    let writable = place.contributes() && !place.archived();
    let path = format!("{}/v/{n}", document.path());
    let note = history_note(revision.how(), revision.merged_with, revision.restored_from);
    let body = html! {
        (ui::head())
        (pages::breadcrumb(&links, &format!("Version {n}")))
        header class="revision" data-revision=(n) {
            h1 { (revision.title) }
            p class="muted" {
                "Version " (n) " — " (author_label(&revision.author_name)) ", " (ui::when(revision.created_at))
                @if let Some(note) = &note {
                    " · " (note)
                }
            }
            @if !revision.summary.is_empty() {
                p class="resume" { (revision.summary) }
            }
        }
        @if n != head {
            p class="muted" {
                "Ce n’est pas la version actuelle du texte : la version actuelle est la version "
                (head) "."
            }
        }
        div class="actions-document" {
            a class="button secondary" href=(href(&format!("{}/historique", document.path()))) { "Historique" }
            @if n > 1 {
                a class="button secondary" href=(href(&format!("{path}/diff"))) {
                    "Changements depuis la version " (n - 1)
                }
            }
            @if writable && n != head {
                form class="inline" method="post" action=(href(&format!("{path}/restaurer"))) {
                    (csrf_field())
                    button type="submit"
                        data-confirm={ "Restaurer la version " (n) " ? Elle deviendra une nouvelle version ; rien n’est effacé." } {
                        "Restaurer cette version"
                    }
                }
            }
        }
        div class="markdown" { (markdown::render(&revision.text)) }
        p { a href=(href(&document.path())) { "Revenir au texte" } }
    };
    Ok(Response::page(
        &format!("{} — version {n}", document.name),
        body,
    ))
}

/// `GET /d/{id}/v/{n}/diff`: the lines revision `n` added and removed against `n - 1`
/// (404 for the first revision, which has none before it).
pub fn diff_page(document_id: &str, number: &str) -> PageResult {
    let Some((document, place)) = text_of(document_id)? else {
        return Ok(Response::not_found());
    };
    let Some(n) = model::version_number(number).filter(|n| *n > 1) else {
        return Ok(Response::not_found());
    };
    let Some(new) = model::revision_of(&document.id, n)? else {
        return Ok(Response::not_found());
    };
    let Some(old) = model::revision_of(&document.id, n - 1)? else {
        return Ok(Response::not_found());
    };
    let lines = merge::line_diff(&old.text, &new.text);
    let added = lines
        .iter()
        .filter(|l| matches!(l, DiffLine::Added(_)))
        .count() as i64;
    let removed = lines
        .iter()
        .filter(|l| matches!(l, DiffLine::Removed(_)))
        .count() as i64;
    let mut links = text_trail(&document, &place)?;
    links.push((
        "Historique".to_string(),
        format!("{}/historique", document.path()),
    ));
    let path = format!("{}/v/{n}", document.path());
    let body = html! {
        (ui::head())
        (pages::breadcrumb(&links, &format!("Changements de la version {n}")))
        header class="revision" data-revision=(n) {
            h1 { "Changements de la version " (n) }
            p class="muted" {
                "Par rapport à la version " (n - 1) " — version " (n) " de "
                (author_label(&new.author_name)) ", " (ui::when(new.created_at))
            }
        }
        @if old.title != new.title {
            p class="titre-change" {
                "Titre : « " (old.title) " » devient « " (new.title) " »."
            }
        }
        p class="muted" {
            (ui::count(added, "aucune ligne ajoutée", "ligne ajoutée", "lignes ajoutées")) ", "
            (ui::count(removed, "aucune ligne retirée", "ligne retirée", "lignes retirées")) "."
        }
        div class="diff" {
            @for line in &lines {
                @match line {
                    DiffLine::Same(t) => {
                        div class="same" { (line_text(t)) }
                    }
                    DiffLine::Added(t) => {
                        ins class="ajout" { (line_text(t)) }
                    }
                    DiffLine::Removed(t) => {
                        del class="retrait" { (line_text(t)) }
                    }
                }
            }
        }
        p {
            a href=(href(&path)) { "Lire la version " (n) }
            " · "
            a href=(href(&document.path())) { "Revenir au texte" }
        }
    };
    Ok(Response::page(
        &format!("{} — changements de la version {n}", document.name),
        body,
    ))
}

// ---------------------------------------------------------------------------------------
// Editing.

/// The edit form's values.
struct FormState<'a> {
    title: &'a str,
    text: &'a str,
    summary: &'a str,
    base: i64,
    /// A conflict's proposal being corrected: its markers' length.
    markers: Option<usize>,
}

/// The edit form, with `error` (a 422) above it when there is one.
fn edit_page(
    document: &Document,
    place: &Place,
    state: &FormState<'_>,
    error: Option<&str>,
    status: u16,
) -> PageResult {
    let links = text_trail(document, place)?;
    let body = html! {
        (ui::head())
        (pages::breadcrumb(&links, "Modifier"))
        h1 { "Modifier le texte" }
        (alert(error))
        form class="modifier-texte stack" method="post"
            action=(href(&format!("{}/modifier", document.path()))) {
            (csrf_field())
            input type="hidden" name="base" value=(state.base);
            @if let Some(n) = state.markers {
                input type="hidden" name="conflit" value="1";
                input type="hidden" name="marques" value=(n);
            }
            label for="titre" { "Titre" }
            input id="titre" type="text" name="titre" required maxlength=(MAX_TITLE) value=(state.title);
            label for="texte" { "Texte (Markdown)" }
            textarea id="texte" name="texte" rows="24" { "\n" (state.text) }
            label for="resume" { "Résumé de la modification (facultatif)" }
            input id="resume" type="text" name="resume" maxlength=(MAX_SUMMARY) value=(state.summary);
            p class="muted" {
                "Si quelqu’un enregistre ce texte pendant que vous le modifiez, vos modifications "
                "seront fusionnées avec les siennes ; si elles touchent les mêmes passages, vous "
                "choisirez le texte à garder."
            }
            button type="submit" { "Enregistrer" }
        }
        p { a href=(href(&document.path())) { "Annuler" } }
    };
    Ok(Response::page("Modifier le texte", body).with_status(status))
}

/// `GET /d/{id}/modifier`: the form, filled with the head, `base` = its number.
pub fn edit(document_id: &str) -> PageResult {
    let Some((document, place)) = text_of(document_id)? else {
        return Ok(Response::not_found());
    };
    if let Err(refused) = editor(&document, &place) {
        return Ok(refused);
    }
    let head = document.head_number();
    let (title, text) = match model::revision_of(&document.id, head)? {
        Some(revision) => (revision.title, revision.text),
        None => (document.name.clone(), String::new()),
    };
    let state = FormState {
        title: &title,
        text: &text,
        summary: "",
        base: head,
        markers: None,
    };
    edit_page(&document, &place, &state, None, 200)
}

/// A save whose base is unknown: 422, the member's text shown to copy.
fn unknown_base(document: &Document, edit: &Edit) -> Response {
    Response::page(
        "Action impossible",
        html! {
            (ui::head())
            (alert(Some(UNKNOWN_BASE)))
            details class="mon-texte" open {
                summary { "Votre texte" }
                textarea readonly rows="16" aria-label="Votre texte" { "\n" (edit.text) }
            }
            p { a href=(href(&document.path())) { "Revenir au texte" } }
        },
    )
    .with_status(422)
}

/// Where a save is headed once merged against a head.
enum Plan {
    Save {
        title: String,
        text: String,
        how: How,
        merged_with: Option<i64>,
    },
    /// The merge left nothing of the member's changes that the head lacks.
    Unchanged,
    Conflict(Box<Conflict>),
}

/// A conflict, for its view (B.5).
struct Conflict {
    base: Revision,
    head: Revision,
    regions: Vec<Region>,
    proposal: String,
    marker_len: usize,
    /// The merged title, or none when both sides changed it differently.
    title: Option<String>,
}

/// `merge::three_way`'s label of the head's side: « Version 3 (Anne Martin) ».
fn theirs_label(head: &Revision) -> String {
    format!(
        "Version {} ({})",
        head.number,
        author_label(&head.author_name)
    )
}

/// The member's edit (started from `base`) against `head`.
fn plan(base: &Revision, head: &Revision, edit: &Edit) -> Plan {
    if base.number == head.number {
        return Plan::Save {
            title: edit.title.clone(),
            text: edit.text.clone(),
            how: if edit.mine {
                How::Replacement
            } else {
                How::Edition
            },
            merged_with: edit.mine.then_some(head.number),
        };
    }
    let title = merge_title(&base.title, &head.title, &edit.title);
    let merged = merge::three_way(&base.text, &head.text, &edit.text, &theirs_label(head));
    let (regions, proposal, marker_len) = match merged {
        Merge::Clean(text) => {
            if !edit.mine
                && let Some(title) = title.clone()
            {
                if text == head.text && title == head.title {
                    return Plan::Unchanged;
                }
                return Plan::Save {
                    title,
                    text,
                    how: How::Fusion,
                    merged_with: Some(head.number),
                };
            }
            // The title alone conflicts, or the member replaces a head that moved since
            // the conflict they answered: the whole texts are the passage.
            let regions = if edit.mine {
                vec![Region::Both {
                    mine: edit.text.clone(),
                    theirs: head.text.clone(),
                    base: base.text.clone(),
                }]
            } else {
                Vec::new()
            };
            let marker_len = marker_length_for(&[&base.text, &head.text, &edit.text]);
            (regions, text, marker_len)
        }
        Merge::Conflict {
            regions,
            proposal,
            marker_len,
        } => (regions, proposal, marker_len),
    };
    Plan::Conflict(Box::new(Conflict {
        base: base.clone(),
        head: head.clone(),
        regions,
        proposal,
        marker_len,
        title,
    }))
}

/// `POST /d/{id}/modifier` (`base`, `titre`, `texte`, `resume`; `conflit` and `marques`
/// from a conflict's proposal; `choix=mien` to replace the head): B.2.
pub fn save(document_id: &str, form: &Form) -> PageResult {
    let Some((document, place)) = text_of(document_id)? else {
        return Ok(Response::not_found());
    };
    let user = match editor(&document, &place) {
        Ok(user) => user,
        Err(refused) => return Ok(refused),
    };
    let back = document.path();
    let edit = Edit::parse(form);
    // 1. Read, before any write: the base and the head.
    let head = document.head_number();
    let Some(base) = base_number(&edit.base, head) else {
        return Ok(unknown_base(&document, &edit));
    };
    let state = FormState {
        title: &edit.title,
        text: &edit.text,
        summary: &edit.summary,
        base,
        markers: edit.markers,
    };
    if let Some(error) = edit.problem() {
        return edit_page(&document, &place, &state, Some(error), 422);
    }
    let Some(base_revision) = model::revision_of(&document.id, base)? else {
        return Ok(unknown_base(&document, &edit));
    };
    if edit.title == base_revision.title && edit.text == base_revision.text {
        return Ok(Response::see_other(&format!("{back}?ok=inchange")));
    }
    let head_revision = if base == head {
        base_revision.clone()
    } else {
        match model::revision_of(&document.id, head)? {
            Some(revision) => revision,
            None => return Ok(ui::refused(500, RETRY, &back)),
        }
    };
    // 2. Merge outside the lock; a conflict writes nothing.
    let first = match plan(&base_revision, &head_revision, &edit) {
        Plan::Conflict(conflict) => return conflict_page(&document, &place, &edit, conflict),
        Plan::Unchanged => return Ok(Response::see_other(&format!("{back}?ok=inchange"))),
        other => other,
    };
    // 3. Lock, read the head again, merge again if it moved (only the lock commits
    // then, on a conflict).
    let Some(locked) = model::lock_text(&document.id)? else {
        return Ok(Response::not_found());
    };
    let now_head = locked.head_number();
    let settled = if now_head == head {
        first
    } else {
        match model::revision_of(&document.id, now_head)? {
            Some(moved) => plan(&base_revision, &moved, &edit),
            None => return Ok(ui::refused(500, RETRY, &back)),
        }
    };
    let (title, text, how, merged_with) = match settled {
        Plan::Save {
            title,
            text,
            how,
            merged_with,
        } => (title, text, how, merged_with),
        Plan::Unchanged => return Ok(Response::see_other(&format!("{back}?ok=inchange"))),
        Plan::Conflict(conflict) => return conflict_page(&locked, &place, &edit, conflict),
    };
    // A clean merge of two texts within the limits may pass them.
    if !within_limits(&text) {
        return edit_page(&document, &place, &state, Some(TEXT_TOO_LONG), 422);
    }
    // 4. Revision head + 1.
    let revision = NewRevision {
        title: &title,
        text: &text,
        summary: &edit.summary,
        base,
        merged_with,
        how,
        restored_from: None,
    };
    if let Err(refused) = add(&locked, &revision, &user)? {
        return Ok(refused);
    }
    let location = match (how, merged_with) {
        (How::Fusion, Some(with)) => format!("{back}?ok=fusion&avec={with}"),
        _ => format!("{back}?ok=enregistre"),
    };
    Ok(Response::see_other(&location))
}

/// Adds the revision; the unique key's backstop as a 500 (the call rolled back).
fn add(
    locked: &Document,
    revision: &NewRevision<'_>,
    user: &User,
) -> Result<Result<i64, Response>, StoreError> {
    match model::add_revision(locked, revision, user) {
        Ok(number) => Ok(Ok(number)),
        Err(StoreError::Conflict(reason)) => {
            log::warn(&format!(
                "documents: revision of text {} not numbered: {reason}",
                locked.id
            ));
            Ok(Err(ui::refused(500, RETRY, &locked.path())))
        }
        Err(e) => Err(e),
    }
}

/// The 409 conflict view (B.5): the passages side by side, the proposal to correct, the
/// member's whole text to keep instead.
fn conflict_page(
    document: &Document,
    place: &Place,
    edit: &Edit,
    conflict: Box<Conflict>,
) -> PageResult {
    let Conflict {
        base,
        head,
        regions,
        proposal,
        marker_len,
        title,
    } = *conflict;
    let changed = model::revisions_between(&document.id, base.number, head.number)?;
    let saved: Vec<(i64, &str)> = changed
        .iter()
        .map(|r| (r.number, r.author_name.as_str()))
        .collect();
    let (who, people) = if saved.is_empty() {
        ("d'autres membres".to_string(), 2)
    } else {
        authors_phrase(&saved)
    };
    let verb = if people > 1 { "ont" } else { "a" };
    let theirs = format!(
        "Texte de {} (version {})",
        author_label(&head.author_name),
        head.number
    );
    let title_conflict = title.is_none();
    let title_value = title.unwrap_or_else(|| edit.title.clone());
    let mut passage = 0;
    let numbered: Vec<(usize, &Region)> = regions
        .iter()
        .map(|region| {
            if matches!(region, Region::Both { .. }) {
                passage += 1;
            }
            (passage, region)
        })
        .collect();
    let links = text_trail(document, place)?;
    let action = href(&format!("{}/modifier", document.path()));
    let body = html! {
        (ui::head())
        (pages::breadcrumb(&links, "Conflit de modification"))
        h1 { "Conflit de modification" }
        div class="alert" role="alert" {
            p {
                "Depuis la version " (base.number) " que vous avez ouverte, " (who) " " (verb)
                " modifié ce document. Vos modifications et les leurs touchent les mêmes "
                "passages : choisissez le texte à garder. Rien n'a été perdu : votre texte est "
                "ci-dessous."
            }
        }
        @if title_conflict {
            section class="conflit-titre" {
                h2 { "Titre" }
                div class="colonnes" {
                    div class="colonne mien" {
                        h3 { "Votre titre" }
                        pre { "\n" (edit.title) }
                    }
                    div class="colonne leur" {
                        h3 { "Titre de " (author_label(&head.author_name)) " (version " (head.number) ")" }
                        pre { "\n" (head.title) }
                    }
                }
            }
        }
        section class="passages" {
            @if numbered.is_empty() {
                p class="muted" { "Les textes se fusionnent sans conflit : seuls les titres diffèrent." }
            }
            @for (k, region) in &numbered {
                @match region {
                    Region::Same(text) => {
                        @let n = text.lines().count() as i64;
                        p class="identique muted" {
                            "… " (ui::count(n, "aucune ligne identique", "ligne identique", "lignes identiques")) " …"
                        }
                    }
                    Region::Both { mine, theirs: other, base: start } => {
                        section class="passage" data-passage=(k) {
                            h2 { "Passage " (k) }
                            div class="colonnes" {
                                div class="colonne mien" {
                                    h3 { "Votre texte" }
                                    pre { "\n" (mine) }
                                }
                                div class="colonne leur" {
                                    h3 { (theirs) }
                                    pre { "\n" (other) }
                                }
                            }
                            details class="depart" {
                                summary { "Texte de départ (version " (base.number) ")" }
                                pre { "\n" (start) }
                            }
                        }
                    }
                }
            }
        }
        section class="resolution" {
            h2 { "Texte fusionné à corriger" }
            form class="conflit-corrige stack" method="post" action=(action) {
                (csrf_field())
                input type="hidden" name="base" value=(head.number);
                input type="hidden" name="conflit" value="1";
                input type="hidden" name="marques" value=(marker_len);
                label for="titre-corrige" { "Titre" }
                input id="titre-corrige" type="text" name="titre" required maxlength=(MAX_TITLE) value=(title_value);
                label for="texte-corrige" { "Texte fusionné" }
                p class="muted" id="aide-marques" {
                    "Chaque passage en conflit est encadré de lignes de marques : gardez le texte "
                    "voulu entre « Votre texte » et « " (theirs_label(&head)) " », puis supprimez "
                    "les lignes de marques."
                }
                textarea id="texte-corrige" name="texte" rows="24" aria-describedby="aide-marques" { "\n" (proposal) }
                label for="resume-corrige" { "Résumé de la modification (facultatif)" }
                input id="resume-corrige" type="text" name="resume" maxlength=(MAX_SUMMARY) value=(edit.summary);
                button type="submit" { "Enregistrer le texte corrigé" }
            }
            form class="conflit-mien stack" method="post" action=(action) {
                (csrf_field())
                input type="hidden" name="texte" value=(edit.text);
                input type="hidden" name="titre" value=(edit.title);
                input type="hidden" name="resume" value=(edit.summary);
                input type="hidden" name="base" value=(head.number);
                input type="hidden" name="choix" value="mien";
                button type="submit" class="secondary" { "Remplacer par mon texte" }
                p class="muted" { "La version " (head.number) " restera dans l'historique." }
            }
            details class="mon-texte" {
                summary { "Votre texte complet" }
                textarea readonly rows="16" aria-label="Votre texte complet" { "\n" (edit.text) }
            }
            p { a href=(href(&document.path())) { "Abandonner mes modifications" } }
        }
    };
    Ok(Response::page("Conflit de modification", body).with_status(409))
}

/// `POST /d/{id}/v/{n}/restaurer`: revision `n`'s text and title as a new revision on
/// the head (`restauration`, `restored_from = n`).
pub fn restore(document_id: &str, number: &str) -> PageResult {
    let Some((document, place)) = text_of(document_id)? else {
        return Ok(Response::not_found());
    };
    let Some(n) = model::version_number(number) else {
        return Ok(Response::not_found());
    };
    let Some(old) = model::revision_of(&document.id, n)? else {
        return Ok(Response::not_found());
    };
    let user = match editor(&document, &place) {
        Ok(user) => user,
        Err(refused) => return Ok(refused),
    };
    let Some(locked) = model::lock_text(&document.id)? else {
        return Ok(Response::not_found());
    };
    let revision = NewRevision {
        title: &old.title,
        text: &old.text,
        summary: "",
        base: locked.head_number(),
        merged_with: None,
        how: How::Restoration,
        restored_from: Some(n),
    };
    if let Err(refused) = add(&locked, &revision, &user)? {
        return Ok(refused);
    }
    Ok(Response::see_other(&format!(
        "{}?ok=restaure",
        document.path()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> Form {
        Form::parse(body.as_bytes())
    }

    #[test]
    fn an_edit_is_read_as_typed_and_normalized() {
        let edit = Edit::parse(&form(
            "csrf=x&base=3&titre=+Compte+rendu%0A+&texte=++indent%C3%A9%0D%0Aligne&resume=+Coquilles+",
        ));
        assert_eq!(edit.title, "Compte rendu");
        // The text is not trimmed (a leading indentation is Markdown), CRLF becomes LF
        // and a final line break is ensured.
        assert_eq!(edit.text, "  indenté\nligne\n");
        assert_eq!(edit.summary, "Coquilles");
        assert_eq!(edit.base, "3");
        assert_eq!(edit.markers, None);
        assert!(!edit.mine);
        assert_eq!(edit.problem(), None);

        let resolved = Edit::parse(&form("base=4&titre=T&texte=a&conflit=1&marques=9"));
        assert_eq!(resolved.markers, Some(9));
        let bad_length = Edit::parse(&form("base=4&titre=T&texte=a&conflit=1&marques=abc"));
        assert_eq!(bad_length.markers, Some(7));
        let mine = Edit::parse(&form("base=4&titre=T&texte=a&choix=mien"));
        assert!(mine.mine);
        let empty = Edit::parse(&form("base=1&titre=T&texte="));
        assert_eq!(empty.text, "");
    }

    #[test]
    fn edits_are_refused_in_french() {
        let untitled = Edit::parse(&form("base=1&titre=+&texte=a"));
        assert_eq!(untitled.problem(), Some(TITLE_MISSING));
        let long_title = Edit::parse(&form(&format!("base=1&titre={}&texte=a", "é".repeat(201))));
        assert_eq!(long_title.problem(), Some(TITLE_TOO_LONG));
        let just = Edit::parse(&form(&format!("base=1&titre={}&texte=a", "é".repeat(200))));
        assert_eq!(just.problem(), None);
        let long_summary = Edit::parse(&form(&format!(
            "base=1&titre=T&texte=a&resume={}",
            "r".repeat(201)
        )));
        assert_eq!(long_summary.problem(), Some(SUMMARY_TOO_LONG));
        let too_many_lines = Edit {
            title: "T".into(),
            text: "l\n".repeat(merge::MAX_LINES + 1),
            ..Edit::default()
        };
        assert_eq!(too_many_lines.problem(), Some(TEXT_TOO_LONG));
    }

    #[test]
    fn texts_are_limited_as_stored() {
        assert!(within_limits(""));
        assert!(within_limits(&"l\n".repeat(merge::MAX_LINES)));
        assert!(!within_limits(&"l\n".repeat(merge::MAX_LINES + 1)));
        assert!(within_limits(&"a".repeat(MAX_TEXT_BYTES - 2)));
        assert!(!within_limits(&"a".repeat(MAX_TEXT_BYTES + 1)));
        // Counted as the JSON string the host keeps: quotes and escapes included.
        assert!(!within_limits(&"a".repeat(MAX_TEXT_BYTES)));
        assert!(!within_limits(&"\"".repeat(MAX_TEXT_BYTES / 2)));
    }

    #[test]
    fn bases_are_revisions_up_to_the_head() {
        assert_eq!(base_number("1", 3), Some(1));
        assert_eq!(base_number("3", 3), Some(3));
        assert_eq!(base_number("4", 3), None);
        assert_eq!(base_number("0", 3), None);
        assert_eq!(base_number("abc", 3), None);
        assert_eq!(base_number("", 3), None);
        assert_eq!(base_number("-1", 3), None);
    }

    #[test]
    fn titles_merge_as_one_line() {
        assert_eq!(merge_title("A", "A", "B").as_deref(), Some("B"));
        assert_eq!(merge_title("A", "C", "A").as_deref(), Some("C"));
        assert_eq!(merge_title("A", "C", "C").as_deref(), Some("C"));
        assert_eq!(merge_title("A", "A", "A").as_deref(), Some("A"));
        assert_eq!(merge_title("A", "B", "C"), None);
    }

    #[test]
    fn marker_lengths_outgrow_the_texts() {
        assert_eq!(marker_length_for(&["a\nb\n"]), 7);
        assert_eq!(marker_length_for(&["Titre\n=======\n", "x"]), 8);
        assert_eq!(marker_length_for(&["<<<<<<<<<< x\n"]), 11);
        assert_eq!(marker_length_for(&["a <<<<<<<<<<<<\n"]), 7);
        assert_eq!(marker_length("12"), 12);
        assert_eq!(marker_length("3"), 7);
        assert_eq!(marker_length(""), 7);
        assert_eq!(marker_length("99999999"), 7);
    }

    #[test]
    fn authors_are_named_with_their_versions() {
        assert_eq!(
            authors_phrase(&[(3, "Anne Martin")]),
            ("Anne Martin (version 3)".to_string(), 1)
        );
        assert_eq!(
            authors_phrase(&[(3, "Anne Martin"), (4, "Paul Durand"), (5, "Anne Martin")]),
            (
                "Anne Martin (versions 3 et 5) et Paul Durand (version 4)".to_string(),
                2
            )
        );
        assert_eq!(
            authors_phrase(&[(2, "A"), (3, "A"), (4, "A"), (5, ""), (6, "C")]),
            (
                "A (versions 2, 3 et 4), un membre (version 5) et C (version 6)".to_string(),
                3
            )
        );
        assert_eq!(authors_phrase(&[]), (String::new(), 0));
    }

    #[test]
    fn the_history_says_how_each_revision_came() {
        assert_eq!(
            history_note(Some(How::Fusion), Some(2), None).as_deref(),
            Some("fusion avec la version 2")
        );
        assert_eq!(
            history_note(Some(How::Replacement), Some(4), None).as_deref(),
            Some("a remplacé la version 4")
        );
        assert_eq!(
            history_note(Some(How::Restoration), None, Some(1)).as_deref(),
            Some("restauration de la version 1")
        );
        assert_eq!(history_note(Some(How::Edition), None, None), None);
        assert_eq!(history_note(None, Some(2), Some(1)), None);
    }

    #[test]
    fn fusion_banners_name_the_head_merged_with() {
        assert_eq!(
            fusion_notice(2, "Anne Martin"),
            "Vos modifications ont été fusionnées avec la version 2 (Anne Martin) : vérifiez le résultat."
        );
        assert_eq!(
            fusion_notice(2, " "),
            "Vos modifications ont été fusionnées avec la version 2 : vérifiez le résultat."
        );
    }

    #[test]
    fn raw_fields_keep_their_spaces() {
        let f = form("texte=++a+&texte=b");
        assert_eq!(raw_field(&f, "texte"), "  a ");
        assert_eq!(raw_field(&f, "absent"), "");
        assert_eq!(one_line(" a\tb\n "), "ab");
        assert_eq!(line_text("x\n"), "x");
        assert_eq!(line_text("x"), "x");
    }
}
