//! Date polls ("sondages de date"), minimal form: create a poll with several slots, answer
//! Oui / Non / Si besoin, see the results grid. The complete feature has its own issue.

use maillage_sdk::form::Form;
use maillage_sdk::fr::LocalDateTime;
use maillage_sdk::html::{Markup, csrf_field, href, html};
use maillage_sdk::records::{self, CollectionDef, FieldDef, FieldType, Query, field, index};
use maillage_sdk::{Manifest, Method, NavEntry, Plugin, Request, Response, Widget};
use serde::{Deserialize, Serialize};

const POLLS: &str = "polls";
const ANSWERS: &str = "answers";
const MAX_SLOTS: usize = 30;
const SLOT_INPUTS: usize = 5;
const MAX_TITLE: usize = 200;
const MAX_NAME: usize = 100;

#[derive(Serialize, Deserialize)]
struct Poll {
    /// Set by the host.
    #[serde(default, skip_serializing)]
    id: String,
    title: String,
    description: String,
    /// "YYYY-MM-DDTHH:MM", local to the structure's time zone.
    slots: Vec<String>,
    author: String,
    /// The group the poll concerns, if any (id and name at creation time).
    group_id: Option<String>,
    group_name: Option<String>,
}

struct PollGroup {
    id: String,
    name: String,
}

impl Poll {
    fn group(&self) -> Option<PollGroup> {
        Some(PollGroup {
            id: self.group_id.clone()?,
            name: self.group_name.clone().unwrap_or_default(),
        })
    }
}

/// The tables the host keeps for this plugin.
fn collections() -> Vec<CollectionDef> {
    vec![
        CollectionDef {
            name: POLLS.into(),
            fields: vec![
                FieldDef {
                    required: true,
                    full_text: true,
                    ..field("title", FieldType::Text)
                },
                FieldDef {
                    full_text: true,
                    ..field("description", FieldType::Text)
                },
                FieldDef {
                    required: true,
                    ..field("slots", FieldType::Json)
                },
                field("author", FieldType::Text),
                field("group_id", FieldType::GroupRef),
                field("group_name", FieldType::Text),
            ],
            indexes: vec![index(&["created_at"], false)],
        },
        CollectionDef {
            name: ANSWERS.into(),
            fields: vec![
                FieldDef {
                    required: true,
                    references: Some(POLLS.into()),
                    ..field("poll", FieldType::RecordRef)
                },
                FieldDef {
                    required: true,
                    ..field("participant", FieldType::Text)
                },
                FieldDef {
                    required: true,
                    ..field("name", FieldType::Text)
                },
                FieldDef {
                    required: true,
                    ..field("choices", FieldType::Json)
                },
            ],
            // One answer per participant and poll: answering again replaces it.
            indexes: vec![index(&["poll", "participant"], true)],
        },
    ]
}

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
enum Choice {
    Yes,
    IfNeeded,
    No,
}

