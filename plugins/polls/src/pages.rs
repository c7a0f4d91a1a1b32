//! The pages: list, widget, create and edit forms, the poll with its results table and
//! answer form, and the confirmations. CSS hooks (`table.results`, `td.count`,
//! `td.best`, `td.pending`, `span.own-zone`, `#sans-reponse`, `#date-retenue`) are part
//! of the contract (docs/polls-contract.md).

use std::collections::HashSet;

use maillage_sdk::form::Form;
use maillage_sdk::html::{Markup, alert, csrf_field, href, html, stylesheet};
use maillage_sdk::records::StoreError;
use maillage_sdk::time::jiff::tz::TimeZone;
use maillage_sdk::{Response, fr, groups, time};

use crate::actions;
use crate::model::{
    self, Access, Answer, Audience, Choice, Kind, MAX_COMMENT, MAX_DESCRIPTION, MAX_PLACE,
    MAX_SLOTS, MAX_TITLE, MAX_VIDEO, Poll, Slot, Tally, Viewer, Visibility, structure_members,
};

type PageResult = Result<Response, StoreError>;

/// Offered in the zone field (any IANA zone may be typed).
const ZONES: [&str; 10] = [
    "Europe/Paris",
    "America/Cayenne",
    "America/Guadeloupe",
    "America/Martinique",
    "America/Miquelon",
    "Indian/Reunion",
    "Indian/Mayotte",
    "Pacific/Noumea",
    "Pacific/Tahiti",
    "Pacific/Wallis",
];

/// A path of the poll, e.g. `poll_href(poll, "/answer")`.
fn poll_href(poll: &Poll, rest: &str) -> String {
    href(&format!("/p/{}{rest}", poll.id))
}

fn people(count: usize) -> String {
    if count == 1 {
        "1 personne".to_string()
    } else {
        format!("{count} personnes")
    }
}

/// An instant in the structure's zone, plus the viewer's own when it has one.
fn instant_text(at: i64, viewer: &Viewer) -> (String, Option<String>) {
    let at = time::from_seconds(at);
    let own = viewer
        .own_zone
        .as_ref()
        .map(|own| time::instant_in_other_zone_fr(at, &viewer.zone, own));
    (time::instant_fr(at, &viewer.zone), own)
}

/// `GET /`: the viewer's pending polls, the open ones, the closed ones.
pub fn list() -> PageResult {
    let viewer = Viewer::current();
    let polls = model::recent_polls()?;
    let answered = match &viewer.id {
        Some(me) => model::answered_by(me)?,
        None => HashSet::new(),
    };
    let now = time::now_seconds();
    let mut waiting: Vec<&Poll> = Vec::new();
    let mut running: Vec<&Poll> = Vec::new();
    let mut closed: Vec<&Poll> = Vec::new();
    for poll in &polls {
        let invited = viewer.id.as_deref().is_some_and(|me| poll.is_invitee(me));
        if !poll.accepts_answers(now) {
            closed.push(poll);
        } else if invited && !answered.contains(&poll.id) {
            waiting.push(poll);
        } else {
            running.push(poll);
        }
    }
    let body = html! {
        (stylesheet("polls.css"))
        div class="toolbar" {
            h1 { "Sondages de date" }
            a class="button" href=(href("/new")) { "Créer un sondage" }
        }
        @if polls.is_empty() {
            p class="empty" { "Aucun sondage pour le moment." }
        }
        section class="poll-section" {
            h2 { "En attente de votre réponse" }
            (poll_items(&waiting, &viewer, "Aucun sondage n’attend votre réponse."))
        }
        section class="poll-section" {
            h2 { "En cours" }
            (poll_items(&running, &viewer, "Aucun autre sondage en cours."))
        }
        section class="poll-section" {
            h2 { "Clos" }
            (poll_items(&closed, &viewer, "Aucun sondage clos."))
        }
    };
    Ok(Response::page("Sondages de date", body))
}

