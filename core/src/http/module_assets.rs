//! Modules' static assets (their JS and CSS): `GET /assets/{module}/{version}/{file}`.
//! A module ships them inside its component and answers them on its own
//! `/_assets/{file}` path (the SDK does, for the files its `Plugin::assets()` declares,
//! under content-hashed names). The host asks once per (module, version, file), with no
//! structure, user or capability, keeps the answer in memory and serves it with
//! year-long immutable caching. Only script, style, image and font types are served:
//! a module cannot publish a page outside its structure's routes this way.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};

use super::{AppState, not_found};
use crate::plugins::CallContext;

/// Largest asset kept, and most assets kept in all (a module cannot fill the memory).
const MAX_ASSET_BYTES: usize = 2 << 20;
const MAX_CACHED: usize = 512;

/// Content types a module may serve as an asset.
const ALLOWED_TYPES: &[&str] = &[
    "text/css",
    "text/javascript",
    "application/javascript",
    "image/svg+xml",
    "image/png",
    "image/webp",
    "font/woff2",
];

/// A served asset: its content type and bytes.
type Asset = (HeaderValue, Bytes);

/// Assets already fetched, by (module, version, file).
#[derive(Default)]
pub struct AssetCache(Mutex<HashMap<(String, String, String), Option<Asset>>>);

fn valid_segment(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

pub async fn serve(
    State(state): State<AppState>,
    Path((module, version, file)): Path<(String, String, String)>,
) -> Response {
    if ![&module, &version, &file].iter().all(|s| valid_segment(s)) {
        return not_found();
    }
    let key = (module.clone(), version.clone(), file.clone());
    let cached = state
        .module_assets
        .0
        .lock()
        .ok()
        .and_then(|c| c.get(&key).cloned());
    let asset = match cached {
        Some(asset) => asset,
        None => {
            let asset = fetch(&state, &module, &version, &file).await;
            // Found assets only: a version installed later, or a passing fault, is asked
            // again next time.
            if asset.is_some()
                && let Ok(mut cache) = state.module_assets.0.lock()
                && cache.len() < MAX_CACHED
            {
                cache.insert(key, asset.clone());
            }
            asset
        }
    };
    match asset {
        Some((content_type, body)) => (
            [
                (header::CONTENT_TYPE, content_type),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            body,
        )
            .into_response(),
        None => not_found(),
    }
}

/// Asks the installed module for the file; `None` when it has no such asset.
async fn fetch(state: &AppState, module: &str, version: &str, file: &str) -> Option<Asset> {
    let plugin = state.registry.get(module, version).await.ok()?;
    let request_id = crate::storage::new_key();
    let ctx = CallContext::assets(module, version, &request_id);
    let uri = format!("{}/_assets/{file}", ctx.base_path);
    let request = http::Request::get(uri).body(Bytes::new()).ok()?;
    let response = match state
        .registry
        .runtime()
        .handle_http(&plugin, ctx, Vec::new(), request)
        .await
    {
        Ok(r) => r,
        Err(fault) => {
            tracing::warn!(module, version, file, cause = %fault, "module asset call failed");
            return None;
        }
    };
    if response.status() != StatusCode::OK || response.body().len() > MAX_ASSET_BYTES {
        return None;
    }
    let content_type = response.headers().get(header::CONTENT_TYPE)?.clone();
    let essence = content_type
        .to_str()
        .ok()?
        .split(';')
        .next()?
        .trim()
        .to_ascii_lowercase();
    if !ALLOWED_TYPES.contains(&essence.as_str()) {
        tracing::warn!(module, version, file, content_type = %essence, "module asset of a refused type");
        return None;
    }
    Some((content_type, response.into_body()))
}
