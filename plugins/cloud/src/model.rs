//! The module's collections, its records, and who may do what (docs/cloud-contract.md,
//! « Who »). A project is a host group: the documents of a group are read by whoever
//! may read the group (`groups.visible-groups`: open groups by every member of the
//! structure, closed ones by their members, all by coordinators and admins).

use maillage_sdk::User;
use maillage_sdk::groups::{self, Group, GroupRole};
use maillage_sdk::records::{
    self, CollectionDef, FieldDef, FieldType, Query, StoreError, field, index, integer, or_default,
    required, text, with_default,
};
use serde::Deserialize;
use serde_json::json;

pub const DOCUMENTS: &str = "documents";
pub const VERSIONS: &str = "versions";
pub const FOLDERS: &str = "folders";
pub const SETTINGS: &str = "settings";
/// The revisions of the Markdown texts (`crate::texts`), one record per save.
pub const REVISIONS: &str = "revisions";

/// `documents.kind`: a series of uploaded files (every document made before texts).
pub const FILE: &str = "file";
/// `documents.kind`: a Markdown text written on the module's pages, its revisions in
/// [`REVISIONS`].
pub const MARKDOWN: &str = "markdown";
/// The content type a Markdown text's document carries (and `document.saved` says).
pub const MARKDOWN_TYPE: &str = "text/markdown";

/// Published at each new document and each new version (restores included), in the
/// call's transaction, and again for every document by « Republier les documents aux
/// autres modules » (`crate::republish`): the projects module keeps a copy of each
/// group's documents for the project page (docs/projects-contract.md, « Meetings and
/// documents »).
pub const DOCUMENT_SAVED: &str = "document.saved";

/// Most records a page reads of one kind.
pub const PAGE_MAX: usize = 2000;
/// Longest folder name and version label, in characters.
pub const MAX_FOLDER_NAME: usize = 120;
pub const MAX_LABEL: usize = 120;
/// Deepest folder nesting.
pub const MAX_DEPTH: usize = 8;

