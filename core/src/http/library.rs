//! The national library's confirmation page (docs/cloud-library-design.md A.5): the
//! host's own page, in the host's layout and under the host's CSP, which a module never
//! renders. A module's `library.propose` only stores a proposal and sends its author
//! here; nothing is published until that person, signed in, a member of the structure,
//! still a coordinator or a holder of the module's role `bibliotheque`, has read what
//! will be published (the Markdown source as it is, escaped, or the file itself),
//! ticked `verifie` and clicked « Publier ».
//!
//! - `GET /{structure}/bibliotheque/confirmer/{token}`: what will be published.
//! - `GET …/{token}/fichier`: the proposed file (the module's blob), to its author only,
//!   as an attachment.
//! - `POST …/{token}` (`csrf`, `verifie`): publishes (`library::confirm`), 303 back to
//!   the module; 422 without `verifie`; 404, 410, 409 pages otherwise. A browser's
//!   request must also be a user's navigation (`Sec-Fetch-*`, below): a module's
//!   script cannot confirm on its member's behalf.
//! - `POST …/{token}/annuler`: deletes the proposal, 303 back to the module.
//!
//! An unknown token, another account's or another structure's are the same 404.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use maud::{Markup, html};

use super::access::MemberCtx;
use super::files::{Disposition, file_response};
use super::form::FormData;
use super::modules::enabled_plugins;
use super::{AppState, Ctx, internal_error, not_found, see_other};
use crate::library::{
    self, ConfirmError, LibraryError, PendingContent, PendingProposal, ProposalLookup,
};
use crate::storage::PluginScope;
use crate::tenancy::Role;
use crate::web::{self, alert, csrf_field};

/// The module role that lets a member who is not a coordinator publish in the library.
pub const LIBRARY_ROLE: &str = "bibliotheque";

const TITLE: &str = "Publier dans la bibliothèque nationale";

/// A page of the structure's layout (its navigation), with `status`.
pub(super) async fn member_page(
    state: &AppState,
    member: &MemberCtx,
    status: StatusCode,
    title: &str,
    body: Markup,
) -> Response {
    let enabled = match enabled_plugins(state, &member.membership.structure).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    (
        status,
        Html(web::page(title, &member.shell(&enabled.manifests, None), body).into_string()),
    )
        .into_response()
}

/// A refusal or an outcome in one French sentence, in the structure's layout.
pub(super) async fn member_message(
    state: &AppState,
    member: &MemberCtx,
    status: StatusCode,
    title: &str,
    message: &str,
) -> Response {
    let body = html! {
        h1 { (title) }
        (alert(message))
        p { a href={ (member.base()) "/" } { "Retour à l’accueil de la structure" } }
    };
    member_page(state, member, status, title, body).await
}

/// « 30/11/2026 »: the day of an instant in `zone`.
pub(super) fn local_date(secs: i64, zone: &str) -> String {
    let stamp = web::local_timestamp(secs, zone);
    stamp.split(' ').next().unwrap_or_default().to_string()
}

/// « 12,4 Mo »: a size in French units (1 Ko = 1,024 octets), one decimal at most.
pub(super) fn french_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["Ko", "Mo", "Go", "To"];
    if bytes < 1024 {
        return if bytes <= 1 {
            format!("{bytes} octet")
        } else {
            format!("{bytes} octets")
        };
    }
    let bytes = u128::from(bytes);
    let tenths_of = |divisor: u128| (bytes * 10 + divisor / 2) / divisor;
    let (mut unit, mut divisor) = (0, 1024_u128);
    let mut tenths = tenths_of(divisor);
    while tenths >= 10_240 && unit + 1 < UNITS.len() {
        unit += 1;
        divisor *= 1024;
        tenths = tenths_of(divisor);
    }
    let (whole, decimal) = (tenths / 10, tenths % 10);
    if decimal == 0 {
        format!("{whole} {}", UNITS[unit])
    } else {
        format!("{whole},{decimal} {}", UNITS[unit])
    }
}

