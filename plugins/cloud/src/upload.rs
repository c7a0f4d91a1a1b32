//! What changes documents: adding documents (several files in one form), a new version,
//! restoring a version, naming one, creating a folder (docs/cloud-contract.md,
//! « Flows »).
//!
//! Files come two ways, which share every check and the records they make:
//!
//! - In the module's own `multipart/form-data` forms (no JavaScript needed, at most the
//!   host's request body limit, 16 MiB by default): the host checks the CSRF token (the
//!   body's first part) and the body limit, then forwards the body; the module reads
//!   every file part ([`maillage_sdk::multipart`]), checks them all (count, emptiness, its
//!   per-file limit, the structure's quota) before storing any, stores each with
//!   `blobs.put` under a sniffed content type and a name without a path, then writes the
//!   records. A refusal stores nothing: checks come first, and if the host refuses one of
//!   several files the ones already stored are deleted in the same call.
//! - Through the host's streamed upload route (`POST /{s}/fichiers/documents`, the page's
//!   script `documents.js`: large files, no byte through the module's memory), then a
//!   plain form listing the blobs (`POST /g/{g}/deposes`, `POST /d/{d}/versions/depose`):
//!   each blob must exist in the structure's store and be the file of no version; the same
//!   checks then run on the sizes the host recorded, the stored type is the host's
//!   (sniffed from the bytes), and the records are the same. Any refusal deletes every
//!   listed blob that no version uses: they belong to no document.

use maillage_sdk::User;
use maillage_sdk::blobs::{self, BlobInfo};
use maillage_sdk::form::Form;
use maillage_sdk::records::{self, StoreError};
use maillage_sdk::{Request, Response, log};
use serde_json::json;

use crate::files::{self, size_fr};
use crate::model::{
    self, Document, FOLDERS, Folder, MAX_DEPTH, MAX_FOLDER_NAME, MAX_LABEL, NewVersion, Place,
};
use crate::settings::{self, Limits};
use crate::ui::{self, PageResult};
use maillage_sdk::multipart::{Part, Upload};

/// Most files one form may add.
pub const MAX_FILES: usize = 20;
/// Most `blob` fields of a deposit ever looked at (checked, or deleted on a refusal);
/// past it, the deposit is refused as too many files.
const MAX_LISTED: usize = 100;

const ONLY_MANAGERS_ADD: &str =
    "Seuls les référents et les coordinateurs ajoutent des documents à ce projet.";
const ONLY_MANAGERS_FOLDER: &str =
    "Seuls les référents et les coordinateurs créent des dossiers dans ce projet.";
const ONLY_MEMBERS_VERSION: &str =
    "Seuls les membres du projet déposent de nouvelles versions de ses documents.";
const ONLY_MEMBERS_RESTORE: &str =
    "Seuls les membres du projet restaurent une version de ses documents.";
const ONLY_MEMBERS_NAME: &str =
    "Seuls les membres du projet nomment les versions de ses documents.";
const BAD_FORM: &str = "L’envoi des fichiers a échoué : le formulaire est illisible. Rien n’a été enregistré ; veuillez réessayer.";
const NO_FILE: &str = "Choisissez au moins un fichier.";
const ONE_FILE: &str = "Déposez un seul fichier pour une nouvelle version.";
const HOST_TOO_LARGE: &str =
    "Un fichier dépasse la taille maximale que la plateforme accepte. Rien n’a été enregistré.";
/// A deposited blob the structure's store does not hold (another structure's, deleted,
/// mistyped).
pub const BLOB_NOT_FOUND: &str = "Fichier introuvable : renvoyez-le.";
/// A deposited blob that already is the file of a version.
pub const BLOB_ATTACHED: &str =
    "Ce fichier est déjà enregistré dans un document : renvoyez-le. Rien n’a été enregistré.";
const CONFLICT: &str = "Une autre version de ce document vient d’être déposée : rechargez la page et recommencez. Rien n’a été enregistré.";
const ALREADY_CURRENT: &str = "Cette version est déjà la version actuelle du document.";
const LABEL_TOO_LONG: &str = "Le nom d’une version compte 120 caractères au plus.";
const FOLDER_NAME: &str = "Donnez un nom au dossier (120 caractères au plus).";
const FOLDER_TAKEN: &str = "Un dossier de ce nom existe déjà à cet endroit.";
const FOLDER_DEPTH: &str = "Les dossiers s’imbriquent sur 8 niveaux au plus.";

