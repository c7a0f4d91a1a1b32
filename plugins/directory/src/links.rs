//! Verified links between accounts and professionals. A member asks to link their
//! account to a professional (« Ma fiche », fiche.rs); the request waits « en attente »
//! until a gestionnaire approves or refuses it on the « Demandes de liaison » page. Only
//! an approved request sets `Professional::user_id`, the link every other page reads:
//! until then the member cannot edit that professional's fiches, the fiche does not show
//! them as linked, and the communication page never sees an address they typed.
//!
//! No automatic approval: the account's e-mail is not available to modules (WIT 0.2.4
//! `types.user` carries an id and a display name only, and `mail` never reveals an
//! address), so it cannot be compared with the RPPS extract's. Were the host to offer that
//! comparison, `grant` is what it would call at once from `fiche::link`.

use maillage_sdk::Response;
use maillage_sdk::html::{Markup, csrf_field, href, html, notice, stylesheet};
use maillage_sdk::records::{self, Query, StoreError, valid_id};
use serde_json::json;

use crate::fiche::{acting_name, date_of, suggest_to_people};
use crate::model::{LINK_REQUESTS, LinkRequest, LinkStatus, PROFESSIONALS, Professional, Viewer};
use crate::rpps;

/// Who approved a link made automatically: the member's account address is the one the
/// national extract gives for the professional.
pub const AUTOMATIC: &str =
    "Vérification automatique : adresse e-mail identique à celle de l’extrait RPPS";

/// The page lists at most this many pending requests, oldest first.
const MAX_LISTED: u32 = 200;

/// Records (or reopens, after a refusal) the acting account's request for `p`; any
/// other request of the account still pending is withdrawn, so that a member who typed
/// a wrong number only has to type the right one. Returns the request as stored.
pub fn ask(user_id: &str, p: &Professional) -> Result<LinkRequest, StoreError> {
    let others: Vec<LinkRequest> = Query::new()
        .filter("user_id = {:u} && status = {:pending} && professional != {:p}")
        .param("u", user_id)
        .param("pending", LinkStatus::Pending.code())
        .param("p", &p.id)
        .fetch_all(LINK_REQUESTS, 1000)?;
    for other in others {
        records::delete(LINK_REQUESTS, &other.id)?;
    }
    records::upsert::<_, LinkRequest>(
        LINK_REQUESTS,
        &["professional", "user_id"],
        &json!({
            "professional": p.id,
            "user_id": user_id,
            "by_name": acting_name(),
            "status": LinkStatus::Pending.code(),
            "decided_by_name": "",
            "approved_for": null,
        }),
    )
}

/// The acting account's latest request that is not (or no longer) a link, with its
/// professional: what « Ma fiche » tells an unlinked member.
pub fn my_open_request(user_id: &str) -> Result<Option<(LinkRequest, Professional)>, StoreError> {
    let request = Query::new()
        .filter("user_id = {:u} && status != {:approved}")
        .param("u", user_id)
        .param("approved", LinkStatus::Approved.code())
        .sort("-updated_at")
        .first::<LinkRequest>(LINK_REQUESTS)?;
    let Some(request) = request else {
        return Ok(None);
    };
    Ok(records::get::<Professional>(PROFESSIONALS, &request.professional)?.map(|p| (request, p)))
}

/// What « Ma fiche » and « Mon compte » say of an open request.
pub fn request_notice(request: &LinkRequest, p: &Professional) -> Markup {
    let whom = format!(
        "{} ({})",
        p.full_name(),
        rpps::describe_national_id(&p.rpps_id)
    );
    html! {
        @match request.status() {
            LinkStatus::Refused => {
                div class="alert" role="alert" {
                    p {
                        "Votre demande de liaison à la fiche de " (whom)
                        " a été refusée par un gestionnaire de l’annuaire. "
                        "Si vous pensez qu’il s’agit d’une erreur, vous pouvez la renouveler "
                        "ou contacter un gestionnaire."
                    }
                }
            }
            _ => {
                p class="notice" role="status" {
                    "Votre demande de liaison à la fiche de " (whom) " est en attente "
                    "de validation par un gestionnaire de l’annuaire (demandée le "
                    (date_of(request.updated_at)) "). Vous pourrez modifier la fiche "
                    "dès qu’elle sera approuvée."
                }
            }
        }
    }
}