pub fn collections() -> Vec<CollectionDef> {
    let full_text = |f: FieldDef| FieldDef {
        full_text: true,
        ..f
    };
    let group = || required(field("group_id", FieldType::GroupRef));
    let empty_text = |name: &str| with_default(text(name), "\"\"");
    vec![
        CollectionDef {
            // One record per document: its place and its current version (a copy of the
            // newest `versions` record, kept in step in the same call).
            name: DOCUMENTS.into(),
            fields: vec![
                group(),
                // The folder's record id; "" at the project's root.
                empty_text("folder"),
                required(full_text(text("name"))),
                // The current version's number, which is also how many there are: a
                // version is never removed, a restore adds one.
                with_default(integer("current"), "1"),
                required(text("blob")),
                with_default(integer("size"), "0"),
                text("content_type"),
                // When, and by whom, the current version was deposited.
                integer("last_at"),
                field("last_by", FieldType::UserRef),
                text("last_by_name"),
                field("created_by", FieldType::UserRef),
                text("created_by_name"),
                // Increases at each change of the document (`document.saved`).
                with_default(integer("sequence"), "1"),
                // "file" (its versions in `versions`) or "markdown" (its revisions in
                // `revisions`); the documents made before texts existed are files.
                with_default(text("kind"), "\"file\""),
                // A text's current revision number, when and by whom it was saved. The
                // file fields above are kept in step (`current` = `head`, `size` the
                // text's bytes, `last_*`), so that lists and `document.saved` read one
                // shape for both kinds.
                integer("head"),
                integer("head_at"),
                field("head_by", FieldType::UserRef),
                text("head_by_name"),
                // Written only to take the document's row lock before a text's new
                // revision is numbered (`lock_text`).
                integer("lock"),
            ],
            indexes: vec![index(&["group_id", "folder"], false)],
        },
        CollectionDef {
            // Every version of every document, never updated but for its label.
            name: VERSIONS.into(),
            fields: vec![
                FieldDef {
                    required: true,
                    references: Some(DOCUMENTS.into()),
                    ..field("document", FieldType::RecordRef)
                },
                required(integer("number")),
                required(text("blob")),
                // The file's name as sent for this version (display text).
                text("name"),
                with_default(integer("size"), "0"),
                text("content_type"),
                text("sha256"),
                field("by", FieldType::UserRef),
                text("by_name"),
                // A named version's label; "" for the automatic ones.
                empty_text("label"),
                // The version a restore copied; none otherwise.
                integer("restored_from"),
                // Bytes this version added to the store (0 for a restore, which refers to
                // the restored version's file): the quota is their sum.
                with_default(integer("stored_bytes"), "0"),
            ],
            indexes: vec![
                index(&["document", "number"], true),
                index(&["blob"], false),
            ],
        },
        CollectionDef {
            name: FOLDERS.into(),
            fields: vec![
                group(),
                // The parent folder's record id; "" at the project's root.
                empty_text("parent"),
                required(text("name")),
                // The name folded (accents, case, spaces): one folder of a name per place.
                required(text("name_key")),
                field("created_by", FieldType::UserRef),
                text("created_by_name"),
            ],
            indexes: vec![index(&["group_id", "parent", "name_key"], true)],
        },
        CollectionDef {
            // The structure's limits (`crate::settings`), one record per key.
            name: SETTINGS.into(),
            fields: vec![required(text("key")), integer("value")],
            indexes: vec![index(&["key"], true)],
        },
        CollectionDef {
            // Every revision of every Markdown text, never updated.
            name: REVISIONS.into(),
            fields: vec![
                FieldDef {
                    required: true,
                    references: Some(DOCUMENTS.into()),
                    ..field("document", FieldType::RecordRef)
                },
                required(integer("number")),
                empty_text("title"),
                // The Markdown text, normalized (`maillage_sdk::merge::normalize`), as a
                // JSON string: the host's text fields hold 64 KiB, its JSON fields
                // 256 KiB, which is the texts' limit (`crate::texts::within_limits`).
                field("text", FieldType::Json),
                field("author", FieldType::UserRef),
                empty_text("author_name"),
                // « Résumé de la modification », 200 characters at most.
                empty_text("summary"),
                // The revision the author started from (0 for the first).
                with_default(integer("base"), "0"),
                // The head a merge or a replacement was made against; none otherwise.
                integer("merged_with"),
                // `How::code`.
                required(text("how")),
                // The revision a restoration copied; none otherwise.
                integer("restored_from"),
            ],
            // Also serves the newest-first reads (`-number`): an index is read both
            // ways, and the host's indexes name fields without a direction.
            indexes: vec![index(&["document", "number"], true)],
        },
        // The comments of each document (subject `document:{id}`).
        maillage_sdk::thread::collection(),
    ]
}

#[derive(Debug, Clone, Deserialize)]
pub struct Document {
    pub id: String,
    pub group_id: String,
    #[serde(default, deserialize_with = "or_default")]
    pub folder: String,
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub current: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub blob: String,
    #[serde(default, deserialize_with = "or_default")]
    pub size: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub content_type: String,
    #[serde(default, deserialize_with = "or_default")]
    pub last_at: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub last_by_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub sequence: i64,
    /// [`FILE`] or [`MARKDOWN`]; empty (read as a file) for a record written before the
    /// field existed and not backfilled.
    #[serde(default, deserialize_with = "or_default")]
    pub kind: String,
    /// A text's current revision number (0 for a file).
    #[serde(default, deserialize_with = "or_default")]
    pub head: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub head_at: i64,
    #[serde(default)]
    pub head_by: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub head_by_name: String,
    #[serde(default)]
    pub created_at: i64,
}

