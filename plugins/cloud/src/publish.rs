//! Publishing the structure's documents to the national library, and withdrawing them
//! (docs/cloud-contract.md, « National library »; designed in
//! docs/cloud-library-design.md, A.5).
//!
//! Coordinators (host roles `coordinator`, `admin`) and holders of the module role
//! [`ROLE`] publish the documents they may read: `GET /d/{id}/publier` is the form (a
//! text's revision or a file's version, the title, description, tags, licence, a note
//! for a new version); `POST` checks it and calls `library.propose`, which only records
//! a proposal, then answers a 303 to the host's confirmation page, where the member
//! reads what will be published and confirms it. The host then sends them back to the
//! document with `?bibliotheque=publiee&entree={id}` (or `annulee`).
//!
//! The document's page shows publishers what it became in the library (`mine-for`, the
//! document id being the proposal's `source-ref`): « Publié … (version N, le …) », a
//! link to publish a new version, and « Retirer de la bibliothèque » (`POST
//! /d/{id}/retirer`, with the required checkbox `confirme`).

use maillage_sdk::form::Form;
use maillage_sdk::html::{Markup, alert, csrf_field, href, html};
use maillage_sdk::library::{self, Content, Entry, LibraryError, Proposal};
use maillage_sdk::records::StoreError;
use maillage_sdk::{Response, log};

use crate::catalog::{self, Standing};
use crate::files::size_fr;
use crate::model::{self, Document, Place};
use crate::pages;
use crate::texts::{author_label, one_line};
use crate::ui::{self, PageResult};

/// The module role whose holders publish and withdraw, as coordinators do (WIT 0.2.7
/// names the convention: the host lets its holders propose and withdraw).
pub const ROLE: &str = library::PUBLISHER_ROLE;

/// Longest title, in characters (at least one).
pub const MAX_TITLE: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 2000;
/// Most tags, once duplicates are merged.
pub const MAX_TAGS: usize = 10;
/// Longest tag, in characters.
pub const MAX_TAG: usize = 40;
/// Longest version note, in characters.
pub const MAX_NOTE: usize = 500;
/// The licence the form proposes first.
pub const DEFAULT_LICENCE: &str = "cc-by";

pub const ONLY_PUBLISHERS: &str =
    "Seuls les coordinateurs et les membres chargés de la bibliothèque publient des documents.";
pub const TITLE_MISSING: &str = "Indiquez le titre du document publié.";
pub const TITLE_TOO_LONG: &str = "Le titre ne doit pas dépasser 200 caractères.";
pub const DESCRIPTION_TOO_LONG: &str = "La description ne doit pas dépasser 2 000 caractères.";
pub const TOO_MANY_TAGS: &str = "Indiquez 10 mots-clés au plus.";
pub const TAG_TOO_LONG: &str = "Un mot-clé compte 40 caractères au plus.";
pub const NOTE_TOO_LONG: &str = "La note de version ne doit pas dépasser 500 caractères.";
pub const NO_LICENCE: &str = "Choisissez la licence du document.";
pub const NO_VERSION: &str = "Choisissez la version du document à publier.";
pub const CONFIRM_WITHDRAWAL: &str =
    "Cochez la case pour confirmer que les membres des autres structures ne pourront plus le lire.";
pub const CHANGED: &str =
    "La publication de ce document a changé entre-temps : rechargez la page et recommencez.";
pub const HIDDEN_BLOCKS: &str = "Ce document est masqué par l’équipe de la plateforme : il ne peut pas être publié de nouveau pour le moment.";

/// Whether the acting member publishes and withdraws: a coordinator or admin of the
/// structure, or a holder of [`ROLE`] (the host adds it to the context's roles when an
/// admin granted it).
pub fn publisher() -> bool {
    let ctx = maillage_sdk::context();
    ctx.user.is_some()
        && ctx
            .roles
            .iter()
            .any(|r| r == "coordinator" || r == "admin" || r == ROLE)
}

/// The entry a new version goes to: the newest of `entries` (newest first, as
/// `mine-for` gives them) neither withdrawn nor hidden.
pub fn active(entries: &[Entry]) -> Option<&Entry> {
    entries
        .iter()
        .find(|e| matches!(catalog::standing(e), Standing::Published))
}

