//! `GET /flux/{secret}`: a member's personal feed, read by a calendar client without a
//! session. The host resolves the secret (`crate::feeds`) to the member, checks they
//! still belong to the structure and that the module is still enabled, and calls the
//! module's `/flux` path as them. Only calendar and JSON answers pass; never HTML.
//! « Mon compte » lists the member's feed URLs and revokes them.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use maud::{Markup, html};

use super::{AppState, Ctx, internal_error, see_other};
use crate::plugins::CallContext;
use crate::web;

/// Content types a feed may answer with.
const FEED_TYPES: &[&str] = &["text/calendar", "application/json"];

fn gone() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Ce lien d’abonnement n’existe pas ou a été révoqué.",
    )
        .into_response()
}

pub async fn serve(State(state): State<AppState>, Path(secret): Path<String>) -> Response {
    let secret = secret.trim_end_matches(".ics");
    let owner = match crate::feeds::resolve(&state.db, secret).await {
        Ok(Some(owner)) => owner,
        Ok(None) => return gone(),
        Err(e) => return internal_error("feed lookup failed", e),
    };
    let (structure, account, member, module) = match tokio::try_join!(
        state.db.structure(owner.structure_id),
        state.db.account(owner.account_id),
        state.db.member(owner.structure_id, owner.account_id),
        state
            .db
            .enabled_module(owner.structure_id, &owner.plugin_id),
    ) {
        Ok(found) => found,
        Err(e) => return internal_error("feed owner lookup failed", e),
    };
    // Who left the structure, or a module since disabled, has no feed any more.
    let (Some(structure), Some(account), Some(_), Some(module)) =
        (structure, account, member, module)
    else {
        return gone();
    };
    let Ok(membership) = state.db.membership(account.id, &structure.slug).await else {
        return gone();
    };
    let Some(membership) = membership else {
        return gone();
    };
    let plugin = match state.registry.get(&owner.plugin_id, &module.version).await {
        Ok(p) => p,
        Err(e) => return internal_error("feed module failed to load", e),
    };
    let granted = plugin.effective_capabilities(&module.granted);
    let ctx = CallContext::anonymous(&structure, &owner.plugin_id, &crate::storage::new_key(), "")
        .with_user(&account, membership.role_names());
    let uri = format!("{}/flux", ctx.base_path);
    let Ok(request) = http::Request::get(uri).body(Bytes::new()) else {
        return gone();
    };
    let response = match state
        .registry
        .runtime()
        .handle_http(&plugin, ctx, granted, request)
        .await
    {
        Ok(r) => r,
        Err(fault) => {
            tracing::error!(plugin = %owner.plugin_id, cause = %fault, "feed call failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "Flux indisponible").into_response();
        }
    };
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let essence = content_type
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if response.status() != StatusCode::OK || !FEED_TYPES.contains(&essence.as_str()) {
        return gone();
    }
    (
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=300"),
            ),
        ],
        response.into_body(),
    )
        .into_response()
}

/// « Mon compte »: the member's feed URLs, each with a button that revokes it.
pub async fn account_section(state: &AppState, ctx: &Ctx) -> Markup {
    let Some(viewer) = &ctx.viewer else {
        return Markup::default();
    };
    let feeds = crate::feeds::feeds_of(&state.db, viewer.account.id)
        .await
        .unwrap_or_default();
    if feeds.is_empty() {
        return Markup::default();
    }
    html! {
        h2 { "Abonnements d’agenda" }
        p {
            "Ces liens secrets permettent à votre logiciel d’agenda de lire vos réunions sans vous connecter. Révoquez un lien si vous l’avez partagé par erreur : le module vous en donnera un nouveau."
        }
        ul.feeds {
            @for f in &feeds {
                li {
                    (f.structure_name) " — module " code { (f.plugin_id) }
                    " — créé le " (web::local_timestamp(f.created_at, "Europe/Paris"))
                    @if let Some(used) = f.last_used_at {
                        ", dernière lecture le " (web::local_timestamp(used, "Europe/Paris"))
                    }
                    form method="post" action={ "/compte/flux/" (f.id) "/revoquer" } class="inline" {
                        (web::csrf_field(&ctx.csrf))
                        button type="submit" class="small danger" { "Révoquer" }
                    }
                }
            }
        }
    }
}

pub async fn revoke(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Response {
    let Some(viewer) = &ctx.viewer else {
        return ctx.login_redirect();
    };
    match crate::feeds::revoke(&state.db, viewer.account.id, id).await {
        Ok(true) => see_other("/compte?ok=flux"),
        Ok(false) => super::not_found(),
        Err(e) => internal_error("feed revocation failed", e),
    }
}
