//! Routing into modules: the structure's home (navigation + dashboard widgets) and the
//! forwarding of `/{structure}/{module}/...` to the enabled plugin.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::response::{Html, IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};

use super::{AppState, csrf, internal_error, not_found};
use crate::plugins::{CallContext, Fault, LoadedPlugin, Manifest};
use crate::storage::new_key;
use crate::tenancy::Structure;
use crate::web::{self, Nav};

/// Headers a plugin uses to talk to the shell; never sent to the browser.
const LAYOUT_HEADER: &str = "x-maillage-layout";
const TITLE_HEADER: &str = "x-maillage-title";

/// The structure named in the URL and its enabled modules; 404 for an unknown structure.
async fn structure_and_modules(
    state: &AppState,
    slug: &str,
) -> Result<(Structure, Enabled), Response> {
    let structure = match state.db.structure_by_slug(slug).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(not_found()),
        Err(e) => return Err(internal_error("structure lookup failed", e)),
    };
    let enabled = enabled_plugins(state, &structure).await?;
    Ok((structure, enabled))
}

/// The structure's enabled modules, loaded, with their manifests (for navigation).
struct Enabled {
    plugins: Vec<Arc<LoadedPlugin>>,
    manifests: Vec<Manifest>,
}

async fn enabled_plugins(state: &AppState, structure: &Structure) -> Result<Enabled, Response> {
    let modules = state
        .db
        .enabled_modules(structure.id)
        .await
        .map_err(|e| internal_error("listing modules failed", e))?;
    let mut plugins = Vec::with_capacity(modules.len());
    for module in modules {
        match state.registry.get(&module.plugin_id, &module.version).await {
            Ok(plugin) => plugins.push(plugin),
            // One broken package must not take the structure's pages down with it.
            Err(e) => {
                tracing::error!(plugin = %module.plugin_id, version = %module.version, error = %e, "enabled module failed to load")
            }
        }
    }
    let manifests = plugins.iter().map(|p| p.manifest().clone()).collect();
    Ok(Enabled { plugins, manifests })
}

fn with_csrf_cookie(mut response: Response, token: &str, had_cookie: bool) -> Response {
    if !had_cookie && let Ok(value) = HeaderValue::from_str(&csrf::set_cookie_header(token)) {
        response
            .headers_mut()
            .append(http::header::SET_COOKIE, value);
    }
    response
}

pub async fn structure_home(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    request: Request,
) -> Response {
    let (structure, enabled) = match structure_and_modules(&state, &slug).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let existing = csrf::cookie_token(request.headers());
    let token = existing.clone().unwrap_or_else(csrf::new_token);
    let request_id = new_key();

    let mut body = format!("<h1>{}</h1>", web::escape(&structure.name));
    body.push_str("<h2>Modules</h2><ul class=\"cards\">");
    for m in &enabled.manifests {
        body.push_str(&format!(
            "<li><a href=\"/{}/{}/\">{}</a> <span class=\"muted\">version {}</span></li>",
            web::escape(&structure.slug),
            web::escape(&m.id),
            web::escape(&m.name),
            m.version
        ));
    }
    if enabled.manifests.is_empty() {
        body.push_str("<li class=\"empty\">Aucun module n’est activé pour cette structure.</li>");
    }
    body.push_str("</ul><h2>Tableau de bord</h2><div class=\"cards\">");
    for plugin in &enabled.plugins {
        for widget in &plugin.manifest().widgets {
            let ctx =
                CallContext::anonymous(&structure, &plugin.manifest().id, &request_id, &token);
            let uri = format!("{}{}", ctx.base_path, widget.path);
            let fragment = match http::Request::get(uri).body(Bytes::new()) {
                Ok(req) => match state
                    .registry
                    .runtime()
                    .handle_http(plugin, ctx, plugin.manifest().capabilities.clone(), req)
                    .await
                {
                    Ok(resp) if resp.status().is_success() => {
                        String::from_utf8_lossy(resp.body()).into_owned()
                    }
                    Ok(resp) => {
                        tracing::warn!(plugin = %plugin.manifest().id, status = %resp.status(), "widget answered with an error");
                        "<p class=\"muted\">Indisponible pour le moment.</p>".into()
                    }
                    Err(fault) => {
                        log_fault(plugin.manifest(), &request_id, &fault);
                        "<p class=\"muted\">Indisponible pour le moment.</p>".into()
                    }
                },
                Err(_) => continue,
            };
            body.push_str(&format!(
                "<section class=\"widget\"><h3>{}</h3>{fragment}</section>",
                web::escape(&widget.title)
            ));
        }
    }
    body.push_str("</div>");
    let nav = Nav {
        structure: &structure,
        modules: &enabled.manifests,
        current: None,
    };
    with_csrf_cookie(
        Html(web::page(&structure.name, Some(&nav), &body)).into_response(),
        &token,
        existing.is_some(),
    )
}