/// Where a file's bytes are while the module checks it.
enum Source<'a> {
    /// In the form's body: stored (`blobs.put`) once every check passed.
    Form(&'a [u8]),
    /// Already in the structure's store, sent to the host's streamed route: nothing to
    /// store, and no byte of it in the module's memory.
    Blob(BlobInfo),
}

/// A file to add, before the checks.
struct Incoming<'a> {
    display: String,
    size: u64,
    source: Source<'a>,
}

impl<'a> Incoming<'a> {
    /// A file part of the module's form.
    fn from_part(part: &Part<'a>) -> Incoming<'a> {
        let data: &'a [u8] = part.data;
        Incoming {
            display: files::display_name(part.file_name.as_deref().unwrap_or("")),
            size: data.len() as u64,
            source: Source::Form(data),
        }
    }

    /// A blob the host stored (its name as the browser sent it, its size as written).
    fn from_blob(info: BlobInfo) -> Incoming<'a> {
        Incoming {
            display: files::display_name(&info.name),
            size: info.size,
            source: Source::Blob(info),
        }
    }
}

/// A file stored in the blob store, with its display name.
struct Stored {
    display: String,
    info: BlobInfo,
}

/// The checks every upload passes before a byte is stored or a record written: at least
/// one file, none empty, each within the per-file limit, all of them within what the
/// quota leaves.
fn check(incoming: &[Incoming<'_>], limits: &Limits, back: &str) -> Result<(), Response> {
    if incoming.is_empty() {
        return Err(ui::refused(422, NO_FILE, back));
    }
    let mut total: u64 = 0;
    for file in incoming {
        let display = &file.display;
        if file.size == 0 {
            return Err(ui::refused(
                422,
                &format!("Le fichier « {display} » est vide. Rien n’a été enregistré."),
                back,
            ));
        }
        if file.size > limits.file_bytes() {
            return Err(ui::refused(
                413,
                &format!(
                    "Le fichier « {display} » ({}) dépasse la taille maximale de {} par fichier. Rien n’a été enregistré.",
                    size_fr(file.size),
                    size_fr(limits.file_bytes())
                ),
                back,
            ));
        }
        total = total.saturating_add(file.size);
    }
    let used = match model::used_bytes() {
        Ok(used) => used,
        Err(e) => {
            log::error(&format!("documents: quota not read: {e}"));
            return Err(ui::refused(
                503,
                "Le service est momentanément indisponible. Veuillez réessayer.",
                back,
            ));
        }
    };
    if used.saturating_add(total) > limits.quota_bytes() {
        return Err(ui::refused(
            413,
            &format!(
                "L’espace des documents de la structure est plein : {} utilisés sur {}, et cet envoi ajoute {}. Rien n’a été enregistré. Un administrateur de la structure peut agrandir cet espace.",
                size_fr(used),
                size_fr(limits.quota_bytes()),
                size_fr(total)
            ),
            back,
        ));
    }
    Ok(())
}

/// Stores the form's files, all or none: when the host refuses one, those already
/// stored are deleted (in the same call) and the refusal is answered. Blobs the host
/// already holds are taken as they are.
fn store(incoming: Vec<Incoming<'_>>, back: &str) -> Result<Vec<Stored>, Response> {
    let mut stored: Vec<Stored> = Vec::with_capacity(incoming.len());
    for file in incoming {
        let data = match file.source {
            Source::Blob(info) => {
                stored.push(Stored {
                    display: file.display,
                    info,
                });
                continue;
            }
            Source::Form(data) => data,
        };
        let name = files::download_name(&file.display);
        match blobs::put(&name, files::sniff(&file.display, data), data) {
            Ok(info) => stored.push(Stored {
                display: file.display,
                info,
            }),
            Err(e) => {
                forget(&stored);
                log::warn(&format!("documents: file « {name} » not stored: {e}"));
                return Err(if e.starts_with("file larger than the limit") {
                    ui::refused(413, HOST_TOO_LARGE, back)
                } else {
                    ui::refused(
                        503,
                        &format!(
                            "Le fichier « {} » n’a pas pu être enregistré. Rien n’a été enregistré ; veuillez réessayer.",
                            file.display
                        ),
                        back,
                    )
                });
            }
        }
    }
    Ok(stored)
}

/// Deletes blobs stored by this call, or listed by it, that no record will refer to.
fn forget(stored: &[Stored]) {
    for s in stored {
        if let Err(e) = blobs::delete(&s.info.id) {
            log::warn(&format!("documents: file {} not deleted: {e}", s.info.id));
        }
    }
}

fn new_version<'a>(stored: &'a Stored, label: &'a str) -> NewVersion<'a> {
    NewVersion {
        blob: &stored.info.id,
        name: &stored.display,
        size: stored.info.size,
        content_type: &stored.info.content_type,
        sha256: &stored.info.sha256,
        label,
        restored_from: None,
        stored_bytes: stored.info.size,
    }
}

/// A version label as typed: trimmed, no control characters, at most [`MAX_LABEL`].
fn label_of(text: &str) -> Result<String, ()> {
    let cleaned: String = text.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim().to_string();
    if cleaned.chars().count() > MAX_LABEL {
        return Err(());
    }
    Ok(cleaned)
}

/// A store conflict (two versions numbered alike) as the 409 to answer; any other store
/// error goes up (503, the call rolled back).
fn conflict_or(e: StoreError, stored: &[Stored], back: &str) -> PageResult {
    match e {
        StoreError::Conflict(reason) => {
            log::info(&format!("documents: concurrent version refused: {reason}"));
            forget(stored);
            Ok(ui::refused(409, CONFLICT, back))
        }
        other => Err(other),
    }
}

fn too_many_files(back: &str) -> Response {
    ui::refused(
        422,
        &format!(
            "Vous pouvez ajouter au plus {MAX_FILES} fichiers à la fois. Rien n’a été enregistré."
        ),
        back,
    )
}

/// The project `group_id` and the acting member, when they may add documents to it:
/// 404 when they may not read it, 403 when they do not manage it, 409 when it is
/// archived.
fn adder(group_id: &str) -> Result<(Place, User), Response> {
    let Some(place) = model::place(group_id) else {
        return Err(Response::not_found());
    };
    let back = place.path();
    let Some(user) = place.me.clone().filter(|_| place.manages()) else {
        return Err(ui::refused(403, ONLY_MANAGERS_ADD, &back));
    };
    if place.archived() {
        return Err(ui::refused(409, ui::ARCHIVED, &back));
    }
    Ok((place, user))
}

/// The folder `folder_id` of the project (none for `""`, the root) and the page to go
/// back to; none at all for a folder of no project (404).
fn target_folder(
    place: &Place,
    folder_id: &str,
) -> Result<Option<(Option<Folder>, String)>, StoreError> {
    if folder_id.is_empty() {
        return Ok(Some((None, place.path())));
    }
    Ok(model::folder_in(place, folder_id)?.map(|folder| {
        let back = folder.path();
        (Some(folder), back)
    }))
}

/// The document `document_id` and the acting member, when they may deposit a version of
/// it: 404 when they may not read it (or it is a text), 403 when they do not contribute
/// to its project, 409 when the project is archived.
fn depositor(document_id: &str) -> Result<Result<(Document, User), Response>, StoreError> {
    let Some((document, place)) = model::document(document_id)? else {
        return Ok(Err(Response::not_found()));
    };
    // A Markdown text has revisions, not file versions (`crate::texts`).
    if document.is_markdown() {
        return Ok(Err(Response::not_found()));
    }
    let back = document.path();
    let Some(user) = place.me.clone().filter(|_| place.contributes()) else {
        return Ok(Err(ui::refused(403, ONLY_MEMBERS_VERSION, &back)));
    };
    if place.archived() {
        return Ok(Err(ui::refused(409, ui::ARCHIVED, &back)));
    }
    Ok(Ok((document, user)))
}

/// Checks `incoming`, stores what must be, and makes each file a document of `place` in
/// `folder` at version 1: the one way documents are added, from the form or from blobs.
fn add_documents(
    place: &Place,
    folder: Option<&Folder>,
    back: &str,
    incoming: Vec<Incoming<'_>>,
    user: &User,
) -> PageResult {
    let limits = settings::limits()?;
    if let Err(refused) = check(&incoming, &limits, back) {
        return Ok(refused);
    }
    let stored = match store(incoming, back) {
        Ok(stored) => stored,
        Err(refused) => return Ok(refused),
    };
    let folder_id = folder.map(|f| f.id.clone()).unwrap_or_default();
    // A store error here answers 503: the whole call, the files' records included, is
    // rolled back.
    for s in &stored {
        model::create_document(place, &folder_id, &s.display, &new_version(s, ""), user)?;
    }
    let separator = if back.contains('?') { '&' } else { '?' };
    Ok(Response::see_other(&format!(
        "{back}{separator}ok=ajout&n={}",
        stored.len()
    )))
}

/// Checks `incoming` (one file), stores it if it must be, and makes it the document's
/// new current version: the one way a version is deposited, from the form or a blob.
fn add_one_version(
    document: &Document,
    incoming: Vec<Incoming<'_>>,
    label: &str,
    user: &User,
) -> PageResult {
    let back = document.path();
    if incoming.len() > 1 {
        return Ok(ui::refused(422, ONE_FILE, &back));
    }
    let limits = settings::limits()?;
    if let Err(refused) = check(&incoming, &limits, &back) {
        return Ok(refused);
    }
    let stored = match store(incoming, &back) {
        Ok(stored) => stored,
        Err(refused) => return Ok(refused),
    };
    let Some(file) = stored.first() else {
        return Ok(ui::refused(422, NO_FILE, &back));
    };
    if let Err(e) = model::add_version(document, &new_version(file, label), user) {
        return conflict_or(e, &stored, &back);
    }
    Ok(Response::see_other(&format!("{back}?ok=version")))
}

/// `POST /g/{g}/documents` (multipart: `csrf`, `dossier`, `fichiers` repeated):
/// référents and coordinators add documents, each file its own document at version 1.
pub fn add(group_id: &str, request: &Request) -> PageResult {
    let (place, user) = match adder(group_id) {
        Ok(found) => found,
        Err(refused) => return Ok(refused),
    };
    let Some(upload) = Upload::read(request.header("content-type"), &request.body) else {
        return Ok(ui::refused(400, BAD_FORM, &place.path()));
    };
    let Some((folder, back)) = target_folder(&place, &upload.field("dossier"))? else {
        return Ok(Response::not_found());
    };
    let parts = upload.files("fichiers");
    if parts.len() > MAX_FILES {
        return Ok(too_many_files(&back));
    }
    let incoming: Vec<Incoming<'_>> = parts.iter().map(|p| Incoming::from_part(p)).collect();
    add_documents(&place, folder.as_ref(), &back, incoming, &user)
}

/// `POST /d/{doc}/versions` (multipart: `csrf`, `fichier`, `libelle` optional): a member
/// of the project deposits a new version, which becomes the current one.
pub fn new_version_of(document_id: &str, request: &Request) -> PageResult {
    let (document, user) = match depositor(document_id)? {
        Ok(found) => found,
        Err(refused) => return Ok(refused),
    };
    let back = document.path();
    let Some(upload) = Upload::read(request.header("content-type"), &request.body) else {
        return Ok(ui::refused(400, BAD_FORM, &back));
    };
    let Ok(label) = label_of(&upload.field("libelle")) else {
        return Ok(ui::refused(422, LABEL_TOO_LONG, &back));
    };
    let incoming: Vec<Incoming<'_>> = upload
        .files("fichier")
        .iter()
        .map(|p| Incoming::from_part(p))
        .collect();
    add_one_version(&document, incoming, &label, &user)
}

/// The blob ids a deposit lists (`blob` repeated), in order, each once, and whether it
/// listed more than [`MAX_LISTED`] (only those are looked at).
fn listed_blobs(form: &Form) -> (Vec<String>, bool) {
    let all = form.all("blob");
    let overflow = all.len() > MAX_LISTED;
    let mut ids: Vec<String> = Vec::new();
    for id in all.into_iter().take(MAX_LISTED) {
        if !id.is_empty() && !ids.contains(&id) {
            ids.push(id);
        }
    }
    (ids, overflow)
}

/// The listed blobs as files to add: each must be in the structure's store (422
/// [`BLOB_NOT_FOUND`]: another structure's id is not found in this one's scope) and the
/// file of no version yet (422 [`BLOB_ATTACHED`]).
fn blobs_in<'a>(
    ids: &[String],
    back: &str,
) -> Result<Result<Vec<Incoming<'a>>, Response>, StoreError> {
    let mut incoming = Vec::with_capacity(ids.len());
    for id in ids {
        let found = if records::valid_id(id) {
            blobs::info(id)
        } else {
            None
        };
        let Some(info) = found else {
            return Ok(Err(ui::refused(422, BLOB_NOT_FOUND, back)));
        };
        if model::blob_in_use(&info.id)? {
            return Ok(Err(ui::refused(422, BLOB_ATTACHED, back)));
        }
        incoming.push(Incoming::from_blob(info));
    }
    Ok(Ok(incoming))
}

