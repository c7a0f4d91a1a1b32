//! Host side of `maillage:plugin/library` (WIT 0.2.7): the national library, a thin
//! layer over `crate::library` (which the host's confirmation pages and the CLI share).
//! The structure and the module come from the store's scope, the acting member and the
//! call kind from the runtime: a module names neither (docs/cloud-library-design.md A.3).
//!
//! Reads use the call's read connection (its transaction once it wrote); `propose` and
//! `withdraw` use the call's transaction, each in a savepoint, so that they exist only if
//! the call's writes are kept and a change refused half-way leaves nothing.

use sqlx::AnyConnection;

use super::Capability;
use super::host::HostState;
use super::v0_2::maillage::plugin::library as wit;
use crate::library::{self, Caller, LibraryError};

type Answer<T> = wasmtime::Result<Result<T, wit::LibraryError>>;

/// The module role whose holders publish and withdraw like the structure's coordinators
/// (a convention WIT 0.2.7 documents; the documents module declares it).
const LIBRARY_ROLE: &str = "bibliotheque";

/// The host could not do it: the cause goes to the log, the module learns what failed.
fn unavailable(what: &str, error: impl std::fmt::Display) -> wit::LibraryError {
    tracing::error!(error = %error, "library: {what} failed");
    wit::LibraryError::Unavailable(format!("{what} failed"))
}

fn wit_error(what: &str, error: LibraryError) -> wit::LibraryError {
    match error {
        LibraryError::Denied => wit::LibraryError::Denied,
        LibraryError::NotFound => wit::LibraryError::NotFound,
        LibraryError::Invalid(reason) => wit::LibraryError::Invalid(reason),
        LibraryError::Withdrawn(at) => wit::LibraryError::Withdrawn(at),
        LibraryError::Hidden => wit::LibraryError::Hidden,
        LibraryError::Unavailable(reason) => unavailable(what, reason),
    }
}

fn licence_from_wit(licence: wit::Licence) -> library::Licence {
    match licence {
        wit::Licence::CcBy => library::Licence::CcBy,
        wit::Licence::CcBySa => library::Licence::CcBySa,
        wit::Licence::CcByNc => library::Licence::CcByNc,
        wit::Licence::Cc0 => library::Licence::Cc0,
        wit::Licence::Etalab => library::Licence::Etalab,
        wit::Licence::AllRightsReserved => library::Licence::AllRightsReserved,
    }
}

fn wit_licence(licence: library::Licence) -> wit::Licence {
    match licence {
        library::Licence::CcBy => wit::Licence::CcBy,
        library::Licence::CcBySa => wit::Licence::CcBySa,
        library::Licence::CcByNc => wit::Licence::CcByNc,
        library::Licence::Cc0 => wit::Licence::Cc0,
        library::Licence::Etalab => wit::Licence::Etalab,
        library::Licence::AllRightsReserved => wit::Licence::AllRightsReserved,
    }
}

fn wit_file(file: library::FileInfo) -> wit::FileInfo {
    wit::FileInfo {
        name: file.name,
        content_type: file.content_type,
        size: file.size,
        sha256: file.sha256,
    }
}

fn wit_kind(kind: library::ContentKind) -> wit::ContentKind {
    match kind {
        library::ContentKind::Markdown => wit::ContentKind::Markdown,
        library::ContentKind::File(file) => wit::ContentKind::File(wit_file(file)),
    }
}

fn wit_entry(entry: library::Entry) -> wit::Entry {
    wit::Entry {
        id: entry.id.to_string(),
        title: entry.title,
        description: entry.description,
        tags: entry.tags,
        licence: wit_licence(entry.licence),
        kind: wit_kind(entry.kind),
        version: entry.version,
        source_name: entry.source_name,
        source_kind: entry.source_kind,
        mine: entry.mine,
        source_ref: entry.source_ref,
        first_published_at: entry.first_published_at,
        published_at: entry.published_at,
        withdrawn_at: entry.withdrawn_at,
        hidden: entry.hidden.map(|m| wit::Moderation {
            hidden_at: m.hidden_at,
            reason: m.reason,
        }),
    }
}

fn wit_entries(entries: Vec<library::Entry>) -> Vec<wit::Entry> {
    entries.into_iter().map(wit_entry).collect()
}

fn wit_version_info(version: library::VersionInfo) -> wit::VersionInfo {
    wit::VersionInfo {
        number: version.number,
        title: version.title,
        note: version.note,
        kind: wit_kind(version.kind),
        published_at: version.published_at,
    }
}

