//! Routing into modules: the structure's home (navigation + dashboard widgets) and the
//! forwarding of `/{structure}/{module}/...` to the enabled plugin, for members only.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::response::{Html, IntoResponse, Response};
use bytes::Bytes;
use http::StatusCode;
use maud::{Markup, html};

use super::access::MemberCtx;
use super::{AppState, Ctx, internal_error, not_found};
use crate::plugins::{CallContext, Capability, Fault, LoadedPlugin, Manifest};
use crate::storage::new_key;
use crate::tenancy::{Role, Structure};
use crate::web;

/// Headers a plugin uses to talk to the shell; never sent to the browser.
const LAYOUT_HEADER: &str = "x-maillage-layout";
const TITLE_HEADER: &str = "x-maillage-title";

/// One enabled module, loaded, with what the structure granted it.
pub struct EnabledPlugin {
    pub plugin: Arc<LoadedPlugin>,
    pub granted: Vec<Capability>,
}

/// The structure's enabled modules, loaded, with their manifests (for navigation).
pub struct Enabled {
    pub plugins: Vec<EnabledPlugin>,
    pub manifests: Vec<Manifest>,
}

pub async fn enabled_plugins(state: &AppState, structure: &Structure) -> Result<Enabled, Response> {
    let modules = state
        .db
        .enabled_modules(structure.id)
        .await
        .map_err(|e| internal_error("listing modules failed", e))?;
    let mut plugins = Vec::with_capacity(modules.len());
    for module in modules {
        match state.registry.get(&module.plugin_id, &module.version).await {
            Ok(plugin) => {
                let granted = plugin.effective_capabilities(&module.granted);
                plugins.push(EnabledPlugin { plugin, granted });
            }
            // One broken package must not take the structure's pages down with it.
            Err(e) => {
                tracing::error!(plugin = %module.plugin_id, version = %module.version, error = %e, "enabled module failed to load")
            }
        }
    }
    let manifests = plugins
        .iter()
        .map(|p| p.plugin.manifest().clone())
        .collect();
    Ok(Enabled { plugins, manifests })
}

/// The context of a call made for this member (forwarded requests, widgets, the file
/// route's `files.may-read` question).
pub(super) fn call_context(member: &MemberCtx, module_id: &str, request_id: &str) -> CallContext {
    CallContext::anonymous(
        &member.membership.structure,
        module_id,
        request_id,
        &member.csrf,
    )
    .with_user(member.account(), member.membership.role_names())
}

pub async fn structure_home(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ctx: Ctx,
) -> Response {
    let member = match ctx.member_of(&slug, Role::Member) {
        Ok(m) => m,
        Err(response) => return response,
    };
    let structure = &member.membership.structure;
    let enabled = match enabled_plugins(&state, structure).await {
        Ok(e) => e,
        Err(response) => return response,
    };
    let request_id = new_key();
    let mut widgets: Vec<(&str, Markup)> = Vec::new();
    for enabled_plugin in &enabled.plugins {
        let plugin = &enabled_plugin.plugin;
        for widget in &plugin.manifest().widgets {
            if widget.id == ACCOUNT_WIDGET {
                continue;
            }
            let ctx = call_context(&member, &plugin.manifest().id, &request_id);
            let fragment = render_widget(&state, enabled_plugin, ctx, &widget.path).await;
            widgets.push((widget.title.as_str(), fragment));
        }
    }
    let body = html! {
        h1 { (structure.name) }
        p.muted {
            "Bonjour " (member.account().display_name) ", vous êtes "
            (member.membership.role.label().to_lowercase()) " de cette structure."
        }
        h2 { "Modules" }
        ul.cards {
            @for m in &enabled.manifests {
                li {
                    a href={ "/" (structure.slug) "/" (m.id) "/" } { (m.name) }
                    " "
                    span.muted { "version " (m.version) }
                }
            }
            @if enabled.manifests.is_empty() {
                li.empty { "Aucun module n’est activé pour cette structure." }
            }
        }
        h2 { "Tableau de bord" }
        div.cards {
            @for (title, fragment) in &widgets {
                section.widget {
                    h3 { (title) }
                    (fragment)
                }
            }
        }
    };
    Html(
        web::page(
            &structure.name,
            &member.shell(&enabled.manifests, None),
            body,
        )
        .into_string(),
    )
    .into_response()
}

/// Widgets with this id are shown on "Mon compte" (per structure), not on the dashboard.
pub const ACCOUNT_WIDGET: &str = "account";

/// A widget's HTML fragment, or a short French notice when the module fails.
async fn render_widget(
    state: &AppState,
    enabled: &EnabledPlugin,
    ctx: CallContext,
    path: &str,
) -> Markup {
    let plugin = &enabled.plugin;
    let request_id = ctx.request_id.clone();
    let uri = format!("{}{path}", ctx.base_path);
    let Ok(req) = http::Request::get(uri).body(Bytes::new()) else {
        return Markup::default();
    };
    let unavailable = || html! { p.muted { "Indisponible pour le moment." } };
    match state
        .registry
        .runtime()
        .handle_http(plugin, ctx, enabled.granted.clone(), req)
        .await
    {
        Ok(resp) if resp.status().is_success() => {
            web::module_html(&String::from_utf8_lossy(resp.body()))
        }
        Ok(resp) => {
            tracing::warn!(plugin = %plugin.manifest().id, status = %resp.status(), "widget answered with an error");
            unavailable()
        }
        Err(fault) => {
            log_fault(plugin.manifest(), &request_id, &fault);
            unavailable()
        }
    }
}