impl Document {
    pub fn path(&self) -> String {
        format!("/d/{}", self.id)
    }
    /// A Markdown text (`crate::texts`) rather than a series of files.
    pub fn is_markdown(&self) -> bool {
        self.kind == MARKDOWN
    }
    /// A text's current revision number (`head`, else `current`).
    pub fn head_number(&self) -> i64 {
        if self.head > 0 {
            self.head
        } else {
            self.current.max(0)
        }
    }
    /// The subject of its comment thread.
    pub fn subject(&self) -> String {
        format!("document:{}", self.id)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Version {
    pub id: String,
    pub document: String,
    pub number: i64,
    pub blob: String,
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub size: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub content_type: String,
    #[serde(default, deserialize_with = "or_default")]
    pub sha256: String,
    #[serde(default)]
    pub by: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub by_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub label: String,
    #[serde(default)]
    pub restored_from: Option<i64>,
    #[serde(default)]
    pub created_at: i64,
}

impl Version {
    pub fn named(&self) -> bool {
        !self.label.is_empty()
    }
}

/// How a revision of a text came to be (`revisions.how`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// The text's first revision.
    Creation,
    /// Saved from the head it was opened at.
    Edition,
    /// Saved from an older revision, merged cleanly with the head (`merged_with`).
    Fusion,
    /// In a conflict, the author's whole text replaced the head (`merged_with`).
    Replacement,
    /// An older revision's text and title made the head again (`restored_from`).
    Restoration,
}

impl How {
    pub fn code(self) -> &'static str {
        match self {
            How::Creation => "creation",
            How::Edition => "edition",
            How::Fusion => "fusion",
            How::Replacement => "remplacement",
            How::Restoration => "restauration",
        }
    }
    pub fn of(code: &str) -> Option<How> {
        [
            How::Creation,
            How::Edition,
            How::Fusion,
            How::Replacement,
            How::Restoration,
        ]
        .into_iter()
        .find(|h| h.code() == code)
    }
}

/// One revision of a text. The pages that list revisions read them without their text
/// ([`REVISION_FIELDS`]): `text` is then empty.
#[derive(Debug, Clone, Deserialize)]
pub struct Revision {
    pub id: String,
    pub document: String,
    pub number: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub title: String,
    #[serde(default, deserialize_with = "or_default")]
    pub text: String,
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub author_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub summary: String,
    #[serde(default, deserialize_with = "or_default")]
    pub base: i64,
    #[serde(default)]
    pub merged_with: Option<i64>,
    #[serde(default, deserialize_with = "or_default")]
    pub how: String,
    #[serde(default)]
    pub restored_from: Option<i64>,
    #[serde(default)]
    pub created_at: i64,
}

impl Revision {
    pub fn how(&self) -> Option<How> {
        How::of(&self.how)
    }
}

/// Every field of a revision but its text: what the history and the conflict view read.
pub const REVISION_FIELDS: &[&str] = &[
    "document",
    "number",
    "title",
    "author",
    "author_name",
    "summary",
    "base",
    "merged_with",
    "how",
    "restored_from",
    "created_at",
];

#[derive(Debug, Clone, Deserialize)]
pub struct Folder {
    pub id: String,
    pub group_id: String,
    #[serde(default, deserialize_with = "or_default")]
    pub parent: String,
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
}

impl Folder {
    pub fn path(&self) -> String {
        format!("/g/{}?dossier={}", self.group_id, self.id)
    }
}

/// The acting member, as the documents module sees them.
pub struct Viewer {
    pub user: Option<User>,
    /// Coordinators and admins: every project, and what its référents may do.
    pub coordinator: bool,
    /// The groups the member may read (open ones, their own; all for coordinators).
    pub groups: Vec<Group>,
}

impl Viewer {
    pub fn current() -> Viewer {
        let ctx = maillage_sdk::context();
        Viewer {
            coordinator: ctx.roles.iter().any(|r| r == "coordinator" || r == "admin"),
            user: ctx.user,
            groups: groups::visible_groups(),
        }
    }

    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// The project `group_id` if the viewer may read it; none otherwise (404).
    pub fn place(&self, group_id: &str) -> Option<Place> {
        if !records::valid_ref(group_id) {
            return None;
        }
        self.group(group_id).map(|group| Place {
            group: group.clone(),
            coordinator: self.coordinator,
            me: self.user.clone(),
        })
    }
}

