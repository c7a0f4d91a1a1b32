//! « Écrire au groupe » (docs/projects-contract.md, « Mail the group »): the project's
//! managers (référents, coordinators) write one mail to every member of the group, to
//! its référents or to the members they tick, after confirming that it holds no health
//! data. The sender gets the mail only when they ask for a copy. `group_mails` keeps who
//! wrote to how many and when, never the message.

use std::collections::HashSet;

use maillage_sdk::form::Form;
use maillage_sdk::groups::{GroupMember, GroupRole};
use maillage_sdk::html::{alert, csrf_field, href, html};
use maillage_sdk::mail::{self, Message};
use maillage_sdk::records::{self, StoreError};
use maillage_sdk::{Response, audit};
use serde_json::json;

use crate::discussion::HEALTH_WARNING;
use crate::model::{GROUP_MAILS, Loaded, MAX_TEXT, MAX_TITLE};
use crate::projects::loaded;
use crate::ui::{self, PageResult};

const ONLY_MANAGERS: &str =
    "Seuls les référents du projet et les coordinateurs écrivent aux membres du groupe.";
/// Above the message.
pub const FORM_WARNING: &str = "N’écrivez aucune donnée de santé : ce message est envoyé par courriel, une messagerie non sécurisée.";
/// The checkbox the sender must tick.
pub const CONFIRM: &str = "Ce message ne contient aucune donnée de santé.";
const NOT_CONFIRMED: &str = "Confirmez que le message ne contient aucune donnée de santé.";
const NOBODY: &str = "Aucun membre du projet ne peut recevoir ce message.";
const NOBODY_CHOSEN: &str = "Choisissez au moins un destinataire.";
const OUTSIDER: &str = "Une personne choisie ne fait pas partie du groupe.";
const MAIL_FAILED: &str =
    "Le message n’a pas pu être envoyé : rien n’a été enregistré. Veuillez réessayer.";

/// `destinataires`: every member of the group, its référents, or the members ticked
/// (`membre`, repeated).
const ALL: &str = "tous";
const REFERENTS: &str = "referents";
const CHOSEN: &str = "choisis";

/// What the form carries.
#[derive(Debug, Clone, Default)]
struct Input {
    subject: String,
    message: String,
    audience: String,
    /// The account ids ticked (`membre`), for `choisis`.
    chosen: Vec<String>,
    /// `copie`: a copy to the sender.
    copy: bool,
    confirmed: bool,
}

impl Input {
    fn from_form(form: &Form) -> Input {
        Input {
            subject: form.get("objet"),
            message: form.get("message"),
            audience: form.get("destinataires"),
            chosen: form
                .all("membre")
                .into_iter()
                .filter(|id| !id.is_empty())
                .collect(),
            copy: form.get("copie") == "1",
            confirmed: form.get("sans-donnees-sante") == "1",
        }
    }

    /// The audience (`tous` when none was chosen), or the French reason.
    fn check(&self) -> Result<&'static str, String> {
        if self.subject.is_empty() || !ui::fits(&self.subject, MAX_TITLE) {
            return Err(format!(
                "L’objet est obligatoire (au plus {MAX_TITLE} caractères)."
            ));
        }
        if self.message.is_empty() || !ui::fits(&self.message, MAX_TEXT) {
            return Err("Le message est obligatoire (au plus 10\u{202f}000 caractères).".into());
        }
        let audience = match self.audience.as_str() {
            "" | ALL => ALL,
            REFERENTS => REFERENTS,
            CHOSEN => CHOSEN,
            _ => {
                return Err(
                    "Choisissez les destinataires : tous les membres du projet, ses référents ou les membres que vous cochez."
                        .into(),
                );
            }
        };
        if audience == CHOSEN && self.chosen.is_empty() {
            return Err(NOBODY_CHOSEN.into());
        }
        if !self.confirmed {
            return Err(NOT_CONFIRMED.into());
        }
        Ok(audience)
    }
}

