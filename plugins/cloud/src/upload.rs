//! What changes documents: adding documents (several files in one form), a new version,
//! restoring a version, naming one, creating a folder (docs/cloud-contract.md,
//! « Flows »).
//!
//! Files come in the module's own `multipart/form-data` forms (no JavaScript needed):
//! the host checks the CSRF token (the body's first part) and the body limit, then
//! forwards the body; the module reads every file part ([`maillage_sdk::multipart`]), checks
//! them all (count, emptiness, its per-file limit, the structure's quota) before storing
//! any, stores each with `blobs.put` under a sniffed content type and a name without a
//! path, then writes the records. A refusal stores nothing: checks come first, and if
//! the host refuses one of several files the ones already stored are deleted in the same
//! call.

use maillage_sdk::blobs::{self, BlobInfo};
use maillage_sdk::form::Form;
use maillage_sdk::records::{self, StoreError};
use maillage_sdk::{Request, Response, log};
use serde_json::json;

use crate::files::{self, size_fr};
use crate::model::{self, FOLDERS, MAX_DEPTH, MAX_FOLDER_NAME, MAX_LABEL, NewVersion};
use crate::settings::{self, Limits};
use crate::ui::{self, PageResult};
use maillage_sdk::multipart::{Part, Upload};

/// Most files one form may add.
pub const MAX_FILES: usize = 20;

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
const CONFLICT: &str = "Une autre version de ce document vient d’être déposée : rechargez la page et recommencez. Rien n’a été enregistré.";
const ALREADY_CURRENT: &str = "Cette version est déjà la version actuelle du document.";
const LABEL_TOO_LONG: &str = "Le nom d’une version compte 120 caractères au plus.";
const FOLDER_NAME: &str = "Donnez un nom au dossier (120 caractères au plus).";
const FOLDER_TAKEN: &str = "Un dossier de ce nom existe déjà à cet endroit.";
const FOLDER_DEPTH: &str = "Les dossiers s’imbriquent sur 8 niveaux au plus.";

/// A file of the form, checked, ready to be stored.
struct Incoming<'a> {
    display: String,
    content_type: &'static str,
    data: &'a [u8],
}

/// A file stored in the blob store, with its display name.
struct Stored {
    display: String,
    info: BlobInfo,
}

/// The checks every upload passes before a byte is stored: at least one file, none
/// empty, each within the per-file limit, all of them within what the quota leaves.
fn check<'a>(
    parts: &[&Part<'a>],
    limits: &Limits,
    back: &str,
) -> Result<Vec<Incoming<'a>>, Response> {
    if parts.is_empty() {
        return Err(ui::refused(422, NO_FILE, back));
    }
    let mut incoming = Vec::with_capacity(parts.len());
    let mut total: u64 = 0;
    for part in parts {
        let display = files::display_name(part.file_name.as_deref().unwrap_or(""));
        if part.data.is_empty() {
            return Err(ui::refused(
                422,
                &format!("Le fichier « {display} » est vide. Rien n’a été enregistré."),
                back,
            ));
        }
        let size = part.data.len() as u64;
        if size > limits.file_bytes() {
            return Err(ui::refused(
                413,
                &format!(
                    "Le fichier « {display} » ({}) dépasse la taille maximale de {} par fichier. Rien n’a été enregistré.",
                    size_fr(size),
                    size_fr(limits.file_bytes())
                ),
                back,
            ));
        }
        total += size;
        incoming.push(Incoming {
            content_type: files::sniff(&display, part.data),
            display,
            data: part.data,
        });
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
    Ok(incoming)
}

