//! A professional's page (extract data, their fiche, the manager's status and private
//! note) and the member's own fiches ("Ma fiche", shown on "Mon compte"). A member's
//! link to a professional is a request until a gestionnaire approves it (links.rs).

use maillage_sdk::form::Form;
use maillage_sdk::html::{Markup, csrf_field, href, html, script, stylesheet};
use maillage_sdk::people::{self, Suggestion};
use maillage_sdk::records::{self, Query, StoreError, or_default};
use maillage_sdk::text::fold;
use maillage_sdk::{Response, context};
use serde::Deserialize;
use serde_json::json;

use crate::import::latest;
use crate::links;
use crate::model::{
    FICHES, NOTES, PROFESSIONALS, Professional, STATUS_HISTORY, Site, Status, Viewer,
};
use crate::rpps;

const MAX_FIELD: usize = 300;
const MAX_NOTE: usize = 5000;

/// The two fiches of a professional.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Visible inside the platform.
    Pro,
    /// Optional, meant for the public.
    Public,
}

impl Kind {
    fn parse(text: &str) -> Option<Kind> {
        match text {
            "pro" => Some(Kind::Pro),
            "publique" => Some(Kind::Public),
            _ => None,
        }
    }
    fn code(self) -> &'static str {
        match self {
            Kind::Pro => "pro",
            Kind::Public => "publique",
        }
    }
    fn title(self) -> &'static str {
        match self {
            Kind::Pro => "Fiche entre professionnels",
            Kind::Public => "Fiche publique",
        }
    }
}

/// (field, label, input type)
const FICHE_FIELDS: [(&str, &str, &str); 8] = [
    ("phone", "Téléphone", "tel"),
    ("email", "Adresse e-mail", "email"),
    (
        "appointment",
        "Prise de rendez-vous (adresse ou lien)",
        "text",
    ),
    ("website", "Site internet", "url"),
    ("activity", "Activité", "text"),
    ("specialties", "Spécialités", "text"),
    ("care", "Prises en charge", "text"),
    ("equipment", "Matériel", "text"),
];

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Fiche {
    #[serde(default, deserialize_with = "or_default")]
    pub kind: String,
    #[serde(flatten)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl Fiche {
    fn get(&self, name: &str) -> &str {
        self.fields
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
    }
    fn is_filled(&self) -> bool {
        FICHE_FIELDS.iter().any(|(f, _, _)| !self.get(f).is_empty())
    }
}

fn fiche(professional: &str, kind: Kind) -> Result<Option<Fiche>, StoreError> {
    Query::new()
        .filter("professional = {:p} && kind = {:k}")
        .param("p", professional)
        .param("k", kind.code())
        .first::<Fiche>(FICHES)
}