/// A project the viewer may read, and the viewer's place in it.
pub struct Place {
    pub group: Group,
    pub coordinator: bool,
    pub me: Option<User>,
}

impl Place {
    pub fn role(&self) -> Option<GroupRole> {
        self.group.my_role
    }
    pub fn archived(&self) -> bool {
        self.group.archived
    }
    /// Référents and coordinators: add documents, create folders, delete any comment.
    pub fn manages(&self) -> bool {
        self.me.is_some() && (self.coordinator || self.role() == Some(GroupRole::Referent))
    }
    /// Référents, membres actifs, coordinators: new versions, restore, name a version.
    /// Guests (invités) do not: they read and comment ([`Place::may_comment`]).
    pub fn contributes(&self) -> bool {
        self.me.is_some()
            && (self.coordinator
                || matches!(self.role(), Some(GroupRole::Referent | GroupRole::Active)))
    }
    /// Who comments (posts, edits and deletes their own comments): every member of the
    /// project's group — référents, membres actifs and invités (« lecture et
    /// commentaires ») — and coordinators; not a member of the structure outside the
    /// group, even on an open project. The one place this is decided: the comment form
    /// and the comment routes both ask it.
    pub fn may_comment(&self) -> bool {
        self.me.is_some()
            && (self.coordinator
                || matches!(
                    self.role(),
                    Some(GroupRole::Referent | GroupRole::Active | GroupRole::Guest)
                ))
    }
    pub fn path(&self) -> String {
        format!("/g/{}", self.group.id)
    }
}

/// The project `group_id`, as the acting member may read it.
pub fn place(group_id: &str) -> Option<Place> {
    Viewer::current().place(group_id)
}

/// A document and its project, if the acting member may read it (a document of another
/// structure is not found: records are the structure's own).
pub fn document(id: &str) -> Result<Option<(Document, Place)>, StoreError> {
    if !records::valid_id(id) {
        return Ok(None);
    }
    let Some(document) = records::get::<Document>(DOCUMENTS, id)? else {
        return Ok(None);
    };
    Ok(place(&document.group_id).map(|place| (document, place)))
}

/// A folder of the project, by id ("" is the root: none).
pub fn folder_in(place: &Place, folder_id: &str) -> Result<Option<Folder>, StoreError> {
    if !records::valid_id(folder_id) {
        return Ok(None);
    }
    Ok(records::get::<Folder>(FOLDERS, folder_id)?.filter(|f| f.group_id == place.group.id))
}

/// The folders from the root down to `folder` (included), at most [`MAX_DEPTH`] + 1.
pub fn ancestry(folder: &Folder) -> Result<Vec<Folder>, StoreError> {
    let mut chain = vec![folder.clone()];
    while chain.len() <= MAX_DEPTH {
        let parent = chain.last().map(|f| f.parent.clone()).unwrap_or_default();
        if parent.is_empty() {
            break;
        }
        match records::get::<Folder>(FOLDERS, &parent)? {
            Some(f) if f.group_id == folder.group_id => chain.push(f),
            _ => break,
        }
    }
    chain.reverse();
    Ok(chain)
}

/// The folders directly in `parent` ("" the root) of the project, by name.
pub fn folders_in(group_id: &str, parent: &str) -> Result<Vec<Folder>, StoreError> {
    let mut folders: Vec<Folder> = Query::new()
        .filter("group_id = {:g} && parent = {:p}")
        .param("g", group_id)
        .param("p", parent)
        .fetch_all(FOLDERS, PAGE_MAX)?;
    folders.sort_by_key(|f| maillage_sdk::text::fold(&f.name));
    Ok(folders)
}

/// The documents directly in `folder` ("" the root) of the project, by name.
pub fn documents_in(group_id: &str, folder: &str) -> Result<Vec<Document>, StoreError> {
    let mut documents: Vec<Document> = Query::new()
        .filter("group_id = {:g} && folder = {:f}")
        .param("g", group_id)
        .param("f", folder)
        .fetch_all(DOCUMENTS, PAGE_MAX)?;
    documents.sort_by_key(|d| (maillage_sdk::text::fold(&d.name), d.id.clone()));
    Ok(documents)
}