/// How many requests wait for a decision (the gestionnaires' toolbar).
pub fn pending_count() -> Result<i64, StoreError> {
    Query::new()
        .filter("status = {:pending}")
        .param("pending", LinkStatus::Pending.code())
        .count(LINK_REQUESTS)
}

/// The pending requests for one professional (their page, for gestionnaires).
pub fn pending_for(professional: &str) -> Result<Vec<LinkRequest>, StoreError> {
    Ok(Query::new()
        .filter("professional = {:p} && status = {:pending}")
        .param("p", professional)
        .param("pending", LinkStatus::Pending.code())
        .sort("updated_at")
        .limit(50)
        .fetch::<LinkRequest>(LINK_REQUESTS)?
        .0)
}

/// A link ends (a gestionnaire's « Délier le compte »): its approved request goes too,
/// so that the professional can be linked again.
pub fn forget_approved(professional: &str) -> Result<(), StoreError> {
    let approved: Vec<LinkRequest> = Query::new()
        .filter("professional = {:p} && status = {:approved}")
        .param("p", professional)
        .param("approved", LinkStatus::Approved.code())
        .fetch_all(LINK_REQUESTS, 1000)?;
    for request in approved {
        records::delete(LINK_REQUESTS, &request.id)?;
    }
    Ok(())
}

fn forbidden() -> Response {
    Response::error(
        403,
        "Seuls les gestionnaires de l’annuaire peuvent traiter les demandes de liaison.",
    )
}