/// After a refused deposit: deletes every listed blob that no version uses (sent to the
/// host's route for it, it belongs to no document). A blob some version uses — an
/// attached file listed again — is kept, and so is any blob whose use cannot be read.
fn discard(ids: &[String]) {
    for id in ids {
        if !records::valid_id(id) {
            continue;
        }
        match model::blob_in_use(id) {
            Ok(false) => {
                if let Err(e) = blobs::delete(id) {
                    log::warn(&format!("documents: deposited file {id} not deleted: {e}"));
                }
            }
            Ok(true) => {}
            Err(e) => log::warn(&format!(
                "documents: deposited file {id} kept, its use not read: {e}"
            )),
        }
    }
}

/// Answers a deposit, deleting its unattached blobs when it is refused (any 4xx; a 5xx
/// rolls the whole call back, deletions included).
fn or_discard(ids: &[String], answer: PageResult) -> PageResult {
    let answer = answer?;
    if (400..500).contains(&answer.status) {
        discard(ids);
    }
    Ok(answer)
}

/// `POST /g/{g}/deposes` (`csrf`, `dossier` optional, `blob` repeated, at most 20):
/// référents and coordinators add documents from files sent to the host's streamed
/// route, each its own document at version 1, as [`add`] does.
pub fn deposit(group_id: &str, form: &Form) -> PageResult {
    let (ids, overflow) = listed_blobs(form);
    or_discard(&ids, deposit_listed(group_id, form, &ids, overflow))
}

