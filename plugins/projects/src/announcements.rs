//! Announcements of the structure (docs/projects-contract.md, « Announcements »): every
//! member reads them, pinned first then newest; coordinators and holders of the module
//! role `annonces` publish, edit, delete and mail them (once) to every active member;
//! the `announcements` dashboard widget shows the three latest still on display.

use maillage_sdk::form::Form;
use maillage_sdk::html::{Markup, alert, csrf_field, href, html};
use maillage_sdk::mail::{self, Message};
use maillage_sdk::records::{self, Query, StoreError, or_default};
use maillage_sdk::{Response, audit, fr, time};
use serde::Deserialize;
use serde_json::json;

use crate::discussion::HEALTH_WARNING;
use crate::model::{ANNOUNCEMENTS, MAX_TEXT, MAX_TITLE};
use crate::ui::{self, PageResult};

/// The module role of those who publish announcements without being coordinators.
pub const ROLE: &str = "annonces";

/// Announcements a page reads at most.
const LIST_MAX: usize = 500;
/// Announcements the widget shows.
const WIDGET_MAX: usize = 3;
/// Characters of the text the widget shows.
const EXCERPT: usize = 300;

/// Above the form: an announcement may leave by mail.
pub const FORM_WARNING: &str =
    "N’écrivez aucune donnée de santé : cette annonce peut être envoyée par courriel.";
const ONLY_PUBLISHERS: &str = "Seuls les coordinateurs et les personnes chargées de la rédaction des annonces publient, modifient et envoient les annonces.";
const ALREADY_MAILED: &str = "Cette annonce a déjà été envoyée.";
const MAIL_FAILED: &str =
    "L’annonce n’a pas pu être envoyée par courriel : rien n’a été enregistré. Veuillez réessayer.";

#[derive(Debug, Clone, Deserialize)]
pub struct Announcement {
    pub id: String,
    #[serde(default, deserialize_with = "or_default")]
    pub title: String,
    #[serde(default, deserialize_with = "or_default")]
    pub text: String,
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub author_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub pinned: bool,
    #[serde(default)]
    pub until: Option<String>,
    #[serde(default)]
    pub mailed_at: Option<i64>,
    #[serde(default, deserialize_with = "or_default")]
    pub mailed_count: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub mailed_by_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub edited: bool,
    #[serde(default)]
    pub created_at: i64,
}

/// Coordinators (host roles `coordinator`, `admin`) and holders of [`ROLE`].
pub fn publisher() -> bool {
    let ctx = maillage_sdk::context();
    ctx.user.is_some()
        && ctx
            .roles
            .iter()
            .any(|r| r == "coordinator" || r == "admin" || r == ROLE)
}

/// The acting member: (account id, name).
fn me() -> Option<(String, String)> {
    maillage_sdk::context().user.map(|u| (u.id, u.display_name))
}

/// Pinned first, then newest (same second: the later id first).
pub fn sort(list: &mut [Announcement]) {
    list.sort_by(|a, b| {
        b.pinned
            .cmp(&a.pinned)
            .then(b.created_at.cmp(&a.created_at))
            .then_with(|| b.id.cmp(&a.id))
    });
}

fn all_sorted() -> Result<Vec<Announcement>, StoreError> {
    let mut list: Vec<Announcement> = Query::new()
        .sort("-created_at")
        .fetch_all(ANNOUNCEMENTS, LIST_MAX)?;
    sort(&mut list);
    Ok(list)
}

/// The announcement of a path; none for a malformed or unknown id (another structure's
/// ids are unknown: the host scopes the store).
fn find(id: &str) -> Result<Option<Announcement>, StoreError> {
    if !records::valid_id(id) {
        return Ok(None);
    }
    records::get::<Announcement>(ANNOUNCEMENTS, id)
}

