//! The national library (« bibliothèque nationale »): the one place where data crosses
//! structures (docs/cloud-library-design.md, part A). A structure publishes, through a
//! module, immutable copies (title, description, tags, licence, a Markdown text or a
//! file) that one of its members confirmed on a host page; every structure where the
//! same module is enabled reads them.
//!
//! - **One library per module.** Every read is `WHERE module_id = caller.module_id`; no
//!   function takes another module. Writes (a new version, a withdrawal) also check
//!   `owner_structure_id = caller.structure_id`: another structure's entry is `NotFound`.
//! - **Nothing is published without a person.** [`propose`] stores a proposal on the
//!   caller's connection (the plugin call's transaction) and returns a token; [`confirm`],
//!   called by the host's confirmation page, copies the file and publishes in one write
//!   transaction with its audit entry.
//! - **What readers get.** The versions, the owner structure's name and kind; the
//!   module's `source_ref` and a moderation reason to the owner only.
//!
//! Who may publish is decided by the caller ([`Caller::may_publish`]): this module
//! trusts it. Functions that run inside a plugin call take its connection (`&mut
//! AnyConnection`: the call's reader or writer); those of the host's own pages and
//! commands take the [`Db`](crate::storage::Db) and use their own transactions.
//!
//! The runtime's imports (WIT 0.2.7), the host's pages (`http::library`: the
//! confirmation page; `http::files`: published files; `http::platform`: moderation) and
//! the command line (`maillage admin library`) call these functions; `maillage bench
//! cloud` seeds entries in bulk with [`seed_for_bench`], through the writes of [`confirm`].

mod moderation;
mod propose;
mod publish;
mod read;
mod search;
mod seed;

use serde::Serialize;
use sqlx::AnyConnection;

use crate::storage::collections::fold;
use crate::storage::{Backend, StorageError};

pub use moderation::{
    HIDDEN_MAIL_SUBJECT, MAX_OPERATOR_ROWS, Moderated, OperatorFilter, OperatorRow,
    OperatorVersion, hide, library_modules, list_all, operator_entry, operator_file,
    operator_versions, rebuild_postgres_search, unhide, withdraw,
};
pub use propose::{
    Cancelled, PendingContent, PendingProposal, ProposalLookup, VersionOf, cancel, proposal_for,
    propose, purge_expired_proposals,
};
pub use publish::{ConfirmError, Published, confirm};
pub use read::{LibraryFile, file_object, get, mine_for, read, tags, versions};
pub use search::{MAX_PAGE, MAX_SEARCH_WORDS, STOP_WORDS, search, search_words};
pub use seed::{SeedContent, SeedEntry, seed_for_bench};

/// Longest title, in characters (at least one).
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// Most tags of a version, once duplicates are merged.
pub const MAX_TAGS: usize = 10;
/// Longest tag, in characters (at least one).
pub const MAX_TAG_CHARS: usize = 40;
/// Longest version note, in characters.
pub const MAX_NOTE_CHARS: usize = 500;
/// Longest `source_ref`, in characters.
pub const MAX_SOURCE_REF_CHARS: usize = 100;
/// Longest `return_path`, in characters.
pub const MAX_RETURN_PATH_CHARS: usize = 500;
/// Largest Markdown text, in bytes of UTF-8.
pub const MAX_MARKDOWN_BYTES: usize = 256 * 1024;
/// Most lines of a Markdown text.
pub const MAX_MARKDOWN_LINES: usize = 5000;
/// How long a proposal waits for its confirmation.
pub const PROPOSAL_TTL_SECS: i64 = 3600;
/// How long an expired proposal is kept (its page answers « expirée ») before the purge.
pub const PROPOSAL_KEPT_AFTER_EXPIRY_SECS: i64 = 24 * 3600;
/// Shortest moderation reason, in characters.
pub const MIN_REASON_CHARS: usize = 10;
/// Longest moderation reason, in characters.
pub const MAX_REASON_CHARS: usize = 1000;

/// The licence a version is published under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Licence {
    CcBy,
    CcBySa,
    CcByNc,
    Cc0,
    Etalab,
    AllRightsReserved,
}

impl Licence {
    pub const ALL: [Licence; 6] = [
        Licence::CcBy,
        Licence::CcBySa,
        Licence::CcByNc,
        Licence::Cc0,
        Licence::Etalab,
        Licence::AllRightsReserved,
    ];

