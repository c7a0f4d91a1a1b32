//! Proposals: what a module asks to publish, checked and stored until its author
//! confirms it on the host's page (one hour, once), or cancels it.

use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};

use super::{
    Caller, FileInfo, LibraryError, Licence, MAX_DESCRIPTION_CHARS, MAX_MARKDOWN_BYTES,
    MAX_MARKDOWN_LINES, MAX_NOTE_CHARS, MAX_RETURN_PATH_CHARS, MAX_SOURCE_REF_CHARS, MAX_TAG_CHARS,
    MAX_TAGS, MAX_TITLE_CHARS, PROPOSAL_KEPT_AFTER_EXPIRY_SECS, PROPOSAL_TTL_SECS, Proposal,
    ProposalContent, invalid, multi_line, new_token, one_line, valid_token,
};
use crate::identity::secret_hash;
use crate::storage::collections::fold;
use crate::storage::{Db, now_secs};

/// The proposal as stored (`library_proposals.payload`), cleaned: what the confirmation
/// page shows is exactly what is published.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredProposal {
    pub(super) title: String,
    pub(super) description: String,
    pub(super) tags: Vec<String>,
    pub(super) licence: String,
    pub(super) note: String,
    pub(super) source_ref: String,
    pub(super) return_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) markdown: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) file: Option<StoredFile>,
}

/// The module's blob as it was when proposed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredFile {
    pub(super) blob_id: String,
    pub(super) name: String,
    pub(super) content_type: String,
    pub(super) size: u64,
    pub(super) sha256: String,
}

impl StoredFile {
    pub(super) fn info(&self) -> FileInfo {
        FileInfo {
            name: self.name.clone(),
            content_type: self.content_type.clone(),
            size: self.size,
            sha256: self.sha256.clone(),
        }
    }
}

/// A proposal row found by its token.
#[derive(Debug, Clone)]
pub(super) struct ProposalRow {
    pub(super) module_id: String,
    pub(super) structure_id: i64,
    pub(super) account_id: i64,
    pub(super) new_version_of: Option<i64>,
    pub(super) stored: StoredProposal,
    pub(super) created_at: i64,
    pub(super) expires_at: i64,
}

/// A proposal waiting for its author, for the confirmation page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingProposal {
    pub module_id: String,
    pub structure_id: i64,
    pub account_id: i64,
    /// The entry it would give a new version, as it is now; none for a new entry.
    pub new_version_of: Option<VersionOf>,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub licence: Licence,
    pub content: PendingContent,
    pub note: String,
    pub source_ref: String,
    pub return_path: String,
    /// Unix seconds.
    pub created_at: i64,
    pub expires_at: i64,
}

/// What a pending proposal would publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingContent {
    /// The text exactly as it will be published.
    Markdown(String),
    /// The module's blob (in the proposal's structure and module) as it was when
    /// proposed; the page streams it to its author to check.
    File { blob_id: String, info: FileInfo },
}

/// The entry a proposal would give a new version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionOf {
    pub entry_id: i64,
    /// Its current version now; the new one is the next.
    pub current_version: u32,
    /// Its current title.
    pub title: String,
    pub withdrawn_at: Option<i64>,
    pub hidden: bool,
}

/// A proposal found by its token, for its author in its structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProposalLookup {
    Pending(Box<PendingProposal>),
    /// Past its hour: the page answers 410.
    Expired,
}

/// A cancelled proposal: where its author goes back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancelled {
    pub module_id: String,
    pub return_path: String,
}

impl Cancelled {
    /// `/{structure}/{module}{return_path}?bibliotheque=annulee`.
    pub fn location(&self, structure_slug: &str) -> String {
        super::return_location(
            structure_slug,
            &self.module_id,
            &self.return_path,
            "bibliotheque=annulee",
        )
    }
}