fn log_fault(manifest: &Manifest, request_id: &str, fault: &Fault) {
    tracing::error!(plugin = %manifest.id, version = %manifest.version, request_id, cause = %fault, "plugin fault");
}

pub async fn forward(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    let mut segments = path.trim_start_matches('/').splitn(3, '/');
    let (Some(slug), Some(module_id)) = (segments.next(), segments.next()) else {
        return not_found();
    };
    let (structure, enabled) = match structure_and_modules(&state, slug).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    // A module the structure did not enable does not exist for it (404, not 403).
    let Some(plugin) = enabled
        .plugins
        .iter()
        .find(|p| p.manifest().id == module_id)
        .cloned()
    else {
        return not_found();
    };
    let nav = Nav {
        structure: &structure,
        modules: &enabled.manifests,
        current: Some(&plugin.manifest().id),
    };

    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, state.body_limit).await {
        Ok(b) => b,
        Err(_) => {
            return (StatusCode::PAYLOAD_TOO_LARGE, Html(web::page("Envoi trop volumineux", Some(&nav), "<div class=\"alert\" role=\"alert\">Le contenu envoyé est trop volumineux.</div>")))
                .into_response();
        }
    };
    let existing = csrf::cookie_token(&parts.headers);
    let token = existing.clone().unwrap_or_else(csrf::new_token);
    if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let valid = match (&existing, csrf::submitted_token(&parts.headers, &body)) {
            (Some(expected), Some(submitted)) => csrf::tokens_match(expected, &submitted),
            _ => false,
        };
        if !valid {
            tracing::warn!(path = %path, "state-changing request without a valid CSRF token");
            let page = web::page(
                "Session expirée",
                Some(&nav),
                "<div class=\"alert\" role=\"alert\"><h1>Formulaire expiré</h1><p>Pour votre sécurité, ce formulaire n’a pas été pris en compte. Veuillez recharger la page et réessayer.</p></div>",
            );
            return with_csrf_cookie(
                (StatusCode::FORBIDDEN, Html(page)).into_response(),
                &token,
                existing.is_some(),
            );
        }
    }

    let request_id = new_key();
    let ctx = CallContext::anonymous(&structure, &plugin.manifest().id, &request_id, &token);
    let granted = plugin.manifest().capabilities.clone();
    let plugin_request = http::Request::from_parts(parts, body);
    let response = match state
        .registry
        .runtime()
        .handle_http(&plugin, ctx, granted, plugin_request)
        .await
    {
        Ok(r) => r,
        Err(fault) => {
            log_fault(plugin.manifest(), &request_id, &fault);
            let page = web::plugin_error_page(Some(&nav), &plugin.manifest().name, &request_id);
            return with_csrf_cookie(
                (StatusCode::INTERNAL_SERVER_ERROR, Html(page)).into_response(),
                &token,
                existing.is_some(),
            );
        }
    };
    with_csrf_cookie(shell_response(response, &nav), &token, existing.is_some())
}

/// Wraps a plugin's HTML fragment in the layout unless it asked not to.
fn shell_response(response: http::Response<Bytes>, nav: &Nav<'_>) -> Response {
    let (mut parts, body) = response.into_parts();
    let is_html = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let bare = parts
        .headers
        .get(LAYOUT_HEADER)
        .is_some_and(|v| v == "none");
    let title = parts
        .headers
        .get(TITLE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_else(|| "Maillage".into());
    parts.headers.remove(LAYOUT_HEADER);
    parts.headers.remove(TITLE_HEADER);
    if is_html && !bare {
        let page = web::page(&title, Some(nav), &String::from_utf8_lossy(&body));
        parts.headers.remove(http::header::CONTENT_LENGTH);
        return Response::from_parts(parts, axum::body::Body::from(page));
    }
    Response::from_parts(parts, axum::body::Body::from(body))
}
