//! The national library as members read it (docs/cloud-contract.md, « National
//! library »; designed in docs/cloud-library-design.md, A.6): what every structure of
//! the platform published through this module, read from the host's copies
//! (`maillage_sdk::library`), never from the publishing structure's records.
//!
//! - `GET /bibliotheque`: the search (words `q`, a tag `etiquette`, `retires=1` the
//!   withdrawn entries too, `miens=1` the structure's own), pages of 20 (`apres`), the
//!   most used tags.
//! - `GET /bibliotheque/{entry}`: the current version (the Markdown rendered, or the
//!   file to download), its source, licence and versions; a withdrawn or hidden entry
//!   answers 410 with its tombstone only.
//! - `GET /bibliotheque/{entry}/v/{n}`: an older version.
//!
//! Every member of the structure reads them; nothing here is editable (the only form is
//! the search, a GET). Publishing and withdrawing are [`crate::publish`]'s.

use maillage_sdk::form::encode;
use maillage_sdk::html::{Markup, alert, href, html};
use maillage_sdk::library::{self, ContentKind, Entry, LibraryError, Licence, SearchSpec};
use maillage_sdk::{Response, fr, log, markdown};

use crate::files;
use crate::model;
use crate::ui::{self, PageResult};

/// Entries on a page of the search.
pub const PAGE_SIZE: u32 = 20;
/// Tags offered as links above the results.
pub const TAG_LINKS: u32 = 30;
/// Characters of a description shown in the results (the entry's page shows it whole).
pub const EXCERPT_CHARS: usize = 300;

pub const NOTHING_FOUND: &str = "Aucun document ne correspond à votre recherche.";

// ---------------------------------------------------------------------------------------
// Shared with `crate::publish`.

/// The same licence, as a new value: the generated enum is not assumed `Copy`.
fn same_licence(licence: &Licence) -> Licence {
    match licence {
        Licence::CcBy => Licence::CcBy,
        Licence::CcBySa => Licence::CcBySa,
        Licence::CcByNc => Licence::CcByNc,
        Licence::Cc0 => Licence::Cc0,
        Licence::Etalab => Licence::Etalab,
        Licence::AllRightsReserved => Licence::AllRightsReserved,
    }
}

/// The licence's code, as forms send it ("cc-by", …).
pub fn licence_code(licence: &Licence) -> &'static str {
    library::licence_code(same_licence(licence))
}

/// The licence's name, in French, as readers see it.
pub fn licence_label(licence: &Licence) -> &'static str {
    library::licence_label(same_licence(licence))
}

/// Where an entry stands for its readers.
pub enum Standing<'a> {
    /// Its content is given.
    Published,
    /// Withdrawn by its structure at this instant (Unix seconds).
    Withdrawn(i64),
    /// Hidden by the platform's operators at this instant, with their reason (given to
    /// the publishing structure only, empty for the others).
    Hidden(i64, &'a str),
}

pub fn standing(entry: &Entry) -> Standing<'_> {
    if let Some(moderation) = &entry.hidden {
        return Standing::Hidden(moderation.hidden_at, moderation.reason.as_str());
    }
    match entry.withdrawn_at {
        Some(at) => Standing::Withdrawn(at),
        None => Standing::Published,
    }
}

/// `data-etat` of an entry: "publiee", "retiree" or "masquee".
pub fn state_code(entry: &Entry) -> &'static str {
    match standing(entry) {
        Standing::Published => "publiee",
        Standing::Withdrawn(_) => "retiree",
        Standing::Hidden(..) => "masquee",
    }
}

/// « Texte », or « Document PDF (12 Ko) ».
pub fn kind_label(kind: &ContentKind) -> String {
    match kind {
        ContentKind::Markdown => "Texte".to_string(),
        ContentKind::File(info) => format!(
            "{} ({})",
            files::kind_label(&info.content_type),
            fr::size(info.size)
        ),
    }
}

/// The path of an entry's page, relative to the module.
pub fn entry_path(entry_id: &str) -> String {
    format!("/bibliotheque/{entry_id}")
}

/// An entry id typed in a path: the host's, 1 to 18 digits, not zero.
pub fn entry_id(text: &str) -> Option<&str> {
    let digits = !text.is_empty() && text.len() <= 18 && text.bytes().all(|b| b.is_ascii_digit());
    (digits && text.bytes().any(|b| b != b'0')).then_some(text)
}

/// The status a reader's page answers for a library error: 410 for a withdrawn or
/// hidden entry.
pub fn reader_status(error: &LibraryError) -> u16 {
    match error {
        LibraryError::Denied => 403,
        LibraryError::NotFound => 404,
        LibraryError::Invalid(_) => 422,
        LibraryError::Withdrawn(_) | LibraryError::Hidden => 410,
        LibraryError::Unavailable(_) => 503,
    }
}

