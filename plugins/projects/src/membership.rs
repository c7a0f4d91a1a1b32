//! Who is in a project, from its page (WIT 0.2.6 `group-admin`): « Demander à
//! rejoindre » an open project and the requester's « demande en attente »; the pending
//! requests decided by référents and coordinators (the requester mailed); adding a member
//! of the structure, changing a role, removing someone or leaving; archiving and
//! restoring. The host keeps the group rules (1–3 référents, members of the structure
//! only) and writes the audit entries; this module shows its answers in French.
//!
//! A new request is mailed once to the project's référents (the anchor `#demandes` of
//! the project page), never with the requester's message; the decision is mailed to the
//! requester.

use std::collections::HashSet;

use maillage_sdk::form::Form;
use maillage_sdk::group_admin::{self, GroupError};
use maillage_sdk::groups::{GroupMember, GroupRole};
use maillage_sdk::html::{Markup, csrf_field, href, html};
use maillage_sdk::mail::{self, Message};
use maillage_sdk::records::{self, StoreError};
use maillage_sdk::{Response, fr, time};

use crate::discussion::HEALTH_WARNING;
use crate::model::{Loaded, PROJECTS};
use crate::projects::loaded;
use crate::ui::{self, PageResult};

/// The most characters of a join request's message (the host's limit too).
pub const MAX_MESSAGE: usize = 1000;

const ONLY_MANAGERS: &str =
    "Seuls les référents du projet et les coordinateurs gèrent ses membres.";

/// The French answer to a refused group change, with its status.
fn refused(error: &GroupError) -> Response {
    let status = match error {
        GroupError::Denied => 403,
        GroupError::NotFound => 404,
        GroupError::Unavailable(reason) => {
            maillage_sdk::log::error(&format!("group change unavailable: {reason}"));
            503
        }
        GroupError::Archived | GroupError::AlreadyMember => 409,
        _ => 422,
    };
    ui::refused(status, &group_admin::french(error))
}

/// A role from a form: `referent`, `active`, `guest`.
fn parse_role(text: &str) -> Option<GroupRole> {
    match text {
        "referent" => Some(GroupRole::Referent),
        "active" => Some(GroupRole::Active),
        "guest" => Some(GroupRole::Guest),
        _ => None,
    }
}

/// Whether the viewer has a pending request to join this project's group.
pub fn pending_for_me(l: &Loaded) -> bool {
    l.me().is_some() && group_admin::my_join_requests().contains(&l.group.id)
}

/// The « Demander à rejoindre » form, or the note that the request waits; nothing for
/// members, coordinators and archived projects.
pub fn join_block(l: &Loaded) -> Markup {
    if l.role.is_some() || l.coordinator || l.archived() {
        return html! {};
    }
    if pending_for_me(l) {
        return html! {
            p class="notice demande-en-attente" {
                "Votre demande pour rejoindre ce projet est en attente de la décision des référents."
            }
        };
    }
    html! {
        form class="rejoindre" method="post" action=(href(&format!("{}/rejoindre", l.project.path()))) {
            (csrf_field())
            label for="rejoindre-message" { "Message aux référents (facultatif)" }
            input id="rejoindre-message" name="message" maxlength=(MAX_MESSAGE);
            button type="submit" { "Demander à rejoindre" }
        }
    }
}

