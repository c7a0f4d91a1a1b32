//! The HTTP edge: axum router, tower layers (tracing, body limit, CSRF), sessions, the
//! host's pages (login, account, groups, administration, platform, the national
//! library's confirmation and moderation) and the routing of
//! `/{structure}/{module}/...` to the module's plugin when the structure enabled it.

mod access;
mod admin;
mod auth;
pub mod csrf;
mod feeds;
mod files;
mod form;
mod groups;
pub mod imports;
mod library;
mod members;
mod module_assets;
mod modules;
mod platform;
pub mod security;

use std::sync::Arc;

use axum::Router;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};
use http::StatusCode;
use maud::html;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

pub use access::{Ctx, MemberCtx, Viewer, session_cookie_name};

use crate::mail::Mailer;
use crate::plugins::registry::Registry;
use crate::storage::Db;
use crate::web;

pub struct AppInner {
    pub db: Db,
    pub blobs: crate::storage::blobs::BlobStore,
    pub registry: Registry,
    pub mailer: Mailer,
    pub body_limit: usize,
    /// Largest import upload, in bytes; uploads are spooled to `import_dir`.
    pub import_limit: u64,
    pub import_dir: std::path::PathBuf,
    /// Imports running or finished since the host started, by job id.
    pub import_jobs: imports::Jobs,
    /// Base of links in mails, e.g. "https://maillage.cpts-exemple.fr".
    pub public_url: String,
    /// Cookies get `Secure` and the `__Host-` prefix (HTTPS deployments).
    pub cookie_secure: bool,
    /// Reverse proxies whose forwarding headers say who the client is and its scheme.
    pub trusted_proxies: crate::config::TrustedProxies,
    /// Modules' static assets, fetched once per (module, version, file).
    pub module_assets: module_assets::AssetCache,
    /// Content-Security-Policy violations reported by browsers since the start.
    pub csp_reports: std::sync::atomic::AtomicU64,
    /// Request, latency and module-call counters served at `/metrics`.
    pub metrics: crate::metrics::Metrics,
    /// Bearer token of `/metrics` (`MAILLAGE_METRICS_TOKEN`); unset: `/metrics` is 404.
    pub metrics_token: Option<String>,
}

/// Shared state of the HTTP edge; cheap to clone.
#[derive(Clone)]
pub struct AppState(pub Arc<AppInner>);

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