fn poll_items(polls: &[&Poll], viewer: &Viewer, empty: &str) -> Markup {
    html! {
        @if polls.is_empty() {
            p class="muted" { (empty) }
        } @else {
            ul class="poll-list" {
                @for poll in polls {
                    li {
                        a href=(poll_href(poll, "")) { (poll.title) }
                        " "
                        span class="muted" {
                            (poll.slots.len()) " créneaux"
                            @if !poll.author.is_empty() {
                                " · par " (poll.author)
                            }
                            @if let Some(chosen) = poll.chosen() {
                                " · date retenue : " (chosen.label(&viewer.zone))
                            } @else if poll.is_closed() {
                                " · clos"
                            } @else if let Some(deadline) = poll.deadline {
                                " · réponses jusqu’au " (instant_text(deadline, viewer).0)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /widget`: the open polls the viewer is invited to and has not answered.
pub fn widget() -> PageResult {
    let viewer = Viewer::current();
    let empty = html! { p class="muted" { "Aucun sondage en attente." } };
    let Some(me) = viewer.id.clone() else {
        return Ok(Response::fragment(empty));
    };
    let polls = model::recent_polls()?;
    let answered = model::answered_by(&me)?;
    let now = time::now_seconds();
    let waiting: Vec<&Poll> = polls
        .iter()
        .filter(|poll| {
            poll.accepts_answers(now) && poll.is_invitee(&me) && !answered.contains(&poll.id)
        })
        .collect();
    if waiting.is_empty() {
        return Ok(Response::fragment(empty));
    }
    Ok(Response::fragment(html! {
        ul class="poll-widget" {
            @for poll in &waiting {
                li {
                    a href=(poll_href(poll, "")) { (poll.title) }
                    @if let Some(deadline) = poll.deadline {
                        " "
                        span class="muted" { "· avant le " (instant_text(deadline, &viewer).0) }
                    }
                }
            }
        }
    }))
}

/// A form's values: what was sent, else the defaults.
struct Values<'a> {
    form: Option<&'a Form>,
    defaults: Vec<(&'static str, String)>,
}

impl Values<'_> {
    fn get(&self, name: &str) -> String {
        if let Some(form) = self.form
            && form.fields.iter().any(|(field, _)| field == name)
        {
            return form.get(name);
        }
        self.defaults
            .iter()
            .find(|(field, _)| *field == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.form.map(|form| form.all(name)).unwrap_or_default()
    }
}

/// Title, description, place, video link, duration.
fn common_fields(values: &Values, kind: Kind) -> Markup {
    html! {
        label for="title" { "Titre" }
        input id="title" name="title" required maxlength=(MAX_TITLE) value=(values.get("title"));
        label for="description" { "Description (facultatif)" }
        textarea id="description" name="description" rows="4" maxlength=(MAX_DESCRIPTION) {
            (values.get("description"))
        }
        label for="place" { "Lieu (facultatif)" }
        input id="place" name="place" maxlength=(MAX_PLACE) value=(values.get("place"));
        label for="video" { "Lien de visioconférence (facultatif)" }
        input type="url" id="video" name="video" maxlength=(MAX_VIDEO) placeholder="https://…"
            value=(values.get("video"));
        @if kind == Kind::Times {
            label for="duration" { "Durée de la réunion (minutes)" }
            input type="number" id="duration" name="duration" min="1" max="1440" step="1"
                value=(values.get("duration"));
        }
    }
}

/// `rows` inputs `slot`, filled with `values` first.
fn slot_inputs(kind: Kind, values: &[String], rows: usize) -> Markup {
    let input_type = match kind {
        Kind::Times => "datetime-local",
        Kind::Days => "date",
    };
    html! {
        @for i in 0..rows.max(values.len()) {
            label for={ "slot" (i) } { "Créneau " (i + 1) }
            input type=(input_type) id={ "slot" (i) } name="slot"
                value=(values.get(i).map(String::as_str).unwrap_or(""));
        }
    }
}

/// Deadline and reminder.
fn deadline_fields(values: &Values) -> Markup {
    html! {
        label for="deadline" { "Date limite de réponse" }
        input type="datetime-local" id="deadline" name="deadline" required value=(values.get("deadline"));
        label for="reminder" { "Rappel automatique aux retardataires (heures avant la date limite, 0 pour aucun)" }
        input type="number" id="reminder" name="reminder" min="0" step="1" value=(values.get("reminder"));
    }
}

/// `GET /new` (`?kind=journees` for whole days), and the form shown again on error.
pub fn new_form(form: &Form, error: Option<&str>) -> Response {
    let ctx = maillage_sdk::context();
    let kind = Kind::parse(&form.get("kind")).unwrap_or(Kind::Times);
    let values = Values {
        form: Some(form),
        defaults: vec![
            ("duration", "60".into()),
            ("zone", ctx.time_zone.clone()),
            ("reminder", "48".into()),
            ("visibility", Visibility::All.code().into()),
            ("audience", Audience::Structure.code().into()),
        ],
    };
    let slots = values.all("slot");
    let visibility = values.get("visibility");
    let audience = values.get("audience");
    let chosen_group = values.get("group");
    let chosen_members: HashSet<String> = values.all("member").into_iter().collect();
    let groups: Vec<groups::Group> = groups::visible_groups()
        .into_iter()
        .filter(|g| !g.archived)
        .collect();
    let members = structure_members();
    let body = html! {
        (stylesheet("polls.css"))
        h1 { "Nouveau sondage de date" }
        (alert(error))
        p class="kind-switch" {
            @match kind {
                Kind::Times => {
                    "Vous proposez des créneaux horaires. "
                    a href=(href("/new?kind=journees")) { "Proposer plutôt des journées entières" }
                }
                Kind::Days => {
                    "Vous proposez des journées entières. "
                    a href=(href("/new")) { "Proposer plutôt des créneaux horaires" }
                }
            }
        }
        form method="post" action=(href("/new")) class="stack poll-form" {
            (csrf_field())
            input type="hidden" name="kind" value=(kind.code());
            (common_fields(&values, kind))
            label for="zone" { "Fuseau horaire des créneaux et de la date limite" }
            input id="zone" name="zone" list="zones" required value=(values.get("zone"));
            datalist id="zones" {
                @for zone in ZONES { option value=(zone) {} }
            }
            fieldset class="slots" {
                legend { "Créneaux proposés (au moins deux, " (MAX_SLOTS) " au plus)" }
                (slot_inputs(kind, &slots, (slots.len() + 2).max(6)))
            }
            (deadline_fields(&values))
            fieldset {
                legend { "Qui voit les réponses ?" }
                @for choice in Visibility::ALL {
                    label {
                        input type="radio" name="visibility" value=(choice.code())
                            checked[visibility == choice.code()];
                        " " (choice.label())
                    }
                }
            }
            fieldset {
                legend { "Qui est invité ?" }
                label {
                    input type="radio" name="audience" value=(Audience::Structure.code())
                        checked[audience == Audience::Structure.code()];
                    " Tous les membres de la structure"
                }
                label {
                    input type="radio" name="audience" value=(Audience::Group.code())
                        checked[audience == Audience::Group.code()];
                    " Les membres d’un groupe"
                }
                @if groups.is_empty() {
                    p class="muted" { "Aucun groupe ne vous est accessible." }
                } @else {
                    label for="group" { "Groupe concerné" }
                    select id="group" name="group" {
                        option value="" { "Aucun" }
                        @for g in &groups {
                            option value=(g.id) selected[g.id == chosen_group] { (g.name) }
                        }
                    }
                }
                label {
                    input type="radio" name="audience" value=(Audience::Members.code())
                        checked[audience == Audience::Members.code()];
                    " Des membres choisis :"
                }
                div class="member-list" {
                    @for member in &members {
                        label {
                            input type="checkbox" name="member" value=(member.id)
                                checked[chosen_members.contains(&member.id)];
                            " " (member.name)
                        }
                    }
                }
            }
            button type="submit" { "Créer le sondage" }
        }
    };
    Response::page("Nouveau sondage", body)
}

/// `GET /p/{id}`.
pub fn poll(id: &str) -> PageResult {
    let Some(poll) = model::load(id)? else {
        return Ok(Response::not_found());
    };
    poll_page(&poll, &Viewer::current(), None)
}

/// The poll: header, chosen date, results table, who has not answered, the answer form,
/// and the managers' tools.
pub fn poll_page(poll: &Poll, viewer: &Viewer, message: Option<&str>) -> PageResult {
    let answers = model::answers_of(&poll.id)?;
    let access = Access::of(poll, viewer);
    let now = time::now_seconds();
    let open = poll.accepts_answers(now);
    let mine: Option<&Answer> = answers.iter().find(|answer| viewer.owns(answer));
    let rows: Vec<&Answer> = if access.names {
        answers.iter().collect()
    } else {
        mine.into_iter().collect()
    };
    let tally = Tally::of(&poll.slots, &answers);
    let labels: Vec<(String, Option<String>)> = poll
        .slots
        .iter()
        .map(|slot| {
            (
                slot.label(&viewer.zone),
                slot.label_elsewhere(&viewer.zone, viewer.own_zone.as_ref()),
            )
        })
        .collect();
    let answered: HashSet<&str> = answers.iter().map(|answer| answer.user.as_str()).collect();
    let waiting: Vec<&str> = poll
        .invitees
        .iter()
        .filter(|invitee| !answered.contains(invitee.id.as_str()))
        .map(|invitee| invitee.name.as_str())
        .collect();
    let audience = match poll.audience() {
        Audience::Structure => "tous les membres de la structure".to_string(),
        Audience::Group => format!(
            "les membres du groupe {}",
            poll.group_name.as_deref().unwrap_or("")
        ),
        Audience::Members => "des membres choisis".to_string(),
    };
    let deadline = poll.deadline.map(|at| instant_text(at, viewer));
    let chosen = poll.chosen();
    let video_link = poll.video.starts_with("https://") || poll.video.starts_with("http://");
    let columns = poll.slots.len() + 2;
    let body = html! {
        (stylesheet("polls.css"))
        div class="toolbar" {
            h1 { (poll.title) }
            @if open {
                span class="badge state open" { "Ouvert" }
            } @else {
                span class="badge state closed" { "Clos" }
            }
        }
        (alert(message))
        ul class="poll-facts" {
            @if !poll.author.is_empty() {
                li { "Organisé par " strong { (poll.author) } }
            }
            @if let Some(group) = &poll.group_name {
                li {
                    "Groupe concerné : " (group)
                    @if access.referent {
                        " " span class="badge" { "Vous êtes référent de ce groupe" }
                    }
                }
            }
            li { "Invités : " (audience) " (" (people(poll.invitees.len())) ")" }
            @if !poll.place.is_empty() {
                li { "Lieu : " (poll.place) }
            }
            @if video_link {
                li { "Visioconférence : " a href=(poll.video) rel="noopener noreferrer" { (poll.video) } }
            }
            @if poll.kind() == Kind::Times {
                li { "Durée : " (fr::duration(poll.duration())) }
            }
            @if let Some((deadline, own)) = &deadline {
                li {
                    "Date limite de réponse : " (deadline)
                    @if let Some(own) = own {
                        " " span class="muted" { "(" (own) ")" }
                    }
                }
            }
        }
        @if !poll.description.is_empty() {
            p class="poll-description" { (poll.description) }
        }
        @if let Some(slot) = chosen {
            section id="date-retenue" {
                h2 { "Date retenue" }
                p {
                    strong { (slot.label(&viewer.zone)) }
                    @if let Some(own) = slot.label_elsewhere(&viewer.zone, viewer.own_zone.as_ref()) {
                        " " span class="own-zone" { (own) }
                    }
                }
                @if let Some(closed_at) = poll.closed_at {
                    p class="muted" { "Sondage clos le " (instant_text(closed_at, viewer).0) "." }
                }
            }
        } @else if !open && access.manager && !poll.is_closed() {
            p class="alert warning" { "La date limite est passée : vous pouvez retenir une date ci-dessous." }
        }

        h2 { "Réponses" }
        @match (poll.visibility(), access.organiser) {
            (Visibility::All, _) => {}
            (_, true) => {
                p class="muted" { "Vous êtes l’organisateur : vous seul voyez les noms et les réponses de chacun." }
            }
            (Visibility::Blind, false) => {
                p class="muted" { "Sondage anonyme : vous voyez les totaux et votre réponse ; seul l’organisateur voit les noms." }
            }
            (Visibility::Organiser, false) => {
                p class="muted" { "Seul l’organisateur voit les réponses de chacun ; vous voyez la vôtre." }
            }
        }
        @if poll.slots.is_empty() {
            p class="empty" { "Aucun créneau n’est proposé." }
        } @else {
            div class="table-scroll" {
                table class="results" {
                    thead {
                        tr {
                            th scope="col" { "Participant" }
                            @for (slot, (label, own)) in poll.slots.iter().zip(&labels) {
                                th scope="col" data-slot=(slot.id) {
                                    span class="slot-date" { (label) }
                                    @if let Some(own) = own {
                                        br;
                                        span class="own-zone" { (own) }
                                    }
                                }
                            }
                            th scope="col" { "Commentaire" }
                        }
                    }
                    tbody {
                        @for answer in &rows {
                            tr class=[viewer.owns(answer).then_some("mine")] {
                                th scope="row" { (answer.name) }
                                @for slot in &poll.slots {
                                    @match answer.choices.get(&slot.id) {
                                        Some(choice) => {
                                            td class=(choice.css()) { (choice.label()) }
                                        }
                                        None => {
                                            td class="pending" { "pas encore répondu" }
                                        }
                                    }
                                }
                                td class="comment" { (answer.comment) }
                            }
                        }
                        @if rows.is_empty() {
                            tr {
                                td class="empty" colspan=(columns) { "Aucune réponse pour le moment." }
                            }
                        }
                    }
                    @if access.results {
                        tfoot {
                            tr {
                                th scope="row" { "Total" }
                                @for (slot, (yes, maybe)) in poll.slots.iter().zip(tally.yes.iter().zip(&tally.maybe)) {
                                    td class="count" data-slot=(slot.id) { (yes) " oui, " (maybe) " si besoin" }
                                }
                                td {}
                            }
                            @if tally.first_best().is_some() {
                                tr {
                                    th scope="row" { "Meilleur choix" }
                                    @for (slot, best) in poll.slots.iter().zip(&tally.best) {
                                        @if *best {
                                            td class="best" data-slot=(slot.id) { "★ Meilleur créneau" }
                                        } @else {
                                            td {}
                                        }
                                    }
                                    td {}
                                }
                            }
                        }
                    }
                }
            }
        }

        @if access.names {
            section id="sans-reponse" {
                h2 { "Sans réponse" }
                @if waiting.is_empty() {
                    p class="muted" { "Toutes les personnes invitées ont répondu." }
                } @else {
                    p { "En attente de réponse : " (waiting.join(", ")) }
                }
            }
        }

        @if access.invitee && open && !poll.slots.is_empty() {
            section class="answer" {
                h2 { "Votre réponse" }
                form method="post" action=(poll_href(poll, "/answer")) class="stack" {
                    (csrf_field())
                    @for (slot, (label, own)) in poll.slots.iter().zip(&labels) {
                        @let current = mine.and_then(|answer| answer.choices.get(&slot.id)).copied();
                        fieldset class="choice" {
                            legend {
                                (label)
                                @if let Some(own) = own {
                                    " " span class="muted" { "(" (own) ")" }
                                }
                            }
                            @for choice in Choice::ALL {
                                label {
                                    input type="radio" name={ "c-" (slot.id) } value=(choice.code())
                                        required checked[current == Some(choice)];
                                    " " (choice.label())
                                }
                            }
                        }
                    }
                    label for="comment" { "Commentaire (facultatif)" }
                    textarea id="comment" name="comment" rows="2" maxlength=(MAX_COMMENT) {
                        (mine.map(|answer| answer.comment.as_str()).unwrap_or(""))
                    }
                    button type="submit" {
                        @if mine.is_some() { "Modifier ma réponse" } @else { "Enregistrer ma réponse" }
                    }
                }
            }
        } @else if access.invitee && !open && !poll.is_closed() {
            p class="muted" { "La date limite est passée : les réponses ne sont plus acceptées." }
        } @else if !access.invitee {
            p class="muted" { "Vous n’êtes pas invité à répondre à ce sondage." }
        }

        @if access.manager {
            section class="manage" {
                h2 { "Gestion du sondage" }
                @if !poll.is_closed() {
                    p { a class="button" href=(poll_href(poll, "/modifier")) { "Modifier le sondage" } }
                    @if !poll.slots.is_empty() {
                        form method="post" action=(poll_href(poll, "/cloturer")) class="stack" {
                            (csrf_field())
                            label for="close-slot" { "Date à retenir" }
                            select id="close-slot" name="slot" {
                                @for (i, (slot, (label, _))) in poll.slots.iter().zip(&labels).enumerate() {
                                    option value=(slot.id) selected[tally.first_best() == Some(i)] { (label) }
                                }
                            }
                            button type="submit" { "Clore le sondage et retenir cette date" }
                        }
                    }
                }
            }
        }
        @if access.results {
            p class="exports" {
                "Exporter les réponses : "
                a href=(poll_href(poll, "/export.csv")) { "CSV" }
                " · "
                a href=(poll_href(poll, "/export.xlsx")) { "Excel (.xlsx)" }
            }
        }
        p { a href=(href("/")) { "← Tous les sondages" } }
    };
    Ok(Response::page(&poll.title, body))
}

/// `GET /p/{id}/modifier`.
pub fn edit(id: &str) -> PageResult {
    let (poll, viewer) = match actions::manage(id)? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    if poll.is_closed() {
        return Ok(Response::error(
            409,
            "Ce sondage est clos : il ne peut plus être modifié.",
        ));
    }
    Ok(edit_form(&poll, &viewer, None, None))
}

/// The edit form, from the poll or from what was sent.
pub fn edit_form(
    poll: &Poll,
    viewer: &Viewer,
    form: Option<&Form>,
    error: Option<&str>,
) -> Response {
    let zone = poll.zone();
    let kind = poll.kind();
    let values = Values {
        form,
        defaults: vec![
            ("title", poll.title.clone()),
            ("description", poll.description.clone()),
            ("place", poll.place.clone()),
            ("video", poll.video.clone()),
            ("duration", poll.duration().to_string()),
            (
                "deadline",
                poll.deadline
                    .map(|at| time::instant_input(time::from_seconds(at), &zone))
                    .unwrap_or_default(),
            ),
            ("reminder", poll.reminder().to_string()),
        ],
    };
    let kept: Option<HashSet<String>> = form.map(|form| form.all("keep").into_iter().collect());
    let added = values.all("slot");
    let body = html! {
        (stylesheet("polls.css"))
        h1 { "Modifier le sondage" }
        (alert(error))
        form method="post" action=(poll_href(poll, "/modifier")) class="stack poll-form" {
            (csrf_field())
            (common_fields(&values, kind))
            fieldset class="slots" {
                legend { "Créneaux proposés (décochez ceux à retirer)" }
                @for slot in &poll.slots {
                    label {
                        input type="checkbox" name="keep" value=(slot.id)
                            checked[kept.as_ref().is_none_or(|kept| kept.contains(&slot.id))];
                        " " (slot.label(&viewer.zone))
                    }
                }
            }
            fieldset class="slots" {
                legend { "Ajouter des créneaux (fuseau " (time::zone_name(&zone)) ")" }
                (slot_inputs(kind, &added, added.len() + 3))
            }
            (deadline_fields(&values))
            button type="submit" { "Enregistrer les modifications" }
        }
        p { a href=(poll_href(poll, "")) { "Revenir au sondage" } }
    };
    Response::page("Modifier le sondage", body)
}

/// 409: the edit would remove slots that have answers; the same fields with `confirm=1`.
pub fn confirm_removal(poll: &Poll, viewer: &Viewer, form: &Form, losing: &[&Slot]) -> Response {
    let body = html! {
        (stylesheet("polls.css"))
        h1 { "Retirer des créneaux qui ont des réponses ?" }
        div class="alert warning" role="alert" {
            p { "Ces créneaux ont déjà des réponses, qui seront perdues :" }
            ul {
                @for slot in losing { li { (slot.label(&viewer.zone)) } }
            }
        }
        form method="post" action=(poll_href(poll, "/modifier")) class="stack" {
            (csrf_field())
            @for (name, value) in &form.fields {
                @if name != "csrf" && name != "confirm" {
                    input type="hidden" name=(name) value=(value);
                }
            }
            input type="hidden" name="confirm" value="1";
            button type="submit" { "Retirer ces créneaux et enregistrer" }
        }
        p { a href=(poll_href(poll, "/modifier")) { "Revenir au formulaire" } }
    };
    Response::page("Confirmer la modification", body)
}

/// 409: nobody said oui or si-besoin for the slot to retain; the same with `confirm=1`.
pub fn confirm_close(poll: &Poll, viewer: &Viewer, slot: &Slot) -> Response {
    let body = html! {
        (stylesheet("polls.css"))
        h1 { "Retenir cette date ?" }
        div class="alert warning" role="alert" {
            p {
                "Personne n’a répondu Oui ou Si besoin pour le créneau « "
                (slot.label(&viewer.zone))
                " ». Voulez-vous vraiment le retenir ?"
            }
        }
        form method="post" action=(poll_href(poll, "/cloturer")) class="stack" {
            (csrf_field())
            input type="hidden" name="slot" value=(slot.id);
            input type="hidden" name="confirm" value="1";
            button type="submit" { "Retenir cette date quand même" }
        }
        p { a href=(poll_href(poll, "")) { "Revenir au sondage" } }
    };
    Response::page("Confirmer la date retenue", body)
}

/// Labels of the slots in the structure's zone, for exports.
pub fn slot_labels(slots: &[Slot], zone: &TimeZone) -> Vec<String> {
    slots.iter().map(|slot| slot.label(zone)).collect()
}