fn deposit_listed(group_id: &str, form: &Form, ids: &[String], overflow: bool) -> PageResult {
    let (place, user) = match adder(group_id) {
        Ok(found) => found,
        Err(refused) => return Ok(refused),
    };
    let Some((folder, back)) = target_folder(&place, &form.get("dossier"))? else {
        return Ok(Response::not_found());
    };
    if overflow || ids.len() > MAX_FILES {
        return Ok(too_many_files(&back));
    }
    let incoming = match blobs_in(ids, &back)? {
        Ok(incoming) => incoming,
        Err(refused) => return Ok(refused),
    };
    add_documents(&place, folder.as_ref(), &back, incoming, &user)
}

/// `POST /d/{doc}/versions/depose` (`csrf`, one `blob`, `libelle` optional): a member of
/// the project deposits a new version from a file sent to the host's streamed route, as
/// [`new_version_of`] does.
pub fn deposit_version(document_id: &str, form: &Form) -> PageResult {
    let (ids, overflow) = listed_blobs(form);
    or_discard(
        &ids,
        deposit_version_listed(document_id, form, &ids, overflow),
    )
}

fn deposit_version_listed(
    document_id: &str,
    form: &Form,
    ids: &[String],
    overflow: bool,
) -> PageResult {
    let (document, user) = match depositor(document_id)? {
        Ok(found) => found,
        Err(refused) => return Ok(refused),
    };
    let back = document.path();
    let Ok(label) = label_of(&form.get("libelle")) else {
        return Ok(ui::refused(422, LABEL_TOO_LONG, &back));
    };
    if overflow || ids.len() > 1 {
        return Ok(ui::refused(422, ONE_FILE, &back));
    }
    let incoming = match blobs_in(ids, &back)? {
        Ok(incoming) => incoming,
        Err(refused) => return Ok(refused),
    };
    add_one_version(&document, incoming, &label, &user)
}

