//! The national library (« bibliothèque nationale », WIT 0.2.7): documents that a
//! structure shares with every structure of the platform where the same module is
//! enabled. One library per module: every function works on the entries published
//! through the calling module's id, whichever structure published them.
//!
//! Reading needs the capability "library"; [`propose`] and [`withdraw`] also need
//! "library-publish", and answer [`LibraryError::Denied`] unless the acting member is a
//! coordinator of the structure or holds the module's role "bibliotheque", during an
//! HTTP request with a state-changing method (a form's POST, never a GET, an event or a
//! timer). [`propose`] publishes nothing by itself: it returns the host's confirmation
//! page, which the module answers with a 303 to; the member confirms there, and comes
//! back to the proposal's `return_path` with `?bibliotheque=publiee&entree={id}` (or
//! `?bibliotheque=annulee`).
//!
//! The generated types derive `Clone` (and `Debug`); [`Licence`] is also `Copy`,
//! `PartialEq` and `Eq`.

use crate::bindings::maillage::plugin::library as host;
pub use host::{
    Content, ContentKind, Entry, FileInfo, LibraryError, Licence, Moderation, Proposal, SearchPage,
    SearchSpec, TagCount, VersionContent, VersionInfo,
};

/// The module role whose holders publish and withdraw like coordinators: a module that
/// publishes declares it (see [`crate::Plugin::roles`]).
pub const PUBLISHER_ROLE: &str = "bibliotheque";

/// A page of this module's published entries (words, tag, own entries only, withdrawn
/// ones too, 1 to 50 a page, the previous page's `next` as cursor).
pub fn search(spec: &SearchSpec) -> Result<SearchPage, LibraryError> {
    host::search(spec)
}

/// One entry of this module's library, withdrawn and hidden ones included (without
/// content); none when there is no such entry.
pub fn get(entry_id: &str) -> Result<Option<Entry>, LibraryError> {
    host::get(entry_id)
}

/// Every version of the entry, newest first.
pub fn versions(entry_id: &str) -> Result<Vec<VersionInfo>, LibraryError> {
    host::versions(entry_id)
}

/// A version's content (none: the current version): the Markdown text, or the path at
/// which the host streams the file to the structure's members.
pub fn read(entry_id: &str, version: Option<u32>) -> Result<VersionContent, LibraryError> {
    host::read(entry_id, version)
}

/// The tags of this module's visible entries, most used first; at most `limit` (50).
pub fn tags(limit: u32) -> Result<Vec<TagCount>, LibraryError> {
    host::tags(limit)
}

/// The structure's own entries proposed with this `source_ref` (e.g. the module's
/// document id), newest first, withdrawn and hidden ones included.
pub fn mine_for(source_ref: &str) -> Result<Vec<Entry>, LibraryError> {
    host::mine_for(source_ref)
}

/// Records a proposal as the acting member, in the call's transaction, and returns the
/// path of the host's confirmation page, to answer with a 303
/// ([`crate::Response::see_other_absolute`]). Nothing is published until the member
/// confirms there, within one hour.
pub fn propose(proposal: &Proposal) -> Result<String, LibraryError> {
    host::propose(proposal)
}

/// Withdraws an entry of the structure, for good: its versions stay listed, their
/// content is no longer given. Withdrawing a withdrawn entry changes nothing.
pub fn withdraw(entry_id: &str) -> Result<(), LibraryError> {
    host::withdraw(entry_id)
}

/// What to tell the member, in French; a withdrawal's date in the structure's zone.
pub fn message(error: &LibraryError) -> String {
    match error {
        LibraryError::Withdrawn(_) => message_in(error, &crate::context().time_zone),
        other => message_in(other, crate::time::DEFAULT_ZONE),
    }
}