/// The "account" widgets of every structure the viewer belongs to, for "Mon compte".
pub async fn account_widgets(state: &AppState, viewer: &super::Viewer, csrf: &str) -> Markup {
    let mut sections: Vec<Markup> = Vec::new();
    for membership in &viewer.memberships {
        let Ok(enabled) = enabled_plugins(state, &membership.structure).await else {
            continue;
        };
        for enabled_plugin in &enabled.plugins {
            let manifest = enabled_plugin.plugin.manifest();
            for widget in manifest.widgets.iter().filter(|w| w.id == ACCOUNT_WIDGET) {
                let ctx =
                    CallContext::anonymous(&membership.structure, &manifest.id, &new_key(), csrf)
                        .with_user(&viewer.account, membership.role_names());
                let fragment = render_widget(state, enabled_plugin, ctx, &widget.path).await;
                sections.push(html! {
                    section.widget {
                        h2 { (widget.title) " — " (membership.structure.name) }
                        (fragment)
                    }
                });
            }
        }
    }
    html! {
        @for section in &sections {
            (section)
        }
    }
}

fn log_fault(manifest: &Manifest, request_id: &str, fault: &Fault) {
    tracing::error!(plugin = %manifest.id, version = %manifest.version, request_id, cause = %fault, "plugin fault");
}

pub async fn forward(State(state): State<AppState>, ctx: Ctx, request: Request) -> Response {
    let path = request.uri().path().to_string();
    let mut segments = path.trim_start_matches('/').splitn(3, '/');
    let (Some(slug), Some(module_id)) = (segments.next(), segments.next()) else {
        return not_found();
    };
    let member = match ctx.member_of(slug, Role::Member) {
        Ok(m) => m,
        Err(response) => return response,
    };
    let enabled = match enabled_plugins(&state, &member.membership.structure).await {
        Ok(e) => e,
        Err(response) => return response,
    };
    // A module the structure did not enable does not exist for it (404, not 403).
    let Some(target) = enabled
        .plugins
        .iter()
        .find(|p| p.plugin.manifest().id == module_id)
    else {
        return not_found();
    };
    let plugin = &target.plugin;
    let shell = member.shell(&enabled.manifests, Some(&plugin.manifest().id));

    let (parts, body) = request.into_parts();
    // The CSRF guard already buffered state-changing bodies within the limit.
    let body = match axum::body::to_bytes(body, state.body_limit).await {
        Ok(b) => b,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                Html(
                    web::page(
                        "Envoi trop volumineux",
                        &shell,
                        web::alert("Le contenu envoyé est trop volumineux."),
                    )
                    .into_string(),
                ),
            )
                .into_response();
        }
    };
    let request_id = new_key();
    let call = call_context(&member, &plugin.manifest().id, &request_id);
    let mut parts = parts;
    parts.headers = module_request_headers(&parts.headers);
    let plugin_request = http::Request::from_parts(parts, body);
    let outcome = state
        .registry
        .runtime()
        .handle_http(plugin, call, target.granted.clone(), plugin_request)
        .await;
    state.metrics.module_call(&plugin.manifest().id, &outcome);
    let response = match outcome {
        Ok(r) => r,
        Err(fault) => {
            log_fault(plugin.manifest(), &request_id, &fault);
            let page = web::plugin_error_page(&shell, &plugin.manifest().name, &request_id);
            return (StatusCode::INTERNAL_SERVER_ERROR, Html(page.into_string())).into_response();
        }
    };
    shell_response(response, &shell)
}

/// Request headers a module may see: what describes the request's content and the
/// wanted answer. Never `Cookie`, `Authorization`, `Proxy-*`, `X-Forwarded-*` or any
/// other: a module learns who the member is from the WIT context, not from credentials.
/// A browser's own `x-maillage-*` headers are dropped too; the runtime sets the host's.
const MODULE_REQUEST_HEADERS: &[http::HeaderName] = &[
    http::header::CONTENT_TYPE,
    http::header::ACCEPT,
    http::header::ACCEPT_LANGUAGE,
    http::header::RANGE,
    http::header::IF_NONE_MATCH,
    http::header::IF_MODIFIED_SINCE,
    http::header::CONTENT_LENGTH,
];

/// htmx's request headers: which element asked, for partial answers.
const HTMX_HEADERS: &[&str] = &["hx-request", "hx-target", "hx-trigger", "hx-current-url"];

pub fn module_request_headers(headers: &http::HeaderMap) -> http::HeaderMap {
    let mut kept = http::HeaderMap::new();
    for (name, value) in headers {
        if MODULE_REQUEST_HEADERS.contains(name) || HTMX_HEADERS.contains(&name.as_str()) {
            kept.append(name.clone(), value.clone());
        }
    }
    kept
}

/// Wraps a plugin's HTML fragment in the layout unless it asked not to.
fn shell_response(response: http::Response<Bytes>, shell: &web::Shell<'_>) -> Response {
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
    // Plugins never set cookies: the host owns the session and CSRF cookies.
    parts.headers.remove(http::header::SET_COOKIE);
    if is_html && !bare {
        let page = web::page(
            &title,
            shell,
            web::module_html(&String::from_utf8_lossy(&body)),
        );
        parts.headers.remove(http::header::CONTENT_LENGTH);
        return Response::from_parts(parts, axum::body::Body::from(page.into_string()));
    }
    Response::from_parts(parts, axum::body::Body::from(body))
}