/// Every version of a document, newest first.
pub fn versions_of(document_id: &str) -> Result<Vec<Version>, StoreError> {
    Query::new()
        .filter("document = {:d}")
        .param("d", document_id)
        .sort("-number")
        .fetch_all(VERSIONS, PAGE_MAX)
}

/// Version `number` of a document.
pub fn version_of(document_id: &str, number: i64) -> Result<Option<Version>, StoreError> {
    Query::new()
        .filter("document = {:d} && number = {:n}")
        .param("d", document_id)
        .param("n", number)
        .first::<Version>(VERSIONS)
}

/// A version number typed in a path: 1 to 9 digits.
pub fn version_number(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 9 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok().filter(|n| *n >= 1)
}

/// Bytes the structure's documents hold: what every version added.
pub fn used_bytes() -> Result<u64, StoreError> {
    let buckets = Query::new().aggregate(VERSIONS, None, Some("stored_bytes"))?;
    Ok(buckets
        .first()
        .map(|b| u64::try_from(b.sum).unwrap_or(0))
        .unwrap_or(0))
}

/// A file stored for a document's new version (or a restore: the old version's file).
pub struct NewVersion<'a> {
    pub blob: &'a str,
    pub name: &'a str,
    pub size: u64,
    pub content_type: &'a str,
    pub sha256: &'a str,
    pub label: &'a str,
    pub restored_from: Option<i64>,
    /// Bytes this version adds to the store (0 for a restore).
    pub stored_bytes: u64,
}

/// Creates a document in `folder` with its first version.
pub fn create_document(
    place: &Place,
    folder: &str,
    display_name: &str,
    file: &NewVersion<'_>,
    by: &User,
) -> Result<Document, StoreError> {
    let now = maillage_sdk::time::now_seconds();
    let document: Document = records::insert(
        DOCUMENTS,
        &json!({
            "group_id": place.group.id,
            "folder": folder,
            "name": display_name,
            "current": 1,
            "blob": file.blob,
            "size": file.size,
            "content_type": file.content_type,
            "last_at": now,
            "last_by": by.id,
            "last_by_name": by.display_name,
            "created_by": by.id,
            "created_by_name": by.display_name,
            "sequence": 1,
        }),
    )?;
    insert_version(&document.id, 1, file, by)?;
    publish_saved(&document)?;
    Ok(document)
}

fn insert_version(
    document_id: &str,
    number: i64,
    file: &NewVersion<'_>,
    by: &User,
) -> Result<(), StoreError> {
    let mut record = json!({
        "document": document_id,
        "number": number,
        "blob": file.blob,
        "name": file.name,
        "size": file.size,
        "content_type": file.content_type,
        "sha256": file.sha256,
        "by": by.id,
        "by_name": by.display_name,
        "label": file.label,
        "stored_bytes": file.stored_bytes,
    });
    if let Some(from) = file.restored_from {
        record["restored_from"] = json!(from);
    }
    records::insert::<_, serde_json::Value>(VERSIONS, &record)?;
    Ok(())
}

/// Adds version `current + 1` to a document and makes it the current one; returns its
/// number. Two members depositing at once: the second meets the unique key
/// (`document`, `number`) as a [`StoreError::Conflict`].
pub fn add_version(
    document: &Document,
    file: &NewVersion<'_>,
    by: &User,
) -> Result<i64, StoreError> {
    let number = document.current.max(0) + 1;
    insert_version(&document.id, number, file, by)?;
    let updated = records::update::<Document>(
        DOCUMENTS,
        &document.id,
        &json!({
            "current": number,
            "blob": file.blob,
            "size": file.size,
            "content_type": file.content_type,
            "last_at": maillage_sdk::time::now_seconds(),
            "last_by": by.id,
            "last_by_name": by.display_name,
            "sequence": document.sequence.max(0) + 1,
        }),
    )?;
    if let Some(updated) = updated {
        publish_saved(&updated)?;
    }
    Ok(number)
}