/// [`message`], a withdrawal's date shown in the IANA zone `zone`.
pub fn message_in(error: &LibraryError, zone: &str) -> String {
    match error {
        LibraryError::Denied => "Seuls les coordinateurs et les membres chargés de la \
                                 bibliothèque publient et retirent des documents."
            .into(),
        LibraryError::NotFound => "Ce document n’existe pas dans la bibliothèque nationale.".into(),
        LibraryError::Invalid(reason) => reason.clone(),
        LibraryError::Withdrawn(at) => {
            let tz = crate::time::zone_or_default(zone);
            let date = crate::time::local(crate::time::from_seconds(*at), &tz).date();
            format!(
                "Ce document a été retiré de la bibliothèque nationale le {}.",
                crate::time::date_fr(date)
            )
        }
        LibraryError::Hidden => "Ce document a été masqué par l’équipe de la plateforme.".into(),
        LibraryError::Unavailable(_) => {
            "La bibliothèque est momentanément indisponible. Réessayez.".into()
        }
    }
}

/// Every licence, with its code (as the WIT names it: form values) and its French label.
pub const LICENCES: &[(Licence, &str, &str)] = &[
    (
        Licence::CcBy,
        "cc-by",
        "CC BY 4.0 — réutilisation libre en citant la source",
    ),
    (
        Licence::CcBySa,
        "cc-by-sa",
        "CC BY-SA 4.0 — réutilisation en citant la source, à l’identique",
    ),
    (
        Licence::CcByNc,
        "cc-by-nc",
        "CC BY-NC 4.0 — réutilisation non commerciale en citant la source",
    ),
    (Licence::Cc0, "cc0", "CC0 — domaine public"),
    (Licence::Etalab, "etalab", "Licence Ouverte 2.0 (Etalab)"),
    (
        Licence::AllRightsReserved,
        "all-rights-reserved",
        "Tous droits réservés",
    ),
];

fn licence_row(licence: Licence) -> &'static (Licence, &'static str, &'static str) {
    LICENCES
        .iter()
        .find(|(l, _, _)| *l == licence)
        .expect("every licence is listed")
}

/// "cc-by", "cc-by-sa", "cc-by-nc", "cc0", "etalab", "all-rights-reserved".
pub fn licence_code(licence: Licence) -> &'static str {
    licence_row(licence).1
}

/// « CC BY 4.0 — réutilisation libre en citant la source », « Tous droits réservés »…
pub fn licence_label(licence: Licence) -> &'static str {
    licence_row(licence).2
}

/// The licence of a code ([`licence_code`]); none for anything else.
pub fn parse_licence(code: &str) -> Option<Licence> {
    let code = code.trim();
    LICENCES
        .iter()
        .find(|(_, c, _)| *c == code)
        .map(|(l, _, _)| *l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn licences_round_trip_through_their_codes() {
        assert_eq!(LICENCES.len(), 6);
        for (licence, code, label) in LICENCES {
            assert_eq!(parse_licence(code), Some(*licence));
            assert_eq!(licence_code(*licence), *code);
            assert_eq!(licence_label(*licence), *label);
        }
        assert_eq!(parse_licence(" cc0 "), Some(Licence::Cc0));
        assert_eq!(parse_licence("gpl"), None);
        assert_eq!(parse_licence(""), None);
    }

    #[test]
    fn errors_read_in_french() {
        assert!(message_in(&LibraryError::Denied, "Europe/Paris").starts_with("Seuls les"));
        assert_eq!(
            message_in(
                &LibraryError::Invalid("Titre trop long.".into()),
                "Europe/Paris"
            ),
            "Titre trop long."
        );
        // 2026-12-03T23:30:00Z is already the 4th in Paris.
        assert_eq!(
            message_in(&LibraryError::Withdrawn(1_796_340_600), "Europe/Paris"),
            "Ce document a été retiré de la bibliothèque nationale le vendredi 4 décembre 2026."
        );
        assert!(message_in(&LibraryError::Unavailable("db".into()), "UTC").contains("Réessayez"));
    }
}