/// Records a proposal as the acting member, on `conn` (the plugin call's transaction:
/// it exists only if the call's writes are kept), and returns its token, for
/// [`super::confirmation_path`]. The checks, in order: the caller may publish (else
/// `Denied`); the fields (else `Invalid`, in French); a file is a blob of the caller's
/// module in the caller's structure (else `Invalid("Fichier inconnu.")`); a new version
/// is of an entry of the caller's structure and module (else `NotFound`), neither
/// withdrawn (`Withdrawn`) nor hidden (`Hidden`). Nothing is published yet.
pub async fn propose(
    conn: &mut AnyConnection,
    caller: &Caller,
    proposal: &Proposal,
) -> Result<String, LibraryError> {
    let account_id = caller.publisher()?;
    let mut stored = cleaned(proposal)?;
    match &proposal.content {
        ProposalContent::Markdown(text) => {
            check_markdown(text)?;
            stored.markdown = Some(text.clone());
        }
        ProposalContent::File { blob_id } => {
            stored.file = Some(module_blob(conn, caller, blob_id).await?);
        }
    }
    if let Some(entry_id) = proposal.new_version_of {
        check_changeable(conn, caller, entry_id).await?;
    }
    let payload = serde_json::to_string(&stored)
        .map_err(|e| LibraryError::Unavailable(format!("proposal not serialisable: {e}")))?;
    let token = new_token();
    let now = now_secs();
    sqlx::query(
        "INSERT INTO library_proposals (token_hash, module_id, structure_id, account_id,
             new_version_of, payload, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(secret_hash(&token))
    .bind(&caller.module_id)
    .bind(caller.structure_id)
    .bind(account_id)
    .bind(proposal.new_version_of)
    .bind(payload)
    .bind(now)
    .bind(now + PROPOSAL_TTL_SECS)
    .execute(&mut *conn)
    .await?;
    Ok(token)
}

/// The proposal's fields, checked and cleaned (content aside).
fn cleaned(p: &Proposal) -> Result<StoredProposal, LibraryError> {
    let title = p.title.trim();
    let title_chars = title.chars().count();
    if title_chars == 0 || title_chars > MAX_TITLE_CHARS || !one_line(title) {
        return Err(invalid(
            "Le titre est obligatoire, sur une ligne (200 caractères au plus).",
        ));
    }
    let description = p.description.trim();
    if description.chars().count() > MAX_DESCRIPTION_CHARS || !multi_line(description) {
        return Err(invalid(
            "La description est un texte de 2 000 caractères au plus.",
        ));
    }
    let note = p.note.trim();
    if note.chars().count() > MAX_NOTE_CHARS || !multi_line(note) {
        return Err(invalid(
            "La note de version est un texte de 500 caractères au plus.",
        ));
    }
    let source_ref = p.source_ref.trim();
    if source_ref.chars().count() > MAX_SOURCE_REF_CHARS || !one_line(source_ref) {
        return Err(invalid(
            "La référence du document fait 100 caractères au plus, sur une ligne.",
        ));
    }
    if !valid_return_path(&p.return_path) {
        return Err(invalid(
            "Le chemin de retour commence par « / » (pas « // »), sans espace ni « \\ » ni « # ».",
        ));
    }
    Ok(StoredProposal {
        title: title.to_string(),
        description: description.to_string(),
        tags: cleaned_tags(&p.tags)?,
        licence: p.licence.as_str().to_string(),
        note: note.to_string(),
        source_ref: source_ref.to_string(),
        return_path: p.return_path.clone(),
        markdown: None,
        file: None,
    })
}

/// Trimmed, each 1 to 40 characters with a letter or digit, duplicates (accents and case
/// ignored) merged into the first, at most 10.
pub(super) fn cleaned_tags(tags: &[String]) -> Result<Vec<String>, LibraryError> {
    const TOO_MANY: &str = "10 mots-clés au plus.";
    if tags.len() > 10 * MAX_TAGS {
        return Err(invalid(TOO_MANY));
    }
    let mut kept: Vec<(String, String)> = Vec::new();
    for tag in tags {
        let label = tag.trim();
        let chars = label.chars().count();
        let folded = fold(label);
        if chars == 0 || chars > MAX_TAG_CHARS || !one_line(label) || folded.is_empty() {
            return Err(invalid(
                "Chaque mot-clé fait de 1 à 40 caractères, avec au moins une lettre ou un chiffre.",
            ));
        }
        if !kept.iter().any(|(f, _)| *f == folded) {
            kept.push((folded, label.to_string()));
        }
    }
    if kept.len() > MAX_TAGS {
        return Err(invalid(TOO_MANY));
    }
    Ok(kept.into_iter().map(|(_, label)| label).collect())
}

/// "/" first and not "//", printable, no space, backslash (browsers read "/\" as "//")
/// or fragment (the outcome is added as a query).
fn valid_return_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && path.chars().count() <= MAX_RETURN_PATH_CHARS
        && !path
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\' || c == '#')
}