/// The whole application as a router, for `serve` and for in-process tests.
pub fn app(state: AppState) -> Router {
    // Forms and plugin requests are buffered up to `body_limit` (csrf, modules); file
    // uploads stream to the blob store, which stops them at its own limit.
    let body_limit = state.body_limit.max(
        usize::try_from(state.blobs.limit)
            .unwrap_or(usize::MAX)
            .saturating_add(1 << 20),
    );
    // Import uploads spool to disk under their own, larger limit.
    let imports = Router::new()
        .route("/{structure}/imports/{module}", post(imports::upload))
        .layer(RequestBodyLimitLayer::new(
            usize::try_from(state.import_limit)
                .unwrap_or(usize::MAX)
                .saturating_add(1 << 20),
        ));
    Router::new()
        .route("/", get(home))
        .route("/healthz", get(|| async { "ok" }))
        .route("/connexion", get(auth::login_page).post(auth::login))
        .route("/deconnexion", post(auth::logout))
        .route(
            "/mot-de-passe-oublie",
            get(auth::forgot_page).post(auth::forgot),
        )
        .route(
            "/mot-de-passe/{token}",
            get(auth::set_password_page).post(auth::set_password),
        )
        .route("/compte", get(auth::account_page))
        .route("/compte/mot-de-passe", post(auth::change_password))
        .route("/compte/identifiant", post(auth::change_username))
        .route("/compte/fuseau", post(auth::change_time_zone))
        .route("/compte/sessions/fermer", post(auth::end_all_sessions))
        .route(
            "/compte/invitations/{token}",
            get(auth::membership_offer_page).post(auth::accept_membership_offer),
        )
        .route("/compte/flux/{id}/revoquer", post(feeds::revoke))
        .route("/plateforme/", get(platform::overview))
        // Packages bundle their time-zone data and libraries: more than the 2 MiB that
        // axum's multipart reader takes by default; the body limit below still applies.
        .route(
            "/plateforme/paquets",
            post(platform::upload_package).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/plateforme/structures", post(platform::create_structure))
        .route("/plateforme/bibliotheque", get(platform::library_list))
        .route(
            "/plateforme/bibliotheque/{entry}",
            get(platform::library_entry),
        )
        .route(
            "/plateforme/bibliotheque/{entry}/masquer",
            post(platform::library_hide),
        )
        .route(
            "/plateforme/bibliotheque/{entry}/retablir",
            post(platform::library_unhide),
        )
        .route(
            "/plateforme/bibliotheque/{entry}/{number}/fichier",
            get(platform::library_file),
        )
        .route("/{structure}", get(modules::structure_home))
        .route("/{structure}/", get(modules::structure_home))
        .route(
            "/{structure}/groupes/",
            get(groups::list).post(groups::create),
        )
        .route("/{structure}/groupes/{group}", get(groups::show))
        .route("/{structure}/groupes/{group}/{action}", post(groups::act))
        .route(
            "/{structure}/groupes/{group}/demandes/{request}/{decision}",
            post(groups::decide),
        )
        .route("/{structure}/admin/", get(admin::members))
        .route("/{structure}/admin/invitations", post(admin::invite))
        .route(
            "/{structure}/admin/membres/{account}",
            get(members::page).post(admin::update_member),
        )
        .route(
            "/{structure}/admin/membres/{account}/fiche",
            post(members::save_facts),
        )
        .route(
            "/{structure}/admin/membres/{account}/adhesions",
            post(members::add_adhesion),
        )
        .route(
            "/{structure}/admin/membres/{account}/adhesions/{adhesion}/supprimer",
            post(members::remove_adhesion),
        )
        .route(
            "/{structure}/admin/membres/{account}/roles",
            post(members::save_roles),
        )
        .route(
            "/{structure}/admin/membres/{account}/{action}",
            post(admin::member_action),
        )
        .route("/{structure}/admin/modules", get(admin::modules))
        .route(
            "/{structure}/admin/modules/{plugin}",
            post(admin::update_module),
        )
        .route(
            "/{structure}/admin/structure",
            get(admin::structure_page).post(admin::update_structure),
        )
        .route("/{structure}/admin/journal", get(admin::audit_log))
        .route("/{structure}/admin/courriels", get(admin::outbox))
        .route(
            "/{structure}/admin/courriels/{mail}/relancer",
            post(admin::retry_mail),
        )
        .route("/{structure}/admin/evenements", get(admin::events))
        .route(
            "/{structure}/admin/evenements/{event}/{plugin}/relancer",
            post(admin::retry_event),
        )
        .route(
            "/{structure}/imports/{module}/{job}",
            get(imports::progress),
        )
        // Streamed to the blob store, which stops it at its own limit: not the 2 MiB that
        // axum's multipart reader takes by default (the body limit below still applies).
        .route(
            "/{structure}/fichiers/{module}",
            post(files::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/{structure}/fichiers/{module}/{id}", get(files::download))
        .route(
            "/{structure}/fichiers/{module}/bibliotheque/{entry}/{number}",
            get(files::library_download),
        )
        .route(
            "/{structure}/bibliotheque/confirmer/{token}",
            get(library::confirmation_page).post(library::confirm),
        )
        .route(
            "/{structure}/bibliotheque/confirmer/{token}/fichier",
            get(library::proposed_file),
        )
        .route(
            "/{structure}/bibliotheque/confirmer/{token}/annuler",
            post(library::cancel),
        )
        .route("/{structure}/{module}", any(modules::forward))
        .route("/{structure}/{module}/", any(modules::forward))
        .route("/{structure}/{module}/{*rest}", any(modules::forward))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .merge(imports)
        .fallback(|| async { not_found() })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            csrf::guard,
        ))
        // Who the client is (through trusted proxies only), before the guard needs it.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::client_context,
        ))
        // Browsers post violation reports without a token: outside the CSRF guard,
        // with a small body limit.
        .merge(
            Router::new()
                .route(security::CSP_REPORT_PATH, post(security::report))
                .layer(RequestBodyLimitLayer::new(16 << 10)),
        )
        .merge(static_routes())
        // Probes and the scraper: no session, no CSRF cookie.
        .merge(
            Router::new()
                .route("/readyz", get(crate::metrics::ready))
                .route("/metrics", get(crate::metrics::serve)),
        )
        .layer(axum::middleware::from_fn(security::headers))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