fn search_spec(spec: wit::SearchSpec) -> library::SearchSpec {
    library::SearchSpec {
        words: spec.words,
        tag: spec.tag,
        mine: spec.mine,
        include_withdrawn: spec.include_withdrawn,
        limit: spec.limit,
        cursor: spec.cursor,
    }
}

fn proposal_content(content: wit::Content) -> library::ProposalContent {
    match content {
        wit::Content::Markdown(text) => library::ProposalContent::Markdown(text),
        wit::Content::File(blob_id) => library::ProposalContent::File { blob_id },
    }
}

impl HostState {
    /// Who calls the library, with "library" checked (a trap otherwise): the store's
    /// structure and module, the acting member, and whether they may publish now — a
    /// coordinator (or admin) of the structure or a holder of this module's role
    /// "bibliotheque", in an HTTP request with a state-changing method. Module roles are
    /// in the context only when this module declares them and an admin granted them.
    fn library_caller(&mut self) -> wasmtime::Result<Caller> {
        let scope = self.require(Capability::Library)?;
        let (account_id, may_publish) = match &self.call {
            Some(ctx) => {
                let account_id = ctx
                    .user
                    .as_ref()
                    .and_then(|u| u.id.parse::<i64>().ok())
                    .filter(|id| *id > 0);
                let publisher = ctx
                    .roles
                    .iter()
                    .any(|r| matches!(r.as_str(), "coordinator" | "admin" | LIBRARY_ROLE));
                let may_publish = account_id.is_some()
                    && publisher
                    && ctx.structure_id == scope.structure_id
                    && self.call_kind.is_state_changing_http();
                (account_id, may_publish)
            }
            None => (None, false),
        };
        Ok(Caller {
            structure_id: scope.structure_id,
            module_id: scope.plugin_id,
            account_id,
            may_publish,
        })
    }

    /// The caller of `propose` and `withdraw`: "library-publish" checked too.
    fn library_publisher(&mut self) -> wasmtime::Result<Caller> {
        let caller = self.library_caller()?;
        self.require(Capability::LibraryPublish)?;
        Ok(caller)
    }

    /// The call's structure's slug, for the paths the host gives back.
    fn structure_slug(&self) -> String {
        self.call
            .as_ref()
            .map(|c| c.structure_slug.clone())
            .unwrap_or_default()
    }

    /// Runs `change` on the call's transaction inside a savepoint: a change refused
    /// half-way (a withdrawal whose audit entry could not be written) leaves nothing,
    /// while the module's call goes on and may still commit its other writes.
    async fn library_change<T>(
        &mut self,
        what: &str,
        change: impl AsyncFnOnce(&mut AnyConnection) -> Result<T, LibraryError>,
    ) -> Result<T, wit::LibraryError> {
        let conn = self.writer().await.map_err(|e| unavailable(what, e))?;
        sqlx::query("SAVEPOINT library_change")
            .execute(&mut *conn)
            .await
            .map_err(|e| unavailable(what, e))?;
        let result = change(&mut *conn).await;
        let end = if result.is_ok() {
            "RELEASE SAVEPOINT library_change"
        } else {
            "ROLLBACK TO SAVEPOINT library_change"
        };
        sqlx::query(end)
            .execute(&mut *conn)
            .await
            .map_err(|e| unavailable(what, e))?;
        if result.is_err() {
            // ROLLBACK TO keeps the savepoint open: release it too.
            sqlx::query("RELEASE SAVEPOINT library_change")
                .execute(&mut *conn)
                .await
                .map_err(|e| unavailable(what, e))?;
        }
        result.map_err(|e| wit_error(what, e))
    }
}

/// Runs `$body` with `$conn`, the call's read connection (its transaction once it
/// wrote), answering `unavailable` when none can be had.
macro_rules! reading {
    ($state:ident, $what:literal, $conn:ident => $body:expr) => {
        match $state.reader().await {
            Ok($conn) => $body.await.map_err(|e| wit_error($what, e)),
            Err(e) => Err(unavailable($what, e)),
        }
    };
}

impl wit::Host for HostState {
    async fn search(&mut self, spec: wit::SearchSpec) -> Answer<wit::SearchPage> {
        let caller = self.library_caller()?;
        let spec = search_spec(spec);
        let page: Result<library::SearchPage, wit::LibraryError> = reading!(
            self, "searching the library", conn => library::search(conn, &caller, &spec)
        );
        Ok(page.map(|page| wit::SearchPage {
            items: wit_entries(page.items),
            next: page.next,
        }))
    }