/// An entry of the document is hidden by the platform's operators (and not withdrawn):
/// nothing is published from it meanwhile, not even as a new entry.
pub fn blocked(entries: &[Entry]) -> bool {
    entries
        .iter()
        .any(|e| e.withdrawn_at.is_none() && e.hidden.is_some())
}

/// The status a publishing page answers for a library error.
pub fn publisher_status(error: &LibraryError) -> u16 {
    match error {
        LibraryError::Denied => 403,
        LibraryError::NotFound => 404,
        LibraryError::Invalid(_) => 422,
        LibraryError::Withdrawn(_) | LibraryError::Hidden => 409,
        LibraryError::Unavailable(_) => 503,
    }
}

fn refusal(error: &LibraryError, back: &str) -> Response {
    catalog::log_unavailable(error);
    ui::refused(publisher_status(error), &library::message(error), back)
}

/// The tags typed in `mots_cles`: comma-separated, each on one line and trimmed, empty
/// ones dropped, duplicates (accents and case ignored) merged; at most [`MAX_TAGS`] of
/// at most [`MAX_TAG`] characters.
pub fn parse_tags(raw: &str) -> Result<Vec<String>, &'static str> {
    let mut tags: Vec<String> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for part in raw.split(',') {
        let tag = one_line(part);
        if tag.is_empty() {
            continue;
        }
        if tag.chars().count() > MAX_TAG {
            return Err(TAG_TOO_LONG);
        }
        let key = maillage_sdk::text::fold(&tag);
        if keys.contains(&key) {
            continue;
        }
        keys.push(key);
        tags.push(tag);
    }
    if tags.len() > MAX_TAGS {
        return Err(TOO_MANY_TAGS);
    }
    Ok(tags)
}

/// A multi-line field as typed: line breaks as LF, trimmed.
fn multi_line(raw: &str) -> String {
    raw.replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim()
        .to_string()
}

/// The publish form's values, as typed or prefilled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    pub title: String,
    pub description: String,
    pub tags: String,
    pub licence: String,
    /// The revision or version chosen; 0 when none could be read.
    pub version: i64,
    pub note: String,
}

impl Fields {
    pub fn parse(form: &Form) -> Fields {
        Fields {
            title: one_line(&form.get("titre")),
            description: multi_line(&form.get("description")),
            tags: form.get("mots_cles"),
            licence: form.get("licence"),
            version: model::version_number(&form.get("version")).unwrap_or(0),
            note: multi_line(&form.get("note")),
        }
    }

    /// The first reason to refuse it, as the 422 says it; the version is checked
    /// against the document's apart. `new_version`: the note counts.
    pub fn problem(&self, new_version: bool) -> Option<&'static str> {
        if self.title.is_empty() {
            return Some(TITLE_MISSING);
        }
        if self.title.chars().count() > MAX_TITLE {
            return Some(TITLE_TOO_LONG);
        }
        if self.description.chars().count() > MAX_DESCRIPTION {
            return Some(DESCRIPTION_TOO_LONG);
        }
        if let Err(error) = parse_tags(&self.tags) {
            return Some(error);
        }
        if library::parse_licence(&self.licence).is_none() {
            return Some(NO_LICENCE);
        }
        if new_version && self.note.chars().count() > MAX_NOTE {
            return Some(NOTE_TOO_LONG);
        }
        None
    }
}

/// A file document's name without its extension (« Fiche réflexe SNP.pdf » → « Fiche
/// réflexe SNP »), the title the form proposes; a text's title as it is.
pub fn proposed_title(name: &str, is_text: bool) -> String {
    let title = if is_text {
        name
    } else {
        match name.rsplit_once('.') {
            Some((stem, extension))
                if !stem.trim().is_empty()
                    && !extension.is_empty()
                    && extension.len() <= 5
                    && extension.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                stem.trim()
            }
            _ => name,
        }
    };
    title.chars().take(MAX_TITLE).collect()
}

/// A revision or version the member may publish, as the select shows it.
struct Choice {
    number: i64,
    label: String,
}