    /// As stored and as the WIT names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Licence::CcBy => "cc-by",
            Licence::CcBySa => "cc-by-sa",
            Licence::CcByNc => "cc-by-nc",
            Licence::Cc0 => "cc0",
            Licence::Etalab => "etalab",
            Licence::AllRightsReserved => "all-rights-reserved",
        }
    }

    pub fn parse(text: &str) -> Option<Licence> {
        Licence::ALL.into_iter().find(|l| l.as_str() == text)
    }

    /// Its name, in French, as readers see it.
    pub fn label(self) -> &'static str {
        match self {
            Licence::CcBy => "CC BY 4.0",
            Licence::CcBySa => "CC BY-SA 4.0",
            Licence::CcByNc => "CC BY-NC 4.0",
            Licence::Cc0 => "CC0 1.0",
            Licence::Etalab => "Licence Ouverte 2.0 (Etalab)",
            Licence::AllRightsReserved => "Tous droits réservés",
        }
    }

    /// What it allows, in French (forms, the confirmation page).
    pub fn description(self) -> &'static str {
        match self {
            Licence::CcBy => "réutilisation libre en citant la source",
            Licence::CcBySa => "réutilisation en citant la source, sous la même licence",
            Licence::CcByNc => "réutilisation en citant la source, sans usage commercial",
            Licence::Cc0 => "aucun droit réservé",
            Licence::Etalab => {
                "réutilisation libre en citant la source (licence des administrations)"
            }
            Licence::AllRightsReserved => {
                "lecture seule : toute réutilisation demande l’accord de la source"
            }
        }
    }
}

/// A published file, as the host copied it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileInfo {
    pub name: String,
    pub content_type: String,
    pub size: u64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
}

/// What a version holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContentKind {
    Markdown,
    File(FileInfo),
}

impl ContentKind {
    /// As stored: "markdown" or "file".
    pub fn as_str(&self) -> &'static str {
        match self {
            ContentKind::Markdown => "markdown",
            ContentKind::File(_) => "file",
        }
    }
}

/// An operator's decision to hide an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moderation {
    /// Unix seconds.
    pub hidden_at: i64,
    /// The operator's reason: for the owner structure only, empty for the others.
    pub reason: String,
}

/// An entry, as its current version describes it, seen from one structure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The host's id, the same in every structure (the WIT gives it as a string).
    pub id: i64,
    pub module_id: String,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub licence: Licence,
    pub kind: ContentKind,
    /// Number of the current version, from 1.
    pub version: u32,
    /// Name of the owner structure.
    pub source_name: String,
    /// "CPTS" or "MSP".
    pub source_kind: String,
    /// Published by the viewing structure.
    pub mine: bool,
    /// The module's reference given to `propose`: for the owner structure only.
    pub source_ref: Option<String>,
    /// Unix seconds: the first version's publication.
    pub first_published_at: i64,
    /// Unix seconds: the current version's publication.
    pub published_at: i64,
    /// Set once the owner withdrew it: its content is no longer given.
    pub withdrawn_at: Option<i64>,
    /// Set while the platform's operators hide it: its content is no longer given.
    pub hidden: Option<Moderation>,
}

/// One version of an entry (`versions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionInfo {
    pub number: u32,
    pub title: String,
    /// What changed, as the publisher wrote it; may be empty.
    pub note: String,
    pub kind: ContentKind,
    /// Unix seconds.
    pub published_at: i64,
    /// Its content was erased by an operator (legal purge): `read` answers `NotFound`.
    pub purged: bool,
}

/// A version's content (`read`). The runtime adds the download path of a file
/// ([`download_path`]), which needs the viewing structure's slug.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionContent {
    pub number: u32,
    /// The Markdown text; none for a file.
    pub text: Option<String>,
    /// The file; none for a Markdown text.
    pub file: Option<FileInfo>,
}