/// `POST /d/{doc}/versions/{n}/restaurer`: a member of the project makes version `n`
/// the current one again, as a new version (`current + 1`) referring to the same file:
/// the history is kept whole, and the restore takes no space.
pub fn restore(document_id: &str, number: &str) -> PageResult {
    let Some((document, place)) = model::document(document_id)? else {
        return Ok(Response::not_found());
    };
    // A Markdown text has revisions, not file versions (`crate::texts`).
    if document.is_markdown() {
        return Ok(Response::not_found());
    }
    let back = document.path();
    let Some(number) = model::version_number(number) else {
        return Ok(Response::not_found());
    };
    let Some(old) = model::version_of(&document.id, number)? else {
        return Ok(Response::not_found());
    };
    let Some(user) = place.me.clone().filter(|_| place.contributes()) else {
        return Ok(ui::refused(403, ONLY_MEMBERS_RESTORE, &back));
    };
    if place.archived() {
        return Ok(ui::refused(409, ui::ARCHIVED, &back));
    }
    if old.number == document.current {
        return Ok(ui::refused(409, ALREADY_CURRENT, &back));
    }
    let file = NewVersion {
        blob: &old.blob,
        name: &old.name,
        size: u64::try_from(old.size).unwrap_or(0),
        content_type: &old.content_type,
        sha256: &old.sha256,
        label: "",
        restored_from: Some(old.number),
        stored_bytes: 0,
    };
    if let Err(e) = model::add_version(&document, &file, &user) {
        return conflict_or(e, &[], &back);
    }
    Ok(Response::see_other(&format!("{back}?ok=restauree")))
}