/// An instant's day in the structure's zone: ("2026-12-03", « jeudi 3 décembre 2026 »).
fn day_of(at: i64) -> (String, String) {
    let zone = time::zone_or_default(&maillage_sdk::context().time_zone);
    let date = time::local(time::from_seconds(at), &zone).date();
    (time::date_input(date), time::date_fr(date))
}

/// A subject line: no line breaks.
fn one_line(text: &str) -> String {
    text.split(['\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first [`EXCERPT`] characters, « … » when cut.
fn excerpt(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(EXCERPT).collect();
    if chars.next().is_some() {
        format!("{}…", head.trim_end())
    } else {
        head
    }
}

/// What the form carries.
#[derive(Debug, Clone, Default)]
struct Input {
    title: String,
    text: String,
    pinned: bool,
    until: String,
    send: bool,
}

impl Input {
    fn from_form(form: &Form) -> Input {
        Input {
            title: form.get("titre"),
            text: form.get("texte"),
            pinned: form.get("epinglee") == "1",
            until: form.get("jusquau"),
            send: form.get("envoyer") == "1",
        }
    }

    fn from_record(a: &Announcement) -> Input {
        Input {
            title: a.title.clone(),
            text: a.text.clone(),
            pinned: a.pinned,
            until: a.until.clone().unwrap_or_default(),
            send: false,
        }
    }

    /// The record's fields, or the French reason. `stored_until`: the date already
    /// stored, kept even once past.
    fn check(&self, stored_until: Option<&str>) -> Result<serde_json::Value, String> {
        if self.title.is_empty() || !ui::fits(&self.title, MAX_TITLE) {
            return Err(format!(
                "Le titre de l’annonce est obligatoire (au plus {MAX_TITLE} caractères)."
            ));
        }
        if self.text.is_empty() || !ui::fits(&self.text, MAX_TEXT) {
            return Err(
                "Le texte de l’annonce est obligatoire (au plus 10\u{202f}000 caractères).".into(),
            );
        }
        let until = ui::optional_date(&self.until).map_err(|_| {
            "La date de fin d’affichage est invalide : choisissez une date ou laissez le champ vide."
                .to_string()
        })?;
        if let Some(day) = until.as_deref()
            && day < ui::today().as_str()
            && Some(day) != stored_until
        {
            return Err("La date de fin d’affichage est déjà passée.".into());
        }
        Ok(json!({
            "title": self.title,
            "text": self.text,
            "pinned": self.pinned,
            "until": until,
        }))
    }
}

fn form_page(editing: Option<&Announcement>, input: &Input, error: Option<&str>) -> Response {
    let (title, action) = match editing {
        Some(a) => ("Modifier l’annonce", format!("/annonces/{}/modifier", a.id)),
        None => ("Nouvelle annonce", "/annonces/nouvelle".to_string()),
    };
    let body = html! {
        (ui::head())
        h1 { (title) }
        p { a href=(href("/annonces")) { "Toutes les annonces" } }
        (alert(error))
        p class="avertissement-sante" role="note" { (FORM_WARNING) }
        form class="annonce stack" method="post" action=(href(&action)) {
            (csrf_field())
            label for="titre" { "Titre" }
            input id="titre" name="titre" required maxlength=(MAX_TITLE) value=(input.title);
            label for="texte" { "Texte" }
            textarea id="texte" name="texte" rows="10" required maxlength=(MAX_TEXT) { (input.text) }
            label {
                input type="checkbox" name="epinglee" value="1" checked[input.pinned];
                " Épingler en tête des annonces"
            }
            label for="jusquau" { "Sur le tableau de bord jusqu’au (facultatif)" }
            input id="jusquau" type="date" name="jusquau" value=(input.until);
            @if editing.is_none() {
                label {
                    input type="checkbox" name="envoyer" value="1" checked[input.send];
                    " Envoyer aussi par courriel à tous les membres de la structure"
                }
            }
            button type="submit" {
                @if editing.is_none() { "Publier" } @else { "Enregistrer" }
            }
        }
    };
    let response = Response::page(title, body);
    if error.is_some() {
        response.with_status(422)
    } else {
        response
    }
}

/// One announcement of the list: `article.annonce[data-annonce]`.
fn article(a: &Announcement, can_publish: bool) -> Markup {
    let (day, day_fr) = day_of(a.created_at);
    html! {
        article id={ "annonce-" (a.id) } class=(if a.pinned { "annonce epinglee" } else { "annonce" }) data-annonce=(a.id) {
            h2 { (a.title) }
            p class="muted" {
                @if a.pinned {
                    span class="badge" { "Épinglée" }
                    " "
                }
                span class="date" data-date=(day) { "Publiée le " (day_fr) }
                @if !a.author_name.is_empty() {
                    " par " span class="auteur" { (a.author_name) }
                }
                @if a.edited {
                    " · " span class="modifiee" { "modifiée" }
                }
            }
            div class="texte" { p { (ui::lines(&a.text)) } }
            @if let Some(until) = &a.until {
                p class="muted jusqu-au" data-date=(until) {
                    "Sur le tableau de bord jusqu’au " (fr::date_short(until))
                }
            }
            @if let Some(at) = a.mailed_at {
                p class="envoyee" {
                    "Envoyée par courriel le " (day_of(at).1)
                    " à " (a.mailed_count)
                    @if a.mailed_count > 1 { " membres" } @else { " membre" }
                    @if !a.mailed_by_name.is_empty() { ", par " (a.mailed_by_name) }
                    "."
                }
            }
            @if can_publish {
                div class="actions-annonce" {
                    a class="button" href=(href(&format!("/annonces/{}/modifier", a.id))) { "Modifier" }
                    @if a.mailed_at.is_none() {
                        form class="envoyer" method="post" action=(href(&format!("/annonces/{}/envoyer", a.id))) {
                            (csrf_field())
                            button type="submit" { "Envoyer par courriel" }
                        }
                    }
                    form class="supprimer" method="post" action=(href(&format!("/annonces/{}/supprimer", a.id))) {
                        (csrf_field())
                        button type="submit" class="link" { "Supprimer" }
                    }
                }
            }
        }
    }
}

/// `GET /annonces` (every member).
pub fn list(query: &str) -> PageResult {
    let can_publish = publisher();
    let all = all_sorted()?;
    let body = html! {
        (ui::head())
        div class="toolbar" {
            h1 { "Annonces" }
            @if can_publish {
                a class="button" href=(href("/annonces/nouvelle")) { "Nouvelle annonce" }
            }
        }
        (ui::notice(query))
        @if all.is_empty() {
            p class="empty" { "Aucune annonce pour le moment." }
        }
        div class="annonces" {
            @for a in &all {
                (article(a, can_publish))
            }
        }
    };
    Ok(Response::page("Annonces", body))
}

/// `GET /annonces/nouvelle`.
pub fn new_page() -> PageResult {
    if !publisher() {
        return ui::forbidden(ONLY_PUBLISHERS);
    }
    Ok(form_page(None, &Input::default(), None))
}

/// `POST /annonces/nouvelle`; with `envoyer=1`, mailed in the same call.
pub fn create(form: &Form) -> PageResult {
    if !publisher() {
        return ui::forbidden(ONLY_PUBLISHERS);
    }
    let Some((my_id, my_name)) = me() else {
        return ui::forbidden(ONLY_PUBLISHERS);
    };
    let input = Input::from_form(form);
    let mut fields = match input.check(None) {
        Ok(f) => f,
        Err(e) => return Ok(form_page(None, &input, Some(&e))),
    };
    fields["author"] = json!(my_id);
    fields["author_name"] = json!(my_name);
    fields["edited"] = json!(false);
    let saved: Announcement = records::insert(ANNOUNCEMENTS, &fields)?;
    if let Err(e) = audit::write(
        "annonce.publier",
        &saved.title,
        &json!({ "annonce": saved.id, "epinglee": saved.pinned, "jusquau": saved.until }),
    ) {
        maillage_sdk::log::warn(&format!("audit failed: {e}"));
    }
    if input.send
        && let Err(refused) = mail_out(&saved, &my_name)?
    {
        return Ok(refused);
    }
    Ok(Response::see_other("/annonces?ok=annonce"))
}

/// `GET /annonces/{id}/modifier`.
pub fn edit_page(id: &str) -> PageResult {
    let Some(a) = find(id)? else {
        return Ok(Response::not_found());
    };
    if !publisher() {
        return ui::forbidden(ONLY_PUBLISHERS);
    }
    Ok(form_page(Some(&a), &Input::from_record(&a), None))
}

/// `POST /annonces/{id}/modifier`.
pub fn update(id: &str, form: &Form) -> PageResult {
    let Some(a) = find(id)? else {
        return Ok(Response::not_found());
    };
    if !publisher() {
        return ui::forbidden(ONLY_PUBLISHERS);
    }
    let input = Input::from_form(form);
    let mut fields = match input.check(a.until.as_deref()) {
        Ok(f) => f,
        Err(e) => return Ok(form_page(Some(&a), &input, Some(&e))),
    };
    fields["edited"] = json!(true);
    let Some(saved) = records::update::<Announcement>(ANNOUNCEMENTS, &a.id, &fields)? else {
        return Ok(Response::not_found());
    };
    if let Err(e) = audit::write(
        "annonce.modifier",
        &saved.title,
        &json!({
            "annonce": saved.id,
            "avant": { "titre": a.title, "epinglee": a.pinned, "jusquau": a.until },
            "apres": { "titre": saved.title, "epinglee": saved.pinned, "jusquau": saved.until },
        }),
    ) {
        maillage_sdk::log::warn(&format!("audit failed: {e}"));
    }
    Ok(Response::see_other("/annonces?ok=annonce"))
}

/// `POST /annonces/{id}/supprimer`.
pub fn delete(id: &str) -> PageResult {
    let Some(a) = find(id)? else {
        return Ok(Response::not_found());
    };
    if !publisher() {
        return ui::forbidden(ONLY_PUBLISHERS);
    }
    records::delete(ANNOUNCEMENTS, &a.id)?;
    if let Err(e) = audit::write(
        "annonce.supprimer",
        &a.title,
        &json!({ "annonce": a.id, "envoyee": a.mailed_at.is_some() }),
    ) {
        maillage_sdk::log::warn(&format!("audit failed: {e}"));
    }
    Ok(Response::see_other("/annonces?ok=annonce-supprimee"))
}

/// `POST /annonces/{id}/envoyer`: once (409 after).
pub fn send(id: &str) -> PageResult {
    let Some(a) = find(id)? else {
        return Ok(Response::not_found());
    };
    if !publisher() {
        return ui::forbidden(ONLY_PUBLISHERS);
    }
    if a.mailed_at.is_some() {
        return Ok(ui::refused(409, ALREADY_MAILED));
    }
    let Some((_, my_name)) = me() else {
        return ui::forbidden(ONLY_PUBLISHERS);
    };
    Ok(match mail_out(&a, &my_name)? {
        Ok(count) => Response::see_other(&format!("/annonces?ok=envoyee&n={count}")),
        Err(refused) => refused,
    })
}

/// Mails the announcement to every active member of the structure, in this call's
/// transaction, and records it as mailed; how many were queued, or the answer when the
/// host refused the mail (a 503: nothing of the call is kept).
fn mail_out(a: &Announcement, sender_name: &str) -> Result<Result<u32, Response>, StoreError> {
    let to: Vec<String> = maillage_sdk::members()
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    let count = if to.is_empty() {
        0
    } else {
        let ctx = maillage_sdk::context();
        let link = format!("{}{}/annonces", maillage_sdk::public_url(), ctx.base_path);
        let author = if a.author_name.is_empty() {
            sender_name.to_string()
        } else {
            a.author_name.clone()
        };
        let text = format!(
            "{}\n\n{}\n\n—\nAnnonce de {} publiée par {author}.\nToutes les annonces : {link}\n\n{HEALTH_WARNING}\n",
            a.title, a.text, ctx.structure_name
        );
        let message = Message {
            to,
            external: Vec::new(),
            subject: format!("Annonce : {}", one_line(&a.title)),
            text,
            html: None,
            attachments: Vec::new(),
        };
        match mail::send_in_batches(&message) {
            Ok(n) => n,
            Err(e) => {
                maillage_sdk::log::warn(&format!("announcement mail not sent: {e}"));
                return Ok(Err(ui::refused(503, MAIL_FAILED)));
            }
        }
    };
    records::update::<serde_json::Value>(
        ANNOUNCEMENTS,
        &a.id,
        &json!({
            "mailed_at": time::now_seconds(),
            "mailed_count": count,
            "mailed_by_name": sender_name,
        }),
    )?;
    if let Err(e) = audit::write(
        "annonce.envoyer",
        &a.title,
        &json!({ "annonce": a.id, "destinataires": count }),
    ) {
        maillage_sdk::log::warn(&format!("audit failed: {e}"));
    }
    Ok(Ok(count))
}

/// `GET /widget/annonces` (`announcements`): the three latest still on display (`until`
/// not past), pinned first.
pub fn widget() -> PageResult {
    let today = ui::today();
    let shown: Vec<Announcement> = all_sorted()?
        .into_iter()
        .filter(|a| a.until.as_deref().is_none_or(|u| u >= today.as_str()))
        .take(WIDGET_MAX)
        .collect();
    Ok(Response::fragment(html! {
        div class="widget-annonces" {
            @if shown.is_empty() {
                p class="empty" { "Aucune annonce." }
            } @else {
                ul {
                    @for a in &shown {
                        @let day = day_of(a.created_at).0;
                        li class=(if a.pinned { "annonce epinglee" } else { "annonce" }) data-annonce=(a.id) {
                            @if a.pinned {
                                span class="badge" { "Épinglée" }
                                " "
                            }
                            a href=(href(&format!("/annonces#annonce-{}", a.id))) { (a.title) }
                            " · "
                            span class="muted" data-date=(day) { (fr::date_short(&day)) }
                            p class="extrait" { (excerpt(&a.text)) }
                        }
                    }
                }
            }
            p { a href=(href("/annonces")) { "Toutes les annonces" } }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn announcement(id: &str, pinned: bool, created_at: i64) -> Announcement {
        Announcement {
            id: id.into(),
            title: id.into(),
            text: String::new(),
            author: None,
            author_name: String::new(),
            pinned,
            until: None,
            mailed_at: None,
            mailed_count: 0,
            mailed_by_name: String::new(),
            edited: false,
            created_at,
        }
    }

    #[test]
    fn pinned_first_then_newest() {
        let mut list = vec![
            announcement("a", false, 10),
            announcement("b", true, 5),
            announcement("c", false, 20),
            announcement("d", false, 20),
            announcement("e", true, 8),
        ];
        sort(&mut list);
        let ids: Vec<&str> = list.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["e", "b", "d", "c", "a"]);
    }

    #[test]
    fn excerpts_cut_long_texts_only() {
        assert_eq!(excerpt("Court."), "Court.");
        let long = "é".repeat(EXCERPT + 5);
        let cut = excerpt(&long);
        assert!(cut.ends_with('…'));
        assert_eq!(cut.chars().count(), EXCERPT + 1);
        assert_eq!(
            one_line("Titre\r\nsur deux lignes"),
            "Titre sur deux lignes"
        );
    }
}