/// The document's revisions (a text) or versions (a file), newest first.
fn choices(document: &Document) -> Result<Vec<Choice>, StoreError> {
    if document.is_markdown() {
        Ok(model::revisions_of(&document.id)?
            .into_iter()
            .map(|r| Choice {
                number: r.number,
                label: format!(
                    "Version {} — {}, {}",
                    r.number,
                    author_label(&r.author_name),
                    ui::when(r.created_at)
                ),
            })
            .collect())
    } else {
        Ok(model::versions_of(&document.id)?
            .into_iter()
            .map(|v| {
                let named = if v.named() {
                    format!(" « {} »", v.label)
                } else {
                    String::new()
                };
                Choice {
                    number: v.number,
                    label: format!(
                        "Version {}{named} — {} ({}), {}",
                        v.number,
                        v.name,
                        size_fr(v.size.max(0) as u64),
                        ui::when(v.created_at)
                    ),
                }
            })
            .collect())
    }
}

/// The document, if the acting member may read it (404 otherwise, first) and publish
/// (403).
fn publishable(document_id: &str) -> Result<Result<(Document, Place), Response>, StoreError> {
    let Some((document, place)) = model::document(document_id)? else {
        return Ok(Err(Response::not_found()));
    };
    if !publisher() {
        return Ok(Err(ui::refused(403, ONLY_PUBLISHERS, &document.path())));
    }
    Ok(Ok((document, place)))
}

/// The form, with `error` (a 422) above it when there is one.
fn form_response(
    document: &Document,
    place: &Place,
    current: Option<&Entry>,
    choices: &[Choice],
    fields: &Fields,
    error: Option<&str>,
    status: u16,
) -> PageResult {
    let mut links = pages::document_trail(document, place)?;
    links.push((document.name.clone(), document.path()));
    let heading = if current.is_some() {
        "Publier une nouvelle version dans la bibliothèque nationale"
    } else {
        "Publier dans la bibliothèque nationale"
    };
    let structure = maillage_sdk::context().structure_name;
    let body = html! {
        (ui::head())
        (pages::breadcrumb(&links, "Publier"))
        h1 { (heading) }
        @if let Some(entry) = current {
            p class="muted publication-actuelle" data-entree=(entry.id) {
                "Publié dans la bibliothèque nationale sous le titre « " (entry.title) " » (version "
                (entry.version) ", le " (ui::day(entry.published_at)) "). La nouvelle version "
                "deviendra la version actuelle ; les précédentes restent consultables."
            }
        }
        p {
            "Ce document sera visible par tous les membres de toutes les structures de la "
            "plateforme, avec le nom de votre structure : " (structure) ". Vous relirez ce "
            "qui sera publié à l’étape suivante, avant de confirmer."
        }
        p class="avertissement" {
            "Vérifiez qu’il ne contient aucune donnée de santé ni aucune donnée personnelle "
            "(patients, coordonnées de membres)."
        }
        (alert(error))
        form class="publier stack" method="post" action=(href(&format!("{}/publier", document.path()))) {
            (csrf_field())
            @if let Some(entry) = current {
                input type="hidden" name="entree" value=(entry.id);
            }
            label for="publier-titre" { "Titre" }
            input id="publier-titre" type="text" name="titre" required maxlength=(MAX_TITLE) value=(fields.title);
            label for="publier-description" { "Description (facultative)" }
            // The line break after the tag is dropped by the browser.
            textarea id="publier-description" name="description" rows="4" { "\n" (fields.description) }
            label for="publier-mots-cles" { "Mots-clés (séparés par des virgules, 10 au plus)" }
            input id="publier-mots-cles" type="text" name="mots_cles" value=(fields.tags);
            label for="publier-licence" { "Licence" }
            select id="publier-licence" name="licence" {
                @for (_, code, label) in library::LICENCES.iter() {
                    option value=(code) selected[*code == fields.licence.as_str()] { (label) }
                }
            }
            label for="publier-version" {
                (if document.is_markdown() { "Version du texte à publier" } else { "Version du fichier à publier" })
            }
            select id="publier-version" name="version" {
                @for choice in choices {
                    option value=(choice.number) selected[choice.number == fields.version] { (choice.label) }
                }
            }
            @if current.is_some() {
                label for="publier-note" { "Note de version : ce qui change (facultative)" }
                textarea id="publier-note" name="note" rows="3" { "\n" (fields.note) }
            }
            button type="submit" { "Vérifier avant publication" }
        }
        p { a href=(href(&document.path())) { "Revenir au document" } }
    };
    Ok(Response::page(heading, body).with_status(status))
}