/// The page answering a confirmation that did not publish: 404, 410, 409 with the
/// French sentence; 500 (logged) when the database or the store failed.
async fn refusal(state: &AppState, member: &MemberCtx, error: &ConfirmError) -> Response {
    let status = match error {
        ConfirmError::NotFound => StatusCode::NOT_FOUND,
        ConfirmError::Expired => StatusCode::GONE,
        ConfirmError::FileChanged | ConfirmError::EntryChanged => StatusCode::CONFLICT,
        ConfirmError::Unavailable(_) => {
            return internal_error("library publication failed", error);
        }
    };
    member_message(state, member, status, TITLE, error.french()).await
}

/// Whether the member may still publish through `module_id`: a coordinator or an admin
/// of the structure, or a holder of the module's role [`LIBRARY_ROLE`] (as the runtime
/// decided when the module proposed; checked again, the role may have been withdrawn).
async fn may_publish(
    state: &AppState,
    member: &MemberCtx,
    module_id: &str,
) -> Result<bool, Response> {
    if member.membership.role >= Role::Coordinator {
        return Ok(true);
    }
    let mut conn = state
        .db
        .pool()
        .acquire()
        .await
        .map_err(|e| internal_error("no database connection for the library page", e))?;
    let roles = crate::people::module_roles(
        &mut conn,
        member.structure_id(),
        member.account().id,
        module_id,
    )
    .await
    .map_err(|e| internal_error("module roles lookup failed", e))?;
    Ok(roles.iter().any(|r| r == LIBRARY_ROLE))
}