/// The project of the route, managed by the viewer (else 403) and not archived (else
/// 409); 404 when the viewer may not read it.
fn managed(group_id: &str) -> Result<Result<Loaded, Response>, StoreError> {
    Ok(match loaded(group_id)? {
        Ok(l) if !l.manages() => Err(ui::refused(403, ONLY_MANAGERS)),
        Ok(l) if l.archived() => Err(ui::refused(409, ui::ARCHIVED)),
        other => other,
    })
}

/// The account ids of the active members of the structure: the host refuses a whole
/// mail naming anyone else.
fn active_members() -> HashSet<String> {
    maillage_sdk::members()
        .into_iter()
        .map(|m| m.user_id)
        .collect()
}

/// The account ids the mail goes to, the sender left out: the group's members (or its
/// référents, or those `chosen`) who are still active members of the structure.
fn recipients(
    members: &[GroupMember],
    active: &HashSet<String>,
    audience: &str,
    chosen: &[String],
    sender: Option<&str>,
) -> Vec<String> {
    let mut seen: HashSet<String> = HashSet::new();
    members
        .iter()
        .filter(|m| match audience {
            REFERENTS => m.role == GroupRole::Referent,
            CHOSEN => chosen.contains(&m.user_id),
            _ => true,
        })
        .filter(|m| Some(m.user_id.as_str()) != sender)
        .filter(|m| active.contains(&m.user_id))
        .filter(|m| seen.insert(m.user_id.clone()))
        .map(|m| m.user_id.clone())
        .collect()
}