/// `GET /d/{id}/publier`: the form, prefilled from the entry a new version goes to (or
/// the document's name), the latest revision or version chosen. Reads only: nothing is
/// proposed until the member posts it.
pub fn form_page(document_id: &str) -> PageResult {
    let (document, place) = match publishable(document_id)? {
        Ok(found) => found,
        Err(refused) => return Ok(refused),
    };
    let back = document.path();
    let entries = match library::mine_for(&document.id) {
        Ok(entries) => entries,
        Err(e) => return Ok(refusal(&e, &back)),
    };
    if blocked(&entries) {
        return Ok(ui::refused(409, HIDDEN_BLOCKS, &back));
    }
    let current = active(&entries);
    let choices = choices(&document)?;
    let latest = choices.first().map(|c| c.number).unwrap_or(0);
    let fields = match current {
        Some(entry) => Fields {
            title: entry.title.clone(),
            description: entry.description.clone(),
            tags: entry.tags.join(", "),
            licence: catalog::licence_code(&entry.licence).to_string(),
            version: latest,
            note: String::new(),
        },
        None => Fields {
            title: proposed_title(&document.name, document.is_markdown()),
            description: String::new(),
            tags: String::new(),
            licence: DEFAULT_LICENCE.to_string(),
            version: latest,
            note: String::new(),
        },
    };
    form_response(&document, &place, current, &choices, &fields, None, 200)
}

/// `POST /d/{id}/publier` (`titre`, `description`, `mots_cles`, `licence`, `version`,
/// `note`, `entree`, `csrf`): checked (422 with the form again), then proposed as the
/// acting member (`source-ref` the document's id, `return-path` its page) and answered
/// with a 303 to the host's confirmation page. 409 when the document's publication
/// changed since the form was shown (`entree` is not the entry a new version goes to).
pub fn propose(document_id: &str, form: &Form) -> PageResult {
    let (document, place) = match publishable(document_id)? {
        Ok(found) => found,
        Err(refused) => return Ok(refused),
    };
    let back = document.path();
    let entries = match library::mine_for(&document.id) {
        Ok(entries) => entries,
        Err(e) => return Ok(refusal(&e, &back)),
    };
    if blocked(&entries) {
        return Ok(ui::refused(409, HIDDEN_BLOCKS, &back));
    }
    let current = active(&entries);
    let expected = current.map(|e| e.id.as_str()).unwrap_or("");
    if form.get("entree") != expected {
        return Ok(ui::refused(409, CHANGED, &back));
    }
    let choices = choices(&document)?;
    let fields = Fields::parse(form);
    let problem = fields
        .problem(current.is_some())
        .or_else(|| (!choices.iter().any(|c| c.number == fields.version)).then_some(NO_VERSION));
    if let Some(error) = problem {
        return form_response(
            &document,
            &place,
            current,
            &choices,
            &fields,
            Some(error),
            422,
        );
    }
    let (Ok(tags), Some(licence)) = (
        parse_tags(&fields.tags),
        library::parse_licence(&fields.licence),
    ) else {
        // Checked by `problem` above.
        return form_response(
            &document,
            &place,
            current,
            &choices,
            &fields,
            Some(NO_LICENCE),
            422,
        );
    };
    let content = if document.is_markdown() {
        model::revision_of(&document.id, fields.version)?.map(|r| Content::Markdown(r.text))
    } else {
        model::version_of(&document.id, fields.version)?.map(|v| Content::File(v.blob))
    };
    let Some(content) = content else {
        return form_response(
            &document,
            &place,
            current,
            &choices,
            &fields,
            Some(NO_VERSION),
            422,
        );
    };
    let proposal = Proposal {
        new_version_of: current.map(|e| e.id.clone()),
        title: fields.title.clone(),
        description: fields.description.clone(),
        tags,
        licence,
        content,
        note: if current.is_some() {
            fields.note.clone()
        } else {
            String::new()
        },
        source_ref: document.id.clone(),
        return_path: back.clone(),
    };
    match library::propose(&proposal) {
        Ok(path) if path.starts_with('/') && !path.starts_with("//") => {
            Ok(Response::see_other_absolute(&path))
        }
        Ok(path) => {
            log::error(&format!(
                "documents: the host's confirmation path is not a path: {path:?}"
            ));
            Ok(ui::refused(
                503,
                &library::message(&LibraryError::Unavailable(String::new())),
                &back,
            ))
        }
        Err(LibraryError::Invalid(reason)) => form_response(
            &document,
            &place,
            current,
            &choices,
            &fields,
            Some(reason.as_str()),
            422,
        ),
        Err(e) => Ok(refusal(&e, &back)),
    }
}