/// A search (see `search::search` for the rules).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchSpec {
    /// Words that must each begin a word of the title, the tags or the Markdown text.
    /// "" lists every entry.
    pub words: String,
    /// Only entries with this tag (accents and case ignored).
    pub tag: Option<String>,
    /// Only the viewing structure's entries, its hidden ones included.
    pub mine: bool,
    /// Withdrawn entries too.
    pub include_withdrawn: bool,
    /// 1 to [`MAX_PAGE`].
    pub limit: u32,
    /// `SearchPage::next` of the previous page, asked with the same spec.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchPage {
    /// Title and tag hits first, then text-only hits; the most recent version first.
    pub items: Vec<Entry>,
    /// None on the last page.
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagCount {
    /// Folded: what `SearchSpec::tag` matches.
    pub tag: String,
    /// As a publisher wrote it, for display.
    pub label: String,
    pub count: u32,
}

/// What a proposal publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProposalContent {
    /// At most [`MAX_MARKDOWN_BYTES`] and [`MAX_MARKDOWN_LINES`].
    Markdown(String),
    /// One of the calling module's blobs in the calling structure; copied at confirmation.
    File { blob_id: String },
}

/// What a module proposes to publish (the WIT `proposal`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// A new version of this entry (the caller's structure's and module's, neither
    /// withdrawn nor hidden); none for a new entry. The runtime parses the WIT's string
    /// with [`parse_entry_id`] (unparsable: `NotFound`).
    pub new_version_of: Option<i64>,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub licence: Licence,
    pub content: ProposalContent,
    pub note: String,
    pub source_ref: String,
    /// Module-relative path the member returns to, e.g. "/d/42".
    pub return_path: String,
}

/// Who calls, as the runtime (or a host page) established it, never the module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The call's structure.
    pub structure_id: i64,
    /// The calling module: the library it reads and writes.
    pub module_id: String,
    /// The acting member; none for a call without one (an event, a timer).
    pub account_id: Option<i64>,
    /// Decided by the caller and trusted here: the acting member is a coordinator of the
    /// structure or holds the module's role "bibliotheque", AND the call is an HTTP
    /// request with a state-changing method whose CSRF token the host checked. Without
    /// it `propose` and `withdraw` answer `Denied`.
    pub may_publish: bool,
}

impl Caller {
    /// A caller that only reads.
    pub fn reader(structure_id: i64, module_id: &str) -> Caller {
        Caller {
            structure_id,
            module_id: module_id.to_string(),
            account_id: None,
            may_publish: false,
        }
    }

    /// The acting member's account, if this caller may publish.
    fn publisher(&self) -> Result<i64, LibraryError> {
        match (self.may_publish, self.account_id) {
            (true, Some(id)) if id > 0 => Ok(id),
            _ => Err(LibraryError::Denied),
        }
    }
}

/// Why a library call did not happen (the WIT `library-error`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LibraryError {
    /// No acting member, not allowed to publish, or not a state-changing HTTP request.
    #[error("not allowed")]
    Denied,
    /// No such entry or version in this module's library; for a change, an entry of
    /// another structure.
    #[error("no such library entry or version")]
    NotFound,
    /// The reason, in French.
    #[error("{0}")]
    Invalid(String),
    /// Withdrawn at this instant (Unix seconds).
    #[error("withdrawn at {0}")]
    Withdrawn(i64),
    #[error("hidden by the platform's operators")]
    Hidden,
    /// The database or the store failed; the reason is for the log.
    #[error("library unavailable: {0}")]
    Unavailable(String),
}

impl LibraryError {
    /// A French sentence for a page.
    pub fn french(&self) -> String {
        match self {
            LibraryError::Denied => {
                "Seuls les coordinateurs et les membres chargés de la bibliothèque publient \
                 ou retirent des documents de la bibliothèque nationale."
                    .into()
            }
            LibraryError::NotFound => {
                "Ce document n’existe pas dans la bibliothèque nationale.".into()
            }
            LibraryError::Invalid(reason) => reason.clone(),
            LibraryError::Withdrawn(_) => {
                "Ce document a été retiré de la bibliothèque nationale.".into()
            }
            LibraryError::Hidden => {
                "Ce document a été masqué par l’équipe de la plateforme.".into()
            }
            LibraryError::Unavailable(_) => {
                "La bibliothèque nationale est indisponible pour le moment. Réessayez plus tard."
                    .into()
            }
        }
    }
}

impl From<StorageError> for LibraryError {
    fn from(e: StorageError) -> Self {
        LibraryError::Unavailable(e.to_string())
    }
}

impl From<sqlx::Error> for LibraryError {
    fn from(e: sqlx::Error) -> Self {
        LibraryError::Unavailable(e.to_string())
    }
}