/// Revision `number` of a text, with its text.
pub fn revision_of(document_id: &str, number: i64) -> Result<Option<Revision>, StoreError> {
    Query::new()
        .filter("document = {:d} && number = {:n}")
        .param("d", document_id)
        .param("n", number)
        .first::<Revision>(REVISIONS)
}

/// Every revision of a text, newest first, without their texts.
pub fn revisions_of(document_id: &str) -> Result<Vec<Revision>, StoreError> {
    Query::new()
        .filter("document = {:d}")
        .param("d", document_id)
        .sort("-number")
        .fields(REVISION_FIELDS)
        .fetch_all(REVISIONS, PAGE_MAX)
}

/// The revisions of a text after `after` up to `upto` (included), oldest first, without
/// their texts: who changed the text since a member opened it.
pub fn revisions_between(
    document_id: &str,
    after: i64,
    upto: i64,
) -> Result<Vec<Revision>, StoreError> {
    Query::new()
        .filter("document = {:d} && number > {:a} && number <= {:u}")
        .param("d", document_id)
        .param("a", after)
        .param("u", upto)
        .sort("number")
        .fields(REVISION_FIELDS)
        .fetch_all(REVISIONS, PAGE_MAX)
}

/// A text's new revision, as [`add_revision`] writes it.
pub struct NewRevision<'a> {
    pub title: &'a str,
    /// Normalized, within the limits (`crate::texts::within_limits`).
    pub text: &'a str,
    pub summary: &'a str,
    pub base: i64,
    pub merged_with: Option<i64>,
    pub how: How,
    pub restored_from: Option<i64>,
}

fn insert_revision(
    document_id: &str,
    number: i64,
    revision: &NewRevision<'_>,
    by: &User,
) -> Result<(), StoreError> {
    let mut record = json!({
        "document": document_id,
        "number": number,
        "title": revision.title,
        "text": revision.text,
        "author": by.id,
        "author_name": by.display_name,
        "summary": revision.summary,
        "base": revision.base,
        "how": revision.how.code(),
    });
    if let Some(head) = revision.merged_with {
        record["merged_with"] = json!(head);
    }
    if let Some(from) = revision.restored_from {
        record["restored_from"] = json!(from);
    }
    records::insert::<_, serde_json::Value>(REVISIONS, &record)?;
    Ok(())
}

/// Creates a Markdown text in `folder` (`""` the root) with its revision 1.
pub fn create_text(
    place: &Place,
    folder: &str,
    title: &str,
    text: &str,
    by: &User,
) -> Result<Document, StoreError> {
    let now = maillage_sdk::time::now_seconds();
    let document: Document = records::insert(
        DOCUMENTS,
        &json!({
            "group_id": place.group.id,
            "folder": folder,
            "name": title,
            "kind": MARKDOWN,
            "current": 1,
            "head": 1,
            "head_at": now,
            "head_by": by.id,
            "head_by_name": by.display_name,
            // A text has no file: no blob names it (`may_read_file` reads `versions`).
            "blob": "",
            "size": text.len(),
            "content_type": MARKDOWN_TYPE,
            "last_at": now,
            "last_by": by.id,
            "last_by_name": by.display_name,
            "created_by": by.id,
            "created_by_name": by.display_name,
            "sequence": 1,
        }),
    )?;
    let first = NewRevision {
        title,
        text,
        summary: "",
        base: 0,
        merged_with: None,
        how: How::Creation,
        restored_from: None,
    };
    insert_revision(&document.id, 1, &first, by)?;
    publish_saved(&document)?;
    Ok(document)
}

/// Takes a text's row lock: a write of `lock` (docs/cloud-library-design.md, B.2). This
/// first write begins the call's transaction (`BEGIN IMMEDIATE` on SQLite, the row's
/// lock on PostgreSQL), held until the call ends, so that concurrent saves of the same
/// text queue here. Returns the document as it now is (its `head` read inside the
/// transaction); none if it is gone.
pub fn lock_text(document_id: &str) -> Result<Option<Document>, StoreError> {
    records::update::<Document>(
        DOCUMENTS,
        document_id,
        &json!({ "lock": maillage_sdk::time::now_seconds() }),
    )
}