fn fiche_html(f: &Fiche) -> Markup {
    let photo = f.get("photo");
    html! {
        dl class="fiche" {
            @if !photo.is_empty() {
                img class="photo" src=(maillage_sdk::blobs::download_path(photo)) alt="Photo"
                    width="96";
            }
            @for (name, label, kind) in FICHE_FIELDS {
                @let value = f.get(name);
                @if !value.is_empty() {
                    dt { (label) }
                    dd {
                        @match kind {
                            "email" => {
                                a href={ "mailto:" (value) } { (value) }
                            }
                            "url" if value.starts_with("https://")
                                || value.starts_with("http://") => {
                                a href=(value) rel="noopener" { (value) }
                            }
                            _ => {
                                (value)
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct HistoryLine {
    #[serde(default, deserialize_with = "or_default")]
    from_status: String,
    to_status: String,
    #[serde(default, deserialize_with = "or_default")]
    by_name: String,
    created_at: i64,
}

#[derive(Debug, Deserialize)]
struct Note {
    id: String,
    #[serde(default, deserialize_with = "or_default")]
    text: String,
    #[serde(default, deserialize_with = "or_default")]
    by_name: String,
}

fn note_of(professional: &str) -> Result<Option<Note>, StoreError> {
    Query::new()
        .filter("professional = {:p}")
        .param("p", professional)
        .first::<Note>(NOTES)
}

/// "le 24/11/2026" from Unix seconds (UTC: precise enough for a history line).
pub(crate) fn date_of(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{day:02}/{month:02}/{year}")
}

pub fn professional_page(id: &str) -> Result<Response, StoreError> {
    let viewer = Viewer::current();
    let Some(p) = records::get::<Professional>(PROFESSIONALS, id)? else {
        return Ok(Response::not_found());
    };
    let latest = latest()?.map(|i| i.number).unwrap_or(0);
    let mut facts = vec![p.profession.clone()];
    if !p.specialties.is_empty() {
        facts.push(p.specialties.join(", "));
    }
    facts.push(rpps::describe_national_id(&p.rpps_id));
    let pro_fiche = fiche(&p.id, Kind::Pro)?.filter(Fiche::is_filled);
    let panel = if viewer.manager {
        Some(manager_panel(&p)?)
    } else {
        None
    };
    let body = html! {
        (stylesheet("annuaire.css"))
        p { a href=(href("/")) { "← Annuaire" } }
        h1 { (p.full_name()) }
        p class="muted" { (facts.join(" · ")) }
        @if let Some(status) = viewer.visible_status(&p) {
            p { "Statut : " (status.badge()) }
        }
        @if p.seen_in < latest {
            p class="notice" { "Absent du dernier import : a quitté le territoire." }
        } @else if latest > 1 && p.arrived_in == latest {
            p { span class="badge new" { "Nouvel arrivant" } }
        }
        h2 { "Lieux d’exercice" }
        ul class="sites" {
            @for site in &p.sites {
                li { (site_line(site)) }
            }
        }
        h2 { "Fiche entre professionnels" }
        @match &pro_fiche {
            Some(f) => {
                (fiche_html(f))
            }
            None => {
                p class="empty" { "Ce professionnel n’a pas encore rempli sa fiche." }
            }
        }
        @if !p.rpps_email.is_empty() && p.fiche_email.is_empty() {
            p {
                "E-mail (extrait RPPS) : "
                a href={ "mailto:" (p.rpps_email) } { (p.rpps_email) }
            }
        }
        @if let Some(panel) = panel {
            (panel)
        }
    };
    Ok(Response::page(&p.full_name(), body))
}

/// "Cabinet, 1 rue X, 74000 Annecy — Libéral — tél. 04…", as plain text.
fn site_line(site: &Site) -> String {
    let mut line = [site.name.as_str(), site.address.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    line.push_str(&format!(", {} {}", site.postal_code, site.commune));
    if !site.mode.is_empty() {
        line.push_str(&format!(" — {}", site.mode));
    }
    if !site.phone.is_empty() {
        line.push_str(&format!(" — tél. {}", site.phone));
    }
    line
}

fn manager_panel(p: &Professional) -> Result<Markup, StoreError> {
    let history = Query::new()
        .filter("professional = {:p}")
        .param("p", &p.id)
        .sort("-created_at")
        .limit(20)
        .fetch::<HistoryLine>(STATUS_HISTORY)?
        .0;
    let note = note_of(&p.id)?;
    let requests = links::pending_for(&p.id)?;
    let status_label = |code: &str| Status::parse(code).unwrap_or(Status::Unknown).label();
    Ok(html! {
        section class="manager" aria-labelledby="gestion" {
            h2 id="gestion" { "Gestion (gestionnaires)" }
            form method="post" action=(href(&format!("/p/{}/statut", p.id))) class="inline" {
                (csrf_field())
                label for="statut" { "Statut" }
                select id="statut" name="statut" {
                    @for status in Status::ALL {
                        option value=(status.code()) selected[status == p.status()] {
                            (status.label())
                        }
                    }
                }
                " "
                button type="submit" { "Enregistrer le statut" }
            }
            @if !history.is_empty() {
                h3 { "Historique des statuts" }
                ul class="history" {
                    @for h in &history {
                        li {
                            (date_of(h.created_at))
                            " : "
                            (status_label(&h.from_status))
                            " → "
                            (status_label(&h.to_status))
                            " (par "
                            (h.by_name)
                            ")"
                        }
                    }
                }
            }
            @if !requests.is_empty() {
                h3 { "Demandes de liaison en attente" }
                ul class="link-requests" {
                    @for request in &requests {
                        li {
                            (request.by_name) " (le " (date_of(request.updated_at)) ")"
                        }
                    }
                }
                p { a href=(href("/demandes")) { "Traiter les demandes de liaison" } }
            }
            @if p.user_id.is_some() {
                // The link was approved by a gestionnaire (or made before links were
                // verified); a gestionnaire can undo a wrong one.
                form method="post" action=(href(&format!("/p/{}/delier", p.id))) class="inline" {
                    (csrf_field())
                    p {
                        "Fiche reliée à un compte de la structure. "
                        button type="submit" class="secondary" { "Délier le compte" }
                    }
                }
            }
            form method="post" action=(href(&format!("/p/{}/note", p.id))) class="stack" {
                (csrf_field())
                label for="note" {
                    "Note privée "
                    small { "(visible uniquement des gestionnaires de la structure)" }
                }
                textarea id="note" name="note" rows="4" maxlength=(MAX_NOTE) {
                    (note.as_ref().map(|n| n.text.as_str()).unwrap_or_default())
                }
                button type="submit" { "Enregistrer la note" }
            }
            @if let Some(n) = note.as_ref().filter(|n| !n.by_name.is_empty()) {
                p class="muted" { "Dernière modification par " (n.by_name) "." }
            }
        }
    })
}

pub(crate) fn acting_name() -> String {
    context().user.map(|u| u.display_name).unwrap_or_default()
}

/// Proposes to the structure's « Fiche membre » what the directory knows of the member
/// linked to `p`: the profession of their record and, when `adherent` is known, their
/// adhesion (`people.suggest`; an admin's own entries always win). A refusal is only
/// logged: it never fails the member's or the manager's action.
pub(crate) fn suggest_to_people(user_id: &str, p: &Professional, adherent: Option<bool>) {
    let suggestion = Suggestion {
        profession: Some(p.profession.clone()).filter(|label| !label.is_empty()),
        adherent,
    };
    if let Err(e) = people::suggest(user_id, &suggestion) {
        maillage_sdk::log::warn(&format!(
            "people.suggest for the account linked to professional {} refused: {e}",
            p.id
        ));
    }
}

pub fn set_status(id: &str, form: &Form) -> Result<Response, StoreError> {
    if !Viewer::current().manager {
        return Ok(Response::error(
            403,
            "Seuls les gestionnaires de l’annuaire peuvent changer un statut.",
        ));
    }
    let Some(status) = Status::parse(&form.get("statut")) else {
        return Ok(Response::error(400, "Statut inconnu."));
    };
    let Some(p) = records::get::<Professional>(PROFESSIONALS, id)? else {
        return Ok(Response::not_found());
    };
    if p.status() != status {
        records::update::<serde_json::Value>(
            PROFESSIONALS,
            id,
            &json!({ "status": status.code() }),
        )?;
        records::insert::<_, serde_json::Value>(
            STATUS_HISTORY,
            &json!({
                "professional": id,
                "from_status": p.status().code(),
                "to_status": status.code(),
                "by_user": context().user.map(|u| u.id),
                "by_name": acting_name(),
            }),
        )?;
        // A professional linked to an account: the new status says whether they adhere.
        if let Some(user_id) = &p.user_id {
            suggest_to_people(user_id, &p, Some(status == Status::Adherent));
        }
    }
    Ok(Response::see_other(&format!("/p/{id}")))
}

pub fn set_note(id: &str, form: &Form) -> Result<Response, StoreError> {
    if !Viewer::current().manager {
        return Ok(Response::error(
            403,
            "Seuls les gestionnaires de l’annuaire peuvent écrire une note.",
        ));
    }
    if records::get::<Professional>(PROFESSIONALS, id)?.is_none() {
        return Ok(Response::not_found());
    }
    let text: String = form.get("note").trim().chars().take(MAX_NOTE).collect();
    match (note_of(id)?, text.is_empty()) {
        (Some(note), true) => {
            records::delete(NOTES, &note.id)?;
        }
        (None, true) => {}
        (_, false) => {
            records::upsert::<_, serde_json::Value>(
                NOTES,
                &["professional"],
                &json!({ "professional": id, "text": text, "by_name": acting_name() }),
            )?;
        }
    }
    Ok(Response::see_other(&format!("/p/{id}")))
}

/// A gestionnaire removes the link between an account and a professional.
pub fn unlink(id: &str) -> Result<Response, StoreError> {
    if !Viewer::current().manager {
        return Ok(Response::error(
            403,
            "Seuls les gestionnaires de l’annuaire peuvent délier un compte.",
        ));
    }
    // What the link brought goes with it: the fiches the account wrote (a false link
    // must not leave its phone or e-mail in the directory) and what they fed.
    let unlinked = records::update::<serde_json::Value>(
        PROFESSIONALS,
        id,
        &json!({
            "user_id": null,
            "fiche_filled": false,
            "fiche_email": "",
            "care_key": "",
            "equipment_key": "",
        }),
    )?;
    if unlinked.is_none() {
        return Ok(Response::not_found());
    }
    links::forget_approved(id)?;
    let fiches: Vec<serde_json::Value> = Query::new()
        .filter("professional = {:p}")
        .param("p", id)
        .fetch(FICHES)?
        .0;
    for fiche in fiches {
        if let Some(fiche_id) = fiche["id"].as_str() {
            records::delete(FICHES, fiche_id)?;
        }
    }
    Ok(Response::see_other(&format!("/p/{id}")))
}

/// The professional linked to the acting account, if any: an approved link only (a
/// pending request gives no rights, see links.rs).
pub fn my_professional() -> Result<Option<Professional>, StoreError> {
    let Some(user) = context().user else {
        return Ok(None);
    };
    Query::new()
        .filter("user_id = {:u}")
        .param("u", user.id)
        .first::<Professional>(PROFESSIONALS)
}

fn alert(message: &str) -> Markup {
    html! { div class="alert" role="alert" { (message) } }
}

pub fn my_fiche_page(error: Option<&str>) -> Result<Response, StoreError> {
    let head = html! {
        (stylesheet("annuaire.css"))
        h1 { "Ma fiche" }
        @if let Some(error) = error {
            (alert(error))
        }
    };
    let Some(p) = my_professional()? else {
        let open = match context().user {
            Some(user) => links::my_open_request(&user.id)?,
            None => None,
        };
        let body = html! {
            (head)
            @if let Some((request, professional)) = &open {
                (links::request_notice(request, professional))
            }
            p {
                "Reliez votre compte à votre fiche de l’annuaire avec votre numéro RPPS \
                 (11 chiffres) ou, si vous n’en avez pas encore, votre numéro ADELI \
                 (9 caractères). Un gestionnaire de l’annuaire vérifie chaque demande \
                 avant que vous puissiez modifier la fiche."
            }
            @if open.as_ref().is_some_and(|(r, _)| r.status() == crate::model::LinkStatus::Pending) {
                p class="muted" {
                    "Une nouvelle demande remplace celle qui est en attente."
                }
            }
            form method="post" action=(href("/ma-fiche/lien")) class="stack" {
                (csrf_field())
                label for="rpps" { "Numéro RPPS ou ADELI" }
                input id="rpps" name="rpps" autocomplete="off" maxlength="16" required;
                button type="submit" { "Demander à relier mon compte" }
            }
        };
        return Ok(Response::page("Ma fiche", body));
    };
    let viewer = Viewer::current();
    let mut fiches = Vec::new();
    for kind in [Kind::Pro, Kind::Public] {
        fiches.push((kind, fiche(&p.id, kind)?.unwrap_or_default()));
    }
    let ctx = context();
    let upload = format!("/{}/fichiers/{}", ctx.structure, crate::MODULE_ID);
    let body = html! {
        (head)
        p {
            "Compte relié à "
            a href=(href(&format!("/p/{}", p.id))) { (p.full_name()) }
            " (" (p.profession) ", " (rpps::describe_national_id(&p.rpps_id)) ")."
        }
        @if let Some(status) = viewer.visible_status(&p).filter(|s| *s != Status::Unknown) {
            p { "Votre statut : " (status.badge()) }
        }
        @for (kind, f) in &fiches {
            section {
                h2 { (kind.title()) }
                @match kind {
                    Kind::Pro => {
                        p class="muted" {
                            "Visible des membres de la structure ; vos prises en charge et \
                             votre matériel aident à vous trouver."
                        }
                    }
                    Kind::Public => {
                        p class="muted" { "Facultative, destinée au public." }
                    }
                }
                form method="post" action=(href(&format!("/ma-fiche/{}", kind.code())))
                    class="stack fiche-form" {
                    (csrf_field())
                    @for (name, field_label, input_type) in FICHE_FIELDS {
                        @let id = format!("{}-{name}", kind.code());
                        label for=(id) { (field_label) }
                        input id=(id) name=(name) type=(input_type) maxlength=(MAX_FIELD)
                            value=(f.get(name));
                    }
                    @let photo = f.get("photo");
                    input type="hidden" name="photo" value=(photo);
                    @if !photo.is_empty() {
                        img class="photo" src=(maillage_sdk::blobs::download_path(photo))
                            alt="Photo actuelle" width="96";
                    }
                    label for={ (kind.code()) "-photo-file" } { "Photo (JPEG ou PNG)" }
                    // photo.js sends the file to `data-photo-upload` with the form's token.
                    input id={ (kind.code()) "-photo-file" } type="file"
                        accept="image/jpeg,image/png" data-photo-upload=(upload)
                        data-csrf=(ctx.csrf_token);
                    button type="submit" { "Enregistrer la " (kind.title().to_lowercase()) }
                }
            }
        }
        (script("photo.js"))
    };
    Ok(Response::page("Ma fiche", body))
}

pub fn link(form: &Form) -> Result<Response, StoreError> {
    let Some(user) = context().user else {
        return Ok(Response::error(
            403,
            "Connectez-vous pour relier votre fiche.",
        ));
    };
    // The RPPS number (11 digits), the ADELI number (9 characters) or the national
    // identifier itself: all name the same professional.
    let Some(rpps) = rpps::national_id_from_input(&form.get("rpps")) else {
        return my_fiche_page(Some(
            "Saisissez votre numéro RPPS (11 chiffres) ou ADELI (9 caractères).",
        ))
        .map(|r| r.with_status(400));
    };
    let found = Query::new()
        .filter("rpps_id = {:r}")
        .param("r", &rpps)
        .first::<Professional>(PROFESSIONALS)?;
    let Some(p) = found else {
        return my_fiche_page(Some(
            "Aucun professionnel du territoire n’a ce numéro dans l’annuaire.",
        ))
        .map(|r| r.with_status(400));
    };
    // One professional per account: a second link is refused, not a server error.
    if let Some(mine) = my_professional()? {
        if mine.id == p.id {
            return Ok(Response::see_other("/ma-fiche"));
        }
        return my_fiche_page(Some(&format!(
            "Votre compte est déjà relié à la fiche de {}. Demandez à un gestionnaire de l’annuaire de le délier d’abord.",
            mine.full_name()
        )))
        .map(|r| r.with_status(409));
    }
    if p.user_id.as_ref().is_some_and(|u| *u != user.id) {
        return my_fiche_page(Some(
            "Ce numéro est déjà relié à un autre compte. Contactez un gestionnaire de l’annuaire.",
        ))
        .map(|r| r.with_status(409));
    }
    // A request, not a link: a gestionnaire approves it (links.rs), unless the member
    // signs in with the very address the national extract gives for the professional
    // (the host compares; the module never learns the account's address).
    let request = links::ask(&user.id, &p)?;
    if !p.rpps_email.trim().is_empty() && maillage_sdk::account_email_is(&p.rpps_email) {
        links::grant(&request, &p, links::AUTOMATIC)?;
    }
    Ok(Response::see_other("/ma-fiche"))
}

pub fn save(kind: &str, form: &Form) -> Result<Response, StoreError> {
    let Some(kind) = Kind::parse(kind) else {
        return Ok(Response::not_found());
    };
    let Some(p) = my_professional()? else {
        return Ok(Response::see_other("/ma-fiche"));
    };
    let mut data = serde_json::Map::new();
    for (name, _, input) in FICHE_FIELDS {
        let value: String = form.get(name).trim().chars().take(MAX_FIELD).collect();
        if input == "email" && !value.is_empty() && !value.contains('@') {
            return my_fiche_page(Some("L’adresse e-mail n’est pas valide."))
                .map(|r| r.with_status(400));
        }
        data.insert(name.into(), json!(value));
    }
    let photo = form.get("photo");
    if !photo.is_empty() && maillage_sdk::blobs::info(&photo).is_none() {
        return my_fiche_page(Some("La photo envoyée est introuvable ; renvoyez-la."))
            .map(|r| r.with_status(400));
    }
    data.insert("photo".into(), json!(photo));
    data.insert("professional".into(), json!(p.id));
    data.insert("kind".into(), json!(kind.code()));
    data.insert("user_id".into(), json!(context().user.map(|u| u.id)));
    let fiche = Fiche {
        kind: kind.code().into(),
        fields: data.clone(),
    };
    records::upsert::<_, serde_json::Value>(FICHES, &["professional", "kind"], &data)?;
    if kind == Kind::Pro {
        // What the search and the communication page read, kept on the professional.
        records::update::<serde_json::Value>(
            PROFESSIONALS,
            &p.id,
            &json!({
                "fiche_filled": fiche.is_filled(),
                "fiche_email": fiche.get("email"),
                "care_key": fold(fiche.get("care")),
                "equipment_key": fold(fiche.get("equipment")),
            }),
        )?;
    }
    Ok(Response::see_other("/ma-fiche"))
}

/// The fragment "Mon compte" shows: the linked professional and the fiches.
pub fn account_fragment() -> Result<Response, StoreError> {
    let body = match my_professional()? {
        None => {
            let open = match context().user {
                Some(user) => links::my_open_request(&user.id)?,
                None => None,
            };
            html! {
                @match &open {
                    Some((request, professional)) => {
                        (links::request_notice(request, professional))
                        p { a href=(href("/ma-fiche")) { "Ma fiche" } }
                    }
                    None => {
                        p {
                            "Votre compte n’est pas relié à une fiche de l’annuaire. "
                            a href=(href("/ma-fiche")) { "Relier ma fiche" }
                        }
                    }
                }
            }
        }
        Some(p) => {
            let mut fiches = Vec::new();
            for kind in [Kind::Pro, Kind::Public] {
                fiches.push((kind, fiche(&p.id, kind)?.filter(Fiche::is_filled)));
            }
            html! {
                (stylesheet("annuaire.css"))
                p { (p.full_name()) " — " (p.profession) " (" (rpps::describe_national_id(&p.rpps_id)) ")" }
                @for (kind, f) in &fiches {
                    h3 { (kind.title()) }
                    @match f {
                        Some(f) => {
                            (fiche_html(f))
                        }
                        None => {
                            p class="empty" { "Non renseignée." }
                        }
                    }
                }
                p { a class="button" href=(href("/ma-fiche")) { "Modifier mes fiches" } }
            }
        }
    };
    Ok(Response::fragment(body))
}
