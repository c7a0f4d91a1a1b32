//! The HTTP edge: axum router, tower layers (tracing, body limit), CSRF, and routing
//! of `/{structure}/{module}/...` to the module's plugin when the structure enabled it.

mod csrf;
mod modules;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get};
use http::StatusCode;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::plugins::registry::Registry;
use crate::storage::Db;
use crate::web;

pub struct AppInner {
    pub db: Db,
    pub registry: Registry,
    pub body_limit: usize,
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
    let body_limit = state.body_limit;
    Router::new()
        .route("/", get(home))
        .route("/healthz", get(|| async { "ok" }))
        .route("/static/maillage.css", get(stylesheet))
        .route("/{structure}", get(modules::structure_home))
        .route("/{structure}/", get(modules::structure_home))
        .route("/{structure}/{module}", any(modules::forward))
        .route("/{structure}/{module}/", any(modules::forward))
        .route("/{structure}/{module}/{*rest}", any(modules::forward))
        .fallback(|| async { not_found() })
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

pub(crate) fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Html(web::not_found_page())).into_response()
}

pub(crate) fn internal_error(context: &str, error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "{context}");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Html(web::page("Erreur", None, "<div class=\"alert\" role=\"alert\"><h1>Erreur interne</h1><p>Une erreur inattendue s’est produite. Veuillez réessayer.</p></div>")),
    )
        .into_response()
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        web::STYLESHEET,
    )
}

async fn home(State(state): State<AppState>) -> Response {
    let structures = match state.db.structures().await {
        Ok(s) => s,
        Err(e) => return internal_error("listing structures failed", e),
    };
    let mut body = String::from(
        "<h1>Bienvenue sur Maillage</h1><p>Choisissez votre structure :</p><ul class=\"cards\">",
    );
    for s in &structures {
        body.push_str(&format!(
            "<li><a href=\"/{}/\">{}</a> <span class=\"muted\">{}</span></li>",
            web::escape(&s.slug),
            web::escape(&s.name),
            s.kind.label()
        ));
    }
    if structures.is_empty() {
        body.push_str("<li class=\"empty\">Aucune structure pour le moment. Lancez <code>maillage demo</code> pour créer la structure de démonstration.</li>");
    }
    body.push_str("</ul>");
    Html(web::page("Accueil", None, &body)).into_response()
}