/// Adds revision `head + 1` to a text (`document` as read under [`lock_text`]), makes it
/// the head, and publishes `document.saved`; returns its number. The unique key
/// (`document`, `number`) is a backstop: it answers [`StoreError::Conflict`].
pub fn add_revision(
    document: &Document,
    revision: &NewRevision<'_>,
    by: &User,
) -> Result<i64, StoreError> {
    let number = document.head_number() + 1;
    insert_revision(&document.id, number, revision, by)?;
    let now = maillage_sdk::time::now_seconds();
    let updated = records::update::<Document>(
        DOCUMENTS,
        &document.id,
        &json!({
            "name": revision.title,
            "head": number,
            "head_at": now,
            "head_by": by.id,
            "head_by_name": by.display_name,
            "current": number,
            "size": revision.text.len(),
            "last_at": now,
            "last_by": by.id,
            "last_by_name": by.display_name,
            "sequence": document.sequence.max(0) + 1,
        }),
    )?;
    if let Some(updated) = updated {
        publish_saved(&updated)?;
    }
    Ok(number)
}

/// The folder's place, « Comptes rendus / 2026 »; "" at the root.
pub fn folder_label(group_id: &str, folder_id: &str) -> Result<String, StoreError> {
    if folder_id.is_empty() || !records::valid_id(folder_id) {
        return Ok(String::new());
    }
    let Some(folder) =
        records::get::<Folder>(FOLDERS, folder_id)?.filter(|f| f.group_id == group_id)
    else {
        return Ok(String::new());
    };
    Ok(ancestry(&folder)?
        .iter()
        .map(|f| f.name.as_str())
        .collect::<Vec<_>>()
        .join(" / "))
}

/// `document.saved` for the document as it now is, at each new document and version.
fn publish_saved(document: &Document) -> Result<(), StoreError> {
    let folder = folder_label(&document.group_id, &document.folder)?;
    publish_saved_in(document, &folder);
    Ok(())
}

/// `document.saved` for the document as it now is, in `folder` (its [`folder_label`]):
/// the one place its payload is built, for every save and for the republication
/// (`crate::republish`, which reads each folder's label once per batch). A failure to
/// publish is logged: the copy catches up at the document's next change or
/// republication.
pub fn publish_saved_in(document: &Document, folder: &str) {
    let payload = json!({
        "document": document.id,
        "group_id": document.group_id,
        "name": document.name,
        "folder": folder,
        "version": document.current,
        "size": document.size,
        "content_type": document.content_type,
        "by_name": document.last_by_name,
        "saved_at": maillage_sdk::time::now_seconds(),
        "sequence": document.sequence,
        "deleted": false,
        "path": document.path(),
    });
    if let Err(e) = maillage_sdk::publish(DOCUMENT_SAVED, &payload) {
        maillage_sdk::log::warn(&format!(
            "documents: {DOCUMENT_SAVED} of document {} not published: {e}",
            document.id
        ));
    }
}

#[derive(Deserialize)]
struct VersionDocument {
    document: String,
}

/// Whether some version has `blob_id` as its file (a deposit takes only a blob of none;
/// a refused deposit deletes only those).
pub fn blob_in_use(blob_id: &str) -> Result<bool, StoreError> {
    let found: Option<VersionDocument> = Query::new()
        .filter("blob = {:b}")
        .param("b", blob_id)
        .fields(&["document"])
        .first(VERSIONS)?;
    Ok(found.is_some())
}

/// Whether the acting member may send files to the host's streamed upload route
/// (`files.may-upload`): when they may add documents or versions somewhere — a
/// coordinator or admin, or a référent or membre actif of a current (not archived) group
/// they may read. Invités, members in no group and anonymous calls: no (the host answers
/// 403 before reading a byte). What they send is read by nobody until a deposit makes it
/// a version ([`may_read_file`]).
pub fn may_upload() -> bool {
    let viewer = Viewer::current();
    if viewer.user.is_none() {
        return false;
    }
    viewer.coordinator
        || viewer.groups.iter().any(|g| {
            !g.archived && matches!(g.my_role, Some(GroupRole::Referent | GroupRole::Active))
        })
}