pub(crate) fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(web::not_found_page().into_string()),
    )
        .into_response()
}

pub(crate) fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        Html(web::forbidden_page().into_string()),
    )
        .into_response()
}

pub(crate) fn internal_error(context: &str, error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "{context}");
    let body = html! {
        div.alert role="alert" {
            h1 { "Erreur interne" }
            p { "Une erreur inattendue s’est produite. Veuillez réessayer." }
        }
    };
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Html(web::page("Erreur", &web::Shell::default(), body).into_string()),
    )
        .into_response()
}

/// After a successful POST: back to a page (303, so a reload does not resubmit).
pub(crate) fn see_other(location: &str) -> Response {
    Redirect::to(location).into_response()
}

/// The shell's static files (from the binary, content-hashed names), the PWA files and
/// modules' assets: public, cacheable, gzip-compressed, outside the session.
fn static_routes() -> Router<AppState> {
    Router::new()
        .route("/static/{*file}", get(static_file))
        .route("/sw.js", get(service_worker))
        // A calendar client's personal feed: no session, the secret is the key.
        .route("/flux/{secret}", get(feeds::serve))
        .route("/manifest.webmanifest", get(web_manifest))
        .route(web::assets::OFFLINE_PATH, get(offline_page))
        .route(
            "/assets/{module}/{version}/{file}",
            get(module_assets::serve),
        )
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
}

async fn static_file(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let Some((found, immutable)) = web::assets::lookup(&file) else {
        return not_found();
    };
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    (
        [
            (http::header::CONTENT_TYPE, found.content_type),
            (http::header::CACHE_CONTROL, cache),
        ],
        found.body,
    )
        .into_response()
}

async fn service_worker() -> Response {
    (
        [
            (http::header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            // Browsers check for a new worker on every visit.
            (http::header::CACHE_CONTROL, "no-cache"),
        ],
        web::assets::service_worker(),
    )
        .into_response()
}

async fn web_manifest() -> Response {
    (
        [
            (http::header::CONTENT_TYPE, "application/manifest+json"),
            (http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        web::assets::web_manifest(),
    )
        .into_response()
}

async fn offline_page() -> Response {
    Html(web::assets::offline_page().into_string()).into_response()
}

#[derive(serde::Deserialize)]
struct HomeQuery {
    structure: Option<String>,
}

/// The structure switcher: the person's structures; one structure goes straight in.
async fn home(ctx: Ctx, axum::extract::Query(query): axum::extract::Query<HomeQuery>) -> Response {
    let Some(viewer) = &ctx.viewer else {
        return see_other("/connexion");
    };
    if let Some(slug) = query.structure
        && viewer.memberships.iter().any(|m| m.structure.slug == slug)
    {
        return see_other(&format!("/{slug}/"));
    }
    if viewer.memberships.len() == 1 && !viewer.account.platform_operator {
        return see_other(&format!("/{}/", viewer.memberships[0].structure.slug));
    }
    let body = html! {
        h1 { "Bienvenue sur Maillage" }
        p { "Choisissez votre structure :" }
        ul.cards {
            @for m in &viewer.memberships {
                li {
                    a href={ "/" (m.structure.slug) "/" } { (m.structure.name) }
                    " "
                    span.muted { (m.structure.kind.label()) " · " (m.role.label()) }
                }
            }
            @if viewer.memberships.is_empty() {
                li.empty { "Vous ne faites encore partie d’aucune structure." }
            }
        }
        @if viewer.account.platform_operator {
            p { a href="/plateforme/" { "Administration de la plateforme" } }
        }
    };
    Html(web::page("Accueil", &ctx.shell(None), body).into_string()).into_response()
}