/// The viewer's pending proposal behind `token`, in this structure, which the viewer
/// may still publish: the refusal's page otherwise (404 unknown, another account's or
/// another structure's; 410 expired; 403 no longer allowed).
async fn pending(
    state: &AppState,
    member: &MemberCtx,
    token: &str,
) -> Result<Box<PendingProposal>, Response> {
    let lookup =
        library::proposal_for(&state.db, member.structure_id(), member.account().id, token).await;
    let proposal = match lookup {
        Ok(Some(ProposalLookup::Pending(proposal))) => proposal,
        Ok(Some(ProposalLookup::Expired)) => {
            return Err(refusal(state, member, &ConfirmError::Expired).await);
        }
        Ok(None) => return Err(refusal(state, member, &ConfirmError::NotFound).await),
        Err(e) => return Err(internal_error("library proposal lookup failed", e)),
    };
    if !may_publish(state, member, &proposal.module_id).await? {
        return Err(member_message(
            state,
            member,
            StatusCode::FORBIDDEN,
            TITLE,
            &LibraryError::Denied.french(),
        )
        .await);
    }
    Ok(proposal)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Defence in depth against a module's own scripts: a browser that sends
/// `Sec-Fetch-Mode` must show a navigation of a document that the user started
/// (`navigate`, `document`, `?1`), which neither `fetch()` nor a form submitted by a
/// script without a click is. A client without these headers (not a browser) is judged
/// by its session and its CSRF token alone.
fn user_navigation(headers: &HeaderMap) -> bool {
    if !headers.contains_key("sec-fetch-mode") {
        return true;
    }
    header(headers, "sec-fetch-mode").is_some_and(|m| m.eq_ignore_ascii_case("navigate"))
        && header(headers, "sec-fetch-dest").is_some_and(|d| d.eq_ignore_ascii_case("document"))
        && header(headers, "sec-fetch-user") == Some("?1")
}

fn or_dash(text: &str) -> &str {
    if text.trim().is_empty() { "—" } else { text }
}

/// The confirmation page: what will be published, exactly.
fn confirmation_body(
    member: &MemberCtx,
    token: &str,
    proposal: &PendingProposal,
    message: Markup,
) -> Markup {
    let structure = &member.membership.structure;
    let action = library::confirmation_path(&structure.slug, token);
    let version = match &proposal.new_version_of {
        None => "Nouveau document".to_string(),
        Some(of) => format!(
            "Version {} de « {} »",
            of.current_version.saturating_add(1),
            of.title
        ),
    };
    let entry_changed = proposal
        .new_version_of
        .as_ref()
        .is_some_and(|of| of.withdrawn_at.is_some() || of.hidden);
    let tags = if proposal.tags.is_empty() {
        "—".to_string()
    } else {
        proposal.tags.join(", ")
    };
    html! {
        h1 { (TITLE) }
        (message)
        @if entry_changed {
            (alert(ConfirmError::EntryChanged.french()))
        }
        p {
            "Ce document sera visible par tous les membres de toutes les structures de la \
             plateforme, avec le nom de votre structure : "
            strong { (structure.name) }
            ". Vous pourrez publier une nouvelle version ou le retirer ; les copies déjà \
             téléchargées ne peuvent pas être reprises."
        }
        dl {
            dt { "Titre" }
            dd { (proposal.title) }
            dt { "Description" }
            dd { (or_dash(&proposal.description)) }
            dt { "Mots-clés" }
            dd { (tags) }
            dt { "Licence" }
            dd { (proposal.licence.label()) " — " (proposal.licence.description()) }
            dt { "Version" }
            dd { (version) }
            dt { "Note de version" }
            dd { (or_dash(&proposal.note)) }
        }
        h2 { "Contenu" }
        @match &proposal.content {
            PendingContent::Markdown(text) => {
                p.muted { (text.chars().count()) " caractères" }
                // The source, escaped and not rendered: nothing is hidden (comments,
                // link targets).
                pre.source tabindex="0" { (text) }
            }
            PendingContent::File { info, .. } => {
                dl {
                    dt { "Nom du fichier" }
                    dd { (info.name) }
                    dt { "Type" }
                    dd { (info.content_type) }
                    dt { "Taille" }
                    dd { (french_size(info.size)) }
                }
                p { a href={ (action) "/fichier" } download { "Télécharger pour vérifier" } }
            }
        }
        div.alert.warning {
            "Vérifiez que ce document ne contient aucune donnée de santé ni aucune donnée \
             personnelle (patients, coordonnées de membres)."
        }
        form method="post" action=(action) class="stack" {
            (csrf_field(&member.csrf))
            label.check {
                input type="checkbox" name="verifie" value="oui" required;
                " J’ai relu ce document : il ne contient ni donnée de santé ni donnée \
                 personnelle."
            }
            button type="submit" { "Publier" }
        }
        form method="post" action={ (action) "/annuler" } class="stack" {
            (csrf_field(&member.csrf))
            button type="submit" class="secondary" { "Annuler" }
        }
    }
}

async fn confirmation_response(
    state: &AppState,
    member: &MemberCtx,
    token: &str,
    proposal: &PendingProposal,
    status: StatusCode,
    message: Markup,
) -> Response {
    let body = confirmation_body(member, token, proposal, message);
    member_page(state, member, status, TITLE, body).await
}

/// `GET /{structure}/bibliotheque/confirmer/{token}`.
pub async fn confirmation_page(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    ctx: Ctx,
) -> Response {
    let member = match ctx.member_of(&slug, Role::Member) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let proposal = match pending(&state, &member, &token).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    confirmation_response(
        &state,
        &member,
        &token,
        &proposal,
        StatusCode::OK,
        Markup::default(),
    )
    .await
}

/// `GET /{structure}/bibliotheque/confirmer/{token}/fichier`: the module's blob as it
/// was proposed (its sha256 unchanged), to the proposal's author only, as an
/// attachment, never cached.
pub async fn proposed_file(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    ctx: Ctx,
) -> Response {
    let member = match ctx.member_of(&slug, Role::Member) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let proposal = match pending(&state, &member, &token).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let PendingContent::File { blob_id, info } = &proposal.content else {
        return not_found();
    };
    let scope = PluginScope {
        structure_id: member.structure_id(),
        plugin_id: proposal.module_id.clone(),
    };
    let mut conn = match state.db.pool().acquire().await {
        Ok(c) => c,
        Err(e) => return internal_error("no database connection for a proposed file", e),
    };
    let found = state.blobs.stream(&mut conn, &scope, blob_id).await;
    drop(conn);
    match found {
        Ok(Some((blob, stream))) if blob.sha256 == info.sha256 => file_response(
            Body::from_stream(stream),
            &info.name,
            &info.content_type,
            blob.size,
            Disposition::Attachment,
            "private, no-store",
        ),
        Ok(_) => refusal(&state, &member, &ConfirmError::FileChanged).await,
        Err(e) => internal_error("streaming a proposed file failed", e),
    }
}

/// `POST /{structure}/bibliotheque/confirmer/{token}` (`csrf`, `verifie`).
pub async fn confirm(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    ctx: Ctx,
    headers: HeaderMap,
    form: FormData,
) -> Response {
    let member = match ctx.member_of(&slug, Role::Member) {
        Ok(m) => m,
        Err(r) => return r,
    };
    if !user_navigation(&headers) {
        tracing::warn!(
            structure = %slug,
            mode = header(&headers, "sec-fetch-mode").unwrap_or("?"),
            "library confirmation refused: not a user's navigation"
        );
        return member_message(
            &state,
            &member,
            StatusCode::FORBIDDEN,
            TITLE,
            "La publication se confirme en cliquant vous-même sur « Publier » sur cette page.",
        )
        .await;
    }
    let proposal = match pending(&state, &member, &token).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if !form.checked("verifie") {
        return confirmation_response(
            &state,
            &member,
            &token,
            &proposal,
            StatusCode::UNPROCESSABLE_ENTITY,
            alert("Cochez la case pour confirmer votre relecture."),
        )
        .await;
    }
    match library::confirm(
        &state.db,
        &state.blobs,
        member.structure_id(),
        member.account().id,
        &token,
    )
    .await
    {
        Ok(published) => {
            tracing::info!(
                structure = %slug,
                module = %published.module_id,
                entry = published.entry_id,
                version = published.version,
                "library entry published"
            );
            see_other(&published.location(&member.membership.structure.slug))
        }
        Err(e) => refusal(&state, &member, &e).await,
    }
}

/// `POST /{structure}/bibliotheque/confirmer/{token}/annuler` (`csrf`): the proposal is
/// deleted, back to the module (expired proposals too; 404 for an unknown one).
pub async fn cancel(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    ctx: Ctx,
) -> Response {
    let member = match ctx.member_of(&slug, Role::Member) {
        Ok(m) => m,
        Err(r) => return r,
    };
    match library::cancel(
        &state.db,
        member.structure_id(),
        member.account().id,
        &token,
    )
    .await
    {
        Ok(Some(cancelled)) => see_other(&cancelled.location(&member.membership.structure.slug)),
        Ok(None) => refusal(&state, &member, &ConfirmError::NotFound).await,
        Err(e) => internal_error("cancelling a library proposal failed", e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_french() {
        assert_eq!(french_size(1), "1 octet");
        assert_eq!(french_size(12), "12 octets");
        assert_eq!(french_size(1536), "1,5 Ko");
        assert_eq!(french_size(13_002_342), "12,4 Mo");
    }

    #[test]
    fn only_a_users_navigation_confirms_in_a_browser() {
        let mut headers = HeaderMap::new();
        assert!(
            user_navigation(&headers),
            "no Sec-Fetch headers: not a browser"
        );
        headers.insert("sec-fetch-mode", "cors".parse().unwrap());
        assert!(!user_navigation(&headers));
        headers.insert("sec-fetch-mode", "navigate".parse().unwrap());
        headers.insert("sec-fetch-dest", "document".parse().unwrap());
        assert!(!user_navigation(&headers), "no user activation");
        headers.insert("sec-fetch-user", "?1".parse().unwrap());
        assert!(user_navigation(&headers));
        headers.insert("sec-fetch-dest", "iframe".parse().unwrap());
        assert!(!user_navigation(&headers));
    }
}