/// Logs what the member is not told: the host's reason when the library is unavailable.
pub fn log_unavailable(error: &LibraryError) {
    if let LibraryError::Unavailable(reason) = error {
        log::warn(&format!(
            "documents: national library unavailable: {reason}"
        ));
    }
}

fn reader_refusal(error: &LibraryError) -> Response {
    log_unavailable(error);
    ui::refused(
        reader_status(error),
        &library::message(error),
        "/bibliotheque",
    )
}

/// At most `max` characters of `text`, « … » after a cut.
pub fn excerpt(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{}…", cut.trim_end())
}

// ---------------------------------------------------------------------------------------
// The search.

/// A search as its query string says it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    pub words: String,
    pub tag: String,
    pub withdrawn: bool,
    pub mine: bool,
    pub after: String,
}

impl Search {
    pub fn parse(query: &str) -> Search {
        Search {
            words: ui::param(query, "q"),
            tag: ui::param(query, "etiquette"),
            withdrawn: ui::param(query, "retires") == "1",
            mine: ui::param(query, "miens") == "1",
            after: ui::param(query, "apres"),
        }
    }

    /// The module-relative link to this search with its tag replaced by `tag` (when
    /// given; "" for none) and the page after `after` (none: the first page).
    pub fn link(&self, tag: Option<&str>, after: Option<&str>) -> String {
        let tag = tag.unwrap_or(self.tag.as_str());
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        if !self.words.is_empty() {
            pairs.push(("q", self.words.as_str()));
        }
        if !tag.is_empty() {
            pairs.push(("etiquette", tag));
        }
        if self.withdrawn {
            pairs.push(("retires", "1"));
        }
        if self.mine {
            pairs.push(("miens", "1"));
        }
        if let Some(after) = after {
            pairs.push(("apres", after));
        }
        if pairs.is_empty() {
            return "/bibliotheque".to_string();
        }
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        format!("/bibliotheque?{}", query.join("&"))
    }

    fn spec(&self) -> SearchSpec {
        SearchSpec {
            words: self.words.clone(),
            tag: (!self.tag.is_empty()).then(|| self.tag.clone()),
            mine: self.mine,
            include_withdrawn: self.withdrawn,
            limit: PAGE_SIZE,
            cursor: (!self.after.is_empty()).then(|| self.after.clone()),
        }
    }
}

/// One result of the search.
fn result_item(entry: &Entry) -> Markup {
    html! {
        li class="entree" data-entree=(entry.id) data-etat=(state_code(entry)) data-version=(entry.version) {
            h2 class="titre" { a href=(href(&entry_path(&entry.id))) { (entry.title) } }
            p class="source" { (entry.source_name) " (" (entry.source_kind) ")" }
            p class="muted details" {
                (kind_label(&entry.kind)) " · " (licence_label(&entry.licence))
                " · publié le " (ui::day(entry.published_at))
                @if entry.version > 1 {
                    " (version " (entry.version) ")"
                }
            }
            @match standing(entry) {
                Standing::Withdrawn(at) => {
                    p class="retrait" { "Retiré le " (ui::day(at)) }
                }
                Standing::Hidden(at, _) => {
                    p class="retrait" { "Masqué par l’équipe de la plateforme le " (ui::day(at)) }
                }
                Standing::Published => {}
            }
            @if !entry.description.is_empty() {
                p class="description" { (excerpt(&entry.description, EXCERPT_CHARS)) }
            }
            @if !entry.tags.is_empty() {
                ul class="etiquettes" {
                    @for tag in &entry.tags {
                        li { (tag) }
                    }
                }
            }
        }
    }
}

