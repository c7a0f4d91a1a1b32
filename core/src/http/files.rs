//! Files of modules. `POST /{structure}/fichiers/{module}` streams an uploaded file
//! (multipart, first file field) into the blob store for that module, which must be
//! enabled with the "blobs" grant; the module then refers to the returned id.
//! `GET /{structure}/fichiers/{module}/{id}` streams a stored file back to members of
//! that structure only, while the module is enabled there, and only once the module said
//! that this member may read it (its `files.may-read` export, WIT 0.2.5: the blob is the
//! expense note of a line the member owns, the photo of a fiche…). A refusal, a fault or
//! an unknown id all answer the same 404: the route never confirms that a file exists.
//! A component without that export (built against 0.2.4 or before) keeps the legacy rule:
//! any member of the structure downloads the module's files by id. An upload is stored
//! only if the module says this member may send it files (`files.may-upload`; 403
//! otherwise, before a byte is read); what a member sends is then read by whoever the
//! module lets read it (for the first-party modules, nobody until a record refers to it).
//! Its stored content type comes from its first bytes (`blobs::upload_content_type`),
//! the client's declared type only for types browsers do not render; the JSON answer
//! says which. The route streams: no body limit of axum's multipart reader, only the
//! router's and the blob store's own.
//! `GET /{structure}/fichiers/{module}/bibliotheque/{entry}/{number}` streams a file of
//! the national library to members of any structure where the module is enabled with
//! "library" granted (`library_download`). Every file route of the host answers through
//! `file_response` (inline types, `nosniff`, RFC 6266 name, `Content-Length`).

use axum::body::Body;
use axum::extract::multipart::MultipartError;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderValue, StatusCode, header};

use super::access::{Ctx, MemberCtx};
use super::{AppState, not_found};
use crate::library::{self, LibraryError};
use crate::plugins::FileQuestion;
use crate::storage::blobs::{SNIFF_BYTES, upload_content_type};
use crate::storage::{PluginScope, new_key};
use crate::tenancy::{EnabledModule, Role};

/// Types a browser may render inline; anything else is a download (no stored HTML or
/// SVG runs in the platform's origin).
const INLINE_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/gif",
    "application/pdf",
    "text/plain",
];

pub async fn download(
    State(state): State<AppState>,
    Path((slug, module, id)): Path<(String, String, String)>,
    ctx: Ctx,
) -> Response {
    let member = match ctx.member_of(&slug, Role::Member) {
        Ok(m) => m,
        Err(response) => return response,
    };
    let structure_id = member.membership.structure.id;
    let enabled = match state.db.enabled_module(structure_id, &module).await {
        Ok(Some(enabled)) => enabled,
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "module lookup failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    // Asked before anything is streamed (and before a connection is held for it).
    match module_allows(&state, &member, &enabled, FileQuestion::Read(&id)).await {
        Ok(true) => {}
        Ok(false) => return not_found(),
        Err(response) => return response,
    }
    let scope = PluginScope {
        structure_id,
        plugin_id: module,
    };
    let mut conn = match state.db.pool().acquire().await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "no database connection for a download");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let (info, stream) = match state.blobs.stream(&mut conn, &scope, &id).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, blob = %id, "blob download failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    drop(conn);
    file_response(
        Body::from_stream(stream),
        &info.name,
        &info.content_type,
        info.size,
        Disposition::ByType,
        "private, max-age=3600",
    )
}