    async fn get(&mut self, entry_id: String) -> Answer<Option<wit::Entry>> {
        let caller = self.library_caller()?;
        // Not an id the host gives: there is no such entry.
        let Some(id) = library::parse_entry_id(&entry_id) else {
            return Ok(Ok(None));
        };
        let entry: Result<Option<library::Entry>, wit::LibraryError> = reading!(
            self, "reading a library entry", conn => library::get(conn, &caller, id)
        );
        Ok(entry.map(|e| e.map(wit_entry)))
    }

    async fn versions(&mut self, entry_id: String) -> Answer<Vec<wit::VersionInfo>> {
        let caller = self.library_caller()?;
        let Some(id) = library::parse_entry_id(&entry_id) else {
            return Ok(Err(wit::LibraryError::NotFound));
        };
        let versions: Result<Vec<library::VersionInfo>, wit::LibraryError> = reading!(
            self, "listing versions", conn => library::versions(conn, &caller, id)
        );
        Ok(versions.map(|v| v.into_iter().map(wit_version_info).collect()))
    }

    async fn read(
        &mut self,
        entry_id: String,
        version: Option<u32>,
    ) -> Answer<wit::VersionContent> {
        let caller = self.library_caller()?;
        let Some(id) = library::parse_entry_id(&entry_id) else {
            return Ok(Err(wit::LibraryError::NotFound));
        };
        let slug = self.structure_slug();
        let content: Result<library::VersionContent, wit::LibraryError> = reading!(
            self, "reading a library version", conn => library::read(conn, &caller, id, version)
        );
        Ok(content.map(|content| {
            let number = content.number;
            let download_path = content
                .file
                .map(|_| library::download_path(&slug, &caller.module_id, id, number));
            wit::VersionContent {
                number,
                text: content.text,
                download_path,
            }
        }))
    }

    async fn tags(&mut self, limit: u32) -> Answer<Vec<wit::TagCount>> {
        let caller = self.library_caller()?;
        let tags: Result<Vec<library::TagCount>, wit::LibraryError> = reading!(
            self, "listing tags", conn => library::tags(conn, &caller, limit)
        );
        Ok(tags.map(|tags| {
            tags.into_iter()
                .map(|t| wit::TagCount {
                    // As a publisher wrote it: `search-spec.tag` folds it again.
                    tag: if t.label.is_empty() { t.tag } else { t.label },
                    count: t.count,
                })
                .collect()
        }))
    }

    async fn mine_for(&mut self, source_ref: String) -> Answer<Vec<wit::Entry>> {
        let caller = self.library_caller()?;
        let entries: Result<Vec<library::Entry>, wit::LibraryError> = reading!(
            self, "listing own entries", conn => library::mine_for(conn, &caller, &source_ref)
        );
        Ok(entries.map(wit_entries))
    }

    async fn propose(&mut self, proposal: wit::Proposal) -> Answer<String> {
        let caller = self.library_publisher()?;
        // Refused before the call's transaction begins (a GET, an event, a member who
        // may not publish).
        if !caller.may_publish {
            return Ok(Err(wit::LibraryError::Denied));
        }
        let new_version_of = match proposal.new_version_of.as_deref() {
            None => None,
            Some(text) => match library::parse_entry_id(text) {
                Some(id) => Some(id),
                None => return Ok(Err(wit::LibraryError::NotFound)),
            },
        };
        let proposal = library::Proposal {
            new_version_of,
            title: proposal.title,
            description: proposal.description,
            tags: proposal.tags,
            licence: licence_from_wit(proposal.licence),
            content: proposal_content(proposal.content),
            note: proposal.note,
            source_ref: proposal.source_ref,
            return_path: proposal.return_path,
        };
        let slug = self.structure_slug();
        let token = self
            .library_change("proposing to the library", async |conn| {
                library::propose(conn, &caller, &proposal).await
            })
            .await;
        Ok(token.map(|token| library::confirmation_path(&slug, &token)))
    }

    async fn withdraw(&mut self, entry_id: String) -> Answer<()> {
        let caller = self.library_publisher()?;
        if !caller.may_publish {
            return Ok(Err(wit::LibraryError::Denied));
        }
        let Some(id) = library::parse_entry_id(&entry_id) else {
            return Ok(Err(wit::LibraryError::NotFound));
        };
        Ok(self
            .library_change("withdrawing from the library", async |conn| {
                library::withdraw(conn, &caller, id).await
            })
            .await)
    }
}