/// Stores the files, all or none: when the host refuses one, those already stored are
/// deleted (in the same call) and the refusal is answered.
fn store(incoming: Vec<Incoming<'_>>, back: &str) -> Result<Vec<Stored>, Response> {
    let mut stored: Vec<Stored> = Vec::with_capacity(incoming.len());
    for file in incoming {
        let name = files::download_name(&file.display);
        match blobs::put(&name, file.content_type, file.data) {
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

/// Deletes blobs stored by this call that no record will refer to.
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

/// `POST /g/{g}/documents` (multipart: `csrf`, `dossier`, `fichiers` repeated):
/// référents and coordinators add documents, each file its own document at version 1.
pub fn add(group_id: &str, request: &Request) -> PageResult {
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
    let Some(upload) = Upload::read(request.header("content-type"), &request.body) else {
        return Ok(ui::refused(400, BAD_FORM, &back));
    };
    let folder_id = upload.field("dossier");
    let folder = if folder_id.is_empty() {
        None
    } else {
        match model::folder_in(&place, &folder_id)? {
            Some(folder) => Some(folder),
            None => return Ok(Response::not_found()),
        }
    };
    let back = folder.as_ref().map(|f| f.path()).unwrap_or(back);
    let parts = upload.files("fichiers");
    if parts.len() > MAX_FILES {
        return Ok(ui::refused(
            422,
            &format!(
                "Vous pouvez ajouter au plus {MAX_FILES} fichiers à la fois. Rien n’a été enregistré."
            ),
            &back,
        ));
    }
    let limits = settings::limits()?;
    let incoming = match check(&parts, &limits, &back) {
        Ok(incoming) => incoming,
        Err(refused) => return Ok(refused),
    };
    let stored = match store(incoming, &back) {
        Ok(stored) => stored,
        Err(refused) => return Ok(refused),
    };
    let folder_id = folder.as_ref().map(|f| f.id.clone()).unwrap_or_default();
    // A store error here answers 503: the whole call, the files' records included, is
    // rolled back.
    for s in &stored {
        model::create_document(&place, &folder_id, &s.display, &new_version(s, ""), &user)?;
    }
    let separator = if back.contains('?') { '&' } else { '?' };
    Ok(Response::see_other(&format!(
        "{back}{separator}ok=ajout&n={}",
        stored.len()
    )))
}

/// `POST /d/{doc}/versions` (multipart: `csrf`, `fichier`, `libelle` optional): a member
/// of the project deposits a new version, which becomes the current one.
pub fn new_version_of(document_id: &str, request: &Request) -> PageResult {
    let Some((document, place)) = model::document(document_id)? else {
        return Ok(Response::not_found());
    };
    // A Markdown text has revisions, not file versions (`crate::texts`).
    if document.is_markdown() {
        return Ok(Response::not_found());
    }
    let back = document.path();
    let Some(user) = place.me.clone().filter(|_| place.contributes()) else {
        return Ok(ui::refused(403, ONLY_MEMBERS_VERSION, &back));
    };
    if place.archived() {
        return Ok(ui::refused(409, ui::ARCHIVED, &back));
    }
    let Some(upload) = Upload::read(request.header("content-type"), &request.body) else {
        return Ok(ui::refused(400, BAD_FORM, &back));
    };
    let Ok(label) = label_of(&upload.field("libelle")) else {
        return Ok(ui::refused(422, LABEL_TOO_LONG, &back));
    };
    let parts = upload.files("fichier");
    if parts.len() > 1 {
        return Ok(ui::refused(422, ONE_FILE, &back));
    }
    let limits = settings::limits()?;
    let incoming = match check(&parts, &limits, &back) {
        Ok(incoming) => incoming,
        Err(refused) => return Ok(refused),
    };
    let stored = match store(incoming, &back) {
        Ok(stored) => stored,
        Err(refused) => return Ok(refused),
    };
    let Some(file) = stored.first() else {
        return Ok(ui::refused(422, NO_FILE, &back));
    };
    if let Err(e) = model::add_version(&document, &new_version(file, &label), &user) {
        return conflict_or(e, &stored, &back);
    }
    Ok(Response::see_other(&format!("{back}?ok=version")))
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