/// The « Membres » section: members by role; for managers the pending requests, the
/// role and removal controls and the form to add a member; « Quitter le projet » for a
/// member who is not its last référent.
pub fn section(l: &Loaded, members: &[GroupMember]) -> Result<Markup, StoreError> {
    let manages = l.manages() && !l.archived();
    let requests = if manages {
        group_admin::join_requests(&l.group.id).unwrap_or_default()
    } else {
        Vec::new()
    };
    let zone = time::zone_or_default(&maillage_sdk::context().time_zone);
    let others: Vec<maillage_sdk::Member> = if manages {
        maillage_sdk::members()
            .into_iter()
            .filter(|m| !members.iter().any(|g| g.user_id == m.user_id))
            .collect()
    } else {
        Vec::new()
    };
    let path = l.project.path();
    Ok(html! {
        section id="membres" {
            h2 { "Membres" }
            @for (role, heading) in [(GroupRole::Referent, "Référents"), (GroupRole::Active, "Membres actifs"), (GroupRole::Guest, "Invités")] {
                @let of_role: Vec<&GroupMember> = members.iter().filter(|m| m.role == role).collect();
                @if !of_role.is_empty() {
                    h3 { (heading) }
                    ul class="membres" {
                        @for m in of_role {
                            li data-personne=(m.user_id) data-role=(ui::role_code(m.role)) {
                                (m.display_name)
                                @if manages {
                                    form class="inline role" method="post" action=(href(&format!("{path}/membres/{}", m.user_id))) {
                                        (csrf_field())
                                        select id={ "role-" (m.user_id) } name="role" aria-label={ "Rôle de " (m.display_name) } {
                                            @for r in [GroupRole::Referent, GroupRole::Active, GroupRole::Guest] {
                                                option value=(ui::role_code(r)) selected[r == m.role] { (ui::role_label(r)) }
                                            }
                                        }
                                        button type="submit" { "Changer" }
                                    }
                                    form class="inline retirer" method="post" action=(href(&format!("{path}/membres/{}/retirer", m.user_id))) {
                                        (csrf_field())
                                        button type="submit" class="secondary" { "Retirer" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if l.role.is_some() && !l.archived() {
                @if let Some(me) = l.me() {
                    form class="inline quitter" method="post" action=(href(&format!("{path}/membres/{me}/retirer"))) {
                        (csrf_field())
                        button type="submit" class="secondary" { "Quitter le projet" }
                    }
                }
            }
            @if manages {
                @if !requests.is_empty() {
                    section id="demandes" {
                        h3 { "Demandes en attente" }
                        ul class="demandes" {
                            @for r in &requests {
                                li class="demande" data-demande=(r.id) data-personne=(r.user_id) {
                                    strong { (r.display_name) }
                                    " · " (fr::date_short(&time::date_input(time::local(time::from_seconds(r.created_at), &zone).date())))
                                    @if !r.message.is_empty() { br; span class="muted" { (r.message) } }
                                    form class="inline" method="post" action=(href(&format!("{path}/demandes/{}/accepter", r.id))) {
                                        (csrf_field())
                                        button type="submit" { "Accepter" }
                                    }
                                    form class="inline" method="post" action=(href(&format!("{path}/demandes/{}/refuser", r.id))) {
                                        (csrf_field())
                                        button type="submit" class="secondary" { "Refuser" }
                                    }
                                }
                            }
                        }
                    }
                }
                @if !others.is_empty() {
                    form class="ajouter-membre stack" method="post" action=(href(&format!("{path}/membres"))) {
                        (csrf_field())
                        label for="ajouter-personne" { "Ajouter un membre de la structure" }
                        select id="ajouter-personne" name="personne" required {
                            option value="" { "Choisissez…" }
                            @for m in &others {
                                option value=(m.user_id) { (m.display_name) }
                            }
                        }
                        label for="ajouter-role" { "Rôle" }
                        select id="ajouter-role" name="role" {
                            @for r in [GroupRole::Active, GroupRole::Referent, GroupRole::Guest] {
                                option value=(ui::role_code(r)) { (ui::role_label(r)) }
                            }
                        }
                        button type="submit" { "Ajouter" }
                    }
                }
            }
        }
    })
}

/// The project of a route, for a change of its members: 404 for those who cannot read
/// it, 409 when archived.
fn writable(group_id: &str) -> Result<Result<Loaded, Response>, StoreError> {
    Ok(match loaded(group_id)? {
        Ok(l) if l.archived() => Err(ui::refused(409, ui::ARCHIVED)),
        other => other,
    })
}

/// The link to a project's page in a mail, e.g.
/// "https://maillage.example.fr/cpts-a/projets/p/42" (`anchor` appended as is).
fn project_link(l: &Loaded, anchor: &str) -> String {
    format!(
        "{}{}{}{anchor}",
        maillage_sdk::public_url(),
        maillage_sdk::context().base_path,
        l.project.path()
    )
}

/// The account ids of the active members of the structure (the host refuses a whole
/// mail naming anyone else).
fn active_members() -> HashSet<String> {
    maillage_sdk::members()
        .into_iter()
        .map(|m| m.user_id)
        .collect()
}

/// Who hears of a new join request: the group's référents who are still members of the
/// structure; when none is, the project's coordinator (« Coordinateur ou coordinatrice
/// du projet ») and whoever created the project (a coordinator when the project was
/// bound to an existing group). The WIT offers no list of the structure's coordinators,
/// so these are the coordinators the module knows of. Never the requester.
fn join_request_recipients(l: &Loaded) -> Vec<String> {
    let active = active_members();
    let me = l.me();
    let usable = |id: &String| active.contains(id) && Some(id.as_str()) != me;
    let mut to: Vec<String> = l
        .members()
        .into_iter()
        .filter(|m| m.role == GroupRole::Referent)
        .map(|m| m.user_id)
        .filter(|id| usable(id))
        .collect();
    if to.is_empty() {
        let created_by = match records::get::<serde_json::Value>(PROJECTS, &l.project.id) {
            Ok(Some(record)) => record.get("created_by").and_then(records::id_text),
            Ok(None) => None,
            Err(e) => {
                maillage_sdk::log::warn(&format!("project creator not read: {e}"));
                None
            }
        };
        to = l
            .project
            .coordinator
            .iter()
            .cloned()
            .chain(created_by)
            .filter(|id| usable(id))
            .collect();
    }
    let mut seen: HashSet<String> = HashSet::new();
    to.retain(|id| seen.insert(id.clone()));
    to
}

/// The mail of a new join request: who asks and where to decide; not their message
/// (free text stays on the page).
fn join_request_mail(l: &Loaded, to: Vec<String>) -> Message {
    let link = project_link(l, "#demandes");
    Message {
        to,
        external: Vec::new(),
        subject: format!("Demande pour rejoindre « {} »", l.project.name),
        text: format!(
            "Bonjour,\n\n{} demande à rejoindre le projet « {} ».\n\nPour accepter ou refuser sa demande, rendez-vous sur la page du projet :\n{link}\n\n{HEALTH_WARNING}\n",
            l.my_name(),
            l.project.name
        ),
        html: None,
        attachments: Vec::new(),
    }
}

/// `POST /p/{g}/rejoindre`: the request, then one mail to the référents. Asking again
/// while the request waits changes nothing and mails nobody.
pub fn request_join(group_id: &str, form: &Form) -> PageResult {
    let l = match writable(group_id)? {
        Ok(l) => l,
        Err(r) => return Ok(r),
    };
    let message = form.get("message").trim().to_string();
    if !ui::fits(&message, MAX_MESSAGE) {
        return Ok(ui::refused(
            422,
            &format!("Le message compte au plus {MAX_MESSAGE} caractères."),
        ));
    }
    let asked = Response::see_other(&format!("{}?ok=demande", l.project.path()));
    // A member goes on to the host's answer (already a member: 409).
    if l.role.is_none() && pending_for_me(&l) {
        return Ok(asked);
    }
    if let Err(e) = group_admin::request_join(&l.group.id, &message) {
        return Ok(refused(&e));
    }
    let to = join_request_recipients(&l);
    if to.is_empty() {
        maillage_sdk::log::warn("join request: nobody to mail (no référent, no coordinator known)");
    } else if let Err(e) = mail::send(&join_request_mail(&l, to)) {
        // The request stands: the référents see it on the project page.
        maillage_sdk::log::warn(&format!("join request not mailed: {e}"));
    }
    Ok(asked)
}

/// `POST /p/{g}/demandes/{r}/accepter` and `…/refuser`: the requester is mailed.
pub fn decide(group_id: &str, request_id: &str, approve: bool) -> PageResult {
    let l = match writable(group_id)? {
        Ok(l) => l,
        Err(r) => return Ok(r),
    };
    if !l.manages() {
        return ui::forbidden(ONLY_MANAGERS);
    }
    let requester = match group_admin::decide_request(&l.group.id, request_id, approve) {
        Ok(Some(user)) => user,
        Ok(None) => return Ok(Response::not_found()),
        Err(e) => return Ok(refused(&e)),
    };
    let link = project_link(&l, "");
    let (subject, text) = if approve {
        (
            format!("Votre demande pour « {} » a été acceptée", l.project.name),
            format!(
                "Bonjour,\n\n{} a accepté votre demande : vous êtes membre actif du projet « {} ».\n{link}\n\n{HEALTH_WARNING}\n",
                l.my_name(),
                l.project.name
            ),
        )
    } else {
        (
            format!(
                "Votre demande pour « {} » n’a pas été retenue",
                l.project.name
            ),
            format!(
                "Bonjour,\n\nVotre demande pour rejoindre le projet « {} » n’a pas été retenue par {}. Vous pouvez en parler avec ses référents.\n{link}\n\n{HEALTH_WARNING}\n",
                l.project.name,
                l.my_name()
            ),
        )
    };
    let message = Message {
        to: vec![requester],
        external: Vec::new(),
        subject,
        text,
        html: None,
        attachments: Vec::new(),
    };
    if let Err(e) = mail::send(&message) {
        // The decision stands: the requester sees it on the page.
        maillage_sdk::log::warn(&format!("join decision not mailed: {e}"));
    }
    let ok = if approve { "accepte" } else { "refuse" };
    Ok(Response::see_other(&format!(
        "{}?ok=demande-{ok}",
        l.project.path()
    )))
}

/// `POST /p/{g}/membres`: adds a member of the structure with a role.
pub fn add(group_id: &str, form: &Form) -> PageResult {
    set_role(group_id, &form.get("personne"), form)
}

/// `POST /p/{g}/membres/{u}`: changes someone's role (or adds them).
pub fn set_role(group_id: &str, user_id: &str, form: &Form) -> PageResult {
    let l = match writable(group_id)? {
        Ok(l) => l,
        Err(r) => return Ok(r),
    };
    if !l.manages() {
        return ui::forbidden(ONLY_MANAGERS);
    }
    let Some(role) = parse_role(&form.get("role")) else {
        return Ok(ui::refused(422, "Choisissez un rôle."));
    };
    if user_id.trim().is_empty() {
        return Ok(ui::refused(422, "Choisissez une personne."));
    }
    match group_admin::set_member(&l.group.id, user_id, role) {
        Ok(()) => Ok(Response::see_other(&format!(
            "{}?ok=membres#membres",
            l.project.path()
        ))),
        Err(e) => Ok(refused(&e)),
    }
}

/// `POST /p/{g}/membres/{u}/retirer`: a manager removes someone, or a member leaves.
pub fn remove(group_id: &str, user_id: &str) -> PageResult {
    let l = match writable(group_id)? {
        Ok(l) => l,
        Err(r) => return Ok(r),
    };
    let leaving = l.me() == Some(user_id);
    if !leaving && !l.manages() {
        return ui::forbidden(ONLY_MANAGERS);
    }
    match group_admin::remove_member(&l.group.id, user_id) {
        Ok(true) if leaving && !l.coordinator && !l.group.open => {
            // A closed project no longer exists for who left it.
            Ok(Response::see_other("/mes-projets?ok=quitte"))
        }
        Ok(true) => Ok(Response::see_other(&format!(
            "{}?ok={}#membres",
            l.project.path(),
            if leaving { "quitte" } else { "membres" }
        ))),
        Ok(false) => Ok(Response::not_found()),
        Err(e) => Ok(refused(&e)),
    }
}

/// `POST /p/{g}/archiver` (`archive` = `1` archives, `0` restores).
pub fn archive(group_id: &str, form: &Form) -> PageResult {
    let l = match loaded(group_id)? {
        Ok(l) => l,
        Err(r) => return Ok(r),
    };
    if !l.manages() {
        return ui::forbidden("Seuls les référents du projet et les coordinateurs l’archivent.");
    }
    let archived = match form.get("archive").as_str() {
        "1" => true,
        "0" => false,
        _ => return Ok(ui::refused(422, "Archiver (1) ou désarchiver (0) ?")),
    };
    match group_admin::set_archived(&l.group.id, archived) {
        Ok(()) => Ok(Response::see_other(&format!(
            "{}?ok={}",
            l.project.path(),
            if archived { "archive" } else { "desarchive" }
        ))),
        Err(e) => Ok(refused(&e)),
    }
}

/// The archive button for managers.
pub fn archive_button(l: &Loaded) -> Markup {
    if !l.manages() {
        return html! {};
    }
    let (value, label) = if l.archived() {
        ("0", "Désarchiver")
    } else {
        ("1", "Archiver le projet")
    };
    html! {
        form class="inline archiver" method="post" action=(href(&format!("{}/archiver", l.project.path()))) {
            (csrf_field())
            input type="hidden" name="archive" value=(value);
            button type="submit" class="secondary" { (label) }
        }
    }
}