/// `POST /d/{doc}/versions/{n}/nommer` (`libelle`): a member of the project names a
/// version (kept apart from the automatic history), renames it, or, with an empty name,
/// makes it automatic again.
pub fn name_version(document_id: &str, number: &str, form: &Form) -> PageResult {
    let Some((document, place)) = model::document(document_id)? else {
        return Ok(Response::not_found());
    };
    // A Markdown text has revisions, not file versions (`crate::texts`).
    if document.is_markdown() {
        return Ok(Response::not_found());
    }
    let back = document.path();
    let Some(number) = model::version_number(number) else {
        return Ok(Response::not_found());
    };
    let Some(version) = model::version_of(&document.id, number)? else {
        return Ok(Response::not_found());
    };
    if !place.contributes() {
        return Ok(ui::refused(403, ONLY_MEMBERS_NAME, &back));
    }
    if place.archived() {
        return Ok(ui::refused(409, ui::ARCHIVED, &back));
    }
    let Ok(label) = label_of(&form.get("libelle")) else {
        return Ok(ui::refused(422, LABEL_TOO_LONG, &back));
    };
    records::update::<serde_json::Value>(model::VERSIONS, &version.id, &json!({ "label": label }))?;
    let ok = if label.is_empty() {
        "denommee"
    } else {
        "nommee"
    };
    Ok(Response::see_other(&format!("{back}?ok={ok}")))
}

/// `POST /g/{g}/dossiers` (`nom`, `parent`): référents and coordinators create a folder.
pub fn create_folder(group_id: &str, form: &Form) -> PageResult {
    let Some(place) = model::place(group_id) else {
        return Ok(Response::not_found());
    };
    let back = place.path();
    let Some(user) = place.me.clone().filter(|_| place.manages()) else {
        return Ok(ui::refused(403, ONLY_MANAGERS_FOLDER, &back));
    };
    if place.archived() {
        return Ok(ui::refused(409, ui::ARCHIVED, &back));
    }
    let parent_id = form.get("parent");
    let parent = if parent_id.is_empty() {
        None
    } else {
        match model::folder_in(&place, &parent_id)? {
            Some(parent) => Some(parent),
            None => return Ok(Response::not_found()),
        }
    };
    let back = parent.as_ref().map(|f| f.path()).unwrap_or(back);
    let name: String = form
        .get("nom")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > MAX_FOLDER_NAME {
        return Ok(ui::refused(422, FOLDER_NAME, &back));
    }
    if let Some(parent) = &parent
        && model::ancestry(parent)?.len() >= MAX_DEPTH
    {
        return Ok(ui::refused(422, FOLDER_DEPTH, &back));
    }
    let parent_id = parent.as_ref().map(|f| f.id.clone()).unwrap_or_default();
    let key = maillage_sdk::text::fold(&name);
    let taken = model::folders_in(&place.group.id, &parent_id)?
        .iter()
        .any(|f| maillage_sdk::text::fold(&f.name) == key);
    if taken {
        return Ok(ui::refused(409, FOLDER_TAKEN, &back));
    }
    let created: Result<model::Folder, StoreError> = records::insert(
        FOLDERS,
        &json!({
            "group_id": place.group.id,
            "parent": parent_id,
            "name": name,
            "name_key": key,
            "created_by": user.id,
            "created_by_name": user.display_name,
        }),
    );
    match created {
        Ok(folder) => Ok(Response::see_other(&format!(
            "{}&ok=dossier",
            folder.path()
        ))),
        Err(StoreError::Conflict(_)) => Ok(ui::refused(409, FOLDER_TAKEN, &back)),
        Err(e) => Err(e),
    }
}