impl Choice {
    fn parse(text: &str) -> Option<Choice> {
        match text {
            "oui" => Some(Choice::Yes),
            "si-besoin" => Some(Choice::IfNeeded),
            "non" => Some(Choice::No),
            _ => None,
        }
    }
    /// The form value, as [`Choice::parse`] reads it.
    fn code(self) -> &'static str {
        match self {
            Choice::Yes => "oui",
            Choice::IfNeeded => "si-besoin",
            Choice::No => "non",
        }
    }
    fn label(self) -> &'static str {
        match self {
            Choice::Yes => "Oui",
            Choice::IfNeeded => "Si besoin",
            Choice::No => "Non",
        }
    }
    fn css(self) -> &'static str {
        match self {
            Choice::Yes => "yes",
            Choice::IfNeeded => "maybe",
            Choice::No => "no",
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Answer {
    poll: String,
    /// "user-{id}" for a signed-in member, else derived from the name.
    participant: String,
    name: String,
    /// One choice per slot, in the poll's slot order.
    choices: Vec<Choice>,
}

struct Polls;

impl Plugin for Polls {
    fn manifest() -> Manifest {
        Manifest {
            id: "polls".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            name: "Sondages de date".into(),
            wit_range: maillage_sdk::WIT_RANGE.into(),
            capabilities: vec!["storage".into(), "events".into(), "groups".into()],
            collections: collections(),
            subscriptions: vec![],
            nav: vec![NavEntry {
                label: "Sondages".into(),
                path: "/".into(),
            }],
            widgets: vec![Widget {
                id: "open-polls".into(),
                title: "Sondages en cours".into(),
                path: "/widget".into(),
            }],
        }
    }

    fn handle(request: Request) -> Response {
        let segments = request.segments();
        let result = match (request.method, segments.as_slice()) {
            (Method::Get, []) => list_page(),
            (Method::Get, ["widget"]) => widget(),
            (Method::Get, ["new"]) => Ok(new_page(&Form::default(), None)),
            (Method::Post, ["new"]) => create(&request.form()),
            (Method::Get, ["p", id]) => poll_page(id, None),
            (Method::Post, ["p", id, "answer"]) => answer(id, &request.form()),
            _ => Ok(Response::not_found()),
        };
        maillage_sdk::records::or_unavailable(result)
    }
}

maillage_sdk::export_plugin!(Polls);

type PageResult = Result<Response, records::StoreError>;

fn newest_polls(limit: u32) -> Result<Vec<Poll>, records::StoreError> {
    Ok(Query::new()
        .sort("-created_at")
        .limit(limit)
        .fetch(POLLS)?
        .0)
}

fn list_page() -> PageResult {
    let polls = newest_polls(500)?;
    let body = html! {
        div class="toolbar" {
            h1 { "Sondages de date" }
            a class="button" href=(href("/new")) { "Créer un sondage" }
        }
        @if polls.is_empty() {
            p class="empty" { "Aucun sondage pour le moment." }
        } @else {
            ul class="cards" {
                @for poll in &polls {
                    li {
                        a href=(href(&format!("/p/{}", poll.id))) { (poll.title) }
                        " "
                        span class="muted" {
                            (poll.slots.len()) " créneaux · par " (poll.author)
                        }
                    }
                }
            }
        }
    };
    Ok(Response::page("Sondages de date", body))
}

fn widget() -> PageResult {
    let polls = newest_polls(5)?;
    let body = html! {
        ul {
            @for poll in &polls {
                li { a href=(href(&format!("/p/{}", poll.id))) { (poll.title) } }
            }
            @if polls.is_empty() {
                li class="muted" { "Aucun sondage en cours." }
            }
        }
    };
    Ok(Response::fragment(body))
}

fn new_page(form: &Form, error: Option<&str>) -> Response {
    let slots = form.all("slot");
    let groups: Vec<_> = maillage_sdk::groups::visible_groups()
        .into_iter()
        .filter(|g| !g.archived)
        .collect();
    let chosen = form.get("group");
    let body = html! {
        h1 { "Nouveau sondage de date" }
        @if let Some(error) = error {
            div class="alert" role="alert" { (error) }
        }
        form method="post" action=(href("/new")) class="stack" {
            (csrf_field())
            label for="title" { "Titre" }
            input id="title" name="title" required maxlength=(MAX_TITLE) value=(form.get("title"));
            label for="description" { "Description (facultatif)" }
            textarea id="description" name="description" rows="3" { (form.get("description")) }
            @if !groups.is_empty() {
                label for="group" { "Groupe concerné (facultatif)" }
                select id="group" name="group" {
                    option value="" { "Aucun" }
                    @for g in &groups {
                        option value=(g.id) selected[g.id == chosen] { (g.name) }
                    }
                }
            }
            fieldset {
                legend { "Créneaux proposés (au moins deux)" }
                @for i in 0..SLOT_INPUTS.max(slots.len()) {
                    label for={ "slot" (i) } { "Créneau " (i + 1) }
                    input type="datetime-local" id={ "slot" (i) } name="slot"
                        value=(slots.get(i).map(String::as_str).unwrap_or(""));
                }
            }
            button type="submit" { "Créer le sondage" }
        }
    };
    Response::page("Nouveau sondage", body)
}

fn create(form: &Form) -> PageResult {
    let title = form.get("title");
    if title.is_empty() || title.chars().count() > MAX_TITLE {
        return Ok(new_page(
            form,
            Some("Veuillez indiquer un titre (200 caractères au plus)."),
        )
        .with_status(422));
    }
    let mut slots = Vec::new();
    for raw in form.all("slot").iter().filter(|s| !s.is_empty()) {
        match LocalDateTime::parse(raw) {
            Some(slot) => slots.push(slot),
            None => {
                return Ok(new_page(
                    form,
                    Some(&format!("Le créneau « {raw} » n’est pas une date valide.")),
                )
                .with_status(422));
            }
        }
    }
    slots.sort();
    slots.dedup();
    if slots.len() < 2 || slots.len() > MAX_SLOTS {
        return Ok(new_page(
            form,
            Some("Veuillez proposer au moins deux créneaux différents (30 au plus)."),
        )
        .with_status(422));
    }
    let chosen = form.get("group");
    let group = if chosen.is_empty() {
        None
    } else {
        // Only a group the author may see: the host decides visibility, not the form.
        match maillage_sdk::groups::visible_groups()
            .into_iter()
            .find(|g| g.id == chosen && !g.archived)
        {
            Some(g) => Some(PollGroup {
                id: g.id,
                name: g.name,
            }),
            None => {
                return Ok(new_page(
                    form,
                    Some("Ce groupe n’existe pas ou ne vous est pas accessible."),
                )
                .with_status(422));
            }
        }
    };
    let ctx = maillage_sdk::context();
    let author = ctx
        .user
        .map(|u| u.display_name)
        .unwrap_or_else(|| "Anonyme".into());
    let poll = Poll {
        id: String::new(),
        title,
        description: form.get("description"),
        slots: slots.iter().map(LocalDateTime::to_input).collect(),
        author,
        group_id: group.as_ref().map(|g| g.id.clone()),
        group_name: group.map(|g| g.name),
    };
    let poll: Poll = records::insert(POLLS, &poll)?;
    let id = poll.id;
    let payload = serde_json::json!({ "poll": id, "title": poll.title, "slots": poll.slots });
    if let Err(e) = maillage_sdk::publish("poll.created", &payload) {
        maillage_sdk::log::warn(&format!("poll.created not published: {e}"));
    }
    Ok(Response::see_other(&format!("/p/{id}")))
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn participant_key(name: &str) -> String {
    if let Some(user) = maillage_sdk::context().user {
        return format!("u-{}", maillage_sdk::form::encode(&user.id));
    }
    format!("n-{}", maillage_sdk::form::encode(&name.to_lowercase()))
}

fn answer(id: &str, form: &Form) -> PageResult {
    if !valid_id(id) {
        return Ok(Response::not_found());
    }
    let Some(poll) = records::get::<Poll>(POLLS, id)? else {
        return Ok(Response::not_found());
    };
    let user = maillage_sdk::context().user;
    let name = match &user {
        Some(u) => u.display_name.clone(),
        None => form.get("name"),
    };
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return poll_page(
            id,
            Some("Veuillez indiquer votre nom (100 caractères au plus)."),
        );
    }
    let mut choices = Vec::with_capacity(poll.slots.len());
    for i in 0..poll.slots.len() {
        match Choice::parse(&form.get(&format!("c{i}"))) {
            Some(c) => choices.push(c),
            None => return poll_page(id, Some("Veuillez répondre pour chaque créneau.")),
        }
    }
    // A signed-in member has one answer per poll, whatever their display name.
    let participant = match &user {
        Some(u) => format!("user-{}", u.id),
        None => participant_key(&name),
    };
    let answer = Answer {
        poll: id.to_string(),
        participant,
        name,
        choices,
    };
    let _: serde_json::Value = records::upsert(ANSWERS, &["poll", "participant"], &answer)?;
    Ok(Response::see_other(&format!("/p/{id}")))
}

/// The poll's group, who in it has not answered yet, and whether the viewer leads it.
/// Members come from the host (WIT `groups`), so a group the viewer may no longer read
/// shows its name only.
fn group_summary(group: &PollGroup, answers: &[Answer]) -> Markup {
    let referent = maillage_sdk::groups::is_referent(&group.id);
    let members = maillage_sdk::groups::members(&group.id);
    let waiting: Option<Vec<String>> = members.map(|members| {
        members
            .iter()
            .filter(|m| {
                let key = format!("user-{}", m.user_id);
                !answers.iter().any(|a| a.participant == key)
            })
            .map(|m| m.display_name.clone())
            .collect()
    });
    html! {
        p {
            "Groupe concerné : " (group.name)
            @if referent {
                " " span class="badge" { "Vous êtes référent de ce groupe" }
            }
        }
        @if let Some(waiting) = waiting {
            @if waiting.is_empty() {
                p class="muted" { "Tous les membres du groupe ont répondu." }
            } @else {
                p class="muted" { "En attente de réponse : " (waiting.join(", ")) }
            }
        }
    }
}

fn poll_page(id: &str, error: Option<&str>) -> PageResult {
    if !valid_id(id) {
        return Ok(Response::not_found());
    }
    let Some(poll) = records::get::<Poll>(POLLS, id)? else {
        return Ok(Response::not_found());
    };
    let (answers, _) = Query::new()
        .filter("poll = {:poll}")
        .param("poll", id)
        .sort("created_at")
        .limit(500)
        .fetch::<Answer>(ANSWERS)?;
    let slots: Vec<LocalDateTime> = poll
        .slots
        .iter()
        .filter_map(|s| LocalDateTime::parse(s))
        .collect();

    // Results grid: one row per participant, one column per slot, totals below.
    let mut yes = vec![0usize; slots.len()];
    let mut maybe = vec![0usize; slots.len()];
    for answer in &answers {
        for (i, choice) in answer.choices.iter().enumerate().take(slots.len()) {
            match choice {
                Choice::Yes => yes[i] += 1,
                Choice::IfNeeded => maybe[i] += 1,
                Choice::No => {}
            }
        }
    }
    let best = (0..slots.len()).max_by_key(|&i| (yes[i], maybe[i], std::cmp::Reverse(i)));
    let user = maillage_sdk::context().user;

    let body = html! {
        h1 { (poll.title) }
        @if !poll.description.is_empty() {
            p { (poll.description) }
        }
        p class="muted" { "Proposé par " (poll.author) }
        @if let Some(group) = poll.group() {
            (group_summary(&group, &answers))
        }
        @if let Some(error) = error {
            div class="alert" role="alert" { (error) }
        }
        div class="table-scroll" {
            table class="grid" {
                caption { "Réponses" }
                thead {
                    tr {
                        th scope="col" { "Participant" }
                        @for slot in &slots {
                            th scope="col" {
                                span class="date" { (slot.date_fr()) }
                                br;
                                span class="time" { (slot.time_fr()) }
                            }
                        }
                    }
                }
                tbody {
                    @for answer in &answers {
                        tr {
                            th scope="row" { (answer.name) }
                            @for choice in answer.choices.iter().take(slots.len()) {
                                td class=(choice.css()) { (choice.label()) }
                            }
                        }
                    }
                }
                tfoot {
                    tr {
                        th scope="row" { "Total" }
                        @for i in 0..slots.len() {
                            @let is_best = Some(i) == best && yes[i] + maybe[i] > 0;
                            td class=[is_best.then_some("best")] data-slot=(i) {
                                span class="total-yes" { (yes[i]) }
                                " oui · "
                                span class="total-maybe" { (maybe[i]) }
                                " si besoin"
                            }
                        }
                    }
                }
            }
        }

        // Answer form.
        h2 { "Votre réponse" }
        form method="post" action=(href(&format!("/p/{id}/answer"))) class="stack" {
            (csrf_field())
            @match &user {
                Some(u) => {
                    p { "Vous répondez en tant que " strong { (u.display_name) } "." }
                }
                None => {
                    label for="name" { "Votre nom" }
                    input id="name" name="name" required maxlength=(MAX_NAME);
                }
            }
            @for (i, slot) in slots.iter().enumerate() {
                fieldset class="choice" {
                    legend { (slot.date_fr()) " à " (slot.time_fr()) }
                    @for choice in [Choice::Yes, Choice::IfNeeded, Choice::No] {
                        label {
                            input type="radio" name={ "c" (i) } value=(choice.code()) required;
                            " " (choice.label())
                        }
                    }
                }
            }
            button type="submit" { "Enregistrer ma réponse" }
        }
    };
    Ok(Response::page(&poll.title, body))
}