/// `GET /{structure}/fichiers/{module}/bibliotheque/{entry}/{number}`: a file of the
/// national library (docs/cloud-library-design.md A.8), for any member of a structure
/// where that module is enabled with "library" granted (who published it plays no part:
/// a published version is, by definition, for every member). Checks in order: the
/// membership (login or 404); the module enabled here with "library" (404); the entry
/// of that module (404); neither withdrawn nor hidden (410, the host's French page); a
/// file version, not purged (404). Streamed from the library's copy with the headers
/// of module files; versions never change, but an entry can be hidden: cached privately
/// for an hour.
pub async fn library_download(
    State(state): State<AppState>,
    Path((slug, module, entry, number)): Path<(String, String, String, String)>,
    ctx: Ctx,
) -> Response {
    let member = match ctx.member_of(&slug, Role::Member) {
        Ok(m) => m,
        Err(response) => return response,
    };
    let structure_id = member.membership.structure.id;
    match state.db.enabled_module(structure_id, &module).await {
        Ok(Some(enabled)) if enabled.granted.iter().any(|g| g == "library") => {}
        Ok(_) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "module lookup failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    }
    let (Some(entry_id), Some(number)) = (
        library::parse_entry_id(&entry),
        number
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0 && number.bytes().all(|b| b.is_ascii_digit())),
    ) else {
        return not_found();
    };
    let mut conn = match state.db.pool().acquire().await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "no database connection for a library download");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let found = library::file_object(&mut conn, &module, entry_id, number).await;
    drop(conn);
    let file = match found {
        Ok(file) => file,
        Err(LibraryError::NotFound) => return not_found(),
        Err(LibraryError::Withdrawn(at)) => {
            let date = super::library::local_date(at, &member.membership.structure.time_zone);
            let message =
                format!("Ce document a été retiré de la bibliothèque nationale le {date}.");
            return super::library::member_message(
                &state,
                &member,
                StatusCode::GONE,
                "Document retiré",
                &message,
            )
            .await;
        }
        Err(LibraryError::Hidden) => {
            return super::library::member_message(
                &state,
                &member,
                StatusCode::GONE,
                "Document masqué",
                "Ce document a été masqué par l’équipe de la plateforme.",
            )
            .await;
        }
        Err(e) => {
            tracing::error!(error = %e, entry = entry_id, "library file lookup failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let stream = match state.blobs.library_stream(&file.object_key).await {
        Ok(Some(stream)) => stream,
        Ok(None) => {
            tracing::error!(key = %file.object_key, entry = entry_id, "library object missing");
            return not_found();
        }
        Err(e) => {
            tracing::error!(error = %e, entry = entry_id, "library download failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    file_response(
        Body::from_stream(stream),
        &file.info.name,
        &file.info.content_type,
        file.info.size,
        Disposition::ByType,
        "private, max-age=3600",
    )
}

/// How a download is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Disposition {
    /// Inline for [`INLINE_TYPES`], an attachment otherwise.
    ByType,
    /// Always an attachment (a file to check before publishing, an operator's copy).
    Attachment,
}

/// A stored file's response: its type, `Content-Length`, the RFC 6266 name (an ASCII
/// fallback plus the UTF-8 name), `nosniff` and `cache`. Every file route of the host
/// (module files, the library's published files, its confirmation and operator pages)
/// answers through it.
pub(super) fn file_response(
    body: Body,
    name: &str,
    content_type: &str,
    size: u64,
    disposition: Disposition,
    cache: &'static str,
) -> Response {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    let disposition = if disposition == Disposition::ByType && INLINE_TYPES.contains(&essence) {
        "inline"
    } else {
        "attachment"
    };
    // RFC 6266 / 5987: an ASCII fallback plus the UTF-8 name.
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{disposition}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// Whether the module lets this member read one of its blobs or send it a file: its
/// `files` export's answer, asked as the member (WIT 0.2.5); membership alone for a
/// component without that export. A fault is a refusal (and a log line).
async fn module_allows(
    state: &AppState,
    member: &MemberCtx,
    enabled: &EnabledModule,
    question: FileQuestion<'_>,
) -> Result<bool, Response> {
    let plugin = match state
        .registry
        .get(&enabled.plugin_id, &enabled.version)
        .await
    {
        Ok(plugin) => plugin,
        Err(e) => {
            tracing::error!(plugin = %enabled.plugin_id, version = %enabled.version, error = %e, "enabled module failed to load");
            return Err(StatusCode::SERVICE_UNAVAILABLE.into_response());
        }
    };
    let granted = plugin.effective_capabilities(&enabled.granted);
    let request_id = new_key();
    let ctx = super::modules::call_context(member, &plugin.manifest().id, &request_id);
    match state
        .registry
        .runtime()
        .ask_files(&plugin, ctx, granted, question)
        .await
    {
        Ok(Some(allowed)) => Ok(allowed),
        // Legacy: the component has no `files` export; membership was checked.
        Ok(None) => Ok(true),
        Err(fault) => {
            let manifest = plugin.manifest();
            tracing::error!(plugin = %manifest.id, version = %manifest.version, request_id = %request_id, question = ?question, cause = %fault, "the module's files export failed; refused");
            Ok(false)
        }
    }
}

fn json(status: StatusCode, value: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn upload_error(status: StatusCode, message: &str) -> Response {
    json(status, serde_json::json!({ "error": message }))
}

pub async fn upload(
    State(state): State<AppState>,
    Path((slug, module)): Path<(String, String)>,
    ctx: Ctx,
    mut multipart: Multipart,
) -> Response {
    let member = match ctx.member_of(&slug, Role::Member) {
        Ok(m) => m,
        Err(response) => return response,
    };
    let structure_id = member.membership.structure.id;
    let enabled = match state.db.enabled_module(structure_id, &module).await {
        Ok(Some(m)) => m,
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "module lookup failed");
            return upload_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Le service est momentanément indisponible.",
            );
        }
    };
    if !enabled.granted.iter().any(|g| g == "blobs") {
        return upload_error(
            StatusCode::FORBIDDEN,
            "Ce module n’a pas l’autorisation de stocker des fichiers.",
        );
    }
    // The module says who may send it files (WIT 0.2.5 `files.may-upload`), before any
    // byte is read; membership alone for a component without that export.
    match module_allows(&state, &member, &enabled, FileQuestion::Upload).await {
        Ok(true) => {}
        Ok(false) => {
            return upload_error(
                StatusCode::FORBIDDEN,
                "Vous ne pouvez pas déposer de fichier dans ce module.",
            );
        }
        Err(response) => return response,
    }
    let mut field = loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.file_name().is_some() => break field,
            Ok(Some(_)) => continue,
            Ok(None) => {
                return upload_error(StatusCode::UNPROCESSABLE_ENTITY, "Choisissez un fichier.");
            }
            Err(_) => {
                return upload_error(StatusCode::BAD_REQUEST, "L’envoi du fichier a échoué.");
            }
        }
    };
    let name = field.file_name().unwrap_or("fichier").to_string();
    let declared = field
        .content_type()
        .unwrap_or("application/octet-stream")
        .to_string();
    // The stored type comes from the file's first bytes, never from the client's word
    // alone (`upload_content_type`): the first chunks are held until 512 bytes (or the
    // end) are read, then streamed on ahead of the rest.
    let mut head: Vec<Bytes> = Vec::new();
    let mut head_len = 0usize;
    while head_len < SNIFF_BYTES {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                head_len += chunk.len();
                head.push(chunk);
            }
            Ok(None) => break,
            Err(_) => {
                return upload_error(StatusCode::BAD_REQUEST, "L’envoi du fichier a échoué.");
            }
        }
    }
    let first: Vec<u8> = head
        .iter()
        .flat_map(|chunk| chunk.iter().copied())
        .take(SNIFF_BYTES)
        .collect();
    let content_type = upload_content_type(&first, &declared);
    let chunks =
        futures_util::stream::iter(head.into_iter().map(Ok::<Bytes, MultipartError>)).chain(field);
    let scope = PluginScope {
        structure_id,
        plugin_id: module,
    };
    let mut conn = match state.db.pool().acquire().await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "no database connection for an upload");
            return upload_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Le service est momentanément indisponible.",
            );
        }
    };
    match state
        .blobs
        .put_stream(&mut conn, &scope, &name, &content_type, chunks)
        .await
    {
        Ok(info) => json(
            StatusCode::CREATED,
            serde_json::json!({
                "id": info.id,
                "name": info.name,
                "size": info.size,
                "sha256": info.sha256,
                "content_type": info.content_type,
                "path": format!("/{slug}/fichiers/{}/{}", scope.plugin_id, info.id),
            }),
        ),
        Err(crate::storage::StorageError::TooLarge(_)) => upload_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "Le fichier dépasse la taille autorisée ({} Mio).",
                state.blobs.limit >> 20
            ),
        ),
        Err(crate::storage::StorageError::Invalid(reason)) => {
            tracing::info!(%reason, "upload refused");
            upload_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Ce fichier ne peut pas être enregistré (nom ou type invalide).",
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "upload failed");
            upload_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Le fichier n’a pas pu être enregistré. Veuillez réessayer.",
            )
        }
    }
}