fn check_markdown(text: &str) -> Result<(), LibraryError> {
    if text.len() > MAX_MARKDOWN_BYTES {
        return Err(invalid("Le texte fait 256 Kio au plus."));
    }
    if text.lines().count() > MAX_MARKDOWN_LINES {
        return Err(invalid("Le texte fait 5 000 lignes au plus."));
    }
    if text.contains('\0') {
        return Err(invalid("Le texte contient un caractère nul."));
    }
    Ok(())
}

/// The caller's module's blob `blob_id` in the caller's structure, as the store has it.
async fn module_blob(
    conn: &mut AnyConnection,
    caller: &Caller,
    blob_id: &str,
) -> Result<StoredFile, LibraryError> {
    const UNKNOWN: &str = "Fichier inconnu.";
    if blob_id.is_empty() || blob_id.len() > 128 {
        return Err(invalid(UNKNOWN));
    }
    let row = sqlx::query(
        "SELECT name, content_type, size, sha256 FROM blobs
         WHERE structure_id = $1 AND plugin_id = $2 AND id = $3",
    )
    .bind(caller.structure_id)
    .bind(&caller.module_id)
    .bind(blob_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Err(invalid(UNKNOWN));
    };
    Ok(StoredFile {
        blob_id: blob_id.to_string(),
        name: row.try_get("name")?,
        content_type: row.try_get("content_type")?,
        size: row.try_get::<i64, _>("size")?.max(0) as u64,
        sha256: row.try_get("sha256")?,
    })
}

/// An entry the caller may give a new version: its structure's and module's, neither
/// withdrawn nor hidden.
async fn check_changeable(
    conn: &mut AnyConnection,
    caller: &Caller,
    entry_id: i64,
) -> Result<(), LibraryError> {
    let row = sqlx::query(
        "SELECT withdrawn_at, hidden_at FROM library_entries
         WHERE id = $1 AND module_id = $2 AND owner_structure_id = $3",
    )
    .bind(entry_id)
    .bind(&caller.module_id)
    .bind(caller.structure_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Err(LibraryError::NotFound);
    };
    if let Some(at) = row.try_get::<Option<i64>, _>("withdrawn_at")? {
        return Err(LibraryError::Withdrawn(at));
    }
    if row.try_get::<Option<i64>, _>("hidden_at")?.is_some() {
        return Err(LibraryError::Hidden);
    }
    Ok(())
}