/// `GET /bibliotheque`: the search.
pub fn search_page(query: &str) -> PageResult {
    let search = Search::parse(query);
    let (items, next, error, status) = match library::search(&search.spec()) {
        Ok(page) => (page.items, page.next, None, 200),
        Err(e) => {
            log_unavailable(&e);
            (
                Vec::new(),
                None,
                Some(library::message(&e)),
                reader_status(&e),
            )
        }
    };
    let tags = match library::tags(TAG_LINKS) {
        Ok(tags) => tags,
        Err(e) => {
            log_unavailable(&e);
            Vec::new()
        }
    };
    let chosen_tag = maillage_sdk::text::fold(&search.tag);
    let body = html! {
        (ui::head())
        h1 { "Bibliothèque nationale" }
        p class="muted" {
            "Les documents que les structures de la plateforme ont choisi de partager, tels "
            "qu’elles les ont publiés. Seule la structure qui a publié un document peut en "
            "publier une nouvelle version ou le retirer."
        }
        form class="recherche-bibliotheque stack" method="get" action=(href("/bibliotheque")) role="search" {
            label for="bibliotheque-q" { "Rechercher dans la bibliothèque" }
            input id="bibliotheque-q" type="search" name="q" value=(search.words);
            @if !search.tag.is_empty() {
                input type="hidden" name="etiquette" value=(search.tag);
            }
            label class="case" for="bibliotheque-retires" {
                input id="bibliotheque-retires" type="checkbox" name="retires" value="1" checked[search.withdrawn];
                " Afficher aussi les documents retirés"
            }
            label class="case" for="bibliotheque-miens" {
                input id="bibliotheque-miens" type="checkbox" name="miens" value="1" checked[search.mine];
                " Mes publications"
            }
            button type="submit" { "Rechercher" }
        }
        @if !tags.is_empty() {
            nav class="etiquettes" aria-label="Mots-clés" {
                ul class="etiquettes" {
                    @for t in &tags {
                        @let current = maillage_sdk::text::fold(&t.tag) == chosen_tag;
                        li {
                            a href=(href(&search.link(Some(&t.tag), None))) aria-current=[current.then_some("true")] {
                                (t.tag) " (" (t.count) ")"
                            }
                        }
                    }
                }
            }
        }
        @if !search.tag.is_empty() {
            p class="etiquette-choisie" {
                "Mot-clé : « " (search.tag) " » · "
                a href=(href(&search.link(Some(""), None))) { "Tous les documents" }
            }
        }
        (alert(error.as_deref()))
        @if items.is_empty() {
            @if error.is_none() {
                p class="empty" { (NOTHING_FOUND) }
            }
        } @else {
            ul class="entrees" {
                @for entry in &items {
                    (result_item(entry))
                }
            }
        }
        @if let Some(next) = &next {
            p class="page-suivante" {
                a class="button secondary" rel="next" href=(href(&search.link(None, Some(next)))) { "Page suivante" }
            }
        }
    };
    Ok(Response::page("Bibliothèque nationale", body).with_status(status))
}

// ---------------------------------------------------------------------------------------
// An entry.

/// What a version's page shows of its content.
enum Shown {
    Text(String),
    File(String),
    Nothing,
}