fn one_line(text: &str) -> String {
    text.split(['\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn form_page(l: &Loaded, input: &Input, error: Option<&str>) -> Response {
    let members = l.members();
    let active = active_members();
    let me = l.me();
    let everyone = recipients(&members, &active, ALL, &[], me).len();
    let referents = recipients(&members, &active, REFERENTS, &[], me).len();
    // Those who can be ticked: the group's members who may be mailed, the sender aside
    // (the copy is theirs to ask).
    let choosable: Vec<&GroupMember> = members
        .iter()
        .filter(|m| Some(m.user_id.as_str()) != me && active.contains(&m.user_id))
        .collect();
    let audience = input.audience.as_str();
    let action = format!("{}/ecrire", l.project.path());
    let title = format!("Écrire au groupe — {}", l.project.title());
    let body = html! {
        (ui::head())
        h1 { "Écrire au groupe" }
        p class="muted" { "Projet : " a href=(href(&l.project.path())) { (l.project.title()) } }
        (alert(error))
        form class="ecrire stack" method="post" action=(href(&action)) {
            (csrf_field())
            fieldset class="destinataires" {
                legend { "Destinataires" }
                label {
                    input type="radio" name="destinataires" value=(ALL) checked[audience != REFERENTS && audience != CHOSEN];
                    " Tous les membres du projet (" (everyone) ")"
                }
                label {
                    input type="radio" name="destinataires" value=(REFERENTS) checked[audience == REFERENTS];
                    " Les référents seulement (" (referents) ")"
                }
                label {
                    input type="radio" name="destinataires" value=(CHOSEN) checked[audience == CHOSEN];
                    " Les membres que je coche ci-dessous"
                }
                @if !choosable.is_empty() {
                    fieldset class="membres" {
                        legend { "Membres du projet" }
                        @for m in &choosable {
                            label data-personne=(m.user_id) {
                                input type="checkbox" name="membre" value=(m.user_id) checked[input.chosen.contains(&m.user_id)];
                                " " (m.display_name) " (" (ui::role_label(m.role)) ")"
                            }
                        }
                    }
                }
                label class="copie" {
                    input type="checkbox" name="copie" value="1" checked[input.copy];
                    " M’envoyer une copie du message"
                }
            }
            label for="objet" { "Objet" }
            input id="objet" name="objet" required maxlength=(MAX_TITLE) value=(input.subject);
            p class="avertissement-sante" role="note" { (FORM_WARNING) }
            label for="message" { "Message" }
            textarea id="message" name="message" rows="10" required maxlength=(MAX_TEXT) { (input.message) }
            label class="sans-donnees-sante" {
                input type="checkbox" name="sans-donnees-sante" value="1" required checked[input.confirmed];
                " " (CONFIRM)
            }
            button type="submit" { "Envoyer" }
        }
    };
    let response = Response::page(&title, body);
    if error.is_some() {
        response.with_status(422)
    } else {
        response
    }
}

/// `GET /p/{g}/ecrire`.
pub fn page(group_id: &str) -> PageResult {
    let l = match managed(group_id)? {
        Ok(l) => l,
        Err(r) => return Ok(r),
    };
    Ok(form_page(&l, &Input::default(), None))
}

/// `POST /p/{g}/ecrire`: one mail to each recipient (and the sender's copy when asked),
/// the record without the message, the audit entry; 303 `/p/{g}?ok=courriel`.
pub fn send(group_id: &str, form: &Form) -> PageResult {
    let l = match managed(group_id)? {
        Ok(l) => l,
        Err(r) => return Ok(r),
    };
    let input = Input::from_form(form);
    let audience = match input.check() {
        Ok(a) => a,
        Err(e) => return Ok(form_page(&l, &input, Some(&e))),
    };
    let members = l.members();
    if audience == CHOSEN {
        let outsider = input
            .chosen
            .iter()
            .find(|id| !members.iter().any(|m| m.user_id == **id));
        if let Some(outsider) = outsider {
            // Named when they are a member of the structure; never anyone else's name.
            let reason = maillage_sdk::members()
                .into_iter()
                .find(|m| m.user_id == *outsider)
                .map(|m| format!("{} ne fait pas partie du groupe.", m.display_name))
                .unwrap_or_else(|| OUTSIDER.to_string());
            return Ok(form_page(&l, &input, Some(&reason)));
        }
    }
    let active = active_members();
    let me = l.me();
    let mut to = recipients(&members, &active, audience, &input.chosen, me);
    if to.is_empty() {
        let reason = if audience == CHOSEN {
            NOBODY_CHOSEN
        } else {
            NOBODY
        };
        return Ok(form_page(&l, &input, Some(reason)));
    }
    // The copy: the sender asked for it, and the host may mail them.
    let copy_to = me.filter(|id| input.copy && active.contains(*id));
    if let Some(id) = copy_to {
        to.push(id.to_string());
    }
    let copied = copy_to.is_some();
    let name = l.my_name();
    let whom = match audience {
        REFERENTS => "aux référents",
        CHOSEN => "à des membres",
        _ => "aux membres",
    };
    let link = format!(
        "{}{}{}",
        maillage_sdk::public_url(),
        maillage_sdk::context().base_path,
        l.project.path()
    );
    let text = format!(
        "{}\n\n—\nMessage envoyé par {name} {whom} du projet « {} ».\n{link}\n\n{HEALTH_WARNING}\n",
        input.message, l.project.name
    );
    let message = Message {
        to,
        external: Vec::new(),
        subject: format!(
            "[{}] {}",
            one_line(&l.project.name),
            one_line(&input.subject)
        ),
        text,
        html: None,
        attachments: Vec::new(),
    };
    let sent = match mail::send_in_batches(&message) {
        Ok(n) => n,
        Err(e) => {
            maillage_sdk::log::warn(&format!("group mail not sent: {e}"));
            return Ok(ui::refused(503, MAIL_FAILED));
        }
    };
    records::insert::<_, serde_json::Value>(
        GROUP_MAILS,
        &json!({
            "group_id": l.group.id,
            "subject": input.subject,
            "audience": audience,
            "recipients": sent,
            "by": me,
            "by_name": name,
        }),
    )?;
    if let Err(e) = audit::write(
        "groupe.ecrire",
        &l.project.title(),
        &json!({
            "objet": input.subject,
            "destinataires": audience,
            "nombre": sent,
            "copie": copied,
        }),
    ) {
        maillage_sdk::log::warn(&format!("audit failed: {e}"));
    }
    Ok(Response::see_other(&format!(
        "{}?ok=courriel",
        l.project.path()
    )))
}