/// The proposal of `token`, if it is `account_id`'s in `structure_id` (expired or not).
pub(super) async fn load(
    conn: &mut AnyConnection,
    structure_id: i64,
    account_id: i64,
    token: &str,
) -> Result<Option<ProposalRow>, LibraryError> {
    if !valid_token(token) {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT module_id, new_version_of, payload, created_at, expires_at
         FROM library_proposals
         WHERE token_hash = $1 AND structure_id = $2 AND account_id = $3",
    )
    .bind(secret_hash(token))
    .bind(structure_id)
    .bind(account_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let payload: String = row.try_get("payload")?;
    let stored: StoredProposal = serde_json::from_str(&payload)
        .map_err(|e| LibraryError::Unavailable(format!("stored proposal unreadable: {e}")))?;
    Ok(Some(ProposalRow {
        module_id: row.try_get("module_id")?,
        structure_id,
        account_id,
        new_version_of: row.try_get("new_version_of")?,
        stored,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    }))
}

/// The proposal behind `token` for its confirmation page: none for an unknown or used
/// token, another account's or another structure's (the page answers 404 alike);
/// `Expired` past its hour (410). Whether the viewer may still publish is the page's
/// check.
pub async fn proposal_for(
    db: &Db,
    structure_id: i64,
    account_id: i64,
    token: &str,
) -> Result<Option<ProposalLookup>, LibraryError> {
    let mut conn = db.pool().acquire().await?;
    let Some(row) = load(&mut conn, structure_id, account_id, token).await? else {
        return Ok(None);
    };
    if row.expires_at <= now_secs() {
        return Ok(Some(ProposalLookup::Expired));
    }
    let new_version_of = match row.new_version_of {
        Some(entry_id) => version_of(&mut conn, entry_id).await?,
        None => None,
    };
    let licence = Licence::parse(&row.stored.licence)
        .ok_or_else(|| LibraryError::Unavailable("stored licence unreadable".into()))?;
    let content = match (&row.stored.markdown, &row.stored.file) {
        (_, Some(file)) => PendingContent::File {
            blob_id: file.blob_id.clone(),
            info: file.info(),
        },
        (Some(text), None) => PendingContent::Markdown(text.clone()),
        (None, None) => PendingContent::Markdown(String::new()),
    };
    let stored = row.stored;
    Ok(Some(ProposalLookup::Pending(Box::new(PendingProposal {
        module_id: row.module_id,
        structure_id: row.structure_id,
        account_id: row.account_id,
        new_version_of,
        title: stored.title,
        description: stored.description,
        tags: stored.tags,
        licence,
        content,
        note: stored.note,
        source_ref: stored.source_ref,
        return_path: stored.return_path,
        created_at: row.created_at,
        expires_at: row.expires_at,
    }))))
}

async fn version_of(
    conn: &mut AnyConnection,
    entry_id: i64,
) -> Result<Option<VersionOf>, LibraryError> {
    let row = sqlx::query(
        "SELECT current_version, title, withdrawn_at, hidden_at FROM library_entries
         WHERE id = $1",
    )
    .bind(entry_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(VersionOf {
        entry_id,
        current_version: u32::try_from(row.try_get::<i64, _>("current_version")?).unwrap_or(0),
        title: row.try_get("title")?,
        withdrawn_at: row.try_get("withdrawn_at")?,
        hidden: row.try_get::<Option<i64>, _>("hidden_at")?.is_some(),
    }))
}

/// Deletes the proposal behind `token` (its author's, in its structure, expired or
/// not) and says where its author goes back to; none if there is no such proposal.
pub async fn cancel(
    db: &Db,
    structure_id: i64,
    account_id: i64,
    token: &str,
) -> Result<Option<Cancelled>, LibraryError> {
    if !valid_token(token) {
        return Ok(None);
    }
    let row = sqlx::query(
        "DELETE FROM library_proposals
         WHERE token_hash = $1 AND structure_id = $2 AND account_id = $3
         RETURNING module_id, payload",
    )
    .bind(secret_hash(token))
    .bind(structure_id)
    .bind(account_id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let payload: String = row.try_get("payload")?;
    let stored: StoredProposal = serde_json::from_str(&payload)
        .map_err(|e| LibraryError::Unavailable(format!("stored proposal unreadable: {e}")))?;
    Ok(Some(Cancelled {
        module_id: row.try_get("module_id")?,
        return_path: stored.return_path,
    }))
}

/// Deletes proposals expired for more than [`PROPOSAL_KEPT_AFTER_EXPIRY_SECS`] (by
/// then their page answers 404 instead of « expirée »); run by the periodic purge.
pub async fn purge_expired_proposals(db: &Db, now: i64) -> crate::storage::Result<u64> {
    let done = sqlx::query("DELETE FROM library_proposals WHERE expires_at <= $1")
        .bind(now - PROPOSAL_KEPT_AFTER_EXPIRY_SECS)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Result<Vec<String>, LibraryError> {
        let owned: Vec<String> = list.iter().map(|t| t.to_string()).collect();
        cleaned_tags(&owned)
    }

    #[test]
    fn tags_are_trimmed_merged_and_bounded() {
        assert_eq!(
            tags(&[" Diabète ", "diabete", "DIABÈTE", "Parcours"]).unwrap(),
            ["Diabète", "Parcours"]
        );
        assert!(tags(&[""]).is_err());
        assert!(tags(&["—"]).is_err());
        let long = "x".repeat(41);
        assert!(tags(&[long.as_str()]).is_err());
        let eleven: Vec<String> = (0..11).map(|i| format!("mot {i}")).collect();
        assert!(cleaned_tags(&eleven).is_err());
    }

    #[test]
    fn return_paths_stay_on_the_module() {
        assert!(valid_return_path("/d/42"));
        assert!(valid_return_path("/"));
        assert!(valid_return_path("/d/42?onglet=versions"));
        for bad in [
            "d/42",
            "//evil.example",
            "/\\evil.example",
            "/d 42",
            "/d#x",
            "",
        ] {
            assert!(!valid_return_path(bad), "{bad}");
        }
    }

    #[test]
    fn markdown_is_bounded() {
        assert!(check_markdown("# Titre\n\ntexte").is_ok());
        assert!(check_markdown(&"x".repeat(MAX_MARKDOWN_BYTES + 1)).is_err());
        assert!(check_markdown(&"x\n".repeat(MAX_MARKDOWN_LINES + 1)).is_err());
        assert!(check_markdown("a\0b").is_err());
    }
}