/// `GET /bibliotheque/{entry}` (the current version) and `GET /bibliotheque/{entry}/v/{n}`
/// (version `n`): the entry as published, read-only. 404 for an unknown entry or
/// version, 410 (the tombstone, no content) for a withdrawn or hidden one.
pub fn entry_page(raw_id: &str, number: Option<&str>) -> PageResult {
    let Some(id) = entry_id(raw_id) else {
        return Ok(Response::not_found());
    };
    let wanted: Option<u32> = match number {
        None => None,
        Some(text) => match model::version_number(text).and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Some(n),
            None => return Ok(Response::not_found()),
        },
    };
    let entry = match library::get(id) {
        Ok(Some(entry)) => entry,
        Ok(None) => return Ok(Response::not_found()),
        Err(e) => return Ok(reader_refusal(&e)),
    };
    let versions = match library::versions(id) {
        Ok(versions) => versions,
        Err(e) => return Ok(reader_refusal(&e)),
    };
    let shown_version = match wanted {
        Some(n) => match versions.iter().find(|v| v.number == n) {
            Some(v) => Some(v),
            None => return Ok(Response::not_found()),
        },
        None => None,
    };
    let number = wanted.unwrap_or(entry.version);
    let (title, kind) = match shown_version {
        Some(v) => (v.title.as_str(), &v.kind),
        None => (entry.title.as_str(), &entry.kind),
    };
    let state = standing(&entry);
    let published = matches!(state, Standing::Published);
    let shown = if published {
        match library::read(id, wanted) {
            Ok(content) => match (content.text, content.download_path) {
                (Some(text), _) => Shown::Text(text),
                (None, Some(path)) => Shown::File(path),
                (None, None) => Shown::Nothing,
            },
            Err(e) => return Ok(reader_refusal(&e)),
        }
    } else {
        Shown::Nothing
    };
    let size = match kind {
        ContentKind::File(info) => Some(fr::size(info.size)),
        ContentKind::Markdown => None,
    };
    let origin: Option<String> = if entry.mine {
        entry
            .source_ref
            .as_ref()
            .filter(|r| !r.is_empty())
            .map(|r| format!("/d/{r}"))
    } else {
        None
    };
    let here = match wanted {
        Some(n) => format!("Version {n}"),
        None => title.to_string(),
    };
    let links = [("Bibliothèque nationale", "/bibliotheque".to_string())];
    let body = html! {
        (ui::head())
        (ui::breadcrumb(&links, &here))
        article class="entree-publiee" data-entree=(entry.id) data-version=(number) data-etat=(state_code(&entry)) {
            header {
                h1 { (title) }
                p class="source" { "Publié par " (entry.source_name) " (" (entry.source_kind) ")" }
                p class="muted details" {
                    "Licence : " span class="licence" { (licence_label(&entry.licence)) }
                    " · " (kind_label(kind))
                    " · publié le " (ui::day(entry.first_published_at))
                    @if entry.version > 1 {
                        ", version " (entry.version) " le " (ui::day(entry.published_at))
                    }
                }
                @if !entry.description.is_empty() {
                    p class="description" { (entry.description) }
                }
                @if !entry.tags.is_empty() {
                    ul class="etiquettes" {
                        @for tag in &entry.tags {
                            li { (tag) }
                        }
                    }
                }
            }
            @match state {
                Standing::Hidden(at, reason) => {
                    div class="alert" role="alert" {
                        p {
                            "Masqué par l’équipe de la plateforme le " (ui::day(at))
                            @if entry.mine && !reason.is_empty() {
                                " : " (reason)
                            }
                        }
                    }
                }
                Standing::Withdrawn(at) => {
                    div class="alert" role="alert" {
                        p { "Retiré par " (entry.source_name) " le " (ui::day(at)) }
                    }
                }
                Standing::Published => {
                    @if number != entry.version {
                        p class="muted version-ancienne" {
                            "Ce n’est pas la version actuelle de ce document : la version actuelle est la version "
                            (entry.version) ". "
                            a href=(href(&entry_path(&entry.id))) { "Lire la version actuelle" }
                        }
                    }
                    @match &shown {
                        Shown::Text(text) => {
                            @if text.trim().is_empty() {
                                p class="empty" { "Ce texte est vide." }
                            }
                            div class="markdown" { (markdown::render(text)) }
                        }
                        Shown::File(path) => {
                            p {
                                a class="button telecharger" href=(path) {
                                    "Télécharger"
                                    @if let Some(size) = &size {
                                        " (" (size) ")"
                                    }
                                }
                            }
                            @if let ContentKind::File(info) = kind {
                                p class="muted fichier" { (info.name) }
                            }
                        }
                        Shown::Nothing => {}
                    }
                }
            }
        }
        @if let Some(origin) = &origin {
            p class="origine" {
                "Publié par votre structure. "
                a href=(href(origin)) { "Ouvrir le document d’origine" }
            }
        }
        section class="versions-publiees" aria-labelledby="versions-publiees-titre" {
            h2 id="versions-publiees-titre" { "Versions" }
            ol class="versions-publiees" {
                @for v in &versions {
                    li data-version=(v.number) class=(if v.number == number { "version affichee" } else { "version" }) {
                        @if published && v.number != number {
                            a href=(href(&format!("{}/v/{}", entry_path(&entry.id), v.number))) { "Version " (v.number) }
                        } @else {
                            "Version " (v.number)
                        }
                        " — " (ui::day(v.published_at))
                        @if !v.note.is_empty() {
                            " — " (v.note)
                        }
                        @if v.number == entry.version {
                            " " span class="badge" { "actuelle" }
                        }
                    }
                }
            }
        }
        p { a href=(href("/bibliotheque")) { "Revenir à la bibliothèque nationale" } }
    };
    let status = if published { 200 } else { 410 };
    Ok(Response::page(title, body).with_status(status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_are_the_hosts_digits() {
        assert_eq!(entry_id("42"), Some("42"));
        assert_eq!(entry_id("0"), None);
        assert_eq!(entry_id("00"), None);
        assert_eq!(entry_id(""), None);
        assert_eq!(entry_id("4a"), None);
        assert_eq!(entry_id("-1"), None);
        assert_eq!(entry_id(&"9".repeat(19)), None);
    }

    #[test]
    fn searches_keep_their_filters_in_their_links() {
        let search = Search::parse("q=diab%C3%A8te&retires=1&apres=abc");
        assert_eq!(search.words, "diabète");
        assert!(search.withdrawn && !search.mine);
        assert_eq!(search.after, "abc");
        assert_eq!(
            search.link(None, Some("c2")),
            "/bibliotheque?q=diab%C3%A8te&retires=1&apres=c2"
        );
        assert_eq!(
            search.link(Some("Soins non programmés"), None),
            "/bibliotheque?q=diab%C3%A8te&etiquette=Soins%20non%20programm%C3%A9s&retires=1"
        );
        assert_eq!(Search::default().link(None, None), "/bibliotheque");
        let tagged = Search::parse("etiquette=urgences&miens=1");
        assert_eq!(tagged.link(Some(""), None), "/bibliotheque?miens=1");
    }

    #[test]
    fn excerpts_cut_long_descriptions() {
        assert_eq!(excerpt("court", 10), "court");
        assert_eq!(excerpt("un texte bien trop long", 8), "un texte…");
        assert_eq!(excerpt("éééé", 4), "éééé");
    }
}