/// Whether the acting member may download the module's file `blob_id`: it is the file of
/// a version of a document whose project they may read. Any other blob (sent to the
/// host's upload route, or unknown): nobody.
pub fn may_read_file(blob_id: &str) -> bool {
    if blob_id.is_empty() || maillage_sdk::context().user.is_none() {
        return false;
    }
    let found: Result<Vec<VersionDocument>, StoreError> = Query::new()
        .filter("blob = {:b}")
        .param("b", blob_id)
        .fields(&["document"])
        .fetch_all(VERSIONS, 50);
    let versions = match found {
        Ok(v) => v,
        Err(e) => {
            maillage_sdk::log::warn(&format!("documents: file {blob_id} not checked: {e:?}"));
            return false;
        }
    };
    if versions.is_empty() {
        return false;
    }
    let viewer = Viewer::current();
    versions
        .iter()
        .any(|v| match records::get::<Document>(DOCUMENTS, &v.document) {
            Ok(Some(document)) => viewer.group(&document.group_id).is_some(),
            Ok(None) => false,
            Err(e) => {
                maillage_sdk::log::warn(&format!("documents: file {blob_id} not checked: {e:?}"));
                false
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_numbers_are_positive_digits() {
        assert_eq!(version_number("1"), Some(1));
        assert_eq!(version_number("42"), Some(42));
        assert_eq!(version_number("0"), None);
        assert_eq!(version_number("-1"), None);
        assert_eq!(version_number("1e3"), None);
        assert_eq!(version_number(""), None);
        assert_eq!(version_number("1234567890"), None);
    }

    #[test]
    fn declares_its_collections() {
        let all = collections();
        let names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                DOCUMENTS,
                VERSIONS,
                FOLDERS,
                SETTINGS,
                REVISIONS,
                maillage_sdk::thread::COLLECTION
            ]
        );
        let versions = &all[1];
        assert!(versions.indexes[0].unique);
        assert_eq!(versions.indexes[0].fields, ["document", "number"]);
        let revisions = &all[4];
        assert!(revisions.indexes[0].unique);
        assert_eq!(revisions.indexes[0].fields, ["document", "number"]);
        // Fields added to `documents` are optional or defaulted: existing records keep
        // working, and the host adds them without asking.
        let documents = &all[0];
        for name in ["kind", "head", "head_at", "head_by", "head_by_name", "lock"] {
            let f = documents.fields.iter().find(|f| f.name == name).unwrap();
            assert!(!f.required, "{name}");
        }
        assert!(revisions.fields.len() <= 64 && documents.fields.len() <= 64);
    }

    #[test]
    fn old_file_records_read_as_files() {
        let old: Document = serde_json::from_value(json!({
            "id": "01J", "group_id": "7", "folder": "", "name": "a.pdf", "current": 2,
            "blob": "b", "size": 3, "content_type": "application/pdf", "last_at": 1,
            "last_by_name": "A", "sequence": 2, "created_at": 1
        }))
        .unwrap();
        assert!(!old.is_markdown());
        assert_eq!(old.head_number(), 2);
        let text: Document = serde_json::from_value(json!({
            "id": "01K", "group_id": "7", "kind": "markdown", "head": 3, "current": 3,
            "head_by": null, "head_at": null
        }))
        .unwrap();
        assert!(text.is_markdown());
        assert_eq!(text.head_number(), 3);
    }

    #[test]
    fn how_codes_round_trip() {
        for how in [
            How::Creation,
            How::Edition,
            How::Fusion,
            How::Replacement,
            How::Restoration,
        ] {
            assert_eq!(How::of(how.code()), Some(how));
        }
        assert_eq!(How::Replacement.code(), "remplacement");
        assert_eq!(How::of("autre"), None);
    }
}