/// `POST /d/{id}/retirer` (`entree`, `confirme`, `csrf`): withdraws one of the
/// document's entries (`library.withdraw`, final) → 303 `/d/{id}?ok=retire`. 404 for an
/// entry that is not this document's; 422 without `confirme`.
pub fn withdraw(document_id: &str, form: &Form) -> PageResult {
    let (document, _) = match publishable(document_id)? {
        Ok(found) => found,
        Err(refused) => return Ok(refused),
    };
    let back = document.path();
    let entries = match library::mine_for(&document.id) {
        Ok(entries) => entries,
        Err(e) => return Ok(refusal(&e, &back)),
    };
    let wanted = form.get("entree");
    let Some(entry) = entries.iter().find(|e| e.id == wanted) else {
        return Ok(Response::not_found());
    };
    if form.get("confirme").is_empty() {
        return Ok(ui::refused(422, CONFIRM_WITHDRAWAL, &back));
    }
    match library::withdraw(&entry.id) {
        Ok(()) => Ok(Response::see_other(&format!("{back}?ok=retire"))),
        Err(e) => Ok(refusal(&e, &back)),
    }
}

/// The « Bibliothèque nationale » section of a document's page (a file's or a text's),
/// for publishers only: what the document became in the library, the links to publish
/// it (again) or a new version of it, and the withdrawal form. Nothing for the others.
pub fn section(document: &Document) -> Markup {
    if !publisher() {
        return html! {};
    }
    let (entries, error) = match library::mine_for(&document.id) {
        Ok(entries) => (entries, None),
        Err(e) => {
            catalog::log_unavailable(&e);
            (Vec::new(), Some(library::message(&e)))
        }
    };
    let current = active(&entries);
    let publish_path = href(&format!("{}/publier", document.path()));
    html! {
        section class="bibliotheque" id="bibliotheque" aria-labelledby="bibliotheque-titre" {
            h2 id="bibliotheque-titre" { "Bibliothèque nationale" }
            (alert(error.as_deref()))
            @if entries.is_empty() && error.is_none() {
                p class="muted" {
                    "Ce document n’est pas publié dans la bibliothèque nationale, où les membres "
                    "de toutes les structures de la plateforme pourraient le lire."
                }
            }
            @for entry in &entries {
                div class="publication" data-entree=(entry.id) data-etat=(catalog::state_code(entry)) data-version=(entry.version) {
                    @match catalog::standing(entry) {
                        Standing::Hidden(at, reason) => {
                            p {
                                "Masqué par l’équipe de la plateforme le " (ui::day(at))
                                @if !reason.is_empty() {
                                    " : " (reason)
                                }
                            }
                        }
                        Standing::Withdrawn(at) => {
                            p {
                                "Retiré le " (ui::day(at)) " (« " (entry.title) " », version "
                                (entry.version) ")"
                            }
                        }
                        Standing::Published => {
                            p {
                                "Publié dans la bibliothèque nationale (version " (entry.version)
                                ", le " (ui::day(entry.published_at)) ") : "
                                a href=(href(&catalog::entry_path(&entry.id))) { (entry.title) }
                            }
                        }
                    }
                }
            }
            @if let Some(entry) = current {
                div class="actions-document" {
                    a class="button publier" href=(publish_path) { "Publier une nouvelle version" }
                }
                form class="retirer stack" method="post" action=(href(&format!("{}/retirer", document.path()))) {
                    (csrf_field())
                    input type="hidden" name="entree" value=(entry.id);
                    label class="case" for="retirer-confirme" {
                        input id="retirer-confirme" type="checkbox" name="confirme" value="1" required;
                        " Les membres des autres structures ne pourront plus le lire."
                    }
                    button type="submit" class="secondary" { "Retirer de la bibliothèque" }
                }
            } @else if error.is_none() && !blocked(&entries) {
                div class="actions-document" {
                    a class="button publier" href=(publish_path) { "Publier dans la bibliothèque nationale" }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> Form {
        Form::parse(body.as_bytes())
    }

    #[test]
    fn tags_are_split_trimmed_and_merged() {
        assert_eq!(
            parse_tags(" Urgences, soins non programmés ,, urgences ,Urgénces"),
            Ok(vec![
                "Urgences".to_string(),
                "soins non programmés".to_string()
            ])
        );
        assert_eq!(parse_tags(""), Ok(Vec::new()));
        assert_eq!(parse_tags(&"é".repeat(40)), Ok(vec!["é".repeat(40)]));
        assert_eq!(parse_tags(&"é".repeat(41)), Err(TAG_TOO_LONG));
        let ten: Vec<String> = (0..10).map(|i| format!("t{i}")).collect();
        assert_eq!(parse_tags(&ten.join(",")), Ok(ten.clone()));
        assert_eq!(
            parse_tags(&format!("{},t10", ten.join(","))),
            Err(TOO_MANY_TAGS)
        );
    }

    #[test]
    fn the_form_is_read_as_typed() {
        let fields = Fields::parse(&form(
            "titre=+Fiche%0A+r%C3%A9flexe+&description=L1%0D%0AL2+&mots_cles=a%2Cb&licence=cc-by&version=3&note=+Samedi+",
        ));
        assert_eq!(fields.title, "Fiche réflexe");
        assert_eq!(fields.description, "L1\nL2");
        assert_eq!(fields.tags, "a,b");
        assert_eq!(fields.licence, "cc-by");
        assert_eq!(fields.version, 3);
        assert_eq!(fields.note, "Samedi");
        assert_eq!(Fields::parse(&form("version=abc")).version, 0);
    }

    #[test]
    fn titles_proposed_drop_a_files_extension() {
        assert_eq!(
            proposed_title("Fiche réflexe SNP.pdf", false),
            "Fiche réflexe SNP"
        );
        assert_eq!(
            proposed_title("Fiche réflexe SNP.pdf", true),
            "Fiche réflexe SNP.pdf"
        );
        assert_eq!(proposed_title(".pdf", false), ".pdf");
        assert_eq!(
            proposed_title("v1.2 du protocole", false),
            "v1.2 du protocole"
        );
        assert_eq!(proposed_title("notes", false), "notes");
        assert_eq!(
            proposed_title(&"a".repeat(300), true).chars().count(),
            MAX_TITLE
        );
    }

    fn good() -> Fields {
        Fields {
            title: "T".into(),
            licence: "cc-by".into(),
            version: 1,
            ..Fields::default()
        }
    }

    fn with(change: impl Fn(&mut Fields)) -> Fields {
        let mut fields = good();
        change(&mut fields);
        fields
    }

    #[test]
    fn limits_are_refused_in_french() {
        assert_eq!(good().problem(false), None);
        assert_eq!(
            with(|f| f.title.clear()).problem(false),
            Some(TITLE_MISSING)
        );
        assert_eq!(
            with(|f| f.title = "é".repeat(201)).problem(false),
            Some(TITLE_TOO_LONG)
        );
        assert_eq!(with(|f| f.title = "é".repeat(200)).problem(false), None);
        assert_eq!(
            with(|f| f.description = "d".repeat(2001)).problem(false),
            Some(DESCRIPTION_TOO_LONG)
        );
        assert_eq!(
            with(|f| f.description = "d".repeat(2000)).problem(false),
            None
        );
        assert_eq!(
            with(|f| f.tags = "a,b,c,d,e,f,g,h,i,j,k".into()).problem(false),
            Some(TOO_MANY_TAGS)
        );
        assert_eq!(
            with(|f| f.licence = "gpl".into()).problem(false),
            Some(NO_LICENCE)
        );
        assert_eq!(
            with(|f| f.note = "n".repeat(501)).problem(true),
            Some(NOTE_TOO_LONG)
        );
        // A first version has no note: what the field held does not count.
        assert_eq!(with(|f| f.note = "n".repeat(501)).problem(false), None);
        assert_eq!(with(|f| f.note = "n".repeat(500)).problem(true), None);
    }
}