/// « Demandes de liaison »: who asked (the account's name), when, for which
/// professional, with « Approuver » and « Refuser ».
pub fn page(query: &str) -> Result<Response, StoreError> {
    let viewer = Viewer::current();
    if !viewer.manager {
        return Ok(forbidden());
    }
    let (requests, more) = Query::new()
        .filter("status = {:pending}")
        .param("pending", LinkStatus::Pending.code())
        .sort("updated_at")
        .limit(MAX_LISTED)
        .fetch::<LinkRequest>(LINK_REQUESTS)?;
    let mut rows = Vec::with_capacity(requests.len());
    for request in requests {
        let professional = records::get::<Professional>(PROFESSIONALS, &request.professional)?;
        rows.push((request, professional));
    }
    let done = maillage_sdk::form::Form::parse(query.as_bytes()).get("fait");
    let confirmation = match done.as_str() {
        "approuvee" => Some("La demande a été approuvée : le compte est relié à la fiche."),
        "refusee" => Some("La demande a été refusée."),
        _ => None,
    };
    let body = html! {
        (stylesheet("annuaire.css"))
        p { a href=(href("/")) { "← Annuaire" } }
        h1 { "Demandes de liaison" }
        (notice(confirmation))
        p class="muted" {
            "Un membre qui relie son compte à un professionnel de l’annuaire ne peut modifier "
            "sa fiche qu’une fois sa demande approuvée. Vérifiez qu’il s’agit bien de lui "
            "avant d’approuver."
        }
        @if rows.is_empty() {
            p class="empty" { "Aucune demande en attente." }
        } @else {
            table class="list link-requests" {
                thead {
                    tr {
                        th { "Compte" }
                        th { "Professionnel demandé" }
                        th { "Demandée le" }
                        th { "Décision" }
                    }
                }
                tbody {
                    @for (request, professional) in &rows {
                        tr {
                            td { (request.by_name) }
                            td {
                                @match professional {
                                    Some(p) => {
                                        a href=(href(&format!("/p/{}", p.id))) { (p.full_name()) }
                                        br;
                                        small {
                                            (p.profession) ", "
                                            (rpps::describe_national_id(&p.rpps_id))
                                        }
                                        @if p.user_id.is_some() {
                                            br;
                                            small { "Déjà relié à un autre compte." }
                                        }
                                    }
                                    None => { "Professionnel introuvable" }
                                }
                            }
                            td { (date_of(request.updated_at)) }
                            td {
                                @if viewer.user_id.as_deref() == Some(request.user_id.as_str())
                                    && !viewer.admin
                                {
                                    small {
                                        "Votre propre demande : un autre gestionnaire ou un "
                                        "administrateur doit la traiter."
                                    }
                                } @else {
                                    form method="post" class="inline"
                                        action=(href(&format!("/demandes/{}/approuver", request.id))) {
                                        (csrf_field())
                                        button type="submit" { "Approuver" }
                                    }
                                    " "
                                    form method="post" class="inline"
                                        action=(href(&format!("/demandes/{}/refuser", request.id))) {
                                        (csrf_field())
                                        button type="submit" class="secondary" { "Refuser" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if more.is_some() {
                p class="muted" {
                    "Seules les " (MAX_LISTED) " demandes les plus anciennes sont affichées."
                }
            }
        }
    };
    Ok(Response::page("Demandes de liaison", body))
}

/// The pending request `id`, if the viewer may decide on it; otherwise the answer.
fn decidable(id: &str, viewer: &Viewer) -> Result<Result<LinkRequest, Response>, StoreError> {
    if !viewer.manager {
        return Ok(Err(forbidden()));
    }
    if !valid_id(id) {
        return Ok(Err(Response::not_found()));
    }
    let Some(request) = records::get::<LinkRequest>(LINK_REQUESTS, id)? else {
        return Ok(Err(Response::not_found()));
    };
    if request.status() != LinkStatus::Pending {
        return Ok(Err(Response::error(
            409,
            &format!(
                "Cette demande a déjà été {} par {}.",
                request.status().label(),
                if request.decided_by_name.is_empty() {
                    "un gestionnaire"
                } else {
                    request.decided_by_name.as_str()
                }
            ),
        )));
    }
    Ok(Ok(request))
}

/// Links `request`'s account to `p`: the approved request holds `approved_for` (a
/// unique key), the professional the account. The other requests still pending for `p`
/// are refused. The caller checked that neither is linked elsewhere.
pub fn grant(request: &LinkRequest, p: &Professional, decided_by: &str) -> Result<(), StoreError> {
    records::update::<serde_json::Value>(
        LINK_REQUESTS,
        &request.id,
        &json!({
            "status": LinkStatus::Approved.code(),
            "decided_by_name": decided_by,
            "approved_for": p.id,
        }),
    )?;
    records::update::<serde_json::Value>(
        PROFESSIONALS,
        &p.id,
        &json!({ "user_id": request.user_id }),
    )?;
    for other in pending_for(&p.id)? {
        records::update::<serde_json::Value>(
            LINK_REQUESTS,
            &other.id,
            &json!({
                "status": LinkStatus::Refused.code(),
                "decided_by_name": decided_by,
            }),
        )?;
    }
    // Their profession, and their adhesion only when the directory's status says so.
    suggest_to_people(&request.user_id, p, p.status().known_adhesion());
    Ok(())
}

pub fn approve(id: &str) -> Result<Response, StoreError> {
    let viewer = Viewer::current();
    let request = match decidable(id, &viewer)? {
        Ok(request) => request,
        Err(answer) => return Ok(answer),
    };
    // A verification needs a second person; an admin has nobody above them.
    if viewer.user_id.as_deref() == Some(request.user_id.as_str()) && !viewer.admin {
        return Ok(Response::error(
            403,
            "Votre propre demande doit être approuvée par un autre gestionnaire de l’annuaire ou par un administrateur.",
        ));
    }
    let Some(p) = records::get::<Professional>(PROFESSIONALS, &request.professional)? else {
        return Ok(Response::not_found());
    };
    if p.user_id.as_ref().is_some_and(|u| *u != request.user_id) {
        return Ok(Response::error(
            409,
            "Ce professionnel est déjà relié à un autre compte. Déliez-le d’abord depuis sa fiche si ce lien est erroné.",
        ));
    }
    let elsewhere = Query::new()
        .filter("user_id = {:u} && id != {:p}")
        .param("u", &request.user_id)
        .param("p", &p.id)
        .first::<Professional>(PROFESSIONALS)?;
    if let Some(other) = elsewhere {
        return Ok(Response::error(
            409,
            &format!(
                "Ce compte est déjà relié à la fiche de {}. Déliez-le d’abord depuis cette fiche.",
                other.full_name()
            ),
        ));
    }
    grant(&request, &p, &acting_name())?;
    Ok(Response::see_other("/demandes?fait=approuvee"))
}

pub fn refuse(id: &str) -> Result<Response, StoreError> {
    let viewer = Viewer::current();
    let request = match decidable(id, &viewer)? {
        Ok(request) => request,
        Err(answer) => return Ok(answer),
    };
    records::update::<serde_json::Value>(
        LINK_REQUESTS,
        &request.id,
        &json!({
            "status": LinkStatus::Refused.code(),
            "decided_by_name": acting_name(),
        }),
    )?;
    Ok(Response::see_other("/demandes?fait=refusee"))
}
