//! Blob downloads: `/{structure}/fichiers/{module}/{id}` streams a file a module stored,
//! to members of that structure only, while the module is enabled there.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use super::access::Ctx;
use super::{AppState, not_found};
use crate::storage::PluginScope;
use crate::tenancy::Role;

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
    match state.db.enabled_module(structure_id, &module).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "module lookup failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
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
    let essence = info.content_type.split(';').next().unwrap_or("").trim();
    let disposition = if INLINE_TYPES.contains(&essence) {
        "inline"
    } else {
        "attachment"
    };
    // RFC 6266 / 5987: an ASCII fallback plus the UTF-8 name.
    let ascii: String = info
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded =
        percent_encoding::utf8_percent_encode(&info.name, percent_encoding::NON_ALPHANUMERIC);
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&info.content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(info.size));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{disposition}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    response
}