fn invalid(reason: &str) -> LibraryError {
    LibraryError::Invalid(reason.to_string())
}

/// An entry id as the WIT or a URL gives it: digits, positive.
pub fn parse_entry_id(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|id| *id > 0)
}

/// The host's confirmation page of a proposal.
pub fn confirmation_path(structure_slug: &str, token: &str) -> String {
    format!("/{structure_slug}/bibliotheque/confirmer/{token}")
}

/// Where members of `structure_slug` download a published file.
pub fn download_path(structure_slug: &str, module_id: &str, entry_id: i64, number: u32) -> String {
    format!("/{structure_slug}/fichiers/{module_id}/bibliotheque/{entry_id}/{number}")
}

/// `/{structure}/{module}{return_path}` with `query` added (after `?`, or `&` when the
/// path already has a query).
pub fn return_location(
    structure_slug: &str,
    module_id: &str,
    return_path: &str,
    query: &str,
) -> String {
    let separator = if return_path.contains('?') { '&' } else { '?' };
    format!("/{structure_slug}/{module_id}{return_path}{separator}{query}")
}

/// Which dialect `conn` speaks: the functions that run on a plugin call's connection
/// have no [`Db`](crate::storage::Db) at hand.
fn backend_of(conn: &AnyConnection) -> Backend {
    if conn.backend_name() == "PostgreSQL" {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

/// `' ' || fold(title) || ' ' || fold(each tag) || ' '`: the words of the title and the
/// tags, each preceded by a space, so that `LIKE '% w%'` finds a word prefix.
fn head_folded(title: &str, tags: &[String]) -> String {
    let mut head = String::from(" ");
    for part in std::iter::once(title).chain(tags.iter().map(String::as_str)) {
        let folded = fold(part);
        if !folded.is_empty() {
            head.push_str(&folded);
            head.push(' ');
        }
    }
    head
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).expect("the OS random source is available");
    bytes
}

/// A proposal's token: 128 random bits, in hex.
fn new_token() -> String {
    random_bytes::<16>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn valid_token(token: &str) -> bool {
    token.len() == 32
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `library/{module}/{26 random characters}`: 128 bits in Crockford's base32, lowercase.
fn new_object_key(module_id: &str) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let n = u128::from_be_bytes(random_bytes::<16>());
    let random: String = (0..26)
        .map(|i| ALPHABET[((n >> (i * 5)) & 31) as usize] as char)
        .collect();
    format!(
        "{}{module_id}/{random}",
        crate::storage::blobs::LIBRARY_PREFIX
    )
}

/// The characters a one-line field refuses.
fn one_line(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

/// The characters a multi-line field refuses: controls other than line breaks and tabs.
fn multi_line(text: &str) -> bool {
    !text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn licences_round_trip() {
        for licence in Licence::ALL {
            assert_eq!(Licence::parse(licence.as_str()), Some(licence));
        }
        assert_eq!(Licence::parse("gpl"), None);
    }

    #[test]
    fn heads_hold_title_and_tag_words() {
        let head = head_folded(
            "Diabète de type 2",
            &["Parcours patient".into(), "—".into()],
        );
        assert_eq!(head, " diabete de type 2 parcours patient ");
    }

    #[test]
    fn keys_and_tokens_are_random_and_well_formed() {
        let key = new_object_key("documents");
        let random = key.strip_prefix("library/documents/").unwrap();
        assert_eq!(random.len(), 26);
        assert_ne!(key, new_object_key("documents"));
        let token = new_token();
        assert!(valid_token(&token), "{token}");
        assert!(!valid_token("../etc"));
        assert_eq!(parse_entry_id("42"), Some(42));
        assert_eq!(parse_entry_id("0"), None);
        assert_eq!(parse_entry_id("-1"), None);
        assert_eq!(parse_entry_id("4a"), None);
    }

    #[test]
    fn return_locations_add_the_outcome() {
        assert_eq!(
            return_location("a", "documents", "/d/42", "bibliotheque=annulee"),
            "/a/documents/d/42?bibliotheque=annulee"
        );
        assert_eq!(
            return_location("a", "documents", "/d?x=1", "bibliotheque=annulee"),
            "/a/documents/d?x=1&bibliotheque=annulee"
        );
    }
}
